//! The self-modifier's agent: the one that claims change-set steps
//! ([`STEP_TASK`], requiring [`CAPABILITY`], so no other agent takes them)
//! and runs them on the [`SelfModifier`]. Each process with repositories
//! runs one; a step left by a dead process is claimed by any of them once
//! its lease ends.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::runtime::{SelfModifier, CAPABILITY, STEP_TASK};
use crate::agent::{Agent, AgentContext, AgentSpec};
use crate::error::Error;
use crate::queue::{Task, TaskFailure};

/// The agent that runs change-set steps.
#[derive(Debug)]
pub struct SelfModifierAgent {
    name: String,
    modifier: Arc<SelfModifier>,
}

impl SelfModifierAgent {
    /// The agent `name` running `modifier`'s steps.
    pub fn new(name: impl Into<String>, modifier: Arc<SelfModifier>) -> Self {
        SelfModifierAgent {
            name: name.into(),
            modifier,
        }
    }

    /// The task types it takes: only change-set steps.
    pub fn task_types() -> std::collections::BTreeSet<String> {
        [STEP_TASK.to_string()].into()
    }
}

#[async_trait]
impl Agent for SelfModifierAgent {
    fn spec(&self) -> AgentSpec {
        AgentSpec::new(&self.name, "self-modifier", [CAPABILITY])
    }

    async fn process_task(&self, task: Task, cx: AgentContext) -> Result<Value, TaskFailure> {
        self.modifier
            .run_task(&task.payload, cx.cancelled())
            .await
            .map_err(|e| match e {
                // A payload that is not a step will never be one.
                Error::InvalidInput(why) => TaskFailure::permanent(why),
                other => TaskFailure::retryable(other.to_string()),
            })
    }
}
