//! The storage contract of the context engine: entries with vectors of one
//! model, found by similarity under filters.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::entry::{ContextEntry, EntryId, ModelSpec, NewEntry, Patch};
use super::query::{Filter, Hit, TierCounts, VectorQuery};
use crate::error::{Error, Result};
use crate::storage::Engine;

/// Where context entries live, and how they are found again.
///
/// A handle is opened for one embedding model ([`model`](Self::model)):
/// every vector it writes or searches has that model's dimension, and its
/// searches, lists and counts see only that model's entries. Ids are
/// global: `get`, `update`, `touch` and `delete` reach an entry whatever
/// its model.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::context`].
///
/// - **Round trip.** `insert` stores every entry of the batch and answers
///   their ids in order; `get` returns each as stored, with its vector
///   normalised to unit length, the model id recorded, `accessed_at` equal
///   to `created_at` (now when not given) and `access_count` 0.
///   (`insert_then_get_round_trips`)
/// - **Bad input stores nothing.** A batch with an empty content, a
///   vector of the wrong dimension, a non-finite or zero vector, an
///   importance outside [0, 1], metadata that is not an object or a bad
///   name is [`Error::InvalidInput`] naming the problem, and no entry of
///   the batch is stored. (`bad_input_stores_nothing`)
/// - **Nearest first.** `search` answers at most `k` hits, ordered by
///   descending cosine similarity, the similarity being the dot product of
///   the unit vectors (within 1e-3). (`search_answers_nearest_first`)
/// - **Threshold.** With `min_similarity`, no hit is less similar; a
///   threshold outside [-1, 1], `k` outside 1–[`MAX_K`](super::MAX_K) and a
///   query vector of the wrong dimension or with NaN are
///   [`Error::InvalidInput`]. (`threshold_and_bad_queries`)
/// - **Filters.** Agent, session, tiers, kinds and the creation-time range
///   and pinned flag narrow `search`, `list` and `count` alike. The
///   list-only fields (last access, importance bounds, access count) are
///   [`Error::InvalidInput`] in a search.
///   (`filters_narrow_search_list_and_count`)
/// - **Filtered searches are complete.** When at least `k` entries pass
///   the filter, a search without threshold answers `k` hits, however many
///   nearer entries the filter excludes; and they are the `k` most similar
///   of those passing (an approximate index may miss a few: at least 90 %).
///   (`filtered_search_is_complete`)
/// - **One model per handle.** Entries of another model in the same
///   database are invisible to `search`, `list` and `count`.
///   (`one_model_per_handle`)
/// - **Update.** `update` changes importance, tier, pinned flag and
///   metadata, answers the entry as it now is, and searches filter by the
///   new values; a bad value is [`Error::InvalidInput`] and changes
///   nothing; an unknown id is [`Error::NotFound`] (`get` likewise).
///   (`update_changes_what_searches_see`)
/// - **Access.** `touch` sets `accessed_at` and adds one to `access_count`
///   of each entry named; unknown ids are skipped (an entry may have been
///   deleted meanwhile). (`touch_records_access`)
/// - **Delete.** `delete` removes the entries named and answers how many
///   it removed (unknown ids count nothing); they are gone from `get`,
///   `search`, `list` and `count`. (`delete_removes_everywhere`)
/// - **Count and list.** `count` answers entries per tier under a filter;
///   `list` answers entries oldest first (by creation, then id), at most
///   `limit`; both honour the list-only fields. (`count_and_list`)
/// - **Shared and durable.** Every handle on the same database sees the
///   writes of every other (in this process or another) at its next
///   call, and everything acknowledged survives reopening.
///   (`shared_and_durable`)
///
/// # Errors
/// [`Error::InvalidInput`] and [`Error::NotFound`] as above;
/// [`Error::Backend`] when the database fails (see
/// [`Error::is_transient`]).
///
/// # Cancellation
/// Dropping a call's future before it answers leaves each write either
/// whole or absent: batches are one transaction.
#[async_trait]
pub trait ContextStore: Send + Sync + std::fmt::Debug {
    /// The model whose vectors this handle stores and searches.
    fn model(&self) -> &ModelSpec;

    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Stores a batch, all or nothing.
    async fn insert(&self, entries: Vec<NewEntry>) -> Result<Vec<EntryId>>;

    /// One entry.
    async fn get(&self, id: EntryId) -> Result<ContextEntry>;

    /// The nearest entries to a vector.
    async fn search(&self, query: &VectorQuery) -> Result<Vec<Hit>>;

    /// Entries passing `filter`, oldest first, at most `limit`.
    async fn list(&self, filter: &Filter, limit: usize) -> Result<Vec<ContextEntry>>;

    /// Changes an entry.
    async fn update(&self, id: EntryId, patch: &Patch) -> Result<ContextEntry>;

    /// Records that entries were found or used at `at`.
    async fn touch(&self, ids: &[EntryId], at: DateTime<Utc>) -> Result<()>;

    /// Removes entries; answers how many were there.
    async fn delete(&self, ids: &[EntryId]) -> Result<u64>;

    /// Entries per tier under `filter`.
    async fn count(&self, filter: &Filter) -> Result<TierCounts>;
}

/// Opens the context store at `url` for `model`: `sqlite://path`,
/// `sqlite::memory:` or `postgres://…`.
///
/// # Errors
/// [`Error::InvalidInput`] for an unknown scheme or a bad URL;
/// [`Error::NotSupported`] for a backend this build left out (naming its
/// cargo feature); [`Error::Backend`] when the database cannot be reached or
/// migrated.
pub async fn open(url: &str, model: ModelSpec) -> Result<Arc<dyn ContextStore>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(
            super::sqlite::SqliteContextStore::open(url, model).await?,
        )),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(
            super::postgres::PostgresContextStore::open(url, model).await?,
        )),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "no context store for {url:?}: use sqlite://, sqlite::memory: or postgres://"
        ))),
    }
}
