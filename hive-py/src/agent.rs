//! Agents written in Python: a function the Rust worker calls for each
//! task it claims.
//!
//! Every call into Python happens on a blocking thread of the shared
//! runtime (never on its async workers, which must not wait for the GIL):
//! - a plain function is called there and its answer converted;
//! - an `async def` is called there to make the coroutine, which then runs
//!   on its event loop (the caller's under `AsyncHive`, a background loop
//!   under `Hive`) while Rust awaits it without the GIL.
//!
//! An exception fails the attempt with its formatted traceback; the queue
//! retries or dead-letters it per the task's policy. `PermanentError` and
//! an answer that is not JSON fail the task without retries.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::agent::{Agent, AgentContext, AgentSpec};
use hive_core::queue::{Task as CoreTask, TaskFailure};
use pyo3::prelude::*;
use pyo3_async_runtimes::TaskLocals;
use serde_json::Value;

use crate::errors::PermanentError;
use crate::json;
use crate::runtime::InFlight;
use crate::task::Task;

/// A Python callable as an [`Agent`].
pub struct PyAgent {
    spec: AgentSpec,
    /// Shared without the GIL: a worker clones the `Arc`, not the object.
    function: Arc<Py<PyAny>>,
    /// Where its coroutines run; `None` for a plain function.
    event_loop: Option<Arc<TaskLocals>>,
}

impl PyAgent {
    /// An agent calling `function`; `event_loop` runs it when it is
    /// `async def`.
    pub fn new(
        py: Python<'_>,
        spec: AgentSpec,
        function: Bound<'_, PyAny>,
        event_loop: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if !function.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "an agent must be a function, not {}",
                json::type_name(&function)
            )));
        }
        let event_loop = if is_async(py, &function)? {
            Some(Arc::new(TaskLocals::new(event_loop(py)?).copy_context(py)?))
        } else {
            None
        };
        Ok(PyAgent {
            spec,
            function: Arc::new(function.unbind()),
            event_loop,
        })
    }
}

/// Runs `f` holding the GIL on a blocking thread of the runtime (counted
/// as [`InFlight`] while it runs); `Err` when that thread ended abruptly.
/// Agents and verifiers written in Python are called through it.
pub(crate) async fn on_gil_thread<T, F>(f: F) -> Result<T, tokio::task::JoinError>
where
    F: for<'py> FnOnce(Python<'py>) -> T + Send + 'static,
    T: Send + 'static,
{
    let in_flight = InFlight::enter();
    tokio::task::spawn_blocking(move || {
        let answer = Python::attach(f);
        drop(in_flight);
        answer
    })
    .await
}

/// Runs `f` holding the GIL on a blocking thread of the runtime.
async fn with_gil<T, F>(f: F) -> Result<T, TaskFailure>
where
    F: for<'py> FnOnce(Python<'py>) -> Result<T, TaskFailure> + Send + 'static,
    T: Send + 'static,
{
    on_gil_thread(f).await.map_err(|e| {
        TaskFailure::retryable(format!("the agent's Python call ended abruptly: {e}"))
    })?
}

/// Whether `function` is an `async def` (its calls make coroutines).
pub(crate) fn is_async(py: Python<'_>, function: &Bound<'_, PyAny>) -> PyResult<bool> {
    py.import("inspect")?
        .call_method1("iscoroutinefunction", (function,))?
        .is_truthy()
}

/// What Python raised, formatted with its traceback.
pub(crate) fn traceback(py: Python<'_>, err: &PyErr) -> String {
    // The traceback is passed on its own: on 3.11 a fetched error's value
    // need not carry it as `__traceback__`.
    let text = py
        .import("traceback")
        .and_then(|tb| {
            tb.call_method1(
                "format_exception",
                (err.get_type(py), err.value(py), err.traceback(py)),
            )
        })
        .and_then(|lines| lines.extract::<Vec<String>>())
        .map(|lines| lines.concat())
        .unwrap_or_else(|_| err.to_string());
    text.trim_end().to_owned()
}

/// What Python raised, as the attempt's failure: the traceback, and
/// permanent for `PermanentError`.
fn failure(py: Python<'_>, err: PyErr) -> TaskFailure {
    let text = traceback(py, &err);
    if err.is_instance_of::<PermanentError>(py) {
        TaskFailure::permanent(text)
    } else {
        TaskFailure::retryable(text)
    }
}

/// The function's answer as the task's result.
fn answer(value: &Bound<'_, PyAny>) -> Result<Value, TaskFailure> {
    json::to_json(value, "the agent's result").map_err(|e| TaskFailure::permanent(e.to_string()))
}

#[async_trait]
impl Agent for PyAgent {
    fn spec(&self) -> AgentSpec {
        self.spec.clone()
    }

    async fn process_task(&self, task: CoreTask, cx: AgentContext) -> Result<Value, TaskFailure> {
        let inputs = if task.dependencies.is_empty() {
            Vec::new()
        } else {
            cx.dependency_results(&task)
                .await
                .map_err(|e| TaskFailure::retryable(format!("reading the inputs: {e}")))?
        };
        let arg = Task::for_agent(task, inputs, cx.attempt());
        let function = Arc::clone(&self.function);
        match &self.event_loop {
            None => {
                with_gil(move |py| match function.bind(py).call1((arg,)) {
                    Ok(out) => answer(&out),
                    Err(err) => Err(failure(py, err)),
                })
                .await
            }
            Some(locals) => {
                let locals = Arc::clone(locals);
                let running = with_gil(move |py| {
                    function
                        .bind(py)
                        .call1((arg,))
                        .and_then(|coro| {
                            pyo3_async_runtimes::into_future_with_locals(&locals, coro)
                        })
                        .map_err(|err| failure(py, err))
                })
                .await?;
                let out = running.await;
                with_gil(move |py| match out {
                    Ok(obj) => answer(obj.bind(py)),
                    Err(err) => Err(failure(py, err)),
                })
                .await
            }
        }
    }
}
