//! Language models: one provider contract, [`LlmProvider`], for the
//! Anthropic Messages API and OpenAI-compatible chat completions (OpenAI,
//! Ollama, vLLM, llama.cpp server), with tool calls, streaming, retries and
//! token and cost accounting.
//!
//! - [`anthropic`]: the Anthropic Messages API ([`anthropic::AnthropicProvider`]).
//! - [`message`]: the provider-neutral conversation ([`LlmRequest`],
//!   [`ChatMessage`], [`ContentBlock`], [`LlmResponse`], [`StreamEvent`]).
//! - [`Pricing`]: dollars per million tokens, per model, for
//!   [`LlmResponse::cost_usd`].
//! - [`openai`]: OpenAI-compatible chat completions (OpenAI, Ollama, vLLM,
//!   llama.cpp server): [`openai::OpenAiProvider`], and the client the
//!   remote embedder ([`crate::context::OpenAiEmbedder`]) shares.
//! - [`HttpSettings`]: the time limit, retries and extra headers both HTTP
//!   clients take (the `http` field of their configs).
//! - [`LlmProviderExt::ask`]: one question, one answer, from any provider.
//! - [`UsageLedger`]: spend by agent and task, recorded by the agents that
//!   call models.
//!
//! This is the one room for model providers. It sits below the context
//! engine and the agents, which take any `Arc<dyn LlmProvider>`; the agent
//! that works by talking to a model is [`crate::llm_agent::LlmAgent`]. The
//! HTTP clients (`anthropic`, `openai`, and `transport`, the retry and key
//! hygiene path they share) are compiled with the `llm` feature; the
//! contract and the neutral conversation always are.

#[cfg(feature = "llm")]
pub mod anthropic;
pub(crate) mod ask;
mod ledger;
pub mod message;
#[cfg(feature = "llm")]
pub mod openai;
mod pricing;
#[cfg(feature = "llm")]
pub(crate) mod transport;

use async_trait::async_trait;
use futures::stream::BoxStream;

pub use ask::{ChatAnswer, LlmProviderExt};
pub use ledger::{Spend, UsageLedger};
pub use message::{
    ChatMessage, ContentBlock, LlmRequest, LlmResponse, Role, StopReason, StreamEvent, ToolSpec,
    Usage,
};
pub use pricing::{ModelPrice, Pricing};
#[cfg(feature = "llm")]
pub use transport::HttpSettings;

use crate::error::Result;

/// A language model behind an HTTP API.
///
/// # Contract
///
/// - **Checked before sending.** A request that fails
///   [`LlmRequest::check`] is [`crate::Error::InvalidInput`] and sends
///   nothing. A provider built without the credentials it needs fails at
///   construction, never mid-task.
/// - **One answer per call.** `complete` answers the model's whole turn:
///   its blocks in order, the stop reason, the usage and, when the model's
///   prices are known, the cost.
/// - **Streaming assembles to the same answer.** `stream` yields deltas and
///   ends with [`StreamEvent::Done`] holding what `complete` would have
///   answered for the same turn.
/// - **Transient failures are retried.** Rate limits (429), overload (529)
///   and server errors (5xx) are retried with exponential backoff,
///   honouring `retry-after`, up to the configured attempts; what is left
///   is [`crate::Error::Backend`] (transient: the queue retries the task).
///   Other refusals (400, 401, 403, 404) are not retried and say what the
///   server said — never the API key.
/// - **Bounded time.** Every request has a timeout; running out is a
///   transient [`crate::Error::Backend`].
///
/// # Cancellation
///
/// Dropping a call's future abandons the HTTP request; nothing else is
/// left behind.
#[async_trait]
pub trait LlmProvider: Send + Sync + std::fmt::Debug {
    /// `"anthropic"` or `"openai"`: which wire format it speaks.
    fn provider(&self) -> &'static str;

    /// The model used when a request names none.
    fn default_model(&self) -> &str;

    /// One turn, answered whole.
    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse>;

    /// One turn, streamed.
    async fn stream(&self, request: &LlmRequest)
        -> Result<BoxStream<'static, Result<StreamEvent>>>;
}
