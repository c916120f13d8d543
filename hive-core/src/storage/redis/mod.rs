//! The plumbing every Redis backend (the queue, the broker, the event log)
//! shares, so they behave alike when Redis is slow, down or restarting:
//! one client builder with the same timeouts and reconnect policy, the
//! fail-fast check on a disconnected client, the error mapping, and closing
//! a client. Below it: [`reply`] (reading the shapes of Redis replies),
//! [`scripts`] (declaring, loading and running Lua scripts) and [`waiters`]
//! (connections of their own for blocking reads).
//!
//! Each backend keeps its keys, its Lua and the parsing of its own shapes
//! (task hashes, stream entries, refusals) in its own folder.

pub(crate) mod reply;
pub(crate) mod scripts;
pub(crate) mod waiters;

use std::time::Duration;

use fred::interfaces::ClientLike;
use fred::prelude::{Builder, Client, Config, ReconnectPolicy};

use crate::error::{Error, Result};

/// The backend every Redis store names in its errors and `backend()`.
pub(crate) const BACKEND: &str = "redis";

/// How long one command may take before the call fails. Generous: the
/// largest script (a submit of a full batch of tasks, a big publish) runs
/// well within it.
pub(crate) const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
/// How long connecting may take, at open and on each reconnect attempt.
pub(crate) const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// Reconnect delays grow from 50 ms to at most this, forever.
const MAX_RECONNECT_DELAY_MS: u32 = 2_000;

/// A client builder for `url`: the first connection fails fast (an
/// unreachable Redis at open is an error, not a hang), commands are not
/// retried (a script that ran but whose answer was lost must not run
/// twice), and the client reconnects on its own forever.
///
/// # Errors
/// [`Error::InvalidInput`] for a URL fred cannot parse; the URL itself,
/// which may hold a password, stays out of the message.
pub(crate) fn builder(url: &str) -> Result<Builder> {
    let mut config =
        Config::from_url(url).map_err(|e| Error::invalid(format!("bad redis URL: {e}")))?;
    // Client-wide, fail_fast only makes the first connection fail at once;
    // the backends' own checks do the same for later calls.
    config.fail_fast = true;
    let mut builder = Builder::from_config(config);
    builder
        .with_connection_config(|c| {
            c.connection_timeout = CONNECT_TIMEOUT;
            c.internal_command_timeout = CONNECT_TIMEOUT;
            c.max_command_attempts = 1;
        })
        .with_performance_config(|p| p.default_command_timeout = COMMAND_TIMEOUT)
        .set_policy(ReconnectPolicy::new_exponential(
            0,
            50,
            MAX_RECONNECT_DELAY_MS,
            2,
        ));
    Ok(builder)
}

/// Maps a client error.
pub(crate) fn redis_err(e: fred::error::Error) -> Error {
    Error::backend(BACKEND, e)
}

/// `client`, if it is connected. While Redis is unreachable a call fails at
/// once rather than wait in fred's buffer for a reconnection (fred's
/// client-wide `fail_fast` only covers the first connection; its
/// per-command option would need `with_options`, which scripts lack). A
/// call racing the drop of the connection fails by the command timeout.
///
/// # Errors
/// [`Error::Backend`] while the client is reconnecting.
pub(crate) fn live(client: &Client) -> Result<&Client> {
    if client.is_connected() {
        Ok(client)
    } else {
        Err(Error::backend(
            BACKEND,
            "not connected to Redis (reconnecting in the background)",
        ))
    }
}

/// The Redis eviction policies (`maxmemory-policy`), by the names Redis
/// reports; [`eviction_policy`] answers one of these.
pub(crate) const POLICIES: [&str; 8] = [
    "noeviction",
    "allkeys-lru",
    "allkeys-lfu",
    "allkeys-random",
    "volatile-lru",
    "volatile-lfu",
    "volatile-random",
    "volatile-ttl",
];

/// What the server at `url` does when it reaches `maxmemory` (one of
/// [`POLICIES`], or `"unknown"`), and whether it appends every write to a
/// log (`appendonly`). Read with `INFO`, which managed Redis services allow
/// where `CONFIG GET` is often renamed away.
///
/// # Errors
/// [`Error::InvalidInput`] for a bad URL, [`Error::Backend`] when Redis
/// cannot be reached.
pub(crate) async fn server_settings(url: &str) -> Result<(&'static str, bool)> {
    use fred::types::InfoKind;
    let client = builder(url)?.build().map_err(redis_err)?;
    client.init().await.map_err(redis_err)?;
    let memory: String = client
        .info(Some(InfoKind::Memory))
        .await
        .map_err(redis_err)?;
    let persistence: String = client
        .info(Some(InfoKind::Persistence))
        .await
        .map_err(redis_err)?;
    close(client);
    Ok((
        eviction_policy(&memory),
        info_field(&persistence, "aof_enabled") == Some("1"),
    ))
}

/// The `maxmemory_policy` an `INFO memory` reply names.
fn eviction_policy(info: &str) -> &'static str {
    let named = info_field(info, "maxmemory_policy").unwrap_or("");
    POLICIES
        .into_iter()
        .find(|p| *p == named)
        .unwrap_or("unknown")
}

/// The value of `field` in an `INFO` reply (`field:value` lines).
fn info_field<'a>(info: &'a str, field: &str) -> Option<&'a str> {
    info.lines().find_map(|line| {
        let (name, value) = line.split_once(':')?;
        (name == field).then(|| value.trim())
    })
}

/// Closes a client's connection in the background: a fred client's
/// connection task outlives the handle unless told to quit.
pub(crate) fn close(client: Client) {
    if let Ok(runtime) = tokio::runtime::Handle::try_current() {
        runtime.spawn(async move {
            let _ = client.quit().await;
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn info_replies_name_the_policy_and_the_log() {
        let memory = "# Memory\r\nused_memory:1024\r\nmaxmemory_policy:allkeys-lru\r\n";
        assert_eq!(eviction_policy(memory), "allkeys-lru");
        assert_eq!(eviction_policy("maxmemory_policy:noeviction"), "noeviction");
        assert_eq!(eviction_policy("maxmemory_policy:something-new"), "unknown");
        assert_eq!(eviction_policy("# Memory"), "unknown");
        assert_eq!(info_field("aof_enabled:1\r\n", "aof_enabled"), Some("1"));
        assert_eq!(info_field("aof_enabled_x:1", "aof_enabled"), None);
    }

    #[test]
    fn bad_urls_are_refused_without_echoing_them() {
        let err = builder("redis://user:secret@host:notaport")
            .err()
            .map(|e| e.to_string());
        let err = err.unwrap_or_default();
        assert!(err.contains("bad redis URL"), "{err}");
        assert!(!err.contains("secret"), "{err}");
        assert!(builder("redis://127.0.0.1:6379").is_ok());
    }
}
