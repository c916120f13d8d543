//! The message: what the broker stores, routes and delivers.

use std::collections::BTreeMap;
use std::fmt;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::topic::Topic;
use crate::error::{Error, Result};

/// Default largest message (payload and headers, as JSON): 1 MiB.
pub const DEFAULT_MAX_MESSAGE_BYTES: usize = 1024 * 1024;

/// A message's identity: a UUID (version 7, so ids sort by creation time).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct MessageId(pub Uuid);

impl MessageId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        MessageId(Uuid::now_v7())
    }
}

impl Default for MessageId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for MessageId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// One message. Build with [`Message::new`] or [`Message::direct`] and the
/// chained setters.
///
/// ```
/// use hive_core::broker::Message;
/// use serde_json::json;
///
/// # fn main() -> hive_core::Result<()> {
/// let m = Message::direct("reviewer", "review.request", json!({"pr": 17}))?
///     .from_agent("coder")
///     .header("trace", "abc");
/// assert_eq!(m.topic.as_str(), "agent.reviewer.inbox");
/// assert_eq!(m.to.as_deref(), Some("reviewer"));
/// # Ok(()) }
/// ```
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// Identity.
    pub id: MessageId,
    /// Where it is published.
    pub topic: Topic,
    /// The sending agent, if an agent sent it.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub from: Option<String>,
    /// The addressed agent, for direct messages.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub to: Option<String>,
    /// What kind of message this is; receivers dispatch on it.
    pub kind: String,
    /// The content.
    pub payload: serde_json::Value,
    /// Free-form metadata (trace ids, content types…).
    pub headers: BTreeMap<String, String>,
    /// Ties a message to a conversation or to the request it answers.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub correlation_id: Option<Uuid>,
    /// When it was created.
    pub timestamp: DateTime<Utc>,
}

impl Message {
    /// A message of `kind` on `topic`.
    pub fn new(topic: Topic, kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Message {
            id: MessageId::new(),
            topic,
            from: None,
            to: None,
            kind: kind.into(),
            payload,
            headers: BTreeMap::new(),
            correlation_id: None,
            timestamp: Utc::now(),
        }
    }

    /// A direct message to `agent`, published on its inbox topic.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the agent name cannot form a topic.
    pub fn direct(
        agent: &str,
        kind: impl Into<String>,
        payload: serde_json::Value,
    ) -> Result<Self> {
        let mut m = Message::new(Topic::inbox(agent)?, kind, payload);
        m.to = Some(agent.to_string());
        Ok(m)
    }

    /// A message to every agent, on [`Topic::broadcast`].
    pub fn broadcast(kind: impl Into<String>, payload: serde_json::Value) -> Self {
        Message::new(Topic::broadcast(), kind, payload)
    }

    /// Sets the sending agent.
    pub fn from_agent(mut self, agent: impl Into<String>) -> Self {
        self.from = Some(agent.into());
        self
    }

    /// Adds a header.
    pub fn header(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.headers.insert(key.into(), value.into());
        self
    }

    /// Sets the correlation id.
    pub fn correlation(mut self, id: Uuid) -> Self {
        self.correlation_id = Some(id);
        self
    }

    /// Checks what a publish needs beyond a valid topic: a topic that is not
    /// the broker's own (`_hive.…`), a kind, and a size within `max_bytes`
    /// (payload and headers as JSON). Returns the payload serialised, so a
    /// backend serialises once.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the problem.
    pub fn check(&self, max_bytes: usize) -> Result<String> {
        if self.topic.is_reserved() {
            return Err(Error::invalid(format!(
                "topic {} is reserved for the broker's own use (`_hive.…`); publish to a topic of your own",
                self.topic
            )));
        }
        if self.kind.trim().is_empty() {
            return Err(Error::invalid("message kind must not be empty"));
        }
        let payload = self.payload.to_string();
        let headers: usize = self.headers.iter().map(|(k, v)| k.len() + v.len()).sum();
        let size = payload.len() + headers;
        if size > max_bytes {
            return Err(Error::invalid(format!(
                "message {} is {size} bytes, over the limit of {max_bytes} bytes",
                self.id
            )));
        }
        Ok(payload)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn builders_set_every_field() {
        let corr = Uuid::new_v4();
        let m = Message::new(
            Topic::new("events.task").expect("topic"),
            "created",
            json!({"id": 1}),
        )
        .from_agent("orchestrator")
        .header("a", "1")
        .correlation(corr);
        assert_eq!(m.kind, "created");
        assert_eq!(m.from.as_deref(), Some("orchestrator"));
        assert_eq!(m.to, None);
        assert_eq!(m.headers.get("a").map(String::as_str), Some("1"));
        assert_eq!(m.correlation_id, Some(corr));
        assert!(m.timestamp <= Utc::now());
        assert!(
            MessageId::new() < MessageId::default(),
            "ids sort by creation"
        );
        assert!(Message::direct("a.b", "k", json!(null)).is_err());
    }

    #[test]
    fn check_refuses_empty_kinds_and_oversized_messages() {
        let topic = Topic::new("t").expect("topic");
        let ok = Message::new(topic.clone(), "k", json!({"x": 1}));
        assert_eq!(
            ok.check(DEFAULT_MAX_MESSAGE_BYTES).expect("fits"),
            "{\"x\":1}"
        );
        let err = Message::new(topic.clone(), " ", json!(1))
            .check(100)
            .unwrap_err()
            .to_string();
        assert!(err.contains("kind must not be empty"), "{err}");
        let big = Message::new(topic.clone(), "k", json!("x".repeat(200)));
        assert!(big
            .check(100)
            .unwrap_err()
            .to_string()
            .contains("over the limit of 100 bytes"));
        let heavy = Message::new(topic, "k", json!(1)).header("h", "v".repeat(200));
        assert!(heavy.check(100).is_err(), "headers count toward the limit");
        let own = Message::new(Topic::dead_letters("s").expect("topic"), "k", json!(1));
        assert!(own.check(100).unwrap_err().to_string().contains("reserved"));
    }

    #[test]
    fn messages_round_trip_through_json() {
        let m = Message::direct("coder", "hello", json!({"n": [1, 2]}))
            .expect("direct")
            .header("k", "v");
        let back: Message =
            serde_json::from_value(serde_json::to_value(&m).expect("ser")).expect("de");
        assert_eq!(back, m);
        let mut bad = serde_json::to_value(&m).expect("ser");
        bad["topic"] = json!("agent.*.inbox");
        assert!(
            serde_json::from_value::<Message>(bad).is_err(),
            "a stored topic is checked again"
        );
    }
}
