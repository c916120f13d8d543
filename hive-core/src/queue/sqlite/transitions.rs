//! The queue's state transitions on one SQLite connection.
//!
//! Each function runs inside the writer's open transaction (see
//! `writer.rs`), so it may read then write without races: SQLite has one
//! writer, and it is us. The decisions come from [`crate::queue::rules`].

use std::collections::HashMap;
use std::str::FromStr;

use sqlx::sqlite::SqliteRow;
use sqlx::{Row, SqliteConnection};

use super::db_err;
use crate::error::{Error, Result};
use crate::queue::attempt::AttemptRow;
use crate::queue::listing::list_statement;
use crate::queue::prepare::PreparedTask;
use crate::queue::row::TaskRow;
use crate::queue::rules::{
    self, AfterFailure, DependencyEnd, DependencyScan, LeaseState, PurgeCutoffs,
};
use crate::queue::{
    AttemptOutcome, ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, LeaseToken,
    PurgeReport, QueueConfig, QueueStats, ReapReport, Submitted, Task, TaskAttempt, TaskFailure,
    TaskFilter, TaskId, TaskStatus,
};
use crate::time::{duration_ms, from_ms};

/// Reads one task.
pub(super) async fn get(conn: &mut SqliteConnection, queue: &str, id: TaskId) -> Result<Task> {
    let row: Option<TaskRow> = sqlx::query_as(include_str!("sql/get.sql"))
        .bind(queue)
        .bind(id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    row.ok_or_else(|| Error::not_found("task", id))?
        .into_task("sqlite")
}

/// A task's attempts, oldest first.
pub(super) async fn attempts(
    conn: &mut SqliteConnection,
    queue: &str,
    id: TaskId,
) -> Result<Vec<TaskAttempt>> {
    let rows: Vec<AttemptRow> = sqlx::query_as(include_str!("sql/attempts.sql"))
        .bind(queue)
        .bind(id.to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    if rows.is_empty() {
        // No history, or no such task: `get` tells which.
        get(conn, queue, id).await?;
    }
    rows.into_iter().map(|r| r.into_attempt("sqlite")).collect()
}

/// Ends task `id`'s open attempt, if it has one.
async fn end_attempt(
    conn: &mut SqliteConnection,
    id: &str,
    outcome: AttemptOutcome,
    error: Option<&str>,
    now: i64,
) -> Result<()> {
    sqlx::query(include_str!("sql/end_attempt.sql"))
        .bind(id)
        .bind(now)
        .bind(outcome.as_str())
        .bind(error)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Counts per status.
pub(super) async fn stats(conn: &mut SqliteConnection, queue: &str) -> Result<QueueStats> {
    let rows = sqlx::query(include_str!("sql/stats.sql"))
        .bind(queue)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut pairs = Vec::with_capacity(rows.len());
    for row in rows {
        let status: String = row.get(0);
        let n: i64 = row.get(1);
        pairs.push((
            TaskStatus::from_str(&status)?,
            u64::try_from(n).unwrap_or(0),
        ));
    }
    Ok(QueueStats::from_counts(pairs))
}

/// A page of dead letters, newest first.
pub(super) async fn dead_letters(
    conn: &mut SqliteConnection,
    queue: &str,
    limit: usize,
    offset: usize,
) -> Result<Vec<Task>> {
    let rows: Vec<TaskRow> = sqlx::query_as(include_str!("sql/dead_letters.sql"))
        .bind(queue)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .bind(i64::try_from(offset).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.into_iter().map(|r| r.into_task("sqlite")).collect()
}

/// A page of [`Queue::list`](crate::queue::Queue::list); the filter is
/// already validated.
pub(super) async fn list(
    conn: &mut SqliteConnection,
    queue: &str,
    filter: &TaskFilter,
) -> Result<Vec<Task>> {
    let rows: Vec<TaskRow> =
        list_statement::<sqlx::Sqlite>(include_str!("sql/list.sql"), "", queue, filter)
            .build_query_as()
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
    rows.into_iter().map(|r| r.into_task("sqlite")).collect()
}

/// Inserts a prepared batch (already in dependency order).
pub(super) async fn submit(
    conn: &mut SqliteConnection,
    queue: &str,
    batch: &[PreparedTask],
    now: i64,
) -> Result<Vec<Submitted>> {
    if batch.iter().all(PreparedTask::is_independent) {
        return insert_independent(conn, queue, batch, now).await;
    }
    let mut out: Vec<Option<Submitted>> = vec![None; batch.len()];
    // New ids that turned out to be duplicates, mapped to the original.
    let mut renamed: HashMap<TaskId, TaskId> = HashMap::new();
    for task in batch {
        if let Some(key) = &task.idempotency_key {
            let found = sqlx::query(include_str!("sql/find_by_key.sql"))
                .bind(queue)
                .bind(key)
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            if let Some(row) = found {
                let id = TaskId::from_str(row.get::<&str, _>(0))?;
                let status = TaskStatus::from_str(row.get::<&str, _>(1))?;
                renamed.insert(task.id, id);
                out[task.index] = Some(Submitted {
                    id,
                    status,
                    deduplicated: true,
                });
                continue;
            }
        }
        // A dependency renamed to its original may now be listed twice.
        let mut deps: Vec<TaskId> = Vec::with_capacity(task.dependencies.len());
        for dep in task
            .dependencies
            .iter()
            .map(|d| renamed.get(d).copied().unwrap_or(*d))
        {
            if !deps.contains(&dep) {
                deps.push(dep);
            }
        }
        let mut scan = DependencyScan::default();
        for dep in &deps {
            let row = sqlx::query(include_str!("sql/dependency_state.sql"))
                .bind(queue)
                .bind(dep.to_string())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            let status = row
                .map(|r| TaskStatus::from_str(r.get::<&str, _>(0)))
                .transpose()?;
            scan.note(task.id, *dep, status)?;
        }
        let run_at = task.run_at_ms(now);
        let (status, error, unfinished) = scan.verdict(run_at.is_some());
        let id = task.id.to_string();
        let deps_json =
            serde_json::Value::from(deps.iter().map(|d| d.to_string()).collect::<Vec<_>>())
                .to_string();
        sqlx::query(include_str!("sql/insert_task.sql"))
            .bind(&id)
            .bind(queue)
            .bind(&task.task_type)
            .bind(&task.payload)
            .bind(status.as_str())
            .bind(i64::from(task.priority))
            .bind(task.capabilities_json())
            .bind(deps_json)
            .bind(i64::try_from(unfinished.len()).unwrap_or(i64::MAX))
            .bind(i64::from(task.max_attempts))
            .bind(task.timeout_ms)
            .bind(&task.idempotency_key)
            .bind(now)
            .bind(run_at)
            .bind(&error)
            .bind(error.as_ref().map(|_| now))
            .bind(&task.traceparent)
            .execute(&mut *conn)
            .await
            .map_err(|e| match &e {
                sqlx::Error::Database(d) if d.is_unique_violation() => {
                    Error::conflict(format!("task id {id} already exists"))
                }
                _ => db_err(e),
            })?;
        for dep in &deps {
            sqlx::query(include_str!("sql/insert_need.sql"))
                .bind(dep.to_string())
                .bind(&id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
        for dep in &unfinished {
            let dep = dep.to_string();
            sqlx::query(include_str!("sql/insert_edge.sql"))
                .bind(&dep)
                .bind(&id)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            sqlx::query(include_str!("sql/mark_has_dependents.sql"))
                .bind(&dep)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
        out[task.index] = Some(Submitted {
            id: task.id,
            status,
            deduplicated: false,
        });
    }
    Ok(out.into_iter().flatten().collect())
}

/// Inserts tasks that depend on nothing and carry no idempotency key: one
/// statement for the whole batch.
async fn insert_independent(
    conn: &mut SqliteConnection,
    queue: &str,
    batch: &[PreparedTask],
    now: i64,
) -> Result<Vec<Submitted>> {
    let mut rows = Vec::with_capacity(batch.len());
    let mut out = vec![None; batch.len()];
    for task in batch {
        let run_at = task.run_at_ms(now);
        let status = rules::initial_status(false, 0, run_at.is_some());
        rows.push(serde_json::json!({
            "id": task.id.to_string(),
            "type": task.task_type,
            "payload": task.payload,
            "status": status.as_str(),
            "priority": task.priority,
            "caps": task.capabilities_json(),
            "max_attempts": task.max_attempts,
            "timeout_ms": task.timeout_ms,
            "run_at": run_at,
            "traceparent": task.traceparent,
        }));
        out[task.index] = Some(Submitted {
            id: task.id,
            status,
            deduplicated: false,
        });
    }
    let inserted = sqlx::query(include_str!("sql/insert_many.sql"))
        .bind(queue)
        .bind(now)
        .bind(serde_json::Value::from(rows).to_string())
        .execute(&mut *conn)
        .await;
    match inserted {
        Ok(_) => Ok(out.into_iter().flatten().collect()),
        Err(sqlx::Error::Database(d)) if d.is_unique_violation() => {
            let ids: Vec<String> = batch.iter().map(|t| t.id.to_string()).collect();
            let taken: Option<String> = sqlx::query_scalar(include_str!("sql/existing_ids.sql"))
                .bind(serde_json::Value::from(ids).to_string())
                .fetch_optional(&mut *conn)
                .await
                .map_err(db_err)?;
            Err(Error::conflict(format!(
                "task id {} already exists",
                taken.as_deref().unwrap_or("(of this batch)")
            )))
        }
        Err(e) => Err(db_err(e)),
    }
}

/// Promotes due delayed tasks; returns how many. The writer runs it once
/// per commit group that claims, before the claims.
pub(super) async fn promote_due(conn: &mut SqliteConnection, queue: &str, now: i64) -> Result<u64> {
    let done = sqlx::query(include_str!("sql/promote_due.sql"))
        .bind(queue)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(done.rows_affected())
}

/// Leases up to `req.max` tasks.
pub(super) async fn claim(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    req: &ClaimRequest,
    now: i64,
) -> Result<Vec<Lease>> {
    if req.max == 0 {
        return Ok(Vec::new());
    }
    let lease_ms = duration_ms(req.lease.unwrap_or(config.lease));
    let caps =
        serde_json::Value::from(req.capabilities.iter().cloned().collect::<Vec<_>>()).to_string();
    let types =
        serde_json::Value::from(req.task_types.iter().cloned().collect::<Vec<_>>()).to_string();
    let mut rows: Vec<TaskRow> = sqlx::query_as(include_str!("sql/claim.sql"))
        .bind(&config.name)
        .bind(now)
        .bind(LeaseToken::new().to_string())
        .bind(req.worker.as_str())
        .bind(lease_ms)
        .bind(caps)
        .bind(i64::try_from(req.max).unwrap_or(i64::MAX))
        .bind(types)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.sort_by_key(|r| (r.priority, r.seq));
    if !rows.is_empty() {
        let started: Vec<serde_json::Value> = rows
            .iter()
            .map(|r| serde_json::json!({ "id": r.id, "n": r.attempts }))
            .collect();
        sqlx::query(include_str!("sql/start_attempts.sql"))
            .bind(serde_json::Value::from(started).to_string())
            .bind(req.worker.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    rows.into_iter().map(|r| r.into_lease("sqlite")).collect()
}

/// Fetches a task's lease state and checks `lease` against it.
async fn check_lease(
    conn: &mut SqliteConnection,
    queue: &str,
    lease: LeaseKey,
    deadline_at: Option<i64>,
) -> Result<LeaseRow> {
    let row = sqlx::query(include_str!("sql/lease_state.sql"))
        .bind(queue)
        .bind(lease.task_id.to_string())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found("task", lease.task_id))?;
    let state = LeaseRow {
        status: TaskStatus::from_str(row.get::<&str, _>(0))?,
        token: row.get(1),
        deadline: row.get(2),
        attempts: row.get(3),
        max_attempts: row.get(4),
    };
    rules::check_token(
        &lease.task_id.to_string(),
        &lease.token.to_string(),
        &LeaseState {
            status: state.status,
            token: state.token.as_deref(),
            deadline: state.deadline,
        },
        deadline_at,
    )?;
    Ok(state)
}

struct LeaseRow {
    status: TaskStatus,
    token: Option<String>,
    deadline: Option<i64>,
    attempts: i64,
    max_attempts: i64,
}

/// Extends a lease.
pub(super) async fn heartbeat(
    conn: &mut SqliteConnection,
    queue: &str,
    lease: LeaseKey,
    now: i64,
) -> Result<LeaseRenewal> {
    let row = sqlx::query(include_str!("sql/heartbeat.sql"))
        .bind(queue)
        .bind(lease.task_id.to_string())
        .bind(lease.token.to_string())
        .bind(now)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    match row {
        Some(row) => Ok(LeaseRenewal {
            expires_at: from_ms(row.get(0)),
        }),
        None => {
            check_lease(conn, queue, lease, Some(now)).await?;
            Err(Error::backend(
                "sqlite",
                "heartbeat matched no row for a current lease",
            ))
        }
    }
}

/// Completes many attempts with one statement. Answers per entry, in order;
/// an entry that was not completed is diagnosed on its own (it wrote nothing).
pub(super) async fn complete_many(
    conn: &mut SqliteConnection,
    queue: &str,
    entries: &[(LeaseKey, &str)],
    now: i64,
) -> Result<Vec<Result<()>>> {
    let mut seen = std::collections::HashSet::new();
    let mut batched = Vec::with_capacity(entries.len());
    for (lease, result) in entries {
        // A task named twice is completed once; the second answer is judged alone.
        if seen.insert(lease.task_id) {
            batched.push(serde_json::json!({
                "id": lease.task_id.to_string(),
                "t": lease.token.to_string(),
                "r": result,
            }));
        }
    }
    let rows = sqlx::query(include_str!("sql/complete_many.sql"))
        .bind(queue)
        .bind(now)
        .bind(serde_json::Value::from(batched).to_string())
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut completed: HashMap<String, bool> = HashMap::with_capacity(rows.len());
    for row in rows {
        completed.insert(row.get::<String, _>(0), row.get::<i64, _>(1) != 0);
    }
    if !completed.is_empty() {
        let ids: Vec<&str> = completed.keys().map(String::as_str).collect();
        sqlx::query(include_str!("sql/complete_attempts.sql"))
            .bind(serde_json::Value::from(ids).to_string())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    let mut out = Vec::with_capacity(entries.len());
    for (lease, _) in entries {
        let id = lease.task_id.to_string();
        match completed.remove(&id) {
            Some(has_dependents) => {
                if has_dependents {
                    unblock_dependents(conn, &id, now).await?;
                }
                out.push(Ok(()));
            }
            None => out.push(match check_lease(conn, queue, *lease, None).await {
                Ok(_) => Err(Error::backend(
                    "sqlite",
                    "complete matched no row for a current lease",
                )),
                Err(e) => Err(e),
            }),
        }
    }
    Ok(out)
}

/// A completed task's waiting dependents have one fewer dependency.
async fn unblock_dependents(conn: &mut SqliteConnection, id: &str, now: i64) -> Result<()> {
    for sql in [
        include_str!("sql/count_down_dependents.sql"),
        include_str!("sql/ready_dependents.sql"),
        include_str!("sql/delete_edges_from.sql"),
    ] {
        sqlx::query(sql)
            .bind(id)
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Fails the waiting dependents of `root`, and theirs, transitively.
async fn fail_dependents(
    conn: &mut SqliteConnection,
    root: TaskId,
    end: DependencyEnd,
    now: i64,
) -> Result<()> {
    let mut todo = vec![(root.to_string(), end)];
    while let Some((id, end)) = todo.pop() {
        let error = rules::dependency_error(&id, end);
        let failed = sqlx::query(include_str!("sql/fail_dependents.sql"))
            .bind(&id)
            .bind(&error)
            .bind(now)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        sqlx::query(include_str!("sql/delete_edges_from.sql"))
            .bind(&id)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        todo.extend(
            failed
                .into_iter()
                .map(|r| (r.get::<String, _>(0), DependencyEnd::Failed)),
        );
    }
    Ok(())
}

/// Retries or dead-letters a failed attempt whose token was already
/// checked; its history entry ends as `outcome`.
#[allow(clippy::too_many_arguments)] // One transition's inputs, each used once.
async fn settle_failure(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    id: TaskId,
    attempts: i64,
    max_attempts: i64,
    failure: &TaskFailure,
    outcome: AttemptOutcome,
    now: i64,
) -> Result<FailOutcome> {
    end_attempt(conn, &id.to_string(), outcome, Some(&failure.error), now).await?;
    match rules::after_failure(attempts, max_attempts, failure.permanent, &config.retry) {
        AfterFailure::RetryAfter(delay) => {
            let run_at = now.saturating_add(duration_ms(delay));
            sqlx::query(include_str!("sql/retry_later.sql"))
                .bind(&config.name)
                .bind(id.to_string())
                .bind(run_at)
                .bind(&failure.error)
                .bind(now)
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
                .bind(id.to_string())
                .bind(&failure.error)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            fail_dependents(conn, id, DependencyEnd::DeadLettered, now).await?;
            Ok(FailOutcome::DeadLettered)
        }
    }
}

/// Fails an attempt.
pub(super) async fn fail(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    lease: LeaseKey,
    failure: &TaskFailure,
    now: i64,
) -> Result<FailOutcome> {
    let state = check_lease(conn, &config.name, lease, None).await?;
    settle_failure(
        conn,
        config,
        lease.task_id,
        state.attempts,
        state.max_attempts,
        failure,
        AttemptOutcome::Failed,
        now,
    )
    .await
}

/// Gives a leased task back.
pub(super) async fn release(
    conn: &mut SqliteConnection,
    queue: &str,
    lease: LeaseKey,
    now: i64,
) -> Result<()> {
    let done = sqlx::query(include_str!("sql/release.sql"))
        .bind(queue)
        .bind(lease.task_id.to_string())
        .bind(lease.token.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    if done.rows_affected() == 0 {
        check_lease(conn, queue, lease, None).await?;
        return Err(Error::backend(
            "sqlite",
            "release matched no row for a current lease",
        ));
    }
    sqlx::query(include_str!("sql/drop_open_attempt.sql"))
        .bind(lease.task_id.to_string())
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Cancels a task that is not final.
pub(super) async fn cancel(
    conn: &mut SqliteConnection,
    queue: &str,
    id: TaskId,
    now: i64,
) -> Result<Task> {
    let task = get(conn, queue, id).await?;
    if task.status.is_final() {
        return Err(rules::cannot_cancel(&id.to_string(), task.status));
    }
    let sid = id.to_string();
    end_attempt(conn, &sid, AttemptOutcome::Cancelled, None, now).await?;
    sqlx::query(include_str!("sql/cancel.sql"))
        .bind(queue)
        .bind(&sid)
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    sqlx::query(include_str!("sql/delete_edges_to.sql"))
        .bind(&sid)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    fail_dependents(conn, id, DependencyEnd::Cancelled, now).await?;
    get(conn, queue, id).await
}

/// Housekeeping: due delays, deadlines, expired leases.
pub(super) async fn reap(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    now: i64,
) -> Result<ReapReport> {
    let queue = &config.name;
    let mut report = ReapReport {
        promoted: promote_due(conn, queue, now).await?,
        ..ReapReport::default()
    };
    let late = sqlx::query(include_str!("sql/past_deadline.sql"))
        .bind(queue)
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    for row in late {
        let id = TaskId::from_str(row.get::<&str, _>(0))?;
        let (attempts, max_attempts, timeout_ms): (i64, i64, i64) =
            (row.get(1), row.get(2), row.get(3));
        let failure = TaskFailure::retryable(rules::deadline_error(attempts, timeout_ms));
        settle_failure(
            conn,
            config,
            id,
            attempts,
            max_attempts,
            &failure,
            AttemptOutcome::TimedOut,
            now,
        )
        .await?;
        report.timed_out += 1;
    }
    let expired = sqlx::query(include_str!("sql/expired_leases.sql"))
        .bind(queue)
        .bind(now)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    report.expired = end_leases(conn, config, expired, rules::lease_expired_error, now).await?;
    Ok(report)
}

/// Ends every lease `worker` holds, as if each had expired.
pub(super) async fn expire_worker(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    worker: &str,
    now: i64,
) -> Result<u64> {
    let held = sqlx::query(include_str!("sql/worker_leases.sql"))
        .bind(&config.name)
        .bind(worker)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let error = rules::worker_expired_error(worker);
    end_leases(conn, config, held, |_| error.clone(), now).await
}

/// Ends the leases in `rows` (columns id, attempts, max_attempts, worker): a
/// task with attempts left is handed out again at once (no backoff: its
/// worker is gone, the task did not fail), one at its attempt limit is
/// dead-lettered. `error` words why, from the worker. Answers how many.
async fn end_leases(
    conn: &mut SqliteConnection,
    config: &QueueConfig,
    rows: Vec<SqliteRow>,
    error: impl Fn(Option<&str>) -> String,
    now: i64,
) -> Result<u64> {
    let mut ended = 0;
    for row in rows {
        let id = TaskId::from_str(row.get::<&str, _>(0))?;
        let (attempts, max_attempts): (i64, i64) = (row.get(1), row.get(2));
        let error = error(row.get::<Option<&str>, _>(3));
        if attempts >= max_attempts {
            let failure = TaskFailure::permanent(error);
            settle_failure(
                conn,
                config,
                id,
                attempts,
                max_attempts,
                &failure,
                AttemptOutcome::LeaseExpired,
                now,
            )
            .await?;
        } else {
            end_attempt(
                conn,
                &id.to_string(),
                AttemptOutcome::LeaseExpired,
                Some(&error),
                now,
            )
            .await?;
            sqlx::query(include_str!("sql/requeue_expired.sql"))
                .bind(&config.name)
                .bind(id.to_string())
                .bind(&error)
                .bind(now)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
        ended += 1;
    }
    Ok(ended)
}

/// Moves a dead letter back to pending.
pub(super) async fn retry_dead_letter(
    conn: &mut SqliteConnection,
    queue: &str,
    id: TaskId,
    now: i64,
) -> Result<Task> {
    let done = sqlx::query(include_str!("sql/retry_dead_letter.sql"))
        .bind(queue)
        .bind(id.to_string())
        .bind(now)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    let task = get(conn, queue, id).await?;
    if done.rows_affected() == 0 {
        return Err(rules::not_dead_lettered(&id.to_string(), task.status));
    }
    Ok(task)
}

/// Deletes dead letters.
pub(super) async fn purge(
    conn: &mut SqliteConnection,
    queue: &str,
    ids: Option<&[TaskId]>,
) -> Result<u64> {
    let list = ids.map(|ids| {
        serde_json::Value::from(ids.iter().map(|i| i.to_string()).collect::<Vec<_>>()).to_string()
    });
    let gone: Vec<String> = sqlx::query_scalar(include_str!("sql/purge_dead_letters.sql"))
        .bind(queue)
        .bind(list)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    forget(conn, &gone).await?;
    Ok(gone.len() as u64)
}

/// Deletes the tasks retention let go (see [`PurgeCutoffs`]): finished
/// ones first, then dead letters, `cutoffs.limit` in all.
pub(super) async fn purge_expired(
    conn: &mut SqliteConnection,
    queue: &str,
    cutoffs: PurgeCutoffs,
) -> Result<PurgeReport> {
    let mut gone: Vec<String> = Vec::new();
    let kinds = [
        (cutoffs.finished, include_str!("sql/expired_finished.sql")),
        (
            cutoffs.dead_letters,
            include_str!("sql/expired_dead_letters.sql"),
        ),
    ];
    let mut counts = [0u64; 2];
    for (count, (before, sql)) in counts.iter_mut().zip(kinds) {
        let room = cutoffs.limit.saturating_sub(gone.len());
        let Some(before) = before.filter(|_| room > 0) else {
            continue;
        };
        let ids: Vec<String> = sqlx::query_scalar(sql)
            .bind(queue)
            .bind(before)
            .bind(i64::try_from(room).unwrap_or(i64::MAX))
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        *count = ids.len() as u64;
        gone.extend(ids);
    }
    if !gone.is_empty() {
        let list = serde_json::Value::from(gone.clone()).to_string();
        sqlx::query(include_str!("sql/delete_tasks.sql"))
            .bind(list)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        forget(conn, &gone).await?;
    }
    Ok(PurgeReport {
        finished: counts[0],
        dead_letters: counts[1],
    })
}

/// Deletes what refers to the deleted tasks `ids`: waiting edges either
/// way, what they needed and what needed them, their attempt history.
async fn forget(conn: &mut SqliteConnection, ids: &[String]) -> Result<()> {
    if ids.is_empty() {
        return Ok(());
    }
    let list = serde_json::Value::from(ids.to_vec()).to_string();
    for sql in [
        include_str!("sql/forget_edges.sql"),
        include_str!("sql/forget_needs.sql"),
        include_str!("sql/forget_attempts.sql"),
    ] {
        sqlx::query(sql)
            .bind(&list)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}
