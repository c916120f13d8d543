//! The outcome model: what one finished task tells about the agent, prompt
//! and experiment arm that ran it, and the metrics aggregated from many.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::queue::TaskId;
use crate::setters::setters;

/// How a task ended, for its outcome.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum OutcomeStatus {
    /// The agent's answer completed it: a success.
    Completed,
    /// It ran out of attempts or failed permanently: a failure.
    DeadLettered,
}

impl OutcomeStatus {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            OutcomeStatus::Completed => "completed",
            OutcomeStatus::DeadLettered => "dead_lettered",
        }
    }
}

impl fmt::Display for OutcomeStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for OutcomeStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "completed" => Ok(OutcomeStatus::Completed),
            "dead_lettered" => Ok(OutcomeStatus::DeadLettered),
            other => Err(Error::invalid(format!(
                "unknown outcome status {other:?} (completed or dead_lettered)"
            ))),
        }
    }
}

/// What one finished task yields: who ran it with which prompt (and
/// experiment arm), whether it succeeded, how long it waited and ran, what
/// it spent, and a verifier's score when one is configured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Outcome {
    /// The task.
    pub task_id: TaskId,
    /// Its queue.
    pub queue: String,
    /// Its type.
    pub task_type: String,
    /// The name of the agent that ran its last attempt, if an agent did.
    pub agent: Option<String>,
    /// The prompt version that attempt used, if the agent reported one.
    pub prompt_version: Option<String>,
    /// The experiment the task was assigned in, if any.
    pub experiment: Option<String>,
    /// The arm of that experiment.
    pub arm: Option<String>,
    /// How it ended.
    pub status: OutcomeStatus,
    /// Attempts it took (1 when the first succeeded).
    pub attempts: u32,
    /// Milliseconds from submit to the start of its last attempt.
    pub wait_ms: u64,
    /// Milliseconds its last attempt ran.
    pub run_ms: u64,
    /// Model input tokens the task spent.
    pub input_tokens: u64,
    /// Model output tokens the task spent.
    pub output_tokens: u64,
    /// What it cost in US dollars, when the price was known.
    pub cost_usd: Option<f64>,
    /// A verifier's score, when one judged it.
    pub score: Option<f64>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
}

impl Outcome {
    /// True when the task succeeded.
    pub fn success(&self) -> bool {
        self.status == OutcomeStatus::Completed
    }

    /// Refuses an outcome no store should keep.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field: an empty or over-long
    /// (200 bytes) queue, task type, agent, prompt version, experiment or
    /// arm; no attempt; a cost or score that is not a finite number, or a
    /// negative cost.
    pub fn check(&self) -> Result<()> {
        let text = |what: &str, v: &str| -> Result<()> {
            if v.is_empty() || v.len() > 200 || v.chars().any(char::is_control) {
                return Err(Error::invalid(format!(
                    "outcome of task {}: {what} must be 1-200 bytes without control characters",
                    self.task_id
                )));
            }
            Ok(())
        };
        text("queue", &self.queue)?;
        text("task type", &self.task_type)?;
        for (what, v) in [
            ("agent", &self.agent),
            ("prompt version", &self.prompt_version),
            ("experiment", &self.experiment),
            ("arm", &self.arm),
        ] {
            if let Some(v) = v {
                text(what, v)?;
            }
        }
        if self.attempts == 0 {
            return Err(Error::invalid(format!(
                "outcome of task {}: attempts must be at least 1",
                self.task_id
            )));
        }
        if let Some(c) = self.cost_usd {
            if !c.is_finite() || c < 0.0 {
                return Err(Error::invalid(format!(
                    "outcome of task {}: cost_usd must be a finite number ≥ 0, got {c}",
                    self.task_id
                )));
            }
        }
        if let Some(s) = self.score {
            if !s.is_finite() {
                return Err(Error::invalid(format!(
                    "outcome of task {}: score must be a finite number, got {s}",
                    self.task_id
                )));
            }
        }
        Ok(())
    }
}

/// What is known of a task when it ends, wherever that is seen (an agent's
/// runner in this process, or an answer over the API): the makings of its
/// [`Outcome`].
#[derive(Clone, Debug)]
pub struct Finished<'a> {
    /// The task.
    pub task_id: TaskId,
    /// Its queue.
    pub queue: String,
    /// Its type.
    pub task_type: String,
    /// The agent that ran its last attempt.
    pub agent: Option<String>,
    /// How it ended.
    pub status: OutcomeStatus,
    /// Its attempts so far (the last one's number).
    pub attempts: u32,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When its last attempt started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// Its result, when it completed.
    pub result: Option<&'a serde_json::Value>,
}

impl Outcome {
    /// The outcome of a task that ended as `f` says. What the result
    /// reports is read by one set of rules: the prompt version
    /// (`"prompt_version"`), the experiment and arm (`"experiment"`,
    /// `"arm"`), what it spent in an LLM agent's shape (`"usage"` with
    /// `"input_tokens"` and `"output_tokens"`, and `"cost_usd"`) and a
    /// score (`"score"`). Fields that are absent, empty or of the wrong
    /// type read as not reported; a dead letter has no result.
    pub fn finished(f: Finished<'_>) -> Outcome {
        let text = |field: &str| {
            f.result
                .and_then(|r| r.get(field))
                .and_then(serde_json::Value::as_str)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
        };
        let number = |field: &str| {
            f.result
                .and_then(|r| r.get(field))
                .and_then(serde_json::Value::as_f64)
        };
        let tokens = |name: &str| {
            f.result
                .and_then(|r| r.get("usage"))
                .and_then(|u| u.get(name))
                .and_then(serde_json::Value::as_u64)
                .unwrap_or(0)
        };
        let ms = |from: DateTime<Utc>, to: DateTime<Utc>| {
            u64::try_from((to - from).num_milliseconds()).unwrap_or(0)
        };
        Outcome {
            task_id: f.task_id,
            prompt_version: text("prompt_version"),
            experiment: text("experiment"),
            arm: text("arm"),
            input_tokens: tokens("input_tokens"),
            output_tokens: tokens("output_tokens"),
            cost_usd: number("cost_usd"),
            score: number("score"),
            queue: f.queue,
            task_type: f.task_type,
            agent: f.agent,
            status: f.status,
            attempts: f.attempts.max(1),
            wait_ms: ms(f.created_at, f.started_at),
            run_ms: ms(f.started_at, f.finished_at),
            finished_at: f.finished_at,
        }
    }
}

/// Which outcomes a listing or an aggregate covers; every field narrows.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct OutcomeFilter {
    /// Only this agent's.
    pub agent: Option<String>,
    /// Only tasks of this type.
    pub task_type: Option<String>,
    /// Only this prompt version's.
    pub prompt_version: Option<String>,
    /// Only this experiment's.
    pub experiment: Option<String>,
    /// Finished at or after this.
    pub since: Option<DateTime<Utc>>,
    /// Finished before this.
    pub until: Option<DateTime<Utc>>,
}

impl OutcomeFilter {
    /// Everything.
    pub fn new() -> Self {
        OutcomeFilter::default()
    }

    setters! {
        /// Only this agent's outcomes.
        agent(agent: impl Into<String>) => Some(agent.into());
        /// Only tasks of this type.
        task_type(task_type: impl Into<String>) => Some(task_type.into());
        /// Only this prompt version's outcomes.
        prompt_version(version: impl Into<String>) => Some(version.into());
        /// Only this experiment's outcomes.
        experiment(experiment: impl Into<String>) => Some(experiment.into());
        /// Finished at or after `since`.
        since(since: DateTime<Utc>) => Some(since);
        /// Finished before `until`.
        until(until: DateTime<Utc>) => Some(until);
    }
}

/// What metrics are grouped by.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Default, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum GroupBy {
    /// One group: everything the filter passes.
    #[default]
    All,
    /// One group per agent.
    Agent,
    /// One group per prompt version.
    PromptVersion,
    /// One group per task type.
    TaskType,
    /// One group per experiment arm.
    Arm,
}

impl GroupBy {
    /// The stored column a group is keyed by (none for [`GroupBy::All`]).
    pub(crate) fn column(self) -> Option<&'static str> {
        match self {
            GroupBy::All => None,
            GroupBy::Agent => Some("agent"),
            GroupBy::PromptVersion => Some("prompt_version"),
            GroupBy::TaskType => Some("task_type"),
            GroupBy::Arm => Some("arm"),
        }
    }
}

impl FromStr for GroupBy {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "all" => Ok(GroupBy::All),
            "agent" => Ok(GroupBy::Agent),
            "prompt_version" => Ok(GroupBy::PromptVersion),
            "task_type" => Ok(GroupBy::TaskType),
            "arm" => Ok(GroupBy::Arm),
            other => Err(Error::invalid(format!(
                "cannot group metrics by {other:?} (all, agent, prompt_version, task_type or arm)"
            ))),
        }
    }
}

/// The metrics of one group of outcomes.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Metrics {
    /// The group's key (the agent, version, type or arm); `None` for
    /// [`GroupBy::All`] and for outcomes without that field.
    pub key: Option<String>,
    /// Outcomes in the group.
    pub tasks: u64,
    /// Of which completed.
    pub succeeded: u64,
    /// Of which dead-lettered.
    pub dead_lettered: u64,
    /// `succeeded / tasks`.
    pub success_rate: f64,
    /// `dead_lettered / tasks`.
    pub dead_letter_rate: f64,
    /// Attempts beyond the first, summed.
    pub retries: u64,
    /// Median run time of the last attempt, ms (nearest rank).
    pub p50_run_ms: u64,
    /// 95th percentile run time, ms (nearest rank).
    pub p95_run_ms: u64,
    /// Median wait from submit to start, ms (nearest rank).
    pub p50_wait_ms: u64,
    /// Model input tokens, summed.
    pub input_tokens: u64,
    /// Model output tokens, summed.
    pub output_tokens: u64,
    /// Cost in US dollars, summed over the priced outcomes.
    pub cost_usd: f64,
    /// Outcomes with a price (a cost in dollars). Absent from metrics
    /// stored before it was counted (a proposal's evidence): read as 0.
    #[serde(default)]
    pub priced: u64,
    /// `cost_usd / tasks`.
    pub cost_per_task: f64,
    /// Mean verifier score over the scored outcomes, if any were scored.
    pub mean_score: Option<f64>,
    /// Outcomes with a score.
    pub scored: u64,
}
