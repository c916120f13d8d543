//! Tasks per second through one no-op Rust agent: the Rust figure that
//! `benches/python/throughput.py` (the same scenario through a Python
//! agent) is compared with, in the same run of `./scripts/bench python`.
//!
//! The scenario is the Python script's, step for step: a hive built with
//! `Hive::builder()`'s defaults, exactly as hive-py builds one (`embedded`:
//! a fresh SQLite file in a temporary directory; `distributed`:
//! `HIVE_TEST_REDIS_URL` + `HIVE_TEST_DATABASE_URL` with the default queue,
//! as `Hive.connect` uses it), one agent doing nothing with concurrency
//! `HIVE_BENCH_CONCURRENCY` (default 4) on a capability unique to the run,
//! `HIVE_BENCH_TASKS` tasks (default 5,000) submitted one `submit` at a
//! time by `HIVE_BENCH_SUBMITTERS` concurrent submitters (default 8) while
//! the agent runs, then each awaited until final. The time runs from just
//! before the first submit to the latest `finished_at` the queue recorded.
//! `HIVE_BENCH_BACKENDS` (e.g. `embedded`) picks backends.
//!
//! Run with: `./scripts/bench python` (or `cargo bench -p hive-benches
//! --bench noop_agent` with the services up).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use hive_core::agent::{agent_fn, SpawnOptions};
use hive_core::conformance::unique_name;
use hive_core::queue::{NewTask, QueueExt, TaskId, TaskStatus};
use hive_core::Hive;
use serde_json::{json, Value};

/// A numeric setting from the environment, or its default.
fn setting(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => {
            let n: usize = v.parse().with_context(|| format!("{name}={v:?}"))?;
            ensure!(n >= 1, "{name} must be at least 1");
            Ok(n)
        }
        Err(_) => Ok(default),
    }
}

struct Scenario {
    tasks: usize,
    concurrency: usize,
    submitters: usize,
}

/// tasks/s and the submit phase's seconds on `hive`.
async fn run(hive: Arc<Hive>, scenario: &Scenario) -> Result<(f64, f64)> {
    let run = unique_name("noop");
    let capability = run.clone();
    hive.spawn_agent_with(
        agent_fn(&run, [capability.clone()], |_task, _cx| async {
            Ok(Value::Null)
        }),
        SpawnOptions::default().concurrency(scenario.concurrency),
    )
    .await?;

    let next = Arc::new(AtomicUsize::new(0));
    let start_wall = chrono::Utc::now();
    let start = Instant::now();
    let submitters = (0..scenario.submitters).map(|_| {
        let (hive, next, run, capability) = (
            Arc::clone(&hive),
            Arc::clone(&next),
            run.clone(),
            capability.clone(),
        );
        let total = scenario.tasks;
        tokio::spawn(async move {
            let mut ids: Vec<(usize, TaskId)> = Vec::new();
            loop {
                let n = next.fetch_add(1, Ordering::Relaxed);
                if n >= total {
                    return anyhow::Ok(ids);
                }
                let task =
                    NewTask::new(run.clone(), json!({ "n": n })).requires([capability.clone()]);
                ids.push((n, hive.submit(task).await?.id));
            }
        })
    });
    let mut ids = Vec::with_capacity(scenario.tasks);
    for submitter in submitters.collect::<Vec<_>>() {
        ids.extend(submitter.await??);
    }
    let submit_s = start.elapsed().as_secs_f64();
    ids.sort_unstable_by_key(|(n, _)| *n);

    let mut last = start_wall;
    for (_, id) in ids {
        let task = hive
            .queue()
            .wait_until_final(id, Duration::from_secs(600))
            .await?;
        ensure!(
            task.status == TaskStatus::Completed,
            "task {id} ended {}: {:?}",
            task.status,
            task.error
        );
        if let Some(finished) = task.finished_at {
            last = last.max(finished);
        }
    }
    let total_s = (last - start_wall).as_seconds_f64();
    Ok((scenario.tasks as f64 / total_s, submit_s))
}

#[tokio::main]
async fn main() -> Result<()> {
    let scenario = Scenario {
        tasks: setting("HIVE_BENCH_TASKS", 5_000)?,
        concurrency: setting("HIVE_BENCH_CONCURRENCY", 4)?,
        submitters: setting("HIVE_BENCH_SUBMITTERS", 8)?,
    };
    let wanted = std::env::var("HIVE_BENCH_BACKENDS").unwrap_or_else(|_| "all".into());
    let wants = |b: &str| wanted == "all" || wanted.split(',').any(|w| w.trim() == b);
    let dir = tempfile::tempdir()?;

    println!(
        "noop_agent: one no-op Rust agent, concurrency {}, {} tasks from {} submitters",
        scenario.concurrency, scenario.tasks, scenario.submitters
    );
    println!(
        "{:<18} {:>10} {:>10} {:>10}",
        "backend", "submit s", "total s", "tasks/s"
    );
    let mut backends: Vec<(&str, Hive)> = Vec::new();
    if wants("embedded") {
        let hive = Hive::builder()
            .embedded(dir.path().join("hive.db"))
            .build()
            .await?;
        backends.push(("embedded SQLite", hive));
    }
    if wants("distributed") {
        match (
            std::env::var("HIVE_TEST_REDIS_URL"),
            std::env::var("HIVE_TEST_DATABASE_URL"),
        ) {
            (Ok(redis), Ok(database)) => {
                let hive = Hive::builder()
                    .redis(redis)
                    .postgres(database)
                    .build()
                    .await?;
                backends.push(("Redis + Postgres", hive));
            }
            _ => println!(
                "distributed: skipped (HIVE_TEST_REDIS_URL and HIVE_TEST_DATABASE_URL unset)"
            ),
        }
    }
    for (label, hive) in backends {
        let hive = Arc::new(hive);
        let (rate, submit_s) = run(Arc::clone(&hive), &scenario).await?;
        println!(
            "{label:<18} {submit_s:>10.2} {:>10.2} {rate:>10.0}",
            scenario.tasks as f64 / rate
        );
        hive.shutdown().await;
    }
    Ok(())
}
