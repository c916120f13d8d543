//! Agents: the fleet as the registry holds it. `POST /agents` registers an
//! agent that runs elsewhere (it must then heartbeat through
//! `POST /agents/{id}/heartbeat`, or the health sweep declares it dead);
//! `POST /agents/spawn` starts a declared agent (an LLM, a coding CLI or a
//! webhook; [`hive_core::declared`]) in this server's process;
//! `DELETE /agents/{id}` terminates one, wherever it runs.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::agent::{AgentFilter, AgentId, AgentRecord, AgentSpec, AgentStatus};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{parse_id, JsonBody, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// Filters of `GET /agents`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only agents in this status.
    #[param(value_type = Option<AgentStatus>)]
    status: Option<String>,
    /// Only agents of this kind.
    kind: Option<String>,
    /// Only agents with this capability.
    capability: Option<String>,
}

/// The fleet's agents, filtered.
#[utoipa::path(
    get,
    path = "/agents",
    tag = "agents",
    operation_id = "list_agents",
    params(ListQuery),
    responses(
        (status = 200, description = "the agents", body = Vec<AgentRecord>),
        (status = 400, description = "an unknown status", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Vec<AgentRecord>>> {
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
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RegisterAgent)]
pub(crate) struct Register {
    /// Unique among live agents: 1–128 bytes, no control characters.
    #[schema(min_length = 1, max_length = 128)]
    name: String,
    /// What kind of agent it is (default `remote`).
    #[serde(default = "remote_kind")]
    #[schema(min_length = 1, max_length = 128)]
    kind: String,
    /// What it can do; at least one.
    #[schema(schema_with = super::some_capabilities)]
    capabilities: Vec<String>,
    /// A JSON object of the caller's (default `{}`).
    #[serde(default = "empty_object")]
    #[schema(value_type = Object)]
    metadata: Value,
}

fn remote_kind() -> String {
    "remote".into()
}

fn empty_object() -> Value {
    Value::Object(serde_json::Map::new())
}

/// Registers an agent that runs elsewhere; it must then heartbeat.
#[utoipa::path(
    post,
    path = "/agents",
    tag = "agents",
    operation_id = "register_agent",
    request_body = Register,
    responses(
        (status = 201, description = "registered", body = AgentRecord, links(
            ("get" = (operation_id = "get_agent", parameters(("id" = "$response.body#/id")))),
            ("heartbeat" = (operation_id = "agent_heartbeat", parameters(("id" = "$response.body#/id")))),
            ("terminate" = (operation_id = "terminate_agent", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "malformed, or a bad name, kind, capability or metadata", body = ErrorBody),
        (status = 409, description = "a live agent has this name", body = ErrorBody),
    )
)]
pub(crate) async fn register(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Register>,
) -> ApiResult<(StatusCode, Json<AgentRecord>)> {
    let spec = AgentSpec::new(body.name, body.kind, body.capabilities).metadata(body.metadata);
    let record = state.hive.registry().register(spec).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

/// Starts a declared agent in this server's process, as a `[[agents]]`
/// entry of hive.toml would: `kind` is `llm`, `cli` or `http`; keys are
/// named by the environment variable holding them on the server
/// (`api_key_env`, `auth_token_env`), never sent. Relative paths are the
/// server's working directory's. The token that may call this may start
/// processes on the server's host (a `cli` agent's command, an `llm`
/// agent's `run_command` tool): give it only to operators.
#[utoipa::path(
    post,
    path = "/agents/spawn",
    tag = "agents",
    operation_id = "spawn_agent",
    request_body = hive_core::declared::AgentDecl,
    responses(
        (status = 201, description = "spawned and registered", body = AgentRecord, links(
            ("get" = (operation_id = "get_agent", parameters(("id" = "$response.body#/id")))),
            ("terminate" = (operation_id = "terminate_agent", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "a bad declaration (unknown kind or key, a key written in it, a missing model…), or a key variable not set on the server; the message names the agent", body = ErrorBody),
        (status = 409, description = "a live agent has this name", body = ErrorBody),
        (status = 501, description = "this server was built without the agent's kind", body = ErrorBody),
    )
)]
pub(crate) async fn spawn(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Value>,
) -> ApiResult<(StatusCode, Json<AgentRecord>)> {
    let decl = hive_core::declared::AgentDecl::from_value(body)?;
    let handle = state.hive.spawn_declared(&decl).await?;
    let record = state.hive.orchestrator().get(handle.id).await?;
    Ok((StatusCode::CREATED, Json(record)))
}

#[utoipa::path(
    get,
    path = "/agents/{id}",
    tag = "agents",
    operation_id = "get_agent",
    params(("id" = uuid::Uuid, Path, description = "the agent's id")),
    responses(
        (status = 200, description = "the agent", body = AgentRecord),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such agent", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentRecord>> {
    let id: AgentId = parse_id("agent", &id)?;
    Ok(Json(state.hive.orchestrator().get(id).await?))
}

/// Terminates an agent, wherever it runs.
#[utoipa::path(
    delete,
    path = "/agents/{id}",
    tag = "agents",
    operation_id = "terminate_agent",
    params(("id" = uuid::Uuid, Path, description = "the agent's id")),
    responses(
        (status = 200, description = "the stopped agent", body = AgentRecord),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such agent", body = ErrorBody),
        (status = 409, description = "the agent already ended", body = ErrorBody),
    )
)]
pub(crate) async fn terminate(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<AgentRecord>> {
    let id: AgentId = parse_id("agent", &id)?;
    Ok(Json(state.hive.orchestrator().terminate(id).await?))
}

/// The body of `POST /agents/{id}/heartbeat`.
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub(crate) struct Heartbeat {
    /// Tasks in hand (default 0).
    #[serde(default)]
    load: u32,
}

/// An agent's heartbeat, with its load.
#[utoipa::path(
    post,
    path = "/agents/{id}/heartbeat",
    tag = "agents",
    operation_id = "agent_heartbeat",
    params(("id" = uuid::Uuid, Path, description = "the agent's id")),
    request_body = Heartbeat,
    responses(
        (status = 200, description = "the agent after the beat", body = AgentRecord),
        (status = 400, description = "malformed, or the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such agent", body = ErrorBody),
        (status = 409, description = "the agent is dead or stopped", body = ErrorBody),
    )
)]
pub(crate) async fn heartbeat(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Heartbeat>,
) -> ApiResult<Json<AgentRecord>> {
    let id: AgentId = parse_id("agent", &id)?;
    Ok(Json(state.hive.registry().heartbeat(id, body.load).await?))
}
