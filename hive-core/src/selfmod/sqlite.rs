//! The embedded change-set store: a table in the SQLite file the queue and
//! the other rooms use.

use std::time::Duration;

use sqlx::Sqlite;

use super::sql_store::SqlChangeSetStore;
use crate::error::Result;
use crate::storage::sqlite::{open_pools, Durability, Pools};

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed store.
const READERS: u32 = 2;

/// The embedded change-set store.
pub type SqliteChangeSetStore = SqlChangeSetStore<Sqlite>;

impl SqliteChangeSetStore {
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
        Ok(SqlChangeSetStore::new(writer, reader))
    }
}
