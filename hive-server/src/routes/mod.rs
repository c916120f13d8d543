//! The API's routes, one file per resource. Handlers translate between
//! JSON and hive-core calls and nothing more; every error goes through
//! [`crate::error::ApiError`].

mod agents;
mod changes;
mod context;
mod dead_letters;
mod events;
mod experiments;
mod health;
mod messages;
mod outcomes;
mod prompts;
mod proposals;
mod retention;
mod series;
mod sessions;
mod tasks;
mod verifiers;
mod work;

use axum::extract::{FromRequest, FromRequestParts, Query, Request};
use axum::http::request::Parts;
use axum::{Json, Router};
use serde::de::DeserializeOwned;
use utoipa_axum::router::OpenApiRouter;
use utoipa_axum::routes;

use crate::error::ApiError;
use crate::AppState;

/// Every route with its OpenAPI operation: a handler is routed and
/// documented by the same line, so the document cannot miss one.
pub(crate) fn documented() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(health::health))
        .routes(routes!(health::live))
        .routes(routes!(health::ready))
        .routes(routes!(tasks::submit, tasks::list))
        .routes(routes!(tasks::get))
        .routes(routes!(tasks::attempts))
        .routes(routes!(tasks::cancel))
        .routes(routes!(tasks::why))
        .routes(routes!(tasks::stats))
        .routes(routes!(retention::settings))
        .routes(routes!(retention::purge))
        .routes(routes!(dead_letters::list))
        .routes(routes!(dead_letters::purge))
        .routes(routes!(dead_letters::retry))
        .routes(routes!(agents::list, agents::register))
        .routes(routes!(agents::get, agents::terminate))
        .routes(routes!(agents::heartbeat))
        .routes(routes!(agents::spawn))
        .routes(routes!(sessions::create, sessions::list))
        .routes(routes!(messages::publish))
        .routes(routes!(messages::read))
        .routes(routes!(context::remember))
        .routes(routes!(context::search))
        .routes(routes!(sessions::get))
        .routes(routes!(sessions::close))
        .routes(routes!(work::claim))
        .routes(routes!(work::complete))
        .routes(routes!(work::fail))
        .routes(routes!(work::heartbeat))
        .routes(routes!(work::release))
        .routes(routes!(events::read))
        .routes(routes!(series::series))
        .routes(routes!(outcomes::list))
        .routes(routes!(outcomes::metrics))
        .routes(routes!(prompts::list, prompts::create))
        .routes(routes!(prompts::get))
        .routes(routes!(prompts::diff_of))
        .routes(routes!(prompts::move_label))
        .routes(routes!(prompts::history))
        .routes(routes!(experiments::start, experiments::list))
        .routes(routes!(experiments::get))
        .routes(routes!(experiments::stop))
        .routes(routes!(experiments::approve))
        .routes(routes!(experiments::assignments))
        .routes(routes!(proposals::run))
        .routes(routes!(proposals::list))
        .routes(routes!(proposals::get))
        .routes(routes!(proposals::approve))
        .routes(routes!(proposals::reject))
        .routes(routes!(changes::repositories))
        .routes(routes!(changes::propose, changes::list))
        .routes(routes!(changes::get))
        .routes(routes!(changes::approve))
        .routes(routes!(changes::reject))
        .routes(routes!(changes::revert))
        .routes(routes!(verifiers::list))
}

pub(crate) fn router() -> Router<AppState> {
    let (router, _) = documented().split_for_parts();
    // A WebSocket, which OpenAPI cannot describe (docs/server.md does).
    router
        .route("/ws/events", axum::routing::get(events::watch))
        .fallback(|| async { ApiError::NoRoute })
        .method_not_allowed_fallback(|method: axum::http::Method| async move {
            ApiError::MethodNotAllowed(method)
        })
}

/// A JSON body that must be an object. `Json<T>` alone would also read a
/// struct from an array (`[]`, `["x"]`: serde fills fields by position),
/// which the document does not allow. Refusals are [`ApiError`]s: 400 for
/// JSON that is malformed or of the wrong shape, 413 and 415 as
/// `Json`'s.
pub(crate) struct JsonBody<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequest<S> for JsonBody<T> {
    type Rejection = ApiError;

    async fn from_request(request: Request, state: &S) -> Result<Self, ApiError> {
        let Json(value) = Json::<serde_json::Value>::from_request(request, state).await?;
        if !value.is_object() {
            return Err(ApiError::BadRequest(
                "the body must be a JSON object".into(),
            ));
        }
        serde_json::from_value(value)
            .map(JsonBody)
            .map_err(|e| ApiError::BadRequest(format!("the body does not fit: {e}")))
    }
}

/// A query string read into `T`; one that does not fit is refused as an
/// [`ApiError`] (a 400 with the JSON error body), as a body is by
/// [`JsonBody`], rather than with axum's plain-text rejection.
pub(crate) struct QueryParams<T>(pub(crate) T);

impl<S: Send + Sync, T: DeserializeOwned> FromRequestParts<S> for QueryParams<T> {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, state: &S) -> Result<Self, ApiError> {
        let Query(params) = Query::<T>::from_request_parts(parts, state).await?;
        Ok(QueryParams(params))
    }
}

/// The schema of a list of capabilities that may be empty.
pub(crate) fn capabilities() -> utoipa::openapi::schema::Array {
    capability_list(0)
}

/// The schema of a list of capabilities with at least one.
pub(crate) fn some_capabilities() -> utoipa::openapi::schema::Array {
    capability_list(1)
}

/// Capability names are 1–100 bytes without spaces, commas or control
/// characters (hive-core's `check_capability`).
fn capability_list(min_items: usize) -> utoipa::openapi::schema::Array {
    let name = utoipa::openapi::ObjectBuilder::new()
        .schema_type(utoipa::openapi::schema::Type::String)
        .pattern(Some(r"^[^\s,\x00-\x1F\x7F-\x9F]{1,100}$"));
    utoipa::openapi::schema::ArrayBuilder::new()
        .items(name)
        .min_items(Some(min_items))
        .build()
}

/// An offset from a query: at most `i64::MAX`, the largest any store
/// holds (the document says so, and a larger one is a 400 rather than an
/// empty answer).
pub(crate) fn offset(n: u64) -> Result<u64, ApiError> {
    if n > i64::MAX as u64 {
        return Err(ApiError::BadRequest(format!(
            "offset {n} is past the largest, {}",
            i64::MAX
        )));
    }
    Ok(n)
}

/// `value` if `range` holds it, else a 400 naming `what` and the range.
pub(crate) fn in_range<T>(
    what: &str,
    value: T,
    range: std::ops::RangeInclusive<T>,
) -> Result<T, ApiError>
where
    T: PartialOrd + std::fmt::Display,
{
    if range.contains(&value) {
        Ok(value)
    } else {
        Err(ApiError::BadRequest(format!(
            "{what} {value} is out of range: use {}-{}",
            range.start(),
            range.end()
        )))
    }
}

/// Parses an id from the path, answering 400 (not 404) for a malformed
/// one: the client sent something that cannot name anything.
pub(crate) fn parse_id<T: std::str::FromStr>(what: &str, text: &str) -> Result<T, ApiError> {
    text.parse()
        .map_err(|_| ApiError::BadRequest(format!("{text:?} is not a valid {what} id")))
}
