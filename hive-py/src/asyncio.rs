//! `AsyncHive`: the asyncio API. The same operations as `Hive`, each
//! answering an awaitable that runs on the shared Tokio runtime.

use std::sync::Arc;

use chrono::{DateTime, Utc};
use hive_core::queue::TaskOrder;
use hive_core::verify::Verifier;
use pyo3::prelude::*;
use pyo3::types::{PyCFunction, PyDict, PyType};

use crate::agent::PyAgent;
use crate::blocking::subscription_spec;
use crate::changes::{new_change_set, parse_change_id, parse_change_status, repository_config};
use crate::core::{
    agent_spec, declaration, new_entry, search_request, spawn_options, Backend, Core, Options,
};
use crate::decorator::agent_decorator;
use crate::json;
use crate::messages::AsyncSubscription;
use crate::meta::{parse_proposal_id, parse_status, MetaArgs};
use crate::outcomes::outcome_filter;
use crate::prompts::{
    move_label_request, new_prompt_version, parse_experiment_id, parse_version_id, ExperimentArgs,
};
use crate::runtime::awaitable;
use crate::task::{self, SubmitArgs};
use crate::verify::{self, PyVerifier};

/// A hive, used with `await`.
#[pyclass(frozen, module = "agent_hive._native")]
pub struct AsyncHive {
    core: Arc<Core>,
}

impl AsyncHive {
    fn open(py: Python<'_>, backend: Backend, options: Options) -> PyResult<Bound<'_, PyAny>> {
        awaitable(py, async move {
            let core = Core::open(backend, options).await?;
            Ok(AsyncHive { core })
        })
    }
}

/// The running loop of the caller: an `AsyncHive`'s `async def` agents run
/// on it.
fn running_loop(py: Python<'_>) -> PyResult<Bound<'_, PyAny>> {
    pyo3_async_runtimes::get_running_loop(py)
}

#[pymethods]
impl AsyncHive {
    /// A hive on the embedded default: one SQLite file at `path`.
    #[classmethod]
    #[pyo3(signature = (path=None, *, context=true, lease=None, heartbeat_every=None, unhealthy_after=None, dead_after=None, retain_finished=None, retain_dead_letters=None))]
    #[allow(clippy::too_many_arguments)]
    fn embedded<'py>(
        _cls: &Bound<'py, PyType>,
        py: Python<'py>,
        path: Option<std::path::PathBuf>,
        context: bool,
        lease: Option<f64>,
        heartbeat_every: Option<f64>,
        unhealthy_after: Option<f64>,
        dead_after: Option<f64>,
        retain_finished: Option<f64>,
        retain_dead_letters: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = Options {
            context,
            lease,
            heartbeat_every,
            unhealthy_after,
            dead_after,
            allow_redis_eviction: false,
            retain_finished,
            retain_dead_letters,
        };
        AsyncHive::open(py, Backend::embedded(path), options)
    }

    /// A hive in memory: nothing is kept.
    #[classmethod]
    #[pyo3(signature = (*, context=true, lease=None, heartbeat_every=None, unhealthy_after=None, dead_after=None, retain_finished=None, retain_dead_letters=None))]
    #[allow(clippy::too_many_arguments)]
    fn memory<'py>(
        _cls: &Bound<'py, PyType>,
        py: Python<'py>,
        context: bool,
        lease: Option<f64>,
        heartbeat_every: Option<f64>,
        unhealthy_after: Option<f64>,
        dead_after: Option<f64>,
        retain_finished: Option<f64>,
        retain_dead_letters: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = Options {
            context,
            lease,
            heartbeat_every,
            unhealthy_after,
            dead_after,
            allow_redis_eviction: false,
            retain_finished,
            retain_dead_letters,
        };
        AsyncHive::open(py, Backend::Memory, options)
    }

    /// A hive on Redis and Postgres, shared with every process using them.
    #[classmethod]
    #[pyo3(signature = (*, redis_url, database_url, context=true, lease=None, heartbeat_every=None, unhealthy_after=None, dead_after=None, allow_redis_eviction=false, retain_finished=None, retain_dead_letters=None))]
    #[allow(clippy::too_many_arguments)]
    fn connect<'py>(
        _cls: &Bound<'py, PyType>,
        py: Python<'py>,
        redis_url: String,
        database_url: String,
        context: bool,
        lease: Option<f64>,
        heartbeat_every: Option<f64>,
        unhealthy_after: Option<f64>,
        dead_after: Option<f64>,
        allow_redis_eviction: bool,
        retain_finished: Option<f64>,
        retain_dead_letters: Option<f64>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = Options {
            context,
            lease,
            heartbeat_every,
            unhealthy_after,
            dead_after,
            allow_redis_eviction,
            retain_finished,
            retain_dead_letters,
        };
        let backend = Backend::Distributed {
            redis: redis_url,
            postgres: database_url,
        };
        AsyncHive::open(py, backend, options)
    }

    /// Stops this process's agents and closes the hive. Idempotent.
    fn close<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.close().await })
    }

    /// Whether `close` ran.
    #[getter]
    fn closed(&self) -> bool {
        self.core.is_closed()
    }

    fn __aenter__<'py>(slf: Bound<'py, Self>) -> PyResult<Bound<'py, PyAny>> {
        let py = slf.py();
        let me = slf.unbind();
        awaitable(py, async move { Ok(me) })
    }

    fn __aexit__<'py>(
        &self,
        py: Python<'py>,
        _exc_type: Option<Bound<'py, PyAny>>,
        _exc: Option<Bound<'py, PyAny>>,
        _tb: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        self.close(py)
    }

    /// Submits a task; answers its id.
    #[pyo3(signature = (task_type, payload=None, *, priority=None, capabilities=None, depends_on=None, delay=None, max_attempts=None, timeout=None, idempotency_key=None, traceparent=None))]
    #[allow(clippy::too_many_arguments)]
    fn submit<'py>(
        &self,
        py: Python<'py>,
        task_type: String,
        payload: Option<Bound<'py, PyAny>>,
        priority: Option<Bound<'py, PyAny>>,
        capabilities: Option<Bound<'py, PyAny>>,
        depends_on: Option<Bound<'py, PyAny>>,
        delay: Option<f64>,
        max_attempts: Option<u32>,
        timeout: Option<f64>,
        idempotency_key: Option<String>,
        traceparent: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let task = SubmitArgs {
            task_type,
            payload,
            priority,
            capabilities,
            depends_on,
            delay,
            max_attempts,
            timeout,
            idempotency_key,
            traceparent,
        }
        .into_new_task()?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.submit(task).await })
    }

    /// The task `task_id` now.
    fn get<'py>(&self, py: Python<'py>, task_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = task::task_id(task_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.get(id).await })
    }

    /// Waits until the task is completed, failed or cancelled.
    #[pyo3(signature = (task_id, timeout=30.0))]
    fn wait<'py>(
        &self,
        py: Python<'py>,
        task_id: &str,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = task::task_id(task_id)?;
        let timeout = task::seconds("timeout", timeout)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.wait(id, timeout).await })
    }

    /// Waits for the task and answers its result.
    #[pyo3(signature = (task_id, timeout=30.0))]
    fn result<'py>(
        &self,
        py: Python<'py>,
        task_id: &str,
        timeout: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = task::task_id(task_id)?;
        let timeout = task::seconds("timeout", timeout)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.result(id, timeout).await })
    }

    /// The task's counted attempts, oldest first: worker, agent name,
    /// start, end, outcome and error of each.
    fn attempts<'py>(&self, py: Python<'py>, task_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = task::task_id(task_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.attempts(id).await })
    }

    /// Cancels a task that has not finished.
    fn cancel<'py>(&self, py: Python<'py>, task_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = task::task_id(task_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.cancel(id).await })
    }

    /// Tasks, oldest first (or newest first), filtered by status and type,
    /// paged by `after`.
    #[pyo3(signature = (*, status=None, task_type=None, limit=100, after=None, newest_first=false))]
    #[allow(clippy::too_many_arguments)]
    fn list_tasks<'py>(
        &self,
        py: Python<'py>,
        status: Option<Bound<'py, PyAny>>,
        task_type: Option<String>,
        limit: usize,
        after: Option<&str>,
        newest_first: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let filter =
            task::filter(status.as_ref(), task_type, limit, after)?.order(if newest_first {
                TaskOrder::NewestFirst
            } else {
                TaskOrder::OldestFirst
            });
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.list_tasks(filter).await })
    }

    /// Tasks per status.
    fn stats<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.stats().await })
    }

    /// Dead-lettered tasks, newest first.
    #[pyo3(signature = (limit=100))]
    fn dead_letters<'py>(&self, py: Python<'py>, limit: usize) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.dead_letters(limit).await })
    }

    /// Runs `function` as an agent in this process; answers its handle.
    /// An `async def` runs on the caller's event loop.
    #[pyo3(signature = (function, name, capabilities, *, concurrency=1, task_types=None))]
    fn spawn_agent<'py>(
        &self,
        py: Python<'py>,
        function: Bound<'py, PyAny>,
        name: &str,
        capabilities: Bound<'py, PyAny>,
        concurrency: usize,
        task_types: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let options = spawn_options(concurrency, task_types.as_ref())?;
        let spec = agent_spec(name, task::strings(Some(&capabilities), "capabilities")?);
        let agent = PyAgent::new(py, spec, function, running_loop)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.spawn_agent(agent, options).await })
    }

    /// A decorator: `@hive.agent("name", capabilities=[...])` runs the
    /// function as an agent (an `async def` on the running loop) and gives
    /// it back.
    #[pyo3(signature = (name, capabilities, *, concurrency=1, task_types=None))]
    fn agent<'py>(
        &self,
        py: Python<'py>,
        name: String,
        capabilities: Bound<'py, PyAny>,
        concurrency: usize,
        task_types: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyCFunction>> {
        let capabilities = task::strings(Some(&capabilities), "capabilities")?;
        let options = spawn_options(concurrency, task_types.as_ref())?;
        agent_decorator(
            py,
            Arc::clone(&self.core),
            name,
            capabilities,
            options,
            running_loop,
        )
    }

    /// Spawns an LLM agent in this process (a coroutine), as a `[[agents]]` entry of
    /// hive.toml with `kind = "llm"` would: `provider` is `"anthropic"` or
    /// `"openai"` (any OpenAI-compatible server by `base_url`); the key is
    /// read from the environment variable named by `api_key_env`, never
    /// passed. Other settings (`base_url`, `api_key_env`,
    /// `system_prompt_file`, `prompt_version`, `max_tokens`,
    /// `temperature`, `max_turns`, `workspace`, `tools`, `timeout_secs`,
    /// `concurrency`, `task_types`, `max_restarts`, `lease_secs`) go in
    /// `settings`.
    #[pyo3(signature = (name, *, provider, model, system_prompt=None, capabilities=None, **settings))]
    #[allow(clippy::too_many_arguments)]
    fn spawn_llm_agent<'py>(
        &self,
        py: Python<'py>,
        name: String,
        provider: String,
        model: String,
        system_prompt: Option<String>,
        capabilities: Option<Vec<String>>,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let decl = declaration(
            "llm",
            name,
            vec![
                ("provider", Some(provider.into())),
                ("model", Some(model.into())),
                ("system_prompt", system_prompt.map(Into::into)),
                ("capabilities", capabilities.map(Into::into)),
            ],
            settings,
        )?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.spawn_declared(decl).await })
    }

    /// Spawns a coding-CLI agent in this process (a coroutine) (Claude Code headless by
    /// default) working in a fresh git worktree of `repo` per task, as a
    /// `[[agents]]` entry with `kind = "cli"` would. Other settings
    /// (`base_branch`, `command`, `timeout_secs`, `env`, `worktree_dir`,
    /// `keep_worktrees`, `commit_changes`, `concurrency`, `task_types`,
    /// `max_restarts`, `lease_secs`) go in `settings`.
    #[pyo3(signature = (name, *, repo, capabilities=None, **settings))]
    fn spawn_cli_agent<'py>(
        &self,
        py: Python<'py>,
        name: String,
        repo: std::path::PathBuf,
        capabilities: Option<Vec<String>>,
        settings: Option<&Bound<'_, PyDict>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let decl = declaration(
            "cli",
            name,
            vec![
                ("repo", Some(repo.display().to_string().into())),
                ("capabilities", capabilities.map(Into::into)),
            ],
            settings,
        )?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.spawn_declared(decl).await })
    }

    /// Deletes now what retention lets go, as the hive's timer does every
    /// minute; answers what went (a coroutine).
    fn purge_expired<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.purge_expired().await })
    }

    /// Stops one of this process's agents (its running task finishes first).
    fn stop_agent<'py>(&self, py: Python<'py>, agent_id: String) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.stop_agent(agent_id).await })
    }

    /// Success rate, latency, retries, dead letters and spend of the
    /// outcomes that pass the filter, one dict per group (a coroutine).
    #[pyo3(signature = (group_by="all", *, agent=None, task_type=None, prompt_version=None, experiment=None, since=None, until=None))]
    #[allow(clippy::too_many_arguments)]
    fn metrics<'py>(
        &self,
        py: Python<'py>,
        group_by: &str,
        agent: Option<String>,
        task_type: Option<String>,
        prompt_version: Option<String>,
        experiment: Option<String>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        let filter = outcome_filter(agent, task_type, prompt_version, experiment, since, until);
        awaitable(py, {
            let group_by = group_by.to_string();
            async move { core.metrics(filter, group_by).await }
        })
    }

    /// The outcomes of finished tasks that pass the filter, newest first,
    /// as dicts (a coroutine).
    #[pyo3(signature = (*, agent=None, task_type=None, prompt_version=None, experiment=None, since=None, until=None, limit=100))]
    #[allow(clippy::too_many_arguments)]
    fn outcomes<'py>(
        &self,
        py: Python<'py>,
        agent: Option<String>,
        task_type: Option<String>,
        prompt_version: Option<String>,
        experiment: Option<String>,
        since: Option<DateTime<Utc>>,
        until: Option<DateTime<Utc>>,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        let filter = outcome_filter(agent, task_type, prompt_version, experiment, since, until);
        awaitable(py, async move { core.outcomes(filter, limit).await })
    }

    /// Stores a version of `agent`'s prompt written by `author` (the same
    /// text as one of the agent's versions answers that version); answers
    /// it as a dict (a coroutine).
    #[pyo3(signature = (agent, text, author, *, parent=None, rationale=None, by_optimiser=false))]
    #[allow(clippy::too_many_arguments)]
    fn create_prompt<'py>(
        &self,
        py: Python<'py>,
        agent: String,
        text: String,
        author: String,
        parent: Option<&str>,
        rationale: Option<String>,
        by_optimiser: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let new = new_prompt_version(agent, text, author, parent, rationale, by_optimiser)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.create_prompt(new).await })
    }

    /// The prompt version `version_id`, as a dict (a coroutine).
    fn prompt<'py>(&self, py: Python<'py>, version_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_version_id(version_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.prompt(id).await })
    }

    /// `agent`'s prompt versions (oldest first) and labels (by name), as
    /// `{"versions": [...], "labels": [...]}` (a coroutine).
    fn prompts<'py>(&self, py: Python<'py>, agent: String) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.prompts(agent).await })
    }

    /// Points `agent`'s `label` at `version`, moved by `by` (a protected
    /// label needs `approved_by`, someone else); logs the move as an event
    /// and answers the label as a dict (a coroutine).
    #[pyo3(signature = (agent, label, version, by, *, approved_by=None, reason=None))]
    #[allow(clippy::too_many_arguments)]
    fn move_label<'py>(
        &self,
        py: Python<'py>,
        agent: String,
        label: String,
        version: &str,
        by: String,
        approved_by: Option<String>,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = move_label_request(agent, label, version, by, approved_by, reason)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.move_label(request).await })
    }

    /// Every move of `agent`'s `label`, oldest first, as dicts (a
    /// coroutine).
    fn label_history<'py>(
        &self,
        py: Python<'py>,
        agent: String,
        label: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.label_history(agent, label).await })
    }

    /// The line diff from one prompt version to another: `  ` kept, `- `
    /// removed, `+ ` added, one line each (a coroutine).
    fn diff_prompts<'py>(
        &self,
        py: Python<'py>,
        old_version_id: &str,
        new_version_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let old = parse_version_id(old_version_id)?;
        let new = parse_version_id(new_version_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.diff_prompts(old, new).await })
    }

    /// Starts an experiment trying the prompt versions `variants` of
    /// `agent` against the version `label` points at; answers it as a dict
    /// (a coroutine).
    #[pyo3(signature = (agent, variants, started_by, *, label="production", control=None, metric="success", alpha=0.05, min_samples=20, max_samples=1000, watch_samples=200, watch_holdback=0.2, max_cost_increase=None, max_p95_increase=None, max_error_rate_increase=None, thompson_burn_in=None, weights=None, seed=None, approved_by=None))]
    #[allow(clippy::too_many_arguments)]
    fn start_experiment<'py>(
        &self,
        py: Python<'py>,
        agent: String,
        variants: Vec<String>,
        started_by: String,
        label: &str,
        control: Option<String>,
        metric: &str,
        alpha: f64,
        min_samples: u64,
        max_samples: u64,
        watch_samples: u64,
        watch_holdback: f64,
        max_cost_increase: Option<f64>,
        max_p95_increase: Option<f64>,
        max_error_rate_increase: Option<f64>,
        thompson_burn_in: Option<u64>,
        weights: Option<Vec<f64>>,
        seed: Option<u64>,
        approved_by: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let new = ExperimentArgs {
            agent,
            variants,
            started_by,
            label: label.to_owned(),
            control,
            metric: metric.to_owned(),
            alpha,
            min_samples,
            max_samples,
            watch_samples,
            watch_holdback,
            max_cost_increase,
            max_p95_increase,
            max_error_rate_increase,
            thompson_burn_in,
            weights,
            seed,
            approved_by,
        }
        .into_new_experiment()?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.start_experiment(new).await })
    }

    /// The experiment `experiment_id` with its figures now: `experiment`,
    /// `arms` (per arm), `watch`, `assigned`, `observations` (a coroutine).
    fn experiment<'py>(&self, py: Python<'py>, experiment_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_experiment_id(experiment_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.experiment(id).await })
    }

    /// Experiments of `agent` (every agent's when `None`), newest first,
    /// only the active ones when `active_only`, as dicts (a coroutine).
    #[pyo3(signature = (agent=None, *, active_only=false, limit=100))]
    fn experiments<'py>(
        &self,
        py: Python<'py>,
        agent: Option<String>,
        active_only: bool,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move {
            core.experiments(agent, active_only, limit).await
        })
    }

    /// Stops an active experiment by hand (no label moves); answers it (a
    /// coroutine).
    #[pyo3(signature = (experiment_id, by, *, reason=None))]
    fn stop_experiment<'py>(
        &self,
        py: Python<'py>,
        experiment_id: &str,
        by: String,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_experiment_id(experiment_id)?;
        let core = Arc::clone(&self.core);
        awaitable(
            py,
            async move { core.stop_experiment(id, by, reason).await },
        )
    }

    /// Approves the promotion of a winner awaiting approval (`by` is not
    /// its starter): the label moves and the watch begins; answers it (a
    /// coroutine).
    fn approve_experiment<'py>(
        &self,
        py: Python<'py>,
        experiment_id: &str,
        by: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_experiment_id(experiment_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.approve_experiment(id, by).await })
    }

    /// The experiment's tasks and their arms, in the order assigned:
    /// `[{"task_id": ..., "arm": ...}]` (a coroutine).
    fn experiment_assignments<'py>(
        &self,
        py: Python<'py>,
        experiment_id: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_experiment_id(experiment_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.experiment_assignments(id).await })
    }

    /// Scores completed tasks of `task_type` with `function(task, result)`
    /// from now on (replacing any verifier before) (a coroutine): `task` as agents
    /// get it, `result` a dict, and the answer a number written into the
    /// result as `score` (with `verifier` = `"function"`) and into the
    /// task's outcome. A function that raises or answers something else
    /// leaves the task unscored. An `async def` runs on the caller's event loop.
    fn set_verifier<'py>(
        &self,
        py: Python<'py>,
        task_type: String,
        function: Bound<'py, PyAny>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let task_type = verify::task_type(task_type)?;
        let verifier: Arc<dyn Verifier> = Arc::new(PyVerifier::new(py, function, running_loop)?);
        let core = Arc::clone(&self.core);
        awaitable(
            py,
            async move { core.set_verifier(task_type, verifier).await },
        )
    }

    /// Scores completed tasks of `task_type` with a program (a coroutine): `argv`
    /// run in `cwd` with `HIVE_VERIFY_INPUT` (a JSON file of the task and
    /// result) and `HIVE_RESULT_TEXT` (the result's `text`) set, for at
    /// most `timeout_secs`; the first number of its last line is the score.
    /// A non-zero exit or no number leaves the task unscored.
    #[pyo3(signature = (task_type, argv, *, cwd=std::path::PathBuf::from("."), timeout_secs=60.0))]
    fn set_command_verifier<'py>(
        &self,
        py: Python<'py>,
        task_type: String,
        argv: Vec<String>,
        cwd: std::path::PathBuf,
        timeout_secs: f64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let task_type = verify::task_type(task_type)?;
        let verifier = verify::command_verifier(argv, cwd, timeout_secs)?;
        let core = Arc::clone(&self.core);
        awaitable(
            py,
            async move { core.set_verifier(task_type, verifier).await },
        )
    }

    /// Scores completed tasks of `task_type` with a judge model (a coroutine):
    /// `model` of `provider` (`"openai"` or `"anthropic"`, at `base_url`
    /// when given, its key read from the variable `api_key_env`) is shown
    /// the task's prompt and the answer and grades it by `rubric`; the
    /// first number of its reply is the score.
    #[pyo3(signature = (task_type, *, provider, model, rubric, base_url=None, api_key_env=None))]
    #[allow(clippy::too_many_arguments)]
    fn set_judge_verifier<'py>(
        &self,
        py: Python<'py>,
        task_type: String,
        provider: &str,
        model: &str,
        rubric: &str,
        base_url: Option<String>,
        api_key_env: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let task_type = verify::task_type(task_type)?;
        let verifier = verify::judge_verifier(provider, model, rubric, base_url, api_key_env)?;
        let core = Arc::clone(&self.core);
        awaitable(
            py,
            async move { core.set_verifier(task_type, verifier).await },
        )
    }

    /// Stops scoring tasks of `task_type`; answers whether a verifier was
    /// set (a coroutine).
    fn remove_verifier<'py>(
        &self,
        py: Python<'py>,
        task_type: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.remove_verifier(task_type).await })
    }

    /// The verifiers set, sorted by task type (a coroutine): one dict
    /// `{"task_type", "kind"}` each, `kind` being `"function"`,
    /// `"command"` or `"judge"`.
    fn verifiers<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.verifiers().await })
    }

    /// Runs the meta-agent once on `agent`: it reads the agent's failed
    /// tasks and metrics, asks the model named by `provider` and `model`
    /// for a better prompt, and writes proposals; answers the run's report
    /// as a dict (a coroutine). The key is read from the environment
    /// variable named by `api_key_env`, never passed.
    #[pyo3(signature = (agent, *, provider, model, base_url=None, api_key_env=None, timeout_secs=None, calls_per_day=20, usd_per_day=None, must_keep=None, label="production", min_samples=20, max_samples=500))]
    #[allow(clippy::too_many_arguments)]
    fn run_meta_agent<'py>(
        &self,
        py: Python<'py>,
        agent: String,
        provider: String,
        model: String,
        base_url: Option<String>,
        api_key_env: Option<String>,
        timeout_secs: Option<f64>,
        calls_per_day: u64,
        usd_per_day: Option<f64>,
        must_keep: Option<Vec<String>>,
        label: &str,
        min_samples: u64,
        max_samples: u64,
    ) -> PyResult<Bound<'py, PyAny>> {
        let meta = MetaArgs {
            provider,
            model,
            base_url,
            api_key_env,
            timeout_secs,
            calls_per_day,
            usd_per_day,
            must_keep,
            label: label.to_owned(),
            min_samples,
            max_samples,
        }
        .into_meta_agent()?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.run_meta_agent(meta, agent).await })
    }

    /// The meta-agent's proposals for `agent` (every agent's when `None`),
    /// only those in `status` when given, newest first, as dicts (a
    /// coroutine).
    #[pyo3(signature = (agent=None, *, status=None, limit=100))]
    fn proposals<'py>(
        &self,
        py: Python<'py>,
        agent: Option<String>,
        status: Option<&str>,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let status = parse_status(status)?;
        let core = Arc::clone(&self.core);
        awaitable(
            py,
            async move { core.proposals(agent, status, limit).await },
        )
    }

    /// The proposal `proposal_id`, with its evidence, as a dict (a
    /// coroutine).
    fn proposal<'py>(&self, py: Python<'py>, proposal_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_proposal_id(proposal_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.proposal(id).await })
    }

    /// Approves a proposal waiting for it (`by` is not its author): a
    /// configuration or code change is marked approved, a prompt whose
    /// experiment could not start starts it; answers it (a coroutine).
    fn approve_proposal<'py>(
        &self,
        py: Python<'py>,
        proposal_id: &str,
        by: String,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_proposal_id(proposal_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.approve_proposal(id, by).await })
    }

    /// Rejects a proposal not yet decided (a prompt being tried has its
    /// experiment stopped); answers it (a coroutine).
    #[pyo3(signature = (proposal_id, by, *, reason=None))]
    fn reject_proposal<'py>(
        &self,
        py: Python<'py>,
        proposal_id: &str,
        by: String,
        reason: Option<String>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_proposal_id(proposal_id)?;
        let core = Arc::clone(&self.core);
        awaitable(
            py,
            async move { core.reject_proposal(id, by, reason).await },
        )
    }

    /// Lets the self-modifier change the git repository at `path` under
    /// the name `name`: change sets merge into its branch `target` after
    /// the gates its policy sets. `policy` is the policy file's TOML text
    /// (`Path("hive-policy.toml").read_text()` gives it), read strictly:
    /// an unknown key raises `InvalidInputError` naming it. `coder` is the
    /// coding command (a program and its arguments, `{prompt}` replaced by
    /// a change set's prompt) that writes the change sets proposed with a
    /// prompt; without it only patches are taken. Adding a repository of
    /// the same name replaces it. Starts this process's self-modifier
    /// agent (once), which runs change sets' steps (a coroutine).
    #[pyo3(signature = (name, path, policy, target="main", coder=None))]
    fn add_repository<'py>(
        &self,
        py: Python<'py>,
        name: String,
        path: std::path::PathBuf,
        policy: &str,
        target: &str,
        coder: Option<Vec<String>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let config = repository_config(name, path, policy, target.to_owned(), coder)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.add_repository(config).await })
    }

    /// The repositories the self-modifier may change, by name, as dicts:
    /// `name`, `target` and `policy` (the policy with its defaults filled
    /// in) (a coroutine).
    fn repositories<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.repositories().await })
    }

    /// Proposes a change to `repository` titled `title` (one line, the
    /// commit's subject): exactly one of `patch` (a unified diff, as `git
    /// diff` prints it) and `prompt` (for the repository's coding
    /// command). `description` is the commit's body, `proposal` the
    /// meta-agent's proposal it carries out. It is stored and goes through
    /// its gates on its own; answers it, `"running"`, as a dict (poll
    /// `change` for where it stands) (a coroutine).
    #[pyo3(signature = (repository, title, *, patch=None, prompt=None, description="", proposal=None))]
    #[allow(clippy::too_many_arguments)]
    fn propose_change<'py>(
        &self,
        py: Python<'py>,
        repository: String,
        title: String,
        patch: Option<String>,
        prompt: Option<String>,
        description: &str,
        proposal: Option<&str>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let new = new_change_set(
            repository,
            title,
            patch,
            prompt,
            description.to_owned(),
            proposal,
        )?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.propose_change(new).await })
    }

    /// Change sets of `repository` (every one's when `None`), only those
    /// in `status` when given (`running`, `awaiting_approval`, `watching`,
    /// `done`, `rejected`, `reverted` or `failed`), newest first, at most
    /// `limit` (1 to 1000), as dicts (a coroutine).
    #[pyo3(signature = (repository=None, status=None, limit=100))]
    fn changes<'py>(
        &self,
        py: Python<'py>,
        repository: Option<String>,
        status: Option<&str>,
        limit: usize,
    ) -> PyResult<Bound<'py, PyAny>> {
        let status = parse_change_status(status)?;
        let core = Arc::clone(&self.core);
        awaitable(
            py,
            async move { core.changes(repository, status, limit).await },
        )
    }

    /// The change set `change_id`, with each step's log, its diff
    /// statistics, the static verdict, the decision and the merge, as a
    /// dict (a coroutine).
    fn change<'py>(&self, py: Python<'py>, change_id: &str) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_change_id(change_id)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.change(id).await })
    }

    /// Approves a critical change set waiting for an approval (`by` is
    /// who approves, recorded with `reason`): it goes on to its merge;
    /// answers it (a coroutine). `ConflictError` when it is not waiting.
    #[pyo3(signature = (change_id, by, reason=""))]
    fn approve_change<'py>(
        &self,
        py: Python<'py>,
        change_id: &str,
        by: String,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_change_id(change_id)?;
        let reason = reason.to_owned();
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.approve_change(id, by, reason).await })
    }

    /// Rejects a change set that has not merged (`by` is who rejects,
    /// recorded with `reason`); its target never moves; answers it (a
    /// coroutine). `ConflictError` when it has merged or ended.
    #[pyo3(signature = (change_id, by, reason=""))]
    fn reject_change<'py>(
        &self,
        py: Python<'py>,
        change_id: &str,
        by: String,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_change_id(change_id)?;
        let reason = reason.to_owned();
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.reject_change(id, by, reason).await })
    }

    /// Reverts a merged change set by a new commit on its target (`by` is
    /// who asks, recorded with `reason`); answers it, `"reverted"` (a
    /// coroutine). `ConflictError` when it has not merged, was reverted,
    /// or the revert does not apply cleanly.
    #[pyo3(signature = (change_id, by, reason=""))]
    fn revert_change<'py>(
        &self,
        py: Python<'py>,
        change_id: &str,
        by: String,
        reason: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let id = parse_change_id(change_id)?;
        let reason = reason.to_owned();
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.revert_change(id, by, reason).await })
    }

    /// The fleet's agents (every process's), as dicts.
    fn agents<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.agents().await })
    }

    /// Publishes a message; answers its offset in the topic.
    #[pyo3(signature = (topic, payload=None, *, kind="message"))]
    fn publish<'py>(
        &self,
        py: Python<'py>,
        topic: String,
        payload: Option<Bound<'py, PyAny>>,
        kind: &str,
    ) -> PyResult<Bound<'py, PyAny>> {
        let kind = kind.to_owned();
        let payload = json::object_to_json(payload.as_ref(), "payload")?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.publish(topic, kind, payload).await })
    }

    /// Opens (or resumes) the durable subscription `name`.
    #[pyo3(signature = (name, patterns, *, from_beginning=false))]
    fn subscribe<'py>(
        &self,
        py: Python<'py>,
        name: String,
        patterns: Bound<'py, PyAny>,
        from_beginning: bool,
    ) -> PyResult<Bound<'py, PyAny>> {
        let spec = subscription_spec(name, &patterns, from_beginning)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move {
            let inner = core.subscribe(spec).await?;
            Ok(AsyncSubscription::new(inner))
        })
    }

    /// Stores a text in the context store; answers the entry's id.
    #[pyo3(signature = (content, *, kind=None, importance=None, agent=None, session=None, metadata=None))]
    #[allow(clippy::too_many_arguments)]
    fn remember<'py>(
        &self,
        py: Python<'py>,
        content: String,
        kind: Option<String>,
        importance: Option<f64>,
        agent: Option<String>,
        session: Option<String>,
        metadata: Option<Bound<'py, PyAny>>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let metadata = json::object_to_json(metadata.as_ref(), "metadata")?;
        let entry = new_entry(content, kind, importance, agent, session, metadata)?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.remember(entry).await })
    }

    /// The `k` stored texts nearest in meaning to `text`, best first.
    #[pyo3(signature = (text, k=5, *, min_similarity=None, agent=None, session=None, kinds=None, tiers=None, created_after=None, created_before=None, pinned=None))]
    #[allow(clippy::too_many_arguments)]
    fn search<'py>(
        &self,
        py: Python<'py>,
        text: String,
        k: usize,
        min_similarity: Option<f64>,
        agent: Option<String>,
        session: Option<String>,
        kinds: Option<Bound<'py, PyAny>>,
        tiers: Option<Bound<'py, PyAny>>,
        created_after: Option<chrono::DateTime<chrono::Utc>>,
        created_before: Option<chrono::DateTime<chrono::Utc>>,
        pinned: Option<bool>,
    ) -> PyResult<Bound<'py, PyAny>> {
        let request = search_request(
            text,
            k,
            min_similarity,
            agent,
            session,
            kinds.as_ref(),
            tiers.as_ref(),
            created_after,
            created_before,
            pinned,
        )?;
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.search(request).await })
    }

    /// Removes a context entry.
    fn forget<'py>(&self, py: Python<'py>, entry_id: String) -> PyResult<Bound<'py, PyAny>> {
        let core = Arc::clone(&self.core);
        awaitable(py, async move { core.forget(entry_id).await })
    }

    fn __repr__(&self) -> String {
        format!("AsyncHive(closed={})", self.core.is_closed())
    }
}
