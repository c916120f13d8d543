//! Clients for OpenAI-compatible HTTP APIs: the chat-completions
//! [`LlmProvider`](crate::llm::LlmProvider), a small chat completion at a
//! set temperature, and the client the remote embedder
//! ([`crate::context::OpenAiEmbedder`]) shares.
//!
//! "OpenAI-compatible" covers OpenAI itself and the servers that copy its
//! API: Ollama, vLLM, TEI, LiteLLM and other gateways are just other base
//! URLs. Everything goes through one [`OpenAiClient`], which owns the
//! retry policy (429, 5xx, timeouts and failed connections are retried with
//! exponential back-off, honouring `retry-after`) and the error mapping (a
//! refused request is [`Error::InvalidInput`](crate::Error::InvalidInput),
//! a server that keeps failing is [`Error::Backend`](crate::Error::Backend)
//! with `backend: "openai"`). The API key is sent only as a bearer token:
//! never logged, never shown by `Debug`, and cut out of any server message
//! that echoes it. See `docs/openai.md`.
//!
//! - [`OpenAiConfig`] and [`OpenAiClient`] say where the server is, with
//!   which key, time limits and retries.
//! - [`OpenAiProvider`] is an [`LlmProvider`](crate::llm::LlmProvider)
//!   over `/chat/completions`: tool calls, streaming, token and cost
//!   accounting.
//! - [`OpenAiChat`] makes one non-streaming `/chat/completions` call at a
//!   set temperature, through the provider.

mod chat;
pub(crate) mod client;
mod provider;
mod stream;
mod wire;

pub use crate::llm::ChatAnswer;
pub use chat::{OpenAiChat, OpenAiChatConfig};
pub use client::{OpenAiClient, OpenAiConfig, DEFAULT_BASE_URL};
pub use provider::{OpenAiProvider, OpenAiProviderConfig};
pub use wire::TokenLimitField;
