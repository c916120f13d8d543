//! Agent Hive's HTTP server as a library: [`router`] builds the whole API
//! over a running [`hive_core::Hive`], so `main.rs` stays a thin parser of
//! flags and tests drive the router directly with `oneshot`.
//!
//! Errors become responses in exactly one place, [`error::ApiError`].

mod auth;
pub mod backup;
pub mod cli;
pub mod client;
pub mod config;
pub mod cors;
pub mod error;
pub mod hygiene;
pub mod listener;
pub mod lock;
pub mod metrics;
pub mod openapi;
mod routes;
pub mod ui;

use std::sync::Arc;

use axum::Router;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

/// What every handler shares.
#[derive(Clone)]
pub struct AppState {
    /// The runtime the API serves.
    pub hive: Arc<hive_core::Hive>,
    /// When set, every route but `/health`, `/openapi.json` and `/docs`
    /// needs `Authorization: Bearer` with it.
    pub token: Option<Arc<str>>,
    /// How long a request may take before it is answered with a 503.
    /// Default [`hygiene::DEFAULT_REQUEST_TIMEOUT`] (30 s).
    pub request_timeout: std::time::Duration,
    /// How often `/ws/events` pings each socket and judges its progress:
    /// one that neither answered the previous ping nor took any of the
    /// bytes held back for it since is closed with 1008 "the client does
    /// not read". Default [`DEFAULT_WS_PING`] (20 s).
    pub ws_ping: std::time::Duration,
    /// Cancelled when the server stops: open WebSockets are closed with
    /// 1001 (going away).
    pub shutdown: CancellationToken,
    /// The open WebSockets (axum's graceful shutdown does not wait for
    /// upgraded connections; [`AppState::drain`] does).
    pub sockets: TaskTracker,
    /// The largest request body accepted, in bytes; larger ones are a 413.
    /// Default [`DEFAULT_BODY_LIMIT`] (1 MiB).
    pub body_limit: usize,
    /// Which browser origins may call the API. Default: none.
    pub cors: cors::CorsOrigins,
    /// Serve the dashboard from this directory (a `web/dist` being
    /// developed) instead of the copy embedded in the binary. Default: the
    /// embedded copy.
    pub ui_dir: Option<std::path::PathBuf>,
    /// The rolling window of task metrics behind `GET /metrics/series`.
    pub series: Arc<metrics::series::Series>,
    /// The meta-agent `POST /meta/runs` runs, when one is configured.
    pub meta: Option<Arc<hive_core::meta::MetaAgent>>,
    /// Approvers by name with their tokens: a request bearing one carries
    /// the approver scope (`POST /changes/{id}/approve` needs it).
    pub approvers: Arc<Vec<(String, Arc<str>)>>,
}

/// The default WebSocket ping interval.
pub const DEFAULT_WS_PING: std::time::Duration = std::time::Duration::from_secs(20);

impl AppState {
    /// State serving `hive` without a token.
    pub fn new(hive: Arc<hive_core::Hive>) -> Self {
        AppState {
            hive,
            token: None,
            request_timeout: hygiene::DEFAULT_REQUEST_TIMEOUT,
            ws_ping: DEFAULT_WS_PING,
            shutdown: CancellationToken::new(),
            sockets: TaskTracker::new(),
            body_limit: DEFAULT_BODY_LIMIT,
            cors: cors::CorsOrigins::Off,
            ui_dir: None,
            series: Arc::new(metrics::series::Series::new(
                metrics::series::SeriesConfig::default(),
            )),
            meta: None,
            approvers: Arc::new(Vec::new()),
        }
    }

    /// Closes every open WebSocket (1001) and waits up to `grace` for them
    /// to finish. Call after the HTTP server has stopped taking requests;
    /// answers whether they all finished in time.
    pub async fn drain(&self, grace: std::time::Duration) -> bool {
        self.shutdown.cancel();
        self.sockets.close();
        tokio::time::timeout(grace, self.sockets.wait())
            .await
            .is_ok()
    }

    /// Requires `token` on every route but the open ones (`auth.rs`).
    pub fn with_token(mut self, token: impl Into<Arc<str>>) -> Self {
        self.token = Some(token.into());
        self
    }

    /// Adds an approver: `name`, authenticated by `token`, which also
    /// passes wherever the main token does.
    pub fn with_approver(mut self, name: impl Into<String>, token: impl Into<Arc<str>>) -> Self {
        Arc::make_mut(&mut self.approvers).push((name.into(), token.into()));
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
            .field("ws_ping", &self.ws_ping)
            .field("open_sockets", &self.sockets.len())
            .field("body_limit", &self.body_limit)
            .field("cors", &self.cors)
            .field("ui_dir", &self.ui_dir)
            .finish()
    }
}

/// The default of [`AppState::body_limit`]: 1 MiB.
pub const DEFAULT_BODY_LIMIT: usize = 1 << 20;

/// The API over `state`.
pub fn router(state: AppState) -> Router {
    metrics::install();
    state
        .series
        .follow(state.hive.clone(), state.shutdown.clone());
    routes::router()
        .merge(openapi::routes())
        .merge(ui::routes())
        .route("/metrics", axum::routing::get(metrics::render))
        .route_layer(axum::middleware::from_fn(metrics::record))
        .layer(axum::extract::DefaultBodyLimit::max(state.body_limit))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ))
        // Outside the token check: preflights carry no Authorization.
        .layer(tower::util::option_layer(state.cors.layer()))
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hygiene::around,
        ))
        .with_state(state)
}
