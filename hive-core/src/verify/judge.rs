//! [`JudgeVerifier`]: a model scores the result against a rubric — the
//! task's input and the agent's answer are shown to it, and the first
//! number of its reply is the score.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::{first_number, Verifier};
use crate::error::{Error, Result};
use crate::llm::{ChatMessage, LlmProvider, LlmRequest};
use crate::queue::Task;

/// The judge's system prompt; the rubric follows it.
pub const JUDGE_SYSTEM: &str = "You grade an AI agent's answer to a task. Reply with a score \
from 0 (wrong or useless) to 1 (fully right) as the first thing you write, then one line on \
why. The rubric:";

/// A model that scores results.
pub struct JudgeVerifier {
    provider: Arc<dyn LlmProvider>,
    rubric: String,
    model: Option<String>,
}

impl JudgeVerifier {
    /// `provider`'s default model, grading by `rubric`.
    pub fn new(provider: Arc<dyn LlmProvider>, rubric: impl Into<String>) -> Self {
        JudgeVerifier {
            provider,
            rubric: rubric.into(),
            model: None,
        }
    }

    /// A model other than the provider's default.
    pub fn model(mut self, model: impl Into<String>) -> Self {
        self.model = Some(model.into());
        self
    }
}

#[async_trait]
impl Verifier for JudgeVerifier {
    fn kind(&self) -> &'static str {
        "judge"
    }

    async fn score(&self, task: &Task, result: &Value) -> Result<f64> {
        let input = match task.payload.get("prompt").and_then(Value::as_str) {
            Some(p) => p.to_string(),
            None => task.payload.to_string(),
        };
        let answer = match result.get("text").and_then(Value::as_str) {
            Some(t) => t.to_string(),
            None => result.to_string(),
        };
        let request = LlmRequest {
            model: self.model.clone(),
            system: Some(format!("{JUDGE_SYSTEM}\n{}", self.rubric)),
            messages: vec![ChatMessage::user(format!(
                "Task:\n{input}\n\nAnswer:\n{answer}"
            ))],
            tools: Vec::new(),
            max_tokens: 200,
            temperature: Some(0.0),
        };
        let reply = self.provider.complete(&request).await?.text();
        first_number(&reply)
            .ok_or_else(|| Error::invalid(format!("the judge's reply holds no score: {reply:?}")))
    }
}
