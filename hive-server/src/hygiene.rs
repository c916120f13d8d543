//! Request hygiene: every request gets an id (the client's `x-request-id`
//! if it sent a sane one, else a fresh UUID), echoed in the response and
//! carried by one structured log line per request and by every line logged
//! while it is served (a `request` span, which also names the trace id of
//! a valid W3C `traceparent` header); and every request has a
//! deadline, after which the client gets a 503 with the JSON error body
//! instead of waiting on a stuck store.

use std::time::{Duration, Instant};

use axum::extract::{Request, State};
use axum::http::HeaderValue;
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

use hive_core::trace::TraceParent;

use crate::error::ApiError;
use crate::AppState;

/// The request-id header, in and out.
pub const REQUEST_ID: &str = "x-request-id";
/// The W3C trace-context header a task is submitted with.
pub const TRACEPARENT: &str = "traceparent";

/// Ids, the deadline and the log line.
pub async fn around(State(state): State<AppState>, mut request: Request, next: Next) -> Response {
    let id = request
        .headers()
        .get(REQUEST_ID)
        .and_then(|v| v.to_str().ok())
        .filter(|v| !v.is_empty() && v.len() <= 128 && v.bytes().all(|b| b.is_ascii_graphic()))
        .map_or_else(|| uuid::Uuid::new_v4().to_string(), str::to_string);
    let method = request.method().clone();
    let path = request.uri().path().to_string();
    if let Ok(v) = HeaderValue::from_str(&id) {
        request.headers_mut().insert(REQUEST_ID, v);
    }
    let started = Instant::now();
    let span = tracing::info_span!("request", request_id = %id, trace_id = tracing::field::Empty);
    if let Some(tp) = request
        .headers()
        .get(TRACEPARENT)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<TraceParent>().ok())
    {
        span.record("trace_id", tp.trace_id());
    }
    let served = tracing::Instrument::instrument(next.run(request), span.clone());
    let mut response = match tokio::time::timeout(state.request_timeout, served).await {
        Ok(r) => r,
        Err(_) => ApiError::Timeout(state.request_timeout).into_response(),
    };
    if let Ok(v) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID, v);
    }
    let _in_request = span.enter();
    tracing::info!(
        request_id = %id,
        %method,
        path,
        status = response.status().as_u16(),
        ms = started.elapsed().as_millis() as u64,
        "request"
    );
    response
}

/// The default request deadline.
pub const DEFAULT_REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
