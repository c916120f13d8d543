//! The queue conformance suite on the Redis backend, plus what is particular
//! to it: surviving a Redis restart, reloading scripts Redis forgot, claims
//! across capability sets, waking many blocked workers, and keeping every
//! key under the queue's hash tag.
//!
//! Needs `HIVE_TEST_REDIS_URL` (a Redis shared with other tests: nothing
//! here flushes it, every test works in queues of its own and deletes their
//! keys afterwards). The restart and script-cache tests also need
//! `HIVE_REDIS_SERVER_BIN`, a `redis-server` binary they run privately.

use std::sync::Arc;
use std::time::Duration;

use crate::private_redis::{all_keys, connect, delete_matching, eventually, spare_port, Server};

use async_trait::async_trait;
use fred::interfaces::{ClientLike, LuaInterface};
use hive_core::conformance::queue::QueueHarness;
use hive_core::conformance::{service_url, unique_name};
use hive_core::queue::redis::RedisQueue;
use hive_core::queue::{
    ClaimRequest, NewTask, Queue, QueueConfig, QueueExt, TaskPriority, TaskStatus, WorkerId,
};
use hive_core::Error;
use serde_json::json;

/// A queue name of its own on the shared Redis; its keys (and those of the
/// `<name>-other` queue the isolation clause opens) are deleted on drop.
struct Redis {
    url: String,
    name: String,
}

fn redis_harness() -> Option<Redis> {
    service_url("HIVE_TEST_REDIS_URL").map(|url| Redis {
        url,
        name: unique_name("q"),
    })
}

#[async_trait]
impl QueueHarness for Redis {
    fn config(&self) -> QueueConfig {
        QueueConfig::named(self.name.clone())
    }

    async fn open(&self, config: QueueConfig) -> Arc<dyn Queue> {
        Arc::new(
            RedisQueue::open(&self.url, config)
                .await
                .expect("open redis queue"),
        )
    }
}

impl Drop for Redis {
    fn drop(&mut self) {
        // Tests run on a multi-threaded runtime, which lets a destructor
        // finish async work in place.
        let (url, name) = (self.url.clone(), self.name.clone());
        if let Ok(rt) = tokio::runtime::Handle::try_current() {
            tokio::task::block_in_place(|| {
                rt.block_on(delete_matching(&url, &format!("hive:{{{name}*")))
            });
        }
    }
}

mod conformance {
    use super::redis_harness;

    hive_core::queue_conformance_tests!(redis_harness());
}

fn task(ty: &str) -> NewTask {
    NewTask::new(ty, json!({ "n": ty }))
}

fn worker() -> ClaimRequest {
    ClaimRequest::new(WorkerId::random("redis-test"))
}

/// A claim by a worker with several capabilities takes the globally best
/// tasks across every capability set it qualifies for, and none of the
/// others.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn claim_merges_capability_sets_by_priority_then_fifo() {
    let Some(h) = redis_harness() else { return };
    let q = h.open(h.config()).await;
    let p = |n| TaskPriority::new(n).expect("priority");
    let plan: [(&str, u8, &[&str]); 7] = [
        ("plain-5", 5, &[]),
        ("a-5", 5, &["a"]),
        ("ab-1", 1, &["a", "b"]),
        ("c-1", 1, &["c"]),
        ("a-3", 3, &["a"]),
        ("plain-3", 3, &[]),
        ("ab-5", 5, &["b", "a"]),
    ];
    for (name, prio, caps) in plan {
        q.submit(task(name).priority(p(prio)).requires(caps.iter().copied()))
            .await
            .expect("submit");
    }
    let got = q
        .claim(&worker().capabilities(["a", "b"]).max(10))
        .await
        .expect("claim");
    let order: Vec<&str> = got.iter().map(|l| l.task.task_type.as_str()).collect();
    assert_eq!(order, ["ab-1", "a-3", "plain-3", "plain-5", "a-5", "ab-5"]);
    assert!(
        got.windows(2).all(|w| w[0].token == w[1].token),
        "one claim, one token"
    );
    let rest = q
        .claim(&worker().capabilities(["c"]).max(10))
        .await
        .expect("claim");
    assert_eq!(rest.len(), 1);
    assert_eq!(rest[0].task.task_type, "c-1");
}

/// One submit of many tasks wakes several blocked workers, not just one.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_batch_wakes_several_waiting_workers() {
    let Some(h) = redis_harness() else { return };
    let q = h.open(h.config()).await;
    // Drain markers earlier activity may have left.
    q.wait_for_work(Duration::from_millis(10))
        .await
        .expect("wait");
    let waiters: Vec<_> = (0..4)
        .map(|_| {
            let q = q.clone();
            tokio::spawn(async move {
                let start = tokio::time::Instant::now();
                q.wait_for_work(Duration::from_secs(20))
                    .await
                    .expect("wait");
                start.elapsed()
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(300)).await;
    q.submit_batch((0..8).map(|i| task(&format!("t{i}"))).collect())
        .await
        .expect("submit");
    for w in waiters {
        let waited = tokio::time::timeout(Duration::from_secs(10), w)
            .await
            .expect("every waiter woke")
            .expect("join");
        assert!(waited < Duration::from_secs(10), "woke after {waited:?}");
    }
}

/// A waiter that is given up on (its future dropped mid-BLPOP) leaves the
/// handle working.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_abandoned_wait_leaves_the_queue_usable() {
    let Some(h) = redis_harness() else { return };
    let q = h.open(h.config()).await;
    let gave_up = tokio::time::timeout(
        Duration::from_millis(100),
        q.wait_for_work(Duration::from_secs(30)),
    )
    .await;
    assert!(gave_up.is_err(), "the wait was still blocked");
    let id = q.submit(task("after")).await.expect("submit").id;
    let start = tokio::time::Instant::now();
    q.wait_for_work(Duration::from_secs(5)).await.expect("wait");
    assert!(
        start.elapsed() < Duration::from_secs(4),
        "the marker woke it"
    );
    assert_eq!(q.get(id).await.expect("get").status, TaskStatus::Pending);
}

/// Every key a queue writes lives under `hive:{<name>}:`, one hash tag, so
/// the queue fits in one Redis Cluster slot.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_key_carries_the_queue_hash_tag() {
    let Some(h) = redis_harness() else { return };
    let q = h.open(h.config()).await;
    let a = task("a").idempotency_key("k").max_attempts(1);
    let b = task("b").depends_on([a.id()]);
    q.submit_batch(vec![a, b, task("later").delay(Duration::from_secs(60))])
        .await
        .expect("submit");
    let lease = q.claim(&worker()).await.expect("claim").remove(0);
    q.fail(lease.key(), hive_core::queue::TaskFailure::retryable("x"))
        .await
        .expect("fail");
    let client = connect(&h.url).await.expect("connect");
    let keys = all_keys(&client, &format!("*{}*", h.name)).await;
    assert!(!keys.is_empty(), "the queue's keys were found");
    let tag = format!("hive:{{{}}}:", h.name);
    for key in keys {
        assert!(key.starts_with(&tag), "{key} is outside {tag}");
    }
}

/// A wrong URL is invalid input; an unreachable server is a backend error,
/// returned promptly.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_reports_bad_urls_and_unreachable_servers() {
    let r = RedisQueue::open("redis://[not a host", QueueConfig::named("x")).await;
    assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    let port = spare_port();
    let r = tokio::time::timeout(
        Duration::from_secs(15),
        RedisQueue::open(
            &format!("redis://127.0.0.1:{port}"),
            QueueConfig::named("x"),
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
}

/// Redis dies (SIGKILL) and comes back on the same port and data: the same
/// handle reconnects by itself and every task is still there — pending ones
/// claimable, leased ones completable with the tokens handed out before the
/// crash. While Redis is down, calls fail with a backend error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn survives_a_redis_restart_without_losing_tasks() {
    let Some(mut server) = Server::start().await else {
        return;
    };
    let q = RedisQueue::open(&server.url(), QueueConfig::named("restart"))
        .await
        .expect("open");
    let ids: Vec<_> = q
        .submit_batch((0..20).map(|i| task(&format!("t{i}"))).collect())
        .await
        .expect("submit")
        .into_iter()
        .map(|s| s.id)
        .collect();
    let held = q.claim(&worker().max(5)).await.expect("claim");
    assert_eq!(held.len(), 5);

    server.kill().await;
    // A call racing the crash may wait out the command timeout (10 s);
    // once the client has seen the connection drop, calls fail at once.
    let down = tokio::time::timeout(Duration::from_secs(15), q.stats())
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
    let down = tokio::time::timeout(Duration::from_secs(15), q.claim(&worker()))
        .await
        .expect("a call while Redis is down returns");
    assert!(matches!(down, Err(Error::Backend { .. })), "{down:?}");

    server.launch().await;
    let stats = eventually(Duration::from_secs(20), || q.stats()).await;
    assert_eq!(stats.total(), 20, "{stats:?}");
    assert_eq!(stats.get(TaskStatus::Assigned), 5);
    assert_eq!(stats.get(TaskStatus::Pending), 15);
    for lease in &held {
        q.complete(lease.key(), json!("before the crash"))
            .await
            .expect("the old lease is still valid");
    }
    let mut done = held.len();
    while done < ids.len() {
        let got = q.claim(&worker().max(4)).await.expect("claim");
        assert!(!got.is_empty(), "a pending task went missing");
        for lease in got {
            q.complete(lease.key(), json!("after"))
                .await
                .expect("complete");
            done += 1;
        }
    }
    for id in ids {
        assert_eq!(q.get(id).await.expect("get").status, TaskStatus::Completed);
    }
    assert!(q.claim(&worker()).await.expect("claim").is_empty());
}

/// Redis forgets scripts (`SCRIPT FLUSH`, or a restart): the next call
/// reloads the one it needs and succeeds. Run on a private server, since
/// flushing the shared one would disturb other tests.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgotten_scripts_are_reloaded() {
    let Some(server) = Server::start().await else {
        return;
    };
    let q = RedisQueue::open(&server.url(), QueueConfig::named("flush"))
        .await
        .expect("open");
    let admin = connect(&server.url()).await.expect("connect");
    admin.script_flush(false).await.expect("SCRIPT FLUSH");
    let id = q.submit(task("t")).await.expect("submit after flush").id;
    admin.script_flush(false).await.expect("SCRIPT FLUSH");
    let lease = q
        .claim(&worker())
        .await
        .expect("claim after flush")
        .remove(0);
    assert_eq!(lease.task.id, id);
    admin.script_flush(false).await.expect("SCRIPT FLUSH");
    q.complete(lease.key(), json!(1))
        .await
        .expect("complete after flush");
    assert_eq!(q.get(id).await.expect("get").status, TaskStatus::Completed);
    let _ = admin.quit().await;
}
