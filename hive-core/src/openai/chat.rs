//! One question, one answer: a non-streaming chat completion, enough for
//! the context engine's summaries. A thin layer over [`OpenAiProvider`],
//! which owns the wire format; tools, streaming and cost accounting are the
//! provider's.

use super::client::{OpenAiConfig, BACKEND};
use super::provider::{OpenAiProvider, OpenAiProviderConfig};
use super::wire::REFUSAL;
use crate::error::{Error, Result};
use crate::llm::{LlmProvider, LlmRequest, LlmResponse, StopReason};

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

/// What the model answered, and what it cost in tokens.
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub struct ChatAnswer {
    /// The assistant's text.
    pub text: String,
    /// Prompt tokens, as the server counted them (0 if it did not say).
    pub input_tokens: u64,
    /// Completion tokens, as the server counted them (0 if it did not say).
    pub output_tokens: u64,
    /// The model that answered, as the server names it (often a dated
    /// version of the one asked for).
    pub model: String,
    /// True when the answer stopped at `max_tokens` and is cut short.
    pub truncated: bool,
}

/// Chat completions from an OpenAI-compatible server.
///
/// ```no_run
/// # async fn run() -> hive_core::Result<()> {
/// use hive_core::openai::{OpenAiChat, OpenAiChatConfig, OpenAiConfig};
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
        let mut request = LlmRequest::new(user).system(system).max_tokens(max_tokens);
        request.temperature = self.temperature;
        let response = self.provider.complete(&request).await?;
        read_answer(self.model(), response)
    }
}

/// The answer's text, or why there is none.
fn read_answer(asked: &str, response: LlmResponse) -> Result<ChatAnswer> {
    let text = response.text();
    if matches!(&response.stop_reason, StopReason::Other(r) if r == REFUSAL) {
        return Err(Error::backend(
            BACKEND,
            format!("{asked} refused to answer: {text}"),
        ));
    }
    if text.is_empty() {
        return Err(Error::backend(BACKEND, format!("{asked} answered no text")));
    }
    Ok(ChatAnswer {
        text,
        input_tokens: response.usage.input_tokens,
        output_tokens: response.usage.output_tokens,
        truncated: response.stop_reason == StopReason::MaxTokens,
        model: response.model,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ContentBlock, Usage};

    fn response(content: Vec<ContentBlock>, stop_reason: StopReason) -> LlmResponse {
        LlmResponse {
            model: "gpt-x-2024".into(),
            content,
            stop_reason,
            usage: Usage {
                input_tokens: 12,
                output_tokens: 3,
            },
            cost_usd: None,
        }
    }

    #[test]
    fn an_answer_gives_text_tokens_and_model() {
        let a = read_answer(
            "gpt-x",
            response(vec![ContentBlock::text("Hi.")], StopReason::EndTurn),
        )
        .expect("answer");
        assert_eq!(
            (
                a.text.as_str(),
                a.input_tokens,
                a.output_tokens,
                a.model.as_str(),
                a.truncated
            ),
            ("Hi.", 12, 3, "gpt-x-2024", false)
        );
        let a = read_answer(
            "gpt-x",
            response(vec![ContentBlock::text("cut")], StopReason::MaxTokens),
        )
        .expect("answer");
        assert!(a.truncated);
    }

    #[test]
    fn an_answer_without_text_is_a_backend_error() {
        for (content, stop, says) in [
            (vec![], StopReason::EndTurn, "no text"),
            (
                vec![ContentBlock::text("no")],
                StopReason::Other("refusal".into()),
                "refused to answer: no",
            ),
        ] {
            let err = read_answer("gpt-x", response(content, stop)).expect_err(says);
            assert!(matches!(err, Error::Backend { .. }), "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }

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
