//! CORS and the body limit as configured in [`AppState`]: no CORS headers
//! unless origins are configured; an allowed origin is echoed, another is
//! not; a preflight succeeds without the token a server requires (browsers
//! never send it on one), while the real request still needs it.

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hive_server::cors::CorsOrigins;
use hive_server::router;

use super::{assert_error, call, send, state, Answer};

const ALLOWED: &str = "https://app.example";

/// `method uri` sent from `origin`, with `headers`.
async fn from_origin(
    app: &axum::Router,
    method: &str,
    uri: &str,
    origin: &str,
    headers: &[(&str, &str)],
) -> Answer {
    let mut req = Request::builder()
        .method(method)
        .uri(uri)
        .header("origin", origin);
    for (name, value) in headers {
        req = req.header(*name, *value);
    }
    send(app, req, Body::empty()).await
}

#[tokio::test]
async fn without_configured_origins_there_are_no_cors_headers() {
    let app = router(state().await);
    let got = from_origin(&app, "GET", "/health", ALLOWED, &[]).await;
    assert_eq!(got.status, StatusCode::OK);
    assert!(
        !got.headers
            .keys()
            .any(|k| k.as_str().starts_with("access-control-")),
        "{:?}",
        got.headers
    );
    // No preflight answer either: OPTIONS is not a route.
    let got = from_origin(
        &app,
        "OPTIONS",
        "/tasks",
        ALLOWED,
        &[("access-control-request-method", "POST")],
    )
    .await;
    assert_eq!(got.header("access-control-allow-origin"), None);
}

#[tokio::test]
async fn an_allowed_origin_is_echoed_and_another_is_not() {
    let mut state = state().await;
    state.cors = CorsOrigins::parse(&format!("{ALLOWED},http://localhost:5173")).expect("origins");
    let app = router(state);
    let got = from_origin(&app, "GET", "/health", ALLOWED, &[]).await;
    assert_eq!(got.status, StatusCode::OK);
    assert_eq!(got.header("access-control-allow-origin"), Some(ALLOWED));
    assert_eq!(
        got.header("access-control-expose-headers"),
        Some("x-request-id")
    );
    let denied = from_origin(&app, "GET", "/health", "https://evil.example", &[]).await;
    assert_eq!(denied.header("access-control-allow-origin"), None);

    let mut state = super::state().await;
    state.cors = CorsOrigins::Any;
    let any = from_origin(
        &router(state),
        "GET",
        "/health",
        "https://evil.example",
        &[],
    )
    .await;
    assert_eq!(any.header("access-control-allow-origin"), Some("*"));
}

#[tokio::test]
async fn a_preflight_needs_no_token_but_the_request_does() {
    let mut state = state().await.with_token("s3cret");
    state.cors = CorsOrigins::parse(ALLOWED).expect("origin");
    let app = router(state);
    let preflight = from_origin(
        &app,
        "OPTIONS",
        "/tasks",
        ALLOWED,
        &[
            ("access-control-request-method", "POST"),
            (
                "access-control-request-headers",
                "authorization,content-type",
            ),
        ],
    )
    .await;
    assert!(preflight.status.is_success(), "{}", preflight.status);
    assert_eq!(
        preflight.header("access-control-allow-origin"),
        Some(ALLOWED)
    );
    for (header, wanted) in [
        (
            "access-control-allow-methods",
            &["GET", "POST", "DELETE"][..],
        ),
        (
            "access-control-allow-headers",
            &["authorization", "content-type", "x-request-id"][..],
        ),
    ] {
        let got = preflight.header(header).unwrap_or_default();
        assert!(wanted.iter().all(|w| got.contains(w)), "{header}: {got}");
    }
    // The request itself is still refused without the token, and the
    // browser may read why.
    let refused = from_origin(&app, "GET", "/queue/stats", ALLOWED, &[]).await;
    assert_eq!(refused.status, StatusCode::UNAUTHORIZED);
    assert_eq!(refused.header("access-control-allow-origin"), Some(ALLOWED));
    let allowed = from_origin(
        &app,
        "GET",
        "/queue/stats",
        ALLOWED,
        &[("authorization", "Bearer s3cret")],
    )
    .await;
    assert_eq!(allowed.status, StatusCode::OK);
}

#[tokio::test]
async fn the_body_limit_is_configurable() {
    let mut state = state().await;
    state.body_limit = 64;
    let app = router(state);
    let got = call(
        &app,
        "POST",
        "/tasks",
        Some(&format!(
            r#"{{"type": "x", "payload": "{}"}}"#,
            "a".repeat(64)
        )),
    )
    .await;
    assert_error(&got, StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large");
    let (status, _) = call(&app, "POST", "/tasks", Some(r#"{"type": "x"}"#)).await;
    assert_eq!(status, StatusCode::CREATED);
}
