//! A task's history over HTTP: `GET /tasks/{id}/attempts` lists every
//! counted attempt with its agent's name, `GET /tasks/{id}` shows the
//! error only while it is current and names the agent beside `worker`,
//! and a remote agent's claim can name the task types it takes.

use axum::http::StatusCode;
use serde_json::{json, Value};

use super::{app, assert_error, call};

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

/// Claims with `body` for `agent`; answers the leases.
async fn claim(app: &axum::Router, agent: &str, body: Value) -> Vec<Value> {
    let (status, claimed) = call(
        app,
        "POST",
        &format!("/agents/{agent}/claim"),
        Some(&body.to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{claimed}");
    claimed["leases"].as_array().expect("leases").clone()
}

#[tokio::test]
async fn a_task_keeps_every_attempt_and_shows_only_its_current_error() {
    let app = app().await;
    let agent = remote_agent(&app, "historian", &["h"]).await;
    let (_, submitted) = call(
        &app,
        "POST",
        "/tasks",
        Some(&json!({ "type": "h", "capabilities": ["h"], "max_attempts": 3 }).to_string()),
    )
    .await;
    let id = submitted["task"]["id"].as_str().expect("id").to_string();
    let (status, none) = call(&app, "GET", &format!("/tasks/{id}/attempts"), None).await;
    assert_eq!(status, StatusCode::OK, "{none}");
    assert_eq!(none, json!({ "task": id, "attempts": [] }));

    let lease = claim(&app, &agent, json!({})).await.remove(0);
    let token = lease["token"].clone();
    let (status, _) = call(
        &app,
        "POST",
        &format!("/tasks/{id}/fail"),
        Some(&json!({ "token": token, "error": "Traceback: boom" }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    let (_, task) = call(&app, "GET", &format!("/tasks/{id}"), None).await;
    assert_eq!(task["error"], "Traceback: boom", "why it waits: {task}");
    assert_eq!(task["agent_name"], "historian");

    // The retry comes after a short backoff.
    let lease = claim(&app, &agent, json!({ "wait_ms": 10000 }))
        .await
        .remove(0);
    assert_eq!(lease["task"]["error"], Value::Null, "running again");
    let (status, _) = call(
        &app,
        "POST",
        &format!("/tasks/{id}/complete"),
        Some(&json!({ "token": lease["token"], "result": 42 }).to_string()),
    )
    .await;
    assert_eq!(status, StatusCode::OK);

    let (_, task) = call(&app, "GET", &format!("/tasks/{id}"), None).await;
    assert_eq!(task["status"], "completed");
    assert_eq!(
        task["error"],
        Value::Null,
        "a completed task shows no error: {task}"
    );
    assert_eq!(task["worker"], json!(format!("agent-{agent}")));
    assert_eq!(task["agent_name"], "historian", "the name beside the id");
    let (_, page) = call(&app, "GET", "/tasks?type=h", None).await;
    assert_eq!(page["tasks"][0]["agent_name"], "historian", "{page}");

    let (status, history) = call(&app, "GET", &format!("/tasks/{id}/attempts"), None).await;
    assert_eq!(status, StatusCode::OK, "{history}");
    let attempts = history["attempts"].as_array().expect("attempts");
    assert_eq!(attempts.len(), 2, "{history}");
    for (n, a) in attempts.iter().enumerate() {
        assert_eq!(a["attempt"], n + 1);
        assert_eq!(a["worker"], json!(format!("agent-{agent}")));
        assert_eq!(a["agent_name"], "historian");
        assert!(a["started_at"].is_string() && a["finished_at"].is_string());
    }
    assert_eq!(attempts[0]["outcome"], "failed");
    assert_eq!(attempts[0]["error"], "Traceback: boom");
    assert_eq!(attempts[1]["outcome"], "completed");
    assert_eq!(attempts[1]["error"], Value::Null);

    assert_error(
        &call(
            &app,
            "GET",
            &format!("/tasks/{}/attempts", uuid::Uuid::new_v4()),
            None,
        )
        .await,
        StatusCode::NOT_FOUND,
        "not_found",
    );
    assert_error(
        &call(&app, "GET", "/tasks/nope/attempts", None).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
    );
}

#[tokio::test]
async fn a_remote_agent_claims_only_the_task_types_it_names() {
    let app = app().await;
    let agent = remote_agent(&app, "only-fails", &["fails"]).await;
    // No requirements: routing by capability lets any agent take it.
    let (_, echo) = call(
        &app,
        "POST",
        "/tasks",
        Some(&json!({ "type": "echo", "priority": 1 }).to_string()),
    )
    .await;
    let (_, fails) = call(
        &app,
        "POST",
        "/tasks",
        Some(&json!({ "type": "fails" }).to_string()),
    )
    .await;
    for _ in 0..10 {
        let leases = claim(&app, &agent, json!({ "task_types": ["fails"] })).await;
        for lease in &leases {
            assert_eq!(lease["task"]["task_type"], "fails", "{lease}");
            let (status, _) = call(
                &app,
                "POST",
                &format!(
                    "/tasks/{}/release",
                    lease["task"]["id"].as_str().expect("id")
                ),
                Some(&json!({ "token": lease["token"] }).to_string()),
            )
            .await;
            assert_eq!(status, StatusCode::OK);
        }
    }
    let (_, echo_now) = call(
        &app,
        "GET",
        &format!("/tasks/{}", echo["task"]["id"].as_str().expect("id")),
        None,
    )
    .await;
    assert_eq!(
        echo_now["status"], "pending",
        "never handed out: {echo_now}"
    );
    assert_eq!(echo_now["worker"], Value::Null);
    let leases = claim(&app, &agent, json!({ "task_types": ["fails"] })).await;
    assert_eq!(leases[0]["task"]["id"], fails["task"]["id"]);

    for bad in [
        json!({ "task_types": [""] }),
        json!({ "task_types": "fails" }),
    ] {
        assert_error(
            &call(
                &app,
                "POST",
                &format!("/agents/{agent}/claim"),
                Some(&bad.to_string()),
            )
            .await,
            StatusCode::BAD_REQUEST,
            if bad["task_types"].is_array() {
                "invalid_input"
            } else {
                "bad_request"
            },
        );
    }
}
