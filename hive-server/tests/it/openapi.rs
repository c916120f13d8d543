//! The API's description: `/openapi.json` is an OpenAPI 3.1 document
//! listing every route the router serves, with the shared error answers,
//! and `/docs` is a Swagger UI page over it; both stay open when the
//! server has a token. The document is also committed as
//! `hive-server/openapi.json`, so that any change of the wire format shows
//! in review as a diff of that file.

use std::collections::BTreeSet;
use std::path::Path;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hive_server::router;
use serde_json::Value;

use super::{app, assert_error, call, send, state};

/// Every route, as `METHOD path`: the table of docs/server.md but
/// `/ws/events` (a WebSocket, which OpenAPI cannot describe).
const ROUTES: &[&str] = &[
    "GET /health",
    "POST /tasks",
    "GET /tasks",
    "GET /tasks/{id}",
    "GET /tasks/{id}/attempts",
    "POST /tasks/{id}/cancel",
    "GET /tasks/{id}/why",
    "GET /queue/stats",
    "GET /dead-letters",
    "POST /dead-letters/{id}/retry",
    "POST /dead-letters/purge",
    "POST /agents",
    "GET /agents",
    "GET /agents/{id}",
    "DELETE /agents/{id}",
    "POST /agents/{id}/heartbeat",
    "POST /sessions",
    "GET /sessions",
    "GET /sessions/{id}",
    "POST /sessions/{id}/close",
    "POST /messages",
    "GET /topics/{topic}/messages",
    "POST /context",
    "GET /context/search",
    "POST /agents/{id}/claim",
    "POST /tasks/{id}/complete",
    "POST /tasks/{id}/fail",
    "POST /tasks/{id}/heartbeat",
    "POST /tasks/{id}/release",
    "GET /events",
    "GET /metrics",
];

/// `(METHOD path, operation)` for every operation of the document.
fn operations(doc: &Value) -> Vec<(String, &Value)> {
    let paths = doc["paths"].as_object().expect("paths");
    paths
        .iter()
        .flat_map(|(path, item)| {
            let item = item.as_object().expect("path item");
            item.iter()
                .map(move |(method, op)| (format!("{} {path}", method.to_uppercase()), op))
        })
        .collect()
}

#[tokio::test]
async fn the_document_lists_every_route_with_its_answers() {
    let app = app().await;
    let answer = send(&app, Request::builder().uri("/openapi.json"), Body::empty()).await;
    assert_eq!(answer.status, StatusCode::OK);
    assert_eq!(answer.header("content-type"), Some("application/json"));
    let doc: Value = serde_json::from_slice(&answer.body).expect("the document is JSON");
    assert_eq!(doc["openapi"], "3.1.0");

    let ops = operations(&doc);
    let listed: BTreeSet<&str> = ops.iter().map(|(name, _)| name.as_str()).collect();
    let expected: BTreeSet<&str> = ROUTES.iter().copied().collect();
    assert_eq!(listed, expected);

    let mut ids = BTreeSet::new();
    for (name, op) in &ops {
        assert!(
            ids.insert(op["operationId"].as_str().expect("operationId")),
            "{name}: operation ids are unique"
        );
        let responses = op["responses"].as_object().expect("responses");
        let has = |status: &str| responses.contains_key(status);
        assert!(has("503"), "{name}: the deadline can answer 503");
        if name == "GET /health" {
            assert_eq!(op["security"], serde_json::json!([{}]), "{name} is open");
        } else {
            assert!(has("401"), "{name}: the token guards it");
        }
        if op.get("requestBody").is_some() {
            for status in ["400", "413", "415"] {
                assert!(
                    has(status),
                    "{name}: a JSON body can be refused with {status}"
                );
            }
        }
        // The documented path is the routed one: it is not a 404 `no_route`
        // or a 405.
        let (method, path) = name.split_once(' ').expect("name");
        let uri = path
            .replace("{id}", "01a20caa-7a8c-756e-9496-96920d84b2cd")
            .replace("{topic}", "news.bees");
        let (status, body) = call(&app, method, &uri, None).await;
        assert_ne!(status, StatusCode::METHOD_NOT_ALLOWED, "{name}");
        assert_ne!(body["error"]["code"], "no_route", "{name}");
    }

    // Every error answer is the one JSON error body.
    let code = &doc["components"]["schemas"]["ErrorCode"]["enum"];
    for expected in ["bad_request", "unauthorized", "not_found", "timeout"] {
        assert!(
            code.as_array()
                .expect("codes")
                .iter()
                .any(|c| c == expected),
            "{code}"
        );
    }
    // Links name their target the way OpenAPI spells it.
    let links = &doc["paths"]["/tasks"]["post"]["responses"]["201"]["links"];
    assert_eq!(links["get"]["operationId"], "get_task", "{links}");
}

#[tokio::test]
async fn the_docs_page_and_the_document_are_open_with_a_token() {
    let app = router(state().await.with_token("s3cret"));
    for (uri, content_type, needle) in [
        ("/docs", "text/html", "swagger-ui"),
        ("/docs/", "text/html", "<base href=\"/docs/\">"),
        ("/docs/swagger-ui.css", "text/css", ".swagger-ui"),
        (
            "/docs/swagger-initializer.js",
            "text/javascript",
            "\"/openapi.json\"",
        ),
        ("/openapi.json", "application/json", "\"openapi\""),
    ] {
        let got = send(&app, Request::builder().uri(uri), Body::empty()).await;
        assert_eq!(got.status, StatusCode::OK, "{uri}");
        assert_eq!(got.header("content-type"), Some(content_type), "{uri}");
        let text = String::from_utf8_lossy(&got.body);
        assert!(text.contains(needle), "{uri}: {needle} in {text:.200}");
    }
    let missing = call(&app, "GET", "/docs/no-such-file.js", None).await;
    assert_error(&missing, StatusCode::NOT_FOUND, "no_route");
    let guarded = call(&app, "GET", "/tasks", None).await;
    assert_error(&guarded, StatusCode::UNAUTHORIZED, "unauthorized");
}

/// The committed snapshot of the document.
const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/openapi.json");

/// Set to rewrite [`SNAPSHOT`] from the code instead of comparing.
const UPDATE: &str = "HIVE_UPDATE_SNAPSHOT";

/// `value` with every object's keys in sorted order, whatever map serde_json
/// was built with (`preserve_order` would keep utoipa's insertion order):
/// the snapshot's text depends on the document alone.
fn sorted(value: Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(String, Value)> = map.into_iter().collect();
            entries.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(entries.into_iter().map(|(k, v)| (k, sorted(v))).collect())
        }
        Value::Array(items) => Value::Array(items.into_iter().map(sorted).collect()),
        other => other,
    }
}

/// The document as the snapshot holds it: pretty-printed, keys sorted,
/// ending in a newline.
fn snapshot_text() -> String {
    let pretty = serde_json::to_string_pretty(&sorted(hive_server::openapi::document()))
        .expect("the document serializes");
    format!("{pretty}\n")
}

#[test]
fn the_document_matches_the_committed_snapshot() {
    let generated = snapshot_text();
    assert_eq!(
        generated,
        snapshot_text(),
        "the document is the same each time it is generated"
    );
    if std::env::var_os(UPDATE).is_some() {
        std::fs::write(SNAPSHOT, &generated).expect("write the snapshot");
        return;
    }
    let committed = std::fs::read_to_string(Path::new(SNAPSHOT)).unwrap_or_default();
    if committed == generated {
        return;
    }
    let first = committed
        .lines()
        .zip(generated.lines())
        .position(|(old, new)| old != new)
        .unwrap_or_else(|| committed.lines().count().min(generated.lines().count()));
    let line = |text: &str| text.lines().nth(first).unwrap_or("(the end)").to_string();
    panic!(
        "the OpenAPI document differs from the snapshot {SNAPSHOT}, first at line {}:\n  \
         committed: {}\n  generated: {}\n\
         If the change of the wire format is meant, update the snapshot with\n  \
         {UPDATE}=1 cargo nextest run -p hive-server -E 'test(the_document_matches_the_committed_snapshot)'\n\
         and commit hive-server/openapi.json with the change.",
        first + 1,
        line(&committed),
        line(&generated),
    );
}
