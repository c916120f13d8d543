//! The [`Queue`] contract as tests: each clause of its `# Contract`
//! names its functions here (`tests/it/tidy.rs` checks both ways).
//!
//! Timing-dependent clauses use leases and delays of a few hundred
//! milliseconds and poll with generous deadlines, so they hold on a loaded
//! two-core machine without asserting on speed.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::json;

use super::assert_invalid;
use crate::error::Error;
use crate::queue::{
    AttemptOutcome, ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseToken, NewTask, PurgeReport,
    Queue, QueueConfig, QueueExt, RetryPolicy, TaskAttempt, TaskFailure, TaskFilter, TaskId,
    TaskOrder, TaskPriority, TaskRetention, TaskStatus, WorkerId, MAX_PURGE_LIMIT,
};

/// Opens the backend under test.
#[async_trait]
pub trait QueueHarness: Send + Sync {
    /// The configuration for this test's queue: a name no other test uses and
    /// otherwise the defaults. Clauses adjust fields and pass it to [`open`](Self::open).
    fn config(&self) -> QueueConfig;

    /// Opens a new handle on the queue `config` names. Opening the same name
    /// twice gives two handles on one queue (as two processes would have).
    async fn open(&self, config: QueueConfig) -> Arc<dyn Queue>;
}

/// Stamps one `#[tokio::test]` per queue clause, each opening the backend
/// with `$harness` (an expression of type `Option<impl QueueHarness>`, which
/// may `.await`; `None` means the service is not configured).
#[macro_export]
macro_rules! queue_conformance_tests {
    ($harness:expr) => {
        $crate::__queue_clauses!($harness;
            submit_then_get_round_trips,
            submit_and_get_answers_what_get_reads,
            unknown_ids_are_not_found,
            submit_rejects_bad_input_and_stores_nothing,
            submit_rejects_unknown_dependency,
            submit_rejects_cycles,
            claims_by_priority_then_fifo,
            claim_respects_capabilities,
            claim_respects_task_types,
            concurrent_claims_never_share_a_task,
            claim_returns_at_most_max,
            stale_tokens_are_rejected_and_change_nothing,
            complete_stores_result,
            complete_and_claim_hands_out_the_next_task,
            dependencies_gate_claims,
            failed_dependency_fails_dependents,
            expired_lease_is_redelivered,
            heartbeat_extends_the_lease,
            deadline_fails_attempt_despite_heartbeats,
            failed_attempt_is_retried_after_backoff,
            exhausted_task_is_dead_lettered,
            dead_letters_list_retry_purge,
            delayed_task_waits_until_due,
            cancel_stops_pending_and_leased_tasks,
            expiring_a_worker_redelivers_its_tasks,
            release_returns_the_task_uncounted,
            attempts_record_each_outcome,
            released_attempts_leave_no_history,
            error_shows_only_while_current,
            idempotency_key_deduplicates,
            traceparent_is_carried_with_the_task,
            list_filters_and_pages,
            list_pages_newest_first,
            stats_count_each_status,
            wait_for_work_wakes_on_submit,
            purge_expired_deletes_old_tasks_with_their_traces,
            purge_expired_keeps_young_and_unfinished_tasks,
            purge_expired_ages_dead_letters_apart,
            purge_expired_keeps_what_dependents_need,
            purge_expired_respects_its_limit,
            queues_are_isolated_by_name,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __queue_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::queue::$clause(&harness).await;
                }
            }
        )*
    };
}

fn task(ty: &str) -> NewTask {
    NewTask::new(ty, json!({ "n": ty }))
}

fn worker() -> ClaimRequest {
    ClaimRequest::new(WorkerId::random("conformance"))
}

async fn claim_one(q: &dyn Queue, req: &ClaimRequest) -> Option<Lease> {
    let mut got = q.claim(&req.clone().max(1)).await.expect("claim");
    assert!(got.len() <= 1, "claim returned more than max");
    got.pop()
}

/// This test's queue and a second one, under another name.
async fn open_two_queues(h: &dyn QueueHarness) -> (Arc<dyn Queue>, Arc<dyn Queue>) {
    let base = h.config();
    let other = QueueConfig::named(format!("{}-other", base.name));
    (h.open(base).await, h.open(other).await)
}

async fn status(q: &dyn Queue, id: TaskId) -> TaskStatus {
    q.get(id).await.expect("get").status
}

fn stale_key(lease: &Lease) -> LeaseKey {
    LeaseKey {
        task_id: lease.task.id,
        token: LeaseToken::new(),
    }
}

fn assert_stale<T: std::fmt::Debug>(r: Result<T, Error>) {
    assert!(
        matches!(r, Err(Error::StaleLease { .. })),
        "expected StaleLease, got {r:?}"
    );
}

/// Polls `claim` (with `reap` between tries) until it hands out a task or
/// `within` passes.
async fn claim_within(q: &dyn Queue, req: &ClaimRequest, within: Duration) -> Option<Lease> {
    let until = tokio::time::Instant::now() + within;
    loop {
        if let Some(lease) = claim_one(q, req).await {
            return Some(lease);
        }
        if tokio::time::Instant::now() >= until {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(25)).await;
        q.reap().await.expect("reap");
    }
}

/// `get` returns what `submit` stored, with the queue's defaults filled in.
pub async fn submit_then_get_round_trips(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let t = NewTask::new("summarise", json!({"text": "hello", "n": [1, 2.5, null]}))
        .priority(TaskPriority::HIGH)
        .requires(["llm", "english"])
        .max_attempts(4)
        .timeout(Duration::from_secs(5));
    let id = t.id();
    let before = chrono::Utc::now() - chrono::Duration::seconds(60);
    let sub = q.submit(t).await.expect("submit");
    assert_eq!(sub.id, id);
    assert_eq!(sub.status, TaskStatus::Pending);
    assert!(!sub.deduplicated);

    let got = q.get(id).await.expect("get");
    assert_eq!(got.id, id);
    assert_eq!(got.task_type, "summarise");
    assert_eq!(got.payload, json!({"text": "hello", "n": [1, 2.5, null]}));
    assert_eq!(got.status, TaskStatus::Pending);
    assert_eq!(got.priority, TaskPriority::HIGH);
    assert_eq!(
        got.capabilities,
        vec!["english".to_string(), "llm".to_string()]
    );
    assert!(got.dependencies.is_empty());
    assert_eq!(got.attempts, 0);
    assert_eq!(got.max_attempts, 4);
    assert_eq!(got.timeout, Duration::from_secs(5));
    assert!(
        got.created_at > before
            && got.created_at < chrono::Utc::now() + chrono::Duration::seconds(60)
    );
    assert!(got.result.is_none() && got.error.is_none() && got.lease_expires_at.is_none());

    let defaults = q.submit(task("plain")).await.expect("submit");
    let d = q.get(defaults.id).await.expect("get");
    assert_eq!(d.priority, TaskPriority::NORMAL);
    assert_eq!(d.max_attempts, q.config().max_attempts);
    assert_eq!(d.timeout, q.config().task_timeout);
}

/// `submit_and_get` answers exactly what `get` reads right after: for a
/// plain task, a delayed one, one waiting on another, one whose dependency
/// already failed, and a deduplicated submit.
pub async fn submit_and_get_answers_what_get_reads(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let same = |answer: &crate::queue::SubmittedTask, read: &crate::queue::Task, what: &str| {
        assert_eq!(&answer.task, read, "{what}: the answer differs from get");
    };

    let plain = NewTask::new("summarise", json!({"text": "hi", "n": [1, 2.5, null]}))
        .priority(TaskPriority::HIGH)
        .requires(["llm", "english"])
        .max_attempts(4)
        .timeout(Duration::from_secs(5));
    let id = plain.id();
    let a = q.submit_and_get(plain).await.expect("submit_and_get");
    assert!(!a.deduplicated);
    assert_eq!(a.task.id, id);
    assert_eq!(a.task.status, TaskStatus::Pending);
    assert_eq!(a.task.priority, TaskPriority::HIGH);
    same(&a, &q.get(id).await.expect("get"), "plain");

    let defaults = q.submit_and_get(task("defaults")).await.expect("submit");
    assert_eq!(defaults.task.max_attempts, q.config().max_attempts);
    assert_eq!(defaults.task.timeout, q.config().task_timeout);
    same(
        &defaults,
        &q.get(defaults.task.id).await.expect("get"),
        "defaults",
    );

    let later = q
        .submit_and_get(task("later").delay(Duration::from_secs(60)))
        .await
        .expect("submit delayed");
    assert_eq!(later.task.status, TaskStatus::Delayed);
    assert!(later
        .task
        .run_at
        .is_some_and(|at| at > later.task.created_at));
    same(&later, &q.get(later.task.id).await.expect("get"), "delayed");

    let waiting = q
        .submit_and_get(task("child").depends_on([id]))
        .await
        .expect("submit child");
    assert_eq!(waiting.task.status, TaskStatus::Waiting);
    assert_eq!(waiting.task.dependencies, vec![id]);
    same(
        &waiting,
        &q.get(waiting.task.id).await.expect("get"),
        "waiting",
    );

    q.cancel(later.task.id).await.expect("cancel");
    let doomed = q
        .submit_and_get(task("doomed").depends_on([later.task.id]))
        .await
        .expect("submit on a cancelled dependency");
    assert_eq!(doomed.task.status, TaskStatus::Failed);
    same(
        &doomed,
        &q.get(doomed.task.id).await.expect("get"),
        "failed",
    );

    let first = q
        .submit_and_get(task("first").idempotency_key("k-1"))
        .await
        .expect("submit keyed");
    let dup = q
        .submit_and_get(task("dup").idempotency_key("k-1"))
        .await
        .expect("submit duplicate");
    assert!(dup.deduplicated);
    assert_eq!(dup.task.id, first.task.id);
    assert_eq!(dup.task.task_type, "first");
    same(
        &dup,
        &q.get(first.task.id).await.expect("get"),
        "deduplicated",
    );

    assert_invalid(
        q.submit_and_get(NewTask::new("", json!({}))).await,
        "task type must not be empty",
    );
    assert_eq!(
        q.stats().await.expect("stats").total(),
        6,
        "a refused submit_and_get stores nothing"
    );
}

/// Unknown ids are `NotFound` everywhere they can be named.
pub async fn unknown_ids_are_not_found(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let ghost = TaskId::new();
    let key = LeaseKey {
        task_id: ghost,
        token: LeaseToken::new(),
    };
    let nf = |r: Result<(), Error>, what: &str| {
        assert!(
            matches!(r, Err(Error::NotFound { .. })),
            "{what}: expected NotFound, got {r:?}"
        )
    };
    nf(q.get(ghost).await.map(drop), "get");
    nf(q.complete(key, json!(1)).await, "complete");
    nf(
        q.fail(key, TaskFailure::retryable("x")).await.map(drop),
        "fail",
    );
    nf(q.heartbeat(key).await.map(drop), "heartbeat");
    nf(q.release(key).await, "release");
    nf(q.cancel(ghost).await.map(drop), "cancel");
    nf(
        q.retry_dead_letter(ghost).await.map(drop),
        "retry_dead_letter",
    );
}

/// Bad input is rejected with a clear error and nothing of the batch is stored.
pub async fn submit_rejects_bad_input_and_stores_nothing(h: &dyn QueueHarness) {
    let mut cfg = h.config();
    cfg.max_payload_bytes = 1024;
    let q = h.open(cfg).await;
    assert_invalid(
        q.submit(NewTask::new("", json!({}))).await,
        "task type must not be empty",
    );
    let big = NewTask::new("big", json!({"blob": "x".repeat(2000)}));
    assert_invalid(
        q.submit_batch(vec![task("fine"), big]).await,
        "over the limit",
    );
    assert_eq!(
        q.stats().await.expect("stats").total(),
        0,
        "a rejected batch stores nothing"
    );

    let kept = task("kept");
    q.submit(kept.clone()).await.expect("submit");
    let again = NewTask::new("again", json!({})).with_id(kept.id());
    let r = q.submit_batch(vec![task("other"), again]).await;
    assert!(
        matches!(r, Err(Error::Conflict(_))),
        "an existing id is a conflict, got {r:?}"
    );
    assert_eq!(q.stats().await.expect("stats").total(), 1);
    assert_eq!(q.get(kept.id()).await.expect("get").task_type, "kept");
}

/// A dependency on a task that does not exist is rejected, naming it.
pub async fn submit_rejects_unknown_dependency(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let ghost = TaskId::new();
    let r = q
        .submit_batch(vec![task("ok"), task("child").depends_on([ghost])])
        .await;
    assert_invalid(r, &ghost.to_string());
    assert_eq!(q.stats().await.expect("stats").total(), 0);
}

/// Cycles, including a task depending on itself, are rejected.
pub async fn submit_rejects_cycles(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let a = task("a");
    let b = task("b").depends_on([a.id()]);
    let c = task("c").depends_on([b.id()]);
    let a = a.depends_on([c.id()]);
    assert_invalid(q.submit_batch(vec![a, b, c]).await, "dependency cycle");
    let selfish = task("self");
    let selfish = selfish.clone().depends_on([selfish.id()]);
    assert_invalid(q.submit(selfish).await, "dependency cycle");
    assert_eq!(q.stats().await.expect("stats").total(), 0);
}

/// Lowest priority number first; submit order within a priority.
pub async fn claims_by_priority_then_fifo(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let p = |n| TaskPriority::new(n).expect("priority");
    for (name, prio) in [("n1", 5), ("b1", 9), ("c1", 1), ("n2", 5)] {
        q.submit(task(name).priority(p(prio)))
            .await
            .expect("submit");
    }
    q.submit_batch(vec![
        task("h1").priority(p(3)),
        task("c2").priority(p(1)),
        task("two").priority(p(2)),
        task("n3").priority(p(5)),
    ])
    .await
    .expect("batch");
    let w = worker();
    let mut order = Vec::new();
    while let Some(lease) = claim_one(q.as_ref(), &w).await {
        order.push(lease.task.task_type.clone());
    }
    assert_eq!(order, ["c1", "c2", "two", "h1", "n1", "n2", "n3", "b1"]);
}

/// A worker only gets tasks whose required capabilities it all has.
pub async fn claim_respects_capabilities(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let gpu = q
        .submit(task("gpu").requires(["gpu"]))
        .await
        .expect("submit")
        .id;
    let both = q
        .submit(task("both").requires(["gpu", "llm"]))
        .await
        .expect("submit")
        .id;
    let any = q.submit(task("any")).await.expect("submit").id;

    let nothing = worker();
    assert_eq!(
        claim_one(q.as_ref(), &nothing).await.map(|l| l.task.id),
        Some(any)
    );
    assert!(
        claim_one(q.as_ref(), &nothing).await.is_none(),
        "no capabilities, nothing left for it"
    );
    assert!(claim_one(q.as_ref(), &worker().capabilities(["llm"]))
        .await
        .is_none());
    assert_eq!(
        claim_one(q.as_ref(), &worker().capabilities(["gpu"]))
            .await
            .map(|l| l.task.id),
        Some(gpu)
    );
    let rich = worker().capabilities(["llm", "gpu", "extra"]);
    assert_eq!(
        claim_one(q.as_ref(), &rich).await.map(|l| l.task.id),
        Some(both)
    );
}

/// Concurrent claimers never receive the same task.
pub async fn concurrent_claims_never_share_a_task(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let other = h.open(h.config()).await;
    let batch: Vec<NewTask> = (0..60).map(|i| task(&format!("t{i}"))).collect();
    q.submit_batch(batch).await.expect("submit");
    let mut joins = Vec::new();
    for i in 0..8 {
        let q = if i % 2 == 0 { q.clone() } else { other.clone() };
        joins.push(tokio::spawn(async move {
            let w = worker().max(3);
            let mut mine = Vec::new();
            loop {
                let got = q.claim(&w).await.expect("claim");
                if got.is_empty() {
                    return mine;
                }
                mine.extend(got.into_iter().map(|l| l.task.id));
            }
        }));
    }
    let mut seen = HashSet::new();
    for j in joins {
        for id in j.await.expect("join") {
            assert!(seen.insert(id), "task {id} was handed out twice");
        }
    }
    assert_eq!(seen.len(), 60);
}

/// A claim returns at most `max` tasks.
pub async fn claim_returns_at_most_max(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    q.submit_batch((0..5).map(|i| task(&format!("t{i}"))).collect())
        .await
        .expect("submit");
    assert_eq!(q.claim(&worker().max(3)).await.expect("claim").len(), 3);
    assert_eq!(q.claim(&worker().max(10)).await.expect("claim").len(), 2);
    assert!(q.claim(&worker().max(10)).await.expect("claim").is_empty());
}

/// Answers with a token that is not the current attempt's are `StaleLease`
/// and change nothing.
pub async fn stale_tokens_are_rejected_and_change_nothing(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let id = q.submit(task("t")).await.expect("submit").id;
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim");
    assert_eq!(lease.task.id, id);
    assert_eq!(lease.task.status, TaskStatus::Assigned);
    assert_eq!(lease.task.attempts, 1);
    let bad = stale_key(&lease);
    assert_stale(q.complete(bad, json!("late")).await);
    assert_stale(q.fail(bad, TaskFailure::retryable("late")).await);
    assert_stale(q.heartbeat(bad).await);
    assert_stale(q.release(bad).await);
    let t = q.get(id).await.expect("get");
    assert_eq!(t.status, TaskStatus::Assigned);
    assert_eq!(t.attempts, 1);
    assert!(t.result.is_none());

    q.complete(lease.key(), json!("done"))
        .await
        .expect("complete");
    assert_stale(q.complete(lease.key(), json!("twice")).await);
    assert_stale(q.fail(lease.key(), TaskFailure::retryable("after")).await);
    assert_eq!(q.get(id).await.expect("get").result, Some(json!("done")));
}

/// `complete` stores the result and makes the task `completed`.
pub async fn complete_stores_result(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let id = q.submit(task("t")).await.expect("submit").id;
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim");
    q.complete(lease.key(), json!({"answer": 42}))
        .await
        .expect("complete");
    let t = q.get(id).await.expect("get");
    assert_eq!(t.status, TaskStatus::Completed);
    assert_eq!(t.result, Some(json!({"answer": 42})));
    assert!(t.finished_at.is_some());
    assert!(t.lease_expires_at.is_none());
    assert_eq!(t.attempts, 1);
}

/// `complete_and_claim` finishes one attempt and leases the next task.
pub async fn complete_and_claim_hands_out_the_next_task(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let first = q
        .submit(task("first").priority(TaskPriority::HIGH))
        .await
        .expect("submit")
        .id;
    let second = q.submit(task("second")).await.expect("submit").id;
    let w = worker();
    let lease = claim_one(q.as_ref(), &w).await.expect("claim");
    assert_eq!(lease.task.id, first);
    let next = q
        .complete_and_claim(lease.key(), json!(1), &w)
        .await
        .expect("complete_and_claim");
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].task.id, second);
    assert_eq!(status(q.as_ref(), first).await, TaskStatus::Completed);
    let none = q
        .complete_and_claim(next[0].key(), json!(2), &w)
        .await
        .expect("complete_and_claim");
    assert!(none.is_empty());
    assert_eq!(status(q.as_ref(), second).await, TaskStatus::Completed);
    assert_stale(q.complete_and_claim(lease.key(), json!(3), &w).await);
}

/// Waiting tasks are not handed out until every dependency completed.
pub async fn dependencies_gate_claims(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let a = task("a");
    let b = task("b").depends_on([a.id()]);
    let c = task("c").depends_on([a.id(), b.id()]);
    let subs = q
        .submit_batch(vec![c.clone(), b.clone(), a.clone()])
        .await
        .expect("submit");
    assert_eq!(
        subs.iter().map(|s| (s.id, s.status)).collect::<Vec<_>>(),
        [
            (c.id(), TaskStatus::Waiting),
            (b.id(), TaskStatus::Waiting),
            (a.id(), TaskStatus::Pending)
        ],
        "answers come in batch order"
    );
    let w = worker().max(10);
    let got = q.claim(&w).await.expect("claim");
    assert_eq!(got.iter().map(|l| l.task.id).collect::<Vec<_>>(), [a.id()]);
    q.complete(got[0].key(), json!(null))
        .await
        .expect("complete");
    assert_eq!(status(q.as_ref(), b.id()).await, TaskStatus::Pending);
    assert_eq!(status(q.as_ref(), c.id()).await, TaskStatus::Waiting);
    let got = q.claim(&w).await.expect("claim");
    assert_eq!(got.iter().map(|l| l.task.id).collect::<Vec<_>>(), [b.id()]);
    q.complete(got[0].key(), json!(null))
        .await
        .expect("complete");
    let got = q.claim(&w).await.expect("claim");
    assert_eq!(got.iter().map(|l| l.task.id).collect::<Vec<_>>(), [c.id()]);

    // A dependency that already completed is already satisfied.
    let late = q
        .submit(task("late").depends_on([a.id()]))
        .await
        .expect("submit");
    assert_eq!(late.status, TaskStatus::Pending);
}

/// A dependency that ends badly fails its dependents, transitively, naming it.
pub async fn failed_dependency_fails_dependents(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let a = task("a").max_attempts(1);
    let b = task("b").depends_on([a.id()]);
    let c = task("c").depends_on([b.id()]);
    q.submit_batch(vec![a.clone(), b.clone(), c.clone()])
        .await
        .expect("submit");
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim");
    assert_eq!(lease.task.id, a.id());
    let out = q
        .fail(lease.key(), TaskFailure::retryable("boom"))
        .await
        .expect("fail");
    assert_eq!(out, FailOutcome::DeadLettered);
    let tb = q.get(b.id()).await.expect("get");
    assert_eq!(tb.status, TaskStatus::Failed);
    assert!(
        tb.error
            .as_deref()
            .unwrap_or("")
            .contains(&a.id().to_string()),
        "{:?}",
        tb.error
    );
    let tc = q.get(c.id()).await.expect("get");
    assert_eq!(tc.status, TaskStatus::Failed);
    assert!(
        tc.error
            .as_deref()
            .unwrap_or("")
            .contains(&b.id().to_string()),
        "{:?}",
        tc.error
    );

    // A task submitted on top of a failed dependency fails at once.
    let d = q
        .submit(task("d").depends_on([a.id()]))
        .await
        .expect("submit");
    assert_eq!(d.status, TaskStatus::Failed);

    // Cancelling a dependency fails dependents too.
    let e = task("e");
    let f = task("f").depends_on([e.id()]);
    q.submit_batch(vec![e.clone(), f.clone()])
        .await
        .expect("submit");
    q.cancel(e.id()).await.expect("cancel");
    let tf = q.get(f.id()).await.expect("get");
    assert_eq!(tf.status, TaskStatus::Failed);
    assert!(tf
        .error
        .as_deref()
        .unwrap_or("")
        .contains(&e.id().to_string()));
    assert!(
        claim_one(q.as_ref(), &worker()).await.is_none(),
        "nothing is left to run"
    );
}

/// A lease that runs out is redelivered with a new token; the old one is stale.
pub async fn expired_lease_is_redelivered(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let id = q.submit(task("t")).await.expect("submit").id;
    let short = worker().lease(Duration::from_millis(200));
    let first = claim_one(q.as_ref(), &short).await.expect("claim");
    assert!(
        claim_one(q.as_ref(), &worker()).await.is_none(),
        "leased tasks are not handed out"
    );
    tokio::time::sleep(Duration::from_millis(400)).await;
    let second = claim_within(q.as_ref(), &worker(), Duration::from_secs(5))
        .await
        .expect("the expired task is redelivered");
    assert_eq!(second.task.id, id);
    assert_ne!(second.token, first.token);
    assert_eq!(second.task.attempts, 2);
    assert_stale(q.complete(first.key(), json!("late")).await);
    q.complete(second.key(), json!("on time"))
        .await
        .expect("complete");
    assert_stale(q.complete(first.key(), json!("later")).await);
    assert_eq!(q.get(id).await.expect("get").result, Some(json!("on time")));
}

/// Heartbeats keep a lease alive and mark the task `in_progress`.
pub async fn heartbeat_extends_the_lease(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let id = q.submit(task("t")).await.expect("submit").id;
    let lease = claim_one(q.as_ref(), &worker().lease(Duration::from_millis(400)))
        .await
        .expect("claim");
    let mut last = lease.expires_at;
    for _ in 0..4 {
        tokio::time::sleep(Duration::from_millis(150)).await;
        let r = q.heartbeat(lease.key()).await.expect("heartbeat");
        assert!(r.expires_at >= last, "a heartbeat never shortens the lease");
        last = r.expires_at;
    }
    assert!(last > lease.expires_at);
    q.reap().await.expect("reap");
    assert!(
        claim_one(q.as_ref(), &worker()).await.is_none(),
        "a live lease is not redelivered"
    );
    let t = q.get(id).await.expect("get");
    assert_eq!(t.status, TaskStatus::InProgress);
    assert_eq!(t.attempts, 1);
}

/// An attempt past its deadline is failed even while it heartbeats.
pub async fn deadline_fails_attempt_despite_heartbeats(h: &dyn QueueHarness) {
    let mut cfg = h.config();
    cfg.retry = RetryPolicy {
        base: Duration::from_millis(50),
        cap: Duration::from_millis(50),
        jitter: 0.0,
    };
    let q = h.open(cfg).await;
    let id = q
        .submit(
            task("slow")
                .timeout(Duration::from_millis(300))
                .max_attempts(2),
        )
        .await
        .expect("submit")
        .id;
    let lease = claim_one(q.as_ref(), &worker().lease(Duration::from_secs(30)))
        .await
        .expect("claim");
    assert!(
        lease.deadline
            <= lease.task.started_at.expect("started") + chrono::Duration::milliseconds(300)
    );
    assert!(
        lease.expires_at <= lease.deadline,
        "a lease never outlives the deadline"
    );
    let r = q
        .heartbeat(lease.key())
        .await
        .expect("heartbeat before the deadline");
    assert!(r.expires_at <= lease.deadline);
    tokio::time::sleep(Duration::from_millis(450)).await;
    let mut report = q.reap().await.expect("reap");
    for _ in 0..20 {
        if report.timed_out > 0 || report.expired > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
        report = q.reap().await.expect("reap");
    }
    let t = q.get(id).await.expect("get");
    assert!(
        matches!(t.status, TaskStatus::Delayed | TaskStatus::Pending),
        "the timed-out attempt is retried, status {}",
        t.status
    );
    assert!(
        t.error.as_deref().unwrap_or("").contains("deadline"),
        "{:?}",
        t.error
    );
    assert_stale(q.heartbeat(lease.key()).await);
    assert_stale(q.complete(lease.key(), json!("too late")).await);
    let again = claim_within(q.as_ref(), &worker(), Duration::from_secs(5))
        .await
        .expect("retried");
    assert_eq!(again.task.attempts, 2);
}

/// A retryable failure waits out the backoff, then runs again.
pub async fn failed_attempt_is_retried_after_backoff(h: &dyn QueueHarness) {
    let mut cfg = h.config();
    cfg.retry = RetryPolicy {
        base: Duration::from_millis(300),
        cap: Duration::from_secs(10),
        jitter: 0.0,
    };
    let q = h.open(cfg).await;
    let id = q.submit(task("flaky")).await.expect("submit").id;
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim");
    let before = chrono::Utc::now();
    let out = q
        .fail(lease.key(), TaskFailure::retryable("try again"))
        .await
        .expect("fail");
    let FailOutcome::Retrying { run_at } = out else {
        panic!("expected a retry, got {out:?}")
    };
    let wait = run_at - before;
    assert!(
        wait > chrono::Duration::milliseconds(150) && wait < chrono::Duration::milliseconds(2000),
        "backoff of the first failure is about the base delay, got {wait}"
    );
    let t = q.get(id).await.expect("get");
    assert_eq!(t.status, TaskStatus::Delayed);
    assert_eq!(t.error.as_deref(), Some("try again"));
    assert!(
        claim_one(q.as_ref(), &worker()).await.is_none(),
        "not before the backoff"
    );
    let again = claim_within(q.as_ref(), &worker(), Duration::from_secs(5))
        .await
        .expect("retried");
    assert!(chrono::Utc::now() >= run_at - chrono::Duration::milliseconds(50));
    assert_eq!(again.task.id, id);
    assert_eq!(again.task.attempts, 2);
}

/// Out of attempts, or failed permanently: the task is dead-lettered.
pub async fn exhausted_task_is_dead_lettered(h: &dyn QueueHarness) {
    let mut cfg = h.config();
    cfg.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(10),
        jitter: 0.0,
    };
    let q = h.open(cfg).await;
    let id = q
        .submit(task("doomed").max_attempts(2))
        .await
        .expect("submit")
        .id;
    let l1 = claim_one(q.as_ref(), &worker()).await.expect("claim");
    assert!(matches!(
        q.fail(l1.key(), TaskFailure::retryable("first"))
            .await
            .expect("fail"),
        FailOutcome::Retrying { .. }
    ));
    let l2 = claim_within(q.as_ref(), &worker(), Duration::from_secs(5))
        .await
        .expect("retry");
    assert_eq!(
        q.fail(l2.key(), TaskFailure::retryable("second"))
            .await
            .expect("fail"),
        FailOutcome::DeadLettered
    );
    let t = q.get(id).await.expect("get");
    assert_eq!(t.status, TaskStatus::DeadLettered);
    assert_eq!(t.attempts, 2);
    assert_eq!(t.error.as_deref(), Some("second"));
    assert!(claim_one(q.as_ref(), &worker()).await.is_none());

    let p = q
        .submit(task("hopeless").max_attempts(5))
        .await
        .expect("submit")
        .id;
    let l = claim_one(q.as_ref(), &worker()).await.expect("claim");
    assert_eq!(
        q.fail(l.key(), TaskFailure::permanent("bad input"))
            .await
            .expect("fail"),
        FailOutcome::DeadLettered
    );
    assert_eq!(status(q.as_ref(), p).await, TaskStatus::DeadLettered);
}

async fn dead_letter(q: &dyn Queue, name: &str) -> TaskId {
    let id = q
        .submit(task(name).max_attempts(1))
        .await
        .expect("submit")
        .id;
    let l = claim_one(q, &worker()).await.expect("claim");
    assert_eq!(l.task.id, id);
    q.fail(l.key(), TaskFailure::retryable(format!("{name} broke")))
        .await
        .expect("fail");
    id
}

/// Dead letters can be listed newest first, retried and purged.
pub async fn dead_letters_list_retry_purge(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let a = dead_letter(q.as_ref(), "a").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let b = dead_letter(q.as_ref(), "b").await;
    tokio::time::sleep(Duration::from_millis(5)).await;
    let c = dead_letter(q.as_ref(), "c").await;
    let listed: Vec<TaskId> = q
        .dead_letters(10, 0)
        .await
        .expect("list")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(listed, [c, b, a]);
    let page: Vec<TaskId> = q
        .dead_letters(1, 1)
        .await
        .expect("list")
        .iter()
        .map(|t| t.id)
        .collect();
    assert_eq!(page, [b]);
    assert_eq!(
        q.dead_letters(10, 0).await.expect("list")[0]
            .error
            .as_deref(),
        Some("c broke")
    );

    let retried = q.retry_dead_letter(b).await.expect("retry");
    assert_eq!(retried.status, TaskStatus::Pending);
    assert_eq!(retried.attempts, 0);
    let lease = claim_one(q.as_ref(), &worker())
        .await
        .expect("claim the retried task");
    assert_eq!(lease.task.id, b);
    assert!(
        matches!(q.retry_dead_letter(b).await, Err(Error::Conflict(_))),
        "not dead-lettered any more"
    );

    assert_eq!(q.purge_dead_letters(Some(&[a])).await.expect("purge"), 1);
    assert!(matches!(q.get(a).await, Err(Error::NotFound { .. })));
    assert_eq!(q.purge_dead_letters(None).await.expect("purge"), 1);
    assert!(q.dead_letters(10, 0).await.expect("list").is_empty());
    assert_eq!(
        status(q.as_ref(), b).await,
        TaskStatus::Assigned,
        "purge leaves other tasks alone"
    );
    assert_eq!(
        q.purge_dead_letters(Some(&[b])).await.expect("purge"),
        0,
        "only dead letters are purged"
    );
}

/// A delayed task is not handed out before it is due.
pub async fn delayed_task_waits_until_due(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let sub = q
        .submit(task("later").delay(Duration::from_millis(400)))
        .await
        .expect("submit");
    assert_eq!(sub.status, TaskStatus::Delayed);
    let past = q
        .submit(task("past").run_at(chrono::Utc::now() - chrono::Duration::seconds(5)))
        .await
        .expect("submit");
    assert_eq!(past.status, TaskStatus::Pending);
    let w = worker();
    assert_eq!(
        claim_one(q.as_ref(), &w).await.map(|l| l.task.id),
        Some(past.id)
    );
    assert!(
        claim_one(q.as_ref(), &w).await.is_none(),
        "not before it is due"
    );
    let l = claim_within(q.as_ref(), &w, Duration::from_secs(5))
        .await
        .expect("due");
    assert_eq!(l.task.id, sub.id);
    let waited = chrono::Utc::now() - q.get(sub.id).await.expect("get").created_at;
    assert!(
        waited >= chrono::Duration::milliseconds(350),
        "ran after {waited}"
    );
}

/// Any non-final task can be cancelled; final ones cannot.
pub async fn cancel_stops_pending_and_leased_tasks(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let leased = q
        .submit(task("leased").priority(TaskPriority::CRITICAL))
        .await
        .expect("submit")
        .id;
    let pending = q.submit(task("pending")).await.expect("submit").id;
    let delayed = q
        .submit(task("delayed").delay(Duration::from_secs(60)))
        .await
        .expect("submit")
        .id;
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim");
    assert_eq!(lease.task.id, leased);

    for id in [pending, delayed, leased] {
        let t = q.cancel(id).await.expect("cancel");
        assert_eq!(t.status, TaskStatus::Cancelled);
        assert_eq!(status(q.as_ref(), id).await, TaskStatus::Cancelled);
    }
    assert_stale(q.complete(lease.key(), json!("late")).await);
    assert_stale(q.heartbeat(lease.key()).await);
    assert!(matches!(q.cancel(pending).await, Err(Error::Conflict(_))));
    assert!(claim_one(q.as_ref(), &worker()).await.is_none());

    let done = q.submit(task("done")).await.expect("submit").id;
    let l = claim_one(q.as_ref(), &worker()).await.expect("claim");
    q.complete(l.key(), json!(null)).await.expect("complete");
    assert!(matches!(q.cancel(done).await, Err(Error::Conflict(_))));
    assert_eq!(status(q.as_ref(), done).await, TaskStatus::Completed);
}

/// `expire_worker` ends one worker's leases at once, as expiry would.
pub async fn expiring_a_worker_redelivers_its_tasks(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let mut ids = Vec::new();
    for name in ["a", "b", "c"] {
        ids.push(q.submit(task(name)).await.expect("submit").id);
    }
    let (w1, w2) = (worker(), worker());
    let held = q.claim(&w1.clone().max(2)).await.expect("claim");
    assert_eq!(held.len(), 2);
    let kept = claim_one(q.as_ref(), &w2).await.expect("claim");
    assert_eq!(kept.task.id, ids[2]);

    assert_eq!(q.expire_worker(&w1.worker).await.expect("expire"), 2);
    for lease in &held {
        let t = q.get(lease.task.id).await.expect("get");
        assert_eq!(t.status, TaskStatus::Pending);
        assert_eq!(t.attempts, 1, "the ended attempt counts");
        let error = t.error.unwrap_or_default();
        assert!(
            error.contains(w1.worker.as_str()),
            "the error {error:?} names the worker"
        );
        assert_stale(q.complete(lease.key(), json!("late")).await);
        assert_stale(q.heartbeat(lease.key()).await);
    }
    let again = q.claim(&w2.clone().max(2)).await.expect("claim");
    let mut got: Vec<TaskId> = again.iter().map(|l| l.task.id).collect();
    got.sort_by_key(|id| ids.iter().position(|i| i == id));
    assert_eq!(got, &ids[..2], "w1's tasks are handed out again at once");
    for lease in &again {
        assert!(
            held.iter().all(|old| old.token != lease.token),
            "a new token"
        );
        assert_eq!(lease.task.attempts, 2, "attempts keep counting");
    }
    q.heartbeat(kept.key())
        .await
        .expect("other workers' leases are untouched");
    q.complete(kept.key(), json!("kept"))
        .await
        .expect("complete");
    assert_eq!(q.expire_worker(&w1.worker).await.expect("expire"), 0);
    assert_eq!(
        q.expire_worker(&WorkerId::random("nobody"))
            .await
            .expect("expire"),
        0
    );

    let last = q
        .submit(task("last").max_attempts(1))
        .await
        .expect("submit")
        .id;
    let w3 = worker();
    let l = claim_one(q.as_ref(), &w3).await.expect("claim");
    assert_eq!(l.task.id, last);
    assert_eq!(q.expire_worker(&w3.worker).await.expect("expire"), 1);
    let t = q.get(last).await.expect("get");
    assert_eq!(t.status, TaskStatus::DeadLettered, "out of attempts");
    assert_eq!(t.attempts, 1);
    assert_stale(q.complete(l.key(), json!("late")).await);
    assert_eq!(
        q.expire_worker(&w2.worker).await.expect("expire"),
        2,
        "w2 holds w1's old tasks now"
    );
}

/// `release` hands the task back at once without counting the attempt.
pub async fn release_returns_the_task_uncounted(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let id = q.submit(task("t")).await.expect("submit").id;
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim");
    q.release(lease.key()).await.expect("release");
    let t = q.get(id).await.expect("get");
    assert_eq!(t.status, TaskStatus::Pending);
    assert_eq!(t.attempts, 0);
    assert_stale(q.complete(lease.key(), json!(null)).await);
    let again = claim_one(q.as_ref(), &worker())
        .await
        .expect("claimable at once");
    assert_eq!(again.task.attempts, 1);
}

/// A claim limited to some task types takes only those; the others stay
/// pending, in their place, for other claimers. This is the remote agent
/// registered for `fails` that kept taking (and giving back) an `echo`
/// task with no requirements.
pub async fn claim_respects_task_types(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let echo = q
        .submit(task("echo").priority(TaskPriority::HIGH))
        .await
        .expect("submit")
        .id;
    let fails = q.submit(task("fails")).await.expect("submit").id;
    let fails_gpu = q
        .submit(task("fails").requires(["gpu"]))
        .await
        .expect("submit")
        .id;
    let other = q.submit(task("other")).await.expect("submit").id;

    let only_fails = worker().task_types(["fails"]);
    // An untyped claimer that gives the echo task back (as a worker that
    // cannot do it would) puts it back first in line...
    let l = claim_one(q.as_ref(), &worker()).await.expect("claim");
    assert_eq!(l.task.id, echo, "the most urgent task comes first");
    q.release(l.key()).await.expect("release");
    // ...but a claimer for `fails` never sees it, however often it asks.
    let got = claim_one(q.as_ref(), &only_fails).await.expect("claim");
    assert_eq!(got.task.id, fails);
    assert_eq!(got.task.task_type, "fails");
    for _ in 0..3 {
        assert!(
            claim_one(q.as_ref(), &only_fails).await.is_none(),
            "no other type is handed out, and capabilities still apply"
        );
    }
    let gpu = worker().task_types(["fails"]).capabilities(["gpu"]);
    assert_eq!(
        claim_one(q.as_ref(), &gpu).await.map(|l| l.task.id),
        Some(fails_gpu)
    );
    assert_eq!(status(q.as_ref(), echo).await, TaskStatus::Pending);
    let several = q
        .claim(&worker().task_types(["other", "echo"]).max(5))
        .await
        .expect("claim");
    let ids: Vec<TaskId> = several.iter().map(|l| l.task.id).collect();
    assert_eq!(ids, [echo, other], "several types, in priority order");
    assert!(
        claim_one(q.as_ref(), &worker()).await.is_none(),
        "everything was handed out once"
    );
}

async fn attempts_of(q: &dyn Queue, id: TaskId) -> Vec<TaskAttempt> {
    q.attempts(id).await.expect("attempts")
}

/// Asserts the shape of one finished entry.
fn assert_attempt(
    a: &TaskAttempt,
    number: u32,
    worker: &ClaimRequest,
    outcome: AttemptOutcome,
    error: Option<&str>,
) {
    assert_eq!(a.attempt, number, "{a:?}");
    assert_eq!(a.worker, worker.worker.as_str(), "{a:?}");
    assert_eq!(a.outcome, outcome, "{a:?}");
    match error {
        Some(part) => assert!(
            a.error.as_deref().unwrap_or("").contains(part),
            "{a:?} should have an error containing {part:?}"
        ),
        None => assert_eq!(a.error, None, "{a:?}"),
    }
    if outcome == AttemptOutcome::Running {
        assert_eq!(a.finished_at, None, "{a:?}");
    } else {
        let end = a.finished_at.expect("a finished attempt has an end");
        assert!(end >= a.started_at, "{a:?}");
    }
}

/// Every counted attempt is kept, with its worker, times, outcome and
/// error, on every way an attempt can end.
pub async fn attempts_record_each_outcome(h: &dyn QueueHarness) {
    let mut cfg = h.config();
    cfg.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(10),
        jitter: 0.0,
    };
    let q = h.open(cfg).await;
    assert!(matches!(
        q.attempts(TaskId::new()).await,
        Err(Error::NotFound { .. })
    ));

    // failed, then lease_expired, then completed.
    let id = q
        .submit(task("history").max_attempts(5))
        .await
        .expect("submit")
        .id;
    assert!(attempts_of(q.as_ref(), id).await.is_empty(), "not run yet");
    let (w1, w2, w3) = (
        worker(),
        worker().lease(Duration::from_millis(200)),
        worker(),
    );
    let l1 = claim_one(q.as_ref(), &w1).await.expect("claim");
    let running = attempts_of(q.as_ref(), id).await;
    assert_eq!(running.len(), 1);
    assert_attempt(&running[0], 1, &w1, AttemptOutcome::Running, None);
    assert_eq!(Some(running[0].started_at), l1.task.started_at);
    q.fail(l1.key(), TaskFailure::retryable("boom"))
        .await
        .expect("fail");
    let l2 = claim_within(q.as_ref(), &w2, Duration::from_secs(5))
        .await
        .expect("retried");
    tokio::time::sleep(Duration::from_millis(400)).await;
    let l3 = claim_within(q.as_ref(), &w3, Duration::from_secs(5))
        .await
        .expect("redelivered");
    assert_eq!((l2.task.id, l3.task.id), (id, id));
    q.complete(l3.key(), json!("done")).await.expect("complete");
    let history = attempts_of(q.as_ref(), id).await;
    assert_eq!(history.len(), 3, "{history:?}");
    assert_attempt(&history[0], 1, &w1, AttemptOutcome::Failed, Some("boom"));
    assert_attempt(&history[1], 2, &w2, AttemptOutcome::LeaseExpired, Some(""));
    assert!(history[1].error.is_some(), "an expired lease says so");
    assert_attempt(&history[2], 3, &w3, AttemptOutcome::Completed, None);
    assert!(history[0].started_at <= history[1].started_at);
    assert!(history[1].started_at <= history[2].started_at);

    // timed_out: past the deadline, failed by reap.
    let slow = q
        .submit(
            task("slow")
                .timeout(Duration::from_millis(300))
                .max_attempts(1),
        )
        .await
        .expect("submit")
        .id;
    let w = worker().lease(Duration::from_secs(30));
    let l = claim_one(q.as_ref(), &w).await.expect("claim");
    assert_eq!(l.task.id, slow);
    tokio::time::sleep(Duration::from_millis(450)).await;
    for _ in 0..20 {
        if status(q.as_ref(), slow).await == TaskStatus::DeadLettered {
            break;
        }
        q.reap().await.expect("reap");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let history = attempts_of(q.as_ref(), slow).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_attempt(
        &history[0],
        1,
        &w,
        AttemptOutcome::TimedOut,
        Some("deadline"),
    );

    // cancelled while leased; and a worker declared dead.
    let doomed = q.submit(task("doomed")).await.expect("submit").id;
    let w = worker();
    claim_one(q.as_ref(), &w).await.expect("claim");
    q.cancel(doomed).await.expect("cancel");
    let history = attempts_of(q.as_ref(), doomed).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_attempt(&history[0], 1, &w, AttemptOutcome::Cancelled, None);
    let orphan = q.submit(task("orphan")).await.expect("submit").id;
    let dead = worker();
    claim_one(q.as_ref(), &dead).await.expect("claim");
    assert_eq!(q.expire_worker(&dead.worker).await.expect("expire"), 1);
    let history = attempts_of(q.as_ref(), orphan).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_attempt(
        &history[0],
        1,
        &dead,
        AttemptOutcome::LeaseExpired,
        Some(dead.worker.as_str()),
    );
    q.cancel(orphan).await.expect("cancel");
    assert_eq!(
        attempts_of(q.as_ref(), orphan).await.len(),
        1,
        "cancelling a task nobody runs ends no attempt"
    );

    // A dead letter retried by hand starts a new budget after the old
    // entries; purging the task deletes its history.
    let again = dead_letter(q.as_ref(), "again").await;
    q.retry_dead_letter(again).await.expect("retry");
    let w = worker();
    let l = claim_one(q.as_ref(), &w).await.expect("claim");
    assert_eq!(l.task.id, again);
    q.fail(l.key(), TaskFailure::permanent("still broken"))
        .await
        .expect("fail");
    let history = attempts_of(q.as_ref(), again).await;
    assert_eq!(history.len(), 2, "{history:?}");
    assert_eq!(history[0].attempt, 1);
    assert_eq!(history[0].error.as_deref(), Some("again broke"));
    assert_attempt(
        &history[1],
        1,
        &w,
        AttemptOutcome::Failed,
        Some("still broken"),
    );
    assert_eq!(
        q.purge_dead_letters(Some(&[again])).await.expect("purge"),
        1
    );
    assert!(matches!(
        q.attempts(again).await,
        Err(Error::NotFound { .. })
    ));
}

/// A released attempt does not count, so it leaves no entry.
pub async fn released_attempts_leave_no_history(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let id = q.submit(task("t")).await.expect("submit").id;
    for _ in 0..5 {
        let lease = claim_one(q.as_ref(), &worker()).await.expect("claim");
        assert_eq!(attempts_of(q.as_ref(), id).await.len(), 1, "running");
        q.release(lease.key()).await.expect("release");
        assert!(
            attempts_of(q.as_ref(), id).await.is_empty(),
            "a released attempt is not history"
        );
    }
    let w = worker();
    let lease = claim_one(q.as_ref(), &w).await.expect("claim");
    q.complete(lease.key(), json!(1)).await.expect("complete");
    let history = attempts_of(q.as_ref(), id).await;
    assert_eq!(history.len(), 1, "{history:?}");
    assert_attempt(&history[0], 1, &w, AttemptOutcome::Completed, None);
}

/// `error` shows only while it explains the task's state; the history
/// keeps it.
pub async fn error_shows_only_while_current(h: &dyn QueueHarness) {
    let mut cfg = h.config();
    cfg.retry = RetryPolicy {
        base: Duration::from_millis(10),
        cap: Duration::from_millis(10),
        jitter: 0.0,
    };
    let q = h.open(cfg).await;
    let id = q
        .submit(task("flaky").max_attempts(3))
        .await
        .expect("submit")
        .id;
    let l = claim_one(q.as_ref(), &worker()).await.expect("claim");
    q.fail(l.key(), TaskFailure::retryable("Traceback: boom"))
        .await
        .expect("fail");
    let t = q.get(id).await.expect("get");
    assert_eq!(t.status, TaskStatus::Delayed);
    assert_eq!(t.error.as_deref(), Some("Traceback: boom"), "why it waits");
    let again = claim_within(q.as_ref(), &worker(), Duration::from_secs(5))
        .await
        .expect("retried");
    assert_eq!(again.task.error, None, "the claim answers the running task");
    assert_eq!(q.get(id).await.expect("get").error, None, "running again");
    q.complete(again.key(), json!("ok"))
        .await
        .expect("complete");
    let t = q.get(id).await.expect("get");
    assert_eq!(
        (t.status, t.error.as_deref()),
        (TaskStatus::Completed, None),
        "a completed task shows no error"
    );
    let history = attempts_of(q.as_ref(), id).await;
    assert_eq!(history[0].error.as_deref(), Some("Traceback: boom"));

    let dead = dead_letter(q.as_ref(), "dead").await;
    assert_eq!(
        q.get(dead).await.expect("get").error.as_deref(),
        Some("dead broke"),
        "why it is dead-lettered"
    );
    let retried = q.retry_dead_letter(dead).await.expect("retry");
    assert_eq!(retried.error, None);
    assert_eq!(q.get(dead).await.expect("get").error, None);
}

/// A known idempotency key returns the earlier task and stores nothing.
pub async fn idempotency_key_deduplicates(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let first = q
        .submit(task("first").idempotency_key("order-17"))
        .await
        .expect("submit");
    assert!(!first.deduplicated);
    let dup = task("dup").idempotency_key("order-17");
    // The child names the duplicate and the original: both mean one task.
    let child = task("child").depends_on([dup.id(), first.id]);
    let subs = q
        .submit_batch(vec![dup, child.clone()])
        .await
        .expect("submit");
    assert_eq!(subs[0].id, first.id);
    assert!(subs[0].deduplicated);
    assert_eq!(subs[1].status, TaskStatus::Waiting);
    let c = q.get(child.id()).await.expect("get");
    assert_eq!(
        c.dependencies,
        vec![first.id],
        "a dependency on the duplicate points at the original"
    );
    assert_eq!(q.stats().await.expect("stats").total(), 2);
    assert_eq!(q.get(first.id).await.expect("get").task_type, "first");

    let lease = claim_one(q.as_ref(), &worker())
        .await
        .expect("claim the original");
    assert_eq!(lease.task.id, first.id);
    q.complete(lease.key(), json!(null))
        .await
        .expect("complete");
    assert_eq!(
        status(q.as_ref(), child.id()).await,
        TaskStatus::Pending,
        "the child waited for one task, once"
    );
}

/// A task's `traceparent` is kept through every read and every submit
/// path; a malformed one is refused and stores nothing.
pub async fn traceparent_is_carried_with_the_task(h: &dyn QueueHarness) {
    const TP: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let mut config = h.config();
    config.max_attempts = 1;
    let q = h.open(config).await;
    let tp = Some(TP.to_string());

    let bad = q
        .submit(task("bad").traceparent("00-not-a-trace-01"))
        .await
        .expect_err("a malformed traceparent");
    assert!(matches!(bad, Error::InvalidInput(_)), "{bad:?}");
    assert!(bad.to_string().contains("traceparent"), "{bad}");
    assert_eq!(q.stats().await.expect("stats").total(), 0, "nothing stored");

    // Alone (the fast path), then answered by `submit_and_get`.
    let alone = q
        .submit(task("alone").traceparent(TP))
        .await
        .expect("submit");
    assert_eq!(q.get(alone.id).await.expect("get").traceparent, tp);
    let got = q
        .submit_and_get(task("got").traceparent(TP))
        .await
        .expect("submit");
    assert_eq!(got.task.traceparent, tp);
    // A later version is stored in its version-00 form.
    let later = format!("{}-extra", TP.replacen("00", "01", 1));
    let keyed = q
        .submit(task("keyed").idempotency_key("k").traceparent(later))
        .await
        .expect("submit");
    assert_eq!(q.get(keyed.id).await.expect("get").traceparent, tp);
    // A dependent, in a batch with its dependency.
    let parent = task("parent");
    let child = task("child").depends_on([parent.id()]).traceparent(TP);
    q.submit_batch(vec![parent.clone(), child.clone()])
        .await
        .expect("batch");
    assert_eq!(q.get(child.id()).await.expect("get").traceparent, tp);
    assert_eq!(q.get(parent.id()).await.expect("get").traceparent, None);
    let listed = q.list(&TaskFilter::new()).await.expect("list");
    assert_eq!(
        listed.iter().filter(|t| t.traceparent == tp).count(),
        4,
        "{listed:?}"
    );

    // Through a claim, a dead letter and its retry, and a cancel.
    let req = worker().task_types(["alone"]);
    let lease = claim_one(q.as_ref(), &req).await.expect("claim");
    assert_eq!(lease.task.traceparent, tp);
    q.fail(lease.key(), TaskFailure::retryable("no"))
        .await
        .expect("fail");
    let dead = q.dead_letters(10, 0).await.expect("dead letters");
    assert_eq!(dead.len(), 1);
    assert_eq!(dead[0].traceparent, tp);
    let retried = q.retry_dead_letter(alone.id).await.expect("retry");
    assert_eq!(retried.traceparent, tp);
    let cancelled = q.cancel(got.task.id).await.expect("cancel");
    assert_eq!(cancelled.traceparent, tp);
}

/// `list` with [`TaskOrder::NewestFirst`] answers the same tasks in
/// reverse submit order, filtered the same way, and `after` pages from the
/// newest back to the oldest.
pub async fn list_pages_newest_first(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let mut ids = Vec::new();
    for i in 0..7 {
        let ty = if i % 2 == 0 { "alpha" } else { "beta" };
        ids.push(q.submit(task(ty)).await.expect("submit").id);
    }
    let newest = TaskFilter::new().order(TaskOrder::NewestFirst);
    let mut reversed = ids.clone();
    reversed.reverse();
    assert_eq!(
        listed(q.as_ref(), newest.clone()).await,
        reversed,
        "every task, newest first"
    );
    assert_eq!(
        listed(q.as_ref(), newest.clone().task_type("beta")).await,
        vec![ids[5], ids[3], ids[1]],
        "filters apply as in submit order"
    );
    assert_eq!(
        listed(q.as_ref(), newest.clone().limit(2)).await,
        vec![ids[6], ids[5]],
        "the first page holds the newest"
    );
    assert_eq!(
        listed(q.as_ref(), newest.clone().after(ids[3])).await,
        vec![ids[2], ids[1], ids[0]],
        "after keeps the older ones"
    );
    let mut walked = Vec::new();
    let mut after = None;
    loop {
        let mut page = newest.clone().limit(3);
        page.after = after;
        let got = listed(q.as_ref(), page).await;
        assert!(got.len() <= 3, "a page holds at most its limit");
        match got.last() {
            Some(&last) => after = Some(last),
            None => break,
        }
        walked.extend(got);
    }
    assert_eq!(
        walked, reversed,
        "paging visits every task once, newest first"
    );
}

/// The ids `list` answers for `filter`.
async fn listed(q: &dyn Queue, filter: TaskFilter) -> Vec<TaskId> {
    q.list(&filter)
        .await
        .expect("list")
        .iter()
        .map(|t| t.id)
        .collect()
}

/// `list` filters by status, type and worker, in submit order, and pages
/// with `after` and `limit`.
pub async fn list_filters_and_pages(h: &dyn QueueHarness) {
    let (q, other) = open_two_queues(h).await;
    let mut ids = Vec::new();
    for i in 0..12 {
        let ty = if i % 2 == 0 { "alpha" } else { "beta" };
        ids.push(q.submit(task(ty)).await.expect("submit").id);
    }
    let pick = |at: &[usize]| at.iter().map(|&i| ids[i]).collect::<Vec<_>>();

    // Claims go in submit order: w1 takes 0..3, w2 takes 3..6.
    let (w1, w2) = (worker().max(3), worker().max(3));
    let one = q.claim(&w1).await.expect("claim");
    let two = q.claim(&w2).await.expect("claim");
    let taken: Vec<TaskId> = one.iter().chain(&two).map(|l| l.task.id).collect();
    assert_eq!(taken, pick(&[0, 1, 2, 3, 4, 5]));
    q.complete(one[0].key(), json!(null))
        .await
        .expect("complete");
    q.fail(one[1].key(), TaskFailure::permanent("no"))
        .await
        .expect("fail");
    q.complete(two[0].key(), json!(null))
        .await
        .expect("complete");
    q.complete(two[1].key(), json!(null))
        .await
        .expect("complete");

    let everything = listed(q.as_ref(), TaskFilter::new()).await;
    assert_eq!(everything, ids, "no filter: every task, in submit order");
    let listed_tasks = q.list(&TaskFilter::new()).await.expect("list");
    assert_eq!(listed_tasks[0], q.get(ids[0]).await.expect("get"));

    let by_status = |s: &[TaskStatus]| s.iter().fold(TaskFilter::new(), |f, &st| f.status(st));
    assert_eq!(
        listed(q.as_ref(), by_status(&[TaskStatus::Completed])).await,
        pick(&[0, 3, 4])
    );
    assert_eq!(
        listed(q.as_ref(), by_status(&[TaskStatus::DeadLettered])).await,
        pick(&[1])
    );
    assert_eq!(
        listed(
            q.as_ref(),
            by_status(&[TaskStatus::Assigned, TaskStatus::Completed])
        )
        .await,
        pick(&[0, 2, 3, 4, 5])
    );
    assert_eq!(
        listed(q.as_ref(), by_status(&[TaskStatus::Pending])).await,
        pick(&[6, 7, 8, 9, 10, 11])
    );
    assert!(listed(q.as_ref(), by_status(&[TaskStatus::Waiting]))
        .await
        .is_empty());

    assert_eq!(
        listed(q.as_ref(), TaskFilter::new().task_type("alpha")).await,
        pick(&[0, 2, 4, 6, 8, 10])
    );
    assert!(listed(q.as_ref(), TaskFilter::new().task_type("gamma"))
        .await
        .is_empty());
    assert_eq!(
        listed(q.as_ref(), TaskFilter::new().worker(w1.worker.as_str())).await,
        pick(&[0, 1, 2]),
        "the worker that holds or last held each task"
    );
    assert_eq!(
        listed(q.as_ref(), TaskFilter::new().worker(w2.worker.as_str())).await,
        pick(&[3, 4, 5])
    );
    assert!(listed(q.as_ref(), TaskFilter::new().worker("agent-nobody"))
        .await
        .is_empty());

    assert_eq!(
        listed(
            q.as_ref(),
            TaskFilter::new()
                .task_type("alpha")
                .worker(w2.worker.as_str())
        )
        .await,
        pick(&[4])
    );
    assert_eq!(
        listed(
            q.as_ref(),
            TaskFilter::new()
                .status(TaskStatus::Pending)
                .task_type("beta")
                .limit(2)
        )
        .await,
        pick(&[7, 9])
    );
    assert_eq!(
        listed(
            q.as_ref(),
            TaskFilter::new()
                .status(TaskStatus::Completed)
                .worker(w1.worker.as_str())
        )
        .await,
        pick(&[0])
    );

    // Paging: each page continues after the last id of the one before.
    for filter in [TaskFilter::new(), TaskFilter::new().task_type("beta")] {
        let want = listed(q.as_ref(), filter.clone()).await;
        let mut walked = Vec::new();
        let mut after = None;
        loop {
            let mut page = filter.clone().limit(5);
            page.after = after;
            let got = listed(q.as_ref(), page).await;
            assert!(got.len() <= 5, "a page holds at most its limit");
            match got.last() {
                Some(&last) => after = Some(last),
                None => break,
            }
            walked.extend(got);
        }
        assert_eq!(walked, want, "paging visits every task once, in order");
    }
    assert_eq!(
        listed(q.as_ref(), TaskFilter::new().after(ids[9])).await,
        pick(&[10, 11])
    );
    assert!(
        listed(q.as_ref(), TaskFilter::new().after(TaskId::new()))
            .await
            .is_empty(),
        "a cursor naming no task is a place in the order, not an error"
    );

    for bad in [0, 1001] {
        assert_invalid(q.list(&TaskFilter::new().limit(bad)).await, "limit");
    }

    // Purged tasks leave the listing.
    assert_eq!(q.purge_dead_letters(None).await.expect("purge"), 1);
    assert_eq!(
        listed(q.as_ref(), TaskFilter::new()).await,
        pick(&[0, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])
    );

    // Isolation.
    assert!(listed(other.as_ref(), TaskFilter::new()).await.is_empty());
    let theirs = other.submit(task("alpha")).await.expect("submit").id;
    assert_eq!(listed(other.as_ref(), TaskFilter::new()).await, [theirs]);
    assert_eq!(listed(q.as_ref(), TaskFilter::new()).await.len(), 11);
}

/// `stats` counts tasks per status.
pub async fn stats_count_each_status(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let s = q.stats().await.expect("stats");
    assert_eq!(s.total(), 0);
    assert_eq!(
        s.counts.len(),
        TaskStatus::ALL.len(),
        "every status is listed"
    );

    let done = q
        .submit(task("done").priority(TaskPriority::CRITICAL))
        .await
        .expect("submit")
        .id;
    let _running = q
        .submit(task("running").priority(TaskPriority::HIGH))
        .await
        .expect("submit");
    q.submit(task("pending")).await.expect("submit");
    q.submit(task("pending2")).await.expect("submit");
    q.submit(task("later").delay(Duration::from_secs(60)))
        .await
        .expect("submit");
    q.submit(task("waits").depends_on([done]))
        .await
        .expect("submit");
    let cancelled = q
        .submit(task("cancelled").priority(TaskPriority::BACKGROUND))
        .await
        .expect("submit")
        .id;
    q.cancel(cancelled).await.expect("cancel");
    let w = worker();
    let l = claim_one(q.as_ref(), &w).await.expect("claim");
    assert_eq!(l.task.id, done);
    q.complete(l.key(), json!(null)).await.expect("complete");
    claim_one(q.as_ref(), &w).await.expect("claim running");
    let s = q.stats().await.expect("stats");
    let expect = [
        (TaskStatus::Completed, 1),
        (TaskStatus::Assigned, 1),
        (TaskStatus::Pending, 3),
        (TaskStatus::Delayed, 1),
        (TaskStatus::Cancelled, 1),
        (TaskStatus::Waiting, 0),
    ];
    for (st, n) in expect {
        assert_eq!(s.get(st), n, "count of {st} in {s:?}");
    }
    assert_eq!(s.total(), 7);
}

/// `wait_for_work` returns soon after a submit from another handle, and by
/// its timeout otherwise.
pub async fn wait_for_work_wakes_on_submit(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let other = h.open(h.config()).await;
    let start = tokio::time::Instant::now();
    q.wait_for_work(Duration::from_millis(300))
        .await
        .expect("wait");
    let idle = start.elapsed();
    assert!(
        idle < Duration::from_secs(5),
        "returns by its timeout, took {idle:?}"
    );

    let waiter = {
        let q = q.clone();
        tokio::spawn(async move {
            let start = tokio::time::Instant::now();
            q.wait_for_work(Duration::from_secs(20))
                .await
                .expect("wait");
            start.elapsed()
        })
    };
    tokio::time::sleep(Duration::from_millis(200)).await;
    other.submit(task("wake")).await.expect("submit");
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter woke")
        .expect("join");
    assert!(waited < Duration::from_secs(10), "woke after {waited:?}");
}

/// Different queue names never see each other's tasks.
pub async fn queues_are_isolated_by_name(h: &dyn QueueHarness) {
    let (mine, theirs) = open_two_queues(h).await;
    let id = mine.submit(task("mine")).await.expect("submit").id;
    assert!(claim_one(theirs.as_ref(), &worker()).await.is_none());
    assert_eq!(theirs.stats().await.expect("stats").total(), 0);
    assert!(matches!(theirs.get(id).await, Err(Error::NotFound { .. })));
    assert_eq!(mine.stats().await.expect("stats").total(), 1);
}

/// A moment `days` days from now: what a purge many days later would see.
fn days_later(days: i64) -> chrono::DateTime<chrono::Utc> {
    chrono::Utc::now() + chrono::Duration::days(days)
}

/// Purges with a generous limit.
async fn purge(q: &dyn Queue, now: chrono::DateTime<chrono::Utc>) -> PurgeReport {
    q.purge_expired(now, 100).await.expect("purge_expired")
}

/// Claims and completes the pending task `id` (the only one ready).
async fn run_to_completion(q: &dyn Queue, id: TaskId) {
    let lease = claim_one(q, &worker()).await.expect("a task to claim");
    assert_eq!(lease.task.id, id, "the task to complete");
    q.complete(lease.key(), json!({ "done": id.to_string() }))
        .await
        .expect("complete");
}

fn assert_gone(r: Result<impl std::fmt::Debug, Error>, what: &str) {
    assert!(
        matches!(r, Err(Error::NotFound { .. })),
        "{what}: expected NotFound, got {r:?}"
    );
}

/// Old completed, failed and cancelled tasks go with their history, edges
/// and idempotency keys; `stats` stops counting them; their ids and keys may
/// be used again.
pub async fn purge_expired_deletes_old_tasks_with_their_traces(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let done = task("done").idempotency_key("once");
    let done_id = done.id();
    q.submit(done.clone()).await.expect("submit");
    // An attempt that failed and one that completed: two history entries.
    let w = worker();
    let first = claim_one(q.as_ref(), &w).await.expect("claim");
    q.fail(first.key(), TaskFailure::retryable("flaky"))
        .await
        .expect("fail");
    let second = claim_within(q.as_ref(), &w, Duration::from_secs(10))
        .await
        .expect("the retry");
    q.complete(second.key(), json!("ok"))
        .await
        .expect("complete");
    assert_eq!(attempts_of(q.as_ref(), done_id).await.len(), 2);

    // A cancelled task, and one that failed because of it.
    let cancelled = q.submit(task("cancelled")).await.expect("submit").id;
    let failed = q
        .submit(task("failed").depends_on([cancelled]))
        .await
        .expect("submit")
        .id;
    q.cancel(cancelled).await.expect("cancel");
    assert_eq!(status(q.as_ref(), failed).await, TaskStatus::Failed);
    let s = q.stats().await.expect("stats");
    assert_eq!(
        (
            s.get(TaskStatus::Completed),
            s.get(TaskStatus::Failed),
            s.get(TaskStatus::Cancelled)
        ),
        (1, 1, 1)
    );

    assert_eq!(
        purge(q.as_ref(), chrono::Utc::now()).await,
        PurgeReport::default(),
        "nothing is a week old yet"
    );
    assert_eq!(
        purge(q.as_ref(), days_later(8)).await,
        PurgeReport {
            finished: 3,
            dead_letters: 0
        }
    );
    for id in [done_id, cancelled, failed] {
        assert_gone(q.get(id).await, "get after purge");
        assert_gone(q.attempts(id).await, "attempts after purge");
    }
    assert_eq!(q.stats().await.expect("stats").total(), 0);

    // The key is free: the same submit stores a new task.
    let again = q
        .submit(task("done").idempotency_key("once"))
        .await
        .expect("submit with the old key");
    assert!(!again.deduplicated, "the purged task's key was forgotten");
    assert_ne!(again.id, done_id);
    // The id is free, and brings no history back.
    let reborn = q.submit(done.clone().idempotency_key("twice")).await;
    let reborn = reborn.expect("the purged id can be submitted again");
    assert_eq!(reborn.id, done_id);
    assert!(
        attempts_of(q.as_ref(), done_id).await.is_empty(),
        "the purged attempts stay gone"
    );
    assert_eq!(
        q.get(done_id).await.expect("get").status,
        TaskStatus::Pending
    );
}

/// Tasks that have not finished stay however old they are; tasks that
/// finished after the cutoff stay; a `None` age keeps everything.
pub async fn purge_expired_keeps_young_and_unfinished_tasks(h: &dyn QueueHarness) {
    let mut config = h.config();
    config.retention = TaskRetention {
        finished: Some(Duration::from_secs(3600)),
        dead_letters: Some(Duration::from_secs(3600)),
    };
    let q = h.open(config).await;
    let old = q.submit(task("old")).await.expect("submit").id;
    run_to_completion(q.as_ref(), old).await;
    let old_finished = q
        .get(old)
        .await
        .expect("get")
        .finished_at
        .expect("finished_at");
    // Millisecond clocks: let them tick past the first completion.
    tokio::time::sleep(Duration::from_millis(20)).await;
    let young = q.submit(task("young")).await.expect("submit").id;
    run_to_completion(q.as_ref(), young).await;
    let young_finished = q
        .get(young)
        .await
        .expect("get")
        .finished_at
        .expect("finished_at");
    assert!(young_finished > old_finished, "the clock moved on");

    // Unfinished tasks in every status.
    let leased = q.submit(task("leased")).await.expect("submit").id;
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim");
    assert_eq!(lease.task.id, leased);
    let pending = q.submit(task("pending")).await.expect("submit").id;
    let delayed = q
        .submit(task("delayed").delay(Duration::from_secs(3600)))
        .await
        .expect("submit")
        .id;
    let waiting = q
        .submit(task("waiting").depends_on([pending]))
        .await
        .expect("submit")
        .id;

    // The cutoff falls between the two completions.
    let now = old_finished + chrono::Duration::hours(1) + chrono::Duration::milliseconds(1);
    assert_eq!(
        purge(q.as_ref(), now).await,
        PurgeReport {
            finished: 1,
            dead_letters: 0
        }
    );
    assert_gone(q.get(old).await, "the old task");
    assert_eq!(status(q.as_ref(), young).await, TaskStatus::Completed);
    assert_eq!(
        q.get(young).await.expect("get").result,
        Some(json!({ "done": young.to_string() })),
        "a kept task is unchanged"
    );
    // Years later, only the finished one goes.
    assert_eq!(purge(q.as_ref(), days_later(3650)).await.finished, 1);
    for (id, expected) in [
        (leased, TaskStatus::Assigned),
        (pending, TaskStatus::Pending),
        (delayed, TaskStatus::Delayed),
        (waiting, TaskStatus::Waiting),
    ] {
        assert_eq!(
            status(q.as_ref(), id).await,
            expected,
            "unfinished tasks stay"
        );
    }
    q.complete(lease.key(), json!(null))
        .await
        .expect("the kept lease still answers");
    assert_eq!(q.stats().await.expect("stats").total(), 4);

    // With no age, nothing finished is ever deleted.
    let forever = QueueConfig {
        retention: TaskRetention::FOREVER,
        ..QueueConfig::named(format!("{}-forever", h.config().name))
    };
    let kept = h.open(forever).await;
    let dead = dead_letter(kept.as_ref(), "kept").await;
    let done = kept.submit(task("done")).await.expect("submit").id;
    run_to_completion(kept.as_ref(), done).await;
    assert_eq!(
        purge(kept.as_ref(), days_later(36_500)).await,
        PurgeReport::default()
    );
    assert_eq!(status(kept.as_ref(), dead).await, TaskStatus::DeadLettered);
    assert_eq!(status(kept.as_ref(), done).await, TaskStatus::Completed);
}

/// Dead letters follow their own age, not the finished tasks'.
pub async fn purge_expired_ages_dead_letters_apart(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let dead = dead_letter(q.as_ref(), "dead").await;
    let done = q.submit(task("done")).await.expect("submit").id;
    run_to_completion(q.as_ref(), done).await;
    assert_eq!(
        purge(q.as_ref(), days_later(8)).await,
        PurgeReport {
            finished: 1,
            dead_letters: 0
        },
        "a week is enough for finished tasks, not for dead letters"
    );
    assert_eq!(status(q.as_ref(), dead).await, TaskStatus::DeadLettered);
    assert_eq!(q.dead_letters(10, 0).await.expect("list").len(), 1);
    assert_eq!(
        purge(q.as_ref(), days_later(31)).await,
        PurgeReport {
            finished: 0,
            dead_letters: 1
        }
    );
    assert_gone(q.get(dead).await, "the old dead letter");
    assert_gone(q.attempts(dead).await, "its history");
    assert!(q.dead_letters(10, 0).await.expect("list").is_empty());
    assert_eq!(q.stats().await.expect("stats").total(), 0);

    // Dead letters kept forever while finished tasks go at once.
    let mut config = h.config();
    config.retention = TaskRetention {
        finished: Some(Duration::ZERO),
        dead_letters: None,
    };
    let q = h.open(config).await;
    let dead = dead_letter(q.as_ref(), "kept").await;
    let done = q.submit(task("done")).await.expect("submit").id;
    run_to_completion(q.as_ref(), done).await;
    assert_eq!(
        purge(q.as_ref(), days_later(36_500)).await,
        PurgeReport {
            finished: 1,
            dead_letters: 0
        }
    );
    assert_eq!(status(q.as_ref(), dead).await, TaskStatus::DeadLettered);
}

/// A finished task stays while a dependent has not finished (a dead letter
/// counts as not finished: it may be retried), and goes on the first purge
/// after; purges leave the edges of the tasks they keep working.
pub async fn purge_expired_keeps_what_dependents_need(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let later = days_later(8);
    // `a` completes while `b` waits on it and on `gate`; `c` is submitted
    // on top of the completed `a`, so it never waited.
    let a = task("a");
    let gate = task("gate").requires(["gate"]);
    let b = task("b").depends_on([a.id(), gate.id()]);
    q.submit_batch(vec![a.clone(), gate.clone(), b.clone()])
        .await
        .expect("submit");
    run_to_completion(q.as_ref(), a.id()).await;
    let c = q
        .submit(task("c").depends_on([a.id()]))
        .await
        .expect("submit");
    assert_eq!(c.status, TaskStatus::Pending);

    assert_eq!(purge(q.as_ref(), later).await, PurgeReport::default());
    let kept = q.get(a.id()).await.expect("a is kept for its dependents");
    assert_eq!(kept.result, Some(json!({ "done": a.id().to_string() })));
    assert_eq!(
        q.get(b.id()).await.expect("get").dependencies,
        [a.id(), gate.id()]
    );

    // `gate` still works as `b`'s dependency: completing it frees `b`.
    let gated = claim_one(q.as_ref(), &worker().capabilities(["gate"]))
        .await
        .expect("the gate");
    assert_eq!(gated.task.id, gate.id());
    assert_eq!(status(q.as_ref(), b.id()).await, TaskStatus::Waiting);
    q.complete(gated.key(), json!(null))
        .await
        .expect("complete");
    assert_eq!(status(q.as_ref(), b.id()).await, TaskStatus::Pending);
    assert_eq!(
        purge(q.as_ref(), later).await,
        PurgeReport::default(),
        "a and gate are still needed by b and c"
    );

    // `b` dies, and `c` completes: a dead letter may come back, so `a`
    // stays.
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim b");
    assert_eq!(lease.task.id, b.id());
    q.fail(lease.key(), TaskFailure::permanent("b broke"))
        .await
        .expect("fail");
    run_to_completion(q.as_ref(), c.id).await;
    assert_eq!(
        purge(q.as_ref(), later).await,
        PurgeReport {
            finished: 1,
            dead_letters: 0
        },
        "only c, which nobody needs, goes"
    );
    assert_gone(q.get(c.id).await, "c");
    for id in [a.id(), gate.id(), b.id()] {
        q.get(id).await.expect("kept");
    }

    // Retried, `b` runs with its dependencies there; once it completes,
    // everything goes.
    q.retry_dead_letter(b.id()).await.expect("retry");
    let lease = claim_one(q.as_ref(), &worker()).await.expect("claim b");
    for dep in &lease.task.dependencies {
        q.get(*dep).await.expect("b's dependencies are readable");
    }
    q.complete(lease.key(), json!(null))
        .await
        .expect("complete");
    assert_eq!(
        purge(q.as_ref(), later).await,
        PurgeReport {
            finished: 3,
            dead_letters: 0
        }
    );
    assert_eq!(q.stats().await.expect("stats").total(), 0);
}

/// One call deletes at most `limit` tasks; the rest go in later calls.
pub async fn purge_expired_respects_its_limit(h: &dyn QueueHarness) {
    let q = h.open(h.config()).await;
    let mut ids = Vec::new();
    for n in 0..5 {
        let id = q.submit(task(&format!("t{n}"))).await.expect("submit").id;
        run_to_completion(q.as_ref(), id).await;
        ids.push(id);
    }
    let later = days_later(8);
    for bad in [0, MAX_PURGE_LIMIT + 1] {
        assert_invalid(q.purge_expired(later, bad).await, "purge limit");
    }
    let mut counts = Vec::new();
    loop {
        let report = q.purge_expired(later, 2).await.expect("purge");
        assert_eq!(report.dead_letters, 0);
        counts.push(report.finished);
        let left = q.stats().await.expect("stats").get(TaskStatus::Completed);
        assert_eq!(left, 5 - counts.iter().sum::<u64>(), "stats follow");
        if report.total() == 0 {
            break;
        }
    }
    assert_eq!(counts, [2, 2, 1, 0]);
    for id in ids {
        assert_gone(q.get(id).await, "every task in the end");
    }
}
