//! Durable subscriptions on the log: a cursor per subscription, a row per
//! delivery in flight, dead letters and replays as entries of the broker's
//! own topics.
//!
//! A subscription's cursor is the highest offset it has considered; offsets
//! are global and grow in commit order, so one cursor covers every topic it
//! matches, topics created later included. Fetching moves the cursor past
//! what it hands out and records each delivery with its due time; an ack
//! deletes the record; a due record is handed out again or, after the
//! subscription's limit, dead-lettered.

use std::collections::HashMap;
use std::time::Duration;

use sqlx::{Row, SqliteConnection};

use super::db_err;
use super::log::{self, offset_of, parse, seq_of, TopicCache};
use crate::broker::{
    dead_letter_headers, DeadLetter, Delivery, Message, Nack, Offset, Receipt, StartAt,
    SubscriptionInfo, SubscriptionSpec, Topic, TopicPattern,
};
use crate::error::{Error, Result};
use crate::time::{duration_ms, from_ms};

/// A subscription's stored row.
pub(super) struct Sub {
    pub name: String,
    pub patterns: Vec<TopicPattern>,
    created_at: i64,
    ack_timeout_ms: i64,
    max_deliveries: i64,
    cursor: i64,
}

impl Sub {
    fn from_row(row: &sqlx::sqlite::SqliteRow) -> Result<Self> {
        let patterns: String = row.try_get(1).map_err(db_err)?;
        Ok(Sub {
            name: row.try_get(0).map_err(db_err)?,
            patterns: serde_json::from_str(&patterns)
                .map_err(|e| Error::backend("sqlite", format!("stored patterns: {e}")))?,
            created_at: row.try_get(2).map_err(db_err)?,
            ack_timeout_ms: row.try_get(3).map_err(db_err)?,
            max_deliveries: row.try_get(4).map_err(db_err)?,
            cursor: row.try_get(5).map_err(db_err)?,
        })
    }

    fn info(&self, pending: u64, dead_letters: u64) -> SubscriptionInfo {
        SubscriptionInfo {
            name: self.name.clone(),
            patterns: self.patterns.clone(),
            created_at: from_ms(self.created_at),
            ack_timeout: Duration::from_millis(u64::try_from(self.ack_timeout_ms).unwrap_or(0)),
            max_deliveries: u32::try_from(self.max_deliveries).unwrap_or(u32::MAX),
            pending,
            dead_letters,
        }
    }

    /// True when this subscription receives what is stored in `topic`.
    fn listens_to(&self, topic: &Topic) -> bool {
        self.patterns.iter().any(|p| p.matches(topic))
            || Topic::replay(&self.name).is_ok_and(|r| &r == topic)
    }
}

pub(super) async fn load(conn: &mut SqliteConnection, name: &str) -> Result<Sub> {
    let row = sqlx::query(include_str!("sql/subscription.sql"))
        .bind(name)
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    match row {
        Some(row) => Sub::from_row(&row),
        None => Err(Error::not_found("subscription", name)),
    }
}

async fn count_topic(conn: &mut SqliteConnection, topic: &Topic) -> Result<u64> {
    let n: i64 = sqlx::query_scalar(include_str!("sql/count_topic.sql"))
        .bind(topic.as_str())
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

async fn pending_counts(conn: &mut SqliteConnection) -> Result<HashMap<String, u64>> {
    let rows: Vec<(String, i64)> = sqlx::query_as(include_str!("sql/pending_counts.sql"))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(rows
        .into_iter()
        .map(|(s, n)| (s, u64::try_from(n).unwrap_or(0)))
        .collect())
}

async fn info_of(conn: &mut SqliteConnection, sub: &Sub) -> Result<SubscriptionInfo> {
    let pending = pending_counts(conn).await?.remove(&sub.name).unwrap_or(0);
    let dead = count_topic(conn, &Topic::dead_letters(&sub.name)?).await?;
    Ok(sub.info(pending, dead))
}

/// Creates or resumes a subscription.
pub(super) async fn subscribe(
    conn: &mut SqliteConnection,
    spec: &SubscriptionSpec,
    now: i64,
) -> Result<SubscriptionInfo> {
    let patterns = spec.pattern_set();
    let ack = duration_ms(spec.ack_timeout);
    match load(conn, &spec.name).await {
        Ok(existing) => {
            if existing.patterns != patterns {
                return Err(Error::conflict(format!(
                    "subscription {:?} exists with patterns {:?}; unsubscribe it first to change them",
                    spec.name,
                    existing.patterns.iter().map(|p| p.as_str()).collect::<Vec<_>>()
                )));
            }
            sqlx::query(include_str!("sql/update_subscription.sql"))
                .bind(&spec.name)
                .bind(ack)
                .bind(i64::from(spec.max_deliveries))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            let updated = load(conn, &spec.name).await?;
            info_of(conn, &updated).await
        }
        Err(Error::NotFound { .. }) => {
            let cursor = log::cursor_for(conn, spec.start).await?;
            let stored =
                serde_json::to_string(&patterns).map_err(|e| Error::backend("sqlite", e))?;
            sqlx::query(include_str!("sql/insert_subscription.sql"))
                .bind(&spec.name)
                .bind(stored)
                .bind(now)
                .bind(ack)
                .bind(i64::from(spec.max_deliveries))
                .bind(cursor)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            let created = load(conn, &spec.name).await?;
            Ok(created.info(0, 0))
        }
        Err(e) => Err(e),
    }
}

/// Deletes a subscription with its pending deliveries, dead letters and
/// replays.
pub(super) async fn unsubscribe(conn: &mut SqliteConnection, name: &str) -> Result<()> {
    load(conn, name).await?;
    for (sql, value) in [
        (
            include_str!("sql/delete_subscription.sql"),
            name.to_string(),
        ),
        (include_str!("sql/delete_pending_of.sql"), name.to_string()),
        (
            include_str!("sql/delete_topic.sql"),
            Topic::dead_letters(name)?.to_string(),
        ),
        (
            include_str!("sql/delete_topic.sql"),
            Topic::replay(name)?.to_string(),
        ),
    ] {
        sqlx::query(sql)
            .bind(value)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(())
}

/// Every subscription with its counts.
pub(super) async fn list(conn: &mut SqliteConnection) -> Result<Vec<SubscriptionInfo>> {
    let rows = sqlx::query(include_str!("sql/subscriptions.sql"))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let subs = rows.iter().map(Sub::from_row).collect::<Result<Vec<_>>>()?;
    let pending = pending_counts(conn).await?;
    let mut out = Vec::with_capacity(subs.len());
    for sub in subs {
        let dead = count_topic(conn, &Topic::dead_letters(&sub.name)?).await?;
        out.push(sub.info(pending.get(&sub.name).copied().unwrap_or(0), dead));
    }
    Ok(out)
}

/// Which topics each subscription matches, extended as topics appear.
#[derive(Default)]
pub(super) struct MatchCache {
    by_sub: HashMap<String, Matched>,
}

struct Matched {
    patterns: Vec<TopicPattern>,
    scanned: usize,
    topics: Vec<String>,
}

impl MatchCache {
    fn matching(&mut self, sub: &Sub, topics: &TopicCache) -> &[String] {
        let entry = self
            .by_sub
            .entry(sub.name.clone())
            .or_insert_with(|| Matched {
                patterns: sub.patterns.clone(),
                scanned: 0,
                topics: Vec::new(),
            });
        if entry.patterns != sub.patterns {
            // The subscription was deleted and made again with other patterns.
            *entry = Matched {
                patterns: sub.patterns.clone(),
                scanned: 0,
                topics: Vec::new(),
            };
        }
        for topic in &topics.list[entry.scanned..] {
            if sub.listens_to(topic) {
                entry.topics.push(topic.as_str().to_string());
            }
        }
        entry.scanned = topics.list.len();
        &entry.topics
    }
}

/// What a fetch hands out, and when the subscription's next in-flight
/// delivery falls due (so a waiting fetch knows when to look again).
pub(super) struct Fetched {
    pub deliveries: Vec<Delivery>,
    pub next_due: Option<i64>,
}

/// Above this many matching topics a fetch scans the log instead of
/// listing the topics in the query.
const MAX_IN_LIST: usize = 200;

/// Hands out due redeliveries, then new messages.
#[allow(clippy::too_many_arguments)]
pub(super) async fn fetch(
    conn: &mut SqliteConnection,
    topics: &mut TopicCache,
    matches: &mut MatchCache,
    name: &str,
    consumer: &str,
    max: usize,
    now: i64,
) -> Result<Fetched> {
    let sub = load(conn, name).await?;
    let due_at = now + sub.ack_timeout_ms;
    let mut out: Vec<Delivery> = Vec::new();

    let due = sqlx::query(include_str!("sql/due.sql"))
        .bind(name)
        .bind(now)
        .bind(i64::try_from(max).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    for row in due {
        let seq: i64 = row.try_get(0).map_err(db_err)?;
        let deliveries: i64 = row.try_get(1).map_err(db_err)?;
        let body: Option<String> = row.try_get(2).map_err(db_err)?;
        let stored_in: Option<String> = row.try_get(3).map_err(db_err)?;
        let at: Option<i64> = row.try_get(4).map_err(db_err)?;
        let (Some(body), Some(stored_in), Some(at)) = (body, stored_in, at) else {
            forget(conn, name, seq).await?;
            continue;
        };
        if deliveries >= sub.max_deliveries {
            let reason = format!("not acknowledged after {deliveries} deliveries");
            dead_letter(conn, topics, &sub, seq, &body, deliveries, &reason, now).await?;
            continue;
        }
        sqlx::query(include_str!("sql/redeliver.sql"))
            .bind(name)
            .bind(seq)
            .bind(consumer)
            .bind(due_at)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        out.push(delivery(seq, stored_in, at, &body, deliveries + 1)?);
    }

    if out.len() < max {
        topics.refresh(conn).await?;
        let want = max - out.len();
        let matched = matches.matching(&sub, topics).to_vec();
        let head = log::head(conn).await?;
        let (fresh, cursor) = if matched.is_empty() || sub.cursor >= head {
            (Vec::new(), head.max(sub.cursor))
        } else if matched.len() <= MAX_IN_LIST {
            new_in_topics(conn, &matched, sub.cursor, want, head).await?
        } else {
            new_by_scan(conn, &sub, sub.cursor, want, head).await?
        };
        if !fresh.is_empty() {
            let mut sql = String::from(
                "INSERT OR REPLACE INTO broker_pending (subscription, seq, deliveries, consumer, due_at) VALUES ",
            );
            for i in 0..fresh.len() {
                sql.push_str(if i == 0 {
                    "(?, ?, 1, ?, ?)"
                } else {
                    ",(?, ?, 1, ?, ?)"
                });
            }
            let mut q = sqlx::query(&sql);
            for (seq, _, _, _) in &fresh {
                q = q.bind(name).bind(*seq).bind(consumer).bind(due_at);
            }
            q.execute(&mut *conn).await.map_err(db_err)?;
        }
        if cursor != sub.cursor {
            set_cursor(conn, name, cursor).await?;
        }
        for (seq, stored_in, at, body) in fresh {
            out.push(delivery(seq, stored_in, at, &body, 1)?);
        }
    }

    // Only a fetch that found nothing needs to know when to look again.
    let next_due: Option<i64> = if out.is_empty() {
        sqlx::query_scalar(include_str!("sql/next_due.sql"))
            .bind(name)
            .fetch_one(&mut *conn)
            .await
            .map_err(db_err)?
    } else {
        None
    };
    Ok(Fetched {
        deliveries: out,
        next_due,
    })
}

/// New entries as `(offset, stored topic, stored at, body)`, and the cursor
/// after them.
type Fresh = (Vec<(i64, String, i64, String)>, i64);

/// New messages on the listed topics; the cursor moves to the last one
/// handed out, or to the head when the page was not full (everything up to
/// the head has then been considered).
async fn new_in_topics(
    conn: &mut SqliteConnection,
    topics: &[String],
    cursor: i64,
    want: usize,
    head: i64,
) -> Result<Fresh> {
    // Built from a fixed fragment per topic; every value is bound.
    let mut sql = String::from(
        "SELECT seq, topic, body, published_at FROM broker_messages WHERE seq > ? AND seq <= ? AND topic IN (",
    );
    for i in 0..topics.len() {
        sql.push_str(if i == 0 { "?" } else { ",?" });
    }
    sql.push_str(") ORDER BY seq LIMIT ?");
    let mut q = sqlx::query(&sql).bind(cursor).bind(head);
    for t in topics {
        q = q.bind(t);
    }
    let rows = q
        .bind(i64::try_from(want).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    let mut fresh = Vec::with_capacity(rows.len());
    for row in &rows {
        fresh.push((
            row.try_get::<i64, _>(0).map_err(db_err)?,
            row.try_get::<String, _>(1).map_err(db_err)?,
            row.try_get::<i64, _>(3).map_err(db_err)?,
            row.try_get::<String, _>(2).map_err(db_err)?,
        ));
    }
    let cursor = match fresh.last() {
        Some((last, _, _, _)) if fresh.len() == want => *last,
        _ => head,
    };
    Ok((fresh, cursor))
}

/// New messages by walking the log in pages, for subscriptions matching
/// too many topics to list.
async fn new_by_scan(
    conn: &mut SqliteConnection,
    sub: &Sub,
    mut cursor: i64,
    want: usize,
    head: i64,
) -> Result<Fresh> {
    let mut fresh = Vec::new();
    while cursor < head && fresh.len() < want {
        let rows = sqlx::query(
            "SELECT seq, topic, body, published_at FROM broker_messages WHERE seq > ?1 AND seq <= ?2 ORDER BY seq LIMIT 500",
        )
        .bind(cursor)
        .bind(head)
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
        if rows.is_empty() {
            cursor = head;
            break;
        }
        for row in &rows {
            let seq: i64 = row.try_get(0).map_err(db_err)?;
            let topic: String = row.try_get(1).map_err(db_err)?;
            cursor = seq;
            if Topic::new(topic.as_str()).is_ok_and(|t| sub.listens_to(&t)) {
                fresh.push((
                    seq,
                    topic,
                    row.try_get::<i64, _>(3).map_err(db_err)?,
                    row.try_get::<String, _>(2).map_err(db_err)?,
                ));
                if fresh.len() == want {
                    break;
                }
            }
        }
    }
    Ok((fresh, cursor))
}

/// A delivery of the entry at `seq`, stored in `stored_in` (the message's
/// own topic, or the replay topic for a replayed dead letter).
fn delivery(seq: i64, stored_in: String, at: i64, body: &str, deliveries: i64) -> Result<Delivery> {
    let message = parse(body)?;
    Ok(Delivery {
        receipt: Receipt {
            topic: Topic::new(stored_in)?,
            offset: offset_of(seq),
        },
        message,
        published_at: from_ms(at),
        deliveries: u32::try_from(deliveries).unwrap_or(u32::MAX),
    })
}

async fn forget(conn: &mut SqliteConnection, name: &str, seq: i64) -> Result<()> {
    sqlx::query(include_str!("sql/forget_pending.sql"))
        .bind(name)
        .bind(seq)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

/// Moves an in-flight message to the subscription's dead-letter topic.
#[allow(clippy::too_many_arguments)]
async fn dead_letter(
    conn: &mut SqliteConnection,
    topics: &mut TopicCache,
    sub: &Sub,
    seq: i64,
    body: &str,
    deliveries: i64,
    reason: &str,
    now: i64,
) -> Result<()> {
    let mut message: Message = parse(body)?;
    message
        .headers
        .insert(dead_letter_headers::REASON.into(), reason.into());
    message
        .headers
        .insert(dead_letter_headers::SUBSCRIPTION.into(), sub.name.clone());
    message.headers.insert(
        dead_letter_headers::DELIVERIES.into(),
        deliveries.to_string(),
    );
    log::append_one(
        conn,
        topics,
        &Topic::dead_letters(&sub.name)?,
        &message,
        now,
    )
    .await?;
    forget(conn, &sub.name, seq).await
}

/// Why a receipt cannot be settled: never this subscription's, or settled.
/// `Err` only when storage fails.
async fn unsettled(conn: &mut SqliteConnection, sub: &Sub, receipt: &Receipt) -> Result<Error> {
    let stored: Option<String> = sqlx::query_scalar(include_str!("sql/message_at.sql"))
        .bind(seq_of(receipt.offset))
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    let delivered_once = stored.as_deref() == Some(receipt.topic.as_str())
        && sub.listens_to(&receipt.topic)
        && seq_of(receipt.offset) <= sub.cursor;
    Ok(if delivered_once {
        Error::conflict(format!(
            "receipt {receipt} of subscription {:?} is not in flight: already acknowledged or dead-lettered",
            sub.name
        ))
    } else {
        Error::not_found(
            "receipt",
            format!("{receipt} (subscription {:?})", sub.name),
        )
    })
}

/// Receipts per acknowledging statement: 2 parameters each.
const ACK_CHUNK: usize = 400;

/// Acknowledges every receipt it can, a chunk per statement; reports the
/// first that it cannot.
pub(super) async fn ack(
    conn: &mut SqliteConnection,
    name: &str,
    receipts: &[Receipt],
) -> Result<()> {
    let sub = load(conn, name).await?;
    let mut first_error = None;
    for chunk in receipts.chunks(ACK_CHUNK) {
        // Built from a fixed fragment per receipt; every value is bound. A
        // receipt counts only when its offset holds its topic.
        let mut sql = String::from("WITH r(seq, topic) AS (VALUES ");
        for i in 0..chunk.len() {
            sql.push_str(if i == 0 { "(?, ?)" } else { ",(?, ?)" });
        }
        sql.push_str(
            ") DELETE FROM broker_pending WHERE subscription = ? AND seq IN \
             (SELECT r.seq FROM r JOIN broker_messages m ON m.seq = r.seq AND m.topic = r.topic) \
             RETURNING seq",
        );
        let mut q = sqlx::query_scalar::<_, i64>(&sql);
        for r in chunk {
            q = q.bind(seq_of(r.offset)).bind(r.topic.as_str());
        }
        let acked: std::collections::HashSet<i64> = q
            .bind(name)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?
            .into_iter()
            .collect();
        if acked.len() < chunk.len() && first_error.is_none() {
            if let Some(bad) = chunk.iter().find(|r| !acked.contains(&seq_of(r.offset))) {
                first_error = Some(unsettled(conn, &sub, bad).await?);
            }
        }
    }
    first_error.map_or(Ok(()), Err)
}

/// Retry later or dead-letter now.
pub(super) async fn nack(
    conn: &mut SqliteConnection,
    topics: &mut TopicCache,
    name: &str,
    receipt: &Receipt,
    action: &Nack,
    now: i64,
) -> Result<()> {
    let sub = load(conn, name).await?;
    let seq = seq_of(receipt.offset);
    let row = sqlx::query(include_str!("sql/pending_one.sql"))
        .bind(name)
        .bind(seq)
        .bind(receipt.topic.as_str())
        .fetch_optional(&mut *conn)
        .await
        .map_err(db_err)?;
    let Some(row) = row else {
        return Err(unsettled(conn, &sub, receipt).await?);
    };
    match action {
        Nack::Retry { after } => {
            sqlx::query(include_str!("sql/delay.sql"))
                .bind(name)
                .bind(seq)
                .bind(now.saturating_add(duration_ms(*after)))
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
        }
        Nack::Reject { reason } => {
            let deliveries: i64 = row.try_get(0).map_err(db_err)?;
            let body: String = row.try_get(1).map_err(db_err)?;
            dead_letter(conn, topics, &sub, seq, &body, deliveries, reason, now).await?;
        }
    }
    Ok(())
}

/// Moves a subscription's cursor.
pub(super) async fn seek(conn: &mut SqliteConnection, name: &str, to: StartAt) -> Result<()> {
    load(conn, name).await?;
    let cursor = log::cursor_for(conn, to).await?;
    set_cursor(conn, name, cursor).await
}

/// Stores a subscription's cursor: the highest offset it has considered.
async fn set_cursor(conn: &mut SqliteConnection, name: &str, cursor: i64) -> Result<()> {
    sqlx::query(include_str!("sql/set_cursor.sql"))
        .bind(name)
        .bind(cursor)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    Ok(())
}

fn dead_from(sub: &str, stored: crate::broker::StoredMessage) -> DeadLetter {
    let header = |k: &str| stored.message.headers.get(k).cloned();
    DeadLetter {
        offset: stored.offset,
        subscription: sub.to_string(),
        reason: header(dead_letter_headers::REASON).unwrap_or_default(),
        deliveries: header(dead_letter_headers::DELIVERIES)
            .and_then(|d| d.parse().ok())
            .unwrap_or(0),
        dead_at: stored.published_at,
        message: stored.message,
    }
}

async fn dead_rows(
    conn: &mut SqliteConnection,
    name: &str,
    limit: usize,
) -> Result<Vec<crate::broker::StoredMessage>> {
    let rows = sqlx::query(include_str!("sql/topic_rows.sql"))
        .bind(Topic::dead_letters(name)?.as_str())
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(log::stored).collect()
}

/// A subscription's dead letters, oldest first.
pub(super) async fn dead_letters(
    conn: &mut SqliteConnection,
    name: &str,
    limit: usize,
) -> Result<Vec<DeadLetter>> {
    load(conn, name).await?;
    Ok(dead_rows(conn, name, limit)
        .await?
        .into_iter()
        .map(|s| dead_from(name, s))
        .collect())
}

fn selected(offsets: Option<&[Offset]>, offset: Offset) -> bool {
    offsets.is_none_or(|list| list.contains(&offset))
}

/// Sends dead letters back to their subscription through its replay topic.
pub(super) async fn replay(
    conn: &mut SqliteConnection,
    topics: &mut TopicCache,
    name: &str,
    offsets: Option<&[Offset]>,
    now: i64,
) -> Result<u64> {
    load(conn, name).await?;
    let dead_topic = Topic::dead_letters(name)?;
    let replay_topic = Topic::replay(name)?;
    let mut n = 0;
    for stored in dead_rows(conn, name, usize::MAX).await? {
        if !selected(offsets, stored.offset) {
            continue;
        }
        let mut message = stored.message;
        for h in [
            dead_letter_headers::REASON,
            dead_letter_headers::SUBSCRIPTION,
            dead_letter_headers::DELIVERIES,
        ] {
            message.headers.remove(h);
        }
        log::append_one(conn, topics, &replay_topic, &message, now).await?;
        delete_entry(conn, &dead_topic, stored.offset).await?;
        n += 1;
    }
    Ok(n)
}

/// Deletes dead letters.
pub(super) async fn purge(
    conn: &mut SqliteConnection,
    name: &str,
    offsets: Option<&[Offset]>,
) -> Result<u64> {
    load(conn, name).await?;
    let dead_topic = Topic::dead_letters(name)?;
    let done = match offsets {
        None => sqlx::query(include_str!("sql/delete_topic.sql"))
            .bind(dead_topic.as_str())
            .execute(&mut *conn)
            .await
            .map_err(db_err)?
            .rows_affected(),
        Some(list) => {
            let mut n = 0;
            for offset in list {
                n += delete_entry(conn, &dead_topic, *offset).await?;
            }
            n
        }
    };
    Ok(done)
}

/// Deletes the entry at `offset` if `topic` holds it; answers how many rows
/// went (0 or 1).
async fn delete_entry(conn: &mut SqliteConnection, topic: &Topic, offset: Offset) -> Result<u64> {
    Ok(sqlx::query(include_str!("sql/delete_entry.sql"))
        .bind(topic.as_str())
        .bind(seq_of(offset))
        .execute(&mut *conn)
        .await
        .map_err(db_err)?
        .rows_affected())
}
