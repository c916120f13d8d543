//! The embedded session store: three tables in the SQLite file the queue,
//! the broker and the agent registry use. A session's agents are read as
//! one JSON array and inserted from one, and contents are JSON text.
//!
//! The store itself is `SqlSessionStore`, shared with Postgres; this
//! module opens the file and names the statements SQLite writes its own
//! way.

use std::time::Duration;

use sqlx::Sqlite;

use super::sql_store::{Dialect, SqlSessionStore};
use crate::error::Result;
use crate::storage::sqlite::{open_pools, Durability, Pools};

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed store.
const READERS: u32 = 2;

/// The embedded session store.
pub type SqliteSessionStore = SqlSessionStore<Sqlite>;

impl Dialect for Sqlite {
    const GET: &'static str = include_str!("sql/sqlite/get.sql");
    const LIST: &'static str = include_str!("sql/sqlite/list.sql");
    const INSERT_AGENTS: &'static str = include_str!("sql/sqlite/insert_agents.sql");
    const INSERT_ENTRY: &'static str = include_str!("sql/sqlite/insert_entry.sql");
}

impl SqliteSessionStore {
    /// Opens (creating if needed) the store in the SQLite database at `url`
    /// (`sqlite://path/to/hive.db` or `sqlite::memory:`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a bad URL;
    /// [`Error::Backend`](crate::Error::Backend) when the file cannot be
    /// opened or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let Pools { writer, reader } =
            open_pools(url, Durability::Full, BUSY_TIMEOUT, READERS).await?;
        Ok(SqlSessionStore::new(writer, reader))
    }
}
