//! Tasks: submit, read (with the name of the agent that holds or last held
//! each, and each attempt's history), cancel, why one waits, and the
//! queue's counts.
//!
//! Unknown fields in a submitted task are rejected (400), so a misspelt
//! option never silently does nothing.

use std::collections::HashMap;
use std::time::Duration;

use axum::extract::{Path, State};
use axum::http::{HeaderMap, StatusCode};
use axum::Json;
use hive_core::agent::AgentId;
use hive_core::queue::{
    AttemptOutcome, NewTask, QueueStats, Task, TaskFilter, TaskId, TaskOrder, TaskPriority,
    TaskStatus,
};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{parse_id, JsonBody, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// The body of `POST /tasks`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct SubmitTask {
    /// What kind of work this is; workers dispatch on it.
    #[serde(rename = "type")]
    #[schema(min_length = 1, max_length = 200)]
    task_type: String,
    /// The handler's input (default `null`).
    #[serde(default)]
    payload: Value,
    /// 1 (most urgent) to 9; default 5.
    #[schema(minimum = 1, maximum = 9)]
    priority: Option<u8>,
    /// Capabilities an agent must have to run it.
    #[serde(default)]
    #[schema(schema_with = super::capabilities)]
    capabilities: Vec<String>,
    /// Ids of tasks that must complete first.
    #[serde(default)]
    #[schema(value_type = Vec<uuid::Uuid>)]
    depends_on: Vec<String>,
    /// Not to run before this many milliseconds from now.
    delay_ms: Option<u64>,
    /// Attempts allowed before it is dead-lettered.
    #[schema(minimum = 1)]
    max_attempts: Option<u32>,
    /// Hard limit on one attempt's run time, in milliseconds.
    #[schema(minimum = 10)]
    timeout_ms: Option<u64>,
    /// A second submit with the same key answers the first task.
    #[schema(min_length = 1, max_length = 256)]
    idempotency_key: Option<String>,
}

/// The answer of `POST /tasks`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Submitted {
    /// The task (the earlier one, when deduplicated).
    task: Task,
    /// True when an earlier task with the same idempotency key was answered.
    deduplicated: bool,
}

/// Submits a task: 201 with it, or 200 with the earlier task when its
/// idempotency key matched one.
#[utoipa::path(
    post,
    path = "/tasks",
    tag = "tasks",
    operation_id = "submit_task",
    request_body = SubmitTask,
    responses(
        (status = 201, description = "submitted", body = Submitted, links(
            ("get" = (operation_id = "get_task", parameters(("id" = "$response.body#/task/id")))),
            ("cancel" = (operation_id = "cancel_task", parameters(("id" = "$response.body#/task/id")))),
            ("why" = (operation_id = "why_task_waits", parameters(("id" = "$response.body#/task/id")))),
        )),
        (status = 200, description = "an earlier task had this idempotency key", body = Submitted),
        (status = 400, description = "malformed, or refused by the queue (bad priority, unknown dependency id format, a malformed `traceparent`, …)", body = ErrorBody),
        (status = 404, description = "a dependency does not exist", body = ErrorBody),
    ),
    params(
        ("traceparent" = Option<String>, Header,
            description = "A W3C trace context (`00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`), carried with the task: the agent that runs it logs its trace id, its events carry it, and a webhook agent sends it on. A malformed one is a 400."),
    )
)]
pub(crate) async fn submit(
    State(state): State<AppState>,
    headers: HeaderMap,
    JsonBody(body): JsonBody<SubmitTask>,
) -> ApiResult<(StatusCode, Json<Submitted>)> {
    let mut task = NewTask::new(body.task_type, body.payload).requires(body.capabilities);
    if let Some(tp) = headers.get(crate::hygiene::TRACEPARENT) {
        let tp = tp.to_str().map_err(|_| {
            ApiError::from(hive_core::Error::invalid(
                "the traceparent header is not visible ASCII",
            ))
        })?;
        task = task.traceparent(tp);
    }
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
    let submitted = state.hive.submit_and_get(task).await?;
    let status = if submitted.deduplicated {
        StatusCode::OK
    } else {
        StatusCode::CREATED
    };
    Ok((
        status,
        Json(Submitted {
            task: submitted.task,
            deduplicated: submitted.deduplicated,
        }),
    ))
}

/// A task as `GET /tasks` and `GET /tasks/{id}` show it: the task, and
/// the name of the agent its `worker` is.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskView {
    #[serde(flatten)]
    task: Task,
    /// The name of the agent that holds (or last held) the task; null when
    /// no agent did, or the agent is no longer registered.
    #[schema(required = true)]
    agent_name: Option<String>,
}

/// Names the agents behind the tasks' workers, asking the registry once
/// per worker.
async fn named(state: &AppState, tasks: Vec<Task>) -> ApiResult<Vec<TaskView>> {
    let mut names: HashMap<String, Option<String>> = HashMap::new();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        let agent_name = match &task.worker {
            None => None,
            Some(worker) => match names.get(worker) {
                Some(name) => name.clone(),
                None => {
                    let name = state.hive.agent_name(worker).await?;
                    names.insert(worker.clone(), name.clone());
                    name
                }
            },
        };
        out.push(TaskView { task, agent_name });
    }
    Ok(out)
}

/// A task, with the name of its agent.
#[utoipa::path(
    get,
    path = "/tasks/{id}",
    tag = "tasks",
    operation_id = "get_task",
    params(("id" = uuid::Uuid, Path, description = "the task's id")),
    responses(
        (status = 200, description = "the task", body = TaskView),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such task", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<TaskView>> {
    let id: TaskId = parse_id("task", &id)?;
    let task = state.hive.queue().get(id).await?;
    let agent_name = match &task.worker {
        Some(worker) => state.hive.agent_name(worker).await?,
        None => None,
    };
    Ok(Json(TaskView { task, agent_name }))
}

/// One attempt as `GET /tasks/{id}/attempts` shows it.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct AttemptView {
    /// Which attempt: 1 for the first (a dead letter retried by hand
    /// counts from 1 again).
    attempt: u32,
    /// The worker that held the lease (`agent-<id>` for an agent).
    worker: String,
    /// The name of that agent; null for a plain worker or an agent no
    /// longer registered.
    #[schema(required = true)]
    agent_name: Option<String>,
    /// When it was claimed.
    started_at: chrono::DateTime<chrono::Utc>,
    /// When it ended; null while it runs.
    #[schema(required = true)]
    finished_at: Option<chrono::DateTime<chrono::Utc>>,
    /// How it ended (`running` while it has not).
    outcome: AttemptOutcome,
    /// The error of a failed, timed-out or expired attempt.
    #[schema(required = true)]
    error: Option<String>,
}

/// The answer of `GET /tasks/{id}/attempts`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Attempts {
    /// The task asked about.
    task: TaskId,
    /// Its counted attempts, oldest first; a released attempt does not
    /// count and is not listed.
    attempts: Vec<AttemptView>,
}

/// A task's history: every counted attempt, oldest first, with its
/// worker and agent, times, outcome and error.
#[utoipa::path(
    get,
    path = "/tasks/{id}/attempts",
    tag = "tasks",
    operation_id = "task_attempts",
    params(("id" = uuid::Uuid, Path, description = "the task's id")),
    responses(
        (status = 200, description = "the attempts", body = Attempts),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such task", body = ErrorBody),
    )
)]
pub(crate) async fn attempts(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Attempts>> {
    let id: TaskId = parse_id("task", &id)?;
    let attempts = state
        .hive
        .task_attempts(id)
        .await?
        .into_iter()
        .map(|named| AttemptView {
            attempt: named.attempt.attempt,
            worker: named.attempt.worker,
            agent_name: named.agent_name,
            started_at: named.attempt.started_at,
            finished_at: named.attempt.finished_at,
            outcome: named.attempt.outcome,
            error: named.attempt.error,
        })
        .collect();
    Ok(Json(Attempts { task: id, attempts }))
}

/// Cancels a task that has not ended.
#[utoipa::path(
    post,
    path = "/tasks/{id}/cancel",
    tag = "tasks",
    operation_id = "cancel_task",
    params(("id" = uuid::Uuid, Path, description = "the task's id")),
    responses(
        (status = 200, description = "the cancelled task", body = Task),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such task", body = ErrorBody),
        (status = 409, description = "the task already ended", body = ErrorBody),
    )
)]
pub(crate) async fn cancel(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    let id: TaskId = parse_id("task", &id)?;
    Ok(Json(state.hive.queue().cancel(id).await?))
}

/// The answer of `GET /tasks/{id}/why`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Why {
    /// The task asked about.
    task: TaskId,
    /// Why it is not running, in words.
    reason: String,
}

/// Why a task is not running (no healthy agent has its capabilities,
/// they are busy, dependencies, a delay).
#[utoipa::path(
    get,
    path = "/tasks/{id}/why",
    tag = "tasks",
    operation_id = "why_task_waits",
    params(("id" = uuid::Uuid, Path, description = "the task's id")),
    responses(
        (status = 200, description = "the reason", body = Why),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such task", body = ErrorBody),
    )
)]
pub(crate) async fn why(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Why>> {
    let id: TaskId = parse_id("task", &id)?;
    let waiting = state.hive.why_waiting(id).await?;
    Ok(Json(Why {
        task: id,
        reason: waiting.to_string(),
    }))
}

/// The answer of `GET /queue/stats`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Stats {
    /// Counts per status.
    stats: QueueStats,
    /// All tasks.
    total: u64,
}

/// Counts of tasks per status.
#[utoipa::path(
    get,
    path = "/queue/stats",
    tag = "tasks",
    operation_id = "queue_stats",
    responses((status = 200, description = "counts per status", body = Stats))
)]
pub(crate) async fn stats(State(state): State<AppState>) -> ApiResult<Json<Stats>> {
    let stats = state.hive.queue().stats().await?;
    let total = stats.total();
    Ok(Json(Stats { stats, total }))
}

/// Filters and paging of `GET /tasks`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Comma-separated statuses, e.g. `pending,in_progress`.
    #[param(value_type = Option<Vec<hive_core::queue::TaskStatus>>, style = Form, explode = false)]
    status: Option<String>,
    /// Only tasks of this type.
    #[serde(rename = "type")]
    task_type: Option<String>,
    /// The agent that holds (or last held) the task.
    #[param(value_type = Option<uuid::Uuid>)]
    agent: Option<String>,
    /// At most this many (default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// The `next` of the previous page.
    #[param(value_type = Option<uuid::Uuid>)]
    after: Option<String>,
    /// `asc` (default): oldest first, in submit order; `desc`: newest
    /// first, and `after` pages towards older tasks.
    #[param(inline)]
    order: Option<ListOrder>,
}

/// The order of `GET /tasks`.
#[derive(Debug, Clone, Copy, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub(crate) enum ListOrder {
    /// Oldest first (submit order).
    Asc,
    /// Newest first.
    Desc,
}

/// A page of `GET /tasks`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct TaskPage {
    /// The tasks, in submit order (reversed with `order=desc`), each with
    /// its agent's name.
    tasks: Vec<TaskView>,
    /// The cursor for the following page; null on the last.
    #[schema(required = true)]
    next: Option<TaskId>,
}

/// Tasks in submit order (or newest first with `order=desc`), filtered, a
/// page at a time: `next` is the cursor for the following page (absent on
/// the last).
#[utoipa::path(
    get,
    path = "/tasks",
    tag = "tasks",
    operation_id = "list_tasks",
    params(ListQuery),
    responses(
        (status = 200, description = "a page of tasks", body = TaskPage),
        (status = 400, description = "an unknown status, a bad id or limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<TaskPage>> {
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
    if let Some(ListOrder::Desc) = q.order {
        filter = filter.order(TaskOrder::NewestFirst);
    }
    let tasks = state.hive.queue().list(&filter).await?;
    let next = (tasks.len() == filter.limit)
        .then(|| tasks.last().map(|t| t.id))
        .flatten();
    let tasks = named(&state, tasks).await?;
    Ok(Json(TaskPage { tasks, next }))
}
