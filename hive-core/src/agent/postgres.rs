//! The distributed agent registry: one table in Postgres, shared by every
//! process and machine of the fleet. Capabilities are a `TEXT[]`, so "holds
//! all of these" is `capabilities @> $1` on a GIN index; a partial unique
//! index on live names keeps one live agent per name.
//!
//! The registry itself is `SqlAgentRegistry`, shared with SQLite; this
//! module opens the database.

use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::Postgres;

use super::sql_registry::{Dialect, SqlAgentRegistry};
use crate::error::Result;

/// Connections [`PostgresAgentRegistry::open`] allows its pool.
const MAX_CONNECTIONS: u32 = 5;

/// How long a call may wait for a connection.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The agent registry on Postgres.
pub type PostgresAgentRegistry = SqlAgentRegistry<Postgres>;

impl Dialect for Postgres {
    const HOLDS_ALL: Option<&'static str> = Some(" AND capabilities @> ");
}

impl PostgresAgentRegistry {
    /// Connects to the database at `url` and brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::InvalidInput`](crate::Error::InvalidInput) for a bad URL;
    /// [`Error::Backend`](crate::Error::Backend) when the database cannot be
    /// reached or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let pool = crate::storage::postgres::lazy_pool(url, MAX_CONNECTIONS, TIMEOUT)?;
        Self::connect(pool).await
    }

    /// Uses an existing pool (shared with the queue, or one whose
    /// connections set a `search_path`) and brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) when the database cannot be
    /// reached or migrated.
    pub async fn connect(pool: PgPool) -> Result<Self> {
        crate::storage::postgres::migrate(&pool).await?;
        Ok(SqlAgentRegistry::new(pool.clone(), pool))
    }
}
