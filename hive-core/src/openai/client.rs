//! The one HTTP path to an OpenAI-compatible server: where it is, how the
//! key travels, and when a failed request is tried again. The embedder, the
//! chat client and the LLM provider only build bodies and read answers;
//! every status code, back-off, time limit and error text is decided here,
//! so they cannot drift apart.

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use eventsource_stream::{EventStreamError, Eventsource};
use futures::stream::{BoxStream, StreamExt};
use reqwest::header::{HeaderMap, HeaderName, HeaderValue, AUTHORIZATION, CONTENT_TYPE};
use reqwest::{StatusCode, Url};
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};

/// The `backend` named by every [`Error::Backend`] this module returns.
pub(crate) const BACKEND: &str = "openai";

/// OpenAI's own API; Ollama, vLLM, TEI, LiteLLM and the like are other base
/// URLs (e.g. `http://localhost:11434/v1` for Ollama).
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The host of [`DEFAULT_BASE_URL`]: the one server known to need a key.
const OPENAI_HOST: &str = "api.openai.com";

/// Longest part of a non-JSON error body quoted in an error message.
const MAX_QUOTED_BODY: usize = 200;

/// Where an OpenAI-compatible server is and how to talk to it.
///
/// Build it with [`OpenAiConfig::new`] or [`OpenAiConfig::from_env`], then
/// change fields directly or with the `with_*` methods. The key is never
/// logged and never shown: `Debug` prints `api_key: Some("<redacted>")`, and
/// error messages replace it wherever a server echoes it.
///
/// ```
/// use std::time::Duration;
/// use hive_core::openai::OpenAiConfig;
///
/// let config = OpenAiConfig {
///     max_retries: 2,
///     ..OpenAiConfig::new("http://localhost:11434/v1")
/// }
/// .with_api_key("sk-not-shown");
/// assert_eq!(config.timeout, Duration::from_secs(60));
/// assert!(format!("{config:?}").contains(r#"api_key: Some("<redacted>")"#));
/// ```
#[derive(Clone)]
pub struct OpenAiConfig {
    /// The API root that `/embeddings` and `/chat/completions` are appended
    /// to, including the version segment. Default [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// Sent as `Authorization: Bearer <key>` when set. Default none: local
    /// servers such as Ollama and TEI need no key.
    pub api_key: Option<String>,
    /// Extra headers sent with every request (`OpenAI-Organization`, a
    /// gateway's routing header, a test id). Their values are treated like
    /// the key: never logged or shown. Default none.
    pub headers: Vec<(String, String)>,
    /// Limit on one attempt, from connecting to the last byte of the answer.
    /// A streamed answer may take longer as a whole: there the limit bounds
    /// the wait for the response and every silence between two chunks.
    /// Default 60 s.
    pub timeout: Duration,
    /// Attempts after the first one for a rate limit (429), a server error
    /// (5xx, 408) or a failed connection or timeout. Default 5.
    pub max_retries: u32,
    /// Delay before the first retry when the server gives no advice; it
    /// doubles with every retry. Default 500 ms.
    pub backoff_base: Duration,
    /// Longest back-off delay. Default 20 s.
    pub backoff_cap: Duration,
    /// Longest wait honoured when the server advises one (`retry-after-ms`
    /// or `retry-after`, in seconds or as an HTTP date); longer advice is cut
    /// to this. Default 60 s.
    pub max_retry_after: Duration,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key: None,
            headers: Vec::new(),
            timeout: Duration::from_secs(60),
            max_retries: 5,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl OpenAiConfig {
    /// The defaults, for the server at `base_url`.
    pub fn new(base_url: impl Into<String>) -> Self {
        OpenAiConfig {
            base_url: base_url.into(),
            ..OpenAiConfig::default()
        }
    }

    /// The defaults, with the key from `HIVE_OPENAI_API_KEY` (else
    /// `OPENAI_API_KEY`) and the base URL from `HIVE_OPENAI_BASE_URL` (else
    /// `OPENAI_BASE_URL`, else [`DEFAULT_BASE_URL`]). Empty variables count
    /// as unset.
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| {
            names
                .iter()
                .filter_map(|n| lookup(n))
                .find(|v| !v.trim().is_empty())
        };
        OpenAiConfig {
            base_url: first(&["HIVE_OPENAI_BASE_URL", "OPENAI_BASE_URL"])
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
            api_key: first(&["HIVE_OPENAI_API_KEY", "OPENAI_API_KEY"]),
            ..OpenAiConfig::default()
        }
    }

    /// Sets the API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Adds a header sent with every request.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// True when the base URL is OpenAI's own API, which refuses every
    /// request without a key (local servers such as Ollama need none).
    pub fn needs_api_key(&self) -> bool {
        Url::parse(self.base_url.trim())
            .ok()
            .and_then(|u| u.host_str().map(|h| h.eq_ignore_ascii_case(OPENAI_HOST)))
            .unwrap_or(false)
    }

    /// Fails unless an API key is set, so a server that needs one is refused
    /// when the client is configured rather than at its first request.
    /// [`OpenAiProvider::new`](super::OpenAiProvider::new) calls it when
    /// [`needs_api_key`](Self::needs_api_key); call it yourself for a
    /// gateway that wants a key too.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the variables that set the key.
    pub fn require_api_key(&self) -> Result<()> {
        match self.api_key.as_deref().map(str::trim) {
            Some(key) if !key.is_empty() => Ok(()),
            _ => Err(Error::invalid(format!(
                "{} needs an API key and none is set: set OPENAI_API_KEY (or \
                 HIVE_OPENAI_API_KEY) or OpenAiConfig::api_key",
                Url::parse(self.base_url.trim())
                    .ok()
                    .and_then(|u| u.host_str().map(str::to_string))
                    .unwrap_or_else(|| "the server".to_string())
            ))),
        }
    }

    /// The delay before retry number `retry` (1-based) when the server
    /// advised none: `min(cap, base · 2^(retry-1))`, then a random point in
    /// its upper half (`sample` in `[0, 1]`), so clients that failed together
    /// do not come back together. Never more than `backoff_cap`.
    fn backoff(&self, retry: u32, sample: f64) -> Duration {
        let exp = retry.saturating_sub(1).min(30);
        let full = self
            .backoff_base
            .saturating_mul(1u32 << exp)
            .min(self.backoff_cap);
        full.mul_f64(0.5 + 0.5 * sample.clamp(0.0, 1.0))
    }
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let headers: Vec<String> = self
            .headers
            .iter()
            .map(|(name, _)| format!("{name}: <redacted>"))
            .collect();
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &self.api_key.as_ref().map(|_| "<redacted>"))
            .field("headers", &headers)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .field("max_retry_after", &self.max_retry_after)
            .finish()
    }
}

/// A connection pool to one OpenAI-compatible server, with the retry policy
/// of its [`OpenAiConfig`]. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct OpenAiClient {
    config: OpenAiConfig,
    base: Url,
    headers: HeaderMap,
    http: reqwest::Client,
}

impl fmt::Debug for OpenAiClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // The header map holds the key; the config prints it redacted.
        f.debug_struct("OpenAiClient")
            .field("config", &self.config)
            .finish_non_exhaustive()
    }
}

impl OpenAiClient {
    /// A client for `config`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a base URL that is not an absolute
    /// http(s) URL (or carries credentials), a header that is not valid
    /// HTTP, or a zero timeout; [`Error::Backend`] if the TLS stack cannot
    /// start.
    pub fn new(config: OpenAiConfig) -> Result<Self> {
        let base = parse_base_url(&config.base_url)?;
        if config.timeout.is_zero() {
            return Err(Error::invalid(
                "the OpenAI request timeout must be above zero",
            ));
        }
        if config.backoff_cap < config.backoff_base {
            return Err(Error::invalid(
                "the OpenAI backoff_cap must not be below backoff_base",
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
        if let Some(key) = config.api_key.as_deref().filter(|k| !k.is_empty()) {
            let mut value = HeaderValue::from_str(&format!("Bearer {key}")).map_err(|_| {
                Error::invalid("the OpenAI API key has characters that cannot be sent in HTTP")
            })?;
            value.set_sensitive(true);
            headers.insert(AUTHORIZATION, value);
        }
        // No client-wide timeout: a whole answer is bounded per request in
        // `post_json`, while a stream is bounded per silence in `post_sse`.
        let http = reqwest::Client::builder()
            // An API does not redirect; following one could carry the key to
            // a host nobody configured.
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("agent-hive/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| Error::backend(BACKEND, format!("cannot build the HTTP client: {e}")))?;
        Ok(OpenAiClient {
            config,
            base,
            headers,
            http,
        })
    }

    /// The configuration it was built from.
    pub fn config(&self) -> &OpenAiConfig {
        &self.config
    }

    /// POSTs `body` as JSON to `{base_url}/{path}` and decodes the JSON
    /// answer, retrying rate limits, server errors, timeouts and failed
    /// connections as the configuration says.
    ///
    /// # Errors
    /// - [`Error::InvalidInput`] when the server refuses the request (a 4xx
    ///   other than 408 and 429), with its status and message; for 401 and
    ///   403 the message says the API key was refused. Not retried.
    /// - [`Error::Backend`] when the retries are used up (the message gives
    ///   the number of attempts and the last failure), or the answer is not
    ///   the JSON expected.
    pub async fn post_json<B, R>(&self, path: &str, body: &B) -> Result<R>
    where
        B: Serialize + ?Sized,
        R: DeserializeOwned,
    {
        let (url, body) = self.prepare(path, body)?;
        let path = url.path();
        let bytes = self
            .retrying(path, || async {
                match self.respond(&url, &body, Some(self.config.timeout)).await {
                    Outcome::Success(response) => match response.bytes().await {
                        Ok(bytes) => Outcome::Success(bytes),
                        Err(e) => self.transport_failure(&e),
                    },
                    Outcome::Transient(failure) => Outcome::Transient(failure),
                    Outcome::Refused(err) => Outcome::Refused(err),
                }
            })
            .await?;
        serde_json::from_slice(&bytes).map_err(|e| {
            Error::backend(
                BACKEND,
                format!("POST {path} answered JSON of an unexpected shape: {e}"),
            )
        })
    }

    /// POSTs `body` as JSON to `{base_url}/{path}` and streams the answer's
    /// server-sent events: the `data` of each event, in order (comments and
    /// events without data are skipped; `[DONE]` markers are passed on).
    ///
    /// Until the server answers with a success status the request is retried
    /// exactly as [`post_json`](Self::post_json) retries; each attempt may
    /// wait [`OpenAiConfig::timeout`] for the response. Once the stream has
    /// begun nothing is retried: part of the answer has been handed on.
    ///
    /// # Errors
    /// The same as [`post_json`](Self::post_json) before the stream starts.
    /// In the stream, [`Error::Backend`] when the connection fails, the
    /// server is silent for longer than the timeout, or the bytes are not
    /// UTF-8 server-sent events; the stream ends after its first error.
    pub async fn post_sse<B>(
        &self,
        path: &str,
        body: &B,
    ) -> Result<BoxStream<'static, Result<String>>>
    where
        B: Serialize + ?Sized,
    {
        let (url, body) = self.prepare(path, body)?;
        let timeout = self.config.timeout;
        let response = self
            .retrying(url.path(), || async {
                // The request's own timeout would cut the whole stream short;
                // this one ends with the response's head.
                tokio::time::timeout(timeout, self.respond(&url, &body, None))
                    .await
                    .unwrap_or_else(|_| Outcome::Transient(Failure::timed_out(timeout)))
            })
            .await?;
        Ok(sse_data(response, url.path().to_string(), timeout))
    }

    /// The endpoint's URL and the encoded body.
    fn prepare<B: Serialize + ?Sized>(&self, path: &str, body: &B) -> Result<(Url, Vec<u8>)> {
        let url = self.endpoint(path)?;
        let body = serde_json::to_vec(body).map_err(|e| {
            Error::invalid(format!("cannot encode the request to {}: {e}", url.path()))
        })?;
        Ok((url, body))
    }

    /// Runs `attempt` until it succeeds, is refused, or the retries are used
    /// up, sleeping between attempts as the server advised or the back-off
    /// says.
    async fn retrying<T, F, Fut>(&self, path: &str, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Outcome<T>>,
    {
        let attempts = self.config.max_retries.saturating_add(1);
        let mut tried = 0;
        loop {
            tried += 1;
            let failure = match attempt().await {
                Outcome::Success(value) => return Ok(value),
                Outcome::Refused(err) => return Err(err),
                Outcome::Transient(failure) => failure,
            };
            if tried >= attempts {
                return Err(Error::backend(
                    BACKEND,
                    format!(
                        "POST {path} failed after {tried} attempt{}; the last: {}",
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
                path,
                status = failure.status.map(|s| s.as_u16()),
                attempt = tried,
                attempts,
                delay_ms = delay.as_millis() as u64,
                "openai request failed; retrying"
            );
            tokio::time::sleep(delay).await;
        }
    }

    fn endpoint(&self, path: &str) -> Result<Url> {
        let joined = format!(
            "{}/{}",
            self.base.as_str().trim_end_matches('/'),
            path.trim_start_matches('/')
        );
        Url::parse(&joined).map_err(|e| Error::invalid(format!("bad endpoint {path:?}: {e}")))
    }

    /// One attempt as far as the response's status: a success is handed
    /// back unread, anything else is read and classified. `timeout` bounds
    /// the whole exchange when given.
    async fn respond(
        &self,
        url: &Url,
        body: &[u8],
        timeout: Option<Duration>,
    ) -> Outcome<reqwest::Response> {
        let mut request = self
            .http
            .post(url.clone())
            .headers(self.headers.clone())
            .body(body.to_vec());
        if let Some(timeout) = timeout {
            request = request.timeout(timeout);
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
        let message = server_message(&bytes).map(|m| self.scrub(&m));
        let said = message
            .as_deref()
            .map(|m| format!(": {m}"))
            .unwrap_or_default();
        if is_retryable(status) {
            return Outcome::Transient(Failure {
                status: Some(status),
                advised,
                describe: format!("{status}{said}"),
            });
        }
        let path = url.path();
        Outcome::Refused(match status.as_u16() {
            401 | 403 if self.headers.contains_key(AUTHORIZATION) => Error::invalid(format!(
                "the API key was refused by {} ({status}){said}",
                self.base.host_str().unwrap_or("the server")
            )),
            401 | 403 => Error::invalid(format!(
                "{} wants an API key and none is set ({status}){said}",
                self.base.host_str().unwrap_or("the server")
            )),
            300..=399 => Error::invalid(format!(
                "POST {path} was redirected ({status}); set base_url to the final address"
            )),
            400..=499 => Error::invalid(format!("POST {path} was refused ({status}){said}")),
            _ => Error::backend(BACKEND, format!("POST {path} answered {status}{said}")),
        })
    }

    fn transport_failure<T>(&self, e: &reqwest::Error) -> Outcome<T> {
        // reqwest's messages name the URL, never headers; the base URL holds
        // no credentials (refused at construction).
        let describe = if e.is_timeout() {
            format!("timed out after {:?}", self.config.timeout)
        } else if e.is_connect() {
            format!("could not connect: {}", error_chain(e))
        } else {
            format!("the connection failed: {}", error_chain(e))
        };
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
        scrub(message, self.config.api_key.as_deref())
    }
}

/// `message` with `key` replaced wherever it occurs, for quoting a server
/// that echoes the key.
pub(crate) fn scrub(message: &str, key: Option<&str>) -> String {
    match key.filter(|k| !k.is_empty()) {
        Some(key) => message.replace(key, "<redacted>"),
        None => message.to_string(),
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

impl Failure {
    fn timed_out(timeout: Duration) -> Self {
        Failure {
            status: None,
            advised: None,
            describe: format!("timed out after {timeout:?}"),
        }
    }
}

/// Why a streamed body stopped early.
#[derive(Debug)]
enum BodyError {
    /// The connection failed.
    Transport(String),
    /// Nothing arrived for the whole timeout.
    Stalled(Duration),
}

impl fmt::Display for BodyError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BodyError::Transport(e) => write!(f, "the connection failed: {e}"),
            BodyError::Stalled(t) => write!(f, "the stream stalled: nothing arrived for {t:?}"),
        }
    }
}

/// The `data` of each server-sent event of `response`, with every silence
/// bounded by `idle`. Ends after the first error.
fn sse_data(
    response: reqwest::Response,
    path: String,
    idle: Duration,
) -> BoxStream<'static, Result<String>> {
    let body = response.bytes_stream().boxed();
    let bounded = futures::stream::unfold(Some(body), move |body| async move {
        let mut body = body?;
        match tokio::time::timeout(idle, body.next()).await {
            Ok(Some(Ok(bytes))) => Some((Ok(bytes), Some(body))),
            Ok(Some(Err(e))) => Some((Err(BodyError::Transport(error_chain(&e))), None)),
            Ok(None) => None,
            Err(_) => Some((Err(BodyError::Stalled(idle)), None)),
        }
    });
    bounded
        .eventsource()
        .filter_map(move |event| {
            let item = match event {
                Ok(event) if event.data.is_empty() => None,
                Ok(event) => Some(Ok(event.data)),
                Err(e) => {
                    let why = match e {
                        EventStreamError::Transport(e) => e.to_string(),
                        EventStreamError::Utf8(e) => format!("the stream is not UTF-8: {e}"),
                        EventStreamError::Parser(e) => {
                            format!("the stream is not server-sent events: {e}")
                        }
                    };
                    Some(Err(Error::backend(
                        BACKEND,
                        format!("POST {path}: the streamed answer broke off: {why}"),
                    )))
                }
            };
            futures::future::ready(item)
        })
        // Once broken, a stream has nothing more worth reading.
        .scan(false, |broken, item| {
            let next = (!*broken).then(|| {
                *broken = item.is_err();
                item
            });
            futures::future::ready(next)
        })
        .boxed()
}

/// Rate limits, server errors and request timeouts may succeed later.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
}

pub(crate) fn parse_base_url(raw: &str) -> Result<Url> {
    let url = Url::parse(raw.trim())
        .map_err(|e| Error::invalid(format!("base URL {raw:?} is not a URL: {e}")))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err(Error::invalid(format!(
            "base URL {raw:?} must be an http:// or https:// URL with a host"
        )));
    }
    if !url.username().is_empty() || url.password().is_some() {
        // Not quoted: it holds a secret.
        return Err(Error::invalid(
            "the base URL must not carry credentials; set api_key instead",
        ));
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(Error::invalid(format!(
            "base URL {raw:?} must not have a query or fragment"
        )));
    }
    Ok(url)
}

/// The server's advice on when to retry, from `retry-after-ms` (OpenAI's,
/// milliseconds) or `retry-after` (seconds or an HTTP date, RFC 9110).
pub(crate) fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    parse_retry_after(text("retry-after-ms"), text("retry-after"), now)
}

fn parse_retry_after(ms: Option<&str>, after: Option<&str>, now: SystemTime) -> Option<Duration> {
    let non_negative = |x: f64| (x.is_finite() && x >= 0.0).then_some(x);
    if let Some(ms) = ms
        .and_then(|v| v.trim().parse::<f64>().ok())
        .and_then(non_negative)
    {
        return Some(Duration::from_secs_f64((ms / 1000.0).min(1e9)));
    }
    let after = after?.trim();
    if let Some(secs) = after.parse::<f64>().ok().and_then(non_negative) {
        return Some(Duration::from_secs_f64(secs.min(1e9)));
    }
    let date = chrono::DateTime::parse_from_rfc2822(after).ok()?;
    let when = SystemTime::from(date);
    // A date in the past means "now".
    Some(when.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The error text of an answer: OpenAI's `{"error":{"message":…}}`, TEI's
/// `{"error":"…"}`, vLLM's `{"message":…}`, else the start of the body.
pub(crate) fn server_message(body: &[u8]) -> Option<String> {
    if let Ok(json) = serde_json::from_slice::<serde_json::Value>(body) {
        let candidates = [
            json.pointer("/error/message"),
            json.get("error").filter(|e| e.is_string()),
            json.get("message"),
            json.get("detail"),
        ];
        if let Some(text) = candidates.into_iter().flatten().find_map(|v| v.as_str()) {
            return Some(text.trim().to_string()).filter(|t| !t.is_empty());
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        return None;
    }
    let mut quoted: String = text.chars().take(MAX_QUOTED_BODY).collect();
    if quoted.len() < text.len() {
        quoted.push('…');
    }
    Some(quoted)
}

/// The error and its causes on one line: reqwest's own message is terse.
pub(crate) fn error_chain(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let c = OpenAiConfig::default();
        assert_eq!(c.base_url, "https://api.openai.com/v1");
        assert_eq!(c.api_key, None);
        assert_eq!(c.timeout, Duration::from_secs(60));
        assert_eq!(c.max_retries, 5);
        assert_eq!(c.backoff_base, Duration::from_millis(500));
        assert_eq!(c.backoff_cap, Duration::from_secs(20));
        assert_eq!(c.max_retry_after, Duration::from_secs(60));
        OpenAiClient::new(c).expect("the defaults build a client");
    }

    #[test]
    fn debug_never_shows_the_key_or_header_values() {
        let config = OpenAiConfig::new("http://localhost:1/v1")
            .with_api_key("sk-very-secret")
            .with_header("OpenAI-Organization", "org-secret");
        let shown = format!("{config:?}");
        assert!(shown.contains(r#"api_key: Some("<redacted>")"#), "{shown}");
        assert!(shown.contains("OpenAI-Organization: <redacted>"), "{shown}");
        assert!(!shown.contains("sk-very-secret") && !shown.contains("org-secret"));
        let client = OpenAiClient::new(config).expect("client");
        let auth = client.headers.get(AUTHORIZATION).expect("authorization");
        assert_eq!(auth, "Bearer sk-very-secret");
        assert!(auth.is_sensitive(), "kept out of hyper's logs");
        let shown = format!("{client:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(!shown.contains("org-secret"), "{shown}");
        assert_eq!(
            client.scrub("Incorrect API key provided: sk-very-secret."),
            "Incorrect API key provided: <redacted>."
        );
        let keyless = format!("{:?}", OpenAiConfig::default());
        assert!(keyless.contains("api_key: None"), "{keyless}");
        for config in [
            OpenAiConfig::new("http://h/v1"),
            OpenAiConfig::new("http://h/v1").with_api_key(""),
        ] {
            let client = OpenAiClient::new(config).expect("client");
            assert!(client.headers.get(AUTHORIZATION).is_none());
        }
    }

    #[test]
    fn the_environment_names_key_and_server() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            OpenAiConfig::from_lookup(move |name| {
                pairs
                    .iter()
                    .find(|(n, _)| *n == name)
                    .map(|(_, v)| v.to_string())
            })
        };
        let c = env(&[]);
        assert_eq!((c.base_url.as_str(), c.api_key), (DEFAULT_BASE_URL, None));
        let c = env(&[("OPENAI_API_KEY", "k2"), ("HIVE_OPENAI_API_KEY", "k1")]);
        assert_eq!(c.api_key.as_deref(), Some("k1"));
        let c = env(&[("OPENAI_API_KEY", "k2"), ("HIVE_OPENAI_API_KEY", " ")]);
        assert_eq!(c.api_key.as_deref(), Some("k2"));
        let c = env(&[
            ("HIVE_OPENAI_BASE_URL", "http://localhost:11434/v1"),
            ("OPENAI_BASE_URL", "http://other/v1"),
        ]);
        assert_eq!(c.base_url, "http://localhost:11434/v1");
        let c = env(&[("OPENAI_BASE_URL", "http://other/v1")]);
        assert_eq!(c.base_url, "http://other/v1");
    }

    #[test]
    fn bad_base_urls_are_named() {
        let check = |url: &str, expected: &str| {
            let err = OpenAiClient::new(OpenAiConfig::new(url))
                .expect_err(url)
                .to_string();
            assert!(err.contains(expected), "{url}: {err}");
            assert!(matches!(
                OpenAiClient::new(OpenAiConfig::new(url)),
                Err(Error::InvalidInput(_))
            ));
        };
        check("", "is not a URL");
        check("localhost:8080/v1", "must be an http");
        check("ftp://example.com/v1", "must be an http");
        check(
            "http://user:hunter2@example.com/v1",
            "must not carry credentials",
        );
        check("http://example.com/v1?x=1", "query or fragment");
        let err = OpenAiClient::new(OpenAiConfig::new("http://user:hunter2@example.com/v1"))
            .expect_err("credentials")
            .to_string();
        assert!(!err.contains("hunter2"), "{err}");
        let err = OpenAiClient::new(OpenAiConfig::new("http://h/v1").with_header("bad name", "x"))
            .expect_err("header")
            .to_string();
        assert!(err.contains("header name"), "{err}");
    }

    #[test]
    fn endpoints_join_with_one_slash() {
        for base in ["http://h:1/v1", "http://h:1/v1/"] {
            let client = OpenAiClient::new(OpenAiConfig::new(base)).expect("client");
            for path in ["embeddings", "/embeddings"] {
                assert_eq!(
                    client.endpoint(path).expect("url").as_str(),
                    "http://h:1/v1/embeddings"
                );
            }
        }
    }

    #[test]
    fn retry_after_reads_milliseconds_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_445_412_480); // 2015-10-21 07:28:00 UTC
        let check = |ms: Option<&str>, after: Option<&str>, expected: Option<Duration>| {
            assert_eq!(
                parse_retry_after(ms, after, now),
                expected,
                "{ms:?} {after:?}"
            );
        };
        check(None, None, None);
        check(Some("250"), Some("7"), Some(Duration::from_millis(250)));
        check(Some("1.5"), None, Some(Duration::from_micros(1500)));
        check(None, Some("7"), Some(Duration::from_secs(7)));
        check(None, Some(" 0 "), Some(Duration::ZERO));
        check(None, Some("0.5"), Some(Duration::from_millis(500)));
        check(Some("soon"), Some("2"), Some(Duration::from_secs(2)));
        check(None, Some("-3"), None);
        check(None, Some("NaN"), None);
        check(None, Some("tomorrow"), None);
        check(
            None,
            Some("Wed, 21 Oct 2015 07:28:30 GMT"),
            Some(Duration::from_secs(30)),
        );
        check(
            None,
            Some("Wed, 21 Oct 2015 07:00:00 GMT"),
            Some(Duration::ZERO),
        );
        let mut headers = HeaderMap::new();
        headers.insert("retry-after", HeaderValue::from_static("3"));
        assert_eq!(retry_after(&headers, now), Some(Duration::from_secs(3)));
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let c = OpenAiConfig {
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(20),
            ..OpenAiConfig::default()
        };
        assert_eq!(c.backoff(1, 1.0), Duration::from_millis(500));
        assert_eq!(c.backoff(1, 0.0), Duration::from_millis(250));
        assert_eq!(c.backoff(3, 1.0), Duration::from_secs(2));
        assert_eq!(c.backoff(7, 1.0), Duration::from_secs(20));
        assert_eq!(c.backoff(u32::MAX, 1.0), Duration::from_secs(20));
        for retry in 1..40 {
            for _ in 0..20 {
                let d = c.backoff(retry, rand::random_range(0.0..=1.0));
                let full = (Duration::from_millis(500) * 2u32.pow(retry.min(20) - 1))
                    .min(Duration::from_secs(20));
                assert!(d >= full / 2 && d <= full, "retry {retry}: {d:?}");
            }
        }
    }

    #[test]
    fn statuses_split_into_retryable_and_final() {
        for s in [429, 408, 500, 502, 503, 504, 529] {
            assert!(
                is_retryable(StatusCode::from_u16(s).expect("status")),
                "{s}"
            );
        }
        for s in [400, 401, 403, 404, 409, 413, 422] {
            assert!(
                !is_retryable(StatusCode::from_u16(s).expect("status")),
                "{s}"
            );
        }
    }

    #[test]
    fn server_messages_are_found_in_every_common_shape() {
        let check = |body: &str, expected: Option<&str>| {
            assert_eq!(
                server_message(body.as_bytes()).as_deref(),
                expected,
                "{body}"
            );
        };
        check(
            r#"{"error":{"message":"bad model","type":"x"}}"#,
            Some("bad model"),
        );
        check(
            r#"{"error":"Input validation error","error_type":"Validation"}"#,
            Some("Input validation error"),
        );
        check(
            r#"{"object":"error","message":"vllm says no"}"#,
            Some("vllm says no"),
        );
        check(r#"{"detail":"Not Found"}"#, Some("Not Found"));
        check("", None);
        check("upstream connect error", Some("upstream connect error"));
        let long = "x".repeat(500);
        let quoted = server_message(long.as_bytes()).expect("quoted");
        assert_eq!(quoted.chars().count(), MAX_QUOTED_BODY + 1);
    }
}
