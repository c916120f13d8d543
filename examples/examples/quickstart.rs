//! Quickstart: a small DAG of tasks run by two workers on the embedded
//! default — one SQLite file, no servers.
//!
//! Run with: `cargo run -p examples --example quickstart`
//!
//! Point it at another backend with `HIVE_QUEUE_URL`, e.g.
//! `HIVE_QUEUE_URL=redis://127.0.0.1:6379 cargo run -p examples --example quickstart`.
//!
//! Three documents are fetched (by a worker with the `net` capability),
//! each is summarised once fetched (by a worker with `llm`), and a report is
//! written once every summary exists. One fetch fails on its first attempt
//! and is retried. Progress is printed as the queue's counts change.

use std::time::Duration;

use anyhow::{Context, Result};
use hive_core::queue::worker::{handler_fn, Worker, WorkerConfig};
use hive_core::queue::{self, NewTask, QueueConfig, RetryPolicy, TaskFailure, TaskStatus};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let dir = std::env::temp_dir().join("hive-quickstart");
    std::fs::create_dir_all(&dir)?;
    let default_url = format!("sqlite://{}", dir.join("hive.db").display());
    let url = std::env::var("HIVE_QUEUE_URL").unwrap_or(default_url);
    let config = QueueConfig {
        name: format!("quickstart-{}", std::process::id()),
        retry: RetryPolicy {
            base: Duration::from_millis(200),
            ..RetryPolicy::default()
        },
        ..QueueConfig::default()
    };
    let q = queue::open(&url, config)
        .await
        .with_context(|| format!("opening {url}"))?;
    println!("queue: {} backend at {url}", q.backend());

    let fetcher = Worker::new(
        q.clone(),
        handler_fn(|task, cx| async move {
            let doc = task.payload["doc"].as_str().unwrap_or("?").to_string();
            if doc == "flaky.txt" && cx.attempt == 1 {
                return Err(TaskFailure::retryable(
                    "connection reset (first attempt fails on purpose)",
                ));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
            Ok(json!({ "doc": doc, "text": format!("the contents of {doc}") }))
        }),
        WorkerConfig {
            capabilities: ["net".to_string()].into(),
            name: "fetcher".into(),
            ..WorkerConfig::default()
        },
    )
    .spawn();
    let summariser = {
        let q = q.clone();
        Worker::new(
            q.clone(),
            handler_fn(move |task, _cx| {
                let q = q.clone();
                async move {
                    // A task reads its dependencies' results from the queue.
                    let mut parts = Vec::new();
                    for dep in &task.dependencies {
                        let done = q
                            .get(*dep)
                            .await
                            .map_err(|e| TaskFailure::retryable(e.to_string()))?;
                        parts.push(done.result.unwrap_or_default());
                    }
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    Ok(json!({ "kind": task.task_type, "from": parts.len(), "inputs": parts }))
                }
            }),
            WorkerConfig {
                capabilities: ["llm".to_string()].into(),
                name: "summariser".into(),
                ..WorkerConfig::default()
            },
        )
        .spawn()
    };

    let mut batch = Vec::new();
    let mut summaries = Vec::new();
    for doc in ["a.txt", "b.txt", "flaky.txt"] {
        let fetch = NewTask::new("fetch", json!({ "doc": doc })).requires(["net"]);
        let summary = NewTask::new("summarise", json!({}))
            .requires(["llm"])
            .depends_on([fetch.id()]);
        summaries.push(summary.id());
        batch.extend([fetch, summary]);
    }
    let report = NewTask::new("report", json!({}))
        .requires(["llm"])
        .depends_on(summaries.clone());
    let report_id = report.id();
    batch.push(report);
    let ids: Vec<_> = q
        .submit_batch(batch)
        .await?
        .into_iter()
        .map(|s| s.id)
        .collect();
    println!(
        "submitted {} tasks: 3 fetches -> 3 summaries -> 1 report",
        ids.len()
    );

    let started = std::time::Instant::now();
    let mut last = String::new();
    loop {
        let stats = q.stats().await?;
        let line = TaskStatus::ALL
            .iter()
            .filter(|s| stats.get(**s) > 0)
            .map(|s| format!("{s}={}", stats.get(*s)))
            .collect::<Vec<_>>()
            .join(" ");
        if line != last {
            println!("[{:>5} ms] {line}", started.elapsed().as_millis());
            last = line;
        }
        let report = q.get(report_id).await?;
        if report.status.is_final() {
            break;
        }
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(60),
            "the DAG did not finish in 60 s"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    for id in &ids {
        let t = q.get(*id).await?;
        println!(
            "{:<10} {:<9} attempts={} result={}",
            t.task_type,
            t.status,
            t.attempts,
            t.result.unwrap_or_default()
        );
    }
    let (a, b) = (fetcher.shutdown().await, summariser.shutdown().await);
    println!("fetcher: {a:?}\nsummariser: {b:?}");
    let report = q.get(report_id).await?;
    anyhow::ensure!(
        report.status == TaskStatus::Completed,
        "report ended {}",
        report.status
    );
    println!("done in {} ms", started.elapsed().as_millis());
    Ok(())
}
