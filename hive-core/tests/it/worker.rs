//! The worker loop, on the embedded backend: what it runs, in what order,
//! how many at once, and how it fails, times out, cancels and shuts down.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use async_trait::async_trait;
use hive_core::queue::sqlite::SqliteQueue;
use hive_core::queue::worker::{handler_fn, Worker, WorkerConfig};
use hive_core::queue::{
    ClaimRequest, FailOutcome, Lease, LeaseKey, LeaseRenewal, NewTask, PurgeReport, Queue,
    QueueConfig, QueueExt, QueueStats, ReapReport, RetryPolicy, Submitted, Task, TaskAttempt,
    TaskFailure, TaskFilter, TaskId, TaskStatus, WorkerId,
};
use hive_core::{Error, Result};
use serde_json::json;

async fn queue(config: QueueConfig) -> Arc<dyn Queue> {
    Arc::new(
        SqliteQueue::open("sqlite::memory:", config)
            .await
            .expect("open"),
    )
}

fn fast_retries() -> QueueConfig {
    QueueConfig {
        retry: RetryPolicy {
            base: Duration::from_millis(20),
            cap: Duration::from_millis(20),
            jitter: 0.0,
        },
        ..QueueConfig::default()
    }
}

fn quick() -> WorkerConfig {
    WorkerConfig {
        poll_interval: Duration::from_millis(20),
        reap_interval: Duration::from_millis(50),
        ..WorkerConfig::default()
    }
}

#[tokio::test]
async fn runs_a_dag_in_dependency_order() {
    let q = queue(QueueConfig::default()).await;
    let log = Arc::new(Mutex::new(Vec::new()));
    let seen = log.clone();
    let worker = Worker::new(
        q.clone(),
        handler_fn(move |task, _cx| {
            let seen = seen.clone();
            async move {
                seen.lock().expect("log").push(task.task_type.clone());
                Ok(json!({ "did": task.task_type }))
            }
        }),
        quick(),
    )
    .spawn();
    let fetch = NewTask::new("fetch", json!({}));
    let parse = NewTask::new("parse", json!({})).depends_on([fetch.id()]);
    let index = NewTask::new("index", json!({})).depends_on([fetch.id()]);
    let report = NewTask::new("report", json!({})).depends_on([parse.id(), index.id()]);
    let last = report.id();
    q.submit_batch(vec![report, index, parse, fetch])
        .await
        .expect("submit");
    let done = q
        .wait_until_final(last, Duration::from_secs(10))
        .await
        .expect("final");
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.result, Some(json!({"did": "report"})));
    let order = log.lock().expect("log").clone();
    assert_eq!(order.first().map(String::as_str), Some("fetch"));
    assert_eq!(order.last().map(String::as_str), Some("report"));
    assert_eq!(order.len(), 4);
    let report = worker.shutdown().await;
    assert_eq!(report.completed, 4);
}

#[tokio::test]
async fn never_runs_more_than_its_concurrency() {
    let q = queue(QueueConfig::default()).await;
    let now = Arc::new(AtomicUsize::new(0));
    let peak = Arc::new(AtomicUsize::new(0));
    let (n, p) = (now.clone(), peak.clone());
    let worker = Worker::new(
        q.clone(),
        handler_fn(move |_task, _cx| {
            let (n, p) = (n.clone(), p.clone());
            async move {
                let running = n.fetch_add(1, Ordering::SeqCst) + 1;
                p.fetch_max(running, Ordering::SeqCst);
                tokio::time::sleep(Duration::from_millis(30)).await;
                n.fetch_sub(1, Ordering::SeqCst);
                Ok(json!(null))
            }
        }),
        WorkerConfig {
            concurrency: 4,
            ..quick()
        },
    )
    .spawn();
    let subs = q
        .submit_batch((0..24).map(|i| NewTask::new("t", json!(i))).collect())
        .await
        .expect("submit");
    for s in &subs {
        q.wait_until_final(s.id, Duration::from_secs(20))
            .await
            .expect("final");
    }
    assert_eq!(worker.shutdown().await.completed, 24);
    assert_eq!(peak.load(Ordering::SeqCst), 4, "runs 4 at once, never more");
}

#[tokio::test]
async fn failures_are_retried_then_dead_lettered_and_panics_are_caught() {
    let q = queue(fast_retries()).await;
    let calls = Arc::new(AtomicUsize::new(0));
    let c = calls.clone();
    let worker = Worker::new(
        q.clone(),
        handler_fn(move |task, cx| {
            let c = c.clone();
            async move {
                c.fetch_add(1, Ordering::SeqCst);
                match task.task_type.as_str() {
                    "flaky" if cx.attempt < 2 => Err(TaskFailure::retryable("not yet")),
                    "flaky" => Ok(json!("second time lucky")),
                    "panics" => panic!("handler bug"),
                    _ => Err(TaskFailure::retryable("always broken")),
                }
            }
        }),
        quick(),
    )
    .spawn();
    let flaky = q
        .submit(NewTask::new("flaky", json!({})))
        .await
        .expect("submit")
        .id;
    let broken = q
        .submit(NewTask::new("broken", json!({})).max_attempts(3))
        .await
        .expect("submit")
        .id;
    let panics = q
        .submit(NewTask::new("panics", json!({})).max_attempts(1))
        .await
        .expect("submit")
        .id;
    let t = q
        .wait_until_final(flaky, Duration::from_secs(10))
        .await
        .expect("final");
    assert_eq!((t.status, t.attempts), (TaskStatus::Completed, 2));
    let t = q
        .wait_until_final(broken, Duration::from_secs(10))
        .await
        .expect("final");
    assert_eq!((t.status, t.attempts), (TaskStatus::DeadLettered, 3));
    assert_eq!(t.error.as_deref(), Some("always broken"));
    let t = q
        .wait_until_final(panics, Duration::from_secs(10))
        .await
        .expect("final");
    assert_eq!(t.status, TaskStatus::DeadLettered);
    assert!(
        t.error
            .as_deref()
            .unwrap_or("")
            .contains("handler panicked: handler bug"),
        "{:?}",
        t.error
    );
    let report = worker.shutdown().await;
    assert_eq!(report.completed, 1);
    assert_eq!(report.failed, 1 + 3 + 1);
    assert_eq!(calls.load(Ordering::SeqCst), 2 + 3 + 1);
}

#[tokio::test]
async fn a_hung_handler_is_stopped_at_its_timeout() {
    let q = queue(fast_retries()).await;
    let worker = Worker::new(
        q.clone(),
        handler_fn(|_task, _cx| async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok(json!("never"))
        }),
        quick(),
    )
    .spawn();
    let id = q
        .submit(
            NewTask::new("hangs", json!({}))
                .timeout(Duration::from_millis(200))
                .max_attempts(1),
        )
        .await
        .expect("submit")
        .id;
    let t = q
        .wait_until_final(id, Duration::from_secs(10))
        .await
        .expect("final");
    assert_eq!(t.status, TaskStatus::DeadLettered);
    let error = t.error.unwrap_or_default();
    assert!(
        error.contains("timed out") || error.contains("deadline"),
        "{error}"
    );
    worker.shutdown().await;
}

#[tokio::test]
async fn shutdown_waits_for_running_tasks_then_releases_the_rest() {
    let q = queue(QueueConfig::default()).await;
    let started = Arc::new(tokio::sync::Notify::new());
    let s = started.clone();
    let handler = move |ms: u64| {
        let s = s.clone();
        handler_fn(move |_task, _cx| {
            let s = s.clone();
            async move {
                s.notify_one();
                tokio::time::sleep(Duration::from_millis(ms)).await;
                Ok(json!("finished"))
            }
        })
    };
    // Enough grace: the running task finishes and is completed.
    let id = q
        .submit(NewTask::new("short", json!({})))
        .await
        .expect("submit")
        .id;
    let w = Worker::new(
        q.clone(),
        handler(200),
        WorkerConfig {
            shutdown_grace: Duration::from_secs(10),
            ..quick()
        },
    )
    .spawn();
    started.notified().await;
    let report = w.shutdown().await;
    assert_eq!(report.completed, 1);
    assert_eq!(q.get(id).await.expect("get").status, TaskStatus::Completed);

    // Too little grace: the lease is given back, uncounted, for another worker.
    let id = q
        .submit(NewTask::new("long", json!({})))
        .await
        .expect("submit")
        .id;
    let w = Worker::new(
        q.clone(),
        handler(60_000),
        WorkerConfig {
            shutdown_grace: Duration::from_millis(100),
            ..quick()
        },
    )
    .spawn();
    started.notified().await;
    let report = w.shutdown().await;
    assert_eq!(report.released, 1);
    let t = q.get(id).await.expect("get");
    assert_eq!((t.status, t.attempts), (TaskStatus::Pending, 0));
    assert_eq!(
        q.stats().await.expect("stats").get(TaskStatus::Assigned),
        0,
        "no task is left leased"
    );
}

#[tokio::test]
async fn cancelling_a_running_task_stops_its_handler() {
    let q = queue(QueueConfig {
        lease: Duration::from_millis(150),
        ..QueueConfig::default()
    })
    .await;
    let stopped = Arc::new(tokio::sync::Notify::new());
    let started = Arc::new(tokio::sync::Notify::new());
    let (st, sp) = (started.clone(), stopped.clone());
    let worker = Worker::new(
        q.clone(),
        handler_fn(move |_task, cx| {
            let (st, sp) = (st.clone(), sp.clone());
            async move {
                st.notify_one();
                // A polite handler watches its token; the worker also aborts it.
                let _guard = DropNotify(sp);
                cx.cancelled.cancelled().await;
                Ok(json!("stopped"))
            }
        }),
        quick(),
    )
    .spawn();
    let id = q
        .submit(NewTask::new("long", json!({})))
        .await
        .expect("submit")
        .id;
    started.notified().await;
    q.cancel(id).await.expect("cancel");
    tokio::time::timeout(Duration::from_secs(5), stopped.notified())
        .await
        .expect("the handler was stopped");
    assert_eq!(q.get(id).await.expect("get").status, TaskStatus::Cancelled);
    worker.shutdown().await;
}

struct DropNotify(Arc<tokio::sync::Notify>);
impl Drop for DropNotify {
    fn drop(&mut self) {
        self.0.notify_one();
    }
}

/// A queue whose first claims fail as if the backend were down.
#[derive(Debug)]
struct Outage {
    inner: Arc<dyn Queue>,
    failures_left: AtomicUsize,
}

#[async_trait]
impl Queue for Outage {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }
    fn config(&self) -> &QueueConfig {
        self.inner.config()
    }
    async fn submit_batch(&self, tasks: Vec<NewTask>) -> Result<Vec<Submitted>> {
        self.inner.submit_batch(tasks).await
    }
    async fn get(&self, id: TaskId) -> Result<Task> {
        self.inner.get(id).await
    }
    async fn claim(&self, req: &ClaimRequest) -> Result<Vec<Lease>> {
        let left = self.failures_left.load(Ordering::SeqCst);
        if left > 0 {
            self.failures_left.store(left - 1, Ordering::SeqCst);
            return Err(Error::backend("outage", "connection refused"));
        }
        self.inner.claim(req).await
    }
    async fn heartbeat(&self, lease: LeaseKey) -> Result<LeaseRenewal> {
        self.inner.heartbeat(lease).await
    }
    async fn complete(&self, lease: LeaseKey, result: serde_json::Value) -> Result<()> {
        self.inner.complete(lease, result).await
    }
    async fn fail(&self, lease: LeaseKey, failure: TaskFailure) -> Result<FailOutcome> {
        self.inner.fail(lease, failure).await
    }
    async fn release(&self, lease: LeaseKey) -> Result<()> {
        self.inner.release(lease).await
    }
    async fn cancel(&self, id: TaskId) -> Result<Task> {
        self.inner.cancel(id).await
    }
    async fn reap(&self) -> Result<ReapReport> {
        self.inner.reap().await
    }
    async fn expire_worker(&self, worker: &WorkerId) -> Result<u64> {
        self.inner.expire_worker(worker).await
    }
    async fn stats(&self) -> Result<QueueStats> {
        self.inner.stats().await
    }
    async fn attempts(&self, id: TaskId) -> Result<Vec<TaskAttempt>> {
        self.inner.attempts(id).await
    }
    async fn dead_letters(&self, limit: usize, offset: usize) -> Result<Vec<Task>> {
        self.inner.dead_letters(limit, offset).await
    }
    async fn list(&self, filter: &TaskFilter) -> Result<Vec<Task>> {
        self.inner.list(filter).await
    }
    async fn retry_dead_letter(&self, id: TaskId) -> Result<Task> {
        self.inner.retry_dead_letter(id).await
    }
    async fn purge_dead_letters(&self, ids: Option<&[TaskId]>) -> Result<u64> {
        self.inner.purge_dead_letters(ids).await
    }
    async fn purge_expired(
        &self,
        now: chrono::DateTime<chrono::Utc>,
        limit: usize,
    ) -> Result<PurgeReport> {
        self.inner.purge_expired(now, limit).await
    }
    async fn wait_for_work(&self, timeout: Duration) -> Result<()> {
        self.inner.wait_for_work(timeout).await
    }
}

#[tokio::test]
async fn keeps_retrying_while_the_backend_is_down() {
    let inner = queue(QueueConfig::default()).await;
    let q: Arc<dyn Queue> = Arc::new(Outage {
        inner: inner.clone(),
        failures_left: AtomicUsize::new(4),
    });
    let id = q
        .submit(NewTask::new("t", json!({})))
        .await
        .expect("submit")
        .id;
    let worker = Worker::new(
        q.clone(),
        handler_fn(|_t, _cx| async { Ok(json!("ok")) }),
        quick(),
    )
    .spawn();
    let t = q
        .wait_until_final(id, Duration::from_secs(20))
        .await
        .expect("final");
    assert_eq!(
        t.status,
        TaskStatus::Completed,
        "the worker got through once the backend was back"
    );
    worker.shutdown().await;
}
