//! [`LlmAgent`]: an agent whose work is a conversation with a language
//! model — a versioned system prompt, the task as the first message, and a
//! bounded loop of tool calls until the model answers.
//!
//! What the model gets wrong comes back to it, not to the queue: malformed
//! tool arguments, an unknown tool or a path outside the workspace are
//! answered as tool errors, and the model can try again. What the provider
//! gets wrong goes to the queue: a transient failure (rate limit, overload,
//! timeout) fails the attempt as retryable, a refusal as permanent.

mod tools;
mod workspace;

use std::path::PathBuf;
use std::sync::Arc;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

pub use crate::llm::{Spend, UsageLedger};
pub use tools::{
    builtin_tools, ReadFile, RunCommand, SearchContext, SendMessage, StoreContext, WriteFile,
    MAX_COMMAND_SECS, MAX_READ_BYTES,
};
pub use workspace::Workspace;

use crate::agent::{Agent, AgentContext, AgentSpec, Tool};
use crate::error::{Error, Result};
use crate::llm::{ChatMessage, ContentBlock, LlmProvider, LlmRequest, Role, StopReason, Usage};
use crate::queue::{Task, TaskFailure};

/// A system prompt with a version, so results and costs can be compared
/// across prompt changes (the A/B testing to come keys on it).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct SystemPrompt {
    /// E.g. `"v3"` or a date.
    pub version: String,
    /// The prompt.
    pub text: String,
}

impl SystemPrompt {
    /// Prompt `text` at `version`.
    pub fn new(version: impl Into<String>, text: impl Into<String>) -> Self {
        SystemPrompt {
            version: version.into(),
            text: text.into(),
        }
    }
}

/// How an LLM agent works. Defaults are documented per field.
#[derive(Clone, Debug)]
pub struct LlmAgentConfig {
    /// The agent's name.
    pub name: String,
    /// Its capabilities (at least one).
    pub capabilities: Vec<String>,
    /// The system prompt.
    pub prompt: SystemPrompt,
    /// The model; `None` uses the provider's default. Default `None`.
    pub model: Option<String>,
    /// Tokens per answer. Default 4096.
    pub max_tokens: u32,
    /// Sampling temperature. Default `None` (the provider's).
    pub temperature: Option<f32>,
    /// Model calls per task before giving up (the bound on the tool loop).
    /// Default 10.
    pub max_turns: u32,
    /// Where the file tools read and write; `None` offers no file tools.
    /// Default `None`.
    pub workspace: Option<PathBuf>,
    /// Whether the built-in tools (context, messages, and files when there
    /// is a workspace) are offered. Default true.
    pub builtin_tools: bool,
    /// Whether the task's result keeps the whole conversation (every
    /// message after the system prompt, tool calls and results included).
    /// Default true: it is the record of what the agent did.
    pub keep_transcript: bool,
    /// The prompt-registry label the agent takes its prompt from, resolved
    /// at each task so that moving the label changes the prompt without a
    /// restart; while the label is unset (or the hive has no registry)
    /// [`LlmAgentConfig::prompt`] is used. `None` always uses `prompt`.
    /// Default `production`.
    pub prompt_label: Option<String>,
}

impl LlmAgentConfig {
    /// An agent `name` with `capabilities` and `prompt`, with the defaults.
    pub fn new<I, S>(name: impl Into<String>, capabilities: I, prompt: SystemPrompt) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        LlmAgentConfig {
            name: name.into(),
            capabilities: capabilities.into_iter().map(Into::into).collect(),
            prompt,
            model: None,
            max_tokens: 4096,
            temperature: None,
            max_turns: 10,
            workspace: None,
            builtin_tools: true,
            keep_transcript: true,
            prompt_label: Some(crate::prompt::PRODUCTION.to_string()),
        }
    }
}

/// An agent driven by a language model.
pub struct LlmAgent {
    config: LlmAgentConfig,
    provider: Arc<dyn LlmProvider>,
    tools: Vec<Arc<dyn Tool>>,
    ledger: Arc<UsageLedger>,
}

impl std::fmt::Debug for LlmAgent {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LlmAgent")
            .field("config", &self.config)
            .field("provider", &self.provider)
            .field(
                "tools",
                &self.tools.iter().map(|t| t.name()).collect::<Vec<_>>(),
            )
            .finish()
    }
}

/// What an LLM agent stores as a task's result.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LlmOutcome {
    /// The model's final text.
    pub text: String,
    /// The model that answered last.
    pub model: String,
    /// Why it stopped.
    pub stop_reason: StopReason,
    /// Model calls made for this attempt.
    pub turns: u32,
    /// Tool calls made, in order: name and whether it failed.
    pub tool_calls: Vec<ToolCallRecord>,
    /// Tokens used by this attempt.
    pub usage: Usage,
    /// Dollars, when the model's price is known.
    pub cost_usd: Option<f64>,
    /// The system prompt's version: the registry version's id when the
    /// prompt came from the registry, else [`SystemPrompt::version`].
    pub prompt_version: String,
    /// The experiment the task ran in, if one assigned it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub experiment: Option<String>,
    /// Its arm in that experiment.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arm: Option<String>,
    /// The conversation after the system prompt, when
    /// [`LlmAgentConfig::keep_transcript`] is on (else empty).
    #[serde(default)]
    pub transcript: Vec<ChatMessage>,
}

/// One tool call of a task, as logged in its outcome.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ToolCallRecord {
    /// The tool.
    pub name: String,
    /// True when the tool (or its arguments) failed.
    pub is_error: bool,
}

impl LlmAgent {
    /// An agent using `provider`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for `max_turns` or `max_tokens` of 0, or a
    /// workspace that is not a directory.
    pub fn new(config: LlmAgentConfig, provider: Arc<dyn LlmProvider>) -> Result<Self> {
        if config.max_turns == 0 || config.max_tokens == 0 {
            return Err(Error::invalid(
                "max_turns and max_tokens must be at least 1",
            ));
        }
        let workspace = config.workspace.as_ref().map(Workspace::new).transpose()?;
        let tools = if config.builtin_tools {
            builtin_tools(workspace.as_ref())
        } else {
            Vec::new()
        };
        Ok(LlmAgent {
            config,
            provider,
            tools,
            ledger: Arc::new(UsageLedger::new()),
        })
    }

    /// Gives the agent another tool.
    pub fn tool(mut self, tool: impl Tool) -> Self {
        self.tools.push(Arc::new(tool));
        self
    }

    /// Keeps only the tools named in `names` (of those it has: the
    /// built-ins, and any added with [`LlmAgent::tool`]).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name it has no tool for, listing the
    /// ones it has (the file and command tools need a workspace).
    pub fn only_tools(mut self, names: &[String]) -> Result<Self> {
        if let Some(unknown) = names
            .iter()
            .find(|n| !self.tools.iter().any(|t| t.name() == n.as_str()))
        {
            let have: Vec<&str> = self.tools.iter().map(|t| t.name()).collect();
            let hint = if self.config.workspace.is_none() {
                "; read_file, write_file and run_command need a workspace"
            } else {
                ""
            };
            return Err(Error::invalid(format!(
                "unknown tool {unknown:?} (this agent has: {}{hint})",
                have.join(", ")
            )));
        }
        self.tools.retain(|t| names.iter().any(|n| n == t.name()));
        Ok(self)
    }

    /// Records spend in `ledger` (shared with other agents) instead of a
    /// ledger of its own.
    pub fn ledger(mut self, ledger: Arc<UsageLedger>) -> Self {
        self.ledger = ledger;
        self
    }

    /// The ledger this agent records its spend in.
    pub fn spend(&self) -> &Arc<UsageLedger> {
        &self.ledger
    }

    /// The first message: the payload's `prompt` if it is a string, else
    /// the whole payload as JSON.
    fn first_message(task: &Task) -> String {
        match task.payload.get("prompt").and_then(Value::as_str) {
            Some(p) => p.to_string(),
            None => task.payload.to_string(),
        }
    }

    /// Runs one tool call and answers it as a tool result block.
    async fn run_tool(
        &self,
        id: &str,
        name: &str,
        input: &Value,
        cx: &AgentContext,
    ) -> (ContentBlock, bool) {
        let answer = if input.is_object() {
            cx.execute_tool(name, input.clone()).await
        } else {
            Err(Error::invalid(format!(
                "tool {name}: the arguments must be a JSON object, got {input}"
            )))
        };
        let (content, is_error) = match answer {
            Ok(Value::String(s)) => (s, false),
            Ok(v) => (v.to_string(), false),
            Err(e) => (e.to_string(), true),
        };
        tracing::debug!(agent = %self.config.name, tool = name, is_error, "tool call");
        (
            ContentBlock::ToolResult {
                tool_use_id: id.to_string(),
                content,
                is_error,
            },
            is_error,
        )
    }
}

/// The prompt one task runs with, and where it came from.
struct Chosen {
    text: String,
    version: String,
    experiment: Option<String>,
    arm: Option<String>,
}

impl LlmAgent {
    /// The prompt for this attempt: the experiment arm's version when the
    /// task was assigned one, else the version the agent's label points at
    /// now, else the configured prompt.
    async fn choose_prompt(&self, cx: &AgentContext) -> Result<Chosen, TaskFailure> {
        let fixed = || Chosen {
            text: self.config.prompt.text.clone(),
            version: self.config.prompt.version.clone(),
            experiment: None,
            arm: None,
        };
        let Some(registry) = cx.prompts() else {
            return Ok(fixed());
        };
        if let Some(a) = cx.assignment() {
            let v = registry.get(a.version).await.map_err(|e| {
                TaskFailure::retryable(format!("cannot read prompt version {}: {e}", a.version))
            })?;
            return Ok(Chosen {
                text: v.text,
                version: v.id.to_string(),
                experiment: Some(a.experiment.to_string()),
                arm: Some(a.arm.clone()),
            });
        }
        let Some(label) = &self.config.prompt_label else {
            return Ok(fixed());
        };
        match registry.resolve(&self.config.name, label).await {
            Ok(v) => Ok(Chosen {
                text: v.text,
                version: v.id.to_string(),
                experiment: None,
                arm: None,
            }),
            Err(Error::NotFound { .. }) => Ok(fixed()),
            Err(e) => Err(TaskFailure::retryable(format!(
                "cannot resolve prompt label {label:?}: {e}"
            ))),
        }
    }
}

/// How a provider error fails the attempt: transient ones are retried by
/// the queue, refusals are not.
fn failure(e: Error) -> TaskFailure {
    if e.is_transient() {
        TaskFailure::retryable(format!("model call failed: {e}"))
    } else {
        TaskFailure::permanent(format!("model call refused: {e}"))
    }
}

#[async_trait]
impl Agent for LlmAgent {
    fn spec(&self) -> AgentSpec {
        AgentSpec::new(&self.config.name, "llm", self.config.capabilities.clone()).metadata(json!({
            "provider": self.provider.provider(),
            "model": self.config.model.as_deref().unwrap_or(self.provider.default_model()),
            "prompt_version": self.config.prompt.version,
        }))
    }

    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        self.tools.clone()
    }

    async fn process_task(&self, task: Task, cx: AgentContext) -> Result<Value, TaskFailure> {
        let prompt = self.choose_prompt(&cx).await?;
        cx.stamp_prompt_version(&prompt.version);
        let mut request = LlmRequest {
            model: self.config.model.clone(),
            system: Some(prompt.text),
            messages: vec![ChatMessage::user(Self::first_message(&task))],
            tools: cx.tool_specs(),
            max_tokens: self.config.max_tokens,
            temperature: self.config.temperature,
        };
        let mut usage = Usage::default();
        let mut cost: Option<f64> = None;
        let mut calls = Vec::new();
        for turn in 1..=self.config.max_turns {
            if cx.cancelled().is_cancelled() {
                return Err(TaskFailure::retryable("cancelled"));
            }
            let answer = self.provider.complete(&request).await.map_err(failure)?;
            tracing::info!(
                agent = %self.config.name,
                task = %task.id,
                turn,
                stop = ?answer.stop_reason,
                input_tokens = answer.usage.input_tokens,
                output_tokens = answer.usage.output_tokens,
                "model answered"
            );
            self.ledger.record(
                &self.config.name,
                Some(task.id),
                answer.usage,
                answer.cost_usd,
            );
            usage += answer.usage;
            if let Some(c) = answer.cost_usd {
                cost = Some(cost.unwrap_or(0.0) + c);
            }
            request.messages.push(answer.to_message());
            let wanted: Vec<(String, String, Value)> = answer
                .tool_calls()
                .into_iter()
                .map(|(id, name, input)| (id.to_string(), name.to_string(), input.clone()))
                .collect();
            if wanted.is_empty() {
                let outcome = LlmOutcome {
                    text: answer.text(),
                    model: answer.model.clone(),
                    stop_reason: answer.stop_reason.clone(),
                    turns: turn,
                    tool_calls: calls,
                    usage,
                    cost_usd: cost,
                    prompt_version: prompt.version,
                    experiment: prompt.experiment,
                    arm: prompt.arm,
                    transcript: if self.config.keep_transcript {
                        std::mem::take(&mut request.messages)
                    } else {
                        Vec::new()
                    },
                };
                return serde_json::to_value(outcome)
                    .map_err(|e| TaskFailure::permanent(format!("cannot store the outcome: {e}")));
            }
            let mut results = Vec::with_capacity(wanted.len());
            for (id, name, input) in &wanted {
                let (block, is_error) = self.run_tool(id, name, input, &cx).await;
                calls.push(ToolCallRecord {
                    name: name.clone(),
                    is_error,
                });
                results.push(block);
            }
            request.messages.push(ChatMessage {
                role: Role::User,
                content: results,
            });
        }
        Err(TaskFailure::permanent(format!(
            "the model was still calling tools after {} turns (max_turns)",
            self.config.max_turns
        )))
    }
}
