//! `GET /outcomes` and `GET /outcomes/metrics`: the outcomes of the tasks
//! an agent finished and their metrics, with bad queries refused; and
//! `hive outcomes list|metrics` against a running `hive serve` whose
//! declared webhook agent did the work.

use std::time::Duration;

use axum::http::StatusCode;
use hive_core::agent::agent_fn;
use hive_core::queue::{QueueExt, TaskFailure};
use serde_json::{json, Value};

use super::declared::{run_task, serve_with, webhook};
use super::{assert_error, call, state};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn outcomes_and_their_metrics_over_http() {
    let state = state().await;
    let app = hive_server::router(state.clone());
    state
        .hive
        .spawn_agent(agent_fn("measured", ["measure"], |t, _cx| async move {
            let n = t.payload["n"].as_u64().unwrap_or(0);
            if n % 3 == 0 {
                return Err(TaskFailure::permanent("every third fails"));
            }
            Ok(json!({"prompt_version": "v3", "usage": {"input_tokens": n, "output_tokens": 1}}))
        }))
        .await
        .expect("spawn");
    let mut ids = Vec::new();
    for n in 0..6 {
        let body = json!({"type": "measure", "payload": {"n": n}, "capabilities": ["measure"], "max_attempts": 1});
        let (status, created) = call(&app, "POST", "/tasks", Some(&body.to_string())).await;
        assert_eq!(status, StatusCode::CREATED, "{created}");
        ids.push(created["task"]["id"].as_str().expect("id").to_string());
    }
    for id in &ids {
        state
            .hive
            .queue()
            .wait_until_final(id.parse().expect("id"), Duration::from_secs(20))
            .await
            .expect("ends");
    }

    let (status, metrics) = call(&app, "GET", "/outcomes/metrics?group_by=agent", None).await;
    assert_eq!(status, StatusCode::OK, "{metrics}");
    assert_eq!(metrics.as_array().map(Vec::len), Some(1), "{metrics}");
    let m = &metrics[0];
    assert_eq!(m["key"], "measured");
    assert_eq!(
        (
            m["tasks"].as_u64(),
            m["succeeded"].as_u64(),
            m["dead_lettered"].as_u64()
        ),
        (Some(6), Some(4), Some(2))
    );
    assert_eq!(m["input_tokens"], 1 + 2 + 4 + 5);
    let (_, versions) = call(
        &app,
        "GET",
        "/outcomes/metrics?group_by=prompt_version&type=measure",
        None,
    )
    .await;
    let counts: Vec<(Value, Value)> = versions
        .as_array()
        .expect("array")
        .iter()
        .map(|v| (v["key"].clone(), v["tasks"].clone()))
        .collect();
    assert_eq!(
        counts,
        vec![(Value::Null, json!(2)), (json!("v3"), json!(4))]
    );
    let (_, all) = call(&app, "GET", "/outcomes/metrics", None).await;
    assert_eq!(all[0]["key"], Value::Null);
    assert_eq!(all[0]["tasks"], 6);

    let (status, listed) = call(&app, "GET", "/outcomes?agent=measured&limit=4", None).await;
    assert_eq!(status, StatusCode::OK, "{listed}");
    let listed = listed.as_array().expect("array");
    assert_eq!(listed.len(), 4);
    assert!(listed
        .iter()
        .all(|o| ids.contains(&o["task_id"].as_str().unwrap_or("").to_string())));
    let (_, none) = call(&app, "GET", "/outcomes?since=2999-01-01T00:00:00Z", None).await;
    assert_eq!(none, json!([]));

    for bad in [
        "/outcomes/metrics?group_by=colour",
        "/outcomes/metrics?limit=5",
        "/outcomes?limit=0",
        "/outcomes?group_by=agent",
        "/outcomes?since=yesterday",
        "/outcomes?colour=blue",
    ] {
        let got = call(&app, "GET", bad, None).await;
        // A query that does not parse is `bad_request`; one the hive
        // refuses, `invalid_input`: both a 400 saying why.
        let code = got.1["error"]["code"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        assert_error(&got, StatusCode::BAD_REQUEST, &code);
        assert!(
            ["bad_request", "invalid_input"].contains(&code.as_str()),
            "{bad}: {got:?}"
        );
    }
}

/// An agent running elsewhere that answers over `/tasks/{id}/complete`
/// and `/fail` leaves outcomes too, named and timed from the stored task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_remote_agents_answers_leave_outcomes() {
    let app = hive_server::router(state().await);
    let body = json!({"name": "far", "capabilities": ["far"]}).to_string();
    let (status, agent) = call(&app, "POST", "/agents", Some(&body)).await;
    assert_eq!(status, StatusCode::CREATED, "{agent}");
    let agent_id = agent["id"].as_str().expect("id").to_string();
    for n in 0..3 {
        let body = json!({"type": "far-work", "payload": {"n": n}, "capabilities": ["far"], "max_attempts": 1});
        let (status, _) = call(&app, "POST", "/tasks", Some(&body.to_string())).await;
        assert_eq!(status, StatusCode::CREATED);
    }
    let (status, leases) = call(
        &app,
        "POST",
        &format!("/agents/{agent_id}/claim"),
        Some(&json!({"max": 3}).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{leases}");
    let leases = leases["leases"].as_array().expect("leases").clone();
    assert_eq!(leases.len(), 3, "{leases:?}");
    for (i, l) in leases.iter().enumerate() {
        let id = l["task"]["id"].as_str().expect("id");
        let token = &l["token"];
        let (path, body) = if i == 0 {
            (
                "fail",
                json!({"token": token, "error": "no", "permanent": true}),
            )
        } else {
            (
                "complete",
                json!({"token": token, "result": {"usage": {"input_tokens": 5, "output_tokens": 1}, "cost_usd": 0.25}}),
            )
        };
        let (status, answer) = call(
            &app,
            "POST",
            &format!("/tasks/{id}/{path}"),
            Some(&body.to_string()),
        )
        .await;
        assert_eq!(status, StatusCode::OK, "{answer}");
    }
    let (_, metrics) = call(
        &app,
        "GET",
        "/outcomes/metrics?group_by=agent&type=far-work",
        None,
    )
    .await;
    assert_eq!(metrics.as_array().map(Vec::len), Some(1), "{metrics}");
    let m = &metrics[0];
    assert_eq!(m["key"], "far");
    assert_eq!(
        (
            m["tasks"].as_u64(),
            m["succeeded"].as_u64(),
            m["dead_lettered"].as_u64()
        ),
        (Some(3), Some(2), Some(1))
    );
    assert_eq!(m["input_tokens"], 10);
    assert_eq!(m["cost_usd"], 0.5);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_shows_outcomes_and_metrics() {
    let dir = tempfile::tempdir().expect("dir");
    let (hook, _calls) = webhook().await;
    let toml = format!(
        "[[agents]]\nname = \"hooked\"\nkind = \"http\"\nurl = \"{hook}\"\ncapabilities = [\"hooked\"]\n"
    );
    let server = serve_with(dir.path(), &toml, dir.path(), &[]).await;
    let task = run_task(
        &server.base,
        "hooked",
        json!({"n": 1}),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(task["status"], "completed", "{task}");
    let base = server.base.clone();
    let run = move |args: &[&str]| {
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_hive"))
            .args(args)
            .args(["--server", &base])
            .env_remove("HIVE_TOKEN")
            .env_remove("HIVE_SERVER")
            .output()
            .expect("run hive");
        assert!(out.status.success(), "{args:?}: {out:?}");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    let (table, listed) = tokio::task::spawn_blocking(move || {
        (
            run(&["outcomes", "metrics", "--by", "agent", "--since", "1h"]),
            run(&["outcomes", "list", "--agent", "hooked", "--json"]),
        )
    })
    .await
    .expect("join");
    let row = table
        .lines()
        .find(|l| l.starts_with("hooked"))
        .unwrap_or_else(|| panic!("no row for the agent:\n{table}"));
    assert!(row.contains("100.0 %"), "{row}");
    let listed: Value = serde_json::from_str(&listed).expect("json");
    assert_eq!(listed[0]["task_id"], task["id"], "{listed}");
    assert_eq!(listed[0]["status"], "completed");
    assert!(server.terminate().is_some_and(|s| s.success()));
}
