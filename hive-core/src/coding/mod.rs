//! Coding agents: run a coding CLI — Claude Code headless by default — on a
//! task, each attempt in a fresh git worktree, with a timeout, a killed
//! process group and a scrubbed environment (see `docs/cli-agents.md`).
//!
//! - [`CliAgent`] and [`CliAgentConfig`]: the [`crate::agent::Agent`] that
//!   does it, and its command template.
//! - [`Worktrees`]: one worktree per attempt, on a new branch at the base
//!   branch's head as resolved at creation, kept or removed per
//!   [`WorktreePolicy`].
//! - [`ScrubbedCommand`]: a child process in its own group, with an
//!   allow-listed environment ([`EnvPolicy`]), bounded output and a
//!   timeout.

mod cli_agent;
mod process;
mod worktree;

pub use cli_agent::{CliAgent, CliAgentConfig};
pub use process::{EnvPolicy, ProcessOutcome, ScrubbedCommand};
pub use worktree::{Worktree, WorktreePolicy, Worktrees, WorktreesConfig};
