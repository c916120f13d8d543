//! The [`MessageStore`] contract as tests: each clause of its `# Contract`
//! names its functions here (`tests/it/tidy.rs` checks both ways).
//!
//! Clauses record messages with publish times they choose (a fixed day in
//! 2024, to the millisecond), so order and time ranges are exact rather
//! than raced against a clock. Each test gets a store of its own from its
//! harness: `purge_before` and the leading-wildcard patterns act on
//! everything in a store.

use std::collections::BTreeSet;
use std::future::Future;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, TimeZone, Utc};
use futures::FutureExt;
use serde_json::json;
use uuid::Uuid;

use super::{assert_invalid, assert_not_found, unique_name};
use crate::broker::history::{HistoryQuery, MessageStore, MAX_LIMIT};
use crate::broker::{Message, MessageId, Offset, StoredMessage, Topic, TopicPattern};

/// Opens the backend under test.
#[async_trait]
pub trait HistoryHarness: Send + Sync {
    /// Opens a new handle on this test's store: a store of its own, empty
    /// at first. Opening twice gives two handles on one store (as two
    /// processes would have).
    async fn open(&self) -> Arc<dyn MessageStore>;

    /// Removes this test's store. Runs after the clause, whether it passed
    /// or failed. Default: nothing to do.
    async fn clean_up(&self) {}
}

/// Stamps one `#[tokio::test]` per history clause, each opening the backend
/// with `$harness` (an expression of type `Option<impl HistoryHarness>`,
/// which may `.await`; `None` means the service is not configured).
#[macro_export]
macro_rules! history_conformance_tests {
    ($harness:expr) => {
        $crate::__history_clauses!($harness;
            record_then_get_round_trips,
            record_is_idempotent_by_id,
            query_orders_by_publish_time_then_id,
            query_matches_topics_like_subscriptions,
            query_fills_its_limit_across_sparse_matches,
            query_by_agent_matches_sender_or_recipient,
            query_filters_combine,
            query_time_range_is_half_open,
            query_pages_after_a_message,
            query_rejects_bad_input,
            purge_before_removes_only_older_messages,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __history_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::history::run_clause(
                        &harness,
                        $crate::conformance::history::$clause(&harness),
                    )
                    .await;
                }
            }
        )*
    };
}

/// Runs one clause, then the harness's clean-up, then reports the clause's
/// failure if it failed.
#[doc(hidden)]
pub async fn run_clause<H: HistoryHarness>(harness: &H, clause: impl Future<Output = ()>) {
    let outcome = AssertUnwindSafe(clause).catch_unwind().await;
    harness.clean_up().await;
    if let Err(panic) = outcome {
        std::panic::resume_unwind(panic);
    }
}

/// A time `ms` milliseconds into a fixed day.
fn at(ms: i64) -> DateTime<Utc> {
    Utc.timestamp_millis_opt(1_704_067_200_000 + ms)
        .single()
        .expect("valid time")
}

fn topic(text: &str) -> Topic {
    Topic::new(text).expect("valid topic")
}

fn pattern(text: &str) -> TopicPattern {
    TopicPattern::new(text).expect("valid pattern")
}

/// Message `n` on `topic`, published at `ms` (and created a moment before).
fn stored(topic_name: &str, n: u64, ms: i64) -> StoredMessage {
    let mut message = Message::new(topic(topic_name), "test", json!({ "n": n }));
    message.timestamp = at(ms - 1);
    StoredMessage {
        message,
        offset: Offset(n),
        published_at: at(ms),
    }
}

/// Message `n` with a random (v4) id, so its place among messages of the
/// same millisecond depends on the id alone.
fn stored_random_id(topic_name: &str, n: u64, ms: i64) -> StoredMessage {
    let mut s = stored(topic_name, n, ms);
    s.message.id = MessageId(Uuid::new_v4());
    s
}

fn ids(messages: &[StoredMessage]) -> Vec<MessageId> {
    messages.iter().map(|m| m.message.id).collect()
}

/// Messages in history's order: by publish time, then id.
fn sorted(messages: &[StoredMessage]) -> Vec<MessageId> {
    let mut keyed: Vec<(DateTime<Utc>, MessageId)> = messages
        .iter()
        .map(|m| (m.published_at, m.message.id))
        .collect();
    keyed.sort();
    keyed.into_iter().map(|(_, id)| id).collect()
}

async fn record(s: &dyn MessageStore, messages: &[StoredMessage]) -> u64 {
    s.record(messages).await.expect("record")
}

async fn query(s: &dyn MessageStore, q: HistoryQuery) -> Vec<StoredMessage> {
    s.query(&q).await.expect("query")
}

/// `get` returns what was recorded, through any handle, to the millisecond;
/// unknown ids are not found.
pub async fn record_then_get_round_trips(h: &dyn HistoryHarness) {
    let (a, b) = (h.open().await, h.open().await);
    let conversation = Uuid::now_v7();
    let mut full = Message::direct(
        "coder",
        "review.request",
        json!({"pr": 17, "files": ["a.rs", "b.rs"], "nested": {"ok": true, "x": 1.5}}),
    )
    .expect("direct")
    .from_agent("planner")
    .header("trace", "abc")
    .header("content-type", "application/json")
    .correlation(conversation);
    full.timestamp = at(7);
    let full = StoredMessage {
        message: full,
        offset: Offset(42),
        published_at: at(9),
    };
    let bare = stored(&format!("{}.bare", unique_name("t")), 1, 11);
    assert_eq!(record(a.as_ref(), &[full.clone(), bare.clone()]).await, 2);
    assert_eq!(
        b.get(full.message.id)
            .await
            .expect("get through another handle"),
        full
    );
    assert_eq!(a.get(bare.message.id).await.expect("get"), bare);

    // Finer than a millisecond is dropped, not rounded.
    let mut fine = stored(&format!("{}.fine", unique_name("t")), 2, 20);
    fine.published_at += chrono::Duration::microseconds(999);
    fine.message.timestamp += chrono::Duration::microseconds(456);
    record(a.as_ref(), &[fine.clone()]).await;
    let back = b.get(fine.message.id).await.expect("get");
    assert_eq!(back.published_at, at(20));
    assert_eq!(back.message.timestamp, at(19));
    assert_eq!(back.message.payload, fine.message.payload);

    assert_not_found(a.get(MessageId::new()).await, "an id never recorded");
}

/// Recording an id again changes nothing; `record` counts the new ones.
pub async fn record_is_idempotent_by_id(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let t = format!("{}.idem", unique_name("t"));
    let (m1, m2, m3) = (stored(&t, 1, 10), stored(&t, 2, 20), stored(&t, 3, 30));
    assert_eq!(record(s.as_ref(), &[m1.clone(), m2.clone()]).await, 2);
    assert_eq!(
        record(s.as_ref(), &[m1.clone(), m2.clone(), m3.clone()]).await,
        1,
        "only the third is new"
    );

    let mut changed = m1.clone();
    changed.message.payload = json!({"changed": true});
    changed.message.topic = topic(&format!("{t}.elsewhere"));
    changed.published_at = at(99);
    assert_eq!(record(s.as_ref(), &[changed]).await, 0);
    assert_eq!(
        s.get(m1.message.id).await.expect("get"),
        m1,
        "first record wins"
    );

    let m4 = stored(&t, 4, 40);
    let mut m4_again = m4.clone();
    m4_again.message.payload = json!({"second": true});
    assert_eq!(
        record(s.as_ref(), &[m4.clone(), m4_again]).await,
        1,
        "an id repeated in a batch counts once"
    );
    assert_eq!(s.get(m4.message.id).await.expect("get"), m4);
    assert_eq!(record(s.as_ref(), &[]).await, 0);

    let all = query(s.as_ref(), HistoryQuery::new().topic(topic(&t))).await;
    assert_eq!(ids(&all), ids(&[m1, m2, m3, m4]));
}

/// Results go by publish time, then id; oldest first unless asked otherwise.
pub async fn query_orders_by_publish_time_then_id(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let t = format!("{}.order", unique_name("t"));
    let messages: Vec<StoredMessage> = [30, 10, 20, 20, 20, 10, 40, 20]
        .into_iter()
        .enumerate()
        .map(|(n, ms)| stored_random_id(&t, n as u64, ms))
        .collect();
    // Recorded out of order, in two batches.
    record(s.as_ref(), &messages[4..]).await;
    record(s.as_ref(), &messages[..4]).await;
    let expected = sorted(&messages);

    let oldest = query(s.as_ref(), HistoryQuery::new().topic(topic(&t))).await;
    assert_eq!(ids(&oldest), expected);
    let newest = query(
        s.as_ref(),
        HistoryQuery::new().topic(topic(&t)).newest_first(),
    )
    .await;
    let mut reversed = expected.clone();
    reversed.reverse();
    assert_eq!(ids(&newest), reversed);
    let last_three = query(
        s.as_ref(),
        HistoryQuery::new().topic(topic(&t)).newest_first().limit(3),
    )
    .await;
    assert_eq!(ids(&last_three), reversed[..3]);
    let everything = query(s.as_ref(), HistoryQuery::new()).await;
    assert_eq!(
        ids(&everything),
        expected,
        "no filter: the whole store, in order"
    );
}

/// Topic filters select what a subscription with that pattern would hear.
pub async fn query_matches_topics_like_subscriptions(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let p = unique_name("t");
    let topics = [
        p.clone(),
        format!("{p}.a"),
        format!("{p}.a.b"),
        format!("{p}.a.b.c"),
        format!("{p}.b.inbox"),
        format!("{p}.c.inbox"),
        format!("{p}.c.outbox"),
        format!("{p}x.a"),
        format!("{p}-other.b.inbox"),
        format!("_hive.dead.{p}"),
        format!("_hive.replay.{p}"),
        "agents.broadcast".to_owned(),
    ];
    let messages: Vec<StoredMessage> = topics
        .iter()
        .enumerate()
        .map(|(n, t)| stored(t, n as u64, n as i64))
        .collect();
    record(s.as_ref(), &messages).await;
    let patterns = [
        format!("{p}.a"),
        format!("{p}.>"),
        format!("{p}.*"),
        format!("{p}.*.inbox"),
        format!("{p}.a.>"),
        format!("{p}.*.*"),
        format!("{p}.*.b.>"),
        "*".to_owned(),
        ">".to_owned(),
        "*.*.inbox".to_owned(),
        "*.a".to_owned(),
        "_hive.>".to_owned(),
        "_hive.dead.*".to_owned(),
        "agents.*".to_owned(),
        format!("{p}.nothing.*"),
    ];
    for text in patterns {
        let pat = pattern(&text);
        let expected: BTreeSet<MessageId> = messages
            .iter()
            .filter(|m| pat.matches(&m.message.topic))
            .map(|m| m.message.id)
            .collect();
        let got = query(s.as_ref(), HistoryQuery::new().topic(pat)).await;
        let got_set: BTreeSet<MessageId> = ids(&got).into_iter().collect();
        assert_eq!(got_set, expected, "pattern {text}");
        assert_eq!(got.len(), got_set.len(), "pattern {text}: no repeats");
    }
}

/// A wildcard's matches fill the limit even when few among many rows of the
/// same prefix match.
pub async fn query_fills_its_limit_across_sparse_matches(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let p = unique_name("t");
    let noise = format!("{p}.n.miss");
    let mut messages: Vec<StoredMessage> = (0..1200).map(|n| stored(&noise, n, n as i64)).collect();
    let hits: Vec<StoredMessage> = [100, 500, 900, 1150, 1199]
        .into_iter()
        .enumerate()
        .map(|(k, ms)| stored(&format!("{p}.h{k}.hit"), 10_000 + k as u64, ms))
        .collect();
    messages.extend(hits.iter().cloned());
    record(s.as_ref(), &messages).await;
    let hit_ids = ids(&hits);

    for text in [format!("{p}.*.hit"), "*.*.hit".to_owned()] {
        let q = HistoryQuery::new().topic(pattern(&text));
        let first = query(s.as_ref(), q.clone().limit(3)).await;
        assert_eq!(ids(&first), hit_ids[..3], "{text}: the first three");
        let last = query(s.as_ref(), q.clone().limit(3).newest_first()).await;
        assert_eq!(
            ids(&last),
            [hit_ids[4], hit_ids[3], hit_ids[2]],
            "{text}: the last three"
        );
        let all = query(s.as_ref(), q.limit(10)).await;
        assert_eq!(ids(&all), hit_ids, "{text}: fewer than the limit");
    }
    let exact = query(
        s.as_ref(),
        HistoryQuery::new().topic(topic(&noise)).limit(7),
    )
    .await;
    assert_eq!(exact.len(), 7);
    let most = query(s.as_ref(), HistoryQuery::new().limit(MAX_LIMIT)).await;
    assert_eq!(most.len(), MAX_LIMIT);
}

/// An agent filter selects what the agent sent and what was addressed to it.
pub async fn query_by_agent_matches_sender_or_recipient(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let (a1, a2, a3) = (unique_name("a"), unique_name("a"), unique_name("a"));
    let direct = |from: Option<&str>, to: &str, ms: i64| {
        let mut m = Message::direct(to, "note", json!({ "ms": ms })).expect("direct");
        m.from = from.map(str::to_owned);
        StoredMessage {
            message: m,
            offset: Offset(ms.unsigned_abs()),
            published_at: at(ms),
        }
    };
    let broadcast = StoredMessage {
        message: Message::broadcast("announce", json!({})).from_agent(a1.clone()),
        offset: Offset(1),
        published_at: at(40),
    };
    let messages = vec![
        direct(Some(&a1), &a2, 10),
        direct(Some(&a2), &a1, 20),
        direct(Some(&a3), &a2, 30),
        broadcast,
        direct(None, &a1, 50),
        direct(Some(&a1), &a1, 60),
    ];
    record(s.as_ref(), &messages).await;
    let by = |agent: &str| {
        let agent = agent.to_owned();
        let s = s.clone();
        async move { ids(&query(s.as_ref(), HistoryQuery::new().agent(agent)).await) }
    };
    let pick = |which: &[usize]| {
        which
            .iter()
            .map(|&i| messages[i].message.id)
            .collect::<Vec<_>>()
    };
    assert_eq!(by(&a1).await, pick(&[0, 1, 3, 4, 5]));
    assert_eq!(by(&a2).await, pick(&[0, 1, 2]));
    assert_eq!(by(&a3).await, pick(&[2]));
    assert!(by(&unique_name("nobody")).await.is_empty());
}

/// Conversation and kind filters select by equality, and every filter a
/// query names must hold.
pub async fn query_filters_combine(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let p = unique_name("t");
    let (c1, c2) = (Uuid::now_v7(), Uuid::now_v7());
    let (planner, coder) = (unique_name("planner"), unique_name("coder"));
    let make = |t: &str, kind: &str, corr: Option<Uuid>, from: &str, ms: i64| {
        let mut m =
            Message::new(topic(&format!("{p}.{t}")), kind, json!({ "ms": ms })).from_agent(from);
        m.correlation_id = corr;
        StoredMessage {
            message: m,
            offset: Offset(ms.unsigned_abs()),
            published_at: at(ms),
        }
    };
    let messages = vec![
        make("chat", "ask", Some(c1), &planner, 10),
        make("chat", "answer", Some(c1), &coder, 20),
        make("work", "ask", Some(c1), &coder, 30),
        make("chat", "ask", Some(c2), &planner, 40),
        make("chat", "answer", Some(c2), &coder, 50),
        make("chat", "ask", None, &planner, 60),
    ];
    record(s.as_ref(), &messages).await;
    let pick = |which: &[usize]| {
        which
            .iter()
            .map(|&i| messages[i].message.id)
            .collect::<Vec<_>>()
    };
    let cases = [
        (HistoryQuery::new().correlation(c1), pick(&[0, 1, 2])),
        (HistoryQuery::new().correlation(c2), pick(&[3, 4])),
        (HistoryQuery::new().correlation(Uuid::now_v7()), pick(&[])),
        (HistoryQuery::new().kind("ask"), pick(&[0, 2, 3, 5])),
        (
            HistoryQuery::new().correlation(c1).kind("ask"),
            pick(&[0, 2]),
        ),
        (
            HistoryQuery::new()
                .correlation(c1)
                .kind("ask")
                .agent(coder.clone()),
            pick(&[2]),
        ),
        (
            HistoryQuery::new()
                .correlation(c1)
                .topic(pattern(&format!("{p}.chat"))),
            pick(&[0, 1]),
        ),
        (
            HistoryQuery::new()
                .kind("ask")
                .agent(planner.clone())
                .topic(pattern(&format!("{p}.*")))
                .since(at(20))
                .until(at(60)),
            pick(&[3]),
        ),
        (HistoryQuery::new().kind("nothing-of-this-kind"), pick(&[])),
    ];
    for (n, (q, expected)) in cases.into_iter().enumerate() {
        assert_eq!(ids(&query(s.as_ref(), q).await), expected, "case {n}");
    }
}

/// `since` is included, `until` is not, to the millisecond.
pub async fn query_time_range_is_half_open(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let t = format!("{}.time", unique_name("t"));
    let messages: Vec<StoredMessage> = [10, 20, 30, 40]
        .into_iter()
        .enumerate()
        .map(|(n, ms)| stored(&t, n as u64, ms))
        .collect();
    record(s.as_ref(), &messages).await;
    let micro = chrono::Duration::microseconds;
    let pick = |which: &[usize]| {
        which
            .iter()
            .map(|&i| messages[i].message.id)
            .collect::<Vec<_>>()
    };
    let base = HistoryQuery::new().topic(topic(&t));
    let cases = [
        (base.clone().since(at(20)), pick(&[1, 2, 3])),
        (base.clone().until(at(30)), pick(&[0, 1])),
        (base.clone().since(at(20)).until(at(40)), pick(&[1, 2])),
        (base.clone().since(at(30)).until(at(30)), pick(&[])),
        (base.clone().since(at(20) + micro(1)), pick(&[2, 3])),
        (base.clone().until(at(30) + micro(1)), pick(&[0, 1, 2])),
        (base.clone().since(at(41)), pick(&[])),
        (
            base.since(at(0)).until(at(100)).newest_first(),
            pick(&[3, 2, 1, 0]),
        ),
    ];
    for (n, (q, expected)) in cases.into_iter().enumerate() {
        assert_eq!(ids(&query(s.as_ref(), q).await), expected, "case {n}");
    }
}

/// Pages chained with `after` walk through every match once, either way.
pub async fn query_pages_after_a_message(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let p = unique_name("t");
    // Three to a millisecond, so pages break between equal times, and two
    // topics under one pattern, with rows a wildcard must skip between.
    let messages: Vec<StoredMessage> = (0..25u64)
        .map(|n| {
            let t = if n % 2 == 0 { "a.x" } else { "b.x" };
            stored_random_id(&format!("{p}.{t}"), n, (n / 3) as i64)
        })
        .collect();
    let skipped: Vec<StoredMessage> = (0..10u64)
        .map(|n| stored_random_id(&format!("{p}.a.y"), 100 + n, (n / 2) as i64))
        .collect();
    record(s.as_ref(), &messages).await;
    record(s.as_ref(), &skipped).await;
    let expected = sorted(&messages);

    for newest_first in [false, true] {
        let mut q = HistoryQuery::new()
            .topic(pattern(&format!("{p}.*.x")))
            .limit(4);
        if newest_first {
            q = q.newest_first();
        }
        let mut walked = Vec::new();
        loop {
            let page = query(s.as_ref(), q.clone()).await;
            assert!(page.len() <= 4);
            walked.extend(ids(&page));
            match page.last() {
                Some(last) if page.len() == 4 => q = q.after(last.message.id),
                _ => break,
            }
        }
        let mut want = expected.clone();
        if newest_first {
            want.reverse();
        }
        assert_eq!(walked, want, "newest first: {newest_first}");
    }
    let from_middle = query(
        s.as_ref(),
        HistoryQuery::new()
            .topic(pattern(&format!("{p}.>")))
            .after(expected[10])
            .limit(3),
    )
    .await;
    let everything_sorted = sorted(&[messages.clone(), skipped.clone()].concat());
    let middle = everything_sorted
        .iter()
        .position(|id| *id == expected[10])
        .expect("in the store");
    assert_eq!(ids(&from_middle), everything_sorted[middle + 1..middle + 4]);
    assert_not_found(
        s.query(&HistoryQuery::new().after(MessageId::new())).await,
        "after a message the store does not hold",
    );
}

/// Bad limits, empty names and backwards ranges are refused.
pub async fn query_rejects_bad_input(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let t = format!("{}.limits", unique_name("t"));
    let messages: Vec<StoredMessage> = (0..120).map(|n| stored(&t, n, n as i64)).collect();
    record(s.as_ref(), &messages).await;
    let q = || HistoryQuery::new().topic(topic(&t));
    assert_invalid(s.query(&q().limit(0)).await, "limit");
    assert_invalid(s.query(&q().limit(MAX_LIMIT + 1)).await, "limit");
    assert_invalid(s.query(&q().agent("")).await, "agent");
    assert_invalid(s.query(&q().kind(" ")).await, "kind");
    assert_invalid(s.query(&q().since(at(10)).until(at(5))).await, "time range");
    assert_eq!(query(s.as_ref(), q()).await.len(), 100, "the default limit");
    assert_eq!(query(s.as_ref(), q().limit(MAX_LIMIT)).await.len(), 120);
    assert_eq!(query(s.as_ref(), q().limit(1)).await.len(), 1);
}

/// `purge_before` deletes exactly the messages published before its time.
pub async fn purge_before_removes_only_older_messages(h: &dyn HistoryHarness) {
    let s = h.open().await;
    let t = format!("{}.purge", unique_name("t"));
    let old: Vec<StoredMessage> = (0..5_100).map(|n| stored(&t, n, 10)).collect();
    let (m20, m30) = (stored(&t, 20_000, 20), stored(&t, 30_000, 30));
    record(s.as_ref(), &old).await;
    record(s.as_ref(), &[m20.clone(), m30.clone()]).await;

    assert_eq!(
        s.purge_before(at(10)).await.expect("purge"),
        0,
        "`before` is excluded"
    );
    assert_eq!(
        s.purge_before(at(20)).await.expect("purge"),
        5_100,
        "however many there are"
    );
    assert_not_found(s.get(old[0].message.id).await, "a purged message");
    assert_eq!(s.purge_before(at(20)).await.expect("purge again"), 0);
    let left = query(s.as_ref(), HistoryQuery::new().topic(topic(&t))).await;
    assert_eq!(ids(&left), ids(&[m20.clone(), m30.clone()]));
    assert_eq!(
        s.purge_before(at(30) + chrono::Duration::microseconds(1))
            .await
            .expect("purge"),
        2,
        "to the millisecond"
    );
    assert!(query(s.as_ref(), HistoryQuery::new()).await.is_empty());
}
