//! The [`ExperimentStore`] contract as tests: each clause of its
//! `# Contract` names its functions here (`tests/it/tidy.rs` checks both
//! ways).
//!
//! Every clause works on agents of its own (named with a unique prefix),
//! so suites may share a database.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};

use super::{assert_invalid, assert_not_found, unique_name};
use crate::error::Error;
use crate::experiment::{
    Allocation, Arm, ArmState, Decision, DecisionKind, Experiment, ExperimentId, ExperimentStatus,
    ExperimentStore, Guardrails, Metric, CONTROL,
};
use crate::prompt::PromptVersionId;
use crate::queue::TaskId;

/// Opens the backend under test.
#[async_trait]
pub trait ExperimentHarness: Send + Sync {
    /// Opens a new handle on this test's database. Opening twice gives two
    /// handles on one database (as two processes would have).
    async fn open(&self) -> Arc<dyn ExperimentStore>;

    /// Called after a clause passes: a shared database may drop what the
    /// clause made.
    async fn finish(&self) {}
}

/// Stamps one `#[tokio::test]` per experiment-store clause, each opening
/// the backend with `$harness` (an expression of type
/// `Option<impl ExperimentHarness>`, which may `.await`; `None` means the
/// service is not configured).
#[macro_export]
macro_rules! experiment_conformance_tests {
    ($harness:expr) => {
        $crate::__experiment_clauses!($harness;
            create_then_get_round_trips,
            one_active_experiment_per_label,
            saves_compare_and_set,
            assignments_are_sticky,
            shared_and_durable,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __experiment_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::experiments::$clause(&harness).await;
                    $crate::conformance::experiments::ExperimentHarness::finish(&harness).await;
                }
            }
        )*
    };
}

/// A running experiment of `agent` with one variant.
fn experiment(agent: &str) -> Experiment {
    let at = Utc
        .timestamp_millis_opt(1_780_000_000_000)
        .single()
        .expect("an instant");
    Experiment {
        id: ExperimentId::new(),
        agent: agent.into(),
        label: "production".into(),
        arms: vec![
            Arm {
                name: CONTROL.into(),
                version: PromptVersionId::new(),
                state: ArmState::Active,
                reason: None,
            },
            Arm {
                name: "variant-1".into(),
                version: PromptVersionId::new(),
                state: ArmState::Active,
                reason: None,
            },
        ],
        metric: Metric::Success,
        guardrails: Guardrails {
            max_cost_increase: Some(0.5),
            ..Guardrails::default()
        },
        alpha: 0.05,
        min_samples: 20,
        max_samples: 500,
        allocation: Allocation::Thompson { burn_in: 40 },
        weights: vec![1.0, 1.0],
        seed: 7,
        watch_samples: 100,
        watch_holdback: 0.2,
        started_by: "alice".into(),
        approved_by: Some("bob".into()),
        status: ExperimentStatus::Running,
        decision: None,
        watch: None,
        revision: 1,
        created_at: at,
        updated_at: at,
    }
}

/// `create` stores an experiment that `get` and `list` read back.
pub async fn create_then_get_round_trips(h: &dyn ExperimentHarness) {
    let s = h.open().await;
    let agent = unique_name("exp");
    let e = experiment(&agent);
    s.create(&e).await.expect("create");
    assert_eq!(s.get(e.id).await.expect("get"), e);
    let other = experiment(&unique_name("exp-other"));
    s.create(&other).await.expect("create another");
    let listed = s.list(Some(&agent), false, 10).await.expect("list");
    assert_eq!(listed, vec![e.clone()], "only the agent's");
    let all = s.list(None, true, 1000).await.expect("list all");
    assert!(all.iter().any(|x| x.id == e.id) && all.iter().any(|x| x.id == other.id));
    assert_not_found(s.get(ExperimentId::new()).await, "experiment");
    assert_invalid(s.list(None, false, 0).await, "limit");
}

/// A second active experiment on a label is a conflict; after the first
/// finishes, another may start.
pub async fn one_active_experiment_per_label(h: &dyn ExperimentHarness) {
    let s = h.open().await;
    let agent = unique_name("exp-one");
    let first = experiment(&agent);
    s.create(&first).await.expect("create");
    let second = experiment(&agent);
    match s.create(&second).await {
        Err(Error::Conflict(m)) => assert!(m.contains("active experiment"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_not_found(s.get(second.id).await, "experiment");
    let other_label = Experiment {
        label: "candidate".into(),
        ..experiment(&agent)
    };
    s.create(&other_label).await.expect("another label is free");
    let mut done = s.get(first.id).await.expect("get");
    done.status = ExperimentStatus::Finished;
    s.save(&done).await.expect("finish");
    s.create(&second).await.expect("free again");
    let active = s.list(Some(&agent), true, 10).await.expect("active");
    assert_eq!(active.len(), 2);
    assert!(active.iter().all(|e| e.status.is_active()));
}

/// A save with the revision last read succeeds and bumps it; a stale one
/// is a conflict that changes nothing.
pub async fn saves_compare_and_set(h: &dyn ExperimentHarness) {
    let s = h.open().await;
    let e = experiment(&unique_name("exp-cas"));
    s.create(&e).await.expect("create");
    let mut read = s.get(e.id).await.expect("get");
    read.decision = Some(Decision {
        kind: DecisionKind::Winner,
        arm: Some("variant-1".into()),
        reason: "better".into(),
        observations: 80,
        at: e.created_at,
    });
    read.status = ExperimentStatus::Watching;
    let saved = s.save(&read).await.expect("save");
    assert_eq!(saved.revision, 2);
    assert_eq!(saved.status, ExperimentStatus::Watching);
    assert_eq!(saved.decision, read.decision);
    let mut stale = read.clone();
    stale.status = ExperimentStatus::Finished;
    match s.save(&stale).await {
        Err(Error::Conflict(m)) => assert!(m.contains("changed since"), "{m}"),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.get(e.id).await.expect("get"), saved, "unchanged");
    let unknown = experiment(&unique_name("exp-cas"));
    assert_not_found(s.save(&unknown).await, "experiment");
}

/// The first arm given is kept; assignments are read back in order.
pub async fn assignments_are_sticky(h: &dyn ExperimentHarness) {
    let s = h.open().await;
    let e = experiment(&unique_name("exp-sticky"));
    s.create(&e).await.expect("create");
    let (t1, t2) = (TaskId::new(), TaskId::new());
    assert_eq!(s.assignment(e.id, t1).await.expect("read"), None);
    assert_eq!(
        s.assign(e.id, t1, "control").await.expect("assign"),
        "control"
    );
    assert_eq!(
        s.assign(e.id, t1, "variant-1").await.expect("again"),
        "control",
        "sticky"
    );
    assert_eq!(
        s.assign(e.id, t2, "variant-1").await.expect("assign"),
        "variant-1"
    );
    assert_eq!(
        s.assignment(e.id, t1).await.expect("read").as_deref(),
        Some("control")
    );
    let all = s.assignments(e.id).await.expect("all");
    assert_eq!(all.len(), 2);
    assert!(all.contains(&(t1, "control".into())) && all.contains(&(t2, "variant-1".into())));
    assert!(s
        .assignments(ExperimentId::new())
        .await
        .expect("none")
        .is_empty());
    assert_invalid(s.assign(e.id, TaskId::new(), "").await, "arm");
}

/// Every handle sees the others' writes; all survives reopening.
pub async fn shared_and_durable(h: &dyn ExperimentHarness) {
    let (a, b) = (h.open().await, h.open().await);
    let e = experiment(&unique_name("exp-shared"));
    a.create(&e).await.expect("create");
    let t = TaskId::new();
    a.assign(e.id, t, "variant-1").await.expect("assign");
    assert_eq!(b.get(e.id).await.expect("seen"), e);
    assert_eq!(
        b.assign(e.id, t, "control")
            .await
            .expect("sticky across handles"),
        "variant-1"
    );
    drop((a, b));
    let again = h.open().await;
    assert_eq!(again.get(e.id).await.expect("after reopening"), e);
    assert_eq!(
        again.assignment(e.id, t).await.expect("read").as_deref(),
        Some("variant-1")
    );
}
