//! The one HTTP path to an OpenAI-compatible server: where it is, how the
//! key travels, and when a failed request is tried again. The embedder, the
//! chat client and the LLM provider only build bodies and read answers;
//! every status code, back-off, time limit and error text is decided here
//! (on top of the retry loop and failure classification shared with the
//! Anthropic provider in [`crate::llm::transport`]), so they cannot drift apart.

use std::fmt;
use std::time::Duration;

use eventsource_stream::{EventStreamError, Eventsource};
use futures::stream::{BoxStream, StreamExt};
use reqwest::header::AUTHORIZATION;
use reqwest::Url;
use serde::de::DeserializeOwned;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::llm::transport::{
    self, error_chain, parse_base_url, ApiName, Failure, HttpApi, Outcome, RedactedKey,
};
use crate::llm::HttpSettings;

/// The `backend` named by every [`Error::Backend`] this module returns.
pub(crate) const BACKEND: &str = "openai";

/// How errors and logs name this API.
const API: ApiName = ApiName {
    backend: BACKEND,
    label: "OpenAI",
};

/// OpenAI's own API; Ollama, vLLM, TEI, LiteLLM and the like are other base
/// URLs (e.g. `http://localhost:11434/v1` for Ollama).
pub const DEFAULT_BASE_URL: &str = "https://api.openai.com/v1";

/// The host of [`DEFAULT_BASE_URL`]: the one server known to need a key.
const OPENAI_HOST: &str = "api.openai.com";

/// Where an OpenAI-compatible server is and how to talk to it.
///
/// Build it with [`OpenAiConfig::new`] or [`OpenAiConfig::from_env`], then
/// change fields directly (the time limit and retries are in
/// [`http`](Self::http)) or with the `with_*` methods. The key is never
/// logged and never shown: `Debug` prints `api_key: Some("<redacted>")`, and
/// error messages replace it wherever a server echoes it.
///
/// ```
/// use std::time::Duration;
/// use hive_core::llm::openai::OpenAiConfig;
///
/// let mut config = OpenAiConfig::new("http://localhost:11434/v1").with_api_key("sk-not-shown");
/// config.http.max_retries = 2;
/// assert_eq!(config.http.timeout, Duration::from_secs(60));
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
    /// Extra headers (`OpenAI-Organization`, a gateway's routing header, a
    /// test id), the time limit and the retries. Default
    /// [`HttpSettings::default`]: no headers, `timeout` 60 s, `max_retries`
    /// 5, `backoff_base` 500 ms, `backoff_cap` 20 s, `max_retry_after` 60 s.
    pub http: HttpSettings,
}

impl Default for OpenAiConfig {
    fn default() -> Self {
        OpenAiConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key: None,
            http: HttpSettings::default(),
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
        let first = |names: &[&str]| transport::first_set(&lookup, names);
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

    /// Adds a header sent with every request (to [`http`](Self::http)).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.http = self.http.with_header(name, value);
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
}

impl fmt::Debug for OpenAiConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("OpenAiConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &RedactedKey(&self.api_key))
            .field("http", &self.http)
            .finish()
    }
}

/// A connection pool to one OpenAI-compatible server, with the retry policy
/// of its [`OpenAiConfig`]. Cheap to clone; clones share the pool.
#[derive(Clone)]
pub struct OpenAiClient {
    config: OpenAiConfig,
    base: Url,
    api: HttpApi,
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
        let mut headers = config.http.checked_headers(API.label)?;
        if let Some(key) = config.api_key.as_deref().filter(|k| !k.is_empty()) {
            headers.insert(
                AUTHORIZATION,
                transport::key_header(&format!("Bearer {key}"), API.label)?,
            );
        }
        // No client-wide timeout: a whole answer is bounded per request in
        // `post_json`, while a stream is bounded per silence in `post_sse`.
        let api = HttpApi::new(
            API,
            config.http.clone(),
            config.api_key.clone(),
            headers,
            reqwest::Client::builder(),
        )?;
        Ok(OpenAiClient { config, base, api })
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
            .api
            .retrying(path, || async {
                let sent = self
                    .respond(&url, &body, Some(self.config.http.timeout))
                    .await;
                self.api.read_whole(sent).await
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
    /// wait [`HttpSettings::timeout`] for the response. Once the stream has
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
        let timeout = self.config.http.timeout;
        let response = self
            .api
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
        // A refusal with a key sent means the key is wrong; without one, a
        // local server turned out to want one after all.
        let keyed = self.api.headers().contains_key(AUTHORIZATION);
        let host = self.base.host_str().unwrap_or("the server");
        self.api
            .send(url, body, timeout, url.path(), |status, said| {
                if keyed {
                    Error::invalid(format!(
                        "the API key was refused by {host} ({status}){said}"
                    ))
                } else {
                    Error::invalid(format!(
                        "{host} wants an API key and none is set ({status}){said}"
                    ))
                }
            })
            .await
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let c = OpenAiConfig::default();
        assert_eq!(c.base_url, "https://api.openai.com/v1");
        assert_eq!(c.api_key, None);
        assert_eq!(c.http.timeout, Duration::from_secs(60));
        assert_eq!(c.http.max_retries, 5);
        assert_eq!(c.http.backoff_base, Duration::from_millis(500));
        assert_eq!(c.http.backoff_cap, Duration::from_secs(20));
        assert_eq!(c.http.max_retry_after, Duration::from_secs(60));
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
        let auth = client
            .api
            .headers()
            .get(AUTHORIZATION)
            .expect("authorization");
        assert_eq!(auth, "Bearer sk-very-secret");
        assert!(auth.is_sensitive(), "kept out of hyper's logs");
        let shown = format!("{client:?}");
        assert!(!shown.contains("sk-very-secret"), "{shown}");
        assert!(!shown.contains("org-secret"), "{shown}");
        assert_eq!(
            client
                .api
                .scrub("Incorrect API key provided: sk-very-secret."),
            "Incorrect API key provided: <redacted>."
        );
        let keyless = format!("{:?}", OpenAiConfig::default());
        assert!(keyless.contains("api_key: None"), "{keyless}");
        for config in [
            OpenAiConfig::new("http://h/v1"),
            OpenAiConfig::new("http://h/v1").with_api_key(""),
        ] {
            let client = OpenAiClient::new(config).expect("client");
            assert!(client.api.headers().get(AUTHORIZATION).is_none());
        }
    }

    #[test]
    fn the_environment_names_key_and_server() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            OpenAiConfig::from_lookup(transport::table_lookup(pairs))
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
}
