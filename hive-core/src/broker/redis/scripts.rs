//! The Lua scripts of the Redis broker and the keys they run on.
//!
//! Every state change is one script (see [`crate::storage::redis::scripts`]
//! for how they are declared, loaded and run), so it is atomic on the
//! server, and a crash of Redis with an append-only file keeps a script
//! whole (Redis logs its effects as one `MULTI`/`EXEC`). Each is prefixed
//! with `lua/shared.lua`.

use fred::types::{Key, Value};

use crate::broker::Topic;
use crate::error::Result;
use crate::storage::redis::scripts::script_set;

script_set! {
    /// Every script, hashed once per process.
    pub(super) static SCRIPTS: Scripts {
        publish: "publish.lua",
        subscribe: "subscribe.lua",
        unsubscribe: "unsubscribe.lua",
        fetch: "fetch.lua",
        ack: "ack.lua",
        nack: "nack.lua",
        seek: "seek.lua",
        replay: "replay.lua",
        purge: "purge.lua",
        trim: "trim.lua",
        info: "info.lua",
    }
}

/// The keys of one broker. All of them start with the prefix
/// ([`RedisBrokerOptions::prefix`](super::RedisBrokerOptions::prefix)), so
/// several brokers (or test runs) share a Redis without meeting.
///
/// | key | type | holds |
/// |---|---|---|
/// | `<prefix>:t:<topic>` | stream | the topic's messages: field `m` is the message as JSON; dead letters add `hive-dead-*` fields |
/// | `<prefix>:topics` | sorted set | every topic that ever had a message, scored by its first message's time (ms) |
/// | `<prefix>:subs` | hash | subscription name → its record as JSON (see `subscriptions.rs`) |
/// | `<prefix>:hold:<sub>` | sorted set | deliveries a nack holds back beyond the ack timeout (`<stream key> <id>`), by due time |
/// | `<prefix>:new-topic` | pub/sub channel | the name of each topic at its first message |
///
/// A subscription is a consumer group of its name on each stream its
/// patterns match, plus its replay stream (`_hive.replay.<sub>`) and its
/// dead-letter topic (`_hive.dead.<sub>`). Scripts touch keys they derive
/// from the prefix (a subscription's dead-letter stream and hold set), so
/// on a Redis Cluster the prefix must be a hash tag, such as `{hive}`, that
/// puts every key in one slot.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    prefix: String,
    prefix_arg: Value,
    subs: Key,
    topics: Key,
    channel: String,
}

impl Keys {
    pub fn new(prefix: &str) -> Self {
        Keys {
            prefix: prefix.to_string(),
            prefix_arg: Value::from(prefix),
            subs: Key::from(format!("{prefix}:subs")),
            topics: Key::from(format!("{prefix}:topics")),
            channel: format!("{prefix}:new-topic"),
        }
    }

    /// ARGV[1] of every script.
    pub fn prefix(&self) -> Value {
        self.prefix_arg.clone()
    }

    pub fn subs(&self) -> Key {
        self.subs.clone()
    }

    pub fn topics(&self) -> Key {
        self.topics.clone()
    }

    /// The pub/sub channel announcing new topics.
    pub fn channel(&self) -> &str {
        &self.channel
    }

    /// A topic's stream.
    pub fn stream(&self, topic: &Topic) -> Key {
        Key::from(format!("{}:t:{topic}", self.prefix))
    }

    /// A subscription's dead-letter stream.
    pub fn dead(&self, subscription: &str) -> Result<Key> {
        Ok(self.stream(&Topic::dead_letters(subscription)?))
    }

    /// A subscription's replay stream.
    pub fn replay(&self, subscription: &str) -> Result<Key> {
        Ok(self.stream(&Topic::replay(subscription)?))
    }

    /// KEYS of a script: the two fixed keys, then `streams`.
    pub fn with(&self, streams: impl IntoIterator<Item = Key>) -> Vec<Key> {
        let mut keys = vec![self.subs(), self.topics()];
        keys.extend(streams);
        keys
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::broker::dead_letter_headers;

    #[test]
    fn scripts_write_the_dead_letter_headers_rust_reads() {
        let shared = include_str!("lua/shared.lua");
        for name in [
            dead_letter_headers::REASON,
            dead_letter_headers::SUBSCRIPTION,
            dead_letter_headers::DELIVERIES,
        ] {
            assert!(shared.contains(&format!("'{name}'")), "{name}");
        }
    }

    #[test]
    fn keys_share_the_prefix() {
        let keys = Keys::new("p");
        let topic = Topic::new("a.b").expect("topic");
        assert_eq!(keys.stream(&topic), Key::from("p:t:a.b"));
        assert_eq!(keys.dead("s").expect("dead"), Key::from("p:t:_hive.dead.s"));
        assert_eq!(
            keys.replay("s").expect("replay"),
            Key::from("p:t:_hive.replay.s")
        );
        assert_eq!(keys.channel(), "p:new-topic");
        assert!(keys.dead("a.b").is_err());
    }
}
