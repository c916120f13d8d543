//! The API's routes, one file per resource. Handlers translate between
//! JSON and hive-core calls and nothing more; every error goes through
//! [`crate::error::ApiError`].

mod agents;
mod context;
mod dead_letters;
mod health;
mod messages;
mod sessions;
mod tasks;

use axum::routing::{get, post};
use axum::Router;

use crate::error::ApiError;
use crate::AppState;

pub(crate) fn router() -> Router<AppState> {
    Router::new()
        .route("/health", get(health::health))
        .route("/tasks", post(tasks::submit).get(tasks::list))
        .route("/tasks/{id}", get(tasks::get))
        .route("/tasks/{id}/cancel", post(tasks::cancel))
        .route("/tasks/{id}/why", get(tasks::why))
        .route("/queue/stats", get(tasks::stats))
        .route("/dead-letters", get(dead_letters::list))
        .route("/dead-letters/purge", post(dead_letters::purge))
        .route("/dead-letters/{id}/retry", post(dead_letters::retry))
        .route("/agents", get(agents::list).post(agents::register))
        .route("/agents/{id}", get(agents::get).delete(agents::terminate))
        .route("/agents/{id}/heartbeat", post(agents::heartbeat))
        .route("/sessions", post(sessions::create).get(sessions::list))
        .route("/messages", post(messages::publish))
        .route("/topics/{topic}/messages", get(messages::read))
        .route("/context", post(context::remember))
        .route("/context/search", get(context::search))
        .route("/sessions/{id}", get(sessions::get))
        .route("/sessions/{id}/close", post(sessions::close))
        .fallback(|| async { ApiError::NoRoute })
}

/// Parses an id from the path, answering 400 (not 404) for a malformed
/// one: the client sent something that cannot name anything.
pub(crate) fn parse_id<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::BadRequest(format!("{text:?} is not a valid {what} id")))
}
