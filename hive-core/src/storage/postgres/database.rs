//! A Postgres database as a whole, for an operator's tools rather than a
//! store: where its two schema sets stand, bringing them up to date, and
//! the server's version (which `pg_dump` must not be older than).

use std::str::FromStr;
use std::time::Duration;

use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::ConnectOptions;

use super::{applied, db_err, store_name, tolerant, CONTEXT_MIGRATOR, MIGRATOR, SETS};
use crate::error::{Error, Result};
use crate::storage::schema::{self, Migration, SchemaSet, SchemaStatus};

/// How long connecting may take, and a migration may wait for another
/// process's migration lock.
const TIMEOUT: Duration = Duration::from_secs(30);

/// One Postgres database, for backups and migrations.
///
/// ```no_run
/// use hive_core::storage::PostgresDatabase;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> hive_core::Result<()> {
/// let db = PostgresDatabase::connect("postgres://hive@localhost/hive").await?;
/// for status in db.status(true).await? {
///     println!("{}: {} pending", status.set, status.pending.len());
/// }
/// db.migrate(true).await?;
/// # Ok(())
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct PostgresDatabase {
    pool: PgPool,
    name: String,
}

impl PostgresDatabase {
    /// Connects to the database at `url`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::Backend`] when it
    /// cannot be reached within 30 s.
    pub async fn connect(url: &str) -> Result<Self> {
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| Error::invalid(format!("bad postgres URL: {e}")))?
            .application_name("agent-hive")
            .disable_statement_logging();
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(TIMEOUT)
            .connect_with(options)
            .await
            .map_err(db_err)?;
        let name: String = sqlx::query_scalar(include_str!("sql/current_database.sql"))
            .fetch_one(&pool)
            .await
            .map_err(db_err)?;
        Ok(PostgresDatabase { pool, name })
    }

    /// The database's name on its server.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server's major version (16 for 16.4).
    ///
    /// # Errors
    /// [`Error::Backend`] when the server does not answer.
    pub async fn server_major_version(&self) -> Result<u32> {
        let number: i32 = sqlx::query_scalar(include_str!("sql/server_version.sql"))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(u32::try_from(number / 10_000).unwrap_or_default())
    }

    /// Whether the server can create the `vector` extension the context
    /// store needs.
    ///
    /// # Errors
    /// [`Error::Backend`] when the server does not answer.
    pub async fn vector_available(&self) -> Result<bool> {
        sqlx::query_scalar(include_str!("sql/vector_available.sql"))
            .fetch_one(&self.pool)
            .await
            .map_err(db_err)
    }

    /// Where the database stands against each set this build would apply:
    /// the shared schema always; the context store's when `context` is
    /// asked for and `vector` is available, or when it has applied some of
    /// it already.
    ///
    /// # Errors
    /// [`Error::Backend`] when the database cannot be read.
    pub async fn status(&self, context: bool) -> Result<Vec<SchemaStatus>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let applied = applied(&mut conn).await?;
        drop(conn);
        let context_status = SchemaStatus::of(SchemaSet::PostgresContext, &applied);
        let with_context = !context_status.applied.is_empty()
            || !context_status.newer.is_empty()
            || (context && self.vector_available().await?);
        let mut statuses = vec![SchemaStatus::of(SchemaSet::Postgres, &applied)];
        if with_context {
            statuses.push(context_status);
        }
        Ok(statuses)
    }

    /// Applies what [`status`](Self::status) lists as pending; answers
    /// what it applied (none when the database was up to date).
    ///
    /// # Errors
    /// [`Error::NewerSchema`] for a database a newer build wrote, which is
    /// left as it was; [`Error::Backend`] when it cannot be reached or
    /// migrated.
    pub async fn migrate(&self, context: bool) -> Result<Vec<Migration>> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        let applied = applied(&mut conn).await?;
        schema::refuse_newer(&store_name(&self.name), &SETS, &applied)?;
        drop(conn);
        let mut done = Vec::new();
        for status in self.status(context).await? {
            if status.pending.is_empty() {
                continue;
            }
            let migrator = match status.set {
                SchemaSet::PostgresContext => tolerant(&CONTEXT_MIGRATOR),
                _ => tolerant(&MIGRATOR),
            };
            migrator.run(&self.pool).await.map_err(db_err)?;
            done.extend(status.pending);
        }
        Ok(done)
    }

    /// Closes the connection.
    pub async fn close(&self) {
        self.pool.close().await;
    }
}
