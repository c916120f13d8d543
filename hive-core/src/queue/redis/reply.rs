//! Reading script replies: hashes into tasks and leases, refusals into the
//! errors every backend words the same way (through `rules.rs`).
//!
//! Replies are untrusted input in the sense that a corrupt key or another
//! program writing to our keys can put anything there: every shape is
//! checked and a surprise is an [`Error::Backend`], never a panic.

use std::collections::HashMap;
use std::str::FromStr;

use fred::types::Value;

use crate::error::{Error, Result};
use crate::queue::row::TaskRow;
use crate::queue::rules::{self, LeaseState};
use crate::queue::{Lease, LeaseKey, Task, TaskId, TaskStatus};

pub(super) const BACKEND: &str = "redis";

/// A reply that does not have the shape its script promises.
pub(super) fn malformed(what: &str, got: &Value) -> Error {
    Error::backend(
        BACKEND,
        format!("unexpected reply from the {what} script: {got:?}"),
    )
}

/// The elements of an array reply (nil reads as empty).
pub(super) fn array(v: Value) -> Vec<Value> {
    match v {
        Value::Null => Vec::new(),
        other => other.into_array(),
    }
}

/// A text element; nil and non-text elements read as `None`.
pub(super) fn text(v: &Value) -> Option<String> {
    v.as_string()
}

/// An integer element, whether Redis sent it as an integer or as text.
pub(super) fn int(v: &Value) -> Option<i64> {
    match v {
        Value::Integer(i) => Some(*i),
        other => other.as_str().and_then(|s| s.parse().ok()),
    }
}

/// A flat `field, value, …` array (HGETALL inside a script) as a map.
pub(super) fn hash(v: Value) -> Result<HashMap<String, String>> {
    let items = array(v);
    if items.len() % 2 != 0 {
        return Err(Error::backend(
            BACKEND,
            "a task hash has an odd field count",
        ));
    }
    let mut map = HashMap::with_capacity(items.len() / 2);
    let mut it = items.into_iter();
    while let (Some(k), Some(v)) = (it.next(), it.next()) {
        if let (Some(k), Some(v)) = (text(&k), text(&v)) {
            map.insert(k, v);
        }
    }
    Ok(map)
}

/// A task hash as a task.
pub(super) fn task(v: Value) -> Result<Task> {
    TaskRow::from_hash(BACKEND, hash(v)?)?.into_task(BACKEND)
}

/// An array of freshly leased task hashes as leases, in the script's order.
pub(super) fn leases(v: Value) -> Result<Vec<Lease>> {
    array(v)
        .into_iter()
        .map(|h| TaskRow::from_hash(BACKEND, hash(h)?)?.into_lease(BACKEND))
        .collect()
}

/// The tag (first element) of a tagged reply such as `{'ok', …}`.
pub(super) fn tag(items: &[Value]) -> String {
    items.first().and_then(text).unwrap_or_default()
}

/// The error for a `{'missing'}` or `{'stale', status, token, deadline,
/// now}` refusal of the attempt `lease`. The token check itself is redone
/// here with [`rules::check_token`], so the reason reads as in every other
/// backend; `now` is set only where the deadline counts (heartbeats).
pub(super) fn refusal(op: &str, lease: LeaseKey, items: &[Value]) -> Error {
    match tag(items).as_str() {
        "missing" => Error::not_found("task", lease.task_id),
        "stale" => {
            let field = |i: usize| items.get(i).and_then(text).filter(|s| !s.is_empty());
            let Some(status) = field(1).and_then(|s| TaskStatus::from_str(&s).ok()) else {
                return Error::backend(BACKEND, format!("{op}: a task has no valid status"));
            };
            let token = field(2);
            let state = LeaseState {
                status,
                token: token.as_deref(),
                deadline: field(3).and_then(|s| s.parse().ok()),
            };
            let now = field(4).and_then(|s| s.parse().ok());
            match rules::check_token(
                &lease.task_id.to_string(),
                &lease.token.to_string(),
                &state,
                now,
            ) {
                Err(e) => e,
                Ok(()) => Error::backend(
                    BACKEND,
                    format!("{op} refused a token that rules::check_token accepts"),
                ),
            }
        }
        _ => Error::backend(BACKEND, format!("unexpected reply from the {op} script")),
    }
}

/// A task id written by a script.
pub(super) fn task_id(v: &Value) -> Result<TaskId> {
    let s = text(v).ok_or_else(|| malformed("submit", v))?;
    TaskId::from_str(&s).map_err(|e| Error::backend(BACKEND, e.to_string()))
}
