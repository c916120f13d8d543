//! The task domain model: what a queue stores, and what a caller submits.
//!
//! These types are backend-neutral and serialisable; backends translate them
//! to rows, hashes or documents at their edge.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};

/// A task's identity: a UUID (version 7, so ids sort by creation time).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TaskId(pub Uuid);

impl TaskId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        TaskId(Uuid::now_v7())
    }
}

impl Default for TaskId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for TaskId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for TaskId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s)
            .map(TaskId)
            .map_err(|e| Error::invalid(format!("task id {s:?} is not a UUID: {e}")))
    }
}

/// Urgency of a task: 1 is served first, 9 last. Any value 1–9 is valid;
/// the named constants are the conventional levels.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "u8", into = "u8")]
pub struct TaskPriority(u8);

/// On the wire a priority is its number; the schema says which numbers
/// are valid (a derive would only say "an integer").
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for TaskPriority {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::Integer)
            .minimum(Some(1))
            .maximum(Some(9))
            .description(Some("1 (most urgent) to 9; 5 is the default"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for TaskPriority {}

impl TaskPriority {
    /// 1: served before everything else.
    pub const CRITICAL: TaskPriority = TaskPriority(1);
    /// 3.
    pub const HIGH: TaskPriority = TaskPriority(3);
    /// 5: the default.
    pub const NORMAL: TaskPriority = TaskPriority(5);
    /// 7.
    pub const LOW: TaskPriority = TaskPriority(7);
    /// 9: served when nothing else waits.
    pub const BACKGROUND: TaskPriority = TaskPriority(9);

    /// A priority from its number.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless `1 <= level <= 9`.
    pub fn new(level: u8) -> Result<Self> {
        if (1..=9).contains(&level) {
            Ok(TaskPriority(level))
        } else {
            Err(Error::invalid(format!(
                "priority must be between 1 (most urgent) and 9, got {level}"
            )))
        }
    }

    /// The number, 1–9.
    pub fn level(self) -> u8 {
        self.0
    }
}

impl Default for TaskPriority {
    fn default() -> Self {
        TaskPriority::NORMAL
    }
}

impl TryFrom<u8> for TaskPriority {
    type Error = Error;
    fn try_from(level: u8) -> Result<Self> {
        TaskPriority::new(level)
    }
}

impl From<TaskPriority> for u8 {
    fn from(p: TaskPriority) -> u8 {
        p.0
    }
}

/// Where a task is in its life.
///
/// ```text
/// submit ─► waiting ──(deps done)──► pending ◄──(lease expired / released)──┐
///   │                                  ▲  │                                 │
///   └──► delayed ──(due)───────────────┘  └─claim─► assigned ─heartbeat─► in_progress
///          ▲                                          │                     │
///          └──────(failed, attempts left)─────────────┴──────┬──────────────┘
///                                                            ├─► completed
///                                    (no attempts left) ─────┴─► dead_lettered
/// any non-final state ──cancel──► cancelled;  a dependency that ends badly ──► failed
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum TaskStatus {
    /// Ready to be claimed.
    Pending,
    /// Waiting for its dependencies to complete.
    Waiting,
    /// Not to run before its `run_at` (a delayed submit or a retry backoff).
    Delayed,
    /// Leased to a worker that has not reported progress yet.
    Assigned,
    /// Leased to a worker that has heartbeated at least once.
    InProgress,
    /// Done; `result` holds the handler's output.
    Completed,
    /// Will never run: a dependency failed, was cancelled or dead-lettered
    /// (`error` names it). A handler's permanent error dead-letters the task
    /// instead ([`TaskStatus::DeadLettered`]).
    Failed,
    /// Cancelled by a caller.
    Cancelled,
    /// Ran out of attempts; kept in the dead-letter store until retried or purged.
    DeadLettered,
}

impl TaskStatus {
    /// Every status, in the order of the state machine.
    pub const ALL: [TaskStatus; 9] = [
        TaskStatus::Pending,
        TaskStatus::Waiting,
        TaskStatus::Delayed,
        TaskStatus::Assigned,
        TaskStatus::InProgress,
        TaskStatus::Completed,
        TaskStatus::Failed,
        TaskStatus::Cancelled,
        TaskStatus::DeadLettered,
    ];

    /// The stable lower-case name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            TaskStatus::Pending => "pending",
            TaskStatus::Waiting => "waiting",
            TaskStatus::Delayed => "delayed",
            TaskStatus::Assigned => "assigned",
            TaskStatus::InProgress => "in_progress",
            TaskStatus::Completed => "completed",
            TaskStatus::Failed => "failed",
            TaskStatus::Cancelled => "cancelled",
            TaskStatus::DeadLettered => "dead_lettered",
        }
    }

    /// True once nothing more will happen to the task by itself.
    /// (A dead-lettered task can still be retried by hand.)
    pub fn is_final(self) -> bool {
        matches!(
            self,
            TaskStatus::Completed
                | TaskStatus::Failed
                | TaskStatus::Cancelled
                | TaskStatus::DeadLettered
        )
    }

    /// True while a worker holds a lease on the task.
    pub fn is_leased(self) -> bool {
        matches!(self, TaskStatus::Assigned | TaskStatus::InProgress)
    }
}

impl fmt::Display for TaskStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for TaskStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        TaskStatus::ALL
            .into_iter()
            .find(|st| st.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("unknown task status {s:?}")))
    }
}

/// A task as the queue stores it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Task {
    /// Identity.
    pub id: TaskId,
    /// What kind of work this is; workers dispatch on it.
    pub task_type: String,
    /// The handler's input.
    pub payload: serde_json::Value,
    /// Where it is in its life.
    pub status: TaskStatus,
    /// 1 (most urgent) to 9.
    pub priority: TaskPriority,
    /// Capabilities a worker must have to claim it (sorted, unique).
    pub capabilities: Vec<String>,
    /// Tasks that must complete before this one may run.
    pub dependencies: Vec<TaskId>,
    /// Attempts started so far (a released attempt does not count).
    pub attempts: u32,
    /// Attempts allowed before the task is dead-lettered.
    pub max_attempts: u32,
    /// Hard limit on one attempt's run time, heartbeats notwithstanding.
    #[serde(with = "duration_ms")]
    #[cfg_attr(feature = "openapi", schema(value_type = u64))]
    pub timeout: Duration,
    /// The submitter's deduplication key, if any.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub idempotency_key: Option<String>,
    /// The W3C `traceparent` it was submitted with, if any (version-00
    /// form): the agent that runs it logs its trace id, and its events
    /// carry it. See [`crate::trace`].
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub traceparent: Option<String>,
    /// When it was submitted.
    pub created_at: DateTime<Utc>,
    /// When its state last changed.
    pub updated_at: DateTime<Utc>,
    /// Not to run before this instant (delayed submit or retry backoff).
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub run_at: Option<DateTime<Utc>>,
    /// When the current (or last) attempt started.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub started_at: Option<DateTime<Utc>>,
    /// When it reached a final state.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub finished_at: Option<DateTime<Utc>>,
    /// When the current lease runs out, while leased.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub lease_expires_at: Option<DateTime<Utc>>,
    /// The worker holding (or that last held) the lease.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub worker: Option<String>,
    /// The handler's output, once completed.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub result: Option<serde_json::Value>,
    /// The last error, or why the task failed or was dead-lettered.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
}

/// When a newly submitted task may first run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RunAt {
    /// At or after this instant.
    At(DateTime<Utc>),
    /// After this long, measured on the backend's clock at submit time.
    After(Duration),
}

/// A task to submit. Build with [`NewTask::new`] and the chained setters.
///
/// ```
/// use hive_core::queue::{NewTask, TaskPriority};
/// use serde_json::json;
///
/// let parent = NewTask::new("fetch", json!({"url": "https://example.com"}));
/// let child = NewTask::new("summarise", json!({}))
///     .priority(TaskPriority::HIGH)
///     .requires(["llm"])
///     .depends_on([parent.id()]);
/// assert_eq!(child.dependencies(), &[parent.id()]);
/// ```
#[derive(Clone, Debug, PartialEq)]
pub struct NewTask {
    pub(crate) id: TaskId,
    pub(crate) task_type: String,
    pub(crate) payload: serde_json::Value,
    pub(crate) priority: TaskPriority,
    pub(crate) capabilities: BTreeSet<String>,
    pub(crate) dependencies: Vec<TaskId>,
    pub(crate) run_at: Option<RunAt>,
    pub(crate) max_attempts: Option<u32>,
    pub(crate) timeout: Option<Duration>,
    pub(crate) idempotency_key: Option<String>,
    pub(crate) traceparent: Option<String>,
}

impl NewTask {
    /// A task of `task_type` with `payload`, normal priority, no requirements.
    pub fn new(task_type: impl Into<String>, payload: serde_json::Value) -> Self {
        NewTask {
            id: TaskId::new(),
            task_type: task_type.into(),
            payload,
            priority: TaskPriority::NORMAL,
            capabilities: BTreeSet::new(),
            dependencies: Vec::new(),
            run_at: None,
            max_attempts: None,
            timeout: None,
            idempotency_key: None,
            traceparent: None,
        }
    }

    /// Uses a caller-chosen id instead of a fresh one.
    pub fn with_id(mut self, id: TaskId) -> Self {
        self.id = id;
        self
    }

    /// Sets the priority.
    pub fn priority(mut self, priority: TaskPriority) -> Self {
        self.priority = priority;
        self
    }

    /// Adds capabilities a worker must have to claim the task.
    pub fn requires<I, S>(mut self, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.capabilities
            .extend(capabilities.into_iter().map(Into::into));
        self
    }

    /// Adds tasks that must complete first. They may be earlier submits or
    /// other tasks of the same batch.
    pub fn depends_on(mut self, ids: impl IntoIterator<Item = TaskId>) -> Self {
        for id in ids {
            if !self.dependencies.contains(&id) {
                self.dependencies.push(id);
            }
        }
        self
    }

    /// Not to run before `at`.
    pub fn run_at(mut self, at: DateTime<Utc>) -> Self {
        self.run_at = Some(RunAt::At(at));
        self
    }

    /// Not to run until `delay` after it is submitted.
    pub fn delay(mut self, delay: Duration) -> Self {
        self.run_at = Some(RunAt::After(delay));
        self
    }

    /// Attempts allowed before dead-lettering (default: the queue's
    /// [`QueueConfig::max_attempts`](super::QueueConfig::max_attempts)).
    pub fn max_attempts(mut self, attempts: u32) -> Self {
        self.max_attempts = Some(attempts);
        self
    }

    /// Hard limit on one attempt (default: the queue's
    /// [`QueueConfig::task_timeout`](super::QueueConfig::task_timeout)).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// A key that makes the submit idempotent: a second submit with the same
    /// key to the same queue returns the first task instead of a new one.
    pub fn idempotency_key(mut self, key: impl Into<String>) -> Self {
        self.idempotency_key = Some(key.into());
        self
    }

    /// Carries a W3C `traceparent` (`00-<trace id>-<parent id>-<flags>`)
    /// with the task, so one request can be followed across the processes
    /// that handle it (see [`crate::trace`]). Checked at submit: a malformed
    /// value is [`Error::InvalidInput`] naming what is wrong.
    pub fn traceparent(mut self, traceparent: impl Into<String>) -> Self {
        self.traceparent = Some(traceparent.into());
        self
    }

    /// The id the task will have.
    pub fn id(&self) -> TaskId {
        self.id
    }

    /// The task type.
    pub fn task_type(&self) -> &str {
        &self.task_type
    }

    /// The declared dependencies.
    pub fn dependencies(&self) -> &[TaskId] {
        &self.dependencies
    }
}

/// What the queue answers for each submitted task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Submitted {
    /// The task's id (the earlier task's, when deduplicated).
    pub id: TaskId,
    /// Its status right after the submit.
    pub status: TaskStatus,
    /// True when an earlier task with the same idempotency key was returned.
    pub deduplicated: bool,
}

/// What [`Queue::submit_and_get`](super::Queue::submit_and_get) answers: the
/// task as stored, read back in the same call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct SubmittedTask {
    /// The task as a `get` right after the submit would answer it (the
    /// earlier task, when deduplicated).
    pub task: Task,
    /// True when an earlier task with the same idempotency key was returned.
    pub deduplicated: bool,
}

/// Serde for a [`Duration`] as whole milliseconds.
pub(crate) mod duration_ms {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_u64(u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
        Ok(Duration::from_millis(u64::deserialize(d)?))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn priority_accepts_one_to_nine_only() {
        for level in 1..=9 {
            assert_eq!(TaskPriority::new(level).expect("valid").level(), level);
        }
        for level in [0, 10, 255] {
            let err = TaskPriority::new(level).unwrap_err().to_string();
            assert!(err.contains("between 1 (most urgent) and 9"), "{err}");
        }
        assert_eq!(TaskPriority::default(), TaskPriority::NORMAL);
        assert!(
            TaskPriority::CRITICAL < TaskPriority::BACKGROUND,
            "1 sorts first"
        );
    }

    #[test]
    fn priority_from_json_is_checked() {
        assert_eq!(
            serde_json::from_str::<TaskPriority>("3").expect("valid"),
            TaskPriority::HIGH
        );
        assert!(serde_json::from_str::<TaskPriority>("0").is_err());
        assert!(serde_json::from_str::<TaskPriority>("12").is_err());
        assert_eq!(serde_json::to_string(&TaskPriority::LOW).expect("ser"), "7");
    }

    #[test]
    fn status_names_round_trip() {
        for status in TaskStatus::ALL {
            assert_eq!(
                status.as_str().parse::<TaskStatus>().expect("parse"),
                status
            );
            assert_eq!(status.to_string(), status.as_str());
            let json = serde_json::to_string(&status).expect("ser");
            assert_eq!(json, format!("\"{}\"", status.as_str()));
        }
        assert!("running".parse::<TaskStatus>().is_err());
        let finals: Vec<_> = TaskStatus::ALL
            .into_iter()
            .filter(|s| s.is_final())
            .collect();
        assert_eq!(
            finals,
            [
                TaskStatus::Completed,
                TaskStatus::Failed,
                TaskStatus::Cancelled,
                TaskStatus::DeadLettered
            ]
        );
        assert!(TaskStatus::Assigned.is_leased() && TaskStatus::InProgress.is_leased());
        assert!(!TaskStatus::Pending.is_leased());
    }

    #[test]
    fn task_ids_parse_and_order_by_creation() {
        let a = TaskId::new();
        let b = TaskId::default();
        assert!(a < b, "v7 ids sort by creation time");
        assert_eq!(a.to_string().parse::<TaskId>().expect("parse"), a);
        let err = "not-a-uuid".parse::<TaskId>().unwrap_err().to_string();
        assert!(err.contains("is not a UUID"), "{err}");
    }

    #[test]
    fn new_task_builder_sets_every_field() {
        let dep = TaskId::new();
        let at = chrono::DateTime::UNIX_EPOCH;
        let t = NewTask::new("t", serde_json::json!(1))
            .requires(["b", "a", "a"])
            .depends_on([dep, dep])
            .run_at(at)
            .max_attempts(7)
            .timeout(Duration::from_secs(9))
            .idempotency_key("k");
        assert_eq!(t.task_type(), "t");
        assert_eq!(t.capabilities.iter().collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(t.dependencies(), &[dep], "a dependency is recorded once");
        assert_eq!(t.run_at, Some(RunAt::At(at)));
        assert_eq!(
            (t.max_attempts, t.timeout),
            (Some(7), Some(Duration::from_secs(9)))
        );
        assert_eq!(t.idempotency_key.as_deref(), Some("k"));
        let id = TaskId::new();
        assert_eq!(t.with_id(id).id(), id);
    }

    #[test]
    fn task_serialises_timeout_as_milliseconds() {
        let now = chrono::Utc::now();
        let task = Task {
            id: TaskId::new(),
            task_type: "t".into(),
            payload: serde_json::json!({}),
            status: TaskStatus::Pending,
            priority: TaskPriority::NORMAL,
            capabilities: vec![],
            dependencies: vec![],
            attempts: 0,
            max_attempts: 3,
            timeout: Duration::from_millis(1500),
            idempotency_key: None,
            traceparent: Some("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01".into()),
            created_at: now,
            updated_at: now,
            run_at: None,
            started_at: None,
            finished_at: None,
            lease_expires_at: None,
            worker: None,
            result: None,
            error: None,
        };
        let json = serde_json::to_value(&task).expect("ser");
        assert_eq!(json["timeout"], 1500);
        assert_eq!(serde_json::from_value::<Task>(json).expect("de"), task);
    }
}
