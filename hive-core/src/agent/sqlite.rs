//! The embedded agent registry: one table in the SQLite file the queue, the
//! broker and the context store use. A partial unique index on the names of
//! live agents makes "one live agent per name" hold across processes.
//! Capabilities are a JSON array, so a listing checks them in Rust.
//!
//! The registry itself is `SqlAgentRegistry`, shared with Postgres; this
//! module opens the file.

use std::time::Duration;

use sqlx::Sqlite;

use super::sql_registry::{Dialect, SqlAgentRegistry};
use crate::error::Result;
use crate::storage::sqlite::{open_pools, Durability, Pools};

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed registry.
const READERS: u32 = 2;

/// The embedded agent registry.
pub type SqliteAgentRegistry = SqlAgentRegistry<Sqlite>;

impl Dialect for Sqlite {
    const HOLDS_ALL: Option<&'static str> = None;
}

impl SqliteAgentRegistry {
    /// Opens (creating if needed) the registry in the SQLite database at
    /// `url` (`sqlite://path/to/hive.db` or `sqlite::memory:`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a bad URL;
    /// [`Error::Backend`](crate::Error::Backend) when the file cannot be
    /// opened or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let Pools { writer, reader } =
            open_pools(url, Durability::Full, BUSY_TIMEOUT, READERS).await?;
        Ok(SqlAgentRegistry::new(writer, reader))
    }
}
