//! Agents: what they do, who exists, whether they are alive, and the
//! machinery that runs them.
//!
//! - [`Agent`] (and [`agent_fn`]): what users implement — a descriptor,
//!   `process_task`, an optional message handler, tools, shutdown;
//!   [`AgentContext`] is what an agent may do while it works.
//! - [`AgentRegistry`]: the contract of the fleet's registry (register,
//!   heartbeat, sweep, status, list, candidates), with the embedded backend
//!   in [`sqlite`] and the distributed one in [`postgres`].
//! - [`AgentOrchestrator`]: spawns agents in this process, dispatches tasks
//!   to them least loaded first, heartbeats, sweeps ([`HealthMonitor`]),
//!   terminates and restarts.
//! - [`AgentSpec`], [`AgentRecord`], [`AgentStatus`], [`Liveness`]: the
//!   model.
//! - [`RemoteClaim`]: how an agent registered by hand, running elsewhere,
//!   claims work as itself (through [`crate::Hive::claim_as_agent`]).
//!
//! Sessions of agents are in [`crate::session`].

mod behaviour;
mod context;
mod dispatch;
mod health;
mod orchestrator;
mod outcomes;
#[cfg(feature = "postgres")]
pub mod postgres;
mod record;
mod registry;
mod remote;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_registry;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod tool;

pub use behaviour::{agent_fn, Agent, AgentFn};
pub(crate) use context::Services;
pub use context::{AgentContext, SESSION_HEADER};
pub use health::{HealthMonitor, HealthReport};
pub use orchestrator::{
    AgentHandle, AgentOrchestrator, OrchestratorConfig, RestartPolicy, SpawnOptions, StopReport,
    Waiting,
};
pub use record::{
    AgentFilter, AgentId, AgentRecord, AgentSpec, AgentStatus, Liveness, MAX_AGENT_NAME,
};
pub use registry::{open, AgentRegistry, AgentRegistryExt};
pub(crate) use remote::claim_as_agent;
pub use remote::RemoteClaim;
pub use tool::{tool_fn, Tool, ToolFn, ToolSet};
