//! The session store over SQL, written once for both engines: the same
//! transactions, the same rows and the same decoding, whether the tables
//! are in the embedded SQLite file or in Postgres.
//!
//! Every write to a session is one transaction whose first statement
//! updates the session's row. In Postgres that row lock makes concurrent
//! writers of one session take turns; in SQLite the update takes the file's
//! write lock before anything is read. Either way seqs and join positions
//! handed out from the row's counters are gap-free across handles and
//! processes, and a write that is refused rolls its number back.
//!
//! Most statements are one file for both engines (`sql/*.sql`); a
//! [`Dialect`] names the four that differ (`sql/<engine>/`): reading a
//! session's agents as one column, inserting a list of them, and an
//! entry's content, which arrives serialised and which Postgres casts.

use async_trait::async_trait;
use serde_json::Value;
use sqlx::query::Query;
use sqlx::types::Json;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::conversation::{ConversationEntry, ConversationEntryId, Utterance};
use super::record::{check_state, NewSession, Session, SessionId, SessionStatus};
use super::store::{check_speakers, duplicate_member, refusal, sql_limit, sql_seq, SessionStore};
use crate::error::{Error, Result};
use crate::names::check_label;
use crate::storage::sql::{SqlEngine, SqlUuid, TextList};
use crate::time::{from_ms, now_ms, opt_from_ms};

/// The statements that each engine writes its own way.
pub(super) trait Dialect: SqlEngine {
    /// One session with its agents in join order (`$1`: the id).
    const GET: &'static str;
    /// Sessions newest first (`$1`: a status or NULL, `$2`: the limit).
    const LIST: &'static str;
    /// A new session's agents in the order given (`$2`: a [`TextList`]).
    const INSERT_AGENTS: &'static str;
    /// One entry, returned as stored (`$6`: the content, serialised).
    const INSERT_ENTRY: &'static str;
}

/// The session store on a SQL engine: [`SqliteSessionStore`] or
/// [`PostgresSessionStore`].
///
/// [`SqliteSessionStore`]: super::sqlite::SqliteSessionStore
/// [`PostgresSessionStore`]: super::postgres::PostgresSessionStore
#[derive(Debug, Clone)]
pub struct SqlSessionStore<DB: Database> {
    /// Where writes go; on Postgres the same pool as `reader`.
    writer: Pool<DB>,
    reader: Pool<DB>,
}

impl<DB: Database> SqlSessionStore<DB> {
    /// A store on tables already migrated.
    pub(super) fn new(writer: Pool<DB>, reader: Pool<DB>) -> Self {
        SqlSessionStore { writer, reader }
    }
}

/// A session as `GET` and `LIST` return it.
#[derive(FromRow)]
struct SessionRow {
    id: SqlUuid,
    name: String,
    status: String,
    state: Json<Value>,
    agents: TextList,
    created_at: i64,
    closed_at: Option<i64>,
}

impl SessionRow {
    fn decode(self, backend: &'static str) -> Result<Session> {
        Ok(Session {
            id: SessionId(self.id.0),
            name: self.name,
            agents: self.agents.0,
            status: self.status.parse().map_err(|e: Error| {
                Error::backend(backend, format!("stored session status: {e}"))
            })?,
            state: self.state.0,
            created_at: from_ms(self.created_at),
            closed_at: opt_from_ms(self.closed_at),
        })
    }
}

/// A conversation entry as `INSERT_ENTRY` and `conversation.sql` return it.
#[derive(FromRow)]
struct EntryRow {
    id: SqlUuid,
    session_id: SqlUuid,
    seq: i64,
    from_agent: String,
    to_agent: Option<String>,
    content: Json<Value>,
    at_ms: i64,
}

impl EntryRow {
    fn decode(self, backend: &'static str) -> Result<ConversationEntry> {
        Ok(ConversationEntry {
            id: ConversationEntryId(self.id.0),
            session: SessionId(self.session_id.0),
            seq: u64::try_from(self.seq)
                .map_err(|e| Error::backend(backend, format!("stored entry seq: {e}")))?,
            from_agent: self.from_agent,
            to_agent: self.to_agent,
            content: self.content.0,
            at: from_ms(self.at_ms),
        })
    }
}

/// Session `id` as `conn` sees it (inside a write, what the write made).
async fn load<DB>(conn: &mut DB::Connection, id: SessionId) -> Result<Session>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> SqlUuid: Encode<'q, DB> + Type<DB>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
{
    let row: Option<SessionRow> = sqlx::query_as(DB::GET)
        .bind(SqlUuid(id.0))
        .fetch_optional(conn)
        .await
        .map_err(DB::db_err)?;
    row.ok_or_else(|| Error::not_found("session", id))?
        .decode(DB::BACKEND)
}

/// Runs `update` (an `UPDATE` of an open session's row, bound) and answers
/// the session as it left it, or `None` (nothing changed) when the session
/// is closed or unknown.
async fn update_open<'q, DB>(
    writer: &Pool<DB>,
    id: SessionId,
    update: Query<'q, DB, DB::Arguments<'q>>,
) -> Result<Option<Session>>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'a> DB::Arguments<'a>: IntoArguments<'a, DB>,
    for<'a> SqlUuid: Encode<'a, DB> + Type<DB>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
{
    let mut tx = writer.begin().await.map_err(DB::db_err)?;
    let hit = update.fetch_optional(&mut *tx).await.map_err(DB::db_err)?;
    if hit.is_none() {
        tx.rollback().await.map_err(DB::db_err)?;
        return Ok(None);
    }
    let s = load(&mut tx, id).await?;
    tx.commit().await.map_err(DB::db_err)?;
    Ok(Some(s))
}

// The bounds spell out, for a generic engine, what sqlx gives both: a
// connection that runs statements, and the types bound and read.
#[async_trait]
impl<DB> SessionStore for SqlSessionStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> SqlUuid: Encode<'q, DB> + Type<DB>,
    for<'q> TextList: Encode<'q, DB> + Type<DB>,
    for<'q> Json<&'q Value>: Encode<'q, DB> + Type<DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> (i64,): FromRow<'r, DB::Row>,
    for<'r> (String,): FromRow<'r, DB::Row>,
    for<'r> SessionRow: FromRow<'r, DB::Row>,
    for<'r> EntryRow: FromRow<'r, DB::Row>,
{
    async fn create(&self, new: NewSession) -> Result<Session> {
        new.check()?;
        let id = SessionId::new();
        let mut tx = self.writer.begin().await.map_err(DB::db_err)?;
        sqlx::query(include_str!("sql/insert.sql"))
            .bind(SqlUuid(id.0))
            .bind(new.name.as_str())
            .bind(Json(&new.state))
            .bind(now_ms())
            .bind(i64::try_from(new.agents.len()).unwrap_or(i64::MAX))
            .execute(&mut *tx)
            .await
            .map_err(DB::db_err)?;
        sqlx::query(DB::INSERT_AGENTS)
            .bind(SqlUuid(id.0))
            .bind(TextList(new.agents.clone()))
            .execute(&mut *tx)
            .await
            .map_err(DB::db_err)?;
        let s = load(&mut tx, id).await?;
        tx.commit().await.map_err(DB::db_err)?;
        Ok(s)
    }

    async fn get(&self, id: SessionId) -> Result<Session> {
        let mut conn = self.reader.acquire().await.map_err(DB::db_err)?;
        load(&mut conn, id).await
    }

    async fn list(&self, status: Option<SessionStatus>, limit: usize) -> Result<Vec<Session>> {
        let limit = sql_limit(limit)?;
        let rows: Vec<SessionRow> = sqlx::query_as(DB::LIST)
            .bind(status.map(SessionStatus::as_str))
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_err)?;
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }

    async fn join(&self, id: SessionId, agent: &str) -> Result<Session> {
        check_label("agent name", agent)?;
        let mut tx = self.writer.begin().await.map_err(DB::db_err)?;
        let position: Option<i64> = sqlx::query_scalar(include_str!("sql/next_position.sql"))
            .bind(SqlUuid(id.0))
            .fetch_optional(&mut *tx)
            .await
            .map_err(DB::db_err)?;
        let Some(position) = position else {
            tx.rollback().await.map_err(DB::db_err)?;
            return Err(refusal(self, id, "no agent can join it").await);
        };
        sqlx::query(include_str!("sql/add_agent.sql"))
            .bind(SqlUuid(id.0))
            .bind(position)
            .bind(agent)
            .execute(&mut *tx)
            .await
            .map_err(|e| match e.as_database_error() {
                Some(db) if db.is_unique_violation() => duplicate_member(id, agent),
                _ => DB::db_err(e),
            })?;
        let s = load(&mut tx, id).await?;
        tx.commit().await.map_err(DB::db_err)?;
        Ok(s)
    }

    async fn set_state(&self, id: SessionId, state: Value) -> Result<Session> {
        check_state(&state)?;
        let update = sqlx::query(include_str!("sql/set_state.sql"))
            .bind(Json(&state))
            .bind(SqlUuid(id.0));
        match update_open(&self.writer, id, update).await? {
            Some(s) => Ok(s),
            None => Err(refusal(self, id, "its state cannot change").await),
        }
    }

    async fn record(&self, id: SessionId, utterance: Utterance) -> Result<ConversationEntry> {
        let content = utterance.prepare()?;
        let mut tx = self.writer.begin().await.map_err(DB::db_err)?;
        let seq: Option<i64> = sqlx::query_scalar(include_str!("sql/next_seq.sql"))
            .bind(SqlUuid(id.0))
            .fetch_optional(&mut *tx)
            .await
            .map_err(DB::db_err)?;
        let Some(seq) = seq else {
            tx.rollback().await.map_err(DB::db_err)?;
            return Err(refusal(self, id, "nothing more can be said in it").await);
        };
        let members: Vec<String> = sqlx::query_scalar(include_str!("sql/members.sql"))
            .bind(SqlUuid(id.0))
            .bind(utterance.from_agent.as_str())
            .bind(utterance.to_agent.as_deref())
            .fetch_all(&mut *tx)
            .await
            .map_err(DB::db_err)?;
        // Dropping the transaction on a refusal rolls the seq back.
        check_speakers(id, &utterance, &members)?;
        let row: EntryRow = sqlx::query_as(DB::INSERT_ENTRY)
            .bind(SqlUuid(ConversationEntryId::new().0))
            .bind(SqlUuid(id.0))
            .bind(seq)
            .bind(utterance.from_agent.as_str())
            .bind(utterance.to_agent.as_deref())
            .bind(content.as_str())
            .bind(now_ms())
            .fetch_one(&mut *tx)
            .await
            .map_err(DB::db_err)?;
        let e = row.decode(DB::BACKEND)?;
        tx.commit().await.map_err(DB::db_err)?;
        Ok(e)
    }

    async fn conversation(
        &self,
        id: SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<ConversationEntry>> {
        let limit = sql_limit(limit)?;
        let rows: Vec<EntryRow> = sqlx::query_as(include_str!("sql/conversation.sql"))
            .bind(SqlUuid(id.0))
            .bind(sql_seq(after_seq))
            .bind(limit)
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_err)?;
        if rows.is_empty() {
            // Nothing said, or no such session: only the latter is an error.
            self.get(id).await?;
        }
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }

    async fn close(&self, id: SessionId) -> Result<Session> {
        let update = sqlx::query(include_str!("sql/close.sql"))
            .bind(now_ms())
            .bind(SqlUuid(id.0));
        match update_open(&self.writer, id, update).await? {
            Some(s) => Ok(s),
            None => Err(refusal(self, id, "it cannot close again").await),
        }
    }
}
