//! The hive's experiment loop: on a timer, every active experiment is
//! looked at again ([`Experiments::tick`]) — its observations replayed,
//! its split updated, a decision applied. Every process of a fleet runs
//! one; saves compare revisions, so a decision is applied once. A failure
//! is logged and the next tick tries again.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::experiment::Experiments;

/// How often experiments are looked at unless the builder says otherwise.
pub(super) const DEFAULT_INTERVAL: Duration = Duration::from_millis(250);

/// The running loop; stopped by [`ExperimentLoop::stop`].
#[derive(Debug)]
pub(super) struct ExperimentLoop {
    stop: CancellationToken,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl ExperimentLoop {
    /// Starts the loop; a zero interval starts nothing (the caller ticks).
    pub(super) fn start(experiments: Arc<Experiments>, interval: Duration) -> Self {
        let stop = CancellationToken::new();
        let task = (!interval.is_zero()).then(|| {
            let stop = stop.clone();
            tokio::spawn(async move {
                let mut ticks = tokio::time::interval(interval);
                ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
                loop {
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        _ = ticks.tick() => {}
                    }
                    tokio::select! {
                        _ = stop.cancelled() => return,
                        r = experiments.tick() => {
                            if let Err(e) = r {
                                tracing::warn!(error = %e, "experiment tick failed; trying again");
                            }
                        }
                    }
                }
            })
        });
        ExperimentLoop {
            stop,
            task: Mutex::new(task),
        }
    }

    /// Stops the loop and waits until it has.
    pub(super) async fn stop(&self) {
        self.stop.cancel();
        let task = self.task.lock().ok().and_then(|mut t| t.take());
        if let Some(t) = task {
            let _ = t.await;
        }
    }
}
