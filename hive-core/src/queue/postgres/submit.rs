//! Submitting a batch: one multi-row `INSERT` whatever its size.
//!
//! A batch of plain tasks (no dependencies, idempotency keys or delays) is
//! that single statement and needs no transaction: one statement is atomic.
//! Anything else runs in one transaction that reads what it must first —
//! the clock, tasks already holding the batch's keys, the dependencies
//! outside the batch (locked and marked, see `lock_dependencies.sql`) —
//! decides each task's starting state with [`rules`], then inserts the tasks,
//! the dependency edges and the needs retention keeps, each with one
//! statement.

use std::collections::{HashMap, HashSet};
use std::str::FromStr;

use sqlx::{PgConnection, PgExecutor};
use uuid::Uuid;

use super::{database_error, db_err, finish, retrying, PostgresQueue};
use crate::error::{Error, Result};
use crate::queue::prepare::PreparedTask;
use crate::queue::rules::{self, DependencyScan};
use crate::queue::{Submitted, TaskId, TaskStatus};

/// A task with its starting state decided.
struct Planned<'a> {
    task: &'a PreparedTask,
    status: TaskStatus,
    /// Its dependencies, with deduplicated tasks replaced by the originals.
    dependencies: Vec<TaskId>,
    pending_deps: i32,
    run_at: Option<i64>,
    error: Option<String>,
    /// Another task of the batch waits on this one.
    has_dependents: bool,
}

impl PostgresQueue {
    /// Stores a prepared (non-empty, dependency-ordered) batch.
    pub(super) async fn submit(&self, batch: &[PreparedTask]) -> Result<Vec<Submitted>> {
        let plain = batch
            .iter()
            .all(|t| t.is_independent() && t.run_at.is_none());
        let stored = if plain {
            self.submit_plain(batch).await
        } else {
            retrying(|| self.submit_in_transaction(batch)).await
        };
        match stored {
            Err(e)
                if database_error(&e)
                    .is_some_and(|db| db.constraint() == Some("hive_tasks_pkey")) =>
            {
                Err(self.name_existing_id(batch, e).await)
            }
            other => other,
        }
    }

    async fn submit_plain(&self, batch: &[PreparedTask]) -> Result<Vec<Submitted>> {
        let status = rules::initial_status(false, 0, false);
        let planned: Vec<Planned<'_>> = batch
            .iter()
            .map(|task| Planned {
                task,
                status,
                dependencies: Vec::new(),
                pending_deps: 0,
                run_at: None,
                error: None,
                has_dependents: false,
            })
            .collect();
        insert_tasks(&self.pool, &self.config.name, &planned).await?;
        let mut out: Vec<Option<Submitted>> = vec![None; batch.len()];
        for task in batch {
            out[task.index] = Some(Submitted {
                id: task.id,
                status,
                deduplicated: false,
            });
        }
        Ok(out.into_iter().flatten().collect())
    }

    /// Stores a batch that needs reads first, in one transaction.
    async fn submit_in_transaction(&self, batch: &[PreparedTask]) -> Result<Vec<Submitted>> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let outcome = store_batch(&mut tx, &self.config.name, batch).await;
        finish(tx, outcome).await
    }

    /// Turns the primary-key violation `e` into a conflict naming the id.
    async fn name_existing_id(&self, batch: &[PreparedTask], e: Error) -> Error {
        let ids: Vec<Uuid> = batch.iter().map(|t| t.id.0).collect();
        let found: std::result::Result<Option<Uuid>, _> =
            sqlx::query_scalar(include_str!("sql/existing_ids.sql"))
                .bind(ids)
                .fetch_optional(&self.pool)
                .await;
        match found {
            Ok(Some(id)) => Error::conflict(format!("task id {id} already exists")),
            Ok(None) | Err(_) => {
                Error::conflict(format!("a task id of the batch already exists: {e}"))
            }
        }
    }
}

/// The body of [`PostgresQueue::submit_in_transaction`], on its connection.
async fn store_batch(
    conn: &mut PgConnection,
    queue: &str,
    batch: &[PreparedTask],
) -> Result<Vec<Submitted>> {
    let now: i64 = sqlx::query_scalar(include_str!("sql/now.sql"))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;

    // Tasks that earlier submits stored under this batch's keys.
    let keys: Vec<&str> = batch
        .iter()
        .filter_map(|t| t.idempotency_key.as_deref())
        .collect();
    let mut by_key: HashMap<String, (TaskId, TaskStatus)> = HashMap::new();
    if !keys.is_empty() {
        let rows: Vec<(String, Uuid, String)> =
            sqlx::query_as(include_str!("sql/find_by_keys.sql"))
                .bind(queue)
                .bind(&keys)
                .fetch_all(&mut *conn)
                .await
                .map_err(db_err)?;
        for (key, id, status) in rows {
            by_key.insert(key, (TaskId(id), TaskStatus::from_str(&status)?));
        }
    }
    let mut out: Vec<Option<Submitted>> = vec![None; batch.len()];
    // New ids that turned out to be duplicates, mapped to the original.
    let mut renamed: HashMap<TaskId, TaskId> = HashMap::new();
    let mut fresh: Vec<&PreparedTask> = Vec::with_capacity(batch.len());
    for task in batch {
        let original = task.idempotency_key.as_ref().and_then(|k| by_key.get(k));
        match original {
            Some(&(id, status)) => {
                renamed.insert(task.id, id);
                out[task.index] = Some(Submitted {
                    id,
                    status,
                    deduplicated: true,
                });
            }
            None => fresh.push(task),
        }
    }
    let dependencies_of = |task: &PreparedTask| -> Vec<TaskId> {
        let mut deps: Vec<TaskId> = Vec::with_capacity(task.dependencies.len());
        for dep in &task.dependencies {
            let dep = renamed.get(dep).copied().unwrap_or(*dep);
            // A dependency on a duplicate and on its original are one.
            if !deps.contains(&dep) {
                deps.push(dep);
            }
        }
        deps
    };

    // Dependencies stored earlier: lock them and learn their state.
    let fresh_ids: HashSet<TaskId> = fresh.iter().map(|t| t.id).collect();
    let mut outside: Vec<Uuid> = fresh
        .iter()
        .flat_map(|t| dependencies_of(t))
        .filter(|d| !fresh_ids.contains(d))
        .map(|d| d.0)
        .collect();
    outside.sort_unstable();
    outside.dedup();
    let mut known: HashMap<TaskId, TaskStatus> = HashMap::new();
    if !outside.is_empty() {
        let rows: Vec<(Uuid, String)> = sqlx::query_as(include_str!("sql/lock_dependencies.sql"))
            .bind(queue)
            .bind(&outside)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        for (id, status) in rows {
            known.insert(TaskId(id), TaskStatus::from_str(&status)?);
        }
    }

    // Decide each new task's state, in dependency order so that the
    // batch's own dependencies are decided before their dependents.
    let mut planned = Vec::with_capacity(fresh.len());
    let (mut edge_from, mut edge_to) = (Vec::new(), Vec::new());
    // Every dependency, for retention (see hive_task_needs).
    let (mut needed, mut needed_by) = (Vec::new(), Vec::new());
    for task in fresh {
        let dependencies = dependencies_of(task);
        let mut scan = DependencyScan::default();
        for dep in &dependencies {
            scan.note(task.id, *dep, known.get(dep).copied())?;
        }
        let run_at = task.run_at_ms(now);
        let (status, error, waits_on) = scan.verdict(run_at.is_some());
        known.insert(task.id, status);
        for dep in &dependencies {
            needed.push(dep.0);
            needed_by.push(task.id.0);
        }
        // Only a waiting task needs edges; a failed one never runs.
        for dep in &waits_on {
            edge_from.push(dep.0);
            edge_to.push(task.id.0);
        }
        out[task.index] = Some(Submitted {
            id: task.id,
            status,
            deduplicated: false,
        });
        planned.push(Planned {
            task,
            status,
            dependencies,
            pending_deps: i32::try_from(waits_on.len()).unwrap_or(i32::MAX),
            run_at,
            error,
            has_dependents: false,
        });
    }
    // Tasks of this batch that others of it wait on are marked at
    // insert: their completion must count those dependents down.
    let depended_on: HashSet<Uuid> = edge_from.iter().copied().collect();
    for p in &mut planned {
        p.has_dependents = depended_on.contains(&p.task.id.0);
    }

    if !planned.is_empty() {
        insert_tasks(&mut *conn, queue, &planned).await?;
    }
    if !edge_from.is_empty() {
        sqlx::query(include_str!("sql/insert_edges.sql"))
            .bind(edge_from)
            .bind(edge_to)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    if !needed.is_empty() {
        sqlx::query(include_str!("sql/insert_needs.sql"))
            .bind(needed)
            .bind(needed_by)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(out.into_iter().flatten().collect())
}

/// Inserts planned tasks with one statement (`insert_tasks.sql`).
async fn insert_tasks<'e>(
    executor: impl PgExecutor<'e>,
    queue: &str,
    planned: &[Planned<'_>],
) -> Result<()> {
    let n = planned.len();
    let mut ids = Vec::with_capacity(n);
    let mut types = Vec::with_capacity(n);
    let mut payloads = Vec::with_capacity(n);
    let mut statuses = Vec::with_capacity(n);
    let mut priorities = Vec::with_capacity(n);
    let mut capabilities = Vec::with_capacity(n);
    let mut dependencies = Vec::with_capacity(n);
    let mut pending = Vec::with_capacity(n);
    let mut max_attempts = Vec::with_capacity(n);
    let mut timeouts = Vec::with_capacity(n);
    let mut keys = Vec::with_capacity(n);
    let mut run_ats = Vec::with_capacity(n);
    let mut errors = Vec::with_capacity(n);
    let mut has_dependents = Vec::with_capacity(n);
    let mut traceparents = Vec::with_capacity(n);
    for p in planned {
        let t = p.task;
        ids.push(t.id.0);
        types.push(t.task_type.as_str());
        payloads.push(t.payload.as_str());
        statuses.push(p.status.as_str());
        priorities.push(i16::from(t.priority));
        capabilities.push(t.capabilities.join(","));
        dependencies.push(
            p.dependencies
                .iter()
                .map(|d| d.to_string())
                .collect::<Vec<_>>()
                .join(","),
        );
        pending.push(p.pending_deps);
        max_attempts.push(i64::from(t.max_attempts));
        timeouts.push(t.timeout_ms);
        keys.push(t.idempotency_key.as_deref());
        run_ats.push(p.run_at);
        errors.push(p.error.as_deref());
        has_dependents.push(p.has_dependents);
        traceparents.push(t.traceparent.as_deref());
    }
    sqlx::query(include_str!("sql/insert_tasks.sql"))
        .bind(queue)
        .bind(ids)
        .bind(types)
        .bind(payloads)
        .bind(statuses)
        .bind(priorities)
        .bind(capabilities)
        .bind(dependencies)
        .bind(pending)
        .bind(max_attempts)
        .bind(timeouts)
        .bind(keys)
        .bind(run_ats)
        .bind(errors)
        .bind(has_dependents)
        .bind(traceparents)
        .fetch_one(executor)
        .await
        .map_err(db_err)?;
    Ok(())
}
