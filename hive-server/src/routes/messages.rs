//! The broker over HTTP: publish a message to a topic (or an agent's
//! inbox), and read a topic's retained history from an offset.

use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::broker::{Message, Offset, Published, StartAt, StoredMessage, Topic};
use serde::Deserialize;
use serde_json::Value;
use utoipa::{IntoParams, ToSchema};

use super::{JsonBody, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// The body of `POST /messages`: to a `topic`, or to agent `to`'s inbox.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = PublishMessage)]
pub(crate) struct Publish {
    /// The topic, e.g. `news.bees` (give this or `to`).
    #[schema(value_type = Option<Topic>)]
    topic: Option<String>,
    /// An agent's name: the message goes to its inbox (give this or
    /// `topic`).
    #[schema(pattern = r"^[^\s\x00-\x1F\x7F-\x9F*>.]+$")]
    to: Option<String>,
    /// What kind of message this is; receivers dispatch on it. Any
    /// non-empty name (default `message`, as from Python).
    #[serde(default = "default_kind")]
    #[schema(min_length = 1, default = "message")]
    kind: String,
    /// The content (default `null`).
    #[serde(default)]
    payload: Value,
    /// The sending agent.
    from: Option<String>,
}

fn default_kind() -> String {
    "message".into()
}

/// Publishes one message to a topic or an agent's inbox.
#[utoipa::path(
    post,
    path = "/messages",
    tag = "messages",
    operation_id = "publish_message",
    request_body = Publish,
    responses(
        (status = 201, description = "stored, at this offset", body = Published),
        (status = 400, description = "malformed, neither or both of topic and to, or a bad topic", body = ErrorBody),
    )
)]
pub(crate) async fn publish(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Publish>,
) -> ApiResult<(StatusCode, Json<Published>)> {
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
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Read {
    /// An offset; absent means the beginning of what is retained.
    #[param(value_type = Option<i64>, minimum = 0)]
    from: Option<u64>,
    /// At most this many (default 100).
    #[serde(default = "default_limit")]
    #[param(minimum = 1, maximum = 1000)]
    limit: usize,
}

fn default_limit() -> usize {
    100
}

/// A topic's retained history from an offset.
#[utoipa::path(
    get,
    path = "/topics/{topic}/messages",
    tag = "messages",
    operation_id = "read_topic",
    params(
        ("topic" = Topic, Path, description = "the topic, e.g. `news.bees`"),
        Read,
    ),
    responses(
        (status = 200, description = "messages in offset order", body = Vec<StoredMessage>),
        (status = 400, description = "a bad topic or limit", body = ErrorBody),
    )
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    Path(topic): Path<String>,
    QueryParams(q): QueryParams<Read>,
) -> ApiResult<Json<Vec<StoredMessage>>> {
    if q.limit == 0 || q.limit > 1000 {
        return Err(ApiError::BadRequest("limit must be 1 to 1000".into()));
    }
    let topic = Topic::new(topic)?;
    let from = q
        .from
        .map(|o| super::offset(o).map(|o| StartAt::Offset(Offset(o))))
        .transpose()?
        .unwrap_or(StartAt::Beginning);
    Ok(Json(state.hive.broker().read(&topic, from, q.limit).await?))
}
