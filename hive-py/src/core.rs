//! What `Hive` and `AsyncHive` share: one open hive, and each operation
//! written once as an async function over it.
//!
//! The frontends read their Python arguments (holding the GIL), call one of
//! these, and either block on it with the GIL released (`Hive`) or hand it
//! to asyncio (`AsyncHive`). Answers are Rust values that become Python
//! objects on the way out.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex, RwLock, Weak};
use std::time::Duration;

use hive_core::agent::{AgentFilter, AgentSpec, SpawnOptions};
use hive_core::agent::{Liveness, OrchestratorConfig};
use hive_core::broker::{BrokerExt, Message as CoreMessage, Subscriber, SubscriptionSpec, Topic};
use hive_core::context::{ContextEngine, Kind, NewEntry, SearchRequest};
use hive_core::experiment::{ExperimentId, NewExperiment};
use hive_core::hive::HiveBuilder;
use hive_core::meta::{MetaAgent, ProposalId, ProposalStatus};
use hive_core::outcome::{GroupBy, OutcomeFilter};
use hive_core::prompt::{self, MoveLabel, NewPromptVersion, PromptVersionId};
use hive_core::queue::{NewTask, QueueExt, Task as CoreTask, TaskFilter, TaskId, TaskStatus};
use hive_core::queue::{QueueConfig, TaskRetention};
use hive_core::selfmod::{ChangeSetId, ChangeStatus, NewChangeSet, RepositoryConfig};
use hive_core::Hive;
use pyo3::prelude::*;
use serde_json::Value;

use crate::agent::PyAgent;
use crate::context::Found;
use crate::errors::{ClosedError, HiveTimeoutError, IntoPy, InvalidInputError, TaskFailedError};
use crate::json::Json;
use crate::messages::SubscriptionCore;
use crate::task::{Attempt, Task};

/// Where a hive's stores live.
pub enum Backend {
    /// One SQLite file.
    Embedded(String),
    /// Nothing kept.
    Memory,
    /// Redis (queue, broker, events) and Postgres (registry, sessions,
    /// context).
    Distributed { redis: String, postgres: String },
}

impl Backend {
    /// The embedded default at `path`, `./hive.db` when none is given.
    pub fn embedded(path: Option<std::path::PathBuf>) -> Backend {
        let path = path.unwrap_or_else(|| "hive.db".into());
        Backend::Embedded(path.to_string_lossy().into_owned())
    }
}

/// How a hive is tuned: the keyword arguments `embedded`, `memory` and
/// `connect` share.
#[derive(Clone, Copy, Debug)]
pub struct Options {
    /// With the context store (`context=True`, the default).
    pub context: bool,
    /// Seconds a claimed task's lease lasts (`lease`, default 30).
    pub lease: Option<f64>,
    /// Seconds between agents' heartbeats (`heartbeat_every`, default 30).
    pub heartbeat_every: Option<f64>,
    /// Seconds without a heartbeat before an agent is unhealthy
    /// (`unhealthy_after`, default 2 heartbeats).
    pub unhealthy_after: Option<f64>,
    /// Seconds without a heartbeat before an agent is dead and its leases
    /// end (`dead_after`, default 4 heartbeats).
    pub dead_after: Option<f64>,
    /// Opens a Redis that evicts keys when full (`allow_redis_eviction`,
    /// default false: refused, since queued tasks could vanish).
    pub allow_redis_eviction: bool,
    /// Seconds finished tasks are kept (`retain_finished`, default a week;
    /// 0 keeps them forever).
    pub retain_finished: Option<f64>,
    /// Seconds dead letters are kept (`retain_dead_letters`, default 30
    /// days; 0 keeps them until purged).
    pub retain_dead_letters: Option<f64>,
}

impl Options {
    /// `builder` tuned as these options say.
    ///
    /// # Errors
    /// `InvalidInputError` for seconds that are not above zero, or
    /// thresholds out of order.
    fn apply(self, mut builder: HiveBuilder) -> PyResult<HiveBuilder> {
        if !self.context {
            builder = builder.without_context();
        }
        builder = builder.allow_redis_eviction(self.allow_redis_eviction);
        let defaults = TaskRetention::default();
        builder = builder.task_retention(TaskRetention {
            finished: kept("retain_finished", self.retain_finished, defaults.finished)?,
            dead_letters: kept(
                "retain_dead_letters",
                self.retain_dead_letters,
                defaults.dead_letters,
            )?,
        });
        if let Some(lease) = secs("lease", self.lease)? {
            builder = builder.queue_config(QueueConfig {
                lease,
                ..QueueConfig::default()
            });
        }
        let mut liveness = match secs("heartbeat_every", self.heartbeat_every)? {
            Some(every) => Liveness::every(every),
            None => Liveness::default(),
        };
        if let Some(after) = secs("unhealthy_after", self.unhealthy_after)? {
            liveness.unhealthy_after = after;
        }
        if let Some(after) = secs("dead_after", self.dead_after)? {
            liveness.dead_after = after;
        }
        if liveness.check().is_err() {
            return Err(InvalidInputError::new_err(format!(
                "heartbeat_every ({:?}) <= unhealthy_after ({:?}) < dead_after ({:?}) must hold",
                liveness.interval, liveness.unhealthy_after, liveness.dead_after
            )));
        }
        Ok(builder.orchestrator_config(OrchestratorConfig {
            liveness,
            ..OrchestratorConfig::default()
        }))
    }
}

/// A retention age: `value` seconds (0 keeps forever), else `default`.
fn kept(name: &str, value: Option<f64>, default: Option<Duration>) -> PyResult<Option<Duration>> {
    match value {
        None => Ok(default),
        Some(0.0) => Ok(None),
        Some(_) => secs(name, value),
    }
}

/// `value` seconds as a duration, if given: above zero and finite.
fn secs(name: &str, value: Option<f64>) -> PyResult<Option<Duration>> {
    value
        .map(|s| {
            Duration::try_from_secs_f64(s)
                .ok()
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    InvalidInputError::new_err(format!(
                        "{name} must be a number of seconds above 0, got {s}"
                    ))
                })
        })
        .transpose()
}

/// One open hive, shared by a frontend object and its subscriptions.
pub struct Core {
    hive: RwLock<Option<Arc<Hive>>>,
}

/// Every core not yet closed, so `atexit` can close them.
static OPEN: Mutex<Vec<Weak<Core>>> = Mutex::new(Vec::new());

impl Core {
    /// Opens a hive on `backend`.
    pub async fn open(backend: Backend, options: Options) -> PyResult<Arc<Core>> {
        let builder = match backend {
            Backend::Embedded(path) => Hive::builder().embedded(path),
            Backend::Memory => Hive::builder().memory(),
            Backend::Distributed { redis, postgres } => {
                Hive::builder().redis(redis).postgres(postgres)
            }
        };
        let hive = options.apply(builder)?.build().await.py_err()?;
        let core = Arc::new(Core {
            hive: RwLock::new(Some(Arc::new(hive))),
        });
        if let Ok(mut open) = OPEN.lock() {
            open.retain(|c| c.strong_count() > 0);
            open.push(Arc::downgrade(&core));
        }
        Ok(core)
    }

    /// The hive, unless it was closed.
    pub fn hive(&self) -> PyResult<Arc<Hive>> {
        self.hive
            .read()
            .ok()
            .and_then(|h| h.clone())
            .ok_or_else(|| ClosedError::new_err("the hive is closed"))
    }

    /// Whether `close` ran.
    pub fn is_closed(&self) -> bool {
        self.hive.read().map(|h| h.is_none()).unwrap_or(true)
    }

    /// Stops this process's agents and ends the hive. Idempotent.
    pub async fn close(&self) -> PyResult<()> {
        let hive = self.hive.write().ok().and_then(|mut h| h.take());
        if let Some(hive) = hive {
            hive.shutdown().await;
        }
        Ok(())
    }

    /// Closes every hive still open (the `atexit` hook).
    pub async fn close_all() {
        let open: Vec<Arc<Core>> = OPEN
            .lock()
            .map(|mut open| open.drain(..).filter_map(|c| c.upgrade()).collect())
            .unwrap_or_default();
        for core in open {
            let _ = core.close().await;
        }
    }

    pub async fn submit(&self, task: NewTask) -> PyResult<String> {
        let hive = self.hive()?;
        Ok(hive.submit(task).await.py_err()?.id.to_string())
    }

    pub async fn get(&self, id: TaskId) -> PyResult<Task> {
        let hive = self.hive()?;
        let task = hive.queue().get(id).await.py_err()?;
        let name = agent_name(&hive, &task).await?;
        Ok(Task::named(task, name))
    }

    /// Task `id`'s counted attempts, oldest first, with their agents' names.
    pub async fn attempts(&self, id: TaskId) -> PyResult<Vec<Attempt>> {
        let hive = self.hive()?;
        let attempts = hive.task_attempts(id).await.py_err()?;
        Ok(attempts.into_iter().map(Attempt::new).collect())
    }

    pub async fn wait(&self, id: TaskId, timeout: Duration) -> PyResult<Task> {
        let hive = self.hive()?;
        // The queue's own wait reports a timeout as a conflict; this one
        // has its own exception, so the queue's deadline is set past ours.
        let long = timeout.saturating_add(Duration::from_secs(3600));
        match tokio::time::timeout(timeout, hive.queue().wait_until_final(id, long)).await {
            Ok(done) => {
                let done = done.py_err()?;
                let name = agent_name(&hive, &done).await?;
                Ok(Task::named(done, name))
            }
            Err(_) => {
                let task = hive.queue().get(id).await.py_err()?;
                Err(HiveTimeoutError::new_err(format!(
                    "task {id} is still {} after {:.3} s",
                    task.status,
                    timeout.as_secs_f64()
                )))
            }
        }
    }

    /// The result of a completed task; `TaskFailedError` otherwise.
    pub async fn result(&self, id: TaskId, timeout: Duration) -> PyResult<Json> {
        let task = self.wait(id, timeout).await?;
        let core = task.core();
        if core.status == TaskStatus::Completed {
            return Ok(Json(core.result.clone().unwrap_or(Value::Null)));
        }
        let message = format!(
            "task {id} {} after {} attempt(s): {}",
            core.status,
            core.attempts,
            core.error.as_deref().unwrap_or("no error recorded")
        );
        Python::attach(|py| {
            let err = TaskFailedError::new_err(message);
            err.value(py).setattr("task", Py::new(py, task)?)?;
            Err(err)
        })
    }

    pub async fn cancel(&self, id: TaskId) -> PyResult<Task> {
        let hive = self.hive()?;
        let task = hive.queue().cancel(id).await.py_err()?;
        let name = agent_name(&hive, &task).await?;
        Ok(Task::named(task, name))
    }

    pub async fn list_tasks(&self, filter: TaskFilter) -> PyResult<Vec<Task>> {
        let hive = self.hive()?;
        let tasks = hive.queue().list(&filter).await.py_err()?;
        named(&hive, tasks).await
    }

    pub async fn stats(&self) -> PyResult<BTreeMap<&'static str, u64>> {
        let hive = self.hive()?;
        let stats = hive.queue().stats().await.py_err()?;
        Ok(TaskStatus::ALL
            .into_iter()
            .map(|s| (s.as_str(), stats.get(s)))
            .collect())
    }

    pub async fn dead_letters(&self, limit: usize) -> PyResult<Vec<Task>> {
        let hive = self.hive()?;
        let tasks = hive.queue().dead_letters(limit, 0).await.py_err()?;
        named(&hive, tasks).await
    }

    pub async fn spawn_agent(
        &self,
        agent: PyAgent,
        options: SpawnOptions,
    ) -> PyResult<AgentHandle> {
        let hive = self.hive()?;
        let handle = hive.spawn_agent_with(agent, options).await.py_err()?;
        Ok(AgentHandle {
            id: handle.id.to_string(),
            name: handle.name,
        })
    }

    /// Builds and spawns a declared agent (`spawn_llm_agent`,
    /// `spawn_cli_agent`), reading its key variables from this process's
    /// environment.
    pub async fn spawn_declared(&self, decl: Value) -> PyResult<AgentHandle> {
        let hive = self.hive()?;
        let decl = hive_core::declared::AgentDecl::from_value(decl).py_err()?;
        let handle = hive.spawn_declared(&decl).await.py_err()?;
        Ok(AgentHandle {
            id: handle.id.to_string(),
            name: handle.name,
        })
    }

    /// Runs a retention pass now: what it deleted.
    pub async fn purge_expired(&self) -> PyResult<BTreeMap<&'static str, u64>> {
        let hive = self.hive()?;
        let report = hive.purge_expired().await.py_err()?;
        Ok(BTreeMap::from([
            ("finished", report.finished),
            ("dead_letters", report.dead_letters),
            ("messages", report.messages),
        ]))
    }

    pub async fn stop_agent(&self, id: String) -> PyResult<()> {
        let hive = self.hive()?;
        let id = id.parse().py_err()?;
        hive.orchestrator().terminate(id).await.py_err()?;
        Ok(())
    }

    /// The metrics of the outcomes `filter` passes, grouped by `group_by`
    /// (`all`, `agent`, `prompt_version`, `task_type` or `arm`), as dicts.
    pub async fn metrics(&self, filter: OutcomeFilter, group_by: String) -> PyResult<Json> {
        let hive = self.hive()?;
        let group_by: GroupBy = group_by.parse().py_err()?;
        let metrics = hive.metrics(&filter, group_by).await.py_err()?;
        to_json("metrics", serde_json::to_value(metrics))
    }

    /// The outcomes `filter` passes, newest first, as dicts.
    pub async fn outcomes(&self, filter: OutcomeFilter, limit: usize) -> PyResult<Json> {
        let hive = self.hive()?;
        let outcomes = hive.list_outcomes(&filter, limit).await.py_err()?;
        to_json("outcomes", serde_json::to_value(outcomes))
    }

    /// Stores a prompt version (or finds the agent's version of the same
    /// text); answers it as a dict.
    pub async fn create_prompt(&self, new: NewPromptVersion) -> PyResult<Json> {
        let hive = self.hive()?;
        let version = hive.prompts().create(new).await.py_err()?;
        to_json("the prompt version", serde_json::to_value(version))
    }

    /// One prompt version, as a dict.
    pub async fn prompt(&self, id: PromptVersionId) -> PyResult<Json> {
        let hive = self.hive()?;
        let version = hive.prompts().get(id).await.py_err()?;
        to_json("the prompt version", serde_json::to_value(version))
    }

    /// An agent's prompt versions (oldest first) and labels (by name):
    /// `{"versions": [...], "labels": [...]}`.
    pub async fn prompts(&self, agent: String) -> PyResult<Json> {
        let hive = self.hive()?;
        let versions = hive.prompts().versions(&agent).await.py_err()?;
        let labels = hive.prompts().labels(&agent).await.py_err()?;
        let Json(versions) = to_json("the prompt versions", serde_json::to_value(versions))?;
        let Json(labels) = to_json("the labels", serde_json::to_value(labels))?;
        let mut both = serde_json::Map::new();
        both.insert("versions".into(), versions);
        both.insert("labels".into(), labels);
        Ok(Json(Value::Object(both)))
    }

    /// Moves a label through the hive (which logs the move as an event);
    /// answers the label as a dict.
    pub async fn move_label(&self, request: MoveLabel) -> PyResult<Json> {
        let hive = self.hive()?;
        let label = hive.move_label(request).await.py_err()?;
        to_json("the label", serde_json::to_value(label))
    }

    /// A label's moves, oldest first, as dicts.
    pub async fn label_history(&self, agent: String, label: String) -> PyResult<Json> {
        let hive = self.hive()?;
        let moves = hive.prompts().history(&agent, &label).await.py_err()?;
        to_json("the label's history", serde_json::to_value(moves))
    }

    /// The line diff from one prompt version to another, rendered: `  `
    /// kept, `- ` removed, `+ ` added.
    pub async fn diff_prompts(
        &self,
        old: PromptVersionId,
        new: PromptVersionId,
    ) -> PyResult<String> {
        let hive = self.hive()?;
        let old = hive.prompts().get(old).await.py_err()?;
        let new = hive.prompts().get(new).await.py_err()?;
        Ok(prompt::diff::render(&prompt::diff(&old.text, &new.text)))
    }

    /// Starts an experiment; answers it as a dict.
    pub async fn start_experiment(&self, new: NewExperiment) -> PyResult<Json> {
        let hive = self.hive()?;
        let experiment = hive.experiments().start(new).await.py_err()?;
        to_json("the experiment", serde_json::to_value(experiment))
    }

    /// An experiment with its figures on a look taken now, as a dict.
    pub async fn experiment(&self, id: ExperimentId) -> PyResult<Json> {
        let hive = self.hive()?;
        let report = hive.experiments().report(id).await.py_err()?;
        to_json("the experiment", serde_json::to_value(report))
    }

    /// Experiments of `agent` (every agent's when `None`), newest first,
    /// as dicts.
    pub async fn experiments(
        &self,
        agent: Option<String>,
        active_only: bool,
        limit: usize,
    ) -> PyResult<Json> {
        let hive = self.hive()?;
        let list = hive
            .experiments()
            .list(agent.as_deref(), active_only, limit)
            .await
            .py_err()?;
        to_json("the experiments", serde_json::to_value(list))
    }

    /// Stops an active experiment by hand; answers it as a dict.
    pub async fn stop_experiment(
        &self,
        id: ExperimentId,
        by: String,
        reason: Option<String>,
    ) -> PyResult<Json> {
        let hive = self.hive()?;
        let experiment = hive
            .experiments()
            .stop(id, &by, reason.as_deref())
            .await
            .py_err()?;
        to_json("the experiment", serde_json::to_value(experiment))
    }

    /// Approves the promotion of an experiment's winner; answers the
    /// experiment as a dict.
    pub async fn approve_experiment(&self, id: ExperimentId, by: String) -> PyResult<Json> {
        let hive = self.hive()?;
        let experiment = hive.experiments().approve(id, &by).await.py_err()?;
        to_json("the experiment", serde_json::to_value(experiment))
    }

    /// An experiment's assignments in the order made:
    /// `[{"task_id": ..., "arm": ...}]`.
    pub async fn experiment_assignments(&self, id: ExperimentId) -> PyResult<Json> {
        let hive = self.hive()?;
        // An unknown id is NotFound, not an empty list.
        hive.experiments().store().get(id).await.py_err()?;
        let assignments = hive.experiments().store().assignments(id).await.py_err()?;
        Ok(Json(Value::Array(
            assignments
                .into_iter()
                .map(|(task, arm)| {
                    let mut one = serde_json::Map::new();
                    one.insert("task_id".into(), Value::String(task.to_string()));
                    one.insert("arm".into(), Value::String(arm));
                    Value::Object(one)
                })
                .collect(),
        )))
    }

    /// Runs `meta` once on `agent`: answers the run's report (the
    /// proposals it wrote among it) as a dict.
    pub async fn run_meta_agent(&self, meta: MetaAgent, agent: String) -> PyResult<Json> {
        let hive = self.hive()?;
        let report = hive.run_meta_agent(&meta, &agent).await.py_err()?;
        to_json("the meta-agent's run", serde_json::to_value(report))
    }

    /// Proposals of `agent` (every agent's when `None`) in `status` (any
    /// when `None`), newest first, as dicts.
    pub async fn proposals(
        &self,
        agent: Option<String>,
        status: Option<ProposalStatus>,
        limit: usize,
    ) -> PyResult<Json> {
        let hive = self.hive()?;
        let list = hive
            .proposals()
            .list(agent.as_deref(), status, limit)
            .await
            .py_err()?;
        to_json("the proposals", serde_json::to_value(list))
    }

    /// One proposal, with its evidence, as a dict.
    pub async fn proposal(&self, id: ProposalId) -> PyResult<Json> {
        let hive = self.hive()?;
        let proposal = hive.proposals().get(id).await.py_err()?;
        to_json("the proposal", serde_json::to_value(proposal))
    }

    /// Approves a proposal waiting for it; answers it as a dict.
    pub async fn approve_proposal(&self, id: ProposalId, by: String) -> PyResult<Json> {
        let hive = self.hive()?;
        let proposal = hive.approve_proposal(id, &by).await.py_err()?;
        to_json("the proposal", serde_json::to_value(proposal))
    }

    /// Rejects a proposal (stopping its experiment, if one tries it);
    /// answers it as a dict.
    pub async fn reject_proposal(
        &self,
        id: ProposalId,
        by: String,
        reason: Option<String>,
    ) -> PyResult<Json> {
        let hive = self.hive()?;
        let proposal = hive
            .reject_proposal(id, &by, reason.as_deref())
            .await
            .py_err()?;
        to_json("the proposal", serde_json::to_value(proposal))
    }

    /// Lets the self-modifier change a repository (replacing one of the
    /// same name), and starts this process's self-modifier agent once.
    pub async fn add_repository(&self, config: RepositoryConfig) -> PyResult<()> {
        let hive = self.hive()?;
        hive.add_repository(config).await.py_err()
    }

    /// The repositories the self-modifier may change, by name:
    /// `[{"name": ..., "target": ..., "policy": {...}}]`.
    pub async fn repositories(&self) -> PyResult<Json> {
        let hive = self.hive()?;
        let mut list = Vec::new();
        for repo in hive.changes().repositories() {
            let Json(policy) = to_json("the policy", serde_json::to_value(&repo.policy))?;
            let mut one = serde_json::Map::new();
            one.insert("name".into(), Value::String(repo.name.clone()));
            one.insert("target".into(), Value::String(repo.target.clone()));
            one.insert("policy".into(), policy);
            list.push(Value::Object(one));
        }
        Ok(Json(Value::Array(list)))
    }

    /// Proposes a change set: stored, its first step queued; answers it as
    /// a dict.
    pub async fn propose_change(&self, new: NewChangeSet) -> PyResult<Json> {
        let hive = self.hive()?;
        let change = hive.changes().propose(new).await.py_err()?;
        to_json("the change set", serde_json::to_value(change))
    }

    /// Change sets of `repository` (every one's when `None`) in `status`
    /// (any when `None`), newest first, as dicts.
    pub async fn changes(
        &self,
        repository: Option<String>,
        status: Option<ChangeStatus>,
        limit: usize,
    ) -> PyResult<Json> {
        let hive = self.hive()?;
        let list = hive
            .changes()
            .list(repository.as_deref(), status, limit)
            .await
            .py_err()?;
        to_json("the change sets", serde_json::to_value(list))
    }

    /// One change set, with each step's log, as a dict.
    pub async fn change(&self, id: ChangeSetId) -> PyResult<Json> {
        let hive = self.hive()?;
        let change = hive.changes().get(id).await.py_err()?;
        to_json("the change set", serde_json::to_value(change))
    }

    /// Approves a change set waiting for one; answers it as a dict.
    pub async fn approve_change(
        &self,
        id: ChangeSetId,
        by: String,
        reason: String,
    ) -> PyResult<Json> {
        let hive = self.hive()?;
        let change = hive.changes().approve(id, &by, &reason).await.py_err()?;
        to_json("the change set", serde_json::to_value(change))
    }

    /// Rejects a change set that has not merged; answers it as a dict.
    pub async fn reject_change(
        &self,
        id: ChangeSetId,
        by: String,
        reason: String,
    ) -> PyResult<Json> {
        let hive = self.hive()?;
        let change = hive.changes().reject(id, &by, &reason).await.py_err()?;
        to_json("the change set", serde_json::to_value(change))
    }

    /// Reverts a merged change set by a new commit on its target; answers
    /// it as a dict.
    pub async fn revert_change(
        &self,
        id: ChangeSetId,
        by: String,
        reason: String,
    ) -> PyResult<Json> {
        let hive = self.hive()?;
        let change = hive.changes().revert(id, &by, &reason).await.py_err()?;
        to_json("the change set", serde_json::to_value(change))
    }

    /// Scores the tasks of `task_type` with `verifier` from now on
    /// (replacing any before).
    pub async fn set_verifier(
        &self,
        task_type: String,
        verifier: Arc<dyn hive_core::verify::Verifier>,
    ) -> PyResult<()> {
        let hive = self.hive()?;
        hive.verifiers().set(&task_type, verifier).py_err()
    }

    /// Stops scoring the tasks of `task_type`; answers whether a verifier
    /// was set.
    pub async fn remove_verifier(&self, task_type: String) -> PyResult<bool> {
        let hive = self.hive()?;
        Ok(hive.verifiers().remove(&task_type))
    }

    /// The verifiers set, by task type: `[{"task_type": ..., "kind": ...}]`.
    pub async fn verifiers(&self) -> PyResult<Json> {
        let hive = self.hive()?;
        Ok(Json(Value::Array(
            hive.verifiers()
                .task_types()
                .into_iter()
                .map(|(task_type, kind)| {
                    let mut one = serde_json::Map::new();
                    one.insert("task_type".into(), Value::String(task_type));
                    one.insert("kind".into(), Value::String(kind.into()));
                    Value::Object(one)
                })
                .collect(),
        )))
    }

    pub async fn agents(&self) -> PyResult<Json> {
        let hive = self.hive()?;
        let agents = hive
            .orchestrator()
            .list(&AgentFilter::default())
            .await
            .py_err()?;
        let value = serde_json::to_value(agents)
            .map_err(|e| hive_core::Error::invalid(format!("listing agents: {e}")))
            .py_err()?;
        Ok(Json(value))
    }

    pub async fn publish(&self, topic: String, kind: String, payload: Value) -> PyResult<u64> {
        let hive = self.hive()?;
        let topic = Topic::new(topic).py_err()?;
        let published = hive
            .broker()
            .publish(CoreMessage::new(topic, kind, payload))
            .await
            .py_err()?;
        Ok(published.offset.0)
    }

    pub async fn subscribe(
        self: Arc<Self>,
        spec: SubscriptionSpec,
    ) -> PyResult<Arc<SubscriptionCore>> {
        let hive = self.hive()?;
        let subscriber = Subscriber::new(hive.broker().clone(), spec, Default::default())
            .await
            .py_err()?;
        Ok(Arc::new(SubscriptionCore::new(self, subscriber)))
    }

    fn context(hive: &Hive) -> PyResult<&Arc<ContextEngine>> {
        hive.context().ok_or_else(|| {
            crate::errors::NotSupportedError::new_err("this hive has no context engine")
        })
    }

    pub async fn remember(&self, entry: NewEntry) -> PyResult<String> {
        let hive = self.hive()?;
        let stored = Self::context(&hive)?.remember(entry).await.py_err()?;
        Ok(stored.id().to_string())
    }

    pub async fn search(&self, request: SearchRequest) -> PyResult<Vec<Found>> {
        let hive = self.hive()?;
        let found = Self::context(&hive)?.search(&request).await.py_err()?;
        Ok(found.into_iter().map(Found::new).collect())
    }

    pub async fn forget(&self, id: String) -> PyResult<()> {
        let hive = self.hive()?;
        let id = id.parse().py_err()?;
        Self::context(&hive)?.forget(id).await.py_err()
    }
}

/// An agent this process runs, as `spawn_agent` answers it.
#[pyclass(frozen, get_all, module = "agent_hive._native")]
pub struct AgentHandle {
    /// Its registration id.
    pub id: String,
    /// Its name.
    pub name: String,
}

#[pymethods]
impl AgentHandle {
    fn __repr__(&self) -> String {
        format!("AgentHandle(id='{}', name='{}')", self.id, self.name)
    }
}

/// A declaration of kind `kind` from a `spawn_*_agent` call: its named
/// arguments, then `settings` (any other key of the declaration, as in
/// hive.toml's `[[agents]]`; unknown ones are refused by name).
pub fn declaration(
    kind: &str,
    name: String,
    named: Vec<(&str, Option<Value>)>,
    settings: Option<&Bound<'_, pyo3::types::PyDict>>,
) -> PyResult<Value> {
    let mut decl = match settings {
        Some(settings) => crate::json::object_to_json(Some(settings.as_any()), "settings")?,
        None => Value::Object(serde_json::Map::new()),
    };
    if let Value::Object(map) = &mut decl {
        map.insert("name".into(), Value::String(name));
        map.insert("kind".into(), Value::String(kind.into()));
        for (key, value) in named {
            if let Some(value) = value {
                map.insert(key.into(), value);
            }
        }
    }
    Ok(decl)
}

/// A context entry to store, from `remember`'s arguments.
pub fn new_entry(
    content: String,
    kind: Option<String>,
    importance: Option<f64>,
    agent: Option<String>,
    session: Option<String>,
    metadata: Value,
) -> PyResult<NewEntry> {
    let mut entry = NewEntry::text(content);
    if let Some(kind) = kind {
        entry.kind = Kind::new(kind).py_err()?;
    }
    if let Some(i) = importance {
        // Checked before narrowing to f32, where 1.0000000000000002 is 1.
        if !(0.0..=1.0).contains(&i) {
            return Err(hive_core::Error::invalid(format!(
                "importance {i} is outside [0, 1]"
            )))
            .py_err();
        }
        entry.importance = i as f32;
    }
    entry.agent = agent;
    entry.session = session;
    entry.metadata = metadata;
    Ok(entry)
}

/// A search from `search`'s arguments: the text, how many, and the
/// filters (`kinds` and `tiers` take one name or a list).
#[allow(clippy::too_many_arguments)]
pub fn search_request(
    text: String,
    k: usize,
    min_similarity: Option<f64>,
    agent: Option<String>,
    session: Option<String>,
    kinds: Option<&Bound<'_, PyAny>>,
    tiers: Option<&Bound<'_, PyAny>>,
    created_after: Option<chrono::DateTime<chrono::Utc>>,
    created_before: Option<chrono::DateTime<chrono::Utc>>,
    pinned: Option<bool>,
) -> PyResult<SearchRequest> {
    let mut request = SearchRequest::new(text, k);
    if let Some(t) = min_similarity {
        // Checked before narrowing to f32, as importance is.
        if !(-1.0..=1.0).contains(&t) {
            return Err(hive_core::Error::invalid(format!(
                "min_similarity {t} is outside [-1, 1]"
            )))
            .py_err();
        }
        request.min_similarity = Some(t as f32);
    }
    let filter = &mut request.filter;
    filter.agent = agent;
    filter.session = session;
    for kind in crate::task::strings(kinds, "kinds")? {
        filter.kinds.push(Kind::new(kind).py_err()?);
    }
    for tier in crate::task::strings(tiers, "tiers")? {
        filter.tiers.push(tier.parse().py_err()?);
    }
    filter.created_after = created_after;
    filter.created_before = created_before;
    filter.pinned = pinned;
    Ok(request)
}

/// The spec of an agent named `name` with `capabilities`.
pub fn agent_spec(name: &str, capabilities: Vec<String>) -> AgentSpec {
    AgentSpec::new(name, "python", capabilities)
}

/// How `spawn_agent` and `@hive.agent` run an agent: `concurrency` tasks at
/// once, of the types in `task_types` only (a `str`, a list, or `None` for
/// any type).
pub fn spawn_options(
    concurrency: usize,
    task_types: Option<&Bound<'_, PyAny>>,
) -> PyResult<SpawnOptions> {
    let types = crate::task::strings(task_types, "task_types")?;
    if let Some(bad) = types.iter().find(|t| t.is_empty()) {
        return Err(crate::errors::InvalidInputError::new_err(format!(
            "task_types must name task types, got {bad:?}"
        )));
    }
    Ok(SpawnOptions::default()
        .concurrency(concurrency)
        .task_types(types))
}

/// The name of the agent behind `task`'s worker, when it is one.
async fn agent_name(hive: &Hive, task: &CoreTask) -> PyResult<Option<String>> {
    match &task.worker {
        Some(worker) => hive.agent_name(worker).await.py_err(),
        None => Ok(None),
    }
}

/// Snapshots of `tasks`, each with its agent's name, asking the registry
/// once per worker.
async fn named(hive: &Hive, tasks: Vec<CoreTask>) -> PyResult<Vec<Task>> {
    let mut names: std::collections::HashMap<String, Option<String>> = Default::default();
    let mut out = Vec::with_capacity(tasks.len());
    for task in tasks {
        let name = match &task.worker {
            None => None,
            Some(worker) => match names.get(worker) {
                Some(name) => name.clone(),
                None => {
                    let name = hive.agent_name(worker).await.py_err()?;
                    names.insert(worker.clone(), name.clone());
                    name
                }
            },
        };
        out.push(Task::named(task, name));
    }
    Ok(out)
}

/// `value` as a JSON value for Python.
fn to_json(what: &str, value: serde_json::Result<Value>) -> PyResult<Json> {
    value
        .map(Json)
        .map_err(|e| hive_core::Error::invalid(format!("reading {what}: {e}")))
        .py_err()
}
