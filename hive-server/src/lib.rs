//! Agent Hive's HTTP server as a library: [`router`] builds the whole API
//! over a running [`hive_core::Hive`], so `main.rs` stays a thin parser of
//! flags and tests drive the router directly with `oneshot`.
//!
//! Errors become responses in exactly one place, [`error::ApiError`].

pub mod error;
mod routes;

use std::sync::Arc;

use axum::Router;

/// What every handler shares.
#[derive(Clone, Debug)]
pub struct AppState {
    /// The runtime the API serves.
    pub hive: Arc<hive_core::Hive>,
}

/// The API over `state`.
pub fn router(state: AppState) -> Router {
    routes::router().with_state(state)
}
