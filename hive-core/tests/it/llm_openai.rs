//! `OpenAiProvider` — the `LlmProvider` over OpenAI-compatible chat
//! completions — against aimock, which speaks OpenAI's wire format: a tool
//! call answered with a tool message, streamed answers that assemble to the
//! whole ones, malformed tool arguments, retried rate limits and server
//! errors, time limits, and requests refused before anything is sent.
//!
//! Needs `HIVE_TEST_LLM_URL` (see `openai.rs` for how the shared aimock is
//! used: an `X-Test-Id` per test scopes its sequence counters and journal).
//! Fixtures are in `tests/fixtures/aimock/openai_chat.json`, chosen by the
//! user message (`hive-openai-chat:<case>`).

use std::time::{Duration, Instant};

use futures::stream::{BoxStream, StreamExt};
use hive_core::llm::openai::{
    OpenAiConfig, OpenAiProvider, OpenAiProviderConfig, DEFAULT_BASE_URL,
};
use hive_core::llm::{
    ChatMessage, ContentBlock, LlmProvider, LlmRequest, LlmResponse, Role, StopReason, StreamEvent,
    ToolSpec, Usage,
};
use hive_core::Error;
use serde_json::{json, Value};

use crate::openai::{aimock, assert_backend, assert_invalid};

/// The model every fixture answers as.
const ANSWERING: &str = "gpt-4o-mini-2024-07-18";

fn provider(config: OpenAiConfig) -> OpenAiProvider {
    OpenAiProvider::new(OpenAiProviderConfig::new(config, "gpt-4o-mini")).expect("provider")
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "The weather now in a city.".into(),
        input_schema: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}, "unit": {"type": "string"}},
            "required": ["city"]
        }),
    }
}

/// A request for the fixture `case`, offering the weather tool.
fn ask(case: &str) -> LlmRequest {
    LlmRequest::new(format!("hive-openai-chat:{case}"))
        .system("You are a weather assistant.")
        .tool(weather_tool())
        .max_tokens(256)
}

/// Every event of a stream, and the error that ended it, if any.
async fn drain(
    mut stream: BoxStream<'static, hive_core::Result<StreamEvent>>,
) -> (Vec<StreamEvent>, Option<Error>) {
    let mut events = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(event) => events.push(event),
            Err(err) => {
                assert!(stream.next().await.is_none(), "nothing after an error");
                return (events, Some(err));
            }
        }
    }
    (events, None)
}

/// Streams `request` to the end and checks the events against the `Done`
/// they end with: deltas concatenate to its blocks, each block starts
/// before its deltas, `Done` comes once and last.
async fn streamed(llm: &OpenAiProvider, request: &LlmRequest) -> (Vec<StreamEvent>, LlmResponse) {
    let (events, err) = drain(llm.stream(request).await.expect("stream starts")).await;
    assert!(err.is_none(), "{err:?}");
    let Some((StreamEvent::Done(done), deltas)) = events.split_last() else {
        panic!("the stream must end with Done: {events:?}");
    };
    let mut rebuilt: Vec<(String, Option<(String, String)>)> = Vec::new();
    for event in deltas {
        match event {
            StreamEvent::TextDelta { index, text } => {
                if *index == rebuilt.len() {
                    rebuilt.push((String::new(), None));
                }
                let (t, tool) = &mut rebuilt[*index];
                assert!(tool.is_none(), "text delta for a tool block {index}");
                t.push_str(text);
            }
            StreamEvent::ToolUseStart { index, id, name } => {
                assert_eq!(*index, rebuilt.len(), "blocks start in order");
                rebuilt.push((String::new(), Some((id.clone(), name.clone()))));
            }
            StreamEvent::ToolInputDelta { index, json } => {
                let (args, tool) = &mut rebuilt[*index];
                assert!(tool.is_some(), "input delta before its tool started");
                args.push_str(json);
            }
            StreamEvent::Done(_) => panic!("Done before the end"),
        }
    }
    assert_eq!(rebuilt.len(), done.content.len(), "{events:?}");
    for ((text, tool), block) in rebuilt.iter().zip(&done.content) {
        match (tool, block) {
            (None, ContentBlock::Text { text: t }) => assert_eq!(text, t),
            (
                Some((id, name)),
                ContentBlock::ToolUse {
                    id: i,
                    name: n,
                    input,
                },
            ) => {
                assert_eq!((id, name), (i, n));
                let parsed = serde_json::from_str(text).unwrap_or(Value::String(text.clone()));
                assert_eq!(&parsed, input);
            }
            other => panic!("delta and block differ: {other:?}"),
        }
    }
    (events.clone(), done.clone())
}

#[tokio::test]
async fn a_tool_call_round_trip_sends_the_result_as_a_tool_message() {
    let Some(mock) = aimock() else { return };
    let llm = provider(mock.config());
    let mut request = ask("weather in Paris?");

    let first = llm.complete(&request).await.expect("tool call");
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert_eq!(
        first.tool_calls(),
        vec![(
            "call_weather_1",
            "get_weather",
            &json!({"city": "Paris", "unit": "celsius"})
        )]
    );
    assert_eq!(first.model, ANSWERING);
    assert_eq!(
        first.usage,
        Usage {
            input_tokens: 85,
            output_tokens: 18
        }
    );
    // gpt-4o-mini's list price: $0.15 and $0.60 per million tokens.
    let cost = first.cost_usd.expect("priced");
    assert!(
        (cost - (85.0 * 0.15 + 18.0 * 0.6) / 1e6).abs() < 1e-12,
        "{cost}"
    );

    request.messages.push(first.to_message());
    request.messages.push(ChatMessage {
        role: Role::User,
        content: vec![ContentBlock::ToolResult {
            tool_use_id: "call_weather_1".into(),
            content: "18 °C, sunny".into(),
            is_error: false,
        }],
    });
    let second = llm.complete(&request).await.expect("final answer");
    assert_eq!(second.text(), "It is 18 °C and sunny in Paris.");
    assert_eq!(second.stop_reason, StopReason::EndTurn);
    assert!(second.tool_calls().is_empty());

    let journal = mock.journal().await;
    assert_eq!(journal.len(), 2);
    let body = &journal[0]["body"];
    assert_eq!(journal[0]["path"], "/v1/chat/completions");
    assert_eq!(
        (&body["model"], &body["max_tokens"], &body["stream"]),
        (&json!("gpt-4o-mini"), &json!(256), &json!(false))
    );
    assert_eq!(
        body["tools"],
        json!([{"type": "function", "function": {
            "name": "get_weather",
            "description": "The weather now in a city.",
            "parameters": weather_tool().input_schema
        }}])
    );
    assert_eq!(
        journal[1]["body"]["messages"],
        json!([
            {"role": "system", "content": "You are a weather assistant."},
            {"role": "user", "content": "hive-openai-chat:weather in Paris?"},
            {"role": "assistant", "content": null, "tool_calls": [{
                "id": "call_weather_1", "type": "function",
                "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"unit\":\"celsius\"}"}
            }]},
            {"role": "tool", "tool_call_id": "call_weather_1", "content": "18 °C, sunny"}
        ])
    );
}

#[tokio::test]
async fn streamed_answers_assemble_to_what_complete_answers() {
    let Some(mock) = aimock() else { return };
    let llm = provider(mock.config());
    for (case, stop, blocks) in [
        ("story", StopReason::EndTurn, 1),
        ("plan", StopReason::ToolUse, 3),
        ("cut-short", StopReason::MaxTokens, 1),
    ] {
        let request = ask(case);
        let whole = llm.complete(&request).await.expect("complete");
        let (events, done) = streamed(&llm, &request).await;
        assert_eq!(
            done, whole,
            "{case}: the stream's Done is complete's answer"
        );
        assert_eq!(
            (done.stop_reason, done.content.len()),
            (stop, blocks),
            "{case}"
        );
        assert!(
            done.usage.output_tokens > 0 && done.cost_usd.is_some(),
            "{case}"
        );
        // aimock's chunks are a few characters long: every block really
        // came in pieces.
        let deltas = events
            .iter()
            .filter(|e| {
                matches!(
                    e,
                    StreamEvent::TextDelta { .. } | StreamEvent::ToolInputDelta { .. }
                )
            })
            .count();
        assert!(deltas >= blocks * 3, "{case}: {events:?}");
    }
    let (_, plan) = streamed(&llm, &ask("plan")).await;
    assert_eq!(plan.text(), "I will check both cities, then compare.");
    assert_eq!(
        plan.tool_calls(),
        vec![
            (
                "call_plan_1",
                "get_weather",
                &json!({"city": "Paris", "unit": "celsius"})
            ),
            (
                "call_plan_2",
                "get_weather",
                &json!({"city": "Rome", "unit": "celsius"})
            ),
        ]
    );
    let journal = mock.journal().await;
    let streamed_body = &journal[1]["body"];
    assert_eq!(streamed_body["stream"], true);
    assert_eq!(
        streamed_body["stream_options"],
        json!({"include_usage": true})
    );
}

#[tokio::test]
async fn malformed_tool_arguments_arrive_as_the_raw_text() {
    let Some(mock) = aimock() else { return };
    let llm = provider(mock.config());
    // Valid JSON to aimock's (JavaScript) parser, which reads 1e999 as
    // Infinity, but not to serde_json, for which no f64 holds it: arguments
    // the caller cannot read, as a model cut short at max_tokens writes.
    let raw = Value::String(r#"{"city": "Paris", "days": 1e999}"#.into());
    let whole = llm.complete(&ask("malformed")).await.expect("not an error");
    assert_eq!(
        whole.tool_calls(),
        vec![("call_bad_1", "get_weather", &raw)]
    );
    assert_eq!(whole.stop_reason, StopReason::ToolUse);
    let (_, done) = streamed(&llm, &ask("malformed")).await;
    assert_eq!(done, whole);
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_the_advised_delay_whole_or_streamed() {
    for streaming in [false, true] {
        // A fresh test id: the 429 answers each id's first request.
        let Some(mock) = aimock() else { return };
        let llm = provider(mock.config());
        let request = ask("rate-limited");
        let started = Instant::now();
        let answer = if streaming {
            streamed(&llm, &request).await.1
        } else {
            llm.complete(&request).await.expect("retried")
        };
        // The back-off cap is 40 ms: a wait of a second is the advice.
        assert!(
            started.elapsed() >= Duration::from_millis(950),
            "{:?}",
            started.elapsed()
        );
        assert_eq!(answer.text(), "Answered after the rate limit.");
        assert_eq!(mock.statuses().await, [429, 200], "streaming: {streaming}");
    }
}

#[tokio::test]
async fn a_persistent_server_error_is_retried_then_fails_as_transient() {
    let Some(mock) = aimock() else { return };
    let llm = provider(mock.config());
    let err = llm
        .complete(&ask("server-error"))
        .await
        .expect_err("keeps failing");
    assert_backend(
        &err,
        &["after 3 attempts", "500", "The server had an error"],
    );
    assert!(err.is_transient());
    assert_eq!(mock.requests().await, 3, "1 attempt + max_retries 2");
    let err = llm
        .stream(&ask("server-error"))
        .await
        .err()
        .expect("keeps failing");
    assert_backend(&err, &["after 3 attempts", "500"]);
    assert_eq!(mock.requests().await, 6);
}

#[tokio::test]
async fn slow_answers_and_stalled_streams_time_out() {
    let Some(mock) = aimock() else { return };
    let mut config = mock.config();
    config.http.timeout = Duration::from_millis(300);
    let llm = provider(config);
    // The fixture waits 10 s before answering: every attempt times out.
    let started = Instant::now();
    let err = llm.complete(&ask("slow")).await.expect_err("too slow");
    assert_backend(&err, &["after 3 attempts", "timed out after 300ms"]);
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "{elapsed:?}"
    );
    let err = llm.stream(&ask("slow")).await.err().expect("too slow");
    assert_backend(&err, &["after 3 attempts", "timed out after 300ms"]);

    // This one starts at once, then sends a chunk every 500 ms: a streamed
    // answer may take long, but not fall silent for longer than the limit.
    let started = Instant::now();
    let (events, err) = drain(llm.stream(&ask("stalls")).await.expect("starts")).await;
    let err = err.expect("stalls");
    assert_backend(&err, &["stalled", "300ms"]);
    assert!(err.is_transient());
    assert!(events.iter().all(|e| !matches!(e, StreamEvent::Done(_))));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );

    // A connection dropped mid-answer (after some text) ends the stream
    // with an error, never with a Done holding half an answer.
    let (events, err) = drain(llm.stream(&ask("cut-off")).await.expect("starts")).await;
    assert_backend(
        &err.expect("cut off"),
        &["broke off", "the connection failed"],
    );
    assert!(
        matches!(events.first(), Some(StreamEvent::TextDelta { .. })),
        "{events:?}"
    );
    assert!(events.iter().all(|e| !matches!(e, StreamEvent::Done(_))));
}

#[tokio::test]
async fn bad_requests_are_refused_before_anything_is_sent() {
    let Some(mock) = aimock() else { return };
    let llm = provider(mock.config());
    let empty = LlmRequest {
        messages: Vec::new(),
        ..ask("never sent")
    };
    let bad_tool = ask("never sent").tool(ToolSpec {
        name: "no spaces allowed".into(),
        ..weather_tool()
    });
    let mut user_calls_tool = ask("never sent");
    user_calls_tool.messages[0]
        .content
        .push(ContentBlock::ToolUse {
            id: "c".into(),
            name: "get_weather".into(),
            input: json!({}),
        });
    for (request, says) in [
        (empty, "at least one message"),
        (bad_tool, "tool name"),
        (user_calls_tool, "a user message cannot call a tool"),
    ] {
        let err = llm.complete(&request).await.expect_err(says);
        assert_invalid(&err, &[says]);
        let err = llm.stream(&request).await.err().expect(says);
        assert_invalid(&err, &[says]);
    }
    assert_eq!(mock.requests().await, 0);
}

/// Needs no mock: the key is checked when the provider is built.
#[tokio::test]
async fn openai_itself_without_a_key_is_refused_at_construction() {
    let config = |key: Option<&str>| OpenAiConfig {
        api_key: key.map(str::to_string),
        ..OpenAiConfig::new(DEFAULT_BASE_URL)
    };
    let err = OpenAiProvider::new(OpenAiProviderConfig::new(config(None), "gpt-4o-mini"))
        .expect_err("no key");
    assert_invalid(&err, &["api.openai.com needs an API key", "OPENAI_API_KEY"]);
    OpenAiProvider::new(OpenAiProviderConfig::new(
        config(Some("sk-test")),
        "gpt-4o-mini",
    ))
    .expect("with a key");
    // Local servers (Ollama, vLLM, llama.cpp) need none.
    OpenAiProvider::new(OpenAiProviderConfig::new(
        OpenAiConfig::new("http://localhost:11434/v1"),
        "llama3.2",
    ))
    .expect("keyless local server");
}
