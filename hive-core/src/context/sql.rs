//! A [`Filter`] as SQL, for both SQL backends: one definition of what each
//! field means, so SQLite and Postgres cannot drift apart. Times are
//! milliseconds since the epoch and tiers their integer codes in both.

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::query::Filter;

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
