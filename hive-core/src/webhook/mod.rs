//! The webhook agent (feature `webhook`): an agent whose work is done by
//! an HTTP endpoint, so a service in any language takes tasks without a
//! long-poll loop of its own — the hive claims, POSTs the task, and the
//! answer completes or fails it.
//!
//! # The exchange
//!
//! `POST <url>` with `content-type: application/json` and the body
//! `{"agent": "<name>", "task": <the task as GET /tasks/{id} shows it>}`,
//! and the headers `x-hive-task-id`, `x-hive-attempt`, `idempotency-key:
//! <task id>/<attempt>` (the same for every retry of one attempt, so an
//! endpoint can drop a repeat), `authorization: Bearer <token>` when a
//! token is configured, and `traceparent` when the task was submitted with
//! one: the same trace id with a fresh parent id per request, as the W3C
//! recommendation asks of each hop ([`crate::trace`]).
//!
//! - **2xx**: the task completes; its result is the response's JSON body
//!   (an empty body is `null`; a body that is not JSON is kept as a
//!   string).
//! - **4xx** other than 408 and 429: the task fails permanently (it is
//!   dead-lettered), with the status and the start of the body (or its
//!   `error` field) as the error.
//! - **408, 429, 5xx, a timeout or a connection error**: the request is
//!   retried within the attempt, up to `max_retries` times with a
//!   doubling pause; then the attempt fails retryably and the queue's own
//!   retry policy takes over.
//!
//! A cancelled task aborts the request in flight.

use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Value};

use crate::agent::{Agent, AgentContext, AgentSpec};
use crate::error::{Error, Result};
use crate::queue::{Task, TaskFailure};
use crate::trace::TraceParent;

/// How much of an error body is quoted in a task's error.
const QUOTED_BODY: usize = 1024;

/// How a webhook agent calls its endpoint. Defaults are documented per
/// field.
#[derive(Clone, PartialEq, Eq)]
pub struct WebhookConfig {
    /// The agent's name (unique among live agents).
    pub name: String,
    /// What tasks it takes (at least one).
    pub capabilities: Vec<String>,
    /// The endpoint: an absolute `http` or `https` URL.
    pub url: String,
    /// How long one request may take, from connecting to the last byte.
    /// Default 60 s.
    pub timeout: Duration,
    /// Retries of one attempt's request after a timeout, a connection error,
    /// a 408, a 429 or a 5xx. Default 3.
    pub max_retries: u32,
    /// The first pause between retries; it doubles each time. Default
    /// 500 ms.
    pub backoff: Duration,
    /// Sent as `authorization: Bearer <token>`. Default none. Never shown
    /// by `Debug`.
    pub bearer_token: Option<String>,
    /// Extra headers sent with every request. Default none.
    pub headers: Vec<(String, String)>,
}

impl WebhookConfig {
    /// The defaults, for an agent `name` with `capabilities` calling `url`.
    pub fn new<I, S>(name: impl Into<String>, capabilities: I, url: impl Into<String>) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        WebhookConfig {
            name: name.into(),
            capabilities: capabilities.into_iter().map(Into::into).collect(),
            url: url.into(),
            timeout: Duration::from_secs(60),
            max_retries: 3,
            backoff: Duration::from_millis(500),
            bearer_token: None,
            headers: Vec::new(),
        }
    }
}

impl std::fmt::Debug for WebhookConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WebhookConfig")
            .field("name", &self.name)
            .field("capabilities", &self.capabilities)
            .field("url", &self.url)
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("backoff", &self.backoff)
            .field(
                "bearer_token",
                &self.bearer_token.as_ref().map(|_| "<redacted>"),
            )
            .field("headers", &self.headers.len())
            .finish()
    }
}

/// An agent that hands each task to an HTTP endpoint (see the module's
/// docs for the exchange).
#[derive(Debug)]
pub struct WebhookAgent {
    config: WebhookConfig,
    client: reqwest::Client,
}

/// What one request came back with.
enum Answer {
    Done(Value),
    Refused(String),
    Transient(String),
}

impl WebhookAgent {
    /// An agent for `config`. Sends nothing yet.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a URL that is not absolute `http(s)`, a
    /// timeout of zero, or a header name or value HTTP does not allow.
    pub fn new(config: WebhookConfig) -> Result<Self> {
        let url = reqwest::Url::parse(&config.url).map_err(|e| {
            Error::invalid(format!(
                "webhook agent {:?}: bad url {:?}: {e}",
                config.name, config.url
            ))
        })?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(Error::invalid(format!(
                "webhook agent {:?}: the url must be http or https, not {:?}",
                config.name,
                url.scheme()
            )));
        }
        if config.timeout.is_zero() {
            return Err(Error::invalid(format!(
                "webhook agent {:?}: the timeout must be above zero",
                config.name
            )));
        }
        let mut headers = reqwest::header::HeaderMap::new();
        for (name, value) in &config.headers {
            let bad = |what: &str| {
                Error::invalid(format!(
                    "webhook agent {:?}: header {name:?} has a bad {what}",
                    config.name
                ))
            };
            let name = reqwest::header::HeaderName::from_bytes(name.as_bytes())
                .map_err(|_| bad("name"))?;
            let value = reqwest::header::HeaderValue::from_str(value).map_err(|_| bad("value"))?;
            headers.insert(name, value);
        }
        let client = reqwest::Client::builder()
            .timeout(config.timeout)
            .default_headers(headers)
            .build()
            .map_err(|e| Error::invalid(format!("webhook agent {:?}: {e}", config.name)))?;
        Ok(WebhookAgent { config, client })
    }

    /// Its configuration.
    pub fn config(&self) -> &WebhookConfig {
        &self.config
    }

    /// One request for `task`.
    async fn call(&self, task: &Task) -> Answer {
        let mut request = self
            .client
            .post(&self.config.url)
            .header("x-hive-task-id", task.id.to_string())
            .header("x-hive-attempt", task.attempts.to_string())
            .header("idempotency-key", format!("{}/{}", task.id, task.attempts))
            .json(&json!({ "agent": self.config.name, "task": task }));
        if let Some(token) = &self.config.bearer_token {
            request = request.bearer_auth(token);
        }
        if let Some(tp) = task
            .traceparent
            .as_deref()
            .and_then(|t| t.parse::<TraceParent>().ok())
        {
            request = request.header("traceparent", tp.child().to_string());
        }
        let response = match request.send().await {
            Ok(r) => r,
            Err(e) if e.is_timeout() => {
                return Answer::Transient(format!("no answer within {:?}", self.config.timeout))
            }
            Err(e) => return Answer::Transient(format!("cannot reach the endpoint: {e}")),
        };
        let status = response.status();
        let body = match response.bytes().await {
            Ok(b) => b,
            Err(e) => return Answer::Transient(format!("the answer broke off: {e}")),
        };
        if status.is_success() {
            let result = if body.iter().all(u8::is_ascii_whitespace) {
                Value::Null
            } else {
                serde_json::from_slice(&body)
                    .unwrap_or_else(|_| Value::String(String::from_utf8_lossy(&body).into_owned()))
            };
            return Answer::Done(result);
        }
        let said = quoted(&body);
        let message = format!("the endpoint answered {status}: {said}");
        if status.is_server_error() || matches!(status.as_u16(), 408 | 429) {
            Answer::Transient(message)
        } else {
            Answer::Refused(message)
        }
    }
}

/// The error a failed answer quotes: the body's `error` (a string, or an
/// object's `message`) when it is JSON, else its start.
fn quoted(body: &[u8]) -> String {
    if let Ok(value) = serde_json::from_slice::<Value>(body) {
        let error = value.get("error");
        if let Some(text) = error
            .and_then(Value::as_str)
            .or_else(|| error.and_then(|e| e.get("message")).and_then(Value::as_str))
        {
            return text.chars().take(QUOTED_BODY).collect();
        }
    }
    let text = String::from_utf8_lossy(body);
    let text = text.trim();
    if text.is_empty() {
        "(no body)".into()
    } else {
        text.chars().take(QUOTED_BODY).collect()
    }
}

#[async_trait]
impl Agent for WebhookAgent {
    fn spec(&self) -> AgentSpec {
        AgentSpec::new(&self.config.name, "http", self.config.capabilities.clone())
            .metadata(json!({ "url": self.config.url }))
    }

    async fn process_task(&self, task: Task, cx: AgentContext) -> Result<Value, TaskFailure> {
        let mut pause = self.config.backoff;
        let mut tries = 0;
        loop {
            let answer = tokio::select! {
                answer = self.call(&task) => answer,
                () = cx.cancelled().cancelled() => {
                    return Err(TaskFailure::retryable("cancelled"));
                }
            };
            match answer {
                Answer::Done(result) => return Ok(result),
                Answer::Refused(message) => return Err(TaskFailure::permanent(message)),
                Answer::Transient(message) if tries >= self.config.max_retries => {
                    return Err(TaskFailure::retryable(format!(
                        "{message} (after {} tries)",
                        tries + 1
                    )));
                }
                Answer::Transient(message) => {
                    tracing::warn!(
                        agent = %self.config.name,
                        task = %task.id,
                        retry_in = ?pause,
                        "webhook: {message}"
                    );
                    tries += 1;
                    tokio::select! {
                        () = tokio::time::sleep(pause) => {}
                        () = cx.cancelled().cancelled() => {
                            return Err(TaskFailure::retryable("cancelled"));
                        }
                    }
                    pause = pause.saturating_mul(2);
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bad_urls_and_headers_are_refused_by_name() {
        let err = WebhookAgent::new(WebhookConfig::new("w", ["x"], "ftp://host/"))
            .expect_err("ftp")
            .to_string();
        assert!(
            err.contains("\"w\"") && err.contains("http or https"),
            "{err}"
        );
        let err = WebhookAgent::new(WebhookConfig::new("w", ["x"], "not a url"))
            .expect_err("no url")
            .to_string();
        assert!(err.contains("bad url"), "{err}");
        let mut config = WebhookConfig::new("w", ["x"], "http://127.0.0.1:1/");
        config.headers.push(("bad header".into(), "v".into()));
        let err = WebhookAgent::new(config).expect_err("header").to_string();
        assert!(err.contains("bad name"), "{err}");
    }

    #[test]
    fn the_token_is_never_shown() {
        let mut config = WebhookConfig::new("w", ["x"], "http://127.0.0.1:1/");
        config.bearer_token = Some("s3cret-token".into());
        assert!(!format!("{config:?}").contains("s3cret-token"));
    }

    #[test]
    fn errors_quote_the_error_field_or_the_body() {
        assert_eq!(quoted(br#"{"error": "no such doc"}"#), "no such doc");
        assert_eq!(
            quoted(br#"{"error": {"message": "rate limited"}}"#),
            "rate limited"
        );
        assert_eq!(quoted(b"  plain text  "), "plain text");
        assert_eq!(quoted(b""), "(no body)");
        assert_eq!(quoted(&[b'x'; 5000]).len(), QUOTED_BODY);
    }
}
