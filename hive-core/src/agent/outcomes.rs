//! The outcome of every task an agent of this process finishes: an
//! [`AttemptObserver`] on each agent's runner that turns the end of a
//! task's last attempt into an [`Outcome`] for the hive's
//! [`OutcomeRecorder`].
//!
//! A completed task's result says what the agent reported: the prompt
//! version it used (`prompt_version`), the experiment and arm it ran in
//! (`experiment`, `arm`), and what it spent in an LLM agent's shape (a
//! `usage` object with `input_tokens` and `output_tokens`, and `cost_usd`).
//! A dead-lettered task has no result, so its outcome carries the agent and
//! timings only. An attempt that will be retried yields nothing: the task
//! has not ended.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use crate::outcome::{Finished, Outcome, OutcomeRecorder, OutcomeStatus};
use crate::queue::worker::{AttemptEnd, AttemptInfo, AttemptObserver};
use crate::queue::TaskId;

/// What a running attempt said about itself — the prompt version it used,
/// the experiment and arm it ran in — kept until the task ends, so that a
/// task that dead-letters (and so has no result to read) still has them
/// in its outcome.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Stamp {
    pub(crate) prompt_version: Option<String>,
    pub(crate) experiment: Option<String>,
    pub(crate) arm: Option<String>,
}

/// The most stamps kept per agent (far above any concurrency).
const MAX_STAMPS: usize = 10_000;

/// The stamps of one agent's running tasks.
#[derive(Debug, Default)]
pub(crate) struct Stamps(Mutex<HashMap<TaskId, Stamp>>);

impl Stamps {
    /// Merges `stamp` into the task's (a field given replaces one kept).
    pub(crate) fn stamp(&self, task: TaskId, stamp: Stamp) {
        if let Ok(mut m) = self.0.lock() {
            // An attempt that ends without an outcome (its lease lost, the
            // task cancelled) leaves its stamp behind; a bound keeps those
            // from piling up.
            if m.len() >= MAX_STAMPS && !m.contains_key(&task) {
                m.clear();
            }
            let kept = m.entry(task).or_default();
            if stamp.prompt_version.is_some() {
                kept.prompt_version = stamp.prompt_version;
            }
            if stamp.experiment.is_some() {
                kept.experiment = stamp.experiment;
                kept.arm = stamp.arm;
            }
        }
    }

    fn take(&self, task: TaskId) -> Option<Stamp> {
        self.0.lock().ok()?.remove(&task)
    }
}

/// Records the outcomes of one agent's tasks.
pub(crate) struct AgentOutcomes {
    pub(crate) recorder: OutcomeRecorder,
    pub(crate) agent: Arc<str>,
    pub(crate) queue: Arc<str>,
    pub(crate) stamps: Arc<Stamps>,
}

impl AttemptObserver for AgentOutcomes {
    fn ended(&self, task: &AttemptInfo, end: AttemptEnd<'_>) {
        let (status, result) = match end {
            // A retry may stamp the task again; keep what it said so far.
            AttemptEnd::Retrying => return,
            AttemptEnd::Completed(result) => (OutcomeStatus::Completed, Some(result)),
            AttemptEnd::DeadLettered => (OutcomeStatus::DeadLettered, None),
        };
        let mut outcome = Outcome::finished(Finished {
            task_id: task.id,
            queue: self.queue.to_string(),
            task_type: task.task_type.clone(),
            agent: Some(self.agent.to_string()),
            status,
            attempts: task.attempt,
            created_at: task.created_at,
            started_at: task.started_at,
            finished_at: chrono::Utc::now(),
            result,
        });
        if let Some(stamp) = self.stamps.take(task.id) {
            if outcome.prompt_version.is_none() {
                outcome.prompt_version = stamp.prompt_version;
            }
            if outcome.experiment.is_none() {
                outcome.experiment = stamp.experiment;
                outcome.arm = stamp.arm;
            }
        }
        self.recorder.record(outcome);
    }
}
