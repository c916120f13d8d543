//! The router driven with `oneshot`, on an in-memory embedded hive: every
//! route, and the errors a client meets (malformed JSON, unknown fields,
//! wrong types, invalid and unknown ids, conflicts, unknown routes) — each
//! a 4xx with the JSON error body, never a 5xx.

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use hive_core::Hive;
use hive_server::{router, AppState};
use http_body_util::BodyExt;
use serde_json::{json, Value};
use tower::ServiceExt;

mod backup;
mod binary;
mod changes;
mod cli;
mod configured;
mod dashboard;
mod declared;
mod e2e;
mod events;
mod experiments;
mod history;
mod logs;
mod metrics;
mod migrate;
mod openapi;
mod outcomes;
mod readiness;
mod retention;
mod trace;

/// State over a fresh in-memory hive without a context engine.
async fn state() -> AppState {
    let hive = Hive::builder()
        .memory()
        .without_context()
        .build()
        .await
        .expect("hive");
    AppState::new(Arc::new(hive))
}

async fn app() -> Router {
    router(state().await)
}

/// A whole response.
struct Answer {
    status: StatusCode,
    headers: axum::http::HeaderMap,
    body: Vec<u8>,
}

impl Answer {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap_or(Value::Null)
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name).and_then(|v| v.to_str().ok())
    }
}

/// Sends a request built by hand; answers the whole response.
async fn send(app: &Router, req: axum::http::request::Builder, body: Body) -> Answer {
    let res = app
        .clone()
        .oneshot(req.body(body).expect("request"))
        .await
        .expect("response");
    let status = res.status();
    let headers = res.headers().clone();
    let body = res
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes()
        .to_vec();
    Answer {
        status,
        headers,
        body,
    }
}

/// Sends one request; answers the status and the JSON body (Null if none).
async fn call(app: &Router, method: &str, uri: &str, body: Option<&str>) -> (StatusCode, Value) {
    let mut req = Request::builder().method(method).uri(uri);
    if body.is_some() {
        req = req.header("content-type", "application/json");
    }
    let body = body.map_or_else(Body::empty, |b| Body::from(b.to_string()));
    let answer = send(app, req, body).await;
    (answer.status, answer.json())
}

/// A 4xx with `{ "error": { "code": code, "message": … } }`.
fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str) {
    assert_eq!(got.0, status, "{got:?}");
    assert_eq!(got.1["error"]["code"], code, "{got:?}");
    assert!(got.1["error"]["message"].is_string(), "{got:?}");
}

#[tokio::test]
async fn health_answers() {
    let app = app().await;
    let (status, body) = call(&app, "GET", "/health", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "ok");
    assert_eq!(body["queue"], "sqlite");
}

#[tokio::test]
async fn tasks_are_submitted_read_cancelled_and_explained() {
    let app = app().await;
    let (status, body) = call(
        &app,
        "POST",
        "/tasks",
        Some(r#"{"type": "summarise", "payload": {"doc": 1}, "priority": 3, "capabilities": ["llm"], "idempotency_key": "k1"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{body}");
    let id = body["task"]["id"].as_str().expect("id").to_string();
    assert_eq!(body["task"]["status"], "pending");
    assert_eq!(body["task"]["priority"], 3);
    let (status, again) = call(
        &app,
        "POST",
        "/tasks",
        Some(r#"{"type": "summarise", "idempotency_key": "k1"}"#),
    )
    .await;
    assert_eq!(
        (status, again["deduplicated"].clone()),
        (StatusCode::OK, json!(true))
    );
    assert_eq!(again["task"]["id"], id.as_str());
    let (status, got) = call(&app, "GET", &format!("/tasks/{id}"), None).await;
    assert_eq!(
        (status, got["payload"].clone()),
        (StatusCode::OK, json!({"doc": 1}))
    );
    let (status, why) = call(&app, "GET", &format!("/tasks/{id}/why"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert!(
        why["reason"].as_str().is_some_and(|r| r.contains("llm")),
        "{why}"
    );
    let (status, stats) = call(&app, "GET", "/queue/stats", None).await;
    assert_eq!((status, stats["total"].clone()), (StatusCode::OK, json!(1)));
    let (status, cancelled) = call(&app, "POST", &format!("/tasks/{id}/cancel"), None).await;
    assert_eq!(
        (status, cancelled["status"].clone()),
        (StatusCode::OK, json!("cancelled"))
    );
    let again = call(&app, "POST", &format!("/tasks/{id}/cancel"), None).await;
    assert_error(&again, StatusCode::CONFLICT, "conflict");
    let (status, dep) = call(
        &app,
        "POST",
        "/tasks",
        Some(&format!(r#"{{"type": "after", "depends_on": ["{id}"], "delay_ms": 10, "max_attempts": 2, "timeout_ms": 5000}}"#)),
    )
    .await;
    // Its dependency was cancelled, so it fails at once.
    assert_eq!(status, StatusCode::CREATED, "{dep}");
}

#[tokio::test]
async fn bad_task_requests_are_4xx_with_a_json_error() {
    let app = app().await;
    let cases: [(&str, &str, Option<&str>, StatusCode, &str); 14] = [
        (
            "POST",
            "/tasks",
            Some("{not json"),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        // serde would read the struct from an array; the API wants an object.
        (
            "POST",
            "/tasks",
            Some(r#"["x"]"#),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            "/tasks",
            Some(r#"{"type": "x", "colour": "red"}"#),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            "/tasks",
            Some(r#"{"type": "x", "priority": "high"}"#),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            "/tasks",
            Some(r#"{"payload": {}}"#),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            "/tasks",
            Some(r#"{"type": "x", "priority": 12}"#),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "POST",
            "/tasks",
            Some(r#"{"type": ""}"#),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "POST",
            "/tasks",
            Some(r#"{"type": "x", "depends_on": ["nope"]}"#),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            "/tasks",
            Some(r#"{"type": "x", "depends_on": ["01a20caa-7a8c-756e-9496-96920d84b2cd"]}"#),
            StatusCode::BAD_REQUEST,
            "invalid_input",
        ),
        (
            "GET",
            "/tasks/not-an-id",
            None,
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "GET",
            "/tasks/01a20caa-7a8c-756e-9496-96920d84b2cd",
            None,
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "GET",
            "/no/such/route",
            None,
            StatusCode::NOT_FOUND,
            "no_route",
        ),
        (
            "DELETE",
            "/tasks",
            None,
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
        (
            "POST",
            "/health",
            Some("{}"),
            StatusCode::METHOD_NOT_ALLOWED,
            "method_not_allowed",
        ),
    ];
    for (method, uri, body, status, code) in cases {
        let got = call(&app, method, uri, body).await;
        assert_error(&got, status, code);
    }
    // A body without a JSON content type is a 415, as JSON.
    let plain = send(
        &app,
        Request::builder().method("POST").uri("/tasks"),
        Body::from(r#"{"type": "x"}"#),
    )
    .await;
    assert_error(
        &(plain.status, plain.json()),
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );
    // A body over the limit is a 413, as JSON, and stores nothing.
    let big = format!(
        r#"{{"type": "x", "payload": "{}"}}"#,
        "a".repeat(hive_server::DEFAULT_BODY_LIMIT)
    );
    let got = call(&app, "POST", "/tasks", Some(&big)).await;
    assert_error(&got, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let (_, stats) = call(&app, "GET", "/queue/stats", None).await;
    assert_eq!(stats["total"], 0);
}

#[tokio::test]
async fn agents_register_heartbeat_list_and_terminate() {
    let app = app().await;
    let (status, agent) = call(
        &app,
        "POST",
        "/agents",
        Some(r#"{"name": "remote-1", "capabilities": ["code"]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    assert_eq!(
        (agent["kind"].clone(), agent["status"].clone()),
        (json!("remote"), json!("healthy"))
    );
    let id = agent["id"].as_str().expect("id").to_string();
    let dup = call(
        &app,
        "POST",
        "/agents",
        Some(r#"{"name": "remote-1", "capabilities": ["code"]}"#),
    )
    .await;
    assert_error(&dup, StatusCode::CONFLICT, "conflict");
    let none = call(
        &app,
        "POST",
        "/agents",
        Some(r#"{"name": "lazy", "capabilities": []}"#),
    )
    .await;
    assert_error(&none, StatusCode::BAD_REQUEST, "invalid_input");
    let (status, beat) = call(
        &app,
        "POST",
        &format!("/agents/{id}/heartbeat"),
        Some(r#"{"load": 2}"#),
    )
    .await;
    assert_eq!((status, beat["load"].clone()), (StatusCode::OK, json!(2)));
    let (status, list) = call(&app, "GET", "/agents?status=healthy&capability=code", None).await;
    assert_eq!(
        (status, list.as_array().map(Vec::len)),
        (StatusCode::OK, Some(1))
    );
    let bogus = call(&app, "GET", "/agents?status=sleepy", None).await;
    assert_error(&bogus, StatusCode::BAD_REQUEST, "bad_request");
    let (status, one) = call(&app, "GET", &format!("/agents/{id}"), None).await;
    assert_eq!(
        (status, one["name"].clone()),
        (StatusCode::OK, json!("remote-1"))
    );
    let (status, stopped) = call(&app, "DELETE", &format!("/agents/{id}"), None).await;
    assert_eq!(
        (status, stopped["status"].clone()),
        (StatusCode::OK, json!("stopped"))
    );
    let again = call(&app, "DELETE", &format!("/agents/{id}"), None).await;
    assert_error(&again, StatusCode::CONFLICT, "conflict");
    let unknown = call(
        &app,
        "DELETE",
        "/agents/01a20caa-7a8c-756e-9496-96920d84b2cd",
        None,
    )
    .await;
    assert_error(&unknown, StatusCode::NOT_FOUND, "not_found");
    let bad = call(&app, "GET", "/agents/xyz", None).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn sessions_open_read_back_and_close() {
    let app = app().await;
    let (status, s) = call(
        &app,
        "POST",
        "/sessions",
        Some(r#"{"name": "chat", "agents": ["a", "b"], "state": {"step": 1}}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{s}");
    let id = s["id"].as_str().expect("id").to_string();
    let dup = call(
        &app,
        "POST",
        "/sessions",
        Some(r#"{"name": "chat", "agents": ["a", "a"]}"#),
    )
    .await;
    assert_error(&dup, StatusCode::BAD_REQUEST, "invalid_input");
    assert!(dup.1["error"]["message"]
        .as_str()
        .is_some_and(|m| m.contains("duplicate agent name")));
    let (status, got) = call(&app, "GET", &format!("/sessions/{id}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(got["session"]["agents"], json!(["a", "b"]));
    assert_eq!(got["conversation"], json!([]));
    let (status, closed) = call(&app, "POST", &format!("/sessions/{id}/close"), None).await;
    assert_eq!(
        (status, closed["status"].clone()),
        (StatusCode::OK, json!("closed"))
    );
    let again = call(&app, "POST", &format!("/sessions/{id}/close"), None).await;
    assert_error(&again, StatusCode::CONFLICT, "conflict");
}

#[tokio::test]
async fn a_configured_token_guards_every_route_but_health() {
    let app = router(state().await.with_token("s3cret"));
    let (status, _) = call(&app, "GET", "/health", None).await;
    assert_eq!(status, StatusCode::OK, "health stays open");
    let missing = call(&app, "GET", "/queue/stats", None).await;
    assert_error(&missing, StatusCode::UNAUTHORIZED, "unauthorized");
    let missing_route = call(&app, "GET", "/no/such/route", None).await;
    assert_error(&missing_route, StatusCode::UNAUTHORIZED, "unauthorized");
    for (header, ok) in [
        ("Bearer s3cret", true),
        ("Bearer s3cre", false),
        ("Bearer s3cret ", false),
        ("s3cret", false),
    ] {
        let got = send(
            &app,
            Request::builder()
                .uri("/queue/stats")
                .header("authorization", header),
            Body::empty(),
        )
        .await;
        assert_eq!(
            got.status == StatusCode::OK,
            ok,
            "{header:?}: {}",
            got.status
        );
        if !ok {
            assert_error(
                &(got.status, got.json()),
                StatusCode::UNAUTHORIZED,
                "unauthorized",
            );
        }
    }
}

#[tokio::test]
async fn tasks_are_listed_filtered_and_paged() {
    let app = app().await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let kind = if i % 2 == 0 { "even" } else { "odd" };
        let (_, body) = call(
            &app,
            "POST",
            "/tasks",
            Some(&format!(r#"{{"type": "{kind}", "payload": {i}}}"#)),
        )
        .await;
        ids.push(body["task"]["id"].as_str().expect("id").to_string());
    }
    call(&app, "POST", &format!("/tasks/{}/cancel", ids[0]), None).await;
    let (status, page) = call(&app, "GET", "/tasks?limit=3", None).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    let mut seen: Vec<String> = Vec::new();
    let mut page = page;
    loop {
        for t in page["tasks"].as_array().expect("tasks") {
            seen.push(t["id"].as_str().expect("id").to_string());
        }
        let Some(next) = page["next"].as_str() else {
            break;
        };
        page = call(&app, "GET", &format!("/tasks?limit=3&after={next}"), None)
            .await
            .1;
    }
    assert_eq!(seen, ids, "every task once, in submit order");
    let (_, odd) = call(&app, "GET", "/tasks?type=odd", None).await;
    assert_eq!(odd["tasks"].as_array().map(Vec::len), Some(3));
    let (_, cancelled) = call(&app, "GET", "/tasks?status=cancelled,completed", None).await;
    assert_eq!(cancelled["tasks"][0]["id"], ids[0].as_str());
    assert_eq!(cancelled["next"], Value::Null);
    let (_, none) = call(
        &app,
        "GET",
        "/tasks?agent=01a20caa-7a8c-756e-9496-96920d84b2cd",
        None,
    )
    .await;
    assert_eq!(none["tasks"], json!([]));
    for bad in [
        "/tasks?status=sleepy",
        "/tasks?limit=0",
        "/tasks?limit=x",
        "/tasks?after=nope",
        "/tasks?colour=red",
    ] {
        let got = call(&app, "GET", bad, None).await;
        assert!(got.0 == StatusCode::BAD_REQUEST, "{bad}: {got:?}");
        assert!(got.1["error"]["code"].is_string(), "{bad}: {got:?}");
    }
}

#[tokio::test]
async fn metrics_show_requests_tasks_and_agents() {
    let app = app().await;
    call(&app, "POST", "/tasks", Some(r#"{"type": "m"}"#)).await;
    call(
        &app,
        "POST",
        "/agents",
        Some(r#"{"name": "metered", "capabilities": ["x"]}"#),
    )
    .await;
    call(&app, "GET", "/tasks/not-an-id", None).await;
    let scrape = send(&app, Request::builder().uri("/metrics"), Body::empty()).await;
    assert_eq!(scrape.status, StatusCode::OK);
    let text = String::from_utf8_lossy(&scrape.body);
    assert!(text.contains(r#"hive_tasks{status="pending"} "#), "{text}");
    assert!(text.contains(r#"hive_agents{status="healthy"} "#), "{text}");
    assert!(
        text.contains(r#"route="/tasks/{id}""#) && text.contains(r#"status="400""#),
        "{text}"
    );
    assert!(
        text.contains("hive_http_request_duration_seconds"),
        "{text}"
    );
}

#[tokio::test]
async fn requests_carry_ids_and_a_deadline() {
    let app = app().await;
    let traced = send(
        &app,
        Request::builder()
            .uri("/health")
            .header("x-request-id", "trace-42"),
        Body::empty(),
    )
    .await;
    assert_eq!(traced.header("x-request-id"), Some("trace-42"));
    let fresh = send(&app, Request::builder().uri("/health"), Body::empty()).await;
    let id = fresh.header("x-request-id").unwrap_or_default();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "a fresh id: {id:?}");
    // A handler slower than the deadline is answered with the timeout
    // error (the middleware on a route of its own, so the test does not
    // depend on how fast a store answers).
    let mut state = state().await;
    state.request_timeout = std::time::Duration::from_millis(50);
    let slow: Router = Router::new()
        .route(
            "/slow",
            axum::routing::get(|| async {
                tokio::time::sleep(std::time::Duration::from_secs(5)).await;
                "late"
            }),
        )
        .layer(axum::middleware::from_fn_with_state(
            state.clone(),
            hive_server::hygiene::around,
        ))
        .with_state(state);
    let got = call(&slow, "GET", "/slow", None).await;
    assert_error(&got, StatusCode::SERVICE_UNAVAILABLE, "timeout");
}

#[tokio::test]
async fn dead_letters_are_listed_retried_and_purged() {
    let state = state().await;
    let hive = state.hive.clone();
    let app = router(state);
    // Two tasks dead-lettered the honest way: claimed and failed for good.
    for n in 0..2 {
        let (_, body) = call(
            &app,
            "POST",
            "/tasks",
            Some(&format!(r#"{{"type": "doomed", "payload": {n}}}"#)),
        )
        .await;
        assert!(body["task"]["id"].is_string());
    }
    let worker = hive_core::queue::WorkerId::random("test");
    let leases = hive
        .queue()
        .claim(&hive_core::queue::ClaimRequest::new(worker).max(2))
        .await
        .expect("claim");
    for lease in &leases {
        hive.queue()
            .fail(lease.key(), hive_core::queue::TaskFailure::permanent("no"))
            .await
            .expect("fail");
    }
    let (status, list) = call(&app, "GET", "/dead-letters", None).await;
    assert_eq!(
        (status, list.as_array().map(Vec::len)),
        (StatusCode::OK, Some(2))
    );
    let first = list[0]["id"].as_str().expect("id").to_string();
    let (status, retried) = call(&app, "POST", &format!("/dead-letters/{first}/retry"), None).await;
    assert_eq!(
        (status, retried["status"].clone()),
        (StatusCode::OK, json!("pending"))
    );
    let again = call(&app, "POST", &format!("/dead-letters/{first}/retry"), None).await;
    assert!(again.0.is_client_error(), "{again:?}");
    let (status, purged) = call(&app, "POST", "/dead-letters/purge", Some("{}")).await;
    assert_eq!(
        (status, purged["purged"].clone()),
        (StatusCode::OK, json!(1))
    );
    let bad = call(&app, "GET", "/dead-letters?limit=0", None).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad_request");
    let bad = call(
        &app,
        "POST",
        "/dead-letters/purge",
        Some(r#"{"ids": ["nope"]}"#),
    )
    .await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn messages_context_and_session_lists() {
    let hive = Hive::builder()
        .memory()
        .build()
        .await
        .expect("hive with context");
    let app = router(AppState::new(Arc::new(hive)));
    // Broker: publish to a topic and to an inbox, read the topic back.
    let (status, p) = call(
        &app,
        "POST",
        "/messages",
        Some(r#"{"topic": "news.bees", "kind": "note", "payload": {"n": 1}, "from": "scout"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{p}");
    call(
        &app,
        "POST",
        "/messages",
        Some(r#"{"topic": "news.bees", "kind": "note", "payload": {"n": 2}}"#),
    )
    .await;
    let (status, _) = call(
        &app,
        "POST",
        "/messages",
        Some(r#"{"to": "planner", "kind": "ask"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (status, read) = call(&app, "GET", "/topics/news.bees/messages", None).await;
    assert_eq!(status, StatusCode::OK, "{read}");
    assert_eq!(read.as_array().map(Vec::len), Some(2));
    assert_eq!(read[0]["message"]["from"], "scout");
    let second = read[1]["offset"].as_u64().expect("offset");
    let (_, tail) = call(
        &app,
        "GET",
        &format!("/topics/news.bees/messages?from={second}"),
        None,
    )
    .await;
    assert_eq!(tail[0]["message"]["payload"]["n"], 2);
    // Without a kind, a message is a `message` (as from Python); an empty
    // kind is refused.
    let (status, _) = call(
        &app,
        "POST",
        "/messages",
        Some(r#"{"topic": "news.plain"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let (_, plain) = call(&app, "GET", "/topics/news.plain/messages", None).await;
    assert_eq!(plain[0]["message"]["kind"], "message", "{plain}");
    for (body, code) in [
        (r#"{"topic": "a", "kind": ""}"#, "invalid_input"),
        (r#"{"kind": "x"}"#, "bad_request"),
        (r#"{"topic": "a", "to": "b", "kind": "x"}"#, "bad_request"),
        (r#"{"topic": "bad topic!", "kind": "x"}"#, "invalid_input"),
    ] {
        let got = call(&app, "POST", "/messages", Some(body)).await;
        assert_error(&got, StatusCode::BAD_REQUEST, code);
    }
    let bad = call(&app, "GET", "/topics/news.*/messages", None).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_input");
    // Context: remember, then find by meaning.
    let (status, stored) = call(
        &app,
        "POST",
        "/context",
        Some(r#"{"content": "Bees dance to tell the hive where flowers are.", "agent": "scout"}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{stored}");
    call(
        &app,
        "POST",
        "/context",
        Some(r#"{"content": "The invoice is due on Friday."}"#),
    )
    .await;
    let (status, found) = call(
        &app,
        "GET",
        "/context/search?q=how%20do%20bees%20share%20directions&k=1",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{found}");
    assert!(
        found[0]["entry"]["content"]
            .as_str()
            .is_some_and(|c| c.contains("dance")),
        "{found}"
    );
    let bad = call(&app, "GET", "/context/search?q=x&k=0", None).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_input");
    let bad = call(&app, "POST", "/context", Some(r#"{"content": ""}"#)).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_input");
    // Refused even where it would merge into a near-duplicate.
    // (Also just above 1, which would round to 1 as an f32: schemathesis
    // found it.)
    for importance in ["-1", "1.0000000000000002"] {
        let body = format!(
            r#"{{"content": "The invoice is due on Friday.", "importance": {importance}}}"#
        );
        let bad = call(&app, "POST", "/context", Some(&body)).await;
        assert_error(&bad, StatusCode::BAD_REQUEST, "invalid_input");
    }
    // Sessions, newest first, by status.
    call(&app, "POST", "/sessions", Some(r#"{"name": "one"}"#)).await;
    let (_, two) = call(&app, "POST", "/sessions", Some(r#"{"name": "two"}"#)).await;
    call(
        &app,
        "POST",
        &format!("/sessions/{}/close", two["id"].as_str().expect("id")),
        None,
    )
    .await;
    let (status, open) = call(&app, "GET", "/sessions?status=open", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(open.as_array().map(Vec::len), Some(1));
    let (_, all) = call(&app, "GET", "/sessions", None).await;
    assert_eq!(all[0]["name"], "two");
    let bad = call(&app, "GET", "/sessions?status=sleepy", None).await;
    assert_error(&bad, StatusCode::BAD_REQUEST, "bad_request");
}

#[tokio::test]
async fn context_routes_say_when_there_is_no_engine() {
    let app = app().await;
    let got = call(&app, "GET", "/context/search?q=x", None).await;
    assert_error(&got, StatusCode::NOT_IMPLEMENTED, "not_supported");
}
