//! The broker's single writer: one task owns the write connection and
//! commits operations in groups, as the embedded queue's writer does.
//!
//! Group commit is what makes durable publishing fast here: every publish
//! waiting when the writer wakes goes into one transaction (their rows into
//! one multi-row INSERT) and shares one fsync; callers hear back only after
//! the commit. A caller that drops its future cannot leave the connection
//! inside a transaction.

use std::sync::Arc;

use sqlx::{Connection, SqliteConnection};
use tokio::sync::{mpsc, Notify};

use super::log::{self, Entry, TopicCache};
use super::subscriptions::{self, Fetched, MatchCache};
use crate::broker::{
    DeadLetter, Nack, Offset, Published, Receipt, Retention, StartAt, StoredMessage,
    SubscriptionInfo, SubscriptionSpec, Topic, TrimReport,
};
use crate::error::{Error, Result};
use crate::time::now_ms;

/// Most operations committed in one transaction.
const MAX_GROUP: usize = 512;

/// Scheduling rounds the writer waits for more operations before a commit.
const GATHER_ROUNDS: usize = 2;

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

impl Op {
    /// True when the operation may give waiting fetches something to take.
    fn may_wake(&self) -> bool {
        matches!(
            self,
            Op::Publish(_) | Op::Nack(..) | Op::Seek(..) | Op::Replay(..)
        )
    }

    fn is_read(&self) -> bool {
        matches!(
            self,
            Op::Read(..) | Op::Topics | Op::Subscriptions | Op::DeadLetters(..)
        )
    }
}

pub(super) type Job = crate::storage::sqlite::Job<Op, Reply>;

/// The writer's memory between groups.
struct State {
    topics: TopicCache,
    matches: MatchCache,
}

/// Runs until every sender is gone.
pub(super) async fn run(
    mut conn: SqliteConnection,
    mut jobs: mpsc::Receiver<Job>,
    wake: Arc<Notify>,
) {
    let mut state = State {
        topics: TopicCache::default(),
        matches: MatchCache::default(),
    };
    let mut group: Vec<Job> = Vec::with_capacity(MAX_GROUP);
    while jobs.recv_many(&mut group, MAX_GROUP).await > 0 {
        // Publishers that just heard back are about to send again: a couple
        // of scheduling rounds lets them join this group and its fsync.
        for _ in 0..GATHER_ROUNDS {
            tokio::task::yield_now().await;
            while group.len() < MAX_GROUP {
                match jobs.try_recv() {
                    Ok(job) => group.push(job),
                    Err(_) => break,
                }
            }
        }
        let wakes = group.iter().any(|j| j.op.may_wake());
        let results = run_group(&mut conn, &mut state, &group).await;
        for (job, result) in group.drain(..).zip(results) {
            // The caller may have gone away; its operation still happened.
            let _ = job.reply.send(result);
        }
        if wakes {
            wake.notify_waiters();
        }
    }
    let _ = conn.close().await;
}

async fn run_group(
    conn: &mut SqliteConnection,
    state: &mut State,
    group: &[Job],
) -> Vec<Result<Reply>> {
    if group.iter().all(|j| j.op.is_read()) {
        let mut out = Vec::with_capacity(group.len());
        for job in group {
            out.push(execute(conn, state, &job.op).await);
        }
        return out;
    }
    if let Err(e) = sqlx::query("BEGIN IMMEDIATE").execute(&mut *conn).await {
        return failed_group(group.len(), &e.to_string());
    }
    match write_group(conn, state, group).await {
        Ok(out) => match sqlx::query("COMMIT").execute(&mut *conn).await {
            Ok(_) => out,
            Err(e) => {
                let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
                forget_uncommitted(state);
                failed_group(group.len(), &e.to_string())
            }
        },
        Err(e) => {
            let _ = sqlx::query("ROLLBACK").execute(&mut *conn).await;
            forget_uncommitted(state);
            failed_group(group.len(), &e.to_string())
        }
    }
}

/// After a rollback the writer's memory may describe rows that were never
/// committed (topics it registered): start it afresh.
fn forget_uncommitted(state: &mut State) {
    state.topics = TopicCache::default();
    state.matches = MatchCache::default();
}

fn failed_group(n: usize, why: &str) -> Vec<Result<Reply>> {
    let msg = format!("storage failed, nothing of this operation was stored: {why}");
    (0..n)
        .map(|_| Err(Error::backend("sqlite", msg.clone())))
        .collect()
}

/// Runs a group inside the open transaction: all publishes first, as one
/// append, then the rest in arrival order. `Err` only for storage failures,
/// which roll the whole group back; a caller error (an unknown subscription)
/// answers that caller alone.
async fn write_group(
    conn: &mut SqliteConnection,
    state: &mut State,
    group: &[Job],
) -> Result<Vec<Result<Reply>>> {
    let now = now_ms();
    let mut out: Vec<Option<Result<Reply>>> = (0..group.len()).map(|_| None).collect();
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
        let mut published = log::append(conn, &mut state.topics, &all, now)
            .await?
            .into_iter();
        for (i, entries) in publishes {
            out[i] = Some(Ok(Reply::Published(
                published.by_ref().take(entries.len()).collect(),
            )));
        }
    }
    for (i, job) in group.iter().enumerate() {
        if out[i].is_some() {
            continue;
        }
        let result = execute(conn, state, &job.op).await;
        if let Err(Error::Backend { source, .. }) = result {
            return Err(Error::backend("sqlite", source.to_string()));
        }
        out[i] = Some(result);
    }
    Ok(out
        .into_iter()
        .map(|r| r.unwrap_or_else(|| Err(Error::backend("sqlite", "operation was not run"))))
        .collect())
}

async fn execute(conn: &mut SqliteConnection, state: &mut State, op: &Op) -> Result<Reply> {
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
