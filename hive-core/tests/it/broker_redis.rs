//! The broker conformance suite on the Redis backend, plus what is
//! particular to it: surviving a Redis restart (acknowledged publishes kept,
//! a running subscriber resuming by itself), noticing topics created while a
//! fetch waits, holding a nack longer than the ack timeout, clear errors at
//! open, and keeping every key under the configured prefix.
//!
//! Needs `HIVE_TEST_REDIS_URL` (a Redis shared with other tests: nothing
//! here flushes it, every test works under a key prefix of its own and
//! deletes those keys afterwards). The restart test also needs
//! `HIVE_REDIS_SERVER_BIN`, a `redis-server` binary it runs privately.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use crate::private_redis::{all_keys, connect, delete_matching, eventually, spare_port, Server};

use async_trait::async_trait;
use fred::interfaces::{ClientLike, StreamsInterface};
use hive_core::broker::redis::{RedisBroker, RedisBrokerOptions};
use hive_core::broker::{
    Broker, BrokerConfig, BrokerExt, Message, Nack, StartAt, Subscriber, SubscriberOptions,
    SubscriptionSpec, Topic,
};
use hive_core::conformance::broker::BrokerHarness;
use hive_core::conformance::{service_url, unique_name};
use hive_core::Error;
use serde_json::json;

/// A key prefix of its own on the shared Redis; its keys are deleted on
/// drop.
struct Redis {
    url: String,
    prefix: String,
}

fn redis_harness() -> Option<Redis> {
    service_url("HIVE_TEST_REDIS_URL").map(|url| Redis {
        url,
        prefix: format!("hive-test:{}", unique_name("broker")),
    })
}

impl Redis {
    fn options(&self) -> RedisBrokerOptions {
        RedisBrokerOptions::default().prefix(self.prefix.clone())
    }

    async fn broker(&self, config: BrokerConfig) -> Arc<dyn Broker> {
        Arc::new(
            RedisBroker::open_with(&self.url, config, self.options())
                .await
                .expect("open redis broker"),
        )
    }
}

#[async_trait]
impl BrokerHarness for Redis {
    async fn open(&self, config: BrokerConfig) -> Arc<dyn Broker> {
        self.broker(config).await
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // Tests run on a multi-threaded runtime, which lets a destructor
        // finish async work in place.
        let (url, prefix) = (self.url.clone(), self.prefix.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            tokio::task::block_in_place(|| {
                rt.block_on(delete_matching(&url, &format!("{prefix}:*")))
            });
        }
    }
}

mod conformance {
    use super::redis_harness;

    hive_core::broker_conformance_tests!(redis_harness());
}

fn msg(topic: &Topic, n: u64) -> Message {
    Message::new(topic.clone(), "test", json!({ "n": n }))
}

fn n_of(m: &Message) -> u64 {
    m.payload["n"].as_u64().expect("payload n")
}

/// A fetch waiting on a pattern notices a topic created after it began to
/// wait, and wakes for it well before its wait runs out (the announcement
/// interrupts the blocked read rather than waiting for the next round).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_topic_created_while_waiting_is_noticed() {
    let Some(h) = redis_harness() else { return };
    let (consumer, publisher) = (
        h.broker(BrokerConfig::default()).await,
        h.broker(BrokerConfig::default()).await,
    );
    let p = unique_name("t");
    let sub = unique_name("s");
    consumer
        .subscribe(SubscriptionSpec::new(&sub, [format!("{p}.agent.*.inbox")]).expect("spec"))
        .await
        .expect("subscribe");
    // An unrelated new topic does not end the wait.
    let waiter = {
        let b = consumer.clone();
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
    let other = Topic::new(format!("{p}.elsewhere")).expect("topic");
    publisher.publish(msg(&other, 0)).await.expect("publish");
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert!(!waiter.is_finished(), "woke for a topic it does not hear");
    let inbox = Topic::new(format!("{p}.agent.new.inbox")).expect("topic");
    let sent = tokio::time::Instant::now();
    publisher.publish(msg(&inbox, 1)).await.expect("publish");
    let (got, _) = waiter.await.expect("join");
    let latency = sent.elapsed();
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].message.topic, inbox);
    assert!(
        latency < Duration::from_secs(5),
        "a new topic reached the waiting fetch in {latency:?}"
    );
    eprintln!("first message on a new topic reached a waiting fetch in {latency:?}");
}

/// A fetch whose handle learns of new topics in the same round still gives
/// each delivery the receipt of the stream it came from (a new topic that
/// sorts first must not shift them).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn receipts_stay_right_while_topics_appear() {
    let Some(h) = redis_harness() else { return };
    let (consumer, publisher) = (
        h.broker(BrokerConfig::default()).await,
        h.broker(BrokerConfig::default()).await,
    );
    let p = unique_name("t");
    let (early, late) = (
        Topic::new(format!("{p}.b")).expect("topic"),
        Topic::new(format!("{p}.a")).expect("topic"),
    );
    let sub = unique_name("s");
    consumer
        .subscribe(SubscriptionSpec::new(&sub, [format!("{p}.>")]).expect("spec"))
        .await
        .expect("subscribe");
    publisher.publish(msg(&early, 1)).await.expect("publish");
    let first = consumer
        .fetch(&sub, "c", 10, Duration::from_secs(5))
        .await
        .expect("fetch");
    assert_eq!(first.len(), 1);
    consumer
        .ack_one(&sub, &first[0].receipt)
        .await
        .expect("ack");
    // `late` sorts before `early` in the consumer's topic list.
    publisher.publish(msg(&late, 2)).await.expect("publish");
    publisher.publish(msg(&early, 3)).await.expect("publish");
    let mut got = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < 2 && tokio::time::Instant::now() < until {
        for d in consumer
            .fetch(&sub, "c", 10, Duration::from_millis(200))
            .await
            .expect("fetch")
        {
            assert_eq!(d.receipt.topic, d.message.topic, "receipt of {d:?}");
            consumer.ack_one(&sub, &d.receipt).await.expect("ack");
            got.push(n_of(&d.message));
        }
    }
    got.sort_unstable();
    assert_eq!(got, vec![2, 3]);
}

/// An entry another program wrote, which holds no message, is not handed
/// out (nor retried forever): it goes to the dead letters, and the rest
/// flows.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unreadable_entries_are_dead_lettered() {
    let Some(h) = redis_harness() else { return };
    let b = h.broker(BrokerConfig::default()).await;
    let t = Topic::new(format!("{}.t", unique_name("t"))).expect("topic");
    let sub = unique_name("s");
    b.subscribe(SubscriptionSpec::new(&sub, [t.as_str()]).expect("spec"))
        .await
        .expect("subscribe");
    b.publish(msg(&t, 1)).await.expect("publish");
    let client = connect(&h.url).await.expect("connect");
    let _: String = client
        .xadd(
            format!("{}:t:{t}", h.prefix),
            false,
            None,
            "*",
            vec![("m", "not a message")],
        )
        .await
        .expect("XADD");
    b.publish(msg(&t, 2)).await.expect("publish");
    let mut got = Vec::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    while got.len() < 2 && tokio::time::Instant::now() < until {
        got.extend(
            b.fetch(&sub, "c", 10, Duration::from_millis(200))
                .await
                .expect("fetch"),
        );
    }
    assert_eq!(
        got.iter().map(|d| n_of(&d.message)).collect::<Vec<_>>(),
        [1, 2]
    );
    let info = b.subscriptions().await.expect("list");
    let mine = info.iter().find(|i| i.name == sub).expect("listed");
    assert_eq!((mine.pending, mine.dead_letters), (2, 1));
    assert_eq!(b.purge_dead_letters(&sub, None).await.expect("purge"), 1);
    let _ = client.quit().await;
}

/// A nack may hold a delivery back longer than the ack timeout.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_nack_holds_back_beyond_the_ack_timeout() {
    let Some(h) = redis_harness() else { return };
    let b = h.broker(BrokerConfig::default()).await;
    let t = Topic::new(format!("{}.t", unique_name("t"))).expect("topic");
    let sub = unique_name("s");
    b.subscribe(
        SubscriptionSpec::new(&sub, [t.as_str()])
            .expect("spec")
            .ack_timeout(Duration::from_millis(200)),
    )
    .await
    .expect("subscribe");
    b.publish(msg(&t, 1)).await.expect("publish");
    let first = b
        .fetch(&sub, "c", 1, Duration::from_secs(5))
        .await
        .expect("fetch")
        .remove(0);
    let held = tokio::time::Instant::now();
    b.nack(
        &sub,
        &first.receipt,
        Nack::Retry {
            after: Duration::from_millis(1200),
        },
    )
    .await
    .expect("nack");
    let early = b
        .fetch(&sub, "c", 1, Duration::from_millis(700))
        .await
        .expect("fetch");
    assert!(early.is_empty(), "redelivered after {:?}", held.elapsed());
    let mut again = Vec::new();
    while again.is_empty() && held.elapsed() < Duration::from_secs(10) {
        again = b
            .fetch(&sub, "c", 1, Duration::from_millis(500))
            .await
            .expect("fetch");
    }
    assert!(held.elapsed() >= Duration::from_millis(1100), "held back");
    assert_eq!(again.len(), 1);
    assert_eq!(again[0].deliveries, 2);
    b.ack_one(&sub, &again[0].receipt).await.expect("ack");
}

/// Every key the broker writes starts with the configured prefix.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_starts_with_the_prefix() {
    let Some(h) = redis_harness() else { return };
    let b = h.broker(BrokerConfig::default()).await;
    let marker = unique_name("mark");
    let t = Topic::new(format!("{marker}.t")).expect("topic");
    let sub = marker.clone();
    b.subscribe(SubscriptionSpec::new(&sub, [t.as_str()]).expect("spec"))
        .await
        .expect("subscribe");
    b.publish_batch(vec![msg(&t, 1), msg(&t, 2), msg(&t, 3)])
        .await
        .expect("publish");
    let got = b
        .fetch(&sub, "c", 3, Duration::from_secs(5))
        .await
        .expect("fetch");
    assert_eq!(got.len(), 3);
    let reason = "no".to_string();
    b.nack(&sub, &got[0].receipt, Nack::Reject { reason })
        .await
        .expect("reject");
    b.nack(
        &sub,
        &got[1].receipt,
        Nack::Retry {
            after: Duration::from_secs(3600),
        },
    )
    .await
    .expect("hold");
    assert_eq!(b.replay_dead_letters(&sub, None).await.expect("replay"), 1);
    let client = connect(&h.url).await.expect("connect");
    let keys = all_keys(&client, &format!("*{marker}*")).await;
    assert!(keys.len() >= 3, "stream, replay and hold keys: {keys:?}");
    let prefix = format!("{}:", h.prefix);
    for key in keys {
        assert!(key.starts_with(&prefix), "{key} is outside {prefix}");
    }
    let channels: Vec<String> = all_keys(&client, &format!("{prefix}*")).await;
    assert!(channels.iter().all(|k| k.starts_with(&prefix)));
    let _ = client.quit().await;
}

/// A wrong URL is invalid input; an unreachable server is a backend error,
/// returned promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_reports_bad_urls_and_unreachable_servers() {
    let r = RedisBroker::open("redis://[not a host", BrokerConfig::default()).await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    let r = RedisBroker::open_with(
        "redis://127.0.0.1:1",
        BrokerConfig::default(),
        RedisBrokerOptions::default().prefix(""),
    )
    .await;
    assert!(
        matches!(r, Err(Error::InvalidInput(_))),
        "empty prefix: {r:?}"
    );
    let port = spare_port();
    let r = tokio::time::timeout(
        Duration::from_secs(15),
        RedisBroker::open(
            &format!("redis://127.0.0.1:{port}"),
            BrokerConfig::default(),
        ),
    )
    .await
    .expect("open gives up by itself");
    assert!(
        matches!(
            r,
            Err(Error::Backend {
                backend: "redis",
                ..
            })
        ),
        "{r:?}"
    );
    let r = hive_core::broker::open("redis://127.0.0.1:1", BrokerConfig::default()).await;
    assert!(matches!(r, Err(Error::Backend { .. })), "{r:?}");
}

/// Redis dies (SIGKILL) and comes back on the same port and data. Every
/// publish that was answered is still there; a subscriber that kept running
/// through the outage resumes by itself and receives everything it had not
/// acknowledged — the deliveries in flight at the crash included — and what
/// is published after the restart, to a topic new by then. While Redis is
/// down, calls fail with a backend error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_redis_restart_without_losing_messages() {
    let Some(mut server) = Server::start().await else {
        return;
    };
    let b: Arc<dyn Broker> = Arc::new(
        RedisBroker::open(&server.url(), BrokerConfig::default())
            .await
            .expect("open"),
    );
    let t = Topic::new("restart.work").expect("topic");
    let spec = SubscriptionSpec::new("restarted", ["restart.>"])
        .expect("spec")
        .ack_timeout(Duration::from_secs(2));
    let mut subscriber = Subscriber::new(
        b.clone(),
        spec,
        SubscriberOptions {
            consumer: "c1".into(),
            batch: 8,
            wait: Duration::from_millis(500),
            max_backoff: Duration::from_millis(300),
        },
    )
    .await
    .expect("subscriber");

    let mut published = Vec::new();
    for round in 0..5u64 {
        let batch = (0..10).map(|i| msg(&t, round * 10 + i)).collect();
        published.extend(b.publish_batch(batch).await.expect("publish"));
    }

    // The subscriber acknowledges each delivery (retrying through the
    // outage) and reports it; it runs until it has seen all 60.
    let (seen_tx, mut seen_rx) = tokio::sync::mpsc::unbounded_channel();
    let consumer = tokio::spawn(async move {
        let mut seen = BTreeSet::new();
        while seen.len() < 60 {
            let d = subscriber.next().await.expect("next");
            let (s, delivery) = (&subscriber, &d);
            eventually(Duration::from_secs(30), || async move {
                match s.ack(delivery).await {
                    // The ack went through but its answer was lost.
                    Err(Error::Conflict(_)) => Ok(()),
                    other => other,
                }
            })
            .await;
            seen.insert(n_of(&d.message));
            let _ = seen_tx.send(n_of(&d.message));
        }
        seen
    });
    let mut before = 0;
    while before < 20 {
        seen_rx.recv().await.expect("the consumer reports");
        before += 1;
    }

    server.kill().await;
    // A call racing the crash may wait out the command timeout (10 s);
    // once the client has seen the connection drop, calls fail at once.
    let down = tokio::time::timeout(Duration::from_secs(15), b.topics())
        .await
        .expect("a call while Redis is down returns");
    assert!(
        matches!(
            down,
            Err(Error::Backend {
                backend: "redis",
                ..
            })
        ),
        "{down:?}"
    );
    tokio::time::sleep(Duration::from_millis(500)).await;
    server.launch().await;

    let stored = eventually(Duration::from_secs(20), || {
        b.read(&t, StartAt::Beginning, 1000)
    })
    .await;
    let stored_ids: BTreeSet<_> = stored.iter().map(|s| s.message.id).collect();
    for p in &published {
        assert!(
            stored_ids.contains(&p.id),
            "acknowledged publish {} lost",
            p.offset
        );
    }
    // After the restart: to a topic created now, which the subscriber
    // must discover through a listener that reconnected.
    let later = Topic::new("restart.after").expect("topic");
    let batch: Vec<Message> = (50..60).map(|n| msg(&later, n)).collect();
    eventually(Duration::from_secs(20), || b.publish_batch(batch.clone())).await;

    let seen = tokio::time::timeout(Duration::from_secs(60), consumer)
        .await
        .expect("the subscriber received everything within 60 s")
        .expect("join");
    assert_eq!(seen, (0..60).collect::<BTreeSet<u64>>());
    let info = eventually(Duration::from_secs(5), || b.subscriptions()).await;
    assert_eq!(info.len(), 1);
    assert_eq!(info[0].pending, 0, "{info:?}");
}
