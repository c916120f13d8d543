//! The meta-agent: run it on an agent (`POST /meta/runs`), and its
//! proposals — list them, read one with its evidence, approve or reject.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::meta::{Proposal, ProposalId, ProposalStatus, RunReport};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{in_range, parse_id, JsonBody, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// The body of `POST /meta/runs`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = MetaRunRequest)]
pub(crate) struct Run {
    /// The agent to look at.
    agent: String,
}

/// Runs the meta-agent once on an agent: it reads the agent's metrics and
/// failed tasks, asks its model for a better prompt, and writes proposals
/// — a prompt that passes the checks starts an experiment, one that drops
/// a must-keep clause is refused, configuration and code changes wait for
/// an approval. A run over the daily budget stops before calling and
/// writes nothing.
#[utoipa::path(
    post,
    path = "/meta/runs",
    tag = "proposals",
    operation_id = "run_meta_agent",
    request_body = Run,
    responses(
        (status = 201, description = "what the run did", body = RunReport),
        (status = 400, description = "malformed, a bad agent name, or a model answer that is not the JSON asked for", body = ErrorBody),
        (status = 404, description = "the agent has no prompt under the label", body = ErrorBody),
        (status = 409, description = "the meta-agent's budget is spent, or none is configured", body = ErrorBody),
    )
)]
pub(crate) async fn run(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Run>,
) -> ApiResult<(StatusCode, Json<RunReport>)> {
    let Some(meta) = state.meta.clone() else {
        return Err(ApiError::from(hive_core::Error::conflict(
            "no meta-agent is configured: add a [meta_agent] table to hive.toml",
        )));
    };
    Ok((
        StatusCode::CREATED,
        Json(state.hive.run_meta_agent(&meta, &body.agent).await?),
    ))
}

/// Filters of `GET /proposals`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only this agent's.
    agent: Option<String>,
    /// Only in this status.
    #[param(inline)]
    status: Option<ProposalStatus>,
    /// At most this many, newest first (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
}

/// Proposals, newest first.
#[utoipa::path(
    get,
    path = "/proposals",
    tag = "proposals",
    operation_id = "list_proposals",
    params(ListQuery),
    responses(
        (status = 200, description = "the proposals, newest first", body = Vec<Proposal>),
        (status = 400, description = "a bad agent name, status or limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Vec<Proposal>>> {
    let limit = in_range("limit", q.limit.unwrap_or(100), 1..=1000)?;
    Ok(Json(
        state
            .hive
            .proposals()
            .list(q.agent.as_deref(), q.status, limit)
            .await?,
    ))
}

/// One proposal with its evidence: the tasks it learned from and the
/// metrics when it was written.
#[utoipa::path(
    get,
    path = "/proposals/{id}",
    tag = "proposals",
    operation_id = "get_proposal",
    params(("id" = uuid::Uuid, Path, description = "the proposal's id")),
    responses(
        (status = 200, description = "the proposal", body = Proposal),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such proposal", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Proposal>> {
    let id: ProposalId = parse_id("proposal", &id)?;
    Ok(Json(state.hive.proposals().get(id).await?))
}

/// The body of `POST /proposals/{id}/approve` and `/reject`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = DecideProposal)]
pub(crate) struct Decide {
    /// Who decides (not its author).
    by: String,
    /// Why (a rejection's).
    reason: Option<String>,
}

/// Approves a proposal waiting for it: a configuration or code change is
/// marked approved; a prompt whose experiment could not start starts it.
#[utoipa::path(
    post,
    path = "/proposals/{id}/approve",
    tag = "proposals",
    operation_id = "approve_proposal",
    params(("id" = uuid::Uuid, Path, description = "the proposal's id")),
    request_body = Decide,
    responses(
        (status = 200, description = "the proposal, approved", body = Proposal),
        (status = 400, description = "malformed, or approved by its author", body = ErrorBody),
        (status = 404, description = "no such proposal", body = ErrorBody),
        (status = 409, description = "it is not waiting for an approval", body = ErrorBody),
    )
)]
pub(crate) async fn approve(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Decide>,
) -> ApiResult<Json<Proposal>> {
    let id: ProposalId = parse_id("proposal", &id)?;
    Ok(Json(state.hive.approve_proposal(id, &body.by).await?))
}

/// Rejects a proposal (a prompt being tried has its experiment stopped).
#[utoipa::path(
    post,
    path = "/proposals/{id}/reject",
    tag = "proposals",
    operation_id = "reject_proposal",
    params(("id" = uuid::Uuid, Path, description = "the proposal's id")),
    request_body = Decide,
    responses(
        (status = 200, description = "the proposal, rejected", body = Proposal),
        (status = 400, description = "malformed, or a bad name", body = ErrorBody),
        (status = 404, description = "no such proposal", body = ErrorBody),
        (status = 409, description = "it was already decided", body = ErrorBody),
    )
)]
pub(crate) async fn reject(
    State(state): State<AppState>,
    Path(id): Path<String>,
    JsonBody(body): JsonBody<Decide>,
) -> ApiResult<Json<Proposal>> {
    let id: ProposalId = parse_id("proposal", &id)?;
    Ok(Json(
        state
            .hive
            .reject_proposal(id, &body.by, body.reason.as_deref())
            .await?,
    ))
}
