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
//! - [`llm`]: language models — the [`llm::LlmProvider`] contract for the
//!   Anthropic Messages API and OpenAI-compatible chat completions.
//! - [`openai`]: clients for OpenAI-compatible APIs (OpenAI, Ollama, vLLM,
//!   TEI): the remote embedder and chat completions for summaries.
//! - [`coding`]: coding agents — [`coding::CliAgent`] runs Claude Code (or
//!   any coding CLI) headless in a fresh git worktree per task.
//! - [`agent`]: agents — the [`agent::Agent`] trait, the registry of who
//!   exists and is alive, and the orchestrator that runs them.
//! - [`Hive`]: the facade wiring it all from the embedded default or from
//!   Redis and Postgres URLs.
//! - [`session`]: sessions of agents and their conversations.
//! - [`events`]: the numbered event feed of everything that happens in a
//!   hive, followed live and resumed after gaps.
//! - [`conformance`]: the executable specification every backend passes.
//! - [`Error`]: the one error type.

pub mod agent;
pub mod broker;
pub mod coding;
pub mod conformance;
pub mod context;
pub(crate) mod embedded;
pub mod error;
pub mod events;
pub mod hive;
pub(crate) mod http_api;
pub mod llm;
pub mod openai;
pub(crate) mod postgres_schema;
pub mod queue;
pub(crate) mod redis_connection;
pub mod session;
pub(crate) mod time;

pub use error::{Error, Result};
pub use hive::Hive;
