//! The sandboxed-process room: every child process the hive starts for an
//! agent — a coding CLI, an LLM agent's shell command, and next the
//! self-modifier's test runs — goes through [`ScrubbedCommand`], so each
//! gets the same guarantees: an allow-listed environment ([`EnvPolicy`]),
//! its own process group killed on every way out, a timeout and bounded
//! output ([`ProcessOutcome`]). On Linux a command can also be isolated
//! ([`Isolation`], in `isolation.rs`): no network, a read-only filesystem
//! except the directories it is given, resource limits ([`Limits`]) — what
//! the self-modifier needs to run code a model wrote, without Docker.
//!
//! It sits below every agent kind and knows nothing of agents, tasks or
//! models.

mod command;
mod isolation;

pub use command::{EnvPolicy, ProcessOutcome, ScrubbedCommand};
pub use isolation::{Isolation, Limits};
