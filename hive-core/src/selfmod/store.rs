//! The change-set store's contract: change sets with compare-and-set
//! saves, shared by every process of a fleet, so whichever process runs a
//! change set's next step reads where the last one left it.

use std::sync::Arc;

use async_trait::async_trait;

use super::record::{ChangeSet, ChangeSetId, ChangeStatus};
use crate::error::{Error, Result};
use crate::storage::Engine;

/// The most change sets one `list` answers.
pub const MAX_LIST: usize = 1000;

/// Where change sets are kept.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::change_sets`].
///
/// - **Create and read.** `create` stores a change set as given (revision
///   1); `get` answers it, an unknown id is [`Error::NotFound`];
///   `list(repository, status, limit)` answers the ones that match, newest
///   first; a limit of 0 or over [`MAX_LIST`] is [`Error::InvalidInput`].
///   (`create_then_get_round_trips`)
/// - **Compare-and-set saves.** `save` stores a change set only if its
///   stored revision is still the one given, and answers it at the next; a
///   stale one is [`Error::Conflict`] and changes nothing.
///   (`saves_compare_and_set`)
/// - **Shared and durable.** Every handle on the same database sees every
///   other's writes; all survives reopening. (`shared_and_durable`)
///
/// # Errors
/// As above; [`Error::Backend`] when the database fails.
#[async_trait]
pub trait ChangeSetStore: Send + Sync + std::fmt::Debug {
    /// Stores a new change set.
    async fn create(&self, change: &ChangeSet) -> Result<()>;

    /// One change set.
    async fn get(&self, id: ChangeSetId) -> Result<ChangeSet>;

    /// Change sets of `repository` in `status` (all when `None`), newest
    /// first.
    async fn list(
        &self,
        repository: Option<&str>,
        status: Option<ChangeStatus>,
        limit: usize,
    ) -> Result<Vec<ChangeSet>>;

    /// Stores `change` if nobody saved it since it was read.
    async fn save(&self, change: &ChangeSet) -> Result<ChangeSet>;
}

/// Opens the change-set store at `url` (`sqlite://…`, `sqlite::memory:`
/// or `postgres://…`).
///
/// # Errors
/// [`Error::InvalidInput`] for another scheme; [`Error::NotSupported`] for
/// a backend this build left out; as the backend's `open`.
pub async fn open(url: &str) -> Result<Arc<dyn ChangeSetStore>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(
            super::sqlite::SqliteChangeSetStore::open(url).await?,
        )),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(
            super::postgres::PostgresChangeSetStore::open(url).await?,
        )),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "no change-set store for {url:?}: use sqlite://, sqlite::memory: or postgres://"
        ))),
    }
}
