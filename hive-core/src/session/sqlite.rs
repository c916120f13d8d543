//! The embedded session store: three tables in the SQLite file the queue,
//! the broker and the agent registry use. Every write to a session is one
//! transaction whose first statement updates the session's row, so it holds
//! the file's write lock before it reads anything: seqs and join positions
//! handed out from its counters are gap-free across handles and processes.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use sqlx::query::Query;
use sqlx::sqlite::{SqliteArguments, SqliteConnection, SqlitePool, SqliteRow};
use sqlx::{Row as _, Sqlite};

use super::conversation::{ConversationEntry, ConversationEntryId, Utterance};
use super::record::{check_state, NewSession, Session, SessionId, SessionStatus};
use super::store::{check_speakers, duplicate_member, refusal, sql_limit, sql_seq, SessionStore};
use crate::error::{Error, Result};
use crate::names::check_label;
use crate::storage::sqlite::{open_pools, Durability, Pools};
use crate::time::{from_ms, now_ms, opt_from_ms};

const BACKEND: &str = "sqlite";

/// How long a write waits for another process's lock.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Read connections of a file-backed store.
const READERS: u32 = 2;

fn db_err(e: sqlx::Error) -> Error {
    Error::backend(BACKEND, e)
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend(BACKEND, format!("stored session {what}: {e}"))
}

/// The embedded session store.
#[derive(Debug, Clone)]
pub struct SqliteSessionStore {
    writer: SqlitePool,
    reader: SqlitePool,
}

impl SqliteSessionStore {
    /// Opens (creating if needed) the store in the SQLite database at `url`
    /// (`sqlite://path/to/hive.db` or `sqlite::memory:`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::Backend`] when the
    /// file cannot be opened or migrated.
    pub async fn open(url: &str) -> Result<Self> {
        let Pools { writer, reader } =
            open_pools(url, Durability::Full, BUSY_TIMEOUT, READERS).await?;
        Ok(SqliteSessionStore { writer, reader })
    }
}

fn session(r: &SqliteRow) -> Result<Session> {
    let id: String = r.try_get("id").map_err(db_err)?;
    let status: String = r.try_get("status").map_err(db_err)?;
    let state: String = r.try_get("state").map_err(db_err)?;
    let agents: String = r.try_get("agents").map_err(db_err)?;
    Ok(Session {
        id: id.parse().map_err(|e| corrupt("id", e))?,
        name: r.try_get("name").map_err(db_err)?,
        agents: serde_json::from_str(&agents).map_err(|e| corrupt("agents", e))?,
        status: status.parse().map_err(|e| corrupt("status", e))?,
        state: serde_json::from_str(&state).map_err(|e| corrupt("state", e))?,
        created_at: from_ms(r.try_get("created_at").map_err(db_err)?),
        closed_at: opt_from_ms(r.try_get("closed_at").map_err(db_err)?),
    })
}

fn entry(r: &SqliteRow) -> Result<ConversationEntry> {
    let id: String = r.try_get("id").map_err(db_err)?;
    let session: String = r.try_get("session_id").map_err(db_err)?;
    let seq: i64 = r.try_get("seq").map_err(db_err)?;
    let content: String = r.try_get("content").map_err(db_err)?;
    Ok(ConversationEntry {
        id: id.parse().map_err(|e| corrupt("entry id", e))?,
        session: session.parse().map_err(|e| corrupt("entry session", e))?,
        seq: u64::try_from(seq).map_err(|e| corrupt("entry seq", e))?,
        from_agent: r.try_get("from_agent").map_err(db_err)?,
        to_agent: r.try_get("to_agent").map_err(db_err)?,
        content: serde_json::from_str(&content).map_err(|e| corrupt("entry content", e))?,
        at: from_ms(r.try_get("at_ms").map_err(db_err)?),
    })
}

/// Session `id` as `conn` sees it (inside a write, what the write made).
async fn load(conn: &mut SqliteConnection, id: SessionId) -> Result<Session> {
    let row = sqlx::query(include_str!("sql/sqlite/get.sql"))
        .bind(id.to_string())
        .fetch_optional(conn)
        .await
        .map_err(db_err)?
        .ok_or_else(|| Error::not_found("session", id))?;
    session(&row)
}

impl SqliteSessionStore {
    /// Runs `update` (an `UPDATE` of an open session's row, bound) and
    /// answers the session as it left it; a closed or unknown session is
    /// [`refusal`] saying `what` cannot happen.
    async fn update_open<'q>(
        &self,
        id: SessionId,
        update: Query<'q, Sqlite, SqliteArguments<'q>>,
        what: &str,
    ) -> Result<Session> {
        let mut tx = self.writer.begin().await.map_err(db_err)?;
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
impl SessionStore for SqliteSessionStore {
    async fn create(&self, new: NewSession) -> Result<Session> {
        new.check()?;
        let id = SessionId::new();
        let agents = serde_json::to_string(&new.agents)
            .map_err(|e| Error::invalid(format!("agents: {e}")))?;
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        sqlx::query(include_str!("sql/sqlite/insert.sql"))
            .bind(id.to_string())
            .bind(&new.name)
            .bind(new.state.to_string())
            .bind(now_ms())
            .bind(i64::try_from(new.agents.len()).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        sqlx::query(include_str!("sql/sqlite/insert_agents.sql"))
            .bind(id.to_string())
            .bind(agents)
            .execute(&mut *tx)
            .await
            .map_err(db_err)?;
        let s = load(&mut tx, id).await?;
        tx.commit().await.map_err(db_err)?;
        Ok(s)
    }

    async fn get(&self, id: SessionId) -> Result<Session> {
        let mut conn = self.reader.acquire().await.map_err(db_err)?;
        load(&mut conn, id).await
    }

    async fn list(&self, status: Option<SessionStatus>, limit: usize) -> Result<Vec<Session>> {
        let limit = sql_limit(limit)?;
        sqlx::query(include_str!("sql/sqlite/list.sql"))
            .bind(status.map(SessionStatus::as_str))
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?
            .iter()
            .map(session)
            .collect()
    }

    async fn join(&self, id: SessionId, agent: &str) -> Result<Session> {
        check_label("agent name", agent)?;
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let position: Option<i64> =
            sqlx::query_scalar(include_str!("sql/sqlite/next_position.sql"))
                .bind(id.to_string())
                .fetch_optional(&mut *tx)
                .await
                .map_err(db_err)?;
        let Some(position) = position else {
            tx.rollback().await.map_err(db_err)?;
            return Err(refusal(self, id, "no agent can join it").await);
        };
        sqlx::query(include_str!("sql/sqlite/add_agent.sql"))
            .bind(id.to_string())
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
        let update = sqlx::query(include_str!("sql/sqlite/set_state.sql"))
            .bind(state.to_string())
            .bind(id.to_string());
        self.update_open(id, update, "its state cannot change")
            .await
    }

    async fn record(&self, id: SessionId, utterance: Utterance) -> Result<ConversationEntry> {
        let content = utterance.prepare()?;
        let mut tx = self.writer.begin().await.map_err(db_err)?;
        let seq: Option<i64> = sqlx::query_scalar(include_str!("sql/sqlite/next_seq.sql"))
            .bind(id.to_string())
            .fetch_optional(&mut *tx)
            .await
            .map_err(db_err)?;
        let Some(seq) = seq else {
            tx.rollback().await.map_err(db_err)?;
            return Err(refusal(self, id, "nothing more can be said in it").await);
        };
        let members: Vec<String> = sqlx::query_scalar(include_str!("sql/sqlite/members.sql"))
            .bind(id.to_string())
            .bind(&utterance.from_agent)
            .bind(utterance.to_agent.as_deref())
            .fetch_all(&mut *tx)
            .await
            .map_err(db_err)?;
        // Dropping the transaction on a refusal rolls the seq back.
        check_speakers(id, &utterance, &members)?;
        let row = sqlx::query(include_str!("sql/sqlite/insert_entry.sql"))
            .bind(ConversationEntryId::new().to_string())
            .bind(id.to_string())
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
        let rows = sqlx::query(include_str!("sql/sqlite/conversation.sql"))
            .bind(id.to_string())
            .bind(sql_seq(after_seq))
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(db_err)?;
        if rows.is_empty() {
            // Nothing said, or no such session: only the latter is an error.
            self.get(id).await?;
        }
        rows.iter().map(entry).collect()
    }

    async fn close(&self, id: SessionId) -> Result<Session> {
        let update = sqlx::query(include_str!("sql/sqlite/close.sql"))
            .bind(now_ms())
            .bind(id.to_string());
        self.update_open(id, update, "it cannot close again").await
    }
}
