//! Tasks: submit, read, cancel, why one waits, and the queue's counts.
//!
//! Unknown fields in a submitted task are rejected (400), so a misspelt
//! option never silently does nothing.

use std::time::Duration;

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::agent::AgentId;
use hive_core::queue::{NewTask, Task, TaskFilter, TaskId, TaskPriority, TaskStatus};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The body of `POST /tasks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitTask {
    #[serde(rename = "type")]
    task_type: String,
    #[serde(default)]
    payload: Value,
    priority: Option<u8>,
    #[serde(default)]
    capabilities: Vec<String>,
    #[serde(default)]
    depends_on: Vec<String>,
    delay_ms: Option<u64>,
    max_attempts: Option<u32>,
    timeout_ms: Option<u64>,
    idempotency_key: Option<String>,
}

pub(crate) async fn submit(
    State(state): State<AppState>,
    body: Result<Json<SubmitTask>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Value>)> {
    let Json(body) = body?;
    let mut task = NewTask::new(body.task_type, body.payload).requires(body.capabilities);
    if let Some(p) = body.priority {
        task = task.priority(TaskPriority::new(p)?);
    }
    let deps = body
        .depends_on
        .iter()
        .map(|d| parse_id::<TaskId>("task", d))
        .collect::<Result<Vec<_>, _>>()?;
    task = task.depends_on(deps);
    if let Some(ms) = body.delay_ms {
        task = task.delay(Duration::from_millis(ms));
    }
    if let Some(n) = body.max_attempts {
        task = task.max_attempts(n);
    }
    if let Some(ms) = body.timeout_ms {
        task = task.timeout(Duration::from_millis(ms));
    }
    if let Some(key) = body.idempotency_key {
        task = task.idempotency_key(key);
    }
    let submitted = state.hive.submit(task).await?;
    let status = if submitted.deduplicated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    let task = state.hive.queue().get(submitted.id).await?;
    Ok((
        status,
        Json(json!({ "task": task, "deduplicated": submitted.deduplicated })),
    ))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    let id: TaskId = parse_id("task", &id)?;
    Ok(Json(state.hive.queue().get(id).await?))
}

pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    let id: TaskId = parse_id("task", &id)?;
    Ok(Json(state.hive.queue().cancel(id).await?))
}

pub(crate) async fn why(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: TaskId = parse_id("task", &id)?;
    let waiting = state.hive.why_waiting(id).await?;
    Ok(Json(json!({ "task": id, "reason": waiting.to_string() })))
}

pub(crate) async fn stats(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    let stats = state.hive.queue().stats().await?;
    Ok(Json(json!({ "stats": stats, "total": stats.total() })))
}

/// Filters and paging of `GET /tasks`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    /// Comma-separated statuses, e.g. `pending,in_progress`.
    status: Option<String>,
    #[serde(rename = "type")]
    task_type: Option<String>,
    /// The agent that holds (or last held) the task.
    agent: Option<String>,
    limit: Option<usize>,
    /// The `next` of the previous page.
    after: Option<String>,
}

/// Tasks in submit order, filtered, a page at a time: `next` is the
/// cursor for the following page (absent on the last).
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Value>> {
    let Query(q) = query?;
    let mut filter = TaskFilter::new();
    for s in q
        .status
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|s| !s.is_empty())
    {
        let status: TaskStatus = s
            .parse()
            .map_err(|_| ApiError::BadRequest(format!("unknown task status {s:?}")))?;
        filter = filter.status(status);
    }
    if let Some(t) = q.task_type {
        filter = filter.task_type(t);
    }
    if let Some(a) = q.agent {
        let agent: AgentId = parse_id("agent", &a)?;
        filter = filter.worker(agent.worker_id().as_str());
    }
    if let Some(n) = q.limit {
        filter = filter.limit(n);
    }
    if let Some(after) = q.after {
        filter = filter.after(parse_id::<TaskId>("task", &after)?);
    }
    let tasks = state.hive.queue().list(&filter).await?;
    let next = (tasks.len() == filter.limit)
        .then(|| tasks.last().map(|t| t.id))
        .flatten();
    Ok(Json(json!({ "tasks": tasks, "next": next })))
}
