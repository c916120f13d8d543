//! The experiment store over SQL, written once for both engines. An
//! experiment is kept as a JSON body beside the columns that are queried
//! (agent, label, status) and its revision, which every save compares and
//! bumps in one statement.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::record::{Experiment, ExperimentId, ExperimentStatus};
use super::store::{ExperimentStore, MAX_LIST};
use crate::error::{Error, Result};
use crate::names::check_label;
use crate::queue::TaskId;
use crate::storage::sql::SqlEngine;
use crate::time::{from_ms, now_ms};

/// The experiment store on a SQL engine: [`SqliteExperimentStore`] or
/// [`PostgresExperimentStore`].
///
/// [`SqliteExperimentStore`]: super::sqlite::SqliteExperimentStore
/// [`PostgresExperimentStore`]: super::postgres::PostgresExperimentStore
#[derive(Debug, Clone)]
pub struct SqlExperimentStore<DB: Database> {
    /// Where writes go; on Postgres the same pool as `reader`.
    writer: Pool<DB>,
    reader: Pool<DB>,
}

impl<DB: Database> SqlExperimentStore<DB> {
    /// A store on tables already migrated.
    pub(super) fn new(writer: Pool<DB>, reader: Pool<DB>) -> Self {
        SqlExperimentStore { writer, reader }
    }
}

fn corrupt(backend: &'static str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend(
        backend,
        format!("stored experiment {what} is unreadable: {e}"),
    )
}

/// An experiment as stored.
#[derive(FromRow)]
struct ExperimentRow {
    id: String,
    status: String,
    body: String,
    revision: i64,
    updated_at: i64,
}

impl ExperimentRow {
    fn decode(self, backend: &'static str) -> Result<Experiment> {
        let mut e: Experiment =
            serde_json::from_str(&self.body).map_err(|e| corrupt(backend, "body", e))?;
        e.id = ExperimentId::from_str(&self.id).map_err(|e| corrupt(backend, "id", e))?;
        e.status =
            ExperimentStatus::from_str(&self.status).map_err(|e| corrupt(backend, "status", e))?;
        e.revision = u64::try_from(self.revision).unwrap_or(0);
        e.updated_at = from_ms(self.updated_at);
        Ok(e)
    }
}

#[derive(FromRow)]
struct ArmRow {
    arm: String,
}

#[derive(FromRow)]
struct AssignmentRow {
    task_id: String,
    arm: String,
}

fn body(e: &Experiment) -> Result<String> {
    serde_json::to_string(e).map_err(|err| Error::invalid(format!("experiment {}: {err}", e.id)))
}

fn unique_violation(e: &sqlx::Error) -> bool {
    matches!(e, sqlx::Error::Database(d) if d.is_unique_violation())
}

#[async_trait]
impl<DB> ExperimentStore for SqlExperimentStore<DB>
where
    DB: SqlEngine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> ExperimentRow: FromRow<'r, DB::Row>,
    for<'r> ArmRow: FromRow<'r, DB::Row>,
    for<'r> AssignmentRow: FromRow<'r, DB::Row>,
{
    async fn create(&self, e: &Experiment) -> Result<()> {
        check_label("agent name", &e.agent)?;
        check_label("label", &e.label)?;
        sqlx::query(include_str!("sql/insert.sql"))
            .bind(e.id.to_string())
            .bind(e.agent.as_str())
            .bind(e.label.as_str())
            .bind(e.status.as_str())
            .bind(body(e)?)
            .bind(e.created_at.timestamp_millis())
            .execute(&self.writer)
            .await
            .map_err(|err| {
                if unique_violation(&err) {
                    Error::conflict(format!(
                        "agent {:?} already has an active experiment on label {:?}: stop it first",
                        e.agent, e.label
                    ))
                } else {
                    DB::db_or_input_err(err)
                }
            })?;
        Ok(())
    }

    async fn get(&self, id: ExperimentId) -> Result<Experiment> {
        let row: Option<ExperimentRow> = sqlx::query_as(include_str!("sql/get.sql"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_err)?;
        row.ok_or_else(|| Error::not_found("experiment", id))?
            .decode(DB::BACKEND)
    }

    async fn list(
        &self,
        agent: Option<&str>,
        active_only: bool,
        limit: usize,
    ) -> Result<Vec<Experiment>> {
        if limit == 0 || limit > MAX_LIST {
            return Err(Error::invalid(format!(
                "limit must be 1 to {MAX_LIST}, got {limit}"
            )));
        }
        if let Some(a) = agent {
            check_label("agent name", a)?;
        }
        let rows: Vec<ExperimentRow> = sqlx::query_as(include_str!("sql/list.sql"))
            .bind(agent)
            .bind(i64::from(active_only))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }

    async fn save(&self, e: &Experiment) -> Result<Experiment> {
        let done = sqlx::query(include_str!("sql/save.sql"))
            .bind(e.id.to_string())
            .bind(e.status.as_str())
            .bind(body(e)?)
            .bind(now_ms())
            .bind(i64::try_from(e.revision).unwrap_or(i64::MAX))
            .execute(&self.writer)
            .await
            .map_err(|err| {
                if unique_violation(&err) {
                    Error::conflict(format!(
                        "agent {:?} already has another active experiment on label {:?}",
                        e.agent, e.label
                    ))
                } else {
                    DB::db_or_input_err(err)
                }
            })?;
        if DB::rows_affected(&done) == 0 {
            // Unknown, or saved by someone else since it was read.
            let stored = self.get(e.id).await?;
            return Err(Error::conflict(format!(
                "experiment {} changed since it was read (revision {} is now {})",
                e.id, e.revision, stored.revision
            )));
        }
        self.get(e.id).await
    }

    async fn assign(&self, id: ExperimentId, task: TaskId, arm: &str) -> Result<String> {
        check_label("arm", arm)?;
        sqlx::query(include_str!("sql/assign.sql"))
            .bind(id.to_string())
            .bind(task.to_string())
            .bind(arm)
            .bind(now_ms())
            .execute(&self.writer)
            .await
            .map_err(DB::db_err)?;
        let row: ArmRow = sqlx::query_as(include_str!("sql/assignment.sql"))
            .bind(id.to_string())
            .bind(task.to_string())
            .fetch_one(&self.writer)
            .await
            .map_err(DB::db_err)?;
        Ok(row.arm)
    }

    async fn assignment(&self, id: ExperimentId, task: TaskId) -> Result<Option<String>> {
        let row: Option<ArmRow> = sqlx::query_as(include_str!("sql/assignment.sql"))
            .bind(id.to_string())
            .bind(task.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_err)?;
        Ok(row.map(|r| r.arm))
    }

    async fn assignments(&self, id: ExperimentId) -> Result<Vec<(TaskId, String)>> {
        let rows: Vec<AssignmentRow> = sqlx::query_as(include_str!("sql/assignments.sql"))
            .bind(id.to_string())
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_err)?;
        rows.into_iter()
            .map(|r| {
                let task = TaskId::from_str(&r.task_id)
                    .map_err(|e| corrupt(DB::BACKEND, "assignment", e))?;
                Ok((task, r.arm))
            })
            .collect()
    }
}
