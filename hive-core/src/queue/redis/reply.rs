//! Reading the queue's script replies: hashes into tasks and leases,
//! refusals into the errors every backend words the same way (through
//! `rules.rs`). The elements they are made of are read by
//! [`crate::storage::redis::reply`], which checks every shape: a surprise
//! is an [`Error::Backend`], never a panic.

use std::collections::HashMap;
use std::str::FromStr;

use fred::types::Value;

use crate::error::{Error, Result};
use crate::queue::row::TaskRow;
use crate::queue::rules::{self, LeaseState};
use crate::queue::{Lease, LeaseKey, Task, TaskId, TaskStatus};
use crate::storage::redis::reply::{array, malformed, pairs, tag, text};
use crate::storage::redis::BACKEND;

/// A flat `field, value, …` array (HGETALL inside a script) as a map.
pub(super) fn hash(v: Value) -> Result<HashMap<String, String>> {
    let items = array(v);
    if items.len() % 2 != 0 {
        return Err(Error::backend(
            BACKEND,
            "a task hash has an odd field count",
        ));
    }
    Ok(pairs(items).collect())
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
    let s = text(v).ok_or_else(|| malformed("the submit script", v))?;
    TaskId::from_str(&s).map_err(|e| Error::backend(BACKEND, e.to_string()))
}
