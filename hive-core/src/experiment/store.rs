//! The experiment store's contract: experiments with compare-and-set
//! saves, one active experiment per agent and label, and sticky
//! assignments of tasks to arms.

use std::sync::Arc;

use async_trait::async_trait;

use super::record::{Experiment, ExperimentId};
use crate::error::{Error, Result};
use crate::queue::TaskId;
use crate::storage::Engine;

/// The most experiments one `list` answers.
pub const MAX_LIST: usize = 1000;

/// Where experiments and their assignments are kept.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::experiments`].
///
/// - **Create and read.** `create` stores an experiment as given (at
///   revision 1); `get` answers it; an unknown id is [`Error::NotFound`];
///   `list(agent, active_only, limit)` answers experiments newest first.
///   (`create_then_get_round_trips`)
/// - **One active per label.** A second experiment on an agent's label
///   while one is active (not finished) is [`Error::Conflict`] and stores
///   nothing; once it is finished another may start.
///   (`one_active_experiment_per_label`)
/// - **Compare-and-set saves.** `save(experiment)` stores it only if the
///   stored revision is still `experiment.revision`, and answers it at the
///   next revision; a stale revision is [`Error::Conflict`] and changes
///   nothing. (`saves_compare_and_set`)
/// - **Sticky assignments.** `assign(id, task, arm)` records the task's
///   arm unless it has one, and answers the arm it has (the first one
///   given, whatever is asked later); `assignment` reads it back (none for
///   an unassigned task); `assignments(id)` answers every one in the order
///   made. (`assignments_are_sticky`)
/// - **Shared and durable.** Every handle on the same database sees every
///   other's writes; experiments and assignments survive reopening.
///   (`shared_and_durable`)
///
/// # Errors
/// As above; [`Error::Backend`] when the database fails.
#[async_trait]
pub trait ExperimentStore: Send + Sync + std::fmt::Debug {
    /// Stores a new experiment.
    async fn create(&self, experiment: &Experiment) -> Result<()>;

    /// One experiment.
    async fn get(&self, id: ExperimentId) -> Result<Experiment>;

    /// Experiments of `agent` (all agents when `None`), newest first.
    async fn list(
        &self,
        agent: Option<&str>,
        active_only: bool,
        limit: usize,
    ) -> Result<Vec<Experiment>>;

    /// Stores `experiment` if nobody saved it since it was read.
    async fn save(&self, experiment: &Experiment) -> Result<Experiment>;

    /// Assigns `task` to `arm` unless it already has an arm; answers its arm.
    async fn assign(&self, id: ExperimentId, task: TaskId, arm: &str) -> Result<String>;

    /// The arm `task` is assigned to.
    async fn assignment(&self, id: ExperimentId, task: TaskId) -> Result<Option<String>>;

    /// Every assignment of the experiment, in the order made.
    async fn assignments(&self, id: ExperimentId) -> Result<Vec<(TaskId, String)>>;
}

/// Opens the experiment store at `url` (`sqlite://…`, `sqlite::memory:` or
/// `postgres://…`).
///
/// # Errors
/// [`Error::InvalidInput`] for another scheme; [`Error::NotSupported`] for
/// a backend this build left out; as the backend's `open`.
pub async fn open(url: &str) -> Result<Arc<dyn ExperimentStore>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(
            super::sqlite::SqliteExperimentStore::open(url).await?,
        )),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(
            super::postgres::PostgresExperimentStore::open(url).await?,
        )),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "no experiment store for {url:?}: use sqlite://, sqlite::memory: or postgres://"
        ))),
    }
}
