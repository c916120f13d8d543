//! The prompt registry: immutable prompt versions, labels that point at
//! them (`production`, `candidate`, …), and the history of every move
//!.
//!
//! - [`PromptRegistry`]: the contract (create, get, versions, move a
//!   label, resolve, protect, history), with the embedded backend in
//!   [`sqlite`] and the distributed one in [`postgres`], both the one
//!   `SqlPromptRegistry` over SQL.
//! - [`NewPromptVersion`], [`PromptVersion`], [`Label`], [`MoveLabel`],
//!   [`LabelMove`]: the model.
//!
//! Moving a label is the only way an agent's prompt changes; a protected
//! label ([`PRODUCTION`] from its first move on) moves only with an
//! approval by someone other than the mover.

pub mod diff;
#[cfg(feature = "postgres")]
pub mod postgres;
mod record;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_store;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;

pub use diff::{diff, DiffLine};
pub use record::{
    content_hash, AuthorKind, Label, LabelMove, MoveLabel, NewPromptVersion, PromptVersion,
    PromptVersionId, MAX_PROMPT_BYTES, MAX_RATIONALE_BYTES, PRODUCTION,
};
pub use store::{open, PromptRegistry};
