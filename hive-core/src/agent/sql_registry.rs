//! The agent registry over SQL, written once for both engines: the same
//! statements (`sql/*.sql`), the same row and the same decoding, whether
//! the table is in the embedded SQLite file or in Postgres. What differs
//! between the two is one line of [`Dialect`], and each backend module keeps
//! only how it opens its database.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::Value;
use sqlx::types::Json;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Type};

use super::record::{AgentFilter, AgentId, AgentRecord, AgentSpec, AgentStatus, Liveness};
use super::registry::{refusal, AgentRegistry};
use crate::error::{Error, Result};
use crate::storage::sql::{SqlEngine, SqlUuid, TextList};
use crate::time::{duration_ms, from_ms, now_ms};

/// What the registry's SQL says differently on each engine.
pub(super) trait Dialect: SqlEngine {
    /// The clause that keeps agents holding every capability of a bound
    /// list, where the engine can index that (Postgres: `@>` on a GIN
    /// index). `None` (SQLite, which keeps them as a JSON array) leaves it
    /// to the check in Rust that every listing passes through.
    const HOLDS_ALL: Option<&'static str>;
}

/// The agent registry on a SQL engine: [`SqliteAgentRegistry`] or
/// [`PostgresAgentRegistry`].
///
/// [`SqliteAgentRegistry`]: super::sqlite::SqliteAgentRegistry
/// [`PostgresAgentRegistry`]: super::postgres::PostgresAgentRegistry
#[derive(Debug, Clone)]
pub struct SqlAgentRegistry<DB: Database> {
    /// Where writes go; on Postgres the same pool as `reader`.
    writer: Pool<DB>,
    reader: Pool<DB>,
}

impl<DB: Database> SqlAgentRegistry<DB> {
    /// A registry on tables already migrated.
    pub(super) fn new(writer: Pool<DB>, reader: Pool<DB>) -> Self {
        SqlAgentRegistry { writer, reader }
    }
}

/// One agent as every statement returns it.
#[derive(FromRow)]
struct AgentRow {
    id: SqlUuid,
    name: String,
    kind: String,
    capabilities: TextList,
    status: String,
    load: i64,
    metadata: Json<Value>,
    created_at: i64,
    last_heartbeat: i64,
}

impl AgentRow {
    fn decode(self, backend: &'static str) -> Result<AgentRecord> {
        Ok(AgentRecord {
            id: AgentId(self.id.0),
            name: self.name,
            kind: self.kind,
            capabilities: self.capabilities.0.into_iter().collect(),
            status: self
                .status
                .parse()
                .map_err(|e: Error| Error::backend(backend, format!("stored agent status: {e}")))?,
            load: u32::try_from(self.load).unwrap_or(u32::MAX),
            metadata: self.metadata.0,
            created_at: from_ms(self.created_at),
            last_heartbeat: from_ms(self.last_heartbeat),
        })
    }
}

/// A driver error, or [`Error::Conflict`] saying `msg` when it is a broken
/// unique index (the one on live names).
fn unique_or<DB: SqlEngine>(e: sqlx::Error, msg: impl FnOnce() -> String) -> Error {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => Error::conflict(msg()),
        _ => DB::db_err(e),
    }
}

// The bounds spell out, for a generic engine, what sqlx gives both: a
// connection that runs statements, and the types bound and read.
#[async_trait]
impl<DB> AgentRegistry for SqlAgentRegistry<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> SqlUuid: Encode<'q, DB> + Type<DB>,
    for<'q> TextList: Encode<'q, DB> + Type<DB>,
    for<'q> Json<&'q Value>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> AgentRow: FromRow<'r, DB::Row>,
{
    fn backend(&self) -> &'static str {
        DB::BACKEND
    }

    async fn register(&self, spec: AgentSpec) -> Result<AgentRecord> {
        spec.check()?;
        let row: AgentRow = sqlx::query_as(include_str!("sql/insert.sql"))
            .bind(SqlUuid(AgentId::new().0))
            .bind(spec.name.as_str())
            .bind(spec.kind.as_str())
            .bind(TextList(spec.capabilities.iter().cloned().collect()))
            .bind(Json(&spec.metadata))
            .bind(now_ms())
            .fetch_one(&self.writer)
            .await
            .map_err(|e| {
                unique_or::<DB>(e, || {
                    format!("a live agent is already named {:?}", spec.name)
                })
            })?;
        row.decode(DB::BACKEND)
    }

    async fn get(&self, id: AgentId) -> Result<AgentRecord> {
        let row: Option<AgentRow> = sqlx::query_as(include_str!("sql/get.sql"))
            .bind(SqlUuid(id.0))
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_err)?;
        row.ok_or_else(|| Error::not_found("agent", id))?
            .decode(DB::BACKEND)
    }

    async fn list(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        let mut qb = QueryBuilder::<DB>::new(
            "SELECT id, name, kind, capabilities, status, load, metadata, created_at, \
             last_heartbeat FROM agents WHERE 1 = 1",
        );
        if !filter.statuses.is_empty() {
            qb.push(" AND status IN (");
            let mut list = qb.separated(", ");
            for s in &filter.statuses {
                list.push_bind(s.as_str());
            }
            qb.push(")");
        }
        if let Some(kind) = &filter.kind {
            qb.push(" AND kind = ").push_bind(kind.as_str());
        }
        if let (Some(holds_all), false) = (DB::HOLDS_ALL, filter.capabilities.is_empty()) {
            let caps = TextList(filter.capabilities.iter().cloned().collect());
            qb.push(holds_all).push_bind(caps);
        }
        qb.push(" ORDER BY name, created_at, id");
        let rows: Vec<AgentRow> = DB::fetch_built(&mut qb, &self.reader)
            .await
            .map_err(DB::db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in rows {
            let r = row.decode(DB::BACKEND)?;
            // What SQL could not filter (SQLite's capabilities) is filtered
            // here; for the rest this repeats what SQL already did.
            if filter.matches(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn heartbeat(&self, id: AgentId, load: u32) -> Result<AgentRecord> {
        let row: Option<AgentRow> = sqlx::query_as(include_str!("sql/heartbeat.sql"))
            .bind(now_ms())
            .bind(i64::from(load))
            .bind(SqlUuid(id.0))
            .fetch_optional(&self.writer)
            .await
            .map_err(DB::db_err)?;
        match row {
            Some(row) => row.decode(DB::BACKEND),
            None => Err(refusal(self, id, "it must register again").await),
        }
    }

    async fn set_status(&self, id: AgentId, status: AgentStatus) -> Result<AgentRecord> {
        let row: Option<AgentRow> = sqlx::query_as(include_str!("sql/set_status.sql"))
            .bind(status.as_str())
            .bind(SqlUuid(id.0))
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| unique_or::<DB>(e, || "another live agent holds its name".into()))?;
        match row {
            Some(row) => row.decode(DB::BACKEND),
            None => Err(refusal(self, id, &format!("it cannot become {status}")).await),
        }
    }

    async fn sweep(&self, now: DateTime<Utc>, liveness: &Liveness) -> Result<Vec<AgentRecord>> {
        liveness.check()?;
        let at = now.timestamp_millis();
        let mut tx = self.writer.begin().await.map_err(DB::db_err)?;
        let mut changed = Vec::new();
        for (sql, after) in [
            (include_str!("sql/sweep_dead.sql"), liveness.dead_after),
            (
                include_str!("sql/sweep_unhealthy.sql"),
                liveness.unhealthy_after,
            ),
        ] {
            let rows: Vec<AgentRow> = sqlx::query_as(sql)
                .bind(at.saturating_sub(duration_ms(after)))
                .fetch_all(&mut *tx)
                .await
                .map_err(DB::db_err)?;
            for row in rows {
                changed.push(row.decode(DB::BACKEND)?);
            }
        }
        tx.commit().await.map_err(DB::db_err)?;
        Ok(changed)
    }
}
