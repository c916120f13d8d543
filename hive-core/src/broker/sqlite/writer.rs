//! The broker's operations for its single writer (`storage::sqlite::writer`
//! runs the loop, as it does the embedded queue's).
//!
//! Group commit is what makes durable publishing fast here: every publish
//! waiting when the writer wakes goes into one transaction (their rows into
//! one multi-row INSERT) and shares one fsync; callers hear back only after
//! the commit. A caller that drops its future cannot leave the connection
//! inside a transaction.

use sqlx::SqliteConnection;

use super::log::{self, Entry, TopicCache};
use super::subscriptions::{self, Fetched, MatchCache};
use crate::broker::{
    DeadLetter, Nack, Offset, Published, Receipt, Retention, StartAt, StoredMessage,
    SubscriptionInfo, SubscriptionSpec, Topic, TrimReport,
};
use crate::error::Result;
use crate::storage::sqlite::writer::{Answers, Writer};
use crate::time::now_ms;

pub(super) enum Op {
    Publish(Vec<Entry>),
    Read(Topic, StartAt, usize),
    Topics,
    Subscribe(SubscriptionSpec),
    Unsubscribe(String),
    Subscriptions,
    Fetch {
        subscription: String,
        consumer: String,
        max: usize,
    },
    Ack(String, Vec<Receipt>),
    Nack(String, Receipt, Nack),
    Seek(String, StartAt),
    DeadLetters(String, usize),
    Replay(String, Option<Vec<Offset>>),
    Purge(String, Option<Vec<Offset>>),
    Trim(Retention),
}

pub(super) enum Reply {
    Published(Vec<Published>),
    Stored(Vec<StoredMessage>),
    Topics(Vec<Topic>),
    Info(SubscriptionInfo),
    Infos(Vec<SubscriptionInfo>),
    Fetched(Fetched),
    Done,
    Count(u64),
    Dead(Vec<DeadLetter>),
    Trimmed(TrimReport),
}

pub(super) type Job = crate::storage::sqlite::writer::Job<Op, Reply>;

/// The writer's memory between groups.
#[derive(Default)]
pub(super) struct BrokerWriter {
    topics: TopicCache,
    matches: MatchCache,
}

impl Writer for BrokerWriter {
    type Op = Op;
    type Reply = Reply;

    /// True when the operation may give waiting fetches something to take.
    fn may_wake(op: &Op) -> bool {
        matches!(
            op,
            Op::Publish(_) | Op::Nack(..) | Op::Seek(..) | Op::Replay(..)
        )
    }

    fn is_read(op: &Op) -> bool {
        matches!(
            op,
            Op::Read(..) | Op::Topics | Op::Subscriptions | Op::DeadLetters(..)
        )
    }

    async fn apply(&mut self, conn: &mut SqliteConnection, op: &Op) -> Result<Reply> {
        execute(conn, self, op).await
    }

    /// All publishes first, as one append, then the rest in arrival order.
    /// A caller error (an unknown subscription) answers that caller alone.
    async fn write_group(
        &mut self,
        conn: &mut SqliteConnection,
        group: &[Job],
        answers: &mut Answers<Reply>,
    ) -> Result<()> {
        let now = now_ms();
        let publishes: Vec<(usize, &Vec<Entry>)> = group
            .iter()
            .enumerate()
            .filter_map(|(i, j)| match &j.op {
                Op::Publish(entries) => Some((i, entries)),
                _ => None,
            })
            .collect();
        if !publishes.is_empty() {
            // One append for the whole group keeps each batch's messages
            // together and in order.
            let mut all: Vec<&Entry> = Vec::new();
            for (_, entries) in &publishes {
                all.extend(entries.iter());
            }
            let mut published = log::append(conn, &mut self.topics, &all, now)
                .await?
                .into_iter();
            for (i, entries) in publishes {
                answers.set(
                    i,
                    Ok(Reply::Published(
                        published.by_ref().take(entries.len()).collect(),
                    )),
                );
            }
        }
        answers.run_each(self, conn, group, |_| false).await
    }

    /// After a rollback the writer's memory may describe rows that were
    /// never committed (topics it registered): start it afresh.
    fn forget_uncommitted(&mut self) {
        *self = BrokerWriter::default();
    }
}

async fn execute(conn: &mut SqliteConnection, state: &mut BrokerWriter, op: &Op) -> Result<Reply> {
    let now = now_ms();
    Ok(match op {
        Op::Publish(entries) => {
            let refs: Vec<&Entry> = entries.iter().collect();
            Reply::Published(log::append(conn, &mut state.topics, &refs, now).await?)
        }
        Op::Read(topic, from, limit) => Reply::Stored(log::read(conn, topic, *from, *limit).await?),
        Op::Topics => Reply::Topics(log::topics(conn).await?),
        Op::Subscribe(spec) => Reply::Info(subscriptions::subscribe(conn, spec, now).await?),
        Op::Unsubscribe(name) => {
            subscriptions::unsubscribe(conn, name).await?;
            Reply::Done
        }
        Op::Subscriptions => Reply::Infos(subscriptions::list(conn).await?),
        Op::Fetch {
            subscription,
            consumer,
            max,
        } => Reply::Fetched(
            subscriptions::fetch(
                conn,
                &mut state.topics,
                &mut state.matches,
                subscription,
                consumer,
                *max,
                now,
            )
            .await?,
        ),
        Op::Ack(name, receipts) => {
            subscriptions::ack(conn, name, receipts).await?;
            Reply::Done
        }
        Op::Nack(name, receipt, action) => {
            subscriptions::nack(conn, &mut state.topics, name, receipt, action, now).await?;
            Reply::Done
        }
        Op::Seek(name, to) => {
            subscriptions::seek(conn, name, *to).await?;
            Reply::Done
        }
        Op::DeadLetters(name, limit) => {
            Reply::Dead(subscriptions::dead_letters(conn, name, *limit).await?)
        }
        Op::Replay(name, offsets) => Reply::Count(
            subscriptions::replay(conn, &mut state.topics, name, offsets.as_deref(), now).await?,
        ),
        Op::Purge(name, offsets) => {
            Reply::Count(subscriptions::purge(conn, name, offsets.as_deref()).await?)
        }
        Op::Trim(retention) => Reply::Trimmed(log::trim(conn, retention, now).await?),
    })
}
