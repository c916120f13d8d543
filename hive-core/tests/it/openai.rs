//! The OpenAI-compatible clients against aimock, a mock LLM server that
//! speaks OpenAI's wire format (so it does not share our client's
//! misunderstandings): batching, retries on 429 / 500 / timeouts, refused
//! requests, a server answering the wrong dimension, and a chat completion.
//!
//! Needs `HIVE_TEST_LLM_URL` (aimock's base URL with `/v1`, started by
//! `scripts/services` with the fixtures in `tests/fixtures/aimock/`). The
//! instance is shared by every test and kept across runs, so each test sends
//! an `X-Test-Id` of its own: aimock keeps fixture sequence counters per test
//! id (the rate-limit fixture answers 429 to the first request of each id),
//! and its request journal, filtered by that id, counts what we sent.
//! Fixtures are chosen by the input text (`hive-openai-test:<case>`).

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hive_core::conformance::{service_url, unique_name};
use hive_core::context::{vector, EmbeddingService};
use hive_core::context::{OpenAiEmbedder, OpenAiEmbedderConfig};
use hive_core::llm::openai::{OpenAiChat, OpenAiChatConfig, OpenAiConfig};
use hive_core::llm::HttpSettings;
use hive_core::Error;
use serde_json::Value;

/// One test's view of the shared aimock (also used by `llm_openai`).
pub(crate) struct Mock {
    base_url: String,
    test_id: String,
}

pub(crate) fn aimock() -> Option<Mock> {
    service_url("HIVE_TEST_LLM_URL").map(|base_url| Mock {
        base_url,
        test_id: unique_name("openai"),
    })
}

impl Mock {
    /// Fast retries so a test that exhausts them takes milliseconds.
    pub(crate) fn config(&self) -> OpenAiConfig {
        OpenAiConfig {
            http: HttpSettings {
                max_retries: 2,
                backoff_base: Duration::from_millis(10),
                backoff_cap: Duration::from_millis(40),
                timeout: Duration::from_secs(10),
                ..HttpSettings::default()
            },
            ..OpenAiConfig::new(&self.base_url)
        }
        .with_header("X-Test-Id", &self.test_id)
    }

    fn embedder(&self, config: OpenAiConfig, dimension: usize) -> OpenAiEmbedder {
        OpenAiEmbedder::new(OpenAiEmbedderConfig::new(
            config,
            "hive-test-embed",
            dimension,
        ))
        .expect("embedder")
    }

    /// What aimock received from this test, oldest first.
    pub(crate) async fn journal(&self) -> Vec<Value> {
        let root = self.base_url.trim_end_matches('/').trim_end_matches("/v1");
        let url = format!("{root}/__aimock/journal?testId={}", self.test_id);
        let entries: Value = reqwest::get(&url)
            .await
            .expect("journal request")
            .json()
            .await
            .expect("journal JSON");
        entries.as_array().cloned().expect("journal is a list")
    }

    /// The HTTP status of each answer aimock gave this test, oldest first.
    pub(crate) async fn statuses(&self) -> Vec<u64> {
        self.journal()
            .await
            .iter()
            .map(|e| e["response"]["status"].as_u64().expect("status"))
            .collect()
    }

    pub(crate) async fn requests(&self) -> usize {
        self.journal().await.len()
    }
}

fn texts(items: &[&str]) -> Vec<String> {
    items.iter().map(|s| s.to_string()).collect()
}

pub(crate) fn assert_backend(err: &Error, says: &[&str]) {
    assert!(
        matches!(
            err,
            Error::Backend {
                backend: "openai",
                ..
            }
        ),
        "expected an openai backend error, got {err:?}"
    );
    for s in says {
        assert!(err.to_string().contains(s), "{err} should say {s:?}");
    }
}

pub(crate) fn assert_invalid(err: &Error, says: &[&str]) {
    assert!(
        matches!(err, Error::InvalidInput(_)),
        "expected InvalidInput, got {err:?}"
    );
    for s in says {
        assert!(err.to_string().contains(s), "{err} should say {s:?}");
    }
}

#[tokio::test]
async fn a_batch_larger_than_batch_size_arrives_complete_in_order_and_normalised() {
    let Some(mock) = aimock() else { return };
    let embedder = OpenAiEmbedder::new(OpenAiEmbedderConfig {
        request_dimensions: Some(64),
        batch_size: 4,
        ..OpenAiEmbedderConfig::new(mock.config(), "text-embedding-3-small", 1536)
    })
    .expect("embedder");
    assert_eq!(embedder.dimension(), 64);
    let input: Vec<String> = (0..10)
        .map(|i| format!("document number {i} about topic {}", i * 7))
        .collect();

    let batch = embedder.embed(&input).await.expect("embed");
    assert_eq!(batch.len(), 10);
    for v in &batch {
        vector::check(v, 64).expect("64 finite components");
        let norm: f32 = v.iter().map(|x| x * x).sum::<f32>().sqrt();
        assert!((norm - 1.0).abs() < 1e-5, "norm {norm}");
    }
    let journal = mock.journal().await;
    assert_eq!(journal.len(), 3, "10 texts in batches of 4");
    // No key configured: no Authorization header at all.
    assert!(journal
        .iter()
        .all(|e| e["headers"].get("authorization").is_none()));

    // aimock's vectors are a hash of each text: embedding the texts one by
    // one gives the same vectors, in the same order, only if the batched
    // answers were put back in order.
    for (text, batched) in input.iter().zip(&batch) {
        let single = embedder
            .embed(std::slice::from_ref(text))
            .await
            .expect("one");
        assert_eq!(&single[0], batched, "{text}");
    }
    assert!(batch[0] != batch[1], "different texts, different vectors");
}

#[tokio::test]
async fn a_rate_limit_is_retried_after_the_advised_delay() {
    let Some(mock) = aimock() else { return };
    // The fixture answers 429 with `Retry-After: 1` to the first request,
    // then a vector. The back-off cap is 40 ms, so a wait of a second shows
    // the advice was honoured.
    let embedder = mock.embedder(mock.config(), 4);
    let started = Instant::now();
    let v = embedder
        .embed(&texts(&["hive-openai-test:rate-limited"]))
        .await
        .expect("retried");
    assert!(
        started.elapsed() >= Duration::from_millis(950),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(v, vec![vec![0.6, 0.8, 0.0, 0.0]]);
    assert_eq!(mock.statuses().await, [429, 200]);
}

#[tokio::test]
async fn a_persistent_server_error_fails_after_max_retries() {
    let Some(mock) = aimock() else { return };
    let embedder = mock.embedder(mock.config(), 4);
    let err = embedder
        .embed(&texts(&["hive-openai-test:server-error"]))
        .await
        .expect_err("keeps failing");
    assert_backend(
        &err,
        &["after 3 attempts", "500", "The server had an error"],
    );
    assert!(err.is_transient());
    assert_eq!(mock.requests().await, 3, "1 attempt + max_retries 2");
}

#[tokio::test]
async fn a_bad_request_is_not_retried_and_carries_the_servers_message() {
    let Some(mock) = aimock() else { return };
    let embedder = mock.embedder(mock.config(), 4);
    let err = embedder
        .embed(&texts(&["hive-openai-test:bad-request"]))
        .await
        .expect_err("refused");
    assert_invalid(&err, &["400", "hive-openai-test: this input is refused"]);
    assert_eq!(mock.requests().await, 1);
}

#[tokio::test]
async fn a_refused_key_is_named_not_retried_and_never_shown() {
    let Some(mock) = aimock() else { return };
    // The fixture's message echoes this very key, as some servers do.
    let key = "sk-hive-test-secret-42";
    let embedder = mock.embedder(mock.config().with_api_key(key), 4);
    let err = embedder
        .embed(&texts(&["hive-openai-test:unauthorized"]))
        .await
        .expect_err("refused");
    assert_invalid(&err, &["the API key was refused", "401", "<redacted>"]);
    assert!(!err.to_string().contains(key), "{err}");
    assert!(!format!("{err:?}").contains(key), "{err:?}");
    assert!(!format!("{embedder:?}").contains(key));
    let journal = mock.journal().await;
    assert_eq!(journal.len(), 1);
    // aimock shows it as "[REDACTED]" in its journal; it was sent.
    assert!(
        journal[0]["headers"].get("authorization").is_some(),
        "the key travels in the Authorization header"
    );
}

#[tokio::test]
async fn a_server_answering_the_wrong_dimension_is_a_backend_error() {
    let Some(mock) = aimock() else { return };
    let embedder = mock.embedder(mock.config(), 4);
    let err = embedder
        .embed(&texts(&["hive-openai-test:wrong-dimension"]))
        .await
        .expect_err("3 components, not 4");
    assert_backend(&err, &["expected 4-dimensional vectors, got 3"]);
    assert_eq!(mock.requests().await, 1, "a wrong answer is not retried");
}

#[tokio::test]
async fn a_request_that_times_out_is_retried_then_fails() {
    let Some(mock) = aimock() else { return };
    // The fixture waits 10 s before answering.
    let mut config = mock.config();
    config.http.timeout = Duration::from_millis(300);
    let embedder = mock.embedder(config, 4);
    let started = Instant::now();
    let err = embedder
        .embed(&texts(&["hive-openai-test:slow"]))
        .await
        .expect_err("too slow");
    let elapsed = started.elapsed();
    assert_backend(&err, &["after 3 attempts", "timed out after 300ms"]);
    assert!(
        elapsed >= Duration::from_millis(900) && elapsed < Duration::from_secs(5),
        "three attempts of 300 ms each: {elapsed:?}"
    );
}

#[tokio::test]
async fn empty_text_is_refused_before_any_request() {
    let Some(mock) = aimock() else { return };
    let embedder = mock.embedder(mock.config(), 4);
    let err = embedder
        .embed(&texts(&["fine", "  "]))
        .await
        .expect_err("empty");
    assert_invalid(&err, &["text 1 of the batch is empty"]);
    assert_eq!(mock.requests().await, 0);
    assert!(embedder.embed(&[]).await.expect("nothing").is_empty());
}

#[tokio::test]
async fn a_chat_completion_returns_the_fixture_text_and_token_counts() {
    let Some(mock) = aimock() else { return };
    let chat = OpenAiChat::new(OpenAiChatConfig::new(mock.config(), "gpt-4o-mini")).expect("chat");
    let answer = chat
        .complete(
            "You summarise conversations in one sentence.",
            "hive-openai-test:summarise\nAlice: ship on Friday?\nBob: yes.",
            64,
        )
        .await
        .expect("answer");
    assert_eq!(answer.text, "Alice and Bob agreed to ship on Friday.");
    assert_eq!((answer.input_tokens, answer.output_tokens), (42, 9));
    assert_eq!(answer.model, "gpt-4o-mini-2024-07-18");
    assert!(!answer.truncated);
    let journal = mock.journal().await;
    assert_eq!(journal.len(), 1);
    assert_eq!(journal[0]["path"], "/v1/chat/completions");
    assert_eq!(journal[0]["body"]["max_tokens"], 64);
}

#[tokio::test]
async fn a_chat_request_nothing_matches_is_refused_with_the_servers_message() {
    let Some(mock) = aimock() else { return };
    let chat = OpenAiChat::new(OpenAiChatConfig::new(mock.config(), "gpt-4o-mini")).expect("chat");
    let err = chat
        .complete("", "no fixture matches this", 16)
        .await
        .expect_err("404");
    assert_invalid(&err, &["404", "No fixture matched"]);
    assert_eq!(mock.requests().await, 1);
}

/// Needs no mock: a port nobody listens on refuses every connection.
#[tokio::test]
async fn an_unreachable_server_is_retried_then_fails() {
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("addr").port()
    };
    let config = OpenAiConfig {
        http: HttpSettings {
            max_retries: 2,
            backoff_base: Duration::from_millis(1),
            backoff_cap: Duration::from_millis(5),
            ..HttpSettings::default()
        },
        ..OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1"))
    };
    let embedder =
        OpenAiEmbedder::new(OpenAiEmbedderConfig::new(config, "m", 4)).expect("embedder");
    let err = embedder
        .embed(&texts(&["anything"]))
        .await
        .expect_err("nobody there");
    assert_backend(&err, &["after 3 attempts", "could not connect"]);
}

/// Needs no mock: a server that accepts and never answers. Counts the
/// connections, so every retry is seen.
#[tokio::test]
async fn a_server_that_never_answers_gets_one_connection_per_attempt() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let port = listener.local_addr().expect("addr").port();
    let accepted = Arc::new(AtomicUsize::new(0));
    let counter = Arc::clone(&accepted);
    let server = tokio::spawn(async move {
        // Held open and never answered, until the test aborts the task.
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
            counter.fetch_add(1, Ordering::SeqCst);
        }
    });
    let config = OpenAiConfig {
        http: HttpSettings {
            max_retries: 1,
            timeout: Duration::from_millis(200),
            backoff_base: Duration::from_millis(1),
            backoff_cap: Duration::from_millis(5),
            ..HttpSettings::default()
        },
        ..OpenAiConfig::new(format!("http://127.0.0.1:{port}/v1"))
    };
    let chat = OpenAiChat::new(OpenAiChatConfig::new(config, "m")).expect("chat");
    let err = chat.complete("", "hello", 5).await.expect_err("silence");
    assert_backend(&err, &["after 2 attempts", "timed out after 200ms"]);
    server.abort();
    assert_eq!(accepted.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_malformed_base_url_is_refused_up_front() {
    for url in ["not a url", "localhost:11434/v1", "ftp://example.com/v1"] {
        let err = OpenAiEmbedder::new(OpenAiEmbedderConfig::new(OpenAiConfig::new(url), "m", 4))
            .expect_err(url);
        assert_invalid(&err, &["base URL"]);
    }
}
