//! One event: a numbered, timestamped happening with a dotted kind
//! (`task.completed`), the id of what it happened to, and a little data —
//! and the filter watchers choose kinds with.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

/// The kinds the hive itself emits. The first token is the event's
/// *topic* (`task`, `agent`, `session`, `message`, `queue`, `events`).
pub mod kinds {
    /// A task was stored (`data`: `type`, `priority`, `capabilities`,
    /// `depends_on`).
    pub const TASK_SUBMITTED: &str = "task.submitted";
    /// An attempt started (`data`: `worker`, `attempt`, `type`).
    pub const TASK_CLAIMED: &str = "task.claimed";
    /// An attempt succeeded.
    pub const TASK_COMPLETED: &str = "task.completed";
    /// An attempt failed and will be retried (`data`: `error`, `retry_at`).
    pub const TASK_FAILED: &str = "task.failed";
    /// A task ran out of attempts (or failed permanently) (`data`: `error`).
    pub const TASK_DEAD_LETTERED: &str = "task.dead_lettered";
    /// A leased task was given back without counting the attempt.
    pub const TASK_RELEASED: &str = "task.released";
    /// A task was cancelled.
    pub const TASK_CANCELLED: &str = "task.cancelled";
    /// A dead-lettered task went back to pending.
    pub const TASK_RETRIED: &str = "task.retried";
    /// Housekeeping moved tasks (`data`: `promoted`, `expired`,
    /// `timed_out`); emitted only when it moved something.
    pub const QUEUE_REAPED: &str = "queue.reaped";
    /// A dead worker's leases were ended (`subject`: the worker; `data`:
    /// `leases`).
    pub const QUEUE_WORKER_EXPIRED: &str = "queue.worker_expired";
    /// Dead letters were deleted (`data`: `purged`).
    pub const QUEUE_PURGED: &str = "queue.purged";
    /// Retention deleted tasks past their age (`data`: `finished`,
    /// `dead_letters`); emitted only when it deleted something. One event per
    /// purge, not one per task: the tasks simply stop existing.
    pub const QUEUE_EXPIRED: &str = "queue.expired";
    /// An agent joined the fleet (`data`: `name`, `kind`, `capabilities`).
    pub const AGENT_REGISTERED: &str = "agent.registered";
    /// An agent's health or lifecycle status changed (`data`: `name`,
    /// `status`).
    pub const AGENT_STATUS: &str = "agent.status";
    /// A session was opened (`data`: `name`, `agents`).
    pub const SESSION_CREATED: &str = "session.created";
    /// An agent joined a session (`data`: `agent`).
    pub const SESSION_JOINED: &str = "session.joined";
    /// A session's shared state was replaced.
    pub const SESSION_STATE: &str = "session.state";
    /// An utterance was recorded (`data`: `seq`, `from`, `kind`).
    pub const SESSION_MESSAGE: &str = "session.message";
    /// A session was closed.
    pub const SESSION_CLOSED: &str = "session.closed";
    /// A message was published on the broker (`subject`: the message id;
    /// `data`: `topic`, `offset`, `kind`, `from`, `to`).
    pub const MESSAGE_PUBLISHED: &str = "message.published";
    /// The hive could not record some events (its event log was
    /// unreachable and the buffer full): watchers should resynchronise
    /// (`data`: `lost`).
    pub const EVENTS_LOST: &str = "events.lost";
    /// A prompt label was moved by hand (`subject`: `agent/label`;
    /// `data`: `agent`, `label`, `to`, `moves`, `by`). An experiment's own
    /// moves are `experiment.promoted` and `experiment.rolled_back`.
    pub const PROMPT_LABEL_MOVED: &str = "prompt.label_moved";
}

/// An event as stored and delivered.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Event {
    /// Its number in the log: 1, 2, 3… without gaps.
    pub seq: u64,
    /// When it happened (the emitting process's clock).
    pub at: DateTime<Utc>,
    /// What happened, e.g. `task.completed`.
    pub kind: String,
    /// The id of what it happened to (a task, agent, session, message…).
    pub subject: String,
    /// Details, by kind (see [`kinds`]).
    #[serde(default)]
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub data: Value,
}

/// An event before the log numbers it.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewEvent {
    /// When it happened.
    pub at: DateTime<Utc>,
    /// What happened.
    pub kind: String,
    /// The id of what it happened to.
    pub subject: String,
    /// Details.
    #[serde(default)]
    pub data: Value,
}

impl NewEvent {
    /// An event of `kind` about `subject`, happening now.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] unless `kind` is dotted lowercase tokens
    /// (`a-z`, `0-9`, `_`), like `task.completed`.
    pub fn new(kind: impl Into<String>, subject: impl Into<String>, data: Value) -> Result<Self> {
        let kind = kind.into();
        check_kind(&kind)?;
        Ok(Self::known(kind, subject, data))
    }

    /// An event of one of the hive's own [`kinds`] (checked by tests).
    pub(crate) fn known(kind: impl Into<String>, subject: impl Into<String>, data: Value) -> Self {
        NewEvent {
            at: Utc::now(),
            kind: kind.into(),
            subject: subject.into(),
            data,
        }
    }

    /// The event numbered `seq`.
    pub fn numbered(self, seq: u64) -> Event {
        Event {
            seq,
            at: self.at,
            kind: self.kind,
            subject: self.subject,
            data: self.data,
        }
    }
}

fn check_kind(kind: &str) -> Result<()> {
    let ok = !kind.is_empty()
        && kind.split('.').all(|token| {
            !token.is_empty()
                && token
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        });
    if ok {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "event kind {kind:?} must be dotted lowercase tokens, like \"task.completed\""
        )))
    }
}

/// Which kinds a watcher wants. A pattern is a kind (`task.completed`), a
/// prefix of whole tokens (`task` or `task.*`: every task event) or `*`
/// (everything). No patterns means everything.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct EventFilter {
    prefixes: Vec<String>,
}

impl EventFilter {
    /// Every event.
    pub fn all() -> Self {
        EventFilter::default()
    }

    /// Events matching any of `patterns`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming a malformed pattern.
    pub fn patterns<I, S>(patterns: I) -> Result<Self>
    where
        I: IntoIterator<Item = S>,
        S: AsRef<str>,
    {
        let mut prefixes = Vec::new();
        for p in patterns {
            let p = p.as_ref().trim();
            if p == "*" {
                return Ok(EventFilter::all());
            }
            let prefix = p.strip_suffix(".*").unwrap_or(p);
            check_kind(prefix).map_err(|_| {
                Error::invalid(format!(
                    "event filter {p:?} must be a kind (task.completed), a prefix (task or task.*) or *"
                ))
            })?;
            prefixes.push(prefix.to_string());
        }
        Ok(EventFilter { prefixes })
    }

    /// Whether an event of `kind` passes.
    pub fn matches(&self, kind: &str) -> bool {
        self.prefixes.is_empty()
            || self.prefixes.iter().any(|p| {
                kind.strip_prefix(p.as_str())
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('.'))
            })
    }

    /// The patterns, as given (without `.*`); empty for everything.
    pub fn prefixes(&self) -> &[String] {
        &self.prefixes
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn kinds_are_checked() {
        assert!(NewEvent::new("custom.thing_1", "x", json!({})).is_ok());
        for bad in ["", "Task", "task.", ".task", "task..x", "task completed"] {
            let err = NewEvent::new(bad, "x", json!({}))
                .err()
                .map(|e| e.to_string());
            assert!(
                err.as_deref()
                    .is_some_and(|m| m.contains("dotted lowercase")),
                "{bad:?}: {err:?}"
            );
        }
        for kind in [
            kinds::TASK_SUBMITTED,
            kinds::TASK_DEAD_LETTERED,
            kinds::QUEUE_WORKER_EXPIRED,
            kinds::QUEUE_EXPIRED,
            kinds::AGENT_STATUS,
            kinds::SESSION_MESSAGE,
            kinds::MESSAGE_PUBLISHED,
            kinds::EVENTS_LOST,
        ] {
            assert!(check_kind(kind).is_ok(), "{kind}");
        }
    }

    #[test]
    fn filters_match_kinds_prefixes_and_everything() -> Result<()> {
        let f = EventFilter::patterns(["task", "agent.status"])?;
        assert!(f.matches("task.completed"));
        assert!(f.matches("agent.status"));
        assert!(!f.matches("agent.registered"));
        assert!(!f.matches("tasks.x"), "whole tokens only");
        let star = EventFilter::patterns(["task.*"])?;
        assert!(star.matches("task.claimed") && !star.matches("session.closed"));
        assert_eq!(star.prefixes(), ["task".to_string()]);
        assert!(EventFilter::patterns(["*", "task"])?.matches("anything.at_all"));
        assert!(EventFilter::all().matches("x"));
        let err = EventFilter::patterns(["Task!"])
            .err()
            .map(|e| e.to_string());
        assert!(
            err.as_deref().is_some_and(|m| m.contains("Task!")),
            "{err:?}"
        );
        Ok(())
    }

    #[test]
    fn events_round_trip_as_json() -> Result<()> {
        let e = NewEvent::new("task.completed", "t1", json!({ "n": 1 }))?.numbered(7);
        let text = serde_json::to_string(&e).expect("serialize");
        let back: Event = serde_json::from_str(&text).expect("deserialize");
        assert_eq!(back, e);
        assert!(text.contains("\"seq\":7") && text.contains("\"kind\":\"task.completed\""));
        Ok(())
    }
}
