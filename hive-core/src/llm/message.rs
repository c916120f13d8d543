//! The provider-neutral shape of a model conversation: messages made of
//! content blocks (text, tool calls, tool results), tool definitions, the
//! request, the response with its stop reason and token usage, and the
//! events of a streamed response.
//!
//! Providers translate these to and from their wire formats (Anthropic
//! Messages, OpenAI chat completions); nothing here knows either.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// Who said it. System prompts are not messages: see [`LlmRequest::system`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// The caller (and tool results, which go back as the user's turn).
    User,
    /// The model.
    Assistant,
}

/// One piece of a message.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub enum ContentBlock {
    /// Plain text.
    Text {
        /// The text.
        text: String,
    },
    /// The model asks for a tool to be run.
    ToolUse {
        /// The call's id, echoed by its result.
        id: String,
        /// The tool's name.
        name: String,
        /// The arguments, as the model wrote them. A provider whose wire
        /// format carries arguments as a string (OpenAI) parses it here;
        /// unparsable arguments arrive as `Value::String` of the raw text,
        /// so the caller can answer with a tool error instead of failing.
        input: Value,
    },
    /// The answer to a tool call, sent back in a user message.
    ToolResult {
        /// The id of the [`ContentBlock::ToolUse`] it answers.
        tool_use_id: String,
        /// What the tool returned (or the error text).
        content: String,
        /// True when the tool failed; the model sees that it did.
        is_error: bool,
    },
}

impl ContentBlock {
    /// A text block.
    pub fn text(text: impl Into<String>) -> Self {
        ContentBlock::Text { text: text.into() }
    }
}

/// One turn of the conversation.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ChatMessage {
    /// Who said it.
    pub role: Role,
    /// What was said, in order.
    pub content: Vec<ContentBlock>,
}

impl ChatMessage {
    /// A user message of plain text.
    pub fn user(text: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::User,
            content: vec![ContentBlock::text(text)],
        }
    }

    /// An assistant message of plain text.
    pub fn assistant(text: impl Into<String>) -> Self {
        ChatMessage {
            role: Role::Assistant,
            content: vec![ContentBlock::text(text)],
        }
    }

    /// The text blocks joined with newlines.
    pub fn text(&self) -> String {
        join_text(&self.content)
    }
}

/// A tool the model may call.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolSpec {
    /// Its name (`^[a-zA-Z0-9_-]{1,64}$` for both providers).
    pub name: String,
    /// What it does, for the model.
    pub description: String,
    /// JSON schema of its arguments (an object schema).
    pub input_schema: Value,
}

/// What to ask the model.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmRequest {
    /// The model id; `None` uses the provider's configured default.
    pub model: Option<String>,
    /// The system prompt.
    pub system: Option<String>,
    /// The conversation so far, oldest first; must not be empty and must
    /// start with a user message.
    pub messages: Vec<ChatMessage>,
    /// Tools the model may call.
    pub tools: Vec<ToolSpec>,
    /// The most tokens the answer may have (1 or more).
    pub max_tokens: u32,
    /// Sampling temperature; `None` is the provider's default.
    pub temperature: Option<f32>,
}

impl LlmRequest {
    /// A one-message request with `max_tokens` 1024.
    pub fn new(prompt: impl Into<String>) -> Self {
        LlmRequest {
            model: None,
            system: None,
            messages: vec![ChatMessage::user(prompt)],
            tools: Vec::new(),
            max_tokens: 1024,
            temperature: None,
        }
    }

    /// Sets the system prompt.
    pub fn system(mut self, system: impl Into<String>) -> Self {
        self.system = Some(system.into());
        self
    }

    /// Adds a tool.
    pub fn tool(mut self, tool: ToolSpec) -> Self {
        self.tools.push(tool);
        self
    }

    /// Sets the token limit.
    pub fn max_tokens(mut self, n: u32) -> Self {
        self.max_tokens = n;
        self
    }

    /// Checks what no provider accepts: no messages, a first message that
    /// is not the user's, `max_tokens` 0, a temperature outside 0–2, a bad
    /// tool name or a tool schema that is not an object, two tools with one
    /// name.
    ///
    /// # Errors
    /// [`crate::Error::InvalidInput`] naming the problem.
    pub fn check(&self) -> crate::Result<()> {
        use crate::Error;
        match self.messages.first() {
            None => return Err(Error::invalid("an LLM request needs at least one message")),
            Some(m) if m.role != Role::User => {
                return Err(Error::invalid(
                    "an LLM conversation must start with a user message",
                ))
            }
            Some(_) => {}
        }
        if self.max_tokens == 0 {
            return Err(Error::invalid("max_tokens must be at least 1"));
        }
        if let Some(t) = self.temperature {
            if !(0.0..=2.0).contains(&t) {
                return Err(Error::invalid(format!(
                    "temperature must be 0 to 2, got {t}"
                )));
            }
        }
        let mut names = std::collections::BTreeSet::new();
        for tool in &self.tools {
            let ok = !tool.name.is_empty()
                && tool.name.len() <= 64
                && tool
                    .name
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-');
            if !ok {
                return Err(Error::invalid(format!(
                    "tool name {:?} must be 1-64 of A-Z a-z 0-9 _ -",
                    tool.name
                )));
            }
            if !tool.input_schema.is_object() {
                return Err(Error::invalid(format!(
                    "tool {}: input_schema must be a JSON object",
                    tool.name
                )));
            }
            if !names.insert(tool.name.as_str()) {
                return Err(Error::invalid(format!(
                    "two tools are named {:?}",
                    tool.name
                )));
            }
        }
        Ok(())
    }
}

/// Why the model stopped.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum StopReason {
    /// It finished its turn.
    EndTurn,
    /// It wants tools run (the response holds [`ContentBlock::ToolUse`]s).
    ToolUse,
    /// It hit `max_tokens`; the answer is cut short.
    MaxTokens,
    /// It produced a stop sequence.
    StopSequence,
    /// Anything else the provider said, verbatim.
    Other(String),
}

/// Tokens a call used, as the provider counted them.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Usage {
    /// Prompt tokens (including cached ones).
    pub input_tokens: u64,
    /// Answer tokens.
    pub output_tokens: u64,
}

impl std::ops::AddAssign for Usage {
    fn add_assign(&mut self, other: Usage) {
        self.input_tokens += other.input_tokens;
        self.output_tokens += other.output_tokens;
    }
}

/// What the model answered.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmResponse {
    /// The model that answered, as the provider names it.
    pub model: String,
    /// The answer's blocks, in order.
    pub content: Vec<ContentBlock>,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Tokens used.
    pub usage: Usage,
    /// What the call cost in US dollars, when the model's prices are known
    /// (see [`super::Pricing`]).
    pub cost_usd: Option<f64>,
}

impl LlmResponse {
    /// The text blocks joined with newlines.
    pub fn text(&self) -> String {
        join_text(&self.content)
    }

    /// The tool calls, in order: `(id, name, input)`.
    pub fn tool_calls(&self) -> Vec<(&str, &str, &Value)> {
        self.content
            .iter()
            .filter_map(|b| match b {
                ContentBlock::ToolUse { id, name, input } => {
                    Some((id.as_str(), name.as_str(), input))
                }
                _ => None,
            })
            .collect()
    }

    /// The answer as an assistant message, to append to the conversation.
    pub fn to_message(&self) -> ChatMessage {
        ChatMessage {
            role: Role::Assistant,
            content: self.content.clone(),
        }
    }
}

/// One event of a streamed answer.
#[derive(Clone, Debug, PartialEq)]
pub enum StreamEvent {
    /// More text of the text block at `index`.
    TextDelta {
        /// The block's position in the answer.
        index: usize,
        /// The new text.
        text: String,
    },
    /// A tool call starts at `index`.
    ToolUseStart {
        /// The block's position in the answer.
        index: usize,
        /// The call's id.
        id: String,
        /// The tool's name.
        name: String,
    },
    /// More of the JSON arguments of the tool call at `index`, as text.
    ToolInputDelta {
        /// The block's position in the answer.
        index: usize,
        /// The new fragment of JSON text.
        json: String,
    },
    /// The end: the whole answer, assembled from the deltas, with the stop
    /// reason and usage. Always the last event of a stream that did not fail.
    Done(LlmResponse),
}

fn join_text(blocks: &[ContentBlock]) -> String {
    blocks
        .iter()
        .filter_map(|b| match b {
            ContentBlock::Text { text } => Some(text.as_str()),
            _ => None,
        })
        .collect::<Vec<_>>()
        .join("\n")
}
