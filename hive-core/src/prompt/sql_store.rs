//! The prompt registry over SQL, written once for both engines: the same
//! statements (`sql/*.sql`) and the same decoding in the embedded file
//! and in Postgres.
//!
//! A move is one transaction whose first statement updates the label's
//! row (counting the move): in Postgres that row lock makes concurrent
//! movers of one label take turns, in SQLite the update takes the file's
//! write lock before anything is read. So each move reads the label as the
//! previous move left it, and the move numbers are gap-free. A refused
//! move rolls its number back.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, Type};

use super::record::{
    content_hash, AuthorKind, Label, LabelMove, MoveLabel, NewPromptVersion, PromptVersion,
    PromptVersionId, PRODUCTION,
};
use super::store::PromptRegistry;
use crate::error::{Error, Result};
use crate::names::check_label;
use crate::storage::sql::SqlEngine;
use crate::time::{from_ms, now_ms};

/// The prompt registry on a SQL engine: [`SqlitePromptRegistry`] or
/// [`PostgresPromptRegistry`].
///
/// [`SqlitePromptRegistry`]: super::sqlite::SqlitePromptRegistry
/// [`PostgresPromptRegistry`]: super::postgres::PostgresPromptRegistry
#[derive(Debug, Clone)]
pub struct SqlPromptRegistry<DB: Database> {
    /// Where writes go; on Postgres the same pool as `reader`.
    writer: Pool<DB>,
    reader: Pool<DB>,
}

impl<DB: Database> SqlPromptRegistry<DB> {
    /// A registry on tables already migrated.
    pub(super) fn new(writer: Pool<DB>, reader: Pool<DB>) -> Self {
        SqlPromptRegistry { writer, reader }
    }
}

fn corrupt(backend: &'static str, what: &str, e: impl std::fmt::Display) -> Error {
    Error::backend(backend, format!("stored prompt {what} is unreadable: {e}"))
}

fn version_id(backend: &'static str, s: &str) -> Result<PromptVersionId> {
    PromptVersionId::from_str(s).map_err(|e| corrupt(backend, "version id", e))
}

/// A version as stored.
#[derive(FromRow)]
struct VersionRow {
    id: String,
    agent: String,
    text: String,
    parent: Option<String>,
    author: String,
    author_kind: String,
    rationale: Option<String>,
    hash: String,
    created_at: i64,
}

impl VersionRow {
    fn decode(self, backend: &'static str) -> Result<PromptVersion> {
        Ok(PromptVersion {
            id: version_id(backend, &self.id)?,
            agent: self.agent,
            text: self.text,
            parent: self
                .parent
                .as_deref()
                .map(|p| version_id(backend, p))
                .transpose()?,
            author: self.author,
            author_kind: AuthorKind::from_str(&self.author_kind)
                .map_err(|e| corrupt(backend, "author kind", e))?,
            rationale: self.rationale,
            hash: self.hash,
            created_at: from_ms(self.created_at),
        })
    }
}

/// A label as stored.
#[derive(FromRow)]
struct LabelRow {
    agent: String,
    name: String,
    version: String,
    protected: i64,
    moves: i64,
    updated_at: i64,
}

impl LabelRow {
    fn decode(self, backend: &'static str) -> Result<Label> {
        Ok(Label {
            agent: self.agent,
            name: self.name,
            version: version_id(backend, &self.version)?,
            protected: self.protected != 0,
            moves: u64::try_from(self.moves).unwrap_or(0),
            updated_at: from_ms(self.updated_at),
        })
    }
}

/// A move as stored.
#[derive(FromRow)]
struct MoveRow {
    agent: String,
    name: String,
    seq: i64,
    from_version: Option<String>,
    to_version: String,
    moved_by: String,
    approved_by: Option<String>,
    reason: Option<String>,
    at: i64,
}

impl MoveRow {
    fn decode(self, backend: &'static str) -> Result<LabelMove> {
        Ok(LabelMove {
            agent: self.agent,
            label: self.name,
            seq: u64::try_from(self.seq).unwrap_or(0),
            from: self
                .from_version
                .as_deref()
                .map(|v| version_id(backend, v))
                .transpose()?,
            to: version_id(backend, &self.to_version)?,
            by: self.moved_by,
            approved_by: self.approved_by,
            reason: self.reason,
            at: from_ms(self.at),
        })
    }
}

/// Refuses a change of a protected label that no one (else than its
/// mover, when it has one) approved.
fn check_approval(
    label: &Label,
    by: Option<&str>,
    approved_by: Option<&str>,
    what: &str,
) -> Result<()> {
    match approved_by {
        None => Err(Error::invalid(format!(
            "label {:?} of agent {:?} is protected: {what} needs an approval (approved_by)",
            label.name, label.agent
        ))),
        Some(a) if Some(a) == by => Err(Error::invalid(format!(
            "label {:?} of agent {:?} is protected: {what} must be approved by someone other than {a:?}",
            label.name, label.agent
        ))),
        Some(_) => Ok(()),
    }
}

// The bounds spell out, for a generic engine, what sqlx gives both: a
// connection that runs statements, and the types bound and read.
#[async_trait]
impl<DB> PromptRegistry for SqlPromptRegistry<DB>
where
    DB: SqlEngine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<String>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> VersionRow: FromRow<'r, DB::Row>,
    for<'r> LabelRow: FromRow<'r, DB::Row>,
    for<'r> MoveRow: FromRow<'r, DB::Row>,
{
    async fn create(&self, new: NewPromptVersion) -> Result<PromptVersion> {
        new.check()?;
        if let Some(parent) = new.parent {
            let p = self.get(parent).await?;
            if p.agent != new.agent {
                return Err(Error::invalid(format!(
                    "parent {parent} is a prompt of agent {:?}, not {:?}",
                    p.agent, new.agent
                )));
            }
        }
        let hash = content_hash(&new.text);
        sqlx::query(include_str!("sql/insert_version.sql"))
            .bind(PromptVersionId::new().to_string())
            .bind(new.agent.as_str())
            .bind(new.text.as_str())
            .bind(new.parent.map(|p| p.to_string()))
            .bind(new.author.as_str())
            .bind(new.author_kind.as_str())
            .bind(new.rationale.as_deref())
            .bind(hash.as_str())
            .bind(now_ms())
            .execute(&self.writer)
            .await
            .map_err(DB::db_or_input_err)?;
        let row: VersionRow = sqlx::query_as(include_str!("sql/version_by_hash.sql"))
            .bind(new.agent.as_str())
            .bind(hash.as_str())
            .fetch_one(&self.writer)
            .await
            .map_err(DB::db_err)?;
        row.decode(DB::BACKEND)
    }

    async fn get(&self, id: PromptVersionId) -> Result<PromptVersion> {
        let row: Option<VersionRow> = sqlx::query_as(include_str!("sql/get_version.sql"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_err)?;
        row.ok_or_else(|| Error::not_found("prompt version", id))?
            .decode(DB::BACKEND)
    }

    async fn versions(&self, agent: &str) -> Result<Vec<PromptVersion>> {
        check_label("agent name", agent)?;
        let rows: Vec<VersionRow> = sqlx::query_as(include_str!("sql/versions.sql"))
            .bind(agent)
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }

    async fn move_label(&self, request: MoveLabel) -> Result<Label> {
        request.check()?;
        let version = self.get(request.version).await?;
        if version.agent != request.agent {
            return Err(Error::invalid(format!(
                "version {} is a prompt of agent {:?}: label {:?} of agent {:?} cannot point at it",
                version.id, version.agent, request.label, request.agent
            )));
        }
        let (agent, name) = (request.agent.as_str(), request.label.as_str());
        let now = now_ms();
        let mut tx = self.writer.begin().await.map_err(DB::db_err)?;
        // The move runs inside this block so that a refusal (or a failing
        // statement) rolls back here, at once: a transaction merely dropped
        // would hold the file's write lock until its connection is next
        // used, stalling every other writer of an embedded hive.
        let moved: Result<LabelRow> = async {
            sqlx::query(include_str!("sql/lock_label.sql"))
                .bind(agent)
                .bind(name)
                .execute(&mut *tx)
                .await
                .map_err(DB::db_err)?;
            let current: Option<LabelRow> = sqlx::query_as(include_str!("sql/get_label.sql"))
                .bind(agent)
                .bind(name)
                .fetch_optional(&mut *tx)
                .await
                .map_err(DB::db_err)?;
            let (from, seq) = match current {
                None => {
                    sqlx::query(include_str!("sql/insert_label.sql"))
                        .bind(agent)
                        .bind(name)
                        .bind(version.id.to_string())
                        .bind(i64::from(name == PRODUCTION))
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(|e| match &e {
                            sqlx::Error::Database(d) if d.is_unique_violation() => {
                                Error::conflict(format!(
                                    "label {name:?} of agent {agent:?} was created at the same time; move it again"
                                ))
                            }
                            _ => DB::db_err(e),
                        })?;
                    (None, 1)
                }
                Some(row) => {
                    let label = row.decode(DB::BACKEND)?;
                    if label.protected {
                        // Dropping the transaction rolls the counted move back.
                        check_approval(
                            &label,
                            Some(&request.by),
                            request.approved_by.as_deref(),
                            "a move",
                        )?;
                    }
                    sqlx::query(include_str!("sql/point_label.sql"))
                        .bind(agent)
                        .bind(name)
                        .bind(version.id.to_string())
                        .bind(now)
                        .execute(&mut *tx)
                        .await
                        .map_err(DB::db_err)?;
                    (
                        Some(label.version.to_string()),
                        i64::try_from(label.moves).unwrap_or(i64::MAX),
                    )
                }
            };
            sqlx::query(include_str!("sql/insert_move.sql"))
                .bind(agent)
                .bind(name)
                .bind(seq)
                .bind(from)
                .bind(version.id.to_string())
                .bind(request.by.as_str())
                .bind(request.approved_by.as_deref())
                .bind(request.reason.as_deref())
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err(DB::db_err)?;
            let row: LabelRow = sqlx::query_as(include_str!("sql/get_label.sql"))
                .bind(agent)
                .bind(name)
                .fetch_one(&mut *tx)
                .await
                .map_err(DB::db_err)?;
            Ok(row)
        }
        .await;
        let row = match moved {
            Ok(row) => row,
            Err(e) => {
                let _ = tx.rollback().await;
                return Err(e);
            }
        };
        tx.commit().await.map_err(DB::db_err)?;
        row.decode(DB::BACKEND)
    }

    async fn label(&self, agent: &str, label: &str) -> Result<Label> {
        check_label("agent name", agent)?;
        check_label("label", label)?;
        let row: Option<LabelRow> = sqlx::query_as(include_str!("sql/get_label.sql"))
            .bind(agent)
            .bind(label)
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        row.ok_or_else(|| Error::not_found("label", format!("{label} of agent {agent}")))?
            .decode(DB::BACKEND)
    }

    async fn labels(&self, agent: &str) -> Result<Vec<Label>> {
        check_label("agent name", agent)?;
        let rows: Vec<LabelRow> = sqlx::query_as(include_str!("sql/labels.sql"))
            .bind(agent)
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }

    async fn set_protected(
        &self,
        agent: &str,
        label: &str,
        protected: bool,
        approved_by: Option<&str>,
    ) -> Result<Label> {
        if let Some(a) = approved_by {
            check_label("approver", a)?;
        }
        let current = self.label(agent, label).await?;
        if current.protected && !protected {
            check_approval(&current, None, approved_by, "lifting its protection")?;
        }
        sqlx::query(include_str!("sql/protect_label.sql"))
            .bind(agent)
            .bind(label)
            .bind(i64::from(protected))
            .execute(&self.writer)
            .await
            .map_err(DB::db_err)?;
        self.label(agent, label).await
    }

    async fn history(&self, agent: &str, label: &str) -> Result<Vec<LabelMove>> {
        self.label(agent, label).await?;
        let rows: Vec<MoveRow> = sqlx::query_as(include_str!("sql/history.sql"))
            .bind(agent)
            .bind(label)
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_err)?;
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }
}
