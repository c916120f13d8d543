//! The context engine over HTTP: remember a text, search by meaning.

use axum::extract::State;
use axum::http::StatusCode;
use axum::Json;
use hive_core::context::{ContextEngine, Found, NewEntry, SearchRequest, Stored};
use hive_core::Error;
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};

use super::{JsonBody, QueryParams};
use crate::error::{ApiResult, ErrorBody};
use crate::AppState;

fn engine(state: &AppState) -> Result<&ContextEngine, Error> {
    state
        .hive
        .context()
        .map(|e| e.as_ref())
        .ok_or(Error::NotSupported {
            operation: "context",
            backend: "hive without a context engine",
        })
}

/// The body of `POST /context`.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
#[schema(as = RememberText)]
pub(crate) struct Remember {
    /// The text to remember.
    #[schema(min_length = 1)]
    content: String,
    /// The owning agent.
    agent: Option<String>,
    /// The session.
    session: Option<String>,
    /// How much it matters, 0 to 1.
    #[schema(minimum = 0.0, maximum = 1.0)]
    importance: Option<f64>,
}

/// Remembers a text: a new entry, or merged into a near-duplicate.
#[utoipa::path(
    post,
    path = "/context",
    tag = "context",
    operation_id = "remember",
    request_body = Remember,
    responses(
        (status = 201, description = "stored as new or merged", body = Stored),
        (status = 400, description = "malformed, or refused (empty content, bad importance, …)", body = ErrorBody),
        (status = 501, description = "the hive runs without a context engine", body = ErrorBody),
    )
)]
pub(crate) async fn remember(
    State(state): State<AppState>,
    JsonBody(body): JsonBody<Remember>,
) -> ApiResult<(StatusCode, Json<Stored>)> {
    let mut entry = NewEntry::text(body.content);
    entry.agent = body.agent;
    entry.session = body.session;
    if let Some(i) = body.importance {
        // The engine checks the f32; the wire's f64 is checked before
        // narrowing, where 1.0000000000000002 would become 1.
        if !(0.0..=1.0).contains(&i) {
            return Err(Error::invalid(format!("importance {i} is outside [0, 1]")).into());
        }
        entry.importance = i as f32;
    }
    let stored = engine(&state)?.remember(entry).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// The query of `GET /context/search`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct Search {
    /// What to look for.
    #[param(min_length = 1)]
    q: String,
    /// How many results at most (default 5).
    #[serde(default = "default_k")]
    #[param(minimum = 1, maximum = 1000)]
    k: usize,
    /// Leave out entries less similar than this (cosine, -1 to 1).
    #[param(minimum = -1.0, maximum = 1.0)]
    min_similarity: Option<f64>,
}

fn default_k() -> usize {
    5
}

/// Entries ranked by meaning.
#[utoipa::path(
    get,
    path = "/context/search",
    tag = "context",
    operation_id = "search_context",
    params(Search),
    responses(
        (status = 200, description = "ranked entries", body = Vec<Found>),
        (status = 400, description = "a bad query", body = ErrorBody),
        (status = 501, description = "the hive runs without a context engine", body = ErrorBody),
    )
)]
pub(crate) async fn search(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<Search>,
) -> ApiResult<Json<Vec<Found>>> {
    let mut request = SearchRequest::new(q.q, q.k);
    if let Some(t) = q.min_similarity {
        // Checked as sent: the f32 the engine takes would round
        // 1.0000000000000002 into range.
        if !(-1.0..=1.0).contains(&t) {
            return Err(Error::invalid(format!("min_similarity {t} is outside [-1, 1]")).into());
        }
        request = request.min_similarity(t as f32);
    }
    Ok(Json(engine(&state)?.search(&request).await?))
}
