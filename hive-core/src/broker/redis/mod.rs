//! The Redis broker: one stream per topic, one consumer group per
//! subscription (being built).

use std::time::Duration;

use async_trait::async_trait;

use crate::broker::{
    Broker, BrokerConfig, DeadLetter, Delivery, Message, Nack, Offset, Published, Receipt, StartAt,
    StoredMessage, SubscriptionInfo, SubscriptionSpec, Topic, TrimReport,
};
use crate::error::{Error, Result};

/// The Redis broker.
#[derive(Debug)]
pub struct RedisBroker {
    config: BrokerConfig,
}

impl RedisBroker {
    /// Connects to Redis at `url`.
    ///
    /// # Errors
    /// Not built yet.
    pub async fn open(_url: &str, _config: BrokerConfig) -> Result<Self> {
        Err(Error::NotSupported {
            operation: "open",
            backend: "redis",
        })
    }
}

fn todo() -> Error {
    Error::NotSupported {
        operation: "broker",
        backend: "redis",
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn backend(&self) -> &'static str {
        "redis"
    }
    fn config(&self) -> &BrokerConfig {
        &self.config
    }
    async fn publish_batch(&self, _messages: Vec<Message>) -> Result<Vec<Published>> {
        Err(todo())
    }
    async fn read(&self, _t: &Topic, _from: StartAt, _limit: usize) -> Result<Vec<StoredMessage>> {
        Err(todo())
    }
    async fn topics(&self) -> Result<Vec<Topic>> {
        Err(todo())
    }
    async fn subscribe(&self, _spec: SubscriptionSpec) -> Result<SubscriptionInfo> {
        Err(todo())
    }
    async fn unsubscribe(&self, _s: &str) -> Result<()> {
        Err(todo())
    }
    async fn subscriptions(&self) -> Result<Vec<SubscriptionInfo>> {
        Err(todo())
    }
    async fn fetch(&self, _s: &str, _c: &str, _max: usize, _w: Duration) -> Result<Vec<Delivery>> {
        Err(todo())
    }
    async fn ack(&self, _s: &str, _r: &[Receipt]) -> Result<()> {
        Err(todo())
    }
    async fn nack(&self, _s: &str, _r: &Receipt, _a: Nack) -> Result<()> {
        Err(todo())
    }
    async fn seek(&self, _s: &str, _to: StartAt) -> Result<()> {
        Err(todo())
    }
    async fn dead_letters(&self, _s: &str, _l: usize) -> Result<Vec<DeadLetter>> {
        Err(todo())
    }
    async fn replay_dead_letters(&self, _s: &str, _o: Option<&[Offset]>) -> Result<u64> {
        Err(todo())
    }
    async fn purge_dead_letters(&self, _s: &str, _o: Option<&[Offset]>) -> Result<u64> {
        Err(todo())
    }
    async fn trim(&self) -> Result<TrimReport> {
        Err(todo())
    }
}
