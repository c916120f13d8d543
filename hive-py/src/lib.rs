//! Python bindings for Agent Hive: the `agent_hive._native` extension.
//!
//! The same `hive_core::Hive` as the Rust library and the server, from
//! Python: `Hive` (blocking) and `AsyncHive` (asyncio) over one shared
//! Tokio runtime, agents written as Python functions, the broker, the
//! context store, the prompt registry with its live experiments, the
//! verifiers that score completed tasks, the meta-agent with its
//! proposals, and the self-modifier with its change sets.
//! `docs/python.md` is the user's guide.
//!
//! Code map: [`core`] holds each operation once; [`blocking`] and
//! [`asyncio`] are the two frontends over it; [`agent`] and [`decorator`]
//! run Python functions as agents; [`task`], [`messages`] and [`context`]
//! are the values Python sees; [`json`] converts payloads (and the
//! outcomes, prompts, experiments, proposals and change sets answered as
//! dicts); [`outcomes`], [`prompts`], [`verify`], [`meta`] and [`changes`]
//! read those operations' keyword arguments ([`verify`] also runs Python
//! functions as verifiers); [`errors`] maps hive-core's errors to Python
//! exceptions, in one place; [`runtime`] is the shared runtime.

mod agent;
mod asyncio;
mod blocking;
mod changes;
mod context;
mod core;
mod decorator;
mod errors;
mod json;
mod messages;
mod meta;
mod outcomes;
mod prompts;
mod runtime;
mod task;
mod verify;

use pyo3::prelude::*;

/// How long the exit hook waits for Python calls still running on the
/// runtime's threads (a sync agent mid-task, say) once the hives are closed.
const EXIT_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Closes every hive still open, then waits for the runtime's threads to be
/// done with Python; the package registers it with `atexit`.
#[pyfunction]
fn _close_all(py: Python<'_>) -> PyResult<()> {
    runtime::block_on(py, async {
        core::Core::close_all().await;
        Ok(())
    })?;
    runtime::quiesce(py, EXIT_GRACE);
    Ok(())
}

/// The `_native` extension module of the `agent_hive` package.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("__version__", env!("CARGO_PKG_VERSION"))?;
    m.add_class::<blocking::Hive>()?;
    m.add_class::<asyncio::AsyncHive>()?;
    m.add_class::<task::Task>()?;
    m.add_class::<task::Attempt>()?;
    m.add_class::<task::Priority>()?;
    m.add_class::<core::AgentHandle>()?;
    m.add_class::<messages::Message>()?;
    m.add_class::<messages::Subscription>()?;
    m.add_class::<messages::AsyncSubscription>()?;
    m.add_class::<context::Found>()?;
    m.add_function(wrap_pyfunction!(_close_all, m)?)?;
    errors::register(m)?;
    Ok(())
}
