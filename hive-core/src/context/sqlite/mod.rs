//! The embedded context store: entries in the SQLite file the queue and the
//! broker use, searched exactly in Rust.
//!
//! Each handle keeps an in-memory copy of its model's vectors
//! ([`index`]) and brings it up to date before every search from the
//! rows and tombstones stamped after the generation it holds (see
//! `migrations/sqlite/0005_context.sql`), so writes by other handles and
//! other processes are seen at the next search. Everything else — content,
//! metadata, access counts — is read from SQLite for the hits only.
//!
//! Writes go through one connection per handle (this process's writers
//! queue in its pool rather than race for SQLite's lock); reads use a small
//! pool of read-only connections. An in-memory database lives in a single
//! connection, which must never close.

mod index;

use std::sync::{Arc, RwLock};
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use futures::TryStreamExt;
use sqlx::error::BoxDynError;
use sqlx::sqlite::{SqlitePool, SqliteRow, SqliteTypeInfo, SqliteValueRef};
use sqlx::{Decode, QueryBuilder, Row as _, Sqlite, SqliteConnection, Type};
use uuid::Uuid;

use self::index::{Index, Row};
use super::entry::{checked_batch, ContextEntry, EntryId, ModelSpec, NewEntry, Patch, Tier};
use super::query::{Filter, Hit, TierCounts, VectorQuery};
use super::row::{RawEntry, StoredVector};
use super::sql::{self as shared, Dialect};
use super::store::ContextStore;
use crate::error::{Error, Result};
use crate::storage::sqlite::{open_pools, Durability, Pools};
use crate::time::now_ms;

const BACKEND: &str = "sqlite";

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed store.
const READERS: u32 = 4;

/// Tombstones are kept for this many generations; a copy further behind is
/// rebuilt from scratch.
const TOMBSTONE_GENERATIONS: i64 = 10_000;

/// Ids per `IN (…)` list.
const ID_CHUNK: usize = 500;

/// Below this many floats a search runs inline; above, on the blocking pool.
const INLINE_SEARCH_FLOATS: usize = 1 << 18;

impl Dialect for Sqlite {
    const COLUMNS: &'static str = "id, model, embedding, content, agent, session, kind, tier, \
                                   importance, pinned, metadata, created_at, accessed_at, \
                                   access_count";
    const GET: &'static str = include_str!("sql/get.sql");
}

fn db_err(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

/// The embedded context store.
///
/// ```no_run
/// # async fn demo() -> hive_core::Result<()> {
/// use hive_core::context::sqlite::SqliteContextStore;
/// use hive_core::context::{ContextStore, ModelSpec, NewEntry, VectorQuery};
///
/// let store = SqliteContextStore::open("sqlite://hive.db", ModelSpec::new("demo", 3)?).await?;
/// store.insert(vec![NewEntry::new("the sky is blue", vec![0.1, 0.9, 0.2])]).await?;
/// let hits = store.search(&VectorQuery::new(vec![0.0, 1.0, 0.0], 5)).await?;
/// assert_eq!(hits[0].entry.content, "the sky is blue");
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct SqliteContextStore {
    model: ModelSpec,
    writer: SqlitePool,
    reader: SqlitePool,
    index: Arc<RwLock<Index>>,
    /// One catch-up at a time; searches wait for it rather than repeat it.
    syncing: Arc<tokio::sync::Mutex<()>>,
}

impl SqliteContextStore {
    /// Opens (creating if needed) the context store in the SQLite database
    /// at `url` (`sqlite://path/to/hive.db` or `sqlite::memory:`) for
    /// `model`, brings its schema up to date and loads the model's vectors.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL, or when the file holds
    /// vectors of this model id with another dimension; [`Error::Backend`]
    /// when the file cannot be opened or migrated.
    pub async fn open(url: &str, model: ModelSpec) -> Result<Self> {
        let Pools { writer, reader } =
            open_pools(url, Durability::Full, BUSY_TIMEOUT, READERS).await?;
        let other: Option<i64> = sqlx::query_scalar(include_str!("sql/stored_dimension.sql"))
            .bind(&model.id)
            .bind(i64::try_from(model.dimension).unwrap_or(i64::MAX))
            .fetch_optional(&reader)
            .await
            .map_err(db_err)?;
        if let Some(other) = other {
            return Err(Error::invalid(format!(
                "model {:?} is stored with dimension {other}, not {}",
                model.id, model.dimension
            )));
        }
        let store = SqliteContextStore {
            index: Arc::new(RwLock::new(Index::new(model.dimension))),
            model,
            writer,
            reader,
            syncing: Arc::new(tokio::sync::Mutex::new(())),
        };
        store.catch_up().await?;
        Ok(store)
    }

    fn read_index(&self) -> std::sync::RwLockReadGuard<'_, Index> {
        self.index.read().unwrap_or_else(|p| p.into_inner())
    }

    /// Brings the in-memory copy up to the database's generation.
    ///
    /// A rebuild (a new handle, or one so far behind that tombstones it
    /// needs were pruned) streams rows into a fresh copy, one at a time,
    /// and swaps it in: searches meanwhile use the old copy, and no more
    /// than one vector is held outside the matrix at once.
    async fn catch_up(&self) -> Result<()> {
        let _one = self.syncing.lock().await;
        let have = self.read_index().generation;
        let mut tx = self.reader.begin().await.map_err(db_err)?;
        let (now, pruned_below): (i64, i64) = sqlx::query_as(include_str!("sql/generation.sql"))
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        if now == have {
            return Ok(());
        }
        if have == 0 || have < pruned_below {
            let mut fresh = Index::new(self.model.dimension);
            let mut rows = sqlx::query(include_str!("sql/changed.sql"))
                .bind(&self.model.id)
                .bind(0_i64)
                .fetch(&mut *tx);
            while let Some(row) = rows.try_next().await.map_err(db_err)? {
                fresh.upsert(index_row(&row)?);
            }
            drop(rows);
            tx.commit().await.map_err(db_err)?;
            fresh.generation = now;
            *self.index.write().unwrap_or_else(|p| p.into_inner()) = fresh;
            return Ok(());
        }
        let rows = sqlx::query(include_str!("sql/changed.sql"))
            .bind(&self.model.id)
            .bind(have)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        let changed = rows.iter().map(index_row).collect::<Result<Vec<Row>>>()?;
        let removed: Vec<String> = sqlx::query_scalar(include_str!("sql/removed.sql"))
            .bind(have)
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;

        let mut index = self.index.write().unwrap_or_else(|p| p.into_inner());
        for id in removed.iter().filter_map(|s| Uuid::parse_str(s).ok()) {
            index.remove(&id);
        }
        for row in changed {
            index.upsert(row);
        }
        index.generation = now;
        Ok(())
    }

    /// Full entries for `ids`, in no particular order; missing ones skipped.
    async fn fetch(&self, ids: &[Uuid]) -> Result<Vec<ContextEntry>> {
        let mut out = Vec::with_capacity(ids.len());
        for chunk in ids.chunks(ID_CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new(format!(
                "SELECT {} FROM context_entries WHERE id IN (",
                Sqlite::COLUMNS
            ));
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            qb.push(")");
            let rows: Vec<RawEntry> = qb
                .build_query_as()
                .fetch_all(&self.reader)
                .await
                .map_err(db_err)?;
            for row in rows {
                out.push(row.into_entry(BACKEND)?);
            }
        }
        Ok(out)
    }
}

/// A vector as stored: little-endian `f32`s.
fn to_blob(v: &[f32]) -> Vec<u8> {
    v.iter().flat_map(|x| x.to_le_bytes()).collect()
}

fn from_blob(b: &[u8]) -> Vec<f32> {
    b.chunks_exact(4)
        .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
        .collect()
}

impl Type<Sqlite> for StoredVector {
    fn type_info() -> SqliteTypeInfo {
        <Vec<u8> as Type<Sqlite>>::type_info()
    }

    fn compatible(ty: &SqliteTypeInfo) -> bool {
        <Vec<u8> as Type<Sqlite>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Sqlite> for StoredVector {
    fn decode(value: SqliteValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        Ok(StoredVector(from_blob(<&[u8] as Decode<Sqlite>>::decode(
            value,
        )?)))
    }
}

fn parse_id(s: &str) -> Result<Uuid> {
    Uuid::parse_str(s).map_err(|e| Error::backend(BACKEND, format!("stored id {s:?}: {e}")))
}

fn index_row(r: &SqliteRow) -> Result<Row> {
    Ok(Row {
        id: parse_id(r.try_get("id").map_err(db_err)?)?,
        agent: r.try_get("agent").map_err(db_err)?,
        session: r.try_get("session").map_err(db_err)?,
        kind: r.try_get("kind").map_err(db_err)?,
        tier: Tier::from_code(r.try_get("tier").map_err(db_err)?, BACKEND)?,
        pinned: r.try_get("pinned").map_err(db_err)?,
        created_at: r.try_get("created_at").map_err(db_err)?,
        vector: from_blob(r.try_get("embedding").map_err(db_err)?),
    })
}

/// Starts a write: bumps the generation and answers it.
async fn bump(conn: &mut SqliteConnection) -> Result<i64> {
    sqlx::query_scalar(include_str!("sql/bump_generation.sql"))
        .fetch_one(conn)
        .await
        .map_err(db_err)
}

#[async_trait]
impl ContextStore for SqliteContextStore {
    fn model(&self) -> &ModelSpec {
        &self.model
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn insert(&self, entries: Vec<NewEntry>) -> Result<Vec<EntryId>> {
        let entries = checked_batch(entries, &self.model)?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        let now = now_ms();
        let dimension = i64::try_from(self.model.dimension).unwrap_or(i64::MAX);
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let generation = bump(&mut tx).await?;
        let mut ids = Vec::with_capacity(entries.len());
        for e in entries {
            let id = EntryId::new();
            let created = e.created_at.map_or(now, |t| t.timestamp_millis());
            sqlx::query(include_str!("sql/insert.sql"))
                .bind(id.0.to_string())
                .bind(&self.model.id)
                .bind(dimension)
                .bind(to_blob(&e.embedding))
                .bind(&e.content)
                .bind(&e.agent)
                .bind(&e.session)
                .bind(e.kind.as_str())
                .bind(i64::from(e.tier.code()))
                .bind(f64::from(e.importance))
                .bind(e.pinned)
                .bind(e.metadata.to_string())
                .bind(created)
                .bind(created)
                .bind(generation)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            ids.push(id);
        }
        tx.commit().await.map_err(db_err)?;
        Ok(ids)
    }

    async fn get(&self, id: EntryId) -> Result<ContextEntry> {
        shared::get(&self.reader, id).await
    }

    async fn search(&self, query: &VectorQuery) -> Result<Vec<Hit>> {
        let v = query.checked_vector(&self.model)?;
        self.catch_up().await?;
        let (k, min, filter) = (query.k, query.min_similarity, query.filter.clone());
        let small = self.read_index().len() * self.model.dimension <= INLINE_SEARCH_FLOATS;
        let found = if small {
            self.read_index().search(&v, k, min, &filter)
        } else {
            let index = Arc::clone(&self.index);
            tokio::task::spawn_blocking(move || {
                index
                    .read()
                    .unwrap_or_else(|p| p.into_inner())
                    .search(&v, k, min, &filter)
            })
            .await
            .map_err(|e| Error::backend(BACKEND, format!("search task failed: {e}")))?
        };
        let ids: Vec<Uuid> = found.iter().map(|(id, _)| *id).collect();
        let mut entries = self.fetch(&ids).await?;
        // Hits in similarity order; one deleted since the catch-up is dropped.
        Ok(found
            .into_iter()
            .filter_map(|(id, similarity)| {
                let at = entries.iter().position(|e| e.id.0 == id)?;
                Some(Hit {
                    entry: entries.swap_remove(at),
                    similarity,
                })
            })
            .collect())
    }

    async fn list(&self, filter: &Filter, limit: usize) -> Result<Vec<ContextEntry>> {
        shared::list(&self.reader, &self.model, filter, limit).await
    }

    async fn update(&self, id: EntryId, patch: &Patch) -> Result<ContextEntry> {
        patch.check()?;
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let generation = bump(&mut tx).await?;
        let row: RawEntry = sqlx::query_as(include_str!("sql/update.sql"))
            .bind(patch.importance.map(f64::from))
            .bind(patch.tier.map(|t| i64::from(t.code())))
            .bind(patch.pinned)
            .bind(patch.metadata.as_ref().map(|m| m.to_string()))
            .bind(generation)
            .bind(id.0.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found("context entry", id))?;
        let updated = row.into_entry(BACKEND)?;
        tx.commit().await.map_err(db_err)?;
        Ok(updated)
    }

    async fn touch(&self, ids: &[EntryId], at: DateTime<Utc>) -> Result<()> {
        for chunk in ids.chunks(ID_CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new(
                "UPDATE context_entries SET access_count = access_count + 1, accessed_at = ",
            );
            qb.push_bind(at.timestamp_millis()).push(" WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.0.to_string());
            }
            qb.push(")");
            qb.build().execute(&self.writer).await.map_err(db_err)?;
        }
        Ok(())
    }

    async fn delete(&self, ids: &[EntryId]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let generation = bump(&mut tx).await?;
        let mut removed = 0;
        for chunk in ids.chunks(ID_CHUNK) {
            let mut qb = QueryBuilder::<Sqlite>::new("DELETE FROM context_entries WHERE id IN (");
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.0.to_string());
            }
            qb.push(") RETURNING id");
            let gone: Vec<String> = qb
                .build_query_scalar()
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            for id in &gone {
                sqlx::query(include_str!("sql/tombstone.sql"))
                    .bind(generation)
                    .bind(id)
                    .execute(&mut *tx)
                    .await
                    .map_err(db_err)?;
            }
            removed += gone.len() as u64;
        }
        let oldest_kept = generation - TOMBSTONE_GENERATIONS;
        if oldest_kept > 0 {
            sqlx::query(include_str!("sql/prune_tombstones.sql"))
                .bind(oldest_kept)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
            sqlx::query(include_str!("sql/raise_pruned_below.sql"))
                .bind(oldest_kept)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        Ok(removed)
    }

    async fn count(&self, filter: &Filter) -> Result<TierCounts> {
        shared::count(&self.reader, &self.model, filter).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn blobs_round_trip() {
        let v = vec![0.5, -1.25, f32::MIN_POSITIVE];
        assert_eq!(from_blob(&to_blob(&v)), v);
    }
}
