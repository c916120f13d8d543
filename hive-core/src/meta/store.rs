//! The proposal store's contract: proposals with compare-and-set saves,
//! and the spend of the meta-agent's runs, which its budget reads.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::proposal::{MetaRun, Proposal, ProposalId, ProposalStatus};
use crate::error::{Error, Result};
use crate::storage::Engine;

/// The most proposals one `list` answers.
pub const MAX_LIST: usize = 1000;

/// Where proposals and the meta-agent's spend are kept.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::proposals`].
///
/// - **Create and read.** `create` stores a proposal as given (revision
///   1); `get` answers it, an unknown id is [`Error::NotFound`];
///   `list(agent, status, limit)` answers the ones that match, newest
///   first; a limit of 0 or over [`MAX_LIST`] is [`Error::InvalidInput`].
///   (`create_then_get_round_trips`)
/// - **Compare-and-set saves.** `save` stores a proposal only if its stored
///   revision is still the one given, and answers it at the next; a stale
///   one is [`Error::Conflict`] and changes nothing.
///   (`saves_compare_and_set`)
/// - **Spend.** `record_run` keeps a run's calls, tokens and cost;
///   `spend_since(t)` sums the calls and dollars of the runs at or after
///   `t`. (`spend_sums_the_runs_since`)
/// - **Shared and durable.** Every handle on the same database sees every
///   other's writes; all survives reopening. (`shared_and_durable`)
///
/// # Errors
/// As above; [`Error::Backend`] when the database fails.
#[async_trait]
pub trait ProposalStore: Send + Sync + std::fmt::Debug {
    /// Stores a new proposal.
    async fn create(&self, proposal: &Proposal) -> Result<()>;

    /// One proposal.
    async fn get(&self, id: ProposalId) -> Result<Proposal>;

    /// Proposals of `agent` in `status` (all when `None`), newest first.
    async fn list(
        &self,
        agent: Option<&str>,
        status: Option<ProposalStatus>,
        limit: usize,
    ) -> Result<Vec<Proposal>>;

    /// Stores `proposal` if nobody saved it since it was read.
    async fn save(&self, proposal: &Proposal) -> Result<Proposal>;

    /// Keeps a run's spend.
    async fn record_run(&self, run: &MetaRun) -> Result<()>;

    /// Calls and dollars of the runs at or after `since`.
    async fn spend_since(&self, since: DateTime<Utc>) -> Result<(u64, f64)>;
}

/// Opens the proposal store at `url` (`sqlite://…`, `sqlite::memory:` or
/// `postgres://…`).
///
/// # Errors
/// [`Error::InvalidInput`] for another scheme; [`Error::NotSupported`] for
/// a backend this build left out; as the backend's `open`.
pub async fn open(url: &str) -> Result<Arc<dyn ProposalStore>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(
            super::sqlite::SqliteProposalStore::open(url).await?,
        )),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(
            super::postgres::PostgresProposalStore::open(url).await?,
        )),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "no proposal store for {url:?}: use sqlite://, sqlite::memory: or postgres://"
        ))),
    }
}
