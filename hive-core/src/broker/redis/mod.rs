//! The Redis broker: one stream per topic, one consumer group per
//! subscription on each stream it reads.
//!
//! Layout (see [`scripts::Keys`]): a topic is a stream whose entries hold
//! the message as JSON; a sorted set lists the topics, and a hash the
//! subscriptions. A subscription is a consumer group named after it on
//! every stream its patterns match, made when the subscription is created
//! (for the topics that exist) or by the first fetch that meets a newer
//! topic (starting where the subscription started, so a durable
//! subscription misses nothing published after it was made). Each
//! subscription also reads a private replay stream (its replayed dead
//! letters) and writes a dead-letter topic. Pattern matching is done in
//! Rust ([`TopicPattern::matches`](crate::broker::TopicPattern::matches))
//! against the handle's list of topics ([`discovery`]).
//!
//! Offsets are stream ids packed into a `u64` ([`ids`]); times are the
//! server's (`TIME`, and the ids Redis assigns). Every state change is one
//! Lua script ([`scripts`]); with `appendfsync always`, Redis writes a
//! script's effects to its append-only file before it answers, so a
//! publish that returned survives a crash of Redis.
//!
//! Waiting fetches block on connections of their own
//! ([`Waiters`](crate::storage::redis::waiters::Waiters)) and are woken
//! early by new matching topics ([`discovery`]). The client reconnects on
//! its own after Redis restarts; while it is disconnected, calls fail at
//! once with [`Error::Backend`] rather than queue up, and a call in flight
//! when the connection drops is not resent (a script that ran but whose
//! answer was lost must not run twice).

mod discovery;
mod fetch;
mod ids;
mod publisher;
mod reply;
mod scripts;
mod subscriptions;

use std::collections::HashMap;
use std::sync::atomic::AtomicUsize;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use fred::interfaces::{ClientLike, HashesInterface, StreamsInterface};
use fred::prelude::{Client, Pool};
use fred::types::scripts::Script;
use fred::types::{Key, Value};

use self::discovery::{Discovery, TopicList};
use self::ids::{first_id, StreamId};
use self::publisher::{Publisher, Ready};
use self::reply::Entry;
use self::scripts::{Keys, SCRIPTS};
use self::subscriptions::{known_name, SubView};
use crate::broker::{
    Broker, BrokerConfig, DeadLetter, Delivery, Message, Nack, Offset, Published, Receipt, StartAt,
    StoredMessage, SubscriptionInfo, SubscriptionSpec, Topic, TrimReport,
};
use crate::error::{Error, Result};
use crate::storage::redis::reply::{array, int, malformed, tag};
use crate::storage::redis::waiters::Waiters;
use crate::storage::redis::{self as connection, close, live, redis_err, BACKEND};
use crate::time::duration_ms;

/// Receipts acknowledged, and dead letters replayed or purged, per script,
/// so one script stays short.
const BATCH: usize = 1_000;
/// Streams trimmed per script.
const TRIM_BATCH: usize = 500;

/// The default key prefix.
pub const DEFAULT_PREFIX: &str = "hive:broker";

/// How a [`RedisBroker`] lays out its keys.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RedisBrokerOptions {
    /// What every key starts with (followed by `:`). Brokers with different
    /// prefixes share a Redis without meeting. On a Redis Cluster, make it
    /// a hash tag (`{hive}`): the scripts touch several keys of a broker at
    /// once. Default [`DEFAULT_PREFIX`].
    pub prefix: String,
    /// Connections for calls other than waiting fetches (which take one of
    /// their own each). Concurrent calls are pipelined on each; several
    /// let Redis take in more commands per write to its append-only file,
    /// which is what limits durable publishing. Default 4.
    pub connections: usize,
}

impl Default for RedisBrokerOptions {
    fn default() -> Self {
        RedisBrokerOptions {
            prefix: DEFAULT_PREFIX.to_string(),
            connections: 4,
        }
    }
}

impl RedisBrokerOptions {
    /// Sets the key prefix.
    pub fn prefix(mut self, prefix: impl Into<String>) -> Self {
        self.prefix = prefix.into();
        self
    }

    fn validate(&self) -> Result<()> {
        if self.prefix.is_empty() || self.prefix.chars().any(char::is_whitespace) {
            return Err(Error::invalid(format!(
                "redis key prefix {:?} must be non-empty and without spaces",
                self.prefix
            )));
        }
        Ok(())
    }
}

/// The Redis broker.
#[derive(Debug)]
pub struct RedisBroker {
    config: BrokerConfig,
    keys: Keys,
    /// Connections for every call but blocking reads, taken in turn.
    pool: Pool,
    publisher: Publisher,
    /// Connections for waiting fetches: `XREAD BLOCK` holds the connection
    /// it runs on.
    waiters: Waiters,
    discovery: Discovery,
    /// What this handle knows of each subscription it fetched from.
    views: Mutex<HashMap<String, Arc<SubView>>>,
    /// Which stream a fetch reads first, turning, so no topic starves.
    rotation: AtomicUsize,
}

impl RedisBroker {
    /// Connects to Redis at `url` (`redis://[user:password@]host:port[/db]`)
    /// with the default key prefix.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL or config; [`Error::Backend`]
    /// when Redis cannot be reached.
    pub async fn open(url: &str, config: BrokerConfig) -> Result<Self> {
        Self::open_with(url, config, RedisBrokerOptions::default()).await
    }

    /// Connects to Redis at `url` with `options`.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn open_with(
        url: &str,
        config: BrokerConfig,
        options: RedisBrokerOptions,
    ) -> Result<Self> {
        config.validate()?;
        options.validate()?;
        let builder = connection::builder(url)?;
        let pool = builder
            .build_pool(options.connections.max(1))
            .map_err(redis_err)?;
        pool.init().await.map_err(redis_err)?;
        let keys = Keys::new(&options.prefix);
        let started = async {
            connection::scripts::load(pool.next(), SCRIPTS.all()).await?;
            Discovery::start(&builder, keys.channel()).await
        };
        let discovery = match started.await {
            Ok(d) => d,
            Err(e) => {
                pool.clients().iter().cloned().for_each(close);
                return Err(e);
            }
        };
        let cap = config
            .retention
            .max_messages
            .map(|n| n.to_string())
            .unwrap_or_default();
        Ok(RedisBroker {
            publisher: Publisher::start(pool.clone(), keys.clone(), cap),
            config,
            keys,
            pool,
            waiters: Waiters::new(builder),
            discovery,
            views: Mutex::new(HashMap::new()),
            rotation: AtomicUsize::new(0),
        })
    }

    /// Runs `script` on the broker's keys with `keys` and `args`.
    async fn run(&self, script: &Script, keys: Vec<Key>, args: Vec<Value>) -> Result<Value> {
        connection::scripts::run(self.live()?, script, self.keys.prefix(), keys, args).await
    }

    /// The next connection, if it is connected (see [`live`]).
    fn live(&self) -> Result<&Client> {
        live(self.pool.next_connected())
    }

    /// The topic list at `version` or later (`u64::MAX`: read it now).
    async fn topic_list(&self, version: u64) -> Result<Arc<TopicList>> {
        self.discovery
            .at_least(self.live()?, self.keys.topics(), version)
            .await
    }

    /// Runs the nack script on entry `id` of `topic`; `receipt` names it
    /// in errors.
    async fn nack_id(
        &self,
        name: &str,
        topic: &Topic,
        id: StreamId,
        receipt: &str,
        action: Nack,
    ) -> Result<()> {
        let (kind, after, reason) = match action {
            Nack::Retry { after } => ("retry", duration_ms(after), String::new()),
            Nack::Reject { reason } => ("reject", 0, reason),
        };
        let reply = array(
            self.run(
                &SCRIPTS.nack,
                self.keys.with([self.keys.stream(topic)]),
                vec![
                    Value::from(name),
                    Value::from(id.to_string()),
                    Value::from(kind),
                    Value::from(after),
                    Value::from(reason),
                ],
            )
            .await?,
        );
        match tag(&reply).as_str() {
            "ok" => Ok(()),
            "missing" => Err(Error::not_found("subscription", name)),
            "settled" => Err(settled(name, receipt)),
            "unknown" => Err(Error::not_found("receipt", receipt)),
            _ => Err(malformed("the nack script", &Value::Array(reply))),
        }
    }

    /// Runs the replay or purge script over `offsets` (or all dead
    /// letters); returns how many it moved or deleted.
    async fn on_dead_letters(
        &self,
        name: &str,
        offsets: Option<&[Offset]>,
        replay: bool,
    ) -> Result<u64> {
        known_name(name)?;
        let (script, keys) = if replay {
            (
                &SCRIPTS.replay,
                vec![self.keys.dead(name)?, self.keys.replay(name)?],
            )
        } else {
            (&SCRIPTS.purge, vec![self.keys.dead(name)?])
        };
        let once = |ids: Vec<Value>| {
            let keys = self.keys.with(keys.iter().cloned());
            async move {
                let mut args = vec![Value::from(name)];
                if replay {
                    args.push(Value::from(BATCH as i64));
                }
                args.extend(ids);
                let reply = array(self.run(script, keys, args).await?);
                match (tag(&reply).as_str(), reply.get(1).and_then(int)) {
                    ("ok", Some(n)) => Ok(u64::try_from(n).unwrap_or(0)),
                    ("missing", _) => Err(Error::not_found("subscription", name)),
                    _ => Err(malformed("a dead-letter script", &Value::Array(reply))),
                }
            }
        };
        let mut total = 0;
        match offsets {
            Some([]) => self.must_exist(name).await?,
            Some(offsets) => {
                for chunk in offsets.chunks(BATCH) {
                    let ids = chunk
                        .iter()
                        .map(|o| Value::from(StreamId::from_offset(*o).to_string()))
                        .collect();
                    total += once(ids).await?;
                }
            }
            // Purge takes everything in one go; replay moves a batch per
            // script.
            None if !replay => total = once(Vec::new()).await?,
            None => loop {
                let moved = once(Vec::new()).await?;
                total += moved;
                if moved < BATCH as u64 {
                    break;
                }
            },
        }
        Ok(total)
    }
}

/// The error for a receipt already acknowledged or dead-lettered.
fn settled(name: &str, receipt: &str) -> Error {
    Error::conflict(format!(
        "receipt {receipt} of subscription {name} was already acknowledged or dead-lettered"
    ))
}

impl Drop for RedisBroker {
    // The idle waiters close as `waiters` drops.
    fn drop(&mut self) {
        self.publisher.stop();
        self.pool.clients().iter().cloned().for_each(close);
        self.discovery.stop();
    }
}

#[async_trait]
impl Broker for RedisBroker {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    fn config(&self) -> &BrokerConfig {
        &self.config
    }

    async fn publish_batch(&self, messages: Vec<Message>) -> Result<Vec<Published>> {
        if messages.is_empty() {
            return Ok(Vec::new());
        }
        // Everything is checked before anything is sent: a refused batch
        // stores nothing.
        let mut ready = Vec::with_capacity(messages.len());
        for m in &messages {
            m.check(self.config.max_message_bytes)?;
            let body = serde_json::to_string(m).map_err(|e| {
                Error::invalid(format!("message {} cannot be serialised: {e}", m.id))
            })?;
            ready.push(Ready {
                topic: m.topic.clone(),
                body,
            });
        }
        let ids = self.publisher.publish(ready).await?;
        messages
            .iter()
            .zip(ids)
            .map(|(m, id)| {
                let id = StreamId::parse(&id)?;
                Ok(Published {
                    id: m.id,
                    topic: m.topic.clone(),
                    offset: id.offset()?,
                    published_at: id.time(),
                })
            })
            .collect()
    }

    async fn read(&self, topic: &Topic, from: StartAt, limit: usize) -> Result<Vec<StoredMessage>> {
        let Some(first) = first_id(from) else {
            return Ok(Vec::new());
        };
        if limit == 0 {
            return Ok(Vec::new());
        }
        let reply: Value = self
            .live()?
            .xrange(
                self.keys.stream(topic),
                first.to_string(),
                "+",
                Some(limit as u64),
            )
            .await
            .map_err(redis_err)?;
        let mut out = Vec::new();
        for entry in Entry::parse_all(reply)? {
            match entry.stored() {
                Ok(stored) => out.push(stored),
                // History goes on past an entry another program wrote.
                Err(e) => {
                    tracing::warn!(topic = %topic, id = %entry.id, error = %e, "skipping an unreadable entry")
                }
            }
        }
        Ok(out)
    }

    async fn topics(&self) -> Result<Vec<Topic>> {
        Ok(self.topic_list(u64::MAX).await?.topics.clone())
    }

    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<SubscriptionInfo> {
        self.create_or_resume(spec).await
    }

    async fn unsubscribe(&self, subscription: &str) -> Result<()> {
        self.delete(subscription).await
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionInfo>> {
        self.list_subscriptions().await
    }

    async fn fetch(
        &self,
        subscription: &str,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>> {
        self.fetch_deliveries(subscription, consumer, max, wait)
            .await
    }

    async fn ack(&self, subscription: &str, receipts: &[Receipt]) -> Result<()> {
        known_name(subscription)?;
        if receipts.is_empty() {
            return self.must_exist(subscription).await;
        }
        // Every good receipt is acknowledged; the first bad one is the error.
        let mut first_error = None;
        for chunk in receipts.chunks(BATCH) {
            let keys = self
                .keys
                .with(chunk.iter().map(|r| self.keys.stream(&r.topic)));
            let mut args = Vec::with_capacity(chunk.len() + 1);
            args.push(Value::from(subscription));
            args.extend(
                chunk
                    .iter()
                    .map(|r| Value::from(StreamId::from_offset(r.offset).to_string())),
            );
            let reply = array(self.run(&SCRIPTS.ack, keys, args).await?);
            match tag(&reply).as_str() {
                "ok" => {}
                "missing" => return Err(Error::not_found("subscription", subscription)),
                _ => return Err(malformed("the ack script", &Value::Array(reply))),
            }
            let codes = reply.into_iter().nth(1).map(array).unwrap_or_default();
            if codes.len() != chunk.len() {
                return Err(Error::backend(
                    BACKEND,
                    "the ack script answered too few codes",
                ));
            }
            for (receipt, code) in chunk.iter().zip(codes) {
                let error = match int(&code) {
                    Some(1) => continue,
                    Some(2) => settled(subscription, &receipt.to_string()),
                    _ => Error::not_found("receipt", receipt),
                };
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    async fn nack(&self, subscription: &str, receipt: &Receipt, action: Nack) -> Result<()> {
        known_name(subscription)?;
        self.nack_id(
            subscription,
            &receipt.topic,
            StreamId::from_offset(receipt.offset),
            &receipt.to_string(),
            action,
        )
        .await
    }

    async fn seek(&self, subscription: &str, to: StartAt) -> Result<()> {
        self.move_to(subscription, to).await
    }

    async fn dead_letters(&self, subscription: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        self.must_exist(subscription).await?;
        if limit == 0 {
            return Ok(Vec::new());
        }
        let reply: Value = self
            .live()?
            .xrange(self.keys.dead(subscription)?, "-", "+", Some(limit as u64))
            .await
            .map_err(redis_err)?;
        let mut out = Vec::new();
        for entry in Entry::parse_all(reply)? {
            match entry.dead_letter(subscription) {
                Ok(d) => out.push(d),
                Err(e) => tracing::warn!(
                    subscription, id = %entry.id, error = %e, "skipping an unreadable dead letter"
                ),
            }
        }
        Ok(out)
    }

    async fn replay_dead_letters(
        &self,
        subscription: &str,
        offsets: Option<&[Offset]>,
    ) -> Result<u64> {
        self.on_dead_letters(subscription, offsets, true).await
    }

    async fn purge_dead_letters(
        &self,
        subscription: &str,
        offsets: Option<&[Offset]>,
    ) -> Result<u64> {
        self.on_dead_letters(subscription, offsets, false).await
    }

    async fn trim(&self) -> Result<TrimReport> {
        let retention = &self.config.retention;
        if retention.max_messages.is_none() && retention.max_age.is_none() {
            return Ok(TrimReport::default());
        }
        let list = self.topic_list(u64::MAX).await?;
        let names: Vec<String> = self
            .live()?
            .hkeys(self.keys.subs())
            .await
            .map_err(redis_err)?;
        let mut streams: Vec<Key> = list.topics.iter().map(|t| self.keys.stream(t)).collect();
        streams.extend(names.iter().filter_map(|n| self.keys.replay(n).ok()));
        let keep = retention
            .max_messages
            .map(|n| n.to_string())
            .unwrap_or_default();
        let age = retention
            .max_age
            .map(|a| duration_ms(a).to_string())
            .unwrap_or_default();
        let mut report = TrimReport::default();
        for chunk in streams.chunks(TRIM_BATCH) {
            let removed = array(
                self.run(
                    &SCRIPTS.trim,
                    self.keys.with(chunk.iter().cloned()),
                    vec![Value::from(keep.as_str()), Value::from(age.as_str())],
                )
                .await?,
            );
            for n in removed.iter().filter_map(int).filter(|n| *n > 0) {
                report.topics += 1;
                report.removed += n as u64;
            }
        }
        Ok(report)
    }
}
