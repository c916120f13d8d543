//! The Anthropic Messages API's JSON, and its translation to and from the
//! provider-neutral types. Private on purpose: callers see only
//! [`LlmRequest`] and [`LlmResponse`], so a change of Anthropic's wire format
//! stays in this file.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::llm::{
    ChatMessage, ContentBlock, LlmRequest, LlmResponse, Pricing, Role, StopReason, Usage,
};

/// The body of `POST /v1/messages`.
#[derive(Debug, Serialize)]
pub(super) struct MessagesRequest<'a> {
    model: &'a str,
    max_tokens: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    system: Option<&'a str>,
    messages: Vec<WireMessage<'a>>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    tools: Vec<WireTool<'a>>,
    #[serde(skip_serializing_if = "Option::is_none")]
    temperature: Option<f32>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    stream: bool,
}

#[derive(Debug, Serialize)]
struct WireMessage<'a> {
    role: &'static str,
    content: Vec<OutBlock<'a>>,
}

#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum OutBlock<'a> {
    Text {
        text: &'a str,
    },
    ToolUse {
        id: &'a str,
        name: &'a str,
        input: &'a Value,
    },
    ToolResult {
        tool_use_id: &'a str,
        content: &'a str,
        #[serde(skip_serializing_if = "std::ops::Not::not")]
        is_error: bool,
    },
}

#[derive(Debug, Serialize)]
struct WireTool<'a> {
    name: &'a str,
    description: &'a str,
    input_schema: &'a Value,
}

/// The empty object sent for a tool call whose arguments never parsed (see
/// [`MessagesRequest::new`]).
static EMPTY_INPUT: std::sync::LazyLock<Value> =
    std::sync::LazyLock::new(|| Value::Object(serde_json::Map::new()));

impl<'a> MessagesRequest<'a> {
    /// The wire form of `request` for `model`.
    ///
    /// Two things Anthropic refuses are smoothed over, since neither loses
    /// anything the model needs: empty text blocks (a streamed answer can
    /// hold one) are left out, and a tool call whose arguments never parsed
    /// (kept as a JSON string, see [`ContentBlock::ToolUse`]) is echoed with
    /// `{}`, the only shape `input` may have; its tool result says what
    /// went wrong.
    pub(super) fn new(request: &'a LlmRequest, model: &'a str, stream: bool) -> Self {
        MessagesRequest {
            model,
            max_tokens: request.max_tokens,
            system: request.system.as_deref().filter(|s| !s.is_empty()),
            messages: request.messages.iter().map(wire_message).collect(),
            tools: request
                .tools
                .iter()
                .map(|t| WireTool {
                    name: &t.name,
                    description: &t.description,
                    input_schema: &t.input_schema,
                })
                .collect(),
            temperature: request.temperature,
            stream,
        }
    }
}

fn wire_message(message: &ChatMessage) -> WireMessage<'_> {
    let content = message
        .content
        .iter()
        .filter_map(|block| match block {
            ContentBlock::Text { text } if text.is_empty() => None,
            ContentBlock::Text { text } => Some(OutBlock::Text { text }),
            ContentBlock::ToolUse { id, name, input } => Some(OutBlock::ToolUse {
                id,
                name,
                input: if input.is_object() {
                    input
                } else {
                    &EMPTY_INPUT
                },
            }),
            ContentBlock::ToolResult {
                tool_use_id,
                content,
                is_error,
            } => Some(OutBlock::ToolResult {
                tool_use_id,
                content,
                is_error: *is_error,
            }),
        })
        .collect();
    WireMessage {
        role: match message.role {
            Role::User => "user",
            Role::Assistant => "assistant",
        },
        content,
    }
}

/// The answer of a non-streamed `POST /v1/messages`.
#[derive(Debug, Deserialize)]
pub(super) struct MessagesResponse {
    model: String,
    content: Vec<InBlock>,
    stop_reason: Option<String>,
    #[serde(default)]
    usage: WireUsage,
}

/// A content block of an answer, also the `content_block` of a stream's
/// `content_block_start`.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
pub(super) enum InBlock {
    Text {
        #[serde(default)]
        text: String,
    },
    ToolUse {
        id: String,
        name: String,
        #[serde(default)]
        input: Value,
    },
    /// Thinking, server tools, citations…: kinds this client never asks
    /// for. Dropped rather than refused, so a new kind breaks nothing.
    #[serde(other)]
    Other,
}

/// Token counts as Anthropic reports them. Every field is optional because a
/// stream's `message_delta` carries only those that changed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Deserialize)]
pub(super) struct WireUsage {
    input_tokens: Option<u64>,
    output_tokens: Option<u64>,
    cache_creation_input_tokens: Option<u64>,
    cache_read_input_tokens: Option<u64>,
}

impl WireUsage {
    /// Takes every count `later` carries: a stream's counts are running
    /// totals, so the latest one is the answer's.
    pub(super) fn update(&mut self, later: WireUsage) {
        let take = |mine: &mut Option<u64>, theirs: Option<u64>| {
            if theirs.is_some() {
                *mine = theirs;
            }
        };
        take(&mut self.input_tokens, later.input_tokens);
        take(&mut self.output_tokens, later.output_tokens);
        take(
            &mut self.cache_creation_input_tokens,
            later.cache_creation_input_tokens,
        );
        take(
            &mut self.cache_read_input_tokens,
            later.cache_read_input_tokens,
        );
    }

    /// The neutral count: Anthropic's `input_tokens` leaves out the prompt
    /// tokens written to or read from its cache, which were still sent.
    pub(super) fn neutral(self) -> Usage {
        Usage {
            input_tokens: self.input_tokens.unwrap_or(0)
                + self.cache_creation_input_tokens.unwrap_or(0)
                + self.cache_read_input_tokens.unwrap_or(0),
            output_tokens: self.output_tokens.unwrap_or(0),
        }
    }
}

/// Anthropic's stop reasons by name; anything else is kept verbatim.
pub(super) fn stop_reason(raw: Option<&str>) -> StopReason {
    match raw.unwrap_or_default() {
        "end_turn" => StopReason::EndTurn,
        "tool_use" => StopReason::ToolUse,
        "max_tokens" => StopReason::MaxTokens,
        "stop_sequence" => StopReason::StopSequence,
        other => StopReason::Other(other.to_string()),
    }
}

/// The neutral response, priced by `pricing`.
pub(super) fn response(
    model: String,
    content: Vec<ContentBlock>,
    stop: Option<&str>,
    usage: WireUsage,
    pricing: &Pricing,
) -> LlmResponse {
    let usage = usage.neutral();
    LlmResponse {
        cost_usd: pricing.cost(&model, usage),
        model,
        content,
        stop_reason: stop_reason(stop),
        usage,
    }
}

impl MessagesResponse {
    pub(super) fn into_neutral(self, pricing: &Pricing) -> LlmResponse {
        let content = self
            .content
            .into_iter()
            .filter_map(InBlock::into_neutral)
            .collect();
        response(
            self.model,
            content,
            self.stop_reason.as_deref(),
            self.usage,
            pricing,
        )
    }
}

impl InBlock {
    fn into_neutral(self) -> Option<ContentBlock> {
        match self {
            InBlock::Text { text } => Some(ContentBlock::Text { text }),
            InBlock::ToolUse { id, name, input } => Some(ContentBlock::ToolUse { id, name, input }),
            InBlock::Other => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::llm::ToolSpec;

    #[test]
    fn a_request_carries_system_tools_and_every_kind_of_block() {
        let mut request = LlmRequest::new("weather in Paris?")
            .system("be brief")
            .tool(ToolSpec {
                name: "get_weather".into(),
                description: "Current weather".into(),
                input_schema: json!({"type": "object"}),
            })
            .max_tokens(200);
        request.temperature = Some(0.5);
        request.messages.push(ChatMessage {
            role: Role::Assistant,
            content: vec![
                ContentBlock::text(""),
                ContentBlock::ToolUse {
                    id: "t1".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Paris"}),
                },
                ContentBlock::ToolUse {
                    id: "t2".into(),
                    name: "get_weather".into(),
                    input: json!("{\"city\": Par"),
                },
            ],
        });
        request.messages.push(ChatMessage {
            role: Role::User,
            content: vec![
                ContentBlock::ToolResult {
                    tool_use_id: "t1".into(),
                    content: "18 °C".into(),
                    is_error: false,
                },
                ContentBlock::ToolResult {
                    tool_use_id: "t2".into(),
                    content: "arguments are not JSON".into(),
                    is_error: true,
                },
            ],
        });
        let wire = serde_json::to_value(MessagesRequest::new(&request, "claude-x", false))
            .expect("serialises");
        assert_eq!(
            wire,
            json!({
                "model": "claude-x",
                "max_tokens": 200,
                "system": "be brief",
                "temperature": 0.5,
                "tools": [{"name": "get_weather", "description": "Current weather",
                           "input_schema": {"type": "object"}}],
                "messages": [
                    {"role": "user", "content": [{"type": "text", "text": "weather in Paris?"}]},
                    {"role": "assistant", "content": [
                        {"type": "tool_use", "id": "t1", "name": "get_weather",
                         "input": {"city": "Paris"}},
                        {"type": "tool_use", "id": "t2", "name": "get_weather", "input": {}},
                    ]},
                    {"role": "user", "content": [
                        {"type": "tool_result", "tool_use_id": "t1", "content": "18 °C"},
                        {"type": "tool_result", "tool_use_id": "t2",
                         "content": "arguments are not JSON", "is_error": true},
                    ]},
                ],
            })
        );
        let streamed = serde_json::to_value(MessagesRequest::new(
            &LlmRequest::new("hi"),
            "claude-x",
            true,
        ))
        .expect("serialises");
        assert_eq!(streamed["stream"], true);
        assert!(streamed.get("system").is_none() && streamed.get("tools").is_none());
    }

    #[test]
    fn an_answer_keeps_text_and_tool_calls_and_counts_cached_tokens_as_input() {
        let answer: MessagesResponse = serde_json::from_value(json!({
            "id": "msg_1", "type": "message", "role": "assistant",
            "model": "claude-sonnet-4-20250514",
            "content": [
                {"type": "thinking", "thinking": "hmm", "signature": "s"},
                {"type": "text", "text": "Let me look."},
                {"type": "tool_use", "id": "t1", "name": "get_weather", "input": {"city": "Paris"}},
            ],
            "stop_reason": "tool_use", "stop_sequence": null,
            "usage": {"input_tokens": 100, "output_tokens": 50,
                      "cache_creation_input_tokens": 1000, "cache_read_input_tokens": 900_000},
        }))
        .expect("parses");
        let r = answer.into_neutral(&Pricing::list_prices());
        assert_eq!(
            r.content,
            vec![
                ContentBlock::text("Let me look."),
                ContentBlock::ToolUse {
                    id: "t1".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Paris"}),
                },
            ]
        );
        assert_eq!(r.stop_reason, StopReason::ToolUse);
        assert_eq!(
            r.usage,
            Usage {
                input_tokens: 901_100,
                output_tokens: 50
            }
        );
        // Priced at the input rate: 901_100 · $3/M + 50 · $15/M.
        let cost = r.cost_usd.expect("a known model");
        assert!((cost - 2.70405).abs() < 1e-9, "{cost}");
    }

    #[test]
    fn stop_reasons_are_named_or_kept_verbatim() {
        let cases = [
            (Some("end_turn"), StopReason::EndTurn),
            (Some("tool_use"), StopReason::ToolUse),
            (Some("max_tokens"), StopReason::MaxTokens),
            (Some("stop_sequence"), StopReason::StopSequence),
            (Some("refusal"), StopReason::Other("refusal".into())),
            (None, StopReason::Other(String::new())),
        ];
        for (raw, expected) in cases {
            assert_eq!(stop_reason(raw), expected, "{raw:?}");
        }
    }
}
