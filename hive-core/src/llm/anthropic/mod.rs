//! The Anthropic Messages API as an [`LlmProvider`]: `POST /v1/messages`,
//! whole or streamed, with tool calls, retries and cost.
//!
//! The HTTP path is the OpenAI client's ([`crate::llm::openai`]), shared in
//! `crate::llm::transport`: rate limits (429), overload (529), server errors
//! (5xx, 408), timeouts and failed connections are retried with exponential
//! back-off, honouring `retry-after`; what is left is [`Error::Backend`] with
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

use async_trait::async_trait;
use futures::stream::{BoxStream, StreamExt};
use reqwest::header::{HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

pub use config::{AnthropicConfig, DEFAULT_API_VERSION, DEFAULT_BASE_URL, DEFAULT_MODEL};

use super::{LlmProvider, LlmRequest, LlmResponse, StreamEvent};
use crate::error::{Error, Result};
use crate::llm::transport::{self, describe_transport, parse_base_url, ApiName, HttpApi, Outcome};

/// The `backend` named by every [`Error::Backend`] this module returns.
pub(crate) const BACKEND: &str = "anthropic";

/// How errors and logs name this API.
const API: ApiName = ApiName {
    backend: BACKEND,
    label: "Anthropic",
};

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
    api: HttpApi,
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
        let mut headers = config.http.checked_headers(API.label)?;
        let version = HeaderValue::from_str(&config.anthropic_version).map_err(|_| {
            Error::invalid(format!(
                "anthropic_version {:?} is not valid in an HTTP header",
                config.anthropic_version
            ))
        })?;
        headers.insert("anthropic-version", version);
        headers.insert("x-api-key", transport::key_header(key, API.label)?);
        // The key as sent (trimmed) is what a server would echo.
        let key = Some(key.to_string());
        let builder = reqwest::Client::builder()
            .connect_timeout(config.http.timeout)
            // Bounds every wait for bytes, including the headers; `complete`
            // adds a limit on the whole attempt, a stream does not (a long
            // answer that keeps coming must not be cut).
            .read_timeout(config.http.timeout);
        let api = HttpApi::new(API, config.http.clone(), key, headers, builder)?;
        Ok(AnthropicProvider { config, url, api })
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

    /// One attempt, up to the answer's headers: a success hands the
    /// response over unread. `whole` bounds the whole exchange by the
    /// timeout (for `complete`); a stream is bounded per read instead.
    async fn send(&self, body: &[u8], whole: bool) -> Outcome<reqwest::Response> {
        let timeout = whole.then_some(self.config.http.timeout);
        let host = self.url.host_str().unwrap_or("the server");
        self.api
            .send(&self.url, body, timeout, MESSAGES_PATH, |status, said| {
                // Anthropic answers 401 for a bad key and 403 for a good key
                // without the permission asked for.
                if status == StatusCode::UNAUTHORIZED {
                    Error::invalid(format!(
                        "the API key was refused by {host} ({status}){said}"
                    ))
                } else {
                    Error::invalid(format!(
                        "the API key may not do this on {host} ({status}){said}"
                    ))
                }
            })
            .await
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
        let bytes = self
            .api
            .retrying(MESSAGES_PATH, || async {
                let sent = self.send(&body, true).await;
                self.api.read_whole(sent).await
            })
            .await?;
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
        let response = self
            .api
            .retrying(MESSAGES_PATH, || self.send(&body, false))
            .await?;
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
        let timeout = self.config.http.timeout;
        let bytes = response.bytes_stream().map(move |chunk| {
            chunk.map_err(|e| Error::backend(BACKEND, describe_transport(&e, timeout)))
        });
        Ok(stream::events(bytes, self.config.pricing.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::llm::HttpSettings;
    use std::time::Duration;

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
        let headers = provider.api.headers();
        let key = headers.get("x-api-key").expect("x-api-key");
        assert_eq!(key, "sk-ant-very-secret");
        assert!(key.is_sensitive(), "kept out of hyper's logs");
        assert_eq!(headers["anthropic-version"], "2023-06-01");
        assert_eq!(headers["x-test-id"], "t-1");
        assert_eq!(
            provider.url.as_str(),
            "https://api.anthropic.com/v1/messages"
        );
        let shown = format!("{provider:?}");
        assert!(!shown.contains("sk-ant-very-secret"), "{shown}");
        assert_eq!(
            provider.api.scrub("invalid x-api-key sk-ant-very-secret"),
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
                http: HttpSettings {
                    timeout: Duration::ZERO,
                    ..keyed().http
                },
                ..keyed()
            },
            "timeout must be above zero",
        );
        check(
            AnthropicConfig {
                http: HttpSettings {
                    backoff_cap: Duration::from_millis(1),
                    ..keyed().http
                },
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
