//! The queue's operations for its single writer (`storage::sqlite::writer`
//! runs the loop): what each one does, and how a group of them is batched.
//!
//! Every operation of a group runs in one transaction, each that may refuse
//! after writing inside its own savepoint, so one failing operation rolls
//! back alone. Statements are batched across operations: independent
//! submits share one insert, completions one update, claims of one shape
//! one statement.

use sqlx::SqliteConnection;

use super::transitions;
use crate::error::{Error, Result};
use crate::queue::prepare::PreparedTask;
use crate::queue::rules::PurgeCutoffs;
use crate::queue::{
    ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, PurgeReport, QueueConfig, QueueStats,
    ReapReport, Submitted, Task, TaskAttempt, TaskFailure, TaskFilter, TaskId, WorkerId,
};
use crate::storage::sqlite::writer::{control, Answers, Writer};
use crate::time::now_ms;

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
    PurgeExpired(PurgeCutoffs),
    // Reads, for in-memory databases that have no read pool.
    Get(TaskId),
    Stats,
    DeadLetters(usize, usize),
    List(Box<TaskFilter>),
    Attempts(TaskId),
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
    Purged(PurgeReport),
    Stats(QueueStats),
    Tasks(Vec<Task>),
    Attempts(Vec<TaskAttempt>),
}

pub(super) type Job = crate::storage::sqlite::writer::Job<Op, Reply>;

/// The queue as its writer sees it.
pub(super) struct QueueWriter {
    pub config: QueueConfig,
}

impl Writer for QueueWriter {
    type Op = Op;
    type Reply = Reply;

    /// True when the operation may make tasks ready for waiting workers.
    fn may_wake(op: &Op) -> bool {
        matches!(
            op,
            Op::Submit(_)
                | Op::Complete(..)
                | Op::CompleteAndClaim(..)
                | Op::Release(_)
                | Op::Reap
                | Op::ExpireWorker(_)
                | Op::RetryDeadLetter(_)
        )
    }

    fn is_read(op: &Op) -> bool {
        matches!(
            op,
            Op::Get(_) | Op::Stats | Op::DeadLetters(..) | Op::List(_) | Op::Attempts(_)
        )
    }

    /// A submit may refuse (a task id already taken) after it has inserted
    /// part of its batch.
    fn writes_before_it_can_refuse(op: &Op) -> bool {
        matches!(op, Op::Submit(_))
    }

    async fn apply(&mut self, conn: &mut SqliteConnection, op: &Op) -> Result<Reply> {
        execute(conn, &self.config, op).await
    }

    /// Batches statements across operations: first the submits of
    /// independent tasks, together; then every other operation that is
    /// neither a completion nor a claim, one by one; then all completions in
    /// one statement; then the claims, one statement per kind of claim.
    /// (The operations of a group are concurrent, so any order among them is
    /// one their callers could have seen.)
    async fn write_group(
        &mut self,
        conn: &mut SqliteConnection,
        group: &[Job],
        answers: &mut Answers<Reply>,
    ) -> Result<()> {
        let now = now_ms();
        let config = &self.config;
        if group
            .iter()
            .any(|j| matches!(j.op, Op::Claim(_) | Op::CompleteAndClaim(..)))
        {
            transitions::promote_due(conn, &config.name, now).await?;
        }

        submit_independent_together(conn, config, group, answers, now).await?;
        answers
            .run_each(self, conn, group, |op| {
                matches!(
                    op,
                    Op::Claim(_) | Op::Complete(..) | Op::CompleteAndClaim(..)
                )
            })
            .await?;
        let config = &self.config;

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
            let entries: Vec<(LeaseKey, &str)> =
                completions.iter().map(|(_, l, r)| (*l, *r)).collect();
            let outcomes = transitions::complete_many(conn, &config.name, &entries, now).await?;
            for ((i, _, _), outcome) in completions.iter().zip(outcomes) {
                match (&group[*i].op, outcome) {
                    (Op::CompleteAndClaim(_, _, req), Ok(())) => claims.push((*i, req)),
                    (_, Ok(())) => answers.set(*i, Ok(Reply::Done)),
                    (_, Err(Error::Backend { source, .. })) => {
                        return Err(Error::backend("sqlite", source.to_string()))
                    }
                    (_, Err(e)) => answers.set(*i, Err(e)),
                }
            }
        }

        claims.extend(group.iter().enumerate().filter_map(|(i, j)| match &j.op {
            Op::Claim(req) => Some((i, req)),
            _ => None,
        }));
        claims.sort_by_key(|(i, _)| *i);
        // Claims of the same shape (worker, capabilities, types, lease) share one
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
                answers.set(claims[k].0, Ok(Reply::Leases(mine)));
            }
        }
        Ok(())
    }
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
    answers: &mut Answers<Reply>,
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
                answers.set(i, Ok(Reply::Submitted(mine, now)));
            }
        }
        Err(e @ Error::Backend { .. }) => return Err(e),
        Err(_) => control(conn, "ROLLBACK TO together").await?,
    }
    control(conn, "RELEASE together").await
}

fn same_shape(a: &ClaimRequest, b: &ClaimRequest) -> bool {
    a.worker == b.worker
        && a.capabilities == b.capabilities
        && a.task_types == b.task_types
        && a.lease == b.lease
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
        Op::PurgeExpired(cutoffs) => {
            Reply::Purged(transitions::purge_expired(conn, q, *cutoffs).await?)
        }
        Op::Get(id) => Reply::Task(Box::new(transitions::get(conn, q, *id).await?)),
        Op::Stats => Reply::Stats(transitions::stats(conn, q).await?),
        Op::DeadLetters(limit, offset) => {
            Reply::Tasks(transitions::dead_letters(conn, q, *limit, *offset).await?)
        }
        Op::List(filter) => Reply::Tasks(transitions::list(conn, q, filter).await?),
        Op::Attempts(id) => Reply::Attempts(transitions::attempts(conn, q, *id).await?),
    })
}
