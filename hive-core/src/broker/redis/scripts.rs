//! The Lua scripts of the Redis broker and the keys they run on.
//!
//! Every state change is one script, so it is atomic on the server: a
//! dropped call either happened or did not, and a crash of Redis with an
//! append-only file keeps a script whole (Redis logs its effects as one
//! `MULTI`/`EXEC`). Each operation's file in `lua/` is prefixed with
//! `lua/shared.lua` (Redis scripts cannot import one another). Scripts run
//! with EVALSHA; when the server has forgotten them (a restart, `SCRIPT
//! FLUSH`) fred's `evalsha_with_reload` loads them again and retries once.

use std::sync::LazyLock;

use fred::types::scripts::Script;
use fred::types::{Key, Value};

use crate::broker::Topic;
use crate::error::Result;

/// One operation's script: the shared prelude followed by its own file.
macro_rules! lua {
    ($file:literal) => {
        Script::from_lua(concat!(
            include_str!("lua/shared.lua"),
            include_str!(concat!("lua/", $file))
        ))
    };
}

/// Every script, hashed once per process.
pub(super) struct Scripts {
    pub publish: Script,
    pub subscribe: Script,
    pub unsubscribe: Script,
    pub fetch: Script,
    pub ack: Script,
    pub nack: Script,
    pub seek: Script,
    pub replay: Script,
    pub purge: Script,
    pub trim: Script,
    pub info: Script,
}

impl Scripts {
    /// All of them, to load them up front.
    pub fn all(&self) -> [&Script; 11] {
        [
            &self.publish,
            &self.subscribe,
            &self.unsubscribe,
            &self.fetch,
            &self.ack,
            &self.nack,
            &self.seek,
            &self.replay,
            &self.purge,
            &self.trim,
            &self.info,
        ]
    }
}

pub(super) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    publish: lua!("publish.lua"),
    subscribe: lua!("subscribe.lua"),
    unsubscribe: lua!("unsubscribe.lua"),
    fetch: lua!("fetch.lua"),
    ack: lua!("ack.lua"),
    nack: lua!("nack.lua"),
    seek: lua!("seek.lua"),
    replay: lua!("replay.lua"),
    purge: lua!("purge.lua"),
    trim: lua!("trim.lua"),
    info: lua!("info.lua"),
});

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
