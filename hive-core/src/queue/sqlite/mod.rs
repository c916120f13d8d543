//! The embedded queue: one SQLite file (WAL), no servers. The default.
//!
//! Writes go through a single writer task that commits in groups (the loop
//! is `storage::sqlite::writer`, the queue's batching `writer.rs`); reads
//! use a small pool of read-only connections. Several processes may open
//! the same file: SQLite's lock serialises their writers (with a busy
//! timeout), and workers poll because no notification crosses process
//! boundaries.

mod transitions;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::sqlite::{SqlitePool, SqlitePoolOptions};
use tokio::sync::{mpsc, Notify};

use self::writer::{Job, Op, QueueWriter, Reply};
use super::prepare::{prepare, serialise_result};
use super::rules::purge_cutoffs;
use super::{
    ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, NewTask, PurgeReport, Queue,
    QueueConfig, QueueStats, ReapReport, Submitted, SubmittedTask, Task, TaskAttempt, TaskFailure,
    TaskFilter, TaskId, WorkerId,
};
use crate::error::{Error, Result};

use crate::storage::sqlite::writer::{self as single_writer, call, unexpected};
pub use crate::storage::sqlite::Durability;
use crate::storage::sqlite::{connect_options, waker_for};

/// Maps a driver error.
pub(crate) fn db_err(e: sqlx::Error) -> Error {
    Error::backend("sqlite", e)
}

/// Options for the embedded backend beyond [`QueueConfig`].
#[derive(Clone, Debug)]
pub struct SqliteOptions {
    /// Commit durability. Default [`Durability::Full`].
    pub durability: Durability,
    /// How long a writer waits for another process's lock. Default 5 s.
    pub busy_timeout: Duration,
    /// Read connections. Default 4.
    pub readers: u32,
}

impl Default for SqliteOptions {
    fn default() -> Self {
        SqliteOptions {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            readers: 4,
        }
    }
}

/// The embedded SQLite queue.
#[derive(Debug)]
pub struct SqliteQueue {
    config: QueueConfig,
    jobs: mpsc::Sender<Job>,
    /// `None` for in-memory databases, whose reads go through the writer.
    readers: Option<SqlitePool>,
    wake: Arc<Notify>,
}

impl SqliteQueue {
    /// Opens (creating if needed) the queue in the SQLite database at `url`
    /// (`sqlite://path/to/file.db` or `sqlite::memory:`), with default options.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL or config; [`Error::Backend`] when
    /// the file cannot be opened or migrated.
    pub async fn open(url: &str, config: QueueConfig) -> Result<Self> {
        Self::open_with(url, config, SqliteOptions::default()).await
    }

    /// [`open`](Self::open) with explicit [`SqliteOptions`].
    pub async fn open_with(url: &str, config: QueueConfig, options: SqliteOptions) -> Result<Self> {
        config.validate()?;
        let (base, in_memory) = connect_options(url, options.durability, options.busy_timeout)?;
        let writer = single_writer::connect(&base).await?;
        let readers = if in_memory {
            None
        } else {
            Some(
                SqlitePoolOptions::new()
                    .max_connections(options.readers.max(1))
                    .connect_with(base.clone().read_only(true))
                    .await
                    .map_err(|e| crate::storage::sqlite::open_error(&base, e))?,
            )
        };
        let key = format!("{}|{}", base.get_filename().display(), config.name);
        let wake = if in_memory {
            Arc::new(Notify::new())
        } else {
            waker_for(key)
        };
        let jobs = single_writer::spawn(
            writer,
            QueueWriter {
                config: config.clone(),
            },
            wake.clone(),
        );
        Ok(SqliteQueue {
            config,
            jobs,
            readers,
            wake,
        })
    }

    async fn call(&self, op: Op) -> Result<Reply> {
        call(&self.jobs, op).await
    }
}

#[async_trait]
impl Queue for SqliteQueue {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn config(&self) -> &QueueConfig {
        &self.config
    }

    async fn submit_batch(&self, tasks: Vec<NewTask>) -> Result<Vec<Submitted>> {
        let batch = prepare(&self.config, tasks)?;
        if batch.is_empty() {
            return Ok(Vec::new());
        }
        match self.call(Op::Submit(batch)).await? {
            Reply::Submitted(s, _) => Ok(s),
            _ => Err(unexpected("submit")),
        }
    }

    /// An independent task is stored exactly as prepared, so its answer is
    /// built from it and the time the writer stored it at: no read after
    /// the write. Any other task is read back.
    async fn submit_and_get(&self, task: NewTask) -> Result<SubmittedTask> {
        let payload = task.payload.clone();
        let batch = prepare(&self.config, vec![task])?;
        let fresh = batch.first().and_then(|t| t.fresh(payload));
        let Reply::Submitted(mut submitted, now) = self.call(Op::Submit(batch)).await? else {
            return Err(unexpected("submit"));
        };
        let submitted = submitted.pop().ok_or_else(|| unexpected("submit"))?;
        let task = match fresh {
            Some(fresh) => fresh.stored(submitted.status, now)?,
            None => self.get(submitted.id).await?,
        };
        Ok(SubmittedTask {
            task,
            deduplicated: submitted.deduplicated,
        })
    }

    async fn get(&self, id: TaskId) -> Result<Task> {
        match &self.readers {
            Some(pool) => {
                let mut conn = pool.acquire().await.map_err(db_err)?;
                transitions::get(&mut conn, &self.config.name, id).await
            }
            None => match self.call(Op::Get(id)).await? {
                Reply::Task(t) => Ok(*t),
                _ => Err(unexpected("get")),
            },
        }
    }

    async fn claim(&self, req: &ClaimRequest) -> Result<Vec<Lease>> {
        match self.call(Op::Claim(req.clone())).await? {
            Reply::Leases(l) => Ok(l),
            _ => Err(unexpected("claim")),
        }
    }

    async fn heartbeat(&self, lease: LeaseKey) -> Result<LeaseRenewal> {
        match self.call(Op::Heartbeat(lease)).await? {
            Reply::Renewal(r) => Ok(r),
            _ => Err(unexpected("heartbeat")),
        }
    }

    async fn complete(&self, lease: LeaseKey, result: serde_json::Value) -> Result<()> {
        let result = serialise_result(&self.config, &result)?;
        match self.call(Op::Complete(lease, result)).await? {
            Reply::Done => Ok(()),
            _ => Err(unexpected("complete")),
        }
    }

    async fn fail(&self, lease: LeaseKey, failure: TaskFailure) -> Result<FailOutcome> {
        match self.call(Op::Fail(lease, failure)).await? {
            Reply::Failed(o) => Ok(o),
            _ => Err(unexpected("fail")),
        }
    }

    async fn release(&self, lease: LeaseKey) -> Result<()> {
        match self.call(Op::Release(lease)).await? {
            Reply::Done => Ok(()),
            _ => Err(unexpected("release")),
        }
    }

    async fn cancel(&self, id: TaskId) -> Result<Task> {
        match self.call(Op::Cancel(id)).await? {
            Reply::Task(t) => Ok(*t),
            _ => Err(unexpected("cancel")),
        }
    }

    async fn reap(&self) -> Result<ReapReport> {
        match self.call(Op::Reap).await? {
            Reply::Reaped(r) => Ok(r),
            _ => Err(unexpected("reap")),
        }
    }

    async fn expire_worker(&self, worker: &WorkerId) -> Result<u64> {
        match self.call(Op::ExpireWorker(worker.clone())).await? {
            Reply::Count(n) => Ok(n),
            _ => Err(unexpected("expire_worker")),
        }
    }

    async fn stats(&self) -> Result<QueueStats> {
        match &self.readers {
            Some(pool) => {
                let mut conn = pool.acquire().await.map_err(db_err)?;
                transitions::stats(&mut conn, &self.config.name).await
            }
            None => match self.call(Op::Stats).await? {
                Reply::Stats(s) => Ok(s),
                _ => Err(unexpected("stats")),
            },
        }
    }

    async fn attempts(&self, id: TaskId) -> Result<Vec<TaskAttempt>> {
        match &self.readers {
            Some(pool) => {
                let mut conn = pool.acquire().await.map_err(db_err)?;
                transitions::attempts(&mut conn, &self.config.name, id).await
            }
            None => match self.call(Op::Attempts(id)).await? {
                Reply::Attempts(a) => Ok(a),
                _ => Err(unexpected("attempts")),
            },
        }
    }

    async fn dead_letters(&self, limit: usize, offset: usize) -> Result<Vec<Task>> {
        match &self.readers {
            Some(pool) => {
                let mut conn = pool.acquire().await.map_err(db_err)?;
                transitions::dead_letters(&mut conn, &self.config.name, limit, offset).await
            }
            None => match self.call(Op::DeadLetters(limit, offset)).await? {
                Reply::Tasks(t) => Ok(t),
                _ => Err(unexpected("dead_letters")),
            },
        }
    }

    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        filter.validate()?;
        match &self.readers {
            Some(pool) => {
                let mut conn = pool.acquire().await.map_err(db_err)?;
                transitions::list(&mut conn, &self.config.name, filter).await
            }
            None => match self.call(Op::List(Box::new(filter.clone()))).await? {
                Reply::Tasks(t) => Ok(t),
                _ => Err(unexpected("list")),
            },
        }
    }

    async fn retry_dead_letter(&self, id: TaskId) -> Result<Task> {
        match self.call(Op::RetryDeadLetter(id)).await? {
            Reply::Task(t) => Ok(*t),
            _ => Err(unexpected("retry_dead_letter")),
        }
    }

    async fn purge_dead_letters(&self, ids: Option<&[TaskId]>) -> Result<u64> {
        match self.call(Op::Purge(ids.map(<[TaskId]>::to_vec))).await? {
            Reply::Count(n) => Ok(n),
            _ => Err(unexpected("purge_dead_letters")),
        }
    }

    async fn purge_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<PurgeReport> {
        let cutoffs = purge_cutoffs(&self.config.retention, now, limit)?;
        match self.call(Op::PurgeExpired(cutoffs)).await? {
            Reply::Purged(report) => Ok(report),
            _ => Err(unexpected("purge_expired")),
        }
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        // Another process's submit cannot notify us: the timeout is the
        // polling fallback, so workers keep it short.
        let _ = tokio::time::timeout(timeout, self.wake.notified()).await;
        Ok(())
    }

    async fn complete_and_claim(
        &self,
        lease: LeaseKey,
        result: serde_json::Value,
        next: &ClaimRequest,
    ) -> Result<Vec<Lease>> {
        let result = serialise_result(&self.config, &result)?;
        match self
            .call(Op::CompleteAndClaim(lease, result, next.clone()))
            .await?
        {
            Reply::Leases(l) => Ok(l),
            _ => Err(unexpected("complete_and_claim")),
        }
    }
}
