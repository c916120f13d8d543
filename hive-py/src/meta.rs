//! The meta-agent as Python asks for it: the `MetaAgent` of one
//! `run_meta_agent` call from its keyword arguments, proposal ids and
//! statuses from their text, and a judge verifier's model provider.
//!
//! Every value Python gives is read here, holding the GIL; what hive-core
//! refuses later (a bad agent name, an unset label, a spent budget) comes
//! back through [`crate::errors`] like any other error.

use std::sync::Arc;
use std::time::Duration;

use hive_core::declared::{LlmDecl, ProviderDecl};
use hive_core::experiment::MAX_SAMPLES;
use hive_core::llm::LlmProvider;
use hive_core::meta::{Budget, MetaAgent, MetaConfig, ProposalId, ProposalStatus};
use pyo3::prelude::*;

use crate::errors::{IntoPy, InvalidInputError};

/// A proposal id from its text (`InvalidInputError` unless a UUID).
pub fn parse_proposal_id(text: &str) -> PyResult<ProposalId> {
    text.parse::<ProposalId>().py_err()
}

/// A proposal status from its name, if given (`InvalidInputError` for an
/// unknown one).
pub fn parse_status(name: Option<&str>) -> PyResult<Option<ProposalStatus>> {
    name.map(|s| s.parse::<ProposalStatus>().py_err())
        .transpose()
}

/// A provider by name: `openai` or `anthropic`.
fn provider(name: &str) -> PyResult<ProviderDecl> {
    match name {
        "openai" => Ok(ProviderDecl::Openai),
        "anthropic" => Ok(ProviderDecl::Anthropic),
        other => Err(InvalidInputError::new_err(format!(
            "unknown provider {other:?} (openai or anthropic)"
        ))),
    }
}

/// A model provider from a declared agent's settings (`provider` already
/// checked, `timeout_secs` too when given), built as hive.toml's are: its
/// key read from this process's environment.
///
/// # Errors
/// `InvalidInputError` as `LlmDecl::provider` (a key variable that is not
/// set, an Anthropic provider without a key, a bad URL).
fn llm_provider(
    provider: ProviderDecl,
    model: String,
    base_url: Option<String>,
    api_key_env: Option<String>,
    timeout_secs: Option<f64>,
) -> PyResult<Arc<dyn LlmProvider>> {
    let llm = LlmDecl {
        provider,
        model,
        base_url,
        api_key_env,
        system_prompt: None,
        system_prompt_file: None,
        prompt_version: None,
        max_tokens: None,
        temperature: None,
        max_turns: None,
        workspace: None,
        tools: None,
        timeout_secs,
    };
    llm.provider(&|k| std::env::var(k).ok()).py_err()
}

/// A judge's model: `provider` (`openai` or `anthropic`) serving `model`,
/// at `base_url` when given, its key in the variable `api_key_env`.
///
/// # Errors
/// `InvalidInputError` for an unknown provider, and as `LlmDecl::provider`.
pub fn judge_provider(
    provider_name: &str,
    model: &str,
    base_url: Option<String>,
    api_key_env: Option<String>,
) -> PyResult<Arc<dyn LlmProvider>> {
    llm_provider(
        provider(provider_name)?,
        model.to_owned(),
        base_url,
        api_key_env,
        None,
    )
}

/// `run_meta_agent`'s keyword arguments, as Python gives them.
pub struct MetaArgs {
    /// `openai` or `anthropic`.
    pub provider: String,
    /// The model.
    pub model: String,
    /// The server's root, as an LLM agent's `base_url`.
    pub base_url: Option<String>,
    /// The environment variable holding the API key.
    pub api_key_env: Option<String>,
    /// Seconds the model call may take.
    pub timeout_secs: Option<f64>,
    /// Model calls per 24 hours at most.
    pub calls_per_day: u64,
    /// Dollars per 24 hours at most, when the model is priced.
    pub usd_per_day: Option<f64>,
    /// Clauses a new prompt must keep word for word.
    pub must_keep: Option<Vec<String>>,
    /// The label it improves (and its experiments move).
    pub label: String,
    /// Observations per arm before its experiments decide.
    pub min_samples: u64,
    /// Observations per arm at most.
    pub max_samples: u64,
}

impl MetaArgs {
    /// The meta-agent these settings describe, built as hive.toml's
    /// `[meta_agent]` is: its key read from this process's environment.
    ///
    /// # Errors
    /// `InvalidInputError` for an unknown provider, a timeout that is not
    /// a number of seconds above 0, a dollar budget that is not a number
    /// ≥ 0, sample counts out of range, and as `LlmDecl::provider` (a key
    /// variable that is not set, an Anthropic provider without a key, a
    /// bad URL).
    pub fn into_meta_agent(self) -> PyResult<MetaAgent> {
        let provider = provider(&self.provider)?;
        if let Some(s) = self.timeout_secs {
            // Checked here: building the provider would panic on these.
            if Duration::try_from_secs_f64(s).map_or(true, |d| d.is_zero()) {
                return Err(InvalidInputError::new_err(format!(
                    "timeout_secs must be a number of seconds above 0, got {s}"
                )));
            }
        }
        if let Some(usd) = self.usd_per_day {
            if !(usd.is_finite() && usd >= 0.0) {
                return Err(InvalidInputError::new_err(format!(
                    "usd_per_day must be a number ≥ 0, got {usd}"
                )));
            }
        }
        // The experiments a run starts would refuse these, after the model
        // call was paid for: refused before it instead.
        if self.min_samples == 0 {
            return Err(InvalidInputError::new_err("min_samples must be at least 1"));
        }
        if self.min_samples > self.max_samples {
            return Err(InvalidInputError::new_err(format!(
                "min_samples ({}) is over max_samples ({})",
                self.min_samples, self.max_samples
            )));
        }
        if self.max_samples > MAX_SAMPLES {
            return Err(InvalidInputError::new_err(format!(
                "max_samples must be at most {MAX_SAMPLES}, got {}",
                self.max_samples
            )));
        }
        let provider = llm_provider(
            provider,
            self.model.clone(),
            self.base_url,
            self.api_key_env,
            self.timeout_secs,
        )?;
        let config = MetaConfig {
            label: self.label,
            budget: Budget {
                calls_per_day: self.calls_per_day,
                usd_per_day: self.usd_per_day,
            },
            must_keep: self.must_keep.unwrap_or_default(),
            min_samples: self.min_samples,
            max_samples: self.max_samples,
            model: Some(self.model),
            ..MetaConfig::default()
        };
        Ok(MetaAgent::new(provider, config))
    }
}
