//! `GET /health`: whether the server and its stores answer.

use axum::extract::State;
use axum::Json;
use serde_json::{json, Value};

use crate::error::ApiResult;
use crate::AppState;

/// 200 with the queue's backend when the queue answers a stats call; 503
/// otherwise.
pub(crate) async fn health(State(state): State<AppState>) -> ApiResult<Json<Value>> {
    state.hive.queue().stats().await?;
    Ok(Json(json!({
        "status": "ok",
        "version": env!("CARGO_PKG_VERSION"),
        "queue": state.hive.queue().backend(),
    })))
}
