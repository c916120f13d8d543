//! The [`EventLog`] contract as tests: each clause of its `# Contract`
//! names its functions here (`tests/it/tidy.rs` checks both ways).
//!
//! Every clause opens a log of its own, so suites may share a server.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use crate::events::{EventLog, NewEvent};

/// Opens the backend under test.
#[async_trait]
pub trait EventLogHarness: Send + Sync {
    /// A handle on this test's log, keeping at least `retained` events.
    /// Opening twice gives two handles on one log (as two processes
    /// would have, for backends that span processes).
    async fn open(&self, retained: usize) -> Arc<dyn EventLog>;
}

/// Stamps one `#[tokio::test]` per event-log clause, each opening the
/// backend with `$harness` (an expression of type
/// `Option<impl EventLogHarness>`, which may `.await`; `None` means the
/// service is not configured).
#[macro_export]
macro_rules! event_log_conformance_tests {
    ($harness:expr) => {
        $crate::__event_log_clauses!($harness;
            append_numbers_events_without_gaps,
            read_after_returns_events_in_order,
            old_events_are_dropped_beyond_retention,
            read_after_waits_for_new_events,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __event_log_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::events::$clause(&harness).await;
                }
            }
        )*
    };
}

fn event(n: usize) -> NewEvent {
    NewEvent::new("test.happened", format!("s{n}"), json!({ "n": n })).expect("a valid kind")
}

fn events(from: usize, count: usize) -> Vec<NewEvent> {
    (from..from + count).map(event).collect()
}

/// Clause: numbered in order.
pub async fn append_numbers_events_without_gaps(h: &impl EventLogHarness) {
    let a = h.open(1_000).await;
    let b = h.open(1_000).await;
    assert_eq!(a.last_seq().await.expect("last"), 0, "a new log is empty");
    assert_eq!(a.append(&[]).await.expect("empty append"), 1);
    assert_eq!(a.append(&events(0, 3)).await.expect("append"), 1);
    assert_eq!(b.append(&events(3, 2)).await.expect("append"), 4);
    // Concurrent appends through both handles still number 1..=N.
    let writes = (0..10).map(|i| {
        let log = if i % 2 == 0 { a.clone() } else { b.clone() };
        async move { log.append(&events(100 + i * 5, 5)).await }
    });
    for r in futures::future::join_all(writes).await {
        r.expect("concurrent append");
    }
    assert_eq!(b.last_seq().await.expect("last"), 55);
    let all = a.read_after(0, 100, Duration::ZERO).await.expect("read");
    let seqs: Vec<u64> = all.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (1..=55).collect::<Vec<u64>>());
    // Each batch stays together and in order.
    for batch in all[5..].chunks(5) {
        let ns: Vec<i64> = batch
            .iter()
            .map(|e| e.data["n"].as_i64().unwrap_or(-1))
            .collect();
        assert!(ns.windows(2).all(|w| w[1] == w[0] + 1), "{ns:?}");
    }
}

/// Clause: read after.
pub async fn read_after_returns_events_in_order(h: &impl EventLogHarness) {
    let log = h.open(1_000).await;
    let at = chrono::Utc::now();
    log.append(&events(0, 10)).await.expect("append");
    let page = log.read_after(3, 4, Duration::ZERO).await.expect("read");
    let seqs: Vec<u64> = page.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, vec![4, 5, 6, 7]);
    let e = &page[0];
    assert_eq!(e.kind, "test.happened");
    assert_eq!(e.subject, "s3");
    assert_eq!(e.data, json!({ "n": 3 }));
    assert!((e.at - at).num_seconds().abs() < 5, "{}", e.at);
    assert!(log
        .read_after(10, 5, Duration::ZERO)
        .await
        .expect("read")
        .is_empty());
    assert!(log
        .read_after(99, 5, Duration::ZERO)
        .await
        .expect("read")
        .is_empty());
    assert_eq!(log.last_seq().await.expect("last"), 10);
}

/// Clause: bounded.
pub async fn old_events_are_dropped_beyond_retention(h: &impl EventLogHarness) {
    let log = h.open(100).await;
    for i in 0..10 {
        log.append(&events(i * 100, 100)).await.expect("append");
    }
    let kept = log
        .read_after(0, 2_000, Duration::ZERO)
        .await
        .expect("read");
    assert!(
        kept.len() >= 100,
        "keeps at least the newest 100: {}",
        kept.len()
    );
    assert!(kept.len() < 1_000, "drops old events: kept {}", kept.len());
    let first = kept[0].seq;
    assert!(first > 1, "the reader sees the gap: first is {first}");
    assert_eq!(kept.last().map(|e| e.seq), Some(1_000));
    let seqs: Vec<u64> = kept.iter().map(|e| e.seq).collect();
    assert_eq!(seqs, (first..=1_000).collect::<Vec<u64>>());
}

/// Clause: wakes.
pub async fn read_after_waits_for_new_events(h: &impl EventLogHarness) {
    let reader = h.open(1_000).await;
    let writer = h.open(1_000).await;
    let started = tokio::time::Instant::now();
    let empty = reader
        .read_after(0, 10, Duration::from_millis(200))
        .await
        .expect("read");
    assert!(empty.is_empty());
    assert!(started.elapsed() >= Duration::from_millis(150), "it waited");

    let waiting = tokio::spawn({
        let reader = reader.clone();
        async move { reader.read_after(0, 10, Duration::from_secs(20)).await }
    });
    tokio::time::sleep(Duration::from_millis(100)).await;
    let appended = tokio::time::Instant::now();
    writer.append(&events(0, 2)).await.expect("append");
    let got = waiting.await.expect("join").expect("read");
    assert!(!got.is_empty() && got[0].seq == 1, "{got:?}");
    assert!(
        appended.elapsed() < Duration::from_secs(5),
        "woke soon after the append, not at the end of the wait"
    );
}
