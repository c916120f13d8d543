//! The context engine: a store and an embedder together, so callers deal in
//! text — remember it (merging near-duplicates), search it by meaning and
//! rank it by similarity, recency and importance, move it between memory
//! tiers.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::embedding::EmbeddingService;
use super::entry::{ContextEntry, EntryId, ModelSpec, NewEntry, Patch};
use super::query::{check_threshold, Filter, TierCounts, VectorQuery};
use super::ranking::SemanticSearch;
use super::store::{self, ContextStore};
use super::tiers::{MaintenanceReport, TierPolicy};
use crate::error::{Error, Result};
use crate::setters::setters;

/// How the engine behaves; defaults documented per field.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct EngineConfig {
    /// Ranking of search results. Default: 0.5 / 0.3 / 0.2, 30-day
    /// half-life.
    pub ranking: SemanticSearch,
    /// A new entry at least this similar (cosine) to a stored one of the
    /// same agent, session and kind is merged into it instead of stored.
    /// `None` stores every entry. Default 0.95.
    pub duplicate_threshold: Option<f32>,
    /// Promotion, demotion and expiry rules.
    pub tiers: TierPolicy,
    /// Whether entries a search returns count as used (access time and
    /// count, which recency and promotion read). Default true.
    pub touch_on_search: bool,
}

impl Default for EngineConfig {
    fn default() -> Self {
        EngineConfig {
            ranking: SemanticSearch::default(),
            duplicate_threshold: Some(0.95),
            tiers: TierPolicy::default(),
            touch_on_search: true,
        }
    }
}

/// What [`ContextEngine::remember`] did.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Stored {
    /// Stored as a new entry.
    New {
        /// Its id.
        id: EntryId,
    },
    /// Merged into a near-duplicate already stored.
    Merged {
        /// The entry it was merged into.
        into: EntryId,
        /// How similar they were.
        similarity: f32,
    },
}

impl Stored {
    /// The entry that now holds the content.
    pub fn id(&self) -> EntryId {
        match self {
            Stored::New { id } => *id,
            Stored::Merged { into, .. } => *into,
        }
    }
}

/// A search by text.
#[derive(Clone, Debug, PartialEq)]
pub struct SearchRequest {
    /// What to look for.
    pub text: String,
    /// How many results at most.
    pub k: usize,
    /// Only results at least this similar (cosine, in [-1, 1]).
    pub min_similarity: Option<f32>,
    /// Which entries to consider.
    pub filter: Filter,
}

impl SearchRequest {
    /// The `k` best entries for `text`.
    pub fn new(text: impl Into<String>, k: usize) -> Self {
        SearchRequest {
            text: text.into(),
            k,
            min_similarity: None,
            filter: Filter::default(),
        }
    }

    setters! {
        /// Only results at least this similar.
        min_similarity(threshold: f32) => Some(threshold);
        /// Only entries passing `filter`.
        filter(filter: Filter);
    }
}

/// One ranked result.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Found {
    /// The entry.
    pub entry: ContextEntry,
    /// Its cosine similarity to the query.
    pub similarity: f32,
    /// Its score under the engine's [`SemanticSearch`].
    pub score: f32,
}

/// A [`ContextStore`] with an [`EmbeddingService`]: memory by meaning.
///
/// ```no_run
/// # async fn demo() -> hive_core::Result<()> {
/// use std::sync::Arc;
/// use hive_core::context::{ContextEngine, NewEntry, OfflineEmbedder, SearchRequest};
///
/// let engine = ContextEngine::open("sqlite://hive.db", Arc::new(OfflineEmbedder::new()?)).await?;
/// engine.remember(NewEntry::text("The staging database lives in Frankfurt").agent("ops")).await?;
/// let found = engine.search(&SearchRequest::new("where is the test environment hosted?", 3)).await?;
/// println!("{}", found[0].entry.content);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct ContextEngine {
    store: Arc<dyn ContextStore>,
    embedder: Arc<dyn EmbeddingService>,
    config: EngineConfig,
}

impl ContextEngine {
    /// An engine over `store`, whose model must be `embedder`'s.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the store holds another model's vectors.
    pub fn new(store: Arc<dyn ContextStore>, embedder: Arc<dyn EmbeddingService>) -> Result<Self> {
        let model = ModelSpec::of(embedder.as_ref())?;
        if store.model() != &model {
            return Err(Error::invalid(format!(
                "the store holds {:?} vectors of {} dimensions, the embedder makes {:?} of {}",
                store.model().id,
                store.model().dimension,
                model.id,
                model.dimension
            )));
        }
        Ok(ContextEngine {
            store,
            embedder,
            config: EngineConfig::default(),
        })
    }

    /// Opens the store at `url` (`sqlite://…`, `sqlite::memory:`,
    /// `postgres://…`) for `embedder`'s model.
    ///
    /// # Errors
    /// As [`store::open`].
    pub async fn open(url: &str, embedder: Arc<dyn EmbeddingService>) -> Result<Self> {
        let model = ModelSpec::of(embedder.as_ref())?;
        let store = store::open(url, model).await?;
        Self::new(store, embedder)
    }

    /// Sets the configuration.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad weights, thresholds or tier rules.
    pub fn with_config(mut self, config: EngineConfig) -> Result<Self> {
        config.ranking.check()?;
        config.tiers.check()?;
        if let Some(t) = config.duplicate_threshold {
            check_threshold(t)?;
        }
        self.config = config;
        Ok(self)
    }

    /// The store underneath.
    pub fn store(&self) -> &Arc<dyn ContextStore> {
        &self.store
    }

    /// The embedder.
    pub fn embedder(&self) -> &Arc<dyn EmbeddingService> {
        &self.embedder
    }

    /// The configuration.
    pub fn config(&self) -> &EngineConfig {
        &self.config
    }

    /// Fills in the vector of an entry given as text only.
    async fn embedded(&self, mut entry: NewEntry) -> Result<NewEntry> {
        if entry.embedding.is_empty() {
            if entry.content.trim().is_empty() {
                return Err(Error::invalid("context content is empty"));
            }
            let mut v = self
                .embedder
                .embed(std::slice::from_ref(&entry.content))
                .await?;
            entry.embedding = v
                .pop()
                .ok_or_else(|| Error::backend("embedding", "the embedder answered no vector"))?;
        }
        // Checked here, not only by the store's insert: an entry merged
        // into a near-duplicate never reaches the insert.
        entry.checked(self.store.model())
    }

    /// Remembers `entry`, embedding its content when it has no vector; a
    /// near-duplicate of a stored entry with the same agent, session and
    /// kind is merged into it instead: the stored entry keeps its content,
    /// takes the higher importance and tier, is pinned if either was, gains
    /// the new metadata keys, and counts as used now.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad entry; what the embedder or the
    /// store answers otherwise.
    pub async fn remember(&self, entry: NewEntry) -> Result<Stored> {
        let entry = self.embedded(entry).await?;
        if let Some(threshold) = self.config.duplicate_threshold {
            if let Some((existing, similarity)) = self.duplicate_of(&entry, threshold).await? {
                self.merge(&existing, entry).await?;
                return Ok(Stored::Merged {
                    into: existing.id,
                    similarity,
                });
            }
        }
        let id = self.store_exact(entry).await?;
        Ok(Stored::New { id })
    }

    /// Stores `entry` as it is — no near-duplicate check — embedding it
    /// when it has no vector.
    ///
    /// # Errors
    /// As [`ContextEngine::remember`].
    pub async fn store_exact(&self, entry: NewEntry) -> Result<EntryId> {
        let entry = self.embedded(entry).await?;
        let mut ids = self.store.insert(vec![entry]).await?;
        ids.pop()
            .ok_or_else(|| Error::backend(self.store.backend(), "insert answered no id"))
    }

    async fn duplicate_of(
        &self,
        entry: &NewEntry,
        threshold: f32,
    ) -> Result<Option<(ContextEntry, f32)>> {
        let mut filter = Filter::any().kind(entry.kind.clone());
        filter.agent = entry.agent.clone();
        filter.session = entry.session.clone();
        let query = VectorQuery::new(entry.embedding.clone(), 5)
            .min_similarity(threshold)
            .filter(filter);
        let hits = self.store.search(&query).await?;
        // A filter without agent or session matches any; a duplicate must
        // have none either.
        Ok(hits
            .into_iter()
            .find(|h| h.entry.agent == entry.agent && h.entry.session == entry.session)
            .map(|h| (h.entry, h.similarity)))
    }

    async fn merge(&self, existing: &ContextEntry, new: NewEntry) -> Result<()> {
        let mut metadata = existing.metadata.clone();
        if let (Value::Object(into), Value::Object(from)) = (&mut metadata, new.metadata) {
            into.extend(from);
        }
        let patch = Patch {
            importance: Some(existing.importance.max(new.importance)),
            tier: Some(existing.tier.max(new.tier)),
            pinned: Some(existing.pinned || new.pinned),
            metadata: Some(metadata),
        };
        self.store.update(existing.id, &patch).await?;
        self.store.touch(&[existing.id], Utc::now()).await
    }

    /// The entries best matching `request.text`, ranked by the engine's
    /// [`SemanticSearch`]; they count as used unless configured otherwise.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for empty text or a bad query; what the
    /// embedder or the store answers otherwise.
    pub async fn search(&self, request: &SearchRequest) -> Result<Vec<Found>> {
        if request.text.trim().is_empty() {
            return Err(Error::invalid("the search text is empty"));
        }
        let vector = self
            .embedder
            .embed(std::slice::from_ref(&request.text))
            .await?
            .pop()
            .ok_or_else(|| Error::backend("embedding", "the embedder answered no vector"))?;
        let ranking = &self.config.ranking;
        let mut query =
            VectorQuery::new(vector, ranking.candidates(request.k)).filter(request.filter.clone());
        query.min_similarity = request.min_similarity;
        let hits = self.store.search(&query).await?;
        let now = Utc::now();
        let mut found: Vec<Found> = hits
            .into_iter()
            .map(|h| Found {
                score: ranking.score(&h.entry, h.similarity, now),
                similarity: h.similarity,
                entry: h.entry,
            })
            .collect();
        found.sort_by(|a, b| b.score.total_cmp(&a.score));
        found.truncate(request.k);
        if self.config.touch_on_search && !found.is_empty() {
            let ids: Vec<EntryId> = found.iter().map(|f| f.entry.id).collect();
            self.store.touch(&ids, now).await?;
        }
        Ok(found)
    }

    /// One entry.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id.
    pub async fn get(&self, id: EntryId) -> Result<ContextEntry> {
        self.store.get(id).await
    }

    /// Deletes one entry.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id.
    pub async fn forget(&self, id: EntryId) -> Result<()> {
        match self.store.delete(&[id]).await? {
            0 => Err(Error::not_found("context entry", id)),
            _ => Ok(()),
        }
    }

    /// Sets an entry's importance.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] outside [0, 1]; [`Error::NotFound`] for an
    /// unknown id.
    pub async fn set_importance(&self, id: EntryId, importance: f32) -> Result<ContextEntry> {
        let patch = Patch {
            importance: Some(importance),
            ..Patch::default()
        };
        self.store.update(id, &patch).await
    }

    /// Changes an entry.
    ///
    /// # Errors
    /// As [`ContextStore::update`].
    pub async fn update(&self, id: EntryId, patch: &Patch) -> Result<ContextEntry> {
        self.store.update(id, patch).await
    }

    /// Entries per tier under `filter`.
    ///
    /// # Errors
    /// As [`ContextStore::count`].
    pub async fn counts(&self, filter: &Filter) -> Result<TierCounts> {
        self.store.count(filter).await
    }

    /// Runs the tier rules at `now`: expiry, promotion, demotion.
    ///
    /// # Errors
    /// As [`TierPolicy::apply`].
    pub async fn maintain(&self, now: DateTime<Utc>) -> Result<MaintenanceReport> {
        self.config.tiers.apply(self.store.as_ref(), now).await
    }
}
