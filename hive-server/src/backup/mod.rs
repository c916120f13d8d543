//! Backup and restore of a hive's stores, for `hive backup` and `hive
//! restore`.
//!
//! A backup is a directory: a copy of each store the hive keeps its state
//! in, and `manifest.json` ([`manifest`]), written last, with each file's
//! size and SHA-256 and each store's schema. The embedded file is copied
//! with SQLite's `VACUUM INTO` (one read transaction: a consistent snapshot
//! while `hive serve` goes on writing); Postgres with `pg_dump -Fc`
//! ([`pg_tools`]). Redis is not copied: it keeps its own persistence
//! (AOF/RDB), and the manifest says so.
//!
//! A restore trusts nothing before the manifest verifies: a file missing,
//! of another size or another hash, an unknown manifest format or a schema
//! newer than this build is refused, naming what is wrong, before anything
//! is written. The embedded file is copied to a temporary name beside the
//! target, checked with `PRAGMA integrity_check`, then renamed over it, so
//! the target is either the old file or the whole restored one.

pub mod manifest;
pub mod pg_tools;

use std::ffi::OsString;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use chrono::Utc;

use hive_core::storage::schema::SchemaStatus;
use hive_core::storage::{EmbeddedFile, PostgresDatabase};

use crate::lock::{LockError, ServeLock};
use manifest::{Manifest, Store, MANIFEST};
use pg_tools::PgTool;

/// The embedded file's name in a backup.
pub const EMBEDDED_FILE: &str = "hive.db";

/// The Postgres archive's name in a backup.
pub const POSTGRES_FILE: &str = "postgres.dump";

/// What a backup says of Redis, which it does not copy.
pub const REDIS_NOTE: &str = "not copied: Redis keeps its own persistence (AOF with \
    appendonly yes, RDB snapshots). Back it up from there: copy its appendonlydir/ or \
    dump.rdb (after BGSAVE), or run `redis-cli --rdb FILE` (see docs/operations.md)";

/// Why a backup or a restore did not happen.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BackupError {
    /// The backup directory already holds something.
    #[error("{} is not empty: a backup goes into a new or empty directory", dir.display())]
    NotEmpty {
        /// The directory.
        dir: PathBuf,
    },
    /// There is no embedded file where the configuration says.
    #[error(
        "there is no embedded file at {}: give the --db (HIVE_DB, `db` in hive.toml) that \
         `hive serve` uses",
        db.display()
    )]
    NoEmbeddedFile {
        /// Where it was looked for.
        db: PathBuf,
    },
    /// The manifest is missing, unreadable or of a format this build does
    /// not read. Nothing was restored.
    #[error("cannot use the backup's manifest {}: {why}; nothing was restored", path.display())]
    Manifest {
        /// The manifest.
        path: PathBuf,
        /// What is wrong with it.
        why: String,
    },
    /// A file of the backup is missing or differs from the manifest.
    /// Nothing was restored.
    #[error("the backup's file {} does not match its manifest: {why}; nothing was restored", file.display())]
    Damaged {
        /// The file.
        file: PathBuf,
        /// How it differs.
        why: String,
    },
    /// The backup holds a schema newer than this build's.
    #[error(
        "this backup was taken by Agent Hive {hive_version} with a newer schema ({set} \
         migration {found}; this binary knows up to {known}): restore it with that binary; \
         nothing was restored"
    )]
    NewerBackup {
        /// The version that took it.
        hive_version: String,
        /// The schema set.
        set: String,
        /// The newest migration this build does not have.
        found: i64,
        /// The newest this build has in that set.
        known: i64,
    },
    /// The targets given do not match the stores the backup holds.
    #[error("{0}")]
    Targets(String),
    /// The target already holds a hive and `--force` was not given.
    #[error("{0}: restore with --force to replace it; nothing was restored")]
    Exists(String),
    /// A `hive serve` is running on the target file.
    #[error(
        "a `hive serve` is running on {}: stop it before restoring over its file; nothing was \
         restored",
        db.display()
    )]
    Serving {
        /// The target file.
        db: PathBuf,
    },
    /// The restored copy failed SQLite's integrity check.
    #[error(
        "the restored copy failed SQLite's integrity check ({0}); the target was left as it was"
    )]
    Integrity(String),
    /// `pg_dump` or `pg_restore` is not where it was looked for.
    #[error(
        "{tool} was not found {looked}: install PostgreSQL's client tools (the server's major \
         version or newer), or give --{} PATH",
        tool.replace('_', "-")
    )]
    ToolMissing {
        /// The tool.
        tool: &'static str,
        /// Where it was looked for.
        looked: String,
    },
    /// `pg_dump` or `pg_restore` is older than the server.
    #[error(
        "{tool} at {} is version {major}, older than the Postgres server ({server_major}), \
         which it cannot handle: install PostgreSQL {server_major}'s client tools, or give \
         --{} PATH",
        path.display(),
        tool.replace('_', "-")
    )]
    ToolTooOld {
        /// The tool.
        tool: &'static str,
        /// Where it is.
        path: PathBuf,
        /// Its major version.
        major: u32,
        /// The server's.
        server_major: u32,
    },
    /// `pg_dump` or `pg_restore` failed.
    #[error("{tool} failed: {why}")]
    ToolFailed {
        /// The tool.
        tool: &'static str,
        /// Its exit status and what it printed.
        why: String,
    },
    /// A Postgres URL that does not parse (not shown: it may hold a
    /// password).
    #[error("the Postgres URL does not parse: {0}")]
    BadUrl(String),
    /// A file could not be read or written.
    #[error("{}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// A store refused or failed.
    #[error(transparent)]
    Core(#[from] hive_core::Error),
}

/// The stores a hive keeps its state in, as `hive serve` would open them
/// with the same configuration: the embedded file unless Postgres is
/// given (then Postgres), and Redis when given.
#[derive(Debug, Clone)]
pub struct Stores {
    /// The embedded file.
    pub db: PathBuf,
    /// Redis's URL, if the queue and the broker live there.
    pub redis: Option<String>,
    /// Postgres's URL, if the registry, sessions and context live there.
    pub postgres: Option<String>,
}

/// `hive backup`'s choices.
#[derive(Debug, Clone)]
pub struct BackupOptions {
    /// The directory to write: new, or empty.
    pub to: PathBuf,
    /// `pg_dump` to run; default: the first on `PATH`.
    pub pg_dump: Option<PathBuf>,
}

/// Takes a backup of `stores` into `options.to`; answers its manifest.
/// On failure the files it wrote are removed again.
///
/// # Errors
/// A directory that is not empty, a store that cannot be read or copied,
/// `pg_dump` missing or older than the server.
pub async fn backup(stores: &Stores, options: &BackupOptions) -> Result<Manifest, BackupError> {
    let dir = &options.to;
    let created = prepare_dir(dir)?;
    let result = write_backup(stores, options).await;
    if result.is_err() {
        for name in [EMBEDDED_FILE, POSTGRES_FILE, MANIFEST] {
            let _ = std::fs::remove_file(dir.join(name));
        }
        if created {
            let _ = std::fs::remove_dir(dir);
        }
    }
    result
}

async fn write_backup(stores: &Stores, options: &BackupOptions) -> Result<Manifest, BackupError> {
    let dir = &options.to;
    let mut manifest = Manifest::new(Utc::now());
    match &stores.postgres {
        Some(url) => {
            let tool = PgTool::find("pg_dump", options.pg_dump.as_deref())?;
            let db = PostgresDatabase::connect(url).await?;
            tool.check_against(db.server_major_version().await?)?;
            let statuses = db.status(false).await?;
            db.close().await;
            record_schema(&mut manifest, &statuses);
            let file = dir.join(POSTGRES_FILE);
            let args: Vec<OsString> = vec!["--format=custom".into(), path_arg("--file=", &file)];
            tool.run(&args, url).await?;
            owner_only(&file)?;
            sync_file(&file)?;
            manifest.add_file(dir, POSTGRES_FILE, Store::Postgres)?;
        }
        None => {
            let source = EmbeddedFile::new(&stores.db);
            if !stores.db.is_file() {
                return Err(BackupError::NoEmbeddedFile {
                    db: stores.db.clone(),
                });
            }
            let copy = dir.join(EMBEDDED_FILE);
            source.copy_into(&copy).await?;
            owner_only(&copy)?;
            // The copy's own schema: exactly the snapshot's.
            let status = EmbeddedFile::new(&copy).status().await?;
            record_schema(&mut manifest, &[status]);
            manifest.add_file(dir, EMBEDDED_FILE, Store::Embedded)?;
        }
    }
    if stores.redis.is_some() {
        manifest.redis = Some(REDIS_NOTE.into());
    }
    write_manifest(dir, &manifest)?;
    Ok(manifest)
}

/// Every applied version of each set, those a newer build wrote included
/// (a restore by this build then refuses the backup).
fn record_schema(manifest: &mut Manifest, statuses: &[SchemaStatus]) {
    for status in statuses {
        let mut versions = status.applied_versions();
        versions.extend(&status.newer);
        versions.sort_unstable();
        manifest
            .schema
            .insert(status.set.name().to_string(), versions);
    }
}

/// Creates `dir`, or checks that it is empty; answers whether it created
/// it.
fn prepare_dir(dir: &Path) -> Result<bool, BackupError> {
    let io = |source| BackupError::Io {
        path: dir.to_path_buf(),
        source,
    };
    match std::fs::read_dir(dir) {
        Ok(mut entries) => {
            if entries.next().is_some() {
                return Err(BackupError::NotEmpty {
                    dir: dir.to_path_buf(),
                });
            }
            Ok(false)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            std::fs::create_dir_all(dir).map_err(io)?;
            // The copies hold every task's payload: for the owner only.
            std::fs::set_permissions(dir, std::fs::Permissions::from_mode(0o700)).map_err(io)?;
            Ok(true)
        }
        Err(e) => Err(io(e)),
    }
}

/// Writes the manifest under a temporary name, flushes it and renames it
/// into place: a backup without `manifest.json` is one that did not finish.
fn write_manifest(dir: &Path, manifest: &Manifest) -> Result<(), BackupError> {
    let path = dir.join(MANIFEST);
    let temp = dir.join(format!("{MANIFEST}.partial"));
    let io = |source| BackupError::Io {
        path: path.clone(),
        source,
    };
    let text = serde_json::to_string_pretty(manifest).map_err(|e| io(std::io::Error::other(e)))?;
    std::fs::write(&temp, format!("{text}\n")).map_err(io)?;
    sync_file(&temp)?;
    std::fs::rename(&temp, &path).map_err(io)?;
    sync_dir(dir)
}

/// `hive restore`'s choices.
#[derive(Debug, Clone)]
pub struct RestoreOptions {
    /// The backup directory.
    pub from: PathBuf,
    /// Where to restore the embedded file, if the backup holds one.
    pub db: Option<PathBuf>,
    /// The Postgres database to restore into, if the backup holds a dump.
    pub postgres: Option<String>,
    /// Replace a target that already exists (a file, or a database that
    /// already holds a hive).
    pub force: bool,
    /// `pg_restore` to run; default: the first on `PATH`.
    pub pg_restore: Option<PathBuf>,
}

/// What a restore did.
#[derive(Debug, Clone)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// The embedded file written, if any.
    pub db: Option<PathBuf>,
    /// The name of the Postgres database restored into, if any.
    pub postgres: Option<String>,
}

/// Restores the backup in `options.from` into the targets given, after
/// verifying it whole.
///
/// # Errors
/// A manifest that is missing, unknown or newer than this build; a file
/// that is missing or differs from it; targets that do not match the
/// backup's stores; a target that exists without `force`; a copy that
/// fails the integrity check; `pg_restore` missing, too old or failing.
/// In every case but a failing `pg_restore` (which runs in one
/// transaction) nothing was written.
pub async fn restore(options: &RestoreOptions) -> Result<Restored, BackupError> {
    let from = &options.from;
    let manifest = Manifest::read(from)?;
    manifest.verify(from)?;
    let embedded = manifest.file_of(Store::Embedded);
    let dump = manifest.file_of(Store::Postgres);
    let (db, postgres) = match_targets(&manifest, options)?;

    // Every check on the targets comes before the first write.
    let mut embedded_plan = None;
    if let (Some(file), Some(target)) = (embedded, db) {
        if target.exists() && !options.force {
            return Err(BackupError::Exists(format!(
                "{} already exists",
                target.display()
            )));
        }
        if let Some(parent) = target.parent().filter(|p| !p.as_os_str().is_empty()) {
            std::fs::create_dir_all(parent).map_err(|source| BackupError::Io {
                path: parent.to_path_buf(),
                source,
            })?;
        }
        let lock = ServeLock::acquire(target).map_err(|e| match e {
            LockError::Held { .. } => BackupError::Serving { db: target.clone() },
            LockError::Io { path, source } => BackupError::Io { path, source },
        })?;
        embedded_plan = Some((file, target, lock));
    }
    let mut postgres_plan = None;
    if let (Some(file), Some(url)) = (dump, postgres) {
        let tool = PgTool::find("pg_restore", options.pg_restore.as_deref())?;
        let database = PostgresDatabase::connect(url).await?;
        tool.check_against(database.server_major_version().await?)?;
        let holds_a_hive = database
            .status(false)
            .await?
            .iter()
            .any(|s| !s.applied.is_empty() || !s.newer.is_empty());
        let name = database.name().to_string();
        database.close().await;
        if holds_a_hive && !options.force {
            return Err(BackupError::Exists(format!(
                "the Postgres database {name} already holds a hive"
            )));
        }
        postgres_plan = Some((file, url, tool, name));
    }

    let mut restored = Restored {
        manifest: manifest.clone(),
        db: None,
        postgres: None,
    };
    if let Some((file, target, _lock)) = embedded_plan {
        restore_file(&from.join(&file.name), &file.sha256, target).await?;
        restored.db = Some(target.clone());
    }
    if let Some((file, url, tool, name)) = postgres_plan {
        let args: Vec<OsString> = vec![
            "--clean".into(),
            "--if-exists".into(),
            // All or nothing: a failure leaves the database as it was.
            "--single-transaction".into(),
            // The restoring role (the URL's, the one the hive uses) owns
            // what it restores.
            "--no-owner".into(),
            from.join(&file.name).into_os_string(),
        ];
        tool.run(&args, url).await?;
        restored.postgres = Some(name);
    }
    Ok(restored)
}

/// The targets the options give, each matched with a store the backup
/// holds, or why they do not match.
fn match_targets<'a>(
    manifest: &Manifest,
    options: &'a RestoreOptions,
) -> Result<(Option<&'a PathBuf>, Option<&'a String>), BackupError> {
    let mut wrong = Vec::new();
    let embedded = manifest.file_of(Store::Embedded);
    let dump = manifest.file_of(Store::Postgres);
    match (embedded, &options.db) {
        (Some(file), None) => wrong.push(format!(
            "this backup holds the embedded file ({}): say where to restore it with --db PATH",
            file.name
        )),
        (None, Some(_)) => wrong.push("this backup holds no embedded file: drop --db".into()),
        _ => {}
    }
    match (dump, &options.postgres) {
        (Some(file), None) => wrong.push(format!(
            "this backup holds a Postgres dump ({}): say which database to restore it into \
             with --postgres URL",
            file.name
        )),
        (None, Some(_)) => {
            wrong.push("this backup holds no Postgres dump: drop --postgres".into());
        }
        _ => {}
    }
    if embedded.is_none() && dump.is_none() {
        wrong.push("this backup holds no store to restore".into());
    }
    if wrong.is_empty() {
        Ok((options.db.as_ref(), options.postgres.as_ref()))
    } else {
        Err(BackupError::Targets(wrong.join("; ")))
    }
}

/// Copies the verified `source` to a temporary name beside `target`,
/// checks the copy's hash and SQLite's integrity check, and renames it
/// over `target` (after removing the old file's `-wal` and `-shm`, which
/// would otherwise be replayed into the restored one).
async fn restore_file(source: &Path, sha256: &str, target: &Path) -> Result<(), BackupError> {
    let dir = match target.parent() {
        Some(parent) if !parent.as_os_str().is_empty() => parent.to_path_buf(),
        _ => PathBuf::from("."),
    };
    let io = |path: &Path| {
        let path = path.to_path_buf();
        move |source| BackupError::Io { path, source }
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let name = target
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| EMBEDDED_FILE.into());
    let temp = dir.join(format!(".{name}.restoring-{}", std::process::id()));
    let result = async {
        std::fs::copy(source, &temp).map_err(io(&temp))?;
        sync_file(&temp)?;
        let (_, copied) = manifest::digest(&temp)?;
        if copied != sha256 {
            return Err(BackupError::Damaged {
                file: source.to_path_buf(),
                why: "it changed while it was being restored".into(),
            });
        }
        let problems = EmbeddedFile::new(&temp).integrity_problems().await?;
        if !problems.is_empty() {
            return Err(BackupError::Integrity(problems.join("; ")));
        }
        for suffix in ["-wal", "-shm"] {
            let mut side = target.as_os_str().to_owned();
            side.push(suffix);
            match std::fs::remove_file(&side) {
                Err(e) if e.kind() != std::io::ErrorKind::NotFound => {
                    return Err(BackupError::Io {
                        path: side.into(),
                        source: e,
                    })
                }
                _ => {}
            }
        }
        std::fs::rename(&temp, target).map_err(io(target))?;
        sync_dir(&dir)
    }
    .await;
    if result.is_err() {
        for suffix in ["", "-wal", "-shm"] {
            let mut side = temp.as_os_str().to_owned();
            side.push(suffix);
            let _ = std::fs::remove_file(side);
        }
    }
    result
}

/// `flag` and `path` as one argument (`--file=/backups/postgres.dump`).
fn path_arg(flag: &str, path: &Path) -> OsString {
    let mut arg = OsString::from(flag);
    arg.push(path.as_os_str());
    arg
}

/// Makes a copy readable and writable by its owner only: it holds every
/// task's payload and result.
fn owner_only(path: &Path) -> Result<(), BackupError> {
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o600)).map_err(|source| {
        BackupError::Io {
            path: path.to_path_buf(),
            source,
        }
    })
}

/// Flushes a file's contents to disk.
fn sync_file(path: &Path) -> Result<(), BackupError> {
    std::fs::File::open(path)
        .and_then(|f| f.sync_all())
        .map_err(|source| BackupError::Io {
            path: path.to_path_buf(),
            source,
        })
}

/// Flushes a directory's entries (a rename into it) to disk.
fn sync_dir(dir: &Path) -> Result<(), BackupError> {
    sync_file(dir)
}
