//! `GET /metrics` in Prometheus's text format: HTTP requests by route and
//! status with their latency; read at scrape time, tasks per status and
//! agents per status; followed from the hive's event feed, task outcomes
//! by type and the wait and run durations; counted by the broker itself,
//! messages published, delivered and redelivered. `docs/server.md` lists
//! every metric and which are per process and which global.
//!
//! One recorder per process (Prometheus's exporter is process-global); it
//! only renders text — serving it is our route's job.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Instant;

use axum::extract::{MatchedPath, Request, State};
use axum::http::header::CONTENT_TYPE;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use chrono::{DateTime, Utc};
use hive_core::agent::{AgentFilter, AgentStatus};
use hive_core::events::{Event, EventFilter, EventHub, Watch};
use hive_core::queue::{Queue, TaskId, TaskStatus};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};

use crate::error::ApiResult;
use crate::AppState;

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

/// How many tasks the follower remembers between their events (submitted
/// → first claim, claim → end) before falling back to reading the task.
const MAX_REMEMBERED: usize = 100_000;

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

/// Starts (once per process, on the current Tokio runtime) following the
/// hive's task events from event `since` on, feeding the task counters
/// and histograms. The first hive a process serves is the one followed.
pub(crate) fn follow(events: &EventHub, queue: Arc<dyn Queue>) {
    static FOLLOWING: OnceLock<()> = OnceLock::new();
    let (Some(_), Ok(runtime)) = (handle(), tokio::runtime::Handle::try_current()) else {
        return;
    };
    FOLLOWING.get_or_init(|| {
        let events = events.clone();
        let since = events.position();
        runtime.spawn(async move {
            let filter = match EventFilter::patterns(["task"]) {
                Ok(f) => f,
                Err(e) => return tracing::warn!("metrics: no task filter: {e}"),
            };
            let mut sub = match events.subscribe(filter, Some(since)).await {
                Ok(sub) => sub,
                Err(e) => return tracing::warn!("metrics: cannot follow the event feed: {e}"),
            };
            // The subscription alone must not keep the hub's tasks alive.
            drop(events);
            let mut tasks = TaskFollower::new(queue);
            while let Some(watch) = sub.next().await {
                match watch {
                    Watch::Event(event) => tasks.on(&event).await,
                    Watch::Lagged { .. } => {}
                    Watch::Resync { after, next } => {
                        metrics::counter!("hive_metrics_events_missed_total")
                            .increment(next.saturating_sub(after + 1));
                        tasks.forget();
                    }
                }
            }
        });
    });
}

/// The task event kinds followed (`hive_core`'s event kinds).
mod kinds {
    pub const TASK_SUBMITTED: &str = "task.submitted";
    pub const TASK_CLAIMED: &str = "task.claimed";
    pub const TASK_COMPLETED: &str = "task.completed";
    pub const TASK_FAILED: &str = "task.failed";
    pub const TASK_DEAD_LETTERED: &str = "task.dead_lettered";
    pub const TASK_RELEASED: &str = "task.released";
    pub const TASK_CANCELLED: &str = "task.cancelled";
    pub const TASK_RETRIED: &str = "task.retried";
}

/// What the follower remembers of a task between its events.
struct TaskFollower {
    queue: Arc<dyn Queue>,
    /// Submitted and not started yet: when it was submitted.
    submitted: HashMap<String, DateTime<Utc>>,
    /// Running: its type and when the attempt started.
    running: HashMap<String, (String, DateTime<Utc>)>,
}

impl TaskFollower {
    fn new(queue: Arc<dyn Queue>) -> Self {
        TaskFollower {
            queue,
            submitted: HashMap::new(),
            running: HashMap::new(),
        }
    }

    fn forget(&mut self) {
        self.submitted.clear();
        self.running.clear();
    }

    /// The task's type and submission time, read from the queue (for
    /// tasks the follower does not remember).
    async fn read(&self, subject: &str) -> Option<(String, DateTime<Utc>)> {
        let id: TaskId = subject.parse().ok()?;
        let task = self.queue.get(id).await.ok()?;
        Some((task.task_type, task.created_at))
    }

    async fn type_of(&self, event: &Event) -> String {
        match event.data.get("type").and_then(|t| t.as_str()) {
            Some(t) => t.to_string(),
            None => self
                .read(&event.subject)
                .await
                .map_or_else(|| "unknown".to_string(), |(t, _)| t),
        }
    }

    async fn on(&mut self, event: &Event) {
        let id = event.subject.as_str();
        match event.kind.as_str() {
            kinds::TASK_SUBMITTED if self.submitted.len() < MAX_REMEMBERED => {
                self.submitted.insert(id.to_string(), event.at);
            }
            kinds::TASK_CLAIMED => {
                let task_type = self.type_of(event).await;
                let first = event.data.get("attempt").and_then(|a| a.as_u64()) == Some(1);
                let submitted = self.submitted.remove(id);
                if first {
                    let submitted = match submitted {
                        Some(at) => Some(at),
                        None => self.read(id).await.map(|(_, at)| at),
                    };
                    if let Some(at) = submitted {
                        metrics::histogram!("hive_task_wait_seconds", "type" => type_label(&task_type))
                            .record(seconds(at, event.at));
                    }
                }
                if self.running.len() < MAX_REMEMBERED {
                    self.running.insert(id.to_string(), (task_type, event.at));
                }
            }
            kinds::TASK_COMPLETED | kinds::TASK_FAILED | kinds::TASK_DEAD_LETTERED => {
                self.submitted.remove(id);
                let (task_type, started) = match self.running.remove(id) {
                    Some((t, at)) => (t, Some(at)),
                    None => (self.type_of(event).await, None),
                };
                let label = type_label(&task_type);
                if let Some(at) = started {
                    metrics::histogram!("hive_task_run_seconds", "type" => label.clone())
                        .record(seconds(at, event.at));
                }
                match event.kind.as_str() {
                    kinds::TASK_COMPLETED => {
                        metrics::counter!("hive_tasks_completed_total", "type" => label)
                            .increment(1);
                    }
                    kinds::TASK_FAILED => {
                        metrics::counter!("hive_tasks_failed_total", "type" => label.clone())
                            .increment(1);
                        metrics::counter!("hive_tasks_retried_total", "type" => label).increment(1);
                    }
                    _ => {
                        metrics::counter!("hive_tasks_failed_total", "type" => label.clone())
                            .increment(1);
                        metrics::counter!("hive_tasks_dead_lettered_total", "type" => label)
                            .increment(1);
                    }
                }
            }
            kinds::TASK_RETRIED => {
                let label = type_label(&self.type_of(event).await);
                metrics::counter!("hive_tasks_retried_total", "type" => label).increment(1);
            }
            kinds::TASK_RELEASED | kinds::TASK_CANCELLED => {
                self.running.remove(id);
                if event.kind == kinds::TASK_CANCELLED {
                    self.submitted.remove(id);
                }
            }
            _ => {}
        }
    }
}

/// Seconds from `from` to `to`, never negative (clocks of two processes).
fn seconds(from: DateTime<Utc>, to: DateTime<Utc>) -> f64 {
    (to - from).to_std().map_or(0.0, |d| d.as_secs_f64())
}
