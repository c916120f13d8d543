//! The distributed session store: three tables in Postgres, shared by every
//! process and machine of the fleet. Every write to a session is one
//! transaction whose first statement updates the session's row: that row
//! lock makes concurrent writers of one session take turns, so seqs and
//! join positions handed out from its counters are gap-free, and a write
//! that is refused rolls its number back.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::postgres::{PgArguments, PgConnection, PgPool, PgRow};
use sqlx::query::Query;
use sqlx::{Postgres, Row as _};

use super::conversation::{ConversationEntry, ConversationEntryId, Utterance};
use super::record::{check_state, NewSession, Session, SessionId, SessionStatus};
use super::store::{check_speakers, duplicate_member, refusal, sql_limit, sql_seq, SessionStore};
use crate::error::{Error, Result};
use crate::names::check_label;
use crate::time::{from_ms, now_ms, opt_from_ms};

const BACKEND: &str = "postgres";

/// Connections [`PostgresSessionStore::open`] allows its pool.
const MAX_CONNECTIONS: u32 = 5;

/// How long a call may wait for a connection.
const TIMEOUT: Duration = Duration::from_secs(10);

fn db_err(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

/// The session store on Postgres.
#[derive(Debug, Clone)]
pub struct PostgresSessionStore {
    pool: PgPool,
}

impl PostgresSessionStore {
    /// Connects to the database at `url` and brings the schema up to date.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::Backend`] when the
    /// database cannot be reached or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let pool = crate::storage::postgres::lazy_pool(url, MAX_CONNECTIONS, TIMEOUT)?;
        Self::connect(pool).await
    }

    /// Uses an existing pool (shared with the queue or the registry, or one
    /// whose connections set a `search_path`) and brings the schema up to
    /// date.
    ///
    /// # Errors
    /// [`Error::Backend`] when the database cannot be reached or migrated.
    pub async fn connect(pool: PgPool) -> Result<Self> {
        crate::storage::postgres::migrate(&pool).await?;
        Ok(PostgresSessionStore { pool })
    }
}

fn session(r: &PgRow) -> Result<Session> {
    let status: String = r.try_get("status").map_err(db_err)?;
    Ok(Session {
        id: SessionId(r.try_get("id").map_err(db_err)?),
        name: r.try_get("name").map_err(db_err)?,
        agents: r.try_get("agents").map_err(db_err)?,
        status: status
            .parse()
            .map_err(|e: Error| Error::backend(BACKEND, format!("stored session status: {e}")))?,
        state: r.try_get("state").map_err(db_err)?,
        created_at: from_ms(r.try_get("created_at").map_err(db_err)?),
        closed_at: opt_from_ms(r.try_get("closed_at").map_err(db_err)?),
    })
}

fn entry(r: &PgRow) -> Result<ConversationEntry> {
    let seq: i64 = r.try_get("seq").map_err(db_err)?;
    Ok(ConversationEntry {
        id: ConversationEntryId(r.try_get("id").map_err(db_err)?),
        session: SessionId(r.try_get("session_id").map_err(db_err)?),
        seq: u64::try_from(seq)
            .map_err(|e| Error::backend(BACKEND, format!("stored entry seq: {e}")))?,
        from_agent: r.try_get("from_agent").map_err(db_err)?,
        to_agent: r.try_get("to_agent").map_err(db_err)?,
        content: r.try_get("content").map_err(db_err)?,
        at: from_ms(r.try_get("at_ms").map_err(db_err)?),
    })
}

/// Session `id` as `conn` sees it (inside a write, what the write made).
async fn load(conn: &mut PgConnection, id: SessionId) -> Result<Session> {
    let row = sqlx::query(include_str!("sql/postgres/get.sql"))
        .bind(id.0)
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found("session", id))?;
    session(&row)
}

impl PostgresSessionStore {
    /// Runs `update` (an `UPDATE` of an open session's row, bound) and
    /// answers the session as it left it; a closed or unknown session is
    /// [`refusal`] saying `what` cannot happen.
    async fn update_open(
        &self,
        id: SessionId,
        update: Query<'_, Postgres, PgArguments>,
        what: &str,
    ) -> Result<Session> {
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let hit = update.fetch_optional(&mut *tx).await.map_err(db_err)?;
        if hit.is_none() {
            tx.rollback().await.map_err(db_err)?;
            return Err(refusal(self, id, what).await);
        }
        let s = load(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(s)
    }
}

#[async_trait]
impl SessionStore for PostgresSessionStore {
    async fn create(&self, new: NewSession) -> Result<Session> {
        new.check()?;
        let id = SessionId::new();
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        sqlx::query(include_str!("sql/postgres/insert.sql"))
            .bind(id.0)
            .bind(&new.name)
            .bind(new.state.to_string())
            .bind(now_ms())
            .bind(i64::try_from(new.agents.len()).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(include_str!("sql/postgres/insert_agents.sql"))
            .bind(id.0)
            .bind(&new.agents)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let s = load(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(s)
    }

    async fn get(&self, id: SessionId) -> Result<Session> {
        let mut conn = self.pool.acquire().await.map_err(db_err)?;
        load(&mut conn, id).await
    }

    async fn list(&self, status: Option<SessionStatus>, limit: usize) -> Result<Vec<Session>> {
        let limit = sql_limit(limit)?;
        sqlx::query(include_str!("sql/postgres/list.sql"))
            .bind(status.map(SessionStatus::as_str))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?
            .iter()
            .map(session)
            .collect()
    }

    async fn join(&self, id: SessionId, agent: &str) -> Result<Session> {
        check_label("agent name", agent)?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let position: Option<i64> =
            sqlx::query_scalar(include_str!("sql/postgres/next_position.sql"))
                .bind(id.0)
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let Some(position) = position else {
            tx.rollback().await.map_err(db_err)?;
            return Err(refusal(self, id, "no agent can join it").await);
        };
        sqlx::query(include_str!("sql/postgres/add_agent.sql"))
            .bind(id.0)
            .bind(position)
            .bind(agent)
            .execute(&mut *tx)
            .await
            .map_err(|e| match e.as_database_error() {
                Some(db) if db.is_unique_violation() => duplicate_member(id, agent),
                _ => db_err(e),
            })?;
        let s = load(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(s)
    }

    async fn set_state(&self, id: SessionId, state: Value) -> Result<Session> {
        check_state(&state)?;
        let update = sqlx::query(include_str!("sql/postgres/set_state.sql"))
            .bind(state.to_string())
            .bind(id.0);
        self.update_open(id, update, "its state cannot change")
            .await
    }

    async fn record(&self, id: SessionId, utterance: Utterance) -> Result<ConversationEntry> {
        let content = utterance.prepare()?;
        let mut tx = self.pool.begin().await.map_err(db_err)?;
        let seq: Option<i64> = sqlx::query_scalar(include_str!("sql/postgres/next_seq.sql"))
            .bind(id.0)
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let Some(seq) = seq else {
            tx.rollback().await.map_err(db_err)?;
            return Err(refusal(self, id, "nothing more can be said in it").await);
        };
        let members: Vec<String> = sqlx::query_scalar(include_str!("sql/postgres/members.sql"))
            .bind(id.0)
            .bind(&utterance.from_agent)
            .bind(utterance.to_agent.as_deref())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        // Dropping the transaction on a refusal rolls the seq back.
        check_speakers(id, &utterance, &members)?;
        let row = sqlx::query(include_str!("sql/postgres/insert_entry.sql"))
            .bind(ConversationEntryId::new().0)
            .bind(id.0)
            .bind(seq)
            .bind(&utterance.from_agent)
            .bind(utterance.to_agent.as_deref())
            .bind(content)
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(db_err)?;
        let e = entry(&row)?;
        tx.commit().await.map_err(db_err)?;
        Ok(e)
    }

    async fn conversation(
        &self,
        id: SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<ConversationEntry>> {
        let limit = sql_limit(limit)?;
        let rows = sqlx::query(include_str!("sql/postgres/conversation.sql"))
            .bind(id.0)
            .bind(sql_seq(after_seq))
            .bind(limit)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            // Nothing said, or no such session: only the latter is an error.
            self.get(id).await?;
        }
        rows.iter().map(entry).collect()
    }

    async fn close(&self, id: SessionId) -> Result<Session> {
        let update = sqlx::query(include_str!("sql/postgres/close.sql"))
            .bind(now_ms())
            .bind(id.0);
        self.update_open(id, update, "it cannot close again").await
    }
}
