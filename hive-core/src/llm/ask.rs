//! One question, one answer, from any [`LlmProvider`]: the convenience the
//! context engine's summaries (and anything else that only wants text) use,
//! so none of them is tied to one provider.

use async_trait::async_trait;

use super::{LlmProvider, LlmRequest, LlmResponse, StopReason};
use crate::error::{Error, Result};

/// The stop reason providers give for a refusal (OpenAI's `refusal` field,
/// Anthropic's `refusal` stop reason), kept verbatim in
/// [`StopReason::Other`].
pub(crate) const REFUSAL: &str = "refusal";

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

/// Conveniences over every [`LlmProvider`]; implementors never touch it.
#[async_trait]
pub trait LlmProviderExt: LlmProvider {
    /// Sends `request` and answers the model's text.
    ///
    /// # Errors
    /// As [`LlmProvider::complete`]; and [`Error::Backend`] (with the
    /// provider's name) when the model refused or answered no text.
    async fn ask(&self, request: &LlmRequest) -> Result<ChatAnswer> {
        let response = self.complete(request).await?;
        let asked = request
            .model
            .clone()
            .unwrap_or_else(|| self.default_model().to_string());
        read_answer(self.provider(), &asked, response)
    }
}

impl<P: LlmProvider + ?Sized> LlmProviderExt for P {}

/// The answer's text, or why there is none.
fn read_answer(backend: &'static str, asked: &str, response: LlmResponse) -> Result<ChatAnswer> {
    let text = response.text();
    if matches!(&response.stop_reason, StopReason::Other(r) if r == REFUSAL) {
        return Err(Error::backend(
            backend,
            format!("{asked} refused to answer: {text}"),
        ));
    }
    if text.is_empty() {
        return Err(Error::backend(backend, format!("{asked} answered no text")));
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
            "openai",
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
            "openai",
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
            let err = read_answer("openai", "gpt-x", response(content, stop)).expect_err(says);
            assert!(matches!(err, Error::Backend { .. }), "{err}");
            assert!(err.to_string().contains(says), "{err}");
        }
    }
}
