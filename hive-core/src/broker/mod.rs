//! The message broker: topics, durable subscriptions, ordering, redelivery,
//! dead letters and replay — one contract, an embedded and a Redis backend.
//!
//! [`Broker`] is the contract; [`BrokerExt`] adds conveniences; [`open`]
//! picks a backend from a URL; [`Subscriber`] turns fetch/ack into a loop
//! that survives restarts of the backend. The backends are
//! [`sqlite::SqliteBroker`] (an append-only table and in-process wake-ups,
//! the default) and [`redis::RedisBroker`] (one stream per topic, one
//! consumer group per subscription). A Postgres broker may come later; a
//! Postgres deployment pairs the Redis broker with the Postgres
//! [`history`] store. [`crate::conformance::broker`] holds one test per
//! contract clause, run against each backend.

mod config;
mod message;
mod subscriber;
mod subscription;
mod topic;

pub mod history;
#[cfg(feature = "redis")]
pub mod redis;
pub mod router;
#[cfg(feature = "sqlite")]
pub mod sqlite;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;

pub use config::{BrokerConfig, Retention, TrimReport};
pub use message::{Message, MessageId, DEFAULT_MAX_MESSAGE_BYTES};
pub use subscriber::{Subscriber, SubscriberOptions};
pub use subscription::{
    check_fetch, check_name, dead_letter_headers, DeadLetter, Delivery, Nack, Offset, Published,
    Receipt, StartAt, StoredMessage, SubscriptionInfo, SubscriptionSpec, DEFAULT_ACK_TIMEOUT,
    DEFAULT_MAX_DELIVERIES, MAX_FETCH, MAX_SUBSCRIPTION_NAME_LEN,
};
pub use topic::{Topic, TopicPattern, BROADCAST, MAX_TOKENS, MAX_TOPIC_LEN, RESERVED_PREFIX};

use crate::error::{Error, Result};
use crate::storage::{scheme, Engine};

/// A durable publish/subscribe log of messages with named subscriptions.
///
/// Publishers write to concrete topics; subscriptions listen to patterns.
/// Every subscription receives its own copy of each matching message (so a
/// message on [`Topic::broadcast`] reaches every agent); the consumers that
/// fetch under one subscription name share its messages, each message going
/// to one of them at a time. Implementations are shared as
/// `Arc<dyn Broker>` and every method may be called concurrently from many
/// tasks, processes and machines.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::broker`].
///
/// - **Publish is durable and ordered.** `publish_batch` answers once every
///   message is stored, in the batch's order, each with its offset; offsets
///   grow in publish order within a topic.
///   (`publish_returns_increasing_offsets`)
/// - **Publish is validated.** An empty kind, a message over
///   [`BrokerConfig::max_message_bytes`] or a topic of the broker's own
///   (`_hive.…`) is rejected with [`Error::InvalidInput`] and nothing of the
///   batch is stored. (Malformed topics and patterns cannot be built at
///   all: see [`Topic::new`].) (`publish_rejects_bad_input_and_stores_nothing`)
/// - **History.** `read` returns a topic's retained messages from a position,
///   in offset order, at most `limit`.
///   (`read_returns_history_from_a_position`)
/// - **Per-topic order.** A consumer alone on a subscription receives each
///   topic's messages in publish order.
///   (`subscriber_sees_each_topic_in_publish_order`)
/// - **Durable subscriptions.** A subscription exists from `subscribe` until
///   `unsubscribe`, whether or not anyone fetches. A consumer that returns
///   after an absence receives everything published to matching topics
///   meanwhile — topics created meanwhile included — in order.
///   (`durable_subscriber_catches_up_after_reconnect`)
/// - **Start positions.** A new subscription starts at its
///   [`StartAt`]: only new messages, the beginning, an offset or a time.
///   Subscribing again with the same name and patterns resumes it (the start
///   is ignored; ack timeout and max deliveries are updated); with other
///   patterns it is [`Error::Conflict`].
///   (`new_subscription_starts_where_asked`)
/// - **Wildcards and fan-out.** A subscription receives exactly the messages
///   whose topic matches one of its patterns (`*` one token, `>` the rest);
///   each subscription receives its own copy. Leading wildcards do not match
///   the broker's `_hive.…` topics.
///   (`wildcards_route_to_matching_subscriptions`)
/// - **Shared consumption.** Consumers fetching under one subscription never
///   receive the same message while its delivery is in flight.
///   (`consumers_of_a_subscription_share_its_messages`)
/// - **At least once.** A delivery is in flight until acknowledged. An
///   acknowledged message is never delivered to that subscription again
///   (unless it is sought back over).
///   (`acked_messages_are_not_redelivered`)
/// - **Redelivery.** A delivery not acknowledged within the ack timeout is
///   delivered again, to any consumer of the subscription, with
///   `deliveries` counting up. (`unacked_messages_are_redelivered_after_ack_timeout`)
/// - **Dead letters.** A message whose ack timeout runs out after
///   `max_deliveries` deliveries is not delivered again: it moves to the
///   subscription's dead-letter topic ([`Topic::dead_letters`]) with the
///   reason. (`dead_letters_after_max_deliveries`)
/// - **Dead-letter replay and purge.** `replay_dead_letters` delivers dead
///   letters again to their subscription only (starting again at one
///   delivery) and removes them from the dead-letter topic;
///   `purge_dead_letters` deletes them. Both take the offsets to act on, or
///   all. (`dead_letters_replay_to_their_subscription_and_purge`)
/// - **Nack.** `nack` with [`Nack::Retry`] makes a delivery due again after
///   the given delay; with [`Nack::Reject`] dead-letters it at once with the
///   given reason. (`nack_retries_or_rejects`)
/// - **Acks are checked.** `ack` of a receipt the subscription never had is
///   [`Error::NotFound`]; of one already acknowledged (or dead-lettered),
///   [`Error::Conflict`]. The other receipts of the batch are acknowledged
///   regardless. An unknown subscription is [`Error::NotFound`] for every
///   method that names one. (`ack_rejects_unknown_and_repeated_receipts`)
/// - **Seek.** `seek` moves a subscription to a position: messages from
///   there on are delivered again. (`seek_replays_from_offset_or_time`)
/// - **Retention.** `trim` removes, per topic, messages beyond
///   [`Retention::max_messages`] (oldest first) and older than
///   [`Retention::max_age`]. (`trim_applies_retention`)
/// - **Wake-ups.** A `fetch` waiting for messages returns soon after a
///   matching publish through any handle in this process (and, for
///   networked backends, any process); it returns empty when its wait runs
///   out. (`fetch_wakes_on_publish`)
/// - **Management.** Names and specs are validated ([`SubscriptionSpec::validate`]);
///   `subscriptions` lists them with pending and dead-letter counts;
///   `unsubscribe` deletes one with its pending state.
///   (`subscriptions_are_validated_and_managed`)
///
/// # Errors
///
/// [`Error::InvalidInput`] and [`Error::Conflict`] for calls the contract
/// forbids, [`Error::NotFound`] for unknown subscriptions and receipts,
/// [`Error::Backend`] when storage fails (check [`Error::is_transient`] and
/// retry). A failed call leaves nothing half done.
///
/// # Cancellation
///
/// Each call is one atomic step (a transaction or a Lua script). A dropped
/// `fetch` may have delivered messages that nobody will see: they are in
/// flight and come back after the ack timeout.
#[async_trait]
pub trait Broker: Send + Sync + std::fmt::Debug {
    /// The backend's name: `"sqlite"` or `"redis"`.
    fn backend(&self) -> &'static str;

    /// The configuration this handle was opened with.
    fn config(&self) -> &BrokerConfig;

    /// Stores a batch of messages atomically; answers in the batch's order.
    async fn publish_batch(&self, messages: Vec<Message>) -> Result<Vec<Published>>;

    /// A topic's retained messages from `from`, oldest first, at most `limit`.
    async fn read(&self, topic: &Topic, from: StartAt, limit: usize) -> Result<Vec<StoredMessage>>;

    /// The topics that hold (or held) messages, sorted.
    async fn topics(&self) -> Result<Vec<Topic>>;

    /// Creates the durable subscription, or resumes it.
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<SubscriptionInfo>;

    /// Deletes a subscription, its in-flight deliveries and its dead letters.
    async fn unsubscribe(&self, subscription: &str) -> Result<()>;

    /// Every subscription, by name.
    async fn subscriptions(&self) -> Result<Vec<SubscriptionInfo>>;

    /// Delivers up to `max` messages to `consumer`: due redeliveries first,
    /// then new messages. Waits up to `wait` when there are none.
    async fn fetch(
        &self,
        subscription: &str,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>>;

    /// Acknowledges deliveries.
    async fn ack(&self, subscription: &str, receipts: &[Receipt]) -> Result<()>;

    /// Gives a delivery back: retry later, or dead-letter now.
    async fn nack(&self, subscription: &str, receipt: &Receipt, action: Nack) -> Result<()>;

    /// Moves a subscription to a position; what follows is delivered again.
    async fn seek(&self, subscription: &str, to: StartAt) -> Result<()>;

    /// A subscription's dead letters, oldest first, at most `limit`.
    async fn dead_letters(&self, subscription: &str, limit: usize) -> Result<Vec<DeadLetter>>;

    /// Delivers dead letters again to their subscription (those at the
    /// given dead-letter offsets, or all). Returns how many.
    async fn replay_dead_letters(
        &self,
        subscription: &str,
        offsets: Option<&[Offset]>,
    ) -> Result<u64>;

    /// Deletes dead letters (those at the given offsets, or all). Returns
    /// how many.
    async fn purge_dead_letters(
        &self,
        subscription: &str,
        offsets: Option<&[Offset]>,
    ) -> Result<u64>;

    /// Applies [`BrokerConfig::retention`] to every topic.
    async fn trim(&self) -> Result<TrimReport>;
}

/// Conveniences over any [`Broker`]; implemented for every broker, never by
/// hand.
#[async_trait]
pub trait BrokerExt: Broker {
    /// Publishes one message.
    async fn publish(&self, message: Message) -> Result<Published> {
        let mut out = self.publish_batch(vec![message]).await?;
        out.pop()
            .ok_or_else(|| Error::backend(self.backend(), "publish answered nothing"))
    }

    /// Acknowledges one delivery.
    async fn ack_one(&self, subscription: &str, receipt: &Receipt) -> Result<()> {
        self.ack(subscription, std::slice::from_ref(receipt)).await
    }
}

impl<B: Broker + ?Sized> BrokerExt for B {}

/// Opens a broker from a URL: `sqlite://path/to/hive.db` (or
/// `sqlite::memory:`) or `redis://host:port/db`.
///
/// # Errors
/// [`Error::InvalidInput`] for an unknown scheme or a bad config,
/// [`Error::NotSupported`] for a backend this build left out (naming its
/// cargo feature), [`Error::Backend`] when the store cannot be reached or
/// migrated.
pub async fn open(url: &str, config: BrokerConfig) -> Result<Arc<dyn Broker>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(sqlite::SqliteBroker::open(url, config).await?)),
        #[cfg(feature = "redis")]
        Some(Engine::Redis) => Ok(Arc::new(redis::RedisBroker::open(url, config).await?)),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Redis)) => Err(engine.left_out()),
        Some(Engine::Postgres) | None => Err(Error::invalid(format!(
            "unknown broker URL scheme {:?}: use sqlite:// or redis://",
            scheme(url)
        ))),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn open_picks_a_backend_by_scheme() -> Result<()> {
        let b = open("sqlite::memory:", BrokerConfig::default()).await?;
        assert_eq!(b.backend(), "sqlite");
        assert_eq!(b.config(), &BrokerConfig::default());
        let err = open("kafka://x", BrokerConfig::default()).await.err();
        assert!(
            matches!(&err, Some(Error::InvalidInput(m)) if m.contains("unknown broker URL scheme")),
            "{err:?}"
        );
        let bad = BrokerConfig {
            max_message_bytes: 0,
            ..Default::default()
        };
        assert!(open("sqlite::memory:", bad).await.is_err());
        Ok(())
    }
}
