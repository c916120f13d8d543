//! [`LlmProvider`] over OpenAI-compatible chat completions
//! (`POST {base}/chat/completions`): OpenAI itself and the servers that copy
//! its API — Ollama, vLLM, the llama.cpp server, LiteLLM — with tool calls,
//! streaming, and token and cost accounting. The wire format lives in
//! `wire.rs`, stream assembly in `stream.rs`, and retries, time limits and
//! error mapping in the shared [`OpenAiClient`].

use std::collections::VecDeque;
use std::sync::Arc;

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};

use super::client::{OpenAiClient, OpenAiConfig};
use super::stream::{Assembler, Fed};
use super::wire::{self, ChatResponse, Target, TokenLimitField};
use crate::error::{Error, Result};
use crate::llm::{LlmProvider, LlmRequest, LlmResponse, Pricing, StreamEvent};

/// The chat-completions endpoint, under the base URL.
const ENDPOINT: &str = "chat/completions";

/// Which model to ask, on which server, at what price.
#[derive(Clone, Debug)]
pub struct OpenAiProviderConfig {
    /// Where the server is and how to reach it (key, timeout, retries).
    pub client: OpenAiConfig,
    /// The model used when a request names none, e.g. `"gpt-4o-mini"` or,
    /// on Ollama, `"llama3.2"`.
    pub model: String,
    /// Prices for [`LlmResponse::cost_usd`]. Default
    /// [`Pricing::list_prices`]; local models are unknown to it and cost
    /// nothing to track, so their cost is `None`.
    pub pricing: Pricing,
    /// Which field carries the token limit. Default
    /// [`TokenLimitField::Auto`].
    pub token_limit_field: TokenLimitField,
}

impl OpenAiProviderConfig {
    /// `model` on the server `client` describes, with the defaults.
    pub fn new(client: OpenAiConfig, model: impl Into<String>) -> Self {
        OpenAiProviderConfig {
            client,
            model: model.into(),
            pricing: Pricing::list_prices(),
            token_limit_field: TokenLimitField::Auto,
        }
    }

    /// `model` on the server named by the environment (see
    /// [`OpenAiConfig::from_env`]), with the defaults.
    pub fn from_env(model: impl Into<String>) -> Self {
        Self::new(OpenAiConfig::from_env(), model)
    }
}

/// Chat completions from an OpenAI-compatible server, as an
/// [`LlmProvider`].
///
/// The neutral conversation maps to OpenAI's as follows: the system prompt
/// is a `system` message; an assistant turn is one `assistant` message with
/// its text as `content` and its tool calls as `tool_calls` (arguments as
/// JSON text); each tool result becomes a `tool` message, placed before the
/// text of its user turn. The wire format has no error flag for a tool
/// result, so a failed one is sent as `"error: "` followed by its content.
/// Tool arguments the model wrote as invalid JSON arrive as
/// `Value::String` of the raw text, and go back to the model verbatim.
///
/// ```no_run
/// # async fn run() -> hive_core::Result<()> {
/// use hive_core::llm::{LlmProvider, LlmRequest};
/// use hive_core::llm::openai::{OpenAiProvider, OpenAiProviderConfig};
///
/// // OPENAI_API_KEY must be set for api.openai.com; a local server such as
/// // Ollama (OPENAI_BASE_URL=http://localhost:11434/v1) needs none.
/// let llm = OpenAiProvider::new(OpenAiProviderConfig::from_env("gpt-4o-mini"))?;
/// let answer = llm.complete(&LlmRequest::new("Name three primes.")).await?;
/// println!("{} ({:?} tokens, ${:?})", answer.text(), answer.usage, answer.cost_usd);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OpenAiProvider {
    client: OpenAiClient,
    config: Arc<OpenAiProviderConfig>,
    /// `config.token_limit_field` with `Auto` decided by the base URL.
    limit_field: TokenLimitField,
}

impl OpenAiProvider {
    /// A provider for `config`. Sends nothing yet.
    ///
    /// A key is optional — Ollama, vLLM and the llama.cpp server need none
    /// — except on OpenAI's own API (`api.openai.com`, the default base
    /// URL), which refuses every request without one: there a missing key
    /// fails here rather than at the first call (see
    /// [`OpenAiConfig::require_api_key`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an unnamed model, a malformed base URL or
    /// other bad client settings, or `api.openai.com` without a key.
    pub fn new(config: OpenAiProviderConfig) -> Result<Self> {
        if config.model.trim().is_empty() {
            return Err(Error::invalid("the chat model must be named"));
        }
        if config.client.needs_api_key() {
            config.client.require_api_key()?;
        }
        let client = OpenAiClient::new(config.client.clone())?;
        let limit_field = match config.token_limit_field {
            TokenLimitField::Auto if config.client.needs_api_key() => {
                TokenLimitField::MaxCompletionTokens
            }
            TokenLimitField::Auto => TokenLimitField::MaxTokens,
            chosen => chosen,
        };
        Ok(OpenAiProvider {
            client,
            config: Arc::new(config),
            limit_field,
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &OpenAiProviderConfig {
        &self.config
    }

    /// The model `request` asks for.
    fn model_of<'a>(&'a self, request: &'a LlmRequest) -> &'a str {
        request.model.as_deref().unwrap_or(&self.config.model)
    }

    /// The wire request, after the checks every provider makes.
    fn wire_request<'a>(
        &'a self,
        request: &'a LlmRequest,
        stream: bool,
    ) -> Result<wire::ChatRequest<'a>> {
        request.check()?;
        wire::chat_request(
            request,
            &Target {
                default_model: &self.config.model,
                limit_field: self.limit_field,
                stream,
            },
        )
    }
}

#[async_trait]
impl LlmProvider for OpenAiProvider {
    fn provider(&self) -> &'static str {
        "openai"
    }

    fn default_model(&self) -> &str {
        &self.config.model
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse> {
        let body = self.wire_request(request, false)?;
        let answer: ChatResponse = self.client.post_json(ENDPOINT, &body).await?;
        wire::read_response(self.model_of(request), answer, &self.config.pricing)
    }

    async fn stream(
        &self,
        request: &LlmRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent>>> {
        let body = self.wire_request(request, true)?;
        let data = self.client.post_sse(ENDPOINT, &body).await?;
        let state = StreamState {
            data,
            assembler: Assembler::new(
                self.model_of(request),
                self.config.pricing.clone(),
                self.config.client.api_key.clone(),
            ),
            pending: VecDeque::new(),
            finished: false,
        };
        Ok(futures::stream::unfold(state, StreamState::next).boxed())
    }
}

/// A stream of neutral events being made from a stream of SSE data.
struct StreamState {
    data: BoxStream<'static, Result<String>>,
    assembler: Assembler,
    /// Events made but not yet handed out (one chunk can make several).
    pending: VecDeque<StreamEvent>,
    /// `[DONE]` came, the data ended, or something failed: nothing more
    /// is read.
    finished: bool,
}

impl StreamState {
    async fn next(mut self) -> Option<(Result<StreamEvent>, Self)> {
        loop {
            if let Some(event) = self.pending.pop_front() {
                return Some((Ok(event), self));
            }
            if self.finished {
                return None;
            }
            let mut made = Vec::new();
            let fed = match self.data.next().await {
                Some(Ok(data)) => self.assembler.feed(&data, &mut made),
                Some(Err(err)) => Err(err),
                None => self.assembler.end(&mut made).map(|()| Fed::Done),
            };
            self.pending.extend(made);
            match fed {
                Ok(Fed::Partial) => {}
                Ok(Fed::Done) => self.finished = true,
                Err(err) => {
                    // Events made before the failure are dropped with it:
                    // the stream's contract ends at its first error.
                    self.pending.clear();
                    self.finished = true;
                    return Some((Err(err), self));
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::ChatMessage;

    fn provider(client: OpenAiConfig) -> Result<OpenAiProvider> {
        OpenAiProvider::new(OpenAiProviderConfig::new(client, "gpt-4o-mini"))
    }

    #[test]
    fn openai_itself_needs_a_key_and_local_servers_do_not() {
        let err = provider(OpenAiConfig::default()).expect_err("no key");
        assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        assert!(
            err.to_string().contains("api.openai.com needs an API key"),
            "{err}"
        );
        assert!(err.to_string().contains("OPENAI_API_KEY"), "{err}");
        let err = provider(OpenAiConfig::default().with_api_key(" ")).expect_err("blank");
        assert!(err.to_string().contains("needs an API key"), "{err}");
        let p = provider(OpenAiConfig::default().with_api_key("sk-x")).expect("keyed");
        assert_eq!(p.limit_field, TokenLimitField::MaxCompletionTokens);
        let p = provider(OpenAiConfig::new("http://localhost:11434/v1")).expect("ollama");
        assert_eq!(p.limit_field, TokenLimitField::MaxTokens);
        assert_eq!((p.provider(), p.default_model()), ("openai", "gpt-4o-mini"));
        let err = OpenAiProvider::new(OpenAiProviderConfig::new(
            OpenAiConfig::new("http://h/v1"),
            " ",
        ))
        .expect_err("unnamed");
        assert!(err.to_string().contains("must be named"), "{err}");
    }

    #[test]
    fn the_token_limit_field_can_be_chosen() {
        let config = OpenAiProviderConfig {
            token_limit_field: TokenLimitField::MaxCompletionTokens,
            ..OpenAiProviderConfig::new(OpenAiConfig::new("http://h/v1"), "o3")
        };
        let p = OpenAiProvider::new(config).expect("provider");
        let request = LlmRequest::new("hi").max_tokens(7);
        let body =
            serde_json::to_value(p.wire_request(&request, false).expect("body")).expect("json");
        assert_eq!(body["max_completion_tokens"], 7);
        assert!(body.get("max_tokens").is_none(), "{body}");
    }

    #[tokio::test]
    async fn bad_requests_send_nothing() {
        // Nothing listens on port 9: a request that were sent would fail
        // with a connection error, not InvalidInput.
        let p = provider(OpenAiConfig::new("http://127.0.0.1:9/v1")).expect("provider");
        let empty = LlmRequest {
            messages: Vec::new(),
            ..LlmRequest::new("")
        };
        let mut assistant_first = LlmRequest::new("x");
        assistant_first
            .messages
            .insert(0, ChatMessage::assistant("hi"));
        for (request, says) in [
            (empty, "at least one message"),
            (assistant_first, "must start with a user message"),
            (LlmRequest::new("hi").max_tokens(0), "max_tokens"),
        ] {
            let err = p.complete(&request).await.expect_err(says);
            assert!(matches!(err, Error::InvalidInput(_)), "{err}");
            assert!(err.to_string().contains(says), "{err}");
            let err = p.stream(&request).await.err().expect(says);
            assert!(matches!(err, Error::InvalidInput(_)), "{err}");
        }
    }
}
