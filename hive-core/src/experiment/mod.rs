//! Experiments on agents' prompts, decided on live task outcomes with
//! statistics that stay valid however often they are looked at.
//!
//! - [`stats`]: the always-valid confidence sequence for a difference of
//!   means, the running moments it reads, and the naive z-interval it is
//!   compared with.
//! - [`NewExperiment`], [`Experiment`] and the rest of the model; the
//!   decision rules in [`decide`] and the split in [`assign`], both pure.
//! - [`ExperimentStore`]: the contract (experiments, compare-and-set
//!   saves, sticky assignments), embedded in [`sqlite`] and distributed in
//!   [`postgres`].
//! - [`Experiments`]: experiments run live — started against the prompt
//!   registry, tasks assigned when leased, decisions applied by moving
//!   labels, watched after promotion.

pub mod assign;
pub mod decide;
#[cfg(feature = "postgres")]
pub mod postgres;
mod record;
mod runtime;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_store;
#[cfg(feature = "sqlite")]
pub mod sqlite;
pub mod stats;
mod store;

pub use decide::{ArmSummary, Evaluation};
pub use record::{
    Allocation, Arm, ArmState, Assignment, Decision, DecisionKind, Experiment, ExperimentId,
    ExperimentStatus, Guardrails, Metric, NewExperiment, Observation, Watch, WatchVerdict, CONTROL,
    MAX_SAMPLES, MAX_VARIANTS, WATCH,
};
pub use runtime::{kinds, ExperimentReport, Experiments, Notify};
pub use store::{open, ExperimentStore, MAX_LIST};
