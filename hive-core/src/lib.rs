//! Agent Hive core: a durable, distributed runtime for fleets of AI agents.
//!
//! This crate holds the traits (the contracts), the domain model, the storage
//! backends and the orchestration logic. It knows nothing about HTTP, wire
//! formats or Python: `hive-server` and `hive-py` are thin frontends over it.
//!
//! - [`queue`]: the durable task queue — [`queue::Queue`] and its embedded
//!   (SQLite), Redis and Postgres backends, plus [`queue::worker`].
//! - [`broker`]: the message broker — [`broker::Broker`], its embedded and
//!   Redis backends, subscribers, routing and history.
//! - [`context`]: the context engine — [`context::ContextStore`] on SQLite
//!   and pgvector, embedders, [`context::ContextEngine`] (ranked search,
//!   memory tiers), compression.
//! - [`llm`]: model providers — the [`llm::LlmProvider`] contract, the
//!   Anthropic Messages API and OpenAI-compatible clients (Anthropic,
//!   OpenAI, Ollama, vLLM, llama.cpp, TEI).
//! - [`llm_agent`]: [`llm_agent::LlmAgent`], an agent that works by talking
//!   to any model, with a bounded tool loop and built-in tools.
//! - [`coding`]: coding agents — [`coding::CliAgent`] runs Claude Code (or
//!   any coding CLI) headless in a fresh git worktree per task.
//! - [`sandbox`]: [`sandbox::ScrubbedCommand`], the one way the hive runs a
//!   child process for an agent.
//! - [`names`]: the names rooms share (agent names, capabilities) and their
//!   checks.
//! - [`agent`]: agents — the [`agent::Agent`] trait, the registry of who
//!   exists and is alive, and the orchestrator that runs them.
//! - [`Hive`]: the facade wiring it all from the embedded default or from
//!   Redis and Postgres URLs.
//! - [`session`]: sessions of agents and their conversations.
//! - [`events`]: the numbered event feed of everything that happens in a
//!   hive, followed live and resumed after gaps.
//! - [`storage`]: the engines underneath; in public, what an operator's
//!   tools need of them — the schema's migrations ([`storage::schema`]),
//!   the embedded file and a Postgres database as wholes.
//! - [`conformance`]: the executable specification every backend passes.
//! - [`Error`]: the one error type.

// The complete setups are the embedded file (`sqlite`) and Redis + Postgres.
// A build with neither compiles the contracts and the model, and leaves
// part of the plumbing the backends share unused.
#![cfg_attr(
    not(any(feature = "sqlite", all(feature = "redis", feature = "postgres"))),
    allow(dead_code, unused_imports, unused_variables)
)]

pub mod agent;
pub mod broker;
#[cfg(feature = "coding")]
pub mod coding;
pub mod conformance;
pub mod context;
pub mod declared;
pub mod error;
pub mod events;
pub mod experiment;
pub mod hive;
pub mod llm;
pub mod llm_agent;
pub mod meta;
pub mod names;
pub mod outcome;
pub mod prompt;
pub mod queue;
pub mod sandbox;
#[cfg(feature = "selfmod")]
pub mod selfmod;
pub mod session;
pub(crate) mod setters;
pub mod storage;
pub(crate) mod time;
pub mod trace;
pub mod verify;
#[cfg(feature = "webhook")]
pub mod webhook;

pub use error::{Error, Result, Setup};
pub use hive::Hive;
