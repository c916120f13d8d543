//! Verifiers as Python sets them: a Python function as a [`Verifier`], and
//! the command and judge verifiers from their keyword arguments.
//!
//! A Python verifier is called as a Python agent is (see [`crate::agent`]):
//! on a blocking thread of the shared runtime holding the GIL, an
//! `async def` on its event loop. It gets the task as the agents' `Task`
//! and the result as a dict, and answers a number. An exception, or an
//! answer that is not a number, fails the scoring: the task completes
//! unscored, and the reason is logged (never a crash, never a failed task).

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use hive_core::queue::Task as CoreTask;
use hive_core::verify::{CommandVerifier, JudgeVerifier, Verifier};
use hive_core::Error;
use pyo3::prelude::*;
use pyo3::types::PyBool;
use pyo3_async_runtimes::TaskLocals;
use serde_json::Value;

use crate::agent::{is_async, on_gil_thread, traceback};
use crate::errors::{IntoPy, InvalidInputError};
use crate::json;
use crate::meta::judge_provider;
use crate::task::Task;

/// A Python callable `fn(task, result) -> float` as a [`Verifier`] (kind
/// `function`).
pub struct PyVerifier {
    /// Shared without the GIL: a scoring clones the `Arc`, not the object.
    function: Arc<Py<PyAny>>,
    /// Where its coroutines run; `None` for a plain function.
    event_loop: Option<Arc<TaskLocals>>,
}

impl PyVerifier {
    /// A verifier calling `function`; `event_loop` runs it when it is
    /// `async def`.
    ///
    /// # Errors
    /// `TypeError` when `function` is not callable.
    pub fn new(
        py: Python<'_>,
        function: Bound<'_, PyAny>,
        event_loop: impl FnOnce(Python<'_>) -> PyResult<Bound<'_, PyAny>>,
    ) -> PyResult<Self> {
        if !function.is_callable() {
            return Err(pyo3::exceptions::PyTypeError::new_err(format!(
                "a verifier must be a function, not {}",
                json::type_name(&function)
            )));
        }
        let event_loop = if is_async(py, &function)? {
            Some(Arc::new(TaskLocals::new(event_loop(py)?).copy_context(py)?))
        } else {
            None
        };
        Ok(PyVerifier {
            function: Arc::new(function.unbind()),
            event_loop,
        })
    }
}

/// What Python raised while scoring, as hive-core's error.
fn raised(py: Python<'_>, err: &PyErr) -> Error {
    Error::invalid(format!("the verifier raised: {}", traceback(py, err)))
}

/// The verifier's answer as a score: a number (not a bool).
fn number(value: &Bound<'_, PyAny>) -> hive_core::Result<f64> {
    let refused = || {
        Error::invalid(format!(
            "the verifier answered {}, not a number",
            json::type_name(value)
        ))
    };
    if value.is_instance_of::<PyBool>() {
        return Err(refused());
    }
    value.extract::<f64>().map_err(|_| refused())
}

/// A Python call that ended abruptly, as hive-core's error.
fn abrupt(e: tokio::task::JoinError) -> Error {
    Error::invalid(format!("the verifier's Python call ended abruptly: {e}"))
}

#[async_trait]
impl Verifier for PyVerifier {
    fn kind(&self) -> &'static str {
        "function"
    }

    async fn score(&self, task: &CoreTask, result: &Value) -> hive_core::Result<f64> {
        let arg = Task::for_agent(task.clone(), Vec::new(), task.attempts);
        let result = result.clone();
        let function = Arc::clone(&self.function);
        match &self.event_loop {
            None => on_gil_thread(move |py| {
                let result = json::to_py(py, &result).map_err(|e| raised(py, &e))?;
                match function.bind(py).call1((arg, result)) {
                    Ok(out) => number(&out),
                    Err(err) => Err(raised(py, &err)),
                }
            })
            .await
            .map_err(abrupt)?,
            Some(locals) => {
                let locals = Arc::clone(locals);
                let running = on_gil_thread(move |py| {
                    json::to_py(py, &result)
                        .and_then(|result| function.bind(py).call1((arg, result)))
                        .and_then(|coro| {
                            pyo3_async_runtimes::into_future_with_locals(&locals, coro)
                        })
                        .map_err(|err| raised(py, &err))
                })
                .await
                .map_err(abrupt)??;
                let out = running.await;
                on_gil_thread(move |py| match out {
                    Ok(obj) => number(obj.bind(py)),
                    Err(err) => Err(raised(py, &err)),
                })
                .await
                .map_err(abrupt)?
            }
        }
    }
}

/// A task type a verifier is set for: not blank (`InvalidInputError`).
pub fn task_type(task_type: String) -> PyResult<String> {
    if task_type.trim().is_empty() {
        return Err(InvalidInputError::new_err("a verifier needs a task type"));
    }
    Ok(task_type)
}

/// `set_command_verifier`'s verifier: `argv` run in `cwd` (made absolute
/// now, so a later `chdir` does not move it) for at most `timeout_secs`.
///
/// # Errors
/// `InvalidInputError` for an empty `argv`, a timeout that is not a number
/// of seconds above 0, or a `cwd` that cannot be made absolute.
pub fn command_verifier(
    argv: Vec<String>,
    cwd: PathBuf,
    timeout_secs: f64,
) -> PyResult<Arc<dyn Verifier>> {
    let timeout = Duration::try_from_secs_f64(timeout_secs)
        .ok()
        .filter(|d| !d.is_zero())
        .ok_or_else(|| {
            InvalidInputError::new_err(format!(
                "timeout_secs must be a number of seconds above 0, got {timeout_secs}"
            ))
        })?;
    let dir = std::path::absolute(&cwd)
        .map_err(|e| InvalidInputError::new_err(format!("cwd {}: {e}", cwd.display())))?;
    let verifier = CommandVerifier::new(argv, dir).py_err()?.timeout(timeout);
    Ok(Arc::new(verifier))
}

/// `set_judge_verifier`'s verifier: `model` of `provider` grading by
/// `rubric`.
///
/// # Errors
/// `InvalidInputError` for an empty model or rubric, an unknown provider,
/// and as the provider's construction (a key variable that is not set, a
/// bad URL).
pub fn judge_verifier(
    provider: &str,
    model: &str,
    rubric: &str,
    base_url: Option<String>,
    api_key_env: Option<String>,
) -> PyResult<Arc<dyn Verifier>> {
    if model.trim().is_empty() {
        return Err(InvalidInputError::new_err("a judge verifier needs a model"));
    }
    if rubric.trim().is_empty() {
        return Err(InvalidInputError::new_err(
            "a judge verifier needs a rubric",
        ));
    }
    let provider = judge_provider(provider, model, base_url, api_key_env)?;
    Ok(Arc::new(JudgeVerifier::new(provider, rubric).model(model)))
}
