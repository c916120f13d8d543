//! The distributed agent registry: one table in Postgres, shared by every
//! process and machine of the fleet. Capabilities are a `TEXT[]`, so "holds
//! all of these" is `capabilities @> $1` on a GIN index; a partial unique
//! index on live names keeps one live agent per name.

use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::postgres::{PgPool, PgRow};
use sqlx::{Postgres, QueryBuilder, Row as _};

use super::record::{AgentFilter, AgentId, AgentRecord, AgentSpec, AgentStatus, Liveness};
use super::registry::{refusal, AgentRegistry};
use crate::error::{Error, Result};
use crate::time::{duration_ms, from_ms, now_ms};

const BACKEND: &str = "postgres";

/// Connections [`PostgresAgentRegistry::open`] allows its pool.
const MAX_CONNECTIONS: u32 = 5;

/// How long a call may wait for a connection.
const TIMEOUT: Duration = Duration::from_secs(10);

fn db_err(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

fn unique_or(e: sqlx::Error, msg: impl FnOnce() -> String) -> Error {
    match e.as_database_error() {
        Some(db) if db.is_unique_violation() => Error::conflict(msg()),
        _ => db_err(e),
    }
}

/// The agent registry on Postgres.
#[derive(Debug, Clone)]
pub struct PostgresAgentRegistry {
    pool: PgPool,
}

impl PostgresAgentRegistry {
    /// Connects to the database at `url` and brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::Backend`] when the
    /// database cannot be reached or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let pool = crate::storage::postgres::lazy_pool(url, MAX_CONNECTIONS, TIMEOUT)?;
        Self::connect(pool).await
    }

    /// Uses an existing pool (shared with the queue, or one whose
    /// connections set a `search_path`) and brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::Backend`] when the database cannot be reached or migrated.
    pub async fn connect(pool: PgPool) -> Result<Self> {
        crate::storage::postgres::migrate(&pool).await?;
        Ok(PostgresAgentRegistry { pool })
    }
}

fn record(r: &PgRow) -> Result<AgentRecord> {
    let status: String = r.try_get("status").map_err(db_err)?;
    let load: i64 = r.try_get("load").map_err(db_err)?;
    let capabilities: Vec<String> = r.try_get("capabilities").map_err(db_err)?;
    Ok(AgentRecord {
        id: AgentId(r.try_get("id").map_err(db_err)?),
        name: r.try_get("name").map_err(db_err)?,
        kind: r.try_get("kind").map_err(db_err)?,
        capabilities: capabilities.into_iter().collect(),
        status: status
            .parse()
            .map_err(|e: Error| Error::backend(BACKEND, format!("stored agent status: {e}")))?,
        load: u32::try_from(load).unwrap_or(u32::MAX),
        metadata: r.try_get("metadata").map_err(db_err)?,
        created_at: from_ms(r.try_get("created_at").map_err(db_err)?),
        last_heartbeat: from_ms(r.try_get("last_heartbeat").map_err(db_err)?),
    })
}

#[async_trait]
impl AgentRegistry for PostgresAgentRegistry {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn register(&self, spec: AgentSpec) -> Result<AgentRecord> {
        spec.check()?;
        let row = sqlx::query(include_str!("sql/postgres/insert.sql"))
            .bind(AgentId::new().0)
            .bind(&spec.name)
            .bind(&spec.kind)
            .bind(spec.capabilities.iter().cloned().collect::<Vec<_>>())
            .bind(spec.metadata.to_string())
            .bind(now_ms())
            .fetch_one(&self.pool)
            .await
            .map_err(|e| {
                unique_or(e, || {
                    format!("a live agent is already named {:?}", spec.name)
                })
            })?;
        record(&row)
    }

    async fn get(&self, id: AgentId) -> Result<AgentRecord> {
        let row = sqlx::query(include_str!("sql/postgres/get.sql"))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?
            .ok_or_else(|| Error::not_found("agent", id))?;
        record(&row)
    }

    async fn list(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        let mut qb = QueryBuilder::<Postgres>::new(
            "SELECT id, name, kind, capabilities, status, load, metadata, created_at, \
             last_heartbeat FROM agents WHERE true",
        );
        if !filter.statuses.is_empty() {
            let statuses: Vec<&str> = filter.statuses.iter().map(|s| s.as_str()).collect();
            qb.push(" AND status = ANY(").push_bind(statuses).push(")");
        }
        if let Some(kind) = &filter.kind {
            qb.push(" AND kind = ").push_bind(kind.clone());
        }
        if !filter.capabilities.is_empty() {
            let caps: Vec<String> = filter.capabilities.iter().cloned().collect();
            qb.push(" AND capabilities @> ").push_bind(caps);
        }
        qb.push(" ORDER BY name, created_at, id");
        qb.build()
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(record)
            .collect()
    }

    async fn heartbeat(&self, id: AgentId, load: u32) -> Result<AgentRecord> {
        let row = sqlx::query(include_str!("sql/postgres/heartbeat.sql"))
            .bind(now_ms())
            .bind(i64::from(load))
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(db_err)?;
        match row {
            Some(row) => record(&row),
            None => Err(refusal(self, id, "it must register again").await),
        }
    }

    async fn set_status(&self, id: AgentId, status: AgentStatus) -> Result<AgentRecord> {
        let row = sqlx::query(include_str!("sql/postgres/set_status.sql"))
            .bind(status.as_str())
            .bind(id.0)
            .fetch_optional(&self.pool)
            .await
            .map_err(|e| unique_or(e, || "another live agent holds its name".into()))?;
        match row {
            Some(row) => record(&row),
            None => Err(refusal(self, id, &format!("it cannot become {status}")).await),
        }
    }

    async fn sweep(&self, now: DateTime<Utc>, liveness: &Liveness) -> Result<Vec<AgentRecord>> {
        liveness.check()?;
        let at = now.timestamp_millis();
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let mut changed = Vec::new();
        for (sql, after) in [
            (
                include_str!("sql/postgres/sweep_dead.sql"),
                liveness.dead_after,
            ),
            (
                include_str!("sql/postgres/sweep_unhealthy.sql"),
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
