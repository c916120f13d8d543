//! The change-set store over SQL, written once for both engines: a change
//! set is a JSON body beside the columns that are queried, with a revision
//! every save compares and bumps in one statement.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::record::{ChangeSet, ChangeSetId, ChangeStatus};
use super::store::{ChangeSetStore, MAX_LIST};
use crate::error::{Error, Result};
use crate::storage::sql::SqlEngine;
use crate::time::{from_ms, now_ms};

/// The longest repository name.
const MAX_REPOSITORY: usize = 128;

/// The change-set store on a SQL engine.
#[derive(Debug, Clone)]
pub struct SqlChangeSetStore<DB: Database> {
    writer: Pool<DB>,
    reader: Pool<DB>,
}

impl<DB: Database> SqlChangeSetStore<DB> {
    /// A store on tables already migrated.
    pub(super) fn new(writer: Pool<DB>, reader: Pool<DB>) -> Self {
        SqlChangeSetStore { writer, reader }
    }
}

fn corrupt(backend: &'static str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend(
        backend,
        format!("stored change set {what} is unreadable: {e}"),
    )
}

/// A change set as stored.
#[derive(FromRow)]
struct ChangeSetRow {
    id: String,
    status: String,
    body: String,
    revision: i64,
    updated_at: i64,
}

impl ChangeSetRow {
    fn decode(self, backend: &'static str) -> Result<ChangeSet> {
        let mut p: ChangeSet =
            serde_json::from_str(&self.body).map_err(|e| corrupt(backend, "body", e))?;
        p.id = ChangeSetId::from_str(&self.id).map_err(|e| corrupt(backend, "id", e))?;
        p.status =
            ChangeStatus::from_str(&self.status).map_err(|e| corrupt(backend, "status", e))?;
        p.revision = u64::try_from(self.revision).unwrap_or(0);
        p.updated_at = from_ms(self.updated_at);
        Ok(p)
    }
}

fn body(p: &ChangeSet) -> Result<String> {
    serde_json::to_string(p).map_err(|e| Error::invalid(format!("change set {}: {e}", p.id)))
}

#[async_trait]
impl<DB> ChangeSetStore for SqlChangeSetStore<DB>
where
    DB: SqlEngine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> ChangeSetRow: FromRow<'r, DB::Row>,
{
    async fn create(&self, p: &ChangeSet) -> Result<()> {
        check_repository(&p.repository)?;
        sqlx::query(include_str!("sql/insert_change_set.sql"))
            .bind(p.id.to_string())
            .bind(p.repository.as_str())
            .bind(p.status.as_str())
            .bind(body(p)?)
            .bind(p.created_at.timestamp_millis())
            .execute(&self.writer)
            .await
            .map_err(DB::db_or_input_err)?;
        Ok(())
    }

    async fn get(&self, id: ChangeSetId) -> Result<ChangeSet> {
        let row: Option<ChangeSetRow> = sqlx::query_as(include_str!("sql/get_change_set.sql"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_err)?;
        row.ok_or_else(|| Error::not_found("change set", id))?
            .decode(DB::BACKEND)
    }

    async fn list(
        &self,
        repository: Option<&str>,
        status: Option<ChangeStatus>,
        limit: usize,
    ) -> Result<Vec<ChangeSet>> {
        if limit == 0 || limit > MAX_LIST {
            return Err(Error::invalid(format!(
                "limit must be 1 to {MAX_LIST}, got {limit}"
            )));
        }
        if let Some(r) = repository {
            check_repository(r)?;
        }
        let rows: Vec<ChangeSetRow> = sqlx::query_as(include_str!("sql/list_change_sets.sql"))
            .bind(repository)
            .bind(status.map(ChangeStatus::as_str))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }

    async fn save(&self, p: &ChangeSet) -> Result<ChangeSet> {
        let done = sqlx::query(include_str!("sql/save_change_set.sql"))
            .bind(p.id.to_string())
            .bind(p.status.as_str())
            .bind(body(p)?)
            .bind(now_ms())
            .bind(i64::try_from(p.revision).unwrap_or(i64::MAX))
            .execute(&self.writer)
            .await
            .map_err(DB::db_or_input_err)?;
        if DB::rows_affected(&done) == 0 {
            let stored = self.get(p.id).await?;
            return Err(Error::conflict(format!(
                "change set {} changed since it was read (revision {} is now {})",
                p.id, p.revision, stored.revision
            )));
        }
        self.get(p.id).await
    }
}

/// A repository name: 1 to 128 bytes of letters, digits, `-`, `_` or `.`.
pub(super) fn check_repository(name: &str) -> Result<()> {
    let ok = !name.is_empty()
        && name.len() <= MAX_REPOSITORY
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'));
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "repository name {name:?} must be 1 to {MAX_REPOSITORY} letters, digits, '-', '_' or '.'"
        )))
    }
}
