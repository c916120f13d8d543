//! The event feed and remote work: `GET /events` (the limit counts
//! matching events), `/ws/events` (over a real socket on a free port,
//! through the server's bounded listener: hello, events in order, filters,
//! resuming with `since`, client pings and resubscribing, server pings,
//! slow readers beside clients that never read, closing at shutdown) and
//! the claim / complete / fail / heartbeat / release routes with their
//! errors.

use std::sync::Arc;
use std::time::Duration;

use axum::http::StatusCode;
use futures::{SinkExt, StreamExt};
use hive_core::Hive;
use hive_server::{router, AppState};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::{app, assert_error, call, state};

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

/// The router served on a free loopback port, with the socket options
/// `hive serve` sets; answers its base address.
async fn serve(state: AppState) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(hive_server::listener::bounded(listener), router(state)).await;
    });
    format!("127.0.0.1:{}", addr.port())
}

/// A WebSocket over a socket whose receive buffer is `receive_buffer`
/// bytes, set before connecting (a phone's, say).
async fn connect_small(addr: &str, query: &str, receive_buffer: u32) -> Socket {
    let socket = tokio::net::TcpSocket::new_v4().expect("socket");
    socket2::SockRef::from(&socket)
        .set_recv_buffer_size(receive_buffer as usize)
        .expect("SO_RCVBUF");
    let stream = socket
        .connect(addr.parse().expect("address"))
        .await
        .expect("connect");
    let stream = tokio_tungstenite::MaybeTlsStream::Plain(stream);
    let (socket, _) =
        tokio_tungstenite::client_async(format!("ws://{addr}/ws/events{query}"), stream)
            .await
            .expect("upgrade");
    socket
}

async fn connect(addr: &str, query: &str) -> Socket {
    let (socket, _) = tokio_tungstenite::connect_async(format!("ws://{addr}/ws/events{query}"))
        .await
        .expect("connect");
    socket
}

/// The next JSON text frame.
async fn frame(socket: &mut Socket) -> Value {
    loop {
        let msg = tokio::time::timeout(Duration::from_secs(10), socket.next())
            .await
            .expect("a frame within 10 s")
            .expect("the socket is open")
            .expect("a frame");
        match msg {
            Message::Text(t) => return serde_json::from_str(t.as_str()).expect("JSON"),
            Message::Ping(_) | Message::Pong(_) => {}
            other => panic!("expected a text frame, got {other:?}"),
        }
    }
}

async fn say(socket: &mut Socket, text: &str) {
    socket
        .send(Message::Text(text.to_string().into()))
        .await
        .expect("send");
}

/// The close frame's code and reason, reading past anything before it.
async fn closed_with(socket: &mut Socket) -> Option<(CloseCode, String)> {
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => {
                return frame.map(|f| (f.code, f.reason.as_str().to_string()))
            }
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    }
}

/// The close frame's code, reading past anything before it.
async fn close_code(socket: &mut Socket) -> Option<CloseCode> {
    closed_with(socket).await.map(|(code, _)| code)
}

async fn submit(base: &str, body: Value) -> String {
    let created: Value = reqwest::Client::new()
        .post(format!("http://{base}/tasks"))
        .json(&body)
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    created["task"]["id"].as_str().expect("id").to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_socket_says_hello_then_streams_filtered_events_in_order() {
    let state = state().await;
    let addr = serve(state.clone()).await;
    let mut tasks = connect(&addr, "?topics=task.submitted,task.cancelled").await;
    let mut all = connect(&addr, "").await;
    let hello = frame(&mut tasks).await;
    assert_eq!(
        hello,
        json!({ "type": "hello", "seq": 0, "topics": ["task.submitted", "task.cancelled"] })
    );
    assert_eq!(frame(&mut all).await["topics"], json!([]));

    let a = submit(&addr, json!({ "type": "a" })).await;
    let b = submit(&addr, json!({ "type": "b", "depends_on": [a] })).await;
    reqwest::Client::new()
        .post(format!("http://{addr}/tasks/{b}/cancel"))
        .send()
        .await
        .expect("cancel");
    let got: Vec<Value> = vec![
        frame(&mut tasks).await,
        frame(&mut tasks).await,
        frame(&mut tasks).await,
    ];
    let seen: Vec<(Value, Value)> = got
        .iter()
        .map(|f| (f["kind"].clone(), f["subject"].clone()))
        .collect();
    assert_eq!(
        seen,
        vec![
            (json!("task.submitted"), json!(a)),
            (json!("task.submitted"), json!(b)),
            (json!("task.cancelled"), json!(b)),
        ]
    );
    assert_eq!(got[0]["type"], "event");
    assert_eq!(got[1]["data"]["depends_on"], json!([a]));
    assert!(got[0]["at"].is_string() && got[0]["seq"].as_u64() < got[1]["seq"].as_u64());
    for seq in 1..=3 {
        assert_eq!(frame(&mut all).await["seq"], seq);
    }

    // A latecomer resumes after event 1 and gets 2 and 3 from the log.
    let mut late = connect(&addr, "?since=1").await;
    assert_eq!(
        frame(&mut late).await["seq"],
        1,
        "hello says where it starts"
    );
    assert_eq!(frame(&mut late).await["seq"], 2);
    assert_eq!(frame(&mut late).await["seq"], 3);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_ping_resubscribe_and_are_told_about_bad_frames() {
    let state = state().await;
    let addr = serve(state.clone()).await;
    let mut ws = connect(&addr, "?topics=agent").await;
    frame(&mut ws).await;
    say(&mut ws, r#"{"type":"ping"}"#).await;
    assert_eq!(frame(&mut ws).await, json!({ "type": "pong" }));
    say(&mut ws, r#"{"type":"subscribe","topics":["task.*"]}"#).await;
    assert_eq!(
        frame(&mut ws).await,
        json!({ "type": "subscribed", "topics": ["task"] })
    );
    let id = submit(&addr, json!({ "type": "x" })).await;
    assert_eq!(frame(&mut ws).await["subject"], json!(id));
    for bad in [
        r#"{"type":"subscribe","topics":["Bad!"]}"#,
        r#"{"type":"dance"}"#,
        "not json",
    ] {
        say(&mut ws, bad).await;
        let answer = frame(&mut ws).await;
        assert_eq!(answer["type"], "error", "{bad}: {answer}");
        assert!(answer["message"].is_string());
    }
    ws.send(Message::Binary(vec![1, 2].into()))
        .await
        .expect("send");
    assert_eq!(frame(&mut ws).await["type"], "error");
    // Still following tasks after all that.
    let id = submit(&addr, json!({ "type": "y" })).await;
    assert_eq!(frame(&mut ws).await["subject"], json!(id));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_client_is_closed_and_shutdown_closes_the_rest() {
    let mut state = state().await;
    state.ws_ping = Duration::from_millis(100);
    let addr = serve(state.clone()).await;
    let mut silent = connect(&addr, "").await;
    // Not reading means not answering pings: closed with 1008.
    tokio::time::sleep(Duration::from_millis(600)).await;
    assert_eq!(
        closed_with(&mut silent).await,
        Some((CloseCode::Policy, "the client does not read".to_string()))
    );

    let mut lively = connect(&addr, "").await;
    frame(&mut lively).await;
    // Reading answers the pings: still open after several intervals.
    let until = tokio::time::Instant::now() + Duration::from_millis(600);
    while tokio::time::Instant::now() < until {
        if let Ok(msg) = tokio::time::timeout(Duration::from_millis(20), lively.next()).await {
            let msg = msg.expect("open").expect("a frame");
            assert!(msg.is_ping(), "only pings while nothing happens: {msg:?}");
        }
    }
    let id = submit(&addr, json!({ "type": "z" })).await;
    assert_eq!(frame(&mut lively).await["subject"], json!(id));
    let drained = tokio::spawn({
        let state = state.clone();
        async move { state.drain(Duration::from_secs(5)).await }
    });
    assert_eq!(close_code(&mut lively).await, Some(CloseCode::Away));
    drop(lively);
    assert!(drained.await.expect("join"), "every socket finished");
}

/// What a slow reader saw.
#[derive(Debug, Default)]
struct Seen {
    events: u64,
    lagged: u64,
    resync: u64,
}

/// Reads `socket` a few frames at a time with a pause between, until event
/// `last`. Every event must follow the one before, or a `lagged` (the
/// missed events follow) or `resync` (events go on from `next`) notice;
/// a close frame fails the test.
async fn read_slowly(mut socket: Socket, last: u64) -> Seen {
    let hello = frame(&mut socket).await;
    assert_eq!(hello["type"], "hello", "{hello}");
    let mut expected = hello["seq"].as_u64().expect("seq") + 1;
    let mut seen = Seen::default();
    for n in 1.. {
        if n % 20 == 0 {
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
        let f = frame(&mut socket).await;
        match f["type"].as_str() {
            Some("event") => {
                let seq = f["seq"].as_u64().expect("seq");
                assert_eq!(seq, expected, "an unannounced gap: {f}");
                seen.events += 1;
                expected = seq + 1;
                if seq == last {
                    break;
                }
            }
            Some("lagged") => {
                assert_eq!(f["after"], expected - 1, "{f}");
                seen.lagged += 1;
            }
            Some("resync") => {
                assert_eq!(f["after"], expected - 1, "{f}");
                expected = f["next"].as_u64().expect("next");
                assert!(expected <= last, "{f}");
                seen.resync += 1;
            }
            _ => panic!("unexpected frame {f}"),
        }
    }
    seen
}

/// Issue 18: readers that read steadily but more slowly than the feed, on
/// small receive buffers, beside clients that never read. The readers get
/// every event or an explicit `lagged` / `resync` and are never closed;
/// the clients that never read are closed with 1008 "the client does not
/// read". The judgement runs every second here (20 s by default), so the
/// readers pass several while they lag.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_readers_are_told_they_lag_and_only_clients_that_never_read_are_closed() {
    const EVENTS: u64 = 8_000;
    let hive = Hive::builder()
        .memory()
        .without_context()
        .events_retained(2_000)
        .build()
        .await
        .expect("hive");
    let hive = Arc::new(hive);
    let mut state = AppState::new(hive.clone());
    state.ws_ping = Duration::from_secs(1);
    let addr = serve(state).await;

    let started = tokio::time::Instant::now();
    let mut never = Vec::new();
    for _ in 0..2 {
        never.push(connect(&addr, "").await);
    }
    let mut readers = Vec::new();
    for _ in 0..2 {
        let socket = connect_small(&addr, "", 16 * 1024).await;
        readers.push(tokio::spawn(read_slowly(socket, EVENTS)));
    }
    // About 4,000 events a second (the readers take at most 800), of
    // about 250 bytes each.
    let pad = "x".repeat(150);
    for burst in 0..EVENTS / 400 {
        for n in burst * 400..(burst + 1) * 400 {
            let event = hive_core::events::NewEvent::new(
                "test.tick",
                format!("s{n}"),
                json!({ "n": n, "pad": pad }),
            )
            .expect("event");
            hive.events().emit(event);
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }

    // The clients that never read were judged at their second ping (2 s);
    // read them well after that: the reason waits behind what was queued.
    tokio::time::sleep_until(started + Duration::from_secs(6)).await;
    for mut socket in never {
        assert_eq!(
            closed_with(&mut socket).await,
            Some((CloseCode::Policy, "the client does not read".to_string()))
        );
    }
    for reader in readers {
        let seen = reader.await.expect("the reader finished");
        assert!(
            seen.lagged + seen.resync > 0,
            "the reader fell behind and was told: {seen:?}"
        );
        assert!(seen.events > 0, "{seen:?}");
    }
    hive.shutdown().await;
}

#[tokio::test]
async fn ws_errors_are_json() {
    let app = app().await;
    // A plain GET is not an upgrade.
    let got = call(&app, "GET", "/ws/events", None).await;
    assert_error(&got, StatusCode::BAD_REQUEST, "bad_request");
    assert!(
        got.1["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("WebSocket upgrade")),
        "{got:?}"
    );
    assert_error(
        &call(&app, "GET", "/ws/events?topics=Bad!", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    );
    assert_error(
        &call(&app, "GET", "/ws/events?since=-1", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    assert_error(
        &call(&app, "GET", "/ws/events?colour=red", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
    // With a token: the query parameter is accepted, a wrong one is a 401.
    let secured = router(state().await.with_token("s3cret"));
    let got = call(&secured, "GET", "/ws/events?token=s3cret", None).await;
    assert!(
        got.0.is_client_error() && got.0 != StatusCode::UNAUTHORIZED,
        "{got:?}"
    );
    assert_error(
        &call(&secured, "GET", "/ws/events?token=nope", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
    // ... only on the WebSocket route.
    assert_error(
        &call(&secured, "GET", "/events?token=s3cret", None).await,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
    );
}

#[tokio::test]
async fn events_read_back_a_page_at_a_time() {
    let state = state().await;
    let app = router(state.clone());
    for t in ["a", "b", "c"] {
        let (status, _) = call(
            &app,
            "POST",
            "/tasks",
            Some(&json!({ "type": t }).to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::CREATED);
    }
    // The feed is written in the background.
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while state.hive.events().position() < 3 {
        assert!(tokio::time::Instant::now() < until);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, page) = call(&app, "GET", "/events?limit=2", None).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(page["events"].as_array().map(Vec::len), Some(2));
    assert_eq!(
        (page["next"].clone(), page["seq"].clone()),
        (json!(2), json!(3))
    );
    let (_, rest) = call(&app, "GET", "/events?after=2&topics=task.submitted", None).await;
    assert_eq!(rest["events"][0]["data"]["type"], "c");
    let (_, none) = call(&app, "GET", "/events?after=3&topics=agent", None).await;
    assert_eq!(none["events"], json!([]));
    assert_eq!(none["next"], 3);
    // The limit counts the events that pass the filter: the first two
    // events are not cancellations, the ones asked for come after them.
    let ids: Vec<String> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .map(|e| e["subject"].as_str().expect("subject").to_string())
        .collect();
    for id in &ids {
        let (status, _) = call(&app, "POST", &format!("/tasks/{id}/cancel"), None).await;
        assert_eq!(status, StatusCode::OK);
    }
    while state.hive.events().position() < 5 {
        assert!(tokio::time::Instant::now() < until);
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (_, cancelled) = call(&app, "GET", "/events?limit=1&topics=task.cancelled", None).await;
    assert_eq!(cancelled["events"][0]["seq"], 4, "{cancelled}");
    assert_eq!(cancelled["events"][0]["subject"], json!(ids[0]));
    assert_eq!(cancelled["next"], 4, "the next page starts after it");
    let (_, rest) = call(
        &app,
        "GET",
        "/events?after=4&limit=5&topics=task.cancelled",
        None,
    )
    .await;
    assert_eq!(rest["events"].as_array().map(Vec::len), Some(1), "{rest}");
    assert_eq!(
        (rest["events"][0]["seq"].clone(), rest["next"].clone()),
        (json!(5), json!(5))
    );
    for bad in [
        "/events?limit=0",
        "/events?limit=1001",
        "/events?after=x",
        "/events?x=1",
    ] {
        assert_error(
            &call(&app, "GET", bad, None).await,
            StatusCode::BAD_REQUEST,
            "bad_request",
        );
    }
    assert_error(
        &call(&app, "GET", "/events?topics=A", None).await,
        StatusCode::BAD_REQUEST,
        "invalid_input",
    );
}

/// Registers a remote agent; answers its id.
async fn remote_agent(app: &axum::Router, name: &str, caps: &[&str]) -> String {
    let (status, agent) = call(
        app,
        "POST",
        "/agents",
        Some(&json!({ "name": name, "capabilities": caps }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    agent["id"].as_str().expect("id").to_string()
}

/// Claims one task for `agent` (waiting up to 5 s); answers the token.
async fn claim_one(app: &axum::Router, agent: &str) -> String {
    let (status, claimed) = call(
        app,
        "POST",
        &format!("/agents/{agent}/claim"),
        Some(r#"{"wait_ms": 5000}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    claimed["leases"][0]["token"]
        .as_str()
        .expect("a lease")
        .to_string()
}

#[tokio::test]
async fn a_remote_agent_claims_and_answers_work_over_http() {
    let app = app().await;
    let agent = remote_agent(&app, "remote-1", &["step"]).await;
    let (_, nothing) = call(&app, "POST", &format!("/agents/{agent}/claim"), Some("{}")).await;
    assert_eq!(nothing, json!({ "leases": [] }));
    let task = json!({ "type": "s", "capabilities": ["step"], "max_attempts": 2 }).to_string();
    let (_, other) = call(
        &app,
        "POST",
        "/tasks",
        Some(&json!({ "type": "t", "capabilities": ["gpu"] }).to_string()),
    )
    .await;
    let (_, first) = call(&app, "POST", "/tasks", Some(&task)).await;
    let first = first["task"]["id"].as_str().expect("id").to_string();

    let (status, claimed) = call(
        &app,
        "POST",
        &format!("/agents/{agent}/claim"),
        Some(r#"{"max": 5, "wait_ms": 1000}"#),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    let leases = claimed["leases"].as_array().expect("leases");
    assert_eq!(
        leases.len(),
        1,
        "only what its capabilities allow: {claimed}"
    );
    let lease = &leases[0];
    assert_eq!(lease["task"]["id"], json!(first));
    assert_eq!(lease["task"]["worker"], json!(format!("agent-{agent}")));
    assert!(lease["expires_at"].is_string() && lease["deadline"].is_string());
    let token = lease["token"].as_str().expect("token").to_string();

    let (status, beat) = call(
        &app,
        "POST",
        &format!("/tasks/{first}/heartbeat"),
        Some(&json!({ "token": token }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{beat}");
    assert!(beat["expires_at"].is_string());
    let (status, failed) = call(
        &app,
        "POST",
        &format!("/tasks/{first}/fail"),
        Some(&json!({ "token": token, "error": "flaky" }).to_string()),
    )
    .await;
    assert_eq!(
        (status, failed["outcome"].clone()),
        (StatusCode::OK, json!("retrying"))
    );
    // The old attempt's token is stale now.
    assert_error(
        &call(
            &app,
            "POST",
            &format!("/tasks/{first}/complete"),
            Some(&json!({ "token": token }).to_string()),
        )
        .await,
        StatusCode::CONFLICT,
        "stale_lease",
    );

    // Second attempt: given back, then claimed again and completed.
    let token = claim_one(&app, &agent).await;
    let (status, released) = call(
        &app,
        "POST",
        &format!("/tasks/{first}/release"),
        Some(&json!({ "token": token }).to_string()),
    )
    .await;
    assert_eq!(
        (status, released["status"].clone()),
        (StatusCode::OK, json!("pending"))
    );
    let token = claim_one(&app, &agent).await;
    let (status, done) = call(
        &app,
        "POST",
        &format!("/tasks/{first}/complete"),
        Some(&json!({ "token": token, "result": { "ok": true } }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{done}");
    assert_eq!(
        (done["status"].clone(), done["result"].clone()),
        (json!("completed"), json!({ "ok": true }))
    );

    // A permanent failure dead-letters at once.
    let (_, second) = call(&app, "POST", "/tasks", Some(&task)).await;
    let second = second["task"]["id"].as_str().expect("id").to_string();
    let token = claim_one(&app, &agent).await;
    let (_, failed) = call(
        &app,
        "POST",
        &format!("/tasks/{second}/fail"),
        Some(&json!({ "token": token, "error": "no", "permanent": true }).to_string()),
    )
    .await;
    assert_eq!(failed["outcome"], "dead_lettered");
    assert_eq!(
        other["task"]["status"], "pending",
        "the gpu task was never offered"
    );
}

#[tokio::test]
async fn remote_work_errors_are_4xx_with_the_json_body() {
    let app = app().await;
    let agent = remote_agent(&app, "remote-2", &["step"]).await;
    let claim = format!("/agents/{agent}/claim");
    let unknown = uuid::Uuid::new_v4();
    let token = json!({ "token": uuid::Uuid::new_v4() }).to_string();
    let cases: Vec<(&str, String, Option<String>, StatusCode, &str)> = vec![
        (
            "POST",
            "/agents/nope/claim".into(),
            Some("{}".into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            format!("/agents/{unknown}/claim"),
            Some("{}".into()),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            claim.clone(),
            Some(r#"{"max": 0}"#.into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            claim.clone(),
            Some(r#"{"max": 101}"#.into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            claim.clone(),
            Some(r#"{"wait_ms": 20001}"#.into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            claim.clone(),
            Some(r#"{"wait_ms": "soon"}"#.into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            claim.clone(),
            Some(r#"{"colour": 1}"#.into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            claim.clone(),
            Some("{".into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            format!("/tasks/{unknown}/complete"),
            Some(token.clone()),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            "/tasks/x/complete".into(),
            Some(token.clone()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            format!("/tasks/{unknown}/complete"),
            Some(r#"{"token": "x"}"#.into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            format!("/tasks/{unknown}/fail"),
            Some(token.clone()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
        (
            "POST",
            format!("/tasks/{unknown}/heartbeat"),
            Some(token.clone()),
            StatusCode::NOT_FOUND,
            "not_found",
        ),
        (
            "POST",
            format!("/tasks/{unknown}/release"),
            Some("{}".into()),
            StatusCode::BAD_REQUEST,
            "bad_request",
        ),
    ];
    for (method, uri, body, status, code) in cases {
        let got = call(&app, method, &uri, body.as_deref()).await;
        assert_eq!(got.0, status, "{method} {uri} {body:?}: {got:?}");
        assert_eq!(
            got.1["error"]["code"], code,
            "{method} {uri} {body:?}: {got:?}"
        );
    }
    // A terminated agent takes no more work.
    let (status, _) = call(&app, "DELETE", &format!("/agents/{agent}"), None).await;
    assert_eq!(status, StatusCode::OK);
    assert_error(
        &call(&app, "POST", &claim, Some("{}")).await,
        StatusCode::CONFLICT,
        "conflict",
    );
}

/// The hive is shared, so events from the router and from the hive itself
/// (agents inside the server) land in one feed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn agents_inside_the_server_show_in_the_feed() {
    let hive = Hive::builder()
        .memory()
        .without_context()
        .build()
        .await
        .expect("hive");
    let hive = Arc::new(hive);
    let addr = serve(AppState::new(hive.clone())).await;
    let mut ws = connect(&addr, "?topics=task.completed,agent.registered").await;
    frame(&mut ws).await;
    hive.spawn_agent(hive_core::agent::agent_fn(
        "inside",
        ["in"],
        |t, _| async move { Ok(t.payload) },
    ))
    .await
    .expect("spawn");
    assert_eq!(frame(&mut ws).await["kind"], "agent.registered");
    let id = submit(&addr, json!({ "type": "in", "capabilities": ["in"] })).await;
    let done = frame(&mut ws).await;
    assert_eq!(
        (done["kind"].clone(), done["subject"].clone()),
        (json!("task.completed"), json!(id))
    );
    hive.shutdown().await;
}
