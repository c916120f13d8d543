//! Message history: a queryable record of what went through the broker, by
//! topic, by agent and by conversation.
//!
//! The broker keeps a log per topic for delivery, and trims it by its own
//! [`Retention`](crate::broker::Retention): a log sized for subscribers that
//! fall behind, not for questions such as "what did the planner say to the
//! coder yesterday" or "show me conversation X". A [`MessageStore`] answers
//! those: one row per message, indexed by topic, sender, recipient,
//! correlation id and publish time. The broker's retention never touches it;
//! [`MessageStore::purge_before`] is its own retention, run by whoever owns
//! the deployment.
//!
//! A [`HistoryRecorder`] fills the store from a durable subscription (by
//! default every user topic), so history survives restarts of either side
//! and records each message once. The backends are
//! [`sqlite::SqliteMessageStore`] (the embedded deployment: the same file as
//! the queue and the broker) and [`postgres::PostgresMessageStore`] (the
//! distributed deployment, next to the Redis broker).
//! [`crate::conformance::history`] holds one test per contract clause.

mod plan;
mod query;
mod row;

#[cfg(feature = "postgres")]
pub mod postgres;
pub mod recorder;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_store;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

pub use query::{HistoryQuery, Order, DEFAULT_LIMIT, MAX_LIMIT};
pub use recorder::{HistoryRecorder, RecorderOptions, DEFAULT_RECORDER_NAME};

use super::{MessageId, StoredMessage};
use crate::error::{Error, Result};
use crate::storage::{scheme, Engine};

/// A store of past messages, queried by topic, agent, conversation, kind and
/// time.
///
/// ```
/// use chrono::Utc;
/// use hive_core::broker::history::{sqlite::SqliteMessageStore, HistoryQuery, MessageStore};
/// use hive_core::broker::{Message, Offset, StoredMessage};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> hive_core::Result<()> {
/// let store = SqliteMessageStore::open("sqlite::memory:").await?;
/// let hello = Message::direct("coder", "hello", json!({"text": "hi"}))?.from_agent("planner");
/// let stored = StoredMessage { message: hello, offset: Offset(1), published_at: Utc::now() };
/// assert_eq!(store.record(&[stored.clone()]).await?, 1);
/// assert_eq!(store.record(&[stored]).await?, 0, "recording again changes nothing");
/// let from_planner = store.query(&HistoryQuery::new().agent("planner")).await?;
/// assert_eq!(from_planner[0].message.kind, "hello");
/// # Ok(()) }
/// ```
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::history`].
///
/// - **Record and get.** `get` returns a recorded message as it was
///   recorded, its times kept to the millisecond (finer digits are dropped,
///   as everywhere in hive-core). Every handle on the store sees it. An id
///   never recorded, or purged, is [`Error::NotFound`].
///   (`record_then_get_round_trips`)
/// - **Idempotent by id.** Recording an id the store holds changes nothing,
///   even when the content differs: the first record wins. `record` returns
///   how many messages of the batch were new; an id repeated within a batch
///   counts once; an empty batch stores nothing and returns 0.
///   (`record_is_idempotent_by_id`)
/// - **Order.** `query` returns messages ordered by `published_at`, ties by
///   message id: oldest first by default, newest first with
///   [`Order::NewestFirst`]. (`query_orders_by_publish_time_then_id`)
/// - **Topic patterns.** A topic filter selects exactly the messages whose
///   topic it matches by [`TopicPattern::matches`](crate::broker::TopicPattern::matches):
///   a topic, `*` for one token, `>` for the rest, and leading wildcards
///   that pass over the broker's `_hive.…` topics.
///   (`query_matches_topics_like_subscriptions`)
/// - **Limits.** `query` returns at most `limit` messages, and exactly
///   `limit` when more match, however sparse a wildcard's matches are among
///   other topics. (`query_fills_its_limit_across_sparse_matches`)
/// - **Agents.** An agent filter selects the messages sent by that agent or
///   addressed to it. (`query_by_agent_matches_sender_or_recipient`)
/// - **Filters combine.** The correlation id (a conversation) and kind
///   filters select by equality, and a query returns only messages that
///   pass every filter it names. (`query_filters_combine`)
/// - **Time range.** `since` and `until` bound `published_at`: `since` is
///   included, `until` is not. (`query_time_range_is_half_open`)
/// - **Paging.** `after` continues a query after a message, in the query's
///   order, so pages of `limit` walk through any number of matches without
///   repeats or gaps; a message the store does not hold is
///   [`Error::NotFound`]. (`query_pages_after_a_message`)
/// - **Queries are validated.** A limit of 0 or above [`MAX_LIMIT`], an
///   empty agent or kind, or `since` after `until` is
///   [`Error::InvalidInput`]. (`query_rejects_bad_input`)
/// - **Retention.** `purge_before(t)` deletes the messages published before
///   `t`, and only those, and returns how many.
///   (`purge_before_removes_only_older_messages`)
///
/// # Errors
///
/// [`Error::InvalidInput`] for a query the contract forbids, or a message
/// the backend cannot hold (an offset beyond `i64::MAX`; on Postgres, a
/// `\u0000` in a payload or header, which `jsonb` refuses) — nothing of
/// that batch is stored. [`Error::NotFound`] as above. [`Error::Backend`]
/// when storage fails (check [`Error::is_transient`] and retry).
///
/// # Cancellation
///
/// `record` is one transaction: a dropped call stored all of its batch or
/// none. `purge_before` deletes in chunks of a few thousand rows (so it
/// never holds the database for long); a dropped or failed purge may have
/// deleted some of what it would have, and running it again finishes.
#[async_trait]
pub trait MessageStore: Send + Sync + std::fmt::Debug {
    /// The backend's name: `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Stores messages not stored yet; returns how many were new.
    async fn record(&self, messages: &[StoredMessage]) -> Result<u64>;

    /// The messages that match `query`, in its order, at most its limit.
    async fn query(&self, query: &HistoryQuery) -> Result<Vec<StoredMessage>>;

    /// One message by id.
    async fn get(&self, id: MessageId) -> Result<StoredMessage>;

    /// Deletes the messages published before `before`; returns how many.
    async fn purge_before(&self, before: DateTime<Utc>) -> Result<u64>;
}

/// Opens a message store from a URL: `sqlite://path/to/hive.db` (or
/// `sqlite::memory:`) or `postgres://user@host:port/db`.
///
/// # Errors
/// [`Error::InvalidInput`] for an unknown scheme or a bad URL,
/// [`Error::NotSupported`] for a backend this build left out (naming its
/// cargo feature), [`Error::Backend`] when the store cannot be reached or
/// migrated.
pub async fn open(url: &str) -> Result<Arc<dyn MessageStore>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(sqlite::SqliteMessageStore::open(url).await?)),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(postgres::PostgresMessageStore::open(url).await?)),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "unknown message store URL scheme {:?}: use sqlite:// or postgres://",
            scheme(url)
        ))),
    }
}
