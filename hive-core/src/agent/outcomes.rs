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

use std::sync::Arc;

use crate::outcome::{Finished, Outcome, OutcomeRecorder, OutcomeStatus};
use crate::queue::worker::{AttemptEnd, AttemptInfo, AttemptObserver};

/// Records the outcomes of one agent's tasks.
pub(crate) struct AgentOutcomes {
    pub(crate) recorder: OutcomeRecorder,
    pub(crate) agent: Arc<str>,
    pub(crate) queue: Arc<str>,
}

impl AttemptObserver for AgentOutcomes {
    fn ended(&self, task: &AttemptInfo, end: AttemptEnd<'_>) {
        let (status, result) = match end {
            AttemptEnd::Retrying => return,
            AttemptEnd::Completed(result) => (OutcomeStatus::Completed, Some(result)),
            AttemptEnd::DeadLettered => (OutcomeStatus::DeadLettered, None),
        };
        self.recorder.record(Outcome::finished(Finished {
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
        }));
    }
}
