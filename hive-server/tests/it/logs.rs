//! `hive serve --log-format json`: one JSON object a line; a line logged
//! while a request is served carries its request id (the client's
//! `x-request-id`), and a line an agent logs while it works carries the
//! task's id.

use serde_json::{json, Value};

use super::declared::{run_task, serve_with, webhook};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn json_logs_carry_the_request_id_and_the_task_id() {
    let dir = tempfile::tempdir().expect("dir");
    let (hook, _calls) = webhook().await;
    let toml = format!(
        "[[agents]]\nname = \"hook\"\nkind = \"http\"\nurl = \"{hook}\"\ncapabilities = [\"logged\"]\n"
    );
    let server = serve_with(
        dir.path(),
        &toml,
        dir.path(),
        &[("HIVE_LOG_FORMAT", "json")],
    )
    .await;
    let answer = reqwest::Client::new()
        .get(format!("{}/queue/stats", server.base))
        .header("x-request-id", "req-logs-1")
        .send()
        .await
        .expect("stats");
    assert_eq!(answer.status(), 200);
    // The webhook answers 503 first: the agent logs a warning while it
    // works on the task, then completes it.
    let task = run_task(
        &server.base,
        "logged",
        json!({"n": 1}),
        std::time::Duration::from_secs(30),
    )
    .await;
    assert_eq!(task["status"], "completed", "{task}");
    let id = task["id"].as_str().expect("id").to_string();
    assert!(server.terminate().is_some_and(|s| s.success()));

    let log = std::fs::read_to_string(dir.path().join("serve.log")).expect("log");
    let lines: Vec<Value> = log
        .lines()
        .map(|l| serde_json::from_str(l).unwrap_or_else(|e| panic!("not JSON ({e}): {l}")))
        .collect();
    assert!(lines.len() > 3, "{log}");
    let request = lines
        .iter()
        .find(|l| l["fields"]["request_id"] == "req-logs-1")
        .unwrap_or_else(|| panic!("no line with the request id:\n{log}"));
    assert_eq!(request["fields"]["path"], "/queue/stats");
    assert_eq!(request["spans"][0]["request_id"], "req-logs-1", "{request}");
    let warned = lines
        .iter()
        .find(|l| {
            l["level"] == "WARN"
                && l["fields"]["message"]
                    .as_str()
                    .is_some_and(|m| m.contains("webhook"))
        })
        .unwrap_or_else(|| panic!("no warning from the agent:\n{log}"));
    let spans = warned["spans"].as_array().expect("spans");
    assert!(
        spans
            .iter()
            .any(|s| s["name"] == "task" && s["task_id"] == id.as_str() && s["agent"] == "hook"),
        "the agent's line carries the task: {warned}"
    );
}
