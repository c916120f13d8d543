//! A streamed Anthropic answer: server-sent events in, [`StreamEvent`]s out,
//! ending with the whole answer assembled from the deltas, so a streamed
//! turn ends in what `complete` would have answered.
//!
//! The assembly is a plain state machine ([`Assembler`]) fed one event's
//! JSON at a time, apart from any HTTP, so its edge cases are tested on
//! text.

use std::collections::{BTreeMap, VecDeque};

use eventsource_stream::{EventStreamError, Eventsource};
use futures::stream::{BoxStream, Stream, StreamExt};
use serde::Deserialize;
use serde_json::Value;

use super::wire::{self, InBlock, WireUsage};
use super::BACKEND;
use crate::error::{Error, Result};
use crate::llm::{ContentBlock, Pricing, StreamEvent};

/// The events of one streamed answer, from its response body.
///
/// Ends after [`StreamEvent::Done`], or with one `Err` when the stream
/// breaks: a transport failure or an `error` event (both
/// [`Error::Backend`], transient, unless Anthropic names a refusal), data
/// that is not the JSON expected, or a body that ends before
/// `message_stop`.
pub(super) fn events<S, B>(body: S, pricing: Pricing) -> BoxStream<'static, Result<StreamEvent>>
where
    S: Stream<Item = std::result::Result<B, Error>> + Send + 'static,
    B: AsRef<[u8]> + Send + 'static,
{
    let state = State {
        sse: body.eventsource().boxed(),
        assembler: Assembler::new(pricing),
        ready: VecDeque::new(),
        over: false,
    };
    futures::stream::unfold(state, |mut state| async move {
        loop {
            if let Some(event) = state.ready.pop_front() {
                return Some((Ok(event), state));
            }
            if state.over {
                return None;
            }
            let failure = match state.sse.next().await {
                // A keep-alive with no data: nothing to read.
                Some(Ok(sse)) if sse.data.trim().is_empty() => continue,
                Some(Ok(sse)) => match state.assembler.feed(&sse.data) {
                    Ok(events) => {
                        state.ready.extend(events);
                        // Whatever follows `message_stop` is not this answer.
                        state.over = state.assembler.finished;
                        continue;
                    }
                    Err(e) => e,
                },
                Some(Err(EventStreamError::Transport(e))) => e,
                Some(Err(e)) => {
                    Error::backend(BACKEND, format!("the answer stream is not SSE: {e}"))
                }
                None => Error::backend(
                    BACKEND,
                    "the answer stream ended before message_stop (the connection was cut)",
                ),
            };
            state.over = true;
            return Some((Err(failure), state));
        }
    })
    .boxed()
}

struct State {
    sse:
        BoxStream<'static, std::result::Result<eventsource_stream::Event, EventStreamError<Error>>>,
    assembler: Assembler,
    ready: VecDeque<StreamEvent>,
    over: bool,
}

/// One event's JSON. Anthropic names the event twice (the SSE `event:` line
/// and `type`); `type` is read, as the data is self-contained.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum WireEvent {
    MessageStart {
        message: StartMessage,
    },
    ContentBlockStart {
        index: usize,
        content_block: InBlock,
    },
    ContentBlockDelta {
        index: usize,
        delta: BlockDelta,
    },
    /// Nothing to do: a block is complete when the message is.
    ContentBlockStop,
    MessageDelta {
        delta: MessageDeltaBody,
        #[serde(default)]
        usage: WireUsage,
    },
    MessageStop,
    Error {
        error: WireError,
    },
    /// `ping` and event kinds added after this client was written:
    /// Anthropic asks clients to ignore those.
    #[serde(other)]
    Ignored,
}

#[derive(Debug, Deserialize)]
struct StartMessage {
    model: String,
    #[serde(default)]
    usage: WireUsage,
}

#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum BlockDelta {
    TextDelta {
        text: String,
    },
    InputJsonDelta {
        partial_json: String,
    },
    /// Thinking, signatures, citations: for blocks this client drops.
    #[serde(other)]
    Other,
}

#[derive(Debug, Deserialize)]
struct MessageDeltaBody {
    stop_reason: Option<String>,
}

#[derive(Debug, Deserialize)]
struct WireError {
    #[serde(rename = "type")]
    kind: String,
    message: String,
}

/// A block being assembled.
enum Partial {
    Text(String),
    Tool {
        id: String,
        name: String,
        /// The input `content_block_start` carried (`{}` in practice), for a
        /// call whose arguments come in no delta.
        start_input: Value,
        json: String,
    },
}

/// Turns a stream's events, in order, into [`StreamEvent`]s and, at
/// `message_stop`, the whole answer.
pub(super) struct Assembler {
    pricing: Pricing,
    model: Option<String>,
    /// Kept blocks by their index in Anthropic's answer, which also counts
    /// the dropped kinds; the map's order is the answer's order.
    blocks: BTreeMap<usize, Partial>,
    stop_reason: Option<String>,
    usage: WireUsage,
    finished: bool,
}

impl Assembler {
    pub(super) fn new(pricing: Pricing) -> Self {
        Assembler {
            pricing,
            model: None,
            blocks: BTreeMap::new(),
            stop_reason: None,
            usage: WireUsage::default(),
            finished: false,
        }
    }

    /// The position of Anthropic's block `index` among the kept blocks: the
    /// neutral answer has no place for the dropped kinds.
    fn position(&self, index: usize) -> usize {
        self.blocks.range(..index).count()
    }

    /// One event's data, as the events it makes.
    ///
    /// # Errors
    /// [`Error::Backend`] for data that is not an event of a well-formed
    /// stream, and for an `error` event (unless its type names a refusal,
    /// which is [`Error::InvalidInput`]).
    pub(super) fn feed(&mut self, data: &str) -> Result<Vec<StreamEvent>> {
        let event: WireEvent = serde_json::from_str(data).map_err(|e| {
            Error::backend(
                BACKEND,
                format!("a stream event is not the JSON expected: {e}"),
            )
        })?;
        let out = match event {
            WireEvent::MessageStart { message } => {
                self.model = Some(message.model);
                self.usage.update(message.usage);
                Vec::new()
            }
            WireEvent::ContentBlockStart {
                index,
                content_block,
            } => self.start_block(index, content_block)?,
            WireEvent::ContentBlockDelta { index, delta } => self.delta(index, delta)?,
            WireEvent::ContentBlockStop | WireEvent::Ignored => Vec::new(),
            WireEvent::MessageDelta { delta, usage } => {
                if delta.stop_reason.is_some() {
                    self.stop_reason = delta.stop_reason;
                }
                self.usage.update(usage);
                Vec::new()
            }
            WireEvent::MessageStop => vec![StreamEvent::Done(self.finish()?)],
            WireEvent::Error { error } => return Err(stream_error(error)),
        };
        Ok(out)
    }

    fn start_block(&mut self, index: usize, block: InBlock) -> Result<Vec<StreamEvent>> {
        if self.blocks.contains_key(&index) {
            return Err(Error::backend(
                BACKEND,
                format!("the answer stream started block {index} twice"),
            ));
        }
        let position = self.position(index);
        let (partial, events) = match block {
            InBlock::Text { text } => {
                let events = if text.is_empty() {
                    Vec::new()
                } else {
                    vec![StreamEvent::TextDelta {
                        index: position,
                        text: text.clone(),
                    }]
                };
                (Partial::Text(text), events)
            }
            InBlock::ToolUse { id, name, input } => {
                let event = StreamEvent::ToolUseStart {
                    index: position,
                    id: id.clone(),
                    name: name.clone(),
                };
                let partial = Partial::Tool {
                    id,
                    name,
                    start_input: input,
                    json: String::new(),
                };
                (partial, vec![event])
            }
            InBlock::Other => return Ok(Vec::new()),
        };
        self.blocks.insert(index, partial);
        Ok(events)
    }

    fn delta(&mut self, index: usize, delta: BlockDelta) -> Result<Vec<StreamEvent>> {
        let position = self.position(index);
        let Some(block) = self.blocks.get_mut(&index) else {
            // A delta of a dropped kind (thinking) is expected; any other
            // delta without its start means the stream lost an event.
            return match delta {
                BlockDelta::Other => Ok(Vec::new()),
                _ => Err(Error::backend(
                    BACKEND,
                    format!("the answer stream sent a delta for block {index} before its start"),
                )),
            };
        };
        let event = match (block, delta) {
            (Partial::Text(text), BlockDelta::TextDelta { text: more }) => {
                text.push_str(&more);
                StreamEvent::TextDelta {
                    index: position,
                    text: more,
                }
            }
            (Partial::Tool { json, .. }, BlockDelta::InputJsonDelta { partial_json }) => {
                json.push_str(&partial_json);
                StreamEvent::ToolInputDelta {
                    index: position,
                    json: partial_json,
                }
            }
            (_, BlockDelta::Other) => return Ok(Vec::new()),
            (_, _) => {
                return Err(Error::backend(
                    BACKEND,
                    format!("the answer stream sent a delta of the wrong kind for block {index}"),
                ))
            }
        };
        Ok(vec![event])
    }

    fn finish(&mut self) -> Result<crate::llm::LlmResponse> {
        let model = self.model.take().ok_or_else(|| {
            Error::backend(BACKEND, "the answer stream ended without its message_start")
        })?;
        self.finished = true;
        let content = std::mem::take(&mut self.blocks)
            .into_values()
            .map(|partial| match partial {
                Partial::Text(text) => ContentBlock::Text { text },
                Partial::Tool {
                    id,
                    name,
                    start_input,
                    json,
                } => ContentBlock::ToolUse {
                    id,
                    name,
                    input: tool_input(start_input, json),
                },
            })
            .collect();
        Ok(wire::response(
            model,
            content,
            self.stop_reason.as_deref(),
            self.usage,
            &self.pricing,
        ))
    }
}

/// A tool call's arguments from the JSON its deltas spelled out; text that
/// does not parse is kept as a string (see [`ContentBlock::ToolUse`]).
fn tool_input(start_input: Value, json: String) -> Value {
    if json.trim().is_empty() {
        return start_input;
    }
    serde_json::from_str(&json).unwrap_or(Value::String(json))
}

/// An `error` event: overload and server trouble are transient; a type that
/// names a refusal is not, as retrying cannot help.
fn stream_error(error: WireError) -> Error {
    let text = format!(
        "the answer stream failed: {} ({})",
        error.message, error.kind
    );
    match error.kind.as_str() {
        "invalid_request_error"
        | "authentication_error"
        | "permission_error"
        | "not_found_error"
        | "request_too_large" => Error::invalid(text),
        _ => Error::backend(BACKEND, text),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::llm::{LlmResponse, StopReason, Usage};

    /// A text block then a tool call, as Anthropic streams them, with
    /// pings, a comment, a thinking block and an event kind this client does
    /// not know.
    const STREAM: &str = concat!(
        "event: message_start\n",
        r#"data: {"type":"message_start","message":{"id":"msg_1","type":"message","role":"assistant","content":[],"model":"claude-sonnet-4-20250514","stop_reason":null,"usage":{"input_tokens":20,"cache_read_input_tokens":5,"output_tokens":1}}}"#,
        "\n\n",
        "event: ping\ndata: {\"type\": \"ping\"}\n\n",
        ": a comment\n\nevent: ping\n\n",
        "event: content_block_start\n",
        r#"data: {"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":""}}"#,
        "\n\n",
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":0,"delta":{"type":"thinking_delta","thinking":"hmm"}}"#,
        "\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":0}\n\n",
        "event: content_block_start\n",
        r#"data: {"type":"content_block_start","index":1,"content_block":{"type":"text","text":""}}"#,
        "\n\n",
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"Il fait "}}"#,
        "\n\n",
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":1,"delta":{"type":"text_delta","text":"beau à Paris."}}"#,
        "\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":1}\n\n",
        "event: future_event\ndata: {\"type\":\"future_event\",\"x\":1}\n\n",
        "event: content_block_start\n",
        r#"data: {"type":"content_block_start","index":2,"content_block":{"type":"tool_use","id":"t1","name":"get_weather","input":{}}}"#,
        "\n\n",
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"{\"city\": \"Pa"}}"#,
        "\n\n",
        "event: content_block_delta\n",
        r#"data: {"type":"content_block_delta","index":2,"delta":{"type":"input_json_delta","partial_json":"ris\"}"}}"#,
        "\n\n",
        "event: content_block_stop\ndata: {\"type\":\"content_block_stop\",\"index\":2}\n\n",
        "event: message_delta\n",
        r#"data: {"type":"message_delta","delta":{"stop_reason":"tool_use","stop_sequence":null},"usage":{"output_tokens":30}}"#,
        "\n\n",
        "event: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
    );

    /// Everything `text` streams when its bytes arrive in pieces of `size`,
    /// splitting lines, JSON and multi-byte characters anywhere.
    async fn run(text: &str, size: usize) -> Vec<Result<StreamEvent>> {
        let chunks: Vec<std::result::Result<Vec<u8>, Error>> = text
            .as_bytes()
            .chunks(size)
            .map(|c| Ok(c.to_vec()))
            .collect();
        events(futures::stream::iter(chunks), Pricing::list_prices())
            .collect()
            .await
    }

    fn expected_answer() -> LlmResponse {
        LlmResponse {
            model: "claude-sonnet-4-20250514".into(),
            content: vec![
                ContentBlock::text("Il fait beau à Paris."),
                ContentBlock::ToolUse {
                    id: "t1".into(),
                    name: "get_weather".into(),
                    input: json!({"city": "Paris"}),
                },
            ],
            stop_reason: StopReason::ToolUse,
            usage: Usage {
                input_tokens: 25,
                output_tokens: 30,
            },
            cost_usd: Some((25.0 * 3.0 + 30.0 * 15.0) / 1e6),
        }
    }

    #[tokio::test]
    async fn deltas_assemble_into_the_answer_however_the_bytes_are_cut() {
        for size in [1, 2, 3, 7, 64, STREAM.len()] {
            let got: Vec<StreamEvent> = run(STREAM, size)
                .await
                .into_iter()
                .map(|r| r.expect("no error"))
                .collect();
            // The thinking block is dropped, so the text is block 0 and the
            // tool call block 1.
            let expected = vec![
                StreamEvent::TextDelta {
                    index: 0,
                    text: "Il fait ".into(),
                },
                StreamEvent::TextDelta {
                    index: 0,
                    text: "beau à Paris.".into(),
                },
                StreamEvent::ToolUseStart {
                    index: 1,
                    id: "t1".into(),
                    name: "get_weather".into(),
                },
                StreamEvent::ToolInputDelta {
                    index: 1,
                    json: "{\"city\": \"Pa".into(),
                },
                StreamEvent::ToolInputDelta {
                    index: 1,
                    json: "ris\"}".into(),
                },
                StreamEvent::Done(expected_answer()),
            ];
            assert_eq!(got, expected, "chunks of {size} bytes");
        }
    }

    #[tokio::test]
    async fn nothing_after_message_stop_is_read() {
        let more = format!("{STREAM}event: error\ndata: not even JSON\n\n");
        let got = run(&more, 16).await;
        assert!(matches!(got.last(), Some(Ok(StreamEvent::Done(_)))));
    }

    #[test]
    fn unparsable_tool_arguments_arrive_as_the_raw_text() {
        let mut a = Assembler::new(Pricing::none());
        let feed = |a: &mut Assembler, v: Value| a.feed(&v.to_string()).expect("fed");
        feed(
            &mut a,
            json!({"type":"message_start","message":{"model":"m","usage":{"input_tokens":3}}}),
        );
        feed(
            &mut a,
            json!({"type":"content_block_start","index":0,"content_block":{"type":"tool_use","id":"a","name":"f","input":{}}}),
        );
        feed(
            &mut a,
            json!({"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\"x\": tru"}}),
        );
        // A call whose arguments come in no delta keeps its start input.
        feed(
            &mut a,
            json!({"type":"content_block_start","index":1,"content_block":{"type":"tool_use","id":"b","name":"g","input":{}}}),
        );
        feed(
            &mut a,
            json!({"type":"message_delta","delta":{"stop_reason":"max_tokens"},"usage":{"output_tokens":9}}),
        );
        let done = feed(&mut a, json!({"type":"message_stop"}));
        let [StreamEvent::Done(answer)] = done.as_slice() else {
            panic!("{done:?}")
        };
        assert_eq!(answer.tool_calls()[0].2, &json!("{\"x\": tru"));
        assert_eq!(answer.tool_calls()[1].2, &json!({}));
        assert_eq!(answer.stop_reason, StopReason::MaxTokens);
        assert_eq!(
            answer.usage,
            Usage {
                input_tokens: 3,
                output_tokens: 9
            }
        );
        assert_eq!(answer.cost_usd, None, "no prices, no cost");
    }

    #[tokio::test]
    async fn an_error_event_ends_the_stream_with_an_error_of_its_kind() {
        let start = STREAM
            .split("event: content_block_start")
            .next()
            .unwrap_or_default();
        let overloaded = format!(
            "{start}event: error\ndata: {}\n\n",
            r#"{"type":"error","error":{"type":"overloaded_error","message":"Overloaded"}}"#
        );
        let got = run(&overloaded, 5).await;
        assert_eq!(got.len(), 1, "{got:?}");
        let err = got
            .into_iter()
            .next()
            .and_then(|r| r.err())
            .expect("an error");
        assert!(err.is_transient(), "{err:?}");
        assert!(
            err.to_string().contains("Overloaded (overloaded_error)"),
            "{err}"
        );

        let refused = format!(
            "{start}event: error\ndata: {}\n\n",
            r#"{"type":"error","error":{"type":"invalid_request_error","message":"prompt is too long"}}"#
        );
        let got = run(&refused, 64).await;
        assert!(
            matches!(&got[..], [Err(Error::InvalidInput(m))] if m.contains("prompt is too long")),
            "{got:?}"
        );
    }

    #[tokio::test]
    async fn a_stream_cut_short_or_malformed_is_a_transient_error() {
        let cut = &STREAM[..STREAM.find("event: message_delta").unwrap_or(0)];
        let got = run(cut, 32).await;
        let last = got.last().expect("events");
        assert!(
            matches!(last, Err(e) if e.is_transient() && e.to_string().contains("before message_stop")),
            "{last:?}"
        );
        assert!(got[..got.len() - 1].iter().all(|r| r.is_ok()));

        for bad in [
            "data: {not json\n\n",
            "data: {\"type\":\"content_block_delta\",\"index\":4,\"delta\":{\"type\":\"text_delta\",\"text\":\"x\"}}\n\n",
            "data: {\"type\":\"message_stop\"}\n\n",
        ] {
            let got = run(bad, 64).await;
            assert!(
                matches!(&got[..], [Err(e)] if e.is_transient()),
                "{bad}: {got:?}"
            );
        }
    }

    #[tokio::test]
    async fn a_transport_failure_mid_stream_is_passed_on() {
        let start = STREAM.split("event: ping").next().unwrap_or_default();
        let chunks: Vec<std::result::Result<Vec<u8>, Error>> = vec![
            Ok(start.as_bytes().to_vec()),
            Err(Error::backend(BACKEND, "timed out after 1s")),
        ];
        let got: Vec<_> = events(futures::stream::iter(chunks), Pricing::none())
            .collect()
            .await;
        assert!(
            matches!(&got[..], [Err(e)] if e.to_string().contains("timed out after 1s")),
            "{got:?}"
        );
    }
}
