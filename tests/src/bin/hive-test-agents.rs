//! A hive with agents as a separate process, for tests that kill processes
//! or run two of them against one queue.
//!
//! `hive-test-agents <store> <queue> <prefix> <agents> [<dead after ms>]`
//! builds a hive on `<store>` — `sqlite://path` (the embedded default) or
//! `redis://…|postgres://…` (Redis and Postgres) — with heartbeats every
//! 200 ms (an agent is dead after 800 ms without one, or after the optional
//! last argument: a test in which nobody dies gives a starved process on a
//! loaded machine seconds, lest it be declared dead) and leases of 60 s,
//! and spawns `<agents>` agents named
//! `<prefix>-<i>` with the capability `work`. It prints `ready <agent ids…>`.
//! Tasks of type `hang` print `started <task id> <agent>` and never finish on
//! their first attempt (later attempts complete at once); tasks of type
//! `job` print `done <task id> <agent>` and complete after `sleep_ms`. When
//! its stdin closes it shuts the hive down gracefully and prints `stopped`.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hive_core::agent::{agent_fn, Liveness, OrchestratorConfig, SpawnOptions};
use hive_core::queue::QueueConfig;
use hive_core::Hive;
use serde_json::json;
use tokio::io::AsyncReadExt;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (store, queue, prefix, agents, dead_after) = match args.as_slice() {
        [store, queue, prefix, agents] => (store, queue, prefix, agents, None),
        [store, queue, prefix, agents, ms] => (store, queue, prefix, agents, Some(ms)),
        _ => bail!("usage: hive-test-agents <store> <queue> <prefix> <agents> [<dead after ms>]"),
    };
    let agents: usize = agents.parse().context("<agents> must be a number")?;
    let mut liveness = Liveness::every(Duration::from_millis(200));
    if let Some(ms) = dead_after {
        let ms: u64 = ms.parse().context("<dead after ms> must be a number")?;
        liveness.unhealthy_after = Duration::from_millis(ms / 2);
        liveness.dead_after = Duration::from_millis(ms);
    }
    let mut builder = Hive::builder()
        .queue_config(QueueConfig::named(queue.as_str()))
        .orchestrator_config(OrchestratorConfig {
            liveness,
            sweep_interval: Some(Duration::from_millis(100)),
            poll_interval: Duration::from_millis(50),
            reap_interval: Duration::from_millis(100),
            shutdown_grace: Duration::from_secs(5),
        })
        .without_context();
    builder = match store.split_once('|') {
        Some((redis, postgres)) => builder.redis(redis).postgres(postgres),
        None => builder.embedded(store.strip_prefix("sqlite://").unwrap_or(store)),
    };
    let hive = builder.build().await.context("building the hive")?;
    let mut ids = Vec::new();
    for i in 0..agents {
        let name = format!("{prefix}-{i}");
        let me = name.clone();
        let agent = agent_fn(&name, ["work"], move |task, cx| {
            let me = me.clone();
            async move {
                if task.task_type == "hang" && cx.attempt() == 1 {
                    say(&format!("started {} {me}", task.id));
                    std::future::pending::<()>().await;
                }
                if task.task_type == "job" {
                    say(&format!("done {} {me}", task.id));
                    let ms = task.payload["sleep_ms"].as_u64().unwrap_or(0);
                    tokio::time::sleep(Duration::from_millis(ms)).await;
                }
                Ok(json!({ "by": me }))
            }
        });
        let handle = hive
            .spawn_agent_with(
                agent,
                SpawnOptions::default().lease(Duration::from_secs(60)),
            )
            .await
            .with_context(|| format!("spawning {name}"))?;
        ids.push(handle.id.to_string());
    }
    say(&format!("ready {}", ids.join(" ")));
    let mut sink = Vec::new();
    let _ = tokio::io::stdin().read_to_end(&mut sink).await;
    hive.shutdown().await;
    say("stopped");
    Ok(())
}

/// One line on stdout, flushed at once: the test reads it while we run.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
