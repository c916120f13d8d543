//! Coding agents: run a coding CLI — Claude Code headless by default — on a
//! task, each attempt in a fresh git worktree, with a timeout, a killed
//! process group and a scrubbed environment (see `docs/cli-agents.md`).
//!
//! - [`CliAgent`] and [`CliAgentConfig`]: the [`crate::agent::Agent`] that
//!   does it, and its command template.
//! - [`Worktrees`]: one worktree per attempt, on a new branch at the base
//!   branch's head as resolved at creation, kept or removed per
//!   [`WorktreePolicy`].
//!
//! The CLI runs through the sandboxed-process room,
//! [`crate::sandbox::ScrubbedCommand`]: its own process group, an
//! allow-listed environment, bounded output and a timeout.

mod cli_agent;
mod worktree;

pub use cli_agent::{CliAgent, CliAgentConfig};
pub use worktree::{Worktree, WorktreePolicy, Worktrees, WorktreesConfig};
