//! Message history in SQLite: the embedded deployment's store, in the same
//! file as the queue and the broker.
//!
//! It runs the same migrator folder as the queue (`migrations/sqlite`), so
//! whichever opens a file first creates every table. Writes go through one
//! connection per handle, so this process's own writers queue in the pool
//! instead of racing for SQLite's lock (other processes wait for it with a
//! busy timeout); reads use a small pool of read-only connections. An
//! in-memory database lives in a single connection, which must never close.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::SqlitePool;
use sqlx::Sqlite;

use super::plan::{collect, Dialect, Plan};
use super::query::HistoryQuery;
use super::row::{ceil_ms, lower, uuid_text, HistoryRow, Position};
use super::MessageStore;
use crate::broker::{MessageId, StoredMessage};
use crate::error::{Error, Result};
use crate::storage::sqlite::{open_pools, Durability, Pools};

const BACKEND: &str = "sqlite";

const DIALECT: Dialect = Dialect {
    select: include_str!("sql/sqlite/select.sql"),
    uuid_cast: "",
};

/// Rows deleted per statement by [`MessageStore::purge_before`].
const PURGE_CHUNK: i64 = 5000;

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed store.
const READERS: u32 = 4;

fn db_err(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

/// Message history in a SQLite file.
#[derive(Debug, Clone)]
pub struct SqliteMessageStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteMessageStore {
    /// Opens (creating if needed) the history in the SQLite database at
    /// `url` (`sqlite://path/to/hive.db` or `sqlite::memory:`) and brings
    /// its schema up to date.
    ///
    /// Files use WAL with `synchronous=FULL`: the [`HistoryRecorder`](super::HistoryRecorder)
    /// acknowledges a message to the broker once it is recorded, so a
    /// record must survive a power loss.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::Backend`] when the
    /// file cannot be opened or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let Pools { writer, reader } =
            open_pools(url, Durability::Full, BUSY_TIMEOUT, READERS).await?;
        Ok(SqliteMessageStore { writer, reader })
    }

    async fn fetch_page(
        &self,
        plan: &Plan<'_>,
        after: Option<Position>,
        size: usize,
    ) -> Result<Vec<HistoryRow>> {
        plan.page::<Sqlite>(&DIALECT, after.as_ref(), size)
            .build_query_as::<HistoryRow>()
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)
    }
}

#[async_trait]
impl MessageStore for SqliteMessageStore {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn record(&self, messages: &[StoredMessage]) -> Result<u64> {
        if messages.is_empty() {
            return Ok(0);
        }
        let rows = messages.iter().map(lower).collect::<Result<Vec<_>>>()?;
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut new = 0;
        for row in rows {
            new += sqlx::query(include_str!("sql/sqlite/insert.sql"))
                .bind(row.id)
                .bind(row.topic)
                .bind(row.from_agent)
                .bind(row.to_agent)
                .bind(row.kind)
                .bind(row.correlation_id)
                .bind(row.payload)
                .bind(row.headers)
                .bind(row.created_at)
                .bind(row.topic_offset)
                .bind(row.published_at)
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
        let row: Option<HistoryRow> = sqlx::query_as(include_str!("sql/sqlite/get.sql"))
            .bind(uuid_text(id.0))
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?;
        row.ok_or_else(|| Error::not_found("message", id))?
            .decode(BACKEND)
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = ceil_ms(before);
        let mut purged = 0;
        loop {
            let deleted = sqlx::query(include_str!("sql/sqlite/purge_before.sql"))
                .bind(before)
                .bind(PURGE_CHUNK)
                .execute(&self.writer)
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
