//! Work over HTTP: how an agent registered with `POST /agents` (one that
//! runs elsewhere — another language, another machine) takes tasks and
//! answers them. It claims as itself (worker id `agent-<id>`, its
//! capabilities from the registry), so routing, `Task::worker`, health
//! and the dead agent's lease recovery work as for agents in the server.
//! What such a claim means is hive-core's (`Hive::claim_as_agent`); this
//! route checks only the API's own limits ([`MAX_CLAIM`],
//! [`MAX_CLAIM_WAIT_MS`]) and translates.
//!
//! - `POST /agents/{id}/claim` `{"max", "wait_ms", "lease_ms",
//!   "task_types"}` → the leases (task, token, expiry), waiting up to
//!   `wait_ms` for work, of the named task types only when given;
//! - `POST /tasks/{id}/complete` `{"token", "result"}`;
//! - `POST /tasks/{id}/fail` `{"token", "error", "permanent"}` → what
//!   happens next (`retrying` with `run_at`, or `dead_lettered`);
//! - `POST /tasks/{id}/heartbeat` `{"token"}` → the lease's new end;
//! - `POST /tasks/{id}/release` `{"token"}`: give it back unattempted.
//!
//! A token from an attempt that is over (lease expired, task handed on)
//! is a 409 `stale_lease`.

use std::time::Duration;

use axum::extract::{Path, State};
use axum::Json;
use chrono::{DateTime, Utc};
use hive_core::agent::{AgentId, RemoteClaim};
use hive_core::queue::{FailOutcome, Lease, LeaseKey, LeaseToken, Task, TaskFailure, TaskId};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoResponses, ToSchema};

use super::{in_range, parse_id, JsonBody};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// The longest a claim may wait for work (under the request deadline).
pub const MAX_CLAIM_WAIT_MS: u64 = 20_000;
/// At most this many tasks per claim.
pub const MAX_CLAIM: usize = 100;
/// At most this many task types per claim.
pub const MAX_CLAIM_TYPES: usize = 100;

/// The body of `POST /agents/{id}/claim`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Claim {
    /// At most this many tasks (1–100, default 1).
    #[schema(minimum = 1, maximum = 100)]
    max: Option<usize>,
    /// Wait up to this long for work (0–20000 ms, default 0).
    #[serde(default)]
    #[schema(maximum = 20000)]
    wait_ms: u64,
    /// Lease length in milliseconds; default the queue's.
    lease_ms: Option<u64>,
    /// Only tasks of these types (default: any type the agent's
    /// capabilities allow). Routing is by capability, so a task that
    /// requires nothing goes to any agent: an agent that can do only some
    /// types names them here instead of releasing the rest, which would
    /// come straight back.
    #[serde(default)]
    #[schema(max_items = 100, value_type = Vec<String>, min_length = 1, max_length = 200)]
    task_types: Vec<String>,
}

/// A lease as the API shows it.
#[derive(Debug, Serialize, ToSchema)]
#[schema(as = Lease)]
pub(crate) struct LeaseView {
    /// The task, now `assigned` to the agent.
    task: Task,
    /// The attempt's token: every answer about it must carry it.
    token: LeaseToken,
    /// When the lease runs out unless a heartbeat renews it.
    expires_at: DateTime<Utc>,
    /// The attempt's hard limit (the task's timeout), heartbeats
    /// notwithstanding.
    deadline: DateTime<Utc>,
}

/// The answer of `POST /agents/{id}/claim`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Leases {
    /// The tasks claimed; empty when none came within `wait_ms`.
    leases: Vec<LeaseView>,
}

impl From<Lease> for LeaseView {
    fn from(l: Lease) -> Self {
        LeaseView {
            task: l.task,
            token: l.token,
            expires_at: l.expires_at,
            deadline: l.deadline,
        }
    }
}

/// Claims tasks for a registered agent, as it: its capabilities, its
/// worker id.
#[utoipa::path(
    post,
    path = "/agents/{id}/claim",
    tag = "work",
    operation_id = "claim_tasks",
    params(("id" = uuid::Uuid, Path, description = "the agent's id")),
    request_body = Claim,
    responses(
        (status = 200, description = "the leases, perhaps none", body = Leases),
        (status = 400, description = "malformed, the id is not a UUID, or max, wait_ms, lease_ms or task_types out of range", body = ErrorBody),
        (status = 404, description = "no such agent", body = ErrorBody),
        (status = 409, description = "the agent is dead or stopped", body = ErrorBody),
    )
)]
pub(crate) async fn claim(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Claim>,
) -> ApiResult<Json<Leases>> {
    let id: AgentId = parse_id("agent", &id)?;
    if body.task_types.len() > MAX_CLAIM_TYPES {
        return Err(ApiError::BadRequest(format!(
            "task_types names at most {MAX_CLAIM_TYPES} types, got {}",
            body.task_types.len()
        )));
    }
    let request = RemoteClaim {
        max: in_range("max", body.max.unwrap_or(1), 1..=MAX_CLAIM)?,
        wait: Duration::from_millis(in_range("wait_ms", body.wait_ms, 0..=MAX_CLAIM_WAIT_MS)?),
        lease: body.lease_ms.map(Duration::from_millis),
        task_types: body.task_types.into_iter().collect(),
    };
    let leases = state.hive.claim_as_agent(id, request).await?;
    let leases = leases.into_iter().map(LeaseView::from).collect();
    Ok(Json(Leases { leases }))
}

/// A body naming the attempt.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Attempt {
    /// The lease's token.
    token: LeaseToken,
}

/// The attempt an answer names: the task's id from the path, the token
/// from the body.
fn lease_key(id: &str, token: LeaseToken) -> Result<LeaseKey, ApiError> {
    Ok(LeaseKey {
        task_id: parse_id::<TaskId>("task", id)?,
        token,
    })
}

/// The task as it stands once an answer about its attempt was taken.
async fn task_after(state: &AppState, key: LeaseKey) -> ApiResult<Json<Task>> {
    Ok(Json(state.hive.queue().get(key.task_id).await?))
}

/// How every answer about an attempt (complete, fail, heartbeat, release)
/// can be refused, described once so that the four cannot drift apart.
/// Only its description is used (the refusals themselves are
/// [`ApiError`]s), hence no variant is ever built.
#[derive(IntoResponses)]
#[allow(dead_code)]
enum AttemptRefusals {
    #[response(status = 400, description = "malformed, or the id is not a UUID")]
    BadRequest(ErrorBody),
    #[response(status = 404, description = "no such task")]
    NotFound(ErrorBody),
    #[response(
        status = 409,
        description = "the token's attempt is over (`stale_lease`)"
    )]
    Stale(ErrorBody),
}

/// The body of `POST /tasks/{id}/complete`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Complete {
    /// The lease's token.
    token: LeaseToken,
    /// The handler's output (default `null`).
    #[serde(default)]
    result: Value,
}

/// Completes an attempt with its result.
#[utoipa::path(
    post,
    path = "/tasks/{id}/complete",
    tag = "work",
    operation_id = "complete_task",
    params(("id" = uuid::Uuid, Path, description = "the task's id")),
    request_body = Complete,
    responses(
        (status = 200, description = "the completed task", body = Task),
        AttemptRefusals,
    )
)]
pub(crate) async fn complete(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Complete>,
) -> ApiResult<Json<Task>> {
    let key = lease_key(&id, body.token)?;
    state.hive.queue().complete(key, body.result).await?;
    let Json(task) = task_after(&state, key).await?;
    record_outcome(&state, &task).await;
    Ok(Json(task))
}

/// Records a finished task's outcome. The answer itself is already
/// stored, so a failure here is logged, not answered: the client must not
/// take its completed task for a failed call.
async fn record_outcome(state: &AppState, task: &Task) {
    if let Err(e) = state.hive.record_outcome(task).await {
        tracing::warn!(task = %task.id, error = %e, "the task's outcome was not recorded");
    }
}

/// The body of `POST /tasks/{id}/fail`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Fail {
    /// The lease's token.
    token: LeaseToken,
    /// What went wrong.
    error: String,
    /// Dead-letter now instead of retrying.
    #[serde(default)]
    permanent: bool,
}

/// What became of a failed attempt.
#[derive(Debug, Serialize, ToSchema)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub(crate) enum Failed {
    /// It will be retried, not before `run_at`.
    Retrying {
        /// When the retry becomes claimable.
        run_at: DateTime<Utc>,
    },
    /// No attempts left, or a permanent failure: it is dead-lettered.
    DeadLettered,
}

/// Fails an attempt: retried later, or dead-lettered.
#[utoipa::path(
    post,
    path = "/tasks/{id}/fail",
    tag = "work",
    operation_id = "fail_task",
    params(("id" = uuid::Uuid, Path, description = "the task's id")),
    request_body = Fail,
    responses(
        (status = 200, description = "what happens next", body = Failed),
        AttemptRefusals,
    )
)]
pub(crate) async fn fail(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Fail>,
) -> ApiResult<Json<Failed>> {
    let key = lease_key(&id, body.token)?;
    let failure = if body.permanent {
        TaskFailure::permanent(body.error)
    } else {
        TaskFailure::retryable(body.error)
    };
    let outcome = match state.hive.queue().fail(key, failure).await? {
        FailOutcome::Retrying { run_at } => Failed::Retrying { run_at },
        FailOutcome::DeadLettered => {
            match state.hive.queue().get(key.task_id).await {
                Ok(task) => record_outcome(&state, &task).await,
                Err(e) => {
                    tracing::warn!(task = %key.task_id, error = %e, "the task's outcome was not recorded");
                }
            }
            Failed::DeadLettered
        }
    };
    Ok(Json(outcome))
}

/// The answer of `POST /tasks/{id}/heartbeat`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Renewed {
    /// The lease's new end.
    expires_at: DateTime<Utc>,
}

/// Renews an attempt's lease.
#[utoipa::path(
    post,
    path = "/tasks/{id}/heartbeat",
    tag = "work",
    operation_id = "task_heartbeat",
    params(("id" = uuid::Uuid, Path, description = "the task's id")),
    request_body = Attempt,
    responses(
        (status = 200, description = "the lease's new end", body = Renewed),
        AttemptRefusals,
    )
)]
pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Attempt>,
) -> ApiResult<Json<Renewed>> {
    let renewal = state
        .hive
        .queue()
        .heartbeat(lease_key(&id, body.token)?)
        .await?;
    Ok(Json(Renewed {
        expires_at: renewal.expires_at,
    }))
}

/// Gives an attempt back unattempted: the task is pending again.
#[utoipa::path(
    post,
    path = "/tasks/{id}/release",
    tag = "work",
    operation_id = "release_task",
    params(("id" = uuid::Uuid, Path, description = "the task's id")),
    request_body = Attempt,
    responses(
        (status = 200, description = "the task, pending again", body = Task),
        AttemptRefusals,
    )
)]
pub(crate) async fn release(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Attempt>,
) -> ApiResult<Json<Task>> {
    let key = lease_key(&id, body.token)?;
    state.hive.queue().release(key).await?;
    task_after(&state, key).await
}
