//! The one place where errors become HTTP answers: every failure leaves the
//! server as a status code and `{ "error": { "code", "message" } }`, with no
//! internal detail (a backend failure says only that storage is
//! unavailable; the cause goes to the log).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde_json::json;

/// An error on its way to the client.
#[derive(Debug)]
pub enum ApiError {
    /// From hive-core.
    Core(hive_core::Error),
    /// The request itself is malformed (body, path or query).
    BadRequest(String),
    /// The body was refused before parsing: too large (413) or not JSON
    /// (415).
    Rejected(StatusCode, String),
    /// No such route.
    NoRoute,
    /// A token is configured and the request lacks it (or has another).
    Unauthorized(&'static str),
    /// The request ran past its deadline.
    Timeout(std::time::Duration),
}

impl From<hive_core::Error> for ApiError {
    fn from(e: hive_core::Error) -> Self {
        ApiError::Core(e)
    }
}

impl From<JsonRejection> for ApiError {
    fn from(e: JsonRejection) -> Self {
        match e.status() {
            s @ (StatusCode::PAYLOAD_TOO_LARGE | StatusCode::UNSUPPORTED_MEDIA_TYPE) => {
                ApiError::Rejected(s, e.body_text())
            }
            _ => ApiError::BadRequest(e.body_text()),
        }
    }
}

impl From<PathRejection> for ApiError {
    fn from(e: PathRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl From<QueryRejection> for ApiError {
    fn from(e: QueryRejection) -> Self {
        ApiError::BadRequest(e.body_text())
    }
}

impl ApiError {
    fn parts(&self) -> (StatusCode, &'static str, String) {
        use hive_core::Error as E;
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, "bad_request", m.clone()),
            ApiError::Rejected(status, m) => {
                let code = if *status == StatusCode::PAYLOAD_TOO_LARGE {
                    "payload_too_large"
                } else {
                    "unsupported_media_type"
                };
                (*status, code, m.clone())
            }
            ApiError::NoRoute => (StatusCode::NOT_FOUND, "no_route", "no such route".into()),
            ApiError::Unauthorized(m) => (StatusCode::UNAUTHORIZED, "unauthorized", (*m).into()),
            ApiError::Timeout(d) => (
                StatusCode::SERVICE_UNAVAILABLE,
                "timeout",
                format!("the request did not finish within {d:?}; retry later"),
            ),
            ApiError::Core(e) => match e {
                E::InvalidInput(m) => (StatusCode::BAD_REQUEST, "invalid_input", m.clone()),
                E::NotFound { .. } => (StatusCode::NOT_FOUND, "not_found", e.to_string()),
                E::Conflict(m) => (StatusCode::CONFLICT, "conflict", m.clone()),
                E::StaleLease { .. } => (StatusCode::CONFLICT, "stale_lease", e.to_string()),
                E::NotSupported { .. } => {
                    (StatusCode::NOT_IMPLEMENTED, "not_supported", e.to_string())
                }
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "the storage backend is unavailable; retry later".into(),
                ),
            },
        }
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let (status, code, message) = self.parts();
        if status.is_server_error() {
            tracing::error!(error = ?self, "request failed");
        }
        (
            status,
            Json(json!({ "error": { "code": code, "message": message } })),
        )
            .into_response()
    }
}

/// What every handler returns.
pub type ApiResult<T> = Result<T, ApiError>;
