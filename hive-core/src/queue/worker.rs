//! The worker loop: claims tasks, runs a handler on each with a concurrency
//! limit, keeps leases alive, enforces the hard timeout, and shuts down
//! gracefully.
//!
//! The loop owns no state the queue does not also hold: if the process dies,
//! every lease it held simply expires and the tasks are redelivered. That is
//! why a completion that fails to reach the queue is retried a few times and
//! then left to lease expiry, never recorded anywhere else.

use std::collections::BTreeSet;
use std::future::Future;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::backoff::Backoff;
use super::{ClaimRequest, Lease, LeaseKey, Queue, Task, TaskFailure, WorkerId};
use crate::error::Error;

/// What a handler is given besides the task.
#[derive(Clone, Debug)]
pub struct TaskContext {
    /// The attempt's lease.
    pub lease: LeaseKey,
    /// Which attempt this is (1-based).
    pub attempt: u32,
    /// Fires when the attempt should stop: the task was cancelled, its lease
    /// went stale, or the worker is shutting down past its grace period.
    /// Handlers doing long work should watch it.
    pub cancelled: CancellationToken,
}

/// Runs tasks. Implemented for closures by [`handler_fn`].
#[async_trait]
pub trait TaskHandler: Send + Sync + 'static {
    /// Runs one attempt. `Ok` completes the task with that result; `Err`
    /// fails the attempt (retried or dead-lettered per the queue's policy).
    async fn handle(&self, task: Task, cx: TaskContext) -> Result<serde_json::Value, TaskFailure>;
}

/// A [`TaskHandler`] from an async closure.
pub struct HandlerFn<F>(F);

/// Wraps an async closure as a [`TaskHandler`].
///
/// ```
/// use hive_core::queue::worker::handler_fn;
/// let echo = handler_fn(|task, _cx| async move { Ok(task.payload) });
/// # let _ = echo;
/// ```
pub fn handler_fn<F, Fut>(f: F) -> HandlerFn<F>
where
    F: Fn(Task, TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<serde_json::Value, TaskFailure>> + Send + 'static,
{
    HandlerFn(f)
}

#[async_trait]
impl<F, Fut> TaskHandler for HandlerFn<F>
where
    F: Fn(Task, TaskContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<serde_json::Value, TaskFailure>> + Send + 'static,
{
    async fn handle(&self, task: Task, cx: TaskContext) -> Result<serde_json::Value, TaskFailure> {
        (self.0)(task, cx).await
    }
}

/// How a worker behaves. Defaults are documented per field.
#[derive(Clone, Debug)]
pub struct WorkerConfig {
    /// Capabilities this worker offers; it only claims tasks needing a subset.
    /// Default: none.
    pub capabilities: BTreeSet<String>,
    /// Tasks run at once. Default 10.
    pub concurrency: usize,
    /// Lease length asked for; `None` uses the queue's. Default `None`.
    pub lease: Option<Duration>,
    /// Longest wait for new work before claiming again (the polling fallback
    /// when no wake-up arrives). Default 500 ms.
    pub poll_interval: Duration,
    /// How often this worker runs [`Queue::reap`]. Default 1 s.
    pub reap_interval: Duration,
    /// How long shutdown waits for running handlers before cancelling them
    /// and releasing their leases. Default 30 s.
    pub shutdown_grace: Duration,
    /// Prefix of the random worker id. Default `"worker"`.
    pub name: String,
}

impl Default for WorkerConfig {
    fn default() -> Self {
        WorkerConfig {
            capabilities: BTreeSet::new(),
            concurrency: 10,
            lease: None,
            poll_interval: Duration::from_millis(500),
            reap_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
            name: "worker".into(),
        }
    }
}

/// What a worker did, reported when it stops.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct WorkerReport {
    /// Attempts that completed.
    pub completed: u64,
    /// Attempts that failed (handler error, panic or timeout).
    pub failed: u64,
    /// Leases given back at shutdown.
    pub released: u64,
    /// Answers the queue refused as stale (the task had moved on).
    pub stale: u64,
}

#[derive(Default)]
struct Counters {
    completed: AtomicU64,
    failed: AtomicU64,
    released: AtomicU64,
    stale: AtomicU64,
}

impl Counters {
    fn report(&self) -> WorkerReport {
        WorkerReport {
            completed: self.completed.load(Ordering::Relaxed),
            failed: self.failed.load(Ordering::Relaxed),
            released: self.released.load(Ordering::Relaxed),
            stale: self.stale.load(Ordering::Relaxed),
        }
    }
}

/// A worker that has not started yet.
pub struct Worker {
    queue: Arc<dyn Queue>,
    handler: Arc<dyn TaskHandler>,
    config: WorkerConfig,
    id: WorkerId,
}

/// A running worker.
pub struct WorkerHandle {
    id: WorkerId,
    stop: CancellationToken,
    join: tokio::task::JoinHandle<WorkerReport>,
}

impl Worker {
    /// A worker for `queue` running `handler`.
    pub fn new(queue: Arc<dyn Queue>, handler: impl TaskHandler, config: WorkerConfig) -> Self {
        let id = WorkerId::random(&config.name);
        Worker {
            queue,
            handler: Arc::new(handler),
            config,
            id,
        }
    }

    /// This worker's random id.
    pub fn id(&self) -> &WorkerId {
        &self.id
    }

    /// Starts the loop on the current Tokio runtime.
    pub fn spawn(self) -> WorkerHandle {
        let stop = CancellationToken::new();
        let id = self.id.clone();
        let join = tokio::spawn(self.run(stop.clone()));
        WorkerHandle { id, stop, join }
    }

    async fn run(self, stop: CancellationToken) -> WorkerReport {
        let shared = Runner::new(
            self.queue,
            self.handler,
            ClaimRequest {
                worker: self.id.clone(),
                capabilities: self.config.capabilities.clone(),
                task_types: Default::default(),
                max: 1,
                lease: self.config.lease,
            },
            stop.clone(),
        );
        let slots = Arc::new(Semaphore::new(self.config.concurrency.max(1)));
        let running = TaskTracker::new();
        let mut next_reap = tokio::time::Instant::now();
        let mut backoff = Backoff::after_failed_claim();
        tracing::debug!(worker = %self.id, "worker started");
        loop {
            if tokio::time::Instant::now() >= next_reap {
                if let Err(e) = shared.queue.reap().await {
                    tracing::warn!(worker = %self.id, error = %e, "reap failed");
                }
                next_reap = tokio::time::Instant::now() + self.config.reap_interval;
            }
            let first = tokio::select! {
                permit = slots.clone().acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => break,
                },
                () = stop.cancelled() => break,
            };
            let mut permits = vec![first];
            while let Ok(p) = slots.clone().try_acquire_owned() {
                permits.push(p);
            }
            let req = ClaimRequest {
                max: permits.len(),
                ..shared.claim.clone()
            };
            match shared.queue.claim(&req).await {
                Ok(leases) if leases.is_empty() => {
                    backoff.reset();
                    drop(permits);
                    let wait = self
                        .config
                        .poll_interval
                        .min(next_reap.saturating_duration_since(tokio::time::Instant::now()));
                    tokio::select! {
                        r = shared.queue.wait_for_work(wait.max(Duration::from_millis(1))) => {
                            if let Err(e) = r {
                                tracing::warn!(worker = %self.id, error = %e, "waiting for work failed");
                                tokio::time::sleep(self.config.poll_interval).await;
                            }
                        }
                        () = stop.cancelled() => break,
                    }
                }
                Ok(leases) => {
                    backoff.reset();
                    for (lease, permit) in leases.into_iter().zip(permits.drain(..)) {
                        running.spawn(shared.clone().run_slot(lease, permit));
                    }
                }
                Err(e) => {
                    // The backend is down or overloaded: keep retrying, slower
                    // each time, until it answers or we are told to stop.
                    drop(permits);
                    let pause = backoff.next_delay();
                    tracing::warn!(worker = %self.id, error = %e, retry_in = ?pause, "claim failed");
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = stop.cancelled() => break,
                    }
                }
            }
        }
        running.close();
        if tokio::time::timeout(self.config.shutdown_grace, running.wait())
            .await
            .is_err()
        {
            tracing::info!(worker = %self.id, "grace period over: cancelling running tasks");
            shared.abort();
            running.wait().await;
        }
        tracing::debug!(worker = %self.id, "worker stopped");
        shared.report()
    }
}

impl WorkerHandle {
    /// The worker's id.
    pub fn id(&self) -> &WorkerId {
        &self.id
    }

    /// Stops claiming, lets running tasks finish (up to the grace period, then
    /// releases their leases), and reports.
    pub async fn shutdown(self) -> WorkerReport {
        self.stop.cancel();
        self.join.await.unwrap_or_default()
    }
}

/// The task an attempt ran, as an [`AttemptObserver`] is told of it.
#[derive(Clone, Debug)]
pub(crate) struct AttemptInfo {
    pub id: super::TaskId,
    pub task_type: String,
    pub created_at: chrono::DateTime<chrono::Utc>,
    /// When this attempt started (the claim).
    pub started_at: chrono::DateTime<chrono::Utc>,
    /// This attempt's number (1-based).
    pub attempt: u32,
}

impl AttemptInfo {
    fn of(task: &Task) -> Self {
        AttemptInfo {
            id: task.id,
            task_type: task.task_type.clone(),
            created_at: task.created_at,
            started_at: task.started_at.unwrap_or_else(chrono::Utc::now),
            attempt: task.attempts,
        }
    }
}

/// How an attempt ended, once the queue accepted the answer.
#[derive(Debug)]
pub(crate) enum AttemptEnd<'a> {
    /// The task completed with this result.
    Completed(&'a serde_json::Value),
    /// The attempt failed and the task will be tried again.
    Retrying,
    /// The attempt failed and the task was dead-lettered.
    DeadLettered,
}

/// Told of every attempt a [`Runner`] answered, after the queue accepted
/// the answer (never for an attempt whose lease went stale, nor one given
/// back at shutdown). Called on the runner's task: it must not block.
pub(crate) trait AttemptObserver: Send + Sync {
    /// `task`'s attempt ended as `end`.
    fn ended(&self, task: &AttemptInfo, end: AttemptEnd<'_>);
}

/// Runs claimed attempts for one claimant (a [`Worker`], or an agent of the
/// agent dispatcher): heartbeats, the hard timeout, panic capture, the answer
/// to the queue and `complete_and_claim` chaining. What every running slot
/// needs.
pub(crate) struct Runner {
    queue: Arc<dyn Queue>,
    handler: Arc<dyn TaskHandler>,
    claim: ClaimRequest,
    counters: Counters,
    /// Fired when the shutdown grace period is over.
    abort: CancellationToken,
    /// Fired when shutdown starts: slots stop taking new work.
    stop: CancellationToken,
    /// Told how each answered attempt ended.
    observer: Option<Arc<dyn AttemptObserver>>,
}

/// How one attempt ended, from the worker's side.
enum Outcome {
    Done(serde_json::Value),
    Failed(TaskFailure),
    /// The lease went stale mid-run (cancelled, redelivered): say nothing.
    Abandoned,
    /// Shutdown's grace period ran out: give the lease back.
    Interrupted,
}

impl Runner {
    /// A runner claiming with `claim` (its worker id and capabilities); it
    /// stops chaining new work once `stop` fires.
    pub(crate) fn new(
        queue: Arc<dyn Queue>,
        handler: Arc<dyn TaskHandler>,
        claim: ClaimRequest,
        stop: CancellationToken,
    ) -> Arc<Self> {
        Self::observed(queue, handler, claim, stop, None)
    }

    /// As [`Runner::new`], telling `observer` how each answered attempt
    /// ended.
    pub(crate) fn observed(
        queue: Arc<dyn Queue>,
        handler: Arc<dyn TaskHandler>,
        claim: ClaimRequest,
        stop: CancellationToken,
        observer: Option<Arc<dyn AttemptObserver>>,
    ) -> Arc<Self> {
        Arc::new(Runner {
            queue,
            handler,
            claim,
            counters: Counters::default(),
            abort: CancellationToken::new(),
            stop,
            observer,
        })
    }

    /// The claim this runner makes (worker id, capabilities, lease).
    pub(crate) fn claim(&self) -> &ClaimRequest {
        &self.claim
    }

    /// Cancels every running attempt; their leases are given back.
    pub(crate) fn abort(&self) {
        self.abort.cancel();
    }

    /// What the runner did so far.
    pub(crate) fn report(&self) -> WorkerReport {
        self.counters.report()
    }

    /// Runs leases one after another in one concurrency slot: after a success
    /// it completes and claims the next task in one call.
    pub(crate) async fn run_slot(self: Arc<Self>, mut lease: Lease, _permit: OwnedSemaphorePermit) {
        loop {
            let key = lease.key();
            let info = self.observer.as_ref().map(|_| AttemptInfo::of(&lease.task));
            match self.run_attempt(lease).await {
                Outcome::Done(value) if !self.stop.is_cancelled() => {
                    let next = ClaimRequest {
                        max: 1,
                        ..self.claim.clone()
                    };
                    match self
                        .queue
                        .complete_and_claim(key, value.clone(), &next)
                        .await
                    {
                        Ok(mut more) => {
                            self.counters.completed.fetch_add(1, Ordering::Relaxed);
                            self.tell(info.as_ref(), AttemptEnd::Completed(&value));
                            match more.pop() {
                                Some(l) => lease = l,
                                None => return,
                            }
                        }
                        Err(e) => {
                            self.answer(key, info.as_ref(), Outcome::Done(value), Some(e))
                                .await;
                            return;
                        }
                    }
                }
                outcome => {
                    self.answer(key, info.as_ref(), outcome, None).await;
                    return;
                }
            }
        }
    }

    /// Runs the handler with heartbeats, the hard timeout and panic capture.
    async fn run_attempt(&self, lease: Lease) -> Outcome {
        let key = lease.key();
        let cancelled = self.abort.child_token();
        let cx = TaskContext {
            lease: key,
            attempt: lease.task.attempts,
            cancelled: cancelled.clone(),
        };
        let budget = (lease.deadline - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        let lease_len = (lease.expires_at - chrono::Utc::now())
            .to_std()
            .unwrap_or(Duration::ZERO);
        let timeout = lease.task.timeout;
        let handler = self.handler.clone();
        let mut run = tokio::spawn(handler.handle_owned(lease.task, cx));
        let stale = CancellationToken::new();
        let beat = tokio::spawn(heartbeat(self.queue.clone(), key, lease_len, stale.clone()));
        let outcome = tokio::select! {
            joined = &mut run => match joined {
                Ok(Ok(value)) => Outcome::Done(value),
                Ok(Err(failure)) => Outcome::Failed(failure),
                Err(e) => Outcome::Failed(TaskFailure::retryable(panic_message(e))),
            },
            () = tokio::time::sleep(budget) => {
                run.abort();
                Outcome::Failed(TaskFailure::retryable(format!("timed out after {timeout:?}")))
            }
            () = stale.cancelled() => { run.abort(); Outcome::Abandoned }
            () = cancelled.cancelled() => { run.abort(); Outcome::Interrupted }
        };
        beat.abort();
        outcome
    }

    /// Tells the observer, if any, how an answered attempt ended.
    fn tell(&self, info: Option<&AttemptInfo>, end: AttemptEnd<'_>) {
        if let (Some(observer), Some(info)) = (&self.observer, info) {
            observer.ended(info, end);
        }
    }

    /// Tells the queue how the attempt ended (and then the observer).
    /// Transient errors are retried a few times; after that the lease
    /// expires and the task is redelivered.
    async fn answer(
        &self,
        key: LeaseKey,
        info: Option<&AttemptInfo>,
        outcome: Outcome,
        first_error: Option<Error>,
    ) {
        let mut last = first_error;
        for attempt in 0..4u32 {
            if let Some(e) = &last {
                match e {
                    Error::StaleLease { reason, .. } => {
                        tracing::info!(task = %key.task_id, %reason, "the queue refused a late answer");
                        self.counters.stale.fetch_add(1, Ordering::Relaxed);
                        return;
                    }
                    e if e.is_transient() => {
                        tokio::time::sleep(Duration::from_millis(100) * 2u32.pow(attempt)).await;
                    }
                    e => {
                        tracing::error!(task = %key.task_id, error = %e, "the queue rejected an answer");
                        return;
                    }
                }
            }
            let sent = match &outcome {
                Outcome::Done(v) => self.queue.complete(key, v.clone()).await.map(|()| {
                    self.tell(info, AttemptEnd::Completed(v));
                    &self.counters.completed
                }),
                Outcome::Failed(f) => self.queue.fail(key, f.clone()).await.map(|ended| {
                    self.tell(
                        info,
                        match ended {
                            super::FailOutcome::Retrying { .. } => AttemptEnd::Retrying,
                            super::FailOutcome::DeadLettered => AttemptEnd::DeadLettered,
                        },
                    );
                    &self.counters.failed
                }),
                Outcome::Interrupted => self
                    .queue
                    .release(key)
                    .await
                    .map(|()| &self.counters.released),
                Outcome::Abandoned => return,
            };
            match sent {
                Ok(counter) => {
                    counter.fetch_add(1, Ordering::Relaxed);
                    return;
                }
                Err(e) => last = Some(e),
            }
        }
        if let Some(e) = last {
            tracing::warn!(task = %key.task_id, error = %e, "gave up answering; the lease will expire");
        }
    }
}

/// Renews the lease at a third of its length; fires `stale` when the queue
/// says the attempt is no longer ours.
async fn heartbeat(
    queue: Arc<dyn Queue>,
    key: LeaseKey,
    lease: Duration,
    stale: CancellationToken,
) {
    let every = (lease / 3).max(Duration::from_millis(5));
    loop {
        tokio::time::sleep(every).await;
        match queue.heartbeat(key).await {
            Ok(_) => {}
            Err(Error::StaleLease { reason, .. }) => {
                tracing::info!(task = %key.task_id, %reason, "lease lost; stopping the handler");
                stale.cancel();
                return;
            }
            Err(Error::NotFound { .. }) => {
                stale.cancel();
                return;
            }
            Err(e) => {
                tracing::warn!(task = %key.task_id, error = %e, "heartbeat failed; will retry")
            }
        }
    }
}

fn panic_message(e: tokio::task::JoinError) -> String {
    match e.try_into_panic() {
        Ok(payload) => {
            let text = payload
                .downcast_ref::<&str>()
                .map(|s| (*s).to_string())
                .or_else(|| payload.downcast_ref::<String>().cloned())
                .unwrap_or_else(|| "(no message)".into());
            format!("handler panicked: {text}")
        }
        Err(e) => format!("handler did not finish: {e}"),
    }
}

/// Lets a handler run on its own task (so a panic is caught, not spread).
trait HandleOwned {
    fn handle_owned(
        self,
        task: Task,
        cx: TaskContext,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<serde_json::Value, TaskFailure>> + Send>>;
}

impl HandleOwned for Arc<dyn TaskHandler> {
    fn handle_owned(
        self,
        task: Task,
        cx: TaskContext,
    ) -> std::pin::Pin<Box<dyn Future<Output = Result<serde_json::Value, TaskFailure>> + Send>>
    {
        Box::pin(async move { self.handle(task, cx).await })
    }
}
