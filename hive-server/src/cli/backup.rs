//! `hive backup --to DIR` and `hive restore --from DIR`: the command line
//! over [`crate::backup`]. A backup finds its stores as `hive serve` does
//! ([`super::stores`]) and runs beside a serving hive; a restore writes
//! only to the targets named on its command line.

use std::path::PathBuf;
use std::time::Instant;

use anyhow::Result;

use super::output::Out;
use super::stores::StoreArgs;
use crate::backup::manifest::{Manifest, Store};
use crate::backup::{self, BackupOptions, RestoreOptions};

/// `hive backup`'s flags.
#[derive(clap::Args, Debug)]
pub(crate) struct BackupArgs {
    /// The directory to write the backup into: new, or empty.
    #[arg(long, value_name = "DIR")]
    to: PathBuf,
    /// The pg_dump to run for a hive on Postgres (its major version at least
    /// the server's) [default: the first pg_dump on PATH].
    #[arg(long, value_name = "PATH", env = "HIVE_PG_DUMP")]
    pg_dump: Option<PathBuf>,
    /// Prints the manifest (JSON) instead of a summary.
    #[arg(long)]
    json: bool,
    // Last: its help heading would hold every flag after it.
    #[command(flatten)]
    stores: StoreArgs,
}

/// `hive restore`'s flags.
#[derive(clap::Args, Debug)]
pub(crate) struct RestoreArgs {
    /// The backup directory (with its manifest.json).
    #[arg(long, value_name = "DIR")]
    from: PathBuf,
    /// Where to write the embedded file, for a backup of an embedded hive.
    #[arg(long, value_name = "PATH")]
    db: Option<PathBuf>,
    /// The Postgres database to restore into, for a backup of a hive on
    /// Postgres (its password may instead come from PGPASSWORD).
    #[arg(long, value_name = "URL")]
    postgres: Option<String>,
    /// Replaces a target that exists (a file, or a database that already
    /// holds a hive).
    #[arg(long)]
    force: bool,
    /// The pg_restore to run (its major version at least the server's)
    /// [default: the first pg_restore on PATH].
    #[arg(long, value_name = "PATH", env = "HIVE_PG_RESTORE")]
    pg_restore: Option<PathBuf>,
}

/// Takes the backup and prints its summary, or its manifest.
pub(crate) async fn backup(args: BackupArgs) -> Result<()> {
    let resolved = args.stores.resolve(None)?;
    let options = BackupOptions {
        to: args.to,
        pg_dump: args.pg_dump,
    };
    let started = Instant::now();
    let manifest = backup::backup(&resolved.stores, &options).await?;
    let out = Out::new(args.json);
    if out.json {
        out.json_value(&serde_json::to_value(&manifest)?);
        return Ok(());
    }
    let took = started.elapsed().as_secs_f64();
    for file in &manifest.files {
        let source = match file.store {
            Store::Embedded => format!("the embedded file {}", resolved.stores.db.display()),
            Store::Postgres => "the Postgres database".to_string(),
        };
        out.line(&format!(
            "backed up {source} to {} ({} bytes, sha256 {}) in {took:.2} s",
            options.to.join(&file.name).display(),
            file.bytes,
            file.sha256
        ));
    }
    out.line(&format!("schema: {}", schema_summary(&manifest)));
    if let Some(note) = &manifest.redis {
        out.line(&format!("Redis: {note}"));
    }
    out.line(&format!(
        "manifest: {}",
        options.to.join(backup::manifest::MANIFEST).display()
    ));
    Ok(())
}

/// Verifies the backup, restores it and says what it did.
pub(crate) async fn restore(args: RestoreArgs) -> Result<()> {
    let options = RestoreOptions {
        from: args.from,
        db: args.db,
        postgres: args.postgres,
        force: args.force,
        pg_restore: args.pg_restore,
    };
    let restored = backup::restore(&options).await?;
    let out = Out::new(false);
    let manifest = &restored.manifest;
    out.line(&format!(
        "verified {} file(s) of the backup taken {} by Agent Hive {} (schema: {})",
        manifest.files.len(),
        manifest.created_at.format("%Y-%m-%d %H:%M:%S UTC"),
        manifest.hive_version,
        schema_summary(manifest)
    ));
    if let Some(db) = &restored.db {
        out.line(&format!(
            "restored the embedded file to {} (integrity check ok)",
            db.display()
        ));
    }
    if let Some(name) = &restored.postgres {
        out.line(&format!("restored the Postgres database {name}"));
    }
    if let Some(note) = &manifest.redis {
        out.line(&format!("Redis: {note}"));
    }
    Ok(())
}

/// `embedded 1–8` or `postgres 1–5, postgres_context 1001`.
fn schema_summary(manifest: &Manifest) -> String {
    let sets: Vec<String> = manifest
        .schema
        .iter()
        .map(
            |(set, versions)| match (versions.first(), versions.last()) {
                (Some(first), Some(last)) if first == last => format!("{set} {first}"),
                (Some(first), Some(last)) => format!("{set} {first}–{last}"),
                _ => format!("{set} none"),
            },
        )
        .collect();
    if sets.is_empty() {
        "none".into()
    } else {
        sets.join(", ")
    }
}
