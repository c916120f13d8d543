//! Sessions: open one with its agents, read it back with its conversation,
//! close it.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::session::{NewSession, Session, SessionId, SessionStatus};
use serde::Deserialize;
use serde_json::{json, Value};

use super::parse_id;
use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The body of `POST /sessions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Create {
    name: String,
    #[serde(default)]
    agents: Vec<String>,
    state: Option<Value>,
}

pub(crate) async fn create(
    State(state): State<AppState>,
    body: Result<Json<Create>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let Json(body) = body?;
    let mut new = NewSession::new(body.name).agents(body.agents);
    if let Some(s) = body.state {
        new = new.state(s);
    }
    Ok((
        StatusCode::CREATED,
        Json(state.hive.create_session(new).await?),
    ))
}

/// The session and its whole conversation (up to 10,000 entries).
pub(crate) async fn get(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Value>> {
    let id: SessionId = parse_id("session", &id)?;
    let session = state.hive.sessions().get(id).await?;
    let conversation = state.hive.sessions().conversation(id, 0, 10_000).await?;
    Ok(Json(
        json!({ "session": session, "conversation": conversation }),
    ))
}

pub(crate) async fn close(
    State(state): State<AppState>,
    Path(id): Path<String>,
) -> ApiResult<Json<Session>> {
    let id: SessionId = parse_id("session", &id)?;
    Ok(Json(state.hive.sessions().close(id).await?))
}

/// Filters of `GET /sessions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct ListQuery {
    status: Option<String>,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// Sessions, newest first.
pub(crate) async fn list(
    State(state): State<AppState>,
    query: Result<Query<ListQuery>, QueryRejection>,
) -> ApiResult<Json<Vec<Session>>> {
    let Query(q) = query?;
    let status = q
        .status
        .map(|s| {
            s.parse::<SessionStatus>()
                .map_err(|_| ApiError::BadRequest(format!("unknown session status {s:?}")))
        })
        .transpose()?;
    Ok(Json(state.hive.sessions().list(status, q.limit).await?))
}
