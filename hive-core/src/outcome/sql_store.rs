//! The outcome store over SQL, written once for both engines: every
//! statement (`sql/*.sql`) is the same text in the embedded file and in
//! Postgres, and so is the decoding.

use std::str::FromStr;

use async_trait::async_trait;
use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Type};

use super::record::{GroupBy, Metrics, Outcome, OutcomeFilter, OutcomeStatus};
use super::store::{check_limit, OutcomeStore, MAX_LIMIT};
use crate::error::{Error, Result};
use crate::queue::TaskId;
use crate::storage::sql::SqlEngine;
use crate::time::from_ms;

/// The outcome store on a SQL engine: [`SqliteOutcomeStore`] or
/// [`PostgresOutcomeStore`].
///
/// [`SqliteOutcomeStore`]: super::sqlite::SqliteOutcomeStore
/// [`PostgresOutcomeStore`]: super::postgres::PostgresOutcomeStore
#[derive(Debug, Clone)]
pub struct SqlOutcomeStore<DB: Database> {
    /// Where writes go; on Postgres the same pool as `reader`.
    writer: Pool<DB>,
    reader: Pool<DB>,
}

impl<DB: Database> SqlOutcomeStore<DB> {
    /// A store on tables already migrated.
    pub(super) fn new(writer: Pool<DB>, reader: Pool<DB>) -> Self {
        SqlOutcomeStore { writer, reader }
    }
}

/// An outcome as stored.
#[derive(FromRow)]
struct OutcomeRow {
    task_id: String,
    queue: String,
    task_type: String,
    agent: Option<String>,
    prompt_version: Option<String>,
    experiment: Option<String>,
    arm: Option<String>,
    status: String,
    attempts: i64,
    wait_ms: i64,
    run_ms: i64,
    input_tokens: i64,
    output_tokens: i64,
    cost_usd: Option<f64>,
    score: Option<f64>,
    finished_at: i64,
}

fn unsigned(n: i64) -> u64 {
    u64::try_from(n).unwrap_or(0)
}

fn signed(n: u64) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX)
}

impl OutcomeRow {
    fn decode(self, backend: &'static str) -> Result<Outcome> {
        let corrupt = |what: &str, e: Error| {
            Error::backend(
                backend,
                format!("stored outcome has an unreadable {what}: {e}"),
            )
        };
        Ok(Outcome {
            task_id: TaskId::from_str(&self.task_id).map_err(|e| corrupt("task id", e))?,
            queue: self.queue,
            task_type: self.task_type,
            agent: self.agent,
            prompt_version: self.prompt_version,
            experiment: self.experiment,
            arm: self.arm,
            status: OutcomeStatus::from_str(&self.status).map_err(|e| corrupt("status", e))?,
            attempts: u32::try_from(self.attempts).unwrap_or(u32::MAX),
            wait_ms: unsigned(self.wait_ms),
            run_ms: unsigned(self.run_ms),
            input_tokens: unsigned(self.input_tokens),
            output_tokens: unsigned(self.output_tokens),
            cost_usd: self.cost_usd,
            score: self.score,
            finished_at: from_ms(self.finished_at),
        })
    }
}

/// One group's figures as `metrics.sql` answers them.
#[derive(FromRow)]
struct MetricsRow {
    key: Option<String>,
    tasks: i64,
    succeeded: i64,
    dead_lettered: i64,
    retries: Option<i64>,
    p50_run_ms: Option<i64>,
    p95_run_ms: Option<i64>,
    p50_wait_ms: Option<i64>,
    input_tokens: Option<i64>,
    output_tokens: Option<i64>,
    cost_usd: Option<f64>,
    priced: i64,
    mean_score: Option<f64>,
    scored: i64,
}

impl MetricsRow {
    fn into_metrics(self) -> Metrics {
        let tasks = unsigned(self.tasks);
        let ratio = |n: u64| {
            if tasks == 0 {
                0.0
            } else {
                n as f64 / tasks as f64
            }
        };
        let succeeded = unsigned(self.succeeded);
        let dead_lettered = unsigned(self.dead_lettered);
        let cost_usd = self.cost_usd.unwrap_or(0.0);
        Metrics {
            key: self.key,
            tasks,
            succeeded,
            dead_lettered,
            success_rate: ratio(succeeded),
            dead_letter_rate: ratio(dead_lettered),
            retries: unsigned(self.retries.unwrap_or(0)),
            p50_run_ms: unsigned(self.p50_run_ms.unwrap_or(0)),
            p95_run_ms: unsigned(self.p95_run_ms.unwrap_or(0)),
            p50_wait_ms: unsigned(self.p50_wait_ms.unwrap_or(0)),
            input_tokens: unsigned(self.input_tokens.unwrap_or(0)),
            output_tokens: unsigned(self.output_tokens.unwrap_or(0)),
            cost_usd,
            priced: unsigned(self.priced),
            cost_per_task: if tasks == 0 {
                0.0
            } else {
                cost_usd / tasks as f64
            },
            mean_score: self.mean_score,
            scored: unsigned(self.scored),
        }
    }
}

/// The bounds of a filter's time window, in stored milliseconds.
fn window(filter: &OutcomeFilter) -> (i64, i64) {
    (
        filter.since.map_or(i64::MIN, |t| t.timestamp_millis()),
        filter.until.map_or(i64::MAX, |t| t.timestamp_millis()),
    )
}

// The bounds spell out, for a generic engine, what sqlx gives both: a
// connection that runs statements, and the types bound and read.
#[async_trait]
impl<DB> OutcomeStore for SqlOutcomeStore<DB>
where
    DB: SqlEngine,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'c> &'c Pool<DB>: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> &'q str: Encode<'q, DB> + Type<DB>,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> Option<&'q str>: Encode<'q, DB> + Type<DB>,
    for<'q> Option<f64>: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'r> OutcomeRow: FromRow<'r, DB::Row>,
    for<'r> MetricsRow: FromRow<'r, DB::Row>,
{
    fn backend(&self) -> &'static str {
        DB::BACKEND
    }

    async fn record_many(&self, outcomes: &[Outcome]) -> Result<()> {
        if outcomes.len() > MAX_LIMIT {
            return Err(Error::invalid(format!(
                "record at most {MAX_LIMIT} outcomes at once, got {}",
                outcomes.len()
            )));
        }
        for o in outcomes {
            o.check()?;
        }
        if outcomes.is_empty() {
            return Ok(());
        }
        let mut tx = self.writer.begin().await.map_err(DB::db_err)?;
        for o in outcomes {
            sqlx::query(include_str!("sql/upsert.sql"))
                .bind(o.task_id.to_string())
                .bind(o.queue.as_str())
                .bind(o.task_type.as_str())
                .bind(o.agent.as_deref())
                .bind(o.prompt_version.as_deref())
                .bind(o.experiment.as_deref())
                .bind(o.arm.as_deref())
                .bind(o.status.as_str())
                .bind(i64::from(o.attempts))
                .bind(signed(o.wait_ms))
                .bind(signed(o.run_ms))
                .bind(signed(o.input_tokens))
                .bind(signed(o.output_tokens))
                .bind(o.cost_usd)
                .bind(o.score)
                .bind(o.finished_at.timestamp_millis())
                .execute(&mut *tx)
                .await
                .map_err(DB::db_or_input_err)?;
        }
        tx.commit().await.map_err(DB::db_err)
    }

    async fn get(&self, id: TaskId) -> Result<Outcome> {
        let row: Option<OutcomeRow> = sqlx::query_as(include_str!("sql/get.sql"))
            .bind(id.to_string())
            .fetch_optional(&self.reader)
            .await
            .map_err(DB::db_err)?;
        row.ok_or_else(|| Error::not_found("outcome of task", id))?
            .decode(DB::BACKEND)
    }

    async fn get_many(&self, ids: &[TaskId]) -> Result<Vec<Outcome>> {
        if ids.len() > MAX_LIMIT {
            return Err(Error::invalid(format!(
                "ask for at most {MAX_LIMIT} outcomes at once, got {}",
                ids.len()
            )));
        }
        let mut out = Vec::with_capacity(ids.len());
        // Chunks keep every statement well under both engines' limits on
        // bound parameters.
        for chunk in ids.chunks(500) {
            let mut qb = QueryBuilder::<DB>::new(
                "SELECT task_id, queue, task_type, agent, prompt_version, experiment, arm, \
                 status, attempts, wait_ms, run_ms, input_tokens, output_tokens, cost_usd, \
                 score, finished_at FROM hive_outcomes WHERE task_id IN (",
            );
            let mut list = qb.separated(", ");
            for id in chunk {
                list.push_bind(id.to_string());
            }
            qb.push(")");
            let rows: Vec<OutcomeRow> = DB::fetch_built(&mut qb, &self.reader)
                .await
                .map_err(DB::db_err)?;
            for r in rows {
                out.push(r.decode(DB::BACKEND)?);
            }
        }
        Ok(out)
    }

    async fn list(&self, filter: &OutcomeFilter, limit: usize) -> Result<Vec<Outcome>> {
        check_limit(limit)?;
        let (since, until) = window(filter);
        let rows: Vec<OutcomeRow> = sqlx::query_as(include_str!("sql/list.sql"))
            .bind(since)
            .bind(until)
            .bind(filter.agent.as_deref())
            .bind(filter.task_type.as_deref())
            .bind(filter.prompt_version.as_deref())
            .bind(filter.experiment.as_deref())
            .bind(i64::try_from(limit).unwrap_or(i64::MAX))
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        rows.into_iter().map(|r| r.decode(DB::BACKEND)).collect()
    }

    async fn metrics(&self, filter: &OutcomeFilter, group_by: GroupBy) -> Result<Vec<Metrics>> {
        let (since, until) = window(filter);
        // The key is a column name from a closed list, never caller text.
        let key = group_by.column().unwrap_or("CAST(NULL AS TEXT)");
        let sql = include_str!("sql/metrics.sql").replace("{key}", key);
        let rows: Vec<MetricsRow> = sqlx::query_as(&sql)
            .bind(since)
            .bind(until)
            .bind(filter.agent.as_deref())
            .bind(filter.task_type.as_deref())
            .bind(filter.prompt_version.as_deref())
            .bind(filter.experiment.as_deref())
            .fetch_all(&self.reader)
            .await
            .map_err(DB::db_or_input_err)?;
        let mut out: Vec<Metrics> = rows.into_iter().map(MetricsRow::into_metrics).collect();
        // Ordered here, not in SQL: the engines sort NULLs and text
        // differently.
        out.sort_by(|a, b| a.key.cmp(&b.key));
        Ok(out)
    }
}
