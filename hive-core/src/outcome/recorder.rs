//! [`OutcomeRecorder`]: writes outcomes off the task path, many per
//! transaction.
//!
//! An agent's slot hands its outcome over and moves on to the next task; a
//! background task gathers what arrives within 50 ms of the first (up to
//! [`BATCH`]) and stores it with one `record_many`, so a busy embedded hive
//! pays one commit for many tasks rather than one each. `flush` waits until
//! everything handed over before it is stored; `close` flushes and stops.
//!
//! What a crash loses is what was handed over and not yet stored — at most
//! the batch in flight; a write that fails is retried with a growing pause
//! (the store may be restarting) before the batch is given up, loudly.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, Mutex};
use tokio::task::JoinHandle;

use super::record::Outcome;
use super::store::OutcomeStore;

/// The most outcomes one write stores.
pub const BATCH: usize = 500;

/// How long the writer waits for more outcomes after the first of a
/// batch.
const LINGER: Duration = Duration::from_millis(50);

/// Tries of one batch before it is given up.
const TRIES: u32 = 5;

enum Item {
    Outcome(Box<Outcome>),
    Flush(oneshot::Sender<()>),
}

/// Stores outcomes in the background, in batches. Cloning shares it.
#[derive(Clone, Debug)]
pub struct OutcomeRecorder {
    store: Arc<dyn OutcomeStore>,
    tx: mpsc::UnboundedSender<Item>,
    writer: Arc<Mutex<Option<JoinHandle<()>>>>,
}

impl OutcomeRecorder {
    /// A recorder writing to `store`, started on the current Tokio runtime.
    pub fn start(store: Arc<dyn OutcomeStore>) -> Self {
        let (tx, rx) = mpsc::unbounded_channel();
        let writer = tokio::spawn(write_loop(store.clone(), rx));
        OutcomeRecorder {
            store,
            tx,
            writer: Arc::new(Mutex::new(Some(writer))),
        }
    }

    /// The store it writes to.
    pub fn store(&self) -> &Arc<dyn OutcomeStore> {
        &self.store
    }

    /// Hands `outcome` over to be stored; never waits. An outcome that
    /// fails [`Outcome::check`], or arrives after `close`, is dropped with
    /// a warning (a bad one must not sink the batch it would share).
    pub fn record(&self, outcome: Outcome) {
        if let Err(e) = outcome.check() {
            tracing::warn!(error = %e, "an outcome was refused; it is not stored");
            return;
        }
        if self.tx.send(Item::Outcome(Box::new(outcome))).is_err() {
            tracing::warn!("an outcome arrived after the recorder closed; it is not stored");
        }
    }

    /// Waits until every outcome handed over before this call is stored (or
    /// given up).
    pub async fn flush(&self) {
        let (done, wait) = oneshot::channel();
        if self.tx.send(Item::Flush(done)).is_ok() {
            let _ = wait.await;
        }
    }

    /// Stores what is pending and stops the background writer. Later
    /// `record`s are dropped; `close` again does nothing.
    pub async fn close(&self) {
        self.flush().await;
        let writer = self.writer.lock().await.take();
        if let Some(writer) = writer {
            writer.abort();
            let _ = writer.await;
        }
    }
}

async fn write_loop(store: Arc<dyn OutcomeStore>, mut rx: mpsc::UnboundedReceiver<Item>) {
    let mut batch: Vec<Outcome> = Vec::new();
    let mut waiting: Vec<oneshot::Sender<()>> = Vec::new();
    while let Some(first) = rx.recv().await {
        // Gather what arrives within LINGER of the first outcome (or until
        // the batch is full, or someone waits for a flush): one commit for
        // a burst of finished tasks, not one each, so the outcome writer
        // does not crowd the file's other writers.
        let until = tokio::time::Instant::now() + LINGER;
        let mut next = Some(first);
        loop {
            match next.take() {
                Some(Item::Outcome(o)) => batch.push(*o),
                Some(Item::Flush(done)) => waiting.push(done),
                None => {}
            }
            if batch.len() >= BATCH || !waiting.is_empty() {
                break;
            }
            next = match rx.try_recv() {
                Ok(item) => Some(item),
                Err(_) => match tokio::time::timeout_at(until, rx.recv()).await {
                    Ok(Some(item)) => Some(item),
                    Ok(None) | Err(_) => break,
                },
            };
        }
        if !batch.is_empty() {
            store_batch(store.as_ref(), &batch).await;
            batch.clear();
        }
        for done in waiting.drain(..) {
            let _ = done.send(());
        }
    }
}

async fn store_batch(store: &dyn OutcomeStore, batch: &[Outcome]) {
    let mut pause = Duration::from_millis(100);
    for tried in 1..=TRIES {
        match store.record_many(batch).await {
            Ok(()) => return,
            Err(e) if e.is_transient() && tried < TRIES => {
                tracing::warn!(error = %e, tried, "storing outcomes failed; trying again");
                tokio::time::sleep(pause).await;
                pause *= 2;
            }
            Err(e) => {
                tracing::error!(
                    error = %e,
                    outcomes = batch.len(),
                    "storing outcomes failed; these outcomes are lost"
                );
                return;
            }
        }
    }
}
