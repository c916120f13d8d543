//! The [`SessionStore`] contract as tests: each clause of its `# Contract`
//! names its functions here (`tests/it/tidy.rs` checks both ways).
//!
//! Every clause makes sessions of its own (named with a unique prefix where
//! it lists them), so suites may share a database.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::{json, Value};

use super::{assert_conflict, assert_invalid, assert_not_found, unique_name};
use crate::error::Error;
use crate::session::{
    NewSession, Session, SessionId, SessionStatus, SessionStore, Utterance, MAX_CONTENT_BYTES,
    MAX_LIMIT,
};

/// Opens the backend under test.
#[async_trait]
pub trait SessionHarness: Send + Sync {
    /// Opens a new handle on this test's database. Opening twice gives two
    /// handles on one database (as two processes would have).
    async fn open(&self) -> Arc<dyn SessionStore>;

    /// Called after a clause passes: a shared database may drop what the
    /// clause made.
    async fn finish(&self) {}
}

/// Stamps one `#[tokio::test]` per session-store clause, each opening the
/// backend with `$harness` (an expression of type
/// `Option<impl SessionHarness>`, which may `.await`; `None` means the
/// service is not configured).
#[macro_export]
macro_rules! session_conformance_tests {
    ($harness:expr) => {
        $crate::__session_clauses!($harness;
            create_answers_a_fresh_open_session,
            bad_input_stores_nothing,
            join_appends_an_agent,
            record_appends_numbered_entries,
            only_members_speak,
            concurrent_records_are_gap_free,
            conversation_reads_after_a_seq,
            set_state_replaces_the_state,
            close_is_final,
            list_is_newest_first,
            shared_and_durable,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __session_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::sessions::$clause(&harness).await;
                    $crate::conformance::sessions::SessionHarness::finish(&harness).await;
                }
            }
        )*
    };
}

/// Fails unless `t` is within a few seconds of now (clocks of a database
/// and a test agree that well).
fn assert_now(t: DateTime<Utc>) {
    let slack = chrono::Duration::seconds(5);
    let now = Utc::now();
    assert!(
        t >= now - slack && t <= now + slack,
        "{t} is not now ({now})"
    );
}

/// The entries' seqs, in the order given.
fn seqs(entries: &[crate::session::ConversationEntry]) -> Vec<u64> {
    entries.iter().map(|e| e.seq).collect()
}

/// `create` answers a fresh open session, and `get` the same one.
pub async fn create_answers_a_fresh_open_session(h: &dyn SessionHarness) {
    let store = h.open().await;
    let name = unique_name("review");
    let s = store
        .create(
            NewSession::new(&name)
                .agents(["planner", "coder", "reviewer"])
                .state(json!({ "goal": "ship" })),
        )
        .await
        .expect("create");
    assert_eq!(s.name, name);
    assert_eq!(
        s.agents,
        ["planner", "coder", "reviewer"],
        "in the order given"
    );
    assert_eq!(s.status, SessionStatus::Open);
    assert_eq!(s.state, json!({ "goal": "ship" }));
    assert_eq!(s.closed_at, None);
    assert_now(s.created_at);
    assert_eq!(store.get(s.id).await.expect("get"), s);

    let bare = store.create(NewSession::new(&name)).await.expect("bare");
    assert_ne!(bare.id, s.id, "a fresh id, though the name is the same");
    assert!(bare.agents.is_empty(), "no agents is allowed");
    assert_eq!(bare.state, json!({}));
    assert_eq!(store.get(bare.id).await.expect("get bare"), bare);
    assert_not_found(store.get(SessionId::new()).await, "get of an unknown id");
}

/// Bad names, duplicate agents and non-object states are refused, and
/// store nothing.
pub async fn bad_input_stores_nothing(h: &dyn SessionHarness) {
    let store = h.open().await;
    let name = unique_name("bad");
    let cases = [
        (NewSession::new(""), "bad session name"),
        (NewSession::new("s".repeat(129)), "bad session name"),
        (NewSession::new(format!("{name}\n")), "bad session name"),
        (NewSession::new(&name).agents(["a", ""]), "bad agent name"),
        (
            NewSession::new(&name).agents(["a", &"a".repeat(129)]),
            "bad agent name",
        ),
        (
            NewSession::new(&name).agents(["a", "b\u{7}"]),
            "bad agent name",
        ),
        (
            NewSession::new(&name).agents(["a", "b", "a"]),
            "duplicate agent name \"a\" in session",
        ),
        (NewSession::new(&name).state(json!("text")), "JSON object"),
        (NewSession::new(&name).state(Value::Null), "JSON object"),
    ];
    let names: Vec<String> = cases.iter().map(|(new, _)| new.name.clone()).collect();
    for (new, expected) in cases {
        assert_invalid(store.create(new).await, expected);
    }
    let stored = store.list(None, MAX_LIMIT).await.expect("list");
    assert!(
        stored.iter().all(|s| !names.contains(&s.name)),
        "a refused session was stored: {stored:?}"
    );
}

/// `join` appends an agent; duplicates, bad names, closed and unknown
/// sessions are refused.
pub async fn join_appends_an_agent(h: &dyn SessionHarness) {
    let store = h.open().await;
    let s = store
        .create(NewSession::new(unique_name("join")).agents(["planner"]))
        .await
        .expect("create");
    let joined = store.join(s.id, "coder").await.expect("join coder");
    assert_eq!(joined.id, s.id);
    assert_eq!(joined.agents, ["planner", "coder"], "at the end");
    let joined = store.join(s.id, "reviewer").await.expect("join reviewer");
    assert_eq!(joined.agents, ["planner", "coder", "reviewer"]);
    assert_eq!(store.get(s.id).await.expect("get"), joined);

    match store.join(s.id, "coder").await {
        Err(Error::Conflict(msg)) => assert!(
            msg.contains("duplicate agent name \"coder\" in session"),
            "{msg}"
        ),
        other => panic!("expected a duplicate-name Conflict, got {other:?}"),
    }
    assert_conflict(store.join(s.id, "planner").await, "join of a member");
    assert_invalid(store.join(s.id, "").await, "bad agent name");
    assert_invalid(store.join(s.id, "a\nb").await, "bad agent name");
    assert_eq!(
        store.get(s.id).await.expect("get").agents,
        ["planner", "coder", "reviewer"],
        "refused joins change nothing"
    );

    let empty = store
        .create(NewSession::new(unique_name("join")))
        .await
        .expect("create empty");
    assert_eq!(
        store.join(empty.id, "solo").await.expect("solo").agents,
        ["solo"]
    );
    store.close(s.id).await.expect("close");
    assert_conflict(store.join(s.id, "late").await, "join of a closed session");
    assert_not_found(
        store.join(SessionId::new(), "anyone").await,
        "join of an unknown session",
    );
}

/// `record` answers entries numbered 1, 2, 3… per session.
pub async fn record_appends_numbered_entries(h: &dyn SessionHarness) {
    let store = h.open().await;
    let s = store
        .create(NewSession::new(unique_name("talk")).agents(["planner", "coder"]))
        .await
        .expect("create");
    let other = store
        .create(NewSession::new(unique_name("talk")).agents(["planner"]))
        .await
        .expect("other");
    let first = store
        .record(
            s.id,
            Utterance::new("planner", None, json!({ "text": "the plan" })),
        )
        .await
        .expect("first");
    assert_eq!(
        (first.session, first.seq, first.from_agent.as_str()),
        (s.id, 1, "planner")
    );
    assert_eq!(first.to_agent, None, "to the whole session");
    assert_eq!(first.content, json!({ "text": "the plan" }));
    assert_now(first.at);

    let elsewhere = store
        .record(
            other.id,
            Utterance::new("planner", None, json!("elsewhere")),
        )
        .await
        .expect("elsewhere");
    assert_eq!(elsewhere.seq, 1, "seqs are per session");

    let second = store
        .record(
            s.id,
            Utterance::new("coder", Some("planner"), json!([1, "two", null])),
        )
        .await
        .expect("second");
    assert_eq!(
        (second.seq, second.to_agent.as_deref()),
        (2, Some("planner"))
    );
    assert_eq!(second.content, json!([1, "two", null]));
    let third = store
        .record(s.id, Utterance::new("planner", Some("coder"), json!("ok")))
        .await
        .expect("third");
    assert_eq!(third.seq, 3);
    assert!(first.id != second.id && second.id != third.id);
    assert!(third.at >= first.at);
    assert_eq!(
        store.conversation(s.id, 0, 100).await.expect("read"),
        vec![first, second, third]
    );
}

/// Only the session's agents speak or are addressed; a refused record
/// stores nothing and uses up no seq.
pub async fn only_members_speak(h: &dyn SessionHarness) {
    let store = h.open().await;
    let s = store
        .create(NewSession::new(unique_name("members")).agents(["planner", "coder"]))
        .await
        .expect("create");
    let say = |from: &str, to: Option<&str>| Utterance::new(from, to, json!("hello"));
    assert_eq!(
        store
            .record(s.id, say("planner", None))
            .await
            .expect("1")
            .seq,
        1
    );
    assert_invalid(
        store.record(s.id, say("stranger", None)).await,
        "\"stranger\"",
    );
    assert_invalid(
        store.record(s.id, say("planner", Some("ghost"))).await,
        "\"ghost\"",
    );
    assert_invalid(store.record(s.id, say("", None)).await, "bad agent name");
    // A JSON string serialises with its two quotes.
    let at_limit = Value::String("x".repeat(MAX_CONTENT_BYTES - 2));
    let over = Value::String("x".repeat(MAX_CONTENT_BYTES - 1));
    assert_invalid(
        store
            .record(s.id, Utterance::new("coder", None, over))
            .await,
        "limit",
    );
    let big = store
        .record(s.id, Utterance::new("coder", None, at_limit.clone()))
        .await
        .expect("content of exactly the limit");
    assert_eq!(
        (big.seq, &big.content),
        (2, &at_limit),
        "refusals used no seq"
    );
    assert_eq!(
        seqs(&store.conversation(s.id, 0, 100).await.expect("read")),
        [1, 2],
        "refusals stored nothing"
    );

    store.join(s.id, "stranger").await.expect("join");
    let joined = store
        .record(s.id, say("stranger", Some("coder")))
        .await
        .expect("a member now");
    assert_eq!(joined.seq, 3);
    store.close(s.id).await.expect("close");
    assert_conflict(
        store.record(s.id, say("planner", None)).await,
        "record in a closed session",
    );
    assert_not_found(
        store.record(SessionId::new(), say("planner", None)).await,
        "record in an unknown session",
    );
    assert_eq!(
        seqs(&store.conversation(s.id, 0, 100).await.expect("read")),
        [1, 2, 3]
    );
}

/// Concurrent records get the seqs 1..=n, each once. Four handles (as four processes would have) record at once.
pub async fn concurrent_records_are_gap_free(h: &dyn SessionHarness) {
    const HANDLES: usize = 4;
    const EACH: u64 = 15;
    let mut handles = Vec::new();
    for _ in 0..HANDLES {
        handles.push(h.open().await);
    }
    let agents: Vec<String> = (0..HANDLES).map(|i| format!("agent-{i}")).collect();
    let s = handles[0]
        .create(NewSession::new(unique_name("race")).agents(agents.clone()))
        .await
        .expect("create");
    let mut tasks = Vec::new();
    for (store, agent) in handles.iter().cloned().zip(agents.clone()) {
        tasks.push(tokio::spawn(async move {
            let mut seqs = Vec::new();
            for n in 0..EACH {
                let u = Utterance::new(agent.as_str(), None, json!({ "n": n }));
                seqs.push(store.record(s.id, u).await.expect("record").seq);
            }
            seqs
        }));
    }
    let mut all = Vec::new();
    for task in tasks {
        let mine = task.await.expect("task");
        assert!(mine.windows(2).all(|w| w[0] < w[1]), "{mine:?}");
        all.extend(mine);
    }
    all.sort_unstable();
    let total = EACH * HANDLES as u64;
    assert_eq!(all, (1..=total).collect::<Vec<_>>(), "each seq once");

    let read = handles[0]
        .conversation(s.id, 0, MAX_LIMIT)
        .await
        .expect("read");
    assert_eq!(seqs(&read), (1..=total).collect::<Vec<_>>());
    for agent in &agents {
        let said: Vec<&Value> = read
            .iter()
            .filter(|e| &e.from_agent == agent)
            .map(|e| &e.content["n"])
            .collect();
        let expected: Vec<Value> = (0..EACH).map(|n| json!(n)).collect();
        assert_eq!(
            said,
            expected.iter().collect::<Vec<_>>(),
            "{agent}'s in order"
        );
    }
}

/// `conversation` answers the entries after a seq, ascending, at most
/// `limit`.
pub async fn conversation_reads_after_a_seq(h: &dyn SessionHarness) {
    let store = h.open().await;
    let s = store
        .create(NewSession::new(unique_name("read")).agents(["a", "b"]))
        .await
        .expect("create");
    assert!(
        store
            .conversation(s.id, 0, 10)
            .await
            .expect("empty")
            .is_empty(),
        "an open session with nothing said reads empty"
    );
    for n in 1..=5 {
        let from = if n % 2 == 0 { "b" } else { "a" };
        store
            .record(s.id, Utterance::new(from, None, json!(n)))
            .await
            .expect("record");
    }
    let read = |after: u64, limit: usize| store.conversation(s.id, after, limit);
    assert_eq!(seqs(&read(0, 2).await.expect("0")), [1, 2]);
    assert_eq!(seqs(&read(2, 2).await.expect("2")), [3, 4]);
    assert_eq!(seqs(&read(4, 10).await.expect("4")), [5]);
    assert!(read(5, 10).await.expect("5").is_empty());
    assert!(read(u64::MAX, 10).await.expect("max").is_empty());
    let everything = read(0, 10).await.expect("all");
    assert_eq!(
        everything
            .iter()
            .map(|e| e.content.clone())
            .collect::<Vec<_>>(),
        (1..=5).map(|n| json!(n)).collect::<Vec<_>>()
    );
    assert_invalid(read(0, 0).await, "limit");
    assert_invalid(read(0, MAX_LIMIT + 1).await, "limit");

    store.close(s.id).await.expect("close");
    assert_eq!(
        store.conversation(s.id, 0, 10).await.expect("closed"),
        everything,
        "a closed session reads back"
    );
    assert_not_found(
        store.conversation(SessionId::new(), 0, 10).await,
        "conversation of an unknown session",
    );
}

/// `set_state` replaces an open session's state.
pub async fn set_state_replaces_the_state(h: &dyn SessionHarness) {
    let store = h.open().await;
    let s = store
        .create(
            NewSession::new(unique_name("state"))
                .agents(["a"])
                .state(json!({ "step": 1, "old": true })),
        )
        .await
        .expect("create");
    let new_state = json!({ "step": 2, "notes": ["x", { "y": 1 }] });
    let changed = store.set_state(s.id, new_state.clone()).await.expect("set");
    assert_eq!(changed.state, new_state, "replaced, not merged");
    assert_eq!(
        Session {
            state: s.state.clone(),
            ..changed.clone()
        },
        s,
        "nothing else changes"
    );
    assert_eq!(store.get(s.id).await.expect("get"), changed);
    assert_invalid(store.set_state(s.id, json!([1])).await, "JSON object");
    assert_invalid(store.set_state(s.id, json!(3)).await, "JSON object");
    assert_eq!(store.get(s.id).await.expect("get").state, new_state);
    store.close(s.id).await.expect("close");
    assert_conflict(
        store.set_state(s.id, json!({})).await,
        "state of a closed session",
    );
    assert_not_found(
        store.set_state(SessionId::new(), json!({})).await,
        "state of an unknown session",
    );
}

/// Closed is final, and a closed session still reads back.
pub async fn close_is_final(h: &dyn SessionHarness) {
    let store = h.open().await;
    let s = store
        .create(
            NewSession::new(unique_name("close"))
                .agents(["a", "b"])
                .state(json!({ "k": "v" })),
        )
        .await
        .expect("create");
    let said = store
        .record(s.id, Utterance::new("a", Some("b"), json!("bye")))
        .await
        .expect("record");
    let closed = store.close(s.id).await.expect("close");
    assert_eq!(closed.status, SessionStatus::Closed);
    let at = closed.closed_at.expect("closed_at is set");
    assert!(at >= s.created_at);
    assert_now(at);
    assert_eq!(
        Session {
            status: SessionStatus::Open,
            closed_at: None,
            ..closed.clone()
        },
        s,
        "closing changes only the status and closed_at"
    );
    assert_eq!(store.get(s.id).await.expect("get"), closed);

    assert_conflict(store.close(s.id).await, "closing again");
    assert_conflict(store.join(s.id, "c").await, "join after close");
    assert_conflict(
        store
            .record(s.id, Utterance::new("a", None, json!("again")))
            .await,
        "record after close",
    );
    assert_conflict(store.set_state(s.id, json!({})).await, "state after close");
    assert_eq!(
        store.get(s.id).await.expect("get"),
        closed,
        "refused writes change nothing"
    );
    assert_eq!(
        store.conversation(s.id, 0, 10).await.expect("read"),
        vec![said]
    );
    assert_not_found(
        store.close(SessionId::new()).await,
        "close of an unknown session",
    );
}

/// `list` answers sessions of a status, newest first, at most `limit`.
pub async fn list_is_newest_first(h: &dyn SessionHarness) {
    let store = h.open().await;
    let prefix = unique_name("list");
    let mut made = Vec::new();
    for n in 0..3 {
        let s = store
            .create(NewSession::new(format!("{prefix}-{n}")).agents(["a"]))
            .await
            .expect("create");
        made.push(s.id);
        // Distinct creation times, so the order does not rest on ids.
        tokio::time::sleep(Duration::from_millis(3)).await;
    }
    let (first, second, third) = (made[0], made[1], made[2]);
    store.close(second).await.expect("close");
    let mine = |v: Vec<Session>| -> Vec<SessionId> {
        v.into_iter()
            .filter(|s| s.name.starts_with(&prefix))
            .map(|s| s.id)
            .collect()
    };
    let all = store.list(None, MAX_LIMIT).await.expect("all");
    let listed_third = all.iter().find(|s| s.id == third).cloned();
    assert_eq!(mine(all), [third, second, first]);
    assert_eq!(
        listed_third,
        Some(store.get(third).await.expect("get")),
        "listed sessions are whole"
    );
    assert_eq!(
        mine(
            store
                .list(Some(SessionStatus::Open), MAX_LIMIT)
                .await
                .expect("open")
        ),
        [third, first]
    );
    assert_eq!(
        mine(
            store
                .list(Some(SessionStatus::Closed), MAX_LIMIT)
                .await
                .expect("closed")
        ),
        [second]
    );
    assert_eq!(store.list(None, 2).await.expect("two").len(), 2);
    assert_invalid(store.list(None, 0).await, "limit");
    assert_invalid(store.list(None, MAX_LIMIT + 1).await, "limit");
}

/// Every handle sees every other's writes, and they survive reopening.
pub async fn shared_and_durable(h: &dyn SessionHarness) {
    let a = h.open().await;
    let b = h.open().await;
    let s = a
        .create(NewSession::new(unique_name("shared")).agents(["x"]))
        .await
        .expect("create");
    assert_eq!(b.get(s.id).await.expect("b sees it"), s);
    b.join(s.id, "y").await.expect("b joins y");
    let said = a
        .record(s.id, Utterance::new("y", Some("x"), json!("hi")))
        .await
        .expect("a sees the join");
    b.set_state(s.id, json!({ "by": "b" }))
        .await
        .expect("b sets state");
    assert_eq!(
        b.conversation(s.id, 0, 10).await.expect("b reads"),
        vec![said.clone()]
    );
    drop((a, b));
    let again = h.open().await;
    let back = again.get(s.id).await.expect("durable");
    assert_eq!(back.agents, ["x", "y"]);
    assert_eq!(back.state, json!({ "by": "b" }));
    assert_eq!(
        again.conversation(s.id, 0, 10).await.expect("read"),
        vec![said]
    );
}
