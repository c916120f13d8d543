//! Connections for waiting fetches: `XREAD BLOCK` holds the connection it
//! runs on, so each waiting fetch borrows one of its own, made on first
//! need and kept for the next waiter. The shared connection never blocks.

use std::sync::Mutex;

use fred::interfaces::ClientLike;
use fred::prelude::{Builder, Client};
use fred::types::{ClusterHash, ConnectHandle, CustomCommand, Value};

use super::redis_err;
use super::reply::{int, malformed};
use crate::error::Result;

/// Idle blocking connections kept for later waits.
const MAX_IDLE_WAITERS: usize = 64;

/// The pool.
pub(super) struct Waiters {
    builder: Builder,
    idle: Mutex<Vec<Waiter>>,
}

impl std::fmt::Debug for Waiters {
    // Not derived: the builder's config holds the Redis password.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let idle = self.idle.lock().map(|idle| idle.len()).unwrap_or(0);
        f.debug_struct("Waiters").field("idle", &idle).finish()
    }
}

/// A blocking connection and the task that drives it.
#[derive(Debug)]
pub(super) struct Waiter {
    pub client: Client,
    task: ConnectHandle,
}

/// `CLIENT …`, which fred 10 offers only with a feature this crate does
/// not enable.
pub(super) fn client_command() -> CustomCommand {
    CustomCommand::new_static("CLIENT", ClusterHash::Random, false)
}

impl Waiter {
    /// The server's id for this connection, for `CLIENT UNBLOCK`. Asked
    /// afresh each time: a reconnection changes it.
    pub async fn id(&self) -> Result<i64> {
        let reply: Value = self
            .client
            .custom(client_command(), vec!["ID"])
            .await
            .map_err(redis_err)?;
        int(&reply).ok_or_else(|| malformed("CLIENT ID", &reply))
    }
}

impl Waiters {
    pub fn new(builder: Builder) -> Self {
        Waiters {
            builder,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A connected waiter: an idle one, or a new one.
    pub async fn checkout(&self) -> Result<Waiter> {
        loop {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop();
            match idle {
                // One that lost its connection while idle is reconnecting
                // in the background; a fresh one is quicker to get.
                Some(waiter) if !waiter.client.is_connected() => discard(waiter),
                Some(waiter) => return Ok(waiter),
                None => break,
            }
        }
        let client = self.builder.build().map_err(redis_err)?;
        let task = client.init().await.map_err(redis_err)?;
        Ok(Waiter { client, task })
    }

    /// Returns a waiter whose connection is in a known state.
    pub fn give_back(&self, waiter: Waiter) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE_WAITERS {
            idle.push(waiter);
        } else {
            drop(idle);
            super::close(waiter.client);
        }
    }

    /// Closes every idle waiter.
    pub fn close_all(&self) {
        let idle = std::mem::take(
            &mut *self
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        idle.into_iter().for_each(|w| super::close(w.client));
    }
}

/// Drops a waiter whose connection may be mid-command or reconnecting:
/// its task is stopped at once (QUIT would wait for a blocked read to end).
pub(super) fn discard(waiter: Waiter) {
    waiter.task.abort();
}

/// A borrowed waiter. Dropped without being given back (the caller gave up
/// mid-wait, or the wait failed) it drops the connection at once, since a
/// read may still be pending on it.
pub(super) struct Borrowed<'a> {
    waiter: Option<Waiter>,
    waiters: &'a Waiters,
}

impl<'a> Borrowed<'a> {
    pub fn new(waiter: Waiter, waiters: &'a Waiters) -> Self {
        Borrowed {
            waiter: Some(waiter),
            waiters,
        }
    }

    /// The waiter (always there until given back).
    pub fn get(&self) -> Option<&Waiter> {
        self.waiter.as_ref()
    }

    /// Returns the waiter to the pool: its connection is idle again.
    pub fn give_back(mut self) {
        if let Some(waiter) = self.waiter.take() {
            self.waiters.give_back(waiter);
        }
    }
}

impl Drop for Borrowed<'_> {
    fn drop(&mut self) {
        if let Some(waiter) = self.waiter.take() {
            discard(waiter);
        }
    }
}
