//! The sandboxed-process room: every child process the hive starts for an
//! agent — a coding CLI, an LLM agent's shell command, and next the
//! self-modifier's test runs — goes through [`ScrubbedCommand`], so each
//! gets the same guarantees: an allow-listed environment ([`EnvPolicy`]),
//! its own process group killed on every way out, a timeout and bounded
//! output ([`ProcessOutcome`]).
//!
//! It sits below every agent kind and knows nothing of agents, tasks or
//! models.

mod command;
mod isolation;

pub use command::{EnvPolicy, ProcessOutcome, ScrubbedCommand};
