//! A queue client as a separate process, for tests that kill processes.
//!
//! `hive-test-worker work <url> <queue> <lease_ms>` runs a worker: tasks of
//! type `hang` print `started <task id> <lease token>` and then never finish;
//! other tasks complete at once. `hive-test-worker submit <url> <queue> <n>`
//! submits `n` tasks, prints `submitted <ids…>` once the queue acknowledged
//! them, then waits to be killed.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hive_core::queue::worker::{handler_fn, Worker, WorkerConfig};
use hive_core::queue::{self, NewTask, QueueConfig};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, url, name, number] = args.as_slice() else {
        bail!("usage: hive-test-worker work|submit <url> <queue> <lease_ms|n>");
    };
    let number: u64 = number
        .parse()
        .context("the last argument must be a number")?;
    let q = queue::open(url, QueueConfig::named(name.clone())).await?;
    match command.as_str() {
        "work" => {
            let config = WorkerConfig {
                lease: Some(Duration::from_millis(number)),
                poll_interval: Duration::from_millis(50),
                ..WorkerConfig::default()
            };
            let handler = handler_fn(|task, cx| async move {
                if task.task_type == "hang" {
                    println!("started {} {}", task.id, cx.lease.token);
                    std::io::stdout().flush().ok();
                    std::future::pending::<()>().await;
                }
                Ok(json!({ "by": std::process::id() }))
            });
            let _running = Worker::new(q, handler, config).spawn();
            std::future::pending::<()>().await;
        }
        "submit" => {
            let batch: Vec<NewTask> = (0..number)
                .map(|i| NewTask::new("durable", json!({ "i": i })))
                .collect();
            let ids: Vec<String> = q
                .submit_batch(batch)
                .await?
                .iter()
                .map(|s| s.id.to_string())
                .collect();
            println!("submitted {}", ids.join(" "));
            std::io::stdout().flush().ok();
            std::future::pending::<()>().await;
        }
        other => bail!("unknown command {other:?}"),
    }
    Ok(())
}
