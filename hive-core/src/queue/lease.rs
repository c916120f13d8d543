//! Leases: what a worker holds while it runs a task, and what it asks for.
//!
//! Every claim starts a new attempt with a fresh random [`LeaseToken`]. The
//! queue accepts `complete`, `fail`, `heartbeat` and `release` only with the
//! current token, so a worker whose lease expired (and whose task was handed
//! to someone else) cannot overwrite the new attempt.

use std::collections::BTreeSet;
use std::fmt;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::task::{Task, TaskId};
use crate::setters::setters;

/// The token of one attempt. Random, never reused.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LeaseToken(pub Uuid);

impl LeaseToken {
    /// A fresh random token.
    pub fn new() -> Self {
        LeaseToken(Uuid::new_v4())
    }
}

impl Default for LeaseToken {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for LeaseToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// A worker's identity: random for every process start, so a restarted
/// worker never inherits (or blocks the recovery of) a dead one's leases.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct WorkerId(String);

impl WorkerId {
    /// A fresh id: `prefix-<random>`.
    pub fn random(prefix: &str) -> Self {
        let id = Uuid::new_v4().simple().to_string();
        WorkerId(format!("{prefix}-{}", &id[..12]))
    }

    /// An id made from text that is itself unique per process start (an
    /// agent's registration id, which is never reused).
    pub(crate) fn from_unique(id: String) -> Self {
        WorkerId(id)
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for WorkerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// What a worker asks for when it claims.
#[derive(Clone, Debug)]
pub struct ClaimRequest {
    /// Who is claiming.
    pub worker: WorkerId,
    /// The worker's capabilities: only tasks whose required capabilities are
    /// all in this set are handed out.
    pub capabilities: BTreeSet<String>,
    /// Only tasks of these types; empty (the default) takes any type.
    pub task_types: BTreeSet<String>,
    /// At most this many tasks (at least 1).
    pub max: usize,
    /// Lease length; `None` uses the queue's [`QueueConfig::lease`](super::QueueConfig::lease).
    pub lease: Option<Duration>,
}

impl ClaimRequest {
    /// A request for one task by `worker`, with no capabilities.
    pub fn new(worker: WorkerId) -> Self {
        ClaimRequest {
            worker,
            capabilities: BTreeSet::new(),
            task_types: BTreeSet::new(),
            max: 1,
            lease: None,
        }
    }

    /// Sets the worker's capabilities.
    pub fn capabilities<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.capabilities = capabilities.into_iter().map(Into::into).collect();
        self
    }

    setters! {
        /// Takes only tasks of these types (replacing any set before); none
        /// takes every type.
        task_types(task_types: impl IntoIterator<Item = impl Into<String>>) =>
            task_types.into_iter().map(Into::into).collect();
    }

    /// Claims up to `max` tasks at once.
    pub fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// Uses a lease of `lease` instead of the queue default.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    /// True when a task requiring `required` may be handed to this worker.
    pub fn can_take(&self, required: &[String]) -> bool {
        required.iter().all(|c| self.capabilities.contains(c))
    }

    /// True when a task of `task_type` may be handed to this worker.
    pub fn takes_type(&self, task_type: &str) -> bool {
        self.task_types.is_empty() || self.task_types.contains(task_type)
    }
}

/// A claimed task: the worker owns this attempt until the lease runs out.
#[derive(Clone, Debug, PartialEq)]
pub struct Lease {
    /// The task, as of the claim (status `assigned`, `attempts` counting this one).
    pub task: Task,
    /// This attempt's token.
    pub token: LeaseToken,
    /// When the lease runs out unless renewed.
    pub expires_at: DateTime<Utc>,
    /// When this attempt is failed regardless of heartbeats.
    pub deadline: DateTime<Utc>,
}

impl Lease {
    /// The part of the lease that `complete`, `fail`, `heartbeat` and `release` need.
    pub fn key(&self) -> LeaseKey {
        LeaseKey {
            task_id: self.task.id,
            token: self.token,
        }
    }
}

/// Identifies one attempt of one task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct LeaseKey {
    /// The task.
    pub task_id: TaskId,
    /// The attempt's token.
    pub token: LeaseToken,
}

/// The answer to a heartbeat.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LeaseRenewal {
    /// The lease's new end (never past the attempt's deadline).
    pub expires_at: DateTime<Utc>,
}

/// How a handler failed.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskFailure {
    /// What went wrong, stored as the task's `error`.
    pub error: String,
    /// When true the task is dead-lettered now instead of retried.
    pub permanent: bool,
}

impl TaskFailure {
    /// A failure that may succeed on retry.
    pub fn retryable(error: impl Into<String>) -> Self {
        TaskFailure {
            error: error.into(),
            permanent: false,
        }
    }

    /// A failure that retrying will not fix.
    pub fn permanent(error: impl Into<String>) -> Self {
        TaskFailure {
            error: error.into(),
            permanent: true,
        }
    }
}

/// What became of a failed attempt.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum FailOutcome {
    /// The task will be retried, not before `run_at`.
    Retrying {
        /// When the retry becomes claimable.
        run_at: DateTime<Utc>,
    },
    /// No attempts left (or a permanent failure): the task is in the
    /// dead-letter store.
    DeadLettered,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_worker_takes_tasks_needing_a_subset_of_its_capabilities() {
        let w = ClaimRequest::new(WorkerId::random("w")).capabilities(["gpu", "llm"]);
        assert!(w.can_take(&[]));
        assert!(w.can_take(&["gpu".to_string()]));
        assert!(!w.can_take(&["gpu".to_string(), "net".to_string()]));
        assert!(w.takes_type("anything"), "no types: every type");
        let typed = w.clone().task_types(["echo"]);
        assert!(typed.takes_type("echo") && !typed.takes_type("fails"));
        let w = w.max(5).lease(Duration::from_secs(2));
        assert_eq!((w.max, w.lease), (5, Some(Duration::from_secs(2))));
    }

    #[test]
    fn worker_ids_are_random_and_prefixed() {
        let (a, b) = (WorkerId::random("api"), WorkerId::random("api"));
        assert_ne!(a, b, "a restarted worker never reuses an id");
        assert!(a.as_str().starts_with("api-"));
        assert_eq!(a.to_string(), a.as_str());
        assert_ne!(LeaseToken::new(), LeaseToken::default());
    }

    #[test]
    fn failures_say_whether_to_retry() {
        assert!(!TaskFailure::retryable("x").permanent);
        assert!(TaskFailure::permanent("x").permanent);
    }
}
