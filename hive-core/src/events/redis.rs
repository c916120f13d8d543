//! [`RedisLog`]: the event log every process sharing one Redis sees — a
//! stream whose entry ids are the events' numbers (`<seq>-1`), a counter
//! that hands the numbers out, and one Lua script that does both, so the
//! numbers are gap-free across processes. The stream is capped with
//! `MAXLEN ~` (Redis trims whole nodes, so a little more than asked is
//! kept). Readers use `XRANGE`; a waiting reader blocks in `XREAD` on a
//! connection of its own ([`Waiters`]).

use std::collections::HashMap;
use std::sync::LazyLock;
use std::time::Duration;

use async_trait::async_trait;
use fred::clients::Client;
use fred::interfaces::{ClientLike, KeysInterface, StreamsInterface};
use fred::types::scripts::Script;
use fred::types::{Key, Value};

use super::{Event, EventLog, NewEvent, DEFAULT_RETAINED};
use crate::error::{Error, Result};
use crate::storage::redis::waiters::Waiters;
use crate::storage::redis::{self as connection, close, redis_err, BACKEND};

/// Longest single blocking read; `read_after` loops for longer waits.
/// Well under the client's command timeout.
const BLOCK_ROUND: Duration = Duration::from_secs(2);

/// KEYS: counter, stream. ARGV: cap, then one JSON event per argument.
/// Answers the first number given.
static APPEND: LazyLock<Script> = LazyLock::new(|| {
    Script::from_lua(
        r"
local first = nil
for i = 2, #ARGV do
  local seq = redis.call('INCR', KEYS[1])
  if first == nil then first = seq end
  redis.call('XADD', KEYS[2], 'MAXLEN', '~', ARGV[1], seq .. '-1', 'e', ARGV[i])
end
return first
",
    )
});

/// The event log of the hive whose queue is named `name`, in Redis.
#[derive(Debug)]
pub struct RedisLog {
    client: Client,
    /// For blocking reads only, so they never hold up appends.
    waiters: Waiters,
    counter: Key,
    stream: Key,
    retained: usize,
}

impl RedisLog {
    /// Connects to Redis at `url`; the log of the hive `name` (its queue's
    /// name) keeps at least [`DEFAULT_RETAINED`] events.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL; [`Error::Backend`] when Redis
    /// cannot be reached.
    pub async fn open(url: &str, name: &str) -> Result<Self> {
        Self::open_with_retention(url, name, DEFAULT_RETAINED).await
    }

    /// As [`open`](Self::open), keeping at least `retained` events.
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn open_with_retention(url: &str, name: &str, retained: usize) -> Result<Self> {
        let builder = connection::builder(url)?;
        let client = builder.build().map_err(redis_err)?;
        client.init().await.map_err(redis_err)?;
        if let Err(e) = connection::scripts::load(&client, [&*APPEND]).await {
            close(client);
            return Err(e);
        }
        Ok(RedisLog {
            client,
            waiters: Waiters::new(builder),
            counter: Key::from(format!("hive:{{{name}}}:events:seq")),
            stream: Key::from(format!("hive:{{{name}}}:events")),
            retained: retained.max(1),
        })
    }

    fn decode(id: &str, fields: &HashMap<String, String>) -> Result<Event> {
        let seq = id
            .split_once('-')
            .and_then(|(seq, _)| seq.parse::<u64>().ok())
            .ok_or_else(|| {
                Error::backend(BACKEND, format!("event entry id {id:?} is not <seq>-1"))
            })?;
        let body = fields
            .get("e")
            .ok_or_else(|| Error::backend(BACKEND, format!("event entry {id} has no body")))?;
        let new: NewEvent = serde_json::from_str(body).map_err(|e| {
            Error::backend(BACKEND, format!("event entry {id} is not an event: {e}"))
        })?;
        Ok(new.numbered(seq))
    }

    async fn range(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        let start = format!("{}-0", after.saturating_add(1));
        let count = u64::try_from(limit).unwrap_or(u64::MAX);
        let entries: Vec<(String, HashMap<String, String>)> = self
            .client
            .xrange(self.stream.clone(), start, "+", Some(count))
            .await
            .map_err(redis_err)?;
        entries
            .iter()
            .map(|(id, fields)| Self::decode(id, fields))
            .collect()
    }

    /// Blocks until the stream has an entry after `after` or `block` passes.
    async fn block(&self, after: u64, block: Duration) -> Result<()> {
        let borrowed = self.waiters.borrow().await?;
        let ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1);
        // On an error, dropping `borrowed` closes a connection in an
        // unknown state.
        let _: Value = borrowed
            .client()
            .xread(Some(1), Some(ms), self.stream.clone(), format!("{after}-1"))
            .await
            .map_err(redis_err)?;
        borrowed.give_back();
        Ok(())
    }
}

impl Drop for RedisLog {
    // The idle waiters close as `waiters` drops.
    fn drop(&mut self) {
        close(self.client.clone());
    }
}

#[async_trait]
impl EventLog for RedisLog {
    fn backend(&self) -> &'static str {
        BACKEND
    }

    async fn append(&self, events: &[NewEvent]) -> Result<u64> {
        if events.is_empty() {
            return Ok(self.last_seq().await? + 1);
        }
        let mut args = Vec::with_capacity(events.len() + 1);
        args.push(Value::from(self.retained.to_string()));
        for e in events {
            let json = serde_json::to_string(e)
                .map_err(|err| Error::invalid(format!("event is not JSON: {err}")))?;
            args.push(Value::from(json));
        }
        APPEND
            .evalsha_with_reload(
                &self.client,
                vec![self.counter.clone(), self.stream.clone()],
                args,
            )
            .await
            .map_err(redis_err)
    }

    async fn read_after(&self, after: u64, limit: usize, wait: Duration) -> Result<Vec<Event>> {
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            let found = self.range(after, limit).await?;
            let now = tokio::time::Instant::now();
            if !found.is_empty() || now >= deadline {
                return Ok(found);
            }
            self.block(after, (deadline - now).min(BLOCK_ROUND)).await?;
        }
    }

    async fn last_seq(&self) -> Result<u64> {
        let last: Option<u64> = self
            .client
            .get(self.counter.clone())
            .await
            .map_err(redis_err)?;
        Ok(last.unwrap_or(0))
    }
}
