//! Bearer-token authentication: when a token is configured, every route
//! but the probes (`/health`, `/health/live`, `/health/ready`), the API's description (`/openapi.json`, `/docs`) and the
//! dashboard's files (`/`, `/ui/…`, which hold no data) needs
//! `Authorization: Bearer <token>` — or, on the WebSocket route (browsers
//! cannot set headers there), `?token=<token>`; anything else is a 401
//! with the JSON error body. (Request logs carry the path only, never the
//! query, so the token stays out of them.) The comparison takes the same time
//! wherever the first difference is, so response timing does not reveal
//! how much of a guess was right.

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

/// The middleware: passes the request on, or answers 401.
pub(crate) async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Response {
    let Some(expected) = state.token.as_deref() else {
        return next.run(request).await;
    };
    if is_open(request.uri().path()) {
        return next.run(request).await;
    }
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
        .or(from_query.as_deref());
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
