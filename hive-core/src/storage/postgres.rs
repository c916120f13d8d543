//! The Postgres schema that the queue, the message history, the agent
//! registry and the sessions share (`migrations/postgres`): one migrator
//! for all four.
//!
//! It tolerates migrations it does not know: a database shared with a
//! newer build (or holding the context store's own set, numbered from
//! 1001) only gained tables, which this build ignores.

use std::str::FromStr;
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;

use crate::error::{Error, Result};

static MIGRATOR: Migrator = sqlx::migrate!("../migrations/postgres");

/// The shared schema's migrator, serialised across processes by sqlx's
/// advisory lock.
pub(crate) fn migrator() -> Migrator {
    Migrator {
        migrations: MIGRATOR.migrations.clone(),
        ignore_missing: true,
        locking: true,
        no_tx: MIGRATOR.no_tx,
    }
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
/// [`Error::Backend`] when the database cannot be reached or migrated.
pub(crate) async fn migrate(pool: &PgPool) -> Result<()> {
    migrator()
        .run(pool)
        .await
        .map_err(|e| Error::backend("postgres", e))
}
