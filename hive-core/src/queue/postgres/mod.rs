//! The Postgres queue: many workers on many machines sharing one database.
//!
//! One table holds the tasks of every queue (`migrations/postgres`); time is
//! the database's clock, the one clock all processes share.
//!
//! - **Hot path in one statement.** `claim`, `complete` and
//!   `complete_and_claim` run as `complete_and_claim_batch.sql`: a
//!   token-guarded `UPDATE` for the completions and a `FOR UPDATE SKIP
//!   LOCKED` claim, as one statement. Concurrent calls of a handle share that
//!   statement, and so one commit (`batching.rs`): a commit waits for the
//!   disk, and one per task would cap throughput at a few hundred tasks a
//!   second.
//! - **Everything else in short transactions** that lock the task's row
//!   before deciding (`transitions.rs`): fail, cancel, reap, retention's
//!   purge, and finishing a task that others depend on. `heartbeat` and
//!   `release` are single guarded statements; when a guarded statement
//!   matches nothing, a read of the row says why, in the words of
//!   [`super::rules`].
//! - **Submits** are one multi-row `INSERT`, in a transaction only when the
//!   batch has dependencies, idempotency keys or delays (`submit.rs`).
//! - **Wake-ups** use `LISTEN/NOTIFY`, with the caller's timeout as the
//!   polling fallback (`wakeups.rs`).
//!
//! Why a task with dependents is finished in a transaction: under READ
//! COMMITTED a statement sees only rows committed before it started. A
//! submit that adds a dependent to task X locks X and marks it
//! (`has_dependents`). A one-statement completion that started before that
//! submit committed would wait for the lock, then miss the new edge, and the
//! dependent would wait forever. The batched completion therefore skips
//! marked tasks, and the locked path finishes them: its statements run after
//! it holds the lock, so they see every edge.
//!
//! Plans: every statement has one right plan whatever its parameters — key
//! lookups, or the first rows of a partial index in index order — so the
//! queue's sessions use generic plans (`plan_cache_mode`) instead of planning
//! the big claim statement again on every call, and Postgres re-plans them
//! when autovacuum refreshes the table's statistics. Those sessions also turn
//! bitmap scans off: a bitmap scan is never the right plan here, yet when the
//! statistics underestimate one queue's backlog (one busy queue among many
//! quiet ones, or a burst since the last analyze) the planner picks one, and
//! every claim then reads and sorts the whole backlog — two orders of
//! magnitude slower, seen while measuring.

mod batching;
mod submit;
mod transitions;
mod wakeups;

use std::future::Future;
use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres, Transaction};

use self::batching::{Batcher, Claim, Completion, Step, StepOutcome};
use self::wakeups::Wakeups;
use super::attempt::AttemptRow;
use super::listing::list_statement;
use super::prepare::{prepare, serialise_result};
use super::row::TaskRow;
use super::rules::purge_cutoffs;
use super::{
    ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, NewTask, PurgeReport, Queue,
    QueueConfig, QueueStats, ReapReport, Submitted, Task, TaskAttempt, TaskFailure, TaskFilter,
    TaskId, TaskStatus, WorkerId, MAX_BATCH,
};
use crate::error::{Error, Result};
use crate::time::{duration_ms, from_ms};

/// The backend's name in errors.
const BACKEND: &str = "postgres";

/// Maps a driver error.
fn db_err(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

/// The database error behind `e`, if it is one.
fn database_error(e: &Error) -> Option<&dyn sqlx::error::DatabaseError> {
    match e {
        Error::Backend { source, .. } => match source.downcast_ref::<sqlx::Error>() {
            Some(sqlx::Error::Database(db)) => Some(db.as_ref()),
            _ => None,
        },
        _ => None,
    }
}

/// True when trying the same transaction again will likely succeed: it lost
/// a deadlock (two transactions locking related tasks in opposite orders),
/// or it raced another submit to the same idempotency key — the next try
/// finds the winner's task and returns it.
fn worth_retrying(e: &Error) -> bool {
    database_error(e).is_some_and(|db| {
        matches!(db.code().as_deref(), Some("40P01" | "40001"))
            || db.constraint() == Some("hive_tasks_idempotency")
    })
}

/// Runs `attempt` again (a few times) while it fails in a way worth retrying.
async fn retrying<T, F, Fut>(mut attempt: F) -> Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Result<T>>,
{
    let mut tries_left = 4;
    loop {
        match attempt().await {
            Err(e) if tries_left > 0 && worth_retrying(&e) => tries_left -= 1,
            done => return done,
        }
    }
}

/// Ends a transaction: commits when `outcome` is a success, otherwise rolls
/// back before answering. Dropping the transaction would roll back too, but
/// only when its connection is next used: meanwhile its row locks would
/// linger, and a `SKIP LOCKED` claim would pass over those tasks.
async fn finish<T>(tx: Transaction<'_, Postgres>, outcome: Result<T>) -> Result<T> {
    match outcome {
        Ok(value) => {
            tx.commit().await.map_err(db_err)?;
            Ok(value)
        }
        Err(e) => {
            // `e` is the error worth reporting. A rollback that fails means
            // a broken connection, and the server ends the transaction
            // when it drops.
            let _ = tx.rollback().await;
            Err(e)
        }
    }
}

/// Options for the Postgres backend beyond [`QueueConfig`].
#[derive(Clone, Debug)]
pub struct PostgresOptions {
    /// Most connections this handle opens for its operations. Default 10:
    /// every call holds a connection for one round trip (or one short
    /// transaction), so ten serve dozens of concurrent workers. Waiting for
    /// work uses one more, separate connection.
    pub max_connections: u32,
    /// How long an operation waits for a free connection before failing with
    /// [`Error::Backend`]. Default 10 s.
    pub acquire_timeout: Duration,
    /// How long [`PostgresQueue::open`] may take to connect and migrate.
    /// Default 10 s.
    pub connect_timeout: Duration,
}

impl Default for PostgresOptions {
    fn default() -> Self {
        PostgresOptions {
            max_connections: 10,
            acquire_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(10),
        }
    }
}

/// The Postgres queue.
///
/// ```no_run
/// # async fn demo() -> hive_core::Result<()> {
/// use hive_core::queue::postgres::{PostgresOptions, PostgresQueue};
/// use hive_core::queue::{NewTask, QueueConfig, QueueExt};
///
/// let queue = PostgresQueue::open_with(
///     "postgres://postgres@127.0.0.1:5432/hive",
///     QueueConfig::named("emails"),
///     PostgresOptions {
///         max_connections: 20,
///         ..PostgresOptions::default()
///     },
/// )
/// .await?;
/// queue.submit(NewTask::new("send", serde_json::json!({"to": "ada"}))).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug)]
pub struct PostgresQueue {
    config: QueueConfig,
    pool: PgPool,
    /// Runs claims and completions, many callers per statement.
    batcher: Batcher,
    wake: Wakeups,
}

/// Opens the Postgres queue at `url` as a trait object (used by [`super::open`]).
pub(super) async fn open_dyn(url: &str, config: QueueConfig) -> Result<std::sync::Arc<dyn Queue>> {
    Ok(std::sync::Arc::new(PostgresQueue::open(url, config).await?))
}

impl PostgresQueue {
    /// Opens the queue `config.name` in the database at `url`
    /// (`postgres://user@host:port/db`), creating the schema if needed, with
    /// default options.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL or config; [`Error::Backend`]
    /// when the database cannot be reached or migrated.
    pub async fn open(url: &str, config: QueueConfig) -> Result<Self> {
        Self::open_with(url, config, PostgresOptions::default()).await
    }

    /// [`open`](Self::open) with explicit [`PostgresOptions`].
    pub async fn open_with(
        url: &str,
        config: QueueConfig,
        options: PostgresOptions,
    ) -> Result<Self> {
        config.validate()?;
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(format!("bad postgres URL: {e}")))?
            .application_name("agent-hive")
            // See the module header on plans.
            .options([
                ("plan_cache_mode", "force_generic_plan"),
                ("enable_bitmapscan", "off"),
            ])
            .disable_statement_logging();
        // Connecting directly (not through a pool, which retries until its
        // timeout) makes an unreachable database fail `open` at once.
        let channel = tokio::time::timeout(
            options.connect_timeout,
            migrate_and_name_channel(&connect, &config.name),
        )
        .await
        .map_err(|_| {
            Error::backend(
                BACKEND,
                format!(
                    "could not connect and migrate within {:?}",
                    options.connect_timeout
                ),
            )
        })??;
        let pool = PgPoolOptions::new()
            .max_connections(options.max_connections.max(1))
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy_with(connect.clone());
        let listener_pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy_with(connect);
        // Two executors let one batch form while the previous one commits,
        // and keep the hot path moving while one waits on a row lock (a
        // reaper's, say). More only split the same work into smaller batches.
        let executors = if options.max_connections >= 4 { 2 } else { 1 };
        Ok(PostgresQueue {
            batcher: Batcher::start(pool.clone(), config.name.clone(), executors),
            config,
            pool,
            wake: Wakeups::new(listener_pool, channel),
        })
    }
}

/// Brings the schema up to date and asks the database for the queue's
/// notification channel (its name is defined once, in SQL).
async fn migrate_and_name_channel(connect: &PgConnectOptions, queue: &str) -> Result<String> {
    let mut conn = PgConnection::connect_with(connect).await.map_err(db_err)?;
    // A database shared with newer builds may hold migrations this build
    // does not know; they only add to the schema, so they are no reason to
    // refuse to run.
    crate::storage::postgres::migrator()
        .run_direct(&mut conn)
        .await
        .map_err(|e| Error::backend(BACKEND, e))?;
    let channel: String = sqlx::query_scalar(include_str!("sql/channel.sql"))
        .bind(queue)
        .fetch_one(&mut conn)
        .await
        .map_err(db_err)?;
    // The work is done; a failed goodbye changes nothing.
    let _ = conn.close().await;
    Ok(channel)
}

impl PostgresQueue {
    /// The batched form of a claim request; `None` when it asks for nothing.
    fn claim_of(&self, req: &ClaimRequest) -> Option<Claim> {
        (req.max > 0).then(|| Claim {
            worker: req.worker.as_str().to_owned(),
            capabilities: req.capabilities.iter().cloned().collect(),
            task_types: req.task_types.iter().cloned().collect(),
            lease_ms: duration_ms(req.lease.unwrap_or(self.config.lease)),
            // More than a submit can hold is more than a claim can need.
            max: i32::try_from(req.max.min(MAX_BATCH)).unwrap_or(i32::MAX),
        })
    }

    /// Completes (and maybe claims) through the batcher; a completion it
    /// refuses goes through the locked path, which explains a stale token or
    /// completes a task that has dependents. In that case no claim was made.
    async fn complete_step(
        &self,
        lease: LeaseKey,
        result: String,
        claim: Option<Claim>,
    ) -> Result<StepOutcome> {
        let outcome = self
            .batcher
            .run(Step {
                completion: Some(Completion {
                    lease,
                    result: result.clone(),
                }),
                claim,
            })
            .await?;
        if !outcome.completed {
            retrying(|| self.complete_locked(lease, &result)).await?;
        }
        Ok(outcome)
    }
}

#[async_trait]
impl Queue for PostgresQueue {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn config(&self) -> &QueueConfig {
        &self.config
    }

    async fn submit_batch(&self, tasks: Vec<NewTask>) -> Result<Vec<Submitted>> {
        let batch = prepare(&self.config, tasks)?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        self.submit(&batch).await
    }

    async fn get(&self, id: TaskId) -> Result<Task> {
        let row: Option<TaskRow> = sqlx::query_as(include_str!("sql/get.sql"))
            .bind(&self.config.name)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.ok_or_else(|| Error::not_found("task", id))?
            .into_task(BACKEND)
    }

    async fn claim(&self, req: &ClaimRequest) -> Result<Vec<Lease>> {
        let Some(claim) = self.claim_of(req) else {
            return Ok(Vec::new());
        };
        let outcome = self
            .batcher
            .run(Step {
                completion: None,
                claim: Some(claim),
            })
            .await?;
        Ok(outcome.leases)
    }

    async fn heartbeat(&self, lease: LeaseKey) -> Result<LeaseRenewal> {
        let renewed: Option<i64> = sqlx::query_scalar(include_str!("sql/heartbeat.sql"))
            .bind(&self.config.name)
            .bind(lease.task_id.0)
            .bind(lease.token.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match renewed {
            Some(ms) => Ok(LeaseRenewal {
                expires_at: from_ms(ms),
            }),
            None => Err(self.why_refused(lease, "heartbeat", true).await),
        }
    }

    async fn complete(&self, lease: LeaseKey, result: serde_json::Value) -> Result<()> {
        let result = serialise_result(&self.config, &result)?;
        self.complete_step(lease, result, None).await?;
        Ok(())
    }

    async fn fail(&self, lease: LeaseKey, failure: TaskFailure) -> Result<FailOutcome> {
        retrying(|| self.fail_locked(lease, &failure)).await
    }

    async fn release(&self, lease: LeaseKey) -> Result<()> {
        let released: i64 = sqlx::query_scalar(include_str!("sql/release.sql"))
            .bind(&self.config.name)
            .bind(lease.task_id.0)
            .bind(lease.token.0)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        if released == 1 {
            Ok(())
        } else {
            Err(self.why_refused(lease, "release", false).await)
        }
    }

    async fn cancel(&self, id: TaskId) -> Result<Task> {
        retrying(|| self.cancel_locked(id)).await
    }

    async fn reap(&self) -> Result<ReapReport> {
        let promoted: i64 = sqlx::query_scalar(include_str!("sql/promote_due.sql"))
            .bind(&self.config.name)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        let mut report = self.reap_leases().await?;
        report.promoted = u64::try_from(promoted).unwrap_or(0);
        Ok(report)
    }

    async fn expire_worker(&self, worker: &WorkerId) -> Result<u64> {
        retrying(|| self.expire_worker_locked(worker.as_str())).await
    }

    async fn attempts(&self, id: TaskId) -> Result<Vec<TaskAttempt>> {
        let rows: Vec<AttemptRow> = sqlx::query_as(include_str!("sql/attempts.sql"))
            .bind(&self.config.name)
            .bind(id.0)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            // No history, or no such task: `get` tells which.
            self.get(id).await?;
        }
        rows.into_iter().map(|r| r.into_attempt(BACKEND)).collect()
    }

    async fn stats(&self) -> Result<QueueStats> {
        let rows: Vec<(String, i64)> = sqlx::query_as(include_str!("sql/stats.sql"))
            .bind(&self.config.name)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        let mut pairs = Vec::with_capacity(rows.len());
        for (status, n) in rows {
            pairs.push((
                TaskStatus::from_str(&status)?,
                u64::try_from(n).unwrap_or(0),
            ));
        }
        Ok(QueueStats::from_counts(pairs))
    }

    async fn dead_letters(&self, limit: usize, offset: usize) -> Result<Vec<Task>> {
        let rows: Vec<TaskRow> = sqlx::query_as(include_str!("sql/dead_letters.sql"))
            .bind(&self.config.name)
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .bind(i64::try_from(offset).unwrap_or(i64::MAX))
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.into_iter().map(|r| r.into_task(BACKEND)).collect()
    }

    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        filter.validate()?;
        let rows: Vec<TaskRow> = list_statement::<Postgres>(
            include_str!("sql/list.sql"),
            "::uuid",
            &self.config.name,
            filter,
        )
        .build_query_as()
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter().map(|r| r.into_task(BACKEND)).collect()
    }

    async fn retry_dead_letter(&self, id: TaskId) -> Result<Task> {
        let row: Option<TaskRow> = sqlx::query_as(include_str!("sql/retry_dead_letter.sql"))
            .bind(&self.config.name)
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => row.into_task(BACKEND),
            None => {
                let task = self.get(id).await?;
                Err(super::rules::not_dead_lettered(
                    &id.to_string(),
                    task.status,
                ))
            }
        }
    }

    async fn purge_dead_letters(&self, ids: Option<&[TaskId]>) -> Result<u64> {
        let ids: Option<Vec<uuid::Uuid>> = ids.map(|ids| ids.iter().map(|id| id.0).collect());
        let gone: i64 = sqlx::query_scalar(include_str!("sql/purge_dead_letters.sql"))
            .bind(&self.config.name)
            .bind(ids)
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(u64::try_from(gone).unwrap_or(0))
    }

    async fn purge_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<PurgeReport> {
        let cutoffs = purge_cutoffs(&self.config.retention, now, limit)?;
        retrying(|| self.purge_expired_locked(cutoffs)).await
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        self.wake.wait(timeout).await;
        Ok(())
    }

    async fn complete_and_claim(
        &self,
        lease: LeaseKey,
        result: serde_json::Value,
        next: &ClaimRequest,
    ) -> Result<Vec<Lease>> {
        let result = serialise_result(&self.config, &result)?;
        let claim = self.claim_of(next);
        let wants_more = claim.is_some();
        let outcome = self.complete_step(lease, result, claim).await?;
        if outcome.completed || !wants_more {
            Ok(outcome.leases)
        } else {
            // Completed on the locked path: claim on its own.
            self.claim(next).await
        }
    }
}
