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
use tokio::sync::{mpsc, Notify};

use super::{db_err, transitions};
use crate::error::{Error, Result};
use crate::queue::prepare::PreparedTask;
use crate::queue::{
    ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, QueueConfig, QueueStats, ReapReport,
    Submitted, Task, TaskFailure, TaskFilter, TaskId, WorkerId,
};
use crate::time::now_ms;

/// Most operations committed in one transaction.
const MAX_GROUP: usize = 512;

/// Scheduling rounds the writer waits for more operations before a commit.
const GATHER_ROUNDS: usize = 2;

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
    ExpireWorker(WorkerId),
    RetryDeadLetter(TaskId),
    Purge(Option<Vec<TaskId>>),
    // Reads, for in-memory databases that have no read pool.
    Get(TaskId),
    Stats,
    DeadLetters(usize, usize),
    List(Box<TaskFilter>),
}

/// What an operation answers.
pub(super) enum Reply {
    /// The answers, and the time (ms) the tasks were stored at.
    Submitted(Vec<Submitted>, i64),
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
                | Op::ExpireWorker(_)
                | Op::RetryDeadLetter(_)
        )
    }

    /// True for operations that may refuse (with a caller error) after they
    /// have written: they run inside a savepoint so the refusal rolls back
    /// alone. Every other operation checks before it writes.
    fn writes_before_it_can_refuse(&self) -> bool {
        matches!(self, Op::Submit(_))
    }

    fn is_read(&self) -> bool {
        matches!(
            self,
            Op::Get(_) | Op::Stats | Op::DeadLetters(..) | Op::List(_)
        )
    }
}

pub(super) type Job = crate::storage::sqlite::Job<Op, Reply>;

/// Runs until every sender is gone.
pub(super) async fn run(
    mut conn: SqliteConnection,
    config: QueueConfig,
    mut jobs: mpsc::Receiver<Job>,
    wake: Arc<Notify>,
) {
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        // Give callers that are about to send (typically workers that just
        // got their previous answer) a couple of scheduling rounds to join this
        // group: bigger groups share one fsync and fewer statements.
        for _ in 0..GATHER_ROUNDS {
            tokio::task::yield_now().await;
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
        }
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
    match write_group(conn, config, group).await {
        Ok(out) => match sqlx::query("COMMIT").execute(&mut *conn).await {
            Ok(_) => out,
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                failed_group(group.len(), &e.to_string())
            }
        },
        Err(e) => {
            // Only a storage failure gets here, and it may have left an
            // operation half done: nothing of the group is committed.
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            failed_group(group.len(), &e.to_string())
        }
    }
}

fn failed_group(n: usize, why: &str) -> Vec<Result<Reply>> {
    let msg = format!("storage failed, nothing of this operation was stored: {why}");
    (0..n)
        .map(|_| Err(Error::backend("sqlite", msg.clone())))
        .collect()
}

/// Runs a group inside the open transaction, batching statements across
/// operations: first the submits of independent tasks, together; then every
/// other operation that is neither a completion nor a claim, one by one;
/// then all completions in one statement; then the claims, one statement per
/// kind of claim. (The operations of a group are concurrent, so any order
/// among them is one their callers could have seen.) `Err` only for storage
/// failures.
async fn write_group(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    group: &[Job],
) -> Result<Vec<Result<Reply>>> {
    let now = now_ms();
    let mut out: Vec<Option<Result<Reply>>> = (0..group.len()).map(|_| None).collect();
    if group
        .iter()
        .any(|j| matches!(j.op, Op::Claim(_) | Op::CompleteAndClaim(..)))
    {
        transitions::promote_due(conn, &config.name, now).await?;
    }

    submit_independent_together(conn, config, group, &mut out, now).await?;
    for (i, job) in group.iter().enumerate() {
        if out[i].is_some()
            || matches!(
                job.op,
                Op::Claim(_) | Op::Complete(..) | Op::CompleteAndClaim(..)
            )
        {
            continue;
        }
        let result = if job.op.writes_before_it_can_refuse() {
            in_savepoint(conn, config, &job.op).await
        } else {
            execute(conn, config, &job.op).await
        };
        if let Err(Error::Backend { source, .. }) = result {
            return Err(Error::backend("sqlite", source.to_string()));
        }
        out[i] = Some(result);
    }

    let completions: Vec<(usize, LeaseKey, &str)> = group
        .iter()
        .enumerate()
        .filter_map(|(i, j)| match &j.op {
            Op::Complete(lease, result) | Op::CompleteAndClaim(lease, result, _) => {
                Some((i, *lease, result.as_str()))
            }
            _ => None,
        })
        .collect();
    let mut claims: Vec<(usize, &ClaimRequest)> = Vec::new();
    if !completions.is_empty() {
        let entries: Vec<(LeaseKey, &str)> = completions.iter().map(|(_, l, r)| (*l, *r)).collect();
        let answers = transitions::complete_many(conn, &config.name, &entries, now).await?;
        for ((i, _, _), answer) in completions.iter().zip(answers) {
            match (&group[*i].op, answer) {
                (Op::CompleteAndClaim(_, _, req), Ok(())) => claims.push((*i, req)),
                (_, Ok(())) => out[*i] = Some(Ok(Reply::Done)),
                (_, Err(Error::Backend { source, .. })) => {
                    return Err(Error::backend("sqlite", source.to_string()))
                }
                (_, Err(e)) => out[*i] = Some(Err(e)),
            }
        }
    }

    claims.extend(group.iter().enumerate().filter_map(|(i, j)| match &j.op {
        Op::Claim(req) => Some((i, req)),
        _ => None,
    }));
    claims.sort_by_key(|(i, _)| *i);
    // Claims of the same shape (worker, capabilities, lease) share one
    // statement; the leases are dealt out in arrival order.
    let mut done = vec![false; claims.len()];
    for first in 0..claims.len() {
        if done[first] {
            continue;
        }
        let shape = claims[first].1;
        let same: Vec<usize> = (first..claims.len())
            .filter(|&k| !done[k] && same_shape(claims[k].1, shape))
            .collect();
        let total: usize = same.iter().map(|&k| claims[k].1.max).sum();
        let request = ClaimRequest {
            max: total,
            ..shape.clone()
        };
        let mut leases = transitions::claim(conn, config, &request, now)
            .await?
            .into_iter();
        for k in same {
            done[k] = true;
            let mine: Vec<Lease> = leases.by_ref().take(claims[k].1.max).collect();
            out[claims[k].0] = Some(Ok(Reply::Leases(mine)));
        }
    }

    Ok(out
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::backend("sqlite", "operation was not run"))))
        .collect())
}

/// Answers every submit in `group` whose tasks are independent (no
/// dependencies, no idempotency key) with one multi-row insert, whoever sent
/// them: one statement for the group instead of a savepoint, an insert and a
/// release per submit, which is what many single submits at once (an HTTP
/// server's `POST /tasks`) spend most of the writer's time on. Same
/// transaction, same commit: durability is unchanged. If that insert
/// refuses (a task id already taken), it is rolled back and the submits are
/// left unanswered, so each runs alone and only its own caller hears the
/// refusal. `Err` only for storage failures.
async fn submit_independent_together(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    group: &[Job],
    out: &mut [Option<Result<Reply>>],
    now: i64,
) -> Result<()> {
    let together: Vec<(usize, &[PreparedTask])> = group
        .iter()
        .enumerate()
        .filter_map(|(i, job)| match &job.op {
            Op::Submit(batch) if batch.iter().all(PreparedTask::is_independent) => {
                Some((i, batch.as_slice()))
            }
            _ => None,
        })
        .collect();
    if together.len() < 2 {
        return Ok(());
    }
    // Each caller's tasks stay in its own order: answers come back sorted
    // by index.
    let mut combined: Vec<PreparedTask> = Vec::new();
    for (_, batch) in &together {
        let offset = combined.len();
        combined.extend(batch.iter().map(|t| PreparedTask {
            index: offset + t.index,
            ..t.clone()
        }));
    }
    control(conn, "SAVEPOINT together").await?;
    match transitions::submit(conn, &config.name, &combined, now).await {
        Ok(submitted) => {
            let mut submitted = submitted.into_iter();
            for (i, batch) in together {
                let mine = submitted.by_ref().take(batch.len()).collect();
                out[i] = Some(Ok(Reply::Submitted(mine, now)));
            }
        }
        Err(e @ Error::Backend { .. }) => return Err(e),
        Err(_) => control(conn, "ROLLBACK TO together").await?,
    }
    control(conn, "RELEASE together").await
}

fn same_shape(a: &ClaimRequest, b: &ClaimRequest) -> bool {
    a.worker == b.worker && a.capabilities == b.capabilities && a.lease == b.lease
}

async fn in_savepoint(conn: &mut SqliteConnection, config: &QueueConfig, op: &Op) -> Result<Reply> {
    control(conn, "SAVEPOINT op").await?;
    let result = execute(conn, config, op).await;
    if result.is_err() {
        control(conn, "ROLLBACK TO op").await?;
    }
    control(conn, "RELEASE op").await?;
    result
}

/// A savepoint statement, which answers nothing.
async fn control(conn: &mut SqliteConnection, statement: &'static str) -> Result<()> {
    sqlx::query(statement)
        .execute(&mut *conn)
        .await
        .map(|_| ())
        .map_err(db_err)
}

async fn execute(conn: &mut SqliteConnection, config: &QueueConfig, op: &Op) -> Result<Reply> {
    let now = now_ms();
    let q = config.name.as_str();
    Ok(match op {
        Op::Submit(batch) => Reply::Submitted(transitions::submit(conn, q, batch, now).await?, now),
        Op::Heartbeat(lease) => Reply::Renewal(transitions::heartbeat(conn, q, *lease, now).await?),
        Op::Claim(_) | Op::Complete(..) | Op::CompleteAndClaim(..) => {
            return Err(Error::backend(
                "sqlite",
                "claims and completions are batched by the writer",
            ));
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
        Op::ExpireWorker(worker) => {
            Reply::Count(transitions::expire_worker(conn, config, worker.as_str(), now).await?)
        }
        Op::RetryDeadLetter(id) => Reply::Task(Box::new(
            transitions::retry_dead_letter(conn, q, *id, now).await?,
        )),
        Op::Purge(ids) => Reply::Count(transitions::purge(conn, q, ids.as_deref()).await?),
        Op::Get(id) => Reply::Task(Box::new(transitions::get(conn, q, *id).await?)),
        Op::Stats => Reply::Stats(transitions::stats(conn, q).await?),
        Op::DeadLetters(limit, offset) => {
            Reply::Tasks(transitions::dead_letters(conn, q, *limit, *offset).await?)
        }
        Op::List(filter) => Reply::Tasks(transitions::list(conn, q, filter).await?),
    })
}
