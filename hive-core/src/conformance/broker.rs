//! The [`Broker`] contract as tests: each clause of its `# Contract`
//! names its functions here (`tests/it/tidy.rs` checks both ways).
//!
//! Every clause works in topics under a prefix of its own, so suites may
//! share a Redis. Timing-dependent clauses use ack timeouts of a few hundred
//! milliseconds and poll with generous deadlines, so they hold on a loaded
//! two-core machine without asserting on speed.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::{assert_conflict, assert_invalid, assert_not_found, unique_name};
use crate::broker::{
    dead_letter_headers, Broker, BrokerConfig, BrokerExt, Delivery, Message, MessageId, Nack,
    Offset, Published, Receipt, Retention, StartAt, SubscriptionSpec, Topic, MAX_FETCH,
};

/// Opens the backend under test.
#[async_trait]
pub trait BrokerHarness: Send + Sync {
    /// Opens a new handle on this test's broker. Opening twice gives two
    /// handles on one store (as two processes would have).
    async fn open(&self, config: BrokerConfig) -> Arc<dyn Broker>;
}

/// Stamps one `#[tokio::test]` per broker clause, each opening the backend
/// with `$harness` (an expression of type `Option<impl BrokerHarness>`,
/// which may `.await`; `None` means the service is not configured).
#[macro_export]
macro_rules! broker_conformance_tests {
    ($harness:expr) => {
        $crate::__broker_clauses!($harness;
            publish_returns_increasing_offsets,
            publish_rejects_bad_input_and_stores_nothing,
            read_returns_history_from_a_position,
            subscriber_sees_each_topic_in_publish_order,
            durable_subscriber_catches_up_after_reconnect,
            new_subscription_starts_where_asked,
            wildcards_route_to_matching_subscriptions,
            consumers_of_a_subscription_share_its_messages,
            acked_messages_are_not_redelivered,
            unacked_messages_are_redelivered_after_ack_timeout,
            dead_letters_after_max_deliveries,
            dead_letters_replay_to_their_subscription_and_purge,
            nack_retries_or_rejects,
            ack_rejects_unknown_and_repeated_receipts,
            seek_replays_from_offset_or_time,
            trim_applies_retention,
            fetch_wakes_on_publish,
            subscriptions_are_validated_and_managed,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __broker_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::broker::$clause(&harness).await;
                }
            }
        )*
    };
}

/// A prefix token of this clause's own.
fn prefix() -> String {
    unique_name("t")
}

fn topic(prefix: &str, rest: &str) -> Topic {
    Topic::new(format!("{prefix}.{rest}")).expect("valid topic")
}

fn msg(topic: &Topic, n: u64) -> Message {
    Message::new(topic.clone(), "test", json!({ "n": n }))
}

fn n_of(d: &Delivery) -> u64 {
    d.message.payload["n"].as_u64().expect("payload n")
}

fn spec(name: &str, patterns: &[String]) -> SubscriptionSpec {
    SubscriptionSpec::new(name, patterns).expect("valid spec")
}

/// Where most delivery clauses start: a broker, a topic `<prefix>.t` of the
/// clause's own, and a subscription to that topic alone whose spec
/// `adjust` makes.
struct Subscribed {
    b: Arc<dyn Broker>,
    prefix: String,
    t: Topic,
    sub: String,
}

async fn subscribed(
    h: &dyn BrokerHarness,
    adjust: impl FnOnce(SubscriptionSpec) -> SubscriptionSpec,
) -> Subscribed {
    let b = h.open(BrokerConfig::default()).await;
    let prefix = prefix();
    let t = topic(&prefix, "t");
    let sub = unique_name("s");
    b.subscribe(adjust(spec(&sub, &[t.to_string()])))
        .await
        .expect("subscribe");
    Subscribed { b, prefix, t, sub }
}

async fn publish_all(b: &dyn Broker, msgs: Vec<Message>) -> Vec<Published> {
    b.publish_batch(msgs).await.expect("publish")
}

/// Fetches (acking nothing) until `want` deliveries arrived or 10 s passed.
async fn fetch_n(b: &dyn Broker, sub: &str, consumer: &str, want: usize) -> Vec<Delivery> {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut got = Vec::new();
    while got.len() < want && tokio::time::Instant::now() < until {
        let batch = b
            .fetch(sub, consumer, want - got.len(), Duration::from_millis(200))
            .await
            .expect("fetch");
        got.extend(batch);
    }
    assert_eq!(got.len(), want, "deliveries to {sub} within 10 s");
    got
}

/// Fetches once with a short wait and expects nothing.
async fn expect_nothing(b: &dyn Broker, sub: &str, consumer: &str, wait: Duration) {
    let got = b.fetch(sub, consumer, 10, wait).await.expect("fetch");
    assert!(
        got.is_empty(),
        "{sub} should have nothing to deliver, got {:?}",
        got.iter().map(|d| &d.message.payload).collect::<Vec<_>>()
    );
}

async fn ack_all(b: &dyn Broker, sub: &str, ds: &[Delivery]) {
    let receipts: Vec<Receipt> = ds.iter().map(|d| d.receipt.clone()).collect();
    b.ack(sub, &receipts).await.expect("ack");
}

/// Publishes one at a time with a pause, so each message has its own
/// millisecond (time positions can then split between any two).
async fn publish_spaced(b: &dyn Broker, t: &Topic, count: u64) -> Vec<Published> {
    let mut out = Vec::new();
    for n in 0..count {
        out.push(b.publish(msg(t, n)).await.expect("publish"));
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    out
}

/// Publish answers in batch order with offsets growing per topic.
pub async fn publish_returns_increasing_offsets(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let (ta, tb) = (topic(&p, "a"), topic(&p, "b"));
    let before = chrono::Utc::now() - chrono::Duration::seconds(60);
    let batch: Vec<Message> = (0..8)
        .map(|n| msg(if n % 3 == 0 { &tb } else { &ta }, n))
        .collect();
    let ids: Vec<MessageId> = batch.iter().map(|m| m.id).collect();
    let out = publish_all(b.as_ref(), batch).await;
    assert_eq!(out.iter().map(|p| p.id).collect::<Vec<_>>(), ids);
    let mut last: BTreeMap<Topic, Offset> = BTreeMap::new();
    for (n, p) in out.iter().enumerate() {
        let expected = if n % 3 == 0 { &tb } else { &ta };
        assert_eq!(&p.topic, expected);
        assert!(p.published_at > before);
        if let Some(prev) = last.insert(p.topic.clone(), p.offset) {
            assert!(p.offset > prev, "offsets grow within {}", p.topic);
        }
    }
    let next = b.publish(msg(&ta, 99)).await.expect("publish");
    assert!(next.offset > last[&ta]);
    assert!(b.publish_batch(Vec::new()).await.expect("empty").is_empty());
    let topics = b.topics().await.expect("topics");
    assert!(topics.contains(&ta) && topics.contains(&tb));
}

/// Bad messages are refused with a clear error, and their batch stores
/// nothing.
pub async fn publish_rejects_bad_input_and_stores_nothing(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let t = topic(&p, "bad");
    let good = msg(&t, 1);

    let empty_kind = Message::new(t.clone(), " ", json!(1));
    assert_invalid(
        b.publish_batch(vec![good.clone(), empty_kind]).await,
        "kind must not be empty",
    );
    let huge = Message::new(
        t.clone(),
        "big",
        json!("x".repeat(crate::broker::DEFAULT_MAX_MESSAGE_BYTES)),
    );
    assert_invalid(
        b.publish_batch(vec![good.clone(), huge]).await,
        "over the limit",
    );
    let reserved = Message::new(
        Topic::dead_letters("someone").expect("topic"),
        "k",
        json!(1),
    );
    assert_invalid(b.publish_batch(vec![good, reserved]).await, "reserved");

    let stored = b.read(&t, StartAt::Beginning, 10).await.expect("read");
    assert!(stored.is_empty(), "a refused batch stores nothing");
    assert!(!b.topics().await.expect("topics").contains(&t));

    // Malformed topics never get as far as the broker.
    for bad in ["", "a..b", "a.*.c", "events.>", "has space"] {
        assert!(Topic::new(bad).is_err(), "{bad:?} is not a topic");
    }
    // After all that, a good message still goes through.
    b.publish(msg(&t, 2)).await.expect("publish after errors");
    assert_eq!(
        b.read(&t, StartAt::Beginning, 10)
            .await
            .expect("read")
            .len(),
        1
    );
}

/// `read` pages through a topic from a position.
pub async fn read_returns_history_from_a_position(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let t = topic(&p, "log");
    let published = publish_spaced(b.as_ref(), &t, 10).await;

    let all = b.read(&t, StartAt::Beginning, 100).await.expect("read");
    assert_eq!(
        all.iter().map(|s| s.message.id).collect::<Vec<_>>(),
        published.iter().map(|p| p.id).collect::<Vec<_>>()
    );
    for (s, p) in all.iter().zip(&published) {
        assert_eq!(s.offset, p.offset);
        assert_eq!(s.message.topic, t);
        assert_eq!(s.message.payload, json!({"n": p_n(&published, p)}));
    }
    let from3 = b
        .read(&t, StartAt::Offset(published[3].offset), 100)
        .await
        .expect("read");
    assert_eq!(from3.len(), 7);
    assert_eq!(from3[0].offset, published[3].offset);
    let first4 = b.read(&t, StartAt::Beginning, 4).await.expect("read");
    assert_eq!(first4.len(), 4);
    let since = b
        .read(&t, StartAt::Time(published[6].published_at), 100)
        .await
        .expect("read");
    assert_eq!(since.first().map(|s| s.message.id), Some(published[6].id));
    assert_eq!(since.len(), 4);
    assert!(b.read(&t, StartAt::New, 10).await.expect("read").is_empty());
    let unknown = topic(&p, "never");
    assert!(b
        .read(&unknown, StartAt::Beginning, 10)
        .await
        .expect("read")
        .is_empty());
}

fn p_n(all: &[Published], p: &Published) -> usize {
    all.iter().position(|q| q.id == p.id).unwrap_or(usize::MAX)
}

/// One consumer sees each topic's messages in publish order.
pub async fn subscriber_sees_each_topic_in_publish_order(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let (ta, tb) = (topic(&p, "a"), topic(&p, "b"));
    let sub = unique_name("s");
    b.subscribe(spec(&sub, &[format!("{p}.>")]))
        .await
        .expect("subscribe");
    let mut n = 0;
    for size in [1usize, 7, 30, 2, 60] {
        let batch = (0..size)
            .map(|i| {
                n += 1;
                msg(if i % 2 == 0 { &ta } else { &tb }, n)
            })
            .collect();
        publish_all(b.as_ref(), batch).await;
    }
    let mut seen: BTreeMap<Topic, Vec<(Offset, u64)>> = BTreeMap::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    let mut total = 0;
    while total < n && tokio::time::Instant::now() < until {
        let got = b
            .fetch(&sub, "c1", 7, Duration::from_millis(200))
            .await
            .expect("fetch");
        for d in &got {
            seen.entry(d.message.topic.clone())
                .or_default()
                .push((d.receipt.offset, n_of(d)));
        }
        total += got.len() as u64;
        ack_all(b.as_ref(), &sub, &got).await;
    }
    assert_eq!(total, n);
    for (t, list) in seen {
        let ns: Vec<u64> = list.iter().map(|x| x.1).collect();
        let mut sorted = ns.clone();
        sorted.sort_unstable();
        assert_eq!(ns, sorted, "{t} delivered out of order");
        assert!(list.windows(2).all(|w| w[0].0 < w[1].0));
    }
}

/// A durable subscription keeps collecting while nobody fetches.
pub async fn durable_subscriber_catches_up_after_reconnect(h: &dyn BrokerHarness) {
    let p = prefix();
    let (ta, tb) = (topic(&p, "a"), topic(&p, "b-created-later"));
    let sub = unique_name("s");
    let pattern = vec![format!("{p}.>")];
    {
        let first = h.open(BrokerConfig::default()).await;
        first
            .subscribe(spec(&sub, &pattern))
            .await
            .expect("subscribe");
        publish_all(first.as_ref(), (0..3).map(|n| msg(&ta, n)).collect()).await;
        let got = fetch_n(first.as_ref(), &sub, "c1", 3).await;
        ack_all(first.as_ref(), &sub, &got).await;
    }
    // The subscriber is away; someone else publishes, to a new topic too.
    {
        let other = h.open(BrokerConfig::default()).await;
        for n in 10..15 {
            other.publish(msg(&ta, n)).await.expect("publish");
            other.publish(msg(&tb, n + 100)).await.expect("publish");
        }
    }
    let back = h.open(BrokerConfig::default()).await;
    back.subscribe(spec(&sub, &pattern).start_at(StartAt::Beginning))
        .await
        .expect("resume");
    let got = fetch_n(back.as_ref(), &sub, "c1", 10).await;
    let of = |t: &Topic| -> Vec<u64> {
        got.iter()
            .filter(|d| &d.message.topic == t)
            .map(n_of)
            .collect()
    };
    assert_eq!(
        of(&ta),
        vec![10, 11, 12, 13, 14],
        "nothing old, nothing lost"
    );
    assert_eq!(of(&tb), vec![110, 111, 112, 113, 114]);
    ack_all(back.as_ref(), &sub, &got).await;
    expect_nothing(back.as_ref(), &sub, "c1", Duration::from_millis(100)).await;
}

/// New subscriptions start where asked; resubscribing resumes or conflicts.
pub async fn new_subscription_starts_where_asked(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let t = topic(&p, "x");
    let pattern = vec![t.to_string()];
    let published = publish_spaced(b.as_ref(), &t, 3).await;

    let new = unique_name("new");
    b.subscribe(spec(&new, &pattern)).await.expect("subscribe");
    expect_nothing(b.as_ref(), &new, "c", Duration::from_millis(100)).await;
    let fourth = b.publish(msg(&t, 3)).await.expect("publish");
    let got = fetch_n(b.as_ref(), &new, "c", 1).await;
    assert_eq!(got[0].message.id, fourth.id);

    let check = |start: StartAt, expected: Vec<u64>| {
        let b = b.clone();
        let pattern = pattern.clone();
        async move {
            let name = unique_name("s");
            b.subscribe(spec(&name, &pattern).start_at(start))
                .await
                .expect("subscribe");
            let got = fetch_n(b.as_ref(), &name, "c", expected.len()).await;
            assert_eq!(
                got.iter().map(n_of).collect::<Vec<_>>(),
                expected,
                "{start:?}"
            );
            expect_nothing(b.as_ref(), &name, "c", Duration::from_millis(50)).await;
        }
    };
    check(StartAt::Beginning, vec![0, 1, 2, 3]).await;
    check(StartAt::Offset(published[1].offset), vec![1, 2, 3]).await;
    check(StartAt::Time(published[2].published_at), vec![2, 3]).await;

    let other = vec![format!("{p}.other")];
    assert_conflict(b.subscribe(spec(&new, &other)).await, "other patterns");
    let resumed = b
        .subscribe(spec(&new, &pattern).max_deliveries(9))
        .await
        .expect("resume");
    assert_eq!(resumed.max_deliveries, 9);
}

/// Patterns route exactly; every subscription gets its own copy.
pub async fn wildcards_route_to_matching_subscriptions(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let subs = [
        (unique_name("inbox"), format!("{p}.agent.*.inbox")),
        (unique_name("events"), format!("{p}.events.>")),
        (unique_name("all"), format!("{p}.>")),
    ];
    for (name, pattern) in &subs {
        b.subscribe(spec(name, std::slice::from_ref(pattern)))
            .await
            .expect("subscribe");
    }
    let topics = [
        "agent.a.inbox",
        "agent.b.inbox",
        "agent.a.b.inbox",
        "agent.a.outbox",
        "events",
        "events.x",
        "events.x.y",
    ];
    let batch = topics
        .iter()
        .enumerate()
        .map(|(n, t)| msg(&topic(&p, t), n as u64))
        .collect();
    publish_all(b.as_ref(), batch).await;
    let expect = [vec![0u64, 1], vec![5, 6], (0..7).collect::<Vec<_>>()];
    for ((name, _), want) in subs.iter().zip(expect) {
        let got = fetch_n(b.as_ref(), name, "c", want.len()).await;
        let mut ns: Vec<u64> = got.iter().map(n_of).collect();
        ns.sort_unstable();
        assert_eq!(ns, want, "{name}");
        ack_all(b.as_ref(), name, &got).await;
        expect_nothing(b.as_ref(), name, "c", Duration::from_millis(50)).await;
    }
}

/// Two consumers of one subscription never hold the same message.
pub async fn consumers_of_a_subscription_share_its_messages(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let t = topic(&p, "work");
    let sub = unique_name("s");
    b.subscribe(spec(&sub, &[t.to_string()]))
        .await
        .expect("subscribe");
    publish_all(b.as_ref(), (0..100).map(|n| msg(&t, n)).collect()).await;
    let run = |consumer: &'static str| {
        let b = b.clone();
        let sub = sub.clone();
        tokio::spawn(async move {
            let mut mine = Vec::new();
            let until = tokio::time::Instant::now() + Duration::from_secs(10);
            while tokio::time::Instant::now() < until {
                let got = b
                    .fetch(&sub, consumer, 10, Duration::from_millis(200))
                    .await
                    .expect("fetch");
                if got.is_empty() && !mine.is_empty() {
                    break;
                }
                mine.extend(got.iter().map(n_of));
            }
            mine
        })
    };
    let (x, y) = (run("c1"), run("c2"));
    let (x, y) = (x.await.expect("join"), y.await.expect("join"));
    let mut all: Vec<u64> = x.iter().chain(&y).copied().collect();
    assert_eq!(all.len(), 100, "every message delivered once: {x:?} {y:?}");
    all.sort_unstable();
    all.dedup();
    assert_eq!(all.len(), 100, "no message delivered to both consumers");
}

/// Acknowledged messages stay acknowledged.
pub async fn acked_messages_are_not_redelivered(h: &dyn BrokerHarness) {
    let Subscribed { b, t, sub, .. } =
        subscribed(h, |s| s.ack_timeout(Duration::from_millis(200))).await;
    publish_all(b.as_ref(), (0..3).map(|n| msg(&t, n)).collect()).await;
    let got = fetch_n(b.as_ref(), &sub, "c", 3).await;
    ack_all(b.as_ref(), &sub, &got[..2]).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    let again = fetch_n(b.as_ref(), &sub, "c", 1).await;
    assert_eq!(n_of(&again[0]), 2, "only the unacknowledged one comes back");
    assert_eq!(again[0].deliveries, 2);
    ack_all(b.as_ref(), &sub, &again).await;
    tokio::time::sleep(Duration::from_millis(400)).await;
    expect_nothing(b.as_ref(), &sub, "c", Duration::from_millis(100)).await;
}

/// An unacknowledged delivery comes back after the ack timeout.
pub async fn unacked_messages_are_redelivered_after_ack_timeout(h: &dyn BrokerHarness) {
    let Subscribed { b, t, sub, .. } =
        subscribed(h, |s| s.ack_timeout(Duration::from_millis(300))).await;
    let sent = b.publish(msg(&t, 7)).await.expect("publish");
    let first = fetch_n(b.as_ref(), &sub, "c1", 1).await;
    assert_eq!(first[0].deliveries, 1);
    assert_eq!(first[0].message.id, sent.id);
    assert_eq!(first[0].published_at, sent.published_at);
    expect_nothing(b.as_ref(), &sub, "c2", Duration::from_millis(50)).await;
    let second = fetch_n(b.as_ref(), &sub, "c2", 1).await;
    assert_eq!(second[0].message.id, sent.id);
    assert_eq!(second[0].deliveries, 2);
    assert_eq!(second[0].receipt, first[0].receipt);
    b.ack_one(&sub, &second[0].receipt).await.expect("ack");
}

/// After `max_deliveries`, a message goes to the dead-letter topic.
pub async fn dead_letters_after_max_deliveries(h: &dyn BrokerHarness) {
    let Subscribed { b, t, sub, .. } = subscribed(h, |s| {
        s.ack_timeout(Duration::from_millis(200)).max_deliveries(2)
    })
    .await;
    let poison = b.publish(msg(&t, 1)).await.expect("publish");
    for round in 1..=2 {
        let got = fetch_n(b.as_ref(), &sub, "c", 1).await;
        assert_eq!(got[0].deliveries, round);
    }
    tokio::time::sleep(Duration::from_millis(300)).await;
    expect_nothing(b.as_ref(), &sub, "c", Duration::from_millis(300)).await;

    let dead = b.dead_letters(&sub, 10).await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    let d = &dead[0];
    assert_eq!(d.message.id, poison.id);
    assert_eq!(d.message.topic, t, "the original topic is kept");
    assert_eq!(d.subscription, sub);
    assert_eq!(d.deliveries, 2);
    assert!(d.reason.contains("2 deliveries"), "reason: {}", d.reason);
    let on_topic = b
        .read(
            &Topic::dead_letters(&sub).expect("topic"),
            StartAt::Beginning,
            10,
        )
        .await
        .expect("read dead-letter topic");
    assert_eq!(on_topic.len(), 1);
    assert_eq!(on_topic[0].offset, d.offset);
    assert_eq!(
        on_topic[0].message.headers.get(dead_letter_headers::REASON),
        Some(&d.reason)
    );
    let info = b.subscriptions().await.expect("list");
    let info = info.iter().find(|i| i.name == sub).expect("listed");
    assert_eq!((info.pending, info.dead_letters), (0, 1));
}

/// Replay sends dead letters back to their subscription only; purge deletes.
pub async fn dead_letters_replay_to_their_subscription_and_purge(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let t = topic(&p, "t");
    let (failing, healthy) = (unique_name("failing"), unique_name("healthy"));
    for name in [&failing, &healthy] {
        b.subscribe(spec(name, &[t.to_string()]))
            .await
            .expect("subscribe");
    }
    let sent = publish_all(b.as_ref(), vec![msg(&t, 1), msg(&t, 2)]).await;
    for d in fetch_n(b.as_ref(), &failing, "c", 2).await {
        b.nack(
            &failing,
            &d.receipt,
            Nack::Reject {
                reason: "cannot parse".into(),
            },
        )
        .await
        .expect("reject");
    }
    let fine = fetch_n(b.as_ref(), &healthy, "c", 2).await;
    ack_all(b.as_ref(), &healthy, &fine).await;

    let dead = b.dead_letters(&failing, 10).await.expect("dead letters");
    assert_eq!(
        dead.iter().map(|d| d.message.id).collect::<Vec<_>>(),
        sent.iter().map(|s| s.id).collect::<Vec<_>>()
    );
    let replayed = b
        .replay_dead_letters(&failing, Some(&[dead[0].offset]))
        .await
        .expect("replay");
    assert_eq!(replayed, 1);
    let again = fetch_n(b.as_ref(), &failing, "c", 1).await;
    assert_eq!(again[0].message.id, sent[0].id);
    assert_eq!(again[0].message.topic, t);
    assert_eq!(again[0].deliveries, 1);
    assert_eq!(
        again[0].receipt.topic,
        Topic::replay(&failing).expect("topic")
    );
    ack_all(b.as_ref(), &failing, &again).await;
    expect_nothing(b.as_ref(), &healthy, "c", Duration::from_millis(100)).await;

    let left = b.dead_letters(&failing, 10).await.expect("dead letters");
    assert_eq!(left.len(), 1);
    assert_eq!(left[0].message.id, sent[1].id);
    assert_eq!(
        b.replay_dead_letters(&failing, Some(&[Offset(u64::MAX - 1)]))
            .await
            .expect("replay unknown"),
        0
    );
    assert_eq!(
        b.purge_dead_letters(&failing, None).await.expect("purge"),
        1
    );
    assert!(b.dead_letters(&failing, 10).await.expect("list").is_empty());
    assert_eq!(
        b.purge_dead_letters(&failing, Some(&[Offset(1)]))
            .await
            .expect("purge"),
        0
    );
}

/// Nack retries after a delay, or rejects to the dead letters.
pub async fn nack_retries_or_rejects(h: &dyn BrokerHarness) {
    let Subscribed { b, t, sub, .. } = subscribed(h, |s| s).await;
    let sent = b.publish(msg(&t, 1)).await.expect("publish");
    let d1 = fetch_n(b.as_ref(), &sub, "c", 1).await.remove(0);
    b.nack(
        &sub,
        &d1.receipt,
        Nack::Retry {
            after: Duration::ZERO,
        },
    )
    .await
    .expect("nack");
    let d2 = fetch_n(b.as_ref(), &sub, "c", 1).await.remove(0);
    assert_eq!((d2.message.id, d2.deliveries), (sent.id, 2));

    b.nack(
        &sub,
        &d2.receipt,
        Nack::Retry {
            after: Duration::from_millis(400),
        },
    )
    .await
    .expect("nack");
    let held = tokio::time::Instant::now();
    expect_nothing(b.as_ref(), &sub, "c", Duration::from_millis(50)).await;
    let d3 = fetch_n(b.as_ref(), &sub, "c", 1).await.remove(0);
    assert!(held.elapsed() >= Duration::from_millis(300), "held back");
    assert_eq!(d3.deliveries, 3);

    b.nack(
        &sub,
        &d3.receipt,
        Nack::Reject {
            reason: "poison pill".into(),
        },
    )
    .await
    .expect("reject");
    let dead = b.dead_letters(&sub, 10).await.expect("dead");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].reason, "poison pill");
    assert_eq!(dead[0].deliveries, 3);
    assert_conflict(
        b.nack(
            &sub,
            &d3.receipt,
            Nack::Retry {
                after: Duration::ZERO,
            },
        )
        .await,
        "nack of a dead-lettered delivery",
    );
    expect_nothing(b.as_ref(), &sub, "c", Duration::from_millis(100)).await;
}

/// Unknown and repeated acks are refused clearly; valid ones still count.
pub async fn ack_rejects_unknown_and_repeated_receipts(h: &dyn BrokerHarness) {
    let Subscribed {
        b,
        prefix: p,
        t,
        sub,
    } = subscribed(h, |s| s.ack_timeout(Duration::from_millis(200))).await;
    publish_all(b.as_ref(), vec![msg(&t, 1), msg(&t, 2)]).await;
    let got = fetch_n(b.as_ref(), &sub, "c", 2).await;
    let bogus = Receipt {
        topic: t.clone(),
        offset: Offset(got[1].receipt.offset.0 + 1_000_000),
    };
    assert_not_found(
        b.ack(&sub, &[got[0].receipt.clone(), bogus.clone()]).await,
        "unknown receipt",
    );
    assert_conflict(b.ack_one(&sub, &got[0].receipt).await, "second ack");
    let elsewhere = Receipt {
        topic: topic(&p, "elsewhere"),
        offset: got[1].receipt.offset,
    };
    assert_not_found(b.ack_one(&sub, &elsewhere).await, "other topic");
    b.ack_one(&sub, &got[1].receipt).await.expect("ack");
    assert_not_found(b.ack_one("no-such-sub", &got[1].receipt).await, "sub");
    tokio::time::sleep(Duration::from_millis(300)).await;
    expect_nothing(b.as_ref(), &sub, "c", Duration::from_millis(100)).await;

    assert_not_found(
        b.fetch("no-such-sub", "c", 1, Duration::ZERO).await,
        "fetch",
    );
    assert_invalid(b.fetch(&sub, "c", 0, Duration::ZERO).await, "at least 1");
    assert_invalid(
        b.fetch(&sub, "c", MAX_FETCH + 1, Duration::ZERO).await,
        "at most",
    );
    assert_invalid(
        b.fetch(&sub, "bad consumer", 1, Duration::ZERO).await,
        "not allowed",
    );
    assert_not_found(
        b.nack(
            "no-such-sub",
            &bogus,
            Nack::Retry {
                after: Duration::ZERO,
            },
        )
        .await,
        "nack",
    );
    assert_not_found(b.seek("no-such-sub", StartAt::New).await, "seek");
    assert_not_found(b.dead_letters("no-such-sub", 1).await, "dead letters");
}

/// Seek moves a subscription back (or forward) in time.
pub async fn seek_replays_from_offset_or_time(h: &dyn BrokerHarness) {
    let Subscribed { b, t, sub, .. } = subscribed(h, |s| s.start_at(StartAt::Beginning)).await;
    let published = publish_spaced(b.as_ref(), &t, 5).await;
    let all = fetch_n(b.as_ref(), &sub, "c", 5).await;
    ack_all(b.as_ref(), &sub, &all).await;

    let replay = |to: StartAt, want: Vec<u64>| {
        let b = b.clone();
        let sub = sub.clone();
        async move {
            b.seek(&sub, to).await.expect("seek");
            let got = fetch_n(b.as_ref(), &sub, "c", want.len()).await;
            assert_eq!(got.iter().map(n_of).collect::<Vec<_>>(), want, "{to:?}");
            ack_all(b.as_ref(), &sub, &got).await;
            expect_nothing(b.as_ref(), &sub, "c", Duration::from_millis(50)).await;
        }
    };
    replay(StartAt::Offset(published[2].offset), vec![2, 3, 4]).await;
    replay(StartAt::Time(published[3].published_at), vec![3, 4]).await;
    replay(StartAt::Beginning, vec![0, 1, 2, 3, 4]).await;
    b.seek(&sub, StartAt::New).await.expect("seek to the end");
    expect_nothing(b.as_ref(), &sub, "c", Duration::from_millis(50)).await;
    b.publish(msg(&t, 5)).await.expect("publish");
    let next = fetch_n(b.as_ref(), &sub, "c", 1).await;
    assert_eq!(n_of(&next[0]), 5);
}

/// Trim keeps the newest messages and drops the old.
pub async fn trim_applies_retention(h: &dyn BrokerHarness) {
    let p = prefix();
    let (t1, t2) = (topic(&p, "busy"), topic(&p, "quiet"));
    let counted = h
        .open(BrokerConfig {
            retention: Retention {
                max_messages: Some(3),
                max_age: None,
            },
            ..Default::default()
        })
        .await;
    publish_all(counted.as_ref(), (0..5).map(|n| msg(&t1, n)).collect()).await;
    publish_all(counted.as_ref(), (0..2).map(|n| msg(&t2, n)).collect()).await;
    let report = counted.trim().await.expect("trim");
    assert!(report.removed >= 2 && report.topics >= 1, "{report:?}");
    let kept = counted
        .read(&t1, StartAt::Beginning, 10)
        .await
        .expect("read");
    assert_eq!(
        kept.iter()
            .map(|s| s.message.payload["n"].as_u64())
            .collect::<Vec<_>>(),
        vec![Some(2), Some(3), Some(4)]
    );
    assert_eq!(
        counted
            .read(&t2, StartAt::Beginning, 10)
            .await
            .expect("read")
            .len(),
        2
    );

    let aged = h
        .open(BrokerConfig {
            retention: Retention {
                max_messages: None,
                max_age: Some(Duration::from_millis(400)),
            },
            ..Default::default()
        })
        .await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    let fresh = aged.publish(msg(&t2, 9)).await.expect("publish");
    aged.trim().await.expect("trim");
    let left = aged.read(&t2, StartAt::Beginning, 10).await.expect("read");
    assert_eq!(
        left.iter().map(|s| s.message.id).collect::<Vec<_>>(),
        vec![fresh.id]
    );
    assert!(aged
        .read(&t1, StartAt::Beginning, 10)
        .await
        .expect("read")
        .is_empty());
}

/// A waiting fetch wakes on a publish from another handle.
pub async fn fetch_wakes_on_publish(h: &dyn BrokerHarness) {
    let consumer_side = h.open(BrokerConfig::default()).await;
    let publisher_side = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let t = topic(&p, "t");
    let sub = unique_name("s");
    consumer_side
        .subscribe(spec(&sub, &[format!("{p}.>")]))
        .await
        .expect("subscribe");
    let idle = tokio::time::Instant::now();
    expect_nothing(
        consumer_side.as_ref(),
        &sub,
        "c",
        Duration::from_millis(300),
    )
    .await;
    assert!(
        idle.elapsed() >= Duration::from_millis(250),
        "waited its time"
    );

    let waiter = {
        let b = consumer_side.clone();
        let sub = sub.clone();
        tokio::spawn(async move {
            let started = tokio::time::Instant::now();
            let got = b
                .fetch(&sub, "c", 10, Duration::from_secs(20))
                .await
                .expect("fetch");
            (got, started.elapsed())
        })
    };
    tokio::time::sleep(Duration::from_millis(300)).await;
    let sent = publisher_side.publish(msg(&t, 1)).await.expect("publish");
    let (got, waited) = waiter.await.expect("join");
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message.id, sent.id);
    assert!(
        waited < Duration::from_secs(10),
        "woke on the publish, not at the end of the wait ({waited:?})"
    );
}

/// Subscriptions are validated, listed with counts and deleted.
pub async fn subscriptions_are_validated_and_managed(h: &dyn BrokerHarness) {
    let b = h.open(BrokerConfig::default()).await;
    let p = prefix();
    let t = topic(&p, "t");
    assert_invalid(
        b.subscribe(spec("bad.name", &[t.to_string()])).await,
        "not allowed",
    );
    assert_invalid(
        b.subscribe(spec(&unique_name("s"), &[t.to_string()]).max_deliveries(0))
            .await,
        "at least 1",
    );
    let sub = unique_name("s");
    let info = b
        .subscribe(spec(&sub, &[t.to_string()]))
        .await
        .expect("subscribe");
    assert_eq!(info.name, sub);
    assert_eq!((info.pending, info.dead_letters), (0, 0));
    publish_all(b.as_ref(), vec![msg(&t, 1), msg(&t, 2)]).await;
    fetch_n(b.as_ref(), &sub, "c", 1).await;
    let listed = b.subscriptions().await.expect("list");
    let mine = listed.iter().find(|i| i.name == sub).expect("listed");
    assert_eq!(mine.pending, 1);
    assert_eq!(mine.patterns, vec![t.clone().into()]);
    let names: HashSet<&str> = listed.iter().map(|i| i.name.as_str()).collect();
    assert_eq!(names.len(), listed.len(), "each once");

    b.unsubscribe(&sub).await.expect("unsubscribe");
    assert!(!b
        .subscriptions()
        .await
        .expect("list")
        .iter()
        .any(|i| i.name == sub));
    assert_not_found(b.fetch(&sub, "c", 1, Duration::ZERO).await, "fetch");
    assert_not_found(b.unsubscribe(&sub).await, "unsubscribe twice");
    // A new subscription under the old name starts afresh.
    b.subscribe(spec(&sub, &[t.to_string()]))
        .await
        .expect("subscribe again");
    expect_nothing(b.as_ref(), &sub, "c", Duration::from_millis(100)).await;
}
