//! `hive migrate [--dry-run]`: where each store's schema stands — the
//! embedded file's, or Postgres's shared schema and the context store's —
//! and bringing it up to date, as `hive serve` would at start but without
//! serving. Idempotent: a second run finds nothing pending. A database
//! written by a newer Agent Hive is refused, in both modes, and left as it
//! was.

use anyhow::Result;
use serde_json::json;

use hive_core::storage::schema::{Migration, SchemaStatus};
use hive_core::storage::{EmbeddedFile, PostgresDatabase};

use super::output::{Out, Table};
use super::stores::StoreArgs;

/// `hive migrate`'s flags.
#[derive(clap::Args, Debug)]
pub(crate) struct MigrateArgs {
    /// Lists what is applied and pending, and applies nothing.
    #[arg(long)]
    dry_run: bool,
    /// Leaves the context store's schema alone, as `hive serve
    /// --no-context` does (a Postgres without pgvector) [default: false].
    #[arg(long, env = "HIVE_NO_CONTEXT", num_args = 0..=1, default_missing_value = "true")]
    no_context: Option<bool>,
    /// Prints JSON instead of a table, for scripts.
    #[arg(long)]
    json: bool,
    // Last: its help heading would hold every flag after it.
    #[command(flatten)]
    stores: StoreArgs,
}

/// The database a run works on.
enum Database {
    Embedded(EmbeddedFile),
    Postgres(PostgresDatabase),
}

impl Database {
    /// How messages name it.
    fn label(&self) -> String {
        match self {
            Database::Embedded(file) => file.path().display().to_string(),
            Database::Postgres(db) => format!("the Postgres database {}", db.name()),
        }
    }
}

/// Lists, then applies unless `--dry-run`.
pub(crate) async fn run(args: MigrateArgs) -> Result<()> {
    let resolved = args.stores.resolve(args.no_context)?;
    let context = !resolved.no_context;
    let database = match &resolved.stores.postgres {
        Some(url) => Database::Postgres(PostgresDatabase::connect(url).await?),
        None => Database::Embedded(EmbeddedFile::new(&resolved.stores.db)),
    };
    let label = database.label();
    let statuses = match &database {
        Database::Embedded(file) => vec![file.status().await?],
        Database::Postgres(db) => db.status(context).await?,
    };
    for status in &statuses {
        status.refuse_newer(&label)?;
    }
    let pending: usize = statuses.iter().map(|s| s.pending.len()).sum();
    let applied: Vec<Migration> = if args.dry_run || pending == 0 {
        Vec::new()
    } else {
        match &database {
            Database::Embedded(file) => file.migrate().await?,
            Database::Postgres(db) => db.migrate(context).await?,
        }
    };
    if let Database::Postgres(db) = &database {
        db.close().await;
    }

    let out = Out::new(args.json);
    if out.json {
        out.json_value(&json!({
            "store": label,
            "dry_run": args.dry_run,
            "schemas": statuses,
            "applied": applied,
        }));
        return Ok(());
    }
    out.line(&format!("{label}:"));
    out.table(&listing(&statuses, &applied));
    out.line(&if pending == 0 {
        "nothing pending: the schema is up to date".to_string()
    } else if args.dry_run {
        format!("{pending} pending (dry run: nothing applied)")
    } else {
        let versions: Vec<String> = applied.iter().map(|m| m.version.to_string()).collect();
        format!(
            "applied {} migration(s): {}",
            applied.len(),
            versions.join(", ")
        )
    });
    Ok(())
}

/// One row per migration of each set: applied before, applied by this
/// run (`applied now`), or pending.
fn listing(statuses: &[SchemaStatus], now: &[Migration]) -> Table {
    let mut table = Table::new(&["SCHEMA", "VERSION", "MIGRATION", "STATUS"]);
    for status in statuses {
        let rows = status
            .applied
            .iter()
            .map(|m| (m, "applied"))
            .chain(status.pending.iter().map(|m| {
                (
                    m,
                    if now.contains(m) {
                        "applied now"
                    } else {
                        "pending"
                    },
                )
            }));
        for (migration, state) in rows {
            table.row(vec![
                status.set.name().to_string(),
                migration.version.to_string(),
                migration.description.clone(),
                state.to_string(),
            ]);
        }
    }
    table
}
