//! The broker over HTTP: publish a message to a topic (or an agent's
//! inbox), and read a topic's retained history from an offset.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Path, Query, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::broker::{Message, Offset, Published, StartAt, StoredMessage, Topic};
use serde::Deserialize;
use serde_json::Value;

use crate::error::{ApiError, ApiResult};
use crate::AppState;

/// The body of `POST /messages`: to a `topic`, or to agent `to`'s inbox.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Publish {
    topic: Option<String>,
    to: Option<String>,
    kind: String,
    #[serde(default)]
    payload: Value,
    from: Option<String>,
}

pub(crate) async fn publish(
    State(state): State<AppState>,
    body: Result<Json<Publish>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Published>)> {
    let Json(body) = body?;
    let mut message = match (body.topic, body.to) {
        (Some(topic), None) => Message::new(Topic::new(topic)?, body.kind, body.payload),
        (None, Some(agent)) => Message::direct(&agent, body.kind, body.payload)?,
        _ => {
            return Err(ApiError::BadRequest(
                "give exactly one of \"topic\" and \"to\"".into(),
            ))
        }
    };
    if let Some(from) = body.from {
        message = message.from_agent(from);
    }
    let published = state.hive.broker().publish_batch(vec![message]).await?;
    let first = published
        .into_iter()
        .next()
        .ok_or_else(|| ApiError::BadRequest("the broker stored nothing".into()))?;
    Ok((StatusCode::CREATED, Json(first)))
}

/// Where `GET /topics/{topic}/messages` starts, and how many it answers.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Read {
    /// An offset; absent means the beginning of what is retained.
    from: Option<u64>,
    #[serde(default = "default_limit")]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

pub(crate) async fn read(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    query: Result<Query<Read>, QueryRejection>,
) -> ApiResult<Json<Vec<StoredMessage>>> {
    let Query(q) = query?;
    if q.limit == 0 || q.limit > 1000 {
        return Err(ApiError::BadRequest("limit must be 1 to 1000".into()));
    }
    let topic = Topic::new(topic)?;
    let from = q
        .from
        .map_or(StartAt::Beginning, |o| StartAt::Offset(Offset(o)));
    Ok(Json(state.hive.broker().read(&topic, from, q.limit).await?))
}
