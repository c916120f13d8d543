//! The distributed change-set store: a table in Postgres, shared by every
//! process and machine of the fleet.

use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::Postgres;

use super::sql_store::SqlChangeSetStore;
use crate::error::Result;

/// Connections [`PostgresChangeSetStore::open`] allows its pool.
const MAX_CONNECTIONS: u32 = 5;

/// How long a call may wait for a connection.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The change-set store on Postgres.
pub type PostgresChangeSetStore = SqlChangeSetStore<Postgres>;

impl PostgresChangeSetStore {
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

    /// Uses an existing pool (shared with the queue or the registry) and
    /// brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) when the database cannot be
    /// reached or migrated.
    pub async fn connect(pool: PgPool) -> Result<Self> {
        crate::storage::postgres::migrate(&pool).await?;
        Ok(SqlChangeSetStore::new(pool.clone(), pool))
    }
}
