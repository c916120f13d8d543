//! The meta-agent: the loop that improves the hive from its own outcomes.
//!
//! - [`MetaAgent`]: one run reads an agent's metrics and failed tasks,
//!   asks a model for a better prompt (and any configuration or code
//!   changes), and writes [`Proposal`]s with the evidence they rest on. A
//!   prompt that passes the [`check`]s starts an experiment
//!   ([`crate::experiment`]); the rest wait for [`approve`] or [`reject`].
//!   A [`Budget`] caps its own model calls and spend per day.
//! - [`ProposalStore`]: proposals and the spend of the runs, embedded in
//!   [`sqlite`] and distributed in [`postgres`].

mod agent;
pub mod check;
#[cfg(feature = "postgres")]
pub mod postgres;
mod proposal;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_store;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;

pub use agent::{
    approve, check_budget, reject, Budget, MetaAgent, MetaConfig, MetaContext, RunReport, AUTHOR,
    SYSTEM,
};
pub use proposal::{Evidence, MetaRun, Proposal, ProposalId, ProposalKind, ProposalStatus, Risk};
pub use store::{open, ProposalStore, MAX_LIST};
