//! The Anthropic Messages API as an [`LlmProvider`]: `POST /v1/messages`,
//! whole or streamed, with tool calls, retries and cost.
//!
//! The HTTP path follows the OpenAI client's ([`crate::openai`]): rate
//! limits (429), overload (529), server errors (5xx, 408), timeouts and
//! failed connections are retried with exponential back-off, honouring
//! `retry-after`; what is left is [`Error::Backend`] with
//! `backend: "anthropic"` (transient). Any other refusal is
//! [`Error::InvalidInput`] carrying Anthropic's message, with the key cut
//! out. A stream is retried only until its answer starts: once deltas have
//! been handed out, a failure is the stream's last item. See `docs/llm.md`.
//!
//! - `config`: [`AnthropicConfig`], what to reach and how.
//! - `wire` (private): Anthropic's JSON and its translation.
//! - `stream` (private): server-sent events assembled into the answer.

mod config;
mod stream;
mod wire;

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

pub use config::{AnthropicConfig, DEFAULT_API_VERSION, DEFAULT_BASE_URL, DEFAULT_MODEL};

use super::{LlmProvider, LlmRequest, LlmResponse, StreamEvent};
use crate::error::{Error, Result};
use crate::openai::client::{
    error_chain, is_retryable, parse_base_url, retry_after, server_message,
};

/// The `backend` named by every [`Error::Backend`] this module returns.
pub(crate) const BACKEND: &str = "anthropic";

/// The path of the Messages API under the root.
const MESSAGES_PATH: &str = "/v1/messages";

/// A connection pool to the Anthropic API with the retry policy of its
/// [`AnthropicConfig`]. Cheap to clone; clones share the pool.
///
/// ```no_run
/// # async fn run() -> hive_core::Result<()> {
/// use hive_core::llm::anthropic::{AnthropicConfig, AnthropicProvider};
/// use hive_core::llm::{LlmProvider, LlmRequest};
///
/// // Fails here, not mid-task, when ANTHROPIC_API_KEY is not set.
/// let claude = AnthropicProvider::new(AnthropicConfig::from_env())?;
/// let answer = claude.complete(&LlmRequest::new("Say hello.")).await?;
/// println!("{} ({:?} USD)", answer.text(), answer.cost_usd);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct AnthropicProvider {
    config: AnthropicConfig,
    url: Url,
    headers: HeaderMap,
    http: reqwest::Client,
}

impl fmt::Debug for AnthropicProvider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The header map holds the key; the config prints it redacted.
        f.debug_struct("AnthropicProvider")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl AnthropicProvider {
    /// A provider for `config`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the API key is missing or blank (so a
    /// task never starts without one), for a base URL that is not an
    /// absolute http(s) URL (or carries credentials), an empty model, a
    /// header that is not valid HTTP, a zero timeout, or a back-off cap
    /// below its base; [`Error::Backend`] if the TLS stack cannot start.
    pub fn new(config: AnthropicConfig) -> Result<Self> {
        let key = config
            .api_key
            .as_deref()
            .map(str::trim)
            .filter(|k| !k.is_empty())
            .ok_or_else(|| {
                Error::invalid(
                    "ANTHROPIC_API_KEY is not set: the Anthropic provider needs an API key \
                     (AnthropicConfig::api_key)",
                )
            })?;
        let base = parse_base_url(&config.base_url)?;
        let url = Url::parse(&format!(
            "{}{MESSAGES_PATH}",
            base.as_str().trim_end_matches('/')
        ))
        .map_err(|e| Error::invalid(format!("bad Anthropic base URL: {e}")))?;
        if config.model.trim().is_empty() {
            return Err(Error::invalid(
                "the default Anthropic model must not be empty",
            ));
        }
        if config.timeout.is_zero() {
            return Err(Error::invalid(
                "the Anthropic request timeout must be above zero",
            ));
        }
        if config.backoff_cap < config.backoff_base {
            return Err(Error::invalid(
                "the Anthropic backoff_cap must not be below backoff_base",
            ));
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in &config.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid(format!("{name:?} is not a valid HTTP header name")))?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid(format!("the value of header {name} is not valid in HTTP"))
            })?;
            value.set_sensitive(true);
            headers.append(header, value);
        }
        let version = HeaderValue::from_str(&config.anthropic_version).map_err(|_| {
            Error::invalid(format!(
                "anthropic_version {:?} is not valid in an HTTP header",
                config.anthropic_version
            ))
        })?;
        headers.insert("anthropic-version", version);
        let mut key = HeaderValue::from_str(key).map_err(|_| {
            // Not quoted: it is the key.
            Error::invalid("the Anthropic API key has characters that cannot be sent in HTTP")
        })?;
        key.set_sensitive(true);
        headers.insert("x-api-key", key);
        let http = reqwest::Client::builder()
            .connect_timeout(config.timeout)
            // Bounds every wait for bytes, including the headers; `complete`
            // adds a limit on the whole attempt, a stream does not (a long
            // answer that keeps coming must not be cut).
            .read_timeout(config.timeout)
            // An API does not redirect; following one could carry the key to
            // a host nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("agent-hive/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::backend(BACKEND, format!("cannot build the HTTP client: {e}")))?;
        Ok(AnthropicProvider {
            config,
            url,
            headers,
            http,
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &AnthropicConfig {
        &self.config
    }

    /// The JSON body for `request`, after checking it.
    fn body(&self, request: &LlmRequest, stream: bool) -> Result<Vec<u8>> {
        request.check()?;
        let model = request
            .model
            .as_deref()
            .filter(|m| !m.trim().is_empty())
            .unwrap_or(&self.config.model);
        serde_json::to_vec(&wire::MessagesRequest::new(request, model, stream))
            .map_err(|e| Error::invalid(format!("cannot encode the Anthropic request: {e}")))
    }

    /// Runs `attempt` until it succeeds, is refused, or the retries are used
    /// up, sleeping between attempts as the server advised or the back-off
    /// says.
    async fn with_retries<T, F, Fut>(&self, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Outcome<T>>,
    {
        let attempts = self.config.max_retries.saturating_add(1);
        let mut tried = 0;
        loop {
            tried += 1;
            let failure = match attempt().await {
                Outcome::Success(answer) => return Ok(answer),
                Outcome::Refused(err) => return Err(err),
                Outcome::Transient(failure) => failure,
            };
            if tried >= attempts {
                return Err(Error::backend(
                    BACKEND,
                    format!(
                        "POST {MESSAGES_PATH} failed after {tried} attempt{}; the last: {}",
                        if tried == 1 { "" } else { "s" },
                        failure.describe
                    ),
                ));
            }
            let delay = failure
                .advised
                .map(|d| d.min(self.config.max_retry_after))
                .unwrap_or_else(|| self.config.backoff(tried, rand::random_range(0.0..=1.0)));
            tracing::warn!(
                status = failure.status.map(|s| s.as_u16()),
                attempt = tried,
                attempts,
                delay_ms = delay.as_millis() as u64,
                "anthropic request failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt, up to the answer's headers: a success hands the
    /// response over unread.
    async fn send(&self, body: &[u8], whole: bool) -> Outcome<reqwest::Response> {
        let mut request = self
            .http
            .post(self.url.clone())
            .headers(self.headers.clone())
            .body(body.to_vec());
        if whole {
            request = request.timeout(self.config.timeout);
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) => return self.transport_failure(&e),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Success(response);
        }
        let advised = retry_after(response.headers(), SystemTime::now());
        let bytes = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return self.transport_failure(&e),
        };
        let said = server_message(&bytes)
            .map(|m| format!(": {}", self.scrub(&m)))
            .unwrap_or_default();
        if is_retryable(status) {
            return Outcome::Transient(Failure {
                status: Some(status),
                advised,
                describe: format!("{status}{said}"),
            });
        }
        let host = self.url.host_str().unwrap_or("the server");
        Outcome::Refused(match status.as_u16() {
            401 => Error::invalid(format!(
                "the API key was refused by {host} ({status}){said}"
            )),
            403 => Error::invalid(format!(
                "the API key may not do this on {host} ({status}){said}"
            )),
            300..=399 => Error::invalid(format!(
                "POST {MESSAGES_PATH} was redirected ({status}); set base_url to the final address"
            )),
            400..=499 => {
                Error::invalid(format!("POST {MESSAGES_PATH} was refused ({status}){said}"))
            }
            _ => Error::backend(
                BACKEND,
                format!("POST {MESSAGES_PATH} answered {status}{said}"),
            ),
        })
    }

    /// One attempt of `complete`: the whole answer, read.
    async fn send_whole(&self, body: &[u8]) -> Outcome<Vec<u8>> {
        match self.send(body, true).await {
            Outcome::Success(response) => match response.bytes().await {
                Ok(bytes) => Outcome::Success(bytes.to_vec()),
                Err(e) => self.transport_failure(&e),
            },
            Outcome::Transient(failure) => Outcome::Transient(failure),
            Outcome::Refused(err) => Outcome::Refused(err),
        }
    }

    fn transport_failure<T>(&self, e: &reqwest::Error) -> Outcome<T> {
        let describe = describe_transport(e, self.config.timeout);
        if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
            Outcome::Transient(Failure {
                status: None,
                advised: None,
                describe,
            })
        } else {
            Outcome::Refused(Error::backend(BACKEND, describe))
        }
    }

    /// Replaces the key wherever a server message echoes it.
    fn scrub(&self, message: &str) -> String {
        match self.config.api_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => message.replace(key, "<redacted>"),
            _ => message.to_string(),
        }
    }
}

#[async_trait]
impl LlmProvider for AnthropicProvider {
    fn provider(&self) -> &'static str {
        "anthropic"
    }

    fn default_model(&self) -> &str {
        &self.config.model
    }

    async fn complete(&self, request: &LlmRequest) -> Result<LlmResponse> {
        let body = self.body(request, false)?;
        let bytes = self.with_retries(|| self.send_whole(&body)).await?;
        let answer: wire::MessagesResponse = serde_json::from_slice(&bytes).map_err(|e| {
            Error::backend(
                BACKEND,
                format!("POST {MESSAGES_PATH} answered JSON of an unexpected shape: {e}"),
            )
        })?;
        Ok(answer.into_neutral(&self.config.pricing))
    }

    async fn stream(
        &self,
        request: &LlmRequest,
    ) -> Result<BoxStream<'static, Result<StreamEvent>>> {
        let body = self.body(request, true)?;
        let response = self.with_retries(|| self.send(&body, false)).await?;
        let content_type = response
            .headers()
            .get(CONTENT_TYPE)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("text/event-stream");
        if !content_type.starts_with("text/event-stream") {
            return Err(Error::backend(
                BACKEND,
                format!("POST {MESSAGES_PATH} answered {content_type}, not an event stream"),
            ));
        }
        let timeout = self.config.timeout;
        let bytes = response.bytes_stream().map(move |chunk| {
            chunk.map_err(|e| Error::backend(BACKEND, describe_transport(&e, timeout)))
        });
        Ok(stream::events(bytes, self.config.pricing.clone()))
    }
}

/// How one attempt ended.
enum Outcome<T> {
    Success(T),
    /// Worth another attempt.
    Transient(Failure),
    /// Final: retrying cannot help.
    Refused(Error),
}

struct Failure {
    status: Option<StatusCode>,
    /// The server's advice on when to come back.
    advised: Option<Duration>,
    describe: String,
}

/// A transport error in words. reqwest's messages name the URL, never
/// headers; the base URL holds no credentials (refused at construction).
fn describe_transport(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("timed out after {timeout:?}")
    } else if e.is_connect() {
        format!("could not connect: {}", error_chain(e))
    } else {
        format!("the connection failed: {}", error_chain(e))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn keyed() -> AnthropicConfig {
        AnthropicConfig::default().with_api_key("sk-ant-very-secret")
    }

    #[test]
    fn a_missing_or_blank_key_is_refused_at_construction() {
        for key in [None, Some(""), Some("  ")] {
            let config = AnthropicConfig {
                api_key: key.map(String::from),
                ..AnthropicConfig::default()
            };
            let err = AnthropicProvider::new(config).expect_err("no key");
            assert!(
                matches!(&err, Error::InvalidInput(m) if m.contains("ANTHROPIC_API_KEY is not set")),
                "{err:?}"
            );
        }
    }

    #[test]
    fn the_key_travels_only_in_a_sensitive_header() {
        let provider =
            AnthropicProvider::new(keyed().with_header("X-Test-Id", "t-1")).expect("provider");
        let key = provider.headers.get("x-api-key").expect("x-api-key");
        assert_eq!(key, "sk-ant-very-secret");
        assert!(key.is_sensitive(), "kept out of hyper's logs");
        assert_eq!(provider.headers["anthropic-version"], "2023-06-01");
        assert_eq!(provider.headers["x-test-id"], "t-1");
        assert_eq!(
            provider.url.as_str(),
            "https://api.anthropic.com/v1/messages"
        );
        let shown = format!("{provider:?}");
        assert!(!shown.contains("sk-ant-very-secret"), "{shown}");
        assert_eq!(
            provider.scrub("invalid x-api-key sk-ant-very-secret"),
            "invalid x-api-key <redacted>"
        );
        assert_eq!(provider.provider(), "anthropic");
        assert_eq!(provider.default_model(), DEFAULT_MODEL);
    }

    #[test]
    fn bad_settings_are_refused_at_construction() {
        let check = |config: AnthropicConfig, says: &str| {
            let err = AnthropicProvider::new(config).expect_err(says);
            assert!(
                matches!(&err, Error::InvalidInput(m) if m.contains(says)),
                "{says}: {err:?}"
            );
        };
        check(
            AnthropicConfig {
                base_url: "ftp://api.anthropic.com".into(),
                ..keyed()
            },
            "must be an http",
        );
        check(keyed().with_model(" "), "model must not be empty");
        check(
            AnthropicConfig {
                timeout: Duration::ZERO,
                ..keyed()
            },
            "timeout must be above zero",
        );
        check(
            AnthropicConfig {
                backoff_cap: Duration::from_millis(1),
                ..keyed()
            },
            "backoff_cap",
        );
        check(keyed().with_header("bad name", "x"), "header name");
        check(
            keyed().with_api_key("sk-\nnewline"),
            "cannot be sent in HTTP",
        );
        for root in ["http://h:1", "http://h:1/", "http://h:1/gateway/anthropic"] {
            let p = AnthropicProvider::new(AnthropicConfig {
                base_url: root.into(),
                ..keyed()
            })
            .expect(root);
            assert_eq!(
                p.url.as_str(),
                format!("{}/v1/messages", root.trim_end_matches('/'))
            );
        }
    }

    #[test]
    fn the_request_names_its_model_or_the_configured_one() {
        let provider = AnthropicProvider::new(keyed().with_model("claude-default")).expect("p");
        let body = |request: &LlmRequest| -> serde_json::Value {
            serde_json::from_slice(&provider.body(request, false).expect("body")).expect("json")
        };
        let mut request = LlmRequest::new("hi");
        assert_eq!(body(&request)["model"], "claude-default");
        request.model = Some("claude-other".into());
        assert_eq!(body(&request)["model"], "claude-other");
        request.messages.clear();
        assert!(matches!(
            provider.body(&request, false),
            Err(Error::InvalidInput(_))
        ));
    }
}
