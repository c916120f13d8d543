//! The dead-letter store: list it (newest first), send one back to
//! pending, or purge some or all.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::Json;
use hive_core::queue::{Task, TaskId};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Paging of `GET /dead-letters`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Page {
    #[serde(default = "default_limit")]
    limit: usize,
    #[serde(default)]
    offset: usize,
}

fn default_limit() -> usize {
    100
}

pub(crate) async fn list(
    State(state): State<AppState>,
    page: Result<Query<Page>, QueryRejection>,
) -> ApiResult<Json<Vec<Task>>> {
    let Query(page) = page?;
    if page.limit == 0 || page.limit > 1000 {
        return Err(ApiError::BadRequest("limit must be 1 to 1000".into()));
    }
    Ok(Json(
        state
            .hive
            .queue()
            .dead_letters(page.limit, page.offset)
            .await?,
    ))
}

pub(crate) async fn retry(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Task>> {
    let id: TaskId = parse_id("task", &id)?;
    Ok(Json(state.hive.queue().retry_dead_letter(id).await?))
}

/// The body of `POST /dead-letters/purge`: the ids to purge, or none for
/// all of them.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Purge {
    ids: Option<Vec<String>>,
}

pub(crate) async fn purge(
    State(state): State<AppState>,
    body: Result<Json<Purge>, JsonRejection>,
) -> ApiResult<Json<Value>> {
    let Json(body) = body?;
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
    Ok(Json(json!({ "purged": purged })))
}
