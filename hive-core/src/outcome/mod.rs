//! Outcomes: what every finished task achieved and spent, durably, and the
//! metrics aggregated from them (issue 21, being built).
//!
//! - [`OutcomeStore`]: the contract (record, get, list, metrics), with the
//!   embedded backend in [`sqlite`] and the distributed one in
//!   [`postgres`], both the one [`SqlOutcomeStore`](sql_store) over SQL.
//! - [`Outcome`], [`OutcomeStatus`]: one finished task; [`OutcomeFilter`],
//!   [`GroupBy`] and [`Metrics`]: what aggregates are asked for and answer.
//! - [`OutcomeRecorder`]: stores the outcomes agents hand over in the
//!   background, many per transaction.
//!
//! Outcomes are the one source the learning loop reads: metrics here,
//! experiments ([`crate::experiment`]) and budgets; none computes its own.

#[cfg(feature = "postgres")]
pub mod postgres;
mod record;
mod recorder;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_store;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;

pub use record::{Finished, GroupBy, Metrics, Outcome, OutcomeFilter, OutcomeStatus};
pub use recorder::{OutcomeRecorder, BATCH};
pub use store::{open, OutcomeStore, MAX_LIMIT};
