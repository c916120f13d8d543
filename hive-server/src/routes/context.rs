//! The context engine over HTTP: remember a text, search by meaning.

use axum::extract::rejection::{JsonRejection, QueryRejection};
use axum::extract::{Query, State};
use axum::http::StatusCode;
use axum::Json;
use hive_core::context::{ContextEngine, Found, NewEntry, SearchRequest, Stored};
use hive_core::Error;
use serde::Deserialize;

use crate::error::ApiResult;
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
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Remember {
    content: String,
    agent: Option<String>,
    session: Option<String>,
    importance: Option<f32>,
}

pub(crate) async fn remember(
    State(state): State<AppState>,
    body: Result<Json<Remember>, JsonRejection>,
) -> ApiResult<(StatusCode, Json<Stored>)> {
    let Json(body) = body?;
    let mut entry = NewEntry::text(body.content);
    entry.agent = body.agent;
    entry.session = body.session;
    if let Some(i) = body.importance {
        entry.importance = i;
    }
    let stored = engine(&state)?.remember(entry).await?;
    Ok((StatusCode::CREATED, Json(stored)))
}

/// The query of `GET /context/search`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct Search {
    q: String,
    #[serde(default = "default_k")]
    k: usize,
    min_similarity: Option<f32>,
}

fn default_k() -> usize {
    5
}

pub(crate) async fn search(
    State(state): State<AppState>,
    query: Result<Query<Search>, QueryRejection>,
) -> ApiResult<Json<Vec<Found>>> {
    let Query(q) = query?;
    let mut request = SearchRequest::new(q.q, q.k);
    if let Some(t) = q.min_similarity {
        request = request.min_similarity(t);
    }
    Ok(Json(engine(&state)?.search(&request).await?))
}
