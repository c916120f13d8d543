//! The proposal store over SQL, written once for both engines: a proposal
//! is a JSON body beside the columns that are queried, with a revision
//! every save compares and bumps in one statement.

use std::str::FromStr;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::proposal::{MetaRun, Proposal, ProposalId, ProposalStatus};
use super::store::{ProposalStore, MAX_LIST};
use crate::error::{Error, Result};
use crate::names::check_label;
use crate::storage::sql::SqlEngine;
use crate::time::{from_ms, now_ms};

/// The proposal store on a SQL engine.
#[derive(Debug, Clone)]
pub struct SqlProposalStore<DB: Database> {
    writer: Pool<DB>,
    reader: Pool<DB>,
}

impl<DB: Database> SqlProposalStore<DB> {
    /// A store on tables already migrated.
    pub(super) fn new(writer: Pool<DB>, reader: Pool<DB>) -> Self {
        SqlProposalStore { writer, reader }
    }
}

fn corrupt(backend: &'static str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend(
        backend,
        format!("stored proposal {what} is unreadable: {e}"),
    )
}

/// A proposal as stored.
#[derive(FromRow)]
struct ProposalRow {
    id: String,
    status: String,
    body: String,
    revision: i64,
    updated_at: i64,
}

impl ProposalRow {
    fn decode(self, backend: &'static str) -> Result<Proposal> {
        let mut p: Proposal =
            serde_json::from_str(&self.body).map_err(|e| corrupt(backend, "body", e))?;
        p.id = ProposalId::from_str(&self.id).map_err(|e| corrupt(backend, "id", e))?;
        p.status =
            ProposalStatus::from_str(&self.status).map_err(|e| corrupt(backend, "status", e))?;
        p.revision = u64::try_from(self.revision).unwrap_or(0);
        p.updated_at = from_ms(self.updated_at);
        Ok(p)
    }
}

#[derive(FromRow)]
struct SpendRow {
    calls: i64,
    cost_usd: f64,
}

fn body(p: &Proposal) -> Result<String> {
    serde_json::to_string(p).map_err(|e| Error::invalid(format!("proposal {}: {e}", p.id)))
}

#[async_trait]
impl<DB> ProposalStore for SqlProposalStore<DB>
where
    DB: SqlEngine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'r> ProposalRow: FromRow<'r, DB::Row>,
    for<'r> SpendRow: FromRow<'r, DB::Row>,
{
    async fn create(&self, p: &Proposal) -> Result<()> {
        check_label("agent name", &p.agent)?;
        sqlx::query(include_str!("sql/insert_proposal.sql"))
            .bind(p.id.to_string())
            .bind(p.agent.as_str())
            .bind(p.status.as_str())
            .bind(body(p)?)
            .bind(p.created_at.timestamp_millis())
            .execute(&self.writer)
            .await
            .map_err(DB::db_or_input_err)?;
        Ok(())
    }

    async fn get(&self, id: ProposalId) -> Result<Proposal> {
        let row: Option<ProposalRow> = sqlx::query_as(include_str!("sql/get_proposal.sql"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_err)?;
        row.ok_or_else(|| Error::not_found("proposal", id))?
            .decode(DB::BACKEND)
    }

    async fn list(
        &self,
        agent: Option<&str>,
        status: Option<ProposalStatus>,
        limit: usize,
    ) -> Result<Vec<Proposal>> {
        if limit == 0 || limit > MAX_LIST {
            return Err(Error::invalid(format!(
                "limit must be 1 to {MAX_LIST}, got {limit}"
            )));
        }
        if let Some(a) = agent {
            check_label("agent name", a)?;
        }
        let rows: Vec<ProposalRow> = sqlx::query_as(include_str!("sql/list_proposals.sql"))
            .bind(agent)
            .bind(status.map(ProposalStatus::as_str))
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }

    async fn save(&self, p: &Proposal) -> Result<Proposal> {
        let done = sqlx::query(include_str!("sql/save_proposal.sql"))
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
                "proposal {} changed since it was read (revision {} is now {})",
                p.id, p.revision, stored.revision
            )));
        }
        self.get(p.id).await
    }

    async fn record_run(&self, run: &MetaRun) -> Result<()> {
        sqlx::query(include_str!("sql/insert_run.sql"))
            .bind(run.id.to_string())
            .bind(run.agent.as_str())
            .bind(i64::from(run.calls))
            .bind(i64::try_from(run.tokens).unwrap_or(i64::MAX))
            .bind(run.cost_usd)
            .bind(run.at.timestamp_millis())
            .execute(&self.writer)
            .await
            .map_err(DB::db_or_input_err)?;
        Ok(())
    }

    async fn spend_since(&self, since: DateTime<Utc>) -> Result<(u64, f64)> {
        let row: SpendRow = sqlx::query_as(include_str!("sql/spend_since.sql"))
            .bind(since.timestamp_millis())
            .fetch_one(&self.writer)
            .await
            .map_err(DB::db_err)?;
        Ok((u64::try_from(row.calls).unwrap_or(0), row.cost_usd))
    }
}
