//! A subscriber process killed with SIGKILL loses nothing: the messages it
//! held unacknowledged are redelivered to another consumer of the same
//! subscription after the ack timeout, and the ones it acknowledged are not.

use std::collections::BTreeSet;
use std::time::Duration;

use hive_core::broker::{self, BrokerConfig, BrokerExt, Message, SubscriptionSpec, Topic};
use hive_core::conformance::unique_name;
use hive_core::Error;
use serde_json::json;

use crate::Process;

fn numbers(line: &str) -> BTreeSet<u64> {
    line.split_whitespace()
        .skip(1)
        .map(|n| n.parse().expect("number"))
        .collect()
}

async fn killed_subscriber_loses_nothing(url: &str) {
    let name = unique_name("crash").replace('-', "_");
    let broker = broker::open(url, BrokerConfig::default())
        .await
        .expect("open");
    let spec = SubscriptionSpec::new(&name, [format!("{name}.>")])
        .expect("spec")
        .ack_timeout(Duration::from_millis(1000));
    broker.subscribe(spec).await.expect("subscribe");
    let topic = Topic::new(format!("{name}.events")).expect("topic");
    let sent = broker
        .publish_batch(
            (0..50u64)
                .map(|n| Message::new(topic.clone(), "event", json!({ "n": n })))
                .collect(),
        )
        .await
        .expect("publish");
    assert_eq!(sent.len(), 50);

    let victim = Process::start(&["subscribe", url, &name, "1000"]);
    let acked = numbers(&victim.expect_line("acked ", Duration::from_secs(30)));
    let held = numbers(&victim.expect_line("holding ", Duration::from_secs(30)));
    assert_eq!((acked.len(), held.len()), (10, 10));
    victim.kill();

    // The survivor drains the subscription: everything the victim did not
    // acknowledge, the held messages included once their ack timeout ran out.
    let mut rescued = BTreeSet::new();
    let mut redelivered = BTreeSet::new();
    let until = tokio::time::Instant::now() + Duration::from_secs(30);
    while rescued.len() < 40 && tokio::time::Instant::now() < until {
        let got = broker
            .fetch(&name, "survivor", 50, Duration::from_millis(500))
            .await
            .expect("fetch");
        for d in &got {
            let n = d.message.payload["n"].as_u64().expect("n");
            assert!(
                !acked.contains(&n),
                "{url}: acknowledged message {n} came back"
            );
            assert!(
                rescued.insert(n),
                "{url}: message {n} delivered twice to the survivor"
            );
            if d.deliveries > 1 {
                redelivered.insert(n);
            }
        }
        let receipts: Vec<_> = got.iter().map(|d| d.receipt.clone()).collect();
        broker.ack(&name, &receipts).await.expect("ack");
    }
    let everything: BTreeSet<u64> = acked.union(&rescued).copied().collect();
    assert_eq!(
        everything,
        (0..50).collect(),
        "{url}: every message handled"
    );
    assert_eq!(redelivered, held, "{url}: the held ones were redelivered");
    let left = broker
        .fetch(&name, "survivor", 10, Duration::from_millis(1500))
        .await
        .expect("fetch");
    assert!(left.is_empty(), "{url}: nothing more to deliver");

    // Acking again what is already settled is refused, and changes nothing.
    let late = broker.ack_one(&name, &sent_receipt(&sent[0])).await;
    assert!(
        matches!(late, Err(Error::Conflict(_))),
        "{url}: a second ack was {late:?}"
    );
    broker.unsubscribe(&name).await.expect("unsubscribe");
    crate::forget_topic(url, &topic).await;
}

fn sent_receipt(p: &hive_core::broker::Published) -> hive_core::broker::Receipt {
    hive_core::broker::Receipt {
        topic: p.topic.clone(),
        offset: p.offset,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_subscriber_loses_nothing_on_every_backend() {
    let dir = tempfile::tempdir().expect("tempdir");
    for url in crate::broker_backends(dir.path()) {
        killed_subscriber_loses_nothing(&url).await;
    }
}
