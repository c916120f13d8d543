//! The event-log conformance suite on Redis, and a hub per "process"
//! sharing one Redis log.
//!
//! Needs `HIVE_TEST_REDIS_URL` (set by `./scripts/test`). Each test uses
//! its own hive name, so its own keys.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hive_core::conformance::events::EventLogHarness;
use hive_core::conformance::{service_url, unique_name};
use hive_core::events::{EventFilter, EventHub, EventLog, NewEvent, RedisLog, Watch};
use serde_json::json;

struct Redis {
    url: String,
    name: String,
}

fn harness() -> Option<Redis> {
    Some(Redis {
        url: service_url("HIVE_TEST_REDIS_URL")?,
        name: unique_name("events"),
    })
}

#[async_trait]
impl EventLogHarness for Redis {
    async fn open(&self, retained: usize) -> Arc<dyn EventLog> {
        Arc::new(
            RedisLog::open_with_retention(&self.url, &self.name, retained)
                .await
                .expect("open redis event log"),
        )
    }
}

mod conformance {
    use super::harness;

    hive_core::event_log_conformance_tests!(harness());
}

/// Two hubs on one Redis log (two server processes): what one emits, a
/// subscription on the other receives, in order, numbered once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hub_sees_what_another_process_emits() {
    let Some(h) = harness() else { return };
    let a = EventHub::start(h.open(1_000).await).await.expect("hub a");
    let b = EventHub::start(h.open(1_000).await).await.expect("hub b");
    let mut watch = b
        .subscribe(EventFilter::patterns(["task"]).expect("filter"), None)
        .await
        .expect("subscribe");
    for n in 0..20 {
        a.emit(NewEvent::new("task.completed", format!("t{n}"), json!({})).expect("event"));
        b.emit(NewEvent::new("agent.status", "x", json!({})).expect("event"));
    }
    let mut seen = Vec::new();
    while seen.len() < 20 {
        match tokio::time::timeout(Duration::from_secs(10), watch.next()).await {
            Ok(Some(Watch::Event(e))) => {
                assert_eq!(e.kind, "task.completed", "the filter holds");
                seen.push(e.subject.clone());
            }
            other => panic!("expected an event, got {other:?}"),
        }
    }
    let expected: Vec<String> = (0..20).map(|n| format!("t{n}")).collect();
    assert_eq!(seen, expected, "in emit order");
    a.close().await;
    b.close().await;
    let all = b.read_after(0, 100).await.expect("read");
    assert_eq!(all.len(), 40);
    assert!(all.windows(2).all(|w| w[1].seq == w[0].seq + 1));
}
