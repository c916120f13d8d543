//! What the two SQL context stores share: a [`Filter`] as SQL — one
//! definition of what each field means, so SQLite and Postgres cannot drift
//! apart — and the reads that are the same on both ([`get`], [`list`],
//! [`count`]). Times are milliseconds since the epoch and tiers their
//! integer codes in both.
//!
//! Searches, writes and how an entry's vector is stored are each backend's
//! own: an in-memory index kept in step by generations in SQLite, pgvector
//! and HNSW in Postgres.

use sqlx::{Database, Encode, Executor, FromRow, IntoArguments, Pool, QueryBuilder, Type};

use super::entry::{ContextEntry, EntryId, ModelSpec};
use super::query::{Filter, TierCounts};
use super::row::RawEntry;
use crate::error::{Error, Result};
use crate::storage::sql::{SqlEngine, SqlUuid};

/// What the shared reads say differently on each engine.
pub(crate) trait Dialect: SqlEngine {
    /// An entry's columns as [`RawEntry`] reads them.
    const COLUMNS: &'static str;
    /// [`Dialect::COLUMNS`] of the entry with id `$1`.
    const GET: &'static str;
}

/// Entry `id`.
///
/// # Errors
/// [`Error::NotFound`] for an id the store does not hold.
pub(crate) async fn get<DB>(pool: &Pool<DB>, id: EntryId) -> Result<ContextEntry>
where
    DB: Dialect,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    for<'q> DB::Arguments<'q>: IntoArguments<'q, DB>,
    for<'q> SqlUuid: Encode<'q, DB> + Type<DB>,
    for<'r> RawEntry: FromRow<'r, DB::Row>,
{
    let row: Option<RawEntry> = sqlx::query_as(DB::GET)
        .bind(SqlUuid(id.0))
        .fetch_optional(pool)
        .await
        .map_err(DB::db_or_input_err)?;
    row.ok_or_else(|| Error::not_found("context entry", id))?
        .into_entry(DB::BACKEND)
}

/// At most `limit` entries of `model` passing `filter`, oldest first.
///
/// # Errors
/// [`Error::InvalidInput`] for a filter [`Filter::check`] refuses.
pub(crate) async fn list<DB>(
    pool: &Pool<DB>,
    model: &ModelSpec,
    filter: &Filter,
    limit: usize,
) -> Result<Vec<ContextEntry>>
where
    DB: Dialect,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'r> RawEntry: FromRow<'r, DB::Row>,
{
    filter.check()?;
    if limit == 0 {
        return Ok(Vec::new());
    }
    let mut qb = QueryBuilder::<DB>::new(format!(
        "SELECT {} FROM context_entries WHERE model = ",
        DB::COLUMNS
    ));
    qb.push_bind(model.id.clone());
    push_filter(&mut qb, filter);
    qb.push(" ORDER BY created_at, id LIMIT ")
        .push_bind(i64::try_from(limit).unwrap_or(i64::MAX));
    let rows: Vec<RawEntry> = DB::fetch_built(&mut qb, pool)
        .await
        .map_err(DB::db_or_input_err)?;
    rows.into_iter()
        .map(|r| r.into_entry(DB::BACKEND))
        .collect()
}

/// How many entries of `model` pass `filter`, by tier.
///
/// # Errors
/// [`Error::InvalidInput`] for a filter [`Filter::check`] refuses.
pub(crate) async fn count<DB>(
    pool: &Pool<DB>,
    model: &ModelSpec,
    filter: &Filter,
) -> Result<TierCounts>
where
    DB: Dialect,
    for<'q> String: Encode<'q, DB> + Type<DB>,
    for<'q> i64: Encode<'q, DB> + Type<DB>,
    for<'q> f64: Encode<'q, DB> + Type<DB>,
    for<'q> bool: Encode<'q, DB> + Type<DB>,
    for<'r> (i16, i64): FromRow<'r, DB::Row>,
{
    filter.check()?;
    let mut qb =
        QueryBuilder::<DB>::new("SELECT tier, COUNT(*) FROM context_entries WHERE model = ");
    qb.push_bind(model.id.clone());
    push_filter(&mut qb, filter);
    qb.push(" GROUP BY tier");
    let rows: Vec<(i16, i64)> = DB::fetch_built(&mut qb, pool)
        .await
        .map_err(DB::db_or_input_err)?;
    let rows = rows.into_iter().map(|(tier, n)| (i64::from(tier), n));
    TierCounts::from_rows(rows.collect(), DB::BACKEND)
}

/// Appends ` AND …` for every field of `filter` (none for an empty one).
pub(crate) fn push_filter<'a, DB>(qb: &mut QueryBuilder<'a, DB>, filter: &Filter)
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
    f64: Encode<'a, DB> + Type<DB>,
    bool: Encode<'a, DB> + Type<DB>,
{
    if let Some(agent) = &filter.agent {
        qb.push(" AND agent = ").push_bind(agent.clone());
    }
    if let Some(session) = &filter.session {
        qb.push(" AND session = ").push_bind(session.clone());
    }
    if !filter.tiers.is_empty() {
        qb.push(" AND tier IN (");
        let mut list = qb.separated(", ");
        for t in &filter.tiers {
            list.push_bind(i64::from(t.code()));
        }
        qb.push(")");
    }
    if !filter.kinds.is_empty() {
        qb.push(" AND kind IN (");
        let mut list = qb.separated(", ");
        for k in &filter.kinds {
            list.push_bind(k.as_str().to_string());
        }
        qb.push(")");
    }
    if let Some(t) = filter.created_after {
        qb.push(" AND created_at >= ")
            .push_bind(t.timestamp_millis());
    }
    if let Some(t) = filter.created_before {
        qb.push(" AND created_at < ")
            .push_bind(t.timestamp_millis());
    }
    if let Some(p) = filter.pinned {
        qb.push(" AND pinned = ").push_bind(p);
    }
    if let Some(t) = filter.accessed_before {
        qb.push(" AND accessed_at < ")
            .push_bind(t.timestamp_millis());
    }
    // Importance is stored as a 32-bit float: compare with the same float
    // widened, so 0.7 means the stored 0.7.
    if let Some(i) = filter.min_importance {
        qb.push(" AND importance >= ").push_bind(f64::from(i));
    }
    if let Some(i) = filter.below_importance {
        qb.push(" AND importance < ").push_bind(f64::from(i));
    }
    if let Some(n) = filter.min_access_count {
        qb.push(" AND access_count >= ")
            .push_bind(i64::try_from(n).unwrap_or(i64::MAX));
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;
    use sqlx::Sqlite;

    use super::*;
    use crate::context::{Kind, Tier};

    #[test]
    fn every_field_becomes_a_clause() {
        let now = Utc::now();
        let f = Filter::any()
            .agent("a")
            .session("s")
            .tier(Tier::Short)
            .tier(Tier::Long)
            .kind(Kind::fact())
            .created_between(now, now)
            .accessed_before(now)
            .pinned(true)
            .min_importance(0.5)
            .below_importance(0.9)
            .min_access_count(3);
        let mut qb = QueryBuilder::<Sqlite>::new("WHERE model = 'm'");
        push_filter(&mut qb, &f);
        assert_eq!(
            qb.sql(),
            "WHERE model = 'm' AND agent = ? AND session = ? AND tier IN (?, ?) AND kind IN (?) \
             AND created_at >= ? AND created_at < ? AND pinned = ? AND accessed_at < ? \
             AND importance >= ? AND importance < ? AND access_count >= ?"
        );
    }
}
