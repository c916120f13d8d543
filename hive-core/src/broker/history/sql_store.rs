//! Message history over SQL, written once for both engines: queries (the
//! [`Plan`] and its paging loop), lookups by id and retention run the same
//! code on SQLite and Postgres, and read the same [`HistoryRow`].
//!
//! What each engine does its own way is its [`Dialect`]: the fixed text of
//! three statements, how a bound id meets the id column, and how a batch is
//! inserted (row by row in the embedded file, where each insert is a local
//! call; one statement per thousand in Postgres, where each is a round
//! trip).

use std::future::Future;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::plan::{collect, Plan};
use super::query::HistoryQuery;
use super::row::{ceil_ms, lower, HistoryRow, Position};
use super::MessageStore;
use crate::broker::{MessageId, StoredMessage};
use crate::error::{Error, Result};
use crate::storage::sql::{SqlEngine, SqlUuid};

/// Rows deleted per statement by [`MessageStore::purge_before`].
const PURGE_CHUNK: i64 = 5000;

/// What history's SQL says differently on each engine.
pub(super) trait Dialect: SqlEngine {
    /// `SELECT <columns> FROM message_history`, as text columns.
    const SELECT: &'static str;
    /// [`Dialect::SELECT`] of the message with id `$1`.
    const GET: &'static str;
    /// Deletes at most `$2` of the oldest messages published before `$1`.
    const PURGE_BEFORE: &'static str;
    /// What turns a bound text parameter into the id column's type.
    const UUID_CAST: &'static str;

    /// Inserts `rows` (at least one, already checked) in one transaction
    /// and answers how many were new.
    fn insert(
        writer: &Pool<Self>,
        rows: Vec<HistoryRow>,
    ) -> impl Future<Output = Result<u64>> + Send;
}

/// Message history on a SQL engine: [`SqliteMessageStore`] or
/// [`PostgresMessageStore`].
///
/// [`SqliteMessageStore`]: super::sqlite::SqliteMessageStore
/// [`PostgresMessageStore`]: super::postgres::PostgresMessageStore
#[derive(Debug, Clone)]
pub struct SqlMessageStore<DB: Database> {
    /// Where writes go; on Postgres the same pool as `reader`.
    writer: Pool<DB>,
    reader: Pool<DB>,
}

impl<DB: Database> SqlMessageStore<DB> {
    /// A store on a table already migrated.
    pub(super) fn new(writer: Pool<DB>, reader: Pool<DB>) -> Self {
        SqlMessageStore { writer, reader }
    }
}

// The bounds spell out, for a generic engine, what sqlx gives both: a
// connection that runs statements, and the types bound and read.
#[async_trait]
impl<DB> MessageStore for SqlMessageStore<DB>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> SqlUuid: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> HistoryRow: FromRow<'r, DB::Row>,
{
    fn backend(&self) -> &'static str {
        DB::BACKEND
    }

    async fn record(&self, messages: &[StoredMessage]) -> Result<u64> {
        if messages.is_empty() {
            return Ok(0);
        }
        let rows = messages.iter().map(lower).collect::<Result<Vec<_>>>()?;
        DB::insert(&self.writer, rows).await
    }

    async fn query(&self, query: &HistoryQuery) -> Result<Vec<StoredMessage>> {
        query.validate()?;
        let start = match query.after {
            Some(id) => Some(Position::of(&self.get(id).await?)),
            None => None,
        };
        let plan = &Plan::new(query);
        collect(plan, DB::BACKEND, start, |after, size| async move {
            let mut page = plan.page::<DB>(after.as_ref(), size);
            DB::fetch_built(&mut page, &self.reader)
                .await
                .map_err(DB::db_or_input_err)
        })
        .await
    }

    async fn get(&self, id: MessageId) -> Result<StoredMessage> {
        let row: Option<HistoryRow> = sqlx::query_as(DB::GET)
            .bind(SqlUuid(id.0))
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        row.ok_or_else(|| Error::not_found("message", id))?
            .decode(DB::BACKEND)
    }

    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64> {
        let before = ceil_ms(before);
        let mut purged = 0;
        loop {
            let done = sqlx::query(DB::PURGE_BEFORE)
                .bind(before)
                .bind(PURGE_CHUNK)
                .execute(&self.writer)
                .await
                .map_err(DB::db_or_input_err)?;
            let deleted = DB::rows_affected(&done);
            purged += deleted;
            if deleted < PURGE_CHUNK.unsigned_abs() {
                return Ok(purged);
            }
        }
    }
}
