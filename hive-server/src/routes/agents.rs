//! Agents: the fleet as the registry holds it. `POST /agents` registers an
//! agent that runs elsewhere (it must then heartbeat through
//! `POST /agents/{id}/heartbeat`, or the health sweep declares it dead);
//! `DELETE /agents/{id}` terminates one, wherever it runs.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::agent::{AgentFilter, AgentId, AgentRecord, AgentSpec, AgentStatus};
use serde::Deserialize;
use serde_json::Value;

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// Filters of `GET /agents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    status: Option<String>,
    kind: Option<String>,
    capability: Option<String>,
}

pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<AgentRecord>>> {
    let Query(q) = query?;
    let mut filter = AgentFilter::any();
    if let Some(s) = q.status {
        let status: AgentStatus = serde_json::from_value(Value::String(s.clone()))
            .map_err(|_| ApiError::BadRequest(format!("unknown agent status {s:?}")))?;
        filter = filter.status(status);
    }
    if let Some(k) = q.kind {
        filter = filter.kind(k);
    }
    if let Some(c) = q.capability {
        filter = filter.capability(c);
    }
    Ok(Json(state.hive.orchestrator().list(&filter).await?))
}

/// The body of `POST /agents`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Register {
    name: String,
    #[serde(default = "remote_kind")]
    kind: String,
    capabilities: Vec<String>,
    #[serde(default = "empty_object")]
    metadata: Value,
}

fn remote_kind() -> String {
    "remote".into()
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

pub(crate) async fn register(
    State(state): State<AppState>,
    body: Result<Json<Register>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<AgentRecord>)> {
    let Json(body) = body?;
    let spec = AgentSpec::new(body.name, body.kind, body.capabilities).metadata(body.metadata);
    let record = state.hive.registry().register(spec).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentRecord>> {
    let id: AgentId = parse_id("agent", &id)?;
    Ok(Json(state.hive.orchestrator().get(id).await?))
}

pub(crate) async fn terminate(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentRecord>> {
    let id: AgentId = parse_id("agent", &id)?;
    Ok(Json(state.hive.orchestrator().terminate(id).await?))
}

/// The body of `POST /agents/{id}/heartbeat`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Heartbeat {
    #[serde(default)]
    load: u32,
}

pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    Path(id): Path<String>,
    body: Result<Json<Heartbeat>, JsonRejection>,
) -> ApiResult<Json<AgentRecord>> {
    let id: AgentId = parse_id("agent", &id)?;
    let Json(body) = body?;
    Ok(Json(state.hive.registry().heartbeat(id, body.load).await?))
}
