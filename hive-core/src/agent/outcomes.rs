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

use crate::outcome::{Outcome, OutcomeRecorder, OutcomeStatus, Reported};
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
        let now = chrono::Utc::now();
        let ms = |from: chrono::DateTime<chrono::Utc>, to: chrono::DateTime<chrono::Utc>| {
            u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
        };
        let reported = Reported::from_result(result);
        self.recorder.record(Outcome {
            task_id: task.id,
            queue: self.queue.to_string(),
            task_type: task.task_type.clone(),
            agent: Some(self.agent.to_string()),
            prompt_version: reported.prompt_version,
            experiment: reported.experiment,
            arm: reported.arm,
            status,
            attempts: task.attempt.max(1),
            wait_ms: ms(task.created_at, task.started_at),
            run_ms: ms(task.started_at, now),
            input_tokens: reported.input_tokens,
            output_tokens: reported.output_tokens,
            cost_usd: reported.cost_usd,
            score: reported.score,
            finished_at: now,
        });
    }
}
