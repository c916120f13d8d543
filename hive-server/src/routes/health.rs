//! `GET /health`, `/health/live` and `/health/ready`: whether the server
//! and its stores answer, for load balancers and orchestrators' probes.

use axum::extract::State;
use axum::Json;
use hive_core::agent::AgentId;
use hive_core::broker::{StartAt, Topic};
use hive_core::context::EntryId;
use hive_core::events::EventFilter;
use hive_core::queue::TaskId;
use hive_core::session::SessionId;
use serde::Serialize;
use utoipa::ToSchema;

use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// The answer of `GET /health`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Health {
    /// Always `ok` (a failing store is a 503 instead).
    #[schema(value_type = String, pattern = "^ok$")]
    status: &'static str,
    /// The server's version.
    version: &'static str,
    /// The queue's backend: `sqlite`, `redis` or `postgres`.
    queue: &'static str,
}

/// 200 with the queue's backend when the queue answers a point read (of an
/// id no task has: a primary-key lookup, as cheap with a million tasks as
/// with none — load balancers probe this often); 503 otherwise.
#[utoipa::path(
    get,
    path = "/health",
    tag = "health",
    operation_id = "health",
    responses(
        (status = 200, description = "the server and its queue answer", body = Health),
        (status = 503, description = "the queue does not answer (`not_ready`, naming it)", body = ErrorBody),
    )
)]
pub(crate) async fn health(State(state): State<AppState>) -> ApiResult<Json<Health>> {
    let queue = state.hive.queue();
    answers("queue", queue.backend(), queue.get(TaskId::new())).await?;
    Ok(Json(Health {
        status: "ok",
        version: env!("CARGO_PKG_VERSION"),
        queue: state.hive.queue().backend(),
    }))
}

/// The answer of `GET /health/live`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Live {
    /// Always `ok`.
    #[schema(value_type = String, pattern = "^ok$")]
    status: &'static str,
}

/// 200 whenever the process answers: for a liveness probe, which should
/// restart the process only when it hangs, never because a store is down
/// (restarting would not bring the store back).
#[utoipa::path(
    get,
    path = "/health/live",
    tag = "health",
    operation_id = "health_live",
    responses((status = 200, description = "the process answers", body = Live))
)]
pub(crate) async fn live() -> Json<Live> {
    Json(Live { status: "ok" })
}

/// The answer of `GET /health/ready`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct Ready {
    /// Always `ready` (anything else is a 503).
    #[schema(value_type = String, pattern = "^ready$")]
    status: &'static str,
    /// Each store checked, with its backend (`queue: sqlite`, `events:
    /// redis`, …).
    checked: Vec<String>,
}

/// 200 when every store of the hive answers a point read (the queue, the
/// agent registry, the sessions, the broker, the event log, the context
/// store when there is one); a 503 naming the first that does not, or
/// saying the server is stopping. For a readiness probe: a load balancer
/// sends no traffic to a server that is not ready.
#[utoipa::path(
    get,
    path = "/health/ready",
    tag = "health",
    operation_id = "health_ready",
    responses(
        (status = 200, description = "every store answers", body = Ready),
        (status = 503, description = "a store does not answer (named), or the server is stopping", body = ErrorBody),
    )
)]
pub(crate) async fn ready(State(state): State<AppState>) -> ApiResult<Json<Ready>> {
    if state.shutdown.is_cancelled() {
        return Err(ApiError::NotReady("the server is stopping".into()));
    }
    let hive = &state.hive;
    let mut checked = Vec::new();
    let queue = hive.queue();
    checked.push(answers("queue", queue.backend(), queue.get(TaskId::new())).await?);
    let registry = hive.registry();
    checked.push(
        answers(
            "agent registry",
            registry.backend(),
            registry.get(AgentId::new()),
        )
        .await?,
    );
    // Sessions live beside the registry (SQLite, or Postgres when
    // distributed).
    checked.push(
        answers(
            "session store",
            registry.backend(),
            hive.sessions().get(SessionId::new()),
        )
        .await?,
    );
    let broker = hive.broker();
    let topic = Topic::new("hive.readiness")?;
    checked.push(
        answers(
            "broker",
            broker.backend(),
            broker.read(&topic, StartAt::Beginning, 1),
        )
        .await?,
    );
    let events = hive.events();
    checked.push(
        answers(
            "event log",
            events.backend(),
            events.read_matching(events.position(), &EventFilter::all(), 1),
        )
        .await?,
    );
    if let Some(context) = hive.context() {
        checked.push(
            answers(
                "context store",
                context.store().backend(),
                context.get(EntryId::new()),
            )
            .await?,
        );
    }
    Ok(Json(Ready {
        status: "ready",
        checked,
    }))
}

/// How long one store may take to answer a readiness read.
pub(crate) const READY_WITHIN: std::time::Duration = std::time::Duration::from_secs(2);

/// `what: backend` when `read` answers (a not-found is an answer) within
/// [`READY_WITHIN`]; else a [`ApiError::NotReady`] naming the store.
async fn answers<T>(
    what: &str,
    backend: &str,
    read: impl std::future::Future<Output = hive_core::Result<T>>,
) -> ApiResult<String> {
    let failure = match tokio::time::timeout(READY_WITHIN, read).await {
        Ok(Ok(_) | Err(hive_core::Error::NotFound { .. })) => {
            return Ok(format!("{what}: {backend}"));
        }
        Ok(Err(e)) => e.to_string(),
        Err(_) => format!("no answer within {READY_WITHIN:?}"),
    };
    tracing::warn!(store = what, backend, error = %failure, "not ready");
    Err(ApiError::NotReady(format!(
        "the {what} ({backend}) does not answer"
    )))
}
