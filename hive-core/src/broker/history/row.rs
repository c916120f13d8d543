//! A history row as both backends read and write it: plain text and
//! integers, so the conversion to and from [`StoredMessage`] is written once.
//!
//! Postgres keeps ids as `uuid` and payloads as `jsonb`; its statements cast
//! them to and from text at the edge, which costs nothing next to the round
//! trip and keeps one decoder for both backends.

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::broker::{Message, MessageId, Offset, StoredMessage, Topic};
use crate::error::{Error, Result};
use crate::time::from_ms;

/// One stored message, as an `INSERT` takes it and a `SELECT` returns it.
#[derive(Debug, sqlx::FromRow)]
pub(super) struct HistoryRow {
    pub id: String,
    pub topic: String,
    pub from_agent: Option<String>,
    pub to_agent: Option<String>,
    pub kind: String,
    pub correlation_id: Option<String>,
    pub payload: String,
    pub headers: String,
    pub created_at: i64,
    pub topic_offset: i64,
    pub published_at: i64,
}

/// Where a message sits in history's order: `published_at` in
/// milliseconds, then the id's text (whose order is the UUID's byte order).
#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct Position {
    pub published_at: i64,
    pub id: String,
}

impl Position {
    pub fn of(m: &StoredMessage) -> Self {
        Position {
            published_at: m.published_at.timestamp_millis(),
            id: uuid_text(m.message.id.0),
        }
    }
}

/// A UUID as stored: hyphenated, lowercase.
pub(super) fn uuid_text(id: Uuid) -> String {
    id.hyphenated().to_string()
}

/// The first whole millisecond at or after `t`: stored times are whole
/// milliseconds, so `stored >= t` holds exactly when `stored >= ceil_ms(t)`
/// (and likewise for `<`).
pub(super) fn ceil_ms(t: DateTime<Utc>) -> i64 {
    let floor = t.timestamp_millis();
    if t.timestamp_subsec_nanos() % 1_000_000 == 0 {
        floor
    } else {
        floor.saturating_add(1)
    }
}

/// Lowers a message for insertion.
///
/// # Errors
/// [`Error::InvalidInput`] for an offset no SQL integer holds.
pub(super) fn lower(m: &StoredMessage) -> Result<HistoryRow> {
    let msg = &m.message;
    let topic_offset = i64::try_from(m.offset.0).map_err(|_| {
        Error::invalid(format!(
            "message {}: offset {} is beyond what history can store",
            msg.id, m.offset
        ))
    })?;
    let headers = serde_json::to_string(&msg.headers)
        .map_err(|e| Error::invalid(format!("message {}: headers: {e}", msg.id)))?;
    Ok(HistoryRow {
        id: uuid_text(msg.id.0),
        topic: msg.topic.as_str().to_owned(),
        from_agent: msg.from.clone(),
        to_agent: msg.to.clone(),
        kind: msg.kind.clone(),
        correlation_id: msg.correlation_id.map(uuid_text),
        payload: msg.payload.to_string(),
        headers,
        created_at: msg.timestamp.timestamp_millis(),
        topic_offset,
        published_at: m.published_at.timestamp_millis(),
    })
}

impl HistoryRow {
    /// Where this row sits in history's order.
    pub fn position(&self) -> Position {
        Position {
            published_at: self.published_at,
            id: self.id.clone(),
        }
    }

    /// The row's topic, checked.
    pub fn topic(&self, backend: &'static str) -> Result<Topic> {
        Topic::new(self.topic.as_str()).map_err(|e| corrupt(backend, &self.id, e))
    }

    /// The stored message. A row that does not decode is a backend error:
    /// only [`lower`] writes rows, so something else changed it.
    pub fn decode(self, backend: &'static str) -> Result<StoredMessage> {
        let topic = self.topic(backend)?;
        let bad = |e: &dyn std::fmt::Display| corrupt(backend, &self.id, e);
        let id = Uuid::parse_str(&self.id).map_err(|e| bad(&e))?;
        let correlation_id = self
            .correlation_id
            .as_deref()
            .map(Uuid::parse_str)
            .transpose()
            .map_err(|e| bad(&e))?;
        let payload = serde_json::from_str(&self.payload).map_err(|e| bad(&e))?;
        let headers = serde_json::from_str(&self.headers).map_err(|e| bad(&e))?;
        let offset = u64::try_from(self.topic_offset).map_err(|e| bad(&e))?;
        Ok(StoredMessage {
            message: Message {
                id: MessageId(id),
                topic,
                from: self.from_agent,
                to: self.to_agent,
                kind: self.kind,
                payload,
                headers,
                correlation_id,
                timestamp: from_ms(self.created_at),
            },
            offset: Offset(offset),
            published_at: from_ms(self.published_at),
        })
    }
}

fn corrupt(backend: &'static str, id: &str, e: impl std::fmt::Display) -> Error {
    Error::backend(
        backend,
        format!("history row {id} does not decode as a message: {e}"),
    )
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;
    use serde_json::json;

    use super::*;

    #[test]
    fn ceil_ms_rounds_sub_millisecond_times_up() {
        let whole = Utc.timestamp_millis_opt(1_500).single().expect("time");
        assert_eq!(ceil_ms(whole), 1_500);
        let finer = whole + chrono::Duration::nanoseconds(1);
        assert_eq!(ceil_ms(finer), 1_501);
        let before_epoch = Utc.timestamp_millis_opt(-3).single().expect("time")
            + chrono::Duration::microseconds(500);
        assert_eq!(ceil_ms(before_epoch), -2);
    }

    #[test]
    fn rows_round_trip_to_the_millisecond() {
        let m = StoredMessage {
            message: Message::direct("coder", "k", json!({"a": [1, "two"]}))
                .expect("direct")
                .from_agent("planner")
                .header("h", "v")
                .correlation(Uuid::now_v7()),
            offset: Offset(9),
            published_at: Utc::now(),
        };
        let row = lower(&m).expect("lower");
        let back = row.decode("sqlite").expect("decode");
        assert_eq!(back.message.payload, m.message.payload);
        assert_eq!(back.message.headers, m.message.headers);
        assert_eq!(
            back.published_at.timestamp_millis(),
            m.published_at.timestamp_millis()
        );
        assert_eq!(back.published_at.timestamp_subsec_nanos() % 1_000_000, 0);
        let huge = StoredMessage {
            offset: Offset(u64::MAX),
            ..m
        };
        assert!(matches!(lower(&huge), Err(Error::InvalidInput(_))));
    }
}
