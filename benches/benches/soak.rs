//! Soak: does storage stay bounded when a hive runs for a long time? With
//! task retention on, what a steady load stores should level off once the
//! first tasks expire, instead of growing with the hours.
//!
//! Per backend, tasks arrive at a steady `HIVE_SOAK_RATE` per second
//! (default 50) for `HIVE_SOAK_SECS` (default 1,800), run by a no-op agent
//! (concurrency 4) under short retention: finished tasks and dead letters
//! 30 s, a retention pass every 5 s, broker messages 30 s. Every tenth task
//! depends on the one before (the agent reads its dependency's result: a
//! dependency purged too early shows as a `lost` count), every fiftieth
//! fails for good (a dead letter, whose dependent then fails). Every
//! `HIVE_SOAK_SAMPLE_SECS` (default 30; each sample half a pass, 2.5 s,
//! after its round second, so no sample straddles a pass) the bench
//! samples the backend's storage:
//!
//! - `embedded`: a hive on a SQLite file. The file's size after `PRAGMA
//!   wal_checkpoint(TRUNCATE)`, `page_count * page_size`, free pages, and
//!   the rows of the queue's tables.
//! - `distributed`: a hive on Redis (queue, broker, events) + Postgres
//!   (registry, sessions, history) in a schema of its own. Redis's
//!   `used_memory` (`INFO memory`), `DBSIZE` and the run's keys; the
//!   Postgres schema's `pg_total_relation_size` and rows.
//! - `postgres`: the queue on Postgres, which a hive cannot pick without
//!   Redis: the bare queue, a worker running the same no-op, and the same
//!   purge every 5 s the hive's loop would make. The queue tables'
//!   `pg_total_relation_size`, dead tuples and rows.
//!
//! The backends run side by side (each its own hive or worker). Then one
//! table per backend and a verdict: the last sample's size over the
//! baseline's — the first sample at 5 minutes, or at half the run when it
//! is shorter. Storage that levels off stays near 1: the verdict says
//! `bounded` at 1.25 or less (for the stored tasks too) with no dependency
//! lost.
//! `HIVE_SOAK_BACKENDS` (e.g. `embedded,postgres`) picks backends.
//!
//! Run with: `./scripts/bench soak` (or `HIVE_SOAK_SECS=120 cargo bench -p
//! hive-benches --bench soak` with the services up).

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use fred::interfaces::{ClientLike, KeysInterface, ServerInterface};
use hive_benches::{delete_redis_keys, redis_client};
use hive_core::agent::{agent_fn, SpawnOptions};
use hive_core::broker::{BrokerConfig, Retention};
use hive_core::conformance::unique_name;
use hive_core::queue::postgres::PostgresQueue;
use hive_core::queue::worker::{handler_fn, Worker, WorkerConfig, WorkerHandle};
use hive_core::queue::{
    NewTask, Queue, QueueConfig, QueueExt, Task, TaskFailure, TaskId, TaskRetention, TaskStatus,
};
use hive_core::Hive;
use serde_json::{json, Value};
use sqlx::Row;

/// What expires, and how often retention runs.
const RETENTION: TaskRetention = TaskRetention {
    finished: Some(Duration::from_secs(30)),
    dead_letters: Some(Duration::from_secs(30)),
};
const RETENTION_EVERY: Duration = Duration::from_secs(5);
/// The queue's tables, as Postgres and SQLite name them.
const QUEUE_TABLES: [&str; 4] = [
    "hive_tasks",
    "hive_task_attempts",
    "hive_task_deps",
    "hive_task_needs",
];

/// A numeric setting from the environment, or its default.
fn setting(name: &str, default: u64) -> Result<u64> {
    match std::env::var(name) {
        Ok(v) => {
            let n: u64 = v.parse().with_context(|| format!("{name}={v:?}"))?;
            ensure!(n >= 1, "{name} must be at least 1");
            Ok(n)
        }
        Err(_) => Ok(default),
    }
}

struct Settings {
    secs: u64,
    rate: u64,
    sample_secs: u64,
}

/// One sample: when, the load so far, and the backend's figures (the first
/// is the size the verdict compares).
struct Sample {
    at: u64,
    submitted: u64,
    stored: u64,
    figures: Vec<(&'static str, f64)>,
}

/// Where one run keeps its state.
enum Backend {
    Embedded {
        dir: tempfile::TempDir,
    },
    Distributed {
        redis: String,
        database: String,
        schema: String,
    },
    Postgres {
        database: String,
        schema: String,
    },
}

/// A backend at work: the queue tasks are submitted to, and what runs and
/// purges them.
struct Running {
    queue: Arc<dyn Queue>,
    hive: Option<Hive>,
    worker: Option<WorkerHandle>,
    purger: Option<tokio::task::JoinHandle<()>>,
}

impl Running {
    async fn stop(self) {
        if let Some(purger) = self.purger {
            purger.abort();
        }
        if let Some(worker) = self.worker {
            worker.shutdown().await;
        }
        if let Some(hive) = self.hive {
            hive.shutdown().await;
        }
    }
}

/// A URL of `database` whose connections work in `schema` (then `public`).
fn in_schema(database: &str, schema: &str) -> String {
    let sep = if database.contains('?') { '&' } else { '?' };
    format!("{database}{sep}options=-c%20search_path%3D{schema}%2Cpublic")
}

async fn pg_pool(url: &str) -> Result<sqlx::PgPool> {
    Ok(sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?)
}

async fn execute(url: &str, sql: &str) -> Result<()> {
    let pool = pg_pool(url).await?;
    sqlx::raw_sql(sql).execute(&pool).await?;
    pool.close().await;
    Ok(())
}

/// The no-op work: reads every dependency's result (counting in `lost`
/// those that are gone), fails for good when the payload says so.
async fn work(
    queue: Arc<dyn Queue>,
    lost: Arc<AtomicU64>,
    task: Task,
) -> Result<Value, TaskFailure> {
    for dep in &task.dependencies {
        if let Err(e) = queue.get(*dep).await {
            lost.fetch_add(1, Ordering::Relaxed);
            return Err(TaskFailure::permanent(format!("dependency {dep}: {e}")));
        }
    }
    if task.payload["fail"] == json!(true) {
        return Err(TaskFailure::permanent("told to fail"));
    }
    Ok(Value::Null)
}

impl Backend {
    fn label(&self) -> &'static str {
        match self {
            Backend::Embedded { .. } => "embedded",
            Backend::Distributed { .. } => "distributed",
            Backend::Postgres { .. } => "postgres",
        }
    }

    fn queue_config(queue: &str) -> QueueConfig {
        QueueConfig {
            retention: RETENTION,
            ..QueueConfig::named(queue)
        }
    }

    /// Starts the load's consumers on this backend, for queue `queue`.
    async fn start(&self, queue: &str, lost: Arc<AtomicU64>) -> Result<Running> {
        let builder = match self {
            Backend::Embedded { dir } => Hive::builder().embedded(dir.path().join("hive.db")),
            Backend::Distributed {
                redis,
                database,
                schema,
            } => Hive::builder()
                .redis(redis.clone())
                .postgres(in_schema(database, schema)),
            Backend::Postgres { database, schema } => {
                let url = in_schema(database, schema);
                return Self::start_postgres_queue(&url, queue, lost).await;
            }
        };
        let hive = builder
            .queue_config(Self::queue_config(queue))
            .broker_config(BrokerConfig {
                retention: Retention {
                    max_messages: None,
                    max_age: Some(Duration::from_secs(30)),
                },
                ..BrokerConfig::default()
            })
            .retention_interval(RETENTION_EVERY)
            .without_context()
            .build()
            .await?;
        let queue = hive.queue().clone();
        let reader = queue.clone();
        hive.spawn_agent_with(
            agent_fn("soak", ["soak"], move |task, _cx| {
                work(reader.clone(), lost.clone(), task)
            }),
            SpawnOptions::default().concurrency(4),
        )
        .await?;
        Ok(Running {
            queue,
            hive: Some(hive),
            worker: None,
            purger: None,
        })
    }

    /// The queue alone on Postgres (a hive would need Redis beside it): a
    /// worker runs the no-op, and a task purges every [`RETENTION_EVERY`]
    /// as the hive's retention loop does.
    async fn start_postgres_queue(url: &str, queue: &str, lost: Arc<AtomicU64>) -> Result<Running> {
        let queue: Arc<dyn Queue> =
            Arc::new(PostgresQueue::open(url, Self::queue_config(queue)).await?);
        let reader = queue.clone();
        let worker = Worker::new(
            queue.clone(),
            handler_fn(move |task, _cx| work(reader.clone(), lost.clone(), task)),
            WorkerConfig {
                concurrency: 4,
                capabilities: ["soak".to_string()].into(),
                ..WorkerConfig::default()
            },
        )
        .spawn();
        let purging = queue.clone();
        let purger = tokio::spawn(async move {
            let mut ticks = tokio::time::interval(RETENTION_EVERY);
            loop {
                ticks.tick().await;
                for _ in 0..20 {
                    match purging.purge_expired(chrono::Utc::now(), 1_000).await {
                        Ok(r) if r.total() == 1_000 => continue,
                        Ok(_) => break,
                        Err(e) => {
                            eprintln!("postgres: purge failed: {e}");
                            break;
                        }
                    }
                }
            }
        });
        Ok(Running {
            queue,
            hive: None,
            worker: Some(worker),
            purger: Some(purger),
        })
    }

    /// The backend's figures now; the first is the size the verdict uses.
    async fn measure(&self, queue: &str) -> Result<Vec<(&'static str, f64)>> {
        match self {
            Backend::Embedded { dir } => {
                let path = dir.path().join("hive.db");
                let pool = sqlx::sqlite::SqlitePoolOptions::new()
                    .max_connections(1)
                    .connect_with(
                        sqlx::sqlite::SqliteConnectOptions::new()
                            .filename(&path)
                            .busy_timeout(Duration::from_secs(5)),
                    )
                    .await?;
                let checkpoint = sqlx::query("PRAGMA wal_checkpoint(TRUNCATE)")
                    .fetch_one(&pool)
                    .await?;
                let busy: i64 = checkpoint.get(0);
                let pragma = |name: &'static str| {
                    let pool = pool.clone();
                    async move {
                        let n: i64 = sqlx::query_scalar(&format!("PRAGMA {name}"))
                            .fetch_one(&pool)
                            .await?;
                        anyhow::Ok(n as f64)
                    }
                };
                let pages = pragma("page_count").await? * pragma("page_size").await?;
                let free = pragma("freelist_count").await?;
                let file = std::fs::metadata(&path)?.len() as f64;
                let wal = std::fs::metadata(path.with_extension("db-wal"))
                    .map(|m| m.len() as f64)
                    .unwrap_or(0.0);
                let mut figures = vec![
                    ("db MiB", pages / MIB),
                    ("file MiB", file / MIB),
                    ("wal MiB", wal / MIB),
                    ("free pages", free),
                    ("ckpt busy", busy as f64),
                ];
                for (label, table) in [
                    ("tasks", "hive_tasks"),
                    ("attempts", "hive_task_attempts"),
                    ("needs", "hive_task_needs"),
                ] {
                    let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {table}"))
                        .fetch_one(&pool)
                        .await?;
                    figures.push((label, n as f64));
                }
                pool.close().await;
                Ok(figures)
            }
            Backend::Distributed {
                redis,
                database,
                schema,
            } => {
                let client = redis_client(redis).await?;
                let info: String = client.info(Some(fred::types::InfoKind::Memory)).await?;
                let used = info
                    .lines()
                    .find_map(|l| l.strip_prefix("used_memory:"))
                    .and_then(|v| v.trim().parse::<f64>().ok())
                    .unwrap_or(f64::NAN);
                let dbsize: i64 = client.dbsize().await?;
                let mut ours = 0usize;
                let mut cursor = "0".to_string();
                loop {
                    let (next, keys): (String, Vec<String>) = client
                        .scan_page(cursor, format!("hive:{{{queue}}}:*"), Some(1000), None)
                        .await?;
                    ours += keys.len();
                    if next == "0" {
                        break;
                    }
                    cursor = next;
                }
                client.quit().await?;
                let pool = pg_pool(database).await?;
                let size: Option<i64> = sqlx::query_scalar(
                    "SELECT sum(pg_total_relation_size(c.oid))::int8 FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relkind = 'r'",
                )
                .bind(schema)
                .fetch_one(&pool)
                .await?;
                let rows: Option<i64> = sqlx::query_scalar(
                    "SELECT sum(n_live_tup)::int8 FROM pg_stat_user_tables WHERE schemaname = $1",
                )
                .bind(schema)
                .fetch_one(&pool)
                .await?;
                pool.close().await;
                Ok(vec![
                    ("redis MiB", used / MIB),
                    ("dbsize", dbsize as f64),
                    ("run keys", ours as f64),
                    ("pg MiB", size.unwrap_or(0) as f64 / MIB),
                    ("pg rows", rows.unwrap_or(0) as f64),
                ])
            }
            Backend::Postgres { database, schema } => {
                let pool = pg_pool(database).await?;
                let tables: Vec<String> = QUEUE_TABLES.iter().map(|t| t.to_string()).collect();
                let size: Option<i64> = sqlx::query_scalar(
                    "SELECT sum(pg_total_relation_size(c.oid))::int8 FROM pg_class c \
                     JOIN pg_namespace n ON n.oid = c.relnamespace \
                     WHERE n.nspname = $1 AND c.relname = ANY($2)",
                )
                .bind(schema)
                .bind(&tables)
                .fetch_one(&pool)
                .await?;
                let dead: Option<i64> = sqlx::query_scalar(
                    "SELECT sum(n_dead_tup)::int8 FROM pg_stat_user_tables \
                     WHERE schemaname = $1 AND relname = ANY($2)",
                )
                .bind(schema)
                .bind(&tables)
                .fetch_one(&pool)
                .await?;
                let mut figures = vec![
                    ("tables MiB", size.unwrap_or(0) as f64 / MIB),
                    ("dead tuples", dead.unwrap_or(0) as f64),
                ];
                for (label, table) in [
                    ("tasks", "hive_tasks"),
                    ("attempts", "hive_task_attempts"),
                    ("needs", "hive_task_needs"),
                ] {
                    let n: i64 =
                        sqlx::query_scalar(&format!("SELECT count(*) FROM {schema}.{table}"))
                            .fetch_one(&pool)
                            .await?;
                    figures.push((label, n as f64));
                }
                pool.close().await;
                Ok(figures)
            }
        }
    }

    /// Drops the run's schema and Redis keys; the directory goes with `self`.
    async fn clean_up(self) -> Result<()> {
        match self {
            Backend::Embedded { .. } => {}
            Backend::Distributed {
                redis,
                database,
                schema,
            } => {
                execute(&database, &format!("DROP SCHEMA {schema} CASCADE")).await?;
                delete_redis_keys(&redis, "hive:{bench-soak-*").await?;
            }
            Backend::Postgres { database, schema } => {
                execute(&database, &format!("DROP SCHEMA {schema} CASCADE")).await?;
            }
        }
        Ok(())
    }
}

const MIB: f64 = 1024.0 * 1024.0;

/// Runs the load on `backend`; answers its samples and the dependencies
/// found missing.
async fn soak(backend: &Backend, settings: &Settings) -> Result<(Vec<Sample>, u64)> {
    let queue = unique_name("bench-soak");
    let lost = Arc::new(AtomicU64::new(0));
    let running = backend.start(&queue, lost.clone()).await?;
    let submitted = Arc::new(AtomicU64::new(0));
    let submitter = {
        let (queue, submitted) = (running.queue.clone(), submitted.clone());
        let every = Duration::from_secs_f64(1.0 / settings.rate as f64);
        tokio::spawn(async move {
            let mut ticks = tokio::time::interval(every);
            let mut previous: Option<TaskId> = None;
            for n in 0u64.. {
                ticks.tick().await;
                let mut task = NewTask::new("soak", json!({ "n": n, "fail": n % 50 == 48 }))
                    .requires(["soak"])
                    .max_attempts(1);
                if let (true, Some(previous)) = (n % 10 == 9, previous) {
                    task = task.depends_on([previous]);
                }
                match queue.submit(task).await {
                    Ok(s) => {
                        previous = Some(s.id);
                        submitted.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(e) => eprintln!("submit failed: {e}"),
                }
            }
        })
    };
    let start = Instant::now();
    let mut samples = Vec::new();
    let mut next = 0;
    while next <= settings.secs {
        // Half a pass after the round second: a sample taken as a pass
        // deletes would count before and after it in one row.
        let due = start + Duration::from_secs(next) + RETENTION_EVERY / 2;
        tokio::time::sleep_until(due.into()).await;
        let stats = running.queue.stats().await?;
        let sample = Sample {
            at: next,
            submitted: submitted.load(Ordering::Relaxed),
            stored: stats.total(),
            figures: backend.measure(&queue).await?,
        };
        eprintln!(
            "soak {}: {:>5} s, {} submitted, {} stored ({} completed, {} dead letters), {}",
            backend.label(),
            sample.at,
            sample.submitted,
            sample.stored,
            stats.get(TaskStatus::Completed),
            stats.get(TaskStatus::DeadLettered),
            sample
                .figures
                .iter()
                .map(|(name, v)| format!("{name} {}", figure(name, *v)))
                .collect::<Vec<_>>()
                .join(", ")
        );
        samples.push(sample);
        next += settings.sample_secs;
    }
    submitter.abort();
    running.stop().await;
    Ok((samples, lost.load(Ordering::Relaxed)))
}

/// A figure as text: sizes with two decimals, counts whole.
fn figure(name: &str, value: f64) -> String {
    if name.ends_with("MiB") {
        format!("{value:.2}")
    } else {
        format!("{value:.0}")
    }
}

/// Prints one backend's samples and its verdict.
fn report(label: &str, samples: &[Sample], lost: u64, settings: &Settings) {
    let Some(first) = samples.first() else {
        return;
    };
    println!();
    print!(
        "{label:<12} {:>7} {:>10} {:>8}",
        "t (s)", "submitted", "stored"
    );
    for (name, _) in &first.figures {
        print!(" {name:>11}");
    }
    println!();
    for s in samples {
        print!("{:<12} {:>7} {:>10} {:>8}", "", s.at, s.submitted, s.stored);
        for (name, v) in &s.figures {
            print!(" {:>11}", figure(name, *v));
        }
        println!();
    }
    let baseline_at = 300.min(settings.secs / 2);
    let baseline = samples
        .iter()
        .find(|s| s.at >= baseline_at)
        .unwrap_or(first);
    let last = samples.last().unwrap_or(first);
    let ratio = |f: fn(&Sample) -> f64| f(last) / f(baseline);
    let size = ratio(|s| s.figures.first().map_or(f64::NAN, |f| f.1));
    let stored = ratio(|s| s.stored as f64);
    let verdict = if size <= 1.25 && stored <= 1.25 && lost == 0 {
        "bounded"
    } else if lost > 0 {
        "DEPENDENCIES LOST"
    } else {
        "GROWING"
    };
    println!(
        "{label:<12} verdict: {verdict} — {} at {} s over {} s: {size:.2}; stored tasks {stored:.2}; \
         dependencies found missing: {lost}",
        first.figures.first().map_or("size", |f| f.0),
        last.at,
        baseline.at,
    );
}

#[tokio::main]
async fn main() -> Result<()> {
    let settings = Settings {
        secs: setting("HIVE_SOAK_SECS", 1_800)?,
        rate: setting("HIVE_SOAK_RATE", 50)?,
        sample_secs: setting("HIVE_SOAK_SAMPLE_SECS", 30)?,
    };
    let wanted = std::env::var("HIVE_SOAK_BACKENDS").unwrap_or_else(|_| "all".into());
    let wants = |b: &str| wanted == "all" || wanted.split(',').any(|w| w.trim() == b);

    let mut backends = Vec::new();
    if wants("embedded") {
        backends.push(Backend::Embedded {
            dir: tempfile::tempdir()?,
        });
    }
    let redis = std::env::var("HIVE_TEST_REDIS_URL").ok();
    let database = std::env::var("HIVE_TEST_DATABASE_URL").ok();
    let fresh_schema = |name: &str| unique_name(&format!("bench_soak_{name}")).replace('-', "_");
    if wants("distributed") {
        match (&redis, &database) {
            (Some(redis), Some(database)) => {
                let schema = fresh_schema("distributed");
                execute(database, &format!("CREATE SCHEMA {schema}")).await?;
                backends.push(Backend::Distributed {
                    redis: redis.clone(),
                    database: database.clone(),
                    schema,
                });
            }
            _ => println!(
                "distributed: skipped (HIVE_TEST_REDIS_URL and HIVE_TEST_DATABASE_URL unset)"
            ),
        }
    }
    if wants("postgres") {
        match &database {
            Some(database) => {
                let schema = fresh_schema("postgres");
                execute(database, &format!("CREATE SCHEMA {schema}")).await?;
                backends.push(Backend::Postgres {
                    database: database.clone(),
                    schema,
                });
            }
            None => println!("postgres: skipped (HIVE_TEST_DATABASE_URL unset)"),
        }
    }

    println!(
        "soak: {} tasks/s for {} s, sampled every {} s; retention 30 s (finished and dead \
         letters), a pass every 5 s; {} cores, load average {}",
        settings.rate,
        settings.secs,
        settings.sample_secs,
        std::thread::available_parallelism().map_or(0, |n| n.get()),
        std::fs::read_to_string("/proc/loadavg")
            .unwrap_or_default()
            .split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" ")
    );
    let runs = futures::future::join_all(backends.iter().map(|b| soak(b, &settings))).await;
    let mut failed = None;
    for (backend, run) in backends.iter().zip(runs) {
        match run {
            Ok((samples, lost)) => report(backend.label(), &samples, lost, &settings),
            Err(e) => {
                println!("{}: failed: {e:#}", backend.label());
                failed = Some(e);
            }
        }
    }
    for backend in backends {
        backend.clean_up().await?;
    }
    failed.map_or(Ok(()), Err)
}
