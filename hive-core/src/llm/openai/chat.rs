//! One question, one answer: a non-streaming chat completion at a set
//! temperature. A thin layer over [`OpenAiProvider`], which owns the wire
//! format; tools, streaming and cost accounting are the provider's. It is
//! an [`LlmProvider`] itself, so it can be handed to anything that takes
//! one (the context engine's summaries).

use async_trait::async_trait;
use futures::stream::BoxStream;

use super::client::OpenAiConfig;
use super::provider::{OpenAiProvider, OpenAiProviderConfig};
use crate::error::{Error, Result};
use crate::llm::{ChatAnswer, LlmProvider, LlmProviderExt, LlmRequest, LlmResponse, StreamEvent};

/// Which chat model to ask.
#[derive(Clone, Debug)]
pub struct OpenAiChatConfig {
    /// Where the server is and how to reach it.
    pub client: OpenAiConfig,
    /// The model's id, e.g. `"gpt-4o-mini"` or, on Ollama, `"llama3.2"`.
    pub model: String,
    /// Sampling temperature; default none (the server's default). Summaries
    /// read better with a low one, e.g. 0.2.
    pub temperature: Option<f32>,
}

impl OpenAiChatConfig {
    /// `model` on the server `client` describes, with the defaults.
    pub fn new(client: OpenAiConfig, model: impl Into<String>) -> Self {
        OpenAiChatConfig {
            client,
            model: model.into(),
            temperature: None,
        }
    }
}

/// Chat completions from an OpenAI-compatible server.
///
/// ```no_run
/// # async fn run() -> hive_core::Result<()> {
/// use hive_core::llm::openai::{OpenAiChat, OpenAiChatConfig, OpenAiConfig};
///
/// let chat = OpenAiChat::new(OpenAiChatConfig::new(OpenAiConfig::from_env(), "gpt-4o-mini"))?;
/// let answer = chat
///     .complete("Summarise the conversation in one sentence.", "Alice: ship Friday? Bob: yes.", 100)
///     .await?;
/// println!("{} ({} + {} tokens)", answer.text, answer.input_tokens, answer.output_tokens);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OpenAiChat {
    provider: OpenAiProvider,
    temperature: Option<f32>,
}

impl OpenAiChat {
    /// A chat client for `config`. Sends nothing yet.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed base URL, an unnamed model,
    /// or OpenAI's own API without a key (see [`OpenAiProvider::new`]).
    pub fn new(config: OpenAiChatConfig) -> Result<Self> {
        if config.model.trim().is_empty() {
            return Err(Error::invalid("the chat model must be named"));
        }
        let provider = OpenAiProvider::new(OpenAiProviderConfig::new(config.client, config.model))?;
        Ok(OpenAiChat {
            provider,
            temperature: config.temperature,
        })
    }

    /// The model it asks.
    pub fn model(&self) -> &str {
        self.provider.default_model()
    }

    /// Asks `user` under the instructions `system` (left out when empty),
    /// for at most `max_tokens` tokens of answer.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty `user` or a zero `max_tokens`
    /// (nothing is sent), or when the server refuses the request;
    /// [`Error::Backend`] when it fails or answers without text.
    pub async fn complete(&self, system: &str, user: &str, max_tokens: u32) -> Result<ChatAnswer> {
        if user.trim().is_empty() {
            return Err(Error::invalid("the user message is empty"));
        }
        let request = LlmRequest::new(user).system(system).max_tokens(max_tokens);
        self.ask(&request).await
    }

    /// `request` with this chat's temperature when it sets none.
    fn tempered<'a>(&self, request: &'a LlmRequest) -> std::borrow::Cow<'a, LlmRequest> {
        match (request.temperature, self.temperature) {
            (None, Some(t)) => {
                let mut request = request.clone();
                request.temperature = Some(t);
                std::borrow::Cow::Owned(request)
            }
            _ => std::borrow::Cow::Borrowed(request),
        }
    }
}

/// The chat is a provider too (its model, at its temperature), so whatever
/// takes any [`LlmProvider`] — the context engine's summaries, an
/// [`LlmAgent`](crate::llm_agent::LlmAgent) — can be given one.
#[async_trait]
impl LlmProvider for OpenAiChat {
    fn provider(&self) -> &'static str {
        self.provider.provider()
    }

    fn default_model(&self) -> &str {
        self.provider.default_model()
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse> {
        self.provider.complete(&self.tempered(request)).await
    }

    async fn stream(
        &self,
        request: &LlmRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent>>> {
        self.provider.stream(&self.tempered(request)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bad_arguments_send_nothing() {
        let chat = OpenAiChat::new(OpenAiChatConfig::new(
            OpenAiConfig::new("http://127.0.0.1:9/v1"),
            "m",
        ))
        .expect("chat");
        for (user, max, says) in [(" ", 5, "user message is empty"), ("hi", 0, "max_tokens")] {
            let err = chat.complete("sys", user, max).await.expect_err(says);
            assert!(matches!(err, Error::InvalidInput(_)), "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
        let err = OpenAiChat::new(OpenAiChatConfig::new(OpenAiConfig::default(), ""))
            .expect_err("unnamed");
        assert!(err.to_string().contains("must be named"), "{err}");
        let err = OpenAiChat::new(OpenAiChatConfig::new(OpenAiConfig::default(), "m"))
            .expect_err("no key");
        assert!(err.to_string().contains("needs an API key"), "{err}");
    }
}
