//! The task queue: one state machine, three backends, one conformance suite.
//!
//! [`Queue`] is the contract; [`QueueExt`] adds conveniences on top of it;
//! [`open`] picks a backend from a URL. The backends are
//! [`sqlite::SqliteQueue`] (embedded, the default), [`redis::RedisQueue`] and
//! [`postgres::PostgresQueue`]. [`crate::conformance::queue`] holds one test
//! per contract clause, run against each of them.

mod attempt;
pub(crate) mod backoff;
mod config;
mod lease;
mod listing;
pub(crate) mod prepare;
mod row;
mod rules;
mod task;

#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "redis")]
pub mod redis;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod worker;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

pub use attempt::{AttemptOutcome, TaskAttempt};
pub use config::{QueueConfig, RetryPolicy, TaskRetention};
pub use lease::{
    ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, LeaseToken, TaskFailure, WorkerId,
};
pub use listing::{TaskFilter, TaskOrder, DEFAULT_LIST_LIMIT, MAX_LIST_LIMIT};
pub use prepare::{MAX_BATCH, MAX_CAPABILITY_LEN, MAX_IDEMPOTENCY_KEY_LEN, MAX_TYPE_LEN};
pub use task::{NewTask, RunAt, Submitted, SubmittedTask, Task, TaskId, TaskPriority, TaskStatus};

use crate::error::{Error, Result};
use crate::storage::{scheme, Engine};
use backoff::Backoff;

/// A durable priority queue of tasks with dependencies, leases, retries and
/// a dead-letter store.
///
/// Implementations are shared as `Arc<dyn Queue>`; every method may be called
/// concurrently from many tasks, processes and machines.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::queue`].
///
/// - **Submit is atomic and validated.** `submit` stores all the tasks of a
///   batch or none. An empty type, a payload over
///   [`QueueConfig::max_payload_bytes`], an unknown dependency, a dependency
///   cycle or an id that already exists is rejected with
///   [`Error::InvalidInput`] (an existing id: [`Error::Conflict`]) and nothing
///   is stored. (`submit_rejects_bad_input_and_stores_nothing`,
///   `submit_rejects_unknown_dependency`, `submit_rejects_cycles`)
/// - **Round trip.** `get` returns what `submit` stored, with status
///   `pending`, `attempts == 0` and the queue's defaults filled in; an unknown
///   id is [`Error::NotFound`]. (`submit_then_get_round_trips`,
///   `unknown_ids_are_not_found`)
/// - **Submit and read back.** `submit_and_get` stores one task as `submit`
///   does and answers it exactly as a `get` right after would (the earlier
///   task, marked `deduplicated`, when its idempotency key matched): status,
///   defaults and the backend's timestamps included. A backend may build the
///   answer from what it just wrote instead of reading it again.
///   (`submit_and_get_answers_what_get_reads`)
/// - **Priority, then FIFO.** `claim` hands out ready tasks with the lowest
///   priority number first and, within a priority, in submit order.
///   (`claims_by_priority_then_fifo`)
/// - **Capabilities.** `claim` only hands out tasks whose required
///   capabilities are all among the worker's.
///   (`claim_respects_capabilities`)
/// - **Task types.** A claim whose [`ClaimRequest::task_types`] is not empty
///   only hands out tasks of those types (capabilities still apply); an
///   empty set takes any type. Tasks of other types stay pending, in their
///   place in line, for other claimers. (`claim_respects_task_types`)
/// - **Exclusive leases.** A ready task is handed to at most one claimer at a
///   time, even under concurrent claims; a claim returns at most `max` tasks.
///   (`concurrent_claims_never_share_a_task`, `claim_returns_at_most_max`)
/// - **Tokens guard every answer.** `complete`, `fail`, `heartbeat` and
///   `release` with a token that is not the current attempt's fail with
///   [`Error::StaleLease`] and change nothing.
///   (`stale_tokens_are_rejected_and_change_nothing`)
/// - **Completion.** `complete` stores the result and makes the task
///   `completed`. (`complete_stores_result`)
/// - **Complete and claim.** `complete_and_claim` does what `complete` and
///   then `claim` would: the task is `completed` and the answer is the next
///   leases (none when no task is ready); a stale token is
///   [`Error::StaleLease`]. (`complete_and_claim_hands_out_the_next_task`)
/// - **Dependencies.** A task with unfinished dependencies is `waiting` and
///   is not handed out; when the last one completes it becomes `pending`. A
///   dependency that ends badly (dead-lettered, failed or cancelled) fails
///   its dependents, transitively, with an error naming it.
///   (`dependencies_gate_claims`, `failed_dependency_fails_dependents`)
/// - **Lease expiry.** A leased task whose lease runs out without a heartbeat
///   is made claimable again by [`Queue::reap`] (workers call it on a timer)
///   and handed out with a new token; attempts keep counting.
///   (`expired_lease_is_redelivered`)
/// - **Heartbeats.** `heartbeat` extends the lease by the claim's lease length
///   but never past the attempt's deadline, and marks the task `in_progress`.
///   (`heartbeat_extends_the_lease`)
/// - **Hard deadline.** An attempt still running at its deadline
///   (`started_at + timeout`) is failed by `reap` even if it heartbeats, and
///   its token becomes stale. (`deadline_fails_attempt_despite_heartbeats`)
/// - **Retries.** A retryable `fail` with attempts left makes the task
///   `delayed` until `now + retry.next_delay(attempts)`; it is not handed out
///   before then. With no attempts left, or a permanent failure, the task is
///   `dead_lettered` with the error kept. (`failed_attempt_is_retried_after_backoff`,
///   `exhausted_task_is_dead_lettered`)
/// - **Dead letters** can be listed (newest first), retried (back to
///   `pending` with a fresh attempt budget) and purged (deleted).
///   (`dead_letters_list_retry_purge`)
/// - **Delays.** A task submitted with `run_at` in the future is `delayed`
///   and is not handed out before then. (`delayed_task_waits_until_due`)
/// - **Cancellation.** `cancel` makes any non-final task `cancelled` (a
///   leased one too: its token becomes stale) and fails its dependents; a
///   final task cannot be cancelled ([`Error::Conflict`]).
///   (`cancel_stops_pending_and_leased_tasks`)
/// - **Expiring a worker.** `expire_worker` ends every lease one worker
///   holds at once, as lease expiry would: each task is handed out again
///   with a new token and its attempts keep counting (one at its attempt
///   limit is dead-lettered); that worker's old tokens become stale; other
///   workers' leases are untouched. It answers how many leases it ended: 0
///   for a worker holding none. (`expiring_a_worker_redelivers_its_tasks`)
/// - **Release.** `release` puts a leased task back to `pending` at once and
///   does not count the attempt. The task keeps its place in line, so the
///   next claim that can take it gets it again — a claimer that releases
///   what it cannot do should claim by type instead.
///   (`release_returns_the_task_uncounted`)
/// - **Attempt history.** `attempts` answers every counted attempt of a
///   task, oldest first, each with its number (as [`Task::attempts`]
///   counts), its worker, when it started and ended, how it ended
///   ([`AttemptOutcome`]: `running` while leased, then `completed`,
///   `failed`, `timed_out` at the deadline, `lease_expired` when the lease
///   ran out or `expire_worker` ended it, or `cancelled`) and the error of a
///   failed, timed-out or expired attempt. Each entry is written in the same
///   atomic step as the transition it records. A released attempt does not
///   count and leaves no entry, so the history holds at most `max_attempts`
///   entries per attempt budget (a dead-letter retry starts a new budget,
///   numbered from 1 again, after the old entries). Purging a task deletes
///   its history; an unknown id is [`Error::NotFound`].
///   (`attempts_record_each_outcome`, `released_attempts_leave_no_history`)
/// - **Current error only.** A task's `error` is set only while it explains
///   the task's state: delayed for a retry, pending again after its lease
///   ended, failed or dead-lettered. Claiming the task, completing it and
///   retrying a dead letter clear it; the attempt that failed keeps its
///   error in the history. (`error_shows_only_while_current`)
/// - **Idempotency.** A submit whose idempotency key matches a task of this
///   queue returns that task, marked `deduplicated`, and stores nothing new.
///   (`idempotency_key_deduplicates`)
/// - **Trace context.** A task submitted with a W3C `traceparent`
///   ([`NewTask::traceparent`]) keeps it, in its version-00 form, through
///   every read: `get`, `list`, a claim's lease, `cancel`, dead letters and
///   their retry, whichever submit path stored it (alone, in a batch, with
///   dependencies or a key). A malformed one is [`Error::InvalidInput`] and
///   stores nothing. (`traceparent_is_carried_with_the_task`)
/// - **Listing.** `list` answers the tasks of this queue that pass a
///   [`TaskFilter`] (any of its statuses, its type, its worker, each only
///   when given) in id order, which for ids from [`TaskId::new`] (UUID v7)
///   is submit order; at most `limit` of them, and only those whose id is
///   greater than `after`. So passing the last id of one page as the next
///   page's `after` visits every task once; the cursor is a comparison, not
///   a lookup, so a cursor naming no task (purged, say) is not an error. A
///   limit outside 1 to [`MAX_LIST_LIMIT`] is [`Error::InvalidInput`].
///   (`list_filters_and_pages`)
/// - **Newest first.** With [`TaskOrder::NewestFirst`], `list` answers the
///   same tasks in descending id order, and `after` keeps only ids smaller
///   than the cursor, so paging walks from the newest task back to the
///   oldest, visiting each once. (`list_pages_newest_first`)
/// - **Statistics.** `stats` counts the tasks in each status.
///   (`stats_count_each_status`)
/// - **Wake-ups.** `wait_for_work` returns soon after a submit (or another
///   transition that makes tasks ready) on this queue, from any handle, and
///   at the latest after its timeout. A delayed task becoming due wakes
///   nobody: the waiter's timeout bounds how late it is noticed.
///   (`wait_for_work_wakes_on_submit`)
/// - **Retention.** `purge_expired(now, limit)` deletes the tasks whose age
///   under [`QueueConfig::retention`] ran out by `now`: completed, failed and
///   cancelled tasks that finished before `now - retention.finished`. A
///   deleted task goes with its attempt history, its dependency edges and its
///   idempotency key (a later submit with that key stores a new task): `get`
///   answers [`Error::NotFound`], `stats` no longer counts it, and its id may
///   be submitted afresh, with no history. Tasks that have not finished, of
///   any age, and tasks that finished later are untouched; a `None` age
///   keeps every task of its kind. The answer counts what went, by kind.
///   (`purge_expired_deletes_old_tasks_with_their_traces`,
///   `purge_expired_keeps_young_and_unfinished_tasks`)
/// - **Dead letters age apart.** Dead letters are deleted by the same call
///   when they were dead-lettered before `now - retention.dead_letters`,
///   whatever `retention.finished` says, and only then.
///   (`purge_expired_ages_dead_letters_apart`)
/// - **Dependents keep what they need.** A finished task is kept, whatever
///   its age, while a task that depends on it is in any status but
///   `completed`, `failed` or `cancelled` (a dead-lettered dependent may be
///   retried, and a running one reads its dependencies' results); once all
///   its dependents have finished so, or are gone, the next purge deletes
///   it. A purge never changes a task it keeps, nor the edges between
///   tasks it keeps. (`purge_expired_keeps_what_dependents_need`)
/// - **Bounded purges.** One `purge_expired` call deletes at most `limit`
///   tasks in all (callers repeat while a call comes back full); a limit
///   outside 1 to [`MAX_PURGE_LIMIT`] is [`Error::InvalidInput`]. Many
///   processes may purge one queue at once: each task is deleted (and
///   counted) once. (`purge_expired_respects_its_limit`)
/// - **Isolation.** Queues with different names never see each other's
///   tasks. (`queues_are_isolated_by_name`)
///
/// # Errors
///
/// [`Error::InvalidInput`] and [`Error::Conflict`] for calls the contract
/// forbids, [`Error::NotFound`] for unknown ids, [`Error::StaleLease`] for
/// out-of-date tokens, [`Error::Backend`] when storage fails. An error never
/// leaves a partial change behind.
///
/// # Cancellation
///
/// Dropping a future mid-call never corrupts the queue: each operation is one
/// atomic step (a transaction or a Lua script); a dropped call either happened
/// or did not. A dropped `claim` may have leased tasks nobody will run: their
/// leases expire and they are redelivered.
#[async_trait]
pub trait Queue: Send + Sync + std::fmt::Debug {
    /// The backend's name: `"sqlite"`, `"redis"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// The configuration this handle was opened with.
    fn config(&self) -> &QueueConfig;

    /// Stores a batch of tasks atomically; answers in the batch's order.
    async fn submit_batch(&self, tasks: Vec<NewTask>) -> Result<Vec<Submitted>>;

    /// Stores one task and answers it as stored. The default submits and
    /// then reads the task back; a backend that knows what it wrote
    /// overrides this to save the read.
    async fn submit_and_get(&self, task: NewTask) -> Result<SubmittedTask> {
        let mut done = self.submit_batch(vec![task]).await?;
        let submitted = done
            .pop()
            .ok_or_else(|| Error::backend(self.backend(), "submit answered nothing"))?;
        Ok(SubmittedTask {
            task: self.get(submitted.id).await?,
            deduplicated: submitted.deduplicated,
        })
    }

    /// The task with this id.
    async fn get(&self, id: TaskId) -> Result<Task>;

    /// Leases up to `req.max` ready tasks the worker can take.
    async fn claim(&self, req: &ClaimRequest) -> Result<Vec<Lease>>;

    /// Extends the lease of a running attempt.
    async fn heartbeat(&self, lease: LeaseKey) -> Result<LeaseRenewal>;

    /// Finishes an attempt successfully.
    async fn complete(&self, lease: LeaseKey, result: serde_json::Value) -> Result<()>;

    /// Finishes an attempt with an error; retries or dead-letters the task.
    async fn fail(&self, lease: LeaseKey, failure: TaskFailure) -> Result<FailOutcome>;

    /// Gives a leased task back without counting the attempt.
    async fn release(&self, lease: LeaseKey) -> Result<()>;

    /// Cancels a task that has not reached a final state.
    async fn cancel(&self, id: TaskId) -> Result<Task>;

    /// Housekeeping: promotes due delayed tasks, redelivers tasks whose lease
    /// expired, fails attempts past their deadline. Workers call it on a timer;
    /// it is safe to call from many processes at once.
    async fn reap(&self) -> Result<ReapReport>;

    /// Ends every lease `worker` holds on this queue now, as if each had
    /// expired: the tasks are handed out again (or dead-lettered at their
    /// attempt limit) exactly as lease expiry would do it, and any later
    /// answer from that worker with an old token is stale. Answers how many
    /// leases it ended. A worker holding nothing (or unknown) ends none:
    /// `Ok(0)`. For a worker known to be dead (it missed its heartbeats), so
    /// its tasks need not wait out long leases.
    async fn expire_worker(&self, worker: &WorkerId) -> Result<u64>;

    /// Counts of tasks per status.
    async fn stats(&self) -> Result<QueueStats>;

    /// The task's counted attempts, oldest first (see **Attempt history**).
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id.
    async fn attempts(&self, id: TaskId) -> Result<Vec<TaskAttempt>>;

    /// Tasks passing `filter`, in id order (submit order for ids from
    /// [`TaskId::new`]; reversed for [`TaskOrder::NewestFirst`]), at most
    /// `filter.limit`, starting after `filter.after`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `filter.validate()` refuses it.
    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>>;

    /// Dead-lettered tasks, newest first.
    async fn dead_letters(&self, limit: usize, offset: usize) -> Result<Vec<Task>>;

    /// Moves a dead-lettered task back to `pending` with a fresh attempt budget.
    async fn retry_dead_letter(&self, id: TaskId) -> Result<Task>;

    /// Deletes dead-lettered tasks: those listed, or all when `ids` is `None`.
    /// Returns how many were deleted.
    async fn purge_dead_letters(&self, ids: Option<&[TaskId]>) -> Result<u64>;

    /// Deletes up to `limit` tasks whose retention
    /// ([`QueueConfig::retention`]) ran out by `now`, with their history,
    /// dependency edges and idempotency keys (see **Retention**). The hive
    /// calls it on a timer with the current time; any other `now` is for
    /// tests and tools. Safe to call from many processes at once.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a `limit` outside 1 to
    /// [`MAX_PURGE_LIMIT`].
    async fn purge_expired(&self, now: DateTime<Utc>, limit: usize) -> Result<PurgeReport>;

    /// Waits until a task may have become ready, or `timeout` passes.
    /// Spurious early returns are allowed.
    async fn wait_for_work(&self, timeout: Duration) -> Result<()>;

    /// Completes one attempt and claims more work in one step. Backends that
    /// can do it in one round trip override this.
    async fn complete_and_claim(
        &self,
        lease: LeaseKey,
        result: serde_json::Value,
        next: &ClaimRequest,
    ) -> Result<Vec<Lease>> {
        self.complete(lease, result).await?;
        self.claim(next).await
    }
}

/// Conveniences over any [`Queue`]; implemented for every queue, never by hand.
#[async_trait]
pub trait QueueExt: Queue {
    /// Submits one task.
    async fn submit(&self, task: NewTask) -> Result<Submitted> {
        let mut out = self.submit_batch(vec![task]).await?;
        out.pop()
            .ok_or_else(|| Error::backend(self.backend(), "submit answered nothing"))
    }

    /// Polls `get` until the task reaches a final state or `timeout` passes.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the timeout passes first.
    async fn wait_until_final(&self, id: TaskId, timeout: Duration) -> Result<Task> {
        let deadline = tokio::time::Instant::now() + timeout;
        let mut pause = Backoff::new(Duration::from_millis(5), Duration::from_millis(100));
        loop {
            let task = self.get(id).await?;
            if task.status.is_final() {
                return Ok(task);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(Error::conflict(format!(
                    "task {id} is still {} after {timeout:?}",
                    task.status
                )));
            }
            tokio::time::sleep(pause.next_delay()).await;
        }
    }
}

impl<Q: Queue + ?Sized> QueueExt for Q {}

/// Counts of tasks per status.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct QueueStats {
    /// Every status, with zero for the empty ones.
    pub counts: BTreeMap<TaskStatus, u64>,
}

impl QueueStats {
    /// Stats from `(status, count)` pairs; missing statuses count zero.
    pub fn from_counts(pairs: impl IntoIterator<Item = (TaskStatus, u64)>) -> Self {
        let mut counts: BTreeMap<TaskStatus, u64> =
            TaskStatus::ALL.into_iter().map(|s| (s, 0)).collect();
        for (status, n) in pairs {
            *counts.entry(status).or_default() += n;
        }
        QueueStats { counts }
    }

    /// The count for one status.
    pub fn get(&self, status: TaskStatus) -> u64 {
        self.counts.get(&status).copied().unwrap_or(0)
    }

    /// All tasks.
    pub fn total(&self) -> u64 {
        self.counts.values().sum()
    }
}

/// What one [`Queue::reap`] did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ReapReport {
    /// Delayed tasks that became pending.
    pub promoted: u64,
    /// Leased tasks whose lease expired: redelivered, or dead-lettered when
    /// out of attempts.
    pub expired: u64,
    /// Attempts failed because they ran past their deadline.
    pub timed_out: u64,
}

/// Most tasks one [`Queue::purge_expired`] call may delete.
pub const MAX_PURGE_LIMIT: usize = 10_000;

/// What one [`Queue::purge_expired`] deleted.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct PurgeReport {
    /// Completed, failed and cancelled tasks past `retention.finished`.
    pub finished: u64,
    /// Dead letters past `retention.dead_letters`.
    pub dead_letters: u64,
}

impl PurgeReport {
    /// Every task deleted.
    ///
    /// ```
    /// use hive_core::queue::PurgeReport;
    ///
    /// let report = PurgeReport { finished: 3, dead_letters: 1 };
    /// assert_eq!(report.total(), 4);
    /// ```
    pub fn total(&self) -> u64 {
        self.finished + self.dead_letters
    }
}

/// Opens a queue from a URL: `sqlite://path/to/hive.db` (or `sqlite::memory:`),
/// `redis://host:port/db`, `postgres://user@host:port/db`.
///
/// # Errors
/// [`Error::InvalidInput`] for an unknown scheme or a bad config,
/// [`Error::NotSupported`] for a backend this build left out (naming its
/// cargo feature), [`Error::Backend`] when the store cannot be reached or
/// migrated.
pub async fn open(url: &str, config: QueueConfig) -> Result<Arc<dyn Queue>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(sqlite::SqliteQueue::open(url, config).await?)),
        #[cfg(feature = "redis")]
        Some(Engine::Redis) => redis::open_dyn(url, config).await,
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => postgres::open_dyn(url, config).await,
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine) => Err(engine.left_out()),
        None => Err(Error::invalid(format!(
            "unknown queue URL scheme {:?}: use sqlite://, redis:// or postgres://",
            scheme(url)
        ))),
    }
}
