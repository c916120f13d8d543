//! Topic names and subscription patterns, checked once and matched the same
//! way by every broker backend.
//!
//! A topic is a dot-separated path of tokens: `agent.planner.inbox`. A
//! pattern may use two wildcards, as NATS does: `*` stands for exactly one
//! token (`agent.*.inbox`) and `>`, only as the last token, for one or more
//! tokens (`events.>`). Publishing always names a concrete topic; only
//! subscriptions take patterns.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

/// Longest topic or pattern accepted, in bytes.
pub const MAX_TOPIC_LEN: usize = 255;
/// Most tokens in a topic or pattern.
pub const MAX_TOKENS: usize = 32;

/// Checks one token; `wildcards` allows a lone `*` or `>`.
fn check_token(text: &str, token: &str, wildcards: bool) -> Result<()> {
    if token.is_empty() {
        return Err(Error::invalid(format!(
            "topic {text:?} has an empty token (two dots, or a dot at an end)"
        )));
    }
    if wildcards && (token == "*" || token == ">") {
        return Ok(());
    }
    if let Some(bad) = token
        .chars()
        .find(|c| c.is_whitespace() || c.is_control() || matches!(c, '*' | '>'))
    {
        let what = if matches!(bad, '*' | '>') && !wildcards {
            "wildcards are for subscriptions; publish to a concrete topic".to_string()
        } else if matches!(bad, '*' | '>') {
            format!("a wildcard must be a whole token, not part of {token:?}")
        } else {
            format!("{bad:?} is not allowed in a topic")
        };
        return Err(Error::invalid(format!("topic {text:?}: {what}")));
    }
    Ok(())
}

fn check_shape(text: &str) -> Result<()> {
    if text.is_empty() {
        return Err(Error::invalid("topic must not be empty"));
    }
    if text.len() > MAX_TOPIC_LEN {
        return Err(Error::invalid(format!(
            "topic is {} bytes, over the limit of {MAX_TOPIC_LEN}",
            text.len()
        )));
    }
    if text.split('.').count() > MAX_TOKENS {
        return Err(Error::invalid(format!(
            "topic {text:?} has more than {MAX_TOKENS} tokens"
        )));
    }
    Ok(())
}

/// A concrete topic, the target of a publish.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Topic(String);

/// A topic is a string; the schema gives its grammar as a pattern (without
/// the count of tokens, which [`Topic::new`] checks too).
#[cfg(feature = "openapi")]
impl utoipa::PartialSchema for Topic {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        const TOKEN: &str = r"[^\s\x00-\x1F\x7F-\x9F*>.]+";
        utoipa::openapi::ObjectBuilder::new()
            .schema_type(utoipa::openapi::schema::Type::String)
            .pattern(Some(format!("^{TOKEN}(\\.{TOKEN})*$")))
            .max_length(Some(MAX_TOPIC_LEN))
            .description(Some("dot-separated tokens, e.g. `agent.planner.inbox`"))
            .into()
    }
}

#[cfg(feature = "openapi")]
impl utoipa::ToSchema for Topic {}

impl Topic {
    /// Checks and wraps a topic name.
    ///
    /// ```
    /// use hive_core::broker::Topic;
    /// assert!(Topic::new("agent.planner.inbox").is_ok());
    /// assert!(Topic::new("agent.*.inbox").is_err(), "wildcards are for subscriptions");
    /// assert!(Topic::new("a..b").is_err());
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] saying what is wrong.
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        check_shape(&text)?;
        for token in text.split('.') {
            check_token(&text, token, false)?;
        }
        Ok(Topic(text))
    }

    /// The topic as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The inbox topic of an agent: `agent.<name>.inbox`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the name cannot be a topic token.
    pub fn inbox(agent: &str) -> Result<Self> {
        if agent.contains('.') {
            return Err(Error::invalid(format!(
                "agent name {agent:?} must not contain dots"
            )));
        }
        Topic::new(format!("agent.{agent}.inbox"))
    }

    /// The topic every agent hears: [`BROADCAST`].
    pub fn broadcast() -> Self {
        Topic(BROADCAST.to_string())
    }

    /// The dead-letter topic of a subscription: `_hive.dead.<subscription>`.
    /// The broker publishes there; anyone may read or subscribe to it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the name cannot be a topic token.
    pub fn dead_letters(subscription: &str) -> Result<Self> {
        Topic::reserved("dead", subscription)
    }

    /// The private topic through which a subscription receives its replayed
    /// dead letters: `_hive.replay.<subscription>`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the name cannot be a topic token.
    pub fn replay(subscription: &str) -> Result<Self> {
        Topic::reserved("replay", subscription)
    }

    fn reserved(kind: &str, subscription: &str) -> Result<Self> {
        if subscription.contains('.') {
            return Err(Error::invalid(format!(
                "subscription name {subscription:?} must not contain dots"
            )));
        }
        Topic::new(format!("{RESERVED_PREFIX}.{kind}.{subscription}"))
    }

    /// True for the broker's own topics (`_hive.…`), which users may read
    /// but not publish to.
    pub fn is_reserved(&self) -> bool {
        self.tokens().next() == Some(RESERVED_PREFIX)
    }

    /// The topic's tokens.
    pub fn tokens(&self) -> impl Iterator<Item = &str> {
        self.0.split('.')
    }
}

/// The first token of the broker's own topics.
pub const RESERVED_PREFIX: &str = "_hive";

/// The broadcast topic.
pub const BROADCAST: &str = "agents.broadcast";

impl fmt::Display for Topic {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for Topic {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Topic::new(s)
    }
}

impl TryFrom<String> for Topic {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        Topic::new(s)
    }
}

impl From<Topic> for String {
    fn from(t: Topic) -> String {
        t.0
    }
}

/// A subscription pattern: a topic, or a topic with `*` / `>` wildcards.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct TopicPattern(String);

impl TopicPattern {
    /// Checks and wraps a pattern.
    ///
    /// ```
    /// use hive_core::broker::{Topic, TopicPattern};
    /// # fn main() -> hive_core::Result<()> {
    /// let inboxes = TopicPattern::new("agent.*.inbox")?;
    /// assert!(inboxes.matches(&Topic::new("agent.coder.inbox")?));
    /// assert!(!inboxes.matches(&Topic::new("agent.coder.outbox")?));
    /// let events = TopicPattern::new("events.>")?;
    /// assert!(events.matches(&Topic::new("events.task.completed")?));
    /// assert!(!events.matches(&Topic::new("events")?), "`>` needs at least one token");
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`Error::InvalidInput`] saying what is wrong (`>` not last, a
    /// wildcard inside a token, empty tokens…).
    pub fn new(text: impl Into<String>) -> Result<Self> {
        let text = text.into();
        check_shape(&text)?;
        let tokens: Vec<&str> = text.split('.').collect();
        for (i, token) in tokens.iter().enumerate() {
            check_token(&text, token, true)?;
            if *token == ">" && i + 1 != tokens.len() {
                return Err(Error::invalid(format!(
                    "pattern {text:?}: `>` may only be the last token"
                )));
            }
        }
        Ok(TopicPattern(text))
    }

    /// The pattern as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// True when the pattern has no wildcard (it names one topic).
    pub fn is_exact(&self) -> bool {
        self.0.split('.').all(|t| t != "*" && t != ">")
    }

    /// True when `topic` is one of the topics this pattern stands for.
    ///
    /// A wildcard in the first position does not match the broker's own
    /// `_hive.…` topics: a subscription to `>` hears every user topic but
    /// not dead letters; name `_hive` to hear those (`_hive.dead.>`).
    pub fn matches(&self, topic: &Topic) -> bool {
        if topic.is_reserved() && !self.0.starts_with(RESERVED_PREFIX) {
            return false;
        }
        let mut want = self.0.split('.');
        let mut have = topic.tokens();
        loop {
            match (want.next(), have.next()) {
                (Some(">"), Some(_)) => return true,
                (Some("*"), Some(_)) => {}
                (Some(w), Some(h)) if w == h => {}
                (None, None) => return true,
                _ => return false,
            }
        }
    }
}

impl From<Topic> for TopicPattern {
    fn from(t: Topic) -> Self {
        TopicPattern(t.0)
    }
}

impl fmt::Display for TopicPattern {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl FromStr for TopicPattern {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        TopicPattern::new(s)
    }
}

impl TryFrom<String> for TopicPattern {
    type Error = Error;
    fn try_from(s: String) -> Result<Self> {
        TopicPattern::new(s)
    }
}

impl From<TopicPattern> for String {
    fn from(p: TopicPattern) -> String {
        p.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(pattern: &str, topic: &str, expected: bool) {
        let p = TopicPattern::new(pattern).expect("valid pattern");
        let t = Topic::new(topic).expect("valid topic");
        assert_eq!(p.matches(&t), expected, "{pattern} ~ {topic}");
    }

    #[test]
    fn wildcards_match_one_token_or_the_rest() {
        check("agent.*.inbox", "agent.coder.inbox", true);
        check("agent.*.inbox", "agent.coder.outbox", false);
        check("agent.*.inbox", "agent.inbox", false);
        check("agent.*.inbox", "agent.a.b.inbox", false);
        check("events.>", "events.task", true);
        check("events.>", "events.task.completed.now", true);
        check("events.>", "events", false);
        check("events.>", "event.task", false);
        check("*.>", "a.b", true);
        check(">", "anything.at.all", true);
        check("*", "one", true);
        check("*", "one.two", false);
        check("exact.topic", "exact.topic", true);
        check("exact.topic", "exact.topic.more", false);
        check("exact.topic.more", "exact.topic", false);
    }

    #[test]
    fn bad_topics_say_what_is_wrong() {
        let cases = [
            ("", "must not be empty"),
            ("a..b", "empty token"),
            (".a", "empty token"),
            ("a.", "empty token"),
            ("a b", "is not allowed"),
            ("a.\u{7}", "is not allowed"),
            ("agent.*.inbox", "wildcards are for subscriptions"),
            ("events.>", "wildcards are for subscriptions"),
        ];
        for (text, expected) in cases {
            let err = Topic::new(text).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{text:?}: {err:?} should mention {expected:?}"
            );
        }
        assert!(Topic::new("x".repeat(MAX_TOPIC_LEN + 1))
            .unwrap_err()
            .to_string()
            .contains("over the limit"));
        let deep = vec!["t"; MAX_TOKENS + 1].join(".");
        assert!(Topic::new(deep).unwrap_err().to_string().contains("tokens"));
    }

    #[test]
    fn bad_patterns_say_what_is_wrong() {
        let cases = [
            ("events.>.more", "may only be the last token"),
            ("agent.a*.inbox", "must be a whole token"),
            ("agent.>x", "must be a whole token"),
            ("a..*", "empty token"),
            ("", "must not be empty"),
        ];
        for (text, expected) in cases {
            let err = TopicPattern::new(text).unwrap_err().to_string();
            assert!(
                err.contains(expected),
                "{text:?}: {err:?} should mention {expected:?}"
            );
        }
    }

    #[test]
    fn reserved_topics_hide_from_leading_wildcards() {
        let dead = Topic::dead_letters("billing").expect("valid");
        assert_eq!(dead.as_str(), "_hive.dead.billing");
        assert!(dead.is_reserved());
        assert!(!Topic::broadcast().is_reserved());
        assert_eq!(
            Topic::replay("billing").expect("valid").as_str(),
            "_hive.replay.billing"
        );
        assert!(Topic::dead_letters("a.b").is_err());
        check(">", "_hive.dead.billing", false);
        check("*.dead.billing", "_hive.dead.billing", false);
        check("_hive.dead.>", "_hive.dead.billing", true);
        check("_hive.>", "_hive.replay.billing", true);
    }

    #[test]
    fn exact_patterns_and_inboxes() {
        assert!(TopicPattern::new("a.b").expect("valid").is_exact());
        assert!(!TopicPattern::new("a.*").expect("valid").is_exact());
        assert!(!TopicPattern::new("a.>").expect("valid").is_exact());
        let inbox = Topic::inbox("planner").expect("valid");
        assert_eq!(inbox.as_str(), "agent.planner.inbox");
        assert!(TopicPattern::from(inbox.clone()).matches(&inbox));
        assert!(Topic::inbox("a.b").is_err());
        assert!(Topic::inbox("has space").is_err());
    }

    #[test]
    fn text_and_json_round_trip_with_checks() {
        let t: Topic = "a.b".parse().expect("parse");
        assert_eq!(t.to_string(), "a.b");
        assert_eq!(serde_json::to_string(&t).expect("ser"), "\"a.b\"");
        assert!(serde_json::from_str::<Topic>("\"a..b\"").is_err());
        let p: TopicPattern = "a.*".parse().expect("parse");
        assert_eq!(p.to_string(), "a.*");
        assert_eq!(String::from(p.clone()), "a.*");
        assert_eq!(
            serde_json::from_str::<TopicPattern>("\"a.*\"").expect("de"),
            p
        );
        assert!(serde_json::from_str::<TopicPattern>("\"a.>.b\"").is_err());
        assert_eq!(String::from(t), "a.b");
    }
}
