//! Durable subscriptions and what flows through them: positions in a topic,
//! deliveries, receipts and dead letters.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::message::{Message, MessageId};
use super::topic::{Topic, TopicPattern};
use crate::error::{Error, Result};

/// Longest subscription (and consumer) name, in bytes.
pub const MAX_SUBSCRIPTION_NAME_LEN: usize = 128;
/// Most messages one fetch may return.
pub const MAX_FETCH: usize = 1000;

/// A message's position in its topic. Offsets grow in publish order within
/// a topic; they are not dense (retention and the backend leave gaps) and
/// mean nothing across backends.
#[derive(
    Clone, Copy, Debug, Default, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Offset(pub u64);

impl fmt::Display for Offset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What [`Broker::publish_batch`](super::Broker::publish_batch) answers for
/// each message: it is stored, here.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Published {
    /// The message's id.
    pub id: MessageId,
    /// Its topic.
    pub topic: Topic,
    /// Its position in the topic.
    pub offset: Offset,
    /// When the broker stored it (the broker's clock).
    pub published_at: DateTime<Utc>,
}

/// A stored message as history returns it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct StoredMessage {
    /// The message.
    pub message: Message,
    /// Its position in `message.topic`.
    pub offset: Offset,
    /// When the broker stored it.
    pub published_at: DateTime<Utc>,
}

/// Where a new subscription starts, or where [`Broker::seek`](super::Broker::seek)
/// moves one to.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "from", content = "at")]
pub enum StartAt {
    /// Only messages published from now on. The default.
    #[default]
    New,
    /// Everything still retained.
    Beginning,
    /// Messages at this offset or later, in each topic.
    Offset(Offset),
    /// Messages the broker stored at this time or later.
    Time(DateTime<Utc>),
}

/// A durable subscription: a name, the patterns it listens to and how its
/// messages are redelivered.
///
/// ```
/// use std::time::Duration;
/// use hive_core::broker::{StartAt, SubscriptionSpec};
/// # fn main() -> hive_core::Result<()> {
/// let spec = SubscriptionSpec::new("auditor", ["events.>", "agent.*.inbox"])?
///     .start_at(StartAt::Beginning)
///     .ack_timeout(Duration::from_secs(10))
///     .max_deliveries(3);
/// assert_eq!(spec.patterns.len(), 2);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionSpec {
    /// The durable name; reconnecting with it resumes where it left off.
    /// One token: letters, digits, `-` and `_`.
    pub name: String,
    /// What it listens to (at least one).
    pub patterns: Vec<TopicPattern>,
    /// Where it starts when it is created; ignored when it resumes.
    pub start: StartAt,
    /// How long a delivery may stay unacknowledged before it is redelivered.
    /// Default 30 s.
    #[serde(with = "crate::time::millis")]
    pub ack_timeout: Duration,
    /// Deliveries after which an unacknowledged message is dead-lettered.
    /// Default 5.
    pub max_deliveries: u32,
}

/// Default [`SubscriptionSpec::ack_timeout`].
pub const DEFAULT_ACK_TIMEOUT: Duration = Duration::from_secs(30);
/// Default [`SubscriptionSpec::max_deliveries`].
pub const DEFAULT_MAX_DELIVERIES: u32 = 5;

impl SubscriptionSpec {
    /// A subscription named `name` to `patterns`, with the defaults.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad pattern.
    pub fn new<I, S>(name: impl Into<String>, patterns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let patterns = patterns
            .into_iter()
            .map(|p| TopicPattern::new(p.as_ref()))
            .collect::<Result<Vec<_>>>()?;
        Ok(SubscriptionSpec {
            name: name.into(),
            patterns,
            start: StartAt::New,
            ack_timeout: DEFAULT_ACK_TIMEOUT,
            max_deliveries: DEFAULT_MAX_DELIVERIES,
        })
    }

    /// An agent's subscription: its inbox and the broadcast topic, named
    /// after the agent.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the name cannot form a topic.
    pub fn agent(name: &str) -> Result<Self> {
        let inbox = Topic::inbox(name)?;
        Self::new(name, [inbox.as_str(), super::topic::BROADCAST])
    }

    /// Sets where a new subscription starts.
    pub fn start_at(mut self, start: StartAt) -> Self {
        self.start = start;
        self
    }

    /// Sets the ack timeout.
    pub fn ack_timeout(mut self, timeout: Duration) -> Self {
        self.ack_timeout = timeout;
        self
    }

    /// Sets the deliveries after which a message is dead-lettered.
    pub fn max_deliveries(mut self, n: u32) -> Self {
        self.max_deliveries = n;
        self
    }

    /// Checks the name, the patterns and the limits.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the problem.
    pub fn validate(&self) -> Result<()> {
        check_name("subscription", &self.name)?;
        if self.patterns.is_empty() {
            return Err(Error::invalid(format!(
                "subscription {:?} needs at least one topic pattern",
                self.name
            )));
        }
        if self.ack_timeout < Duration::from_millis(10) {
            return Err(Error::invalid("ack timeout must be at least 10 ms"));
        }
        if self.max_deliveries == 0 {
            return Err(Error::invalid("max deliveries must be at least 1"));
        }
        Ok(())
    }

    /// The patterns sorted and without repeats: two specs listen to the same
    /// topics when these are equal.
    pub fn pattern_set(&self) -> Vec<TopicPattern> {
        let mut set = self.patterns.clone();
        set.sort();
        set.dedup();
        set
    }
}

/// Checks a subscription or consumer name: one topic token, no wildcard.
///
/// # Errors
/// [`Error::InvalidInput`] naming the problem.
pub fn check_name(what: &str, name: &str) -> Result<()> {
    if name.is_empty() {
        return Err(Error::invalid(format!("{what} name must not be empty")));
    }
    if name.len() > MAX_SUBSCRIPTION_NAME_LEN {
        return Err(Error::invalid(format!(
            "{what} name is {} bytes, over the limit of {MAX_SUBSCRIPTION_NAME_LEN}",
            name.len()
        )));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !(c.is_alphanumeric() || *c == '-' || *c == '_'))
    {
        return Err(Error::invalid(format!(
            "{what} name {name:?}: {bad:?} is not allowed (letters, digits, '-' and '_')"
        )));
    }
    Ok(())
}

/// Checks a fetch's consumer name and batch size.
///
/// # Errors
/// [`Error::InvalidInput`] naming the problem.
pub fn check_fetch(consumer: &str, max: usize) -> Result<()> {
    check_name("consumer", consumer)?;
    if max == 0 {
        return Err(Error::invalid("fetch max must be at least 1"));
    }
    if max > MAX_FETCH {
        return Err(Error::invalid(format!(
            "fetch max is {max}, at most {MAX_FETCH}"
        )));
    }
    Ok(())
}

/// A subscription as the broker holds it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SubscriptionInfo {
    /// The durable name.
    pub name: String,
    /// What it listens to, sorted.
    pub patterns: Vec<TopicPattern>,
    /// When it was first created.
    pub created_at: DateTime<Utc>,
    /// Current ack timeout.
    #[serde(with = "crate::time::millis")]
    pub ack_timeout: Duration,
    /// Current deliveries before dead-lettering.
    pub max_deliveries: u32,
    /// Messages delivered and not yet acknowledged.
    pub pending: u64,
    /// Messages in its dead-letter topic.
    pub dead_letters: u64,
}

/// What acknowledges a delivery: the topic it was stored in and its offset
/// there. Its text form, `<offset>@<topic>`, is what the HTTP API takes.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Receipt {
    /// The topic the delivered entry is stored in: the message's topic, or
    /// the subscription's replay topic for a replayed dead letter.
    pub topic: Topic,
    /// Its offset there.
    pub offset: Offset,
}

impl fmt::Display for Receipt {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}@{}", self.offset, self.topic)
    }
}

impl FromStr for Receipt {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (offset, topic) = s
            .split_once('@')
            .ok_or_else(|| Error::invalid(format!("receipt {s:?} is not <offset>@<topic>")))?;
        let offset = offset
            .parse::<u64>()
            .map_err(|_| Error::invalid(format!("receipt {s:?}: {offset:?} is not an offset")))?;
        Ok(Receipt {
            topic: Topic::new(topic)?,
            offset: Offset(offset),
        })
    }
}

/// One message handed to one consumer of a subscription.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Delivery {
    /// The message, as published.
    pub message: Message,
    /// Acknowledge with this.
    pub receipt: Receipt,
    /// When the broker stored the entry (the broker's clock; for a
    /// replayed dead letter, when it was replayed).
    pub published_at: DateTime<Utc>,
    /// How many times it has been delivered to this subscription, this one
    /// included (1 the first time; a replayed dead letter starts again at 1).
    pub deliveries: u32,
}

/// What to do with a delivery the consumer will not acknowledge.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "action")]
pub enum Nack {
    /// Deliver it again after `after` (zero: at once). It counts as a
    /// delivery toward the limit.
    Retry {
        /// How long to hold it back.
        #[serde(with = "crate::time::millis")]
        after: Duration,
    },
    /// Dead-letter it now with `reason`.
    Reject {
        /// Why; stored with the dead letter.
        reason: String,
    },
}

/// A message a subscription gave up on, as stored in its dead-letter topic.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct DeadLetter {
    /// Its offset in the dead-letter topic: the handle for replay and purge.
    pub offset: Offset,
    /// The original message (its `topic` is where it was published).
    pub message: Message,
    /// The subscription that gave up.
    pub subscription: String,
    /// Why.
    pub reason: String,
    /// How many times it was delivered.
    pub deliveries: u32,
    /// When it was dead-lettered.
    pub dead_at: DateTime<Utc>,
}

/// Header names the broker sets on the copies it stores in a dead-letter
/// topic, so a plain reader of that topic sees why.
pub mod dead_letter_headers {
    /// Why the message was dead-lettered.
    pub const REASON: &str = "hive-dead-reason";
    /// The subscription that gave up.
    pub const SUBSCRIPTION: &str = "hive-dead-subscription";
    /// How many times it was delivered.
    pub const DELIVERIES: &str = "hive-dead-deliveries";
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn receipts_round_trip_through_text() {
        let r = Receipt {
            topic: Topic::new("a.b").expect("topic"),
            offset: Offset(42),
        };
        assert_eq!(r.to_string(), "42@a.b");
        assert_eq!("42@a.b".parse::<Receipt>().expect("parse"), r);
        for bad in ["42", "x@a.b", "1@a..b", "@a"] {
            assert!(bad.parse::<Receipt>().is_err(), "{bad}");
        }
    }

    #[test]
    fn specs_validate_names_patterns_and_limits() {
        let ok = SubscriptionSpec::new("auditor-1", ["a.>"]).expect("spec");
        ok.validate().expect("valid");
        let cases = [
            (ok.clone().max_deliveries(0), "at least 1"),
            (ok.clone().ack_timeout(Duration::ZERO), "at least 10 ms"),
            (
                SubscriptionSpec::new("a.b", ["x"]).expect("spec"),
                "not allowed",
            ),
            (SubscriptionSpec::new("", ["x"]).expect("spec"), "empty"),
            (
                SubscriptionSpec::new("x".repeat(200), ["x"]).expect("spec"),
                "over the limit",
            ),
            (
                SubscriptionSpec::new("none", Vec::<String>::new()).expect("spec"),
                "at least one topic pattern",
            ),
        ];
        for (spec, expected) in cases {
            let err = spec.validate().unwrap_err().to_string();
            assert!(err.contains(expected), "{err} should mention {expected}");
        }
        assert!(SubscriptionSpec::new("x", ["a.>.b"]).is_err());
        let agent = SubscriptionSpec::agent("coder").expect("agent");
        assert_eq!(
            agent
                .pattern_set()
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>(),
            ["agent.coder.inbox", "agents.broadcast"]
        );
    }

    #[test]
    fn start_and_nack_serialise_readably() {
        assert_eq!(
            serde_json::to_value(StartAt::Offset(Offset(7))).expect("ser"),
            serde_json::json!({"from": "offset", "at": 7})
        );
        assert_eq!(
            serde_json::to_value(Nack::Retry {
                after: Duration::from_millis(1500)
            })
            .expect("ser"),
            serde_json::json!({"action": "retry", "after": 1500})
        );
    }
}
