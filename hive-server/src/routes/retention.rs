//! Retention: how long this server's queue keeps finished tasks and dead
//! letters and its broker keeps messages (`GET /queue/retention`), and a
//! pass run now instead of at the next tick (`POST /queue/purge`).

use axum::extract::State;
use axum::Json;
use hive_core::hive::RetentionReport;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::ApiResult;
use crate::AppState;

/// The answer of `GET /queue/retention`: ages in seconds, `null` for
/// "kept forever".
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct RetentionSettings {
    /// The queue these apply to.
    queue: String,
    /// How long completed, failed and cancelled tasks are kept.
    finished_secs: Option<f64>,
    /// How long dead letters are kept.
    dead_letters_secs: Option<f64>,
    /// How long the broker keeps a message.
    messages_secs: Option<f64>,
    /// Seconds between retention passes (0: none run by themselves).
    interval_secs: f64,
}

/// How long this server's queue and broker keep what has ended.
#[utoipa::path(
    get,
    path = "/queue/retention",
    tag = "tasks",
    operation_id = "queue_retention",
    responses((status = 200, description = "the ages, in seconds", body = RetentionSettings))
)]
pub(crate) async fn settings(State(state): State<AppState>) -> Json<RetentionSettings> {
    let queue = state.hive.queue().config();
    let secs = |d: Option<std::time::Duration>| d.map(|d| d.as_secs_f64());
    Json(RetentionSettings {
        queue: queue.name.clone(),
        finished_secs: secs(queue.retention.finished),
        dead_letters_secs: secs(queue.retention.dead_letters),
        messages_secs: secs(state.hive.broker().config().retention.max_age),
        interval_secs: state.hive.retention_interval().as_secs_f64(),
    })
}

/// Runs a retention pass now: deletes the tasks past their age (with their
/// history, edges and idempotency keys; a task an unfinished dependent
/// needs is kept) and trims the broker's topics.
#[utoipa::path(
    post,
    path = "/queue/purge",
    tag = "tasks",
    operation_id = "queue_purge",
    responses(
        (status = 200, description = "what the pass deleted", body = RetentionReport),
        (status = 503, description = "a store did not answer; what was deleted before stays deleted", body = crate::error::ErrorBody),
    )
)]
pub(crate) async fn purge(State(state): State<AppState>) -> ApiResult<Json<RetentionReport>> {
    Ok(Json(state.hive.purge_expired().await?))
}
