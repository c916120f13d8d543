//! Submit-time checks shared by every backend.
//!
//! Everything that can be decided without storage is decided here, once:
//! field limits, payload size, duplicate ids and keys inside a batch, and
//! dependency cycles. The batch comes back in dependency order, so a backend
//! inserting it front to back always meets a task's in-batch dependencies
//! before the task itself. What needs storage (unknown dependencies, ids that
//! already exist, idempotency keys seen before) each backend checks inside the
//! same atomic step that inserts.

use std::collections::{BTreeMap, HashMap, HashSet};

use super::config::QueueConfig;
use super::task::{NewTask, RunAt, TaskId};
use crate::error::{Error, Result};
use crate::names::check_capability;
pub use crate::names::MAX_CAPABILITY_LEN;
use crate::trace::TraceParent;

/// Longest task type accepted.
pub const MAX_TYPE_LEN: usize = 200;
/// Longest idempotency key accepted.
pub const MAX_IDEMPOTENCY_KEY_LEN: usize = 256;
/// Most tasks accepted in one submit.
pub const MAX_BATCH: usize = 10_000;

/// A task that passed every storage-free check.
#[derive(Clone, Debug)]
pub(crate) struct PreparedTask {
    /// Position in the caller's batch, to answer in the caller's order.
    pub index: usize,
    pub id: TaskId,
    pub task_type: String,
    /// The payload, serialised once.
    pub payload: String,
    pub priority: u8,
    /// Sorted and unique.
    pub capabilities: Vec<String>,
    pub dependencies: Vec<TaskId>,
    pub run_at: Option<RunAt>,
    pub max_attempts: u32,
    pub timeout_ms: i64,
    pub idempotency_key: Option<String>,
    /// Checked and in its version-00 form.
    pub traceparent: Option<String>,
}

impl PreparedTask {
    /// The capabilities as a JSON array.
    pub fn capabilities_json(&self) -> String {
        serde_json::Value::from(self.capabilities.clone()).to_string()
    }

    /// Milliseconds from `now_ms` until the task may run, if later than now.
    pub fn run_at_ms(&self, now_ms: i64) -> Option<i64> {
        run_at_ms(self.run_at, now_ms)
    }
}

fn run_at_ms(run_at: Option<RunAt>, now_ms: i64) -> Option<i64> {
    let at = match run_at? {
        RunAt::At(t) => t.timestamp_millis(),
        RunAt::After(d) => now_ms.saturating_add(i64::try_from(d.as_millis()).unwrap_or(i64::MAX)),
    };
    (at > now_ms).then_some(at)
}

impl PreparedTask {
    /// True for a task that depends on nothing and carries no idempotency
    /// key: it is stored exactly as prepared, with no reads first.
    pub fn is_independent(&self) -> bool {
        self.dependencies.is_empty() && self.idempotency_key.is_none()
    }
}

/// What the embedded queue needs to answer `submit_and_get` without
/// reading the task back.
#[cfg(feature = "sqlite")]
mod fresh {
    use std::time::Duration;

    use super::{run_at_ms, PreparedTask};
    use crate::error::Result;
    use crate::queue::task::{RunAt, Task, TaskId, TaskPriority, TaskStatus};
    use crate::time::{from_ms, opt_from_ms};

    /// What an independent task will be once stored, short of what only the
    /// backend decides: see [`PreparedTask::fresh`]. The embedded queue
    /// answers `submit_and_get` from it.
    pub struct FreshTask {
        id: TaskId,
        task_type: String,
        payload: serde_json::Value,
        priority: u8,
        capabilities: Vec<String>,
        max_attempts: u32,
        timeout_ms: i64,
        run_at: Option<RunAt>,
        traceparent: Option<String>,
    }

    impl PreparedTask {
        /// For an independent task, what it will be once stored; `payload` is
        /// the value it was serialised from. `None` for any other task.
        pub fn fresh(&self, payload: serde_json::Value) -> Option<FreshTask> {
            self.is_independent().then(|| FreshTask {
                id: self.id,
                task_type: self.task_type.clone(),
                payload,
                priority: self.priority,
                capabilities: self.capabilities.clone(),
                max_attempts: self.max_attempts,
                timeout_ms: self.timeout_ms,
                run_at: self.run_at,
                traceparent: self.traceparent.clone(),
            })
        }
    }

    impl FreshTask {
        /// The stored task, given what the backend decided: its status and the
        /// time it stored the task at, on its clock (a delay counts from it).
        ///
        /// # Errors
        /// Only if the priority was not one [`TaskPriority`] allows, which
        /// `prepare` never lets through.
        pub fn stored(self, status: TaskStatus, now_ms: i64) -> Result<Task> {
            Ok(Task {
                id: self.id,
                task_type: self.task_type,
                payload: self.payload,
                status,
                priority: TaskPriority::new(self.priority)?,
                capabilities: self.capabilities,
                dependencies: Vec::new(),
                attempts: 0,
                max_attempts: self.max_attempts,
                timeout: Duration::from_millis(u64::try_from(self.timeout_ms).unwrap_or(0)),
                idempotency_key: None,
                traceparent: self.traceparent,
                created_at: from_ms(now_ms),
                updated_at: from_ms(now_ms),
                run_at: opt_from_ms(run_at_ms(self.run_at, now_ms)),
                started_at: None,
                finished_at: None,
                lease_expires_at: None,
                worker: None,
                result: None,
                error: None,
            })
        }
    }
}

/// Serialises a handler's result, refusing one over the payload limit.
pub(crate) fn serialise_result(config: &QueueConfig, result: &serde_json::Value) -> Result<String> {
    let text = result.to_string();
    if text.len() > config.max_payload_bytes {
        return Err(Error::invalid(format!(
            "result is {} bytes, over the limit of {} bytes",
            text.len(),
            config.max_payload_bytes
        )));
    }
    Ok(text)
}

/// Checks a batch and returns it in dependency order.
pub(crate) fn prepare(config: &QueueConfig, batch: Vec<NewTask>) -> Result<Vec<PreparedTask>> {
    if batch.len() > MAX_BATCH {
        return Err(Error::invalid(format!(
            "a submit takes at most {MAX_BATCH} tasks, got {}",
            batch.len()
        )));
    }
    let mut ids = HashSet::with_capacity(batch.len());
    let mut keys = HashSet::new();
    let mut prepared = Vec::with_capacity(batch.len());
    for (index, task) in batch.into_iter().enumerate() {
        if !ids.insert(task.id) {
            return Err(Error::invalid(format!(
                "task id {} appears twice in the batch",
                task.id
            )));
        }
        if let Some(key) = &task.idempotency_key {
            if !keys.insert(key.clone()) {
                return Err(Error::invalid(format!(
                    "idempotency key {key:?} appears twice in the batch"
                )));
            }
        }
        prepared.push(check_one(config, index, task)?);
    }
    topological_order(prepared)
}

fn check_one(config: &QueueConfig, index: usize, task: NewTask) -> Result<PreparedTask> {
    let ty = task.task_type.trim();
    if ty.is_empty() {
        return Err(Error::invalid("task type must not be empty"));
    }
    if ty.len() > MAX_TYPE_LEN || ty.chars().any(char::is_control) {
        return Err(Error::invalid(format!(
            "task type must be at most {MAX_TYPE_LEN} bytes without control characters"
        )));
    }
    let payload = task.payload.to_string();
    if payload.len() > config.max_payload_bytes {
        return Err(Error::invalid(format!(
            "payload of task {} is {} bytes, over the limit of {} bytes",
            task.id,
            payload.len(),
            config.max_payload_bytes
        )));
    }
    for cap in &task.capabilities {
        check_capability(cap)?;
    }
    if task.dependencies.contains(&task.id) {
        return Err(Error::invalid(format!(
            "dependency cycle: task {} depends on itself",
            task.id
        )));
    }
    let max_attempts = task.max_attempts.unwrap_or(config.max_attempts);
    if max_attempts == 0 {
        return Err(Error::invalid("max_attempts must be at least 1"));
    }
    let timeout = task.timeout.unwrap_or(config.task_timeout);
    if timeout.as_millis() < 10 {
        return Err(Error::invalid("timeout must be at least 10 ms"));
    }
    if let Some(key) = &task.idempotency_key {
        if key.is_empty() || key.len() > MAX_IDEMPOTENCY_KEY_LEN {
            return Err(Error::invalid(format!(
                "idempotency key must be 1-{MAX_IDEMPOTENCY_KEY_LEN} bytes"
            )));
        }
    }
    let traceparent = task
        .traceparent
        .as_deref()
        .map(|t| t.parse::<TraceParent>().map(|t| t.to_string()))
        .transpose()?;
    Ok(PreparedTask {
        index,
        id: task.id,
        task_type: ty.to_string(),
        payload,
        priority: task.priority.level(),
        capabilities: task.capabilities.into_iter().collect(),
        dependencies: task.dependencies,
        run_at: task.run_at,
        max_attempts,
        timeout_ms: i64::try_from(timeout.as_millis()).unwrap_or(i64::MAX),
        idempotency_key: task.idempotency_key,
        traceparent,
    })
}

/// Kahn's algorithm over the in-batch edges, stable in batch order; anything
/// left over sits on a cycle, which the error spells out.
fn topological_order(tasks: Vec<PreparedTask>) -> Result<Vec<PreparedTask>> {
    let position: HashMap<TaskId, usize> =
        tasks.iter().enumerate().map(|(i, t)| (t.id, i)).collect();
    let mut indegree = vec![0usize; tasks.len()];
    let mut dependents: Vec<Vec<usize>> = vec![Vec::new(); tasks.len()];
    for (i, t) in tasks.iter().enumerate() {
        for dep in &t.dependencies {
            if let Some(&j) = position.get(dep) {
                indegree[i] += 1;
                dependents[j].push(i);
            }
        }
    }
    // A BTreeMap keyed by batch position keeps the order stable.
    let mut ready: BTreeMap<usize, ()> = (0..tasks.len())
        .filter(|&i| indegree[i] == 0)
        .map(|i| (i, ()))
        .collect();
    let mut order = Vec::with_capacity(tasks.len());
    while let Some((i, ())) = ready.pop_first() {
        order.push(i);
        for &d in &dependents[i] {
            indegree[d] -= 1;
            if indegree[d] == 0 {
                ready.insert(d, ());
            }
        }
    }
    if order.len() < tasks.len() {
        let on_cycle = (0..tasks.len()).find(|&i| indegree[i] > 0).unwrap_or(0);
        return Err(Error::invalid(format!(
            "dependency cycle: {}",
            describe_cycle(&tasks, &position, &indegree, on_cycle)
        )));
    }
    let mut slots: Vec<Option<PreparedTask>> = tasks.into_iter().map(Some).collect();
    Ok(order.into_iter().filter_map(|i| slots[i].take()).collect())
}

/// Follows unfinished in-batch edges from `start` until a task repeats.
/// Every unfinished task has an unfinished dependency (that is why it is
/// unfinished), so the walk always closes a cycle.
fn describe_cycle(
    tasks: &[PreparedTask],
    position: &HashMap<TaskId, usize>,
    indegree: &[usize],
    start: usize,
) -> String {
    let mut path = vec![start];
    let mut seen = HashSet::from([start]);
    let mut current = start;
    while let Some(&next) = tasks[current]
        .dependencies
        .iter()
        .filter_map(|d| position.get(d))
        .find(|&&i| indegree[i] > 0)
    {
        path.push(next);
        if !seen.insert(next) {
            let begin = path.iter().position(|&p| p == next).unwrap_or(0);
            return path[begin..]
                .iter()
                .map(|&i| tasks[i].id.to_string())
                .collect::<Vec<_>>()
                .join(" -> ");
        }
        current = next;
    }
    tasks[start].id.to_string()
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn cfg() -> QueueConfig {
        QueueConfig::default()
    }

    #[test]
    fn orders_dependencies_first_and_keeps_batch_order_otherwise() {
        let a = NewTask::new("a", json!(1));
        let b = NewTask::new("b", json!(2));
        let c = NewTask::new("c", json!(3)).depends_on([b.id()]);
        let first = NewTask::new("first", json!(0)).depends_on([c.id()]);
        let out = prepare(&cfg(), vec![first.clone(), a.clone(), b.clone(), c.clone()]).unwrap();
        let order: Vec<_> = out.iter().map(|t| t.task_type.as_str()).collect();
        assert_eq!(order, ["a", "b", "c", "first"]);
        assert_eq!(
            out[3].index, 0,
            "the original position is kept for the answer"
        );
    }

    #[test]
    fn names_the_tasks_of_a_cycle() {
        let mut a = NewTask::new("a", json!(null));
        let b = NewTask::new("b", json!(null)).depends_on([a.id()]);
        a = a.depends_on([b.id()]);
        let err = prepare(&cfg(), vec![a.clone(), b.clone()])
            .unwrap_err()
            .to_string();
        assert!(err.contains("dependency cycle"), "{err}");
        assert!(
            err.contains(&a.id().to_string()) && err.contains(&b.id().to_string()),
            "{err}"
        );
    }

    #[test]
    fn names_the_cycle_even_past_a_finished_dependency() {
        // `a` depends first on `done` (not on the cycle), then on `b`; the
        // message must still spell out the cycle a -> b -> a.
        let done = NewTask::new("done", json!(null));
        let mut a = NewTask::new("a", json!(null)).depends_on([done.id()]);
        let b = NewTask::new("b", json!(null)).depends_on([a.id()]);
        a = a.depends_on([b.id()]);
        let err = prepare(&cfg(), vec![done, a.clone(), b.clone()])
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&a.id().to_string()) && err.contains(&b.id().to_string()),
            "{err}"
        );
        assert!(err.contains(" -> "), "{err}");
    }

    #[test]
    fn rejects_bad_fields_with_the_field_named() {
        let cases: Vec<(NewTask, &str)> = vec![
            (
                NewTask::new("  ", json!(null)),
                "task type must not be empty",
            ),
            (
                NewTask::new("x".repeat(201), json!(null)),
                "task type must be at most",
            ),
            (
                NewTask::new("t\n", json!(null)).requires(["a b"]),
                "capability",
            ),
            (NewTask::new("t", json!(null)).requires([""]), "capability"),
            (
                NewTask::new("t", json!(null)).max_attempts(0),
                "max_attempts",
            ),
            (
                NewTask::new("t", json!(null)).timeout(std::time::Duration::from_millis(1)),
                "timeout",
            ),
            (
                NewTask::new("t", json!(null)).idempotency_key(""),
                "idempotency key",
            ),
            (
                NewTask::new("t", json!("x".repeat(1024 * 1024))),
                "over the limit",
            ),
        ];
        for (task, expected) in cases {
            let err = prepare(&cfg(), vec![task]).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{err:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn rejects_duplicates_inside_a_batch() {
        let a = NewTask::new("a", json!(null)).idempotency_key("k");
        let twin = a.clone();
        assert!(prepare(&cfg(), vec![a.clone(), twin])
            .unwrap_err()
            .to_string()
            .contains("twice"));
        let other = NewTask::new("b", json!(null)).idempotency_key("k");
        assert!(prepare(&cfg(), vec![a, other])
            .unwrap_err()
            .to_string()
            .contains("twice"));
    }

    #[test]
    fn a_delay_becomes_an_absolute_time() {
        let t = NewTask::new("t", json!(null)).delay(std::time::Duration::from_secs(2));
        let p = &prepare(&cfg(), vec![t]).unwrap()[0];
        assert_eq!(p.run_at_ms(1_000), Some(3_000));
        let past = NewTask::new("t", json!(null)).run_at(chrono::DateTime::UNIX_EPOCH);
        assert_eq!(
            prepare(&cfg(), vec![past]).unwrap()[0].run_at_ms(1_000),
            None
        );
    }
}
