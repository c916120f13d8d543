//! The transitions that read before they write, each one short transaction.
//!
//! They lock the task's row first (`lock_lease.sql`), decide with
//! [`crate::queue::rules`], and write. Holding the lock, every later
//! statement of the transaction sees all dependents a concurrent submit
//! added (it had to commit before we got the lock), so counting down or
//! failing dependents here never misses one. None of these is on a worker's
//! hot path except through a refused or dependent completion.

use std::str::FromStr;

use sqlx::PgConnection;
use uuid::Uuid;

use super::{db_err, finish, retrying, PostgresQueue, BACKEND};
use crate::error::{Error, Result};
use crate::queue::row::TaskRow;
use crate::queue::rules::{self, AfterFailure, DependencyEnd, LeaseState, PurgeCutoffs};
use crate::queue::{
    AttemptOutcome, FailOutcome, LeaseKey, PurgeReport, QueueConfig, ReapReport, Task, TaskFailure,
    TaskId, TaskStatus,
};
use crate::time::{duration_ms, from_ms};

/// Most late or expired attempts one reaper transaction takes.
const REAP_CHUNK: i64 = 100;

/// Most chunks one `reap` call works through.
const MAX_REAP_CHUNKS: usize = 50;

/// The fields of a task that lease decisions need, with the database clock.
#[derive(sqlx::FromRow)]
struct LeaseRow {
    status: String,
    lease_token: Option<String>,
    deadline: Option<i64>,
    attempts: i64,
    max_attempts: i64,
    has_dependents: bool,
    now: i64,
}

impl LeaseRow {
    /// Checks `lease` against this state; with `enforce_deadline`, the
    /// attempt's deadline must also still be ahead (heartbeats only).
    fn check(&self, lease: LeaseKey, enforce_deadline: bool) -> Result<TaskStatus> {
        let status = TaskStatus::from_str(&self.status)?;
        rules::check_token(
            &lease.task_id.to_string(),
            &lease.token.to_string(),
            &LeaseState {
                status,
                token: self.lease_token.as_deref(),
                deadline: self.deadline,
            },
            enforce_deadline.then_some(self.now),
        )?;
        Ok(status)
    }
}

/// An attempt the reaper found past its deadline.
#[derive(sqlx::FromRow)]
struct LateAttempt {
    id: Uuid,
    attempts: i64,
    max_attempts: i64,
    timeout_ms: i64,
    has_dependents: bool,
    now: i64,
}

/// A lease the reaper found expired, or one a dead worker held.
#[derive(sqlx::FromRow)]
struct ExpiredLease {
    id: Uuid,
    attempts: i64,
    max_attempts: i64,
    worker: Option<String>,
    has_dependents: bool,
    now: i64,
}

/// Locks the task and checks `lease` against it.
async fn lock_lease(conn: &mut PgConnection, queue: &str, lease: LeaseKey) -> Result<LeaseRow> {
    let row: Option<LeaseRow> = sqlx::query_as(include_str!("sql/lock_lease.sql"))
        .bind(queue)
        .bind(lease.task_id.0)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    let row = row.ok_or_else(|| Error::not_found("task", lease.task_id))?;
    row.check(lease, false)?;
    Ok(row)
}

/// Fails the waiting dependents of `root`, and theirs, transitively, each
/// with an error naming the dependency that took it down.
async fn fail_dependents(conn: &mut PgConnection, root: Uuid, end: DependencyEnd) -> Result<()> {
    let mut todo = vec![(root, end)];
    while let Some((id, end)) = todo.pop() {
        let error = rules::dependency_error(&id.to_string(), end);
        let failed: Vec<(Uuid, bool)> = sqlx::query_as(include_str!("sql/fail_dependents.sql"))
            .bind(id)
            .bind(&error)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        // Only a task that has dependents of its own can take more down.
        todo.extend(
            failed
                .into_iter()
                .filter(|(_, has_dependents)| *has_dependents)
                .map(|(id, _)| (id, DependencyEnd::Failed)),
        );
    }
    Ok(())
}

/// The failed attempt of a locked task, already checked.
struct Failed<'a> {
    id: Uuid,
    attempts: i64,
    max_attempts: i64,
    has_dependents: bool,
    failure: &'a TaskFailure,
    /// How the attempt's history entry ends.
    outcome: AttemptOutcome,
    now: i64,
}

/// Ends task `id`'s open attempt, if it has one.
async fn end_attempt(
    conn: &mut PgConnection,
    id: Uuid,
    outcome: AttemptOutcome,
    error: Option<&str>,
) -> Result<()> {
    sqlx::query(include_str!("sql/end_attempt.sql"))
        .bind(id)
        .bind(outcome.as_str())
        .bind(error)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Retries or dead-letters a failed attempt.
async fn settle_failure(
    conn: &mut PgConnection,
    config: &QueueConfig,
    failed: Failed<'_>,
) -> Result<FailOutcome> {
    let Failed {
        id,
        attempts,
        max_attempts,
        has_dependents,
        failure,
        outcome,
        now,
    } = failed;
    end_attempt(conn, id, outcome, Some(&failure.error)).await?;
    match rules::after_failure(attempts, max_attempts, failure.permanent, &config.retry) {
        AfterFailure::RetryAfter(delay) => {
            let run_at = now.saturating_add(duration_ms(delay));
            sqlx::query(include_str!("sql/retry_later.sql"))
                .bind(&config.name)
                .bind(id)
                .bind(run_at)
                .bind(&failure.error)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            Ok(FailOutcome::Retrying {
                run_at: from_ms(run_at),
            })
        }
        AfterFailure::DeadLetter => {
            sqlx::query(include_str!("sql/dead_letter.sql"))
                .bind(&config.name)
                .bind(id)
                .bind(&failure.error)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            if has_dependents {
                fail_dependents(conn, id, DependencyEnd::DeadLettered).await?;
            }
            Ok(FailOutcome::DeadLettered)
        }
    }
}

impl PostgresQueue {
    /// Explains why a token-guarded statement matched no row: the task is
    /// unknown, or the token stale.
    pub(super) async fn why_refused(
        &self,
        lease: LeaseKey,
        operation: &str,
        enforce_deadline: bool,
    ) -> Error {
        let row: Option<LeaseRow> = match sqlx::query_as(include_str!("sql/lease_state.sql"))
            .bind(&self.config.name)
            .bind(lease.task_id.0)
            .fetch_optional(&self.pool)
            .await
        {
            Ok(row) => row,
            Err(e) => return db_err(e),
        };
        let Some(row) = row else {
            return Error::not_found("task", lease.task_id);
        };
        match row.check(lease, enforce_deadline) {
            Err(e) => e,
            // The lease changed hands and back between the two statements;
            // rare enough that the caller may simply try again.
            Ok(_) => Error::backend(
                BACKEND,
                format!("{operation} matched no row for a current lease"),
            ),
        }
    }

    /// Completes an attempt under the row's lock, counting down dependents.
    pub(super) async fn complete_locked(&self, lease: LeaseKey, result: &str) -> Result<()> {
        let queue = &self.config.name;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let outcome: Result<()> = async {
            let state = lock_lease(&mut tx, queue, lease).await?;
            sqlx::query(include_str!("sql/complete_locked.sql"))
                .bind(queue)
                .bind(lease.task_id.0)
                .bind(result)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            if state.has_dependents {
                sqlx::query(include_str!("sql/count_down_dependents.sql"))
                    .bind(queue)
                    .bind(lease.task_id.0)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            Ok(())
        }
        .await;
        finish(tx, outcome).await
    }

    /// Fails an attempt under the row's lock.
    pub(super) async fn fail_locked(
        &self,
        lease: LeaseKey,
        failure: &TaskFailure,
    ) -> Result<FailOutcome> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let outcome: Result<FailOutcome> = async {
            let state = lock_lease(&mut tx, &self.config.name, lease).await?;
            settle_failure(
                &mut tx,
                &self.config,
                Failed {
                    id: lease.task_id.0,
                    attempts: state.attempts,
                    max_attempts: state.max_attempts,
                    has_dependents: state.has_dependents,
                    failure,
                    outcome: AttemptOutcome::Failed,
                    now: state.now,
                },
            )
            .await
        }
        .await;
        finish(tx, outcome).await
    }

    /// Cancels a task under its row's lock, failing its dependents.
    pub(super) async fn cancel_locked(&self, id: TaskId) -> Result<Task> {
        let queue = &self.config.name;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let outcome: Result<TaskRow> = async {
            let state: Option<LeaseRow> = sqlx::query_as(include_str!("sql/lock_lease.sql"))
                .bind(queue)
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
            let state = state.ok_or_else(|| Error::not_found("task", id))?;
            let status = TaskStatus::from_str(&state.status)?;
            if status.is_final() {
                return Err(rules::cannot_cancel(&id.to_string(), status));
            }
            if status.is_leased() {
                end_attempt(&mut tx, id.0, AttemptOutcome::Cancelled, None).await?;
            }
            let row: TaskRow = sqlx::query_as(include_str!("sql/cancel.sql"))
                .bind(queue)
                .bind(id.0)
                .fetch_one(&mut *tx)
                .await
                .map_err(db_err)?;
            if status == TaskStatus::Waiting {
                sqlx::query(include_str!("sql/delete_edges_to.sql"))
                    .bind(id.0)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            if state.has_dependents {
                fail_dependents(&mut tx, id.0, DependencyEnd::Cancelled).await?;
            }
            Ok(row)
        }
        .await;
        finish(tx, outcome).await?.into_task(BACKEND)
    }

    /// Fails attempts past their deadline and redelivers (or dead-letters)
    /// tasks whose lease expired, a chunk at a time.
    pub(super) async fn reap_leases(&self) -> Result<ReapReport> {
        let mut report = ReapReport::default();
        // Bounded, so that tasks expiring as fast as they are reaped cannot
        // keep one call busy forever; the next reap goes on.
        for _ in 0..MAX_REAP_CHUNKS {
            let (chunk, full) = retrying(|| self.reap_chunk()).await?;
            report.timed_out += chunk.timed_out;
            report.expired += chunk.expired;
            if !full {
                break;
            }
        }
        Ok(report)
    }

    /// One transaction of [`reap_leases`](Self::reap_leases); also says
    /// whether it found a full chunk (so more may be waiting). Rows are taken
    /// with `SKIP LOCKED`, so many reapers split the work instead of queueing
    /// behind each other; chunks are small because a completion of a task
    /// the reaper holds waits for its commit.
    async fn reap_chunk(&self) -> Result<(ReapReport, bool)> {
        let config = &self.config;
        let mut report = ReapReport::default();
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let outcome: Result<(ReapReport, bool)> = async {
            let late: Vec<LateAttempt> = sqlx::query_as(include_str!("sql/past_deadline.sql"))
                .bind(&config.name)
                .bind(REAP_CHUNK)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            let mut full = late.len() as i64 >= REAP_CHUNK;
            for attempt in late {
                let failure = TaskFailure::retryable(rules::deadline_error(
                    attempt.attempts,
                    attempt.timeout_ms,
                ));
                settle_failure(
                    &mut tx,
                    config,
                    Failed {
                        id: attempt.id,
                        attempts: attempt.attempts,
                        max_attempts: attempt.max_attempts,
                        has_dependents: attempt.has_dependents,
                        failure: &failure,
                        outcome: AttemptOutcome::TimedOut,
                        now: attempt.now,
                    },
                )
                .await?;
                report.timed_out += 1;
            }
            let expired: Vec<ExpiredLease> = sqlx::query_as(include_str!("sql/expired_leases.sql"))
                .bind(&config.name)
                .bind(REAP_CHUNK)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            full |= expired.len() as i64 >= REAP_CHUNK;
            report.expired = end_leases(&mut tx, config, expired, |lease| {
                rules::lease_expired_error(lease.worker.as_deref())
            })
            .await?;
            Ok((report, full))
        }
        .await;
        finish(tx, outcome).await
    }

    /// Deletes the tasks retention let go (see [`PurgeCutoffs`]) in one
    /// transaction: reads the candidates (finished ones first, each kind
    /// oldest first), locks those nobody else holds (so concurrent purges
    /// split the work), then deletes the ones still expired and not needed,
    /// with their traces (`delete_expired.sql` says why that is checked
    /// again after the locks).
    pub(super) async fn purge_expired_locked(&self, cutoffs: PurgeCutoffs) -> Result<PurgeReport> {
        let queue = &self.config.name;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let outcome: Result<PurgeReport> = async {
            let mut candidates: Vec<Uuid> = Vec::new();
            for (before, sql) in [
                (cutoffs.finished, include_str!("sql/expired_finished.sql")),
                (
                    cutoffs.dead_letters,
                    include_str!("sql/expired_dead_letters.sql"),
                ),
            ] {
                let room = cutoffs.limit.saturating_sub(candidates.len());
                let Some(before) = before.filter(|_| room > 0) else {
                    continue;
                };
                let ids: Vec<Uuid> = sqlx::query_scalar(sql)
                    .bind(queue)
                    .bind(before)
                    .bind(i64::try_from(room).unwrap_or(i64::MAX))
                    .fetch_all(&mut *tx)
                    .await
                    .map_err(db_err)?;
                candidates.extend(ids);
            }
            if candidates.is_empty() {
                return Ok(PurgeReport::default());
            }
            let locked: Vec<Uuid> = sqlx::query_scalar(include_str!("sql/lock_tasks.sql"))
                .bind(candidates)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            let (finished, dead_letters): (i64, i64) =
                sqlx::query_as(include_str!("sql/delete_expired.sql"))
                    .bind(locked)
                    .bind(cutoffs.finished)
                    .bind(cutoffs.dead_letters)
                    .fetch_one(&mut *tx)
                    .await
                    .map_err(db_err)?;
            Ok(PurgeReport {
                finished: u64::try_from(finished).unwrap_or(0),
                dead_letters: u64::try_from(dead_letters).unwrap_or(0),
            })
        }
        .await;
        finish(tx, outcome).await
    }

    /// Ends every lease `worker` holds in one transaction, as if each had
    /// expired.
    pub(super) async fn expire_worker_locked(&self, worker: &str) -> Result<u64> {
        let config = &self.config;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let outcome: Result<u64> = async {
            let held: Vec<ExpiredLease> = sqlx::query_as(include_str!("sql/worker_leases.sql"))
                .bind(&config.name)
                .bind(worker)
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            let error = rules::worker_expired_error(worker);
            end_leases(&mut tx, config, held, |_| error.clone()).await
        }
        .await;
        finish(tx, outcome).await
    }
}

/// Ends the locked leases `leases`: a task with attempts left is handed out
/// again at once (no backoff: its worker is gone, the task did not fail), one
/// at its attempt limit is dead-lettered. `error` words why. Answers how many.
async fn end_leases(
    conn: &mut PgConnection,
    config: &QueueConfig,
    leases: Vec<ExpiredLease>,
    error: impl Fn(&ExpiredLease) -> String,
) -> Result<u64> {
    let ended = leases.len() as u64;
    let mut requeue_ids = Vec::new();
    let mut requeue_errors = Vec::new();
    for lease in leases {
        let error = error(&lease);
        if lease.attempts >= lease.max_attempts {
            let failure = TaskFailure::permanent(error);
            settle_failure(
                conn,
                config,
                Failed {
                    id: lease.id,
                    attempts: lease.attempts,
                    max_attempts: lease.max_attempts,
                    has_dependents: lease.has_dependents,
                    failure: &failure,
                    outcome: AttemptOutcome::LeaseExpired,
                    now: lease.now,
                },
            )
            .await?;
        } else {
            requeue_ids.push(lease.id);
            requeue_errors.push(error);
        }
    }
    if !requeue_ids.is_empty() {
        // Also wakes waiting workers.
        sqlx::query(include_str!("sql/requeue_expired.sql"))
            .bind(&config.name)
            .bind(requeue_ids)
            .bind(requeue_errors)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(ended)
}
