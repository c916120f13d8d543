//! Agent Hive's HTTP server as a library: [`router`] builds the whole API
//! over a running [`hive_core::Hive`], so `main.rs` stays a thin parser of
//! flags and tests drive the router directly with `oneshot`.
//!
//! Errors become responses in exactly one place, [`error::ApiError`].

mod auth;
pub mod client;
pub mod error;
pub mod hygiene;
mod metrics;
mod routes;

use std::sync::Arc;

use axum::Router;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The runtime the API serves.
    pub hive: Arc<hive_core::Hive>,
    /// When set, every route but `/health` needs `Authorization: Bearer`
    /// with it.
    pub token: Option<Arc<str>>,
    /// How long a request may take before it is answered with a 503.
    /// Default [`hygiene::DEFAULT_REQUEST_TIMEOUT`] (30 s).
    pub request_timeout: std::time::Duration,
}

impl AppState {
    /// State serving `hive` without a token.
    pub fn new(hive: Arc<hive_core::Hive>) -> Self {
        AppState {
            hive,
            token: None,
            request_timeout: hygiene::DEFAULT_REQUEST_TIMEOUT,
        }
    }

    /// Requires `token` on every route but `/health`.
    pub fn with_token(mut self, token: impl Into<Arc<str>>) -> Self {
        self.token = Some(token.into());
        self
    }
}

impl std::fmt::Debug for AppState {
    // Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AppState")
            .field("hive", &self.hive)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("request_timeout", &self.request_timeout)
            .finish()
    }
}

/// The largest request body accepted (1 MiB); larger ones are a 413.
pub const MAX_BODY_BYTES: usize = 1 << 20;

/// The API over `state`.
pub fn router(state: AppState) -> Router {
    metrics::install();
    routes::router()
        .route("/metrics", axum::routing::get(metrics::render))
        .route_layer(axum::middleware::from_fn(metrics::record))
        .layer(axum::extract::DefaultBodyLimit::max(MAX_BODY_BYTES))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hygiene::around,
        ))
        .with_state(state)
}
