//! The append-only log: publishing, reading a topic, the topic list,
//! positions and retention.

use std::collections::HashSet;

use sqlx::{Row, SqliteConnection};

use super::db_err;
use crate::broker::{
    Message, Offset, Published, Retention, StartAt, StoredMessage, Topic, TrimReport,
};
use crate::error::{Error, Result};
use crate::time::{duration_ms, from_ms};

/// A message ready to store: checked and serialised by the caller.
pub(super) struct Entry {
    pub message_id: crate::broker::MessageId,
    pub topic: Topic,
    pub body: String,
}

/// Rows per multi-row INSERT: 4 parameters each, well under SQLite's limit.
const INSERT_CHUNK: usize = 500;

/// Stores entries in order with one multi-row INSERT per chunk. With
/// AUTOINCREMENT a statement's rows take consecutive offsets ending at the
/// last inserted rowid, so no RETURNING (whose order SQLite leaves open) is
/// needed.
pub(super) async fn append(
    conn: &mut SqliteConnection,
    topics: &mut TopicCache,
    entries: &[&Entry],
    now: i64,
) -> Result<Vec<Published>> {
    let mut out = Vec::with_capacity(entries.len());
    for chunk in entries.chunks(INSERT_CHUNK) {
        // Built from a fixed fragment per row; every value is bound.
        let mut sql =
            String::from("INSERT INTO broker_messages (topic, id, published_at, body) VALUES ");
        for i in 0..chunk.len() {
            if i > 0 {
                sql.push(',');
            }
            sql.push_str("(?, ?, ?, ?)");
        }
        let mut query = sqlx::query(&sql);
        for e in chunk {
            query = query
                .bind(e.topic.as_str())
                .bind(e.message_id.to_string())
                .bind(now)
                .bind(&e.body);
        }
        let done = query.execute(&mut *conn).await.map_err(db_err)?;
        let last = done.last_insert_rowid();
        let first = last - chunk.len() as i64 + 1;
        for (k, e) in chunk.iter().enumerate() {
            out.push(Published {
                id: e.message_id,
                topic: e.topic.clone(),
                offset: offset_of(first + k as i64),
                published_at: from_ms(now),
            });
        }
    }
    let mut seen = HashSet::new();
    for e in entries {
        if seen.insert(e.topic.as_str()) {
            topics.register(conn, &e.topic, now).await?;
        }
    }
    Ok(out)
}

/// Appends one entry (a dead letter, a replay) and returns its offset.
pub(super) async fn append_one(
    conn: &mut SqliteConnection,
    topics: &mut TopicCache,
    topic: &Topic,
    message: &Message,
    now: i64,
) -> Result<i64> {
    let body = serde_json::to_string(message).map_err(|e| Error::backend("sqlite", e))?;
    let done = sqlx::query(include_str!("sql/insert_one.sql"))
        .bind(topic.as_str())
        .bind(message.id.to_string())
        .bind(now)
        .bind(body)
        .execute(&mut *conn)
        .await
        .map_err(db_err)?;
    topics.register(conn, topic, now).await?;
    Ok(done.last_insert_rowid())
}

pub(super) fn offset_of(seq: i64) -> Offset {
    Offset(u64::try_from(seq).unwrap_or(0))
}

pub(super) fn seq_of(offset: Offset) -> i64 {
    i64::try_from(offset.0).unwrap_or(i64::MAX)
}

pub(super) fn parse(body: &str) -> Result<Message> {
    serde_json::from_str(body)
        .map_err(|e| Error::backend("sqlite", format!("a stored message is unreadable: {e}")))
}

/// A topic's messages from a position.
pub(super) async fn read(
    conn: &mut SqliteConnection,
    topic: &Topic,
    from: StartAt,
    limit: usize,
) -> Result<Vec<StoredMessage>> {
    let (seq, time) = match from {
        StartAt::New => return Ok(Vec::new()),
        StartAt::Beginning => (0, i64::MIN),
        StartAt::Offset(o) => (seq_of(o), i64::MIN),
        StartAt::Time(t) => (0, t.timestamp_millis()),
    };
    let rows = sqlx::query(include_str!("sql/read.sql"))
        .bind(topic.as_str())
        .bind(seq)
        .bind(time)
        .bind(i64::try_from(limit).unwrap_or(i64::MAX))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    rows.iter().map(stored).collect()
}

/// A `(seq, body, published_at)` row as a stored message.
pub(super) fn stored(row: &sqlx::sqlite::SqliteRow) -> Result<StoredMessage> {
    let seq: i64 = row.try_get(0).map_err(db_err)?;
    let body: String = row.try_get(1).map_err(db_err)?;
    let at: i64 = row.try_get(2).map_err(db_err)?;
    Ok(StoredMessage {
        message: parse(&body)?,
        offset: offset_of(seq),
        published_at: from_ms(at),
    })
}

/// Every topic, sorted.
pub(super) async fn topics(conn: &mut SqliteConnection) -> Result<Vec<Topic>> {
    let names: Vec<String> = sqlx::query_scalar(include_str!("sql/topics.sql"))
        .fetch_all(&mut *conn)
        .await
        .map_err(db_err)?;
    names.into_iter().map(Topic::new).collect()
}

/// The highest offset ever given out.
pub(super) async fn head(conn: &mut SqliteConnection) -> Result<i64> {
    sqlx::query_scalar(include_str!("sql/head.sql"))
        .fetch_one(&mut *conn)
        .await
        .map_err(db_err)
}

/// The cursor (highest offset already considered) that makes a subscription
/// deliver from `start` on.
pub(super) async fn cursor_for(conn: &mut SqliteConnection, start: StartAt) -> Result<i64> {
    Ok(match start {
        StartAt::New => head(conn).await?,
        StartAt::Beginning => 0,
        StartAt::Offset(o) => seq_of(o).saturating_sub(1).max(0),
        StartAt::Time(t) => {
            let first: Option<i64> = sqlx::query_scalar(include_str!("sql/first_since.sql"))
                .bind(t.timestamp_millis())
                .fetch_one(&mut *conn)
                .await
                .map_err(db_err)?;
            match first {
                Some(seq) => seq - 1,
                None => head(conn).await?,
            }
        }
    })
}

/// Applies retention to every topic.
pub(super) async fn trim(
    conn: &mut SqliteConnection,
    retention: &Retention,
    now: i64,
) -> Result<TrimReport> {
    let mut touched: HashSet<String> = HashSet::new();
    let mut removed = 0u64;
    if let Some(keep) = retention.max_messages {
        let keep = i64::try_from(keep).unwrap_or(i64::MAX);
        let over: Vec<(String, i64)> = sqlx::query_as(include_str!("sql/over_count.sql"))
            .bind(keep)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        for (topic, _) in over {
            let done = sqlx::query(include_str!("sql/trim_count.sql"))
                .bind(&topic)
                .bind(keep)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            removed += done.rows_affected();
            touched.insert(topic);
        }
    }
    if let Some(age) = retention.max_age {
        let cutoff = now.saturating_sub(duration_ms(age));
        let old: Vec<(String, i64)> = sqlx::query_as(include_str!("sql/older_than.sql"))
            .bind(cutoff)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        if !old.is_empty() {
            let done = sqlx::query(include_str!("sql/trim_age.sql"))
                .bind(cutoff)
                .execute(&mut *conn)
                .await
                .map_err(db_err)?;
            removed += done.rows_affected();
            touched.extend(old.into_iter().map(|(t, _)| t));
        }
    }
    if removed > 0 {
        sqlx::query(include_str!("sql/forget_orphans.sql"))
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
    }
    Ok(TrimReport {
        topics: touched.len() as u64,
        removed,
    })
}

/// The topics the writer knows, loaded incrementally: topics are never
/// deleted, so only rows added since the last look (by any process) are read.
#[derive(Default)]
pub(super) struct TopicCache {
    last_rowid: i64,
    known: HashSet<String>,
    /// Topics this writer has made sure are registered.
    registered: HashSet<String>,
    /// In registration order; a subscription's match list is extended by
    /// scanning only what was added since it last looked.
    pub list: Vec<Topic>,
}

impl TopicCache {
    /// Loads topics other handles or processes registered since last time.
    pub async fn refresh(&mut self, conn: &mut SqliteConnection) -> Result<()> {
        let rows: Vec<(i64, String)> = sqlx::query_as(include_str!("sql/new_topics.sql"))
            .bind(self.last_rowid)
            .fetch_all(&mut *conn)
            .await
            .map_err(db_err)?;
        for (rowid, name) in rows {
            self.last_rowid = rowid;
            if self.known.insert(name.clone()) {
                self.list.push(Topic::new(name)?);
            }
        }
        Ok(())
    }

    async fn register(
        &mut self,
        conn: &mut SqliteConnection,
        topic: &Topic,
        now: i64,
    ) -> Result<()> {
        if self.known.contains(topic.as_str()) || self.registered.contains(topic.as_str()) {
            return Ok(());
        }
        sqlx::query(include_str!("sql/register_topic.sql"))
            .bind(topic.as_str())
            .bind(now)
            .execute(&mut *conn)
            .await
            .map_err(db_err)?;
        // The list itself is extended by the next refresh, in rowid order.
        self.registered.insert(topic.as_str().to_string());
        Ok(())
    }
}
