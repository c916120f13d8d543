//! The distributed session store: three tables in Postgres, shared by every
//! process and machine of the fleet. A session's agents are read as one
//! `TEXT[]` and inserted from one; states and contents are `jsonb`.
//!
//! The store itself is `SqlSessionStore`, shared with SQLite; this module
//! opens the database and names the statements Postgres writes its own way.

use std::time::Duration;

use sqlx::postgres::PgPool;
use sqlx::Postgres;

use super::sql_store::{Dialect, SqlSessionStore};
use crate::error::Result;

/// Connections [`PostgresSessionStore::open`] allows its pool.
const MAX_CONNECTIONS: u32 = 5;

/// How long a call may wait for a connection.
const TIMEOUT: Duration = Duration::from_secs(10);

/// The session store on Postgres.
pub type PostgresSessionStore = SqlSessionStore<Postgres>;

impl Dialect for Postgres {
    const GET: &'static str = include_str!("sql/postgres/get.sql");
    const LIST: &'static str = include_str!("sql/postgres/list.sql");
    const INSERT_AGENTS: &'static str = include_str!("sql/postgres/insert_agents.sql");
    const INSERT_ENTRY: &'static str = include_str!("sql/postgres/insert_entry.sql");
}

impl PostgresSessionStore {
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

    /// Uses an existing pool (shared with the queue or the registry, or one
    /// whose connections set a `search_path`) and brings the schema up to
    /// date.
    ///
    /// # Errors
    /// [`Error::Backend`](crate::Error::Backend) when the database cannot be
    /// reached or migrated.
    pub async fn connect(pool: PgPool) -> Result<Self> {
        crate::storage::postgres::migrate(&pool).await?;
        Ok(SqlSessionStore::new(pool.clone(), pool))
    }
}
