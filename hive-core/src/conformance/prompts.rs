//! The [`PromptRegistry`] contract as tests: each clause of its
//! `# Contract` names its functions here (`tests/it/tidy.rs` checks both
//! ways).
//!
//! Every clause works on agents of its own (named with a unique prefix),
//! so suites may share a database.

use std::sync::Arc;

use async_trait::async_trait;

use super::{assert_invalid, assert_not_found, unique_name};
use crate::error::Error;
use crate::prompt::{
    content_hash, AuthorKind, MoveLabel, NewPromptVersion, PromptRegistry, PromptVersionId,
    MAX_PROMPT_BYTES, PRODUCTION,
};

/// Opens the backend under test.
#[async_trait]
pub trait PromptHarness: Send + Sync {
    /// Opens a new handle on this test's database. Opening twice gives two
    /// handles on one database (as two processes would have).
    async fn open(&self) -> Arc<dyn PromptRegistry>;

    /// Called after a clause passes: a shared database may drop what the
    /// clause made.
    async fn finish(&self) {}
}

/// Stamps one `#[tokio::test]` per prompt-registry clause, each opening
/// the backend with `$harness` (an expression of type
/// `Option<impl PromptHarness>`, which may `.await`; `None` means the
/// service is not configured).
#[macro_export]
macro_rules! prompt_conformance_tests {
    ($harness:expr) => {
        $crate::__prompt_clauses!($harness;
            create_then_get_round_trips,
            the_same_text_is_the_same_version,
            bad_input_stores_nothing,
            labels_move_and_keep_their_history,
            a_label_moves_only_to_its_agents_versions,
            protected_labels_need_an_approval,
            concurrent_moves_are_gap_free,
            shared_and_durable,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __prompt_clauses {
    ($harness:expr; $($clause:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $clause() {
                if let Some(harness) = $harness {
                    $crate::conformance::prompts::$clause(&harness).await;
                    $crate::conformance::prompts::PromptHarness::finish(&harness).await;
                }
            }
        )*
    };
}

/// `create` answers a fresh version that `get` and `versions` read back.
pub async fn create_then_get_round_trips(h: &dyn PromptHarness) {
    let r = h.open().await;
    let agent = unique_name("writer");
    let before = chrono::Utc::now() - chrono::Duration::seconds(5);
    let v1 = r
        .create(NewPromptVersion::new(&agent, "You answer briefly.", "ana"))
        .await
        .expect("create");
    assert_eq!(
        (v1.agent.as_str(), v1.text.as_str(), v1.author.as_str()),
        (agent.as_str(), "You answer briefly.", "ana")
    );
    assert_eq!(
        (v1.parent, v1.author_kind, v1.rationale.clone()),
        (None, AuthorKind::Person, None)
    );
    assert_eq!(v1.hash, content_hash("You answer briefly."));
    assert!(
        v1.hash.starts_with("sha256:") && v1.hash.len() == 7 + 64,
        "{}",
        v1.hash
    );
    assert!(
        v1.created_at >= before
            && v1.created_at <= chrono::Utc::now() + chrono::Duration::seconds(5)
    );
    let v2 = r
        .create(
            NewPromptVersion::new(&agent, "You answer briefly, citing the task.", "optimiser")
                .parent(v1.id)
                .by_optimiser()
                .rationale("three failures lacked a citation"),
        )
        .await
        .expect("create v2");
    assert_eq!(v2.parent, Some(v1.id));
    assert_eq!(v2.author_kind, AuthorKind::Optimiser);
    assert_eq!(
        v2.rationale.as_deref(),
        Some("three failures lacked a citation")
    );
    assert_eq!(r.get(v1.id).await.expect("get"), v1);
    assert_eq!(r.get(v2.id).await.expect("get"), v2);
    assert_eq!(r.versions(&agent).await.expect("versions"), vec![v1, v2]);
    assert_not_found(r.get(PromptVersionId::new()).await, "get");
    assert!(r
        .versions(&unique_name("nobody"))
        .await
        .expect("none")
        .is_empty());
}

/// The same text for the same agent is the same version.
pub async fn the_same_text_is_the_same_version(h: &dyn PromptHarness) {
    let r = h.open().await;
    let agent = unique_name("same");
    let first = r
        .create(NewPromptVersion::new(&agent, "Be kind.", "ana"))
        .await
        .expect("create");
    let again = r
        .create(NewPromptVersion::new(&agent, "Be kind.", "bo").rationale("again"))
        .await
        .expect("create again");
    assert_eq!(again, first, "the earlier version, unchanged");
    let other = r
        .create(NewPromptVersion::new(
            unique_name("other"),
            "Be kind.",
            "ana",
        ))
        .await
        .expect("another agent");
    assert_ne!(other.id, first.id, "versions belong to one agent");
    assert_eq!(r.versions(&agent).await.expect("versions").len(), 1);
}

/// Bad versions are refused and nothing is stored.
pub async fn bad_input_stores_nothing(h: &dyn PromptHarness) {
    let r = h.open().await;
    let agent = unique_name("bad");
    let cases = [
        (NewPromptVersion::new(&agent, "   ", "ana"), "empty"),
        (
            NewPromptVersion::new(&agent, "x".repeat(MAX_PROMPT_BYTES + 1), "ana"),
            "over the limit",
        ),
        (NewPromptVersion::new("", "text", "ana"), "agent name"),
        (NewPromptVersion::new(&agent, "text", "a\nb"), "author"),
        (
            NewPromptVersion::new(&agent, "text", "ana").rationale("r".repeat(20_000)),
            "rationale",
        ),
    ];
    for (new, named) in cases {
        assert_invalid(r.create(new).await, named);
    }
    assert_not_found(
        r.create(NewPromptVersion::new(&agent, "text", "ana").parent(PromptVersionId::new()))
            .await,
        "an unknown parent",
    );
    let foreign = r
        .create(NewPromptVersion::new(
            unique_name("foreign"),
            "theirs",
            "ana",
        ))
        .await
        .expect("create");
    assert_invalid(
        r.create(NewPromptVersion::new(&agent, "text", "ana").parent(foreign.id))
            .await,
        "not",
    );
    assert!(
        r.versions(&agent).await.expect("versions").is_empty(),
        "nothing stored"
    );
}

/// Labels point at versions, move, and keep every move.
pub async fn labels_move_and_keep_their_history(h: &dyn PromptHarness) {
    let r = h.open().await;
    let agent = unique_name("labelled");
    let v1 = r
        .create(NewPromptVersion::new(&agent, "one", "ana"))
        .await
        .expect("v1");
    let v2 = r
        .create(NewPromptVersion::new(&agent, "two", "ana"))
        .await
        .expect("v2");
    assert_not_found(r.label(&agent, "candidate").await, "an unset label");
    assert_not_found(r.resolve(&agent, "candidate").await, "an unset label");
    let first = r
        .move_label(MoveLabel::new(&agent, "candidate", v1.id, "ana").reason("start"))
        .await
        .expect("first move");
    assert_eq!(
        (first.version, first.moves, first.protected),
        (v1.id, 1, false)
    );
    let second = r
        .move_label(MoveLabel::new(&agent, "candidate", v2.id, "bo"))
        .await
        .expect("second move");
    assert_eq!((second.version, second.moves), (v2.id, 2));
    assert_eq!(r.resolve(&agent, "candidate").await.expect("resolve"), v2);
    assert_eq!(r.label(&agent, "candidate").await.expect("label"), second);
    r.move_label(MoveLabel::new(&agent, "alpha", v1.id, "ana"))
        .await
        .expect("another label");
    let names: Vec<String> = r
        .labels(&agent)
        .await
        .expect("labels")
        .into_iter()
        .map(|l| l.name)
        .collect();
    assert_eq!(names, ["alpha", "candidate"]);
    let history = r.history(&agent, "candidate").await.expect("history");
    let moves: Vec<_> = history
        .iter()
        .map(|m| (m.seq, m.from, m.to, m.by.as_str(), m.reason.as_deref()))
        .collect();
    assert_eq!(
        moves,
        vec![
            (1, None, v1.id, "ana", Some("start")),
            (2, Some(v1.id), v2.id, "bo", None),
        ]
    );
    assert_not_found(r.history(&agent, "never").await, "an unset label's history");
}

/// A label moves only to its own agent's versions.
pub async fn a_label_moves_only_to_its_agents_versions(h: &dyn PromptHarness) {
    let r = h.open().await;
    let agent = unique_name("mine");
    let v1 = r
        .create(NewPromptVersion::new(&agent, "one", "ana"))
        .await
        .expect("v1");
    r.move_label(MoveLabel::new(&agent, "candidate", v1.id, "ana"))
        .await
        .expect("move");
    let theirs = r
        .create(NewPromptVersion::new(unique_name("theirs"), "other", "ana"))
        .await
        .expect("theirs");
    assert_invalid(
        r.move_label(MoveLabel::new(&agent, "candidate", theirs.id, "ana"))
            .await,
        "cannot point",
    );
    assert_not_found(
        r.move_label(MoveLabel::new(
            &agent,
            "candidate",
            PromptVersionId::new(),
            "ana",
        ))
        .await,
        "an unknown version",
    );
    assert_invalid(
        r.move_label(MoveLabel::new(&agent, "", v1.id, "ana")).await,
        "label",
    );
    let label = r.label(&agent, "candidate").await.expect("label");
    assert_eq!((label.version, label.moves), (v1.id, 1), "nothing changed");
    assert_eq!(
        r.history(&agent, "candidate").await.expect("history").len(),
        1
    );
}

/// A protected label moves only with an approval by someone else.
pub async fn protected_labels_need_an_approval(h: &dyn PromptHarness) {
    let r = h.open().await;
    let agent = unique_name("guarded");
    let v1 = r
        .create(NewPromptVersion::new(&agent, "one", "ana"))
        .await
        .expect("v1");
    let v2 = r
        .create(NewPromptVersion::new(&agent, "two", "ana"))
        .await
        .expect("v2");
    let prod = r
        .move_label(MoveLabel::new(&agent, PRODUCTION, v1.id, "ana"))
        .await
        .expect("the first move needs no approval");
    assert!(
        prod.protected,
        "production is protected from its first move on"
    );
    assert_invalid(
        r.move_label(MoveLabel::new(&agent, PRODUCTION, v2.id, "ana"))
            .await,
        "approval",
    );
    assert_invalid(
        r.move_label(MoveLabel::new(&agent, PRODUCTION, v2.id, "ana").approved_by("ana"))
            .await,
        "someone other",
    );
    let unchanged = r.label(&agent, PRODUCTION).await.expect("label");
    assert_eq!(
        (unchanged.version, unchanged.moves),
        (v1.id, 1),
        "refusals change nothing"
    );
    let moved = r
        .move_label(
            MoveLabel::new(&agent, PRODUCTION, v2.id, "ana")
                .approved_by("bo")
                .reason("v2 won"),
        )
        .await
        .expect("approved");
    assert_eq!((moved.version, moved.moves), (v2.id, 2));
    let last = r
        .history(&agent, PRODUCTION)
        .await
        .expect("history")
        .pop()
        .expect("a move");
    assert_eq!((last.seq, last.approved_by.as_deref()), (2, Some("bo")));

    // Any label can be protected; lifting protection needs an approver.
    r.move_label(MoveLabel::new(&agent, "candidate", v1.id, "ana"))
        .await
        .expect("candidate");
    let guarded = r
        .set_protected(&agent, "candidate", true, None)
        .await
        .expect("protect");
    assert!(guarded.protected);
    assert_invalid(
        r.move_label(MoveLabel::new(&agent, "candidate", v2.id, "ana"))
            .await,
        "approval",
    );
    assert_invalid(
        r.set_protected(&agent, "candidate", false, None).await,
        "approval",
    );
    let open = r
        .set_protected(&agent, "candidate", false, Some("bo"))
        .await
        .expect("lifted");
    assert!(!open.protected);
    r.move_label(MoveLabel::new(&agent, "candidate", v2.id, "ana"))
        .await
        .expect("moves freely again");
    assert_not_found(
        r.set_protected(&agent, "never", true, None).await,
        "an unset label",
    );
}

/// Moves of one label from many handles at once are numbered 1..=n.
pub async fn concurrent_moves_are_gap_free(h: &dyn PromptHarness) {
    let agent = unique_name("busy");
    let first = h.open().await;
    let mut versions = Vec::new();
    for i in 0..4 {
        versions.push(
            first
                .create(NewPromptVersion::new(&agent, format!("text {i}"), "ana"))
                .await
                .expect("create")
                .id,
        );
    }
    first
        .move_label(MoveLabel::new(&agent, "candidate", versions[0], "ana"))
        .await
        .expect("first move");
    let mut handles = Vec::new();
    for _ in 0..4 {
        handles.push(h.open().await);
    }
    let mut moves = Vec::new();
    for (i, r) in handles.iter().enumerate() {
        for j in 0..5 {
            let r = r.clone();
            let agent = agent.clone();
            let v = versions[(i + j) % versions.len()];
            moves.push(tokio::spawn(async move {
                loop {
                    match r
                        .move_label(MoveLabel::new(&agent, "candidate", v, "ana"))
                        .await
                    {
                        Ok(l) => return l,
                        Err(Error::Backend { .. } | Error::Conflict(_)) => {
                            tokio::time::sleep(std::time::Duration::from_millis(5)).await;
                        }
                        Err(e) => panic!("move: {e}"),
                    }
                }
            }));
        }
    }
    for m in moves {
        m.await.expect("join");
    }
    let history = first.history(&agent, "candidate").await.expect("history");
    let seqs: Vec<u64> = history.iter().map(|m| m.seq).collect();
    assert_eq!(seqs, (1..=21).collect::<Vec<u64>>());
    for pair in history.windows(2) {
        assert_eq!(
            pair[1].from,
            Some(pair[0].to),
            "each move starts where the last ended"
        );
    }
    let label = first.label(&agent, "candidate").await.expect("label");
    assert_eq!((label.moves, label.version), (21, history[20].to));
}

/// Two handles see each other's writes; everything survives reopening.
pub async fn shared_and_durable(h: &dyn PromptHarness) {
    let agent = unique_name("shared");
    let (a, b) = (h.open().await, h.open().await);
    let v = a
        .create(NewPromptVersion::new(&agent, "one", "ana"))
        .await
        .expect("create");
    a.move_label(MoveLabel::new(&agent, "candidate", v.id, "ana"))
        .await
        .expect("move");
    assert_eq!(b.get(v.id).await.expect("seen by the other"), v);
    assert_eq!(b.resolve(&agent, "candidate").await.expect("resolve"), v);
    drop((a, b));
    let again = h.open().await;
    assert_eq!(
        again
            .resolve(&agent, "candidate")
            .await
            .expect("after reopening"),
        v
    );
    assert_eq!(
        again
            .history(&agent, "candidate")
            .await
            .expect("history")
            .len(),
        1
    );
}
