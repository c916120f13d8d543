//! Message history in Postgres: the distributed deployment's store, shared
//! by every process, next to the Redis broker.
//!
//! It runs the same migrator folder as the Postgres queue
//! (`migrations/postgres`), so one schema holds both. Payloads and headers
//! are `jsonb`, so SQL users can look inside them; the price is that `jsonb`
//! refuses `\u0000` in strings, which `record` reports as
//! [`Error::InvalidInput`]. A batch is one `INSERT … SELECT FROM UNNEST`
//! per thousand messages: one round trip whatever the batch's size.

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres};

use super::plan::{collect, Dialect, Plan};
use super::query::HistoryQuery;
use super::row::{ceil_ms, lower, HistoryRow, NewRow, Position};
use super::MessageStore;
use crate::broker::{MessageId, StoredMessage};
use crate::error::{Error, Result};

const BACKEND: &str = "postgres";

const DIALECT: Dialect = Dialect {
    select: include_str!("sql/postgres/select.sql"),
    uuid_cast: "::uuid",
};

/// Messages per `INSERT` statement.
const INSERT_CHUNK: usize = 1000;

/// Rows deleted per statement by [`MessageStore::purge_before`].
const PURGE_CHUNK: i64 = 5000;

/// Connections [`PostgresMessageStore::open`] allows its pool.
const MAX_CONNECTIONS: u32 = 10;

/// How long `open` may take to connect and migrate, and an operation may
/// wait for a free connection.
const TIMEOUT: Duration = Duration::from_secs(10);

/// Maps a driver error. Text Postgres cannot hold — a NUL character, or
/// `\u0000` inside `jsonb` — is the caller's input, not a failing backend.
fn db_err(e: sqlx::Error) -> Error {
    if let Some(db) = e.as_database_error() {
        if matches!(db.code().as_deref(), Some("22P05" | "22021")) {
            return Error::invalid(format!("postgres cannot store this text: {db}"));
        }
    }
    Error::backend(BACKEND, e)
}

/// Message history in Postgres.
///
/// ```no_run
/// # async fn demo() -> hive_core::Result<()> {
/// use hive_core::broker::history::postgres::PostgresMessageStore;
/// use hive_core::broker::history::{HistoryQuery, MessageStore};
///
/// let store = PostgresMessageStore::open("postgres://postgres@127.0.0.1:5432/hive").await?;
/// let latest = store.query(&HistoryQuery::new().agent("planner").newest_first().limit(20)).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct PostgresMessageStore {
    pool: PgPool,
}

impl PostgresMessageStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`)
    /// with a pool of its own (ten connections) and brings the schema up to
    /// date.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::Backend`] when the
    /// database cannot be reached or migrated within 10 s.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(format!("bad postgres URL: {e}")))?
            .application_name("agent-hive")
            .disable_statement_logging();
        // Connecting directly (a pool retries until its timeout) makes an
        // unreachable database fail at once.
        tokio::time::timeout(TIMEOUT, async {
            let mut conn = PgConnection::connect_with(&options).await.map_err(db_err)?;
            crate::storage::postgres::migrator()
                .run_direct(&mut conn)
                .await
                .map_err(|e| Error::backend(BACKEND, e))?;
            // The work is done; a failed goodbye changes nothing.
            let _ = conn.close().await;
            Ok::<_, Error>(())
        })
        .await
        .map_err(|_| {
            Error::backend(
                BACKEND,
                format!("could not connect and migrate within {TIMEOUT:?}"),
            )
        })??;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(TIMEOUT)
            .connect_lazy_with(options);
        Ok(PostgresMessageStore { pool })
    }

    /// Uses an existing pool (sharing it with the queue, or one whose
    /// connections set a `search_path`) and brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::Backend`] when the database cannot be reached or migrated.
    pub async fn connect(pool: PgPool) -> Result<Self> {
        crate::storage::postgres::migrator()
            .run(&pool)
            .await
            .map_err(|e| Error::backend(BACKEND, e))?;
        Ok(PostgresMessageStore { pool })
    }

    async fn fetch_page(
        &self,
        plan: &Plan<'_>,
        after: Option<Position>,
        size: usize,
    ) -> Result<Vec<HistoryRow>> {
        plan.page::<Postgres>(&DIALECT, after.as_ref(), size)
            .build_query_as::<HistoryRow>()
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)
    }
}

/// A chunk of rows as the parallel arrays `insert.sql` unnests.
#[derive(Default)]
struct Columns {
    id: Vec<String>,
    topic: Vec<String>,
    from_agent: Vec<Option<String>>,
    to_agent: Vec<Option<String>>,
    kind: Vec<String>,
    correlation_id: Vec<Option<String>>,
    payload: Vec<String>,
    headers: Vec<String>,
    created_at: Vec<i64>,
    topic_offset: Vec<i64>,
    published_at: Vec<i64>,
}

impl Columns {
    fn push(&mut self, row: NewRow) {
        self.id.push(row.id);
        self.topic.push(row.topic);
        self.from_agent.push(row.from_agent);
        self.to_agent.push(row.to_agent);
        self.kind.push(row.kind);
        self.correlation_id.push(row.correlation_id);
        self.payload.push(row.payload);
        self.headers.push(row.headers);
        self.created_at.push(row.created_at);
        self.topic_offset.push(row.topic_offset);
        self.published_at.push(row.published_at);
    }
}

#[async_trait]
impl MessageStore for PostgresMessageStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record(&self, messages: &[StoredMessage]) -> Result<u64> {
        if messages.is_empty() {
            return Ok(0);
        }
        let mut chunks = Vec::new();
        for chunk in messages.chunks(INSERT_CHUNK) {
            let mut columns = Columns::default();
            for m in chunk {
                columns.push(lower(m)?);
            }
            chunks.push(columns);
        }
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let mut new = 0;
        for c in chunks {
            new += sqlx::query(include_str!("sql/postgres/insert.sql"))
                .bind(c.id)
                .bind(c.topic)
                .bind(c.from_agent)
                .bind(c.to_agent)
                .bind(c.kind)
                .bind(c.correlation_id)
                .bind(c.payload)
                .bind(c.headers)
                .bind(c.created_at)
                .bind(c.topic_offset)
                .bind(c.published_at)
                .execute(&mut *tx)
                .await
                .map_err(db_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(db_err)?;
        Ok(new)
    }

    async fn query(&self, query: &HistoryQuery) -> Result<Vec<StoredMessage>> {
        query.validate()?;
        let start = match query.after {
            Some(id) => Some(Position::of(&self.get(id).await?)),
            None => None,
        };
        let plan = Plan::new(query);
        collect(&plan, BACKEND, start, |after, size| {
            self.fetch_page(&plan, after, size)
        })
        .await
    }

    async fn get(&self, id: MessageId) -> Result<StoredMessage> {
        let row: Option<HistoryRow> = sqlx::query_as(include_str!("sql/postgres/get.sql"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        row.ok_or_else(|| Error::not_found("message", id))?
            .decode(BACKEND)
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = ceil_ms(before);
        let mut purged = 0;
        loop {
            let deleted = sqlx::query(include_str!("sql/postgres/purge_before.sql"))
                .bind(before)
                .bind(PURGE_CHUNK)
                .execute(&self.pool)
                .await
                .map_err(db_err)?
                .rows_affected();
            purged += deleted;
            if deleted < PURGE_CHUNK.unsigned_abs() {
                return Ok(purged);
            }
        }
    }
}
