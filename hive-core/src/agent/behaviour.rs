//! What an agent does: the [`Agent`] trait that users implement, and
//! [`agent_fn`], which makes one from a closure in one line.
//!
//! An agent is matched to tasks by the capabilities in its
//! [`AgentSpec`]; the runtime (the orchestrator) claims tasks for it, calls
//! [`Agent::process_task`], keeps its lease alive, and records the answer in
//! the queue. Agents never talk to the queue themselves.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::context::AgentContext;
use super::record::AgentSpec;
use super::tool::Tool;
use crate::broker::Delivery;
use crate::queue::{Task, TaskFailure};

/// An agent: a descriptor, a task handler, and optionally a message handler
/// and a graceful shutdown.
///
/// # Contract
///
/// - [`Agent::spec`] is called once per spawn (and per restart); the
///   answer must be a valid [`AgentSpec`] (a name, a kind, at least one
///   capability) or the spawn fails with [`crate::Error::InvalidInput`].
/// - [`Agent::process_task`] is only called with tasks whose required
///   capabilities are all among the spec's. `Ok` completes the task with
///   the value; `Err` fails the attempt, which the queue retries or
///   dead-letters per its policy. A panic is a retryable failure. It should
///   return soon after [`AgentContext::cancelled`] fires; it is dropped at
///   the task's hard deadline.
/// - When [`Agent::handles_messages`] is true, [`Agent::on_message`] gets
///   each message sent to the agent's inbox (or broadcast); `Ok` acknowledges
///   it, `Err` has it redelivered later (and dead-lettered after the
///   broker's delivery limit).
/// - [`Agent::shutdown`] is called once when the agent stops (terminated,
///   restarted or the hive shutting down), after its last task has ended.
///
/// # Cancellation
///
/// `process_task` and `on_message` run on their own Tokio tasks; either may
/// be dropped at an await point when the attempt is cancelled, loses its
/// lease, or runs past its deadline.
#[async_trait]
pub trait Agent: Send + Sync + 'static {
    /// Name, kind, capabilities and metadata.
    fn spec(&self) -> AgentSpec;

    /// Runs one attempt of `task`.
    async fn process_task(&self, task: Task, cx: AgentContext) -> Result<Value, TaskFailure>;

    /// Whether the agent wants [`Agent::on_message`] calls. Default false:
    /// the agent's inbox is left for it to read whenever it likes.
    fn handles_messages(&self) -> bool {
        false
    }

    /// Handles one message from the agent's inbox. Default: acknowledge.
    async fn on_message(&self, delivery: Delivery, cx: AgentContext) -> Result<(), TaskFailure> {
        let _ = (delivery, cx);
        Ok(())
    }

    /// The tools [`AgentContext::execute_tool`] may run for this agent.
    /// Default none.
    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        Vec::new()
    }

    /// Releases what the agent holds. Default: nothing to do.
    async fn shutdown(&self) {}
}

type TaskFn = dyn Fn(Task, AgentContext) -> Pin<Box<dyn Future<Output = Result<Value, TaskFailure>> + Send>>
    + Send
    + Sync;
type MessageFn = dyn Fn(Delivery, AgentContext) -> Pin<Box<dyn Future<Output = Result<(), TaskFailure>> + Send>>
    + Send
    + Sync;

/// An [`Agent`] made of closures; build one with [`agent_fn`].
pub struct AgentFn {
    spec: AgentSpec,
    task: Arc<TaskFn>,
    message: Option<Arc<MessageFn>>,
    tools: Vec<Arc<dyn Tool>>,
}

/// An agent named `name` with `capabilities` (its kind is `"fn"`) that runs
/// `f` for each task.
///
/// ```
/// use hive_core::agent::agent_fn;
/// let echo = agent_fn("echo", ["echo"], |task, _cx| async move { Ok(task.payload) });
/// # let _ = echo;
/// ```
pub fn agent_fn<I, S, F, Fut>(name: &str, capabilities: I, f: F) -> AgentFn
where
    I: IntoIterator<Item = S>,
    S: Into<String>,
    F: Fn(Task, AgentContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value, TaskFailure>> + Send + 'static,
{
    AgentFn {
        spec: AgentSpec::new(name, "fn", capabilities),
        task: Arc::new(move |task, cx| Box::pin(f(task, cx))),
        message: None,
        tools: Vec::new(),
    }
}

impl AgentFn {
    /// Sets the agent's kind (default `"fn"`).
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.spec.kind = kind.into();
        self
    }

    /// Sets the agent's metadata (a JSON object).
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.spec = self.spec.metadata(metadata);
        self
    }

    /// Handles inbox messages with `f`.
    pub fn on_message<F, Fut>(mut self, f: F) -> Self
    where
        F: Fn(Delivery, AgentContext) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<(), TaskFailure>> + Send + 'static,
    {
        self.message = Some(Arc::new(move |d, cx| Box::pin(f(d, cx))));
        self
    }

    /// Gives the agent a tool.
    pub fn tool(mut self, tool: impl Tool) -> Self {
        self.tools.push(Arc::new(tool));
        self
    }
}

#[async_trait]
impl Agent for AgentFn {
    fn spec(&self) -> AgentSpec {
        self.spec.clone()
    }

    async fn process_task(&self, task: Task, cx: AgentContext) -> Result<Value, TaskFailure> {
        (self.task)(task, cx).await
    }

    fn handles_messages(&self) -> bool {
        self.message.is_some()
    }

    async fn on_message(&self, delivery: Delivery, cx: AgentContext) -> Result<(), TaskFailure> {
        match &self.message {
            Some(f) => f(delivery, cx).await,
            None => Ok(()),
        }
    }

    fn tools(&self) -> Vec<Arc<dyn Tool>> {
        self.tools.clone()
    }
}

impl std::fmt::Debug for AgentFn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AgentFn")
            .field("spec", &self.spec)
            .field("handles_messages", &self.message.is_some())
            .field("tools", &self.tools.len())
            .finish()
    }
}
