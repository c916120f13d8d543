//! The HTTP path shared by the clients of remote model APIs (the
//! OpenAI-compatible client in [`crate::llm::openai`] and the Anthropic provider
//! in [`crate::llm::anthropic`]): how a failed request is told apart as
//! worth retrying or final, how long to wait before the next attempt, what
//! the error then says, and how the key stays out of logs, `Debug` output
//! and quoted server messages. The settings of that path (time limit,
//! retries, extra headers) are one public struct, [`HttpSettings`], that
//! both clients' configs hold, with its defaults, its checks and its
//! redacted `Debug`. Each client keeps only what its API really does
//! differently (the URL, the key's header, what a refused key means); the
//! rest lives here once, so the two cannot drift apart.

use std::fmt;
use std::future::Future;
use std::time::{Duration, SystemTime};

use reqwest::header::{HeaderMap, HeaderName, HeaderValue, CONTENT_TYPE};
use reqwest::{StatusCode, Url};

use crate::error::{Error, Result};

/// Longest part of a non-JSON error body quoted in an error message.
const MAX_QUOTED_BODY: usize = 200;

/// What replaces a secret wherever one would be shown.
const REDACTED: &str = "<redacted>";

/// How a model client reaches its API over HTTP, whatever the API: the
/// extra headers, the time limit of one attempt, and how often and after
/// how long a failed request is tried again. [`AnthropicConfig`] and
/// [`OpenAiConfig`] each hold one as their `http` field, so both clients
/// read, check and show these settings the same way.
///
/// The defaults (below, with each field) are the OpenAI client's;
/// [`AnthropicConfig::default`] waits longer and retries less often (see
/// [`AnthropicConfig::http`]). To change one setting and keep a config's
/// other defaults, start from that config's `http`:
///
/// ```
/// use std::time::Duration;
/// use hive_core::llm::anthropic::AnthropicConfig;
/// use hive_core::llm::HttpSettings;
///
/// let config = AnthropicConfig {
///     http: HttpSettings {
///         max_retries: 2,
///         ..AnthropicConfig::default().http
///     },
///     ..AnthropicConfig::default()
/// };
/// assert_eq!(config.http.timeout, Duration::from_secs(120));
/// assert_eq!(HttpSettings::default().timeout, Duration::from_secs(60));
/// ```
///
/// `Debug` shows the headers' names, never their values: they may be
/// credentials (an organisation, a gateway's token).
///
/// [`AnthropicConfig`]: crate::llm::anthropic::AnthropicConfig
/// [`AnthropicConfig::default`]: crate::llm::anthropic::AnthropicConfig
/// [`AnthropicConfig::http`]: crate::llm::anthropic::AnthropicConfig::http
/// [`OpenAiConfig`]: crate::llm::openai::OpenAiConfig
#[derive(Clone, PartialEq, Eq)]
pub struct HttpSettings {
    /// Extra headers sent with every request (`OpenAI-Organization`,
    /// `anthropic-beta`, a gateway's routing header, a test id). Their
    /// values are treated like the key: never logged or shown. Default
    /// none.
    pub headers: Vec<(String, String)>,
    /// Limit on one attempt, from connecting to the last byte of the answer.
    /// A streamed answer may take longer as a whole: there the limit bounds
    /// the wait for the answer to start and every silence between two reads
    /// (a long answer that keeps coming is not cut). Default 60 s.
    pub timeout: Duration,
    /// Attempts after the first one for a rate limit (429), a server error
    /// (5xx, 408, Anthropic's overload 529) or a failed connection or
    /// timeout. Default 5.
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

impl Default for HttpSettings {
    fn default() -> Self {
        HttpSettings {
            headers: Vec::new(),
            timeout: Duration::from_secs(60),
            max_retries: 5,
            backoff_base: Duration::from_millis(500),
            backoff_cap: Duration::from_secs(20),
            max_retry_after: Duration::from_secs(60),
        }
    }
}

impl HttpSettings {
    /// Adds a header sent with every request.
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.push((name.into(), value.into()));
        self
    }

    /// The headers every request carries (JSON content and the extras),
    /// once the limits are known to be workable. The extras' values are
    /// marked sensitive, as the key is. `label` names the API in the
    /// messages ("OpenAI").
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a zero timeout, a back-off cap below its
    /// base, or a header that is not valid HTTP (named; its value is not
    /// quoted).
    pub(crate) fn checked_headers(&self, label: &str) -> Result<HeaderMap> {
        if self.timeout.is_zero() {
            return Err(Error::invalid(format!(
                "the {label} request timeout must be above zero"
            )));
        }
        if self.backoff_cap < self.backoff_base {
            return Err(Error::invalid(format!(
                "the {label} backoff_cap must not be below backoff_base"
            )));
        }
        let mut headers = HeaderMap::new();
        headers.insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
        for (name, value) in &self.headers {
            let header = HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| Error::invalid(format!("{name:?} is not a valid HTTP header name")))?;
            let mut value = HeaderValue::from_str(value).map_err(|_| {
                Error::invalid(format!("the value of header {name} is not valid in HTTP"))
            })?;
            value.set_sensitive(true);
            headers.append(header, value);
        }
        Ok(headers)
    }

    /// The delay before retry number `retry` (1-based) when the server
    /// advised none: `min(cap, base · 2^(retry-1))`, then a random point in
    /// its upper half (`sample` in `[0, 1]`), so clients that failed together
    /// do not come back together. Never more than `backoff_cap`.
    pub(crate) fn backoff(&self, retry: u32, sample: f64) -> Duration {
        let doublings = retry.saturating_sub(1).min(30);
        let full = self
            .backoff_base
            .saturating_mul(1u32 << doublings)
            .min(self.backoff_cap);
        full.mul_f64(0.5 + 0.5 * sample.clamp(0.0, 1.0))
    }
}

impl fmt::Debug for HttpSettings {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HttpSettings")
            .field("headers", &RedactedHeaders(&self.headers))
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff_base", &self.backoff_base)
            .field("backoff_cap", &self.backoff_cap)
            .field("max_retry_after", &self.max_retry_after)
            .finish()
    }
}

/// `value` (the key, or a header made of it) as a header value kept out of
/// hyper's logs.
///
/// # Errors
/// [`Error::InvalidInput`] when it cannot be sent in HTTP; the message names
/// the `label`'s API key but never quotes it.
pub(crate) fn key_header(value: &str, label: &str) -> Result<HeaderValue> {
    let mut header = HeaderValue::from_str(value).map_err(|_| {
        Error::invalid(format!(
            "the {label} API key has characters that cannot be sent in HTTP"
        ))
    })?;
    header.set_sensitive(true);
    Ok(header)
}

/// A base URL both clients accept: absolute http(s) with a host, no
/// credentials (they would be logged with the URL; the key has its own
/// header), no query or fragment (paths are appended to it).
///
/// # Errors
/// [`Error::InvalidInput`] saying which of these it breaks.
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

/// The first of `names` that `lookup` (the environment, in tests a table)
/// finds set to something other than blanks: the configs read their
/// `HIVE_`-prefixed variable before the vendor's own, and a variable left
/// empty counts as unset.
pub(crate) fn first_set(lookup: impl Fn(&str) -> Option<String>, names: &[&str]) -> Option<String> {
    names
        .iter()
        .filter_map(|n| lookup(n))
        .find(|v| !v.trim().is_empty())
}

/// A lookup in `pairs`, standing in for the environment in the configs'
/// tests.
#[cfg(test)]
pub(crate) fn table_lookup(
    pairs: &'static [(&'static str, &'static str)],
) -> impl Fn(&str) -> Option<String> {
    move |name| {
        pairs
            .iter()
            .find(|(n, _)| *n == name)
            .map(|(_, v)| v.to_string())
    }
}

/// Shows an optional key as `Some("<redacted>")` or `None` in a config's
/// `Debug`: whether one is set matters when debugging, its value never
/// should be shown.
pub(crate) struct RedactedKey<'a>(pub &'a Option<String>);

impl fmt::Debug for RedactedKey<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.as_ref().map(|_| REDACTED).fmt(f)
    }
}

/// Shows extra headers as `["name: <redacted>", …]` in a config's `Debug`:
/// their names help debugging, their values may be credentials.
struct RedactedHeaders<'a>(&'a [(String, String)]);

impl fmt::Debug for RedactedHeaders<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_list()
            .entries(self.0.iter().map(|(name, _)| format!("{name}: {REDACTED}")))
            .finish()
    }
}

/// `message` with `key` replaced wherever it occurs, for quoting a server
/// that echoes the key.
pub(crate) fn scrub(message: &str, key: Option<&str>) -> String {
    match key.filter(|k| !k.is_empty()) {
        Some(key) => message.replace(key, REDACTED),
        None => message.to_string(),
    }
}

/// Which API a client talks to, as its errors and logs name it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct ApiName {
    /// The `backend` of every [`Error::Backend`] (`"openai"`); also opens
    /// the log line of each retry.
    pub backend: &'static str,
    /// The API in messages about its settings (`"OpenAI"`).
    pub label: &'static str,
}

/// A connection pool to one API with the headers every request carries, the
/// retry settings and the key to cut out of quoted messages. Cheap to
/// clone; clones share the pool.
#[derive(Clone)]
pub(crate) struct HttpApi {
    name: ApiName,
    /// The retry settings, and the timeout: it bounds one attempt where the
    /// caller asks, and is what a timed-out attempt says it waited.
    settings: HttpSettings,
    /// Cut out of every server message quoted in an error.
    key: Option<String>,
    headers: HeaderMap,
    http: reqwest::Client,
}

impl HttpApi {
    /// Finishes `builder` (the caller's time limits, if any) with what every
    /// API client wants: no redirects, since following one could carry the
    /// key to a host nobody configured, and this crate's user agent.
    ///
    /// # Errors
    /// [`Error::Backend`] if the TLS stack cannot start.
    pub(crate) fn new(
        name: ApiName,
        settings: HttpSettings,
        key: Option<String>,
        headers: HeaderMap,
        builder: reqwest::ClientBuilder,
    ) -> Result<Self> {
        let http = builder
            .redirect(reqwest::redirect::Policy::none())
            .user_agent(concat!("agent-hive/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| {
                Error::backend(name.backend, format!("cannot build the HTTP client: {e}"))
            })?;
        Ok(HttpApi {
            name,
            settings,
            key,
            headers,
            http,
        })
    }

    /// The headers every request carries, the key's among them.
    pub(crate) fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// Runs `attempt` until it succeeds, is refused, or the retries are used
    /// up, sleeping between attempts as the server advised or the back-off
    /// says. `path` names the endpoint in the final error and the log.
    ///
    /// # Errors
    /// A refusal as `attempt` gave it; [`Error::Backend`] with the number of
    /// attempts and the last failure when the retries are used up.
    pub(crate) async fn retrying<T, F, Fut>(&self, path: &str, mut attempt: F) -> Result<T>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Outcome<T>>,
    {
        let attempts = self.settings.max_retries.saturating_add(1);
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
                    self.name.backend,
                    format!(
                        "POST {path} failed after {tried} attempt{}; the last: {}",
                        if tried == 1 { "" } else { "s" },
                        failure.describe
                    ),
                ));
            }
            let delay = failure
                .advised
                .map(|d| d.min(self.settings.max_retry_after))
                .unwrap_or_else(|| self.settings.backoff(tried, rand::random_range(0.0..=1.0)));
            tracing::warn!(
                path,
                status = failure.status.map(|s| s.as_u16()),
                attempt = tried,
                attempts,
                delay_ms = delay.as_millis() as u64,
                "{} request failed; retrying",
                self.name.backend
            );
            tokio::time::sleep(delay).await;
        }
    }

    /// One attempt of `POST url` as far as the response's status: a success
    /// is handed back unread, anything else is read and classified. `path`
    /// names the endpoint in errors; `timeout` bounds the whole exchange
    /// when given. A refused key (401, 403) means different things to
    /// different APIs, so `key_refused` words it from the status and what
    /// the server said (`": message"` or empty, the key cut out).
    pub(crate) async fn send(
        &self,
        url: &Url,
        body: &[u8],
        timeout: Option<Duration>,
        path: &str,
        key_refused: impl FnOnce(StatusCode, &str) -> Error,
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
        Outcome::Refused(match status.as_u16() {
            401 | 403 => key_refused(status, &said),
            300..=399 => Error::invalid(format!(
                "POST {path} was redirected ({status}); set base_url to the final address"
            )),
            400..=499 => Error::invalid(format!("POST {path} was refused ({status}){said}")),
            _ => Error::backend(
                self.name.backend,
                format!("POST {path} answered {status}{said}"),
            ),
        })
    }

    /// The body of a successful attempt, read whole; a connection that
    /// fails while reading it is a transient failure like any other.
    pub(crate) async fn read_whole(&self, sent: Outcome<reqwest::Response>) -> Outcome<Vec<u8>> {
        match sent {
            Outcome::Success(response) => match response.bytes().await {
                Ok(bytes) => Outcome::Success(bytes.to_vec()),
                Err(e) => self.transport_failure(&e),
            },
            Outcome::Transient(failure) => Outcome::Transient(failure),
            Outcome::Refused(err) => Outcome::Refused(err),
        }
    }

    /// A failed exchange: timeouts, failed connections and broken bodies
    /// may succeed later; anything else (a request reqwest could not build)
    /// is final.
    pub(crate) fn transport_failure<T>(&self, e: &reqwest::Error) -> Outcome<T> {
        let describe = describe_transport(e, self.settings.timeout);
        if e.is_timeout() || e.is_connect() || e.is_request() || e.is_body() || e.is_decode() {
            Outcome::Transient(Failure {
                status: None,
                advised: None,
                describe,
            })
        } else {
            Outcome::Refused(Error::backend(self.name.backend, describe))
        }
    }

    /// Replaces the key wherever a server message echoes it.
    pub(crate) fn scrub(&self, message: &str) -> String {
        scrub(message, self.key.as_deref())
    }
}

/// How one attempt ended.
pub(crate) enum Outcome<T> {
    Success(T),
    /// Worth another attempt.
    Transient(Failure),
    /// Final: retrying cannot help.
    Refused(Error),
}

/// Why an attempt that is worth repeating failed.
pub(crate) struct Failure {
    status: Option<StatusCode>,
    /// The server's advice on when to come back.
    advised: Option<Duration>,
    describe: String,
}

impl Failure {
    /// No response within `timeout`, in the words a transport timeout uses.
    pub(crate) fn timed_out(timeout: Duration) -> Self {
        Failure {
            status: None,
            advised: None,
            describe: format!("timed out after {timeout:?}"),
        }
    }
}

/// A transport error in words. reqwest's messages name the URL, never
/// headers; the base URL holds no credentials (refused by
/// [`parse_base_url`]).
pub(crate) fn describe_transport(e: &reqwest::Error, timeout: Duration) -> String {
    if e.is_timeout() {
        format!("timed out after {timeout:?}")
    } else if e.is_connect() {
        format!("could not connect: {}", error_chain(e))
    } else {
        format!("the connection failed: {}", error_chain(e))
    }
}

/// Rate limits, server errors and request timeouts may succeed later.
pub(crate) fn is_retryable(status: StatusCode) -> bool {
    status == StatusCode::TOO_MANY_REQUESTS
        || status == StatusCode::REQUEST_TIMEOUT
        || status.is_server_error()
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

/// The error text of an answer: OpenAI's and Anthropic's
/// `{"error":{"message":…}}`, TEI's `{"error":"…"}`, vLLM's
/// `{"message":…}`, else the start of the body.
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

    fn settings(base: Duration, cap: Duration) -> HttpSettings {
        HttpSettings {
            headers: Vec::new(),
            timeout: Duration::from_secs(1),
            max_retries: 5,
            backoff_base: base,
            backoff_cap: cap,
            max_retry_after: Duration::from_secs(60),
        }
    }

    #[test]
    fn backoff_doubles_up_to_the_cap_with_jitter_in_the_upper_half() {
        let c = settings(Duration::from_millis(500), Duration::from_secs(20));
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
        let c = settings(Duration::from_millis(500), Duration::from_secs(4));
        assert_eq!(c.backoff(9, 1.0), Duration::from_secs(4));
        assert_eq!(c.backoff(u32::MAX, 0.0), Duration::from_secs(2));
    }

    #[test]
    fn limits_no_client_can_work_with_are_named() {
        let ok = settings(Duration::from_secs(1), Duration::from_secs(2));
        assert!(ok.checked_headers("X").is_ok());
        let zero = HttpSettings {
            timeout: Duration::ZERO,
            ..ok.clone()
        };
        let err = zero.checked_headers("X").expect_err("zero timeout");
        assert!(
            matches!(&err, Error::InvalidInput(m) if m == "the X request timeout must be above zero"),
            "{err:?}"
        );
        let inverted = settings(Duration::from_secs(2), Duration::from_secs(1));
        let err = inverted.checked_headers("X").expect_err("cap < base");
        assert!(
            matches!(&err, Error::InvalidInput(m) if m == "the X backoff_cap must not be below backoff_base"),
            "{err:?}"
        );
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_messages() {
        let key = Some("sk-secret".to_string());
        assert_eq!(format!("{:?}", RedactedKey(&key)), r#"Some("<redacted>")"#);
        assert_eq!(format!("{:?}", RedactedKey(&None)), "None");
        let headers = [("X-Org".to_string(), "org-secret".to_string())];
        assert_eq!(
            format!("{:?}", RedactedHeaders(&headers)),
            r#"["X-Org: <redacted>"]"#
        );
        let shown = format!(
            "{:?}",
            HttpSettings::default().with_header("X-Org", "org-secret")
        );
        assert!(
            shown.contains(r#"headers: ["X-Org: <redacted>"]"#),
            "{shown}"
        );
        assert!(!shown.contains("org-secret"), "{shown}");
        let headers = HttpSettings::default()
            .with_header("X-Org", "org-secret")
            .checked_headers("X")
            .expect("valid");
        assert!(headers["x-org"].is_sensitive(), "kept out of hyper's logs");
        assert_eq!(headers[CONTENT_TYPE], "application/json");
        assert_eq!(
            scrub("bad key sk-secret.", Some("sk-secret")),
            "bad key <redacted>."
        );
        assert_eq!(scrub("bad key.", Some("")), "bad key.");
        assert_eq!(scrub("bad key.", None), "bad key.");
        let value = key_header("Bearer sk-secret", "X").expect("valid");
        assert!(value.is_sensitive());
        let err = key_header("sk-\nnewline", "X").expect_err("newline");
        assert!(err.to_string().contains("X API key"), "{err}");
        assert!(!err.to_string().contains("newline"), "{err}");
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
