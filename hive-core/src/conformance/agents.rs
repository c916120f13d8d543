//! The [`AgentRegistry`] contract as tests: each clause of its `# Contract`
//! names its functions here (`tests/it/tidy.rs` checks both ways).
//!
//! Every clause registers agents of a kind and with names of its own, and
//! lists by that kind, so suites may share a database. Sweeps run at a time
//! far in the future for the clause's own agents only when the database is
//! its own; on a shared one they use times relative to the clause's agents.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use chrono::Utc;
use serde_json::json;

use super::{assert_conflict, assert_invalid, assert_not_found, unique_name};
use crate::agent::{
    AgentFilter, AgentId, AgentRegistry, AgentRegistryExt, AgentSpec, AgentStatus, Liveness,
};

/// Opens the backend under test.
#[async_trait]
pub trait AgentHarness: Send + Sync {
    /// Opens a new handle on this test's database. Opening twice gives two
    /// handles on one database (as two processes would have).
    async fn open(&self) -> Arc<dyn AgentRegistry>;

    /// Called after a clause passes: a shared database may drop what the
    /// clause made.
    async fn finish(&self) {}
}

/// Stamps one `#[tokio::test]` per registry clause, each opening the
/// backend with `$harness` (an expression of type `Option<impl AgentHarness>`,
/// which may `.await`; `None` means the service is not configured).
#[macro_export]
macro_rules! agent_conformance_tests {
    ($harness:expr) => {
        $crate::__agent_clauses!($harness;
            register_answers_a_fresh_healthy_record,
            bad_specs_store_nothing,
            live_names_are_unique,
            heartbeats_record_time_and_load,
            sweep_marks_missed_heartbeats,
            status_changes_follow_the_rules,
            list_filters_and_orders,
            candidates_are_capable_healthy_and_least_loaded,
            shared_and_durable,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __agent_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::agents::$clause(&harness).await;
                    $crate::conformance::agents::AgentHarness::finish(&harness).await;
                }
            }
        )*
    };
}

/// `register` answers a fresh healthy record, and `get` the same one.
pub async fn register_answers_a_fresh_healthy_record(h: &dyn AgentHarness) {
    let reg = h.open().await;
    let kind = unique_name("kind");
    let name = unique_name("coder");
    let before = Utc::now() - chrono::Duration::seconds(5);
    let spec = AgentSpec::new(&name, &kind, ["rust", "git", "rust"])
        .metadata(json!({ "model": "claude" }));
    let r = reg.register(spec).await.expect("register");
    assert_eq!(
        (r.name.as_str(), r.kind.as_str()),
        (name.as_str(), kind.as_str())
    );
    assert_eq!(r.capabilities.iter().collect::<Vec<_>>(), ["git", "rust"]);
    assert_eq!((r.status, r.load), (AgentStatus::Healthy, 0));
    assert_eq!(r.metadata, json!({ "model": "claude" }));
    assert!(r.created_at >= before && r.created_at <= Utc::now() + chrono::Duration::seconds(5));
    assert_eq!(r.last_heartbeat, r.created_at);
    assert_eq!(reg.get(r.id).await.expect("get"), r);
    assert_not_found(reg.get(AgentId::new()).await, "get of an unknown id");
}

/// Bad specs are refused naming the problem, and store nothing.
pub async fn bad_specs_store_nothing(h: &dyn AgentHarness) {
    let reg = h.open().await;
    let kind = unique_name("kind");
    let cases = [
        (AgentSpec::new("", &kind, ["a"]), "bad agent name"),
        (
            AgentSpec::new("x".repeat(129), &kind, ["a"]),
            "bad agent name",
        ),
        (AgentSpec::new("n", "", ["a"]), "bad agent kind"),
        (
            AgentSpec::new("n", &kind, Vec::<String>::new()),
            "declares no capabilities",
        ),
        (AgentSpec::new("n", &kind, ["has space"]), "capability"),
        (
            AgentSpec::new("n", &kind, ["a"]).metadata(json!("text")),
            "JSON object",
        ),
    ];
    for (spec, expected) in cases {
        assert_invalid(reg.register(spec).await, expected);
    }
    let listed = reg
        .list(&AgentFilter::any().kind(&kind))
        .await
        .expect("list");
    assert!(listed.is_empty(), "a refused spec was stored: {listed:?}");
}

/// A live agent's name is refused; a dead or stopped one's is free again.
pub async fn live_names_are_unique(h: &dyn AgentHarness) {
    let reg = h.open().await;
    let kind = unique_name("kind");
    let name = unique_name("planner");
    let first = reg
        .register(AgentSpec::new(&name, &kind, ["plan"]))
        .await
        .expect("first");
    assert_conflict(
        reg.register(AgentSpec::new(&name, &kind, ["plan"])).await,
        "a healthy agent's name",
    );
    reg.set_status(first.id, AgentStatus::Unhealthy)
        .await
        .expect("unhealthy");
    assert_conflict(
        reg.register(AgentSpec::new(&name, &kind, ["plan"])).await,
        "an unhealthy agent's name",
    );
    reg.set_status(first.id, AgentStatus::Dead)
        .await
        .expect("dead");
    let second = reg
        .register(AgentSpec::new(&name, &kind, ["plan"]))
        .await
        .expect("the name is free after death");
    assert_ne!(second.id, first.id);
    reg.set_status(second.id, AgentStatus::Stopped)
        .await
        .expect("stopped");
    reg.register(AgentSpec::new(&name, &kind, ["plan"]))
        .await
        .expect("the name is free after a stop");
}

/// Heartbeats record time and load and revive the unhealthy; dead, stopped
/// and unknown agents are refused.
pub async fn heartbeats_record_time_and_load(h: &dyn AgentHarness) {
    let reg = h.open().await;
    let kind = unique_name("kind");
    let r = reg
        .register(AgentSpec::new(unique_name("w"), &kind, ["x"]))
        .await
        .expect("register");
    tokio::time::sleep(Duration::from_millis(20)).await;
    let beat = reg.heartbeat(r.id, 3).await.expect("beat");
    assert_eq!(beat.load, 3);
    assert!(beat.last_heartbeat > r.last_heartbeat);
    reg.set_status(r.id, AgentStatus::Unhealthy)
        .await
        .expect("unhealthy");
    let back = reg.heartbeat(r.id, 0).await.expect("beat again");
    assert_eq!((back.status, back.load), (AgentStatus::Healthy, 0));
    reg.set_status(r.id, AgentStatus::Dead).await.expect("dead");
    assert_conflict(reg.heartbeat(r.id, 1).await, "heartbeat of a dead agent");
    assert_eq!(reg.get(r.id).await.expect("get").status, AgentStatus::Dead);
    assert_not_found(
        reg.heartbeat(AgentId::new(), 1).await,
        "heartbeat of an unknown id",
    );
}

/// `sweep` marks missed heartbeats and answers exactly what it changed.
/// It runs at "now" with thresholds short enough that only this clause's
/// agents (registered moments ago, or silent for a while) are affected
/// among freshly beating ones.
pub async fn sweep_marks_missed_heartbeats(h: &dyn AgentHarness) {
    let reg = h.open().await;
    let kind = unique_name("kind");
    let liveness = Liveness {
        interval: Duration::from_millis(100),
        unhealthy_after: Duration::from_millis(300),
        dead_after: Duration::from_millis(900),
    };
    let quiet = reg
        .register(AgentSpec::new(unique_name("quiet"), &kind, ["x"]))
        .await
        .expect("quiet");
    let slow = reg
        .register(AgentSpec::new(unique_name("slow"), &kind, ["x"]))
        .await
        .expect("slow");
    let stopped = reg
        .register(AgentSpec::new(unique_name("stopped"), &kind, ["x"]))
        .await
        .expect("stopped");
    reg.set_status(stopped.id, AgentStatus::Stopped)
        .await
        .expect("stop");
    let lively = reg
        .register(AgentSpec::new(unique_name("lively"), &kind, ["x"]))
        .await
        .expect("lively");
    tokio::time::sleep(Duration::from_millis(500)).await;
    reg.heartbeat(lively.id, 0).await.expect("beat");
    let changed = reg.sweep(Utc::now(), &liveness).await.expect("sweep");
    let mine: Vec<_> = changed.iter().filter(|r| r.kind == kind).collect();
    let mut got: Vec<(AgentId, AgentStatus)> = mine.iter().map(|r| (r.id, r.status)).collect();
    got.sort();
    let mut want = vec![
        (quiet.id, AgentStatus::Unhealthy),
        (slow.id, AgentStatus::Unhealthy),
    ];
    want.sort();
    assert_eq!(got, want);
    let again = reg.sweep(Utc::now(), &liveness).await.expect("again");
    assert!(
        again.iter().all(|r| r.kind != kind),
        "a second sweep changed {again:?}"
    );

    tokio::time::sleep(Duration::from_millis(500)).await;
    reg.heartbeat(slow.id, 0).await.expect("slow beats");
    reg.heartbeat(lively.id, 0).await.expect("beat");
    let changed = reg.sweep(Utc::now(), &liveness).await.expect("sweep");
    let mine: Vec<_> = changed
        .iter()
        .filter(|r| r.kind == kind)
        .map(|r| (r.id, r.status))
        .collect();
    assert_eq!(mine, vec![(quiet.id, AgentStatus::Dead)]);
    assert_eq!(
        reg.get(slow.id).await.expect("slow").status,
        AgentStatus::Healthy
    );
    assert_eq!(
        reg.get(stopped.id).await.expect("stopped").status,
        AgentStatus::Stopped
    );
    assert_invalid(
        reg.sweep(
            Utc::now(),
            &Liveness {
                dead_after: Duration::ZERO,
                ..liveness
            },
        )
        .await,
        "liveness",
    );
}

/// `set_status` moves agents, but never out of dead or stopped.
pub async fn status_changes_follow_the_rules(h: &dyn AgentHarness) {
    let reg = h.open().await;
    let kind = unique_name("kind");
    let r = reg
        .register(AgentSpec::new(unique_name("s"), &kind, ["x"]))
        .await
        .expect("register");
    let un = reg
        .set_status(r.id, AgentStatus::Unhealthy)
        .await
        .expect("unhealthy");
    assert_eq!(un.status, AgentStatus::Unhealthy);
    reg.set_status(r.id, AgentStatus::Healthy)
        .await
        .expect("healthy again");
    reg.set_status(r.id, AgentStatus::Stopped)
        .await
        .expect("stop");
    reg.set_status(r.id, AgentStatus::Stopped)
        .await
        .expect("stopping twice is fine");
    assert_conflict(
        reg.set_status(r.id, AgentStatus::Healthy).await,
        "stopped to healthy",
    );
    assert_conflict(
        reg.set_status(r.id, AgentStatus::Dead).await,
        "stopped to dead",
    );
    assert_not_found(
        reg.set_status(AgentId::new(), AgentStatus::Stopped).await,
        "status of an unknown id",
    );
}

/// `list` filters by status, kind and capabilities, ordered by name then
/// registration.
pub async fn list_filters_and_orders(h: &dyn AgentHarness) {
    let reg = h.open().await;
    let kind = unique_name("kind");
    let other = unique_name("kind");
    let p = unique_name("n");
    let b = reg
        .register(AgentSpec::new(format!("{p}-b"), &kind, ["rust", "git"]))
        .await
        .expect("b");
    let a = reg
        .register(AgentSpec::new(format!("{p}-a"), &kind, ["rust"]))
        .await
        .expect("a");
    let c = reg
        .register(AgentSpec::new(format!("{p}-c"), &other, ["rust", "git"]))
        .await
        .expect("c");
    reg.set_status(c.id, AgentStatus::Stopped)
        .await
        .expect("stop");
    let names = |v: Vec<crate::agent::AgentRecord>| v.into_iter().map(|r| r.id).collect::<Vec<_>>();
    let all = reg
        .list(&AgentFilter::any().kind(&kind))
        .await
        .expect("list");
    assert_eq!(names(all), vec![a.id, b.id], "by name");
    let git = reg
        .list(&AgentFilter::any().kind(&kind).capability("git"))
        .await
        .expect("git");
    assert_eq!(names(git), vec![b.id]);
    let stopped = reg
        .list(&AgentFilter::any().kind(&other).status(AgentStatus::Stopped))
        .await
        .expect("stopped");
    assert_eq!(names(stopped), vec![c.id]);
    let live = reg
        .list(&AgentFilter::live().kind(&other))
        .await
        .expect("live");
    assert!(live.is_empty(), "a stopped agent is not live");
}

/// `candidates` answers capable healthy agents, least loaded first.
pub async fn candidates_are_capable_healthy_and_least_loaded(h: &dyn AgentHarness) {
    let reg = h.open().await;
    let kind = unique_name("kind");
    // A capability of this clause's own, so other clauses' agents never
    // qualify.
    let cap = unique_name("cap");
    let p = unique_name("n");
    let spec = |n: &str, caps: &[&str]| {
        AgentSpec::new(
            format!("{p}-{n}"),
            &kind,
            caps.iter().map(|c| c.to_string()),
        )
    };
    let busy = reg
        .register(spec("busy", &[&cap, "git"]))
        .await
        .expect("busy");
    let idle = reg
        .register(spec("idle", &[&cap, "git"]))
        .await
        .expect("idle");
    let lacking = reg
        .register(spec("lacking", &[&cap]))
        .await
        .expect("lacking");
    let sick = reg
        .register(spec("sick", &[&cap, "git"]))
        .await
        .expect("sick");
    let also = reg
        .register(spec("also", &[&cap, "git", "docs"]))
        .await
        .expect("also");
    reg.heartbeat(busy.id, 5).await.expect("busy beat");
    reg.heartbeat(also.id, 2).await.expect("also beat");
    reg.set_status(sick.id, AgentStatus::Unhealthy)
        .await
        .expect("sick");
    let got: Vec<AgentId> = reg
        .candidates(&[cap.clone(), "git".into()])
        .await
        .expect("candidates")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(got, vec![idle.id, also.id, busy.id]);
    assert!(!got.contains(&lacking.id) && !got.contains(&sick.id));
    let only_cap: Vec<AgentId> = reg
        .candidates(std::slice::from_ref(&cap))
        .await
        .expect("candidates")
        .iter()
        .map(|r| r.id)
        .collect();
    assert_eq!(
        only_cap.len(),
        4,
        "lacking qualifies for the capability alone"
    );
    assert!(reg
        .candidates(&[cap, "nobody-has-this".into()])
        .await
        .expect("none")
        .is_empty());
}

/// Every handle sees every other's writes, and they survive reopening.
pub async fn shared_and_durable(h: &dyn AgentHarness) {
    let a = h.open().await;
    let b = h.open().await;
    let kind = unique_name("kind");
    let r = a
        .register(AgentSpec::new(unique_name("shared"), &kind, ["x"]))
        .await
        .expect("register");
    assert_eq!(b.get(r.id).await.expect("b sees it").name, r.name);
    b.heartbeat(r.id, 4).await.expect("b beats");
    assert_eq!(a.get(r.id).await.expect("a sees the beat").load, 4);
    drop((a, b));
    let again = h.open().await;
    assert_eq!(again.get(r.id).await.expect("durable").load, 4);
}
