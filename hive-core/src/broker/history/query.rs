//! What a history query asks for: filters, a time range, an order, a limit
//! and where to continue. One plain struct, so the HTTP API can take it as
//! JSON (or a query string) and hand it over unchanged.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::broker::{MessageId, TopicPattern};
use crate::error::{Error, Result};

/// Messages a query returns when it names no limit.
pub const DEFAULT_LIMIT: usize = 100;
/// Most messages one query may return; walk further with
/// [`HistoryQuery::after`].
pub const MAX_LIMIT: usize = 1000;

/// The order of a query's results. Both go by `published_at`, ties by
/// message id.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Order {
    /// Oldest first. The default.
    #[default]
    OldestFirst,
    /// Newest first: "the last 50 messages".
    NewestFirst,
}

/// A history query. Every filter is optional and those given must all hold.
/// Build one with [`HistoryQuery::new`] and the chained setters.
///
/// ```
/// use hive_core::broker::history::{HistoryQuery, Order};
/// use hive_core::broker::TopicPattern;
/// # fn main() -> hive_core::Result<()> {
/// let q = HistoryQuery::new()
///     .topic(TopicPattern::new("agent.*.inbox")?)
///     .agent("planner")
///     .newest_first()
///     .limit(50);
/// q.validate()?;
/// assert_eq!(q.order, Order::NewestFirst);
/// // The same query as the HTTP API takes it; absent fields take defaults.
/// let json: HistoryQuery = serde_json::from_str(
///     r#"{"topic": "agent.*.inbox", "agent": "planner", "order": "newest_first", "limit": 50}"#,
/// )
/// .map_err(hive_core::Error::invalid)?;
/// assert_eq!(json, q);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct HistoryQuery {
    /// Messages whose topic this pattern matches, as a subscription's would.
    pub topic: Option<TopicPattern>,
    /// Messages sent by this agent or addressed to it.
    pub agent: Option<String>,
    /// Messages of one conversation: those with this correlation id.
    pub correlation_id: Option<Uuid>,
    /// Messages of this kind.
    pub kind: Option<String>,
    /// Messages published at this time or later.
    pub since: Option<DateTime<Utc>>,
    /// Messages published before this time.
    pub until: Option<DateTime<Utc>>,
    /// Continue after this message, in this query's order: pass the last
    /// message of the previous page.
    pub after: Option<MessageId>,
    /// Most messages returned: 1 to [`MAX_LIMIT`]. Default [`DEFAULT_LIMIT`].
    pub limit: usize,
    /// Oldest or newest first. Default oldest first.
    pub order: Order,
}

impl Default for HistoryQuery {
    fn default() -> Self {
        HistoryQuery {
            topic: None,
            agent: None,
            correlation_id: None,
            kind: None,
            since: None,
            until: None,
            after: None,
            limit: DEFAULT_LIMIT,
            order: Order::OldestFirst,
        }
    }
}

impl HistoryQuery {
    /// Everything, oldest first, [`DEFAULT_LIMIT`] at a time.
    pub fn new() -> Self {
        Self::default()
    }

    /// Only topics `pattern` matches (a [`Topic`](crate::broker::Topic)
    /// converts into the pattern that matches just itself).
    pub fn topic(mut self, pattern: impl Into<TopicPattern>) -> Self {
        self.topic = Some(pattern.into());
        self
    }

    /// Only messages from or to `agent`.
    pub fn agent(mut self, agent: impl Into<String>) -> Self {
        self.agent = Some(agent.into());
        self
    }

    /// Only the conversation `correlation_id`.
    pub fn correlation(mut self, correlation_id: Uuid) -> Self {
        self.correlation_id = Some(correlation_id);
        self
    }

    /// Only messages of `kind`.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only messages published at `t` or later.
    pub fn since(mut self, t: DateTime<Utc>) -> Self {
        self.since = Some(t);
        self
    }

    /// Only messages published before `t`.
    pub fn until(mut self, t: DateTime<Utc>) -> Self {
        self.until = Some(t);
        self
    }

    /// Continue after message `id`.
    pub fn after(mut self, id: MessageId) -> Self {
        self.after = Some(id);
        self
    }

    /// At most `n` messages.
    pub fn limit(mut self, n: usize) -> Self {
        self.limit = n;
        self
    }

    /// Sets the order.
    pub fn order(mut self, order: Order) -> Self {
        self.order = order;
        self
    }

    /// Newest first.
    pub fn newest_first(self) -> Self {
        self.order(Order::NewestFirst)
    }

    /// Checks the limit, the names and the time range.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the problem.
    pub fn validate(&self) -> Result<()> {
        if self.limit == 0 || self.limit > MAX_LIMIT {
            return Err(Error::invalid(format!(
                "history limit must be 1 to {MAX_LIMIT}, not {}",
                self.limit
            )));
        }
        if self.agent.as_deref().is_some_and(|a| a.trim().is_empty()) {
            return Err(Error::invalid("history agent filter must not be empty"));
        }
        if self.kind.as_deref().is_some_and(|k| k.trim().is_empty()) {
            return Err(Error::invalid("history kind filter must not be empty"));
        }
        if let (Some(since), Some(until)) = (self.since, self.until) {
            if since > until {
                return Err(Error::invalid(format!(
                    "history time range starts ({since}) after it ends ({until})"
                )));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_and_json_agree() {
        let q: HistoryQuery = serde_json::from_str("{}").expect("empty query");
        assert_eq!(q, HistoryQuery::new());
        assert_eq!(q.limit, DEFAULT_LIMIT);
        assert_eq!(q.order, Order::OldestFirst);
        assert!(serde_json::from_str::<HistoryQuery>(r#"{"topik": "a"}"#).is_err());
        assert!(serde_json::from_str::<HistoryQuery>(r#"{"topic": "a.>.b"}"#).is_err());
        let full = HistoryQuery::new()
            .topic(TopicPattern::new("a.*").expect("pattern"))
            .agent("x")
            .correlation(Uuid::nil())
            .kind("k")
            .since(DateTime::UNIX_EPOCH)
            .until(Utc::now())
            .after(MessageId(Uuid::nil()))
            .limit(7)
            .newest_first();
        let back: HistoryQuery =
            serde_json::from_value(serde_json::to_value(&full).expect("ser")).expect("de");
        assert_eq!(back, full);
    }

    #[test]
    fn validate_names_the_problem() {
        let cases = [
            (HistoryQuery::new().limit(0), "limit"),
            (HistoryQuery::new().limit(MAX_LIMIT + 1), "limit"),
            (HistoryQuery::new().agent(" "), "agent"),
            (HistoryQuery::new().kind(""), "kind"),
            (
                HistoryQuery::new()
                    .since(Utc::now())
                    .until(DateTime::UNIX_EPOCH),
                "time range",
            ),
        ];
        for (q, expected) in cases {
            let err = q.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        assert!(HistoryQuery::new().limit(MAX_LIMIT).validate().is_ok());
    }
}
