//! The event feed: what happens in a hive — tasks submitted, claimed,
//! completed; agents registered and changing health; sessions and their
//! conversations; messages published — as a numbered stream that any
//! number of watchers (the server's `/ws/events`, a dashboard, a test)
//! can follow live and resume after a gap.
//!
//! - [`Event`] (`event.rs`): one numbered happening, JSON-ready.
//! - [`EventLog`] (this file): **the contract** of the numbered, retained
//!   log the events live in, with two backends: [`MemoryLog`]
//!   (`memory.rs`, one process: the embedded default) and [`RedisLog`]
//!   (`redis.rs`, every process sharing one Redis).
//! - [`EventHub`] (`hub.rs`): what a hive holds — `emit` never blocks the
//!   operation that caused the event; [`EventHub::subscribe`] hands out
//!   [`EventSubscription`]s that say when they fell behind and catch up
//!   from the log instead of dropping events silently.
//! - `sources/`: decorators over the queue, broker, session store and
//!   agent registry that emit an event after each successful change, so
//!   every frontend sees the same feed without each call site emitting.
//!
//! Events are notifications, not the record: the stores stay the truth. A
//! watcher that is told to resynchronise ([`Watch::Resync`]) rereads the
//! state it cares about from them.

mod event;
mod hub;
mod memory;
#[cfg(feature = "redis")]
mod redis;
pub(crate) mod sources;

use std::time::Duration;

use async_trait::async_trait;

use crate::error::Result;

pub(crate) use event::kinds;
pub use event::{Event, EventFilter, NewEvent};
pub use hub::{EventHub, EventSubscription, FeedPage, Watch, SCAN_LIMIT};
pub use memory::MemoryLog;
#[cfg(feature = "redis")]
pub use redis::RedisLog;

/// How many events a log keeps by default for watchers to catch up from.
pub const DEFAULT_RETAINED: usize = 10_000;

/// A numbered, bounded log of events shared by every handle on the same
/// storage.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::events`].
///
/// - **Numbered in order.** `append` stores a batch in order, giving each
///   event the next sequence number — 1, 2, 3… with no gaps, across every
///   handle sharing the log — and answers the first event's number.
///   (`append_numbers_events_without_gaps`)
/// - **Read after.** `read_after(n, limit, _)` answers retained events with
///   sequence numbers above `n`, in order, at most `limit`, and `last_seq`
///   the highest number given so far (0 for none).
///   (`read_after_returns_events_in_order`)
/// - **Bounded.** The log keeps at least the newest `retained` events and
///   may drop older ones; a reader finds out by the first answered number
///   being above `n + 1`. (`old_events_are_dropped_beyond_retention`)
/// - **Wakes.** `read_after` with a wait returns as soon as an event above
///   `n` is appended through any handle, or empty when the wait runs out.
///   (`read_after_waits_for_new_events`)
#[async_trait]
pub trait EventLog: Send + Sync + std::fmt::Debug {
    /// The backend's name: `"memory"` or `"redis"`.
    fn backend(&self) -> &'static str;
    /// Appends a batch in order; answers the number the first event got
    /// (for an empty batch, the number the next event will get).
    async fn append(&self, events: &[NewEvent]) -> Result<u64>;
    /// Retained events numbered above `after`, oldest first, at most
    /// `limit`; waits up to `wait` for one when there are none.
    async fn read_after(&self, after: u64, limit: usize, wait: Duration) -> Result<Vec<Event>>;
    /// The highest number given so far (0 before the first event).
    async fn last_seq(&self) -> Result<u64>;
}
