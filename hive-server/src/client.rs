//! A small client of the HTTP API for the `hive` CLI: one call per request,
//! answering the server's JSON (and its text, so `--json` can print exactly
//! what the server sent) or an error that says what to do — the server's
//! own message, or, when it cannot be reached, whether `hive serve` runs
//! there. Never a raw HTTP error.

use std::time::Duration;

use serde_json::Value;

/// Where the server is and how to authenticate.
#[derive(Clone)]
pub struct ApiClient {
    base: String,
    token: Option<String>,
    http: reqwest::Client,
}

impl std::fmt::Debug for ApiClient {
    // Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApiClient")
            .field("base", &self.base)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .finish()
    }
}

/// A failed call: the server's error message, or why it could not be
/// reached.
#[derive(Debug)]
pub struct ClientError(pub String);

impl std::fmt::Display for ClientError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for ClientError {}

/// A successful answer: the body parsed, and as the server wrote it.
#[derive(Debug, Clone)]
pub struct Reply {
    /// The body as JSON (`null` for an empty body).
    pub value: Value,
    /// The body's text, byte for byte.
    pub text: String,
}

/// The server's base URL from what a user typed: `http://` or `https://`
/// URLs as they are; text without a scheme (`localhost:8080`,
/// `10.0.0.5:8080`) is taken as `http://`. Any trailing `/` is dropped.
///
/// # Errors
/// Another scheme (`ftp://…`), or text that is no URL with a host.
pub fn server_url(given: &str) -> Result<String, ClientError> {
    let given = given.trim();
    let with_scheme = if given.contains("://") {
        given.to_string()
    } else {
        format!("http://{given}")
    };
    let url = reqwest::Url::parse(&with_scheme).map_err(|e| {
        ClientError(format!(
            "--server {given:?} is not a server URL ({e}): give http://host:port, e.g. http://127.0.0.1:8080"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(ClientError(format!(
            "--server {given:?} has the scheme {:?}: the server speaks http:// or https://",
            url.scheme()
        )));
    }
    if url.host_str().is_none_or(str::is_empty) {
        return Err(ClientError(format!(
            "--server {given:?} names no host: give http://host:port, e.g. http://127.0.0.1:8080"
        )));
    }
    Ok(with_scheme.trim_end_matches('/').to_string())
}

impl ApiClient {
    /// A client of the server at `base`, as [`server_url`] reads it (e.g.
    /// `http://127.0.0.1:8080`, or `localhost:8080`).
    ///
    /// # Errors
    /// A `base` that [`server_url`] refuses, or an HTTP client that cannot
    /// be built.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, ClientError> {
        let base = server_url(base)?;
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .connect_timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| ClientError(format!("cannot build the HTTP client: {e}")))?;
        Ok(ApiClient {
            base,
            token: token.filter(|t| !t.is_empty()),
            http,
        })
    }

    /// The server's base URL.
    pub fn base(&self) -> &str {
        &self.base
    }

    /// `method path` with an optional JSON body; the answer.
    ///
    /// # Errors
    /// The server's `error.message` (with its status), or a connection
    /// failure asking whether `hive serve` runs at the address.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Reply, ClientError> {
        self.call_with(method, path, body, &[]).await
    }

    /// As [`ApiClient::call`], with extra request headers.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn call_with(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Result<Reply, ClientError> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        for (name, value) in headers {
            req = req.header(*name, *value);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req.send().await.map_err(|e| self.unreachable(&e))?;
        let status = res.status();
        let text = res
            .text()
            .await
            .map_err(|e| ClientError(format!("the answer from {} broke off: {e}", self.base)))?;
        let value: Value = if text.trim().is_empty() {
            Value::Null
        } else {
            serde_json::from_str(&text).unwrap_or(Value::Null)
        };
        if status.is_success() {
            Ok(Reply { value, text })
        } else {
            let message = value["error"]["message"]
                .as_str()
                .map_or_else(|| format!("the server answered {status}"), str::to_string);
            Err(ClientError(format!("{message} ({status})")))
        }
    }

    /// Why a request got no answer, in words a user can act on.
    fn unreachable(&self, e: &reqwest::Error) -> ClientError {
        // reqwest's own message is only "error sending request"; the cause
        // (connection refused, no such host, …) is further down.
        let mut cause = String::new();
        let mut source = std::error::Error::source(e);
        while let Some(s) = source {
            cause = s.to_string();
            source = s.source();
        }
        if cause.is_empty() {
            cause = e.to_string();
        }
        if e.is_timeout() {
            ClientError(format!(
                "the server at {} did not answer in time ({cause})",
                self.base
            ))
        } else {
            ClientError(format!(
                "cannot reach the server at {base}: is `hive serve` running at {base}? ({cause})",
                base = self.base
            ))
        }
    }

    /// GET `path`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn get(&self, path: &str) -> Result<Reply, ClientError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// POST `body` to `path`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn post(&self, path: &str, body: &Value) -> Result<Reply, ClientError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }

    /// PUT `body` to `path`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn put(&self, path: &str, body: &Value) -> Result<Reply, ClientError> {
        self.call(reqwest::Method::PUT, path, Some(body)).await
    }

    /// DELETE `path`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn delete(&self, path: &str) -> Result<Reply, ClientError> {
        self.call(reqwest::Method::DELETE, path, None).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_server_url_without_a_scheme_is_http() {
        for (given, want) in [
            ("http://127.0.0.1:8080", "http://127.0.0.1:8080"),
            ("https://hive.example/", "https://hive.example"),
            ("localhost:9000", "http://localhost:9000"),
            ("10.0.0.5:8080/", "http://10.0.0.5:8080"),
        ] {
            assert_eq!(server_url(given).expect(given), want);
        }
        for (given, why) in [
            ("ftp://hive.example", "scheme"),
            ("http://", "not a server URL"),
            ("", "not a server URL"),
        ] {
            let err = server_url(given).expect_err(given).to_string();
            assert!(err.contains(why), "{given}: {err}");
        }
    }
}
