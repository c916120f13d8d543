//! Where the Anthropic API is and how to talk to it: the key, the model, the
//! API version, the HTTP settings (time limit, retries, extra headers: the
//! shared [`HttpSettings`], with Anthropic's defaults) and prices, each with
//! its default written where it is defined, so a provider is one struct
//! literal away.

use std::fmt;
use std::time::Duration;

use crate::llm::transport::{self, RedactedKey};
use crate::llm::{HttpSettings, Pricing};

/// Anthropic's own API. A gateway or a mock is another root; the client
/// appends `/v1/messages`.
pub const DEFAULT_BASE_URL: &str = "https://api.anthropic.com";

/// The model used when neither the config nor the request names one.
pub const DEFAULT_MODEL: &str = "claude-sonnet-4-20250514";

/// The `anthropic-version` header: the wire format this client speaks.
pub const DEFAULT_API_VERSION: &str = "2023-06-01";

/// How to reach the Anthropic Messages API.
///
/// Build it with [`AnthropicConfig::from_env`] or
/// `AnthropicConfig::default().with_api_key(…)`, then change fields directly
/// (the time limit and retries are in [`http`](Self::http)).
/// The key is never logged and never shown: `Debug` prints
/// `api_key: Some("<redacted>")`, and error messages replace it wherever the
/// server echoes it.
///
/// ```
/// use std::time::Duration;
/// use hive_core::llm::anthropic::AnthropicConfig;
///
/// let mut config = AnthropicConfig::default().with_api_key("sk-ant-not-shown");
/// config.http.max_retries = 2;
/// assert_eq!(config.http.timeout, Duration::from_secs(120));
/// assert_eq!(config.model, "claude-sonnet-4-20250514");
/// assert!(!format!("{config:?}").contains("sk-ant-not-shown"));
/// ```
#[derive(Clone)]
pub struct AnthropicConfig {
    /// The API root that `/v1/messages` is appended to, without the version
    /// segment. Default [`DEFAULT_BASE_URL`].
    pub base_url: String,
    /// Sent as `x-api-key`. Required: a provider without one is refused at
    /// construction. Default none (see [`AnthropicConfig::from_env`]).
    pub api_key: Option<String>,
    /// The model of requests that name none. Default [`DEFAULT_MODEL`].
    pub model: String,
    /// The `anthropic-version` header. Default [`DEFAULT_API_VERSION`].
    pub anthropic_version: String,
    /// Extra headers (`anthropic-beta`, a gateway's routing header, a test
    /// id), the time limit and the retries. `timeout` bounds one attempt of
    /// [`complete`](crate::llm::LlmProvider::complete), from connecting to
    /// the last byte; for [`stream`](crate::llm::LlmProvider::stream), the
    /// longest silence. Defaults: no headers, `timeout` 120 s,
    /// `max_retries` 4, `backoff_base` 1 s, `backoff_cap` 30 s,
    /// `max_retry_after` 60 s (the first four differ from
    /// [`HttpSettings::default`]).
    pub http: HttpSettings,
    /// Prices for [`LlmResponse::cost_usd`](crate::llm::LlmResponse::cost_usd).
    /// Default [`Pricing::list_prices`].
    pub pricing: Pricing,
}

impl Default for AnthropicConfig {
    fn default() -> Self {
        AnthropicConfig {
            base_url: DEFAULT_BASE_URL.to_string(),
            api_key: None,
            model: DEFAULT_MODEL.to_string(),
            anthropic_version: DEFAULT_API_VERSION.to_string(),
            http: HttpSettings {
                timeout: Duration::from_secs(120),
                max_retries: 4,
                backoff_base: Duration::from_secs(1),
                backoff_cap: Duration::from_secs(30),
                ..HttpSettings::default()
            },
            pricing: Pricing::list_prices(),
        }
    }
}

impl AnthropicConfig {
    /// The defaults, with the key from `HIVE_ANTHROPIC_API_KEY` (else
    /// `ANTHROPIC_API_KEY`) and the root from `HIVE_ANTHROPIC_BASE_URL`
    /// (else `ANTHROPIC_BASE_URL`, else [`DEFAULT_BASE_URL`]). Empty
    /// variables count as unset; a missing key is reported by
    /// [`AnthropicProvider::new`](super::AnthropicProvider::new).
    pub fn from_env() -> Self {
        Self::from_lookup(|name| std::env::var(name).ok())
    }

    pub(super) fn from_lookup(lookup: impl Fn(&str) -> Option<String>) -> Self {
        let first = |names: &[&str]| transport::first_set(&lookup, names);
        AnthropicConfig {
            base_url: first(&["HIVE_ANTHROPIC_BASE_URL", "ANTHROPIC_BASE_URL"])
                .unwrap_or_else(|| DEFAULT_BASE_URL.to_string()),
            api_key: first(&["HIVE_ANTHROPIC_API_KEY", "ANTHROPIC_API_KEY"]),
            ..AnthropicConfig::default()
        }
    }

    /// Sets the API key.
    pub fn with_api_key(mut self, key: impl Into<String>) -> Self {
        self.api_key = Some(key.into());
        self
    }

    /// Sets the default model.
    pub fn with_model(mut self, model: impl Into<String>) -> Self {
        self.model = model.into();
        self
    }

    /// Adds a header sent with every request (to [`http`](Self::http)).
    pub fn with_header(mut self, name: impl Into<String>, value: impl Into<String>) -> Self {
        self.http = self.http.with_header(name, value);
        self
    }
}

impl fmt::Debug for AnthropicConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("AnthropicConfig")
            .field("base_url", &self.base_url)
            .field("api_key", &RedactedKey(&self.api_key))
            .field("model", &self.model)
            .field("anthropic_version", &self.anthropic_version)
            .field("http", &self.http)
            // The prices are left out: a long table that says nothing about
            // how the API is reached.
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_the_documented_values() {
        let c = AnthropicConfig::default();
        assert_eq!(c.base_url, "https://api.anthropic.com");
        assert_eq!(c.api_key, None);
        assert_eq!(c.model, "claude-sonnet-4-20250514");
        assert_eq!(c.anthropic_version, "2023-06-01");
        assert_eq!(c.http.timeout, Duration::from_secs(120));
        assert_eq!(c.http.max_retries, 4);
        assert_eq!(c.http.backoff_base, Duration::from_secs(1));
        assert_eq!(c.http.backoff_cap, Duration::from_secs(30));
        assert_eq!(c.http.max_retry_after, Duration::from_secs(60));
        assert_eq!(c.pricing, Pricing::list_prices());
    }

    #[test]
    fn the_environment_names_key_and_root() {
        let env = |pairs: &'static [(&'static str, &'static str)]| {
            AnthropicConfig::from_lookup(transport::table_lookup(pairs))
        };
        let c = env(&[]);
        assert_eq!((c.base_url.as_str(), c.api_key), (DEFAULT_BASE_URL, None));
        let c = env(&[
            ("ANTHROPIC_API_KEY", "k2"),
            ("HIVE_ANTHROPIC_API_KEY", "k1"),
        ]);
        assert_eq!(c.api_key.as_deref(), Some("k1"));
        let c = env(&[("ANTHROPIC_API_KEY", "k2"), ("HIVE_ANTHROPIC_API_KEY", " ")]);
        assert_eq!(c.api_key.as_deref(), Some("k2"));
        let c = env(&[("ANTHROPIC_BASE_URL", "http://gateway:8080")]);
        assert_eq!(c.base_url, "http://gateway:8080");
    }

    #[test]
    fn debug_never_shows_the_key_or_header_values() {
        let c = AnthropicConfig::default()
            .with_api_key("sk-ant-very-secret")
            .with_header("anthropic-beta", "beta-secret");
        let shown = format!("{c:?}");
        assert!(shown.contains(r#"api_key: Some("<redacted>")"#), "{shown}");
        assert!(shown.contains("anthropic-beta: <redacted>"), "{shown}");
        assert!(!shown.contains("sk-ant-very-secret") && !shown.contains("beta-secret"));
    }
}
