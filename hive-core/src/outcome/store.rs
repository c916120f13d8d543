//! The outcome contract: one durable record per finished task, and the
//! metrics aggregated from them.

use std::sync::Arc;

use async_trait::async_trait;

use super::record::{GroupBy, Metrics, Outcome, OutcomeFilter};
use crate::error::{Error, Result};
use crate::queue::TaskId;
use crate::storage::Engine;

/// The most outcomes one `list` answers, and the most one `record_many`
/// takes.
pub const MAX_LIMIT: usize = 10_000;

/// Where outcomes are kept: the source of truth for what tasks achieved
/// and spent, which metrics, experiments and budgets read.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::outcomes`].
///
/// - **Record and read.** `record_many` stores each outcome (checked with
///   [`Outcome::check`]); `get` answers it as stored (times to the
///   millisecond); an unknown task is [`Error::NotFound`].
///   (`record_then_get_round_trips`)
/// - **One per task.** Recording a task again replaces its outcome (a dead
///   letter retried by hand that later completes has the later outcome).
///   (`recording_again_replaces`)
/// - **Bad input stores nothing.** A batch with one outcome that fails
///   [`Outcome::check`], or over [`MAX_LIMIT`] outcomes, is
///   [`Error::InvalidInput`] naming it, and none of the batch is stored.
///   (`bad_input_stores_nothing`)
/// - **Many by task.** `get_many(ids)` answers the outcomes of those of
///   `ids` that have one, in no set order; ids without an outcome are left
///   out, and more than [`MAX_LIMIT`] ids is [`Error::InvalidInput`].
///   (`get_many_answers_the_recorded_ones`)
/// - **List.** `list(filter, limit)` answers the outcomes the filter
///   passes (agent, task type, prompt version, experiment, finished in
///   `[since, until)`), newest first (by finish time, then task id), at most
///   `limit`; a limit of 0 or over [`MAX_LIMIT`] is [`Error::InvalidInput`].
///   (`list_filters_newest_first`)
/// - **Metrics.** `metrics(filter, group_by)` answers one [`Metrics`] per
///   group of the outcomes the filter passes, ordered by key (`None` first):
///   counts of tasks, successes and dead letters and their rates, retries
///   (attempts beyond the first), nearest-rank p50 and p95 of run time and
///   p50 of wait, tokens and cost summed, cost per task, and the mean score
///   of the scored ones. No outcome, no group. The figures equal a direct
///   count over the outcomes. (`metrics_equal_a_direct_count`)
/// - **Shared and durable.** Every handle on the same database sees every
///   other's writes; outcomes survive reopening. (`shared_and_durable`)
///
/// # Errors
/// As above; [`Error::Backend`] when the database fails.
#[async_trait]
pub trait OutcomeStore: Send + Sync + std::fmt::Debug {
    /// The backend's name: `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Stores outcomes, all or none.
    async fn record_many(&self, outcomes: &[Outcome]) -> Result<()>;

    /// Stores one outcome.
    async fn record(&self, outcome: &Outcome) -> Result<()> {
        self.record_many(std::slice::from_ref(outcome)).await
    }

    /// The outcome of task `id`.
    async fn get(&self, id: TaskId) -> Result<Outcome>;

    /// The outcomes of those of `ids` that have one (experiments read
    /// their assigned tasks' outcomes with it).
    async fn get_many(&self, ids: &[TaskId]) -> Result<Vec<Outcome>>;

    /// Outcomes the filter passes, newest first.
    async fn list(&self, filter: &OutcomeFilter, limit: usize) -> Result<Vec<Outcome>>;

    /// The metrics of the outcomes the filter passes, per group.
    async fn metrics(&self, filter: &OutcomeFilter, group_by: GroupBy) -> Result<Vec<Metrics>>;
}

/// Checks a `list` limit.
pub(crate) fn check_limit(limit: usize) -> Result<()> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::invalid(format!(
            "limit must be between 1 and {MAX_LIMIT}, got {limit}"
        )));
    }
    Ok(())
}

/// Opens the outcome store at `url`: `sqlite://…`, `sqlite::memory:` or
/// `postgres://…`.
///
/// # Errors
/// [`Error::InvalidInput`] for another scheme; [`Error::NotSupported`]
/// for a backend this build left out; [`Error::Backend`] when the
/// database cannot be opened or migrated.
pub async fn open(url: &str) -> Result<Arc<dyn OutcomeStore>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(
            super::sqlite::SqliteOutcomeStore::open(url).await?,
        )),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(
            super::postgres::PostgresOutcomeStore::open(url).await?,
        )),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "no outcome store for {url:?}: use sqlite://, sqlite::memory: or postgres://"
        ))),
    }
}
