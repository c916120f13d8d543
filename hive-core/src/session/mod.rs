//! Sessions: groups of agents working together, and the conversation each
//! group holds (issue 5, being built).
//!
//! - [`SessionStore`]: the contract (create, join, state, record, read the
//!   conversation, close, list), with the embedded backend in [`sqlite`]
//!   and the distributed one in [`postgres`].
//! - [`NewSession`], [`Session`], [`SessionStatus`]: the model of a session;
//!   [`Utterance`] and [`ConversationEntry`]: of what is said in it.
//!
//! Agents are named here as the registry names them (the same name rules),
//! but a session does not look them up: it groups names, so an agent can be
//! a member before it registers and stay one after it stops.

mod conversation;
#[cfg(feature = "postgres")]
pub mod postgres;
mod record;
#[cfg(any(feature = "sqlite", feature = "postgres"))]
mod sql_store;
#[cfg(feature = "sqlite")]
pub mod sqlite;
mod store;

pub use conversation::{ConversationEntry, ConversationEntryId, Utterance, MAX_CONTENT_BYTES};
pub use record::{NewSession, Session, SessionId, SessionStatus};
pub use store::{open, SessionStore, MAX_LIMIT};
