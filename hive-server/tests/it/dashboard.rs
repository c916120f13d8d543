//! The dashboard's side of the server: `/` and `/ui` redirect to `/ui/`,
//! the embedded bundle is served with the right types and caching, open
//! without a token while the API stays guarded, and `GET /metrics/series`
//! counts what the event feed said, with the spend an LLM result reported.

use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hive_server::router;
use serde_json::{json, Value};

use super::{send, state, Answer};

async fn get(app: &axum::Router, uri: &str) -> Answer {
    send(app, Request::get(uri), Body::empty()).await
}

#[tokio::test]
async fn the_root_and_ui_redirect_to_the_dashboard() {
    let app = router(state().await.with_token("s3cret"));
    for uri in ["/", "/ui"] {
        let got = get(&app, uri).await;
        assert_eq!(got.status, StatusCode::TEMPORARY_REDIRECT, "{uri}");
        assert_eq!(got.header("location"), Some("/ui/"), "{uri}");
    }
}

#[tokio::test]
async fn the_embedded_bundle_is_served_open_with_caching_by_kind() {
    assert!(
        hive_server::ui::embedded_files() > 0,
        "hive-server/web/dist is committed and embedded"
    );
    // A token guards the API, not the app's files (they hold no data).
    let app = router(state().await.with_token("s3cret"));
    let index = get(&app, "/ui/").await;
    assert_eq!(index.status, StatusCode::OK);
    assert_eq!(
        index.header("content-type"),
        Some("text/html; charset=utf-8")
    );
    assert_eq!(index.header("cache-control"), Some("no-cache"));
    let html = String::from_utf8_lossy(&index.body).to_string();
    assert!(
        html.contains("/ui/assets/"),
        "index.html loads hashed assets: {html}"
    );
    // Every asset it names is served, immutable.
    let assets: Vec<&str> = html
        .split('"')
        .filter(|s| s.starts_with("/ui/assets/"))
        .collect();
    assert!(!assets.is_empty());
    for asset in assets {
        let got = get(&app, asset).await;
        assert_eq!(got.status, StatusCode::OK, "{asset}");
        assert_eq!(
            got.header("cache-control"),
            Some("public, max-age=31536000, immutable"),
            "{asset}"
        );
    }
    for (uri, kind) in [
        ("/ui/sw.js", "text/javascript; charset=utf-8"),
        ("/ui/manifest.webmanifest", "application/manifest+json"),
    ] {
        let got = get(&app, uri).await;
        assert_eq!(got.status, StatusCode::OK, "{uri}");
        assert_eq!(got.header("content-type"), Some(kind), "{uri}");
        assert_eq!(got.header("cache-control"), Some("no-cache"), "{uri}");
    }
    // An unchanged file costs a 304.
    let etag = index.header("etag").expect("etag").to_string();
    let again = send(
        &app,
        Request::get("/ui/").header("if-none-match", etag),
        Body::empty(),
    )
    .await;
    assert_eq!(again.status, StatusCode::NOT_MODIFIED);
    // Unknown files are the JSON 404; the API still needs the token.
    let missing = get(&app, "/ui/assets/nothing.js").await;
    assert_eq!(missing.status, StatusCode::NOT_FOUND);
    assert_eq!(missing.json()["error"]["code"], "no_route");
    assert_eq!(
        get(&app, "/queue/stats").await.status,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn a_ui_directory_replaces_the_embedded_bundle_and_keeps_inside_it() {
    let dir = tempfile::tempdir().expect("tempdir");
    std::fs::write(dir.path().join("index.html"), "<p>dev build</p>").expect("write");
    let mut state = state().await;
    state.ui_dir = Some(dir.path().to_path_buf());
    let app = router(state);
    let got = get(&app, "/ui/").await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.body, b"<p>dev build</p>");
    let escape = get(&app, "/ui/..%2F..%2Fetc%2Fpasswd").await;
    assert_eq!(escape.status, StatusCode::NOT_FOUND);
}

/// The shared `call`, expecting success; answers the JSON body.
async fn ok(app: &axum::Router, method: &str, uri: &str, body: Value) -> Value {
    let (status, answer) = super::call(app, method, uri, Some(&body.to_string())).await;
    assert!(status.is_success(), "{method} {uri}: {answer}");
    answer
}

#[tokio::test]
async fn the_series_counts_the_feed_and_the_spend_per_agent() {
    let app = router(state().await);
    let agent = ok(
        &app,
        "POST",
        "/agents",
        json!({"name": "writer", "capabilities": ["w"]}),
    )
    .await;
    let agent = agent["id"].as_str().expect("agent id").to_string();
    for i in 0..3 {
        ok(
            &app,
            "POST",
            "/tasks",
            json!({"type": "write", "payload": {"i": i}, "capabilities": ["w"]}),
        )
        .await;
    }
    let claimed = ok(
        &app,
        "POST",
        &format!("/agents/{agent}/claim"),
        json!({"max": 3}),
    )
    .await;
    let leases = claimed["leases"].as_array().expect("leases").clone();
    assert_eq!(leases.len(), 3);
    for (i, lease) in leases.iter().enumerate() {
        let id = lease["task"]["id"].as_str().expect("id");
        let token = &lease["token"];
        if i < 2 {
            // An LLM agent's result shape: usage and cost.
            let result = json!({"text": "ok", "usage": {"input_tokens": 100, "output_tokens": 10}, "cost_usd": 0.25});
            ok(
                &app,
                "POST",
                &format!("/tasks/{id}/complete"),
                json!({"token": token, "result": result}),
            )
            .await;
        } else {
            ok(
                &app,
                "POST",
                &format!("/tasks/{id}/fail"),
                json!({"token": token, "error": "no", "permanent": true}),
            )
            .await;
        }
    }
    // The follower reads the feed in the background: wait for it.
    let mut page = Value::Null;
    for _ in 0..100 {
        page = get(&app, "/metrics/series").await.json();
        let last = &page["intervals"][0];
        if last["completed"] == 2 && last["dead_lettered"] == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert_eq!(page["interval_secs"], 5);
    assert_eq!(page["window_secs"], 900);
    let sample = &page["intervals"][0];
    assert_eq!(sample["partial"], true, "{page}");
    assert_eq!(sample["submitted"], 3, "{page}");
    assert_eq!(sample["completed"], 2, "{page}");
    assert_eq!(sample["dead_lettered"], 1, "{page}");
    assert_eq!(
        sample["depth"]["completed"], 2,
        "the queue's own count: {page}"
    );
    assert_eq!(sample["depth"]["dead_lettered"], 1, "{page}");
    assert!(
        sample["wait_p95_ms"].as_f64().is_some(),
        "three tasks started: {page}"
    );
    assert!(
        sample["run_p50_ms"].as_f64().is_some(),
        "three attempts ended: {page}"
    );
    // Spend comes from the stored outcomes: all three tasks finished, the
    // dead-lettered one without a price (it reported nothing).
    assert_eq!(
        page["spend"],
        json!([{"agent": "writer", "tasks": 3, "input_tokens": 200, "output_tokens": 20, "cost_usd": 0.5, "unpriced_tasks": 1}])
    );
}
