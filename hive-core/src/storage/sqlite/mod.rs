//! The embedded database: the one SQLite file that the queue, the broker
//! and the message history share — how it is opened and migrated, and how
//! handles on it in one process wake each other.
//!
//! Every embedded backend opens the file the same way (WAL, the chosen
//! fsync policy, a busy timeout for other processes) and runs the same
//! migrations, so one file holds every table whichever backend opens it
//! first. The queue and the broker write through one task each that
//! commits in groups; that loop is `writer.rs`. A file written by a newer
//! build is refused before any migration runs (`file::refuse_newer`);
//! `file.rs` also holds [`EmbeddedFile`], the file as a whole for backups
//! and `hive migrate`.

pub(crate) mod file;
pub(crate) mod writer;

pub use file::EmbeddedFile;

use std::collections::HashMap;
use std::str::FromStr;
use std::sync::{Arc, LazyLock, Mutex, Weak};
use std::time::Duration;

use sqlx::migrate::Migrator;
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteSynchronous,
};
use sqlx::ConnectOptions;
use tokio::sync::Notify;

use crate::error::{Error, Result};

/// The embedded schema, from `migrations/sqlite`.
pub(crate) static MIGRATOR: Migrator = sqlx::migrate!("../migrations/sqlite");

/// How durable a commit is.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum Durability {
    /// Every acknowledged operation survives a power loss (`synchronous=FULL`;
    /// the writer's group commit amortises the fsync). The default.
    #[default]
    Full,
    /// Survives a crash of the process, not of the machine
    /// (`synchronous=NORMAL` in WAL mode).
    Process,
}

/// Connect options for `url` (`sqlite://path` or `sqlite::memory:`), and
/// whether the database lives in memory (no WAL, no other handles).
///
/// # Errors
/// [`Error::InvalidInput`] for a URL SQLite cannot parse.
pub(crate) fn connect_options(
    url: &str,
    durability: Durability,
    busy_timeout: Duration,
) -> Result<(SqliteConnectOptions, bool)> {
    let in_memory = url.contains(":memory:") || url.contains("mode=memory");
    let base = SqliteConnectOptions::from_str(url)
        .map_err(|e| Error::invalid(format!("bad sqlite URL {url:?}: {e}")))?
        .create_if_missing(true)
        .busy_timeout(busy_timeout)
        .foreign_keys(false)
        .disable_statement_logging();
    if in_memory {
        return Ok((base, true));
    }
    Ok((with_durability(base, durability), false))
}

/// `options` for a file: WAL, and fsyncs as `durability` asks.
pub(crate) fn with_durability(
    options: SqliteConnectOptions,
    durability: Durability,
) -> SqliteConnectOptions {
    options
        .journal_mode(SqliteJournalMode::Wal)
        .synchronous(match durability {
            Durability::Full => SqliteSynchronous::Full,
            Durability::Process => SqliteSynchronous::Normal,
        })
}

/// Why the embedded file could not be opened or brought up to date,
/// naming it: a file that is corrupt, belongs to another program or
/// cannot be read is then found without guessing which file was meant.
#[derive(Debug, thiserror::Error)]
#[error("cannot open the embedded file {}{hint}: {source}", path.display())]
pub(crate) struct OpenError {
    path: std::path::PathBuf,
    hint: &'static str,
    #[source]
    source: Box<dyn std::error::Error + Send + Sync>,
}

/// [`Error::Backend`] for a failure to open or migrate the file of
/// `options`, naming it.
pub(crate) fn open_error(
    options: &SqliteConnectOptions,
    source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
) -> Error {
    let source = source.into();
    let text = source.to_string();
    let hint = if text.contains("not a database") || text.contains("malformed") {
        " (it is not a SQLite database, or it is corrupt)"
    } else if text.contains("unable to open") || text.contains("readonly") {
        " (check that it and its directory exist and are readable and writable)"
    } else if text.contains("migration") || text.contains("already exists") {
        " (it holds tables of another program, or of a newer schema)"
    } else {
        ""
    };
    Error::backend(
        "sqlite",
        OpenError {
            path: options.get_filename().to_path_buf(),
            hint,
            source,
        },
    )
}

/// A store's connections to the file: one writer (this process's writers
/// queue in its pool rather than race for SQLite's lock; other processes
/// wait with the busy timeout) and a pool of read-only readers. For an
/// in-memory database both are the one connection, which never closes
/// (closing it would drop the data).
#[derive(Clone, Debug)]
pub(crate) struct Pools {
    pub writer: SqlitePool,
    pub reader: SqlitePool,
}

/// Opens [`Pools`] on `url` with `readers` read connections and brings the
/// schema up to date.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad URL; [`Error::NewerSchema`] for a file
/// a newer build wrote; [`Error::Backend`] when the file cannot be opened
/// or migrated.
pub(crate) async fn open_pools(
    url: &str,
    durability: Durability,
    busy_timeout: Duration,
    readers: u32,
) -> Result<Pools> {
    let (base, in_memory) = connect_options(url, durability, busy_timeout)?;
    let db_err = |e: sqlx::Error| open_error(&base, e);
    let writer = SqlitePoolOptions::new()
        .max_connections(1)
        .min_connections(1)
        .idle_timeout(None)
        .max_lifetime(None)
        .connect_with(base.clone())
        .await
        .map_err(db_err)?;
    migrate(&writer, &base).await.map_err(|e| match e {
        Error::Backend { source, .. } => open_error(&base, source),
        other => other,
    })?;
    let reader = if in_memory {
        writer.clone()
    } else {
        SqlitePoolOptions::new()
            .max_connections(readers)
            .connect_with(base.clone().read_only(true))
            .await
            .map_err(db_err)?
    };
    Ok(Pools { writer, reader })
}

/// Brings the schema up to date, after refusing a file a newer build
/// wrote. Two processes opening a new file at once both try; the loser
/// fails on the migration's version row, and trying again finds everything
/// applied.
async fn migrate(pool: &SqlitePool, options: &SqliteConnectOptions) -> Result<()> {
    let mut conn = pool.acquire().await.map_err(|e| open_error(options, e))?;
    file::refuse_newer(&mut conn, options).await?;
    if MIGRATOR.run_direct(&mut *conn).await.is_ok() {
        return Ok(());
    }
    MIGRATOR
        .run_direct(&mut *conn)
        .await
        .map_err(|e| Error::backend("sqlite", e))
}

/// Wake-ups shared by every handle in this process with the same key.
static WAKERS: LazyLock<Mutex<HashMap<String, Weak<Notify>>>> = LazyLock::new(Default::default);

/// The wake-up for `key` (a file, and what on it), shared by every handle
/// in this process that asks for the same key.
pub(crate) fn waker_for(key: String) -> Arc<Notify> {
    let mut map = WAKERS
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    map.retain(|_, w| w.strong_count() > 0);
    if let Some(existing) = map.get(&key).and_then(Weak::upgrade) {
        return existing;
    }
    let fresh = Arc::new(Notify::new());
    map.insert(key, Arc::downgrade(&fresh));
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn handles_with_one_key_share_a_waker() {
        let a = waker_for("file-a|x".into());
        let b = waker_for("file-a|x".into());
        let c = waker_for("file-b|x".into());
        assert!(Arc::ptr_eq(&a, &b));
        assert!(!Arc::ptr_eq(&a, &c));
    }

    #[test]
    fn memory_urls_skip_the_journal_and_bad_urls_are_refused() {
        let (_, in_memory) =
            connect_options("sqlite::memory:", Durability::Full, Duration::from_secs(1))
                .expect("memory");
        assert!(in_memory);
        let (_, in_memory) = connect_options(
            "sqlite:///tmp/x.db",
            Durability::Process,
            Duration::from_secs(1),
        )
        .expect("file");
        assert!(!in_memory);
        assert!(
            connect_options("sqlite://x.db?mode=bogus", Durability::Full, Duration::ZERO).is_err()
        );
    }
}
