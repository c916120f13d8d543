//! A [`Filter`] as SQL, for both SQL backends: one definition of what each
//! field means, so SQLite and Postgres cannot drift apart. Times are
//! milliseconds since the epoch and tiers their integer codes in both.

use sqlx::{Database, Encode, QueryBuilder, Type};

use super::query::Filter;

/// Appends ` AND …` for every field of `filter` (none for an empty one).
/// `accessed_before` is left out when `for_search` (searches ignore it).
pub(crate) fn push_filter<'a, DB>(qb: &mut QueryBuilder<'a, DB>, filter: &Filter, for_search: bool)
where
    DB: Database,
    String: Encode<'a, DB> + Type<DB>,
    i64: Encode<'a, DB> + Type<DB>,
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
    if let (Some(t), false) = (filter.accessed_before, for_search) {
        qb.push(" AND accessed_at < ")
            .push_bind(t.timestamp_millis());
    }
    if let Some(p) = filter.pinned {
        qb.push(" AND pinned = ").push_bind(p);
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
            .pinned(true);
        let mut qb = QueryBuilder::<Sqlite>::new("WHERE model = 'm'");
        push_filter(&mut qb, &f, false);
        assert_eq!(
            qb.sql(),
            "WHERE model = 'm' AND agent = ? AND session = ? AND tier IN (?, ?) AND kind IN (?) \
             AND created_at >= ? AND created_at < ? AND accessed_at < ? AND pinned = ?"
        );
        let mut qb = QueryBuilder::<Sqlite>::new("");
        push_filter(&mut qb, &f.accessed_before(now), true);
        assert!(!qb.sql().contains("accessed_at"));
    }
}
