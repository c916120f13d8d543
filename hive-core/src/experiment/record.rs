//! The experiment model: what is compared (arms, each a prompt version of
//! one agent), on what (the primary metric and the guardrails), how far
//! (α, the minimum and maximum samples) and how tasks are split between
//! the arms; and what was decided.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::names::check_label;
use crate::prompt::{PromptVersionId, PRODUCTION};
use crate::queue::TaskId;

/// The arm every experiment compares its variants with.
pub const CONTROL: &str = "control";

/// The arm the tasks of a post-promotion watch are recorded in.
pub const WATCH: &str = "watch";

/// The most variants one experiment may have.
pub const MAX_VARIANTS: usize = 8;

/// The most samples an arm may be given.
pub const MAX_SAMPLES: u64 = 1_000_000;

/// An experiment's identity: a UUID (version 7, so ids sort by start).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct ExperimentId(pub Uuid);

impl ExperimentId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        ExperimentId(Uuid::now_v7())
    }
}

impl Default for ExperimentId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for ExperimentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for ExperimentId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s)
            .map(ExperimentId)
            .map_err(|e| Error::invalid(format!("experiment id {s:?} is not a UUID: {e}")))
    }
}

/// What an experiment tries to raise.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Metric {
    /// The share of tasks that complete (1) rather than dead-letter (0).
    #[default]
    Success,
    /// The verifier's score; a task without one counts as 0.
    Score,
}

/// Limits a variant must keep to, whatever its primary metric: one that
/// significantly breaks one is stopped on that guardrail.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Guardrails {
    /// The most a variant's cost per task may exceed the control's, as a
    /// fraction (0.5: at most 1.5 times). Cost is dollars when every task
    /// of both arms was priced, else model tokens.
    #[serde(default)]
    pub max_cost_increase: Option<f64>,
    /// The most a variant's 95th-percentile run time may exceed the
    /// control's, as a fraction.
    #[serde(default)]
    pub max_p95_increase: Option<f64>,
    /// The most a variant's dead-letter rate may exceed the control's, in
    /// absolute terms (0.05: five points).
    #[serde(default)]
    pub max_error_rate_increase: Option<f64>,
}

/// How tasks are split between the arms.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum Allocation {
    /// A fixed split: one weight per arm, the control first (empty: equal).
    Fixed {
        /// The weights; they need not sum to 1.
        #[serde(default)]
        weights: Vec<f64>,
    },
    /// Equal shares until `burn_in` observations in all, then each arm in
    /// proportion to the chance that it is the best (Thompson sampling).
    Thompson {
        /// Observations before the split adapts.
        burn_in: u64,
    },
}

impl Default for Allocation {
    fn default() -> Self {
        Allocation::Fixed {
            weights: Vec::new(),
        }
    }
}

/// An experiment to start.
#[derive(Clone, Debug, PartialEq)]
pub struct NewExperiment {
    /// The agent whose prompt is tried.
    pub agent: String,
    /// The label the winner moves (default [`PRODUCTION`]).
    pub label: String,
    /// The control: the version the label points at now (`None`: read it
    /// from the label).
    pub control: Option<PromptVersionId>,
    /// The versions tried against it (1..=[`MAX_VARIANTS`]).
    pub variants: Vec<PromptVersionId>,
    /// What a variant must raise.
    pub metric: Metric,
    /// What a variant must not break.
    pub guardrails: Guardrails,
    /// The error rate of the whole experiment, in (0, 0.5]. Default 0.05.
    pub alpha: f64,
    /// Observations each arm needs before anything is decided. Default 20.
    pub min_samples: u64,
    /// Observations after which an arm is given up on. Default 1000.
    pub max_samples: u64,
    /// The split.
    pub allocation: Allocation,
    /// The assignment seed; `None` draws one.
    pub seed: Option<u64>,
    /// Observations of a promoted version watched against the one it
    /// replaced (0: no watch). Default 200.
    pub watch_samples: u64,
    /// The share of the watch's tasks that keep running on the replaced
    /// version, in [0, 0.5]: a concurrent baseline for the comparison (the
    /// experiment's own tasks of that version are part of it too).
    /// Default 0.2.
    pub watch_holdback: f64,
    /// Who starts it.
    pub started_by: String,
    /// Who approved, in advance, moving a protected label to the winner
    /// (and back, should the watch see a regression). Without it a winner
    /// of a protected label waits for [`approve`](super::Experiments::approve).
    pub approved_by: Option<String>,
}

impl NewExperiment {
    /// `started_by` tries `variants` of `agent`'s prompt against its
    /// `production` version, with the defaults.
    pub fn new(
        agent: impl Into<String>,
        variants: impl IntoIterator<Item = PromptVersionId>,
        started_by: impl Into<String>,
    ) -> Self {
        NewExperiment {
            agent: agent.into(),
            label: PRODUCTION.to_string(),
            control: None,
            variants: variants.into_iter().collect(),
            metric: Metric::Success,
            guardrails: Guardrails::default(),
            alpha: 0.05,
            min_samples: 20,
            max_samples: 1000,
            allocation: Allocation::default(),
            seed: None,
            watch_samples: 200,
            watch_holdback: 0.2,
            started_by: started_by.into(),
            approved_by: None,
        }
    }

    /// Refuses an experiment that cannot run, naming the field: bad names,
    /// no variant or too many, a variant that is the control or repeats,
    /// α outside (0, 0.5], a minimum of 0 or over the maximum, a maximum
    /// over [`MAX_SAMPLES`], a guardrail that is not a finite number ≥ 0,
    /// weights that do not match the arms or are not finite and ≥ 0 with a
    /// positive sum, and an approver who is the starter.
    ///
    /// # Errors
    /// [`Error::InvalidInput`].
    pub fn check(&self) -> Result<()> {
        check_label("agent name", &self.agent)?;
        check_label("label", &self.label)?;
        check_label("starter", &self.started_by)?;
        if let Some(a) = &self.approved_by {
            check_label("approver", a)?;
            if *a == self.started_by {
                return Err(Error::invalid(format!(
                    "an experiment's approval must come from someone other than its starter {a:?}"
                )));
            }
        }
        if self.variants.is_empty() || self.variants.len() > MAX_VARIANTS {
            return Err(Error::invalid(format!(
                "an experiment needs 1 to {MAX_VARIANTS} variants, got {}",
                self.variants.len()
            )));
        }
        for (i, v) in self.variants.iter().enumerate() {
            if Some(*v) == self.control {
                return Err(Error::invalid(format!("variant {v} is the control")));
            }
            if self.variants[..i].contains(v) {
                return Err(Error::invalid(format!("variant {v} is named twice")));
            }
        }
        if !(self.alpha > 0.0 && self.alpha <= 0.5) {
            return Err(Error::invalid(format!(
                "alpha must be in (0, 0.5], got {}",
                self.alpha
            )));
        }
        if self.min_samples == 0 {
            return Err(Error::invalid("min_samples must be at least 1"));
        }
        if self.min_samples > self.max_samples {
            return Err(Error::invalid(format!(
                "min_samples ({}) is over max_samples ({})",
                self.min_samples, self.max_samples
            )));
        }
        if !(0.0..=0.5).contains(&self.watch_holdback) {
            return Err(Error::invalid(format!(
                "watch_holdback must be in [0, 0.5], got {}",
                self.watch_holdback
            )));
        }
        if self.max_samples > MAX_SAMPLES || self.watch_samples > MAX_SAMPLES {
            return Err(Error::invalid(format!(
                "max_samples and watch_samples must be at most {MAX_SAMPLES}"
            )));
        }
        for (what, v) in [
            ("max_cost_increase", self.guardrails.max_cost_increase),
            ("max_p95_increase", self.guardrails.max_p95_increase),
            (
                "max_error_rate_increase",
                self.guardrails.max_error_rate_increase,
            ),
        ] {
            if let Some(v) = v {
                if !v.is_finite() || v < 0.0 {
                    return Err(Error::invalid(format!(
                        "guardrail {what} must be a finite number ≥ 0, got {v}"
                    )));
                }
            }
        }
        if let Allocation::Fixed { weights } = &self.allocation {
            if !weights.is_empty() {
                if weights.len() != self.variants.len() + 1 {
                    return Err(Error::invalid(format!(
                        "{} weights for {} arms (the control first)",
                        weights.len(),
                        self.variants.len() + 1
                    )));
                }
                if weights.iter().any(|w| !w.is_finite() || *w < 0.0)
                    || weights.iter().sum::<f64>() <= 0.0
                {
                    return Err(Error::invalid(
                        "weights must be finite numbers ≥ 0 with a positive sum",
                    ));
                }
            }
        }
        Ok(())
    }
}

/// Where an arm stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ArmState {
    /// Still given tasks (the control always is while the experiment runs).
    Active,
    /// Significantly better than the control.
    Winner,
    /// Significantly worse than the control: given up on.
    Futile,
    /// Broke a guardrail: given up on.
    Guardrail,
    /// Reached the maximum sample without a decision.
    Exhausted,
}

/// One arm: a prompt version with a name.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Arm {
    /// `control`, `variant-1`, `variant-2`…
    pub name: String,
    /// The version its tasks use.
    pub version: PromptVersionId,
    /// Where it stands.
    pub state: ArmState,
    /// Why it left (for a variant that did).
    #[serde(default)]
    pub reason: Option<String>,
}

/// Where an experiment stands.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ExperimentStatus {
    /// Assigning tasks and deciding after every observation.
    Running,
    /// A winner was found; the label is protected and nobody approved in
    /// advance.
    AwaitingApproval,
    /// The winner was promoted; its tasks are watched against the version
    /// it replaced.
    Watching,
    /// Over: the decision (and the watch's verdict) say how.
    Finished,
}

impl ExperimentStatus {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            ExperimentStatus::Running => "running",
            ExperimentStatus::AwaitingApproval => "awaiting_approval",
            ExperimentStatus::Watching => "watching",
            ExperimentStatus::Finished => "finished",
        }
    }

    /// True while it holds its agent's label (one such experiment per
    /// label).
    pub fn is_active(self) -> bool {
        self != ExperimentStatus::Finished
    }
}

impl fmt::Display for ExperimentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for ExperimentStatus {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "running" => Ok(ExperimentStatus::Running),
            "awaiting_approval" => Ok(ExperimentStatus::AwaitingApproval),
            "watching" => Ok(ExperimentStatus::Watching),
            "finished" => Ok(ExperimentStatus::Finished),
            other => Err(Error::invalid(format!(
                "unknown experiment status {other:?} (running, awaiting_approval, watching or finished)"
            ))),
        }
    }
}

/// How an experiment ended its comparison.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DecisionKind {
    /// A variant is significantly better: it is (or waits to be) promoted.
    Winner,
    /// Every variant is significantly worse.
    Futility,
    /// Every variant broke a guardrail (or was worse).
    Guardrail,
    /// The maximum samples were reached without a decision.
    Inconclusive,
    /// Someone stopped it.
    Stopped,
}

/// What was decided, when and why.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Decision {
    /// How it ended.
    pub kind: DecisionKind,
    /// The winning arm, for a winner.
    pub arm: Option<String>,
    /// In words, with the figures.
    pub reason: String,
    /// Observations in all when it was decided.
    pub observations: u64,
    /// When.
    pub at: DateTime<Utc>,
}

/// What the post-promotion watch concluded.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum WatchVerdict {
    /// No regression in `watch_samples` observations: the promotion stays.
    Kept,
    /// A significant regression: the label was moved back.
    RolledBack,
}

/// The post-promotion watch of a winner.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Watch {
    /// The version promoted.
    pub promoted: PromptVersionId,
    /// The version it replaced (where the label is moved back to).
    pub replaced: PromptVersionId,
    /// The arm whose observations stand for the replaced version.
    pub baseline_arm: String,
    /// When the label moved.
    pub since: DateTime<Utc>,
    /// The verdict, once there is one.
    pub verdict: Option<WatchVerdict>,
    /// Why, with the figures.
    pub reason: Option<String>,
    /// When the verdict came.
    pub at: Option<DateTime<Utc>>,
}

/// An experiment as stored.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Experiment {
    /// Identity.
    pub id: ExperimentId,
    /// The agent.
    pub agent: String,
    /// The label it moves.
    pub label: String,
    /// The control first, then the variants.
    pub arms: Vec<Arm>,
    /// The primary metric.
    pub metric: Metric,
    /// The guardrails.
    pub guardrails: Guardrails,
    /// The error rate.
    pub alpha: f64,
    /// Observations per arm before deciding.
    pub min_samples: u64,
    /// Observations per arm at most.
    pub max_samples: u64,
    /// The split.
    pub allocation: Allocation,
    /// The current split, one weight per arm (Thompson sampling updates
    /// it; arms given up on get 0).
    pub weights: Vec<f64>,
    /// The assignment seed.
    pub seed: u64,
    /// Observations of a promoted version to watch.
    pub watch_samples: u64,
    /// The share of the watch's tasks held back on the replaced version.
    #[serde(default)]
    pub watch_holdback: f64,
    /// Who started it.
    pub started_by: String,
    /// Who approved its moves of a protected label.
    pub approved_by: Option<String>,
    /// Where it stands.
    pub status: ExperimentStatus,
    /// What was decided.
    pub decision: Option<Decision>,
    /// The watch, once a winner was promoted.
    pub watch: Option<Watch>,
    /// Bumped by every change: a save names the revision it read.
    pub revision: u64,
    /// When it started.
    pub created_at: DateTime<Utc>,
    /// When it last changed.
    pub updated_at: DateTime<Utc>,
}

impl Experiment {
    /// The arm named `name`.
    pub fn arm(&self, name: &str) -> Option<&Arm> {
        self.arms.iter().find(|a| a.name == name)
    }
}

/// A task's place in an experiment, decided when it is leased and kept.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Assignment {
    /// The experiment.
    pub experiment: ExperimentId,
    /// The arm.
    pub arm: String,
    /// The prompt version the task is to use.
    pub version: PromptVersionId,
}

/// One observation: an assigned task's outcome, as an experiment reads it.
#[derive(Clone, Debug, PartialEq)]
pub struct Observation {
    /// The task.
    pub task_id: TaskId,
    /// Its arm.
    pub arm: String,
    /// Completed (true) or dead-lettered.
    pub success: bool,
    /// The verifier's score.
    pub score: Option<f64>,
    /// Tokens it spent.
    pub tokens: u64,
    /// Dollars, when priced.
    pub cost_usd: Option<f64>,
    /// Run time of its last attempt.
    pub run_ms: u64,
    /// When it ended.
    pub finished_at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn ok() -> NewExperiment {
        NewExperiment::new("a", [PromptVersionId::new()], "alice")
    }

    #[test]
    fn check_names_the_field_it_refuses() {
        assert!(ok().check().is_ok());
        let cases: Vec<(NewExperiment, &str)> = vec![
            (NewExperiment { alpha: 0.0, ..ok() }, "alpha"),
            (NewExperiment { alpha: 0.6, ..ok() }, "alpha"),
            (
                NewExperiment {
                    alpha: f64::NAN,
                    ..ok()
                },
                "alpha",
            ),
            (
                NewExperiment {
                    min_samples: 10,
                    max_samples: 5,
                    ..ok()
                },
                "min_samples",
            ),
            (
                NewExperiment {
                    min_samples: 0,
                    ..ok()
                },
                "min_samples",
            ),
            (
                NewExperiment {
                    variants: vec![],
                    ..ok()
                },
                "variants",
            ),
            (
                NewExperiment {
                    approved_by: Some("alice".into()),
                    ..ok()
                },
                "approval",
            ),
            (
                NewExperiment {
                    guardrails: Guardrails {
                        max_cost_increase: Some(-1.0),
                        ..Guardrails::default()
                    },
                    ..ok()
                },
                "max_cost_increase",
            ),
            (
                NewExperiment {
                    allocation: Allocation::Fixed { weights: vec![1.0] },
                    ..ok()
                },
                "weights",
            ),
        ];
        for (bad, field) in cases {
            let e = bad.check().expect_err(field).to_string();
            assert!(e.contains(field), "{e} should name {field}");
        }
        let v = PromptVersionId::new();
        let twice = NewExperiment {
            variants: vec![v, v],
            ..ok()
        };
        assert!(twice.check().is_err());
        let control = NewExperiment {
            control: Some(v),
            variants: vec![v],
            ..ok()
        };
        assert!(control.check().is_err());
    }

    #[test]
    fn statuses_round_trip_by_name() {
        for s in [
            ExperimentStatus::Running,
            ExperimentStatus::AwaitingApproval,
            ExperimentStatus::Watching,
            ExperimentStatus::Finished,
        ] {
            assert_eq!(s.as_str().parse::<ExperimentStatus>().ok(), Some(s));
        }
        assert!("done".parse::<ExperimentStatus>().is_err());
        assert!(!ExperimentStatus::Finished.is_active());
    }
}
