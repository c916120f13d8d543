//! The decisions of the task state machine that need no storage.
//!
//! Backends fetch the few fields a decision needs, ask here, and write the
//! answer in their own dialect. Keeping the decisions in one place keeps the
//! three backends' behaviour — and their error messages — identical.

use std::time::Duration;

use chrono::{DateTime, Utc};

use super::config::{RetryPolicy, TaskRetention};
use super::task::{TaskId, TaskStatus};
use super::MAX_PURGE_LIMIT;
use crate::error::Error;
use crate::time::duration_ms;

/// What happens after an attempt fails.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum AfterFailure {
    /// Wait this long, then run again.
    RetryAfter(Duration),
    /// No attempts left (or a permanent failure): dead-letter.
    DeadLetter,
}

/// Decides between a retry and the dead-letter store.
pub(crate) fn after_failure(
    attempts: i64,
    max_attempts: i64,
    permanent: bool,
    policy: &RetryPolicy,
) -> AfterFailure {
    if permanent || attempts >= max_attempts {
        AfterFailure::DeadLetter
    } else {
        let attempt = u32::try_from(attempts.max(1)).unwrap_or(u32::MAX);
        AfterFailure::RetryAfter(policy.next_delay_jittered(attempt))
    }
}

/// The lease-related fields of a stored task.
pub(crate) struct LeaseState<'a> {
    pub status: TaskStatus,
    pub token: Option<&'a str>,
    pub deadline: Option<i64>,
}

/// Checks a presented token against the stored state. `Ok` means the
/// attempt is current — and, when `deadline_at` is given, that the attempt's
/// deadline is still after it. Only heartbeats enforce the deadline here: a
/// completion or failure that arrives just after it still counts, until the
/// reaper has failed the attempt.
pub(crate) fn check_token(
    task_id: &str,
    presented: &str,
    state: &LeaseState<'_>,
    deadline_at: Option<i64>,
) -> Result<(), Error> {
    let stale = |reason: String| Error::StaleLease {
        task: task_id.to_string(),
        reason,
    };
    if !state.status.is_leased() {
        return Err(stale(format!("the task is {} now", state.status)));
    }
    if state.token != Some(presented) {
        return Err(stale("a newer attempt holds the lease".into()));
    }
    if let (Some(deadline), Some(now)) = (state.deadline, deadline_at) {
        if deadline <= now {
            return Err(stale("the attempt ran past its deadline".into()));
        }
    }
    Ok(())
}

/// The error stored on an attempt failed by its deadline.
pub(crate) fn deadline_error(attempt: i64, timeout_ms: i64) -> String {
    format!("attempt {attempt} ran past its deadline of {timeout_ms} ms")
}

/// The error stored on a task whose lease ran out.
pub(crate) fn lease_expired_error(worker: Option<&str>) -> String {
    format!(
        "lease expired: worker {} stopped heartbeating",
        worker.unwrap_or("(unknown)")
    )
}

/// The error stored on a task whose lease was ended because its worker was
/// declared dead (`Queue::expire_worker`). It reads like
/// [`lease_expired_error`]: to the task it is the same event, only sooner.
pub(crate) fn worker_expired_error(worker: &str) -> String {
    format!("lease expired: worker {worker} was declared dead")
}

/// The error stored on a dependent when its dependency ends badly.
pub(crate) fn dependency_error(dependency: &str, how: DependencyEnd) -> String {
    match how {
        DependencyEnd::DeadLettered => format!("dependency {dependency} was dead-lettered"),
        DependencyEnd::Failed => format!("dependency {dependency} failed"),
        DependencyEnd::Cancelled => format!("dependency {dependency} was cancelled"),
    }
}

/// How a dependency ended badly.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum DependencyEnd {
    DeadLettered,
    Failed,
    Cancelled,
}

impl DependencyEnd {
    /// The bad end a status stands for, if it is one.
    pub fn of(status: TaskStatus) -> Option<Self> {
        match status {
            TaskStatus::DeadLettered => Some(DependencyEnd::DeadLettered),
            TaskStatus::Failed => Some(DependencyEnd::Failed),
            TaskStatus::Cancelled => Some(DependencyEnd::Cancelled),
            _ => None,
        }
    }
}

/// Sums up a new task's dependencies as they are looked up one by one, then
/// says what state the task starts in.
#[derive(Debug, Default)]
pub(crate) struct DependencyScan {
    unfinished: Vec<TaskId>,
    bad: Option<(TaskId, DependencyEnd)>,
}

impl DependencyScan {
    /// Notes one dependency of `task`; `status` is `None` when it does not
    /// exist, which refuses the submit.
    pub fn note(
        &mut self,
        task: TaskId,
        dep: TaskId,
        status: Option<TaskStatus>,
    ) -> Result<(), Error> {
        let status = status
            .ok_or_else(|| Error::invalid(format!("task {task} depends on unknown task {dep}")))?;
        if let Some(end) = DependencyEnd::of(status) {
            self.bad.get_or_insert((dep, end));
        } else if status != TaskStatus::Completed {
            self.unfinished.push(dep);
        }
        Ok(())
    }

    /// The status the task starts in, why it starts failed (if it does), and
    /// the dependencies it waits on (none unless it is waiting).
    pub fn verdict(self, delayed: bool) -> (TaskStatus, Option<String>, Vec<TaskId>) {
        let status = initial_status(self.bad.is_some(), self.unfinished.len(), delayed);
        let error = self
            .bad
            .map(|(dep, end)| dependency_error(&dep.to_string(), end));
        let waits_on = if status == TaskStatus::Waiting {
            self.unfinished
        } else {
            Vec::new()
        };
        (status, error, waits_on)
    }
}

/// The status a new task starts in.
pub(crate) fn initial_status(
    bad_dependency: bool,
    unfinished_dependencies: usize,
    delayed: bool,
) -> TaskStatus {
    if bad_dependency {
        TaskStatus::Failed
    } else if unfinished_dependencies > 0 {
        TaskStatus::Waiting
    } else if delayed {
        TaskStatus::Delayed
    } else {
        TaskStatus::Pending
    }
}

/// The conflict reported when cancelling a final task.
pub(crate) fn cannot_cancel(task_id: &str, status: TaskStatus) -> Error {
    Error::conflict(format!(
        "task {task_id} is already {status} and cannot be cancelled"
    ))
}

/// The conflict reported when retrying a task that is not dead-lettered.
pub(crate) fn not_dead_lettered(task_id: &str, status: TaskStatus) -> Error {
    Error::conflict(format!("task {task_id} is {status}, not dead-lettered"))
}

/// What one [`Queue::purge_expired`](super::Queue::purge_expired) call
/// deletes: completed, failed and cancelled tasks that finished before
/// `finished`, dead letters dead-lettered before `dead_letters` (both in ms;
/// `None` deletes none of that kind), at most `limit` tasks in all.
///
/// Every backend also keeps a finished task while a task that depends on it
/// is in any status but `completed`, `failed` or `cancelled` (a dead letter
/// may be retried and then read its dependencies' results); the SQL and Lua
/// of each backend spell that list out.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct PurgeCutoffs {
    pub finished: Option<i64>,
    pub dead_letters: Option<i64>,
    pub limit: usize,
}

/// The cutoffs of a purge at `now` under `retention`.
///
/// # Errors
/// [`Error::InvalidInput`] for a limit outside 1 to [`MAX_PURGE_LIMIT`].
pub(crate) fn purge_cutoffs(
    retention: &TaskRetention,
    now: DateTime<Utc>,
    limit: usize,
) -> Result<PurgeCutoffs, Error> {
    if !(1..=MAX_PURGE_LIMIT).contains(&limit) {
        return Err(Error::invalid(format!(
            "purge limit must be between 1 and {MAX_PURGE_LIMIT}, not {limit}"
        )));
    }
    let now = now.timestamp_millis();
    let before = |age: Option<Duration>| age.map(|age| now.saturating_sub(duration_ms(age)));
    Ok(PurgeCutoffs {
        finished: before(retention.finished),
        dead_letters: before(retention.dead_letters),
        limit,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retries_until_the_budget_is_spent() {
        let p = RetryPolicy {
            base: Duration::from_secs(1),
            cap: Duration::from_secs(8),
            jitter: 0.0,
        };
        assert_eq!(
            after_failure(1, 3, false, &p),
            AfterFailure::RetryAfter(Duration::from_secs(1))
        );
        assert_eq!(
            after_failure(2, 3, false, &p),
            AfterFailure::RetryAfter(Duration::from_secs(2))
        );
        assert_eq!(after_failure(3, 3, false, &p), AfterFailure::DeadLetter);
        assert_eq!(after_failure(1, 3, true, &p), AfterFailure::DeadLetter);
    }

    #[test]
    fn explains_why_a_token_is_stale() {
        let state = |status, token, deadline| LeaseState {
            status,
            token,
            deadline,
        };
        let reason = |r: Result<(), Error>| match r {
            Err(Error::StaleLease { reason, .. }) => reason,
            other => panic!("{other:?}"),
        };
        assert_eq!(
            reason(check_token(
                "t",
                "a",
                &state(TaskStatus::Completed, None, None),
                Some(0)
            )),
            "the task is completed now"
        );
        assert_eq!(
            reason(check_token(
                "t",
                "a",
                &state(TaskStatus::Assigned, Some("b"), Some(10)),
                Some(0)
            )),
            "a newer attempt holds the lease"
        );
        assert_eq!(
            reason(check_token(
                "t",
                "a",
                &state(TaskStatus::InProgress, Some("a"), Some(10)),
                Some(10)
            )),
            "the attempt ran past its deadline"
        );
        assert!(check_token(
            "t",
            "a",
            &state(TaskStatus::InProgress, Some("a"), Some(10)),
            Some(9)
        )
        .is_ok());
        assert!(check_token(
            "t",
            "a",
            &state(TaskStatus::InProgress, Some("a"), Some(10)),
            None
        )
        .is_ok());
    }

    #[test]
    fn new_tasks_start_in_the_right_state() {
        assert_eq!(initial_status(true, 2, true), TaskStatus::Failed);
        assert_eq!(initial_status(false, 1, true), TaskStatus::Waiting);
        assert_eq!(initial_status(false, 0, true), TaskStatus::Delayed);
        assert_eq!(initial_status(false, 0, false), TaskStatus::Pending);
        assert_eq!(DependencyEnd::of(TaskStatus::Completed), None);
        assert!(dependency_error("x", DependencyEnd::Cancelled).contains("x was cancelled"));
    }

    #[test]
    fn a_dependency_scan_decides_the_starting_state() {
        let (task, a, b) = (TaskId::new(), TaskId::new(), TaskId::new());
        let mut scan = DependencyScan::default();
        scan.note(task, a, Some(TaskStatus::Completed))
            .expect("known");
        scan.note(task, b, Some(TaskStatus::Pending))
            .expect("known");
        assert_eq!(scan.verdict(false), (TaskStatus::Waiting, None, vec![b]));

        let mut scan = DependencyScan::default();
        scan.note(task, a, Some(TaskStatus::Pending))
            .expect("known");
        scan.note(task, b, Some(TaskStatus::Cancelled))
            .expect("known");
        let (status, error, waits_on) = scan.verdict(true);
        assert_eq!(status, TaskStatus::Failed);
        assert_eq!(error, Some(format!("dependency {b} was cancelled")));
        assert!(waits_on.is_empty(), "a failed task waits on nothing");

        let err = DependencyScan::default()
            .note(task, a, None)
            .unwrap_err()
            .to_string();
        assert!(
            err.contains(&format!("task {task} depends on unknown task {a}")),
            "{err}"
        );
        assert_eq!(
            DependencyScan::default().verdict(true).0,
            TaskStatus::Delayed
        );
    }

    #[test]
    fn purge_cutoffs_subtract_each_age_and_check_the_limit() {
        let now = chrono::DateTime::from_timestamp_millis(1_000_000).expect("time");
        let retention = TaskRetention {
            finished: Some(Duration::from_secs(10)),
            dead_letters: None,
        };
        assert_eq!(
            purge_cutoffs(&retention, now, 5).expect("valid"),
            PurgeCutoffs {
                finished: Some(990_000),
                dead_letters: None,
                limit: 5
            }
        );
        let forever = TaskRetention {
            finished: Some(Duration::MAX),
            dead_letters: Some(Duration::ZERO),
        };
        let c = purge_cutoffs(&forever, now, MAX_PURGE_LIMIT).expect("valid");
        assert_eq!(c.finished, Some(1_000_000 - i64::MAX), "saturates");
        assert_eq!(c.dead_letters, Some(1_000_000));
        for bad in [0, MAX_PURGE_LIMIT + 1] {
            let err = purge_cutoffs(&retention, now, bad).unwrap_err().to_string();
            assert!(err.contains("purge limit"), "{err}");
        }
    }
}
