//! Prompts and experiments as Python asks for them: ids from their text,
//! and the requests of `create_prompt`, `move_label` and
//! `start_experiment` from their keyword arguments.
//!
//! Every value Python gives is read here, holding the GIL; what hive-core
//! refuses later (a bad name, α out of range, an unknown version) comes
//! back through [`crate::errors`] like any other error.

use hive_core::experiment::{Allocation, ExperimentId, Guardrails, Metric, NewExperiment};
use hive_core::prompt::{MoveLabel, NewPromptVersion, PromptVersionId};
use pyo3::prelude::*;

use crate::errors::{IntoPy, InvalidInputError};

/// A prompt version id from its text (`InvalidInputError` unless a UUID).
pub fn parse_version_id(text: &str) -> PyResult<PromptVersionId> {
    text.parse::<PromptVersionId>().py_err()
}

/// An experiment id from its text (`InvalidInputError` unless a UUID).
pub fn parse_experiment_id(text: &str) -> PyResult<ExperimentId> {
    text.parse::<ExperimentId>().py_err()
}

/// The version `create_prompt` stores: `text` for `agent` by `author`,
/// derived from `parent`, with `rationale`, written by the optimiser when
/// `by_optimiser`.
pub fn new_prompt_version(
    agent: String,
    text: String,
    author: String,
    parent: Option<&str>,
    rationale: Option<String>,
    by_optimiser: bool,
) -> PyResult<NewPromptVersion> {
    let mut new = NewPromptVersion::new(agent, text, author);
    if let Some(parent) = parent {
        new = new.parent(parse_version_id(parent)?);
    }
    if let Some(rationale) = rationale {
        new = new.rationale(rationale);
    }
    if by_optimiser {
        new = new.by_optimiser();
    }
    Ok(new)
}

/// The move `move_label` asks for: `by` points `agent`'s `label` at
/// `version`, approved by `approved_by`, because of `reason`.
pub fn move_label_request(
    agent: String,
    label: String,
    version: &str,
    by: String,
    approved_by: Option<String>,
    reason: Option<String>,
) -> PyResult<MoveLabel> {
    let mut request = MoveLabel::new(agent, label, parse_version_id(version)?, by);
    if let Some(approver) = approved_by {
        request = request.approved_by(approver);
    }
    if let Some(reason) = reason {
        request = request.reason(reason);
    }
    Ok(request)
}

/// A metric by name: `success` or `score`.
fn metric(name: &str) -> PyResult<Metric> {
    match name {
        "success" => Ok(Metric::Success),
        "score" => Ok(Metric::Score),
        other => Err(InvalidInputError::new_err(format!(
            "unknown metric {other:?} (success or score)"
        ))),
    }
}

/// `start_experiment`'s keyword arguments, as Python gives them.
pub struct ExperimentArgs {
    /// The agent whose prompt is tried.
    pub agent: String,
    /// The version ids tried against the control.
    pub variants: Vec<String>,
    /// Who starts it.
    pub started_by: String,
    /// The label the winner moves.
    pub label: String,
    /// The control's version id (`None`: where the label points).
    pub control: Option<String>,
    /// `success` or `score`.
    pub metric: String,
    /// The experiment's error rate.
    pub alpha: f64,
    /// Observations per arm before deciding.
    pub min_samples: u64,
    /// Observations per arm at most.
    pub max_samples: u64,
    /// Observations of a promoted version to watch.
    pub watch_samples: u64,
    /// The share of the watch's tasks held back on the replaced version.
    pub watch_holdback: f64,
    /// The cost guardrail (a fraction).
    pub max_cost_increase: Option<f64>,
    /// The p95 run-time guardrail (a fraction).
    pub max_p95_increase: Option<f64>,
    /// The dead-letter-rate guardrail (absolute).
    pub max_error_rate_increase: Option<f64>,
    /// Thompson sampling after this many observations (`None`: a fixed
    /// split).
    pub thompson_burn_in: Option<u64>,
    /// The fixed split's weights, the control first (`None`: equal).
    pub weights: Option<Vec<f64>>,
    /// The assignment seed (`None`: drawn).
    pub seed: Option<u64>,
    /// Who approved moving a protected label in advance.
    pub approved_by: Option<String>,
}

impl ExperimentArgs {
    /// The experiment to start; ids that are not UUIDs and an unknown
    /// metric are `InvalidInputError`s, the rest is checked by hive-core.
    pub fn into_new_experiment(self) -> PyResult<NewExperiment> {
        let variants = self
            .variants
            .iter()
            .map(|v| parse_version_id(v))
            .collect::<PyResult<Vec<_>>>()?;
        let mut new = NewExperiment::new(self.agent, variants, self.started_by);
        new.label = self.label;
        new.control = self.control.as_deref().map(parse_version_id).transpose()?;
        new.metric = metric(&self.metric)?;
        new.alpha = self.alpha;
        new.min_samples = self.min_samples;
        new.max_samples = self.max_samples;
        new.watch_samples = self.watch_samples;
        new.watch_holdback = self.watch_holdback;
        new.guardrails = Guardrails {
            max_cost_increase: self.max_cost_increase,
            max_p95_increase: self.max_p95_increase,
            max_error_rate_increase: self.max_error_rate_increase,
        };
        new.allocation = match self.thompson_burn_in {
            Some(burn_in) => {
                if self.weights.is_some() {
                    return Err(InvalidInputError::new_err(
                        "weights apply to a fixed split: pass weights or thompson_burn_in, not both",
                    ));
                }
                Allocation::Thompson { burn_in }
            }
            None => Allocation::Fixed {
                weights: self.weights.unwrap_or_default(),
            },
        };
        new.seed = self.seed;
        new.approved_by = self.approved_by;
        Ok(new)
    }
}
