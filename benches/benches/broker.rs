//! Broker throughput and latency per backend: durable publish, publish →
//! deliver with 1 and 10 subscriptions, and latency at a fixed 10,000 msg/s.
//!
//! Run with: `./scripts/bench broker` (brings up Redis, then runs
//! `cargo bench -p hive-benches --bench broker`). Backends: the embedded
//! file always (`sqlite`: every publish fsynced before it is answered;
//! `sqlite-process`: durable against a crash of the process only);
//! `redis-aof` when `HIVE_REDIS_SERVER_BIN` is set: a private `redis-server`
//! with `appendonly yes` and `appendfsync always`, so every acknowledged
//! publish is on disk; `redis` when `HIVE_TEST_REDIS_URL` is set (the shared
//! Redis, durable as its own `appendfsync`
//! setting makes it). `HIVE_BENCH_MESSAGES` sets the message count of the
//! throughput runs (default 20,000); `HIVE_BENCH_BACKENDS` (e.g. `redis`)
//! picks backends.
//!
//! Scenarios:
//! - `publish x1, P publishers`: one message per call from 16 or 128
//!   concurrent publishers — what many agents sending at once cost.
//! - `publish x100`: batches of 100 from 4 publishers.
//! - `deliver, N subs`: 16 publishers as fast as they can while N
//!   subscriptions (each receives every message) fetch and ack; the rate is
//!   messages published per second until every subscription has them all,
//!   latency is publish → receipt per delivery (under saturation).
//! - `10k/s, N subs`: a paced publisher at 10,000 msg/s for 3 s (10 single
//!   publishes every millisecond); latency publish → receipt.
//!
//! Figures are wall-clock on a shared machine: compare backends as ratios
//! measured in one run.

use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context, Result};
use hive_core::broker::redis::{RedisBroker, RedisBrokerOptions};
use hive_core::broker::sqlite::{SqliteBroker, SqliteBrokerOptions};
use hive_core::broker::{self, Broker, BrokerConfig, BrokerExt, Message, SubscriptionSpec, Topic};
use hive_core::queue::sqlite::Durability;
use serde_json::json;

const PUBLISHERS: usize = 16;

fn unique(label: &str) -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    format!("bench-{label}-{}-{nanos}", std::process::id())
}

/// A message carrying its send time (nanoseconds since `epoch`).
fn stamped(topic: &Topic, epoch: Instant, n: usize) -> Message {
    Message::new(
        topic.clone(),
        "bench",
        json!({ "n": n, "t": epoch.elapsed().as_nanos() as u64 }),
    )
}

/// Sends `n` single-message publishes from `publishers` concurrent tasks.
async fn publish_singles(
    b: &Arc<dyn Broker>,
    topic: &Topic,
    epoch: Instant,
    n: usize,
    publishers: usize,
) -> Result<()> {
    let per = n / publishers;
    let mut joins = Vec::new();
    for p in 0..publishers {
        let (b, topic) = (b.clone(), topic.clone());
        joins.push(tokio::spawn(async move {
            for i in 0..per {
                b.publish(stamped(&topic, epoch, p * per + i)).await?;
            }
            anyhow::Ok(())
        }));
    }
    for j in joins {
        j.await??;
    }
    Ok(())
}

async fn publish_only(
    b: &Arc<dyn Broker>,
    n: usize,
    batch: usize,
    publishers: usize,
) -> Result<f64> {
    let topic = Topic::new(unique("pub"))?;
    let epoch = Instant::now();
    if batch == 1 {
        publish_singles(b, &topic, epoch, n, publishers).await?;
    } else {
        let per = n / 4;
        let mut joins = Vec::new();
        for _ in 0..4 {
            let (b, topic) = (b.clone(), topic.clone());
            joins.push(tokio::spawn(async move {
                let mut left = per;
                while left > 0 {
                    let take = left.min(batch);
                    b.publish_batch((0..take).map(|i| stamped(&topic, epoch, i)).collect())
                        .await?;
                    left -= take;
                }
                anyhow::Ok(())
            }));
        }
        for j in joins {
            j.await??;
        }
    }
    let rate = n as f64 / epoch.elapsed().as_secs_f64();
    forget(b, &topic, &[]).await;
    Ok(rate)
}

/// Subscriptions that each collect every message's latency.
async fn subscribe_all(
    b: &Arc<dyn Broker>,
    topic: &Topic,
    count: usize,
    expect: usize,
    epoch: Instant,
) -> Result<(Vec<String>, Vec<tokio::task::JoinHandle<Result<Vec<u64>>>>)> {
    let mut names = Vec::new();
    let mut joins = Vec::new();
    for s in 0..count {
        let name = unique(&format!("sub{s}"));
        b.subscribe(SubscriptionSpec::new(&name, [topic.as_str()])?)
            .await?;
        names.push(name.clone());
        let b = b.clone();
        joins.push(tokio::spawn(async move {
            let mut latencies = Vec::with_capacity(expect);
            let deadline = Instant::now() + Duration::from_secs(120);
            while latencies.len() < expect {
                ensure!(
                    Instant::now() < deadline,
                    "{name}: only {} of {expect} arrived",
                    latencies.len()
                );
                let got = b.fetch(&name, "c", 256, Duration::from_millis(500)).await?;
                let now = epoch.elapsed().as_nanos() as u64;
                for d in &got {
                    let sent = d.message.payload["t"].as_u64().context("stamp")?;
                    latencies.push(now.saturating_sub(sent));
                }
                let receipts: Vec<_> = got.iter().map(|d| d.receipt.clone()).collect();
                if !receipts.is_empty() {
                    b.ack(&name, &receipts).await?;
                }
            }
            Ok(latencies)
        }));
    }
    Ok((names, joins))
}

struct Run {
    rate: f64,
    p50_ms: f64,
    p99_ms: f64,
}

async fn collect(
    joins: Vec<tokio::task::JoinHandle<Result<Vec<u64>>>>,
    n: usize,
    epoch: Instant,
) -> Result<Run> {
    let mut all = Vec::new();
    for j in joins {
        all.extend(j.await??);
    }
    let rate = n as f64 / epoch.elapsed().as_secs_f64();
    all.sort_unstable();
    let pick = |q: f64| {
        let i = ((all.len() as f64 - 1.0) * q).round() as usize;
        all.get(i).copied().unwrap_or(0) as f64 / 1e6
    };
    Ok(Run {
        rate,
        p50_ms: pick(0.50),
        p99_ms: pick(0.99),
    })
}

async fn deliver(b: &Arc<dyn Broker>, n: usize, subs: usize) -> Result<Run> {
    let topic = Topic::new(unique("deliver"))?;
    let epoch = Instant::now();
    let (names, joins) = subscribe_all(b, &topic, subs, n, epoch).await?;
    let epoch_publish = Instant::now();
    publish_singles(b, &topic, epoch, n, PUBLISHERS).await?;
    let mut run = collect(joins, n, epoch).await?;
    run.rate = n as f64 / epoch_publish.elapsed().as_secs_f64();
    forget(b, &topic, &names).await;
    Ok(run)
}

async fn paced(b: &Arc<dyn Broker>, subs: usize) -> Result<Run> {
    const PER_MS: usize = 10;
    const MILLIS: usize = 3000;
    let n = PER_MS * MILLIS;
    let topic = Topic::new(unique("paced"))?;
    let epoch = Instant::now();
    let (names, joins) = subscribe_all(b, &topic, subs, n, epoch).await?;
    let mut tick = tokio::time::interval(Duration::from_millis(1));
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Burst);
    let mut inflight = tokio::task::JoinSet::new();
    for ms in 0..MILLIS {
        tick.tick().await;
        for i in 0..PER_MS {
            let (b, topic) = (b.clone(), topic.clone());
            inflight.spawn(async move { b.publish(stamped(&topic, epoch, ms * PER_MS + i)).await });
        }
        while let Some(done) = inflight.try_join_next() {
            done??;
        }
    }
    while let Some(done) = inflight.join_next().await {
        done??;
    }
    let run = collect(joins, n, epoch).await?;
    forget(b, &topic, &names).await;
    Ok(run)
}

/// Deletes a run's subscriptions (the topics go with the prefix at the end).
async fn forget(b: &Arc<dyn Broker>, _topic: &Topic, subs: &[String]) {
    for s in subs {
        let _ = b.unsubscribe(s).await;
    }
}

/// Deletes every key under `prefix` on the Redis at `url` (best effort).
async fn drop_prefix(url: &str, prefix: &str) {
    let _ = hive_benches::delete_redis_keys(url, &format!("{prefix}:*")).await;
}

#[tokio::main]
async fn main() -> Result<()> {
    let n: usize = std::env::var("HIVE_BENCH_MESSAGES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20_000);
    let wanted = std::env::var("HIVE_BENCH_BACKENDS").ok();
    let dir = tempfile_dir()?;
    let file = |name: &str| Some(format!("sqlite://{}", dir.join(name).display()));
    let mut backends = vec![
        ("sqlite", file("full.db")),
        ("sqlite-process", file("process.db")),
    ];
    backends.push(("redis", std::env::var("HIVE_TEST_REDIS_URL").ok()));
    let private = PrivateRedis::start(&dir);
    backends.push(("redis-aof", private.as_ref().map(|p| p.url.clone())));

    println!("broker benchmark: {n} messages per throughput run; latency publish -> receipt");
    println!(
        "{:<14} {:<26} {:>11} {:>9} {:>9}",
        "backend", "scenario", "msg/s", "p50 ms", "p99 ms"
    );
    for (label, url) in backends {
        if wanted
            .as_deref()
            .is_some_and(|w| !w.split(',').any(|x| x == label))
        {
            continue;
        }
        let Some(url) = url else {
            println!("{label:<14} skipped: URL not set");
            continue;
        };
        // On Redis the run works under a prefix of its own, deleted after.
        let prefix = unique("hive-bench");
        let b: Arc<dyn Broker> = if label == "sqlite-process" {
            // Durable against a crash of the process, not of the machine.
            let options = SqliteBrokerOptions {
                durability: Durability::Process,
                ..Default::default()
            };
            Arc::new(SqliteBroker::open_with(&url, BrokerConfig::default(), options).await?)
        } else if label.starts_with("redis") {
            let options = RedisBrokerOptions {
                prefix: prefix.clone(),
                ..Default::default()
            };
            Arc::new(RedisBroker::open_with(&url, BrokerConfig::default(), options).await?)
        } else {
            broker::open(&url, BrokerConfig::default()).await?
        };
        let rate_row = |scenario: &str, rate: f64| {
            println!(
                "{label:<14} {scenario:<26} {rate:>11.0} {:>9} {:>9}",
                "-", "-"
            )
        };
        let row = |scenario: &str, r: &Run| {
            println!(
                "{label:<14} {scenario:<26} {:>11.0} {:>9.2} {:>9.2}",
                r.rate, r.p50_ms, r.p99_ms
            )
        };
        for publishers in [16, 128] {
            rate_row(
                &format!("publish x1, {publishers} publishers"),
                publish_only(&b, n, 1, publishers).await?,
            );
        }
        rate_row(
            "publish x100, 4 publishers",
            publish_only(&b, n, 100, 4).await?,
        );
        for subs in [1, 10] {
            row(
                &format!("deliver, {subs} subs"),
                &deliver(&b, n, subs).await?,
            );
        }
        for subs in [1, 10] {
            row(
                &format!("10k/s for 3 s, {subs} subs"),
                &paced(&b, subs).await?,
            );
        }
        if label.starts_with("redis") {
            drop(b);
            drop_prefix(&url, &prefix).await;
        }
    }
    drop(private);
    let _ = std::fs::remove_dir_all(&dir);
    Ok(())
}

fn tempfile_dir() -> Result<std::path::PathBuf> {
    let dir = std::env::temp_dir().join(unique("broker"));
    std::fs::create_dir_all(&dir)?;
    Ok(dir)
}

/// A private `redis-server` that fsyncs its append-only file before it
/// answers: what "durable publish" means on Redis. Killed when dropped.
struct PrivateRedis {
    child: std::process::Child,
    url: String,
}

impl PrivateRedis {
    fn start(dir: &std::path::Path) -> Option<PrivateRedis> {
        let bin = std::env::var("HIVE_REDIS_SERVER_BIN").ok()?;
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .ok()?
            .port();
        let data = dir.join("redis-aof");
        std::fs::create_dir_all(&data).ok()?;
        let child = std::process::Command::new(bin)
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args([
                "--appendonly",
                "yes",
                "--appendfsync",
                "always",
                "--save",
                "",
            ])
            .arg("--dir")
            .arg(&data)
            .stdout(std::process::Stdio::null())
            .spawn()
            .ok()?;
        let until = Instant::now() + Duration::from_secs(10);
        while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
            if Instant::now() > until {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Some(PrivateRedis {
            child,
            url: format!("redis://127.0.0.1:{port}"),
        })
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
