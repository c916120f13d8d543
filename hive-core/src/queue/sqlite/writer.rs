//! The single writer: one task owns the write connection and commits
//! operations in groups.
//!
//! SQLite allows one writer at a time; funnelling every write through one
//! task makes that explicit and buys two things. *Group commit*: the writer
//! takes every operation that is waiting, runs them in one transaction (each
//! inside its own savepoint, so one failing operation rolls back alone) and
//! pays one fsync for all of them; callers hear back only after the commit,
//! so an acknowledged operation is durable. *Cancellation safety*: a caller
//! that drops its future cannot leave the connection inside a transaction.

use sqlx::{Connection, SqliteConnection};
use std::sync::Arc;
use tokio::sync::{mpsc, oneshot, Notify};

use super::{db_err, transitions};
use crate::error::{Error, Result};
use crate::queue::prepare::PreparedTask;
use crate::queue::{
    ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, QueueConfig, QueueStats, ReapReport,
    Submitted, Task, TaskFailure, TaskId,
};
use crate::time::now_ms;

/// Most operations committed in one transaction.
const MAX_GROUP: usize = 512;

/// One operation for the writer.
pub(super) enum Op {
    Submit(Vec<PreparedTask>),
    Claim(ClaimRequest),
    Heartbeat(LeaseKey),
    Complete(LeaseKey, String),
    CompleteAndClaim(LeaseKey, String, ClaimRequest),
    Fail(LeaseKey, TaskFailure),
    Release(LeaseKey),
    Cancel(TaskId),
    Reap,
    RetryDeadLetter(TaskId),
    Purge(Option<Vec<TaskId>>),
    // Reads, for in-memory databases that have no read pool.
    Get(TaskId),
    Stats,
    DeadLetters(usize, usize),
}

/// What an operation answers.
pub(super) enum Reply {
    Submitted(Vec<Submitted>),
    Leases(Vec<Lease>),
    Renewal(LeaseRenewal),
    Done,
    Failed(FailOutcome),
    Task(Box<Task>),
    Reaped(ReapReport),
    Count(u64),
    Stats(QueueStats),
    Tasks(Vec<Task>),
}

impl Op {
    /// True when the operation may make tasks ready for waiting workers.
    fn may_wake(&self) -> bool {
        matches!(
            self,
            Op::Submit(_)
                | Op::Complete(..)
                | Op::CompleteAndClaim(..)
                | Op::Release(_)
                | Op::Reap
                | Op::RetryDeadLetter(_)
        )
    }

    fn is_read(&self) -> bool {
        matches!(self, Op::Get(_) | Op::Stats | Op::DeadLetters(..))
    }
}

pub(super) struct Job {
    pub op: Op,
    pub reply: oneshot::Sender<Result<Reply>>,
}

/// Runs until every sender is gone.
pub(super) async fn run(
    mut conn: SqliteConnection,
    config: QueueConfig,
    mut jobs: mpsc::Receiver<Job>,
    wake: Arc<Notify>,
) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        let wakes = group.iter().any(|j| j.op.may_wake());
        let results = run_group(&mut conn, &config, &group).await;
        for (job, result) in group.drain(..).zip(results) {
            // The caller may have gone away; its operation still happened.
            let _ = job.reply.send(result);
        }
        if wakes {
            wake.notify_waiters();
        }
    }
    let _ = conn.close().await;
}

async fn run_group(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    group: &[Job],
) -> Vec<Result<Reply>> {
    if group.iter().all(|j| j.op.is_read()) {
        let mut out = Vec::with_capacity(group.len());
        for job in group {
            out.push(execute(conn, config, &job.op).await);
        }
        return out;
    }
    if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
        return group
            .iter()
            .map(|_| Err(Error::backend("sqlite", e.to_string())))
            .collect();
    }
    let mut out = Vec::with_capacity(group.len());
    for job in group {
        out.push(in_savepoint(conn, config, &job.op).await);
    }
    if let Err(e) = sqlx::query("COMMIT").execute(&mut *conn).await {
        let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
        let msg = format!("commit failed, nothing of this operation was stored: {e}");
        return group
            .iter()
            .map(|_| Err(Error::backend("sqlite", msg.clone())))
            .collect();
    }
    out
}

async fn in_savepoint(conn: &mut SqliteConnection, config: &QueueConfig, op: &Op) -> Result<Reply> {
    sqlx::query("SAVEPOINT op")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let result = execute(conn, config, op).await;
    if result.is_err() {
        sqlx::query("ROLLBACK TO op")
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    sqlx::query("RELEASE op")
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    result
}

async fn execute(conn: &mut SqliteConnection, config: &QueueConfig, op: &Op) -> Result<Reply> {
    let now = now_ms();
    let q = config.name.as_str();
    Ok(match op {
        Op::Submit(batch) => Reply::Submitted(transitions::submit(conn, q, batch, now).await?),
        Op::Claim(req) => Reply::Leases(transitions::claim(conn, config, req, now).await?),
        Op::Heartbeat(lease) => Reply::Renewal(transitions::heartbeat(conn, q, *lease, now).await?),
        Op::Complete(lease, result) => {
            transitions::complete(conn, q, *lease, result, now).await?;
            Reply::Done
        }
        Op::CompleteAndClaim(lease, result, req) => {
            transitions::complete(conn, q, *lease, result, now).await?;
            Reply::Leases(transitions::claim(conn, config, req, now).await?)
        }
        Op::Fail(lease, failure) => {
            Reply::Failed(transitions::fail(conn, config, *lease, failure, now).await?)
        }
        Op::Release(lease) => {
            transitions::release(conn, q, *lease, now).await?;
            Reply::Done
        }
        Op::Cancel(id) => Reply::Task(Box::new(transitions::cancel(conn, q, *id, now).await?)),
        Op::Reap => Reply::Reaped(transitions::reap(conn, config, now).await?),
        Op::RetryDeadLetter(id) => Reply::Task(Box::new(
            transitions::retry_dead_letter(conn, q, *id, now).await?,
        )),
        Op::Purge(ids) => Reply::Count(transitions::purge(conn, q, ids.as_deref()).await?),
        Op::Get(id) => Reply::Task(Box::new(transitions::get(conn, q, *id).await?)),
        Op::Stats => Reply::Stats(transitions::stats(conn, q).await?),
        Op::DeadLetters(limit, offset) => {
            Reply::Tasks(transitions::dead_letters(conn, q, *limit, *offset).await?)
        }
    })
}
