//! Stream entry ids as broker offsets, and start positions as the ids a
//! consumer group is set to.
//!
//! A Redis stream id is `<ms>-<seq>`: the server's clock when the entry was
//! added and a counter within that millisecond. The broker's [`Offset`] is
//! one `u64`, so the id is packed as `ms << 20 | seq`: 44 bits of
//! milliseconds last until the year 2527, and 2^20 entries in one
//! millisecond of one topic is beyond what one Redis can append. Packing
//! keeps the order of ids, so offsets grow as the contract asks.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::broker::{Offset, StartAt};
use crate::error::{Error, Result};
use crate::storage::redis::BACKEND;
use crate::time::from_ms;

const SEQ_BITS: u32 = 20;
const SEQ_MASK: u64 = (1 << SEQ_BITS) - 1;
const MS_LIMIT: u64 = 1 << (64 - SEQ_BITS);

/// One stream entry id.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub(super) struct StreamId {
    ms: u64,
    seq: u64,
}

impl StreamId {
    /// Reads `<ms>-<seq>` as Redis writes it.
    pub fn parse(text: &str) -> Result<Self> {
        let parsed = text
            .split_once('-')
            .and_then(|(ms, seq)| Some((ms.parse().ok()?, seq.parse().ok()?)));
        match parsed {
            Some((ms, seq)) => Ok(StreamId { ms, seq }),
            None => Err(Error::backend(
                BACKEND,
                format!("{text:?} is not a stream id"),
            )),
        }
    }

    /// The id an offset stands for (any offset stands for some id).
    pub fn from_offset(offset: Offset) -> Self {
        StreamId {
            ms: offset.0 >> SEQ_BITS,
            seq: offset.0 & SEQ_MASK,
        }
    }

    /// The offset of this id.
    ///
    /// # Errors
    /// [`Error::Backend`] for an id that does not fit (see the module docs).
    pub fn offset(self) -> Result<Offset> {
        if self.seq > SEQ_MASK || self.ms >= MS_LIMIT {
            return Err(Error::backend(
                BACKEND,
                format!("stream id {self} does not fit in an offset"),
            ));
        }
        Ok(Offset(self.ms << SEQ_BITS | self.seq))
    }

    /// When Redis added the entry.
    pub fn time(self) -> DateTime<Utc> {
        from_ms(i64::try_from(self.ms).unwrap_or(i64::MAX))
    }

    /// The id right before this one: a group set there delivers this one
    /// next. `0-0` for the first possible id (no entry can have it).
    fn before(self) -> StreamId {
        match (self.ms, self.seq) {
            (ms, seq) if seq > 0 => StreamId { ms, seq: seq - 1 },
            (ms, _) if ms > 0 => StreamId {
                ms: ms - 1,
                seq: u64::MAX,
            },
            _ => StreamId { ms: 0, seq: 0 },
        }
    }
}

impl fmt::Display for StreamId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}-{}", self.ms, self.seq)
    }
}

/// The first id at or after a start position, for `XRANGE`; `None` for
/// [`StartAt::New`] (nothing stored is new).
pub(super) fn first_id(start: StartAt) -> Option<StreamId> {
    match start {
        StartAt::New => None,
        StartAt::Beginning => Some(StreamId { ms: 0, seq: 0 }),
        StartAt::Offset(o) => Some(StreamId::from_offset(o)),
        StartAt::Time(t) => Some(StreamId {
            ms: u64::try_from(t.timestamp_millis()).unwrap_or(0),
            seq: 0,
        }),
    }
}

/// Where a consumer group goes for a start position, as the subscribe and
/// seek scripts take it: `new`, or the id right before the first entry to
/// deliver.
pub(super) fn group_start(start: StartAt) -> String {
    match first_id(start) {
        None => "new".to_string(),
        Some(first) => first.before().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_pack_into_offsets_in_order() {
        let ids = ["0-0", "0-1", "1-0", "1-1048575", "1717171717171-3"];
        let mut last = None;
        for text in ids {
            let id = StreamId::parse(text).expect("parse");
            assert_eq!(id.to_string(), text);
            let offset = id.offset().expect("fits");
            assert_eq!(StreamId::from_offset(offset), id);
            assert!(last < Some(offset), "{text} sorts after the one before");
            last = Some(offset);
        }
        assert!(StreamId::parse("1-1048576")
            .expect("parse")
            .offset()
            .is_err());
        for bad in ["", "1", "a-1", "1-", "-1"] {
            assert!(StreamId::parse(bad).is_err(), "{bad:?}");
        }
        assert_eq!(
            StreamId::parse("1717171717171-3").expect("parse").time(),
            from_ms(1_717_171_717_171)
        );
    }

    #[test]
    fn groups_start_right_before_the_first_entry_to_deliver() {
        let at = |o: u64| group_start(StartAt::Offset(Offset(o)));
        assert_eq!(at((5 << SEQ_BITS) | 2), "5-1");
        assert_eq!(at(5 << SEQ_BITS), "4-18446744073709551615");
        assert_eq!(at(0), "0-0");
        assert_eq!(group_start(StartAt::Beginning), "0-0");
        assert_eq!(group_start(StartAt::New), "new");
        assert_eq!(
            group_start(StartAt::Time(from_ms(1_000))),
            "999-18446744073709551615"
        );
        assert_eq!(
            first_id(StartAt::Time(from_ms(1_000))).map(|i| i.ms),
            Some(1_000)
        );
    }
}
