//! The agent runtime's figures for issue 5: how long a submitted task
//! waits before an agent starts on it (p50 and p99 with 1, 10 and 100
//! agents; goals ≤ 1 ms embedded, ≤ 5 ms on Redis + Postgres), tasks per
//! second through the agent path, and what registering 1,000 agents costs
//! (time, resident memory — goal ≤ 100 MB for the process — and the CPU an
//! idle fleet burns), recorded in `docs/benchmarks.md`.
//!
//! Run with: `./scripts/bench agents` (brings up Redis and Postgres, then
//! runs `cargo bench -p hive-benches --bench agents`, about 1–2 minutes).
//! Backends: `embedded` (`Hive::builder().embedded(file)` in a temporary
//! directory, default durability) always; `distributed` (queue and broker
//! on `HIVE_TEST_REDIS_URL`, registry and sessions on
//! `HIVE_TEST_DATABASE_URL` in a schema of the run's own, dropped at the
//! end) when both are set. `HIVE_BENCH_BACKENDS` (e.g. `embedded`) picks
//! backends; `HIVE_BENCH_AGENTS` (default `1,10,100`) the fleet sizes of the
//! latency runs; `HIVE_BENCH_SAMPLES` (default 500) the timed tasks per
//! size; `HIVE_BENCH_FLEET` (default 1000) the agents registered at once.
//!
//! Latency: N agents with the same capability, concurrency 1, are spawned
//! on a hive built with the defaults (poll interval 500 ms; no context
//! engine). One task at a time is submitted with `Hive::submit`; the clock
//! starts just before the call and stops when `process_task` starts (the
//! agent sends `Instant::now()` over a channel). The next task is submitted
//! once the queue reports the previous one completed: unloaded, sequential
//! latency. 50 untimed tasks warm up first. Throughput: 2,000 no-op tasks
//! submitted in batches of 500, timed until the queue counts them all
//! completed. On Redis each phase also reports the connections Redis
//! accepted and the clients connected after it (`INFO`), which shows
//! whether the runtime's connections come and go or pile up.
//!
//! Fleet: a child process (this binary again, `HIVE_BENCH_FLEET_CHILD`
//! set) builds a hive, spawns 1,000 agents one after another and reports
//! the time, its resident memory (`VmRSS`) before the hive, after building
//! it and after the spawns, its own CPU time over 5 idle seconds (agents
//! idle, the claim loop polling), the time one heartbeat round takes (one
//! `AgentRegistry::heartbeat` per agent, what the orchestrator's pulse does
//! every 30 s), latency with the 1,000 agents, and the shutdown time. It
//! runs twice per backend: all agents sharing one capability, then each
//! with a capability of its own (the worst case for the claim loop, which
//! makes one claim per distinct capability set per round).
//!
//! A configuration that fails (a probe no agent starts within 10 s means
//! the claim loop stopped) is reported in its row; the others still run,
//! and the run fails at the end.
//!
//! Figures are wall-clock on a shared 2-core machine where Redis and
//! Postgres run too: read them as orders of magnitude and ratios.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{ensure, Context as _, Result};
use hive_benches::{delete_redis_keys, memory_mib, redis_client};
use hive_core::agent::{agent_fn, AgentFn, SpawnOptions};
use hive_core::conformance::unique_name;
use hive_core::queue::{NewTask, QueueConfig, TaskId, TaskStatus};
use hive_core::Hive;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use serde_json::{json, Value};
use tokio::sync::mpsc;

/// Untimed tasks before the timed ones.
const WARMUP: usize = 50;
/// Timed tasks with the large fleet.
const FLEET_SAMPLES: usize = 200;
/// Tasks of the throughput run, and the batch they are submitted in.
const THROUGHPUT_TASKS: usize = 2000;
const BATCH: usize = 500;
/// How long the idle fleet's CPU use is measured.
const IDLE: Duration = Duration::from_secs(5);
/// Longest wait for any one task: far above any latency seen, so a probe
/// that waits this long means the claim loop stopped claiming.
const TASK_TIMEOUT: Duration = Duration::from_secs(10);
/// The capability every agent of the shared-capability runs has.
const CAPABILITY: &str = "bench";

/// Set (to `embedded` or `distributed`) in the fleet child.
const FLEET_CHILD: &str = "HIVE_BENCH_FLEET_CHILD";
/// In the fleet child: `same` (one shared capability) or `distinct`.
const FLEET_CAPS: &str = "HIVE_BENCH_FLEET_CAPS";

/// Where a hive keeps its state; [`Backend::clean_up`] removes it.
enum Backend {
    Embedded {
        dir: tempfile::TempDir,
    },
    Distributed {
        redis: String,
        database: String,
        schema: String,
    },
}

impl Backend {
    fn embedded() -> Result<Self> {
        Ok(Backend::Embedded {
            dir: tempfile::tempdir()?,
        })
    }

    /// Redis and a fresh Postgres schema; `None` when a URL is not set.
    async fn distributed() -> Result<Option<Self>> {
        let (Ok(redis), Ok(database)) = (
            std::env::var("HIVE_TEST_REDIS_URL"),
            std::env::var("HIVE_TEST_DATABASE_URL"),
        ) else {
            return Ok(None);
        };
        let schema = unique_name("bench_agents").replace('-', "_");
        execute(&database, &format!("CREATE SCHEMA {schema}")).await?;
        Ok(Some(Backend::Distributed {
            redis,
            database,
            schema,
        }))
    }

    fn label(&self) -> &'static str {
        match self {
            Backend::Embedded { .. } => "embedded",
            Backend::Distributed { .. } => "distributed",
        }
    }

    /// A hive on this backend whose queue is `queue`.
    async fn hive(&self, queue: &str) -> Result<Hive> {
        let builder = Hive::builder()
            .queue_config(QueueConfig::named(queue))
            .without_context();
        let builder = match self {
            Backend::Embedded { dir } => builder.embedded(dir.path().join("hive.db")),
            Backend::Distributed {
                redis,
                database,
                schema,
            } => {
                let sep = if database.contains('?') { '&' } else { '?' };
                builder.redis(redis.clone()).postgres(format!(
                    "{database}{sep}options=-c%20search_path%3D{schema}%2Cpublic"
                ))
            }
        };
        Ok(builder.build().await?)
    }

    /// Drops the schema and the run's Redis keys (queues named
    /// `bench-agents-…`); the temporary directory goes with `self`.
    async fn clean_up(self) -> Result<()> {
        if let Backend::Distributed {
            redis,
            database,
            schema,
        } = self
        {
            execute(&database, &format!("DROP SCHEMA {schema} CASCADE")).await?;
            delete_redis_keys(&redis, "hive:{bench-agents-*").await?;
        }
        Ok(())
    }
}

async fn execute(url: &str, sql: &str) -> Result<()> {
    let pool = sqlx::postgres::PgPoolOptions::new()
        .max_connections(1)
        .connect(url)
        .await?;
    sqlx::raw_sql(sql).execute(&pool).await?;
    pool.close().await;
    Ok(())
}

/// Fields of Redis's `INFO <section>`, by name.
async fn redis_info(url: &str, section: fred::types::InfoKind) -> Result<Vec<(String, f64)>> {
    use fred::interfaces::ClientLike;
    let client = redis_client(url).await?;
    let info: String = client.info(Some(section)).await?;
    client.quit().await?;
    Ok(info
        .lines()
        .filter_map(|l| {
            let (k, v) = l.split_once(':')?;
            Some((k.to_string(), v.trim().parse::<f64>().ok()?))
        })
        .collect())
}

fn info_field(info: &[(String, f64)], name: &str) -> Result<f64> {
    info.iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| *v)
        .with_context(|| format!("Redis INFO has no {name}"))
}

/// Redis's own CPU seconds (user + system) so far, from `INFO cpu`.
async fn redis_cpu(url: &str) -> Result<f64> {
    let info = redis_info(url, fred::types::InfoKind::Cpu).await?;
    Ok(info_field(&info, "used_cpu_user")? + info_field(&info, "used_cpu_sys")?)
}

/// Connections Redis has accepted so far (`total_connections_received`),
/// not counting the one that asks.
async fn redis_connections(url: &str) -> Result<u64> {
    let info = redis_info(url, fred::types::InfoKind::Stats).await?;
    Ok(info_field(&info, "total_connections_received")? as u64 - 1)
}

/// Clients connected to Redis now (`connected_clients`), not counting the
/// one that asks.
async fn redis_clients(url: &str) -> Result<u64> {
    let info = redis_info(url, fred::types::InfoKind::Clients).await?;
    Ok(info_field(&info, "connected_clients")? as u64 - 1)
}

/// Counts the connections Redis accepts between calls, when there is a
/// Redis (other clients of the same server count too; the counter's own
/// do not).
struct ConnectionCount(Option<(String, u64)>);

impl ConnectionCount {
    async fn start(backend: &Backend) -> Result<Self> {
        Ok(ConnectionCount(match backend {
            Backend::Distributed { redis, .. } => {
                Some((redis.clone(), redis_connections(redis).await?))
            }
            Backend::Embedded { .. } => None,
        }))
    }

    /// Connections accepted since the last call, and clients connected
    /// now; `None` without Redis.
    async fn lap(&mut self) -> Result<Option<(u64, u64)>> {
        let Some((url, last)) = &mut self.0 else {
            return Ok(None);
        };
        let opened = redis_connections(url).await?.saturating_sub(*last + 1);
        let clients = redis_clients(url).await?;
        *last = redis_connections(url).await?;
        Ok(Some((opened, clients)))
    }

    /// [`ConnectionCount::lap`] for a table cell: `opened/connected`.
    async fn cell(&mut self) -> Result<String> {
        Ok(match self.lap().await? {
            Some((opened, clients)) => format!("{opened}/{clients}"),
            None => "-".into(),
        })
    }

    /// [`ConnectionCount::lap`] for the end of a line.
    async fn note(&mut self) -> Result<String> {
        Ok(match self.lap().await? {
            Some((opened, clients)) => {
                format!("; Redis: {opened} connections opened, {clients} clients connected")
            }
            None => String::new(),
        })
    }
}

/// An agent that reports when it starts each probe task (payload `{"i":
/// n}`) and counts every task it runs.
fn probe_agent(
    name: &str,
    capability: &str,
    started: mpsc::UnboundedSender<(u64, Instant)>,
    handled: Arc<AtomicU64>,
) -> AgentFn {
    agent_fn(name, [capability], move |task, _cx| {
        let now = Instant::now();
        if let Some(i) = task.payload.get("i").and_then(Value::as_u64) {
            let _ = started.send((i, now));
        }
        handled.fetch_add(1, Ordering::Relaxed);
        async { Ok(Value::Null) }
    })
}

/// Agents spawned on a hive, with what they report.
struct Fleet {
    started: mpsc::UnboundedReceiver<(u64, Instant)>,
    handled: Arc<AtomicU64>,
    /// Each agent's capability, in spawn order.
    capabilities: Vec<String>,
    ids: Vec<hive_core::agent::AgentId>,
    spawn_time: Duration,
}

/// Spawns `n` agents (concurrency 1) one after another; with `distinct`,
/// each has a capability of its own.
async fn spawn_fleet(hive: &Hive, n: usize, distinct: bool) -> Result<Fleet> {
    let (tx, started) = mpsc::unbounded_channel();
    let handled = Arc::new(AtomicU64::new(0));
    let prefix = unique_name("bench-agent");
    let mut capabilities = Vec::with_capacity(n);
    let mut ids = Vec::with_capacity(n);
    let start = Instant::now();
    for i in 0..n {
        let capability = if distinct {
            format!("{CAPABILITY}-{i:04}")
        } else {
            CAPABILITY.to_string()
        };
        let agent = probe_agent(
            &format!("{prefix}-{i:04}"),
            &capability,
            tx.clone(),
            handled.clone(),
        );
        let handle = hive
            .spawn_agent_with(agent, SpawnOptions::default().concurrency(1))
            .await?;
        ids.push(handle.id);
        capabilities.push(capability);
    }
    Ok(Fleet {
        started,
        handled,
        capabilities,
        ids,
        spawn_time: start.elapsed(),
    })
}

/// Waits (polling every millisecond) until task `id` completed.
async fn wait_completed(hive: &Hive, id: TaskId) -> Result<()> {
    let until = Instant::now() + TASK_TIMEOUT;
    loop {
        let task = hive.queue().get(id).await?;
        if task.status.is_final() {
            ensure!(
                task.status == TaskStatus::Completed,
                "task {id} ended {}",
                task.status
            );
            return Ok(());
        }
        ensure!(Instant::now() < until, "task {id} is still {}", task.status);
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

/// Submits one probe task requiring `capability` and answers how long
/// after the submit call began an agent started on it; returns once it
/// completed.
async fn probe(hive: &Hive, fleet: &mut Fleet, i: u64, capability: &str) -> Result<Duration> {
    let start = Instant::now();
    let submitted = hive
        .submit(NewTask::new("probe", json!({ "i": i })).requires([capability]))
        .await?;
    let (j, at) = tokio::time::timeout(TASK_TIMEOUT, fleet.started.recv())
        .await
        .with_context(|| {
            format!(
                "no agent started probe {i} within {TASK_TIMEOUT:?}: the claim loop stopped \
                 claiming"
            )
        })?
        .context("the agents' channel closed")?;
    ensure!(j == i, "probe {j} started while {i} was expected");
    let latency = at.saturating_duration_since(start);
    wait_completed(hive, submitted.id).await?;
    Ok(latency)
}

/// `samples` timed probes after the warm-up; each requires the capability
/// `pick` chooses among the fleet's.
async fn latencies(
    hive: &Hive,
    fleet: &mut Fleet,
    samples: usize,
    mut pick: impl FnMut(&[String]) -> String,
) -> Result<Vec<Duration>> {
    let mut out = Vec::with_capacity(samples);
    for i in 0..(WARMUP + samples) as u64 {
        let capability = pick(&fleet.capabilities);
        let latency = probe(hive, fleet, i, &capability).await?;
        if i as usize >= WARMUP {
            out.push(latency);
        }
    }
    Ok(out)
}

/// Submits `THROUGHPUT_TASKS` no-op tasks in batches and answers tasks per
/// second until the queue counts them all completed.
async fn throughput(hive: &Hive, fleet: &Fleet) -> Result<f64> {
    let before = fleet.handled.load(Ordering::Relaxed);
    let completed_before = hive.queue().stats().await?.get(TaskStatus::Completed);
    let start = Instant::now();
    for first in (0..THROUGHPUT_TASKS).step_by(BATCH) {
        let tasks = (first..THROUGHPUT_TASKS.min(first + BATCH))
            .map(|n| NewTask::new("noop", json!({ "n": n })).requires([CAPABILITY]))
            .collect();
        hive.submit_batch(tasks).await?;
    }
    let until = Instant::now() + Duration::from_secs(300);
    let target = before + THROUGHPUT_TASKS as u64;
    while fleet.handled.load(Ordering::Relaxed) < target {
        ensure!(Instant::now() < until, "throughput tasks did not all run");
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    loop {
        let done = hive.queue().stats().await?.get(TaskStatus::Completed) - completed_before;
        if done >= THROUGHPUT_TASKS as u64 {
            break;
        }
        ensure!(
            Instant::now() < until,
            "only {done} throughput tasks completed"
        );
        tokio::time::sleep(Duration::from_millis(2)).await;
    }
    Ok(THROUGHPUT_TASKS as f64 / start.elapsed().as_secs_f64())
}

/// p50, p99 and the maximum in milliseconds (nearest rank).
fn percentiles(mut d: Vec<Duration>) -> [f64; 3] {
    d.sort_unstable();
    [0.50, 0.99, 1.0].map(|q| {
        let i = ((d.len() as f64 - 1.0) * q).round() as usize;
        d.get(i).map_or(f64::NAN, |x| x.as_secs_f64() * 1e3)
    })
}

/// One latency and throughput configuration: `agents` agents on a fresh
/// queue of `backend`. A failure is printed as the row and answered.
async fn configuration(backend: &Backend, agents: usize, samples: usize) -> Option<String> {
    let outcome = measure_configuration(backend, agents, samples).await;
    outcome.err().map(|e| {
        let failure = format!("{} with {agents} agents: {e:#}", backend.label());
        println!("{:<12} {agents:>7}   FAILED: {e:#}", backend.label());
        failure
    })
}

async fn measure_configuration(backend: &Backend, agents: usize, samples: usize) -> Result<()> {
    let hive = backend
        .hive(&unique_name(&format!("bench-agents-{agents}")))
        .await?;
    let outcome = async {
        let mut connections = ConnectionCount::start(backend).await?;
        let mut fleet = spawn_fleet(&hive, agents, false).await?;
        let spawned = connections.cell().await?;
        let [p50, p99, max] =
            percentiles(latencies(&hive, &mut fleet, samples, |c| c[0].clone()).await?);
        let probed = connections.cell().await?;
        let rate = throughput(&hive, &fleet).await?;
        let ran = connections.cell().await?;
        println!(
            "{:<12} {agents:>7} {samples:>8} {p50:>8.3} {p99:>8.3} {max:>8.3} {rate:>9.0}   \
             {spawned:>8} {probed:>8} {ran:>8}",
            backend.label()
        );
        anyhow::Ok(())
    }
    .await;
    hive.shutdown().await;
    outcome
}

/// This process's CPU seconds so far (user + system, every thread), from
/// `/proc/self/stat` (clock ticks of 1/100 s, Linux's `USER_HZ`).
fn cpu_seconds() -> Result<f64> {
    let stat = std::fs::read_to_string("/proc/self/stat")?;
    // Fields after the command name, which is in parentheses.
    let rest = stat.rsplit_once(')').context("odd /proc/self/stat")?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // utime and stime are fields 14 and 15; `rest` starts at field 3.
    let ticks: u64 = fields
        .get(11..13)
        .context("short /proc/self/stat")?
        .iter()
        .map(|f| f.parse::<u64>())
        .sum::<Result<_, _>>()?;
    Ok(ticks as f64 / 100.0)
}

/// The fleet child: registers `HIVE_BENCH_FLEET` agents on a hive of its
/// own and prints what that cost.
async fn fleet_child(which: &str) -> Result<()> {
    let distinct = std::env::var(FLEET_CAPS).is_ok_and(|v| v == "distinct");
    let n = env_usize("HIVE_BENCH_FLEET", 1000)?;
    let rss_start = memory_mib("VmRSS:");
    let backend = match which {
        "embedded" => Backend::embedded()?,
        _ => Backend::distributed()
            .await?
            .context("the distributed fleet needs both URLs")?,
    };
    let redis = match &backend {
        Backend::Distributed { redis, .. } => Some(redis.clone()),
        Backend::Embedded { .. } => None,
    };
    let rss_before = memory_mib("VmRSS:");
    let hive = backend.hive(&unique_name("bench-agents-fleet")).await?;
    let rss_built = memory_mib("VmRSS:");
    println!(
        "{which} fleet, {n} agents, {}:",
        if distinct {
            "each with a capability of its own"
        } else {
            "one shared capability"
        }
    );
    // Each figure is printed as soon as it is measured, so a later failure
    // leaves the earlier ones.
    let outcome = async {
        let mut connections = ConnectionCount::start(&backend).await?;
        if let Some((_, clients)) = connections.lap().await? {
            println!("  Redis before the spawns: {clients} clients connected");
        }
        let mut fleet = spawn_fleet(&hive, n, distinct).await?;
        let rss_spawned = memory_mib("VmRSS:");
        println!(
            "  spawn {n} agents: {:.2} s ({:.2} ms each){}",
            fleet.spawn_time.as_secs_f64(),
            fleet.spawn_time.as_secs_f64() * 1e3 / n as f64,
            connections.note().await?
        );
        println!(
            "  resident memory: {rss_start:.1} MiB at start, {rss_before:.1} before the hive, \
             {rss_built:.1} after building it, {rss_spawned:.1} after the spawns \
             (+{:.1} MiB, {:.1} KiB per agent)",
            rss_spawned - rss_built,
            (rss_spawned - rss_built) * 1024.0 / n as f64,
        );
        // Let the spawns' wake-ups settle, then watch the idle fleet. The
        // connection laps not printed leave out the benchmark's own.
        tokio::time::sleep(Duration::from_secs(1)).await;
        let redis_before = match &redis {
            Some(url) => Some(redis_cpu(url).await?),
            None => None,
        };
        connections.lap().await?;
        let cpu_before = cpu_seconds()?;
        let idle_start = Instant::now();
        tokio::time::sleep(IDLE).await;
        let idle_wall = idle_start.elapsed().as_secs_f64();
        let cpu = (cpu_seconds()? - cpu_before) / idle_wall * 100.0;
        let idle_connections = connections.note().await?;
        let redis_idle = match (&redis, redis_before) {
            (Some(url), Some(before)) => format!(
                ", Redis server {:.1} % of a core",
                (redis_cpu(url).await? - before) / idle_wall * 100.0
            ),
            _ => String::new(),
        };
        connections.lap().await?;
        println!("  idle for {idle_wall:.1} s: this process {cpu:.1} % of a core{redis_idle}{idle_connections}");
        // One heartbeat round, as the orchestrator's pulse sends it.
        let start = Instant::now();
        for id in &fleet.ids {
            hive.registry().heartbeat(*id, 0).await?;
        }
        println!(
            "  one heartbeat round ({n} heartbeats, one after another): {:.0} ms",
            start.elapsed().as_secs_f64() * 1e3
        );
        // Latency with the whole fleet idle: with distinct capabilities a
        // random agent's, else the shared one.
        let mut rng = StdRng::seed_from_u64(0x6869_7665);
        let samples = env_usize("HIVE_BENCH_FLEET_SAMPLES", FLEET_SAMPLES)?;
        let [p50, p99, max] = percentiles(
            latencies(&hive, &mut fleet, samples, |c| {
                c[rng.random_range(0..c.len())].clone()
            })
            .await?,
        );
        println!(
            "  submit -> start with {n} agents ({samples} probes): p50 {p50:.3} ms, p99 {p99:.3} \
             ms, max {max:.3} ms{}",
            connections.note().await?
        );
        println!(
            "  resident memory after the probes {:.1} MiB, peak {:.1} MiB",
            memory_mib("VmRSS:"),
            memory_mib("VmHWM:")
        );
        anyhow::Ok(())
    }
    .await;
    if let Err(e) = &outcome {
        println!("  FAILED: {e:#}");
    }
    let start = Instant::now();
    let report = hive.shutdown().await;
    println!(
        "  shutdown ({} agents stopped): {:.2} s",
        report.agents,
        start.elapsed().as_secs_f64()
    );
    let cleaned = backend.clean_up().await;
    outcome?;
    cleaned
}

/// Runs the fleet child for `which` with `caps` and passes its output on;
/// answers its failure, if any.
async fn fleet(which: &str, caps: &str) -> Result<Option<String>> {
    let status = tokio::process::Command::new(std::env::current_exe()?)
        .env(FLEET_CHILD, which)
        .env(FLEET_CAPS, caps)
        .status()
        .await?;
    Ok((!status.success()).then(|| format!("{which} fleet ({caps} capabilities): {status}")))
}

fn env_usize(name: &str, default: usize) -> Result<usize> {
    match std::env::var(name) {
        Ok(v) => v.trim().parse().with_context(|| format!("{name}: a count")),
        Err(_) => Ok(default),
    }
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("error").init();
    if let Ok(which) = std::env::var(FLEET_CHILD) {
        return fleet_child(&which).await;
    }
    let began = Instant::now();
    let samples = env_usize("HIVE_BENCH_SAMPLES", 500)?;
    let sizes: Vec<usize> = match std::env::var("HIVE_BENCH_AGENTS") {
        Ok(s) => s
            .split(',')
            .map(|x| x.trim().parse::<usize>())
            .collect::<Result<_, _>>()
            .context("HIVE_BENCH_AGENTS: comma-separated agent counts")?,
        Err(_) => vec![1, 10, 100],
    };
    let wanted = std::env::var("HIVE_BENCH_BACKENDS").ok();
    let wants = |b: &str| {
        wanted
            .as_deref()
            .is_none_or(|w| w.split(',').any(|x| x == b))
    };

    println!(
        "agents benchmark: submit -> process_task start, one task at a time after {WARMUP} \
         warm-up; tasks/s: {THROUGHPUT_TASKS} no-op tasks submitted in batches of {BATCH}; \
         default orchestrator (poll 500 ms), agents of concurrency 1 sharing one capability"
    );
    println!(
        "Redis: connections opened / clients connected after spawning, after the {} probes, \
         after the throughput run (distributed only; other clients of the server count too)",
        WARMUP + samples
    );
    println!(
        "{:<12} {:>7} {:>8} {:>8} {:>8} {:>8} {:>9}   {:>8} {:>8} {:>8}",
        "backend",
        "agents",
        "samples",
        "p50 ms",
        "p99 ms",
        "max ms",
        "tasks/s",
        "spawn",
        "probes",
        "batch"
    );
    // A configuration that fails is reported and the others still run;
    // the run fails at the end.
    let mut failures = Vec::new();
    let mut fleets = Vec::new();
    if wants("embedded") {
        let backend = Backend::embedded()?;
        for &n in &sizes {
            failures.extend(configuration(&backend, n, samples).await);
        }
        backend.clean_up().await?;
        fleets.push("embedded");
    }
    if wants("distributed") {
        match Backend::distributed().await? {
            Some(backend) => {
                for &n in &sizes {
                    failures.extend(configuration(&backend, n, samples).await);
                }
                backend.clean_up().await?;
                fleets.push("distributed");
            }
            None => println!(
                "distributed  skipped: HIVE_TEST_REDIS_URL and HIVE_TEST_DATABASE_URL must both \
                 be set"
            ),
        }
    }
    for which in fleets {
        for caps in ["same", "distinct"] {
            failures.extend(fleet(which, caps).await?);
        }
    }
    println!("total {:.0} s", began.elapsed().as_secs_f64());
    ensure!(
        failures.is_empty(),
        "{} run(s) failed:\n  {}",
        failures.len(),
        failures.join("\n  ")
    );
    Ok(())
}
