//! [`MemoryLog`]: the event log of one process — a ring of the newest
//! events under a mutex and a `Notify` for waiting readers. The embedded
//! default uses it: one process serves the file, so one process sees every
//! event. Numbers start again at 1 when the process does.

use std::collections::VecDeque;
use std::sync::Mutex;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::Notify;

use super::{Event, EventLog, NewEvent, DEFAULT_RETAINED};
use crate::error::{Error, Result};

/// An in-process event log keeping the newest `retained` events.
#[derive(Debug)]
pub struct MemoryLog {
    retained: usize,
    ring: Mutex<Ring>,
    appended: Notify,
}

#[derive(Debug, Default)]
struct Ring {
    last: u64,
    events: VecDeque<Event>,
}

impl MemoryLog {
    /// A log keeping [`DEFAULT_RETAINED`] events.
    pub fn new() -> Self {
        Self::with_retention(DEFAULT_RETAINED)
    }

    /// A log keeping the newest `retained` events (at least 1).
    pub fn with_retention(retained: usize) -> Self {
        MemoryLog {
            retained: retained.max(1),
            ring: Mutex::new(Ring::default()),
            appended: Notify::new(),
        }
    }

    fn ring(&self) -> Result<std::sync::MutexGuard<'_, Ring>> {
        self.ring
            .lock()
            .map_err(|_| Error::backend("memory", "the event log's lock is poisoned"))
    }

    fn after(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        let ring = self.ring()?;
        // Numbers are contiguous, so the first wanted event's index is
        // arithmetic.
        let first = ring.events.front().map_or(ring.last + 1, |e| e.seq);
        let skip =
            usize::try_from(after.saturating_add(1).saturating_sub(first)).unwrap_or(usize::MAX);
        Ok(ring.events.iter().skip(skip).take(limit).cloned().collect())
    }
}

impl Default for MemoryLog {
    fn default() -> Self {
        Self::new()
    }
}

#[async_trait]
impl EventLog for MemoryLog {
    fn backend(&self) -> &'static str {
        "memory"
    }

    async fn append(&self, events: &[NewEvent]) -> Result<u64> {
        let first = {
            let mut ring = self.ring()?;
            let first = ring.last + 1;
            for e in events {
                ring.last += 1;
                let e = e.clone().numbered(ring.last);
                ring.events.push_back(e);
            }
            let excess = ring.events.len().saturating_sub(self.retained);
            ring.events.drain(..excess);
            first
        };
        self.appended.notify_waiters();
        Ok(first)
    }

    async fn read_after(&self, after: u64, limit: usize, wait: Duration) -> Result<Vec<Event>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so an append in between still wakes.
            let appended = self.appended.notified();
            let found = self.after(after, limit)?;
            if !found.is_empty() || tokio::time::Instant::now() >= deadline {
                return Ok(found);
            }
            if tokio::time::timeout_at(deadline, appended).await.is_err() {
                return Ok(Vec::new());
            }
        }
    }

    async fn last_seq(&self) -> Result<u64> {
        Ok(self.ring()?.last)
    }
}
