//! End to end over real processes: `hive serve` on free ports, a DAG
//! submitted over HTTP, run by a remote agent that claims and completes
//! over HTTP, watched to the end over `/ws/events`, then SIGTERM — the
//! socket is closed with 1001 and the process exits 0.
//!
//! Embedded: one server. Distributed: two servers sharing Redis and
//! Postgres (`HIVE_TEST_REDIS_URL`, `HIVE_TEST_DATABASE_URL`, set by
//! `./scripts/test`): the DAG goes in through one, the agent works through
//! the other, and the first one's socket sees every step.

use std::collections::{BTreeMap, HashSet};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt;
use hive_core::conformance::{service_url, unique_name};
use serde_json::{json, Value};
use tokio_tungstenite::tungstenite::protocol::frame::coding::CloseCode;
use tokio_tungstenite::tungstenite::Message;

use super::binary::Server;

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn post(base: &str, path: &str, body: Value) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("request");
    let status = res.status();
    let body: Value = res.json().await.expect("json");
    assert!(status.is_success(), "POST {path}: {status} {body}");
    body
}

/// Submits a diamond: a → (b, c) → d. Answers the ids by name.
async fn submit_dag(base: &str, run: &str) -> BTreeMap<&'static str, String> {
    let mut ids = BTreeMap::new();
    for (name, deps) in [
        ("a", vec![]),
        ("b", vec!["a"]),
        ("c", vec!["a"]),
        ("d", vec!["b", "c"]),
    ] {
        let depends_on: Vec<&String> = deps.iter().map(|d| &ids[d]).collect();
        let created = post(
            base,
            "/tasks",
            json!({
                "type": format!("{run}-{name}"),
                "payload": { "step": name },
                "capabilities": [run],
                "depends_on": depends_on,
            }),
        )
        .await;
        let id = created["task"]["id"].as_str().expect("id").to_string();
        ids.insert(name, id);
    }
    ids
}

/// A remote agent working through `base` until `stop`: claims (long
/// polling) and completes each task with its step name.
fn remote_worker(
    base: String,
    agent: String,
    stop: Arc<AtomicBool>,
) -> tokio::task::JoinHandle<usize> {
    tokio::spawn(async move {
        let mut done = 0;
        while !stop.load(Ordering::Relaxed) {
            let claimed = post(
                &base,
                &format!("/agents/{agent}/claim"),
                json!({ "max": 4, "wait_ms": 500 }),
            )
            .await;
            for lease in claimed["leases"].as_array().into_iter().flatten() {
                let id = lease["task"]["id"].as_str().expect("id");
                let step = lease["task"]["payload"]["step"].clone();
                post(
                    &base,
                    &format!("/tasks/{id}/complete"),
                    json!({ "token": lease["token"], "result": { "step": step } }),
                )
                .await;
                done += 1;
            }
        }
        done
    })
}

/// Reads task events until every id has completed; answers the completion
/// order and the kinds seen per id.
async fn watch_until_done(
    ws: &mut Socket,
    ids: &BTreeMap<&'static str, String>,
) -> (Vec<String>, BTreeMap<String, Vec<String>>) {
    let wanted: HashSet<&String> = ids.values().collect();
    let mut completed = Vec::new();
    let mut kinds: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let mut last_seq = 0;
    while completed.len() < wanted.len() {
        let msg = tokio::time::timeout(Duration::from_secs(30), ws.next())
            .await
            .expect("events keep coming")
            .expect("open")
            .expect("frame");
        let Message::Text(text) = msg else { continue };
        let frame: Value = serde_json::from_str(text.as_str()).expect("json");
        if frame["type"] == "hello" && last_seq == 0 {
            last_seq = frame["seq"].as_u64().expect("hello seq");
            continue;
        }
        assert_eq!(frame["type"], "event", "no lag or resync expected: {frame}");
        let seq = frame["seq"].as_u64().expect("seq");
        assert!(seq > last_seq, "in order: {seq} after {last_seq}");
        last_seq = seq;
        let subject = frame["subject"].as_str().unwrap_or_default().to_string();
        if !wanted.contains(&subject) {
            continue;
        }
        let kind = frame["kind"].as_str().unwrap_or_default().to_string();
        if kind == "task.completed" {
            completed.push(subject.clone());
        }
        kinds.entry(subject).or_default().push(kind);
    }
    (completed, kinds)
}

/// The whole story on `front` (submit + watch) and `back` (the agent);
/// answers the socket, still open on `front`.
async fn run_dag(front: &Server, back: &Server) -> Socket {
    let run = unique_name("dag");
    let ws_url = format!(
        "{}/ws/events?topics=task",
        front.base.replacen("http", "ws", 1)
    );
    let (mut ws, _) = tokio_tungstenite::connect_async(ws_url)
        .await
        .expect("connect");
    let agent = post(
        &back.base,
        "/agents",
        json!({ "name": run, "capabilities": [run] }),
    )
    .await;
    let agent = agent["id"].as_str().expect("agent id").to_string();
    let stop = Arc::new(AtomicBool::new(false));
    let worker = remote_worker(back.base.clone(), agent.clone(), stop.clone());

    let ids = submit_dag(&front.base, &run).await;
    let (order, kinds) = watch_until_done(&mut ws, &ids).await;
    stop.store(true, Ordering::Relaxed);
    assert_eq!(worker.await.expect("worker"), 4);

    let at = |name: &str| {
        order
            .iter()
            .position(|id| id == &ids[name])
            .expect("completed")
    };
    assert!(at("a") < at("b") && at("a") < at("c"), "{order:?}");
    assert!(at("b") < at("d") && at("c") < at("d"), "{order:?}");
    for (name, id) in &ids {
        // Within a process an effect never precedes its cause; across
        // processes events are in the order they reached the log, so only
        // the agent's own claim → complete order is certain here.
        let mut story = kinds[id].clone();
        assert_eq!(
            story.last().map(String::as_str),
            Some("task.completed"),
            "{name}: {story:?}"
        );
        story.sort();
        assert_eq!(
            story,
            ["task.claimed", "task.completed", "task.submitted"],
            "{name}'s story"
        );
    }
    let d: Value = reqwest::get(format!("{}/tasks/{}", front.base, ids["d"]))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(d["status"], "completed");
    assert_eq!(d["result"], json!({ "step": "d" }));
    assert_eq!(d["worker"], json!(format!("agent-{agent}")));

    ws
}

/// SIGTERM to `server` while `ws` (open on it) waits: the socket is told
/// the server is going away (1001) and the process exits 0.
async fn stop_cleanly(server: Server, mut ws: Socket) {
    let stopped = tokio::task::spawn_blocking(move || server.terminate());
    let code = loop {
        match tokio::time::timeout(Duration::from_secs(30), ws.next()).await {
            Ok(Some(Ok(Message::Close(frame)))) => break frame.map(|f| f.code),
            Ok(Some(Ok(_))) => {}
            other => panic!("expected a close frame, got {other:?}"),
        }
    };
    assert_eq!(code, Some(CloseCode::Away));
    let status = stopped.await.expect("join");
    assert!(
        status.is_some_and(|s| s.success()),
        "exit on SIGTERM: {status:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dag_over_http_watched_over_websocket_on_the_embedded_default() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hive.db").display().to_string();
    let server = Server::start_with(&["--db", &db], &[]).await;
    let ws = run_dag(&server, &server).await;
    stop_cleanly(server, ws).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dag_across_two_servers_sharing_redis_and_postgres() {
    let (Some(redis), Some(pg)) = (
        service_url("HIVE_TEST_REDIS_URL"),
        service_url("HIVE_TEST_DATABASE_URL"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let mut servers = Vec::new();
    for n in 0..2 {
        let db = dir.path().join(format!("hive{n}.db")).display().to_string();
        servers.push(
            Server::start_with(&["--db", &db, "--redis", &redis, "--postgres", &pg], &[]).await,
        );
    }
    let ws = run_dag(&servers[0], &servers[1]).await;
    let back = servers.pop().expect("two");
    let front = servers.pop().expect("two");
    let status = tokio::task::spawn_blocking(move || back.terminate())
        .await
        .expect("join");
    assert!(
        status.is_some_and(|s| s.success()),
        "exit on SIGTERM: {status:?}"
    );
    stop_cleanly(front, ws).await;
}

/// `hive serve` with `args`, expected to refuse to start: its stderr.
fn refused(args: &[&str]) -> String {
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_hive"))
        .arg("serve")
        .args([
            "--addr",
            &format!("127.0.0.1:{}", super::binary::free_port()),
        ])
        .args(args)
        .env_remove("HIVE_CONFIG")
        .env_remove("HIVE_NO_CONTEXT")
        .output()
        .expect("run hive serve");
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(!out.status.success(), "it started: {stderr}");
    stderr
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_a_postgres_without_pgvector_serve_runs_without_the_context_store_or_says_why_not() {
    let (Some(redis), Some(pg)) = (
        service_url("HIVE_TEST_REDIS_URL"),
        service_url("HIVE_TEST_NOVECTOR_DATABASE_URL"),
    ) else {
        return;
    };
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hive.db").display().to_string();
    let stderr = refused(&["--db", &db, "--redis", &redis, "--postgres", &pg]);
    assert!(
        stderr.contains("pgvector is missing — install it, or run without the context store")
            && stderr.contains("--no-context")
            && !stderr.contains("without_context()"),
        "{stderr}"
    );

    let server = Server::start_with(
        &[
            "--db",
            &db,
            "--redis",
            &redis,
            "--postgres",
            &pg,
            "--no-context",
        ],
        &[],
    )
    .await;
    let ws = run_dag(&server, &server).await;
    let search = reqwest::get(format!("{}/context/search?q=anything", server.base))
        .await
        .expect("search");
    assert_eq!(
        search.status().as_u16(),
        501,
        "no context store: not implemented here"
    );
    stop_cleanly(server, ws).await;
}

#[test]
fn postgres_without_redis_is_refused_in_the_clis_words() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hive.db").display().to_string();
    let stderr = refused(&[
        "--db",
        &db,
        "--postgres",
        "postgres://nobody@127.0.0.1:1/none",
    ]);
    assert!(
        stderr.contains("needs a broker")
            && stderr.contains("--redis")
            && !stderr.contains(".redis(url)"),
        "{stderr}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_second_server_on_one_embedded_file_is_refused_by_name() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hive.db").display().to_string();
    let first = Server::start_with(&["--db", &db], &[]).await;
    let stderr = refused(&["--db", &db]);
    assert!(
        stderr.contains("another `hive serve`")
            && stderr.contains(&db)
            && stderr.contains("would not see each other's events"),
        "{stderr}"
    );
    // The first one is untouched, and once it stops the file is free.
    assert!(reqwest::get(format!("{}/health", first.base))
        .await
        .is_ok_and(|r| r.status().is_success()));
    assert!(first.terminate().is_some_and(|s| s.success()));
    let second = Server::start_with(&["--db", &db], &[]).await;
    assert!(second.terminate().is_some_and(|s| s.success()));
}
