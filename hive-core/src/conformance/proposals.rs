//! The [`ProposalStore`] contract as tests: each clause of its
//! `# Contract` names its functions here (`tests/it/tidy.rs` checks both
//! ways).
//!
//! Every clause works on agents of its own (named with a unique prefix),
//! so suites may share a database; the spend clause counts only its own
//! runs, dated in a window no other clause uses.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{Duration, TimeZone, Utc};
use uuid::Uuid;

use super::{assert_invalid, assert_not_found, unique_name};
use crate::error::Error;
use crate::meta::{
    Evidence, MetaRun, Proposal, ProposalId, ProposalKind, ProposalStatus, ProposalStore, Risk,
};
use crate::queue::TaskId;

/// Opens the backend under test.
#[async_trait]
pub trait ProposalHarness: Send + Sync {
    /// Opens a new handle on this test's database.
    async fn open(&self) -> Arc<dyn ProposalStore>;

    /// Called after a clause passes.
    async fn finish(&self) {}
}

/// Stamps one `#[tokio::test]` per proposal-store clause.
#[macro_export]
macro_rules! proposal_conformance_tests {
    ($harness:expr) => {
        $crate::__proposal_clauses!($harness;
            create_then_get_round_trips,
            saves_compare_and_set,
            spend_sums_the_runs_since,
            shared_and_durable,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __proposal_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::proposals::$clause(&harness).await;
                    $crate::conformance::proposals::ProposalHarness::finish(&harness).await;
                }
            }
        )*
    };
}

fn proposal(agent: &str, kind: ProposalKind) -> Proposal {
    let at = Utc
        .timestamp_millis_opt(1_780_000_000_000)
        .single()
        .expect("an instant");
    Proposal {
        id: ProposalId::new(),
        agent: agent.into(),
        kind,
        status: ProposalStatus::Proposed,
        summary: "raise concurrency".into(),
        rationale: "tasks wait".into(),
        expected_effect: "p50 wait halves".into(),
        risk: Risk::Medium,
        prompt_version: None,
        parent_version: None,
        experiment: None,
        change: Some(serde_json::json!({"setting": "concurrency", "value": 8})),
        evidence: Evidence {
            tasks: vec![TaskId::new(), TaskId::new()],
            metrics: Vec::new(),
        },
        author: "meta-agent".into(),
        run: Uuid::now_v7(),
        decided_by: None,
        decision_reason: None,
        revision: 1,
        created_at: at,
        updated_at: at,
    }
}

/// `create` stores a proposal that `get` and `list` read back.
pub async fn create_then_get_round_trips(h: &dyn ProposalHarness) {
    let s = h.open().await;
    let agent = unique_name("meta");
    let a = proposal(&agent, ProposalKind::Config);
    let b = Proposal {
        status: ProposalStatus::Refused,
        ..proposal(&agent, ProposalKind::Prompt)
    };
    s.create(&a).await.expect("create");
    s.create(&b).await.expect("create");
    assert_eq!(s.get(a.id).await.expect("get"), a);
    let all = s.list(Some(&agent), None, 10).await.expect("list");
    assert_eq!(all.len(), 2);
    let refused = s
        .list(Some(&agent), Some(ProposalStatus::Refused), 10)
        .await
        .expect("list");
    assert_eq!(refused, vec![b]);
    assert_not_found(s.get(ProposalId::new()).await, "proposal");
    assert_invalid(s.list(None, None, 0).await, "limit");
}

/// A save with the revision read bumps it; a stale one changes nothing.
pub async fn saves_compare_and_set(h: &dyn ProposalHarness) {
    let s = h.open().await;
    let p = proposal(&unique_name("meta-cas"), ProposalKind::Code);
    s.create(&p).await.expect("create");
    let mut read = s.get(p.id).await.expect("get");
    read.status = ProposalStatus::Approved;
    read.decided_by = Some("bob".into());
    let saved = s.save(&read).await.expect("save");
    assert_eq!(
        (saved.revision, saved.status),
        (2, ProposalStatus::Approved)
    );
    let mut stale = read.clone();
    stale.status = ProposalStatus::Rejected;
    assert!(matches!(s.save(&stale).await, Err(Error::Conflict(_))));
    assert_eq!(s.get(p.id).await.expect("get"), saved);
}

/// `spend_since` sums the runs at or after a time.
pub async fn spend_sums_the_runs_since(h: &dyn ProposalHarness) {
    let s = h.open().await;
    // Far in the future, so no other clause's runs fall in the window.
    let base = Utc::now() + Duration::days(3650 + i64::from(rand_day()));
    for (calls, usd, at) in [(1, 0.25, base), (2, 0.5, base + Duration::hours(1))] {
        s.record_run(&MetaRun {
            id: Uuid::now_v7(),
            agent: "a".into(),
            calls,
            tokens: 100,
            cost_usd: usd,
            at,
        })
        .await
        .expect("record");
    }
    let (calls, usd) = s.spend_since(base).await.expect("spend");
    assert_eq!(calls, 3);
    assert!((usd - 0.75).abs() < 1e-9);
    let (calls, _) = s
        .spend_since(base + Duration::minutes(30))
        .await
        .expect("spend");
    assert_eq!(calls, 2);
}

/// A day offset of its own for each run of the suite.
fn rand_day() -> u16 {
    (Uuid::new_v4().as_u128() % 3000) as u16 * 2
}

/// Every handle sees the others' writes; all survives reopening.
pub async fn shared_and_durable(h: &dyn ProposalHarness) {
    let (a, b) = (h.open().await, h.open().await);
    let p = proposal(&unique_name("meta-shared"), ProposalKind::Config);
    a.create(&p).await.expect("create");
    assert_eq!(b.get(p.id).await.expect("seen"), p);
    drop((a, b));
    assert_eq!(h.open().await.get(p.id).await.expect("reopened"), p);
}
