//! The Postgres schema that the queue, the message history and the agent
//! registry share (`migrations/postgres`): one migrator for all three.
//!
//! It tolerates migrations it does not know: a database shared with a
//! newer build (or holding the context store's own set, numbered from
//! 1001) only gained tables, which this build ignores.

use sqlx::migrate::Migrator;

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
