//! The [`ChangeSetStore`] contract as tests: each clause of its
//! `# Contract` names its functions here (`tests/it/tidy.rs` checks both
//! ways).
//!
//! Every clause works on repositories of its own (named with a unique
//! prefix), so suites may share a database.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{TimeZone, Utc};

use super::{assert_invalid, assert_not_found, unique_name};
use crate::error::Error;
use crate::selfmod::{
    ChangeDecision, ChangeSet, ChangeSetId, ChangeSetStore, ChangeSource, ChangeStatus, Step,
    StepLog,
};

/// Opens the backend under test.
#[async_trait]
pub trait ChangeSetHarness: Send + Sync {
    /// Opens a new handle on this test's database.
    async fn open(&self) -> Arc<dyn ChangeSetStore>;

    /// Called after a clause passes.
    async fn finish(&self) {}
}

/// Stamps one `#[tokio::test]` per change-set-store clause.
#[macro_export]
macro_rules! change_set_conformance_tests {
    ($harness:expr) => {
        $crate::__change_set_clauses!($harness;
            create_then_get_round_trips,
            saves_compare_and_set,
            shared_and_durable,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __change_set_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::change_sets::$clause(&harness).await;
                    $crate::conformance::change_sets::ChangeSetHarness::finish(&harness).await;
                }
            }
        )*
    };
}

fn change_set(repository: &str) -> ChangeSet {
    let at = Utc
        .timestamp_millis_opt(1_780_000_000_000)
        .single()
        .expect("an instant");
    let id = ChangeSetId::new();
    ChangeSet {
        id,
        repository: repository.into(),
        target: "main".into(),
        title: "speed up the parser".into(),
        description: String::new(),
        source: ChangeSource::Patch {
            patch: "diff --git a/x b/x\n".into(),
        },
        proposal: None,
        requested_by: Some("alice".into()),
        status: ChangeStatus::Running,
        step: Step::Prepare,
        branch: format!("hive/change/{}", id.short()),
        base_commit: None,
        head_commit: None,
        diff: None,
        static_verdict: None,
        risk: None,
        bench: None,
        decision: None,
        approval_deadline: None,
        rollback_tag: None,
        merged_commit: None,
        revert_commit: None,
        reason: None,
        logs: vec![StepLog {
            step: Step::Prepare,
            attempt: 1,
            started_at: at,
            finished_at: at,
            passed: true,
            summary: "worktree at abc".into(),
            output: String::new(),
        }],
        revision: 1,
        created_at: at,
        updated_at: at,
    }
}

/// `create` stores a change set that `get` and `list` read back.
pub async fn create_then_get_round_trips(h: &dyn ChangeSetHarness) {
    let s = h.open().await;
    let repo = unique_name("repo");
    let a = change_set(&repo);
    let b = ChangeSet {
        status: ChangeStatus::Rejected,
        ..change_set(&repo)
    };
    s.create(&a).await.expect("create");
    s.create(&b).await.expect("create");
    assert_eq!(s.get(a.id).await.expect("get"), a);
    let all = s.list(Some(&repo), None, 10).await.expect("list");
    assert_eq!(all.len(), 2);
    let rejected = s
        .list(Some(&repo), Some(ChangeStatus::Rejected), 10)
        .await
        .expect("list");
    assert_eq!(rejected, vec![b]);
    assert_not_found(s.get(ChangeSetId::new()).await, "change set");
    assert_invalid(s.list(None, None, 0).await, "limit");
    assert_invalid(s.list(Some("no/slashes"), None, 1).await, "repository");
}

/// A save with the revision read bumps it; a stale one changes nothing.
pub async fn saves_compare_and_set(h: &dyn ChangeSetHarness) {
    let s = h.open().await;
    let c = change_set(&unique_name("repo-cas"));
    s.create(&c).await.expect("create");
    let mut read = s.get(c.id).await.expect("get");
    read.status = ChangeStatus::AwaitingApproval;
    read.decision = Some(ChangeDecision {
        by: "bob".into(),
        at: read.created_at,
        reason: "looks right".into(),
    });
    let saved = s.save(&read).await.expect("save");
    assert_eq!(
        (saved.revision, saved.status),
        (2, ChangeStatus::AwaitingApproval)
    );
    let mut stale = read.clone();
    stale.status = ChangeStatus::Rejected;
    assert!(matches!(s.save(&stale).await, Err(Error::Conflict(_))));
    assert_eq!(s.get(c.id).await.expect("get"), saved);
}

/// Every handle sees the others' writes; all survives reopening.
pub async fn shared_and_durable(h: &dyn ChangeSetHarness) {
    let (a, b) = (h.open().await, h.open().await);
    let c = change_set(&unique_name("repo-shared"));
    a.create(&c).await.expect("create");
    assert_eq!(b.get(c.id).await.expect("seen"), c);
    drop((a, b));
    assert_eq!(h.open().await.get(c.id).await.expect("reopened"), c);
}
