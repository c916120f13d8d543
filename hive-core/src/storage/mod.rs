//! The plumbing under the hive's stores: how hive-core talks to each of its
//! three storage engines, written once and shared by every room that keeps
//! state there.
//!
//! - [`schema`]: the migration sets this build carries, where a database
//!   stands against them, and the refusal of one a newer build wrote.
//! - `sqlite` (feature `sqlite`): the embedded file — connect options
//!   (WAL, `Durability`), the one migrator, pools, per-file wake-ups within
//!   a process, the single-writer job channel, and [`EmbeddedFile`], the
//!   file as a whole (schema, migrating, a consistent copy, integrity).
//! - `postgres` (feature `postgres`): the shared schema's and the context
//!   store's migrators, lazy pools, and [`PostgresDatabase`], the database
//!   as a whole (schema, migrating, the server's version).
//! - [`redis`] (feature `redis`): for the queue, the broker and the event
//!   log — one client builder with the same timeouts and reconnect policy,
//!   the fail-fast check, reply readers, the script set and its runner,
//!   and the pool of connections for blocking reads.
//! - [`sql`] (either SQL feature): what SQLite and Postgres stores share —
//!   [`SqlEngine`](sql::SqlEngine) and the column types the two engines
//!   store differently, so a room's store is written once over both.
//!
//! - [`Engine`]: which engine a store URL names, and the clear
//!   [`Error::NotSupported`] for one this build left out.
//!
//! Rooms point down to this module; it points to nothing but
//! [`crate::error`] and [`crate::time`]. Its public part — [`schema`],
//! [`EmbeddedFile`], [`PostgresDatabase`] — is for an operator's tools
//! (`hive migrate`, `hive backup`); the rest is the crate's own.

use crate::error::Error;

#[cfg(feature = "postgres")]
pub(crate) mod postgres;
#[cfg(feature = "redis")]
pub(crate) mod redis;
pub mod schema;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) mod sql;
#[cfg(feature = "sqlite")]
pub(crate) mod sqlite;

#[cfg(feature = "postgres")]
pub use postgres::PostgresDatabase;
#[cfg(feature = "sqlite")]
pub use sqlite::EmbeddedFile;

/// A storage engine, as a store URL names it by its scheme.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Engine {
    /// `sqlite://path` or `sqlite::memory:`.
    Sqlite,
    /// `redis://…` or `rediss://…`.
    Redis,
    /// `postgres://…` or `postgresql://…`.
    Postgres,
}

impl Engine {
    /// The engine `url` names, or `None` for a scheme hive-core does not
    /// know.
    pub(crate) fn of(url: &str) -> Option<Engine> {
        match scheme(url) {
            "sqlite" => Some(Engine::Sqlite),
            "redis" | "rediss" => Some(Engine::Redis),
            "postgres" | "postgresql" => Some(Engine::Postgres),
            _ => None,
        }
    }

    /// The error for a URL of this engine in a build that left it out: it
    /// names the cargo feature that compiles it in.
    pub(crate) fn left_out(self) -> Error {
        let operation = match self {
            Engine::Sqlite => "opening a sqlite: URL without hive-core's `sqlite` feature",
            Engine::Redis => "opening a redis:// URL without hive-core's `redis` feature",
            Engine::Postgres => "opening a postgres:// URL without hive-core's `postgres` feature",
        };
        Error::NotSupported {
            operation,
            backend: self.feature(),
        }
    }

    /// The cargo feature that compiles this engine's backends.
    pub(crate) fn feature(self) -> &'static str {
        match self {
            Engine::Sqlite => "sqlite",
            Engine::Redis => "redis",
            Engine::Postgres => "postgres",
        }
    }
}

/// The scheme of `url`: what comes before the first `:`.
pub(crate) fn scheme(url: &str) -> &str {
    url.split(':').next().unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls_name_their_engine_and_a_left_out_one_names_its_feature() {
        for (url, engine) in [
            ("sqlite::memory:", Some(Engine::Sqlite)),
            ("sqlite://hive.db", Some(Engine::Sqlite)),
            ("redis://127.0.0.1:6379", Some(Engine::Redis)),
            ("rediss://h", Some(Engine::Redis)),
            ("postgres://u@h/db", Some(Engine::Postgres)),
            ("postgresql://u@h/db", Some(Engine::Postgres)),
            ("kafka://x", None),
            ("", None),
        ] {
            assert_eq!(Engine::of(url), engine, "{url}");
        }
        for engine in [Engine::Sqlite, Engine::Redis, Engine::Postgres] {
            let e = engine.left_out();
            assert!(matches!(e, Error::NotSupported { .. }), "{e:?}");
            let says = format!("`{}` feature", engine.feature());
            assert!(e.to_string().contains(&says), "{e}");
        }
    }
}
