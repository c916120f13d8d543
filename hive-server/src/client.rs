//! A small client of the HTTP API for the `hive` CLI: one method per
//! command, answering the server's JSON or its error message (never a raw
//! HTTP error).

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

impl ApiClient {
    /// A client of the server at `base` (e.g. `http://127.0.0.1:8080`).
    ///
    /// # Errors
    /// When the HTTP client cannot be built.
    pub fn new(base: &str, token: Option<String>) -> Result<Self, ClientError> {
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(60))
            .build()
            .map_err(|e| ClientError(format!("cannot build the HTTP client: {e}")))?;
        Ok(ApiClient {
            base: base.trim_end_matches('/').to_string(),
            token: token.filter(|t| !t.is_empty()),
            http,
        })
    }

    /// `method path` with an optional JSON body; the answer's JSON.
    ///
    /// # Errors
    /// The server's `error.message` (with its status), or a connection
    /// failure naming the server.
    pub async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        body: Option<&Value>,
    ) -> Result<Value, ClientError> {
        let mut req = self.http.request(method, format!("{}{path}", self.base));
        if let Some(t) = &self.token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req.json(b);
        }
        let res = req
            .send()
            .await
            .map_err(|e| ClientError(format!("cannot reach the server at {}: {e}", self.base)))?;
        let status = res.status();
        let value: Value = res.json().await.unwrap_or(Value::Null);
        if status.is_success() {
            Ok(value)
        } else {
            let message = value["error"]["message"]
                .as_str()
                .map_or_else(|| format!("the server answered {status}"), str::to_string);
            Err(ClientError(format!("{message} ({status})")))
        }
    }

    /// GET `path`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn get(&self, path: &str) -> Result<Value, ClientError> {
        self.call(reqwest::Method::GET, path, None).await
    }

    /// POST `body` to `path`.
    ///
    /// # Errors
    /// As [`ApiClient::call`].
    pub async fn post(&self, path: &str, body: &Value) -> Result<Value, ClientError> {
        self.call(reqwest::Method::POST, path, Some(body)).await
    }
}
