//! [`MetaAgent`]: reads an agent's metrics and its failed tasks, asks a
//! model (any [`LlmProvider`]) for a better prompt in the manner of GEPA's
//! reflective edits, and writes proposals. A prompt that passes the checks
//! starts an experiment on its own; configuration and code changes wait
//! for an approval. A daily budget caps its own model calls and spend: a
//! run over it stops before calling, loudly, and writes nothing.

use std::sync::Arc;

use chrono::Utc;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};
use uuid::Uuid;

use super::check::refuse;
use super::proposal::{
    Evidence, MetaRun, Proposal, ProposalId, ProposalKind, ProposalStatus, Risk,
};
use super::store::ProposalStore;
use crate::error::{Error, Result};
use crate::experiment::{Experiments, NewExperiment};
use crate::llm::{ChatMessage, LlmProvider, LlmRequest};
use crate::outcome::{GroupBy, OutcomeFilter, OutcomeStatus, OutcomeStore};
use crate::prompt::{NewPromptVersion, PromptRegistry, PRODUCTION};
use crate::queue::Queue;

/// Who the meta-agent writes as.
pub const AUTHOR: &str = "meta-agent";

/// The system prompt of the meta-agent's own model call.
pub const SYSTEM: &str = "You improve the system prompts of AI agents from their failures. \
You are given an agent's current system prompt, the tasks it failed with their inputs and \
errors, and its metrics. Write an improved system prompt that fixes the pattern behind the \
failures, keeping every clause you are told to keep word for word. You may also suggest \
configuration changes (concurrency, retries, timeouts, model) and code changes. Answer with \
one JSON object and nothing else: {\"prompt\": string, \"rationale\": string, \
\"expected_effect\": string, \"config_changes\": [{\"setting\": string, \"value\": any, \
\"why\": string}], \"code_changes\": [{\"description\": string, \"why\": string}]}";

/// The meta-agent's daily allowance, counted over the last 24 hours of
/// its runs (in every process sharing the store).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Budget {
    /// Model calls at most.
    pub calls_per_day: u64,
    /// Dollars at most, when the model is priced.
    pub usd_per_day: Option<f64>,
}

/// How the meta-agent works.
#[derive(Clone, Debug)]
pub struct MetaConfig {
    /// The label it improves (and experiments move). Default `production`.
    pub label: String,
    /// Its allowance. Default 20 calls, no dollar limit.
    pub budget: Budget,
    /// Failed tasks it reads per run. Default 10.
    pub max_failures: usize,
    /// Clauses a new prompt must keep word for word (those the current
    /// prompt has).
    pub must_keep: Vec<String>,
    /// The most bytes a proposed prompt may have. Default 20,000.
    pub max_prompt_bytes: usize,
    /// Observations per arm before its experiments decide. Default 20.
    pub min_samples: u64,
    /// Observations per arm at most. Default 500.
    pub max_samples: u64,
    /// The model; `None` is the provider's default.
    pub model: Option<String>,
    /// Tokens its answer may have. Default 4096.
    pub max_tokens: u32,
}

impl Default for MetaConfig {
    fn default() -> Self {
        MetaConfig {
            label: PRODUCTION.to_string(),
            budget: Budget {
                calls_per_day: 20,
                usd_per_day: None,
            },
            max_failures: 10,
            must_keep: Vec::new(),
            max_prompt_bytes: 20_000,
            min_samples: 20,
            max_samples: 500,
            model: None,
            max_tokens: 4096,
        }
    }
}

/// What the meta-agent reads and writes (the hive hands them over).
pub struct MetaContext<'a> {
    /// Prompt versions and labels.
    pub prompts: &'a Arc<dyn PromptRegistry>,
    /// Outcomes and metrics.
    pub outcomes: &'a Arc<dyn OutcomeStore>,
    /// The tasks (for failed tasks' inputs and errors).
    pub queue: &'a Arc<dyn Queue>,
    /// Experiments, started for prompt proposals.
    pub experiments: &'a Experiments,
    /// Where proposals and runs go.
    pub proposals: &'a Arc<dyn ProposalStore>,
}

/// What one run did.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct RunReport {
    /// The run.
    pub run: Uuid,
    /// The agent it looked at.
    pub agent: String,
    /// Model calls it made.
    pub calls: u32,
    /// Tokens they used.
    pub tokens: u64,
    /// Their cost, when priced.
    pub cost_usd: f64,
    /// The proposals it wrote (a refused one included, with why).
    pub proposals: Vec<Proposal>,
    /// Why it wrote nothing, when it did not.
    pub note: Option<String>,
}

/// The meta-agent.
pub struct MetaAgent {
    provider: Arc<dyn LlmProvider>,
    config: MetaConfig,
}

impl std::fmt::Debug for MetaAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MetaAgent")
            .field("provider", &self.provider.provider())
            .field("config", &self.config)
            .finish()
    }
}

/// What the model is asked to answer.
#[derive(Debug, Deserialize)]
struct Answer {
    prompt: String,
    #[serde(default)]
    rationale: String,
    #[serde(default)]
    expected_effect: String,
    #[serde(default)]
    config_changes: Vec<Value>,
    #[serde(default)]
    code_changes: Vec<Value>,
}

fn clip(s: &str, max: usize) -> String {
    if s.len() <= max {
        return s.to_string();
    }
    let mut end = max;
    while !s.is_char_boundary(end) {
        end -= 1;
    }
    format!("{}…", &s[..end])
}

impl MetaAgent {
    /// A meta-agent calling `provider`.
    pub fn new(provider: Arc<dyn LlmProvider>, config: MetaConfig) -> Self {
        MetaAgent { provider, config }
    }

    /// Its configuration.
    pub fn config(&self) -> &MetaConfig {
        &self.config
    }

    /// One run on `agent`: reads its metrics and failed tasks, asks the
    /// model once, and writes what it proposes — a prompt proposal that
    /// passes the checks starts an experiment; one that fails them is kept
    /// as refused, with why; configuration and code proposals wait for an
    /// approval.
    ///
    /// # Errors
    /// [`Error::Conflict`] when the budget is spent (before any call:
    /// nothing is written); [`Error::NotFound`] when the agent's label is
    /// unset; [`Error::InvalidInput`] when the model's answer is not the
    /// JSON asked for (its spend is recorded, nothing else); the
    /// provider's and stores' errors.
    pub async fn run(&self, cx: &MetaContext<'_>, agent: &str) -> Result<RunReport> {
        crate::names::check_label("agent name", agent)?;
        let run = Uuid::now_v7();
        let current = cx.prompts.resolve(agent, &self.config.label).await?;
        let recent = cx
            .outcomes
            .list(&OutcomeFilter::new().agent(agent), 1000)
            .await?;
        let failed: Vec<_> = recent
            .iter()
            .filter(|o| o.status == OutcomeStatus::DeadLettered)
            .take(self.config.max_failures)
            .collect();
        let mut report = RunReport {
            run,
            agent: agent.to_string(),
            calls: 0,
            tokens: 0,
            cost_usd: 0.0,
            proposals: Vec::new(),
            note: None,
        };
        if failed.is_empty() {
            report.note = Some(format!("no failed tasks of {agent} to learn from"));
            return Ok(report);
        }
        check_budget(cx.proposals.as_ref(), &self.config.budget).await?;
        let metrics = cx
            .outcomes
            .metrics(&OutcomeFilter::new().agent(agent), GroupBy::PromptVersion)
            .await?;
        let mut lines = Vec::new();
        let mut cited = Vec::new();
        for (i, o) in failed.iter().enumerate() {
            let Ok(task) = cx.queue.get(o.task_id).await else {
                continue; // purged since: its outcome is all that is left
            };
            let input = match task.payload.get("prompt").and_then(Value::as_str) {
                Some(p) => p.to_string(),
                None => task.payload.to_string(),
            };
            lines.push(format!(
                "{}. task {}: input: {}\n   error: {}",
                i + 1,
                task.id,
                clip(&input, 500),
                clip(task.error.as_deref().unwrap_or("(none)"), 300)
            ));
            cited.push(task.id);
        }
        if cited.is_empty() {
            report.note = Some("the failed tasks were purged: nothing to learn from".into());
            return Ok(report);
        }
        let keep: Vec<&String> = self
            .config
            .must_keep
            .iter()
            .filter(|c| current.text.contains(c.as_str()))
            .collect();
        let user = format!(
            "Agent: {agent}\n\nCurrent system prompt (version {}):\n<<<\n{}\n>>>\n\n\
             Clauses to keep word for word:\n{}\n\nFailed tasks ({}):\n{}\n\n\
             Metrics per prompt version:\n{}",
            current.id,
            current.text,
            if keep.is_empty() {
                "(none)".to_string()
            } else {
                keep.iter()
                    .map(|c| format!("- {c}"))
                    .collect::<Vec<_>>()
                    .join("\n")
            },
            cited.len(),
            lines.join("\n"),
            metrics
                .iter()
                .map(|m| format!(
                    "- {}: {} tasks, {:.1} % succeeded, {} dead-lettered",
                    m.key.as_deref().unwrap_or("(none)"),
                    m.tasks,
                    100.0 * m.success_rate,
                    m.dead_lettered
                ))
                .collect::<Vec<_>>()
                .join("\n")
        );
        let request = LlmRequest {
            model: self.config.model.clone(),
            system: Some(SYSTEM.to_string()),
            messages: vec![ChatMessage::user(user)],
            tools: Vec::new(),
            max_tokens: self.config.max_tokens,
            temperature: None,
        };
        let answer = self.provider.complete(&request).await?;
        report.calls = 1;
        report.tokens = answer.usage.input_tokens + answer.usage.output_tokens;
        report.cost_usd = answer.cost_usd.unwrap_or(0.0);
        cx.proposals
            .record_run(&MetaRun {
                id: run,
                agent: agent.to_string(),
                calls: report.calls,
                tokens: report.tokens,
                cost_usd: report.cost_usd,
                at: Utc::now(),
            })
            .await?;
        let text = answer.text();
        let json = match (text.find('{'), text.rfind('}')) {
            (Some(a), Some(b)) if a < b => &text[a..=b],
            _ => "",
        };
        let parsed: Answer = serde_json::from_str(json).map_err(|e| {
            Error::invalid(format!(
                "the meta-agent's model did not answer the JSON asked for ({e}): {}",
                clip(&text, 200)
            ))
        })?;
        let evidence = Evidence {
            tasks: cited,
            metrics,
        };
        let now = Utc::now();
        let base = Proposal {
            id: ProposalId::new(),
            agent: agent.to_string(),
            kind: ProposalKind::Prompt,
            status: ProposalStatus::Proposed,
            summary: String::new(),
            rationale: clip(&parsed.rationale, 5000),
            expected_effect: clip(&parsed.expected_effect, 2000),
            risk: Risk::Low,
            prompt_version: None,
            parent_version: Some(current.id),
            experiment: None,
            change: None,
            evidence,
            author: AUTHOR.to_string(),
            run,
            decided_by: None,
            decision_reason: None,
            revision: 1,
            created_at: now,
            updated_at: now,
        };
        // The prompt proposal: refused, or a version tried in an experiment.
        let owned_keep: Vec<String> = keep.into_iter().cloned().collect();
        let mut prompt = Proposal {
            summary: format!("a new {} prompt for {agent}", self.config.label),
            ..base.clone()
        };
        if let Some(why) = refuse(
            &current.text,
            &parsed.prompt,
            &owned_keep,
            self.config.max_prompt_bytes,
        ) {
            prompt.status = ProposalStatus::Refused;
            prompt.decided_by = Some(AUTHOR.to_string());
            prompt.decision_reason = Some(why);
            prompt.change = Some(json!({ "prompt": clip(&parsed.prompt, 20_000) }));
            cx.proposals.create(&prompt).await?;
            report.proposals.push(prompt);
        } else {
            let version = cx
                .prompts
                .create(
                    NewPromptVersion::new(agent, parsed.prompt.clone(), AUTHOR)
                        .by_optimiser()
                        .parent(current.id)
                        .rationale(clip(&parsed.rationale, 5000)),
                )
                .await?;
            prompt.prompt_version = Some(version.id);
            cx.proposals.create(&prompt).await?;
            let started = cx
                .experiments
                .start(NewExperiment {
                    label: self.config.label.clone(),
                    min_samples: self.config.min_samples,
                    max_samples: self.config.max_samples,
                    ..NewExperiment::new(agent, [version.id], AUTHOR)
                })
                .await;
            let saved = match started {
                Ok(e) => {
                    prompt.experiment = Some(e.id);
                    prompt.status = ProposalStatus::Experimenting;
                    cx.proposals.save(&prompt).await?
                }
                Err(e) => {
                    prompt.decision_reason = Some(format!(
                        "its experiment did not start: {e}; approve it to try again"
                    ));
                    cx.proposals.save(&prompt).await?
                }
            };
            report.proposals.push(saved);
        }
        // Configuration and code changes wait for a person.
        for (kind, risk, changes) in [
            (ProposalKind::Config, Risk::Medium, &parsed.config_changes),
            (ProposalKind::Code, Risk::High, &parsed.code_changes),
        ] {
            for change in changes.iter().take(10) {
                let why = change
                    .get("why")
                    .and_then(Value::as_str)
                    .unwrap_or_default();
                let what = change
                    .get("setting")
                    .or_else(|| change.get("description"))
                    .and_then(Value::as_str)
                    .unwrap_or("a change");
                let p = Proposal {
                    id: ProposalId::new(),
                    kind,
                    risk,
                    summary: clip(what, 200),
                    rationale: clip(why, 5000),
                    parent_version: None,
                    change: Some(change.clone()),
                    ..base.clone()
                };
                cx.proposals.create(&p).await?;
                report.proposals.push(p);
            }
        }
        Ok(report)
    }
}

/// Refuses a run when the last 24 hours of runs (in `store`) spent
/// `budget`.
///
/// # Errors
/// [`Error::Conflict`] naming what is spent; the store's errors.
pub async fn check_budget(store: &dyn ProposalStore, budget: &Budget) -> Result<()> {
    let (calls, usd) = store
        .spend_since(Utc::now() - chrono::Duration::hours(24))
        .await?;
    if calls >= budget.calls_per_day {
        return Err(Error::conflict(format!(
            "the meta-agent's budget is spent: {calls} of {} model calls in the last 24 hours; \
             the run stopped before calling and wrote nothing",
            budget.calls_per_day
        )));
    }
    if let Some(max) = budget.usd_per_day {
        if usd >= max {
            return Err(Error::conflict(format!(
                "the meta-agent's budget is spent: ${usd:.4} of ${max:.4} in the last 24 hours; \
                 the run stopped before calling and wrote nothing"
            )));
        }
    }
    Ok(())
}

/// Approves a proposal waiting for it: a configuration or code change is
/// marked approved (applying it is the self-modifier's); a prompt whose
/// experiment could not start starts it now, `by` approving its promotion.
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Conflict`] unless it is proposed;
/// [`Error::InvalidInput`] for a bad name or an approver who wrote it; as
/// [`Experiments::start`].
pub async fn approve(cx: &MetaContext<'_>, id: ProposalId, by: &str) -> Result<Proposal> {
    crate::names::check_label("approver", by)?;
    let mut p = cx.proposals.get(id).await?;
    if p.status != ProposalStatus::Proposed {
        return Err(Error::conflict(format!(
            "proposal {id} is {}, not waiting for an approval",
            p.status.as_str()
        )));
    }
    if by == p.author {
        return Err(Error::invalid(format!(
            "a proposal must be approved by someone other than its author {by:?}"
        )));
    }
    match (p.kind, p.prompt_version) {
        (ProposalKind::Prompt, Some(version)) => {
            let e = cx
                .experiments
                .start(NewExperiment {
                    approved_by: Some(by.to_string()),
                    ..NewExperiment::new(&p.agent, [version], AUTHOR)
                })
                .await?;
            p.experiment = Some(e.id);
            p.status = ProposalStatus::Experimenting;
        }
        _ => p.status = ProposalStatus::Approved,
    }
    p.decided_by = Some(by.to_string());
    cx.proposals.save(&p).await
}

/// Rejects a proposal that is proposed (or, for a prompt, being tried: its
/// experiment is stopped).
///
/// # Errors
/// [`Error::NotFound`]; [`Error::Conflict`] when it was already decided;
/// [`Error::InvalidInput`] for a bad name or reason.
pub async fn reject(
    cx: &MetaContext<'_>,
    id: ProposalId,
    by: &str,
    reason: Option<&str>,
) -> Result<Proposal> {
    crate::names::check_label("rejecter", by)?;
    let mut p = cx.proposals.get(id).await?;
    if !matches!(
        p.status,
        ProposalStatus::Proposed | ProposalStatus::Experimenting
    ) {
        return Err(Error::conflict(format!(
            "proposal {id} is already {}",
            p.status.as_str()
        )));
    }
    if let (ProposalStatus::Experimenting, Some(e)) = (p.status, p.experiment) {
        match cx
            .experiments
            .stop(e, by, Some("its proposal was rejected"))
            .await
        {
            Ok(_) | Err(Error::Conflict(_)) => {}
            Err(err) => return Err(err),
        }
    }
    p.status = ProposalStatus::Rejected;
    p.decided_by = Some(by.to_string());
    p.decision_reason = reason.map(|r| clip(r, 5000));
    cx.proposals.save(&p).await
}
