//! Queue throughput per backend: submit-only, and end to end (submit →
//! claim → complete) through the real worker loop with no-op tasks.
//!
//! Run with: `./scripts/bench` (brings up Redis and Postgres, then runs
//! `cargo bench -p hive-benches --bench queue`). Backends: the embedded file
//! always (`sqlite`: every acknowledged operation fsynced; `sqlite-process`:
//! durable against a process crash only); Redis and Postgres when `HIVE_TEST_REDIS_URL` /
//! `HIVE_TEST_DATABASE_URL` are set. `HIVE_BENCH_TASKS` sets the task count
//! (default 20,000); `HIVE_BENCH_BACKENDS` (e.g. `sqlite,redis`) picks backends.
//!
//! Figures are wall-clock rates on a shared machine: compare backends and
//! peers as ratios measured in one run, never as absolute promises.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Result};
use hive_core::queue::sqlite::{Durability, SqliteOptions, SqliteQueue};
use hive_core::queue::worker::{handler_fn, Worker, WorkerConfig};
use hive_core::queue::{self, NewTask, Queue, QueueConfig, TaskStatus};
use serde_json::json;

const BATCH: usize = 500;

fn tasks(n: usize) -> Vec<NewTask> {
    (0..n)
        .map(|i| NewTask::new("noop", json!({ "i": i })))
        .collect()
}

async fn open(url: &str, label: &str) -> Result<Arc<dyn Queue>> {
    let config = QueueConfig::named(format!("bench-{label}-{}", uuid_suffix()));
    if label == "sqlite-process" {
        // Durable against a crash of the process, not of the machine.
        let options = SqliteOptions {
            durability: Durability::Process,
            ..SqliteOptions::default()
        };
        return Ok(Arc::new(
            SqliteQueue::open_with(url, config, options).await?,
        ));
    }
    Ok(queue::open(url, config).await?)
}

fn uuid_suffix() -> String {
    format!(
        "{}-{}",
        std::process::id(),
        Instant::now().elapsed().as_nanos() ^ rand_seed()
    )
}

fn rand_seed() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos())
        .unwrap_or(0)
}

/// Submits `n` tasks in batches of `BATCH` from `writers` concurrent tasks.
async fn submit_all(q: &Arc<dyn Queue>, n: usize, writers: usize) -> Result<()> {
    let per = n / writers;
    let mut joins = Vec::new();
    for _ in 0..writers {
        let q = q.clone();
        joins.push(tokio::spawn(async move {
            let mut left = per;
            while left > 0 {
                let take = left.min(BATCH);
                q.submit_batch(tasks(take)).await?;
                left -= take;
            }
            anyhow::Ok(())
        }));
    }
    for j in joins {
        j.await??;
    }
    Ok(())
}

/// Waits until `n` tasks completed. The handlers count their calls, so the
/// (costly) stats query only runs once all of them have been called.
async fn wait_completed(q: &Arc<dyn Queue>, handled: &AtomicU64, n: u64) -> Result<()> {
    let until = Instant::now() + Duration::from_secs(600);
    while handled.load(Ordering::Relaxed) < n {
        ensure!(
            Instant::now() < until,
            "handlers were called only {} times in 10 minutes",
            handled.load(Ordering::Relaxed)
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    loop {
        let done = q.stats().await?.get(TaskStatus::Completed);
        if done >= n {
            return Ok(());
        }
        ensure!(
            Instant::now() < until,
            "only {done} of {n} tasks completed in 10 minutes"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
}

fn worker(
    q: &Arc<dyn Queue>,
    concurrency: usize,
    handled: Arc<AtomicU64>,
) -> hive_core::queue::worker::WorkerHandle {
    Worker::new(
        q.clone(),
        handler_fn(move |_task, _cx| {
            handled.fetch_add(1, Ordering::Relaxed);
            async { Ok(json!(null)) }
        }),
        WorkerConfig {
            concurrency,
            poll_interval: Duration::from_millis(20),
            ..WorkerConfig::default()
        },
    )
    .spawn()
}

/// Submit-only throughput.
async fn submit_only(url: &str, label: &str, n: usize) -> Result<f64> {
    let q = open(url, label).await?;
    let start = Instant::now();
    submit_all(&q, n, 4).await?;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    ensure!(q.stats().await?.total() == n as u64, "submit lost tasks");
    Ok(rate)
}

/// Processing a pre-filled queue: claim → complete only.
async fn drain(url: &str, label: &str, n: usize, concurrency: usize) -> Result<f64> {
    let q = open(url, label).await?;
    submit_all(&q, n, 4).await?;
    let start = Instant::now();
    let handled = Arc::new(AtomicU64::new(0));
    let w = worker(&q, concurrency, handled.clone());
    wait_completed(&q, &handled, n as u64).await?;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    w.shutdown().await;
    Ok(rate)
}

/// End to end: a producer submits while the worker processes.
async fn end_to_end(url: &str, label: &str, n: usize, concurrency: usize) -> Result<f64> {
    let q = open(url, label).await?;
    let start = Instant::now();
    let handled = Arc::new(AtomicU64::new(0));
    let w = worker(&q, concurrency, handled.clone());
    submit_all(&q, n, 2).await?;
    wait_completed(&q, &handled, n as u64).await?;
    let rate = n as f64 / start.elapsed().as_secs_f64();
    w.shutdown().await;
    Ok(rate)
}

/// Removes what the benchmark stored in a shared server: every queue named
/// `bench-…`. (The SQLite file lives in a temporary directory.)
async fn clean_up(label: &str, url: &str) -> Result<()> {
    match label {
        "redis" => hive_benches::delete_redis_keys(url, "hive:{bench-*").await?,
        "postgres" => {
            let pool = sqlx::PgPool::connect(url).await?;
            sqlx::query("DELETE FROM hive_tasks WHERE queue LIKE 'bench-%'")
                .execute(&pool)
                .await?;
            pool.close().await;
        }
        _ => {}
    }
    Ok(())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("error").init();
    let n: usize = std::env::var("HIVE_BENCH_TASKS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let pick = std::env::var("HIVE_BENCH_BACKENDS")
        .unwrap_or_else(|_| "sqlite,sqlite-process,redis,postgres".into());
    let dir = std::env::temp_dir().join(format!("hive-bench-{}", std::process::id()));
    std::fs::create_dir_all(&dir)?;
    let file = format!("sqlite://{}", dir.join("bench.db").display());
    let mut backends = vec![
        ("sqlite", Some(file.clone())),
        ("sqlite-process", Some(file)),
    ];
    backends.push(("redis", std::env::var("HIVE_TEST_REDIS_URL").ok()));
    backends.push(("postgres", std::env::var("HIVE_TEST_DATABASE_URL").ok()));

    println!("queue benchmark: {n} no-op tasks per run, batches of {BATCH}");
    println!("{:<10} {:<28} {:>12}", "backend", "scenario", "tasks/s");
    for (label, url) in backends {
        if !pick.split(',').any(|p| p == label) {
            continue;
        }
        let Some(url) = url else {
            println!("{label:<10} skipped: URL not set");
            continue;
        };
        let row = |scenario: &str, rate: f64| println!("{label:<10} {scenario:<28} {rate:>12.0}");
        row(
            "submit only (4 writers)",
            submit_only(&url, label, n).await?,
        );
        for c in [10, 50] {
            row(
                &format!("drain, concurrency {c}"),
                drain(&url, label, n, c).await?,
            );
        }
        for c in [10, 50] {
            row(
                &format!("end to end, concurrency {c}"),
                end_to_end(&url, label, n, c).await?,
            );
        }
        clean_up(label, &url).await?;
    }
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}
