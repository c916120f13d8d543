//! `GET /metrics` through the router: task outcomes by type, the wait and
//! run histograms, agents by status and the broker's deliveries, with
//! exact values. (Each test runs in its own process under nextest, so the
//! process-global recorder starts at zero.)

use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::Router;
use hive_core::broker::SubscriptionSpec;
use hive_core::queue::{ClaimRequest, Lease, QueueConfig, RetryPolicy, TaskFailure, WorkerId};
use hive_core::Hive;
use hive_server::{router, AppState};
use serde_json::json;

use super::{call, send};

/// A hive whose retries come 10 ms after a failure.
async fn quick_hive() -> Arc<Hive> {
    let config = QueueConfig {
        retry: RetryPolicy {
            base: Duration::from_millis(10),
            cap: Duration::from_millis(10),
            jitter: 0.0,
        },
        ..QueueConfig::default()
    };
    let hive = Hive::builder()
        .memory()
        .without_context()
        .queue_config(config)
        .build()
        .await
        .expect("hive");
    Arc::new(hive)
}

async fn scrape(app: &Router) -> String {
    let answer = send(
        app,
        Request::builder().method("GET").uri("/metrics"),
        Body::empty(),
    )
    .await;
    assert_eq!(answer.status, StatusCode::OK);
    String::from_utf8(answer.body).expect("utf-8")
}

/// The value of the sample `series` (name with its labels, as rendered).
fn sample(text: &str, series: &str) -> Option<f64> {
    text.lines().find_map(|l| {
        l.strip_prefix(series)?
            .strip_prefix(' ')?
            .trim()
            .parse()
            .ok()
    })
}

/// Scrapes until every `(series, value)` shows (the counters follow the
/// event feed, a moment behind the requests), then asserts them exactly.
async fn expect(app: &Router, wanted: &[(&str, f64)]) -> String {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let text = scrape(app).await;
        let got: Vec<_> = wanted.iter().map(|(s, _)| sample(&text, s)).collect();
        let want: Vec<_> = wanted.iter().map(|(_, v)| Some(*v)).collect();
        if got == want {
            return text;
        }
        if tokio::time::Instant::now() > deadline {
            panic!("wanted {wanted:?}, got {got:?} in:\n{text}");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

async fn submit(app: &Router, body: serde_json::Value) -> String {
    let (status, answer) = call(app, "POST", "/tasks", Some(&body.to_string())).await;
    assert_eq!(status, StatusCode::CREATED, "{answer}");
    answer["task"]["id"].as_str().expect("id").to_string()
}

/// Claims the one task that is ready (waiting out a retry's delay).
async fn claim_one(hive: &Hive) -> Lease {
    let worker = WorkerId::random("metrics-test");
    for _ in 0..500 {
        let mut leases = hive
            .queue()
            .claim(&ClaimRequest::new(worker.clone()))
            .await
            .expect("claim");
        if let Some(lease) = leases.pop() {
            return lease;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    panic!("nothing to claim");
}

#[tokio::test]
async fn task_outcomes_and_durations_are_counted_by_type() {
    let hive = quick_hive().await;
    let app = router(AppState::new(hive.clone()));

    // `echo`: completes at once.
    submit(&app, json!({"type": "echo"})).await;
    let lease = claim_one(&hive).await;
    tokio::time::sleep(Duration::from_millis(30)).await;
    hive.queue()
        .complete(lease.key(), json!("ok"))
        .await
        .expect("complete");

    // `flaky`: fails once, is retried, completes.
    submit(&app, json!({"type": "flaky", "max_attempts": 3})).await;
    let lease = claim_one(&hive).await;
    hive.queue()
        .fail(lease.key(), TaskFailure::retryable("boom"))
        .await
        .expect("fail");
    let lease = claim_one(&hive).await;
    assert_eq!(lease.task.attempts, 2);
    hive.queue()
        .complete(lease.key(), json!("ok"))
        .await
        .expect("complete");

    // `doomed`: one attempt, dead-lettered, then retried by hand.
    let doomed = submit(&app, json!({"type": "doomed", "max_attempts": 1})).await;
    let lease = claim_one(&hive).await;
    hive.queue()
        .fail(lease.key(), TaskFailure::retryable("no"))
        .await
        .expect("fail");
    let (status, _) = call(&app, "POST", &format!("/dead-letters/{doomed}/retry"), None).await;
    assert_eq!(status, StatusCode::OK);

    let text = expect(
        &app,
        &[
            ("hive_tasks_completed_total{type=\"echo\"}", 1.0),
            ("hive_tasks_completed_total{type=\"flaky\"}", 1.0),
            ("hive_tasks_failed_total{type=\"flaky\"}", 1.0),
            ("hive_tasks_retried_total{type=\"flaky\"}", 1.0),
            ("hive_tasks_failed_total{type=\"doomed\"}", 1.0),
            ("hive_tasks_dead_lettered_total{type=\"doomed\"}", 1.0),
            ("hive_tasks_retried_total{type=\"doomed\"}", 1.0),
            // Wait: once per task (its first start); run: once per attempt.
            ("hive_task_wait_seconds_count{type=\"echo\"}", 1.0),
            ("hive_task_wait_seconds_count{type=\"flaky\"}", 1.0),
            ("hive_task_wait_seconds_count{type=\"doomed\"}", 1.0),
            ("hive_task_run_seconds_count{type=\"echo\"}", 1.0),
            ("hive_task_run_seconds_count{type=\"flaky\"}", 2.0),
            ("hive_task_run_seconds_count{type=\"doomed\"}", 1.0),
        ],
    )
    .await;
    // Nothing counted that did not happen.
    assert_eq!(
        sample(&text, "hive_tasks_failed_total{type=\"echo\"}"),
        None
    );
    assert_eq!(
        sample(&text, "hive_tasks_dead_lettered_total{type=\"flaky\"}"),
        None
    );
    // Histograms, with the documented buckets: echo ran ≥ 30 ms.
    assert_eq!(
        sample(
            &text,
            "hive_task_run_seconds_bucket{type=\"echo\",le=\"0.01\"}"
        ),
        Some(0.0),
        "{text}"
    );
    assert_eq!(
        sample(
            &text,
            "hive_task_run_seconds_bucket{type=\"echo\",le=\"3600\"}"
        ),
        Some(1.0),
        "{text}"
    );
    assert!(
        text.contains("# TYPE hive_task_wait_seconds histogram"),
        "{text}"
    );
    assert!(
        text.contains("# TYPE hive_tasks_completed_total counter"),
        "{text}"
    );
}

#[tokio::test]
async fn task_types_beyond_the_cap_are_counted_as_other() {
    let hive = quick_hive().await;
    let app = router(AppState::new(hive.clone()));
    let n = hive_server::metrics::MAX_TASK_TYPES + 2;
    for i in 0..n {
        submit(&app, json!({"type": format!("t{i}")})).await;
    }
    let worker = WorkerId::random("metrics-test");
    let mut done = 0;
    while done < n {
        let leases = hive
            .queue()
            .claim(&ClaimRequest::new(worker.clone()).max(100))
            .await
            .expect("claim");
        for lease in leases {
            hive.queue()
                .complete(lease.key(), json!(null))
                .await
                .expect("complete");
            done += 1;
        }
    }
    let text = expect(&app, &[("hive_tasks_completed_total{type=\"other\"}", 2.0)]).await;
    let labelled = text
        .lines()
        .filter(|l| l.starts_with("hive_tasks_completed_total{"))
        .count();
    assert_eq!(labelled, hive_server::metrics::MAX_TASK_TYPES + 1);
}

#[tokio::test]
async fn agents_by_status_and_broker_deliveries_are_counted() {
    let hive = quick_hive().await;
    let app = router(AppState::new(hive.clone()));

    let (status, _) = call(
        &app,
        "POST",
        "/agents",
        Some(r#"{"name": "remote-1", "capabilities": ["bees"]}"#),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);

    hive.broker()
        .subscribe(
            SubscriptionSpec::new("watchers", ["news.>"])
                .expect("spec")
                .ack_timeout(Duration::from_millis(50)),
        )
        .await
        .expect("subscribe");
    for n in 0..3 {
        let body = json!({"topic": "news.bees", "kind": "note", "payload": n}).to_string();
        let (status, answer) = call(&app, "POST", "/messages", Some(&body)).await;
        assert_eq!(status, StatusCode::CREATED, "{answer}");
    }
    let broker = hive.broker();
    let first = broker
        .fetch("watchers", "c1", 10, Duration::from_secs(1))
        .await
        .expect("fetch");
    assert_eq!(first.len(), 3);
    // Two acknowledged; the third's ack timeout runs out: delivered again.
    broker
        .ack(
            "watchers",
            &[first[0].receipt.clone(), first[1].receipt.clone()],
        )
        .await
        .expect("ack");
    tokio::time::sleep(Duration::from_millis(120)).await;
    let again = broker
        .fetch("watchers", "c1", 10, Duration::from_secs(1))
        .await
        .expect("fetch");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].deliveries, 2);

    expect(
        &app,
        &[
            ("hive_broker_published_total", 3.0),
            ("hive_broker_delivered_total", 4.0),
            ("hive_broker_redelivered_total", 1.0),
            ("hive_agents{status=\"healthy\"}", 1.0),
            ("hive_agents{status=\"dead\"}", 0.0),
        ],
    )
    .await;
}
