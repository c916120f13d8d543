//! The history recorder's loop against a scripted in-memory broker: what it
//! does when the broker fails, when an acknowledgement is lost, when the
//! store refuses a message, and when it is asked to stop.
//!
//! The fake broker exists because these are failures a real backend cannot
//! be made to produce on cue; the recorder's end-to-end test against the
//! SQLite broker is `history_sqlite::particular::recorder_records_what_the_sqlite_broker_delivers`.
//! The fake keeps one subscription and just enough state: a log, a cursor,
//! deliveries in flight, and failures the test arms.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use hive_core::broker::history::sqlite::SqliteMessageStore;
use hive_core::broker::history::{HistoryQuery, HistoryRecorder, MessageStore, RecorderOptions};
use hive_core::broker::{
    Broker, BrokerConfig, DeadLetter, Delivery, Message, MessageId, Nack, Offset, Published,
    Receipt, StartAt, StoredMessage, SubscriptionInfo, SubscriptionSpec, Topic, TrimReport,
};
use hive_core::{Error, Result};
use serde_json::json;

#[derive(Debug, Default)]
struct State {
    /// Every message published, at offset = index + 1.
    log: Vec<Message>,
    /// The next log index never delivered.
    cursor: usize,
    /// Delivered and not acknowledged, by offset.
    in_flight: BTreeMap<u64, Message>,
    /// In-flight offsets to deliver again (their "ack timeout" ran out).
    expired: Vec<u64>,
    acked: Vec<u64>,
    rejected: Vec<(u64, String)>,
    subscription: Option<SubscriptionSpec>,
    /// Transient failures armed for the next calls.
    failing_fetches: u32,
    failing_acks: u32,
}

#[derive(Debug, Default)]
struct FakeBroker {
    config: BrokerConfig,
    state: Mutex<State>,
}

impl FakeBroker {
    fn state(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().expect("state lock")
    }

    fn publish_now(&self, messages: Vec<Message>) {
        self.state().log.extend(messages);
    }

    /// As if the ack timeout of everything in flight ran out.
    fn expire_in_flight(&self) {
        let mut s = self.state();
        s.expired = s.in_flight.keys().copied().collect();
    }

    fn receipt(m: &Message, offset: u64) -> Receipt {
        Receipt {
            topic: m.topic.clone(),
            offset: Offset(offset),
        }
    }

    fn down() -> Error {
        Error::backend("fake", "the broker is down")
    }

    fn unsupported() -> Error {
        Error::NotSupported {
            operation: "this",
            backend: "fake",
        }
    }

    fn check_subscription(s: &State, name: &str) -> Result<()> {
        match &s.subscription {
            Some(spec) if spec.name == name => Ok(()),
            _ => Err(Error::not_found("subscription", name)),
        }
    }
}

#[async_trait]
impl Broker for FakeBroker {
    fn backend(&self) -> &'static str {
        "fake"
    }
    fn config(&self) -> &BrokerConfig {
        &self.config
    }
    async fn publish_batch(&self, _messages: Vec<Message>) -> Result<Vec<Published>> {
        Err(Self::unsupported())
    }
    async fn read(&self, _t: &Topic, _from: StartAt, _limit: usize) -> Result<Vec<StoredMessage>> {
        Err(Self::unsupported())
    }
    async fn topics(&self) -> Result<Vec<Topic>> {
        Err(Self::unsupported())
    }
    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<SubscriptionInfo> {
        spec.validate()?;
        let info = SubscriptionInfo {
            name: spec.name.clone(),
            patterns: spec.pattern_set(),
            created_at: Utc::now(),
            ack_timeout: spec.ack_timeout,
            max_deliveries: spec.max_deliveries,
            pending: 0,
            dead_letters: 0,
        };
        self.state().subscription = Some(spec);
        Ok(info)
    }
    async fn unsubscribe(&self, name: &str) -> Result<()> {
        let mut s = self.state();
        Self::check_subscription(&s, name)?;
        s.subscription = None;
        Ok(())
    }
    async fn subscriptions(&self) -> Result<Vec<SubscriptionInfo>> {
        Err(Self::unsupported())
    }
    async fn fetch(
        &self,
        name: &str,
        _c: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>> {
        let batch = {
            let mut s = self.state();
            if s.failing_fetches > 0 {
                s.failing_fetches -= 1;
                return Err(Self::down());
            }
            Self::check_subscription(&s, name)?;
            let mut batch = Vec::new();
            for offset in std::mem::take(&mut s.expired) {
                if let Some(m) = s.in_flight.get(&offset) {
                    batch.push(Delivery {
                        receipt: Self::receipt(m, offset),
                        message: m.clone(),
                        published_at: m.timestamp,
                        deliveries: 2,
                    });
                }
            }
            while batch.len() < max && s.cursor < s.log.len() {
                let m = s.log[s.cursor].clone();
                s.cursor += 1;
                let offset = s.cursor as u64;
                s.in_flight.insert(offset, m.clone());
                batch.push(Delivery {
                    receipt: Self::receipt(&m, offset),
                    published_at: m.timestamp,
                    message: m,
                    deliveries: 1,
                });
            }
            batch
        };
        if batch.is_empty() {
            tokio::time::sleep(wait.min(Duration::from_millis(10))).await;
        }
        Ok(batch)
    }
    async fn ack(&self, name: &str, receipts: &[Receipt]) -> Result<()> {
        let mut s = self.state();
        if s.failing_acks > 0 {
            s.failing_acks -= 1;
            return Err(Self::down());
        }
        Self::check_subscription(&s, name)?;
        for r in receipts {
            s.in_flight.remove(&r.offset.0);
            s.acked.push(r.offset.0);
        }
        Ok(())
    }
    async fn nack(&self, name: &str, receipt: &Receipt, action: Nack) -> Result<()> {
        let mut s = self.state();
        Self::check_subscription(&s, name)?;
        s.in_flight.remove(&receipt.offset.0);
        if let Nack::Reject { reason } = action {
            s.rejected.push((receipt.offset.0, reason));
        }
        Ok(())
    }
    async fn seek(&self, _s: &str, _to: StartAt) -> Result<()> {
        Err(Self::unsupported())
    }
    async fn dead_letters(&self, _s: &str, _l: usize) -> Result<Vec<DeadLetter>> {
        Err(Self::unsupported())
    }
    async fn replay_dead_letters(&self, _s: &str, _o: Option<&[Offset]>) -> Result<u64> {
        Err(Self::unsupported())
    }
    async fn purge_dead_letters(&self, _s: &str, _o: Option<&[Offset]>) -> Result<u64> {
        Err(Self::unsupported())
    }
    async fn trim(&self) -> Result<TrimReport> {
        Err(Self::unsupported())
    }
}

/// A store that refuses messages of kind `poison`, as Postgres refuses
/// `\u0000`, and otherwise passes to SQLite.
#[derive(Debug)]
struct Picky(SqliteMessageStore);

#[async_trait]
impl MessageStore for Picky {
    fn backend(&self) -> &'static str {
        "picky"
    }
    async fn record(&self, messages: &[StoredMessage]) -> Result<u64> {
        if messages.iter().any(|m| m.message.kind == "poison") {
            return Err(Error::invalid("poison cannot be stored"));
        }
        self.0.record(messages).await
    }
    async fn query(&self, q: &HistoryQuery) -> Result<Vec<StoredMessage>> {
        self.0.query(q).await
    }
    async fn get(&self, id: MessageId) -> Result<StoredMessage> {
        self.0.get(id).await
    }
    async fn purge_before(&self, t: chrono::DateTime<Utc>) -> Result<u64> {
        self.0.purge_before(t).await
    }
}

/// Messages whose timestamps are whole milliseconds, as stores keep them.
fn messages(n: u64) -> Vec<Message> {
    (0..n)
        .map(|i| {
            let mut m = Message::new(Topic::new("fake.t").expect("topic"), "k", json!({ "i": i }));
            m.timestamp = chrono::DateTime::from_timestamp_millis(m.timestamp.timestamp_millis())
                .expect("a valid time");
            m
        })
        .collect()
}

fn options() -> RecorderOptions {
    RecorderOptions {
        batch: 4,
        wait: Duration::from_millis(20),
        max_backoff: Duration::from_millis(20),
        ..RecorderOptions::default()
    }
}

async fn store() -> Arc<SqliteMessageStore> {
    Arc::new(
        SqliteMessageStore::open("sqlite::memory:")
            .await
            .expect("store"),
    )
}

/// Waits (5 s at most) until `done` holds.
async fn eventually(what: &str, mut done: impl FnMut() -> bool) {
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            tokio::time::Instant::now() < until,
            "timed out waiting: {what}"
        );
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

#[tokio::test]
async fn records_in_batches_then_acknowledges() {
    let broker = Arc::new(FakeBroker::default());
    let store = store().await;
    let sent = messages(10);
    broker.publish_now(sent.clone());
    let recorder = HistoryRecorder::start(broker.clone(), store.clone(), options())
        .await
        .expect("start");
    assert_eq!(recorder.subscription(), "hive-history");
    eventually("ten acks", || broker.state().acked.len() == 10).await;
    assert_eq!(recorder.recorded(), 10);
    let all = store.query(&HistoryQuery::new()).await.expect("query");
    assert_eq!(all.len(), 10);
    for (n, m) in sent.iter().enumerate() {
        let got = store.get(m.id).await.expect("recorded");
        assert_eq!(got.message, *m, "the message as delivered");
        assert_eq!(got.offset, Offset(n as u64 + 1), "the receipt's offset");
        assert_eq!(
            got.published_at.timestamp_millis(),
            m.timestamp.timestamp_millis(),
            "the broker's publish time (this fake's is the message's own)"
        );
    }
    let spec = broker.state().subscription.clone().expect("subscribed");
    assert_eq!(spec.start, StartAt::Beginning);
    assert_eq!(
        spec.patterns.iter().map(|p| p.as_str()).collect::<Vec<_>>(),
        [">"]
    );
    recorder.shutdown().await.expect("shutdown");
}

/// A crash between record and ack: the broker delivers the batch again and
/// the store records nothing twice.
#[tokio::test]
async fn a_lost_ack_records_nothing_twice() {
    let broker = Arc::new(FakeBroker::default());
    let store = store().await;
    // Every ack fails until the first recorder gives up at shutdown.
    broker.state().failing_acks = u32::MAX;
    broker.publish_now(messages(3));
    let first = HistoryRecorder::start(broker.clone(), store.clone(), options())
        .await
        .expect("start");
    let probe = store.clone();
    let until = tokio::time::Instant::now() + Duration::from_secs(5);
    while probe
        .query(&HistoryQuery::new())
        .await
        .expect("query")
        .len()
        < 3
    {
        assert!(tokio::time::Instant::now() < until, "recorded within 5 s");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    first.shutdown().await.expect("a failing ack is not fatal");
    assert!(broker.state().acked.is_empty());

    broker.state().failing_acks = 0;
    broker.expire_in_flight();
    let second = HistoryRecorder::start(broker.clone(), store.clone(), options())
        .await
        .expect("restart");
    eventually("the redelivered batch acked", || {
        broker.state().acked.len() == 3
    })
    .await;
    assert_eq!(second.recorded(), 0, "all three were recorded already");
    assert_eq!(
        store
            .query(&HistoryQuery::new())
            .await
            .expect("query")
            .len(),
        3
    );
    second.shutdown().await.expect("shutdown");
}

#[tokio::test]
async fn transient_broker_failures_are_retried() {
    let broker = Arc::new(FakeBroker::default());
    let store = store().await;
    broker.state().failing_fetches = 5;
    broker.state().failing_acks = 2;
    broker.publish_now(messages(6));
    let recorder = HistoryRecorder::start(broker.clone(), store.clone(), options())
        .await
        .expect("start");
    eventually("six acks", || broker.state().acked.len() == 6).await;
    assert!(!recorder.is_finished());
    assert_eq!(recorder.recorded(), 6);
    recorder.shutdown().await.expect("shutdown");
}

/// A message the store refuses is dead-lettered with the reason; the rest of
/// its batch is recorded and acknowledged.
#[tokio::test]
async fn messages_the_store_refuses_are_dead_lettered() {
    let broker = Arc::new(FakeBroker::default());
    let store = Arc::new(Picky(
        SqliteMessageStore::open("sqlite::memory:")
            .await
            .expect("store"),
    ));
    let mut sent = messages(4);
    sent[2].kind = "poison".into();
    broker.publish_now(sent.clone());
    let recorder = HistoryRecorder::start(broker.clone(), store.clone(), options())
        .await
        .expect("start");
    eventually("three acks and a rejection", || {
        let s = broker.state();
        s.acked.len() == 3 && s.rejected.len() == 1
    })
    .await;
    let rejected = broker.state().rejected.clone();
    assert_eq!(rejected[0].0, 3, "the poison's offset");
    assert!(
        rejected[0].1.contains("poison cannot be stored"),
        "{rejected:?}"
    );
    assert_eq!(recorder.recorded(), 3);
    assert!(matches!(
        store.get(sent[2].id).await,
        Err(Error::NotFound { .. })
    ));
    recorder.shutdown().await.expect("shutdown");
}

/// Errors retrying cannot fix stop the recorder, and `shutdown` says why.
#[tokio::test]
async fn a_deleted_subscription_stops_the_recorder() {
    let broker = Arc::new(FakeBroker::default());
    let store = store().await;
    let recorder = HistoryRecorder::start(broker.clone(), store, options())
        .await
        .expect("start");
    broker
        .unsubscribe("hive-history")
        .await
        .expect("unsubscribe");
    eventually("the recorder stops", || recorder.is_finished()).await;
    let r = recorder.shutdown().await;
    assert!(matches!(r, Err(Error::NotFound { .. })), "{r:?}");
}

#[tokio::test]
async fn bad_options_are_refused_before_subscribing() {
    let broker = Arc::new(FakeBroker::default());
    let store = store().await;
    let cases = [
        RecorderOptions {
            batch: 0,
            ..options()
        },
        RecorderOptions {
            name: "has space".into(),
            ..options()
        },
        RecorderOptions {
            patterns: Vec::new(),
            ..options()
        },
        RecorderOptions {
            consumer: String::new(),
            ..options()
        },
    ];
    for bad in cases {
        let r = HistoryRecorder::start(broker.clone(), store.clone(), bad).await;
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    }
    assert!(broker.state().subscription.is_none());
}

/// Shutdown is prompt even while the broker keeps failing: the backoff is
/// cut short, and the batch in hand is left to be delivered again.
#[tokio::test]
async fn shutdown_is_prompt_while_the_broker_fails() {
    let broker = Arc::new(FakeBroker::default());
    let store = store().await;
    broker.state().failing_fetches = u32::MAX;
    let recorder = HistoryRecorder::start(
        broker.clone(),
        store,
        RecorderOptions {
            max_backoff: Duration::from_secs(30),
            ..options()
        },
    )
    .await
    .expect("start");
    tokio::time::sleep(Duration::from_millis(300)).await;
    let started = tokio::time::Instant::now();
    recorder.shutdown().await.expect("shutdown");
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
}
