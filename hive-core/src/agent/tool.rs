//! Tools: named functions with a JSON schema that an agent may run through
//! [`super::AgentContext::execute_tool`] — the hook LLM agents use to act.
//!
//! Arguments are checked against the schema's top level (an object with its
//! `required` fields) before the tool runs, so a model's malformed call comes
//! back as a clear [`Error::InvalidInput`] instead of reaching the tool.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::context::AgentContext;
use crate::error::{Error, Result};

/// A function an agent can call by name.
#[async_trait]
pub trait Tool: Send + Sync + 'static {
    /// The name callers use; unique among an agent's tools.
    fn name(&self) -> &str;

    /// What it does, for a model choosing among tools.
    fn description(&self) -> &str;

    /// The JSON schema of its arguments (an object schema).
    fn schema(&self) -> Value;

    /// Runs it with checked arguments.
    async fn call(&self, args: Value, cx: &AgentContext) -> Result<Value>;
}

type ToolBody = dyn Fn(Value, AgentContext) -> Pin<Box<dyn Future<Output = Result<Value>> + Send>>
    + Send
    + Sync;

/// A [`Tool`] made from a closure; build one with [`tool_fn`].
pub struct ToolFn {
    name: String,
    description: String,
    schema: Value,
    body: Arc<ToolBody>,
}

/// A tool named `name` running `f` with the arguments and the calling
/// agent's context.
///
/// ```
/// use hive_core::agent::tool_fn;
/// use serde_json::json;
/// let add = tool_fn(
///     "add",
///     "adds two numbers",
///     json!({"type": "object", "required": ["a", "b"]}),
///     |args, _cx| async move { Ok(json!(args["a"].as_f64().unwrap_or(0.0) + args["b"].as_f64().unwrap_or(0.0))) },
/// );
/// # let _ = add;
/// ```
pub fn tool_fn<F, Fut>(name: &str, description: &str, schema: Value, f: F) -> ToolFn
where
    F: Fn(Value, AgentContext) -> Fut + Send + Sync + 'static,
    Fut: Future<Output = Result<Value>> + Send + 'static,
{
    ToolFn {
        name: name.to_string(),
        description: description.to_string(),
        schema,
        body: Arc::new(move |args, cx| Box::pin(f(args, cx))),
    }
}

#[async_trait]
impl Tool for ToolFn {
    fn name(&self) -> &str {
        &self.name
    }

    fn description(&self) -> &str {
        &self.description
    }

    fn schema(&self) -> Value {
        self.schema.clone()
    }

    async fn call(&self, args: Value, cx: &AgentContext) -> Result<Value> {
        (self.body)(args, cx.clone()).await
    }
}

/// An agent's tools by name.
#[derive(Clone, Default)]
pub struct ToolSet {
    tools: BTreeMap<String, Arc<dyn Tool>>,
}

impl ToolSet {
    /// The set of `tools`.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when two tools share a name or a name is
    /// empty.
    pub fn new(tools: Vec<Arc<dyn Tool>>) -> Result<Self> {
        let mut set = BTreeMap::new();
        for tool in tools {
            let name = tool.name().to_string();
            if name.trim().is_empty() {
                return Err(Error::invalid("a tool needs a name"));
            }
            if set.insert(name.clone(), tool).is_some() {
                return Err(Error::invalid(format!("two tools are named {name:?}")));
            }
        }
        Ok(ToolSet { tools: set })
    }

    /// The tool names, sorted.
    pub fn names(&self) -> Vec<&str> {
        self.tools.keys().map(String::as_str).collect()
    }

    /// One tool.
    pub fn get(&self, name: &str) -> Option<&Arc<dyn Tool>> {
        self.tools.get(name)
    }

    /// Checks `args` against the tool's schema and runs it.
    ///
    /// # Errors
    /// [`Error::NotFound`] for an unknown tool (the message lists the known
    /// ones); [`Error::InvalidInput`] when `args` is not an object or lacks a
    /// required field; whatever the tool returns.
    pub async fn execute(&self, name: &str, args: Value, cx: &AgentContext) -> Result<Value> {
        let Some(tool) = self.tools.get(name) else {
            return Err(Error::not_found(
                "tool",
                format!("{name} (this agent has: {})", self.list_names()),
            ));
        };
        check_args(name, &tool.schema(), &args)?;
        tool.call(args, cx).await
    }

    fn list_names(&self) -> String {
        if self.tools.is_empty() {
            "no tools".into()
        } else {
            self.names().join(", ")
        }
    }
}

impl std::fmt::Debug for ToolSet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.tools.keys()).finish()
    }
}

/// The top-level check: an object schema takes an object holding every
/// `required` field. Deeper validation is the tool's own business.
fn check_args(tool: &str, schema: &Value, args: &Value) -> Result<()> {
    let wants_object = schema.get("type").and_then(Value::as_str) == Some("object")
        || schema.get("required").is_some()
        || schema.get("properties").is_some();
    if !wants_object {
        return Ok(());
    }
    let Some(fields) = args.as_object() else {
        return Err(Error::invalid(format!(
            "tool {tool}: arguments must be a JSON object, got {args}"
        )));
    };
    let missing: Vec<&str> = schema
        .get("required")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .filter(|f| !fields.contains_key(*f))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Error::invalid(format!(
            "tool {tool}: missing required argument(s) {}",
            missing.join(", ")
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn arguments_are_checked_at_the_top_level() {
        let schema = json!({"type": "object", "required": ["path"]});
        assert!(check_args("read", &schema, &json!({"path": "a"})).is_ok());
        let e = check_args("read", &schema, &json!({})).map(|_| ());
        assert!(matches!(e, Err(Error::InvalidInput(m)) if m.contains("path")));
        let e = check_args("read", &schema, &json!("a")).map(|_| ());
        assert!(matches!(e, Err(Error::InvalidInput(m)) if m.contains("object")));
        assert!(check_args("free", &json!({}), &json!(3)).is_ok());
    }
}
