//! The Lua scripts of the Redis queue and the keys they run on.
//!
//! Every state change is one script (see [`crate::storage::redis::scripts`]
//! for how they are declared, loaded and run); each prefixed with
//! `lua/shared.lua`, which reads the fixed keys in the order [`Keys`]
//! passes them.

use fred::types::{Key, Value};

use crate::queue::TaskId;
use crate::storage::redis::scripts::script_set;

script_set! {
    /// Every script, hashed once per process.
    pub(super) static SCRIPTS: Scripts {
        submit: "submit.lua",
        claim: "claim.lua",
        complete: "complete.lua",
        complete_and_claim: "complete_and_claim.lua",
        heartbeat: "heartbeat.lua",
        release: "release.lua",
        fail: "fail.lua",
        cancel: "cancel.lua",
        retry_dead_letter: "retry_dead_letter.lua",
        purge_dead_letters: "purge_dead_letters.lua",
        purge_expired: "purge_expired.lua",
        reap_scan: "reap_scan.lua",
        reap_apply: "reap_apply.lua",
        expire_worker: "expire_worker.lua",
        dead_letters: "dead_letters.lua",
        list: "list.lua",
    }
}

/// The keys of one queue. All of them start with `hive:{<queue name>}:`;
/// the braces are a Redis Cluster hash tag, so a queue lives in one slot and
/// its scripts may touch any of its keys.
///
/// | key | type | holds |
/// |---|---|---|
/// | `task:<id>` | hash | the task's fields (see `row.rs`; fields at their default may be absent or empty) plus `seq`, `caps_key`, `lease_ms`, `pending_deps`, `has_dependents` |
/// | `ready:<caps>` | sorted set | pending task ids needing exactly the capabilities `<caps>` (sorted, joined by `,`), scored priority · 2^44 + seq |
/// | `capsets` | set | every `<caps>` that ever had a ready set |
/// | `delayed` | sorted set | delayed task ids by `run_at` |
/// | `leased` | sorted set | leased task ids by lease expiry (never after the deadline) |
/// | `dead` | sorted set | dead-lettered task ids by when they died |
/// | `finished` | sorted set | completed, failed and cancelled task ids by when they finished (`finished_at`), for retention |
/// | `all` | sorted set | every task id, scored 0, for listing in id order (ZRANGEBYLEX) |
/// | `dependents:<id>` | set | waiting tasks that depend on `<id>` |
/// | `needed_by:<id>` | set | every stored task that lists `<id>` among its dependencies, for retention |
/// | `attempts:<id>` | list | the task's history: one JSON entry per counted attempt (`AttemptRow`'s fields), the last open while it is leased |
/// | `idempotency` | hash | idempotency key → task id |
/// | `stats` | hash | status → number of tasks |
/// | `wake` | list | wake-up markers for blocked workers |
/// | `seq` | string | the submit counter |
///
/// Keys and the prefix are kept as fred values, whose clones share one
/// buffer: every call passes them all.
#[derive(Debug, Clone)]
pub(super) struct Keys {
    /// `hive:{<queue name>}:`, given to every script as ARGV[1].
    prefix: String,
    prefix_arg: Value,
    /// KEYS[1..=8] of every script, in the order `shared.lua` reads them.
    fixed: [Key; 8],
}

impl Keys {
    pub fn new(queue: &str) -> Self {
        let prefix = format!("hive:{{{queue}}}:");
        let key = |name: &str| Key::from(format!("{prefix}{name}"));
        Keys {
            prefix_arg: Value::from(prefix.as_str()),
            fixed: [
                key("stats"),
                key("capsets"),
                key("delayed"),
                key("leased"),
                key("dead"),
                key("idempotency"),
                key("wake"),
                key("seq"),
            ],
            prefix,
        }
    }

    /// ARGV[1] of every script.
    pub fn prefix(&self) -> Value {
        self.prefix_arg.clone()
    }

    pub fn task(&self, id: TaskId) -> Key {
        Key::from(format!("{}task:{id}", self.prefix))
    }

    /// The task's history list.
    pub fn attempts(&self, id: TaskId) -> Key {
        Key::from(format!("{}attempts:{id}", self.prefix))
    }

    pub fn stats(&self) -> Key {
        self.fixed[0].clone()
    }

    pub fn wake(&self) -> Key {
        self.fixed[6].clone()
    }

    /// The fixed keys: KEYS of a script that names no task.
    pub fn queue(&self) -> Vec<Key> {
        let mut keys = Vec::with_capacity(9);
        keys.extend(self.fixed.iter().cloned());
        keys
    }

    /// The fixed keys plus the task's (KEYS[9]).
    pub fn with_task(&self, id: TaskId) -> Vec<Key> {
        let mut keys = self.queue();
        keys.push(self.task(id));
        keys
    }
}
