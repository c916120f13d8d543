//! A task's history: one [`TaskAttempt`] per counted attempt, kept by every
//! backend in the same atomic step as the transition that starts or ends it.
//!
//! The task itself shows only its current state (its `error` is cleared once
//! it runs again); what each earlier attempt did — who ran it, when, how it
//! ended and with what error — lives here.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};
use crate::time::{from_ms, opt_from_ms};

/// How one attempt ended, or that it is still running.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AttemptOutcome {
    /// The lease is held: the attempt has not ended yet.
    Running,
    /// The worker completed the task.
    Completed,
    /// The worker failed it (retryable or permanent); `error` says why.
    Failed,
    /// The attempt ran past the task's timeout and `reap` failed it.
    TimedOut,
    /// The lease ran out without a heartbeat, or the worker was declared
    /// dead (`Queue::expire_worker`); `error` says which.
    LeaseExpired,
    /// The task was cancelled while this attempt held it.
    Cancelled,
}

impl AttemptOutcome {
    /// Every outcome.
    pub const ALL: [AttemptOutcome; 6] = [
        AttemptOutcome::Running,
        AttemptOutcome::Completed,
        AttemptOutcome::Failed,
        AttemptOutcome::TimedOut,
        AttemptOutcome::LeaseExpired,
        AttemptOutcome::Cancelled,
    ];

    /// The stable lower-case name used in storage and on the wire.
    pub fn as_str(self) -> &'static str {
        match self {
            AttemptOutcome::Running => "running",
            AttemptOutcome::Completed => "completed",
            AttemptOutcome::Failed => "failed",
            AttemptOutcome::TimedOut => "timed_out",
            AttemptOutcome::LeaseExpired => "lease_expired",
            AttemptOutcome::Cancelled => "cancelled",
        }
    }
}

impl fmt::Display for AttemptOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AttemptOutcome {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        AttemptOutcome::ALL
            .into_iter()
            .find(|o| o.as_str() == s)
            .ok_or_else(|| Error::invalid(format!("unknown attempt outcome {s:?}")))
    }
}

/// One counted attempt of a task.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct TaskAttempt {
    /// Which attempt this was, counting as [`Task::attempts`](super::Task::attempts)
    /// does: 1 for the first. A dead letter retried by hand starts a new
    /// attempt budget, numbered from 1 again.
    pub attempt: u32,
    /// The worker that held the lease (`agent-<id>` for an agent).
    pub worker: String,
    /// When the attempt was claimed.
    pub started_at: DateTime<Utc>,
    /// When it ended; null while it runs.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub finished_at: Option<DateTime<Utc>>,
    /// How it ended.
    pub outcome: AttemptOutcome,
    /// The error of a failed, timed-out or expired attempt.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub error: Option<String>,
}

/// An attempt as stored: text and integers, before any parsing (a SQL row,
/// or one JSON entry of a Redis list with the same field names).
#[derive(Debug, Clone, sqlx::FromRow, Deserialize)]
#[cfg_attr(
    not(any(feature = "sqlite", feature = "postgres", feature = "redis")),
    allow(dead_code)
)]
pub(crate) struct AttemptRow {
    pub attempt: i64,
    pub worker: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
    pub outcome: String,
    pub error: Option<String>,
}

impl AttemptRow {
    /// The domain attempt.
    pub fn into_attempt(self, backend: &'static str) -> Result<TaskAttempt> {
        let corrupt = |what: &str, e: &dyn fmt::Display| {
            Error::backend(
                backend,
                format!("stored attempt has an unreadable {what}: {e}"),
            )
        };
        Ok(TaskAttempt {
            attempt: u32::try_from(self.attempt).map_err(|e| corrupt("number", &e))?,
            worker: self.worker,
            started_at: from_ms(self.started_at),
            finished_at: opt_from_ms(self.finished_at),
            outcome: AttemptOutcome::from_str(&self.outcome).map_err(|e| corrupt("outcome", &e))?,
            error: self.error,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_names_round_trip() {
        for o in AttemptOutcome::ALL {
            assert_eq!(o.as_str().parse::<AttemptOutcome>().expect("parse"), o);
            assert_eq!(
                serde_json::to_string(&o).expect("ser"),
                format!("\"{}\"", o.as_str())
            );
            assert_eq!(o.to_string(), o.as_str());
        }
        assert!("released".parse::<AttemptOutcome>().is_err());
    }

    #[test]
    fn rows_convert_and_corrupt_rows_are_named() {
        let row = AttemptRow {
            attempt: 2,
            worker: "w".into(),
            started_at: 1_000,
            finished_at: Some(2_000),
            outcome: "failed".into(),
            error: Some("boom".into()),
        };
        let a = row.clone().into_attempt("sqlite").expect("convert");
        assert_eq!(
            (a.attempt, a.outcome, a.error.as_deref()),
            (2, AttemptOutcome::Failed, Some("boom"))
        );
        assert_eq!(a.finished_at, Some(from_ms(2_000)));
        let bad = AttemptRow {
            outcome: "exploded".into(),
            ..row
        };
        let err = bad.into_attempt("sqlite").unwrap_err().to_string();
        assert!(err.contains("outcome"), "{err}");
    }
}
