//! Connections for blocking reads: `BLPOP` (the queue's `wait_for_work`)
//! and `XREAD BLOCK` (the broker's waiting fetches, the event log's waiting
//! readers) hold the connection they run on, so each waiting call borrows
//! one of its own, made on first need and kept for the next waiter. The
//! connections other calls share never block.

use std::sync::Mutex;

use fred::interfaces::ClientLike;
use fred::prelude::{Builder, Client};
use fred::types::ConnectHandle;

use super::{close, redis_err, BACKEND};
use crate::error::{Error, Result};

/// Idle blocking connections kept for later waits.
const MAX_IDLE_WAITERS: usize = 64;

/// The pool of blocking connections of one store handle. Dropping it
/// closes the idle ones.
pub(crate) struct Waiters {
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
struct Waiter {
    client: Client,
    task: ConnectHandle,
}

impl Waiters {
    /// An empty pool whose connections `builder` makes.
    pub(crate) fn new(builder: Builder) -> Self {
        Waiters {
            builder,
            idle: Mutex::new(Vec::new()),
        }
    }

    /// A connected waiter, idle or new, until the [`Borrowed`] is given
    /// back or dropped.
    ///
    /// # Errors
    /// [`Error::Backend`] when a new connection cannot be made.
    pub(crate) async fn borrow(&self) -> Result<Borrowed<'_>> {
        let Waiter { client, task } = self.checkout().await?;
        Ok(Borrowed {
            client,
            task: Some(task),
            waiters: self,
        })
    }

    async fn checkout(&self) -> Result<Waiter> {
        loop {
            let idle = self
                .idle
                .lock()
                .unwrap_or_else(|poisoned| poisoned.into_inner())
                .pop();
            match idle {
                // One that lost its connection while idle is reconnecting
                // in the background; a fresh one is quicker to get.
                Some(waiter) if !waiter.client.is_connected() => waiter.task.abort(),
                Some(waiter) => return Ok(waiter),
                None => break,
            }
        }
        // The connection is made on a task of its own: a caller that gives
        // up mid-connect (a `select!` on another wake-up) would otherwise
        // drop `init`'s future after it spawned the connection task, which
        // then runs, connected, for good. A result nobody waits for any
        // more is closed here instead.
        let builder = self.builder.clone();
        let (tx, rx) = tokio::sync::oneshot::channel();
        tokio::spawn(async move {
            let connected = async {
                let client = builder.build().map_err(redis_err)?;
                let task = client.init().await.map_err(redis_err)?;
                Ok::<_, Error>(Waiter { client, task })
            }
            .await;
            if let Err(Ok(orphan)) = tx.send(connected) {
                orphan.task.abort();
            }
        });
        rx.await
            .map_err(|_| Error::backend(BACKEND, "the connecting task ended without an answer"))?
    }

    /// Keeps a waiter whose connection is idle again, or closes it when
    /// enough are kept.
    fn give_back(&self, waiter: Waiter) {
        let mut idle = self
            .idle
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        if idle.len() < MAX_IDLE_WAITERS {
            idle.push(waiter);
        } else {
            drop(idle);
            close(waiter.client);
        }
    }
}

impl Drop for Waiters {
    fn drop(&mut self) {
        let idle = std::mem::take(
            self.idle
                .get_mut()
                .unwrap_or_else(|poisoned| poisoned.into_inner()),
        );
        idle.into_iter().for_each(|w| close(w.client));
    }
}

/// A borrowed blocking connection. Dropped without being given back (the
/// caller gave up mid-wait, or the wait failed) it stops the connection's
/// task at once, since a read may still be pending on it: a `BLPOP` would
/// otherwise go on to pop — and waste — the marker meant for another
/// waiter, and QUIT would wait for the read to end.
pub(crate) struct Borrowed<'a> {
    client: Client,
    /// `None` once given back.
    task: Option<ConnectHandle>,
    waiters: &'a Waiters,
}

impl Borrowed<'_> {
    /// The connection to block on.
    pub(crate) fn client(&self) -> &Client {
        &self.client
    }

    /// Returns the connection to the pool: call it only once the read on
    /// it has ended, so the connection is idle again.
    pub(crate) fn give_back(mut self) {
        if let Some(task) = self.task.take() {
            self.waiters.give_back(Waiter {
                client: self.client.clone(),
                task,
            });
        }
    }
}

impl Drop for Borrowed<'_> {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}
