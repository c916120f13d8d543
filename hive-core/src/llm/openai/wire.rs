//! OpenAI's chat-completions wire format and its translation to and from
//! the provider-neutral conversation of [`crate::llm`]. Private: callers see
//! only [`LlmRequest`] and [`LlmResponse`]; this is the one place that knows
//! that tool results travel as `role: "tool"` messages and tool arguments
//! as JSON text.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::client::BACKEND;
use crate::error::{Error, Result};
// An answer that is OpenAI's `refusal` rather than `content` (the model
// declined, and said why) stops with `StopReason::Other(REFUSAL)`.
use crate::llm::ask::REFUSAL;
use crate::llm::{ContentBlock, LlmRequest, LlmResponse, Pricing, Role, StopReason, Usage};

/// Which request field carries the answer's token limit.
///
/// OpenAI deprecated `max_tokens` for `max_completion_tokens`, and its
/// reasoning models (o1, o3, …) refuse the old name; Ollama, vLLM and the
/// llama.cpp server read `max_tokens`, and not all of them know the new one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum TokenLimitField {
    /// `max_completion_tokens` on `api.openai.com`, `max_tokens` elsewhere.
    #[default]
    Auto,
    /// Always `max_tokens`.
    MaxTokens,
    /// Always `max_completion_tokens`.
    MaxCompletionTokens,
}

/// The prefix that marks a failed tool's result: the wire format has no
/// error flag, so the model reads it in the text.
pub(super) const TOOL_ERROR_PREFIX: &str = "error: ";

/// Everything a chat request needs beyond the neutral request itself.
pub(super) struct Target<'a> {
    /// The model when the request names none.
    pub default_model: &'a str,
    /// Which field carries `max_tokens` (already resolved, never `Auto`).
    pub limit_field: TokenLimitField,
    /// Streamed (`stream: true` with usage in the last chunk) or whole.
    pub stream: bool,
}

#[derive(Serialize)]
pub(super) struct ChatRequest<'a> {
    model: &'a str,
    messages: Vec<Message<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<Tool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    max_completion_tokens: Option<u32>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    stream: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    stream_options: Option<StreamOptions>,
}

#[derive(Serialize)]
struct StreamOptions {
    /// Asks for a last chunk carrying the token usage.
    include_usage: bool,
}

#[derive(Serialize)]
#[serde(tag = "role", rename_all = "lowercase")]
enum Message<'a> {
    System {
        content: &'a str,
    },
    User {
        content: String,
    },
    Assistant {
        /// `null` when the turn is only tool calls, as OpenAI sends it.
        content: Option<String>,
        #[serde(skip_serializing_if = "Vec::is_empty")]
        tool_calls: Vec<ToolCallOut<'a>>,
    },
    Tool {
        tool_call_id: &'a str,
        content: String,
    },
}

#[derive(Serialize)]
struct ToolCallOut<'a> {
    id: &'a str,
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionOut<'a>,
}

#[derive(Serialize)]
struct FunctionOut<'a> {
    name: &'a str,
    /// JSON text, as the model wrote it.
    arguments: String,
}

#[derive(Serialize)]
struct Tool<'a> {
    #[serde(rename = "type")]
    kind: &'static str,
    function: FunctionSpec<'a>,
}

#[derive(Serialize)]
struct FunctionSpec<'a> {
    name: &'a str,
    description: &'a str,
    parameters: &'a Value,
}

/// The wire request for `request`, which must already have passed
/// [`LlmRequest::check`].
///
/// # Errors
/// [`Error::InvalidInput`] for a block the wire format cannot place: a tool
/// call in a user message or a tool result in an assistant message.
pub(super) fn chat_request<'a>(
    request: &'a LlmRequest,
    target: &Target<'a>,
) -> Result<ChatRequest<'a>> {
    let mut messages = Vec::with_capacity(request.messages.len() + 1);
    if let Some(system) = request.system.as_deref().filter(|s| !s.trim().is_empty()) {
        messages.push(Message::System { content: system });
    }
    for (i, message) in request.messages.iter().enumerate() {
        match message.role {
            Role::User => user_messages(i, &message.content, &mut messages)?,
            Role::Assistant => messages.push(assistant_message(i, &message.content)?),
        }
    }
    let tools = request
        .tools
        .iter()
        .map(|t| Tool {
            kind: "function",
            function: FunctionSpec {
                name: &t.name,
                description: &t.description,
                parameters: &t.input_schema,
            },
        })
        .collect();
    let limit = Some(request.max_tokens);
    let completion_field = target.limit_field == TokenLimitField::MaxCompletionTokens;
    Ok(ChatRequest {
        model: request.model.as_deref().unwrap_or(target.default_model),
        messages,
        tools,
        max_tokens: limit.filter(|_| !completion_field),
        max_completion_tokens: limit.filter(|_| completion_field),
        temperature: request.temperature,
        stream: target.stream,
        stream_options: target.stream.then_some(StreamOptions {
            include_usage: true,
        }),
    })
}

/// A user turn: its tool results first, one `tool` message each (OpenAI
/// wants them right after the assistant's tool calls), then its text, if
/// any, as one `user` message.
fn user_messages<'a>(
    i: usize,
    blocks: &'a [ContentBlock],
    out: &mut Vec<Message<'a>>,
) -> Result<()> {
    let mut text = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text { text: t } => text.push(t.as_str()),
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => out.push(Message::Tool {
                tool_call_id: tool_use_id,
                content: if *is_error {
                    format!("{TOOL_ERROR_PREFIX}{content}")
                } else {
                    content.clone()
                },
            }),
            ContentBlock::ToolUse { name, .. } => {
                return Err(Error::invalid(format!(
                    "message {i}: a user message cannot call a tool ({name}); \
                     tool calls belong to assistant messages"
                )))
            }
        }
    }
    let only_results = text.is_empty() && !blocks.is_empty();
    if !only_results {
        out.push(Message::User {
            content: text.join("\n"),
        });
    }
    Ok(())
}

/// An assistant turn: its text and its tool calls in one message.
fn assistant_message(i: usize, blocks: &[ContentBlock]) -> Result<Message<'_>> {
    let mut text = Vec::new();
    let mut tool_calls = Vec::new();
    for block in blocks {
        match block {
            ContentBlock::Text { text: t } => text.push(t.as_str()),
            ContentBlock::ToolUse { id, name, input } => tool_calls.push(ToolCallOut {
                id,
                kind: "function",
                function: FunctionOut {
                    name,
                    arguments: arguments_text(input),
                },
            }),
            ContentBlock::ToolResult { .. } => {
                return Err(Error::invalid(format!(
                    "message {i}: an assistant message cannot hold a tool result; \
                     results go back in the next user message"
                )))
            }
        }
    }
    let content = match (text.is_empty(), tool_calls.is_empty()) {
        (true, false) => None,
        _ => Some(text.join("\n")),
    };
    Ok(Message::Assistant {
        content,
        tool_calls,
    })
}

/// Tool arguments as JSON text. Arguments that arrived unparsable (kept as
/// `Value::String` of the raw text) go back exactly as the model wrote them.
fn arguments_text(input: &Value) -> String {
    match input {
        Value::String(raw) => raw.clone(),
        other => other.to_string(),
    }
}

/// Tool arguments read from the model's JSON text: empty text is no
/// arguments (`{}`), text that is not JSON stays the raw text (see
/// [`ContentBlock::ToolUse`]).
pub(super) fn parse_arguments(raw: String) -> Value {
    if raw.trim().is_empty() {
        return Value::Object(serde_json::Map::new());
    }
    serde_json::from_str(&raw).unwrap_or(Value::String(raw))
}

#[derive(Deserialize)]
pub(super) struct ChatResponse {
    #[serde(default)]
    model: Option<String>,
    #[serde(default)]
    choices: Option<Vec<Choice>>,
    #[serde(default)]
    usage: Option<WireUsage>,
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
    #[serde(default)]
    tool_calls: Option<Vec<ToolCallIn>>,
}

#[derive(Deserialize)]
struct ToolCallIn {
    #[serde(default)]
    id: Option<String>,
    function: FunctionIn,
}

#[derive(Deserialize)]
struct FunctionIn {
    #[serde(default)]
    name: Option<String>,
    /// A JSON string from OpenAI; some servers send the object itself.
    #[serde(default)]
    arguments: Option<Value>,
}

#[derive(Clone, Copy, Default, Deserialize)]
pub(super) struct WireUsage {
    #[serde(default)]
    prompt_tokens: Option<u64>,
    #[serde(default)]
    completion_tokens: Option<u64>,
}

impl From<WireUsage> for Usage {
    fn from(u: WireUsage) -> Usage {
        Usage {
            input_tokens: u.prompt_tokens.unwrap_or(0),
            output_tokens: u.completion_tokens.unwrap_or(0),
        }
    }
}

/// One streamed chunk (`chat.completion.chunk`), or an error the server
/// reports in the middle of a stream.
#[derive(Deserialize)]
pub(super) struct Chunk {
    #[serde(default)]
    pub model: Option<String>,
    #[serde(default)]
    pub choices: Option<Vec<ChunkChoice>>,
    #[serde(default)]
    pub usage: Option<WireUsage>,
    #[serde(default)]
    pub error: Option<Value>,
}

#[derive(Deserialize)]
pub(super) struct ChunkChoice {
    #[serde(default)]
    pub delta: Option<Delta>,
    #[serde(default)]
    pub finish_reason: Option<String>,
}

#[derive(Deserialize)]
pub(super) struct Delta {
    #[serde(default)]
    pub content: Option<String>,
    #[serde(default)]
    pub refusal: Option<String>,
    #[serde(default)]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
}

#[derive(Deserialize)]
pub(super) struct ToolCallDelta {
    /// Which tool call of the answer this fragment belongs to.
    #[serde(default)]
    pub index: Option<usize>,
    #[serde(default)]
    pub id: Option<String>,
    #[serde(default)]
    pub function: Option<FunctionDelta>,
}

#[derive(Deserialize)]
pub(super) struct FunctionDelta {
    #[serde(default)]
    pub name: Option<String>,
    #[serde(default)]
    pub arguments: Option<String>,
}

/// An answer as both paths see it once it is complete: the whole response
/// of `complete`, or the deltas of `stream` put together.
pub(super) struct Draft {
    /// The answering model, if the server named it.
    pub model: Option<String>,
    pub blocks: Vec<ContentBlock>,
    pub finish_reason: Option<String>,
    /// The text is a refusal (OpenAI's `refusal` field), not an answer.
    pub refused: bool,
    pub usage: Usage,
}

impl Draft {
    /// The neutral response, priced by `pricing`.
    pub fn finish(self, asked: &str, pricing: &Pricing) -> LlmResponse {
        let model = self
            .model
            .filter(|m| !m.is_empty())
            .unwrap_or_else(|| asked.to_string());
        let has_tools = self
            .blocks
            .iter()
            .any(|b| matches!(b, ContentBlock::ToolUse { .. }));
        LlmResponse {
            cost_usd: pricing.cost(&model, self.usage),
            stop_reason: stop_reason(self.finish_reason.as_deref(), has_tools, self.refused),
            model,
            content: self.blocks,
            usage: self.usage,
        }
    }
}

/// OpenAI's `finish_reason` in neutral terms. An answer holding tool calls
/// wants them run even when the server says `stop` or nothing (older Ollama
/// releases do), so it stops with [`StopReason::ToolUse`].
fn stop_reason(finish: Option<&str>, has_tools: bool, refused: bool) -> StopReason {
    match finish {
        Some("tool_calls" | "function_call") => StopReason::ToolUse,
        Some("stop") | None if has_tools => StopReason::ToolUse,
        Some("stop") | None if refused => StopReason::Other(REFUSAL.to_string()),
        Some("stop") | None => StopReason::EndTurn,
        Some("length") => StopReason::MaxTokens,
        Some(other) => StopReason::Other(other.to_string()),
    }
}

/// A tool call's id, or one made up from its position for servers that
/// send none (a result must name the call it answers).
pub(super) fn tool_id(id: Option<String>, position: usize) -> String {
    id.filter(|id| !id.is_empty())
        .unwrap_or_else(|| format!("call_{position}"))
}

/// The neutral answer of a whole (non-streamed) response.
///
/// # Errors
/// [`Error::Backend`] when it holds no choice.
pub(super) fn read_response(
    asked: &str,
    answer: ChatResponse,
    pricing: &Pricing,
) -> Result<LlmResponse> {
    let choice = answer
        .choices
        .and_then(|c| c.into_iter().next())
        .ok_or_else(|| Error::backend(BACKEND, format!("{asked} answered no choices")))?;
    let message = choice.message;
    let mut blocks = Vec::new();
    let content = message.content.filter(|c| !c.is_empty());
    let refusal = message.refusal.filter(|r| !r.is_empty());
    let refused = content.is_none() && refusal.is_some();
    if let Some(text) = content.or(refusal) {
        blocks.push(ContentBlock::Text { text });
    }
    for (i, call) in message
        .tool_calls
        .unwrap_or_default()
        .into_iter()
        .enumerate()
    {
        let input = match call.function.arguments {
            Some(Value::String(raw)) => parse_arguments(raw),
            Some(Value::Null) | None => parse_arguments(String::new()),
            Some(other) => other,
        };
        blocks.push(ContentBlock::ToolUse {
            id: tool_id(call.id, i),
            name: call.function.name.unwrap_or_default(),
            input,
        });
    }
    Ok(Draft {
        model: answer.model,
        blocks,
        finish_reason: choice.finish_reason,
        refused,
        usage: answer.usage.unwrap_or_default().into(),
    }
    .finish(asked, pricing))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{ChatMessage, ToolSpec};
    use serde_json::json;

    fn target(stream: bool) -> Target<'static> {
        Target {
            default_model: "m",
            limit_field: TokenLimitField::MaxTokens,
            stream,
        }
    }

    fn wire(request: &LlmRequest, target: &Target<'_>) -> Value {
        serde_json::to_value(chat_request(request, target).expect("maps")).expect("json")
    }

    fn read(body: Value) -> Result<LlmResponse> {
        read_response(
            "gpt-x",
            serde_json::from_value(body).expect("shape"),
            &Pricing::none().with("gpt-x", 1.0, 2.0),
        )
    }

    #[test]
    fn a_plain_request_has_system_user_limit_and_no_tools() {
        let request = LlmRequest::new("hi").system("be brief").max_tokens(5);
        assert_eq!(
            wire(&request, &target(false)),
            json!({
                "model": "m",
                "messages": [{"role": "system", "content": "be brief"}, {"role": "user", "content": "hi"}],
                "max_tokens": 5, "stream": false
            })
        );
        // A blank system prompt is left out; the request's model wins.
        let mut request = LlmRequest::new("hi").system(" ");
        request.model = Some("other".into());
        request.temperature = Some(0.5);
        let streamed = Target {
            limit_field: TokenLimitField::MaxCompletionTokens,
            ..target(true)
        };
        assert_eq!(
            wire(&request, &streamed),
            json!({
                "model": "other",
                "messages": [{"role": "user", "content": "hi"}],
                "max_completion_tokens": 1024, "temperature": 0.5,
                "stream": true, "stream_options": {"include_usage": true}
            })
        );
    }

    #[test]
    fn tool_calls_and_results_take_openais_shape() {
        let request = LlmRequest {
            messages: vec![
                ChatMessage::user("weather in Paris and Rome?"),
                ChatMessage {
                    role: Role::Assistant,
                    content: vec![
                        ContentBlock::text("Checking."),
                        ContentBlock::ToolUse {
                            id: "c1".into(),
                            name: "weather".into(),
                            input: json!({"city": "Paris"}),
                        },
                        ContentBlock::ToolUse {
                            id: "c2".into(),
                            name: "weather".into(),
                            input: Value::String("{\"city\": \"Ro".into()),
                        },
                    ],
                },
                ChatMessage {
                    role: Role::User,
                    content: vec![
                        ContentBlock::text("and be quick"),
                        ContentBlock::ToolResult {
                            tool_use_id: "c1".into(),
                            content: "18 C".into(),
                            is_error: false,
                        },
                        ContentBlock::ToolResult {
                            tool_use_id: "c2".into(),
                            content: "bad arguments".into(),
                            is_error: true,
                        },
                    ],
                },
                ChatMessage {
                    role: Role::Assistant,
                    content: vec![ContentBlock::ToolUse {
                        id: "c3".into(),
                        name: "weather".into(),
                        input: json!({"city": "Rome"}),
                    }],
                },
                ChatMessage {
                    role: Role::User,
                    content: vec![ContentBlock::ToolResult {
                        tool_use_id: "c3".into(),
                        content: "21 C".into(),
                        is_error: false,
                    }],
                },
            ],
            ..LlmRequest::new("")
        }
        .tool(ToolSpec {
            name: "weather".into(),
            description: "Weather now".into(),
            input_schema: json!({"type": "object"}),
        });
        let body = wire(&request, &target(false));
        assert_eq!(
            body["messages"],
            json!([
                {"role": "user", "content": "weather in Paris and Rome?"},
                {"role": "assistant", "content": "Checking.", "tool_calls": [
                    {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                    {"id": "c2", "type": "function", "function": {"name": "weather", "arguments": "{\"city\": \"Ro"}}
                ]},
                {"role": "tool", "tool_call_id": "c1", "content": "18 C"},
                {"role": "tool", "tool_call_id": "c2", "content": "error: bad arguments"},
                {"role": "user", "content": "and be quick"},
                {"role": "assistant", "content": null, "tool_calls": [
                    {"id": "c3", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Rome\"}"}}
                ]},
                {"role": "tool", "tool_call_id": "c3", "content": "21 C"}
            ])
        );
        assert_eq!(
            body["tools"],
            json!([{"type": "function", "function": {
                "name": "weather", "description": "Weather now", "parameters": {"type": "object"}
            }}])
        );
    }

    #[test]
    fn misplaced_blocks_are_refused() {
        let call = ContentBlock::ToolUse {
            id: "c".into(),
            name: "t".into(),
            input: json!({}),
        };
        let result = ContentBlock::ToolResult {
            tool_use_id: "c".into(),
            content: "x".into(),
            is_error: false,
        };
        for (role, block, says) in [
            (Role::User, call, "user message cannot call a tool"),
            (Role::Assistant, result, "cannot hold a tool result"),
        ] {
            let mut request = LlmRequest::new("hi");
            request.messages.push(ChatMessage {
                role,
                content: vec![block],
            });
            let err = chat_request(&request, &target(false))
                .err()
                .expect("refused");
            assert!(matches!(err, Error::InvalidInput(_)), "{err}");
            assert!(err.to_string().contains(says), "{err}");
            assert!(err.to_string().contains("message 1"), "{err}");
        }
    }

    #[test]
    fn an_answer_gives_blocks_stop_reason_usage_and_cost() {
        let a = read(json!({
            "model": "gpt-x-2024",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Looking.", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"}},
                {"type": "function", "function": {"name": "clock", "arguments": ""}},
                {"id": "c3", "type": "function", "function": {"name": "weather", "arguments": {"city": "Rome"}}}
            ]}, "finish_reason": "tool_calls"}],
            "usage": {"prompt_tokens": 1000000, "completion_tokens": 500000, "total_tokens": 1500000}
        }))
        .expect("answer");
        assert_eq!(a.model, "gpt-x-2024");
        assert_eq!(a.stop_reason, StopReason::ToolUse);
        assert_eq!(
            a.content,
            vec![
                ContentBlock::text("Looking."),
                ContentBlock::ToolUse {
                    id: "c1".into(),
                    name: "weather".into(),
                    input: json!({"city": "Paris"})
                },
                ContentBlock::ToolUse {
                    id: "call_1".into(),
                    name: "clock".into(),
                    input: json!({})
                },
                ContentBlock::ToolUse {
                    id: "c3".into(),
                    name: "weather".into(),
                    input: json!({"city": "Rome"})
                },
            ]
        );
        assert_eq!(
            a.usage,
            Usage {
                input_tokens: 1_000_000,
                output_tokens: 500_000
            }
        );
        assert_eq!(a.cost_usd, Some(2.0));
    }

    #[test]
    fn unparsable_arguments_arrive_as_the_raw_text() {
        for raw in ["{\"city\": \"Par", "city=Paris", "{\"a\": 1}}"] {
            assert_eq!(
                parse_arguments(raw.to_string()),
                Value::String(raw.to_string())
            );
        }
        assert_eq!(parse_arguments(" ".into()), json!({}));
        assert_eq!(parse_arguments("[1]".into()), json!([1]));
    }

    #[test]
    fn finish_reasons_map_to_stop_reasons() {
        let check = |finish: Option<&str>, tools: bool, refused: bool, expected: StopReason| {
            assert_eq!(
                stop_reason(finish, tools, refused),
                expected,
                "{finish:?} {tools}"
            );
        };
        check(Some("stop"), false, false, StopReason::EndTurn);
        check(None, false, false, StopReason::EndTurn);
        check(Some("tool_calls"), true, false, StopReason::ToolUse);
        check(Some("stop"), true, false, StopReason::ToolUse);
        check(Some("length"), true, false, StopReason::MaxTokens);
        check(
            Some("content_filter"),
            false,
            false,
            StopReason::Other("content_filter".into()),
        );
        check(
            Some("stop"),
            false,
            true,
            StopReason::Other("refusal".into()),
        );
    }

    #[test]
    fn a_whole_answer_without_choices_or_with_a_refusal() {
        let err = read(json!({"choices": []})).expect_err("no choices");
        assert!(matches!(err, Error::Backend { .. }), "{err}");
        assert!(err.to_string().contains("no choices"), "{err}");
        let a = read(json!({"choices": [{"message": {"content": null, "refusal": "no"}, "finish_reason": "stop"}]}))
            .expect("refusal");
        assert_eq!(
            (a.text(), a.stop_reason, a.model.as_str(), a.usage),
            (
                "no".to_string(),
                StopReason::Other("refusal".into()),
                "gpt-x",
                Usage::default()
            )
        );
        let a = read(json!({"choices": [{"message": {"content": null}}]})).expect("empty");
        assert!(a.content.is_empty());
        assert_eq!(a.cost_usd, Some(0.0));
    }
}
