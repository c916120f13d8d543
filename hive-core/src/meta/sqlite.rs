//! The embedded proposal store: two tables in the SQLite file the queue and
//! the other rooms use.

use std::time::Duration;

use sqlx::Sqlite;

use super::sql_store::SqlProposalStore;
use crate::error::Result;
use crate::storage::sqlite::{open_pools, Durability, Pools};

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed store.
const READERS: u32 = 2;

/// The embedded proposal store.
pub type SqliteProposalStore = SqlProposalStore<Sqlite>;

impl SqliteProposalStore {
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
        Ok(SqlProposalStore::new(writer, reader))
    }
}
