//! A consumer loop over [`Broker::fetch`]: one delivery at a time, batched
//! underneath, and resilient to the backend going away.
//!
//! The broker's methods are stateless calls; a long-lived consumer wants a
//! `next()` that waits, buffers a batch, and rides out a Redis restart by
//! retrying transient errors with backoff instead of giving up. That loop is
//! the same for every backend, so it lives here once.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;

use super::subscription::check_name;
use super::{Broker, Delivery, Nack, SubscriptionInfo, SubscriptionSpec};
use crate::error::Result;

/// How a [`Subscriber`] fetches.
#[derive(Clone, Debug)]
pub struct SubscriberOptions {
    /// This consumer's name within the subscription. Default: `c-` and a
    /// random suffix. Reusing a name after a crash is harmless: recovery
    /// goes by ack timeout, not by consumer.
    pub consumer: String,
    /// Deliveries fetched per call. Default 64. Buffered deliveries are in
    /// flight, so their ack timeout runs while they wait in the buffer.
    pub batch: usize,
    /// How long one fetch waits for messages. Default 5 s.
    pub wait: Duration,
    /// Longest pause between retries while the backend fails. Default 2 s.
    pub max_backoff: Duration,
}

impl Default for SubscriberOptions {
    fn default() -> Self {
        SubscriberOptions {
            consumer: format!("c-{}", &uuid::Uuid::new_v4().simple().to_string()[..8]),
            batch: 64,
            wait: Duration::from_secs(5),
            max_backoff: Duration::from_secs(2),
        }
    }
}

/// One consumer of a durable subscription.
///
/// ```
/// use std::time::Duration;
/// use hive_core::broker::{self, BrokerConfig, BrokerExt, Message, Subscriber, SubscriptionSpec, Topic};
/// use serde_json::json;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> hive_core::Result<()> {
/// let broker = broker::open("sqlite::memory:", BrokerConfig::default()).await?;
/// let mut inbox = Subscriber::new(
///     broker.clone(),
///     SubscriptionSpec::agent("reviewer")?,
///     Default::default(),
/// )
/// .await?;
/// broker.publish(Message::direct("reviewer", "review", json!({"pr": 7}))?).await?;
/// let delivery = inbox.next().await?;
/// assert_eq!(delivery.message.payload["pr"], 7);
/// inbox.ack(&delivery).await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct Subscriber {
    broker: Arc<dyn Broker>,
    name: String,
    options: SubscriberOptions,
    buffer: VecDeque<Delivery>,
}

impl Subscriber {
    /// Creates (or resumes) the subscription `spec` and joins it as
    /// `options.consumer`.
    ///
    /// # Errors
    /// What [`Broker::subscribe`] returns, and [`crate::Error::InvalidInput`]
    /// for a bad consumer name or a zero batch.
    pub async fn new(
        broker: Arc<dyn Broker>,
        spec: SubscriptionSpec,
        options: SubscriberOptions,
    ) -> Result<Self> {
        check_name("consumer", &options.consumer)?;
        if options.batch == 0 || options.batch > super::MAX_FETCH {
            return Err(crate::Error::invalid(format!(
                "subscriber batch must be 1 to {}",
                super::MAX_FETCH
            )));
        }
        let info = broker.subscribe(spec).await?;
        Ok(Subscriber {
            broker,
            name: info.name,
            options,
            buffer: VecDeque::new(),
        })
    }

    /// The subscription's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// This consumer's name.
    pub fn consumer(&self) -> &str {
        &self.options.consumer
    }

    /// The subscription as the broker holds it now.
    ///
    /// # Errors
    /// [`crate::Error::NotFound`] when it was deleted; backend errors.
    pub async fn info(&self) -> Result<SubscriptionInfo> {
        self.broker
            .subscriptions()
            .await?
            .into_iter()
            .find(|s| s.name == self.name)
            .ok_or_else(|| crate::Error::not_found("subscription", &self.name))
    }

    /// The next delivery, waiting as long as it takes. Transient backend
    /// errors are retried with backoff (logged at `warn`), so a consumer
    /// resumes by itself after the backend comes back.
    ///
    /// # Errors
    /// Errors that retrying cannot fix, such as the subscription being
    /// deleted ([`crate::Error::NotFound`]).
    pub async fn next(&mut self) -> Result<Delivery> {
        loop {
            if let Some(d) = self.next_timeout(self.options.wait).await? {
                return Ok(d);
            }
        }
    }

    /// The next delivery, or `None` when none arrives within `timeout`.
    ///
    /// # Errors
    /// As [`next`](Self::next).
    pub async fn next_timeout(&mut self, timeout: Duration) -> Result<Option<Delivery>> {
        if let Some(d) = self.buffer.pop_front() {
            return Ok(Some(d));
        }
        let deadline = tokio::time::Instant::now() + timeout;
        let mut backoff = Duration::from_millis(50);
        loop {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            match self
                .broker
                .fetch(
                    &self.name,
                    &self.options.consumer,
                    self.options.batch,
                    left.min(self.options.wait),
                )
                .await
            {
                Ok(batch) => {
                    self.buffer.extend(batch);
                    if let Some(d) = self.buffer.pop_front() {
                        return Ok(Some(d));
                    }
                    backoff = Duration::from_millis(50);
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(
                        subscription = %self.name,
                        consumer = %self.options.consumer,
                        error = %e,
                        "fetch failed; retrying"
                    );
                    tokio::time::sleep(backoff.min(left)).await;
                    backoff = (backoff * 2).min(self.options.max_backoff);
                }
                Err(e) => return Err(e),
            }
            if tokio::time::Instant::now() >= deadline {
                return Ok(None);
            }
        }
    }

    /// Acknowledges a delivery.
    ///
    /// # Errors
    /// As [`Broker::ack`].
    pub async fn ack(&self, delivery: &Delivery) -> Result<()> {
        self.broker
            .ack(&self.name, std::slice::from_ref(&delivery.receipt))
            .await
    }

    /// Gives a delivery back.
    ///
    /// # Errors
    /// As [`Broker::nack`].
    pub async fn nack(&self, delivery: &Delivery, action: Nack) -> Result<()> {
        self.broker
            .nack(&self.name, &delivery.receipt, action)
            .await
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::broker::{self, BrokerConfig, BrokerExt, Message, StartAt, Topic};
    use crate::Error;

    async fn memory() -> Result<Arc<dyn Broker>> {
        broker::open("sqlite::memory:", BrokerConfig::default()).await
    }

    #[tokio::test]
    async fn options_are_checked_before_subscribing() -> Result<()> {
        let b = memory().await?;
        let spec = SubscriptionSpec::new("s", ["a.>"])?;
        for (options, mentions) in [
            (
                SubscriberOptions {
                    consumer: "no spaces".into(),
                    ..Default::default()
                },
                "not allowed",
            ),
            (
                SubscriberOptions {
                    batch: 0,
                    ..Default::default()
                },
                "batch must be 1 to",
            ),
        ] {
            let err = Subscriber::new(b.clone(), spec.clone(), options)
                .await
                .err()
                .map(|e| e.to_string())
                .unwrap_or_default();
            assert!(err.contains(mentions), "{err}");
        }
        assert!(b.subscriptions().await?.is_empty(), "nothing subscribed");
        Ok(())
    }

    #[tokio::test]
    async fn a_subscriber_reads_acks_nacks_and_reports() -> Result<()> {
        let b = memory().await?;
        let mut sub = Subscriber::new(
            b.clone(),
            SubscriptionSpec::new("audit", ["a.>"])?.start_at(StartAt::Beginning),
            SubscriberOptions {
                consumer: "c1".into(),
                batch: 2,
                ..Default::default()
            },
        )
        .await?;
        assert_eq!((sub.name(), sub.consumer()), ("audit", "c1"));
        assert!(sub.next_timeout(Duration::from_millis(50)).await?.is_none());
        let topic = Topic::new("a.b")?;
        for n in 0..3 {
            b.publish(Message::new(topic.clone(), "k", json!(n)))
                .await?;
        }
        let first = sub.next().await?;
        let second = sub.next().await?;
        assert_eq!(
            (
                first.message.payload.clone(),
                second.message.payload.clone()
            ),
            (json!(0), json!(1))
        );
        sub.ack(&first).await?;
        sub.nack(
            &second,
            Nack::Reject {
                reason: "bad".into(),
            },
        )
        .await?;
        let info = sub.info().await?;
        assert_eq!((info.pending, info.dead_letters), (0, 1));
        let third = sub.next().await?;
        assert_eq!(third.message.payload, json!(2));
        b.unsubscribe("audit").await?;
        assert!(matches!(sub.info().await, Err(Error::NotFound { .. })));
        assert!(matches!(
            sub.next_timeout(Duration::from_millis(50)).await,
            Err(Error::NotFound { .. })
        ));
        Ok(())
    }
}
