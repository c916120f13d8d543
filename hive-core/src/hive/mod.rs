//! The [`Hive`] facade: one value that wires the queue, the broker, the
//! agent registry, the sessions, the context engine and the orchestrator
//! together — from the embedded default (one SQLite file) or from Redis and
//! Postgres URLs — and shuts them all down in order.
//!
//! ```
//! use hive_core::agent::agent_fn;
//! use hive_core::queue::{NewTask, QueueExt};
//! use hive_core::Hive;
//! use serde_json::json;
//! use std::time::Duration;
//!
//! # #[tokio::main(flavor = "current_thread")]
//! # async fn main() -> hive_core::Result<()> {
//! let hive = Hive::builder().memory().without_context().build().await?;
//! hive.spawn_agent(agent_fn("echo", ["echo"], |task, _cx| async move { Ok(task.payload) }))
//!     .await?;
//! let task = hive.submit(NewTask::new("echo", json!({"hi": 1})).requires(["echo"])).await?;
//! let done = hive.queue().wait_until_final(task.id, Duration::from_secs(10)).await?;
//! assert_eq!(done.result, Some(json!({"hi": 1})));
//! hive.shutdown().await;
//! # Ok(()) }
//! ```

mod builder;
mod experiments;
#[cfg(all(test, not(all(feature = "redis", feature = "postgres"))))]
mod left_out;
mod retention;

use std::sync::Arc;

pub use builder::HiveBuilder;

use crate::agent::{
    Agent, AgentHandle, AgentId, AgentOrchestrator, AgentRegistry, RemoteClaim, SpawnOptions,
    StopReport, Waiting,
};
use crate::broker::Broker;
use crate::context::ContextEngine;
use crate::error::{Error, Result};
use crate::events::EventHub;
use crate::experiment::Experiments;
use crate::meta::{MetaAgent, MetaContext, Proposal, ProposalId, ProposalStore, RunReport};
use crate::outcome::{GroupBy, Metrics, Outcome, OutcomeFilter, OutcomeRecorder, OutcomeStore};
use crate::prompt::{Label, MoveLabel, PromptRegistry};
use crate::queue::{Lease, NewTask, Queue, Submitted, SubmittedTask, TaskAttempt, TaskId};
use crate::session::{NewSession, Session, SessionStore};
use retention::RetentionLoop;
pub use retention::RetentionReport;

/// One attempt of a task with the name of the agent that made it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct NamedAttempt {
    /// The attempt as the queue keeps it.
    pub attempt: TaskAttempt,
    /// The name of the agent behind `attempt.worker`; `None` for a plain
    /// worker or an agent the registry no longer knows.
    pub agent_name: Option<String>,
}

/// A running hive: storage, agents and the loops that drive them.
#[derive(Debug)]
pub struct Hive {
    queue: Arc<dyn Queue>,
    broker: Arc<dyn Broker>,
    registry: Arc<dyn AgentRegistry>,
    sessions: Arc<dyn SessionStore>,
    context: Option<Arc<ContextEngine>>,
    outcomes: OutcomeRecorder,
    prompts: Arc<dyn PromptRegistry>,
    experiments: Arc<Experiments>,
    proposals: Arc<dyn ProposalStore>,
    verifiers: Arc<crate::verify::Verifiers>,
    experiment_loop: experiments::ExperimentLoop,
    orchestrator: AgentOrchestrator,
    events: EventHub,
    retention: RetentionLoop,
    retention_interval: std::time::Duration,
    #[cfg(feature = "selfmod")]
    changes: Arc<crate::selfmod::SelfModifier>,
    /// Set once this process runs the self-modifier's agent.
    #[cfg(feature = "selfmod")]
    change_agent: tokio::sync::OnceCell<()>,
}

impl Hive {
    /// Starts configuring a hive (embedded default: `./hive.db`).
    pub fn builder() -> HiveBuilder {
        HiveBuilder::default()
    }

    /// A hive on the embedded default at `path`, with the defaults.
    ///
    /// # Errors
    /// As [`HiveBuilder::build`].
    pub async fn embedded(path: impl AsRef<std::path::Path>) -> Result<Hive> {
        Self::builder().embedded(path).build().await
    }

    /// Submits a task.
    ///
    /// # Errors
    /// As [`Queue::submit_batch`].
    pub async fn submit(&self, task: NewTask) -> Result<Submitted> {
        let mut done = self.queue.submit_batch(vec![task]).await?;
        done.pop()
            .ok_or_else(|| Error::invalid("the queue answered no task for the submit"))
    }

    /// Submits a task and answers it as stored (see
    /// [`Queue::submit_and_get`]).
    ///
    /// # Errors
    /// As [`Queue::submit_batch`] and [`Queue::get`].
    pub async fn submit_and_get(&self, task: NewTask) -> Result<SubmittedTask> {
        self.queue.submit_and_get(task).await
    }

    /// Submits tasks atomically (dependencies may point inside the batch).
    ///
    /// # Errors
    /// As [`Queue::submit_batch`].
    pub async fn submit_batch(&self, tasks: Vec<NewTask>) -> Result<Vec<Submitted>> {
        self.queue.submit_batch(tasks).await
    }

    /// Registers `agent` and runs it in this process (one task at a time).
    ///
    /// # Errors
    /// As [`AgentOrchestrator::spawn`].
    pub async fn spawn_agent(&self, agent: impl Agent) -> Result<AgentHandle> {
        self.orchestrator.spawn(agent).await
    }

    /// As [`Hive::spawn_agent`], with options (concurrency, lease, restart
    /// policy).
    ///
    /// # Errors
    /// As [`AgentOrchestrator::spawn_with`].
    pub async fn spawn_agent_with(
        &self,
        agent: impl Agent,
        options: SpawnOptions,
    ) -> Result<AgentHandle> {
        self.orchestrator.spawn_with(agent, options).await
    }

    /// Builds and spawns a declared agent (see [`crate::declared`]),
    /// reading the keys it names from this process's environment.
    ///
    /// # Errors
    /// As [`AgentDecl::build`](crate::declared::AgentDecl::build), then as
    /// [`Hive::spawn_agent_with`]; a name already live is
    /// [`Error::Conflict`].
    pub async fn spawn_declared(&self, decl: &crate::declared::AgentDecl) -> Result<AgentHandle> {
        let env = |name: &str| std::env::var(name).ok();
        let built = decl.build(&env).await?;
        self.orchestrator
            .spawn_shared(built.agent, built.options)
            .await
    }

    /// Claims tasks for agent `id`, one registered in the registry that
    /// runs elsewhere, as it: under its worker id (`agent-<id>`) and with
    /// its registered capabilities, so the tasks show it as their worker
    /// and its leases end when it is declared dead. When no task is ready
    /// it waits up to `request.wait` for one; an empty answer means none
    /// came in time.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when `request.max` is 0;
    /// [`Error::NotFound`] for an unknown agent; [`Error::Conflict`] when
    /// the agent is dead or stopped (it must register again to take work);
    /// backend errors of the registry and the queue.
    pub async fn claim_as_agent(&self, id: AgentId, request: RemoteClaim) -> Result<Vec<Lease>> {
        crate::agent::claim_as_agent(self.registry.as_ref(), self.queue.as_ref(), id, request).await
    }

    /// The name of the agent behind a worker id (`agent-<id>`, as
    /// [`Task::worker`](crate::queue::Task::worker) shows it), looked up in
    /// the registry. `None` for a worker that is not an agent, or an agent
    /// the registry no longer knows.
    ///
    /// # Errors
    /// Backend errors of the registry.
    pub async fn agent_name(&self, worker: &str) -> Result<Option<String>> {
        let Some(id) = AgentId::from_worker(worker) else {
            return Ok(None);
        };
        match self.registry.get(id).await {
            Ok(agent) => Ok(Some(agent.name)),
            Err(Error::NotFound { .. }) => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// Task `id`'s counted attempts, oldest first (see
    /// [`Queue::attempts`]), each with the name of its agent.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown task; backend errors.
    pub async fn task_attempts(&self, id: TaskId) -> Result<Vec<NamedAttempt>> {
        let attempts = self.queue.attempts(id).await?;
        let mut names: std::collections::HashMap<String, Option<String>> = Default::default();
        let mut out = Vec::with_capacity(attempts.len());
        for attempt in attempts {
            let agent_name = match names.get(&attempt.worker) {
                Some(name) => name.clone(),
                None => {
                    let name = self.agent_name(&attempt.worker).await?;
                    names.insert(attempt.worker.clone(), name.clone());
                    name
                }
            };
            out.push(NamedAttempt {
                attempt,
                agent_name,
            });
        }
        Ok(out)
    }

    /// Opens a session.
    ///
    /// # Errors
    /// As [`SessionStore::create`].
    pub async fn create_session(&self, session: NewSession) -> Result<Session> {
        self.sessions.create(session).await
    }

    /// Why task `id` is not running.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown task; backend errors.
    pub async fn why_waiting(&self, id: TaskId) -> Result<Waiting> {
        let task = self.queue.get(id).await?;
        self.orchestrator.why_waiting(&task).await
    }

    /// The task queue.
    pub fn queue(&self) -> &Arc<dyn Queue> {
        &self.queue
    }

    /// The message broker.
    pub fn broker(&self) -> &Arc<dyn Broker> {
        &self.broker
    }

    /// The agent registry (the whole fleet).
    pub fn registry(&self) -> &Arc<dyn AgentRegistry> {
        &self.registry
    }

    /// The sessions and their conversations.
    pub fn sessions(&self) -> &Arc<dyn SessionStore> {
        &self.sessions
    }

    /// The outcomes of finished tasks: one per task an agent of the fleet
    /// completed or dead-lettered (see [`crate::outcome`]).
    pub fn outcomes(&self) -> &Arc<dyn OutcomeStore> {
        self.outcomes.store()
    }

    /// The metrics of the outcomes `filter` passes, per group — after the
    /// outcomes this process has handed over are stored, so a task that
    /// ended here before the call is counted.
    ///
    /// # Errors
    /// [`Error::Backend`] when the store fails.
    pub async fn metrics(&self, filter: &OutcomeFilter, group_by: GroupBy) -> Result<Vec<Metrics>> {
        self.outcomes.flush().await;
        self.outcomes.store().metrics(filter, group_by).await
    }

    /// Records the outcome of `task`, just finished by a worker or agent
    /// running elsewhere that answered over an API (the server's
    /// `/tasks/{id}/complete` and `/fail`): its agent is the registered
    /// agent its `worker` names, if any; its times are the stored ones.
    /// Agents of this process need no call: their runners record their
    /// outcomes themselves. A task that has not completed or been
    /// dead-lettered yields nothing.
    ///
    /// # Errors
    /// [`Error::Backend`] when the registry cannot be read; the outcome
    /// itself is stored in the background (see
    /// [`OutcomeRecorder`](crate::outcome::OutcomeRecorder)).
    pub async fn record_outcome(&self, task: &crate::queue::Task) -> Result<()> {
        use crate::outcome::{Finished, OutcomeStatus};
        use crate::queue::TaskStatus;
        let status = match task.status {
            TaskStatus::Completed => OutcomeStatus::Completed,
            TaskStatus::DeadLettered => OutcomeStatus::DeadLettered,
            _ => return Ok(()),
        };
        let agent = match &task.worker {
            Some(worker) => self.agent_name(worker).await?,
            None => None,
        };
        let finished_at = task.finished_at.unwrap_or_else(chrono::Utc::now);
        self.outcomes.record(Outcome::finished(Finished {
            task_id: task.id,
            queue: self.queue.config().name.clone(),
            task_type: task.task_type.clone(),
            agent,
            status,
            attempts: task.attempts,
            created_at: task.created_at,
            started_at: task.started_at.unwrap_or(finished_at),
            finished_at,
            result: task.result.as_ref(),
        }));
        Ok(())
    }

    /// The outcomes `filter` passes, newest first, at most `limit` — after
    /// this process's pending outcomes are stored.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a limit of 0 or over
    /// [`outcome::MAX_LIMIT`](crate::outcome::MAX_LIMIT); [`Error::Backend`]
    /// when the store fails.
    pub async fn list_outcomes(
        &self,
        filter: &OutcomeFilter,
        limit: usize,
    ) -> Result<Vec<Outcome>> {
        self.outcomes.flush().await;
        self.outcomes.store().list(filter, limit).await
    }

    /// The context engine, unless the hive was built without one.
    pub fn context(&self) -> Option<&Arc<ContextEngine>> {
        self.context.as_ref()
    }

    /// The orchestrator (spawn, list, terminate, restart, health).
    pub fn orchestrator(&self) -> &AgentOrchestrator {
        &self.orchestrator
    }

    /// The event feed: every change to tasks, agents, sessions and
    /// messages made through this hive (and, on Redis, through every hive
    /// sharing it), numbered.
    pub fn events(&self) -> &EventHub {
        &self.events
    }

    /// The prompt registry: versions, labels and their history. Move
    /// labels with [`Hive::move_label`], which also logs the move as an
    /// event.
    pub fn prompts(&self) -> &Arc<dyn PromptRegistry> {
        &self.prompts
    }

    /// Points a prompt label at a version (see
    /// [`PromptRegistry::move_label`]) and logs a `prompt.label_moved`
    /// event. An LLM agent reading that label takes the new version at its
    /// next task.
    ///
    /// # Errors
    /// As [`PromptRegistry::move_label`].
    pub async fn move_label(&self, request: MoveLabel) -> Result<Label> {
        let by = request.by.clone();
        let label = self.prompts.move_label(request).await?;
        self.events.emit(crate::events::NewEvent::known(
            crate::events::kinds::PROMPT_LABEL_MOVED,
            format!("{}/{}", label.agent, label.name),
            serde_json::json!({
                "agent": label.agent, "label": label.name, "to": label.version,
                "moves": label.moves, "by": by,
            }),
        ));
        Ok(label)
    }

    /// The live experiments: start, report, stop, approve.
    pub fn experiments(&self) -> &Arc<Experiments> {
        &self.experiments
    }

    /// The verifiers that score completed results, by task type: a task
    /// of a type with one completes with `score` (and `verifier`) in its
    /// result, and its outcome carries the score.
    pub fn verifiers(&self) -> &Arc<crate::verify::Verifiers> {
        &self.verifiers
    }

    /// The meta-agent's proposals and the spend of its runs.
    pub fn proposals(&self) -> &Arc<dyn ProposalStore> {
        &self.proposals
    }

    fn meta_context(&self) -> MetaContext<'_> {
        MetaContext {
            prompts: &self.prompts,
            outcomes: self.outcomes.store(),
            queue: &self.queue,
            experiments: &self.experiments,
            proposals: &self.proposals,
        }
    }

    /// Runs `meta` once on `agent` (see [`MetaAgent::run`]), after the
    /// outcomes this process handed over are stored.
    ///
    /// # Errors
    /// As [`MetaAgent::run`].
    pub async fn run_meta_agent(&self, meta: &MetaAgent, agent: &str) -> Result<RunReport> {
        self.outcomes.flush().await;
        meta.run(&self.meta_context(), agent).await
    }

    /// Approves a proposal (see [`crate::meta::approve`]).
    ///
    /// # Errors
    /// As [`crate::meta::approve`].
    pub async fn approve_proposal(&self, id: ProposalId, by: &str) -> Result<Proposal> {
        crate::meta::approve(&self.meta_context(), id, by).await
    }

    /// Rejects a proposal (see [`crate::meta::reject`]).
    ///
    /// # Errors
    /// As [`crate::meta::reject`].
    pub async fn reject_proposal(
        &self,
        id: ProposalId,
        by: &str,
        reason: Option<&str>,
    ) -> Result<Proposal> {
        crate::meta::reject(&self.meta_context(), id, by, reason).await
    }

    /// The self-modifier: change sets and the repositories they may change.
    #[cfg(feature = "selfmod")]
    pub fn changes(&self) -> &Arc<crate::selfmod::SelfModifier> {
        &self.changes
    }

    /// Lets the self-modifier change a repository, and starts this
    /// process's self-modifier agent (once) so it runs change-set steps.
    ///
    /// # Errors
    /// As [`SelfModifier::add_repository`](crate::selfmod::SelfModifier::add_repository);
    /// as [`Hive::spawn_agent_with`].
    #[cfg(feature = "selfmod")]
    pub async fn add_repository(&self, config: crate::selfmod::RepositoryConfig) -> Result<()> {
        use crate::selfmod::agent::SelfModifierAgent;
        self.changes.add_repository(config).await?;
        self.change_agent
            .get_or_try_init(|| async {
                // One per process, each under a name of its own: a step
                // goes to whichever is free.
                let name = format!(
                    "self-modifier-{}",
                    &uuid::Uuid::new_v4().simple().to_string()[..8]
                );
                let options = SpawnOptions::default()
                    .concurrency(2)
                    .task_types(SelfModifierAgent::task_types());
                self.spawn_agent_with(SelfModifierAgent::new(name, self.changes.clone()), options)
                    .await
                    .map(|_| ())
            })
            .await?;
        Ok(())
    }

    /// How often the hive's retention runs (zero: never).
    pub fn retention_interval(&self) -> std::time::Duration {
        self.retention_interval
    }

    /// Runs a retention pass now, as the hive's timer does: deletes the
    /// tasks past their age ([`QueueConfig::retention`](crate::queue::QueueConfig::retention))
    /// in batches, then trims the broker's topics past theirs.
    ///
    /// # Errors
    /// The first store error; what was deleted before it stays deleted.
    pub async fn purge_expired(&self) -> Result<RetentionReport> {
        retention::run_pass(self.queue.as_ref(), self.broker.as_ref()).await
    }

    /// Stops the retention loop, then every agent of this process — each
    /// finishes its running tasks within the grace period, after which they
    /// are cancelled and their leases given back — marks them stopped, and
    /// ends the loops. No task is left leased by this process. Then writes
    /// the last events and ends the event subscriptions.
    pub async fn shutdown(&self) -> StopReport {
        self.retention.stop().await;
        self.experiment_loop.stop().await;
        let report = self.orchestrator.shutdown().await;
        self.outcomes.close().await;
        self.events.close().await;
        report
    }
}
