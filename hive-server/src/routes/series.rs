//! `GET /metrics/series`: the rolling window of task metrics the dashboard
//! charts ([`crate::metrics::series`]), as JSON.

use axum::extract::State;
use axum::Json;

use crate::error::ApiResult;
use crate::metrics::series::SeriesPage;
use crate::AppState;

/// Task metrics over the last minutes, per interval: tasks submitted,
/// completed, failed and dead-lettered, the queue's depth by status, the
/// submit→start and run times' p50 and p95; and spend per agent.
///
/// Kept by this server from the event feed since it started (a restart
/// begins an empty window); the depth is the queue's own count.
#[utoipa::path(
    get,
    path = "/metrics/series",
    tag = "metrics",
    operation_id = "metrics_series",
    responses((status = 200, description = "the window, oldest sample first", body = SeriesPage))
)]
pub(crate) async fn series(State(state): State<AppState>) -> ApiResult<Json<SeriesPage>> {
    Ok(Json(state.series.page(&state.hive).await))
}
