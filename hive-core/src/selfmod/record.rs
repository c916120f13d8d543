//! The change-set model: a change to a repository on its way through the
//! gates — where it stands, the step it is at, each step's log, and what
//! the gates found (diff statistics, the static verdict, the benchmark's
//! interval, the approval, the merge and its rollback tag).

use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

use super::bench::BenchFigures;
use super::gate::{RiskClass, StaticVerdict};
use super::git::FileChange;
use crate::error::{Error, Result};
use crate::meta::ProposalId;
use crate::names::uuid_id;

uuid_id!(
    /// A change set's identity: a UUID (v7).
    ChangeSetId,
    "change set id"
);

impl ChangeSetId {
    /// Twelve hex digits of the id's random part, for branch and
    /// directory names. (A UUID v7 begins with its timestamp, the same for
    /// every id made in the same minute or so: the head of the id would
    /// give change sets proposed together one branch.)
    pub fn short(&self) -> String {
        let hex = self.0.simple().to_string();
        hex[hex.len() - 12..].to_string()
    }
}

/// Where a change set's change comes from.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "kind")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChangeSource {
    /// A unified diff (as `git diff` prints it), applied to the worktree.
    Patch {
        /// The diff.
        patch: String,
    },
    /// The repository's coding command, run in the worktree with this
    /// prompt (its `{prompt}` placeholder).
    Agent {
        /// What to do.
        prompt: String,
    },
}

/// What to change: the input of [`super::SelfModifier::propose`].
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct NewChangeSet {
    /// The repository, by the name it was added under.
    pub repository: String,
    /// In a line: the commit's subject.
    pub title: String,
    /// More words, for the commit's body and the reviewers.
    #[serde(default)]
    pub description: String,
    /// The change.
    pub source: ChangeSource,
    /// The meta-agent's proposal it carries out, if any.
    #[serde(default)]
    pub proposal: Option<ProposalId>,
    /// Who asked for it.
    #[serde(default)]
    pub requested_by: Option<String>,
}

/// The most bytes of a title.
pub const MAX_TITLE: usize = 200;

impl NewChangeSet {
    /// A change set applying `patch`.
    pub fn patch(
        repository: impl Into<String>,
        title: impl Into<String>,
        patch: impl Into<String>,
    ) -> Self {
        NewChangeSet {
            repository: repository.into(),
            title: title.into(),
            description: String::new(),
            source: ChangeSource::Patch {
                patch: patch.into(),
            },
            proposal: None,
            requested_by: None,
        }
    }

    /// A change set written by the repository's coding command from
    /// `prompt`.
    pub fn agent(
        repository: impl Into<String>,
        title: impl Into<String>,
        prompt: impl Into<String>,
    ) -> Self {
        NewChangeSet {
            source: ChangeSource::Agent {
                prompt: prompt.into(),
            },
            ..NewChangeSet::patch(repository, title, "")
        }
    }

    /// Checks what needs no repository.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field.
    pub fn check(&self) -> Result<()> {
        let title = self.title.trim();
        if title.is_empty() || title.len() > MAX_TITLE || title.contains('\n') {
            return Err(Error::invalid(format!(
                "title must be one line of 1 to {MAX_TITLE} bytes"
            )));
        }
        match &self.source {
            ChangeSource::Patch { patch } if patch.trim().is_empty() => {
                Err(Error::invalid("source.patch is empty"))
            }
            ChangeSource::Agent { prompt } if prompt.trim().is_empty() => {
                Err(Error::invalid("source.prompt is empty"))
            }
            _ => Ok(()),
        }
    }
}

/// Where a change set stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum ChangeStatus {
    /// Going through its gates.
    Running,
    /// Critical, every gate passed: waiting for an approver.
    AwaitingApproval,
    /// Merged; its health is being watched.
    Watching,
    /// Merged (and watched, when the policy watches).
    Done,
    /// Stopped by a gate, a person or a timeout; the target never moved.
    Rejected,
    /// Merged, then undone by a revert commit.
    Reverted,
    /// Merged, failed its watch, and the revert could not be made: a
    /// person must look.
    Failed,
}

impl ChangeStatus {
    /// Every status, in order.
    pub const ALL: [ChangeStatus; 7] = [
        ChangeStatus::Running,
        ChangeStatus::AwaitingApproval,
        ChangeStatus::Watching,
        ChangeStatus::Done,
        ChangeStatus::Rejected,
        ChangeStatus::Reverted,
        ChangeStatus::Failed,
    ];

    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ChangeStatus::Running => "running",
            ChangeStatus::AwaitingApproval => "awaiting_approval",
            ChangeStatus::Watching => "watching",
            ChangeStatus::Done => "done",
            ChangeStatus::Rejected => "rejected",
            ChangeStatus::Reverted => "reverted",
            ChangeStatus::Failed => "failed",
        }
    }

    /// True when nothing more happens to it by itself.
    pub fn is_final(self) -> bool {
        matches!(
            self,
            ChangeStatus::Done
                | ChangeStatus::Rejected
                | ChangeStatus::Reverted
                | ChangeStatus::Failed
        )
    }
}

impl FromStr for ChangeStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        ChangeStatus::ALL
            .into_iter()
            .find(|c| c.as_str() == s)
            .ok_or_else(|| {
                Error::invalid(format!(
                    "unknown change set status {s:?} (running, awaiting_approval, watching, done, rejected, reverted or failed)"
                ))
            })
    }
}

/// A step of the state machine; each runs as one queue task.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Step {
    /// Resolve the target's head now and make the worktree there.
    Prepare,
    /// Apply the patch or run the coding command; commit what is on disk.
    Generate,
    /// Judge the diff: paths, symlinks, size, risk class.
    StaticGate,
    /// Tests restored from the base, in the sandbox; added tests must fail
    /// on the base.
    Tests,
    /// Base and candidate alternately; the interval on the ratio.
    Bench,
    /// Critical changes wait here for an approval.
    Review,
    /// Tag the target's head for rollback and fast-forward it.
    Merge,
    /// Run the health command for the window; revert on failure.
    Watch,
}

impl Step {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            Step::Prepare => "prepare",
            Step::Generate => "generate",
            Step::StaticGate => "static_gate",
            Step::Tests => "tests",
            Step::Bench => "bench",
            Step::Review => "review",
            Step::Merge => "merge",
            Step::Watch => "watch",
        }
    }
}

/// One step's record: when it ran, whether it passed, what it said.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct StepLog {
    /// The step.
    pub step: Step,
    /// Which run of the step this was, counting the runs whose log was
    /// saved (a run cut short by a crash leaves no log; the step runs
    /// again from its start).
    pub attempt: u32,
    /// When it started.
    pub started_at: DateTime<Utc>,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
    /// Whether it passed.
    pub passed: bool,
    /// In a line.
    pub summary: String,
    /// What its commands printed (the end, bounded).
    pub output: String,
}

/// Who approved or rejected a change set, when and why.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeDecision {
    /// Who (the approver's name as the frontend authenticated it).
    pub by: String,
    /// When.
    pub at: DateTime<Utc>,
    /// Why.
    pub reason: String,
}

/// What a diff changed, in numbers.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct DiffStats {
    /// Files changed.
    pub files: u64,
    /// Lines inserted.
    pub insertions: u64,
    /// Lines deleted.
    pub deletions: u64,
    /// Each file.
    pub changes: Vec<FileChange>,
}

impl DiffStats {
    /// The statistics of a diff.
    pub fn of(changes: Vec<FileChange>) -> Self {
        DiffStats {
            files: changes.len() as u64,
            insertions: changes.iter().map(|c| c.insertions).sum(),
            deletions: changes.iter().map(|c| c.deletions).sum(),
            changes,
        }
    }
}

/// A change set.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct ChangeSet {
    /// Identity.
    pub id: ChangeSetId,
    /// The repository's name.
    pub repository: String,
    /// The branch it merges into.
    pub target: String,
    /// The commit's subject.
    pub title: String,
    /// The commit's body.
    pub description: String,
    /// The change.
    pub source: ChangeSource,
    /// The meta-agent's proposal it carries out.
    pub proposal: Option<ProposalId>,
    /// Who asked for it.
    pub requested_by: Option<String>,
    /// Where it stands.
    pub status: ChangeStatus,
    /// The step it is at (or stopped at).
    pub step: Step,
    /// Its branch, `hive/change/<short id>` (see [`ChangeSetId::short`]).
    pub branch: String,
    /// The target's commit when the worktree was made.
    pub base_commit: Option<String>,
    /// The commit of the change (on its branch).
    pub head_commit: Option<String>,
    /// What it changes.
    pub diff: Option<DiffStats>,
    /// The static gate's verdict.
    pub static_verdict: Option<StaticVerdict>,
    /// Its risk class, once known.
    pub risk: Option<RiskClass>,
    /// The benchmark gate's figures.
    pub bench: Option<BenchFigures>,
    /// The approval or rejection by a person.
    pub decision: Option<ChangeDecision>,
    /// When a waiting approval times out.
    pub approval_deadline: Option<DateTime<Utc>>,
    /// The tag at the target's commit before the merge.
    pub rollback_tag: Option<String>,
    /// The target's commit after the merge.
    pub merged_commit: Option<String>,
    /// The revert commit, when it was reverted.
    pub revert_commit: Option<String>,
    /// Why it was rejected, reverted or failed.
    pub reason: Option<String>,
    /// Each step's runs, in order.
    pub logs: Vec<StepLog>,
    /// Bumped by every save.
    pub revision: u64,
    /// When it was proposed.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl ChangeSet {
    /// How many times `step` has been logged.
    pub fn attempts(&self, step: Step) -> u32 {
        let n = self.logs.iter().filter(|l| l.step == step).count();
        u32::try_from(n).unwrap_or(u32::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_ids_of_ids_made_together_differ() {
        let ids: std::collections::BTreeSet<String> =
            (0..1000).map(|_| ChangeSetId::new().short()).collect();
        assert_eq!(ids.len(), 1000);
        assert!(ids.iter().all(|s| s.len() == 12));
    }
}
