//! Reading the broker's replies: stream entries into messages, stored
//! messages and dead letters. The elements they are made of are read by
//! [`crate::storage::redis::reply`], which checks every shape: a surprise
//! is an [`Error::Backend`], never a panic.

use fred::types::Value;

use super::ids::StreamId;
use crate::broker::{dead_letter_headers, DeadLetter, Message, StoredMessage};
use crate::error::{Error, Result};
use crate::storage::redis::reply::{array, malformed, pairs, text};
use crate::storage::redis::BACKEND;

/// The stream field holding the message as JSON.
const MESSAGE_FIELD: &str = "m";
/// Stream fields with this prefix are headers the broker added (dead
/// letters carry them); readers see them among the message's headers.
const BROKER_FIELD_PREFIX: &str = "hive-dead-";

/// One stream entry: its id and its fields.
#[derive(Debug)]
pub(super) struct Entry {
    pub id: StreamId,
    fields: Vec<(String, String)>,
}

impl Entry {
    /// Reads `[id, [field, value, …]]`.
    pub fn parse(v: Value) -> Result<Entry> {
        let mut items = array(v).into_iter();
        let (Some(id), Some(fields)) = (items.next(), items.next()) else {
            return Err(Error::backend(
                BACKEND,
                "a stream entry is not [id, fields]",
            ));
        };
        let id = text(&id).ok_or_else(|| malformed("a stream entry id", &id))?;
        Ok(Entry {
            id: StreamId::parse(&id)?,
            fields: pairs(array(fields)).collect(),
        })
    }

    /// Reads an `XRANGE` reply.
    pub fn parse_all(v: Value) -> Result<Vec<Entry>> {
        array(v).into_iter().map(Entry::parse).collect()
    }

    fn field(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// The message as published, without the broker's headers.
    pub fn original(&self) -> Result<Message> {
        let json = self.field(MESSAGE_FIELD).ok_or_else(|| {
            Error::backend(BACKEND, format!("stream entry {} has no message", self.id))
        })?;
        serde_json::from_str(json).map_err(|e| {
            Error::backend(
                BACKEND,
                format!("stream entry {} holds no valid message: {e}", self.id),
            )
        })
    }

    /// The message as a reader of its stream sees it: with the headers the
    /// broker added (a dead letter's reason…).
    pub fn message(&self) -> Result<Message> {
        let mut message = self.original()?;
        for (k, v) in &self.fields {
            if k.starts_with(BROKER_FIELD_PREFIX) {
                message.headers.insert(k.clone(), v.clone());
            }
        }
        Ok(message)
    }

    /// As history returns it.
    pub fn stored(&self) -> Result<StoredMessage> {
        Ok(StoredMessage {
            message: self.message()?,
            offset: self.id.offset()?,
            published_at: self.id.time(),
        })
    }

    /// As an entry of a dead-letter stream.
    pub fn dead_letter(&self, subscription: &str) -> Result<DeadLetter> {
        Ok(DeadLetter {
            offset: self.id.offset()?,
            message: self.original()?,
            subscription: self
                .field(dead_letter_headers::SUBSCRIPTION)
                .unwrap_or(subscription)
                .to_string(),
            reason: self
                .field(dead_letter_headers::REASON)
                .unwrap_or_default()
                .to_string(),
            deliveries: self
                .field(dead_letter_headers::DELIVERIES)
                .and_then(|d| d.parse().ok())
                .unwrap_or(0),
            dead_at: self.id.time(),
        })
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::broker::Topic;

    fn entry(id: &str, fields: &[(&str, &str)]) -> Value {
        let flat: Vec<Value> = fields
            .iter()
            .flat_map(|(k, v)| [Value::from(*k), Value::from(*v)])
            .collect();
        Value::Array(vec![Value::from(id), Value::Array(flat)])
    }

    #[test]
    fn entries_read_as_messages_with_the_broker_headers() {
        let m = Message::new(Topic::new("a.b").expect("topic"), "k", json!({"n": 1}));
        let json = serde_json::to_string(&m).expect("ser");
        let plain = Entry::parse(entry("5-1", &[("m", &json)])).expect("entry");
        let stored = plain.stored().expect("stored");
        assert_eq!(stored.message, m);
        assert_eq!(
            stored.offset,
            StreamId::parse("5-1").expect("id").offset().expect("fits")
        );

        let dead = Entry::parse(entry(
            "6-0",
            &[
                ("m", &json),
                (dead_letter_headers::REASON, "boom"),
                (dead_letter_headers::SUBSCRIPTION, "s"),
                (dead_letter_headers::DELIVERIES, "3"),
            ],
        ))
        .expect("entry");
        let read = dead.message().expect("message");
        assert_eq!(
            read.headers
                .get(dead_letter_headers::REASON)
                .map(String::as_str),
            Some("boom")
        );
        let letter = dead.dead_letter("s").expect("dead letter");
        assert_eq!((letter.reason.as_str(), letter.deliveries), ("boom", 3));
        assert_eq!(letter.message, m, "the dead letter holds the original");
    }

    #[test]
    fn malformed_entries_are_backend_errors() {
        for bad in [Value::Null, Value::from("x"), entry("nope", &[("m", "{}")])] {
            assert!(Entry::parse(bad).is_err());
        }
        let no_message = Entry::parse(entry("1-1", &[("x", "y")])).expect("entry");
        assert!(no_message.message().is_err());
        let garbage = Entry::parse(entry("1-1", &[("m", "{")])).expect("entry");
        assert!(garbage.stored().is_err());
    }
}
