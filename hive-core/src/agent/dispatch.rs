//! The per-process dispatch loop: claims tasks for the agents running in
//! this process, least loaded first, and runs each on its agent.
//!
//! Capability routing is the queue's own: every claim is made with one
//! agent's capabilities and worker id, so the queue never hands an agent a
//! task it cannot do. Load preference is ours: on every wake-up the loop
//! offers work to the local agents in the documented order — fewest running
//! tasks first, then name — one task per agent per round, so an idle agent
//! gets a new task before a busy one. Across processes there is no
//! coordination: each process offers work to its own agents as fast as it
//! can, and an agent at its concurrency limit never claims.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::Value;
use tokio::sync::Semaphore;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::behaviour::Agent;
use super::context::{AgentContext, SESSION_HEADER};
use super::orchestrator::Inner;
use super::record::AgentId;
use crate::broker::{Nack, Subscriber, SubscriberOptions, SubscriptionSpec};
use crate::queue::backoff::Backoff;
use crate::queue::worker::{Runner, TaskContext, TaskHandler};
use crate::queue::{ClaimRequest, Task, TaskFailure};
use crate::session::SessionId;
use crate::trace::TraceParent;

/// An agent running in this process.
pub(crate) struct LocalAgent {
    pub(crate) id: AgentId,
    pub(crate) name: Arc<str>,
    pub(crate) capabilities: BTreeSet<String>,
    pub(crate) agent: Arc<dyn Agent>,
    pub(crate) runner: Arc<Runner>,
    pub(crate) slots: Arc<Semaphore>,
    pub(crate) concurrency: usize,
    /// Its running attempts and its message loop.
    pub(crate) running: TaskTracker,
    /// Fired when it stops taking work (terminate, restart, shutdown).
    pub(crate) stop: CancellationToken,
    /// Restarts left under its policy.
    pub(crate) restarts_left: u32,
    pub(crate) options: super::orchestrator::SpawnOptions,
}

impl LocalAgent {
    /// Attempts running now: the load it reports.
    pub(crate) fn load(&self) -> u32 {
        let used = self
            .concurrency
            .saturating_sub(self.slots.available_permits());
        u32::try_from(used).unwrap_or(u32::MAX)
    }
}

/// Runs an agent's tasks as a queue [`TaskHandler`].
pub(crate) struct AgentTasks {
    pub(crate) agent: Arc<dyn Agent>,
    pub(crate) base: AgentContext,
}

#[async_trait]
impl TaskHandler for AgentTasks {
    async fn handle(&self, task: Task, cx: TaskContext) -> Result<Value, TaskFailure> {
        // The task's arm, if an experiment of this agent takes it: decided
        // on its first lease and kept. Without the store the task runs on
        // the label's prompt and stays out of the experiment.
        let assignment = match &self.base.services().experiments {
            Some(experiments) => experiments
                .assign(self.base.agent_name(), task.id)
                .await
                .unwrap_or_else(|e| {
                    tracing::warn!(task = %task.id, error = %e, "no experiment arm: the store failed");
                    None
                }),
            None => None,
        };
        let cx = self
            .base
            .with_cancellation(cx.cancelled)
            .for_attempt(cx.lease, cx.attempt)
            .with_assignment(assignment);
        // Every line the agent logs while it works carries the task, and
        // the caller's trace when the task was submitted with one.
        let span = tracing::info_span!(
            "task",
            task_id = %task.id,
            task_type = %task.task_type,
            attempt = task.attempts,
            agent = %self.agent.spec().name,
            trace_id = tracing::field::Empty,
            traceparent = tracing::field::Empty,
        );
        if let Some(tp) = task.traceparent.as_deref() {
            if let Ok(parsed) = tp.parse::<TraceParent>() {
                span.record("trace_id", parsed.trace_id());
            }
            span.record("traceparent", tp);
        }
        // A verifier of this task type scores the result before the task
        // completes (into the result, where its outcome reads it).
        let verify = self
            .base
            .services()
            .verifiers
            .as_ref()
            .filter(|v| v.get(&task.task_type).is_some())
            .map(|v| (v.clone(), task.clone()));
        let answer = tracing::Instrument::instrument(self.agent.process_task(task, cx), span).await;
        match (answer, verify) {
            (Ok(result), Some((verifiers, task))) => Ok(verifiers.apply(&task, result).await),
            (answer, _) => answer,
        }
    }
}

/// The claim loop; runs until the orchestrator stops.
pub(crate) async fn run(inner: Arc<Inner>) {
    let mut next_reap = tokio::time::Instant::now();
    let mut backoff = Backoff::after_failed_claim();
    loop {
        if inner.stop.is_cancelled() {
            return;
        }
        if tokio::time::Instant::now() >= next_reap {
            if let Err(e) = inner.queue.reap().await {
                tracing::warn!(error = %e, "reap failed");
            }
            next_reap = tokio::time::Instant::now() + inner.config.reap_interval;
        }
        let round = claim_round(&inner).await;
        let until_reap = next_reap.saturating_duration_since(tokio::time::Instant::now());
        match round {
            Round::Claimed => {
                backoff.reset();
            }
            Round::Idle { free } => {
                backoff.reset();
                // With free slots, new work is what we wait for; without,
                // a slot freeing (or an agent arriving) is. Either way the
                // reaper's turn ends the wait.
                tokio::select! {
                    () = inner.work.notified(), if free => {}
                    () = tokio::time::sleep(until_reap.max(Duration::from_millis(1))) => {}
                    () = inner.changed.notified() => {}
                    () = inner.stop.cancelled() => return,
                }
            }
            Round::Failed => {
                sleep_or_stop(&inner.stop, backoff.next_delay()).await;
            }
        }
    }
}

/// Waits for work on the queue and rings [`Inner::work`], once per wake-up
/// or poll interval. A task of its own so the wait is never cancelled
/// midway (a cancelled wait can swallow a wake-up meant for this process,
/// or cost a fresh connection) — only at shutdown.
pub(crate) async fn watch_for_work(inner: Arc<Inner>) {
    loop {
        let waited = tokio::select! {
            r = inner.queue.wait_for_work(inner.config.poll_interval) => r,
            () = inner.stop.cancelled() => return,
        };
        if let Err(e) = waited {
            tracing::warn!(error = %e, "waiting for work failed");
            sleep_or_stop(&inner.stop, inner.config.poll_interval).await;
        }
        inner.work.notify_one();
    }
}

enum Round {
    /// At least one task was claimed: go again at once.
    Claimed,
    /// Nothing claimed; `free` says whether any agent had a free slot.
    Idle { free: bool },
    /// The queue failed.
    Failed,
}

/// One pass over the local agents, least loaded first, claiming at most one
/// task each. An agent whose claim is narrower than one that just came back
/// empty (its capabilities a subset, its task types no wider) is skipped:
/// the queue has nothing it could take either.
async fn claim_round(inner: &Arc<Inner>) -> Round {
    // Loads are read once: they change under our feet as tasks finish on
    // other threads, and a sort whose keys move is not a total order.
    let mut agents: Vec<(u32, Arc<LocalAgent>)> = inner
        .local_agents()
        .into_iter()
        .map(|a| (a.load(), a))
        .collect();
    agents.sort_by(|(la, a), (lb, b)| la.cmp(lb).then_with(|| a.name.cmp(&b.name)));
    let mut exhausted: Vec<(BTreeSet<String>, BTreeSet<String>)> = Vec::new();
    let mut claimed = false;
    let mut free = false;
    for (_, agent) in agents {
        if agent.stop.is_cancelled() {
            continue;
        }
        let Ok(permit) = agent.slots.clone().try_acquire_owned() else {
            continue;
        };
        free = true;
        let types = &agent.runner.claim().task_types;
        if exhausted.iter().any(|(caps, wider)| {
            agent.capabilities.is_subset(caps)
                && (wider.is_empty() || (!types.is_empty() && types.is_subset(wider)))
        }) {
            continue;
        }
        let req = ClaimRequest {
            max: 1,
            ..agent.runner.claim().clone()
        };
        match inner.queue.claim(&req).await {
            Ok(mut leases) => match leases.pop() {
                Some(lease) if agent.stop.is_cancelled() => {
                    // Stopped while the claim was on its way: give the task
                    // back rather than run it on a stopping agent.
                    if let Err(e) = inner.queue.release(lease.key()).await {
                        tracing::warn!(agent = %agent.name, error = %e, "could not give back a task; its lease will expire");
                    }
                }
                Some(lease) => {
                    claimed = true;
                    let changed = inner.clone();
                    let runner = agent.runner.clone();
                    agent.running.spawn(async move {
                        runner.run_slot(lease, permit).await;
                        changed.changed.notify_one();
                    });
                }
                None => exhausted.push((agent.capabilities.clone(), types.clone())),
            },
            Err(e) => {
                tracing::warn!(agent = %agent.name, error = %e, "claim failed");
                return Round::Failed;
            }
        }
    }
    if claimed {
        Round::Claimed
    } else {
        Round::Idle { free }
    }
}

async fn sleep_or_stop(stop: &CancellationToken, pause: Duration) {
    tokio::select! {
        () = tokio::time::sleep(pause) => {}
        () = stop.cancelled() => {}
    }
}

/// Feeds an agent's inbox (its durable subscription, named after it) to its
/// message handler, one message at a time, until the agent stops. A handler
/// error has the message redelivered after a pause.
pub(crate) async fn message_loop(inner: Arc<Inner>, agent: Arc<LocalAgent>, base: AgentContext) {
    let spec = match SubscriptionSpec::agent(&agent.name) {
        Ok(spec) => spec,
        Err(e) => {
            tracing::error!(agent = %agent.name, error = %e, "cannot subscribe to the inbox");
            return;
        }
    };
    let options = SubscriberOptions {
        consumer: format!("agent-{}", agent.id),
        batch: 16,
        wait: inner.config.poll_interval.max(Duration::from_millis(50)),
        ..SubscriberOptions::default()
    };
    let mut inbox = match Subscriber::new(inner.services.broker.clone(), spec, options).await {
        Ok(s) => s,
        Err(e) => {
            tracing::error!(agent = %agent.name, error = %e, "cannot subscribe to the inbox");
            return;
        }
    };
    loop {
        let delivery = tokio::select! {
            d = inbox.next() => d,
            () = agent.stop.cancelled() => return,
        };
        let delivery = match delivery {
            Ok(d) => d,
            Err(e) => {
                tracing::error!(agent = %agent.name, error = %e, "the inbox failed");
                return;
            }
        };
        let mut cx = base.with_cancellation(agent.stop.child_token());
        if let Some(session) = delivery
            .message
            .headers
            .get(SESSION_HEADER)
            .and_then(|s| s.parse::<SessionId>().ok())
        {
            cx = cx.in_session(session);
        }
        let answer = match agent.agent.on_message(delivery.clone(), cx).await {
            Ok(()) => inbox.ack(&delivery).await,
            Err(failure) => {
                tracing::info!(agent = %agent.name, error = %failure.error, "message handler failed; redelivering later");
                inbox
                    .nack(
                        &delivery,
                        Nack::Retry {
                            after: Duration::from_secs(1),
                        },
                    )
                    .await
            }
        };
        if let Err(e) = answer {
            tracing::warn!(agent = %agent.name, error = %e, "could not answer a delivery; it will be redelivered");
        }
    }
}
