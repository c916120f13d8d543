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

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, Connection, PgConnection, Postgres};

use super::row::HistoryRow;
use super::sql_store::{Dialect, SqlMessageStore};
use crate::error::{Error, Result};
use crate::storage::sql::SqlEngine;

/// Messages per `INSERT` statement.
const INSERT_CHUNK: usize = 1000;

/// Connections [`PostgresMessageStore::open`] allows its pool.
const MAX_CONNECTIONS: u32 = 10;

/// How long `open` may take to connect and migrate, and an operation may
/// wait for a free connection.
const TIMEOUT: Duration = Duration::from_secs(10);

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
pub type PostgresMessageStore = SqlMessageStore<Postgres>;

impl PostgresMessageStore {
    /// Connects to the database at `url` (`postgres://user@host:port/db`)
    /// with a pool of its own (ten connections) and brings the schema up to
    /// date.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::NewerSchema`] for a
    /// database a newer build wrote; [`Error::Backend`] when the database
    /// cannot be reached or migrated within 10 s.
    pub async fn open(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(format!("bad postgres URL: {e}")))?
            .application_name("agent-hive")
            .disable_statement_logging();
        // Connecting directly (a pool retries until its timeout) makes an
        // unreachable database fail at once.
        tokio::time::timeout(TIMEOUT, async {
            let mut conn = PgConnection::connect_with(&options)
                .await
                .map_err(Postgres::db_or_input_err)?;
            crate::storage::postgres::migrate_direct(&mut conn).await?;
            // The work is done; a failed goodbye changes nothing.
            let _ = conn.close().await;
            Ok::<_, Error>(())
        })
        .await
        .map_err(|_| {
            Error::backend(
                Postgres::BACKEND,
                format!("could not connect and migrate within {TIMEOUT:?}"),
            )
        })??;
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(TIMEOUT)
            .connect_lazy_with(options);
        Ok(SqlMessageStore::new(pool.clone(), pool))
    }

    /// Uses an existing pool (sharing it with the queue, or one whose
    /// connections set a `search_path`) and brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::NewerSchema`] for a database a newer build wrote;
    /// [`Error::Backend`] when it cannot be reached or migrated.
    pub async fn connect(pool: PgPool) -> Result<Self> {
        crate::storage::postgres::migrate(&pool).await?;
        Ok(SqlMessageStore::new(pool.clone(), pool))
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

impl Extend<HistoryRow> for Columns {
    fn extend<I: IntoIterator<Item = HistoryRow>>(&mut self, rows: I) {
        for row in rows {
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
}

impl Dialect for Postgres {
    const SELECT: &'static str = include_str!("sql/postgres/select.sql");
    const GET: &'static str = include_str!("sql/postgres/get.sql");
    const PURGE_BEFORE: &'static str = include_str!("sql/postgres/purge_before.sql");
    const UUID_CAST: &'static str = "::uuid";

    /// A thousand rows per statement, as parallel arrays: one round trip
    /// for each.
    async fn insert(writer: &PgPool, rows: Vec<HistoryRow>) -> Result<u64> {
        let mut rows = rows.into_iter().peekable();
        let mut tx = writer.begin().await.map_err(Postgres::db_or_input_err)?;
        let mut new = 0;
        while rows.peek().is_some() {
            let mut c = Columns::default();
            c.extend(rows.by_ref().take(INSERT_CHUNK));
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
                .map_err(Postgres::db_or_input_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(Postgres::db_or_input_err)?;
        Ok(new)
    }
}
