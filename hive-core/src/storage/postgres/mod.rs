//! The Postgres schema: the shared set that the queue, the message
//! history, the agent registry and the sessions use (`migrations/postgres`),
//! one migrator for all four, and the context store's own set
//! (`migrations/postgres_context`, numbered from 1001), which needs the
//! `vector` extension. Both record themselves in one `_sqlx_migrations`
//! table, so each migrator passes over the other's versions.
//!
//! A database written by a newer build — a version neither set of this
//! build has — is refused before any migrator runs ([`refuse_newer`]);
//! `database.rs` holds [`PostgresDatabase`], the database as a whole for
//! backups and `hive migrate`.

mod database;

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{ConnectOptions, PgConnection};

pub use database::PostgresDatabase;

use crate::error::{Error, Result};
use crate::storage::schema::{self, SchemaSet};

/// The shared schema, from `migrations/postgres`.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// The context store's schema, from `migrations/postgres_context`.
pub(crate) static CONTEXT_MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres_context");

/// The sets that share the bookkeeping table, which judge its versions.
const SETS: [SchemaSet; 2] = [SchemaSet::Postgres, SchemaSet::PostgresContext];

/// `set`'s migrator, passing over the other set's versions and serialised
/// across processes by sqlx's advisory lock.
fn tolerant(set: &Migrator) -> Migrator {
    Migrator {
        migrations: set.migrations.clone(),
        ignore_missing: true,
        locking: true,
        no_tx: set.no_tx,
    }
}

/// The shared schema's migrator. Run it through [`migrate`] or
/// [`migrate_direct`], which first refuse a database a newer build wrote.
pub(crate) fn migrator() -> Migrator {
    tolerant(&MIGRATOR)
}

/// A pool on `url` of at most `max_connections`, each call waiting up to
/// `acquire_timeout` for one: how the agent registry and the session store
/// open a database of their own. Lazy: nothing connects before the first
/// call.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad URL.
pub(crate) fn lazy_pool(
    url: &str,
    max_connections: u32,
    acquire_timeout: Duration,
) -> Result<PgPool> {
    let options = PgConnectOptions::from_str(url)
        .map_err(|e| Error::invalid(format!("bad postgres URL: {e}")))?
        .application_name("agent-hive")
        .disable_statement_logging();
    Ok(PgPoolOptions::new()
        .max_connections(max_connections)
        .acquire_timeout(acquire_timeout)
        .connect_lazy_with(options))
}

/// Brings the shared schema up to date through `pool`.
///
/// # Errors
/// [`Error::NewerSchema`] for a database a newer build wrote (left as it
/// was); [`Error::Backend`] when it cannot be reached or migrated.
pub(crate) async fn migrate(pool: &PgPool) -> Result<()> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    migrate_direct(&mut conn).await
}

/// Brings the shared schema up to date on `conn`.
///
/// # Errors
/// As [`migrate`].
pub(crate) async fn migrate_direct(conn: &mut PgConnection) -> Result<()> {
    refuse_newer(conn).await?;
    migrator().run_direct(conn).await.map_err(db_err)
}

/// Brings the context store's schema up to date through `pool` (the
/// caller has checked that `vector` is available).
///
/// # Errors
/// As [`migrate`].
pub(crate) async fn migrate_context(pool: &PgPool) -> Result<()> {
    let mut conn = pool.acquire().await.map_err(db_err)?;
    refuse_newer(&mut conn).await?;
    tolerant(&CONTEXT_MIGRATOR)
        .run_direct(&mut *conn)
        .await
        .map_err(db_err)
}

/// Refuses the database when a newer build wrote it, before anything is
/// written.
///
/// # Errors
/// [`Error::NewerSchema`] naming the database (never its URL);
/// [`Error::Backend`] when it cannot be read.
pub(crate) async fn refuse_newer(conn: &mut PgConnection) -> Result<()> {
    let applied = applied(conn).await?;
    if SETS
        .iter()
        .all(|set| schema::SchemaStatus::of(*set, &applied).newer.is_empty())
    {
        return Ok(());
    }
    let name: String = sqlx::query_scalar(include_str!("sql/current_database.sql"))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    schema::refuse_newer(&store_name(&name), &SETS, &applied)
}

/// How messages name the database `name`.
fn store_name(name: &str) -> String {
    format!("the Postgres database {name}")
}

/// The versions the database records, none when no build has migrated it.
async fn applied(conn: &mut PgConnection) -> Result<Vec<i64>> {
    let exists: bool = sqlx::query_scalar(include_str!("sql/migrations_table.sql"))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(include_str!("sql/applied_migrations.sql"))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)
}

/// A driver error as [`Error::Backend`].
fn db_err(e: impl Into<crate::error::BoxError>) -> Error {
    Error::backend("postgres", e)
}
