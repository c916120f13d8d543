//! Decorators that make the stores speak: each wraps a store behind its
//! own trait, forwards every call unchanged, and after a successful change
//! emits the matching event into the hive's [`EventHub`]. Reads and
//! failed calls emit nothing. A change that may set off work in another
//! task takes its [`Ticket`](super::Ticket) before it runs, so its event
//! is logged before the events of the work it set off. [`crate::hive::HiveBuilder`] wraps every
//! store it opens, so agents, the server and Python all feed one stream.

mod agents;
mod broker;
mod queue;
mod sessions;

pub(crate) use agents::EventedRegistry;
pub(crate) use broker::EventedBroker;
pub(crate) use queue::EventedQueue;
pub(crate) use sessions::EventedSessions;

use std::sync::Arc;

use serde_json::Value;

use super::{EventHub, NewEvent};

/// A store (`S` is its trait object) that reports its changes to an
/// [`EventHub`]. Each decorator is this struct with the store's trait
/// implemented over it; those impls deny `clippy::missing_trait_methods`,
/// so a method the trait gains (or a provided one) cannot slip past the
/// feed by falling back to a default.
#[derive(Debug)]
pub(crate) struct Evented<S: ?Sized> {
    inner: Arc<S>,
    hub: EventHub,
}

impl<S: ?Sized> Evented<S> {
    pub(crate) fn new(inner: Arc<S>, hub: EventHub) -> Self {
        Evented { inner, hub }
    }
}

/// Error texts in events are cut to this many bytes: the task keeps the
/// whole text.
const MAX_ERROR_BYTES: usize = 500;

/// One of the hive's own events.
fn event(kind: &str, subject: impl ToString, data: Value) -> NewEvent {
    NewEvent::known(kind, subject.to_string(), data)
}

/// Emits one of the hive's own events.
fn emit(hub: &EventHub, kind: &str, subject: impl ToString, data: Value) {
    hub.emit(event(kind, subject, data));
}

/// `text` cut at a character boundary to at most [`MAX_ERROR_BYTES`].
fn clip(text: &str) -> &str {
    if text.len() <= MAX_ERROR_BYTES {
        return text;
    }
    let mut end = MAX_ERROR_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    &text[..end]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn clip_cuts_long_texts_on_character_boundaries() {
        assert_eq!(clip("short"), "short");
        let long = "é".repeat(400);
        let cut = clip(&long);
        assert!(cut.len() <= MAX_ERROR_BYTES && cut.len() >= MAX_ERROR_BYTES - 1);
        assert!(long.starts_with(cut));
    }
}
