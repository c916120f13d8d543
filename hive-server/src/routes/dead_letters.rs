//! The dead-letter store: list it (newest first), send one back to
//! pending, or purge some or all.

use axum::extract::{Path, State};
use axum::Json;
use hive_core::queue::{Task, TaskId};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{parse_id, JsonBody, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// Paging of `GET /dead-letters`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Page {
    /// At most this many (default 100).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000)]
    limit: usize,
    /// Skip this many of the newest first.
    #[serde(default)]
    #[param(value_type = i64, minimum = 0)]
    offset: u64,
}

fn default_limit() -> usize {
    100
}

/// Dead-lettered tasks, newest first.
#[utoipa::path(
    get,
    path = "/dead-letters",
    tag = "dead letters",
    operation_id = "list_dead_letters",
    params(Page),
    responses(
        (status = 200, description = "dead-lettered tasks, newest first", body = Vec<Task>),
        (status = 400, description = "a limit outside 1 to 1000, or a bad offset", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    QueryParams(page): QueryParams<Page>,
) -> ApiResult<Json<Vec<Task>>> {
    if page.limit == 0 || page.limit > 1000 {
        return Err(ApiError::BadRequest("limit must be 1 to 1000".into()));
    }
    Ok(Json(
        state
            .hive
            .queue()
            .dead_letters(page.limit, super::offset(page.offset)? as usize)
            .await?,
    ))
}

/// Sends a dead-lettered task back to pending with a fresh attempt budget.
#[utoipa::path(
    post,
    path = "/dead-letters/{id}/retry",
    tag = "dead letters",
    operation_id = "retry_dead_letter",
    params(("id" = uuid::Uuid, Path, description = "the dead-lettered task's id")),
    responses(
        (status = 200, description = "the task, pending again", body = Task),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such task", body = ErrorBody),
        (status = 409, description = "the task is not dead-lettered", body = ErrorBody),
    )
)]
pub(crate) async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    let id: TaskId = parse_id("task", &id)?;
    Ok(Json(state.hive.queue().retry_dead_letter(id).await?))
}

/// The body of `POST /dead-letters/purge`: the ids to purge, or none for
/// all of them.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PurgeDeadLetters)]
pub(crate) struct Purge {
    /// The dead-lettered tasks to purge; absent (or null) for all.
    #[schema(value_type = Option<Vec<uuid::Uuid>>)]
    ids: Option<Vec<String>>,
}

/// The answer of `POST /dead-letters/purge`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Purged {
    /// How many were deleted.
    purged: u64,
}

/// Deletes dead-lettered tasks: those listed, or all.
#[utoipa::path(
    post,
    path = "/dead-letters/purge",
    tag = "dead letters",
    operation_id = "purge_dead_letters",
    request_body = Purge,
    responses(
        (status = 200, description = "how many were purged", body = Purged),
        (status = 400, description = "malformed, or an id is not a UUID", body = ErrorBody),
    )
)]
pub(crate) async fn purge(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Purge>,
) -> ApiResult<Json<Purged>> {
    let ids = body
        .ids
        .map(|ids| {
            ids.iter()
                .map(|i| parse_id::<TaskId>("task", i))
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    let purged = state
        .hive
        .queue()
        .purge_dead_letters(ids.as_deref())
        .await?;
    Ok(Json(Purged { purged }))
}
