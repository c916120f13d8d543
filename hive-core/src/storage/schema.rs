//! The schema a database carries, counted in migrations: the sets this
//! build has ([`SchemaSet`]), what a database has applied against them
//! ([`SchemaStatus`]), and the one rule that refuses a database written by
//! a newer build.
//!
//! sqlx records every applied migration in `_sqlx_migrations`. On Postgres
//! two sets share that table — the shared schema (`migrations/postgres`,
//! versions below 1001) and the context store's (`migrations/postgres_context`,
//! from 1001) — so a version is judged by the set whose range holds it: a
//! version neither set of this build has was written by a newer build.
//! Such a database is refused before anything is written to it
//! ([`Error::NewerSchema`]), because an older build could misread tables it
//! does not know, or undo what the newer one relies on.
//!
//! The engines read the applied versions in `sqlite/file.rs` and
//! `postgres/database.rs`; this module holds what both share.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// The first version of the Postgres context store's set; the shared
/// schema's versions are all below it.
const CONTEXT_FIRST: i64 = 1001;

/// One set of migrations this build carries.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[non_exhaustive]
pub enum SchemaSet {
    /// The embedded file's tables (`migrations/sqlite`): queue, broker,
    /// history, context, agents, sessions.
    Embedded,
    /// Postgres's shared schema (`migrations/postgres`): queue, history,
    /// agents, sessions.
    Postgres,
    /// Postgres's context store (`migrations/postgres_context`, versions
    /// from 1001), applied only where the `vector` extension is available.
    PostgresContext,
}

impl SchemaSet {
    /// Every set, in a fixed order.
    pub const ALL: [SchemaSet; 3] = [
        SchemaSet::Embedded,
        SchemaSet::Postgres,
        SchemaSet::PostgresContext,
    ];

    /// Its name in manifests and output: `embedded`, `postgres`,
    /// `postgres_context`.
    pub fn name(self) -> &'static str {
        match self {
            SchemaSet::Embedded => "embedded",
            SchemaSet::Postgres => "postgres",
            SchemaSet::PostgresContext => "postgres_context",
        }
    }

    /// The set named `name` (see [`name`](Self::name)).
    pub fn from_name(name: &str) -> Option<SchemaSet> {
        SchemaSet::ALL.into_iter().find(|set| set.name() == name)
    }

    /// The migrations this build has in the set, oldest first. Empty for
    /// the set of an engine this build left out (its cargo feature).
    pub fn migrations(self) -> Vec<Migration> {
        self.migrator()
            .map(|m| {
                m.iter()
                    .filter(|m| !m.migration_type.is_down_migration())
                    .map(|m| Migration {
                        version: m.version,
                        description: m.description.to_string(),
                    })
                    .collect()
            })
            .unwrap_or_default()
    }

    /// The newest version this build has in the set (0 for none).
    pub fn newest(self) -> i64 {
        self.migrations()
            .last()
            .map_or(0, |migration| migration.version)
    }

    /// Whether `version` falls in this set's range: on Postgres the two
    /// sets share one table, the context store's numbered from 1001.
    pub(crate) fn owns(self, version: i64) -> bool {
        match self {
            SchemaSet::Embedded => true,
            SchemaSet::Postgres => version < CONTEXT_FIRST,
            SchemaSet::PostgresContext => version >= CONTEXT_FIRST,
        }
    }

    /// The set's migrator, when this build compiled its engine in.
    pub(crate) fn migrator(self) -> Option<&'static sqlx::migrate::Migrator> {
        match self {
            #[cfg(feature = "sqlite")]
            SchemaSet::Embedded => Some(&super::sqlite::MIGRATOR),
            #[cfg(feature = "postgres")]
            SchemaSet::Postgres => Some(&super::postgres::MIGRATOR),
            #[cfg(feature = "postgres")]
            SchemaSet::PostgresContext => Some(&super::postgres::CONTEXT_MIGRATOR),
            #[allow(unreachable_patterns)]
            _ => None,
        }
    }
}

impl fmt::Display for SchemaSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.name())
    }
}

/// One migration: its version and what it adds.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Migration {
    /// Its number (the file's prefix, `0003` → 3).
    pub version: i64,
    /// What it adds (the file's name after the number).
    pub description: String,
}

/// Where a database stands against one [`SchemaSet`] of this build.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct SchemaStatus {
    /// The set.
    pub set: SchemaSet,
    /// The set's migrations the database has applied, oldest first.
    pub applied: Vec<Migration>,
    /// The set's migrations it has not applied yet, oldest first.
    pub pending: Vec<Migration>,
    /// Versions in the set's range that it records and this build does not
    /// have: written by a newer build. Not empty means the database is
    /// refused.
    pub newer: Vec<i64>,
}

impl SchemaStatus {
    /// Where a database that records `applied` versions stands against
    /// `set`.
    pub(crate) fn of(set: SchemaSet, applied: &[i64]) -> SchemaStatus {
        let known = set.migrations();
        let (done, pending): (Vec<Migration>, Vec<Migration>) = known
            .iter()
            .cloned()
            .partition(|m| applied.contains(&m.version));
        let newer = applied
            .iter()
            .copied()
            .filter(|v| set.owns(*v) && !known.iter().any(|m| m.version == *v))
            .collect();
        SchemaStatus {
            set,
            applied: done,
            pending,
            newer,
        }
    }

    /// The versions applied, oldest first.
    pub fn applied_versions(&self) -> Vec<i64> {
        self.applied.iter().map(|m| m.version).collect()
    }

    /// [`Error::NewerSchema`] naming `store` when the database records a
    /// version of this set that this build does not have.
    ///
    /// # Errors
    /// [`Error::NewerSchema`] with the newest such version.
    pub fn refuse_newer(&self, store: &str) -> Result<()> {
        match self.newer.iter().max() {
            Some(&found) => Err(Error::NewerSchema {
                store: store.to_string(),
                found,
                known: self.set.newest(),
            }),
            None => Ok(()),
        }
    }
}

/// Refuses a database that records `applied` when one of `sets` (those
/// sharing its bookkeeping table) finds a version newer than this build;
/// `store` names it.
///
/// # Errors
/// [`Error::NewerSchema`].
pub(crate) fn refuse_newer(store: &str, sets: &[SchemaSet], applied: &[i64]) -> Result<()> {
    sets.iter()
        .map(|set| SchemaStatus::of(*set, applied))
        .try_for_each(|status| status.refuse_newer(store))
}

#[cfg(all(test, feature = "sqlite", feature = "postgres"))]
mod tests {
    use super::*;

    #[test]
    fn each_set_lists_this_builds_migrations_and_names_itself() {
        for set in SchemaSet::ALL {
            let versions: Vec<i64> = set.migrations().iter().map(|m| m.version).collect();
            assert!(!versions.is_empty(), "{set}");
            assert!(versions.windows(2).all(|w| w[0] < w[1]), "{set}");
            assert_eq!(set.newest(), *versions.last().unwrap_or(&0));
            assert_eq!(SchemaSet::from_name(set.name()), Some(set));
            assert!(versions.iter().all(|v| set.owns(*v)), "{set}");
        }
        assert_eq!(SchemaSet::Embedded.migrations()[0].description, "queue");
        assert_eq!(SchemaSet::from_name("mysql"), None);
    }

    #[test]
    fn a_database_is_pending_applied_or_newer_against_each_set() {
        let fresh = SchemaStatus::of(SchemaSet::Embedded, &[]);
        assert!(fresh.applied.is_empty() && fresh.newer.is_empty());
        assert_eq!(fresh.pending, SchemaSet::Embedded.migrations());

        let current: Vec<i64> = SchemaSet::Embedded
            .migrations()
            .iter()
            .map(|m| m.version)
            .collect();
        let status = SchemaStatus::of(SchemaSet::Embedded, &current);
        assert!(status.pending.is_empty() && status.newer.is_empty());
        assert_eq!(status.applied_versions(), current);
        assert!(refuse_newer("hive.db", &[SchemaSet::Embedded], &current).is_ok());

        let mut ahead = current.clone();
        ahead.extend([9999, 9998]);
        let err = refuse_newer("hive.db", &[SchemaSet::Embedded], &ahead).expect_err("newer");
        assert!(
            matches!(&err, Error::NewerSchema { store, found: 9999, known }
                if store == "hive.db" && *known == SchemaSet::Embedded.newest()),
            "{err:?}"
        );
    }

    #[test]
    fn on_postgres_a_version_is_judged_by_the_set_whose_range_holds_it() {
        let shared: Vec<i64> = SchemaSet::Postgres
            .migrations()
            .iter()
            .map(|m| m.version)
            .collect();
        let sets = [SchemaSet::Postgres, SchemaSet::PostgresContext];
        // The context store's versions are no reason to refuse the shared
        // schema, and the other way round.
        let mut both = shared.clone();
        both.push(SchemaSet::PostgresContext.newest());
        assert!(refuse_newer("db", &sets, &both).is_ok());
        assert!(refuse_newer("db", &sets, &shared).is_ok());
        let context = SchemaStatus::of(SchemaSet::PostgresContext, &shared);
        assert!(context.applied.is_empty() && context.newer.is_empty());

        let mut shared_ahead = both.clone();
        shared_ahead.push(SchemaSet::Postgres.newest() + 1);
        let err = refuse_newer("db", &sets, &shared_ahead).expect_err("newer");
        assert!(
            matches!(err, Error::NewerSchema { known, .. } if known == SchemaSet::Postgres.newest()),
            "{err:?}"
        );
        let mut context_ahead = both;
        context_ahead.push(1500);
        let err = refuse_newer("db", &sets, &context_ahead).expect_err("newer");
        assert!(
            matches!(err, Error::NewerSchema { found: 1500, known, .. }
                if known == SchemaSet::PostgresContext.newest()),
            "{err:?}"
        );
    }
}
