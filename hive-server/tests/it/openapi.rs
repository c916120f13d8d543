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
    "GET /health/live",
    "GET /health/ready",
    "POST /tasks",
    "GET /tasks",
    "GET /tasks/{id}",
    "GET /tasks/{id}/attempts",
    "POST /tasks/{id}/cancel",
    "GET /tasks/{id}/why",
    "GET /queue/stats",
    "GET /queue/retention",
    "POST /queue/purge",
    "GET /dead-letters",
    "POST /dead-letters/{id}/retry",
    "POST /dead-letters/purge",
    "POST /agents",
    "POST /agents/spawn",
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
    "GET /metrics/series",
    "GET /outcomes",
    "GET /outcomes/metrics",
    "GET /prompts/{agent}",
    "POST /prompts/{agent}",
    "GET /prompt-versions/{id}",
    "GET /prompt-versions/{id}/diff",
    "PUT /prompts/{agent}/labels/{label}",
    "GET /prompts/{agent}/labels/{label}/history",
    "POST /experiments",
    "GET /experiments",
    "GET /experiments/{id}",
    "POST /experiments/{id}/stop",
    "POST /experiments/{id}/approve",
    "GET /experiments/{id}/assignments",
    "POST /meta/runs",
    "GET /proposals",
    "GET /proposals/{id}",
    "POST /proposals/{id}/approve",
    "POST /proposals/{id}/reject",
    "GET /repositories",
    "POST /changes",
    "GET /changes",
    "GET /changes/{id}",
    "POST /changes/{id}/approve",
    "POST /changes/{id}/reject",
    "POST /changes/{id}/revert",
    "GET /verifiers",
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
        // No token: nothing answers 401, and nothing claims to need one.
        assert!(!has("401"), "{name}: no token, no 401");
        assert!(op.get("security").is_none(), "{name}: {}", op["security"]);
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
async fn bearer_security_is_declared_only_when_the_server_has_a_token() {
    let fetch = |app: axum::Router| async move {
        let answer = send(&app, Request::builder().uri("/openapi.json"), Body::empty()).await;
        assert_eq!(answer.status, StatusCode::OK);
        serde_json::from_slice::<Value>(&answer.body).expect("JSON")
    };
    let open = fetch(app().await).await;
    assert!(open.get("security").is_none(), "{}", open["security"]);
    assert!(
        open["components"]["securitySchemes"].is_null(),
        "{}",
        open["components"]["securitySchemes"]
    );
    assert!(open["components"]["responses"]["Unauthorized"].is_null());

    let guarded = fetch(router(state().await.with_token("s3cret"))).await;
    assert_eq!(guarded["security"], serde_json::json!([{"bearer": []}]));
    assert_eq!(
        guarded["components"]["securitySchemes"]["bearer"],
        serde_json::json!({"type": "http", "scheme": "bearer"})
    );
    for (name, op) in operations(&guarded) {
        let responses = op["responses"].as_object().expect("responses");
        let (_, path) = name.split_once(' ').expect("name");
        if ["/health", "/health/live", "/health/ready"].contains(&path) {
            assert_eq!(op["security"], serde_json::json!([{}]), "{name} is open");
            assert!(!responses.contains_key("401"), "{name}");
        } else {
            assert!(op.get("security").is_none(), "{name}: the global one");
            assert!(responses.contains_key("401"), "{name}: the token guards it");
        }
    }
    // The open routes really are open, the others really guarded.
    let app = router(state().await.with_token("s3cret"));
    for open in ["/health", "/health/live", "/health/ready"] {
        assert_eq!(
            call(&app, "GET", open, None).await.0,
            StatusCode::OK,
            "{open}"
        );
    }
    assert_eq!(
        call(&app, "GET", "/queue/stats", None).await.0,
        StatusCode::UNAUTHORIZED
    );
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

/// The schema of query parameter `name` of `method path`, `$ref`s and
/// `anyOf`/`oneOf` with null resolved to the constrained part.
fn param_schema<'a>(doc: &'a Value, method: &str, path: &str, name: &str) -> &'a Value {
    let params = doc["paths"][path][method]["parameters"]
        .as_array()
        .unwrap_or_else(|| panic!("{method} {path} has parameters"));
    let param = params
        .iter()
        .find(|p| p["name"] == name)
        .unwrap_or_else(|| panic!("{method} {path} takes {name}"));
    resolve(doc, &param["schema"])
}

fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    if let Some(r) = schema["$ref"].as_str() {
        let name = r.trim_start_matches("#/components/schemas/");
        return resolve(doc, &doc["components"]["schemas"][name]);
    }
    for key in ["oneOf", "anyOf"] {
        if let Some(alts) = schema[key].as_array() {
            if let Some(not_null) = alts.iter().find(|a| a["type"] != "null") {
                return resolve(doc, not_null);
            }
        }
    }
    schema
}

/// The schema of property `prop` of component `component`.
fn property<'a>(doc: &'a Value, component: &str, prop: &str) -> &'a Value {
    let schema = &doc["components"]["schemas"][component]["properties"][prop];
    assert!(!schema.is_null(), "{component}.{prop} is documented");
    resolve(doc, schema)
}

const TASK_STATUSES: &[&str] = &[
    "waiting",
    "delayed",
    "pending",
    "assigned",
    "in_progress",
    "completed",
    "failed",
    "dead_lettered",
    "cancelled",
];

/// What the server refuses, the document says: a client generated from it
/// never sends a value outside these bounds. Each bound listed here is
/// enforced by the server (the second half checks a few with requests).
#[tokio::test]
async fn the_document_states_the_bounds_the_server_enforces() {
    let doc = hive_server::openapi::document();
    let bounds = |s: &Value| (s["minimum"].as_f64(), s["maximum"].as_f64());

    // Query parameters.
    for (method, path, name, min, max) in [
        (
            "get",
            "/context/search",
            "min_similarity",
            Some(-1.0),
            Some(1.0),
        ),
        ("get", "/context/search", "k", Some(1.0), Some(1000.0)),
        ("get", "/events", "after", Some(0.0), None),
        ("get", "/events", "limit", Some(1.0), Some(1000.0)),
        ("get", "/tasks", "limit", Some(1.0), Some(1000.0)),
        ("get", "/dead-letters", "limit", Some(1.0), Some(1000.0)),
        ("get", "/dead-letters", "offset", Some(0.0), None),
        ("get", "/sessions", "limit", Some(1.0), Some(10000.0)),
        (
            "get",
            "/topics/{topic}/messages",
            "limit",
            Some(1.0),
            Some(1000.0),
        ),
        ("get", "/topics/{topic}/messages", "from", Some(0.0), None),
    ] {
        let schema = param_schema(&doc, method, path, name);
        assert_eq!(
            bounds(schema),
            (min, max),
            "{method} {path} ?{name}: {schema}"
        );
    }
    // Every `limit` anywhere is bounded both ways.
    for (name, op) in operations(&doc) {
        for p in op["parameters"].as_array().into_iter().flatten() {
            if p["name"] == "limit" {
                let s = resolve(&doc, &p["schema"]);
                let (min, max) = bounds(s);
                assert!(min.is_some() && max.is_some(), "{name} ?limit: {s}");
            }
        }
    }

    // Task status, an enum wherever it is taken or returned.
    let statuses: BTreeSet<String> = TASK_STATUSES.iter().map(|s| s.to_string()).collect();
    let status_enum = |s: &Value| -> BTreeSet<String> {
        s["enum"]
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(|v| v.as_str().map(String::from))
            .collect()
    };
    let listed = param_schema(&doc, "get", "/tasks", "status");
    assert_eq!(listed["type"], "array", "{listed}");
    assert_eq!(status_enum(resolve(&doc, &listed["items"])), statuses);
    let param = doc["paths"]["/tasks"]["get"]["parameters"]
        .as_array()
        .and_then(|ps| ps.iter().find(|p| p["name"] == "status"))
        .expect("status");
    assert_eq!(
        (&param["style"], &param["explode"]),
        (&"form".into(), &false.into())
    );
    assert_eq!(status_enum(property(&doc, "Task", "status")), statuses);

    // Request bodies.
    for (component, prop, min, max) in [
        ("SubmitTask", "priority", Some(1.0), Some(9.0)),
        ("SubmitTask", "max_attempts", Some(1.0), None),
        ("SubmitTask", "timeout_ms", Some(10.0), None),
        ("Claim", "max", Some(1.0), Some(100.0)),
        ("Claim", "wait_ms", Some(0.0), Some(20000.0)),
        ("RememberText", "importance", Some(0.0), Some(1.0)),
    ] {
        let schema = property(&doc, component, prop);
        assert_eq!(bounds(schema), (min, max), "{component}.{prop}: {schema}");
    }
    for (component, prop, min, max) in [
        ("SubmitTask", "type", Some(1), Some(200)),
        ("SubmitTask", "idempotency_key", Some(1), Some(256)),
        ("RegisterAgent", "name", Some(1), Some(128)),
        ("CreateSession", "name", Some(1), Some(128)),
        ("RememberText", "content", Some(1), None),
        ("PublishMessage", "kind", Some(1), None),
    ] {
        let schema = property(&doc, component, prop);
        let got = (schema["minLength"].as_u64(), schema["maxLength"].as_u64());
        assert_eq!(got, (min, max), "{component}.{prop}: {schema}");
    }

    // And the server does refuse just outside them.
    let app = app().await;
    for uri in [
        "/events?limit=0",
        "/events?limit=1001",
        "/events?after=-1",
        "/context/search?q=bees&min_similarity=1.0000000000000002",
        "/context/search?q=bees&min_similarity=-1.5",
        "/tasks?status=sleeping",
        "/tasks?limit=1001",
        "/dead-letters?limit=0",
        "/topics/news.bees/messages?limit=1001",
    ] {
        let (status, body) = call(&app, "GET", uri, None).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{uri}: {body}");
    }
    for body in [
        r#"{"type": "t", "priority": 0}"#,
        r#"{"type": "t", "priority": 10}"#,
        r#"{"type": "t", "max_attempts": 0}"#,
        r#"{"type": ""}"#,
    ] {
        let (status, answer) = call(&app, "POST", "/tasks", Some(body)).await;
        assert_eq!(status, StatusCode::BAD_REQUEST, "{body}: {answer}");
    }
    // Both ends of a bound are accepted.
    for uri in [
        "/events?after=0&limit=1000",
        "/tasks?status=pending,dead_lettered&limit=1",
    ] {
        let (status, body) = call(&app, "GET", uri, None).await;
        assert_eq!(status, StatusCode::OK, "{uri}: {body}");
    }
}
