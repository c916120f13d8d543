//! The history recorder: a durable subscription that copies what the
//! broker delivers into a [`MessageStore`].
//!
//! Each round fetches a batch, records it, then acknowledges it. A crash
//! between the record and the ack means the broker delivers the batch again
//! and the store, idempotent by message id, records nothing twice: history
//! is exactly-once although delivery is at-least-once. Because the
//! subscription is durable, messages published while no recorder runs are
//! recorded when one starts again (as long as the broker still retains
//! them). Several processes may run a recorder under the same name: they
//! share the subscription's messages.
//!
//! What is recorded for each delivery: the message as delivered, the
//! receipt's offset, and the broker's `published_at`. A replayed dead
//! letter's receipt names the replay topic; its message was normally
//! recorded on its first delivery, and the first record wins.
//!
//! Failures: transient errors (the broker or the store unreachable) are
//! retried with backoff and logged at `warn`; the batch in hand is retried,
//! not dropped. A message the store refuses as invalid (see
//! [`MessageStore`]'s errors) is rejected to the subscription's dead-letter
//! topic with the reason, so one bad message cannot stall history. Other
//! errors (the subscription was deleted, say) stop the recorder and are
//! returned by [`HistoryRecorder::shutdown`].

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::MessageStore;
use crate::broker::{
    check_name, Broker, Delivery, Nack, Receipt, StartAt, StoredMessage, SubscriptionSpec,
    TopicPattern, MAX_FETCH,
};
use crate::error::{Error, Result};

/// The default subscription name of the recorder.
pub const DEFAULT_RECORDER_NAME: &str = "hive-history";

/// How a [`HistoryRecorder`] subscribes and fetches.
#[derive(Clone, Debug)]
pub struct RecorderOptions {
    /// The durable subscription's name. Default [`DEFAULT_RECORDER_NAME`].
    pub name: String,
    /// What is recorded. Default `>`: every user topic (not the broker's own
    /// `_hive.…` topics, whose dead letters are copies of messages recorded
    /// already).
    pub patterns: Vec<TopicPattern>,
    /// Where a new subscription starts. Default [`StartAt::Beginning`]: a
    /// first recorder also records what the broker still retains.
    pub start: StartAt,
    /// Deliveries fetched, and recorded, per round. Default 256, at most
    /// [`MAX_FETCH`].
    pub batch: usize,
    /// This consumer's name within the subscription. Default `recorder-` and
    /// a random suffix.
    pub consumer: String,
    /// How long one fetch waits for messages; also the longest a
    /// [`shutdown`](HistoryRecorder::shutdown) waits for an idle recorder.
    /// Default 1 s.
    pub wait: Duration,
    /// The subscription's ack timeout: a batch not acknowledged within it
    /// (the recorder crashed) is delivered again. Default 60 s.
    pub ack_timeout: Duration,
    /// Deliveries after which the broker dead-letters an unrecorded message.
    /// Default 100: the recorder retries a failing store with the batch in
    /// hand, without fetching, so only crashes count.
    pub max_deliveries: u32,
    /// Longest pause between retries while the broker or the store fails.
    /// Default 5 s.
    pub max_backoff: Duration,
}

impl Default for RecorderOptions {
    fn default() -> Self {
        RecorderOptions {
            name: DEFAULT_RECORDER_NAME.to_owned(),
            // `>` is a valid pattern; the iterator holds exactly it.
            patterns: TopicPattern::new(">").into_iter().collect(),
            start: StartAt::Beginning,
            batch: 256,
            consumer: format!(
                "recorder-{}",
                &uuid::Uuid::new_v4().simple().to_string()[..8]
            ),
            wait: Duration::from_secs(1),
            ack_timeout: Duration::from_secs(60),
            max_deliveries: 100,
            max_backoff: Duration::from_secs(5),
        }
    }
}

impl RecorderOptions {
    /// The subscription these options describe.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad name, consumer, pattern set or batch.
    pub fn spec(&self) -> Result<SubscriptionSpec> {
        check_name("consumer", &self.consumer)?;
        if self.batch == 0 || self.batch > MAX_FETCH {
            return Err(Error::invalid(format!(
                "recorder batch must be 1 to {MAX_FETCH}, not {}",
                self.batch
            )));
        }
        let spec = SubscriptionSpec {
            name: self.name.clone(),
            patterns: self.patterns.clone(),
            start: self.start,
            ack_timeout: self.ack_timeout,
            max_deliveries: self.max_deliveries,
        };
        spec.validate()?;
        Ok(spec)
    }
}

/// A running recorder: a tokio task copying a subscription's messages into
/// a [`MessageStore`]. Dropping the handle stops it too, without waiting.
///
/// ```no_run
/// use hive_core::broker::history::{self, HistoryRecorder, HistoryQuery};
/// use hive_core::broker::{self as hive_broker, BrokerConfig};
///
/// # #[tokio::main]
/// # async fn main() -> hive_core::Result<()> {
/// let broker = hive_broker::open("sqlite://hive.db", BrokerConfig::default()).await?;
/// let store = history::open("sqlite://hive.db").await?;
/// let recorder = HistoryRecorder::start(broker, store.clone(), Default::default()).await?;
/// // … agents talk …
/// let last = store.query(&HistoryQuery::new().newest_first().limit(10)).await?;
/// recorder.shutdown().await?;
/// # Ok(()) }
/// ```
#[derive(Debug)]
pub struct HistoryRecorder {
    name: String,
    cancel: CancellationToken,
    task: Option<JoinHandle<Result<()>>>,
    recorded: Arc<AtomicU64>,
}

impl HistoryRecorder {
    /// Creates (or resumes) the subscription, then starts recording in a
    /// task. Messages published after this returns are recorded.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad options; what [`Broker::subscribe`]
    /// returns (a [`Error::Conflict`] when a subscription of that name
    /// listens to other patterns).
    pub async fn start(
        broker: Arc<dyn Broker>,
        store: Arc<dyn MessageStore>,
        options: RecorderOptions,
    ) -> Result<Self> {
        let spec = options.spec()?;
        let info = broker.subscribe(spec).await?;
        let cancel = CancellationToken::new();
        let recorded = Arc::new(AtomicU64::new(0));
        let run = Run {
            broker,
            store,
            name: info.name.clone(),
            options,
            cancel: cancel.clone(),
            recorded: recorded.clone(),
        };
        Ok(HistoryRecorder {
            name: info.name,
            cancel,
            task: Some(tokio::spawn(run.run())),
            recorded,
        })
    }

    /// The subscription's name.
    pub fn subscription(&self) -> &str {
        &self.name
    }

    /// How many messages this recorder stored that the store did not hold.
    pub fn recorded(&self) -> u64 {
        self.recorded.load(Ordering::Relaxed)
    }

    /// True once the recorder stopped: shut down, or failed (then
    /// [`shutdown`](Self::shutdown) returns why).
    pub fn is_finished(&self) -> bool {
        self.task.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stops after the batch in hand is recorded and acknowledged (a fetch
    /// under way finishes first: at most [`RecorderOptions::wait`]), and
    /// waits for it. A batch whose store or broker is failing is given up
    /// unacknowledged; the broker delivers it again later.
    ///
    /// # Errors
    /// The error that stopped the recorder before it was asked to, if any.
    pub async fn shutdown(mut self) -> Result<()> {
        self.cancel.cancel();
        match self.task.take() {
            Some(task) => match task.await {
                Ok(outcome) => outcome,
                Err(e) if e.is_panic() => std::panic::resume_unwind(e.into_panic()),
                Err(e) => Err(Error::backend("recorder", e)),
            },
            None => Ok(()),
        }
    }
}

impl Drop for HistoryRecorder {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}

/// Exponential backoff that a cancellation cuts short.
struct Backoff {
    next: Duration,
    max: Duration,
}

impl Backoff {
    const FIRST: Duration = Duration::from_millis(50);

    fn new(max: Duration) -> Self {
        Backoff {
            next: Self::FIRST,
            max,
        }
    }

    /// Sleeps; false when cancelled meanwhile.
    async fn sleep(&mut self, cancel: &CancellationToken) -> bool {
        let pause = self.next.min(self.max);
        self.next = (self.next * 2).min(self.max);
        tokio::select! {
            _ = cancel.cancelled() => false,
            _ = tokio::time::sleep(pause) => true,
        }
    }
}

/// What a retried step came to.
enum Step<T> {
    Done(T),
    /// Shutdown was asked for while the step kept failing.
    Cancelled,
}

/// The recorder's task.
struct Run {
    broker: Arc<dyn Broker>,
    store: Arc<dyn MessageStore>,
    name: String,
    options: RecorderOptions,
    cancel: CancellationToken,
    recorded: Arc<AtomicU64>,
}

impl Run {
    async fn run(self) -> Result<()> {
        let outcome = self.rounds().await;
        if let Err(e) = &outcome {
            tracing::error!(subscription = %self.name, error = %e, "history recorder stopped");
        }
        outcome
    }

    async fn rounds(&self) -> Result<()> {
        while !self.cancel.is_cancelled() {
            let fetched = self
                .retrying("fetch", || {
                    self.broker.fetch(
                        &self.name,
                        &self.options.consumer,
                        self.options.batch,
                        self.options.wait,
                    )
                })
                .await?;
            let batch = match fetched {
                Step::Done(batch) => batch,
                Step::Cancelled => return Ok(()),
            };
            if batch.is_empty() {
                continue;
            }
            let Step::Done(receipts) = self.record(&batch).await? else {
                return Ok(());
            };
            if let Step::Cancelled = self.ack(&receipts).await? {
                return Ok(());
            }
        }
        Ok(())
    }

    /// Runs `op` until it succeeds, fails for good, or shutdown is asked
    /// for while it keeps failing.
    async fn retrying<T, F, Fut>(&self, what: &str, mut op: F) -> Result<Step<T>>
    where
        F: FnMut() -> Fut,
        Fut: std::future::Future<Output = Result<T>>,
    {
        let mut backoff = Backoff::new(self.options.max_backoff);
        loop {
            match op().await {
                Ok(v) => return Ok(Step::Done(v)),
                Err(e) if e.is_transient() => {
                    tracing::warn!(
                        subscription = %self.name,
                        error = %e,
                        "history recorder: {what} failed; retrying"
                    );
                    if !backoff.sleep(&self.cancel).await {
                        return Ok(Step::Cancelled);
                    }
                }
                Err(e) => return Err(e),
            }
        }
    }

    /// Records a batch; answers the receipts to acknowledge (those of the
    /// messages now in the store).
    async fn record(&self, batch: &[Delivery]) -> Result<Step<Vec<Receipt>>> {
        let stored: Vec<StoredMessage> = batch
            .iter()
            .map(|d| StoredMessage {
                message: d.message.clone(),
                offset: d.receipt.offset,
                published_at: d.published_at,
            })
            .collect();
        match self.retrying("record", || self.store.record(&stored)).await {
            Ok(Step::Done(new)) => {
                self.recorded.fetch_add(new, Ordering::Relaxed);
                Ok(Step::Done(
                    batch.iter().map(|d| d.receipt.clone()).collect(),
                ))
            }
            Ok(Step::Cancelled) => Ok(Step::Cancelled),
            // Some message of the batch cannot be stored: find it.
            Err(Error::InvalidInput(_)) => self.record_one_by_one(batch, &stored).await,
            Err(e) => Err(e),
        }
    }

    /// Records messages one at a time, rejecting those the store refuses.
    async fn record_one_by_one(
        &self,
        batch: &[Delivery],
        stored: &[StoredMessage],
    ) -> Result<Step<Vec<Receipt>>> {
        let mut receipts = Vec::with_capacity(batch.len());
        for (d, s) in batch.iter().zip(stored) {
            match self
                .retrying("record", || self.store.record(std::slice::from_ref(s)))
                .await
            {
                Ok(Step::Done(new)) => {
                    self.recorded.fetch_add(new, Ordering::Relaxed);
                    receipts.push(d.receipt.clone());
                }
                Ok(Step::Cancelled) => return Ok(Step::Cancelled),
                Err(Error::InvalidInput(reason)) => {
                    tracing::warn!(
                        subscription = %self.name,
                        message = %d.message.id,
                        %reason,
                        "history recorder: the store refuses this message; dead-lettering it"
                    );
                    let reject = Nack::Reject {
                        reason: format!("history cannot store this message: {reason}"),
                    };
                    let rejected = self
                        .retrying("reject", || {
                            self.broker.nack(&self.name, &d.receipt, reject.clone())
                        })
                        .await;
                    match rejected {
                        Ok(Step::Done(())) | Err(Error::NotFound { .. } | Error::Conflict(_)) => {}
                        Ok(Step::Cancelled) => return Ok(Step::Cancelled),
                        Err(e) => return Err(e),
                    }
                }
                Err(e) => return Err(e),
            }
        }
        Ok(Step::Done(receipts))
    }

    /// Acknowledges recorded messages. A receipt the broker no longer holds
    /// as in flight (its ack timeout ran out meanwhile) is only logged: the
    /// message comes back, and recording it again changes nothing.
    async fn ack(&self, receipts: &[Receipt]) -> Result<Step<()>> {
        if receipts.is_empty() {
            return Ok(Step::Done(()));
        }
        match self
            .retrying("ack", || self.broker.ack(&self.name, receipts))
            .await
        {
            Err(e @ (Error::NotFound { .. } | Error::Conflict(_))) => {
                tracing::warn!(
                    subscription = %self.name,
                    error = %e,
                    "history recorder: some acknowledgements were refused"
                );
                Ok(Step::Done(()))
            }
            other => other,
        }
    }
}
