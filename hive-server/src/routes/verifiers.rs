//! The verifiers the server scores results with (`[[verifiers]]` in
//! hive.toml), by task type.

use axum::extract::State;
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::AppState;

/// One verifier.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct VerifierInfo {
    /// The task type it scores.
    task_type: String,
    /// `function`, `command` or `judge`.
    kind: String,
}

/// The verifiers, by task type: a task of one of these types completes
/// with `score` and `verifier` in its result, and its outcome carries the
/// score.
#[utoipa::path(
    get,
    path = "/verifiers",
    tag = "outcomes",
    operation_id = "list_verifiers",
    responses(
        (status = 200, description = "the verifiers, by task type", body = Vec<VerifierInfo>),
    )
)]
pub(crate) async fn list(State(state): State<AppState>) -> ApiResult<Json<Vec<VerifierInfo>>> {
    Ok(Json(
        state
            .hive
            .verifiers()
            .task_types()
            .into_iter()
            .map(|(task_type, kind)| VerifierInfo {
                task_type,
                kind: kind.to_string(),
            })
            .collect(),
    ))
}
