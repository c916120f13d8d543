//! The agent orchestrator: spawns agents in this process, lists the fleet,
//! terminates and restarts agents, and runs the loops that keep them
//! honest — the dispatch loop ([`super::dispatch`]), heartbeats and the
//! health sweep ([`super::health`]).
//!
//! The fleet is whatever the registry holds: agents spawned by other
//! processes (on other machines sharing the same Redis and Postgres) are
//! listed, terminated and swept like local ones. What only the owning
//! process can do — run an agent's tasks, restart it — it does when it
//! notices, at its next heartbeat, what another process decided.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::{Notify, Semaphore};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::behaviour::Agent;
use super::context::{AgentContext, Services};
use super::dispatch::{self, AgentTasks, LocalAgent};
use super::health::{self, HealthMonitor};
use super::record::{AgentFilter, AgentId, AgentRecord, AgentStatus, Liveness};
use super::registry::{AgentRegistry, AgentRegistryExt};
use super::tool::ToolSet;
use crate::error::{Error, Result};
use crate::queue::worker::{Runner, WorkerReport};
use crate::queue::{ClaimRequest, Queue, Task, TaskStatus};
use crate::setters::setters;

/// What to do when an agent of this process is declared dead by a health
/// sweep (its heartbeats stopped reaching the registry — a stall, a
/// partition) although the process still runs it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RestartPolicy {
    /// Stop it for good.
    Never,
    /// Register it again under a new id (its old leases were already ended
    /// and its tasks redelivered), at most `max_restarts` times.
    OnDeath {
        /// Restarts allowed over the agent's life.
        max_restarts: u32,
    },
}

impl Default for RestartPolicy {
    /// Three restarts.
    fn default() -> Self {
        RestartPolicy::OnDeath { max_restarts: 3 }
    }
}

/// How one agent runs. Defaults are documented per field.
#[derive(Clone, Debug)]
pub struct SpawnOptions {
    /// Tasks it runs at once. Default 1: an agent works on one task at a
    /// time, as an LLM or a person does.
    pub concurrency: usize,
    /// Lease length it claims with; `None` uses the queue's. Default `None`.
    pub lease: Option<Duration>,
    /// Only tasks of these types; empty (the default) takes any type its
    /// capabilities allow. Routing is by capability: a task that requires
    /// nothing goes to any agent, so an agent that can do only some types
    /// names them here.
    pub task_types: BTreeSet<String>,
    /// What happens if it is declared dead while this process lives.
    /// Default [`RestartPolicy::OnDeath`] with 3 restarts.
    pub restart: RestartPolicy,
}

impl Default for SpawnOptions {
    fn default() -> Self {
        SpawnOptions {
            concurrency: 1,
            lease: None,
            task_types: BTreeSet::new(),
            restart: RestartPolicy::default(),
        }
    }
}

impl SpawnOptions {
    /// Sets the concurrency.
    pub fn concurrency(mut self, n: usize) -> Self {
        self.concurrency = n;
        self
    }

    /// Sets the lease length.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    setters! {
        /// Takes only tasks of these types (none: any type).
        task_types(task_types: impl IntoIterator<Item = impl Into<String>>) =>
            task_types.into_iter().map(Into::into).collect();
    }

    /// Sets the restart policy.
    pub fn restart(mut self, policy: RestartPolicy) -> Self {
        self.restart = policy;
        self
    }
}

/// How the orchestrator behaves. Defaults are documented per field.
#[derive(Clone, Debug)]
pub struct OrchestratorConfig {
    /// Heartbeat interval and the misses that make an agent unhealthy (2)
    /// and dead (4). Default every 30 s.
    pub liveness: Liveness,
    /// How often this process sweeps the registry for agents that missed
    /// their heartbeats. Default: half the heartbeat interval.
    pub sweep_interval: Option<Duration>,
    /// Longest wait for new work before claiming again. Default 500 ms.
    pub poll_interval: Duration,
    /// How often the queue's housekeeping ([`Queue::reap`]) runs. Default 1 s.
    pub reap_interval: Duration,
    /// How long terminating an agent (or shutting down) waits for its
    /// running tasks before cancelling them and giving their leases back.
    /// Default 30 s.
    pub shutdown_grace: Duration,
}

impl Default for OrchestratorConfig {
    fn default() -> Self {
        OrchestratorConfig {
            liveness: Liveness::default(),
            sweep_interval: None,
            poll_interval: Duration::from_millis(500),
            reap_interval: Duration::from_secs(1),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

impl OrchestratorConfig {
    /// The sweep interval in effect.
    pub fn sweep_every(&self) -> Duration {
        self.sweep_interval
            .unwrap_or(self.liveness.interval / 2)
            .max(Duration::from_millis(10))
    }
}

/// An agent this process spawned.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct AgentHandle {
    /// Its registration id (a restart gives a new one).
    pub id: AgentId,
    /// Its name.
    pub name: String,
}

/// What stopping agents did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct StopReport {
    /// Agents stopped.
    pub agents: u64,
    /// Their task attempts, summed.
    pub tasks: WorkerReport,
}

/// Why a task is not running yet.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Waiting {
    /// It is not waiting: it runs or has ended.
    NotWaiting(TaskStatus),
    /// Its dependencies have not all completed.
    Dependencies,
    /// It is delayed (submitted with a delay, or backing off to retry).
    Delayed,
    /// No healthy registered agent has every capability it requires
    /// (listed).
    NoCapableAgent {
        /// The task's required capabilities.
        required: Vec<String>,
    },
    /// Capable agents exist but are busy; it runs when one frees up.
    AgentsBusy {
        /// How many healthy agents could take it.
        capable: usize,
    },
}

impl std::fmt::Display for Waiting {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Waiting::NotWaiting(s) => write!(f, "not waiting: the task is {s}"),
            Waiting::Dependencies => f.write_str("waiting for its dependencies to complete"),
            Waiting::Delayed => f.write_str("delayed until its run time"),
            // With no requirements any agent could take it, so none is
            // healthy at all; an empty list would print as "()".
            Waiting::NoCapableAgent { required } if required.is_empty() => f.write_str(
                "no healthy agent is registered (it requires no capabilities, so any agent could take it)",
            ),
            Waiting::NoCapableAgent { required } => write!(
                f,
                "no healthy agent has every capability it requires: {}",
                required.join(", ")
            ),
            Waiting::AgentsBusy { capable } => {
                write!(f, "{capable} capable agent(s), all busy")
            }
        }
    }
}

/// Spawns, lists, monitors, terminates and restarts agents. Cheap to
/// clone; clones share everything.
#[derive(Clone)]
pub struct AgentOrchestrator {
    inner: Arc<Inner>,
}

/// What the loops share.
pub(crate) struct Inner {
    pub(crate) queue: Arc<dyn Queue>,
    pub(crate) registry: Arc<dyn AgentRegistry>,
    pub(crate) services: Services,
    pub(crate) config: OrchestratorConfig,
    pub(crate) monitor: HealthMonitor,
    agents: Mutex<BTreeMap<AgentId, Arc<LocalAgent>>>,
    /// Rung when a slot frees or an agent arrives: the dispatch loop looks
    /// again.
    pub(crate) changed: Notify,
    /// Rung when the queue may have new work (a wake-up or a poll).
    pub(crate) work: Notify,
    /// Fired at shutdown: the loops end.
    pub(crate) stop: CancellationToken,
    loops: TaskTracker,
}

impl Inner {
    fn agents(&self) -> MutexGuard<'_, BTreeMap<AgentId, Arc<LocalAgent>>> {
        // A panic while holding this lock cannot leave the map half-changed
        // (every change is one insert or remove), so a poisoned lock is safe.
        self.agents
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The agents running here now.
    pub(crate) fn local_agents(&self) -> Vec<Arc<LocalAgent>> {
        self.agents().values().cloned().collect()
    }

    /// Stops a local agent: no new work, running tasks get `grace`, then
    /// are cancelled and their leases given back; the agent's `shutdown`
    /// runs. The registry is not touched.
    pub(crate) async fn stop_local(&self, id: AgentId, grace: Duration) -> Option<WorkerReport> {
        let agent = self.agents().remove(&id)?;
        agent.stop.cancel();
        agent.running.close();
        if tokio::time::timeout(grace, agent.running.wait())
            .await
            .is_err()
        {
            tracing::info!(agent = %agent.name, "grace period over: cancelling its tasks");
            agent.runner.abort();
            agent.running.wait().await;
        }
        agent.agent.shutdown().await;
        self.changed.notify_one();
        Some(agent.runner.report())
    }

    /// Registers `agent` and starts running it here.
    pub(crate) async fn start(
        self: &Arc<Self>,
        agent: Arc<dyn Agent>,
        options: SpawnOptions,
        restarts_left: u32,
    ) -> Result<AgentHandle> {
        if self.stop.is_cancelled() {
            return Err(Error::conflict("the orchestrator has shut down"));
        }
        if options.concurrency == 0 || options.concurrency > 10_000 {
            return Err(Error::invalid(format!(
                "agent concurrency must be 1 to 10000, got {}",
                options.concurrency
            )));
        }
        let mut spec = agent.spec();
        spec.check()?;
        // The registry records load, not capacity: the agent's concurrency
        // goes into its metadata (unless the agent set one itself), so a
        // dashboard can show load against it.
        if let Some(meta) = spec.metadata.as_object_mut() {
            meta.entry("concurrency")
                .or_insert_with(|| options.concurrency.into());
        }
        let tools = Arc::new(ToolSet::new(agent.tools())?);
        if agent.handles_messages() {
            // The inbox subscription exists before the spawn returns, so a
            // message sent to the agent right afterwards is kept for it.
            let inbox = crate::broker::SubscriptionSpec::agent(&spec.name)?;
            self.services.broker.subscribe(inbox).await?;
        }
        let record = self.registry.register(spec).await?;
        let name: Arc<str> = Arc::from(record.name.as_str());
        let stop = CancellationToken::new();
        let stamps = Arc::new(super::outcomes::Stamps::default());
        let base = AgentContext::new(
            record.id,
            name.clone(),
            self.services.clone(),
            tools,
            stop.child_token(),
        )
        .with_stamps(stamps.clone());
        let handler = AgentTasks {
            agent: agent.clone(),
            base: base.clone(),
        };
        let claim = ClaimRequest {
            worker: record.id.worker_id(),
            capabilities: record.capabilities.clone(),
            task_types: options.task_types.clone(),
            max: 1,
            lease: options.lease,
        };
        let local = Arc::new(LocalAgent {
            id: record.id,
            name: name.clone(),
            capabilities: record.capabilities.clone(),
            agent: agent.clone(),
            runner: Runner::observed(
                self.queue.clone(),
                Arc::new(handler),
                claim,
                stop.clone(),
                self.services.outcomes.as_ref().map(|recorder| {
                    Arc::new(super::outcomes::AgentOutcomes {
                        recorder: recorder.clone(),
                        agent: name.clone(),
                        queue: Arc::from(self.queue.config().name.as_str()),
                        stamps: stamps.clone(),
                    }) as Arc<dyn crate::queue::worker::AttemptObserver>
                }),
            ),
            slots: Arc::new(Semaphore::new(options.concurrency)),
            concurrency: options.concurrency,
            running: TaskTracker::new(),
            stop,
            restarts_left,
            options,
        });
        if agent.handles_messages() {
            local
                .running
                .spawn(dispatch::message_loop(self.clone(), local.clone(), base));
        }
        self.agents().insert(record.id, local);
        self.changed.notify_one();
        tracing::info!(agent = %record.name, id = %record.id, "agent started");
        Ok(AgentHandle {
            id: record.id,
            name: record.name,
        })
    }

    /// A local agent the registry no longer counts as live: restart it if
    /// it was declared dead and its policy allows, else stop it here.
    pub(crate) async fn on_lost(self: &Arc<Self>, id: AgentId, status: AgentStatus) {
        let Some(agent) = self.agents().get(&id).cloned() else {
            return;
        };
        // Its leases were ended (dead) or it was terminated elsewhere: any
        // answer it gives now is stale, so there is nothing to wait for.
        self.stop_local(id, Duration::ZERO).await;
        let restart = status == AgentStatus::Dead
            && matches!(agent.options.restart, RestartPolicy::OnDeath { .. })
            && agent.restarts_left > 0;
        if !restart {
            tracing::warn!(agent = %agent.name, %status, "agent stopped: the registry says it is no longer live");
            return;
        }
        match self
            .start(
                agent.agent.clone(),
                agent.options.clone(),
                agent.restarts_left - 1,
            )
            .await
        {
            Ok(h) => {
                tracing::warn!(agent = %h.name, old = %id, new = %h.id, "agent was declared dead; restarted")
            }
            Err(e) => tracing::error!(agent = %agent.name, error = %e, "restart failed"),
        }
    }
}

impl AgentOrchestrator {
    /// An orchestrator running agents against `queue`, registering them in
    /// `registry`. Starts its loops on the current Tokio runtime.
    pub(crate) fn start(
        queue: Arc<dyn Queue>,
        registry: Arc<dyn AgentRegistry>,
        services: Services,
        config: OrchestratorConfig,
    ) -> Result<Self> {
        config.liveness.check()?;
        let monitor = HealthMonitor::new(registry.clone(), queue.clone(), config.liveness);
        let inner = Arc::new(Inner {
            queue,
            registry,
            services,
            config,
            monitor,
            agents: Mutex::new(BTreeMap::new()),
            changed: Notify::new(),
            work: Notify::new(),
            stop: CancellationToken::new(),
            loops: TaskTracker::new(),
        });
        supervise(&inner, "dispatch", dispatch::run);
        supervise(&inner, "work watch", dispatch::watch_for_work);
        supervise(&inner, "heartbeat", health::pulse);
        supervise(&inner, "health sweep", health::sweep_loop);
        Ok(AgentOrchestrator { inner })
    }

    /// Registers `agent` and runs it in this process with default options.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad spec (no capabilities, a bad
    /// name…) or duplicate tool names; [`Error::Conflict`] when a live agent
    /// already has the name; backend errors.
    pub async fn spawn(&self, agent: impl Agent) -> Result<AgentHandle> {
        self.spawn_with(agent, SpawnOptions::default()).await
    }

    /// As [`AgentOrchestrator::spawn`], with options.
    ///
    /// # Errors
    /// As [`AgentOrchestrator::spawn`]; a concurrency of 0 is
    /// [`Error::InvalidInput`].
    pub async fn spawn_with(
        &self,
        agent: impl Agent,
        options: SpawnOptions,
    ) -> Result<AgentHandle> {
        self.spawn_shared(Arc::new(agent), options).await
    }

    /// As [`AgentOrchestrator::spawn_with`], for an agent already shared
    /// (a declared agent, built as `Arc<dyn Agent>`).
    ///
    /// # Errors
    /// As [`AgentOrchestrator::spawn_with`].
    pub async fn spawn_shared(
        &self,
        agent: Arc<dyn Agent>,
        options: SpawnOptions,
    ) -> Result<AgentHandle> {
        let restarts = match options.restart {
            RestartPolicy::Never => 0,
            RestartPolicy::OnDeath { max_restarts } => max_restarts,
        };
        self.inner.start(agent, options, restarts).await
    }

    /// The fleet's agents passing `filter`, from every process.
    ///
    /// # Errors
    /// Backend errors.
    pub async fn list(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        self.inner.registry.list(filter).await
    }

    /// One agent of the fleet.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id.
    pub async fn get(&self, id: AgentId) -> Result<AgentRecord> {
        self.inner.registry.get(id).await
    }

    /// The agents running in this process.
    pub fn local(&self) -> Vec<AgentHandle> {
        self.inner
            .local_agents()
            .iter()
            .map(|a| AgentHandle {
                id: a.id,
                name: a.name.to_string(),
            })
            .collect()
    }

    /// Stops agent `id` for good. Here: it stops claiming, its running
    /// tasks get the grace period and are then cancelled with their leases
    /// given back, and it is marked stopped. In another process: it is
    /// marked stopped, and its process stops it at its next heartbeat.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id; [`Error::Conflict`] when it is
    /// already dead or stopped (and not running here).
    pub async fn terminate(&self, id: AgentId) -> Result<AgentRecord> {
        let grace = self.inner.config.shutdown_grace;
        if self.inner.stop_local(id, grace).await.is_some() {
            return self
                .inner
                .registry
                .set_status(id, AgentStatus::Stopped)
                .await;
        }
        let record = self.inner.registry.get(id).await?;
        if !record.status.is_live() {
            return Err(Error::conflict(format!(
                "agent {} ({id}) is already {}",
                record.name, record.status
            )));
        }
        self.inner
            .registry
            .set_status(id, AgentStatus::Stopped)
            .await
    }

    /// Stops agent `id` (as [`AgentOrchestrator::terminate`]) and starts it
    /// again under a new id with the same options. Only for agents of this
    /// process.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown id; [`Error::NotSupported`] for an
    /// agent of another process.
    pub async fn restart(&self, id: AgentId) -> Result<AgentHandle> {
        let local = self.inner.agents().get(&id).cloned();
        let Some(agent) = local else {
            self.inner.registry.get(id).await?;
            return Err(Error::NotSupported {
                operation: "restarting an agent of another process",
                backend: "orchestrator",
            });
        };
        self.terminate(id).await?;
        self.inner
            .start(
                agent.agent.clone(),
                agent.options.clone(),
                agent.restarts_left,
            )
            .await
    }

    /// Runs one health sweep now (the loop does it every
    /// [`OrchestratorConfig::sweep_every`]).
    ///
    /// # Errors
    /// Backend errors.
    pub async fn check_health(&self) -> Result<super::health::HealthReport> {
        self.inner.monitor.check(chrono::Utc::now()).await
    }

    /// Why `task` is not running, in terms a user can act on.
    ///
    /// # Errors
    /// Backend errors.
    pub async fn why_waiting(&self, task: &Task) -> Result<Waiting> {
        Ok(match task.status {
            TaskStatus::Waiting => Waiting::Dependencies,
            TaskStatus::Delayed => Waiting::Delayed,
            TaskStatus::Pending => {
                let capable = self.inner.registry.candidates(&task.capabilities).await?;
                if capable.is_empty() {
                    Waiting::NoCapableAgent {
                        required: task.capabilities.clone(),
                    }
                } else {
                    Waiting::AgentsBusy {
                        capable: capable.len(),
                    }
                }
            }
            other => Waiting::NotWaiting(other),
        })
    }

    /// The configuration in effect.
    pub fn config(&self) -> &OrchestratorConfig {
        &self.inner.config
    }

    /// Stops every local agent (each given the grace period, then its
    /// leases released, then marked stopped) and the loops. Afterwards no
    /// task is leased by an agent of this process.
    pub async fn shutdown(&self) -> StopReport {
        let ids: Vec<AgentId> = self.inner.agents().keys().copied().collect();
        let grace = self.inner.config.shutdown_grace;
        let stops = ids.iter().map(|id| self.inner.stop_local(*id, grace));
        let reports = futures::future::join_all(stops).await;
        let mut total = StopReport::default();
        for (id, report) in ids.iter().zip(reports) {
            if let Some(r) = report {
                total.agents += 1;
                total.tasks.completed += r.completed;
                total.tasks.failed += r.failed;
                total.tasks.released += r.released;
                total.tasks.stale += r.stale;
            }
            if let Err(e) = self
                .inner
                .registry
                .set_status(*id, AgentStatus::Stopped)
                .await
            {
                tracing::warn!(agent = %id, error = %e, "could not mark the agent stopped");
            }
        }
        self.inner.stop.cancel();
        self.inner.loops.close();
        self.inner.loops.wait().await;
        total
    }
}

/// Runs one of the orchestrator's loops until shutdown. A loop that
/// panics would silently stop dispatch (or heartbeats) for the whole
/// process, so it is logged and started again after a pause.
fn supervise<F, Fut>(inner: &Arc<Inner>, name: &'static str, body: F)
where
    F: Fn(Arc<Inner>) -> Fut + Send + 'static,
    Fut: std::future::Future<Output = ()> + Send + 'static,
{
    let inner = inner.clone();
    let tracker = inner.loops.clone();
    tracker.spawn(async move {
        loop {
            let run = tokio::spawn(body(inner.clone()));
            match run.await {
                Err(e) if e.is_panic() && !inner.stop.is_cancelled() => {
                    tracing::error!(
                        loop_name = name,
                        "an orchestrator loop panicked; restarting it"
                    );
                    tokio::select! {
                        () = tokio::time::sleep(Duration::from_millis(100)) => {}
                        () = inner.stop.cancelled() => return,
                    }
                }
                _ => return,
            }
        }
    });
}

impl std::fmt::Debug for AgentOrchestrator {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentOrchestrator")
            .field("local_agents", &self.inner.agents().len())
            .field("config", &self.inner.config)
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn why_a_task_waits_reads_as_words() {
        let none = Waiting::NoCapableAgent { required: vec![] }.to_string();
        assert_eq!(
            none,
            "no healthy agent is registered (it requires no capabilities, so any agent could take it)"
        );
        let some = Waiting::NoCapableAgent {
            required: vec!["llm".into(), "web".into()],
        };
        assert_eq!(
            some.to_string(),
            "no healthy agent has every capability it requires: llm, web"
        );
    }
}
