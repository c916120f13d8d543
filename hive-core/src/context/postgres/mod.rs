//! The distributed context store: Postgres with pgvector, shared by every
//! process.
//!
//! Vectors keep their model's true dimension in one untyped `vector`
//! column; each model gets a partial HNSW index (m = 16,
//! ef_construction = 64, inner product on unit vectors) over
//! `embedding::vector(<dimension>)`, created when a store first opens that
//! model. A search sets `hnsw.ef_search` for its transaction and, when a
//! filter narrows it, `hnsw.iterative_scan = relaxed_order`, so the index
//! keeps scanning until `k` rows pass the filter instead of answering the
//! few that happened to be among the first `ef_search` candidates.

use std::str::FromStr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::error::BoxDynError;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions, PgRow, PgTypeInfo, PgValueRef};
use sqlx::{ConnectOptions, Decode, FromRow, Postgres, QueryBuilder, Row as _, Type};
use uuid::Uuid;

use super::entry::{checked_batch, ContextEntry, EntryId, ModelSpec, NewEntry, Patch, Tier};
use super::query::{Filter, Hit, TierCounts, VectorQuery};
use super::row::{RawEntry, StoredVector};
use super::sql::{self as shared, push_filter, Dialect};
use super::store::ContextStore;
use crate::error::{Error, Result, Setup};
use crate::storage::sql::SqlEngine;
use crate::time::now_ms;

const BACKEND: &str = "postgres";

/// The advisory lock under which indexes are created and dropped.
const INDEX_LOCK: &str = "SELECT pg_advisory_xact_lock(hashtext('hive.context.index'))";

/// Rows per `INSERT` statement.
const INSERT_CHUNK: usize = 1000;

/// Connections the pool allows.
const MAX_CONNECTIONS: u32 = 10;

/// How long `open` may take to connect, and a call may wait for a
/// connection.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Options of the Postgres store.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PostgresContextOptions {
    /// HNSW candidates per unfiltered search (`hnsw.ef_search`), raised to
    /// `k` when `k` is larger. Default 200: at 100,000 entries of the
    /// default model the benchmark measured recall@10 0.963 and p50
    /// 4.0–4.8 ms (100 gave 0.93; pgvector's own default, 40, 0.83). See
    /// `docs/benchmarks.md`.
    pub ef_search: u32,
    /// The same for filtered searches, which pass through more candidates
    /// before `k` match. Default 400 (recall@10 0.93–0.94 for a filter
    /// matching a tenth of 100,000 entries; 200 gave 0.86).
    pub filtered_ef_search: u32,
    /// Inserts by this handle after which it refreshes the table's planner
    /// statistics (`ANALYZE`, in the background). Without fresh statistics
    /// a new model's rows look few, and filtered searches may scan the
    /// table instead of using an index. Default 5,000.
    pub analyze_after: u64,
}

impl Default for PostgresContextOptions {
    fn default() -> Self {
        PostgresContextOptions {
            ef_search: 200,
            filtered_ef_search: 400,
            analyze_after: 5000,
        }
    }
}

/// Text Postgres cannot hold is the caller's input, not a failing backend.
fn db_err(e: sqlx::Error) -> Error {
    Postgres::db_or_input_err(e)
}

impl Dialect for Postgres {
    const COLUMNS: &'static str = "id, model, embedding::text AS embedding, content, agent, \
                                   session, kind, tier, importance, pinned, metadata, \
                                   created_at, accessed_at, access_count";
    const GET: &'static str = include_str!("sql/get.sql");
}

/// The search statement of one model, cut where its binds go.
#[derive(Clone, Debug)]
struct SearchSql {
    /// Up to `{vector}`, then to `{filter}`, `{k}`, `{threshold}`, the end.
    pieces: [String; 5],
}

impl SearchSql {
    fn new(model: &ModelSpec) -> Result<Self> {
        // The comments name the markers too: leave them out.
        let sql = include_str!("sql/search.sql")
            .lines()
            .filter(|l| !l.trim_start().starts_with("--"))
            .collect::<Vec<_>>()
            .join("\n")
            .replace("{dimension}", &model.dimension.to_string())
            .replace("{model}", &model.id);
        let mut pieces: [String; 5] = Default::default();
        let mut rest = sql.as_str();
        for (i, marker) in ["{vector}", "{filter}", "{k}", "{threshold}"]
            .iter()
            .enumerate()
        {
            let (head, tail) = rest
                .split_once(marker)
                .ok_or_else(|| Error::backend(BACKEND, format!("search.sql lacks {marker}")))?;
            pieces[i] = head.to_string();
            rest = tail;
        }
        pieces[4] = rest.to_string();
        Ok(SearchSql { pieces })
    }

    fn push_onto(
        &self,
        qb: &mut QueryBuilder<'_, Postgres>,
        vector: String,
        filter: &Filter,
        k: i64,
        max_distance: f32,
    ) {
        qb.push(&self.pieces[0])
            .push_bind(vector)
            .push(&self.pieces[1]);
        push_filter(qb, filter);
        qb.push(&self.pieces[2])
            .push_bind(k)
            .push(&self.pieces[3])
            .push_bind(max_distance)
            .push(&self.pieces[4]);
    }
}

/// The context store on Postgres + pgvector.
#[derive(Debug, Clone)]
pub struct PostgresContextStore {
    model: ModelSpec,
    pool: PgPool,
    options: PostgresContextOptions,
    search_sql: SearchSql,
    /// Rows inserted since this handle last refreshed the statistics.
    unanalyzed: Arc<AtomicU64>,
}

impl PostgresContextStore {
    /// Opens the context store at `url` for `model` with default options.
    ///
    /// # Errors
    /// As [`PostgresContextStore::open_with`].
    pub async fn open(url: &str, model: ModelSpec) -> Result<Self> {
        Self::open_with(url, model, PostgresContextOptions::default()).await
    }

    /// Opens the context store at `url` for `model`: creates the `vector`
    /// extension and the table if needed, and the model's HNSW index.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL, or when the database holds
    /// vectors of this model id with another dimension;
    /// [`Error::Setup`]`(`[`Setup::PgvectorMissing`]`)` when this Postgres
    /// has no `vector` extension to create; [`Error::Backend`] when
    /// Postgres cannot be reached or the schema cannot be created.
    pub async fn open_with(
        url: &str,
        model: ModelSpec,
        options: PostgresContextOptions,
    ) -> Result<Self> {
        let connect = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(format!("bad postgres URL: {e}")))?
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(TIMEOUT)
            .connect_with(connect)
            .await
            .map_err(db_err)?;
        let available: bool = sqlx::query_scalar(
            "SELECT EXISTS (SELECT 1 FROM pg_available_extensions WHERE name = 'vector')",
        )
        .fetch_one(&pool)
        .await
        .map_err(db_err)?;
        if !available {
            pool.close().await;
            return Err(Error::Setup(Setup::PgvectorMissing));
        }
        crate::storage::postgres::migrate_context(&pool).await?;
        let dimension = i32::try_from(model.dimension).unwrap_or(i32::MAX);
        let other: Option<i32> = sqlx::query_scalar(include_str!("sql/stored_dimension.sql"))
            .bind(&model.id)
            .bind(dimension)
            .fetch_optional(&pool)
            .await
            .map_err(db_err)?;
        if let Some(other) = other {
            return Err(Error::invalid(format!(
                "model {:?} is stored with dimension {other}, not {}",
                model.id, model.dimension
            )));
        }
        create_index(&pool, &model).await?;
        Ok(PostgresContextStore {
            search_sql: SearchSql::new(&model)?,
            model,
            pool,
            options,
            unanalyzed: Arc::new(AtomicU64::new(0)),
        })
    }

    /// Counts inserted rows; past `analyze_after`, refreshes the planner's
    /// statistics in the background (a failure only costs speed).
    fn note_inserts(&self, n: u64) {
        let total = self.unanalyzed.fetch_add(n, Ordering::Relaxed) + n;
        if total < self.options.analyze_after {
            return;
        }
        self.unanalyzed.store(0, Ordering::Relaxed);
        let pool = self.pool.clone();
        tokio::spawn(async move {
            if let Err(e) = sqlx::query("ANALYZE context_entries").execute(&pool).await {
                tracing::warn!(error = %e, "ANALYZE context_entries failed");
            }
        });
    }

    /// Postgres's plan for `query`, as `search` would run it (`EXPLAIN`
    /// output, one line per row): whether the model's HNSW index answers
    /// it, and how.
    ///
    /// # Errors
    /// As [`ContextStore::search`].
    pub async fn explain(&self, query: &VectorQuery) -> Result<String> {
        let rows = self.run_search(query, "EXPLAIN ").await?;
        let lines = rows
            .iter()
            .map(|r| r.try_get::<String, _>(0).map_err(db_err))
            .collect::<Result<Vec<_>>>()?;
        Ok(lines.join("\n"))
    }

    /// Runs the search statement, prefixed by `prefix`, with the settings
    /// of one search: `ef_search` for its transaction and, when filtered,
    /// a relaxed iterative scan.
    async fn run_search(&self, query: &VectorQuery, prefix: &str) -> Result<Vec<PgRow>> {
        let v = query.checked_vector(&self.model)?;
        let k = i64::try_from(query.k).unwrap_or(i64::MAX);
        let filtered = !query.filter.is_empty();
        let ef = if filtered {
            self.options.filtered_ef_search
        } else {
            self.options.ef_search
        }
        .max(u32::try_from(query.k).unwrap_or(u32::MAX));
        // The threshold as a distance; none means every distance (≤ 1).
        let max_distance = query.min_similarity.map_or(2.0, |t| -t);
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // One round trip for the settings, all local to the transaction.
        // Filtered: the planner picks the path — HNSW with an iterative
        // scan, or a B-tree on agent or session (exact) for a selective
        // filter. Unfiltered: only the HNSW index yields rows in distance
        // order without a sort, so ruling sorts and scans out keeps every
        // such search on it, even when stale statistics make a full scan
        // look cheap (measured: 131 ms instead of 2 ms at 10,000 rows).
        let settings = if filtered {
            "SELECT set_config('hnsw.ef_search', $1, true), \
                    set_config('hnsw.iterative_scan', 'relaxed_order', true)"
        } else {
            "SELECT set_config('hnsw.ef_search', $1, true), \
                    set_config('enable_sort', 'off', true), \
                    set_config('enable_seqscan', 'off', true)"
        };
        sqlx::query(settings)
            .bind(ef.to_string())
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let mut qb = QueryBuilder::<Postgres>::new(prefix);
        self.search_sql
            .push_onto(&mut qb, to_text(&v), &query.filter, k, max_distance);
        let rows = qb.build().fetch_all(&mut *tx).await.map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(rows)
    }

    /// Deletes every entry of this handle's model and drops its index: for
    /// a model retired for good (its vectors are useless to any other).
    ///
    /// # Errors
    /// [`Error::Backend`] when Postgres fails.
    pub async fn forget_model(&self) -> Result<u64> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        // Dropping an index locks the whole table: two handles forgetting
        // models at once (or one creating an index) would deadlock without
        // taking turns on the same lock as index creation.
        sqlx::query(INDEX_LOCK)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let gone = sqlx::query("DELETE FROM context_entries WHERE model = $1")
            .bind(&self.model.id)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?
            .rows_affected();
        sqlx::query(&format!(
            "DROP INDEX IF EXISTS {}",
            Self::index_name(&self.model)
        ))
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
        tx.commit().await.map_err(db_err)?;
        Ok(gone)
    }

    /// The name of `model`'s HNSW index.
    pub fn index_name(model: &ModelSpec) -> String {
        // FNV-1a: stable across builds, unlike the std hasher.
        let hash = model.id.bytes().fold(0xcbf2_9ce4_8422_2325_u64, |h, b| {
            (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
        });
        format!("context_hnsw_{hash:016x}_{}", model.dimension)
    }
}

/// Creates `model`'s index if it is missing. Processes opening the same
/// model at once take turns on an advisory lock, so none fails on the
/// other's half-made index.
async fn create_index(pool: &PgPool, model: &ModelSpec) -> Result<()> {
    let sql = include_str!("sql/create_index.sql")
        .replace("{name}", &PostgresContextStore::index_name(model))
        .replace("{dimension}", &model.dimension.to_string())
        .replace("{model}", &model.id);
    let mut tx = pool.begin().await.map_err(db_err)?;
    sqlx::query(INDEX_LOCK)
        .execute(&mut *tx)
        .await
        .map_err(db_err)?;
    sqlx::query(&sql).execute(&mut *tx).await.map_err(db_err)?;
    tx.commit().await.map_err(db_err)
}

/// A vector as pgvector's text form: `[x,y,…]`, each float in its shortest
/// exact decimal.
fn to_text(v: &[f32]) -> String {
    let mut s = String::with_capacity(v.len() * 12 + 2);
    s.push('[');
    for (i, x) in v.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&x.to_string());
    }
    s.push(']');
    s
}

fn from_text(s: &str) -> Result<Vec<f32>> {
    s.trim()
        .trim_start_matches('[')
        .trim_end_matches(']')
        .split(',')
        .map(|x| {
            x.trim()
                .parse::<f32>()
                .map_err(|e| Error::backend(BACKEND, format!("stored vector {x:?}: {e}")))
        })
        .collect()
}

/// Statements read the vector as text (`embedding::text`): sqlx knows no
/// `vector` type.
impl Type<Postgres> for StoredVector {
    fn type_info() -> PgTypeInfo {
        <String as Type<Postgres>>::type_info()
    }

    fn compatible(ty: &PgTypeInfo) -> bool {
        <String as Type<Postgres>>::compatible(ty)
    }
}

impl<'r> Decode<'r, Postgres> for StoredVector {
    fn decode(value: PgValueRef<'r>) -> std::result::Result<Self, BoxDynError> {
        Ok(StoredVector(from_text(
            <&str as Decode<Postgres>>::decode(value)?,
        )?))
    }
}

fn uuids(ids: &[EntryId]) -> Vec<Uuid> {
    ids.iter().map(|id| id.0).collect()
}

#[async_trait]
impl ContextStore for PostgresContextStore {
    fn model(&self) -> &ModelSpec {
        &self.model
    }

    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn insert(&self, entries: Vec<NewEntry>) -> Result<Vec<EntryId>> {
        let entries = checked_batch(entries, &self.model)?;
        let now = now_ms();
        let dimension = i32::try_from(self.model.dimension).unwrap_or(i32::MAX);
        let ids: Vec<EntryId> = entries.iter().map(|_| EntryId::new()).collect();
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        for (chunk, chunk_ids) in entries.chunks(INSERT_CHUNK).zip(ids.chunks(INSERT_CHUNK)) {
            sqlx::query(include_str!("sql/insert.sql"))
                .bind(&self.model.id)
                .bind(dimension)
                .bind(uuids(chunk_ids))
                .bind(
                    chunk
                        .iter()
                        .map(|e| to_text(&e.embedding))
                        .collect::<Vec<_>>(),
                )
                .bind(chunk.iter().map(|e| e.content.clone()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|e| e.agent.clone()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|e| e.session.clone()).collect::<Vec<_>>())
                .bind(
                    chunk
                        .iter()
                        .map(|e| e.kind.as_str().to_string())
                        .collect::<Vec<_>>(),
                )
                .bind(chunk.iter().map(|e| e.tier.code()).collect::<Vec<_>>())
                .bind(chunk.iter().map(|e| e.importance).collect::<Vec<_>>())
                .bind(chunk.iter().map(|e| e.pinned).collect::<Vec<_>>())
                .bind(
                    chunk
                        .iter()
                        .map(|e| e.metadata.to_string())
                        .collect::<Vec<_>>(),
                )
                .bind(
                    chunk
                        .iter()
                        .map(|e| e.created_at.map_or(now, |t| t.timestamp_millis()))
                        .collect::<Vec<_>>(),
                )
                .execute(&mut *tx)
                .await
                .map_err(db_err)?;
        }
        tx.commit().await.map_err(db_err)?;
        self.note_inserts(ids.len() as u64);
        Ok(ids)
    }

    async fn get(&self, id: EntryId) -> Result<ContextEntry> {
        shared::get(&self.pool, id).await
    }

    async fn search(&self, query: &VectorQuery) -> Result<Vec<Hit>> {
        let rows = self.run_search(query, "").await?;
        rows.iter()
            .map(|r| {
                let distance: f64 = r.try_get("distance").map_err(db_err)?;
                Ok(Hit {
                    entry: RawEntry::from_row(r).map_err(db_err)?.into_entry(BACKEND)?,
                    similarity: (-distance as f32).clamp(-1.0, 1.0),
                })
            })
            .collect()
    }

    async fn list(&self, filter: &Filter, limit: usize) -> Result<Vec<ContextEntry>> {
        shared::list(&self.pool, &self.model, filter, limit).await
    }

    async fn update(&self, id: EntryId, patch: &Patch) -> Result<ContextEntry> {
        patch.check()?;
        let row: RawEntry = sqlx::query_as(include_str!("sql/update.sql"))
            .bind(patch.importance)
            .bind(patch.tier.map(Tier::code))
            .bind(patch.pinned)
            .bind(patch.metadata.as_ref().map(|m| m.to_string()))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found("context entry", id))?;
        row.into_entry(BACKEND)
    }

    async fn touch(&self, ids: &[EntryId], at: DateTime<Utc>) -> Result<()> {
        if ids.is_empty() {
            return Ok(());
        }
        sqlx::query(include_str!("sql/touch.sql"))
            .bind(at.timestamp_millis())
            .bind(uuids(ids))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn delete(&self, ids: &[EntryId]) -> Result<u64> {
        if ids.is_empty() {
            return Ok(0);
        }
        let done = sqlx::query(include_str!("sql/delete.sql"))
            .bind(uuids(ids))
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(done.rows_affected())
    }

    async fn count(&self, filter: &Filter) -> Result<TierCounts> {
        shared::count(&self.pool, &self.model, filter).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn vectors_round_trip_through_text() {
        let v = vec![0.1_f32, -2.5, 1e-7];
        assert_eq!(from_text(&to_text(&v)).expect("parse"), v);
        assert!(from_text("[1,x]").is_err());
    }

    #[test]
    fn search_sql_has_every_bind_in_order() {
        let model = ModelSpec::new("m-1", 3).expect("model");
        let s = SearchSql::new(&model).expect("template");
        let mut qb = QueryBuilder::new("");
        s.push_onto(
            &mut qb,
            "[1,0,0]".into(),
            &Filter::any().agent("a"),
            5,
            -0.5,
        );
        let sql = qb.sql();
        assert!(sql.contains("<#> ($1::text::vector(3))"), "{sql}");
        assert!(sql.contains("model = 'm-1'  AND agent = $2"), "{sql}");
        assert!(
            sql.contains("LIMIT $3") && sql.contains("distance <= $4"),
            "{sql}"
        );
        assert_eq!(
            PostgresContextStore::index_name(&model),
            PostgresContextStore::index_name(&model)
        );
        assert!(PostgresContextStore::index_name(&model).len() <= 63);
    }
}
