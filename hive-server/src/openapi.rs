//! The API describes itself: `GET /openapi.json` is its OpenAPI 3.1
//! document, and `GET /docs` a Swagger UI over it. Both are open without a
//! token (see `auth.rs`): the document holds no secrets, and a browser
//! loading the docs page sends none.
//!
//! The document is generated from the code, never written by hand: every
//! route and its operation come from one line of
//! [`crate::routes::documented`], the handlers' `#[utoipa::path]` say what
//! they read and answer, and hive-core's types give their schemas (its
//! `openapi` feature). What no handler sees — the answers of the layers
//! around them — is added here in one place: 401 where the token guards,
//! 503 everywhere (storage down, the request deadline), and 400, 413 and
//! 415 wherever a JSON body is read.
//!
//! The document describes the server that serves it: the bearer scheme,
//! the global security requirement and the 401 answers are there only
//! when the server has a token ([`document_for`]).
//!
//! Swagger UI is compiled in from `utoipa-swagger-ui`'s `vendored` build,
//! so nothing is downloaded to build it or to show it.

use std::sync::{Arc, OnceLock};

use axum::extract::{Path, State};
use axum::http::header::CONTENT_TYPE;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;
use utoipa::openapi::path::Operation;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::openapi::{
    ContentBuilder, OpenApi as Document, Ref, RefOr, ResponseBuilder, SecurityRequirement,
};
use utoipa::OpenApi;
use utoipa_swagger_ui::Config;

use crate::error::ApiError;
use crate::AppState;

/// Where the document is served.
pub const DOCUMENT_PATH: &str = "/openapi.json";

/// Where Swagger UI is served (and its files under `/docs/`).
pub const DOCS_PATH: &str = "/docs";

/// The parts not generated from the handlers: title, the bearer scheme,
/// `GET /metrics` (routed in `lib.rs`), and the tags' descriptions.
#[derive(OpenApi)]
#[openapi(
    info(
        title = "Agent Hive",
        description = "The HTTP API of Agent Hive, a durable runtime for fleets of AI agents. \
            Every failure is `{\"error\": {\"code\", \"message\"}}`. When the server has a \
            token, every route but `/health`, `/openapi.json`, `/docs` and the dashboard's \
            files (`/ui/`) needs `Authorization: Bearer <token>`."
    ),
    paths(crate::metrics::render),
    tags(
        (name = "health", description = "whether the server and its queue answer"),
        (name = "tasks", description = "the task queue"),
        (name = "dead letters", description = "tasks that ran out of attempts"),
        (name = "agents", description = "the fleet as the registry holds it"),
        (name = "sessions", description = "sessions and their conversations"),
        (name = "work", description = "how agents running elsewhere claim and answer tasks"),
        (name = "messages", description = "the message broker"),
        (name = "context", description = "the context engine: memory by meaning"),
        (name = "events", description = "the event feed, a page at a time (`/ws/events`, \
            a WebSocket, follows it live; OpenAPI cannot describe it)"),
        (name = "metrics", description = "Prometheus metrics, and the rolling window the \
            dashboard charts"),
        (name = "outcomes", description = "what each finished task achieved and spent, and \
            the metrics over them by agent, prompt version, task type or experiment arm"),
        (name = "prompts", description = "the prompt registry: immutable versions, labels \
            that point at them, and every move"),
        (name = "experiments", description = "online experiments on agents' prompts, decided \
            after every observation by always-valid confidence sequences, promoted by moving \
            the label and watched after"),
        (name = "proposals", description = "the meta-agent: runs on an agent's failures, and the \
            proposals it writes, with their evidence, to approve or reject"),
        (name = "changes", description = "the self-modifier: change sets through gates — \
            worktree, static gate, sandboxed tests restored from the base, benchmark interval, \
            approval by an approver's token, fast-forward with a rollback tag, watch, revert"),
    )
)]
struct Frame;

/// The document of a server without a token (the committed snapshot).
pub fn document() -> serde_json::Value {
    document_for(false)
}

/// The whole document as a server serves it: with `token` (the server has
/// one), the bearer scheme, global security, 401 answers on the guarded
/// routes and `security: [{}]` on the open ones; without, none of those.
pub fn document_for(token: bool) -> serde_json::Value {
    let (_, handlers) = crate::routes::documented().split_for_parts();
    let mut doc = Frame::openapi();
    doc.merge(handlers);
    if token {
        doc.security = Some(vec![SecurityRequirement::new(
            "bearer",
            Vec::<String>::new(),
        )]);
    }
    add_layer_answers(&mut doc, token);
    let mut json = serde_json::to_value(doc).unwrap_or_default();
    camel_case_links(&mut json);
    json
}

/// utoipa 5 writes a link's fields in snake case (`operation_id`), which
/// no OpenAPI tool reads; the specification spells them in camel case.
fn camel_case_links(json: &mut serde_json::Value) {
    let Some(paths) = json.get_mut("paths").and_then(|p| p.as_object_mut()) else {
        return;
    };
    let links = paths
        .values_mut()
        .filter_map(|item| item.as_object_mut())
        .flat_map(|item| item.values_mut())
        .filter_map(|op| op.get_mut("responses")?.as_object_mut())
        .flat_map(|responses| responses.values_mut())
        .filter_map(|response| response.get_mut("links")?.as_object_mut())
        .flat_map(|links| links.values_mut())
        .filter_map(|link| link.as_object_mut());
    for link in links {
        for (snake, camel) in [
            ("operation_id", "operationId"),
            ("operation_ref", "operationRef"),
            ("request_body", "requestBody"),
        ] {
            if let Some(v) = link.remove(snake) {
                link.insert(camel.into(), v);
            }
        }
    }
}

/// An answer of the layers around the handlers, kept once in
/// `#/components/responses` and referred to by every operation it applies
/// to.
struct Shared {
    status: &'static str,
    name: &'static str,
    description: &'static str,
}

const UNAUTHORIZED: Shared = Shared {
    status: "401",
    name: "Unauthorized",
    description: "the server has a token and the request lacks it or has another",
};
const UNAVAILABLE: Shared = Shared {
    status: "503",
    name: "Unavailable",
    description: "storage is unavailable, or the request ran past its deadline; retry later",
};
const BAD_BODY: Shared = Shared {
    status: "400",
    name: "BadBody",
    description: "malformed JSON, not an object, an unknown field, a wrong type, \
        or values the server refused",
};
const TOO_LARGE: Shared = Shared {
    status: "413",
    name: "PayloadTooLarge",
    description: "the body is over 1 MiB",
};
const NOT_JSON: Shared = Shared {
    status: "415",
    name: "UnsupportedMediaType",
    description: "the body is not `application/json`",
};

/// Adds, to every operation, the answers of the deadline and body layers
/// and — with `token` — of the auth layer, saying which operations are
/// open (`security: [{}]`).
fn add_layer_answers(doc: &mut Document, token: bool) {
    let components = doc.components.get_or_insert_with(Default::default);
    let mut shared_answers = vec![UNAVAILABLE, BAD_BODY, TOO_LARGE, NOT_JSON];
    if token {
        components.security_schemes.insert(
            "bearer".into(),
            SecurityScheme::Http(HttpBuilder::new().scheme(HttpAuthScheme::Bearer).build()),
        );
        shared_answers.push(UNAUTHORIZED);
    }
    for shared in shared_answers {
        let body = ContentBuilder::new()
            .schema(Some(Ref::from_schema_name("ErrorBody")))
            .build();
        let response = ResponseBuilder::new()
            .description(shared.description)
            .content("application/json", body)
            .build();
        components
            .responses
            .insert(shared.name.into(), RefOr::T(response));
    }
    for (path, item) in doc.paths.paths.iter_mut() {
        let open = crate::auth::is_open(path);
        let ops = [
            &mut item.get,
            &mut item.put,
            &mut item.post,
            &mut item.delete,
            &mut item.patch,
        ];
        for op in ops.into_iter().flatten() {
            match (token, open) {
                (false, _) => {}
                (true, true) => op.security = Some(vec![SecurityRequirement::default()]),
                (true, false) => refer(op, &UNAUTHORIZED),
            }
            refer(op, &UNAVAILABLE);
            if op.request_body.is_some() {
                for shared in [&BAD_BODY, &TOO_LARGE, &NOT_JSON] {
                    refer(op, shared);
                }
            }
        }
    }
}

/// Refers `op` to a shared answer unless its handler described that status
/// itself.
fn refer(op: &mut Operation, shared: &Shared) {
    op.responses
        .responses
        .entry(shared.status.into())
        .or_insert_with(|| RefOr::Ref(Ref::from_response_name(shared.name)));
}

/// `/openapi.json` and `/docs`.
pub(crate) fn routes() -> Router<AppState> {
    Router::new()
        .route(DOCUMENT_PATH, get(serve_document))
        .route(DOCS_PATH, get(|| serve_docs_file(None)))
        .route("/docs/", get(|| serve_docs_file(None)))
        .route(
            "/docs/{*file}",
            get(|Path(file): Path<String>| serve_docs_file(Some(file))),
        )
}

/// The document as JSON, built once for servers with a token and once
/// for servers without.
async fn serve_document(State(state): State<AppState>) -> Response {
    static OPEN: OnceLock<String> = OnceLock::new();
    static GUARDED: OnceLock<String> = OnceLock::new();
    let token = state.token.is_some();
    let once = if token { &GUARDED } else { &OPEN };
    let json = once.get_or_init(|| document_for(token).to_string());
    ([(CONTENT_TYPE, "application/json")], json.as_str()).into_response()
}

/// A file of Swagger UI; its page when `file` is `None`.
async fn serve_docs_file(file: Option<String>) -> Response {
    static CONFIG: OnceLock<Arc<Config<'static>>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        // No validator: Swagger UI would otherwise send the document to
        // a public validation service.
        Arc::new(Config::new([DOCUMENT_PATH]).validator_url("none"))
    });
    let name = file.as_deref().unwrap_or("index.html");
    // Only formatting the initializer's settings can fail, and fixed
    // settings never do; a file Swagger UI lacks is a 404 like any other.
    let Some(found) = utoipa_swagger_ui::serve(name, config.clone())
        .ok()
        .flatten()
    else {
        return ApiError::NoRoute.into_response();
    };
    let mut body = found.bytes.into_owned();
    if file.is_none() {
        body = with_base(&body);
    }
    ([(CONTENT_TYPE, found.content_type)], body).into_response()
}

/// The page with `<base href="/docs/">`, so its relative links find the
/// files under `/docs/` whether it was asked for as `/docs` or `/docs/`.
fn with_base(page: &[u8]) -> Vec<u8> {
    let page = String::from_utf8_lossy(page);
    page.replacen("<head>", "<head>\n    <base href=\"/docs/\">", 1)
        .into_bytes()
}
