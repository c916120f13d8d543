//! Tasks as Python sees them: the `Task` snapshot, its `Attempt`s, the
//! `Priority` levels, and the reading of `submit`'s and `list_tasks`'
//! arguments.

use std::time::Duration;

use chrono::{DateTime, Utc};
use hive_core::hive::NamedAttempt;
use hive_core::queue::{NewTask, Task as CoreTask, TaskFilter, TaskId, TaskPriority, TaskStatus};
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::{PyList, PyString};
use serde_json::Value;

use crate::errors::IntoPy;
use crate::json;

/// How urgent a task is: 1 is served first.
#[pyclass(eq, eq_int, frozen, module = "agent_hive._native")]
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[allow(clippy::upper_case_acronyms)]
pub enum Priority {
    CRITICAL = 1,
    HIGH = 3,
    NORMAL = 5,
    LOW = 7,
    BACKGROUND = 9,
}

#[pymethods]
impl Priority {
    /// The number, 1–9.
    #[getter]
    fn level(&self) -> u8 {
        *self as u8
    }
}

/// A `Priority` or an `int` from 1 to 9.
pub fn priority(value: Option<&Bound<'_, PyAny>>) -> PyResult<TaskPriority> {
    let Some(value) = value else {
        return Ok(TaskPriority::NORMAL);
    };
    if let Ok(p) = value.cast::<Priority>() {
        return TaskPriority::new(*p.get() as u8).py_err();
    }
    // bool is an int in Python, but `priority=True` is a mistake.
    if value.is_instance_of::<pyo3::types::PyInt>()
        && !value.is_instance_of::<pyo3::types::PyBool>()
    {
        let level: i64 = value.extract()?;
        let level = u8::try_from(level).unwrap_or(u8::MAX);
        return TaskPriority::new(level).py_err();
    }
    Err(PyTypeError::new_err(format!(
        "priority must be a Priority or an int from 1 to 9, not {}",
        json::type_name(value)
    )))
}

/// A task id from its text.
pub fn task_id(text: &str) -> PyResult<TaskId> {
    text.parse::<TaskId>().py_err()
}

/// Seconds (`int` or `float`, ≥ 0) as a duration.
pub fn seconds(what: &str, value: f64) -> PyResult<Duration> {
    Duration::try_from_secs_f64(value).map_err(|_| {
        crate::errors::InvalidInputError::new_err(format!(
            "{what} must be a number of seconds, at least 0, got {value}"
        ))
    })
}

/// `str` or a list of `str`, as a list.
pub fn strings(value: Option<&Bound<'_, PyAny>>, what: &str) -> PyResult<Vec<String>> {
    let Some(value) = value else {
        return Ok(Vec::new());
    };
    if value.is_none() {
        return Ok(Vec::new());
    }
    if let Ok(s) = value.cast::<PyString>() {
        return Ok(vec![s.to_str()?.to_owned()]);
    }
    let mut out = Vec::new();
    let items = value.try_iter().map_err(|_| {
        PyTypeError::new_err(format!(
            "{what} must be a str or a list of str, not {}",
            json::type_name(value)
        ))
    })?;
    for item in items {
        let item = item?;
        let s = item.cast::<PyString>().map_err(|_| {
            PyTypeError::new_err(format!(
                "{what} must hold str, found {}",
                json::type_name(&item)
            ))
        })?;
        out.push(s.to_str()?.to_owned());
    }
    Ok(out)
}

/// What `submit` was given, read while holding the GIL.
pub struct SubmitArgs<'py> {
    pub task_type: String,
    pub payload: Option<Bound<'py, PyAny>>,
    pub priority: Option<Bound<'py, PyAny>>,
    pub capabilities: Option<Bound<'py, PyAny>>,
    pub depends_on: Option<Bound<'py, PyAny>>,
    pub delay: Option<f64>,
    pub max_attempts: Option<u32>,
    pub timeout: Option<f64>,
    pub idempotency_key: Option<String>,
    /// A W3C `traceparent` to carry with the task.
    pub traceparent: Option<String>,
}

impl SubmitArgs<'_> {
    /// The task to submit, or the first thing wrong with the arguments.
    pub fn into_new_task(self) -> PyResult<NewTask> {
        let payload = json::object_to_json(self.payload.as_ref(), "payload")?;
        let mut task = NewTask::new(self.task_type, payload)
            .priority(priority(self.priority.as_ref())?)
            .requires(strings(self.capabilities.as_ref(), "capabilities")?);
        let deps = strings(self.depends_on.as_ref(), "depends_on")?
            .iter()
            .map(|id| task_id(id))
            .collect::<PyResult<Vec<_>>>()?;
        task = task.depends_on(deps);
        if let Some(delay) = self.delay {
            task = task.delay(seconds("delay", delay)?);
        }
        if let Some(n) = self.max_attempts {
            task = task.max_attempts(n);
        }
        if let Some(t) = self.timeout {
            task = task.timeout(seconds("timeout", t)?);
        }
        if let Some(key) = self.idempotency_key {
            task = task.idempotency_key(key);
        }
        if let Some(tp) = self.traceparent {
            task = task.traceparent(tp);
        }
        Ok(task)
    }
}

/// `list_tasks`' filter from its arguments.
pub fn filter(
    status: Option<&Bound<'_, PyAny>>,
    task_type: Option<String>,
    limit: usize,
    after: Option<&str>,
) -> PyResult<TaskFilter> {
    let mut filter = TaskFilter::new().limit(limit);
    for name in strings(status, "status")? {
        filter = filter.status(name.parse::<TaskStatus>().py_err()?);
    }
    if let Some(t) = task_type {
        filter = filter.task_type(t);
    }
    if let Some(after) = after {
        filter = filter.after(task_id(after)?);
    }
    filter.validate().py_err()?;
    Ok(filter)
}

/// A snapshot of a task. `inputs` holds its dependencies' results when the
/// task was handed to an agent.
#[pyclass(frozen, module = "agent_hive._native")]
pub struct Task {
    task: CoreTask,
    inputs: Vec<Value>,
    attempt: u32,
    agent_name: Option<String>,
}

impl Task {
    /// A snapshot of `task`, whose worker is the agent `agent_name` (if an
    /// agent it is).
    pub fn named(task: CoreTask, agent_name: Option<String>) -> Self {
        let attempt = task.attempts;
        Task {
            task,
            inputs: Vec::new(),
            attempt,
            agent_name,
        }
    }

    /// A task handed to an agent: with its dependencies' results and the
    /// number of this attempt.
    pub fn for_agent(task: CoreTask, inputs: Vec<Value>, attempt: u32) -> Self {
        Task {
            task,
            inputs,
            attempt,
            agent_name: None,
        }
    }

    /// The task inside.
    pub fn core(&self) -> &CoreTask {
        &self.task
    }
}

#[pymethods]
impl Task {
    #[getter]
    fn id(&self) -> String {
        self.task.id.to_string()
    }
    #[getter]
    fn r#type(&self) -> &str {
        &self.task.task_type
    }
    #[getter]
    fn payload<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        json::to_py(py, &self.task.payload)
    }
    #[getter]
    fn status(&self) -> &'static str {
        self.task.status.as_str()
    }
    #[getter]
    fn priority(&self) -> u8 {
        self.task.priority.level()
    }
    #[getter]
    fn capabilities(&self) -> Vec<String> {
        self.task.capabilities.clone()
    }
    #[getter]
    fn dependencies(&self) -> Vec<String> {
        self.task
            .dependencies
            .iter()
            .map(ToString::to_string)
            .collect()
    }
    #[getter]
    fn attempts(&self) -> u32 {
        self.task.attempts
    }
    /// Which attempt this is (1 for the first), for a task given to an agent.
    #[getter]
    fn attempt(&self) -> u32 {
        self.attempt
    }
    #[getter]
    fn max_attempts(&self) -> u32 {
        self.task.max_attempts
    }
    #[getter]
    fn result<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyAny>> {
        match &self.task.result {
            Some(v) => json::to_py(py, v),
            None => Ok(py.None().into_bound(py)),
        }
    }
    #[getter]
    fn error(&self) -> Option<&str> {
        self.task.error.as_deref()
    }
    #[getter]
    fn worker(&self) -> Option<&str> {
        self.task.worker.as_deref()
    }
    /// The W3C `traceparent` the task was submitted with, if any.
    #[getter]
    fn traceparent(&self) -> Option<&str> {
        self.task.traceparent.as_deref()
    }
    /// The name of the agent `worker` is, when it is a registered agent.
    #[getter]
    fn agent_name(&self) -> Option<&str> {
        self.agent_name.as_deref()
    }
    #[getter]
    fn created_at(&self) -> DateTime<Utc> {
        self.task.created_at
    }
    #[getter]
    fn updated_at(&self) -> DateTime<Utc> {
        self.task.updated_at
    }
    #[getter]
    fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.task.finished_at
    }
    #[getter]
    fn inputs<'py>(&self, py: Python<'py>) -> PyResult<Bound<'py, PyList>> {
        let list = PyList::empty(py);
        for v in &self.inputs {
            list.append(json::to_py(py, v)?)?;
        }
        Ok(list)
    }

    fn __repr__(&self) -> String {
        format!(
            "Task(id='{}', type='{}', status='{}', attempts={})",
            self.task.id,
            self.task.task_type,
            self.task.status.as_str(),
            self.task.attempts
        )
    }
}

/// One counted attempt of a task: who ran it, when, and how it ended.
#[pyclass(frozen, module = "agent_hive._native")]
pub struct Attempt {
    named: NamedAttempt,
}

impl Attempt {
    pub fn new(named: NamedAttempt) -> Self {
        Attempt { named }
    }
}

#[pymethods]
impl Attempt {
    /// Which attempt: 1 for the first.
    #[getter]
    fn attempt(&self) -> u32 {
        self.named.attempt.attempt
    }
    #[getter]
    fn worker(&self) -> &str {
        &self.named.attempt.worker
    }
    #[getter]
    fn agent_name(&self) -> Option<&str> {
        self.named.agent_name.as_deref()
    }
    #[getter]
    fn started_at(&self) -> DateTime<Utc> {
        self.named.attempt.started_at
    }
    #[getter]
    fn finished_at(&self) -> Option<DateTime<Utc>> {
        self.named.attempt.finished_at
    }
    /// `running`, `completed`, `failed`, `timed_out`, `lease_expired` or
    /// `cancelled`.
    #[getter]
    fn outcome(&self) -> &'static str {
        self.named.attempt.outcome.as_str()
    }
    #[getter]
    fn error(&self) -> Option<&str> {
        self.named.attempt.error.as_deref()
    }

    fn __repr__(&self) -> String {
        format!(
            "Attempt(attempt={}, worker='{}', outcome='{}')",
            self.named.attempt.attempt,
            self.named.attempt.worker,
            self.named.attempt.outcome.as_str()
        )
    }
}
