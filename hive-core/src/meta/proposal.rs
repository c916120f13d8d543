//! The proposal model: what the meta-agent suggests — a new prompt
//! version, a configuration change, or a code change — with the evidence
//! it rests on, the effect it expects, its risk, and where it stands.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::experiment::ExperimentId;
use crate::outcome::Metrics;
use crate::prompt::PromptVersionId;
use crate::queue::TaskId;

/// A proposal's identity: a UUID (version 7).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ProposalId(pub Uuid);

impl ProposalId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        ProposalId(Uuid::now_v7())
    }
}

impl Default for ProposalId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ProposalId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ProposalId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s)
            .map(ProposalId)
            .map_err(|e| Error::invalid(format!("proposal id {s:?} is not a UUID: {e}")))
    }
}

/// What a proposal changes.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalKind {
    /// A new version of the agent's prompt, tried in an experiment.
    Prompt,
    /// A setting (concurrency, retries, timeouts, model): waits for an
    /// approval.
    Config,
    /// A change to code, for the self-modifier: waits for an approval.
    Code,
}

/// How much could go wrong if the proposal is wrong.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Risk {
    /// Tried on a share of tasks, undone by the experiment's own rules.
    Low,
    /// Changes how every task runs until undone by hand.
    Medium,
    /// Changes code.
    High,
}

/// Where a proposal stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ProposalStatus {
    /// Waiting for an approval (or, for a prompt, for its experiment to
    /// start).
    Proposed,
    /// Its prompt is being tried in an experiment.
    Experimenting,
    /// Approved by a person.
    Approved,
    /// Rejected by a person.
    Rejected,
    /// Failed the checks (a must-keep clause dropped, too long): never
    /// tried.
    Refused,
}

impl ProposalStatus {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ProposalStatus::Proposed => "proposed",
            ProposalStatus::Experimenting => "experimenting",
            ProposalStatus::Approved => "approved",
            ProposalStatus::Rejected => "rejected",
            ProposalStatus::Refused => "refused",
        }
    }
}

impl FromStr for ProposalStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        [
            ProposalStatus::Proposed,
            ProposalStatus::Experimenting,
            ProposalStatus::Approved,
            ProposalStatus::Rejected,
            ProposalStatus::Refused,
        ]
        .into_iter()
        .find(|p| p.as_str() == s)
        .ok_or_else(|| {
            Error::invalid(format!(
                "unknown proposal status {s:?} (proposed, experimenting, approved, rejected or refused)"
            ))
        })
    }
}

/// What a proposal rests on: the tasks it learned from and the metrics
/// when it was written.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Evidence {
    /// The failed and dead-lettered tasks it read.
    pub tasks: Vec<TaskId>,
    /// The agent's metrics per prompt version at the time.
    pub metrics: Vec<Metrics>,
}

/// A proposal.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Proposal {
    /// Identity.
    pub id: ProposalId,
    /// The agent it is about.
    pub agent: String,
    /// What it changes.
    pub kind: ProposalKind,
    /// Where it stands.
    pub status: ProposalStatus,
    /// In a line.
    pub summary: String,
    /// Why, from the evidence.
    pub rationale: String,
    /// What it should change in the metrics.
    pub expected_effect: String,
    /// Its risk class.
    pub risk: Risk,
    /// The prompt version it wrote (a prompt proposal).
    pub prompt_version: Option<PromptVersionId>,
    /// The version that one was derived from.
    pub parent_version: Option<PromptVersionId>,
    /// The experiment trying it.
    pub experiment: Option<ExperimentId>,
    /// The change, for a configuration or code proposal (`setting`,
    /// `value`, or `description`).
    pub change: Option<serde_json::Value>,
    /// What it rests on.
    pub evidence: Evidence,
    /// Who wrote it (`meta-agent`).
    pub author: String,
    /// The run that wrote it.
    pub run: Uuid,
    /// Who approved or rejected it, or why it was refused.
    pub decided_by: Option<String>,
    /// Why.
    pub decision_reason: Option<String>,
    /// Bumped by every save.
    pub revision: u64,
    /// When it was written.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

/// One run of the meta-agent, as the budget counts it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MetaRun {
    /// Identity.
    pub id: Uuid,
    /// The agent it looked at.
    pub agent: String,
    /// Model calls it made.
    pub calls: u32,
    /// Tokens they used.
    pub tokens: u64,
    /// What they cost, when priced.
    pub cost_usd: f64,
    /// When it ran.
    pub at: DateTime<Utc>,
}
