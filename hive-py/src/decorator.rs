//! `@hive.agent(name, capabilities=[…])`: registers the decorated function
//! as an agent at once and gives the function back unchanged.
//!
//! Registration blocks briefly (one write to the registry) even under
//! `AsyncHive`, since a decorator cannot be awaited; `spawn_agent` is the
//! awaitable form.

use std::sync::Arc;

use hive_core::agent::SpawnOptions;
use pyo3::exceptions::PyTypeError;
use pyo3::prelude::*;
use pyo3::types::PyCFunction;

use crate::agent::PyAgent;
use crate::core::{agent_spec, Core};
use crate::runtime::block_on;

/// Which event loop runs the agent's coroutines, if it is `async def`.
pub type LoopOf = for<'py> fn(Python<'py>) -> PyResult<Bound<'py, PyAny>>;

/// The decorator for an agent named `name`.
pub fn agent_decorator<'py>(
    py: Python<'py>,
    core: Arc<Core>,
    name: String,
    capabilities: Vec<String>,
    options: SpawnOptions,
    loop_of: LoopOf,
) -> PyResult<Bound<'py, PyCFunction>> {
    PyCFunction::new_closure(
        py,
        Some(c"agent_decorator"),
        Some(c"Registers the function as an agent and answers it unchanged."),
        move |args, _kwargs| -> PyResult<Py<PyAny>> {
            let py = args.py();
            if args.len() != 1 {
                return Err(PyTypeError::new_err(
                    "@hive.agent(...) decorates one function",
                ));
            }
            let function = args.get_item(0)?;
            let spec = agent_spec(&name, capabilities.clone());
            let agent = PyAgent::new(py, spec, function.clone(), loop_of)?;
            let core = Arc::clone(&core);
            let options = options.clone();
            block_on(py, async move { core.spawn_agent(agent, options).await })?;
            Ok(function.unbind())
        },
    )
}
