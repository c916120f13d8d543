//! What an agent may do while it works: [`AgentContext`] — send messages,
//! store and search context, run its tools, and notice cancellation.
//!
//! A context is handed to every [`super::Agent::process_task`] and
//! [`super::Agent::on_message`] call. It carries the agent's identity, so
//! what the agent sends and stores is attributed to it without the agent
//! saying who it is, and optionally a session, so that its messages are
//! recorded in that session's conversation.

use std::sync::Arc;

use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::record::AgentId;
use super::tool::ToolSet;
use crate::broker::{Broker, BrokerExt, Message, Published};
use crate::context::{ContextEngine, Filter, Found, NewEntry, SearchRequest, Stored};
use crate::error::{Error, Result};
use crate::experiment::{Assignment, Experiments};
use crate::prompt::PromptRegistry;
use crate::queue::{LeaseKey, Queue, Task};
use crate::session::{SessionId, SessionStore, Utterance};

/// The header a message carries when it was sent inside a session; a reply
/// from the receiving agent's message handler stays in that session.
pub const SESSION_HEADER: &str = "hive-session";

/// The services every agent of a hive shares.
#[derive(Clone)]
pub(crate) struct Services {
    pub(crate) queue: Arc<dyn Queue>,
    pub(crate) broker: Arc<dyn Broker>,
    pub(crate) sessions: Arc<dyn SessionStore>,
    pub(crate) context: Option<Arc<ContextEngine>>,
    /// Where the outcomes of finished tasks go; none in a hive without an
    /// outcome store.
    pub(crate) outcomes: Option<crate::outcome::OutcomeRecorder>,
    /// The prompt registry agents resolve their labels in; none in a hive
    /// without one.
    pub(crate) prompts: Option<Arc<dyn PromptRegistry>>,
    /// The live experiments, which assign tasks to arms when leased.
    pub(crate) experiments: Option<Arc<Experiments>>,
    /// The verifiers that score completed results, by task type.
    pub(crate) verifiers: Option<Arc<crate::verify::Verifiers>>,
}

/// One agent's view of the hive during one task attempt or one message.
#[derive(Clone)]
pub struct AgentContext {
    id: AgentId,
    name: Arc<str>,
    services: Services,
    tools: Arc<ToolSet>,
    lease: Option<LeaseKey>,
    attempt: u32,
    cancelled: CancellationToken,
    session: Option<SessionId>,
    assignment: Option<Assignment>,
    stamps: Option<Arc<super::outcomes::Stamps>>,
}

impl AgentContext {
    pub(crate) fn new(
        id: AgentId,
        name: Arc<str>,
        services: Services,
        tools: Arc<ToolSet>,
        cancelled: CancellationToken,
    ) -> Self {
        AgentContext {
            id,
            name,
            services,
            tools,
            lease: None,
            attempt: 0,
            cancelled,
            session: None,
            assignment: None,
            stamps: None,
        }
    }

    pub(crate) fn with_stamps(mut self, stamps: Arc<super::outcomes::Stamps>) -> Self {
        self.stamps = Some(stamps);
        self
    }

    pub(crate) fn with_cancellation(&self, cancelled: CancellationToken) -> Self {
        AgentContext {
            cancelled,
            ..self.clone()
        }
    }

    pub(crate) fn for_attempt(mut self, lease: LeaseKey, attempt: u32) -> Self {
        self.lease = Some(lease);
        self.attempt = attempt;
        self
    }

    pub(crate) fn services(&self) -> &Services {
        &self.services
    }

    pub(crate) fn with_assignment(mut self, assignment: Option<Assignment>) -> Self {
        if let (Some(a), Some(stamps), Some(lease)) = (&assignment, &self.stamps, self.lease) {
            stamps.stamp(
                lease.task_id,
                super::outcomes::Stamp {
                    prompt_version: Some(a.version.to_string()),
                    experiment: Some(a.experiment.to_string()),
                    arm: Some(a.arm.clone()),
                },
            );
        }
        self.assignment = assignment;
        self
    }

    /// Records the prompt version this attempt runs with, so that the
    /// task's outcome carries it even when the task fails and leaves no
    /// result (an agent that reports `prompt_version` in its result needs
    /// this only for its failures). Outside a task attempt it does
    /// nothing.
    pub fn stamp_prompt_version(&self, version: &str) {
        if let (Some(stamps), Some(lease)) = (&self.stamps, self.lease) {
            stamps.stamp(
                lease.task_id,
                super::outcomes::Stamp {
                    prompt_version: Some(version.to_string()),
                    ..super::outcomes::Stamp::default()
                },
            );
        }
    }

    /// The experiment arm this task attempt runs in, when one of the
    /// agent's experiments assigned it: the prompt version to use instead
    /// of the label's. Decided on the task's first lease and kept.
    pub fn assignment(&self) -> Option<&Assignment> {
        self.assignment.as_ref()
    }

    /// The hive's prompt registry, where an agent resolves its prompt
    /// label at each task; `None` in a hive without one.
    pub fn prompts(&self) -> Option<&Arc<dyn PromptRegistry>> {
        self.services.prompts.as_ref()
    }

    /// The agent's registration id.
    pub fn agent_id(&self) -> AgentId {
        self.id
    }

    /// The agent's name.
    pub fn agent_name(&self) -> &str {
        &self.name
    }

    /// The lease of the task attempt being run (`None` in a message
    /// handler).
    pub fn lease(&self) -> Option<LeaseKey> {
        self.lease
    }

    /// Which attempt of the task this is (1-based; 0 in a message handler).
    pub fn attempt(&self) -> u32 {
        self.attempt
    }

    /// Fires when the work should stop: the task was cancelled or its lease
    /// lost, the agent is being terminated past its grace period, or the
    /// hive is shutting down. Long work should watch it.
    pub fn cancelled(&self) -> &CancellationToken {
        &self.cancelled
    }

    /// The session this context records messages in, if any.
    pub fn session(&self) -> Option<SessionId> {
        self.session
    }

    /// The same context, recording the messages it sends in `session`.
    pub fn in_session(mut self, session: SessionId) -> Self {
        self.session = Some(session);
        self
    }

    /// Sends `payload` of `kind` to agent `to`'s inbox, from this agent. In a
    /// session, the message is first recorded in its conversation (both
    /// agents must be members) and carries the session in its
    /// [`SESSION_HEADER`].
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a name that cannot form a topic, a
    /// message the broker refuses, or a session member check that fails;
    /// [`Error::Conflict`] when the session is closed; backend errors.
    pub async fn send_message(&self, to: &str, kind: &str, payload: Value) -> Result<Published> {
        let mut message = Message::direct(to, kind, payload.clone())?.from_agent(&*self.name);
        if let Some(session) = self.session {
            self.services
                .sessions
                .record(
                    session,
                    Utterance::new(
                        self.name.to_string(),
                        Some(to),
                        serde_json::json!({ "kind": kind, "payload": payload }),
                    ),
                )
                .await?;
            message = message
                .correlation(session.0)
                .header(SESSION_HEADER, session.to_string());
        }
        self.services.broker.publish(message).await
    }

    /// Stores `entry` in the context engine as this agent's (and in this
    /// context's session, unless the entry names others).
    ///
    /// # Errors
    /// [`Error::NotSupported`] when the hive runs without a context engine;
    /// what [`ContextEngine::remember`] returns.
    pub async fn store_context(&self, mut entry: NewEntry) -> Result<Stored> {
        let engine = self.engine("store_context")?;
        if entry.agent.is_none() {
            entry.agent = Some(self.name.to_string());
        }
        if entry.session.is_none() {
            entry.session = self.session.map(|s| s.to_string());
        }
        engine.remember(entry).await
    }

    /// The `k` best entries for `text` across the hive's context (every
    /// agent's); use [`AgentContext::search_context_with`] to narrow it.
    ///
    /// # Errors
    /// As [`AgentContext::search_context_with`].
    pub async fn search_context(&self, text: &str, k: usize) -> Result<Vec<Found>> {
        self.search_context_with(&SearchRequest::new(text, k)).await
    }

    /// A ranked search with filters, e.g. only this agent's entries:
    /// `SearchRequest::new(text, k).filter(Filter { agent: Some(name), .. })`.
    ///
    /// # Errors
    /// [`Error::NotSupported`] without a context engine; what
    /// [`ContextEngine::search`] returns.
    pub async fn search_context_with(&self, request: &SearchRequest) -> Result<Vec<Found>> {
        self.engine("search_context")?.search(request).await
    }

    /// A filter for this agent's own entries.
    pub fn own_entries(&self) -> Filter {
        Filter {
            agent: Some(self.name.to_string()),
            ..Filter::default()
        }
    }

    /// The results of `task`'s dependencies, in the order it lists them
    /// (all completed, or the task would not be running).
    ///
    /// # Errors
    /// Backend errors; [`Error::NotFound`] when a dependency was purged.
    pub async fn dependency_results(&self, task: &Task) -> Result<Vec<Value>> {
        let mut results = Vec::with_capacity(task.dependencies.len());
        for id in &task.dependencies {
            let dep = self.services.queue.get(*id).await?;
            results.push(dep.result.unwrap_or(Value::Null));
        }
        Ok(results)
    }

    /// Runs this agent's tool `name` with `args`.
    ///
    /// # Errors
    /// [`Error::NotFound`] for a tool the agent does not have;
    /// [`Error::InvalidInput`] for arguments that do not fit its schema;
    /// what the tool returns.
    pub async fn execute_tool(&self, name: &str, args: Value) -> Result<Value> {
        self.tools.execute(name, args, self).await
    }

    /// The names of this agent's tools.
    pub fn tool_names(&self) -> Vec<&str> {
        self.tools.names()
    }

    /// This agent's tools as a model sees them: name, description and
    /// argument schema, sorted by name.
    pub fn tool_specs(&self) -> Vec<crate::llm::ToolSpec> {
        self.tools
            .names()
            .into_iter()
            .filter_map(|name| self.tools.get(name))
            .map(|tool| crate::llm::ToolSpec {
                name: tool.name().to_string(),
                description: tool.description().to_string(),
                input_schema: tool.schema(),
            })
            .collect()
    }

    fn engine(&self, operation: &'static str) -> Result<&ContextEngine> {
        self.services.context.as_deref().ok_or(Error::NotSupported {
            operation,
            backend: "hive without a context engine",
        })
    }
}

impl std::fmt::Debug for AgentContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentContext")
            .field("agent", &self.name)
            .field("id", &self.id)
            .field("lease", &self.lease)
            .field("session", &self.session)
            .finish()
    }
}
