//! Sessions: open one with its agents, read it back with its conversation,
//! close it.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::session::{ConversationEntry, NewSession, Session, SessionId, SessionStatus};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{parse_id, JsonBody, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// The body of `POST /sessions`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = CreateSession)]
pub(crate) struct Create {
    /// The session's name: 1–128 bytes, no control characters.
    #[schema(min_length = 1, max_length = 128)]
    name: String,
    /// The names of its agents, in join order.
    #[serde(default)]
    agents: Vec<String>,
    /// Its initial shared state, a JSON object (default `{}`).
    #[schema(value_type = Option<Object>)]
    state: Option<Value>,
}

/// Opens a session.
#[utoipa::path(
    post,
    path = "/sessions",
    tag = "sessions",
    operation_id = "create_session",
    request_body = Create,
    responses(
        (status = 201, description = "the open session", body = Session, links(
            ("get" = (operation_id = "get_session", parameters(("id" = "$response.body#/id")))),
            ("close" = (operation_id = "close_session", parameters(("id" = "$response.body#/id")))),
        )),
        (status = 400, description = "malformed, or a bad name, agent or state", body = ErrorBody),
    )
)]
pub(crate) async fn create(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Create>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let mut new = NewSession::new(body.name).agents(body.agents);
    if let Some(s) = body.state {
        new = new.state(s);
    }
    Ok((
        StatusCode::CREATED,
        Json(state.hive.create_session(new).await?),
    ))
}

/// The answer of `GET /sessions/{id}`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct SessionWithConversation {
    /// The session.
    session: Session,
    /// What was said in it, in order.
    conversation: Vec<ConversationEntry>,
}

/// The session and its whole conversation (up to 10,000 entries).
#[utoipa::path(
    get,
    path = "/sessions/{id}",
    tag = "sessions",
    operation_id = "get_session",
    params(("id" = uuid::Uuid, Path, description = "the session's id")),
    responses(
        (status = 200, description = "the session and its conversation", body = SessionWithConversation),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such session", body = ErrorBody),
    )
)]
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<SessionWithConversation>> {
    let id: SessionId = parse_id("session", &id)?;
    let session = state.hive.sessions().get(id).await?;
    let conversation = state.hive.sessions().conversation(id, 0, 10_000).await?;
    Ok(Json(SessionWithConversation {
        session,
        conversation,
    }))
}

/// Closes a session.
#[utoipa::path(
    post,
    path = "/sessions/{id}/close",
    tag = "sessions",
    operation_id = "close_session",
    params(("id" = uuid::Uuid, Path, description = "the session's id")),
    responses(
        (status = 200, description = "the closed session", body = Session),
        (status = 400, description = "the id is not a UUID", body = ErrorBody),
        (status = 404, description = "no such session", body = ErrorBody),
        (status = 409, description = "the session is already closed", body = ErrorBody),
    )
)]
pub(crate) async fn close(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Session>> {
    let id: SessionId = parse_id("session", &id)?;
    Ok(Json(state.hive.sessions().close(id).await?))
}

/// Filters of `GET /sessions`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ListQuery {
    /// Only sessions in this status.
    #[param(value_type = Option<SessionStatus>)]
    status: Option<String>,
    /// At most this many (default 100).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 10000)]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// Sessions, newest first.
#[utoipa::path(
    get,
    path = "/sessions",
    tag = "sessions",
    operation_id = "list_sessions",
    params(ListQuery),
    responses(
        (status = 200, description = "sessions, newest first", body = Vec<Session>),
        (status = 400, description = "an unknown status or a bad limit", body = ErrorBody),
    )
)]
pub(crate) async fn list(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ListQuery>,
) -> ApiResult<Json<Vec<Session>>> {
    let status = q
        .status
        .map(|s| {
            s.parse::<SessionStatus>()
                .map_err(|_| ApiError::BadRequest(format!("unknown session status {s:?}")))
        })
        .transpose()?;
    Ok(Json(state.hive.sessions().list(status, q.limit).await?))
}
