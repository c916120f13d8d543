//! A [`HistoryQuery`] turned into SQL, and the paging loop that honours its
//! limit when SQL alone cannot tell which topics a pattern matches.
//!
//! Why the `WHERE` clause is assembled here, against the house rule of SQL
//! in files: a query names any subset of six filters. One file per subset
//! would be dozens of near-copies, and the usual single statement with
//! `(? IS NULL OR col = ?)` terms hides every index from SQLite's planner
//! (and from Postgres's generic plans), turning a lookup of one conversation
//! into a scan of all history. So the fixed part (`select.sql`) lives in a
//! file per backend, and each filter adds one short, bound term. Both
//! backends share this code through sqlx's `QueryBuilder`, which writes
//! each backend's placeholders.
//!
//! Topic patterns become an index range on their literal prefix (the tokens
//! before the first wildcard: `agent.*.inbox` scans `agent.` up to
//! `agent/`), and leading wildcards exclude the `_hive.` range. When that
//! is the whole meaning of the pattern (`events.>`, `>`), SQL filters
//! exactly; otherwise ([`Plan::check`]) rows are checked with
//! [`TopicPattern::matches`] and the loop in [`collect`] fetches further
//! pages until the limit is filled or history runs out.

use std::future::Future;

use sqlx::{Encode, QueryBuilder, Type};

use super::query::{HistoryQuery, Order, MAX_LIMIT};
use super::row::{ceil_ms, uuid_text, HistoryRow, Position};
use super::sql_store::Dialect;
use crate::broker::{StoredMessage, TopicPattern, RESERVED_PREFIX};
use crate::error::Result;

/// The smallest page fetched when rows must be checked in Rust: matches may
/// be sparse, and every page is a round trip.
const MIN_CHECKED_PAGE: usize = 256;

/// The query in SQL's terms.
#[derive(Debug)]
pub(super) struct Plan<'q> {
    /// `topic = ?`.
    exact_topic: Option<String>,
    /// `topic >= from AND topic < to`.
    topic_range: Option<(String, String)>,
    /// Leave out the broker's own topics.
    skip_reserved: bool,
    /// A pattern SQL only approximates: rows are checked in Rust.
    check: Option<&'q TopicPattern>,
    agent: Option<&'q str>,
    correlation_id: Option<String>,
    kind: Option<&'q str>,
    since: Option<i64>,
    until: Option<i64>,
    order: Order,
    limit: usize,
}

/// The literal prefix of a pattern with a wildcard (`agent.` for
/// `agent.*.inbox`; empty for `>`), and whether the pattern is that prefix
/// followed by `>` alone, which the prefix range expresses exactly.
fn literal_prefix(pattern: &str) -> (String, bool) {
    let mut prefix = String::new();
    let mut tokens = pattern.split('.').peekable();
    while let Some(token) = tokens.next() {
        match token {
            ">" => return (prefix, true),
            "*" => return (prefix, false),
            literal => {
                prefix.push_str(literal);
                prefix.push('.');
                if tokens.peek().is_none() {
                    // No wildcard at all; callers handle exact patterns.
                    return (prefix, false);
                }
            }
        }
    }
    (prefix, false)
}

/// The range of topics starting with `prefix`, which ends with a dot: up to
/// the same text with the dot raised to `/`, the next byte.
fn prefix_range(prefix: &str) -> (String, String) {
    let stem = prefix.strip_suffix('.').unwrap_or(prefix);
    (prefix.to_owned(), format!("{stem}/"))
}

impl<'q> Plan<'q> {
    /// Lowers a validated query.
    pub fn new(q: &'q HistoryQuery) -> Self {
        let mut plan = Plan {
            exact_topic: None,
            topic_range: None,
            skip_reserved: false,
            check: None,
            agent: q.agent.as_deref(),
            correlation_id: q.correlation_id.map(uuid_text),
            kind: q.kind.as_deref(),
            since: q.since.map(ceil_ms),
            until: q.until.map(ceil_ms),
            order: q.order,
            limit: q.limit,
        };
        if let Some(pattern) = &q.topic {
            if pattern.is_exact() {
                plan.exact_topic = Some(pattern.as_str().to_owned());
            } else {
                let (prefix, exact) = literal_prefix(pattern.as_str());
                if prefix.is_empty() {
                    plan.skip_reserved = true;
                } else {
                    plan.topic_range = Some(prefix_range(&prefix));
                }
                if !exact {
                    plan.check = Some(pattern);
                }
            }
        }
        plan
    }

    /// How many rows to ask for, given how many are still wanted.
    fn page_size(&self, wanted: usize) -> usize {
        if self.check.is_some() {
            (wanted * 2).clamp(MIN_CHECKED_PAGE, MAX_LIMIT)
        } else {
            wanted
        }
    }

    /// One page of candidate rows after `after`, as a statement for `DB`.
    pub fn page<'a, DB>(&self, after: Option<&Position>, size: usize) -> QueryBuilder<'a, DB>
    where
        DB: Dialect,
        DB::Arguments<'a>: Default,
        String: Encode<'a, DB> + Type<DB>,
        i64: Encode<'a, DB> + Type<DB>,
    {
        let mut b = QueryBuilder::new(DB::SELECT);
        b.push(" WHERE 1 = 1");
        if let Some(topic) = &self.exact_topic {
            b.push(" AND topic = ").push_bind(topic.clone());
        }
        if let Some((from, to)) = &self.topic_range {
            b.push(" AND topic >= ").push_bind(from.clone());
            b.push(" AND topic < ").push_bind(to.clone());
        }
        if self.skip_reserved {
            let (from, to) = prefix_range(&format!("{RESERVED_PREFIX}."));
            b.push(" AND NOT (topic >= ").push_bind(from);
            b.push(" AND topic < ").push_bind(to).push(")");
        }
        if let Some(agent) = self.agent {
            b.push(" AND (from_agent = ").push_bind(agent.to_owned());
            b.push(" OR to_agent = ")
                .push_bind(agent.to_owned())
                .push(")");
        }
        if let Some(correlation) = &self.correlation_id {
            b.push(" AND correlation_id = ")
                .push_bind(correlation.clone())
                .push(DB::UUID_CAST);
        }
        if let Some(kind) = self.kind {
            b.push(" AND kind = ").push_bind(kind.to_owned());
        }
        if let Some(since) = self.since {
            b.push(" AND published_at >= ").push_bind(since);
        }
        if let Some(until) = self.until {
            b.push(" AND published_at < ").push_bind(until);
        }
        let (cmp, dir) = match self.order {
            Order::OldestFirst => (">", "ASC"),
            Order::NewestFirst => ("<", "DESC"),
        };
        if let Some(p) = after {
            // Written out rather than as a row comparison so that SQLite,
            // too, reads it as a range on `published_at`.
            b.push(format_args!(" AND published_at {cmp}= "))
                .push_bind(p.published_at);
            b.push(format_args!(" AND (published_at {cmp} "))
                .push_bind(p.published_at);
            b.push(format_args!(" OR id {cmp} "))
                .push_bind(p.id.clone())
                .push(DB::UUID_CAST)
                .push(")");
        }
        b.push(format_args!(
            " ORDER BY published_at {dir}, id {dir} LIMIT "
        ))
        .push_bind(i64::try_from(size).unwrap_or(i64::MAX));
        b
    }
}

/// Runs `plan` through `fetch_page` (which runs [`Plan::page`]) until the
/// limit is filled or a short page shows history has run out.
pub(super) async fn collect<F, Fut>(
    plan: &Plan<'_>,
    backend: &'static str,
    start: Option<Position>,
    mut fetch_page: F,
) -> Result<Vec<StoredMessage>>
where
    F: FnMut(Option<Position>, usize) -> Fut,
    Fut: Future<Output = Result<Vec<HistoryRow>>>,
{
    let mut out = Vec::new();
    let mut after = start;
    loop {
        let size = plan.page_size(plan.limit - out.len());
        let rows = fetch_page(after.clone(), size).await?;
        let exhausted = rows.len() < size;
        after = rows.last().map(HistoryRow::position).or(after);
        for row in rows {
            if let Some(pattern) = plan.check {
                if !pattern.matches(&row.topic(backend)?) {
                    continue;
                }
            }
            out.push(row.decode(backend)?);
            if out.len() == plan.limit {
                return Ok(out);
            }
        }
        if exhausted {
            return Ok(out);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, prefix: &str, exact: bool) {
        assert_eq!(
            literal_prefix(pattern),
            (prefix.to_owned(), exact),
            "{pattern}"
        );
    }

    #[test]
    fn patterns_become_prefix_ranges() {
        check("agent.*.inbox", "agent.", false);
        check("events.>", "events.", true);
        check("a.b.*", "a.b.", false);
        check(">", "", true);
        check("*.x", "", false);
        assert_eq!(
            prefix_range("agent."),
            ("agent.".to_owned(), "agent/".to_owned())
        );
    }

    #[test]
    fn plans_check_in_rust_only_what_sql_cannot() {
        let lower = |p: &str| {
            let q = HistoryQuery::new().topic(TopicPattern::new(p).expect("pattern"));
            let plan = Plan::new(&q);
            (
                plan.exact_topic.is_some(),
                plan.topic_range.is_some(),
                plan.skip_reserved,
                plan.check.is_some(),
            )
        };
        assert_eq!(lower("a.b"), (true, false, false, false));
        assert_eq!(lower("a.>"), (false, true, false, false));
        assert_eq!(lower("a.*.c"), (false, true, false, true));
        assert_eq!(lower(">"), (false, false, true, false));
        assert_eq!(lower("*.c"), (false, false, true, true));
        assert_eq!(lower("_hive.>"), (false, true, false, false));
    }
}
