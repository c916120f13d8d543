//! [`EventedBroker`]: the broker, emitting `message.published` events.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{event, Evented};
use crate::broker::{
    Broker, BrokerConfig, DeadLetter, Delivery, Message, Nack, Offset, Published, Receipt, StartAt,
    StoredMessage, SubscriptionInfo, SubscriptionSpec, Topic, TrimReport,
};
use crate::error::Result;
use crate::events::event::kinds;

/// A broker that reports what is published to an
/// [`EventHub`](crate::events::EventHub) (who sent what kind of message
/// where; not the payload), and counts what this process publishes and
/// delivers through the `metrics` facade (`hive_broker_published_total`,
/// `hive_broker_delivered_total`, `hive_broker_redelivered_total`; a no-op
/// unless the program installed a recorder, as `hive-server` does).
pub(crate) type EventedBroker = Evented<dyn Broker>;

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl Broker for EventedBroker {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    fn config(&self) -> &BrokerConfig {
        self.inner.config()
    }

    async fn publish_batch(&self, messages: Vec<Message>) -> Result<Vec<Published>> {
        let described: Vec<_> = messages
            .iter()
            .map(|m| (m.kind.clone(), m.from.clone(), m.to.clone()))
            .collect();
        let ticket = self.hub.ticket();
        let published = self.inner.publish_batch(messages).await?;
        metrics::counter!("hive_broker_published_total").increment(published.len() as u64);
        let events = published
            .iter()
            .zip(described)
            .map(|(p, (kind, from, to))| {
                event(
                    kinds::MESSAGE_PUBLISHED,
                    p.id,
                    json!({
                        "topic": p.topic,
                        "offset": p.offset,
                        "kind": kind,
                        "from": from,
                        "to": to,
                    }),
                )
            });
        ticket.fill(events.collect());
        Ok(published)
    }

    async fn read(&self, topic: &Topic, from: StartAt, limit: usize) -> Result<Vec<StoredMessage>> {
        self.inner.read(topic, from, limit).await
    }

    async fn topics(&self) -> Result<Vec<Topic>> {
        self.inner.topics().await
    }

    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<SubscriptionInfo> {
        self.inner.subscribe(spec).await
    }

    async fn unsubscribe(&self, subscription: &str) -> Result<()> {
        self.inner.unsubscribe(subscription).await
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionInfo>> {
        self.inner.subscriptions().await
    }

    async fn fetch(
        &self,
        subscription: &str,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>> {
        let deliveries = self.inner.fetch(subscription, consumer, max, wait).await?;
        let again = deliveries.iter().filter(|d| d.deliveries > 1).count();
        metrics::counter!("hive_broker_delivered_total").increment(deliveries.len() as u64);
        metrics::counter!("hive_broker_redelivered_total").increment(again as u64);
        Ok(deliveries)
    }

    async fn ack(&self, subscription: &str, receipts: &[Receipt]) -> Result<()> {
        self.inner.ack(subscription, receipts).await
    }

    async fn nack(&self, subscription: &str, receipt: &Receipt, action: Nack) -> Result<()> {
        self.inner.nack(subscription, receipt, action).await
    }

    async fn seek(&self, subscription: &str, to: StartAt) -> Result<()> {
        self.inner.seek(subscription, to).await
    }

    async fn dead_letters(&self, subscription: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        self.inner.dead_letters(subscription, limit).await
    }

    async fn replay_dead_letters(
        &self,
        subscription: &str,
        offsets: Option<&[Offset]>,
    ) -> Result<u64> {
        self.inner.replay_dead_letters(subscription, offsets).await
    }

    async fn purge_dead_letters(
        &self,
        subscription: &str,
        offsets: Option<&[Offset]>,
    ) -> Result<u64> {
        self.inner.purge_dead_letters(subscription, offsets).await
    }

    async fn trim(&self) -> Result<TrimReport> {
        self.inner.trim().await
    }
}
