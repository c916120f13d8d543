//! The one error type of hive-core.
//!
//! Every public operation returns [`Result`]. Variants are semantic (what went
//! wrong for the caller), never backend-shaped: a frontend maps them to HTTP
//! status codes or Python exceptions in one place without looking inside.
//! Backends convert their own errors into [`Error::Backend`] at their edge.

use std::fmt;

/// A boxed error from a storage driver, kept as the `source` of [`Error::Backend`].
pub type BoxError = Box<dyn std::error::Error + Send + Sync + 'static>;

/// `Result` with [`Error`] as the default error type.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in hive-core.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The caller sent something the contract forbids (an empty task type, a
    /// priority outside 1–9, a payload over the limit, a dependency cycle…).
    /// Nothing was changed.
    #[error("invalid input: {0}")]
    InvalidInput(String),

    /// The named thing does not exist.
    #[error("{kind} not found: {id}")]
    NotFound {
        /// What was looked up: `"task"`, `"dead letter"`, …
        kind: &'static str,
        /// Its identifier, as the caller gave it.
        id: String,
    },

    /// The operation does not fit the current state (cancelling a completed
    /// task, retrying a task that is not dead-lettered…). Nothing was changed.
    #[error("conflict: {0}")]
    Conflict(String),

    /// A lease token no longer matches the task's current attempt: the lease
    /// expired and the task was redelivered, it was released, cancelled, or
    /// failed by its deadline. The late answer changed nothing.
    #[error("stale lease for task {task}: {reason}")]
    StaleLease {
        /// The task the stale token was presented for.
        task: String,
        /// Why the token is no longer current.
        reason: String,
    },

    /// The backend cannot do this operation at all.
    #[error("{operation} is not supported by the {backend} backend")]
    NotSupported {
        /// The operation that was asked for.
        operation: &'static str,
        /// The backend that cannot do it.
        backend: &'static str,
    },

    /// The storage backend failed or could not be reached. Usually transient:
    /// retrying after a pause is the right reaction (see [`Error::is_transient`]).
    #[error("{backend} backend error: {source}")]
    Backend {
        /// `"sqlite"`, `"redis"` or `"postgres"`.
        backend: &'static str,
        /// The driver's error.
        #[source]
        source: BoxError,
    },

    /// The stores given cannot make a hive as asked: one lacks something
    /// the configuration needs (Postgres without pgvector for the context
    /// store; Postgres without Redis, which leaves no broker). Nothing was
    /// started. Its message speaks Rust ([`HiveBuilder`](crate::hive::HiveBuilder)'s
    /// methods); the other frontends match on the [`Setup`] and say the
    /// same in their own words (flags, keyword arguments).
    #[error("{0}")]
    Setup(Setup),

    /// The database was written by a newer Agent Hive: it records a
    /// migration this build does not have, so its tables may hold what this
    /// build would misread or break. It was refused before anything was
    /// written; the newer build, or a backup taken before the upgrade,
    /// is the way back.
    #[error(
        "{store} was written by a newer Agent Hive (schema {found}, this binary knows up to \
         {known}): use that binary, or restore a backup"
    )]
    NewerSchema {
        /// The database: the embedded file's path, or `the Postgres
        /// database <name>` (never its URL, which may hold a password).
        store: String,
        /// The newest migration it records that this build lacks.
        found: i64,
        /// The newest migration of that set this build has.
        known: i64,
    },
}

/// What a configuration lacks; see [`Error::Setup`].
#[non_exhaustive]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Setup {
    /// The Postgres given for the context store has no `vector` extension
    /// to create.
    PgvectorMissing,
    /// Postgres was given without Redis: there is no Postgres broker.
    BrokerMissing,
    /// The Redis given evicts keys when it is full (its `maxmemory-policy`
    /// is this, not `noeviction`): queued tasks, their leases and the
    /// broker's messages could vanish without a trace.
    RedisEvicts {
        /// The policy Redis reports (`allkeys-lru`, …, or `unknown`).
        policy: &'static str,
    },
}

impl Setup {
    /// What this instance adds to [`problem`](Self::problem): the policy
    /// Redis reported.
    pub fn detail(self) -> String {
        match self {
            Setup::RedisEvicts { policy } => format!(" (it reports maxmemory-policy {policy})"),
            _ => String::new(),
        }
    }

    /// What is missing, in words every frontend shares; the remedy is the
    /// frontend's to add.
    pub fn problem(self) -> &'static str {
        match self {
            Setup::PgvectorMissing => {
                "pgvector is missing — install it, or run without the context store"
            }
            Setup::BrokerMissing => "a hive on Postgres needs a broker, and Postgres has none",
            Setup::RedisEvicts { .. } => {
                "Redis evicts keys when it is full, so queued tasks could vanish — set \
                 `maxmemory-policy noeviction` on it"
            }
        }
    }
}

impl fmt::Display for Setup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let remedy = match self {
            Setup::PgvectorMissing => {
                "the `vector` extension on this Postgres, or HiveBuilder::without_context()"
            }
            Setup::BrokerMissing => "add .redis(url) for the queue and the broker",
            Setup::RedisEvicts { .. } => {
                "or accept the risk with HiveBuilder::allow_redis_eviction(true)"
            }
        };
        write!(f, "{}{} ({remedy})", self.problem(), self.detail())
    }
}

impl Error {
    /// Builds [`Error::InvalidInput`] from anything printable.
    pub fn invalid(msg: impl fmt::Display) -> Self {
        Error::InvalidInput(msg.to_string())
    }

    /// Builds [`Error::NotFound`].
    pub fn not_found(kind: &'static str, id: impl fmt::Display) -> Self {
        Error::NotFound {
            kind,
            id: id.to_string(),
        }
    }

    /// Builds [`Error::Conflict`] from anything printable.
    pub fn conflict(msg: impl fmt::Display) -> Self {
        Error::Conflict(msg.to_string())
    }

    /// Builds [`Error::Backend`] from a driver error.
    pub fn backend(backend: &'static str, source: impl Into<BoxError>) -> Self {
        Error::Backend {
            backend,
            source: source.into(),
        }
    }

    /// True when the same call may succeed later without any change by the
    /// caller: the backend was down or overloaded.
    pub fn is_transient(&self) -> bool {
        matches!(self, Error::Backend { .. })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_say_what_went_wrong() {
        assert_eq!(Error::invalid("bad").to_string(), "invalid input: bad");
        assert_eq!(
            Error::not_found("task", "42").to_string(),
            "task not found: 42"
        );
        assert_eq!(Error::conflict("busy").to_string(), "conflict: busy");
        let stale = Error::StaleLease {
            task: "t".into(),
            reason: "expired".into(),
        };
        assert_eq!(stale.to_string(), "stale lease for task t: expired");
        let ns = Error::NotSupported {
            operation: "open",
            backend: "x",
        };
        assert_eq!(ns.to_string(), "open is not supported by the x backend");
        let be = Error::backend("redis", "connection refused");
        assert_eq!(be.to_string(), "redis backend error: connection refused");
        assert!(std::error::Error::source(&be).is_some());
        let setup = Error::Setup(Setup::PgvectorMissing).to_string();
        assert!(
            setup.starts_with("pgvector is missing — install it, or run without the context store")
                && setup.contains("without_context()"),
            "{setup}"
        );
        let setup = Error::Setup(Setup::BrokerMissing).to_string();
        assert!(setup.contains(".redis(url)"), "{setup}");
        let newer = Error::NewerSchema {
            store: "hive.db".into(),
            found: 7,
            known: 5,
        };
        assert_eq!(
            newer.to_string(),
            "hive.db was written by a newer Agent Hive (schema 7, this binary knows up to 5): \
             use that binary, or restore a backup"
        );
        assert!(!newer.is_transient());
    }

    #[test]
    fn only_backend_errors_are_transient() {
        assert!(Error::backend("sqlite", "locked").is_transient());
        assert!(!Error::invalid("x").is_transient());
        assert!(!Error::conflict("x").is_transient());
    }
}
