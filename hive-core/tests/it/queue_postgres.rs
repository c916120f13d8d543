//! The queue conformance suite on the Postgres backend, plus what is
//! particular to it: an unreachable server, and claimers racing a reaper
//! under `FOR UPDATE SKIP LOCKED`.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`); every test uses
//! queues of its own, so tests share the database without seeing each other.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hive_core::conformance::queue::QueueHarness;
use hive_core::conformance::{service_url, unique_name};
use hive_core::queue::postgres::{PostgresOptions, PostgresQueue};
use hive_core::queue::{ClaimRequest, NewTask, Queue, QueueConfig, QueueExt, TaskStatus, WorkerId};
use hive_core::Error;
use serde_json::json;

/// Small pools: dozens of tests run at once against one server.
fn options() -> PostgresOptions {
    PostgresOptions {
        max_connections: 4,
        ..PostgresOptions::default()
    }
}

/// A queue name of its own per test; every `open` is a new handle (its own
/// pool), as another process would have.
struct Postgres {
    url: String,
    name: String,
}

impl Postgres {
    fn from_env() -> Option<Self> {
        Some(Postgres {
            url: service_url("HIVE_TEST_DATABASE_URL")?,
            name: unique_name("q"),
        })
    }
}

#[async_trait]
impl QueueHarness for Postgres {
    fn config(&self) -> QueueConfig {
        QueueConfig::named(self.name.clone())
    }

    async fn open(&self, config: QueueConfig) -> Arc<dyn Queue> {
        Arc::new(
            PostgresQueue::open_with(&self.url, config, options())
                .await
                .expect("open postgres queue"),
        )
    }
}

mod conformance {
    use super::Postgres;

    hive_core::queue_conformance_tests!(Postgres::from_env());
}

#[tokio::test]
async fn unreachable_database_is_a_backend_error() {
    // Nothing listens on port 1; the connection is refused at once.
    let url = "postgres://postgres@127.0.0.1:1/hive_test";
    let opened =
        PostgresQueue::open_with(url, QueueConfig::named(unique_name("q")), options()).await;
    assert!(
        matches!(
            opened,
            Err(Error::Backend {
                backend: "postgres",
                ..
            })
        ),
        "expected a backend error, got {opened:?}"
    );
    let through_open = hive_core::queue::open(url, QueueConfig::default()).await;
    assert!(
        matches!(through_open, Err(Error::Backend { .. })),
        "queue::open: {through_open:?}"
    );
}

#[tokio::test]
async fn bad_url_is_invalid_input() {
    let opened =
        PostgresQueue::open_with("postgres://[::1", QueueConfig::default(), options()).await;
    assert!(
        matches!(opened, Err(Error::InvalidInput(_))),
        "expected invalid input, got {opened:?}"
    );
}

/// Two handles claim (a few tasks at a time, with short leases so some
/// expire) while a third reaps in a loop. No task is ever held by two
/// workers at once, nothing deadlocks, and every task completes exactly once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claimers_and_reapers_never_share_or_deadlock() {
    let Some(h) = Postgres::from_env() else {
        return;
    };
    const TASKS: usize = 300;
    let a = h.open(h.config()).await;
    let b = h.open(h.config()).await;
    let reaper = h.open(h.config()).await;
    // Attempts to spare: a task may be redelivered many times here, and a
    // dead-lettered one would never complete.
    a.submit_batch(
        (0..TASKS)
            .map(|i| NewTask::new("t", json!(i)).max_attempts(1000))
            .collect(),
    )
    .await
    .expect("submit");

    let stop = Arc::new(tokio::sync::Notify::new());
    let reaping = {
        let stop = stop.clone();
        tokio::spawn(async move {
            let mut rounds = 0u32;
            loop {
                tokio::select! {
                    _ = stop.notified() => return rounds,
                    r = reaper.reap() => { r.expect("reap"); rounds += 1; }
                }
            }
        })
    };
    let mut workers = Vec::new();
    for i in 0..6 {
        let q = if i % 2 == 0 { a.clone() } else { b.clone() };
        workers.push(tokio::spawn(async move {
            // Leases short enough that the reaper redelivers some tasks whose
            // worker is slow, so stale completions are exercised too.
            let req = ClaimRequest::new(WorkerId::random("stress"))
                .max(3)
                .lease(Duration::from_millis(150));
            let mut done = Vec::new();
            let mut stale = 0usize;
            let until = tokio::time::Instant::now() + Duration::from_secs(60);
            while tokio::time::Instant::now() < until {
                let leases = q.claim(&req).await.expect("claim");
                if leases.is_empty() {
                    let s = q.stats().await.expect("stats");
                    if s.get(TaskStatus::Completed) as usize == TASKS {
                        break;
                    }
                    q.wait_for_work(Duration::from_millis(50))
                        .await
                        .expect("wait");
                    continue;
                }
                for (n, lease) in leases.into_iter().enumerate() {
                    if n == 2 {
                        // Sometimes too slow: the lease may have expired.
                        tokio::time::sleep(Duration::from_millis(200)).await;
                    }
                    match q.complete(lease.key(), json!(null)).await {
                        Ok(()) => done.push(lease.task.id),
                        Err(Error::StaleLease { .. }) => stale += 1,
                        Err(e) => panic!("complete: {e}"),
                    }
                }
            }
            (done, stale)
        }));
    }
    let mut completed = HashSet::new();
    for w in workers {
        let (done, _stale) = tokio::time::timeout(Duration::from_secs(90), w)
            .await
            .expect("no deadlock")
            .expect("join");
        for id in done {
            assert!(completed.insert(id), "task {id} was completed twice");
        }
    }
    stop.notify_one();
    let rounds = reaping.await.expect("join");
    assert!(rounds > 0, "the reaper ran");
    let s = a.stats().await.expect("stats");
    assert_eq!(
        completed.len(),
        TASKS,
        "every task completed exactly once; {s:?}"
    );
    assert_eq!(s.get(TaskStatus::Completed) as usize, TASKS, "{s:?}");
}

/// A dependency completed by one handle while another submits a dependent
/// of it: the dependent never ends up waiting for good.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dependents_submitted_during_completion_are_released() {
    let Some(h) = Postgres::from_env() else {
        return;
    };
    let q = h.open(h.config()).await;
    let other = h.open(h.config()).await;
    for round in 0..20 {
        let parent = q
            .submit(NewTask::new("parent", json!(round)))
            .await
            .expect("submit");
        let lease = q
            .claim(&ClaimRequest::new(WorkerId::random("w")))
            .await
            .expect("claim")
            .pop()
            .expect("the parent");
        let child = NewTask::new("child", json!(round)).depends_on([parent.id]);
        let child_id = child.id();
        let submitting = {
            let other = other.clone();
            tokio::spawn(async move { other.submit(child).await })
        };
        q.complete(lease.key(), json!(null))
            .await
            .expect("complete");
        submitting.await.expect("join").expect("submit child");
        let status = q.get(child_id).await.expect("get").status;
        assert_eq!(status, TaskStatus::Pending, "round {round}");
        let next = q
            .claim(&ClaimRequest::new(WorkerId::random("w")))
            .await
            .expect("claim")
            .pop()
            .expect("the child");
        q.complete(next.key(), json!(null)).await.expect("complete");
    }
}

/// Concurrent submits of one idempotency key store one task.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn concurrent_idempotent_submits_store_one_task() {
    let Some(h) = Postgres::from_env() else {
        return;
    };
    let handles = [h.open(h.config()).await, h.open(h.config()).await];
    let mut joins = Vec::new();
    for i in 0..8 {
        let q = handles[i % 2].clone();
        joins.push(tokio::spawn(async move {
            q.submit(NewTask::new("once", json!(i)).idempotency_key("the-key"))
                .await
                .expect("submit")
        }));
    }
    let mut ids = HashSet::new();
    for j in joins {
        ids.insert(j.await.expect("join").id);
    }
    assert_eq!(ids.len(), 1, "one task for one key");
    assert_eq!(handles[0].stats().await.expect("stats").total(), 1);
}

/// `complete_and_claim` on a task others depend on completes it on the
/// locked path, releases the dependent, and still hands out work.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn complete_and_claim_releases_dependents() {
    let Some(h) = Postgres::from_env() else {
        return;
    };
    let q = h.open(h.config()).await;
    let parent = NewTask::new("parent", json!(1));
    let child = NewTask::new("child", json!(2)).depends_on([parent.id()]);
    q.submit_batch(vec![parent.clone(), child.clone()])
        .await
        .expect("submit");
    let w = ClaimRequest::new(WorkerId::random("w"));
    let lease = q.claim(&w).await.expect("claim").pop().expect("the parent");
    assert_eq!(lease.task.id, parent.id());
    let next = q
        .complete_and_claim(lease.key(), json!("done"), &w)
        .await
        .expect("complete_and_claim");
    assert_eq!(
        next.iter().map(|l| l.task.id).collect::<Vec<_>>(),
        [child.id()]
    );
    assert_eq!(
        q.get(parent.id()).await.expect("get").status,
        TaskStatus::Completed
    );
}

/// The longest queue name still gets a working notification channel
/// (Postgres cuts channel names at 63 bytes; ours are hashed).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn longest_queue_name_still_wakes_waiters() {
    let Some(h) = Postgres::from_env() else {
        return;
    };
    let name = format!("{}-", h.name).repeat(5)[..64].to_string();
    let config = QueueConfig::named(name);
    let q = h.open(config.clone()).await;
    let other = h.open(config).await;
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
    tokio::time::sleep(Duration::from_millis(300)).await;
    other
        .submit(NewTask::new("wake", json!(null)))
        .await
        .expect("submit");
    let waited = tokio::time::timeout(Duration::from_secs(10), waiter)
        .await
        .expect("the waiter woke")
        .expect("join");
    assert!(waited < Duration::from_secs(10), "woke after {waited:?}");
}
