//! The Redis queue backend: every state change is one Lua script, run with
//! EVALSHA on one multiplexed connection.
//!
//! Layout (see [`scripts::Keys`]): each queue's keys share the hash tag
//! `{<queue name>}`, so the design works on a Redis Cluster. Ready tasks sit
//! in sorted sets partitioned by the exact capability set they require; a
//! claim looks only at the sets that are subsets of the worker's
//! capabilities and pops the best heads across them. Delayed tasks, leases,
//! dead letters and finished tasks are sorted sets by time (the last two are
//! what retention reads); dependencies are a counter on the dependent plus a
//! set of dependents on the dependency; statistics are a counters hash that
//! every script keeps up to date, so `stats` is O(1).
//!
//! Time comes from Redis (`TIME` inside scripts), so every process shares
//! one clock. Decisions that need no storage come from
//! [`crate::queue::rules`]: `fail` and `reap` read the few fields a decision
//! needs, decide in Rust, and let a script apply the decision only if the
//! attempt is still the one they read. `expire_worker` is one script that
//! applies reap's rule for an ended lease itself (requeue, or dead-letter at
//! the attempt limit), so that no answer of the worker slips in between.
//!
//! Blocked workers (`wait_for_work`) wait with BLPOP on a marker list, each
//! on a connection of its own, so a long wait never stalls other calls.
//! The client reconnects on its own after Redis restarts; once it has seen
//! the connection drop, calls fail at once with [`Error::Backend`] rather
//! than queue up (a call racing the drop fails by the command timeout), and
//! a call in flight when the connection drops is not resent (a script that
//! ran but whose answer was lost must not run twice).

mod reply;
mod scripts;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use fred::interfaces::{ClientLike, HashesInterface, ListInterface};
use fred::prelude::Client;
use fred::types::config::Options;
use fred::types::scripts::Script;
use fred::types::{Key, Value};

use self::reply::refusal;
use self::scripts::{Keys, SCRIPTS};
use super::attempt::AttemptRow;
use super::prepare::{prepare, serialise_result, PreparedTask};
use super::rules::{self, purge_cutoffs, AfterFailure, DependencyEnd};
use super::{
    AttemptOutcome, ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, LeaseToken, NewTask,
    PurgeReport, Queue, QueueConfig, QueueStats, ReapReport, RunAt, Submitted, Task, TaskAttempt,
    TaskFailure, TaskFilter, TaskId, TaskStatus, WorkerId,
};
use crate::error::{Error, Result};
use crate::storage::redis::reply::{array, int, malformed, tag, text};
use crate::storage::redis::waiters::Waiters;
use crate::storage::redis::{self as connection, close, live, redis_err, BACKEND, COMMAND_TIMEOUT};
use crate::time::{duration_ms, from_ms};

/// Expired leases handled per reap round (one scan script, one apply script).
const REAP_BATCH: usize = 1_000;
/// Reap rounds per `reap` call, so one call stays bounded.
const REAP_ROUNDS: usize = 10;
/// Tasks deleted (or index entries looked at) per purge script, so one
/// script stays short.
const PURGE_BATCH: usize = 1_000;
/// Task ids one `list` script looks at, so one script stays short however
/// few of them pass the filter.
const LIST_SCAN_BUDGET: i64 = 1_000;

/// The Redis queue.
#[derive(Debug)]
pub struct RedisQueue {
    config: QueueConfig,
    client: Client,
    keys: Keys,
    /// The error texts of [`rules::dependency_error`], split around the id
    /// so scripts can fill it in: dead-lettered, failed, cancelled, each as
    /// (before, after). Passed as ARGV[2..=7] where a script may fail
    /// dependents.
    dependency_texts: [String; 6],
    /// Connections for `wait_for_work`: BLPOP blocks the connection it
    /// runs on.
    waiters: Waiters,
}

impl RedisQueue {
    /// Opens the queue `config.name` in the Redis at `url`
    /// (`redis://[user:password@]host:port[/db]`, or `rediss://` for TLS when
    /// fred is built with a TLS feature).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL or config; [`Error::Backend`]
    /// when Redis cannot be reached.
    pub async fn open(url: &str, config: QueueConfig) -> Result<Self> {
        config.validate()?;
        let builder = connection::builder(url)?;
        let client = builder.build().map_err(redis_err)?;
        client.init().await.map_err(redis_err)?;
        connection::scripts::load(&client, SCRIPTS.all()).await?;
        Ok(RedisQueue {
            keys: Keys::new(&config.name),
            config,
            client,
            dependency_texts: dependency_texts(),
            waiters: Waiters::new(builder),
        })
    }

    /// Runs `script` on the queue's keys with `keys` and `args`.
    async fn run(&self, script: &Script, keys: Vec<Key>, args: Vec<Value>) -> Result<Value> {
        connection::scripts::run(self.live()?, script, self.keys.prefix(), keys, args).await
    }

    /// The client, if it is connected (see [`live`]).
    fn live(&self) -> Result<&Client> {
        live(&self.client)
    }

    /// ARGV[2..=7] for scripts that may fail dependents.
    fn texts(&self) -> impl Iterator<Item = Value> + '_ {
        self.dependency_texts
            .iter()
            .map(|t| Value::from(t.as_str()))
    }

    /// The claim arguments shared by `claim` and `complete_and_claim`.
    fn claim_args(&self, req: &ClaimRequest) -> Vec<Value> {
        let lease = duration_ms(req.lease.unwrap_or(self.config.lease));
        let mut args = Vec::with_capacity(6 + req.capabilities.len() + req.task_types.len());
        args.push(Value::from(fresh_token().to_string()));
        args.push(Value::from(req.worker.as_str()));
        args.push(Value::from(lease));
        args.push(Value::from(i64::try_from(req.max).unwrap_or(i64::MAX)));
        args.push(Value::from(
            i64::try_from(req.capabilities.len()).unwrap_or(i64::MAX),
        ));
        args.extend(req.capabilities.iter().map(|c| Value::from(c.as_str())));
        args.push(Value::from(
            i64::try_from(req.task_types.len()).unwrap_or(i64::MAX),
        ));
        args.extend(req.task_types.iter().map(|t| Value::from(t.as_str())));
        args
    }

    /// Reads the fields a failure decision needs and checks the token.
    async fn attempt_state(&self, lease: LeaseKey) -> Result<(i64, i64)> {
        let fields: Vec<Option<String>> = self
            .live()?
            .hmget(
                self.keys.task(lease.task_id),
                vec![
                    "status",
                    "lease_token",
                    "deadline",
                    "attempts",
                    "max_attempts",
                ],
            )
            .await
            .map_err(redis_err)?;
        let field = |i: usize| fields.get(i).cloned().flatten();
        let Some(status) = field(0) else {
            return Err(Error::not_found("task", lease.task_id));
        };
        let status: TaskStatus = status
            .parse()
            .map_err(|e: Error| Error::backend(BACKEND, e.to_string()))?;
        let token = field(1);
        rules::check_token(
            &lease.task_id.to_string(),
            &lease.token.to_string(),
            &rules::LeaseState {
                status,
                token: token.as_deref(),
                deadline: field(2).and_then(|d| d.parse().ok()),
            },
            None,
        )?;
        let number = |i: usize| field(i).and_then(|v| v.parse::<i64>().ok()).unwrap_or(0);
        Ok((number(3), number(4)))
    }

    /// One round of `reap`: scan, decide, apply. Returns the report of the
    /// round and whether a full batch of expired leases was found.
    async fn reap_round(&self) -> Result<(ReapReport, bool)> {
        let scan = array(
            self.run(
                &SCRIPTS.reap_scan,
                self.keys.queue(),
                vec![Value::from(REAP_BATCH as i64)],
            )
            .await?,
        );
        let (Some(now), Some(promoted)) = (scan.first().and_then(int), scan.get(1).and_then(int))
        else {
            return Err(Error::backend(BACKEND, "unexpected reply from reap_scan"));
        };
        let mut report = ReapReport {
            promoted: u64::try_from(promoted).unwrap_or(0),
            ..ReapReport::default()
        };
        let found = scan.into_iter().nth(2).map(array).unwrap_or_default();
        let full = found.len() >= REAP_BATCH;
        if found.is_empty() {
            return Ok((report, full));
        }
        let mut args: Vec<Value> = self.texts().collect();
        let mut timed_out = Vec::with_capacity(found.len());
        for entry in found {
            let f = array(entry);
            let field = |i: usize| f.get(i).and_then(text).unwrap_or_default();
            let number = |i: usize| f.get(i).and_then(int).unwrap_or(0);
            let (attempts, max_attempts) = (number(3), number(4));
            let past_deadline = f.get(2).and_then(int).is_some_and(|d| d <= now);
            let outcome = if past_deadline {
                AttemptOutcome::TimedOut
            } else {
                AttemptOutcome::LeaseExpired
            };
            let (action, delay, error) = if past_deadline {
                let error = rules::deadline_error(attempts, number(5));
                match rules::after_failure(attempts, max_attempts, false, &self.config.retry) {
                    AfterFailure::RetryAfter(d) => ("retry", duration_ms(d), error),
                    AfterFailure::DeadLetter => ("dead", 0, error),
                }
            } else {
                let worker = field(6);
                let error =
                    rules::lease_expired_error(Some(worker.as_str()).filter(|w| !w.is_empty()));
                // A lost lease is handed out again at once (no backoff: the
                // worker died, the task did not fail) while attempts remain;
                // after the last one the task is dead-lettered.
                if attempts >= max_attempts {
                    ("dead", 0, error)
                } else {
                    ("requeue", 0, error)
                }
            };
            timed_out.push(past_deadline);
            args.extend([
                Value::from(field(0)),
                Value::from(field(1)),
                Value::from(field(7)),
                Value::from(action),
                Value::from(delay),
                Value::from(error),
                Value::from(outcome.as_str()),
            ]);
        }
        let applied = array(
            self.run(&SCRIPTS.reap_apply, self.keys.queue(), args)
                .await?,
        );
        for (flag, timed_out) in applied.iter().zip(timed_out) {
            if int(flag) == Some(1) {
                if timed_out {
                    report.timed_out += 1;
                } else {
                    report.expired += 1;
                }
            }
        }
        Ok((report, full))
    }
}

/// A random lease token, like [`LeaseToken::new`] but drawn from the
/// thread's generator: `Uuid::new_v4` asks the kernel for randomness on every
/// call, a system call per claim on the hot path.
fn fresh_token() -> LeaseToken {
    LeaseToken(uuid::Builder::from_random_bytes(rand::random()).into_uuid())
}

/// Splits each [`rules::dependency_error`] text around the dependency's id.
fn dependency_texts() -> [String; 6] {
    const MARK: &str = "\u{1}";
    let split = |end| {
        let text = rules::dependency_error(MARK, end);
        match text.split_once(MARK) {
            Some((before, after)) => (before.to_string(), after.to_string()),
            None => (format!("{text}: "), String::new()),
        }
    };
    let (d0, d1) = split(DependencyEnd::DeadLettered);
    let (f0, f1) = split(DependencyEnd::Failed);
    let (c0, c1) = split(DependencyEnd::Cancelled);
    [d0, d1, f0, f1, c0, c1]
}

/// The submit script's 13 arguments for one task.
fn submit_args(task: &PreparedTask, args: &mut Vec<Value>) {
    let (run_kind, run_ms) = match task.run_at {
        None => ("", 0),
        Some(RunAt::At(t)) => ("at", t.timestamp_millis()),
        Some(RunAt::After(d)) => ("after", duration_ms(d)),
    };
    let deps = task
        .dependencies
        .iter()
        .map(TaskId::to_string)
        .collect::<Vec<_>>()
        .join(",");
    args.extend([
        Value::from(task.id.to_string()),
        Value::from(task.task_type.as_str()),
        Value::from(task.payload.as_str()),
        Value::from(i64::from(task.priority)),
        Value::from(task.capabilities_json()),
        Value::from(task.capabilities.join(",")),
        Value::from(i64::from(task.max_attempts)),
        Value::from(task.timeout_ms),
        Value::from(task.idempotency_key.as_deref().unwrap_or("")),
        Value::from(run_kind),
        Value::from(run_ms),
        Value::from(deps),
        Value::from(task.traceparent.as_deref().unwrap_or("")),
    ]);
}

impl Drop for RedisQueue {
    // The idle waiters close as `waiters` drops.
    fn drop(&mut self) {
        close(self.client.clone());
    }
}

/// Opens the Redis queue at `url` as a trait object (used by [`super::open`]).
pub(super) async fn open_dyn(url: &str, config: QueueConfig) -> Result<Arc<dyn Queue>> {
    Ok(Arc::new(RedisQueue::open(url, config).await?))
}

#[async_trait]
impl Queue for RedisQueue {
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
        let mut args: Vec<Value> = Vec::with_capacity(8 + batch.len() * 13);
        args.extend(self.texts());
        args.push(Value::from(i64::try_from(batch.len()).unwrap_or(i64::MAX)));
        for task in &batch {
            submit_args(task, &mut args);
        }
        let reply = array(self.run(&SCRIPTS.submit, self.keys.queue(), args).await?);
        match tag(&reply).as_str() {
            "conflict" => {
                let id = reply.get(1).and_then(text).unwrap_or_default();
                return Err(Error::conflict(format!("task id {id} already exists")));
            }
            "unknown" => {
                let field = |i: usize| reply.get(i).and_then(text).unwrap_or_default();
                return Err(Error::invalid(format!(
                    "task {} depends on unknown task {}",
                    field(1),
                    field(2)
                )));
            }
            _ => {}
        }
        if reply.len() != batch.len() {
            return Err(Error::backend(
                BACKEND,
                format!(
                    "submit answered {} tasks for a batch of {}",
                    reply.len(),
                    batch.len()
                ),
            ));
        }
        let mut out: Vec<Option<Submitted>> = vec![None; batch.len()];
        for (task, answer) in batch.iter().zip(reply) {
            let answer = array(answer);
            let (Some(id), Some(status), Some(dedup)) =
                (answer.first(), answer.get(1).and_then(text), answer.get(2))
            else {
                return Err(Error::backend(BACKEND, "unexpected reply from submit"));
            };
            let slot = out
                .get_mut(task.index)
                .ok_or_else(|| Error::backend(BACKEND, "submit answer out of range"))?;
            *slot = Some(Submitted {
                id: reply::task_id(id)?,
                status: status
                    .parse()
                    .map_err(|e: Error| Error::backend(BACKEND, e.to_string()))?,
                deduplicated: int(dedup) == Some(1),
            });
        }
        Ok(out.into_iter().flatten().collect())
    }

    async fn get(&self, id: TaskId) -> Result<Task> {
        let fields: std::collections::HashMap<String, String> = self
            .live()?
            .hgetall(self.keys.task(id))
            .await
            .map_err(redis_err)?;
        if fields.is_empty() {
            return Err(Error::not_found("task", id));
        }
        crate::queue::row::TaskRow::from_hash(BACKEND, fields)?.into_task(BACKEND)
    }

    async fn claim(&self, req: &ClaimRequest) -> Result<Vec<Lease>> {
        if req.max == 0 {
            return Ok(Vec::new());
        }
        let reply = self
            .run(&SCRIPTS.claim, self.keys.queue(), self.claim_args(req))
            .await?;
        reply::leases(reply)
    }

    async fn heartbeat(&self, lease: LeaseKey) -> Result<LeaseRenewal> {
        let reply = array(
            self.run(
                &SCRIPTS.heartbeat,
                self.keys.with_task(lease.task_id),
                vec![
                    Value::from(lease.task_id.to_string()),
                    Value::from(lease.token.to_string()),
                ],
            )
            .await?,
        );
        match (tag(&reply).as_str(), reply.get(1).and_then(int)) {
            ("ok", Some(expires)) => Ok(LeaseRenewal {
                expires_at: from_ms(expires),
            }),
            _ => Err(refusal("heartbeat", lease, &reply)),
        }
    }

    async fn complete(&self, lease: LeaseKey, result: serde_json::Value) -> Result<()> {
        let result = serialise_result(&self.config, &result)?;
        let reply = array(
            self.run(
                &SCRIPTS.complete,
                self.keys.with_task(lease.task_id),
                vec![
                    Value::from(lease.task_id.to_string()),
                    Value::from(lease.token.to_string()),
                    Value::from(result),
                ],
            )
            .await?,
        );
        match tag(&reply).as_str() {
            "ok" => Ok(()),
            _ => Err(refusal("complete", lease, &reply)),
        }
    }

    async fn fail(&self, lease: LeaseKey, failure: TaskFailure) -> Result<FailOutcome> {
        let (attempts, max_attempts) = self.attempt_state(lease).await?;
        let (action, delay) = match rules::after_failure(
            attempts,
            max_attempts,
            failure.permanent,
            &self.config.retry,
        ) {
            AfterFailure::RetryAfter(d) => ("retry", duration_ms(d)),
            AfterFailure::DeadLetter => ("dead", 0),
        };
        let mut args: Vec<Value> = self.texts().collect();
        args.extend([
            Value::from(lease.task_id.to_string()),
            Value::from(lease.token.to_string()),
            Value::from(action),
            Value::from(delay),
            Value::from(failure.error),
        ]);
        let reply = array(
            self.run(&SCRIPTS.fail, self.keys.with_task(lease.task_id), args)
                .await?,
        );
        match (tag(&reply).as_str(), reply.get(1).and_then(int)) {
            ("retry", Some(run_at)) => Ok(FailOutcome::Retrying {
                run_at: from_ms(run_at),
            }),
            ("dead", _) => Ok(FailOutcome::DeadLettered),
            _ => Err(refusal("fail", lease, &reply)),
        }
    }

    async fn release(&self, lease: LeaseKey) -> Result<()> {
        let reply = array(
            self.run(
                &SCRIPTS.release,
                self.keys.with_task(lease.task_id),
                vec![
                    Value::from(lease.task_id.to_string()),
                    Value::from(lease.token.to_string()),
                ],
            )
            .await?,
        );
        match tag(&reply).as_str() {
            "ok" => Ok(()),
            _ => Err(refusal("release", lease, &reply)),
        }
    }

    async fn cancel(&self, id: TaskId) -> Result<Task> {
        let mut args: Vec<Value> = self.texts().collect();
        args.push(Value::from(id.to_string()));
        let mut reply = array(
            self.run(&SCRIPTS.cancel, self.keys.with_task(id), args)
                .await?,
        );
        match tag(&reply).as_str() {
            "ok" if reply.len() == 2 => reply::task(reply.swap_remove(1)),
            "missing" => Err(Error::not_found("task", id)),
            "final" => {
                let status = reply.get(1).and_then(text).unwrap_or_default();
                let status: TaskStatus = status
                    .parse()
                    .map_err(|e: Error| Error::backend(BACKEND, e.to_string()))?;
                Err(rules::cannot_cancel(&id.to_string(), status))
            }
            _ => Err(Error::backend(BACKEND, "unexpected reply from cancel")),
        }
    }

    async fn reap(&self) -> Result<ReapReport> {
        let mut total = ReapReport::default();
        for _ in 0..REAP_ROUNDS {
            let (report, full) = self.reap_round().await?;
            total.promoted += report.promoted;
            total.expired += report.expired;
            total.timed_out += report.timed_out;
            if !full {
                break;
            }
        }
        Ok(total)
    }

    async fn expire_worker(&self, worker: &WorkerId) -> Result<u64> {
        let mut args: Vec<Value> = self.texts().collect();
        args.extend([
            Value::from(worker.as_str()),
            Value::from(rules::worker_expired_error(worker.as_str())),
        ]);
        let reply = array(
            self.run(&SCRIPTS.expire_worker, self.keys.queue(), args)
                .await?,
        );
        match reply.first().and_then(int) {
            Some(ended) => Ok(u64::try_from(ended).unwrap_or(0)),
            None => Err(Error::backend(
                BACKEND,
                "unexpected reply from expire_worker",
            )),
        }
    }

    async fn attempts(&self, id: TaskId) -> Result<Vec<TaskAttempt>> {
        let entries: Vec<String> = self
            .live()?
            .lrange(self.keys.attempts(id), 0, -1)
            .await
            .map_err(redis_err)?;
        if entries.is_empty() {
            // No history, or no such task: `get` tells which.
            self.get(id).await?;
        }
        entries
            .iter()
            .map(|entry| {
                serde_json::from_str::<AttemptRow>(entry)
                    .map_err(|e| {
                        Error::backend(BACKEND, format!("stored attempt is unreadable: {e}"))
                    })?
                    .into_attempt(BACKEND)
            })
            .collect()
    }

    async fn stats(&self) -> Result<QueueStats> {
        let counts: std::collections::HashMap<String, i64> = self
            .live()?
            .hgetall(self.keys.stats())
            .await
            .map_err(redis_err)?;
        let mut pairs = Vec::with_capacity(counts.len());
        for (status, n) in counts {
            let status: TaskStatus = status
                .parse()
                .map_err(|e: Error| Error::backend(BACKEND, e.to_string()))?;
            pairs.push((status, u64::try_from(n).unwrap_or(0)));
        }
        Ok(QueueStats::from_counts(pairs))
    }

    async fn dead_letters(&self, limit: usize, offset: usize) -> Result<Vec<Task>> {
        if limit == 0 {
            return Ok(Vec::new());
        }
        let reply = self
            .run(
                &SCRIPTS.dead_letters,
                self.keys.queue(),
                vec![
                    Value::from(i64::try_from(offset).unwrap_or(i64::MAX)),
                    Value::from(i64::try_from(limit).unwrap_or(i64::MAX)),
                ],
            )
            .await?;
        array(reply).into_iter().map(reply::task).collect()
    }

    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        filter.validate()?;
        let statuses = filter
            .statuses
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(",");
        let given = |v: &Option<String>| {
            [
                Value::from(if v.is_some() { "1" } else { "0" }),
                Value::from(v.clone().unwrap_or_default()),
            ]
        };
        let mut cursor = filter.after.map(|id| id.to_string()).unwrap_or_default();
        let mut tasks = Vec::new();
        // Each script call looks at a bounded number of ids (see list.lua);
        // sparse matches take several calls. Pages of a listing are never
        // one snapshot, on any backend, so neither are these steps.
        while tasks.len() < filter.limit {
            let mut args = vec![
                Value::from(cursor.clone()),
                Value::from(i64::try_from(filter.limit - tasks.len()).unwrap_or(i64::MAX)),
                Value::from(LIST_SCAN_BUDGET),
                Value::from(statuses.clone()),
            ];
            args.extend(given(&filter.task_type));
            args.extend(given(&filter.worker));
            args.push(Value::from(match filter.order {
                super::TaskOrder::OldestFirst => "0",
                super::TaskOrder::NewestFirst => "1",
            }));
            let reply = self.run(&SCRIPTS.list, self.keys.queue(), args).await?;
            let mut items = array(reply).into_iter();
            let (Some(last), Some(ran_out)) = (items.next(), items.next()) else {
                return Err(malformed("the list script", &Value::Null));
            };
            for hash in items {
                tasks.push(reply::task(hash)?);
            }
            cursor = text(&last).unwrap_or_default();
            if int(&ran_out) != Some(0) {
                break;
            }
        }
        Ok(tasks)
    }

    async fn retry_dead_letter(&self, id: TaskId) -> Result<Task> {
        let mut reply = array(
            self.run(
                &SCRIPTS.retry_dead_letter,
                self.keys.with_task(id),
                vec![Value::from(id.to_string())],
            )
            .await?,
        );
        match tag(&reply).as_str() {
            "ok" if reply.len() == 2 => reply::task(reply.swap_remove(1)),
            "missing" => Err(Error::not_found("task", id)),
            "conflict" => {
                let status = reply.get(1).and_then(text).unwrap_or_default();
                let status: TaskStatus = status
                    .parse()
                    .map_err(|e: Error| Error::backend(BACKEND, e.to_string()))?;
                Err(rules::not_dead_lettered(&id.to_string(), status))
            }
            _ => Err(Error::backend(
                BACKEND,
                "unexpected reply from retry_dead_letter",
            )),
        }
    }

    async fn purge_dead_letters(&self, ids: Option<&[TaskId]>) -> Result<u64> {
        let batch = Value::from(PURGE_BATCH as i64);
        let purge = |args: Vec<Value>| async move {
            let reply = array(
                self.run(&SCRIPTS.purge_dead_letters, self.keys.queue(), args)
                    .await?,
            );
            match (reply.first().and_then(int), reply.get(1).and_then(int)) {
                (Some(purged), Some(seen)) => Ok((u64::try_from(purged).unwrap_or(0), seen)),
                _ => Err(Error::backend(
                    BACKEND,
                    "unexpected reply from purge_dead_letters",
                )),
            }
        };
        let mut total = 0;
        match ids {
            Some(ids) => {
                for chunk in ids.chunks(PURGE_BATCH) {
                    let mut args = vec![batch.clone()];
                    args.extend(chunk.iter().map(|id| Value::from(id.to_string())));
                    total += purge(args).await?.0;
                }
            }
            None => loop {
                let (purged, seen) = purge(vec![batch.clone()]).await?;
                total += purged;
                if seen < PURGE_BATCH as i64 {
                    break;
                }
            },
        }
        Ok(total)
    }

    /// One script per [`PURGE_BATCH`] entries of the `finished` index, then
    /// of the dead-letter index. Tasks still needed stay at the head of an
    /// index; the scripts are told how many were passed over, so each call
    /// goes on after them.
    async fn purge_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<PurgeReport> {
        let cutoffs = purge_cutoffs(&self.config.retention, now, limit)?;
        let mut report = PurgeReport::default();
        for (kind, cutoff) in [
            ("finished", cutoffs.finished),
            ("dead", cutoffs.dead_letters),
        ] {
            let Some(cutoff) = cutoff else {
                continue;
            };
            let mut passed_over = 0i64;
            loop {
                let room = cutoffs
                    .limit
                    .saturating_sub(usize::try_from(report.total()).unwrap_or(usize::MAX));
                if room == 0 {
                    break;
                }
                let reply = array(
                    self.run(
                        &SCRIPTS.purge_expired,
                        self.keys.queue(),
                        vec![
                            Value::from(kind),
                            Value::from(cutoff),
                            Value::from(passed_over),
                            Value::from(i64::try_from(room.min(PURGE_BATCH)).unwrap_or(1)),
                            Value::from(PURGE_BATCH as i64),
                        ],
                    )
                    .await?,
                );
                let (Some(deleted), Some(skipped), Some(done)) = (
                    reply.first().and_then(int),
                    reply.get(1).and_then(int),
                    reply.get(2).and_then(int),
                ) else {
                    return Err(Error::backend(
                        BACKEND,
                        "unexpected reply from purge_expired",
                    ));
                };
                let deleted = u64::try_from(deleted).unwrap_or(0);
                match kind {
                    "finished" => report.finished += deleted,
                    _ => report.dead_letters += deleted,
                }
                passed_over += skipped;
                if done == 1 {
                    break;
                }
            }
        }
        Ok(report)
    }

    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        if timeout.is_zero() {
            return Ok(());
        }
        let borrowed = self.waiters.borrow().await?;
        // BLPOP's timeout is in seconds (fractions allowed); 0 would mean
        // forever, hence the floor. fred reports BLPOP's own timeout (a nil
        // answer) as a timeout error, the same as its command timeout, so
        // the command timeout is off (zero) and a tokio timeout with room
        // to spare stands in for it.
        let seconds = timeout.as_secs_f64().max(0.01);
        let options = Options {
            timeout: Some(Duration::ZERO),
            fail_fast: true,
            ..Options::default()
        };
        let popped = tokio::time::timeout(
            timeout + COMMAND_TIMEOUT,
            borrowed
                .client()
                .with_options(&options)
                .blpop::<Option<(String, String)>, _>(self.keys.wake(), seconds),
        )
        .await;
        match popped {
            Ok(Ok(_)) => {
                borrowed.give_back();
                Ok(())
            }
            Ok(Err(e)) if *e.kind() == fred::error::ErrorKind::Timeout => {
                borrowed.give_back();
                Ok(())
            }
            // Dropping `borrowed` closes a connection in an unknown state.
            Ok(Err(e)) => Err(redis_err(e)),
            Err(_) => Err(Error::backend(
                BACKEND,
                format!(
                    "BLPOP did not answer within {:?} of its timeout",
                    COMMAND_TIMEOUT
                ),
            )),
        }
    }

    async fn complete_and_claim(
        &self,
        lease: LeaseKey,
        result: serde_json::Value,
        next: &ClaimRequest,
    ) -> Result<Vec<Lease>> {
        let result = serialise_result(&self.config, &result)?;
        let mut args = vec![
            Value::from(lease.task_id.to_string()),
            Value::from(lease.token.to_string()),
            Value::from(result),
        ];
        args.extend(self.claim_args(next));
        let mut reply = array(
            self.run(
                &SCRIPTS.complete_and_claim,
                self.keys.with_task(lease.task_id),
                args,
            )
            .await?,
        );
        match tag(&reply).as_str() {
            "ok" if reply.len() == 2 => reply::leases(reply.swap_remove(1)),
            _ => Err(refusal("complete_and_claim", lease, &reply)),
        }
    }
}
