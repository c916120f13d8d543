//! The one place where errors become HTTP answers: every failure leaves the
//! server as a status code and `{ "error": { "code", "message" } }`, with no
//! internal detail (a backend failure says only that storage is
//! unavailable; the cause goes to the log).

use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use axum::Json;
use serde::Serialize;
use utoipa::ToSchema;

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
    /// The route exists but not with this method.
    MethodNotAllowed(axum::http::Method),
    /// A token is configured and the request lacks it (or has another).
    Unauthorized(&'static str),
    /// The token is good but lacks the scope the route needs.
    Forbidden(&'static str),
    /// The request ran past its deadline.
    Timeout(std::time::Duration),
    /// `/health/ready`: a store does not answer, or the server is stopping;
    /// the message names which.
    NotReady(String),
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

/// The body of every failure: `{ "error": { "code", "message" } }`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorBody {
    /// What went wrong.
    pub error: ErrorDetail,
}

/// A failure's code and message.
#[derive(Debug, Serialize, ToSchema)]
pub struct ErrorDetail {
    /// Stable, for programs to branch on.
    pub code: ErrorCode,
    /// For people; its wording may change.
    pub message: String,
}

/// Every code a failure can carry; the status each goes with is in
/// `docs/server.md`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ErrorCode {
    /// 400: malformed JSON, unknown field, wrong type, invalid id or query.
    BadRequest,
    /// 400: the core refused the values.
    InvalidInput,
    /// 401: no bearer token, or another one.
    Unauthorized,
    /// 403: the token lacks the scope (approving a change set needs an
    /// approver's).
    Forbidden,
    /// 404: no such task, agent, session….
    NotFound,
    /// 404: no such route.
    NoRoute,
    /// 405: the route exists, not with this method (`Allow` lists those
    /// it takes).
    MethodNotAllowed,
    /// 409: the state does not allow it (e.g. cancelling a finished task).
    Conflict,
    /// 409: an answer for an attempt that lost its lease.
    StaleLease,
    /// 413: a body over the limit.
    PayloadTooLarge,
    /// 415: a body that is not JSON.
    UnsupportedMediaType,
    /// 501: this hive cannot do it (e.g. no context engine).
    NotSupported,
    /// 503: storage is unavailable.
    Unavailable,
    /// 503: past the request deadline.
    Timeout,
    /// 503: `/health/ready` — a store does not answer (named), or the
    /// server is stopping.
    NotReady,
}

impl ApiError {
    fn parts(&self) -> (StatusCode, ErrorCode, String) {
        use hive_core::Error as E;
        match self {
            ApiError::BadRequest(m) => (StatusCode::BAD_REQUEST, ErrorCode::BadRequest, m.clone()),
            ApiError::Rejected(status, m) => {
                let code = if *status == StatusCode::PAYLOAD_TOO_LARGE {
                    ErrorCode::PayloadTooLarge
                } else {
                    ErrorCode::UnsupportedMediaType
                };
                (*status, code, m.clone())
            }
            ApiError::NoRoute => (
                StatusCode::NOT_FOUND,
                ErrorCode::NoRoute,
                "no such route".into(),
            ),
            ApiError::MethodNotAllowed(method) => (
                StatusCode::METHOD_NOT_ALLOWED,
                ErrorCode::MethodNotAllowed,
                format!("this route does not take {method} (its Allow header says what it takes)"),
            ),
            ApiError::Unauthorized(m) => (
                StatusCode::UNAUTHORIZED,
                ErrorCode::Unauthorized,
                (*m).into(),
            ),
            ApiError::Forbidden(m) => (StatusCode::FORBIDDEN, ErrorCode::Forbidden, (*m).into()),
            ApiError::NotReady(m) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::NotReady,
                m.clone(),
            ),
            ApiError::Timeout(d) => (
                StatusCode::SERVICE_UNAVAILABLE,
                ErrorCode::Timeout,
                format!("the request did not finish within {d:?}; retry later"),
            ),
            ApiError::Core(e) => match e {
                E::InvalidInput(m) => (StatusCode::BAD_REQUEST, ErrorCode::InvalidInput, m.clone()),
                E::NotFound { .. } => (StatusCode::NOT_FOUND, ErrorCode::NotFound, e.to_string()),
                E::Conflict(m) => (StatusCode::CONFLICT, ErrorCode::Conflict, m.clone()),
                E::StaleLease { .. } => {
                    (StatusCode::CONFLICT, ErrorCode::StaleLease, e.to_string())
                }
                E::NotSupported { .. } => (
                    StatusCode::NOT_IMPLEMENTED,
                    ErrorCode::NotSupported,
                    e.to_string(),
                ),
                // Only opening the stores meets a database written by a
                // newer build, and `hive serve` stops there; should a store
                // opened later meet one, the client hears that storage is
                // unavailable, like a backend failure, and the log says
                // which database and why.
                E::NewerSchema { .. } => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
                    "the storage backend is unavailable; retry later".into(),
                ),
                _ => (
                    StatusCode::SERVICE_UNAVAILABLE,
                    ErrorCode::Unavailable,
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
        let body = ErrorBody {
            error: ErrorDetail { code, message },
        };
        (status, Json(body)).into_response()
    }
}

/// What every handler returns.
pub type ApiResult<T> = Result<T, ApiError>;
