//! Bearer-token authentication: when a token is configured, every route
//! but the probes (`/health`, `/health/live`, `/health/ready`), the API's description (`/openapi.json`, `/docs`) and the
//! dashboard's files (`/`, `/ui/…`, which hold no data) needs
//! `Authorization: Bearer <token>` — or, on the WebSocket route (browsers
//! cannot set headers there), `?token=<token>`; anything else is a 401
//! with the JSON error body. (Request logs carry the path only, never the
//! query, so the token stays out of them.) The comparison takes the same time
//! wherever the first difference is, so response timing does not reveal
//! how much of a guess was right. An approver's token (`[[approvers]]`)
//! passes too, and carries the approver scope ([`Caller::Approver`]) that
//! approving a change set needs; any other caller gets a 403 there.

use std::collections::HashMap;

use axum::extract::{Query, Request, State};
use axum::http::header::AUTHORIZATION;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use crate::error::ApiError;
use crate::AppState;

/// Routes open without a token: the health check, and the API's
/// description, which holds no secrets (a browser showing the docs page
/// sends no token for it or its files).
const OPEN: &[&str] = &[
    "/health",
    "/health/live",
    "/health/ready",
    "/openapi.json",
    "/docs",
];
/// Routes that take the token as a query parameter too.
const QUERY_TOKEN: &[&str] = &["/ws/events"];

/// Whether `path` is open without a token.
pub(crate) fn is_open(path: &str) -> bool {
    OPEN.contains(&path) || path.starts_with("/docs/") || crate::ui::is_ui(path)
}

/// Who a request comes from, as far as its token says: put in the
/// request's extensions for the handlers that need a scope.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Caller {
    /// The main token, or no token on a server that needs none.
    Plain,
    /// An approver's token (`[[approvers]]`): the approver scope.
    Approver(String),
}

impl Caller {
    /// The approver's name, or a 403 saying the scope is missing.
    pub(crate) fn approver(&self) -> Result<&str, ApiError> {
        match self {
            Caller::Approver(name) => Ok(name),
            Caller::Plain => Err(ApiError::Forbidden(
                "approving needs a token with the approver scope (an [[approvers]] entry of hive.toml)",
            )),
        }
    }
}

/// The middleware: passes the request on with its [`Caller`], or answers
/// 401.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let from_query = QUERY_TOKEN
        .contains(&request.uri().path())
        .then(|| Query::<HashMap<String, String>>::try_from_uri(request.uri()).ok())
        .flatten()
        .and_then(|Query(mut q)| q.remove("token"));
    let presented = request
        .headers()
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .map(str::to_string)
        .or(from_query);
    // Every approver is compared, whichever matches, so the time taken
    // does not say which (or whether one) did.
    let approver = presented.as_deref().and_then(|token| {
        let mut found = None;
        for (name, expected) in state.approvers.iter() {
            if same(token.as_bytes(), expected.as_bytes()) && found.is_none() {
                found = Some(name.clone());
            }
        }
        found
    });
    if let Some(name) = approver {
        request.extensions_mut().insert(Caller::Approver(name));
        return next.run(request).await;
    }
    request.extensions_mut().insert(Caller::Plain);
    let Some(expected) = state.token.as_deref() else {
        return next.run(request).await;
    };
    if is_open(request.uri().path()) {
        return next.run(request).await;
    }
    match presented {
        Some(token) if same(token.as_bytes(), expected.as_bytes()) => next.run(request).await,
        Some(_) => ApiError::Unauthorized("the bearer token is wrong").into_response(),
        None => ApiError::Unauthorized("this server needs Authorization: Bearer <token>")
            .into_response(),
    }
}

/// Equal contents, compared in time that depends only on the lengths.
fn same(a: &[u8], b: &[u8]) -> bool {
    let mut diff = u8::from(a.len() != b.len());
    for i in 0..a.len().max(b.len()) {
        let x = a.get(i).copied().unwrap_or(0);
        let y = b.get(i).copied().unwrap_or(0);
        diff |= x ^ y;
    }
    diff == 0
}

#[cfg(test)]
mod tests {
    use super::same;

    #[test]
    fn comparison_is_exact() {
        assert!(same(b"s3cret", b"s3cret"));
        assert!(!same(b"s3cret", b"s3creT"));
        assert!(!same(b"s3cret", b"s3cret!"));
        assert!(!same(b"", b"x"));
        assert!(same(b"", b""));
    }
}
