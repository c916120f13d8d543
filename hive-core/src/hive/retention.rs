//! The hive's retention loop: on a timer, it deletes what the hive no longer
//! has to keep — tasks past their age ([`Queue::purge_expired`] under the
//! queue's [`TaskRetention`](crate::queue::TaskRetention)) and messages past
//! the broker's [`Retention`](crate::broker::Retention) ([`Broker::trim`]) —
//! so that storage stays bounded however long a hive runs.
//!
//! Every process of a fleet runs its own loop on the shared stores. That is
//! safe because each purge and each trim is one atomic step that deletes
//! only what has expired, and a task two processes both find expired is
//! deleted (and counted) once. A failure is logged and tried again at the
//! next tick: retention is housekeeping, never a reason to stop a hive.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::broker::Broker;
use crate::queue::{PurgeReport, Queue};

/// How often the loop runs unless the builder says otherwise.
pub(super) const DEFAULT_INTERVAL: Duration = Duration::from_secs(60);

/// Tasks one purge call deletes: one short transaction or script.
const PURGE_BATCH: usize = 1_000;

/// Purge calls per tick while they come back full. A backlog larger than
/// this (a first run on an old store) shrinks over several ticks instead of
/// holding the store's writer for one long stretch.
const MAX_BATCHES_PER_TICK: usize = 20;

/// The running loop; stopped by [`RetentionLoop::stop`] or when dropped.
#[derive(Debug)]
pub(super) struct RetentionLoop {
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl RetentionLoop {
    /// Starts the loop on the current runtime: a first pass at once, then
    /// one every `interval`. A zero interval starts nothing (the caller
    /// runs retention itself).
    pub(super) fn start(
        queue: Arc<dyn Queue>,
        broker: Arc<dyn Broker>,
        interval: Duration,
    ) -> Self {
        let stop = CancellationToken::new();
        let task = (!interval.is_zero()).then(|| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    // A pass stopped halfway is fine: each purge or trim it
                    // dropped happened entirely or not at all.
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = pass(queue.as_ref(), broker.as_ref()) => {}
                    }
                }
            })
        });
        RetentionLoop {
            stop,
            task: Mutex::new(task),
        }
    }

    /// Stops the loop and waits until it has.
    pub(super) async fn stop(&self) {
        self.stop.cancel();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(task) = task {
            // It only ends by returning; a panic in it has been logged by
            // the runtime already.
            let _ = task.await;
        }
    }
}

impl Drop for RetentionLoop {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// One pass: purges the queue in batches while they come back full, then
/// trims the broker. Logs what it deleted (debug) and what failed (warn).
async fn pass(queue: &dyn Queue, broker: &dyn Broker) {
    let name = &queue.config().name;
    let mut deleted = PurgeReport::default();
    for _ in 0..MAX_BATCHES_PER_TICK {
        match queue.purge_expired(chrono::Utc::now(), PURGE_BATCH).await {
            Ok(report) => {
                deleted.finished += report.finished;
                deleted.dead_letters += report.dead_letters;
                if report.total() < PURGE_BATCH as u64 {
                    break;
                }
            }
            Err(error) => {
                tracing::warn!(queue = %name, %error, "retention: purging expired tasks failed; trying again next time");
                break;
            }
        }
    }
    if deleted.total() > 0 {
        tracing::debug!(
            queue = %name,
            finished = deleted.finished,
            dead_letters = deleted.dead_letters,
            "retention: deleted expired tasks"
        );
    }
    match broker.trim().await {
        Ok(report) if report.removed > 0 => tracing::debug!(
            topics = report.topics,
            messages = report.removed,
            "retention: trimmed the broker"
        ),
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(%error, "retention: trimming the broker failed; trying again next time");
        }
    }
}
