//! One request followed across two processes by its W3C `traceparent`:
//! a task submitted to one `hive serve` (over HTTP with the header, and
//! with `hive task submit --traceparent`) is run by a webhook agent in a
//! second one sharing Redis and Postgres. The task keeps the trace, the
//! second process's log lines for the task carry its trace id, the task's
//! events (read from the first process) carry it, and the endpoint gets a
//! child `traceparent` — same trace, its own parent id.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use hive_core::conformance::service_url;
use serde_json::{json, Value};

use super::declared::{serve_with, wait_final};

const TRACE: &str = "4bf92f3577b34da6a3ce929d0e0e4736";
const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
const CLI_TRACE: &str = "0af7651916cd43dd8448eb211c80319c";
const CLI_TP: &str = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00";

/// An endpoint that answers 503 to the first call of each task and then
/// the payload, keeping every `traceparent` header it was sent.
async fn traced_endpoint() -> (String, Arc<Mutex<Vec<String>>>) {
    use axum::routing::post;
    let seen = Arc::new(Mutex::new(Vec::<String>::new()));
    let kept = seen.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(
            move |headers: axum::http::HeaderMap, body: axum::Json<Value>| {
                let kept = kept.clone();
                async move {
                    let tp = headers
                        .get("traceparent")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or("")
                        .to_string();
                    let first = {
                        let mut seen = kept.lock().expect("lock");
                        let first = !seen
                            .iter()
                            .any(|s| s.split('-').nth(1) == tp.split('-').nth(1));
                        seen.push(tp);
                        first
                    };
                    if first {
                        return (
                            axum::http::StatusCode::SERVICE_UNAVAILABLE,
                            axum::Json(json!({"error": "warming up"})),
                        );
                    }
                    (
                        axum::http::StatusCode::OK,
                        axum::Json(json!({"echo": body["task"]["payload"]})),
                    )
                }
            },
        ),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), seen)
}

fn json_lines(path: &std::path::Path) -> Vec<Value> {
    let log = std::fs::read_to_string(path).expect("log");
    log.lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_request_is_followed_across_two_processes_by_its_traceparent() {
    let (Some(redis), Some(pg)) = (
        service_url("HIVE_TEST_REDIS_URL"),
        service_url("HIVE_TEST_DATABASE_URL"),
    ) else {
        return;
    };
    let capability = format!("traced-{}", uuid::Uuid::new_v4().simple());
    let (hook, seen) = traced_endpoint().await;
    let env = [
        ("HIVE_LOG_FORMAT", "json"),
        ("HIVE_REDIS_URL", redis.as_str()),
        ("HIVE_DATABASE_URL", pg.as_str()),
    ];
    let (front_dir, back_dir) = (
        tempfile::tempdir().expect("dir"),
        tempfile::tempdir().expect("dir"),
    );
    let front = serve_with(front_dir.path(), "", front_dir.path(), &env).await;
    let toml = format!(
        "[[agents]]\nname = \"traced-hook\"\nkind = \"http\"\nurl = \"{hook}\"\n\
         capabilities = [\"{capability}\"]\n"
    );
    let back = serve_with(back_dir.path(), &toml, back_dir.path(), &env).await;

    // The shared event log holds other tests' events too: this test reads
    // from where the log stands now.
    let client = reqwest::Client::new();
    let start: Value = client
        .get(format!("{}/events?limit=1", front.base))
        .send()
        .await
        .expect("events")
        .json()
        .await
        .expect("json");
    let start = start["seq"].as_u64().expect("seq");

    // Over HTTP, with the header.
    let created = client
        .post(format!("{}/tasks", front.base))
        .header("traceparent", TP)
        .json(&json!({"type": "traced", "payload": {"n": 1}, "capabilities": [capability]}))
        .send()
        .await
        .expect("submit");
    assert_eq!(created.status(), 201);
    let created: Value = created.json().await.expect("json");
    assert_eq!(created["task"]["traceparent"], TP, "{created}");
    let id = created["task"]["id"].as_str().expect("id").to_string();

    // A malformed header is refused with the reason, and nothing is stored.
    let refused = client
        .post(format!("{}/tasks", front.base))
        .header("traceparent", "00-nope-01")
        .json(&json!({"type": "traced", "capabilities": [capability]}))
        .send()
        .await
        .expect("submit");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("json");
    assert!(
        body["error"]["message"]
            .as_str()
            .is_some_and(|m| m.contains("traceparent")),
        "{body}"
    );

    // From the CLI, with --traceparent.
    let base = front.base.clone();
    let cap = capability.clone();
    let out = tokio::task::spawn_blocking(move || {
        std::process::Command::new(env!("CARGO_BIN_EXE_hive"))
            .args([
                "task",
                "submit",
                "traced",
                "--requires",
                &cap,
                "--traceparent",
                CLI_TP,
            ])
            .args(["--wait", "--timeout", "30s", "--server", &base])
            .env_remove("HIVE_TOKEN")
            .env_remove("HIVE_SERVER")
            .output()
            .expect("run hive")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    assert!(out.status.success(), "{out:?}");
    assert!(
        stdout.contains(CLI_TP),
        "the task shows its trace: {stdout}"
    );

    let task = wait_final(&front.base, &id, Duration::from_secs(30)).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["traceparent"], TP);
    assert_ne!(
        task["worker"],
        Value::Null,
        "the second process's agent ran it"
    );

    // The endpoint got the trace, as a child span: same trace id, its own
    // parent id per request, never the caller's.
    let headers = seen.lock().expect("lock").clone();
    let ours: Vec<&String> = headers
        .iter()
        .filter(|h| h.split('-').nth(1) == Some(TRACE))
        .collect();
    assert_eq!(ours.len(), 2, "a 503, then the answer: {headers:?}");
    for h in &ours {
        let parts: Vec<&str> = h.split('-').collect();
        assert_eq!(parts.len(), 4, "{h}");
        assert_eq!((parts[0], parts[3]), ("00", "01"), "{h}");
        assert_ne!(parts[2], "00f067aa0ba902b7", "a fresh parent id: {h}");
    }
    assert_ne!(ours[0], ours[1], "one parent id per request");
    assert!(
        headers
            .iter()
            .any(|h| h.split('-').nth(1) == Some(CLI_TRACE)),
        "{headers:?}"
    );

    // The task's events, read from the first process, carry the trace —
    // the claim was made by the second.
    let page: Value = reqwest::get(format!(
        "{}/events?topics=task.submitted,task.claimed&limit=1000&after={start}",
        front.base
    ))
    .await
    .expect("events")
    .json()
    .await
    .expect("json");
    let mine: Vec<&Value> = page["events"]
        .as_array()
        .expect("events")
        .iter()
        .filter(|e| e["subject"] == id.as_str())
        .collect();
    let kinds: Vec<&str> = mine.iter().filter_map(|e| e["kind"].as_str()).collect();
    assert!(
        kinds.contains(&"task.submitted") && kinds.contains(&"task.claimed"),
        "{page}"
    );
    for e in &mine {
        assert_eq!(e["data"]["trace_id"], TRACE, "{e}");
        assert_eq!(e["data"]["traceparent"], TP, "{e}");
    }

    assert!(front.terminate().is_some_and(|s| s.success()));
    assert!(back.terminate().is_some_and(|s| s.success()));

    // The second process's lines for the task carry the trace id (the
    // webhook agent warns about the 503 while it works on it).
    let back_lines = json_lines(&back_dir.path().join("serve.log"));
    let traced: Vec<&Value> = back_lines
        .iter()
        .filter(|l| {
            l["spans"].as_array().is_some_and(|spans| {
                spans.iter().any(|s| {
                    s["name"] == "task" && s["task_id"] == id.as_str() && s["trace_id"] == TRACE
                })
            })
        })
        .collect();
    assert!(
        traced.iter().any(|l| l["level"] == "WARN"
            && l["fields"]["message"]
                .as_str()
                .is_some_and(|m| m.contains("webhook"))),
        "no line of the agent's carries the trace: {back_lines:#?}"
    );
    // The first process's line for the request carries it too.
    let front_lines = json_lines(&front_dir.path().join("serve.log"));
    assert!(
        front_lines
            .iter()
            .any(|l| l["fields"]["path"] == "/tasks" && l["spans"][0]["trace_id"] == TRACE),
        "{front_lines:#?}"
    );
}
