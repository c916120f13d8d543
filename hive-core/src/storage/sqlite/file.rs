//! The embedded file as a whole, for an operator's tools rather than a
//! store: where its schema stands, bringing it up to date, a consistent
//! copy while a server writes to it, and SQLite's integrity check.
//!
//! Every store that opens the file refuses one written by a newer build
//! through [`refuse_newer`] before its migrator may write anything.

use std::path::{Path, PathBuf};
use std::time::Duration;

use sqlx::sqlite::SqliteConnectOptions;
use sqlx::{ConnectOptions, Connection, SqliteConnection};

use super::{open_error, Durability, MIGRATOR};
use crate::error::{Error, Result};
use crate::storage::schema::{self, Migration, SchemaSet, SchemaStatus};

/// How long a copy or a migration waits for a server's write to finish.
const BUSY_TIMEOUT: Duration = Duration::from_secs(30);

/// The embedded SQLite file at a path, for backups and migrations.
///
/// ```
/// use hive_core::storage::EmbeddedFile;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let dir = tempfile::tempdir()?;
/// let file = EmbeddedFile::new(dir.path().join("hive.db"));
/// // A file that does not exist yet has every migration pending.
/// let before = file.status().await?;
/// assert!(before.applied.is_empty() && !before.pending.is_empty());
/// assert_eq!(file.migrate().await?, before.pending);
/// assert!(file.status().await?.pending.is_empty());
///
/// let copy = dir.path().join("copy.db");
/// file.copy_into(&copy).await?;
/// assert!(EmbeddedFile::new(&copy).integrity_problems().await?.is_empty());
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct EmbeddedFile {
    path: PathBuf,
}

impl EmbeddedFile {
    /// The file at `path` (nothing is opened yet).
    pub fn new(path: impl Into<PathBuf>) -> Self {
        EmbeddedFile { path: path.into() }
    }

    /// Its path.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// Where its schema stands against this build's. A file that does not
    /// exist has every migration pending, and is not created.
    ///
    /// # Errors
    /// [`Error::Backend`] naming the file when it cannot be opened or read
    /// (not a SQLite database, not readable).
    pub async fn status(&self) -> Result<SchemaStatus> {
        if !self.path.exists() {
            return Ok(SchemaStatus::of(SchemaSet::Embedded, &[]));
        }
        let options = self.existing();
        let mut conn = options
            .connect()
            .await
            .map_err(|e| open_error(&options, e))?;
        let applied = applied(&mut conn)
            .await
            .map_err(|e| open_error(&options, e));
        let _ = conn.close().await;
        Ok(SchemaStatus::of(SchemaSet::Embedded, &applied?))
    }

    /// Applies the pending migrations, creating the file if needed, as a
    /// store opening it would; answers those it applied (none when it was
    /// up to date).
    ///
    /// # Errors
    /// [`Error::NewerSchema`] for a file written by a newer build, which is
    /// left as it was; [`Error::Backend`] naming the file when it cannot be
    /// opened or migrated.
    pub async fn migrate(&self) -> Result<Vec<Migration>> {
        let options = super::with_durability(self.base().create_if_missing(true), Durability::Full);
        let mut conn = options
            .connect()
            .await
            .map_err(|e| open_error(&options, e))?;
        let result = async {
            let before = refuse_newer(&mut conn, &options).await?;
            MIGRATOR
                .run_direct(&mut conn)
                .await
                .map_err(|e| open_error(&options, e))?;
            Ok(before.pending)
        }
        .await;
        let _ = conn.close().await;
        result
    }

    /// Writes a consistent copy of the file to `dest` (`VACUUM INTO`) and
    /// flushes it to disk. The copy is one read transaction: a server
    /// writing to the file meanwhile goes on, and the copy holds exactly
    /// what was committed when it began.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the file does not exist, `dest` already
    /// does, or `dest` is not UTF-8; [`Error::Backend`] when either cannot
    /// be opened or written.
    pub async fn copy_into(&self, dest: &Path) -> Result<()> {
        if !self.path.is_file() {
            return Err(Error::invalid(format!(
                "there is no embedded file at {}",
                self.path.display()
            )));
        }
        if dest.exists() {
            return Err(Error::invalid(format!(
                "{} already exists; a copy goes to a new file",
                dest.display()
            )));
        }
        let target = dest
            .to_str()
            .ok_or_else(|| Error::invalid(format!("{} is not UTF-8", dest.display())))?;
        let options = self.existing();
        let mut conn = options
            .connect()
            .await
            .map_err(|e| open_error(&options, e))?;
        let copied = sqlx::query(include_str!("sql/vacuum_into.sql"))
            .bind(target)
            .execute(&mut conn)
            .await
            .map_err(|e| open_error(&options, e));
        let _ = conn.close().await;
        copied?;
        // SQLite does not fsync the file VACUUM INTO writes.
        std::fs::File::open(dest)
            .and_then(|f| f.sync_all())
            .map_err(|e| Error::backend("sqlite", e))
    }

    /// What SQLite's `PRAGMA integrity_check` finds wrong with the file:
    /// empty when it answers `ok`.
    ///
    /// # Errors
    /// [`Error::Backend`] naming the file when it cannot be opened (a file
    /// that is not a database at all).
    pub async fn integrity_problems(&self) -> Result<Vec<String>> {
        let options = self.existing().read_only(true);
        let mut conn = options
            .connect()
            .await
            .map_err(|e| open_error(&options, e))?;
        let rows: Result<Vec<String>> = sqlx::query_scalar(include_str!("sql/integrity_check.sql"))
            .fetch_all(&mut conn)
            .await
            .map_err(|e| open_error(&options, e));
        let _ = conn.close().await;
        Ok(rows?.into_iter().filter(|row| row != "ok").collect())
    }

    /// Options for the file as it is: never created, its journal mode left
    /// alone.
    fn existing(&self) -> SqliteConnectOptions {
        self.base().create_if_missing(false)
    }

    fn base(&self) -> SqliteConnectOptions {
        SqliteConnectOptions::new()
            .filename(&self.path)
            .busy_timeout(BUSY_TIMEOUT)
            .foreign_keys(false)
            .disable_statement_logging()
    }
}

/// The versions the file records, none when no build has migrated it.
async fn applied(conn: &mut SqliteConnection) -> Result<Vec<i64>, sqlx::Error> {
    let exists: bool = sqlx::query_scalar(include_str!("sql/migrations_table.sql"))
        .fetch_one(&mut *conn)
        .await?;
    if !exists {
        return Ok(Vec::new());
    }
    sqlx::query_scalar(include_str!("sql/applied_migrations.sql"))
        .fetch_all(&mut *conn)
        .await
}

/// Refuses the file `options` opened on `conn` when a newer build wrote
/// it, before anything is written; answers where its schema stands.
///
/// # Errors
/// [`Error::NewerSchema`] naming the file; [`Error::Backend`] when it
/// cannot be read.
pub(crate) async fn refuse_newer(
    conn: &mut SqliteConnection,
    options: &SqliteConnectOptions,
) -> Result<SchemaStatus> {
    let applied = applied(conn).await.map_err(|e| open_error(options, e))?;
    let store = options.get_filename().display().to_string();
    schema::refuse_newer(&store, &[SchemaSet::Embedded], &applied)?;
    Ok(SchemaStatus::of(SchemaSet::Embedded, &applied))
}
