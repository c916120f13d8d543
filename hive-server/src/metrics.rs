//! `GET /metrics` in Prometheus's text format: HTTP requests by route and
//! status with their latency, and, read at scrape time, tasks per status
//! and agents per status.
//!
//! One recorder per process (Prometheus's exporter is process-global); it
//! only renders text — serving it is our route's job.

use std::sync::OnceLock;
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hive_core::agent::{AgentFilter, AgentStatus};
use hive_core::queue::TaskStatus;
use metrics_exporter_prometheus::{PrometheusBuilder, PrometheusHandle};

use crate::error::ApiResult;
use crate::AppState;

/// The process's recorder, installed on first use. `None` when another
/// recorder was installed first (an embedding program's own): then this
/// server records into that one and `/metrics` shows only the gauges.
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| PrometheusBuilder::new().install_recorder().ok())
        .as_ref()
}

/// Counts every request by method, matched route and status, and times it.
pub(crate) async fn record(request: Request, next: Next) -> Response {
    let started = Instant::now();
    let method = request.method().to_string();
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_string(), |p| p.as_str().to_string());
    let response = next.run(request).await;
    let status = response.status().as_u16().to_string();
    metrics::counter!("hive_http_requests_total", "method" => method, "route" => route.clone(), "status" => status)
        .increment(1);
    metrics::histogram!("hive_http_request_duration_seconds", "route" => route)
        .record(started.elapsed().as_secs_f64());
    response
}

/// The scrape: refreshes the gauges from the stores, then renders.
#[utoipa::path(
    get,
    path = "/metrics",
    tag = "metrics",
    operation_id = "metrics",
    responses((
        status = 200,
        description = "Prometheus's text format",
        body = String,
        content_type = "text/plain"
    ))
)]
pub(crate) async fn render(State(state): State<AppState>) -> ApiResult<Response> {
    let stats = state.hive.queue().stats().await?;
    for status in TaskStatus::ALL {
        metrics::gauge!("hive_tasks", "status" => status.as_str()).set(stats.get(status) as f64);
    }
    let agents = state.hive.registry().list(&AgentFilter::any()).await?;
    for status in [
        AgentStatus::Healthy,
        AgentStatus::Unhealthy,
        AgentStatus::Dead,
        AgentStatus::Stopped,
    ] {
        let n = agents.iter().filter(|a| a.status == status).count();
        metrics::gauge!("hive_agents", "status" => status.as_str()).set(n as f64);
    }
    let body = match handle() {
        Some(h) => {
            h.run_upkeep();
            h.render()
        }
        None => String::from("# the process installed another metrics recorder\n"),
    };
    Ok(([(CONTENT_TYPE, "text/plain; version=0.0.4")], body).into_response())
}

/// How often recorded samples are folded into the exporter's buckets, so
/// memory stays flat when nobody scrapes.
const UPKEEP_EVERY: std::time::Duration = std::time::Duration::from_secs(5);

/// Installs the recorder now, so requests before the first scrape count,
/// and (once per process, on the current Tokio runtime) starts its upkeep.
pub(crate) fn install() {
    static UPKEEP: OnceLock<()> = OnceLock::new();
    let (Some(h), Ok(runtime)) = (handle(), tokio::runtime::Handle::try_current()) else {
        return;
    };
    UPKEEP.get_or_init(|| {
        runtime.spawn(async move {
            let mut every = tokio::time::interval(UPKEEP_EVERY);
            loop {
                every.tick().await;
                h.run_upkeep();
            }
        });
    });
}
