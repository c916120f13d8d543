//! `GET /metrics` in Prometheus's text format: HTTP requests by route and
//! status with their latency; read at scrape time, tasks per status and
//! agents per status; followed from the hive's event feed (by
//! [`tasks::TaskFollower`], which also feeds the dashboard's window,
//! [`series`]), task outcomes by type and the wait and run durations;
//! counted by the broker itself, messages published, delivered and
//! redelivered. `docs/server.md` lists every metric and which are per
//! process and which global.
//!
//! One recorder per process (Prometheus's exporter is process-global); it
//! only renders text — serving it is our route's job.

use std::collections::HashSet;
use std::sync::{Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use hive_core::agent::{AgentFilter, AgentStatus};
use hive_core::queue::TaskStatus;
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiResult;
use crate::AppState;

pub mod series;
mod tasks;

use tasks::{Observation, Outcome};

/// The process's recorder, installed on first use. `None` when another
/// recorder was installed first (an embedding program's own): then this
/// server records into that one and `/metrics` shows only the gauges.
fn handle() -> Option<&'static PrometheusHandle> {
    static HANDLE: OnceLock<Option<PrometheusHandle>> = OnceLock::new();
    HANDLE
        .get_or_init(|| {
            PrometheusBuilder::new()
                .set_buckets_for_metric(
                    Matcher::Prefix("hive_task_".to_string()),
                    &DURATION_BUCKETS,
                )
                .ok()?
                .install_recorder()
                .ok()
        })
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

/// The buckets of `hive_task_wait_seconds` and `hive_task_run_seconds`,
/// in seconds: from 10 ms (an idle worker picking up) to an hour (a
/// backlog, a long job).
pub const DURATION_BUCKETS: [f64; 14] = [
    0.01, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0, 3600.0,
];

/// How many distinct task types get their own label value; later ones are
/// counted under [`OTHER_TYPE`], so user-chosen types cannot grow the
/// scrape without bound.
pub const MAX_TASK_TYPES: usize = 1_000;

/// The `type` label of the task types beyond [`MAX_TASK_TYPES`].
pub const OTHER_TYPE: &str = "other";

/// The `type` label for `task_type`: itself while fewer than
/// [`MAX_TASK_TYPES`] types have been seen, else [`OTHER_TYPE`].
fn type_label(task_type: &str) -> String {
    static SEEN: OnceLock<Mutex<HashSet<String>>> = OnceLock::new();
    let mut seen = SEEN
        .get_or_init(Mutex::default)
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    if seen.contains(task_type) {
        return task_type.to_string();
    }
    if seen.len() < MAX_TASK_TYPES {
        seen.insert(task_type.to_string());
        return task_type.to_string();
    }
    OTHER_TYPE.to_string()
}

/// Whether the caller is the process's one feeder of the task counters
/// and histograms: the first to ask (the first hive a process serves),
/// and only while Prometheus's recorder is installed here.
pub(crate) fn claim_task_metrics() -> bool {
    static CLAIMED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    handle().is_some() && !CLAIMED.swap(true, std::sync::atomic::Ordering::SeqCst)
}

/// Feeds one [`Observation`] to the task counters and histograms.
pub(crate) fn observe(seen: &Observation) {
    match seen {
        Observation::Nothing | Observation::Submitted => {}
        Observation::Started { task_type, wait } => {
            if let Some(secs) = wait {
                metrics::histogram!("hive_task_wait_seconds", "type" => type_label(task_type))
                    .record(*secs);
            }
        }
        Observation::Ended {
            task_type,
            outcome,
            run,
            ..
        } => {
            let label = type_label(task_type);
            if let Some(secs) = run {
                metrics::histogram!("hive_task_run_seconds", "type" => label.clone()).record(*secs);
            }
            match outcome {
                Outcome::Completed => {
                    metrics::counter!("hive_tasks_completed_total", "type" => label).increment(1);
                }
                Outcome::Failed => {
                    metrics::counter!("hive_tasks_failed_total", "type" => label.clone())
                        .increment(1);
                    metrics::counter!("hive_tasks_retried_total", "type" => label).increment(1);
                }
                Outcome::DeadLettered => {
                    metrics::counter!("hive_tasks_failed_total", "type" => label.clone())
                        .increment(1);
                    metrics::counter!("hive_tasks_dead_lettered_total", "type" => label)
                        .increment(1);
                }
            }
        }
        Observation::Retried { task_type } => {
            metrics::counter!("hive_tasks_retried_total", "type" => type_label(task_type))
                .increment(1);
        }
    }
}

/// Counts events the task metrics missed (a resync of the feed).
pub(crate) fn missed(events: u64) {
    metrics::counter!("hive_metrics_events_missed_total").increment(events);
}
