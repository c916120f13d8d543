//! The rolling window behind `GET /metrics/series`, which the dashboard's
//! charts read: per interval (5 s by default, over the last 15 minutes)
//! the tasks submitted, completed, failed and dead-lettered, the queue's
//! depth by status at the interval's end, and the submit→start and run
//! times' p50 and p95; and, since the server started, what each agent
//! spent on models (tokens, dollars), read from the stored outcomes.
//!
//! Kept in the server, from the hive's own event feed and the queue's own
//! counts, so a browser never computes a number from scraped text and
//! every figure it shows is one the server gave. Memory is bounded: a
//! fixed number of intervals, at most
//! [`super::tasks::MAX_REMEMBERED`] tasks remembered between their events, at most [`MAX_DURATIONS`] durations per interval
//! (a uniform sample beyond that); spend is read from the outcome store
//! when asked, at most [`MAX_AGENTS`] agents.

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use chrono::{DateTime, Utc};
use hive_core::events::{EventFilter, Watch};
use hive_core::queue::TaskStatus;
use hive_core::Hive;
use serde::Serialize;
use tokio_util::sync::CancellationToken;
use utoipa::ToSchema;

use super::tasks::{Observation, Outcome, TaskFollower};

/// How tasks are folded into intervals.
#[derive(Clone, Copy, Debug)]
pub struct SeriesConfig {
    /// The length of one interval. Default 5 s.
    pub interval: Duration,
    /// How far back intervals are kept. Default 15 minutes.
    pub window: Duration,
}

impl Default for SeriesConfig {
    fn default() -> Self {
        SeriesConfig {
            interval: Duration::from_secs(5),
            window: Duration::from_secs(15 * 60),
        }
    }
}

/// Durations kept per interval for its percentiles; beyond it each new one
/// replaces a kept one at random (reservoir sampling), so the percentiles
/// stay an unbiased estimate.
pub const MAX_DURATIONS: usize = 10_000;
/// Agents whose spend is answered.
pub const MAX_AGENTS: usize = 1_000;

/// The answer of `GET /metrics/series`.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct SeriesPage {
    /// The length of one interval, in seconds.
    pub interval_secs: u64,
    /// How far back intervals go, in seconds.
    pub window_secs: u64,
    /// Oldest first; the last is the interval under way (`partial`).
    pub intervals: Vec<Interval>,
    /// Spend per agent since `since`, largest cost first, from the stored
    /// outcomes (every process's tasks when the store is shared).
    pub spend: Vec<AgentSpend>,
    /// When this server started following the feed.
    pub since: DateTime<Utc>,
}

/// One interval.
#[derive(Clone, Debug, Serialize, ToSchema)]
pub struct Interval {
    /// The interval's end (now, for the partial one).
    pub at: DateTime<Utc>,
    /// Whether the interval is still under way.
    pub partial: bool,
    /// Tasks submitted in it.
    pub submitted: u64,
    /// Tasks completed in it.
    pub completed: u64,
    /// Attempts that failed and will be retried.
    pub failed: u64,
    /// Tasks dead-lettered (out of attempts, or a permanent error).
    pub dead_lettered: u64,
    /// Tasks per status at its end, from the queue's own counts (empty
    /// when the queue could not be read).
    pub depth: BTreeMap<TaskStatus, u64>,
    /// Median submit → first start of the tasks that started in it, in
    /// milliseconds; null when none did.
    pub wait_p50_ms: Option<f64>,
    /// 95th percentile of the same.
    pub wait_p95_ms: Option<f64>,
    /// Median run time (claim → end) of the attempts that ended in it.
    pub run_p50_ms: Option<f64>,
    /// 95th percentile of the same.
    pub run_p95_ms: Option<f64>,
}

/// What one agent's tasks spent, as their results reported.
#[derive(Clone, Debug, Default, Serialize, ToSchema)]
pub struct AgentSpend {
    /// The agent's name (`unknown` for a worker that is no agent).
    pub agent: String,
    /// Its tasks that finished since (completed or dead-lettered).
    pub tasks: u64,
    /// Prompt tokens.
    pub input_tokens: u64,
    /// Answer tokens.
    pub output_tokens: u64,
    /// Dollars, over the tasks whose model had a price.
    pub cost_usd: f64,
    /// Of those, the ones without a price (not in `cost_usd`): their model
    /// had no known price, or they reported no spend (a dead letter).
    pub unpriced_tasks: u64,
}

/// The window, shared by the follower and the route.
#[derive(Debug)]
pub struct Series {
    config: SeriesConfig,
    state: Mutex<Window>,
    started: OnceLock<()>,
}

#[derive(Debug)]
struct Window {
    since: DateTime<Utc>,
    intervals: VecDeque<Interval>,
    current: Bucket,
}

#[derive(Debug, Default)]
struct Bucket {
    submitted: u64,
    completed: u64,
    failed: u64,
    dead_lettered: u64,
    waits: Reservoir,
    runs: Reservoir,
}

impl Series {
    /// An empty window; [`Series::follow`] fills it.
    pub fn new(config: SeriesConfig) -> Self {
        Series {
            config,
            state: Mutex::new(Window {
                since: Utc::now(),
                intervals: VecDeque::new(),
                current: Bucket::default(),
            }),
            started: OnceLock::new(),
        }
    }

    fn window(&self) -> std::sync::MutexGuard<'_, Window> {
        self.state
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn capacity(&self) -> usize {
        let n = self.config.window.as_secs_f64() / self.config.interval.as_secs_f64().max(0.001);
        (n.ceil() as usize).max(1)
    }

    /// Starts following `hive`'s task events and sampling its queue, once
    /// (later calls do nothing), on the current Tokio runtime; stops with
    /// `stop` or when the hive's feed ends. The first window a process
    /// starts also feeds the Prometheus task metrics
    /// ([`super::claim_task_metrics`]), so the feed is followed once.
    pub fn follow(self: &Arc<Self>, hive: Arc<Hive>, stop: CancellationToken) {
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.started.set(()).is_err() {
            return;
        }
        let me = self.clone();
        runtime.spawn(async move {
            if let Err(e) = me.run(&hive, &stop).await {
                tracing::warn!("metrics series: cannot follow the event feed: {e}");
            }
        });
    }

    async fn run(&self, hive: &Hive, stop: &CancellationToken) -> hive_core::Result<()> {
        self.window().since = Utc::now();
        let since = hive.events().position();
        let mut sub = hive
            .events()
            .subscribe(EventFilter::patterns(["task"])?, Some(since))
            .await?;
        let prometheus = super::claim_task_metrics();
        let mut tasks = TaskFollower::default();
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        tick.tick().await;
        loop {
            tokio::select! {
                () = stop.cancelled() => return Ok(()),
                _ = tick.tick() => {
                    let depth = depth(hive).await;
                    self.close(depth);
                }
                watch = sub.next() => match watch {
                    None => return Ok(()),
                    Some(Watch::Event(event)) => {
                        let seen = tasks.on(&event, hive).await;
                        if prometheus {
                            super::observe(&seen);
                        }
                        self.record(seen);
                    }
                    Some(Watch::Lagged { .. }) => {}
                    Some(Watch::Resync { after, next }) => {
                        if prometheus {
                            super::missed(next.saturating_sub(after + 1));
                        }
                        tasks.forget();
                    }
                },
            }
        }
    }

    /// Ends the interval under way with the queue's `depth`.
    fn close(&self, depth: BTreeMap<TaskStatus, u64>) {
        let capacity = self.capacity();
        let mut window = self.window();
        let bucket = std::mem::take(&mut window.current);
        window
            .intervals
            .push_back(bucket.interval(Utc::now(), false, depth));
        while window.intervals.len() > capacity {
            window.intervals.pop_front();
        }
    }

    fn record(&self, seen: Observation) {
        let mut window = self.window();
        let bucket = &mut window.current;
        match seen {
            Observation::Nothing | Observation::Retried { .. } => {}
            Observation::Submitted => bucket.submitted += 1,
            Observation::Started { wait, .. } => {
                if let Some(secs) = wait {
                    bucket.waits.add(secs * 1000.0);
                }
            }
            Observation::Ended { outcome, run, .. } => {
                match outcome {
                    Outcome::Completed => bucket.completed += 1,
                    Outcome::Failed => bucket.failed += 1,
                    Outcome::DeadLettered => bucket.dead_lettered += 1,
                }
                if let Some(secs) = run {
                    bucket.runs.add(secs * 1000.0);
                }
            }
        }
    }

    /// The window now: the closed intervals and the interval under way, with
    /// the queue's depth read now.
    pub async fn page(&self, hive: &Hive) -> SeriesPage {
        let depth = depth(hive).await;
        let (intervals, since) = {
            let window = self.window();
            let mut intervals: Vec<Interval> = window.intervals.iter().cloned().collect();
            intervals.push(window.current.interval(Utc::now(), true, depth));
            (intervals, window.since)
        };
        let spend = spend_since(hive, since).await;
        SeriesPage {
            interval_secs: self.config.interval.as_secs().max(1),
            window_secs: self.config.window.as_secs(),
            intervals,
            spend,
            since,
        }
    }
}

/// What each agent's tasks spent since `since`, largest cost first, from
/// the hive's stored outcomes — the one source of truth for spend: durable,
/// and fleet-wide when the store is shared. Empty (and logged) when the
/// store cannot be read: never a made-up zero.
async fn spend_since(hive: &Hive, since: DateTime<Utc>) -> Vec<AgentSpend> {
    let filter = hive_core::outcome::OutcomeFilter {
        since: Some(since),
        ..hive_core::outcome::OutcomeFilter::default()
    };
    let metrics = match hive
        .metrics(&filter, hive_core::outcome::GroupBy::Agent)
        .await
    {
        Ok(m) => m,
        Err(e) => {
            tracing::warn!(error = %e, "the outcomes could not be read for the spend");
            return Vec::new();
        }
    };
    let mut spend: Vec<AgentSpend> = metrics
        .into_iter()
        .filter(|m| m.input_tokens + m.output_tokens > 0 || m.priced > 0)
        .take(MAX_AGENTS)
        .map(|m| AgentSpend {
            agent: m.key.unwrap_or_else(|| "unknown".to_string()),
            tasks: m.tasks,
            input_tokens: m.input_tokens,
            output_tokens: m.output_tokens,
            cost_usd: m.cost_usd,
            unpriced_tasks: m.tasks - m.priced.min(m.tasks),
        })
        .collect();
    spend.sort_by(|a, b| {
        b.cost_usd
            .total_cmp(&a.cost_usd)
            .then(b.tasks.cmp(&a.tasks))
    });
    spend
}

/// The queue's counts, or nothing when it cannot be read (a gap in the
/// chart, never a made-up zero).
async fn depth(hive: &Hive) -> BTreeMap<TaskStatus, u64> {
    match hive.queue().stats().await {
        Ok(stats) => stats.counts,
        Err(e) => {
            tracing::debug!("metrics series: no queue counts: {e}");
            BTreeMap::new()
        }
    }
}

impl Bucket {
    fn interval(
        &self,
        at: DateTime<Utc>,
        partial: bool,
        depth: BTreeMap<TaskStatus, u64>,
    ) -> Interval {
        let (wait_p50_ms, wait_p95_ms) = self.waits.percentiles();
        let (run_p50_ms, run_p95_ms) = self.runs.percentiles();
        Interval {
            at,
            partial,
            submitted: self.submitted,
            completed: self.completed,
            failed: self.failed,
            dead_lettered: self.dead_lettered,
            depth,
            wait_p50_ms,
            wait_p95_ms,
            run_p50_ms,
            run_p95_ms,
        }
    }
}

/// Durations in milliseconds: all of them up to [`MAX_DURATIONS`], then a
/// uniform sample (Vitter's algorithm R).
#[derive(Debug, Default)]
struct Reservoir {
    kept: Vec<f64>,
    seen: u64,
    rng: u64,
}

impl Reservoir {
    fn add(&mut self, ms: f64) {
        self.seen += 1;
        if self.kept.len() < MAX_DURATIONS {
            self.kept.push(ms);
            return;
        }
        // xorshift64*, seeded from the count: deterministic and cheap.
        if self.rng == 0 {
            self.rng = 0x9E37_79B9_7F4A_7C15 ^ self.seen;
        }
        self.rng ^= self.rng >> 12;
        self.rng ^= self.rng << 25;
        self.rng ^= self.rng >> 27;
        let r = self.rng.wrapping_mul(0x2545_F491_4F6C_DD1D);
        let slot = (r % self.seen) as usize;
        if let Some(kept) = self.kept.get_mut(slot) {
            *kept = ms;
        }
    }

    /// The nearest-rank p50 and p95, or nothing when empty.
    fn percentiles(&self) -> (Option<f64>, Option<f64>) {
        if self.kept.is_empty() {
            return (None, None);
        }
        let mut sorted = self.kept.clone();
        sorted.sort_by(f64::total_cmp);
        let rank = |p: f64| {
            let i = ((p * sorted.len() as f64).ceil() as usize).clamp(1, sorted.len()) - 1;
            sorted[i]
        };
        (Some(rank(0.50)), Some(rank(0.95)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_are_nearest_rank() {
        let mut r = Reservoir::default();
        assert_eq!(r.percentiles(), (None, None));
        for ms in 1..=100 {
            r.add(f64::from(ms));
        }
        assert_eq!(r.percentiles(), (Some(50.0), Some(95.0)));
    }

    #[test]
    fn a_full_reservoir_keeps_its_size_and_a_fair_sample() {
        let mut r = Reservoir::default();
        for ms in 0..(MAX_DURATIONS as u32 * 4) {
            r.add(f64::from(ms));
        }
        assert_eq!(r.kept.len(), MAX_DURATIONS);
        let (p50, _) = r.percentiles();
        let p50 = p50.expect("some");
        let true_median = f64::from(MAX_DURATIONS as u32 * 2);
        assert!(
            (p50 - true_median).abs() < true_median * 0.05,
            "median {p50} vs {true_median}"
        );
    }

    #[test]
    fn intervals_are_bounded_by_the_window() {
        let series = Series::new(SeriesConfig {
            interval: Duration::from_secs(1),
            window: Duration::from_secs(3),
        });
        for _ in 0..10 {
            series.record(Observation::Submitted);
            series.close(BTreeMap::new());
        }
        let window = series.window();
        assert_eq!(window.intervals.len(), 3);
        assert!(window.intervals.iter().all(|s| s.submitted == 1));
    }
}
