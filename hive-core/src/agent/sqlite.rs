//! The embedded agent registry: one table in the SQLite file the queue, the
//! broker and the context store use. A partial unique index on the names of
//! live agents makes "one live agent per name" hold across processes.

use std::collections::BTreeSet;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::sqlite::{SqlitePool, SqliteRow};
use sqlx::{QueryBuilder, Row as _, Sqlite};

use super::record::{AgentFilter, AgentId, AgentRecord, AgentSpec, AgentStatus, Liveness};
use super::registry::{refusal, AgentRegistry};
use crate::error::{Error, Result};
use crate::storage::sqlite::{open_pools, Durability, Pools};
use crate::time::{duration_ms, from_ms, now_ms};

const BACKEND: &str = "sqlite";

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed registry.
const READERS: u32 = 2;

fn db_err(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

/// The embedded agent registry.
#[derive(Debug, Clone)]
pub struct SqliteAgentRegistry {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteAgentRegistry {
    /// Opens (creating if needed) the registry in the SQLite database at
    /// `url` (`sqlite://path/to/hive.db` or `sqlite::memory:`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::Backend`] when the
    /// file cannot be opened or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let Pools { writer, reader } =
            open_pools(url, Durability::Full, BUSY_TIMEOUT, READERS).await?;
        Ok(SqliteAgentRegistry { writer, reader })
    }
}

fn record(r: &SqliteRow) -> Result<AgentRecord> {
    let id: String = r.try_get("id").map_err(db_err)?;
    let capabilities: String = r.try_get("capabilities").map_err(db_err)?;
    let metadata: String = r.try_get("metadata").map_err(db_err)?;
    let status: String = r.try_get("status").map_err(db_err)?;
    let load: i64 = r.try_get("load").map_err(db_err)?;
    let corrupt = |what: &str, e: &dyn std::fmt::Display| {
        Error::backend(BACKEND, format!("stored agent {what}: {e}"))
    };
    Ok(AgentRecord {
        id: id.parse().map_err(|e| corrupt("id", &e))?,
        name: r.try_get("name").map_err(db_err)?,
        kind: r.try_get("kind").map_err(db_err)?,
        capabilities: serde_json::from_str::<BTreeSet<String>>(&capabilities)
            .map_err(|e| corrupt("capabilities", &e))?,
        status: status.parse().map_err(|e| corrupt("status", &e))?,
        load: u32::try_from(load).unwrap_or(u32::MAX),
        metadata: serde_json::from_str(&metadata).map_err(|e| corrupt("metadata", &e))?,
        created_at: from_ms(r.try_get("created_at").map_err(db_err)?),
        last_heartbeat: from_ms(r.try_get("last_heartbeat").map_err(db_err)?),
    })
}

#[async_trait]
impl AgentRegistry for SqliteAgentRegistry {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn register(&self, spec: AgentSpec) -> Result<AgentRecord> {
        spec.check()?;
        let now = now_ms();
        let capabilities = serde_json::to_string(&spec.capabilities)
            .map_err(|e| Error::invalid(format!("capabilities: {e}")))?;
        let row = sqlx::query(include_str!("sql/sqlite/insert.sql"))
            .bind(AgentId::new().to_string())
            .bind(&spec.name)
            .bind(&spec.kind)
            .bind(capabilities)
            .bind(spec.metadata.to_string())
            .bind(now)
            .bind(now)
            .fetch_one(&self.writer)
            .await
            .map_err(|e| match e.as_database_error() {
                Some(db) if db.is_unique_violation() => {
                    Error::conflict(format!("a live agent is already named {:?}", spec.name))
                }
                _ => db_err(e),
            })?;
        record(&row)
    }

    async fn get(&self, id: AgentId) -> Result<AgentRecord> {
        let row = sqlx::query(include_str!("sql/sqlite/get.sql"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found("agent", id))?;
        record(&row)
    }

    async fn list(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        let mut qb = QueryBuilder::<Sqlite>::new(
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
            qb.push(" AND kind = ").push_bind(kind.clone());
        }
        qb.push(" ORDER BY name, created_at, id");
        let rows = qb.build().fetch_all(&self.reader).await.map_err(db_err)?;
        let mut out = Vec::with_capacity(rows.len());
        for row in &rows {
            let r = record(row)?;
            // Capabilities are a JSON array: filtered here, not in SQL.
            if filter.matches(&r) {
                out.push(r);
            }
        }
        Ok(out)
    }

    async fn heartbeat(&self, id: AgentId, load: u32) -> Result<AgentRecord> {
        let row = sqlx::query(include_str!("sql/sqlite/heartbeat.sql"))
            .bind(now_ms())
            .bind(i64::from(load))
            .bind(id.to_string())
            .fetch_optional(&self.writer)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => record(&row),
            None => Err(refusal(self, id, "it must register again").await),
        }
    }

    async fn set_status(&self, id: AgentId, status: AgentStatus) -> Result<AgentRecord> {
        let row = sqlx::query(include_str!("sql/sqlite/set_status.sql"))
            .bind(status.as_str())
            .bind(id.to_string())
            .fetch_optional(&self.writer)
            .await
            .map_err(|e| match e.as_database_error() {
                Some(db) if db.is_unique_violation() => {
                    Error::conflict("another live agent holds its name")
                }
                _ => db_err(e),
            })?;
        match row {
            Some(row) => record(&row),
            None => Err(refusal(self, id, &format!("it cannot become {status}")).await),
        }
    }

    async fn sweep(&self, now: DateTime<Utc>, liveness: &Liveness) -> Result<Vec<AgentRecord>> {
        liveness.check()?;
        let at = now.timestamp_millis();
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let mut changed = Vec::new();
        for (sql, after) in [
            (
                include_str!("sql/sqlite/sweep_dead.sql"),
                liveness.dead_after,
            ),
            (
                include_str!("sql/sqlite/sweep_unhealthy.sql"),
                liveness.unhealthy_after,
            ),
        ] {
            let rows = sqlx::query(sql)
                .bind(at.saturating_sub(duration_ms(after)))
                .fetch_all(&mut *tx)
                .await
                .map_err(db_err)?;
            for row in &rows {
                changed.push(record(row)?);
            }
        }
        tx.commit().await.map_err(db_err)?;
        Ok(changed)
    }
}
