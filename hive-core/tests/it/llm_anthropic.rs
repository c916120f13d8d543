//! The Anthropic provider against aimock, a mock LLM server that speaks the
//! Messages API (so it does not share our client's misunderstandings): a
//! tool-use round trip, streaming that assembles to the whole answer,
//! retries on 429 / 529 / 500 / timeouts, streams that stall or are cut,
//! refused requests and keys, and requests refused before sending.
//!
//! Needs `HIVE_TEST_LLM_URL` (aimock's OpenAI-style base URL, ending in
//! `/v1`; the Anthropic root is that without `/v1`), started by
//! `scripts/services` with the fixtures in `tests/fixtures/aimock/`. Each
//! test sends an `X-Test-Id` of its own: aimock keeps sequence counters per
//! test id (the 429 and 529 fixtures fail the first request of each id) and
//! its journal, filtered by that id, shows what we sent. aimock journals a
//! request in OpenAI's shape (a tool result is a `role: "tool"` message),
//! whatever wire format it came in. Fixtures are chosen by the user's text
//! (`hive-anthropic-test:<case>`).

use std::time::{Duration, Instant};

use futures::StreamExt;
use hive_core::conformance::{service_url, unique_name};
use hive_core::llm::anthropic::{AnthropicConfig, AnthropicProvider};
use hive_core::llm::{
    ChatMessage, ContentBlock, HttpSettings, LlmProvider, LlmRequest, Pricing, Role, StopReason,
    StreamEvent, ToolSpec, Usage,
};
use hive_core::Error;
use serde_json::{json, Value};

/// One test's view of the shared aimock.
struct Mock {
    root: String,
    test_id: String,
}

fn aimock() -> Option<Mock> {
    service_url("HIVE_TEST_LLM_URL").map(|url| Mock {
        root: url
            .trim_end_matches('/')
            .trim_end_matches("/v1")
            .to_string(),
        test_id: unique_name("anthropic"),
    })
}

impl Mock {
    /// Fast retries so a test that exhausts them takes milliseconds.
    fn config(&self) -> AnthropicConfig {
        AnthropicConfig {
            base_url: self.root.clone(),
            http: HttpSettings {
                max_retries: 2,
                backoff_base: Duration::from_millis(10),
                backoff_cap: Duration::from_millis(40),
                timeout: Duration::from_secs(10),
                ..AnthropicConfig::default().http
            },
            ..AnthropicConfig::default()
        }
        .with_api_key("sk-ant-hive-test-key")
        .with_header("X-Test-Id", &self.test_id)
    }

    fn provider(&self, config: AnthropicConfig) -> AnthropicProvider {
        AnthropicProvider::new(config).expect("provider")
    }

    /// What aimock received from this test, oldest first.
    async fn journal(&self) -> Vec<Value> {
        let url = format!("{}/__aimock/journal?testId={}", self.root, self.test_id);
        let entries: Value = reqwest::get(&url)
            .await
            .expect("journal request")
            .json()
            .await
            .expect("journal JSON");
        entries.as_array().cloned().expect("journal is a list")
    }

    async fn statuses(&self) -> Vec<u64> {
        self.journal()
            .await
            .iter()
            .map(|e| e["response"]["status"].as_u64().expect("status"))
            .collect()
    }
}

fn weather_tool() -> ToolSpec {
    ToolSpec {
        name: "get_weather".into(),
        description: "The current weather in a city".into(),
        input_schema: json!({
            "type": "object",
            "properties": {"city": {"type": "string"}},
            "required": ["city"],
        }),
    }
}

fn assert_backend(err: &Error, says: &[&str]) {
    assert!(
        matches!(
            err,
            Error::Backend {
                backend: "anthropic",
                ..
            }
        ),
        "expected an anthropic backend error, got {err:?}"
    );
    assert!(err.is_transient());
    for s in says {
        assert!(err.to_string().contains(s), "{err} should say {s:?}");
    }
}

fn assert_invalid(err: &Error, says: &[&str]) {
    assert!(
        matches!(err, Error::InvalidInput(_)),
        "expected InvalidInput, got {err:?}"
    );
    for s in says {
        assert!(err.to_string().contains(s), "{err} should say {s:?}");
    }
}

/// Every item of a stream, errors included.
async fn drain(
    stream: futures::stream::BoxStream<'static, hive_core::Result<StreamEvent>>,
) -> Vec<hive_core::Result<StreamEvent>> {
    stream.collect().await
}

fn cost(input: u64, output: u64, input_per_mtok: f64, output_per_mtok: f64) -> f64 {
    (input as f64 * input_per_mtok + output as f64 * output_per_mtok) / 1e6
}

#[tokio::test]
async fn a_tool_use_round_trip_sends_the_tool_result_back() {
    let Some(mock) = aimock() else { return };
    let claude = mock.provider(mock.config());
    let mut request = LlmRequest::new("hive-anthropic-test:weather: what is it like in Paris?")
        .system("You answer about the weather.")
        .tool(weather_tool())
        .max_tokens(300);

    let first = claude.complete(&request).await.expect("first turn");
    assert_eq!(first.stop_reason, StopReason::ToolUse);
    assert_eq!(
        first.tool_calls(),
        vec![(
            "toolu_hive_weather",
            "get_weather",
            &json!({"city": "Paris"})
        )]
    );
    assert_eq!(first.model, "claude-sonnet-4-20250514", "aimock echoes it");
    assert_eq!(
        first.usage,
        Usage {
            input_tokens: 250,
            output_tokens: 40
        }
    );
    assert_eq!(first.cost_usd, Some(cost(250, 40, 3.0, 15.0)));

    request.messages.push(first.to_message());
    request.messages.push(ChatMessage {
        role: Role::User,
        content: vec![ContentBlock::ToolResult {
            tool_use_id: "toolu_hive_weather".into(),
            content: "18 °C, sunny".into(),
            is_error: false,
        }],
    });
    let second = claude.complete(&request).await.expect("second turn");
    assert_eq!(second.text(), "It is 18 °C and sunny in Paris.");
    assert_eq!(second.stop_reason, StopReason::EndTurn);
    assert!(second.tool_calls().is_empty());
    assert_eq!(
        second.usage,
        Usage {
            input_tokens: 310,
            output_tokens: 12
        }
    );

    let journal = mock.journal().await;
    assert_eq!(journal.len(), 2);
    for entry in &journal {
        assert_eq!(entry["path"], "/v1/messages");
        assert_eq!(entry["headers"]["anthropic-version"], "2023-06-01");
        // aimock shows it as "[REDACTED]"; it was sent.
        assert!(entry["headers"].get("x-api-key").is_some());
        assert!(entry["headers"].get("authorization").is_none());
    }
    let sent = &journal[0]["body"];
    assert_eq!(sent["max_tokens"], 300);
    assert_eq!(sent["messages"][0]["role"], "system");
    assert_eq!(sent["tools"][0]["function"]["name"], "get_weather");
    assert_eq!(
        sent["tools"][0]["function"]["parameters"],
        weather_tool().input_schema
    );
    // The second request carried the model's call and our result.
    let messages = journal[1]["body"]["messages"].as_array().expect("messages");
    let call = &messages[messages.len() - 2];
    assert_eq!(call["role"], "assistant");
    assert_eq!(call["tool_calls"][0]["id"], "toolu_hive_weather");
    let arguments: Value = serde_json::from_str(
        call["tool_calls"][0]["function"]["arguments"]
            .as_str()
            .expect("arguments"),
    )
    .expect("JSON arguments");
    assert_eq!(arguments, json!({"city": "Paris"}));
    let result = &messages[messages.len() - 1];
    assert_eq!(result["role"], "tool");
    assert_eq!(result["tool_call_id"], "toolu_hive_weather");
    assert_eq!(result["content"], "18 °C, sunny");
}

#[tokio::test]
async fn a_streamed_answer_assembles_to_the_complete_one() {
    let Some(mock) = aimock() else { return };
    let claude = mock.provider(mock.config());
    let request = LlmRequest::new("hive-anthropic-test:blocks").tool(weather_tool());
    let whole = claude.complete(&request).await.expect("complete");
    assert_eq!(whole.content.len(), 3, "{whole:?}");
    assert_eq!(whole.stop_reason, StopReason::ToolUse);
    assert_eq!(
        whole.usage,
        Usage {
            input_tokens: 1000,
            output_tokens: 200
        }
    );
    assert_eq!(whole.cost_usd, Some(cost(1000, 200, 3.0, 15.0)));

    let events: Vec<StreamEvent> = drain(claude.stream(&request).await.expect("stream"))
        .await
        .into_iter()
        .map(|r| r.expect("no error"))
        .collect();
    let Some((StreamEvent::Done(streamed), deltas)) = events.split_last() else {
        panic!("the stream must end with Done: {events:?}")
    };
    assert_eq!(streamed, &whole, "streaming assembles to the same answer");

    // The deltas, put together by hand, say the same: chunks of 5
    // characters, so many of each kind.
    let mut text = String::new();
    let mut starts = Vec::new();
    let mut json = vec![String::new(); 3];
    for event in deltas {
        match event {
            StreamEvent::TextDelta { index: 0, text: t } => text.push_str(t),
            StreamEvent::ToolUseStart { index, id, name } => {
                starts.push((*index, id.as_str(), name.as_str()))
            }
            StreamEvent::ToolInputDelta { index, json: j } => json[*index].push_str(j),
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(deltas.len() > 20, "{} deltas", deltas.len());
    assert_eq!(text, whole.text());
    assert_eq!(
        starts,
        vec![
            (1, "toolu_hive_paris", "get_weather"),
            (2, "toolu_hive_lyon", "get_weather")
        ]
    );
    for (index, (_, _, input)) in whole.tool_calls().into_iter().enumerate() {
        let assembled: Value = serde_json::from_str(&json[index + 1]).expect("JSON");
        assert_eq!(&assembled, input);
    }
    let journal = mock.journal().await;
    assert_eq!(journal.len(), 2);
    assert_eq!(journal[1]["body"]["stream"], true);
    assert!(journal[0]["body"].get("stream").is_none_or(Value::is_null));
}

#[tokio::test]
async fn the_request_model_overrides_the_configured_one_and_sets_the_price() {
    let Some(mock) = aimock() else { return };
    let claude = mock.provider(mock.config());
    let mut request = LlmRequest::new("hive-anthropic-test:weather").tool(weather_tool());
    request.model = Some("claude-3-5-haiku-20241022".into());
    let answer = claude.complete(&request).await.expect("answer");
    assert_eq!(answer.model, "claude-3-5-haiku-20241022");
    assert_eq!(answer.cost_usd, Some(cost(250, 40, 0.8, 4.0)));

    let unpriced = mock.provider(AnthropicConfig {
        pricing: Pricing::none(),
        ..mock.config()
    });
    assert_eq!(unpriced.default_model(), "claude-sonnet-4-20250514");
    let answer = unpriced
        .complete(&LlmRequest::new("hive-anthropic-test:weather").tool(weather_tool()))
        .await
        .expect("answer");
    assert_eq!(answer.cost_usd, None, "no price, no cost");
    let models: Vec<Value> = mock
        .journal()
        .await
        .iter()
        .map(|e| e["body"]["model"].clone())
        .collect();
    assert_eq!(
        models,
        [
            json!("claude-3-5-haiku-20241022"),
            json!("claude-sonnet-4-20250514")
        ]
    );
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_the_advised_delay() {
    let Some(mock) = aimock() else { return };
    // The fixture answers 429 with `retry-after: 1` to the first request,
    // then text. The back-off cap is 40 ms, so a wait of a second shows the
    // advice was honoured.
    let claude = mock.provider(mock.config());
    let started = Instant::now();
    let answer = claude
        .complete(&LlmRequest::new("hive-anthropic-test:rate-limited"))
        .await
        .expect("retried");
    let waited = started.elapsed();
    assert!(waited >= Duration::from_millis(950), "{waited:?}");
    assert_eq!(answer.text(), "Answered after the rate limit.");
    assert_eq!(mock.statuses().await, [429, 200]);
}

#[tokio::test]
async fn an_overload_before_a_stream_starts_is_retried() {
    let Some(mock) = aimock() else { return };
    let claude = mock.provider(mock.config());
    let events = drain(
        claude
            .stream(&LlmRequest::new("hive-anthropic-test:overloaded"))
            .await
            .expect("retried"),
    )
    .await;
    let Some(Ok(StreamEvent::Done(answer))) = events.last() else {
        panic!("{events:?}")
    };
    assert_eq!(answer.text(), "Answered after the overload.");
    assert_eq!(mock.statuses().await, [529, 200]);
}

#[tokio::test]
async fn a_persistent_server_error_fails_after_max_retries() {
    let Some(mock) = aimock() else { return };
    let claude = mock.provider(mock.config());
    let err = claude
        .complete(&LlmRequest::new("hive-anthropic-test:server-error"))
        .await
        .expect_err("keeps failing");
    assert_backend(&err, &["after 3 attempts", "500", "Internal server error"]);
    assert_eq!(mock.statuses().await, [500, 500, 500], "1 + max_retries 2");

    // A stream is retried the same way before it starts.
    let err = claude
        .stream(&LlmRequest::new("hive-anthropic-test:server-error"))
        .await
        .map(|_| ())
        .expect_err("keeps failing");
    assert_backend(&err, &["after 3 attempts", "500"]);
    assert_eq!(mock.journal().await.len(), 6);
}

#[tokio::test]
async fn a_request_that_times_out_is_retried_then_fails() {
    let Some(mock) = aimock() else { return };
    // The fixture waits 10 s before answering.
    let mut config = mock.config();
    config.http.timeout = Duration::from_millis(300);
    config.http.max_retries = 1;
    let claude = mock.provider(config);
    let started = Instant::now();
    let err = claude
        .complete(&LlmRequest::new("hive-anthropic-test:slow"))
        .await
        .expect_err("too slow");
    let elapsed = started.elapsed();
    assert_backend(&err, &["after 2 attempts", "timed out after 300ms"]);
    assert!(
        elapsed >= Duration::from_millis(600) && elapsed < Duration::from_secs(5),
        "two attempts of 300 ms each: {elapsed:?}"
    );
}

#[tokio::test]
async fn a_stream_that_stalls_ends_with_a_transient_error() {
    let Some(mock) = aimock() else { return };
    // The fixture sends its first event at once, then one a second.
    let mut config = mock.config();
    config.http.timeout = Duration::from_millis(300);
    let claude = mock.provider(config);
    let started = Instant::now();
    let events = drain(
        claude
            .stream(&LlmRequest::new("hive-anthropic-test:stalls"))
            .await
            .expect("the answer starts in time"),
    )
    .await;
    let elapsed = started.elapsed();
    let Some(Err(err)) = events.last() else {
        panic!("{events:?}")
    };
    assert_backend(err, &["timed out after 300ms"]);
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    assert_eq!(
        mock.journal().await.len(),
        1,
        "a stream is not retried once it started"
    );
}

#[tokio::test]
async fn a_stream_cut_off_mid_way_ends_with_a_transient_error() {
    let Some(mock) = aimock() else { return };
    let claude = mock.provider(mock.config());
    let events = drain(
        claude
            .stream(&LlmRequest::new("hive-anthropic-test:cut-off"))
            .await
            .expect("the answer starts"),
    )
    .await;
    let (last, before) = events.split_last().expect("items");
    let Err(err) = last else { panic!("{events:?}") };
    // hyper sees the chunked body end mid-way.
    assert_backend(err, &["the connection failed"]);
    assert!(!before.is_empty(), "some text came first: {events:?}");
    assert!(before
        .iter()
        .all(|e| matches!(e, Ok(StreamEvent::TextDelta { index: 0, .. }))));
}

#[tokio::test]
async fn a_bad_request_is_not_retried_and_carries_the_servers_message() {
    let Some(mock) = aimock() else { return };
    let claude = mock.provider(mock.config());
    let err = claude
        .complete(&LlmRequest::new("hive-anthropic-test:bad-request"))
        .await
        .expect_err("refused");
    assert_invalid(&err, &["400", "max_tokens: 999999 > 64000"]);
    assert!(!err.is_transient());
    assert_eq!(mock.statuses().await, [400]);
}

#[tokio::test]
async fn a_refused_key_is_named_not_retried_and_never_shown() {
    let Some(mock) = aimock() else { return };
    // The fixture's message echoes this very key.
    let key = "sk-ant-hive-test-secret-42";
    let claude = mock.provider(mock.config().with_api_key(key));
    for result in [
        claude
            .complete(&LlmRequest::new("hive-anthropic-test:unauthorized"))
            .await
            .map(|_| ()),
        claude
            .stream(&LlmRequest::new("hive-anthropic-test:unauthorized"))
            .await
            .map(|_| ()),
    ] {
        let err = result.expect_err("refused");
        assert_invalid(&err, &["the API key was refused", "401", "<redacted>"]);
        assert!(!err.to_string().contains(key), "{err}");
        assert!(!format!("{err:?}").contains(key), "{err:?}");
    }
    assert!(!format!("{claude:?}").contains(key));
    assert_eq!(mock.statuses().await, [401, 401]);
}

#[tokio::test]
async fn an_invalid_request_is_refused_before_sending() {
    let Some(mock) = aimock() else { return };
    let claude = mock.provider(mock.config());
    let mut empty = LlmRequest::new("hive-anthropic-test:weather");
    empty.messages.clear();
    let mut assistant_first = LlmRequest::new("x");
    assistant_first.messages = vec![ChatMessage::assistant("hello")];
    let bad_tool = LlmRequest::new("x").tool(ToolSpec {
        input_schema: json!("not an object"),
        ..weather_tool()
    });
    let cases = [
        (empty, "at least one message"),
        (assistant_first, "start with a user message"),
        (LlmRequest::new("x").max_tokens(0), "max_tokens"),
        (bad_tool, "input_schema must be a JSON object"),
    ];
    for (request, says) in cases {
        let err = claude.complete(&request).await.expect_err(says);
        assert_invalid(&err, &[says]);
        let err = claude.stream(&request).await.map(|_| ()).expect_err(says);
        assert_invalid(&err, &[says]);
    }
    assert!(mock.journal().await.is_empty(), "nothing was sent");
}

/// Needs no mock: refused before any request.
#[tokio::test]
async fn a_missing_api_key_is_refused_at_construction() {
    for key in [None, Some(String::new()), Some("   ".to_string())] {
        let err = AnthropicProvider::new(AnthropicConfig {
            api_key: key,
            ..AnthropicConfig::default()
        })
        .expect_err("no key");
        assert_invalid(&err, &["ANTHROPIC_API_KEY is not set"]);
    }
}

/// Needs no mock: a port nobody listens on refuses every connection.
#[tokio::test]
async fn an_unreachable_server_is_retried_then_fails() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let claude = AnthropicProvider::new(
        AnthropicConfig {
            base_url: format!("http://127.0.0.1:{port}"),
            http: HttpSettings {
                max_retries: 2,
                backoff_base: Duration::from_millis(1),
                backoff_cap: Duration::from_millis(5),
                ..AnthropicConfig::default().http
            },
            ..AnthropicConfig::default()
        }
        .with_api_key("k"),
    )
    .expect("provider");
    let err = claude
        .complete(&LlmRequest::new("anything"))
        .await
        .expect_err("nobody there");
    assert_backend(&err, &["after 3 attempts", "could not connect"]);
}
