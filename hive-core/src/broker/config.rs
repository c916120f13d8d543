//! Broker-wide settings: the size limit and retention.

use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::message::DEFAULT_MAX_MESSAGE_BYTES;
use crate::error::{Error, Result};

/// How long topics keep their messages. Both limits apply per topic when
/// [`Broker::trim`](super::Broker::trim) runs; `None` keeps everything.
///
/// Retention is the broker's, not a subscription's: a message trimmed before
/// a subscription read it is not delivered (as in Kafka or JetStream's limits
/// policy). Size it above the longest time a durable subscriber may be away.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Retention {
    /// Newest messages kept per topic. Default: no limit.
    pub max_messages: Option<u64>,
    /// Oldest message kept, by the time the broker stored it. Default: no
    /// limit.
    #[serde(default, with = "crate::time::opt_millis")]
    pub max_age: Option<Duration>,
}

/// Settings every broker backend honours.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct BrokerConfig {
    /// Largest message (payload and headers as JSON). Default 1 MiB.
    pub max_message_bytes: usize,
    /// What [`Broker::trim`](super::Broker::trim) keeps. Default: everything.
    pub retention: Retention,
}

impl Default for BrokerConfig {
    fn default() -> Self {
        BrokerConfig {
            max_message_bytes: DEFAULT_MAX_MESSAGE_BYTES,
            retention: Retention::default(),
        }
    }
}

impl BrokerConfig {
    /// Checks the limits.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a zero size limit or a zero retention.
    pub fn validate(&self) -> Result<()> {
        if self.max_message_bytes == 0 {
            return Err(Error::invalid("max message bytes must be at least 1"));
        }
        if self.retention.max_messages == Some(0) {
            return Err(Error::invalid(
                "retention must keep at least one message per topic",
            ));
        }
        if self.retention.max_age == Some(Duration::ZERO) {
            return Err(Error::invalid("retention age must be above zero"));
        }
        Ok(())
    }
}

/// What one [`Broker::trim`](super::Broker::trim) removed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct TrimReport {
    /// Topics that lost messages.
    pub topics: u64,
    /// Messages removed.
    pub removed: u64,
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_are_valid_and_limits_are_checked() {
        BrokerConfig::default().validate().expect("defaults");
        let mut c = BrokerConfig {
            max_message_bytes: 0,
            ..Default::default()
        };
        assert!(c.validate().is_err());
        c.max_message_bytes = 10;
        c.retention.max_messages = Some(0);
        assert!(c.validate().is_err());
        c.retention.max_messages = Some(1);
        c.retention.max_age = Some(Duration::ZERO);
        assert!(c.validate().is_err());
        c.retention.max_age = Some(Duration::from_secs(60));
        c.validate().expect("valid");
        let json = serde_json::to_value(&c.retention).expect("ser");
        assert_eq!(
            json,
            serde_json::json!({"max_messages": 1, "max_age": 60000})
        );
        let back: Retention = serde_json::from_value(json).expect("de");
        assert_eq!(back, c.retention);
    }
}
