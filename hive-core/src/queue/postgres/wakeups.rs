//! Wake-ups for idle workers through `LISTEN/NOTIFY`.
//!
//! Transitions that make tasks ready call `hive_wake()` in the same
//! statement, which notifies the queue's channel at commit. Each handle keeps
//! one listening connection, opened by the first `wait_for_work` and shared
//! by every caller after it: a background task turns notifications into
//! [`Notify`] wake-ups. When that connection fails, waiters fall back on
//! their timeout (the polling fallback) and the next wait opens a new one.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::{PgListener, PgPool};
use tokio::sync::{Mutex, Notify};
use tokio::task::JoinHandle;

use super::db_err;
use crate::error::Result;

#[derive(Debug)]
pub(super) struct Wakeups {
    /// A pool of one connection, so listening never takes a connection
    /// from the handle's operations.
    pool: PgPool,
    channel: String,
    notify: Arc<Notify>,
    /// The task forwarding notifications, while it runs.
    forwarder: Mutex<Option<JoinHandle<()>>>,
}

impl Wakeups {
    pub(super) fn new(pool: PgPool, channel: String) -> Self {
        Wakeups {
            pool,
            channel,
            notify: Arc::new(Notify::new()),
            forwarder: Mutex::new(None),
        }
    }

    /// Returns after a notification on the queue's channel, or `timeout`.
    pub(super) async fn wait(&self, timeout: Duration) {
        let deadline = tokio::time::Instant::now() + timeout;
        // Registered before listening starts, so a notification that arrives
        // while the listener is being set up still wakes this caller.
        let notified = self.notify.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        match tokio::time::timeout_at(deadline, self.ensure_listening()).await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => {
                tracing::warn!(channel = %self.channel, error = %e,
                    "cannot listen for new tasks; waiting out the timeout instead");
            }
            Err(_elapsed) => return,
        }
        let _ = tokio::time::timeout_at(deadline, notified).await;
    }

    /// Starts the forwarding task unless it is running.
    async fn ensure_listening(&self) -> Result<()> {
        let mut forwarder = self.forwarder.lock().await;
        if forwarder.as_ref().is_some_and(|task| !task.is_finished()) {
            return Ok(());
        }
        let mut listener = PgListener::connect_with(&self.pool).await.map_err(db_err)?;
        listener.listen(&self.channel).await.map_err(db_err)?;
        let notify = self.notify.clone();
        let channel = self.channel.clone();
        *forwarder = Some(tokio::spawn(async move {
            loop {
                match listener.try_recv().await {
                    Ok(Some(_)) => notify.notify_waiters(),
                    // The connection dropped and was re-established: anything
                    // sent in between is lost, so wake everyone to look.
                    Ok(None) => notify.notify_waiters(),
                    Err(e) => {
                        tracing::warn!(%channel, error = %e, "stopped listening for new tasks");
                        notify.notify_waiters();
                        return;
                    }
                }
            }
        }));
        Ok(())
    }
}

impl Drop for Wakeups {
    fn drop(&mut self) {
        // The forwarder would otherwise hold its connection open forever.
        if let Some(task) = self.forwarder.get_mut().take() {
            task.abort();
        }
    }
}
