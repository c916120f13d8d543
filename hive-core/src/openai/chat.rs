//! One question, one answer: a non-streaming chat completion over
//! `POST {base}/chat/completions`, enough for the context engine's
//! summaries. Tools, streaming and cost accounting belong to the LLM
//! provider that will grow from it.

use serde::{Deserialize, Serialize};

use super::client::{OpenAiClient, OpenAiConfig, BACKEND};
use crate::error::{Error, Result};

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
    client: OpenAiClient,
    config: OpenAiChatConfig,
}

impl OpenAiChat {
    /// A chat client for `config`. Sends nothing yet.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a malformed base URL or an unnamed model.
    pub fn new(config: OpenAiChatConfig) -> Result<Self> {
        if config.model.trim().is_empty() {
            return Err(Error::invalid("the chat model must be named"));
        }
        let client = OpenAiClient::new(config.client.clone())?;
        Ok(OpenAiChat { client, config })
    }

    /// The model it asks.
    pub fn model(&self) -> &str {
        &self.config.model
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
        if max_tokens == 0 {
            return Err(Error::invalid("max_tokens must be at least 1"));
        }
        let request = self.request(system, user, max_tokens);
        let answer: ChatResponse = self.client.post_json("chat/completions", &request).await?;
        read_answer(&self.config.model, answer)
    }

    fn request<'a>(&'a self, system: &'a str, user: &'a str, max_tokens: u32) -> ChatRequest<'a> {
        let mut messages = Vec::with_capacity(2);
        if !system.trim().is_empty() {
            messages.push(Message {
                role: "system",
                content: system,
            });
        }
        messages.push(Message {
            role: "user",
            content: user,
        });
        ChatRequest {
            model: &self.config.model,
            messages,
            max_tokens,
            temperature: self.config.temperature,
            stream: false,
        }
    }
}

#[derive(Serialize)]
struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    stream: bool,
}

#[derive(Serialize)]
struct Message<'a> {
    role: &'static str,
    content: &'a str,
}

#[derive(Deserialize)]
struct ChatResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Vec<Choice>,
    #[serde(default)]
    usage: Option<Usage>,
}

#[derive(Deserialize)]
struct Choice {
    message: AnswerMessage,
    #[serde(default)]
    finish_reason: Option<String>,
}

#[derive(Deserialize)]
struct AnswerMessage {
    #[serde(default)]
    content: Option<String>,
    #[serde(default)]
    refusal: Option<String>,
}

#[derive(Deserialize)]
struct Usage {
    #[serde(default)]
    prompt_tokens: u64,
    #[serde(default)]
    completion_tokens: u64,
}

fn read_answer(asked: &str, answer: ChatResponse) -> Result<ChatAnswer> {
    let usage = answer.usage.unwrap_or(Usage {
        prompt_tokens: 0,
        completion_tokens: 0,
    });
    let choice = answer
        .choices
        .into_iter()
        .next()
        .ok_or_else(|| Error::backend(BACKEND, format!("{asked} answered no choices")))?;
    let text = match (choice.message.content, choice.message.refusal) {
        (Some(text), _) if !text.is_empty() => text,
        (_, Some(refusal)) => {
            return Err(Error::backend(
                BACKEND,
                format!("{asked} refused to answer: {refusal}"),
            ))
        }
        _ => return Err(Error::backend(BACKEND, format!("{asked} answered no text"))),
    };
    Ok(ChatAnswer {
        text,
        input_tokens: usage.prompt_tokens,
        output_tokens: usage.completion_tokens,
        model: answer.model.unwrap_or_else(|| asked.to_string()),
        truncated: choice.finish_reason.as_deref() == Some("length"),
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn read(value: serde_json::Value) -> Result<ChatAnswer> {
        read_answer("gpt-x", serde_json::from_value(value).expect("shape"))
    }

    #[test]
    fn an_answer_gives_text_tokens_and_model() {
        let a = read(json!({
            "model": "gpt-x-2024",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi."}, "finish_reason": "stop"}],
            "usage": {"prompt_tokens": 12, "completion_tokens": 3, "total_tokens": 15}
        }))
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
        let a = read(json!({
            "choices": [{"message": {"content": "cut"}, "finish_reason": "length"}]
        }))
        .expect("answer");
        assert_eq!(
            (a.model.as_str(), a.input_tokens, a.truncated),
            ("gpt-x", 0, true)
        );
    }

    #[test]
    fn an_answer_without_text_is_a_backend_error() {
        for (body, says) in [
            (json!({"choices": []}), "no choices"),
            (
                json!({"choices": [{"message": {"content": null}}]}),
                "no text",
            ),
            (
                json!({"choices": [{"message": {"content": null, "refusal": "no"}}]}),
                "refused to answer: no",
            ),
        ] {
            let err = read(body).expect_err(says);
            assert!(matches!(err, Error::Backend { .. }), "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }

    #[test]
    fn the_request_leaves_out_an_empty_system_prompt() {
        let mut config = OpenAiChatConfig::new(OpenAiConfig::default(), "m");
        let chat = OpenAiChat::new(config.clone()).expect("chat");
        let json = |r: ChatRequest<'_>| serde_json::to_value(&r).expect("json");
        assert_eq!(
            json(chat.request(" ", "hi", 5)),
            json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "max_tokens": 5, "stream": false})
        );
        config.temperature = Some(0.5);
        let chat = OpenAiChat::new(config).expect("chat");
        assert_eq!(
            json(chat.request("be brief", "hi", 5)),
            json!({
                "model": "m",
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                "max_tokens": 5, "temperature": 0.5, "stream": false
            })
        );
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
    }
}
