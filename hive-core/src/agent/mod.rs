//! Agents: the registry of who exists, what they can do and whether they
//! are alive (issue 5, being built).
//!
//! - [`AgentRegistry`]: the contract (register, heartbeat, sweep, status,
//!   list, candidates), with the embedded backend in [`sqlite`] and the
//!   distributed one in [`postgres`].
//! - [`AgentSpec`], [`AgentRecord`], [`AgentStatus`], [`Liveness`]: the
//!   model.
//!
//! Sessions of agents are in [`crate::session`]. The `Agent` trait, the
//! spawner, the health monitor and the orchestrator come next.

pub mod postgres;
mod record;
mod registry;
pub mod sqlite;

pub(crate) use record::check_label;
pub use record::{
    AgentFilter, AgentId, AgentRecord, AgentSpec, AgentStatus, Liveness, MAX_AGENT_NAME,
};
pub use registry::{open, AgentRegistry, AgentRegistryExt};
