//! The self-modifier: changes to the hive's own (or any configured)
//! repository taken through gates as a durable state machine of queue
//! tasks — worktree from a freshly resolved base, generation, static gate,
//! sandboxed tests restored from the base, benchmark gate, approval for
//! critical paths, fast-forward with a rollback tag, watch, and a revert
//! commit on failure (see `docs/self-modification.md`).
//!
//! - [`SelfModifier`]: proposes [`ChangeSet`]s and runs their steps;
//!   [`RepositoryConfig`] names a repository, its target and [`Policy`].
//! - [`git`]: version control through `git2`.
//! - [`gate`]: the static gate; [`bench`]: the benchmark gate's statistics.
//! - [`ChangeSetStore`]: change sets, embedded in [`sqlite`] and
//!   distributed in [`postgres`].

pub mod agent;
pub mod bench;
pub mod gate;
pub mod git;
mod policy;
#[cfg(feature = "postgres")]
pub mod postgres;
mod record;
mod runtime;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_store;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;

pub use bench::BenchFigures;
pub use gate::{RiskClass, StaticVerdict};
pub use policy::{glob_match, BenchGate, Gate, Policy, SandboxPolicy, WatchGate, ALWAYS_CRITICAL};
pub use record::{
    ChangeDecision, ChangeSet, ChangeSetId, ChangeSource, ChangeStatus, DiffStats, NewChangeSet,
    Step, StepLog, MAX_TITLE,
};
pub use runtime::{
    kinds, Notify, RepositoryConfig, SelfModifier, CAPABILITY, LOG_LIMIT, STEP_TASK,
};
pub use store::{open, ChangeSetStore, MAX_LIST};
