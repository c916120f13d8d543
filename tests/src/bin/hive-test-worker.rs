//! A queue client as a separate process, for tests that kill processes.
//!
//! `hive-test-worker work <url> <queue> <lease_ms>` runs a worker: tasks of
//! type `hang` print `started <task id> <lease token>` and then never finish;
//! other tasks complete at once. `hive-test-worker submit <url> <queue> <n>`
//! submits `n` tasks, prints `submitted <ids…>` once the queue acknowledged
//! them, then waits to be killed. `hive-test-worker subscribe <url>
//! <subscription> <ack_ms>` joins the broker subscription of that name (on
//! `<subscription>.>`), takes 20 messages, acknowledges the first 10, prints
//! `acked <n…>` and `holding <n…>` (the payloads' `n`), then waits to be
//! killed with the other 10 in flight.

use std::io::Write;
use std::time::Duration;

use anyhow::{bail, Context, Result};
use hive_core::broker::{self, BrokerConfig, SubscriptionSpec};
use hive_core::queue::worker::{handler_fn, Worker, WorkerConfig};
use hive_core::queue::{self, NewTask, QueueConfig};
use serde_json::json;

#[tokio::main]
async fn main() -> Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let [command, url, name, number] = args.as_slice() else {
        bail!("usage: hive-test-worker work|submit|subscribe <url> <name> <lease_ms|n|ack_ms>");
    };
    let number: u64 = number
        .parse()
        .context("the last argument must be a number")?;
    if command == "subscribe" {
        return subscribe(url, name, number).await;
    }
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

/// Takes 20 messages, acknowledges half and dies (when killed) holding the
/// rest.
async fn subscribe(url: &str, name: &str, ack_ms: u64) -> Result<()> {
    let broker = broker::open(url, BrokerConfig::default()).await?;
    let spec = SubscriptionSpec::new(name, [format!("{name}.>")])?
        .ack_timeout(Duration::from_millis(ack_ms));
    broker.subscribe(spec).await?;
    let mut got = Vec::new();
    while got.len() < 20 {
        let batch = broker
            .fetch(name, "victim", 20 - got.len(), Duration::from_secs(1))
            .await?;
        got.extend(batch);
    }
    let (acked, held) = got.split_at(10);
    let receipts: Vec<_> = acked.iter().map(|d| d.receipt.clone()).collect();
    broker.ack(name, &receipts).await?;
    let numbers = |ds: &[broker::Delivery]| {
        ds.iter()
            .map(|d| d.message.payload["n"].to_string())
            .collect::<Vec<_>>()
            .join(" ")
    };
    println!("acked {}", numbers(acked));
    println!("holding {}", numbers(held));
    std::io::stdout().flush().ok();
    std::future::pending::<()>().await;
    Ok(())
}
