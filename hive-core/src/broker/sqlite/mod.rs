//! The embedded broker: an append-only table in one SQLite file, a single
//! writer that commits in groups, and in-process wake-ups. The default.
//!
//! Every topic shares one log whose row id is the offset, so a subscription
//! is a cursor over it plus its in-flight deliveries (see
//! `subscriptions.rs`). Handles on the same file in one process share a
//! wake-up, so a fetch waiting in one returns as soon as another publishes;
//! across processes a waiting fetch polls (every
//! [`SqliteBrokerOptions::poll_interval`]).

mod log;
mod subscriptions;
mod writer;

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use tokio::sync::{mpsc, Notify};

use self::log::Entry;
use self::writer::{BrokerWriter, Job, Op, Reply};
use super::subscription::check_fetch;
use crate::broker::{
    Broker, BrokerConfig, DeadLetter, Delivery, Message, Nack, Offset, Published, Receipt, StartAt,
    StoredMessage, SubscriptionInfo, SubscriptionSpec, Topic, TrimReport,
};
use crate::error::{Error, Result};
use crate::storage::sqlite::writer::{self as single_writer, call, unexpected};
use crate::storage::sqlite::{connect_options, waker_for, Durability};
use crate::time::now_ms;

fn db_err(e: sqlx::Error) -> Error {
    Error::backend("sqlite", e)
}

/// Options for the embedded broker beyond [`BrokerConfig`].
#[derive(Clone, Debug)]
pub struct SqliteBrokerOptions {
    /// Commit durability. Default [`Durability::Full`]: a publish is
    /// answered after its fsync.
    pub durability: Durability,
    /// How long a writer waits for another process's lock. Default 5 s.
    pub busy_timeout: Duration,
    /// How often a waiting fetch looks for messages published by other
    /// processes (this process's publishes wake it at once). Default 100 ms.
    pub poll_interval: Duration,
}

impl Default for SqliteBrokerOptions {
    fn default() -> Self {
        SqliteBrokerOptions {
            durability: Durability::Full,
            busy_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_millis(100),
        }
    }
}

/// The embedded SQLite broker.
#[derive(Debug)]
pub struct SqliteBroker {
    config: BrokerConfig,
    options: SqliteBrokerOptions,
    jobs: mpsc::Sender<Job>,
    wake: Arc<Notify>,
}

impl SqliteBroker {
    /// Opens (creating if needed) the broker in the SQLite database at `url`
    /// (`sqlite://path/to/file.db` or `sqlite::memory:`).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad URL or config; [`Error::Backend`]
    /// when the file cannot be opened or migrated.
    pub async fn open(url: &str, config: BrokerConfig) -> Result<Self> {
        Self::open_with(url, config, SqliteBrokerOptions::default()).await
    }

    /// [`open`](Self::open) with explicit [`SqliteBrokerOptions`].
    ///
    /// # Errors
    /// As [`open`](Self::open).
    pub async fn open_with(
        url: &str,
        config: BrokerConfig,
        options: SqliteBrokerOptions,
    ) -> Result<Self> {
        config.validate()?;
        let (base, in_memory) = connect_options(url, options.durability, options.busy_timeout)?;
        let conn = single_writer::connect(&base).await?;
        let wake = if in_memory {
            Arc::new(Notify::new())
        } else {
            waker_for(base.get_filename().display().to_string())
        };
        let jobs = single_writer::spawn(conn, BrokerWriter::default(), wake.clone());
        Ok(SqliteBroker {
            config,
            options,
            jobs,
            wake,
        })
    }

    async fn call(&self, op: Op) -> Result<Reply> {
        call(&self.jobs, op).await
    }
}

/// Checks a batch and serialises each message once.
fn prepare(config: &BrokerConfig, messages: &[Message]) -> Result<Vec<Entry>> {
    messages
        .iter()
        .map(|m| {
            m.check(config.max_message_bytes)?;
            Ok(Entry {
                message_id: m.id,
                topic: m.topic.clone(),
                body: serde_json::to_string(m).map_err(|e| Error::invalid(e.to_string()))?,
            })
        })
        .collect()
}

#[async_trait]
impl Broker for SqliteBroker {
    fn backend(&self) -> &'static str {
        "sqlite"
    }

    fn config(&self) -> &BrokerConfig {
        &self.config
    }

    async fn publish_batch(&self, messages: Vec<Message>) -> Result<Vec<Published>> {
        let entries = prepare(&self.config, &messages)?;
        if entries.is_empty() {
            return Ok(Vec::new());
        }
        match self.call(Op::Publish(entries)).await? {
            Reply::Published(p) => Ok(p),
            _ => Err(unexpected("publish")),
        }
    }

    async fn read(&self, topic: &Topic, from: StartAt, limit: usize) -> Result<Vec<StoredMessage>> {
        match self.call(Op::Read(topic.clone(), from, limit)).await? {
            Reply::Stored(s) => Ok(s),
            _ => Err(unexpected("read")),
        }
    }

    async fn topics(&self) -> Result<Vec<Topic>> {
        match self.call(Op::Topics).await? {
            Reply::Topics(t) => Ok(t),
            _ => Err(unexpected("topics")),
        }
    }

    async fn subscribe(&self, spec: SubscriptionSpec) -> Result<SubscriptionInfo> {
        spec.validate()?;
        match self.call(Op::Subscribe(spec)).await? {
            Reply::Info(i) => Ok(i),
            _ => Err(unexpected("subscribe")),
        }
    }

    async fn unsubscribe(&self, subscription: &str) -> Result<()> {
        match self.call(Op::Unsubscribe(subscription.to_string())).await? {
            Reply::Done => Ok(()),
            _ => Err(unexpected("unsubscribe")),
        }
    }

    async fn subscriptions(&self) -> Result<Vec<SubscriptionInfo>> {
        match self.call(Op::Subscriptions).await? {
            Reply::Infos(i) => Ok(i),
            _ => Err(unexpected("subscriptions")),
        }
    }

    async fn fetch(
        &self,
        subscription: &str,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>> {
        check_fetch(consumer, max)?;
        let deadline = tokio::time::Instant::now() + wait;
        loop {
            // Registered before looking, so a publish committed while we
            // look still wakes us.
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            let fetched = match self
                .call(Op::Fetch {
                    subscription: subscription.to_string(),
                    consumer: consumer.to_string(),
                    max,
                })
                .await?
            {
                Reply::Fetched(f) => f,
                _ => return Err(unexpected("fetch")),
            };
            let now = tokio::time::Instant::now();
            if !fetched.deliveries.is_empty() || now >= deadline {
                return Ok(fetched.deliveries);
            }
            let mut pause = (deadline - now).min(self.options.poll_interval);
            if let Some(due) = fetched.next_due {
                let until_due = u64::try_from(due.saturating_sub(now_ms())).unwrap_or(0);
                pause = pause.min(Duration::from_millis(until_due.max(1)));
            }
            tokio::select! {
                () = notified => {}
                () = tokio::time::sleep(pause) => {}
            }
        }
    }

    async fn ack(&self, subscription: &str, receipts: &[Receipt]) -> Result<()> {
        match self
            .call(Op::Ack(subscription.to_string(), receipts.to_vec()))
            .await?
        {
            Reply::Done => Ok(()),
            _ => Err(unexpected("ack")),
        }
    }

    async fn nack(&self, subscription: &str, receipt: &Receipt, action: Nack) -> Result<()> {
        match self
            .call(Op::Nack(subscription.to_string(), receipt.clone(), action))
            .await?
        {
            Reply::Done => Ok(()),
            _ => Err(unexpected("nack")),
        }
    }

    async fn seek(&self, subscription: &str, to: StartAt) -> Result<()> {
        match self.call(Op::Seek(subscription.to_string(), to)).await? {
            Reply::Done => Ok(()),
            _ => Err(unexpected("seek")),
        }
    }

    async fn dead_letters(&self, subscription: &str, limit: usize) -> Result<Vec<DeadLetter>> {
        match self
            .call(Op::DeadLetters(subscription.to_string(), limit))
            .await?
        {
            Reply::Dead(d) => Ok(d),
            _ => Err(unexpected("dead_letters")),
        }
    }

    async fn replay_dead_letters(
        &self,
        subscription: &str,
        offsets: Option<&[Offset]>,
    ) -> Result<u64> {
        match self
            .call(Op::Replay(
                subscription.to_string(),
                offsets.map(<[Offset]>::to_vec),
            ))
            .await?
        {
            Reply::Count(n) => Ok(n),
            _ => Err(unexpected("replay_dead_letters")),
        }
    }

    async fn purge_dead_letters(
        &self,
        subscription: &str,
        offsets: Option<&[Offset]>,
    ) -> Result<u64> {
        match self
            .call(Op::Purge(
                subscription.to_string(),
                offsets.map(<[Offset]>::to_vec),
            ))
            .await?
        {
            Reply::Count(n) => Ok(n),
            _ => Err(unexpected("purge_dead_letters")),
        }
    }

    async fn trim(&self) -> Result<TrimReport> {
        match self.call(Op::Trim(self.config.retention.clone())).await? {
            Reply::Trimmed(r) => Ok(r),
            _ => Err(unexpected("trim")),
        }
    }
}
