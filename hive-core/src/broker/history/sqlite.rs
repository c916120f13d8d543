//! Message history in SQLite: the embedded deployment's store, in the same
//! file as the queue and the broker.
//!
//! It runs the same migrator folder as the queue (`migrations/sqlite`), so
//! whichever opens a file first creates every table. Writes go through one
//! connection per handle, so this process's own writers queue in the pool
//! instead of racing for SQLite's lock (other processes wait for it with a
//! busy timeout); reads use a small pool of read-only connections. An
//! in-memory database lives in a single connection, which must never close.
//!
//! The store itself is `SqlMessageStore`, shared with Postgres; this
//! module opens the file and says what SQLite writes its own way.

use std::time::Duration;

use sqlx::sqlite::SqlitePool;
use sqlx::Sqlite;

use super::row::HistoryRow;
use super::sql_store::{Dialect, SqlMessageStore};
use crate::error::Result;
use crate::storage::sql::SqlEngine;
use crate::storage::sqlite::{open_pools, Durability, Pools};

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed store.
const READERS: u32 = 4;

/// Message history in a SQLite file.
pub type SqliteMessageStore = SqlMessageStore<Sqlite>;

impl Dialect for Sqlite {
    const SELECT: &'static str = include_str!("sql/sqlite/select.sql");
    const GET: &'static str = include_str!("sql/sqlite/get.sql");
    const PURGE_BEFORE: &'static str = include_str!("sql/sqlite/purge_before.sql");
    const UUID_CAST: &'static str = "";

    /// Row by row: each insert is a call into the local file, and the
    /// transaction commits once.
    async fn insert(writer: &SqlitePool, rows: Vec<HistoryRow>) -> Result<u64> {
        let mut tx = writer.begin().await.map_err(Sqlite::db_err)?;
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
                .map_err(Sqlite::db_err)?
                .rows_affected();
        }
        tx.commit().await.map_err(Sqlite::db_err)?;
        Ok(new)
    }
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
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a bad URL;
    /// [`Error::Backend`](crate::Error::Backend) when the file cannot be
    /// opened or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let Pools { writer, reader } =
            open_pools(url, Durability::Full, BUSY_TIMEOUT, READERS).await?;
        Ok(SqlMessageStore::new(writer, reader))
    }
}
