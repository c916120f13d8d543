//! Group commit for the hot path: concurrent claims and completions of one
//! handle share a statement.
//!
//! Every commit waits for the write-ahead log to reach the disk, a few
//! milliseconds on ordinary storage, so one commit per task would cap a
//! handle at a few hundred tasks a second however many workers it serves.
//! Instead, `claim`, `complete` and `complete_and_claim` become jobs for a
//! few executor tasks; each executor takes every job waiting and runs them
//! as one `complete_and_claim_batch.sql` statement — one round trip, one
//! commit for the lot — then answers each caller. Several executors run at
//! once, so a batch forms while the previous one commits. A lone caller is
//! served at once: executors never wait to fill a batch.
//!
//! A caller that goes away after sending its job does not cancel it: its
//! completion and claim may still happen (a lease nobody receives expires
//! and the task is redelivered), as the trait's cancellation contract allows.

use std::collections::HashSet;
use std::sync::Arc;

use sqlx::postgres::{PgPool, PgRow};
use sqlx::{FromRow, Row};
use tokio::sync::{mpsc, oneshot, Mutex};
use uuid::Uuid;

use super::BACKEND;
use crate::error::{Error, Result};
use crate::queue::row::TaskRow;
use crate::queue::{Lease, LeaseKey};

/// Most jobs one executor puts in a statement.
const MAX_JOBS: usize = 256;

/// Jobs that may wait for an executor before callers are held back.
const BACKLOG: usize = 4096;

/// A completion to make.
pub(super) struct Completion {
    pub lease: LeaseKey,
    /// The result, serialised and size-checked.
    pub result: String,
}

/// A claim to make.
pub(super) struct Claim {
    pub worker: String,
    /// Sorted and unique (they come from a `BTreeSet`).
    pub capabilities: Vec<String>,
    /// The task types it takes, empty for any; sorted and unique too.
    pub task_types: Vec<String>,
    pub lease_ms: i64,
    /// At least 1.
    pub max: i32,
}

/// One caller's step: complete, claim, or complete then claim.
pub(super) struct Step {
    pub completion: Option<Completion>,
    pub claim: Option<Claim>,
}

/// What became of a step.
#[derive(Default)]
pub(super) struct StepOutcome {
    /// The completion went through. When false the caller must find out why
    /// (a stale token, or a task with dependents, which this path leaves
    /// alone), and no claim was made.
    pub completed: bool,
    pub leases: Vec<Lease>,
}

struct Job {
    step: Step,
    reply: oneshot::Sender<Result<StepOutcome>>,
}

#[derive(Debug)]
pub(super) struct Batcher {
    jobs: mpsc::Sender<Job>,
}

impl Batcher {
    /// Starts `executors` executor tasks; they stop when the batcher is dropped.
    pub(super) fn start(pool: PgPool, queue: String, executors: usize) -> Self {
        let (jobs, rx) = mpsc::channel(BACKLOG);
        let rx = Arc::new(Mutex::new(rx));
        for _ in 0..executors.max(1) {
            tokio::spawn(execute_jobs(pool.clone(), queue.clone(), rx.clone()));
        }
        Batcher { jobs }
    }

    /// Runs one step in the next batch.
    pub(super) async fn run(&self, step: Step) -> Result<StepOutcome> {
        let (reply, answer) = oneshot::channel();
        self.jobs
            .send(Job { step, reply })
            .await
            .map_err(|_| Error::backend(BACKEND, "the batching executors have stopped"))?;
        answer
            .await
            .map_err(|_| Error::backend(BACKEND, "a batching executor stopped mid-operation"))?
    }
}

async fn execute_jobs(pool: PgPool, queue: String, rx: Arc<Mutex<mpsc::Receiver<Job>>>) {
    let mut jobs = Vec::with_capacity(MAX_JOBS);
    loop {
        {
            // Only the executor holding the receiver waits for jobs; the
            // others are busy with their statements or queue behind it.
            let mut rx = rx.lock().await;
            if rx.recv_many(&mut jobs, MAX_JOBS).await == 0 {
                return;
            }
        }
        for statement in split(jobs.drain(..)) {
            run_statement(&pool, &queue, statement).await;
        }
    }
}

/// Jobs that can share one statement.
struct Statement {
    /// The capabilities and task types of its claims; `None` while it has
    /// only completions.
    filter: Option<(Vec<String>, Vec<String>)>,
    /// Tasks it completes: a task appears once per statement, so that a
    /// second completion of it is judged after the first.
    completing: HashSet<Uuid>,
    jobs: Vec<Job>,
}

/// Splits jobs into statements: claims of a statement share capabilities
/// and task types (the ready-task scan filters on them), and no task is
/// completed twice in one statement. Usually all jobs fit one.
fn split(jobs: impl Iterator<Item = Job>) -> Vec<Statement> {
    let mut statements: Vec<Statement> = Vec::new();
    for job in jobs {
        let task = job.step.completion.as_ref().map(|c| c.lease.task_id.0);
        let filter = job
            .step
            .claim
            .as_ref()
            .map(|c| (c.capabilities.clone(), c.task_types.clone()));
        let fits = |s: &Statement| {
            let same_filter = match (&s.filter, &filter) {
                (Some(mine), Some(theirs)) => mine == theirs,
                _ => true,
            };
            same_filter && task.is_none_or(|t| !s.completing.contains(&t))
        };
        match statements.iter_mut().find(|s| fits(s)) {
            Some(s) => {
                if s.filter.is_none() {
                    s.filter = filter;
                }
                s.completing.extend(task);
                s.jobs.push(job);
            }
            None => statements.push(Statement {
                filter,
                completing: task.into_iter().collect(),
                jobs: vec![job],
            }),
        }
    }
    statements
}

async fn run_statement(pool: &PgPool, queue: &str, statement: Statement) {
    let Statement { filter, jobs, .. } = statement;
    let (capabilities, task_types) = filter.unwrap_or_default();
    let n = jobs.len();
    let mut task_ids = Vec::with_capacity(n);
    let mut tokens = Vec::with_capacity(n);
    let mut results = Vec::with_capacity(n);
    let mut workers = Vec::with_capacity(n);
    let mut wanted = Vec::with_capacity(n);
    let mut lease_ms = Vec::with_capacity(n);
    for job in &jobs {
        let completion = job.step.completion.as_ref();
        task_ids.push(completion.map(|c| c.lease.task_id.0));
        tokens.push(completion.map(|c| c.lease.token.0));
        results.push(completion.map(|c| c.result.as_str()));
        let claim = job.step.claim.as_ref();
        workers.push(claim.map(|c| c.worker.as_str()));
        wanted.push(claim.map_or(0, |c| c.max));
        lease_ms.push(claim.map_or(0, |c| c.lease_ms));
    }
    let rows = sqlx::query(include_str!("sql/complete_and_claim_batch.sql"))
        .bind(queue)
        .bind(task_ids)
        .bind(tokens)
        .bind(results)
        .bind(workers)
        .bind(wanted)
        .bind(lease_ms)
        .bind(capabilities)
        .bind(task_types)
        .fetch_all(pool)
        .await;
    let mut outcomes: Vec<Result<StepOutcome>> = match rows {
        Ok(rows) => read_outcomes(&rows, n),
        Err(e) => {
            // Nothing of the statement happened; every caller hears why.
            let why = e.to_string();
            (0..n)
                .map(|_| Err(Error::backend(BACKEND, why.clone())))
                .collect()
        }
    };
    for (job, outcome) in jobs.into_iter().zip(outcomes.drain(..)) {
        // The caller may have gone away; its step happened all the same.
        let _ = job.reply.send(outcome);
    }
}

/// Sorts the statement's rows out by request number (1-based).
fn read_outcomes(rows: &[PgRow], n: usize) -> Vec<Result<StepOutcome>> {
    let mut outcomes: Vec<Result<StepOutcome>> =
        (0..n).map(|_| Ok(StepOutcome::default())).collect();
    for row in rows {
        let read = |row: &PgRow| -> Result<(usize, bool, Option<Lease>)> {
            let req: i64 = row.try_get("req").map_err(super::db_err)?;
            let completed: Option<bool> = row.try_get("completed").map_err(super::db_err)?;
            let id: Option<String> = row.try_get("id").map_err(super::db_err)?;
            let lease = match id {
                Some(_) => Some(
                    TaskRow::from_row(row)
                        .map_err(super::db_err)?
                        .into_lease(BACKEND)?,
                ),
                None => None,
            };
            let index = usize::try_from(req - 1).map_err(|_| {
                Error::backend(BACKEND, format!("request number {req} out of range"))
            })?;
            Ok((index, completed.unwrap_or(false), lease))
        };
        match read(row) {
            Ok((index, completed, lease)) => {
                if let Some(Ok(outcome)) = outcomes.get_mut(index) {
                    outcome.completed = completed;
                    outcome.leases.extend(lease);
                }
            }
            Err(e) => {
                // A row we cannot read poisons only its own request.
                if let Ok(req) = row.try_get::<i64, _>("req") {
                    if let Some(slot) = usize::try_from(req - 1)
                        .ok()
                        .and_then(|i| outcomes.get_mut(i))
                    {
                        *slot = Err(e);
                    }
                }
            }
        }
    }
    outcomes
}
