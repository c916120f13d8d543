//! `GET /health`: whether the server and its stores answer.

use axum::extract::State;
use axum::Json;
use hive_core::queue::TaskId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

/// The answer of `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok` (a failing store is a 503 instead).
    #[schema(value_type = String, pattern = "^ok$")]
    status: &'static str,
    /// The server's version.
    version: &'static str,
    /// The queue's backend: `sqlite`, `redis` or `postgres`.
    queue: &'static str,
}

/// 200 with the queue's backend when the queue answers a point read (of an
/// id no task has: a primary-key lookup, as cheap with a million tasks as
/// with none — load balancers probe this often); 503 otherwise.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    operation_id = "health",
    responses(
        (status = 200, description = "the server and its queue answer", body = Health),
        (status = 503, description = "the queue does not answer", body = ErrorBody),
    )
)]
pub(crate) async fn health(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    match state.hive.queue().get(TaskId::new()).await {
        Ok(_) | Err(hive_core::Error::NotFound { .. }) => {}
        Err(e) => return Err(e.into()),
    }
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        queue: state.hive.queue().backend(),
    }))
}
