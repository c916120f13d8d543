//! The embedded outcome store: one table in the SQLite file the queue and
//! the other rooms use. Its commits survive a crash of the process, not of
//! the machine (`synchronous=NORMAL`): an outcome is a record of what
//! happened, not an acknowledgement, and a full sync per batch would make
//! the file's other writers — the queue, agents' heartbeats — wait on it.

use std::time::Duration;

use sqlx::Sqlite;

use super::sql_store::SqlOutcomeStore;
use crate::error::Result;
use crate::storage::sqlite::{open_pools, Durability, Pools};

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed store.
const READERS: u32 = 2;

/// The embedded outcome store.
pub type SqliteOutcomeStore = SqlOutcomeStore<Sqlite>;

impl SqliteOutcomeStore {
    /// Opens (creating if needed) the store in the SQLite database at `url`
    /// (`sqlite://path/to/hive.db` or `sqlite::memory:`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a bad URL;
    /// [`Error::Backend`](crate::Error::Backend) when the file cannot be
    /// opened or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let Pools { writer, reader } =
            open_pools(url, Durability::Process, BUSY_TIMEOUT, READERS).await?;
        Ok(SqlOutcomeStore::new(writer, reader))
    }
}
