//! W3C trace context: the `traceparent` a caller sends with a task, so one
//! request can be followed across the processes that handle it.
//!
//! A task carries the `traceparent` it was submitted with
//! ([`NewTask::traceparent`](crate::queue::NewTask::traceparent)); the agent
//! that runs it logs its trace id on every line, its events carry it, and a
//! webhook agent sends a child of it (same trace id, a fresh parent id) to
//! its endpoint. Only the `traceparent` header is handled; `tracestate` is
//! vendor data this runtime has no use for.
//!
//! The format (<https://www.w3.org/TR/trace-context/#traceparent-header>):
//! `version-traceid-parentid-flags` in lower-case hex: a 2-digit version,
//! a 32-digit trace id, a 16-digit parent id and 2-digit flags; neither id
//! all zeros; version `ff` is invalid. A later version is read by its first
//! four fields, as the recommendation asks, and stored as version `00`.

use std::fmt;
use std::str::FromStr;

use crate::error::{Error, Result};

/// A parsed `traceparent`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct TraceParent {
    trace_id: [u8; 16],
    parent_id: [u8; 8],
    flags: u8,
}

impl TraceParent {
    /// The trace id, 32 lower-case hex digits.
    pub fn trace_id(&self) -> String {
        hex(&self.trace_id)
    }

    /// The id of the caller's span, 16 lower-case hex digits.
    pub fn parent_id(&self) -> String {
        hex(&self.parent_id)
    }

    /// The trace flags (bit 0: sampled).
    pub fn flags(&self) -> u8 {
        self.flags
    }

    /// The same trace with a fresh parent id: what a hop sends onwards as
    /// its own span.
    pub fn child(&self) -> TraceParent {
        let mut parent_id = [0u8; 8];
        // Random bytes from a v4 UUID (never all zeros: its version nibble
        // is set).
        parent_id.copy_from_slice(&uuid::Uuid::new_v4().as_bytes()[..8]);
        if parent_id == [0; 8] {
            parent_id[7] = 1;
        }
        TraceParent {
            trace_id: self.trace_id,
            parent_id,
            flags: self.flags,
        }
    }
}

fn hex(bytes: &[u8]) -> String {
    use fmt::Write;
    bytes
        .iter()
        .fold(String::with_capacity(bytes.len() * 2), |mut s, b| {
            let _ = write!(s, "{b:02x}");
            s
        })
}

fn unhex<const N: usize>(s: &str) -> Option<[u8; N]> {
    if s.len() != N * 2 || !s.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
        return None;
    }
    let mut out = [0u8; N];
    for (i, byte) in out.iter_mut().enumerate() {
        *byte = u8::from_str_radix(&s[i * 2..i * 2 + 2], 16).ok()?;
    }
    Some(out)
}

impl FromStr for TraceParent {
    type Err = Error;

    /// # Errors
    /// [`Error::InvalidInput`] for anything the recommendation does not
    /// accept, with the reason.
    fn from_str(s: &str) -> Result<Self> {
        let bad = |why: &str| {
            let shown: String = s.chars().take(80).collect();
            Error::invalid(format!(
                "traceparent {shown:?} is not a W3C traceparent \
                 (version-traceid-parentid-flags, e.g. \
                 00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01): {why}"
            ))
        };
        let s_trim = s.trim();
        let mut parts = s_trim.splitn(5, '-');
        let (Some(version), Some(trace), Some(parent), Some(flags)) =
            (parts.next(), parts.next(), parts.next(), parts.next())
        else {
            return Err(bad("it needs four fields separated by '-'"));
        };
        let rest = parts.next();
        let version: [u8; 1] =
            unhex(version).ok_or_else(|| bad("the version is not 2 hex digits"))?;
        if version[0] == 0xff {
            return Err(bad("version ff is invalid"));
        }
        if version[0] == 0 && rest.is_some() {
            return Err(bad("version 00 has exactly four fields"));
        }
        let trace_id: [u8; 16] =
            unhex(trace).ok_or_else(|| bad("the trace id is not 32 lower-case hex digits"))?;
        if trace_id == [0; 16] {
            return Err(bad("the trace id is all zeros"));
        }
        let parent_id: [u8; 8] =
            unhex(parent).ok_or_else(|| bad("the parent id is not 16 lower-case hex digits"))?;
        if parent_id == [0; 8] {
            return Err(bad("the parent id is all zeros"));
        }
        let [flags] = unhex::<1>(flags).ok_or_else(|| bad("the flags are not 2 hex digits"))?;
        Ok(TraceParent {
            trace_id,
            parent_id,
            flags,
        })
    }
}

impl fmt::Display for TraceParent {
    /// The version-00 header value.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "00-{}-{}-{:02x}",
            self.trace_id(),
            self.parent_id(),
            self.flags
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const GOOD: &str = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";

    #[test]
    fn a_valid_header_round_trips() {
        let t: TraceParent = GOOD.parse().expect("valid");
        assert_eq!(t.trace_id(), "4bf92f3577b34da6a3ce929d0e0e4736");
        assert_eq!(t.parent_id(), "00f067aa0ba902b7");
        assert_eq!(t.flags(), 1);
        assert_eq!(t.to_string(), GOOD);
    }

    #[test]
    fn a_later_version_is_read_by_its_first_four_fields() {
        let t: TraceParent =
            "cc-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-what-comes-next"
                .parse()
                .expect("a future version");
        assert_eq!(t.to_string(), GOOD);
    }

    #[test]
    fn a_child_keeps_the_trace_and_flags_with_a_new_parent() {
        let t: TraceParent = GOOD.parse().expect("valid");
        let c = t.child();
        assert_eq!(c.trace_id(), t.trace_id());
        assert_eq!(c.flags(), t.flags());
        assert_ne!(c.parent_id(), t.parent_id());
        assert_ne!(c.parent_id(), "0000000000000000");
        assert_eq!(c.to_string().parse::<TraceParent>().expect("valid"), c);
    }

    #[test]
    fn malformed_headers_are_refused_with_the_reason() {
        let cases = [
            ("", "four fields"),
            ("00-abc", "four fields"),
            (
                "ff-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "version ff",
            ),
            (
                "0-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
                "version",
            ),
            (
                "00-4BF92F3577B34DA6A3CE929D0E0E4736-00f067aa0ba902b7-01",
                "trace id",
            ),
            (
                "00-00000000000000000000000000000000-00f067aa0ba902b7-01",
                "all zeros",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-0000000000000000-01",
                "all zeros",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b-01",
                "parent id",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-1",
                "flags",
            ),
            (
                "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01-x",
                "exactly four",
            ),
        ];
        for (header, why) in cases {
            let err = header.parse::<TraceParent>().expect_err(header);
            assert!(matches!(err, Error::InvalidInput(_)), "{err:?}");
            assert!(
                err.to_string().contains(why),
                "{header}: {err} should say {why}"
            );
        }
    }
}
