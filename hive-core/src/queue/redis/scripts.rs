//! The Lua scripts of the Redis backend and the keys they run on.
//!
//! Every state change is one script, so it is atomic on the server and a
//! dropped call either happened or did not. Each operation's file in `lua/`
//! is prefixed with `lua/shared.lua` (Redis scripts cannot import one
//! another). Scripts run with EVALSHA; when the server has forgotten them
//! (a restart without persistence of the script cache, `SCRIPT FLUSH`)
//! fred's `evalsha_with_reload` loads them again and retries once.

use std::sync::LazyLock;

use fred::types::scripts::Script;
use fred::types::{Key, Value};

use crate::queue::TaskId;

/// One operation's script: the shared prelude followed by its own file.
macro_rules! lua {
    ($file:literal) => {
        Script::from_lua(concat!(
            include_str!("lua/shared.lua"),
            include_str!(concat!("lua/", $file))
        ))
    };
}

/// Every script, hashed once per process.
pub(super) struct Scripts {
    pub submit: Script,
    pub claim: Script,
    pub complete: Script,
    pub complete_and_claim: Script,
    pub heartbeat: Script,
    pub release: Script,
    pub fail: Script,
    pub cancel: Script,
    pub retry_dead_letter: Script,
    pub purge_dead_letters: Script,
    pub reap_scan: Script,
    pub reap_apply: Script,
    pub expire_worker: Script,
    pub dead_letters: Script,
    pub list: Script,
}

impl Scripts {
    /// All of them, to load them up front.
    pub fn all(&self) -> [&Script; 15] {
        [
            &self.submit,
            &self.claim,
            &self.complete,
            &self.complete_and_claim,
            &self.heartbeat,
            &self.release,
            &self.fail,
            &self.cancel,
            &self.retry_dead_letter,
            &self.purge_dead_letters,
            &self.reap_scan,
            &self.reap_apply,
            &self.expire_worker,
            &self.dead_letters,
            &self.list,
        ]
    }
}

pub(super) static SCRIPTS: LazyLock<Scripts> = LazyLock::new(|| Scripts {
    submit: lua!("submit.lua"),
    claim: lua!("claim.lua"),
    complete: lua!("complete.lua"),
    complete_and_claim: lua!("complete_and_claim.lua"),
    heartbeat: lua!("heartbeat.lua"),
    release: lua!("release.lua"),
    fail: lua!("fail.lua"),
    cancel: lua!("cancel.lua"),
    retry_dead_letter: lua!("retry_dead_letter.lua"),
    purge_dead_letters: lua!("purge_dead_letters.lua"),
    reap_scan: lua!("reap_scan.lua"),
    reap_apply: lua!("reap_apply.lua"),
    expire_worker: lua!("expire_worker.lua"),
    dead_letters: lua!("dead_letters.lua"),
    list: lua!("list.lua"),
});

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
/// | `all` | sorted set | every task id, scored 0, for listing in id order (ZRANGEBYLEX) |
/// | `dependents:<id>` | set | waiting tasks that depend on `<id>` |
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
