//! Puts a streamed chat completion back together: OpenAI sends the answer
//! as `chat.completion.chunk` deltas (text fragments, tool calls by their
//! own `index` with the arguments in fragments, the finish reason, then a
//! usage chunk and `[DONE]`). The [`Assembler`] turns them into neutral
//! [`StreamEvent`]s as they come and, at the end, into the same
//! [`LlmResponse`] a whole answer would have given.

use std::collections::BTreeMap;

use serde_json::Value;

use super::client::BACKEND;
use super::wire::{parse_arguments, tool_id, Chunk, Draft, ToolCallDelta};
use crate::error::{Error, Result};
use crate::llm::transport::scrub;
use crate::llm::{ContentBlock, Pricing, StreamEvent, Usage};

/// The marker OpenAI sends as the last event's data.
const DONE: &str = "[DONE]";

/// One tool call being received.
struct ToolSlot {
    /// Its position among the answer's blocks.
    block: usize,
    id: String,
    name: String,
    arguments: String,
    /// Whether [`StreamEvent::ToolUseStart`] went out (it waits for the
    /// name, which a server may send after the first fragment).
    started: bool,
    /// How much of `arguments` went out as [`StreamEvent::ToolInputDelta`].
    sent: usize,
}

/// The state of one streamed answer.
pub(super) struct Assembler {
    asked: String,
    pricing: Pricing,
    /// The API key, cut out of any error message the server streams.
    key: Option<String>,
    model: Option<String>,
    /// The text block's position and text: OpenAI's answer has one content
    /// string, so every text fragment belongs to the same block.
    text: Option<(usize, String)>,
    /// Some text came as `refusal`, none as `content`.
    refused: bool,
    saw_content: bool,
    tools: Vec<ToolSlot>,
    /// The wire's tool-call `index` → position in `tools`.
    by_wire_index: BTreeMap<usize, usize>,
    blocks: usize,
    finish_reason: Option<String>,
    usage: Usage,
}

/// What one event did to the answer.
pub(super) enum Fed {
    /// More to come.
    Partial,
    /// `[DONE]`: the answer is whole.
    Done,
}

impl Assembler {
    /// An empty answer from `asked` (the model requested), priced by
    /// `pricing`, from a server reached with `key`.
    pub fn new(asked: &str, pricing: Pricing, key: Option<String>) -> Self {
        Assembler {
            asked: asked.to_string(),
            pricing,
            key,
            model: None,
            text: None,
            refused: false,
            saw_content: false,
            tools: Vec::new(),
            by_wire_index: BTreeMap::new(),
            blocks: 0,
            finish_reason: None,
            usage: Usage::default(),
        }
    }

    /// Takes one event's data, pushing the events it makes onto `out`.
    ///
    /// # Errors
    /// [`Error::Backend`] for data that is not a chunk, or an error the
    /// server reports in the stream.
    pub fn feed(&mut self, data: &str, out: &mut Vec<StreamEvent>) -> Result<Fed> {
        if data.trim() == DONE {
            self.finish(out);
            return Ok(Fed::Done);
        }
        let chunk: Chunk = serde_json::from_str(data).map_err(|e| {
            Error::backend(
                BACKEND,
                format!(
                    "{}: a streamed chunk is not the JSON expected: {e}",
                    self.asked
                ),
            )
        })?;
        if let Some(error) = chunk.error {
            let message = error
                .get("message")
                .and_then(Value::as_str)
                .map(str::to_string)
                .unwrap_or_else(|| error.to_string());
            return Err(Error::backend(
                BACKEND,
                format!(
                    "{} failed in the middle of its answer: {}",
                    self.asked,
                    scrub(&message, self.key.as_deref())
                ),
            ));
        }
        if self.model.is_none() {
            self.model = chunk.model.filter(|m| !m.is_empty());
        }
        if let Some(usage) = chunk.usage {
            self.usage = usage.into();
        }
        // One answer is asked for (no `n`), so the first choice is it.
        let Some(choice) = chunk.choices.and_then(|c| c.into_iter().next()) else {
            return Ok(Fed::Partial);
        };
        if let Some(delta) = choice.delta {
            if let Some(text) = delta.content.filter(|t| !t.is_empty()) {
                self.saw_content = true;
                self.push_text(text, out);
            }
            if let Some(text) = delta.refusal.filter(|t| !t.is_empty()) {
                self.refused = !self.saw_content;
                self.push_text(text, out);
            }
            for (position, call) in delta.tool_calls.unwrap_or_default().into_iter().enumerate() {
                self.push_tool(position, call, out);
            }
        }
        if let Some(reason) = choice.finish_reason.filter(|r| !r.is_empty()) {
            self.finish_reason = Some(reason);
        }
        Ok(Fed::Partial)
    }

    /// The byte stream ended without `[DONE]`. Servers that skip the marker
    /// have still sent the finish reason; without it the answer was cut off.
    ///
    /// # Errors
    /// [`Error::Backend`] when no finish reason arrived.
    pub fn end(&mut self, out: &mut Vec<StreamEvent>) -> Result<()> {
        if self.finish_reason.is_none() {
            return Err(Error::backend(
                BACKEND,
                format!(
                    "{}: the streamed answer ended before it was finished",
                    self.asked
                ),
            ));
        }
        self.finish(out);
        Ok(())
    }

    fn next_block(&mut self) -> usize {
        self.blocks += 1;
        self.blocks - 1
    }

    fn push_text(&mut self, text: String, out: &mut Vec<StreamEvent>) {
        let index = match &mut self.text {
            Some((index, all)) => {
                all.push_str(&text);
                *index
            }
            None => {
                let index = self.next_block();
                self.text = Some((index, text.clone()));
                index
            }
        };
        out.push(StreamEvent::TextDelta { index, text });
    }

    fn push_tool(&mut self, position: usize, call: ToolCallDelta, out: &mut Vec<StreamEvent>) {
        let wire_index = call.index.unwrap_or(position);
        let slot = match self.by_wire_index.get(&wire_index) {
            Some(&slot) => slot,
            None => {
                let block = self.next_block();
                self.tools.push(ToolSlot {
                    block,
                    id: String::new(),
                    name: String::new(),
                    arguments: String::new(),
                    started: false,
                    sent: 0,
                });
                self.by_wire_index.insert(wire_index, self.tools.len() - 1);
                self.tools.len() - 1
            }
        };
        let number = slot;
        let Some(tool) = self.tools.get_mut(slot) else {
            return;
        };
        // The id and the name come once, in the call's first fragment; some
        // servers repeat them in every fragment, so only the first counts.
        if let Some(id) = call.id.filter(|id| !id.is_empty()) {
            if tool.id.is_empty() {
                tool.id = id;
            }
        }
        if let Some(function) = call.function {
            if let Some(name) = function.name.filter(|n| !n.is_empty()) {
                if tool.name.is_empty() {
                    tool.name = name;
                }
            }
            if let Some(fragment) = function.arguments {
                tool.arguments.push_str(&fragment);
            }
        }
        if !tool.name.is_empty() {
            start_and_send(tool, number, out);
        }
    }

    /// Ends with [`StreamEvent::Done`] holding the whole answer. Tool calls
    /// whose name never came are started first, so every block of the
    /// answer has had its start event.
    fn finish(&mut self, out: &mut Vec<StreamEvent>) {
        let mut blocks: Vec<(usize, ContentBlock)> = Vec::with_capacity(self.blocks);
        if let Some((index, text)) = self.text.take() {
            blocks.push((index, ContentBlock::Text { text }));
        }
        for (number, mut tool) in std::mem::take(&mut self.tools).into_iter().enumerate() {
            start_and_send(&mut tool, number, out);
            blocks.push((
                tool.block,
                ContentBlock::ToolUse {
                    id: tool.id,
                    name: tool.name,
                    input: parse_arguments(tool.arguments),
                },
            ));
        }
        blocks.sort_by_key(|(index, _)| *index);
        let answer = Draft {
            model: self.model.take(),
            blocks: blocks.into_iter().map(|(_, b)| b).collect(),
            finish_reason: self.finish_reason.take(),
            refused: self.refused,
            usage: self.usage,
        }
        .finish(&self.asked, &self.pricing);
        out.push(StreamEvent::Done(answer));
    }
}

/// Sends the tool call's start if it has not gone out, then whatever of its
/// arguments has not. `number` is its position among the tool calls, for an
/// id when the server sent none.
fn start_and_send(tool: &mut ToolSlot, number: usize, out: &mut Vec<StreamEvent>) {
    if !tool.started {
        tool.started = true;
        tool.id = tool_id(Some(std::mem::take(&mut tool.id)), number);
        out.push(StreamEvent::ToolUseStart {
            index: tool.block,
            id: tool.id.clone(),
            name: tool.name.clone(),
        });
    }
    if tool.sent < tool.arguments.len() {
        out.push(StreamEvent::ToolInputDelta {
            index: tool.block,
            json: tool.arguments[tool.sent..].to_string(),
        });
        tool.sent = tool.arguments.len();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::{LlmResponse, StopReason};
    use serde_json::json;

    /// Feeds every event and returns all the events made.
    fn run(events: &[Value]) -> Result<Vec<StreamEvent>> {
        let mut a = Assembler::new(
            "gpt-x",
            Pricing::none().with("gpt-x", 1.0, 1.0),
            Some("sk-secret".into()),
        );
        let mut out = Vec::new();
        for e in events {
            let data = match e {
                Value::String(s) => s.clone(),
                other => other.to_string(),
            };
            if let Fed::Done = a.feed(&data, &mut out)? {
                return Ok(out);
            }
        }
        a.end(&mut out)?;
        Ok(out)
    }

    fn delta(d: Value) -> Value {
        json!({"model": "gpt-x-1", "choices": [{"index": 0, "delta": d, "finish_reason": null}]})
    }

    fn finish(reason: &str) -> Value {
        json!({"choices": [{"index": 0, "delta": {}, "finish_reason": reason}]})
    }

    fn done(out: &[StreamEvent]) -> &LlmResponse {
        match out.last() {
            Some(StreamEvent::Done(r)) => r,
            other => panic!("no Done at the end: {other:?}"),
        }
    }

    #[test]
    fn text_and_tool_fragments_assemble_in_order() {
        let out = run(&[
            delta(json!({"role": "assistant", "content": ""})),
            delta(json!({"content": "Let me "})),
            delta(json!({"content": "look."})),
            delta(
                json!({"tool_calls": [{"index": 0, "id": "c1", "type": "function", "function": {"name": "weather", "arguments": ""}}]}),
            ),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "{\"city\":"}}]})),
            delta(json!({"tool_calls": [{"index": 0, "function": {"arguments": "\"Paris\"}"}}]})),
            // The second call's name arrives after its first fragment.
            delta(json!({"tool_calls": [{"index": 1, "id": "c2", "function": {"arguments": "{"}}]})),
            delta(
                json!({"tool_calls": [{"index": 1, "function": {"name": "clock", "arguments": "}"}}]}),
            ),
            finish("tool_calls"),
            json!({"choices": [], "usage": {"prompt_tokens": 10, "completion_tokens": 5}}),
            Value::String("[DONE]".into()),
        ])
        .expect("stream");
        let text = |index, text: &str| StreamEvent::TextDelta {
            index,
            text: text.into(),
        };
        let input = |index, json: &str| StreamEvent::ToolInputDelta {
            index,
            json: json.into(),
        };
        assert_eq!(
            out[..out.len() - 1],
            [
                text(0, "Let me "),
                text(0, "look."),
                StreamEvent::ToolUseStart {
                    index: 1,
                    id: "c1".into(),
                    name: "weather".into()
                },
                input(1, "{\"city\":"),
                input(1, "\"Paris\"}"),
                StreamEvent::ToolUseStart {
                    index: 2,
                    id: "c2".into(),
                    name: "clock".into()
                },
                input(2, "{}"),
            ]
        );
        let r = done(&out);
        assert_eq!(r.model, "gpt-x-1");
        assert_eq!(r.stop_reason, StopReason::ToolUse);
        assert_eq!(r.text(), "Let me look.");
        assert_eq!(
            r.tool_calls(),
            vec![
                ("c1", "weather", &json!({"city": "Paris"})),
                ("c2", "clock", &json!({}))
            ]
        );
        assert_eq!((r.usage.input_tokens, r.usage.output_tokens), (10, 5));
        assert_eq!(r.cost_usd, Some(15.0 / 1_000_000.0));
    }

    #[test]
    fn unparsable_streamed_arguments_arrive_as_the_raw_text() {
        let out = run(&[
            delta(
                json!({"tool_calls": [{"index": 0, "id": "c1", "function": {"name": "weather", "arguments": "{\"city\": \"Par"}}]}),
            ),
            finish("length"),
            Value::String("[DONE]".into()),
        ])
        .expect("stream");
        let r = done(&out);
        assert_eq!(r.stop_reason, StopReason::MaxTokens);
        assert_eq!(
            r.content,
            vec![ContentBlock::ToolUse {
                id: "c1".into(),
                name: "weather".into(),
                input: Value::String("{\"city\": \"Par".into())
            }]
        );
    }

    #[test]
    fn a_stream_without_done_ends_on_its_finish_reason_or_fails() {
        let out = run(&[delta(json!({"content": "Hi"})), finish("stop")]).expect("finished");
        assert_eq!(done(&out).text(), "Hi");
        assert_eq!(done(&out).stop_reason, StopReason::EndTurn);
        let err = run(&[delta(json!({"content": "Hi"}))]).expect_err("cut off");
        assert!(matches!(err, Error::Backend { .. }), "{err}");
        assert!(
            err.to_string().contains("ended before it was finished"),
            "{err}"
        );
    }

    #[test]
    fn errors_in_the_stream_are_backend_errors() {
        let err = run(&[
            delta(json!({"content": "Hi"})),
            json!({"error": {"message": "overloaded (key sk-secret)", "type": "server_error"}}),
        ])
        .expect_err("error chunk");
        assert!(matches!(err, Error::Backend { .. }), "{err}");
        assert!(
            err.to_string().contains("overloaded (key <redacted>)"),
            "{err}"
        );
        let err = run(&[Value::String("{not json".into())]).expect_err("garbage");
        assert!(err.to_string().contains("not the JSON expected"), "{err}");
    }

    #[test]
    fn a_streamed_refusal_is_text_with_a_refusal_stop() {
        let out = run(&[
            delta(json!({"refusal": "I can't "})),
            delta(json!({"refusal": "help."})),
            finish("stop"),
            Value::String("[DONE]".into()),
        ])
        .expect("stream");
        let r = done(&out);
        assert_eq!(r.text(), "I can't help.");
        assert_eq!(r.stop_reason, StopReason::Other("refusal".into()));
        assert_eq!(r.model, "gpt-x-1");
    }
}
