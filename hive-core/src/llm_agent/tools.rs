//! The tools every LLM agent can be given: read and write files inside its
//! workspace, search and store context, send a message to another agent.
//! Each checks its own arguments beyond the schema and answers errors as
//! text the model can act on.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::{json, Value};

use super::workspace::Workspace;
use crate::agent::{AgentContext, Tool};
use crate::context::NewEntry;
use crate::error::{Error, Result};

/// The largest file `read_file` returns.
pub const MAX_READ_BYTES: u64 = 1 << 20;

fn string_arg<'a>(args: &'a Value, name: &str) -> Result<&'a str> {
    args.get(name)
        .and_then(Value::as_str)
        .ok_or_else(|| Error::invalid(format!("argument {name:?} must be a string")))
}

/// `read_file {path}`: a UTF-8 file of the workspace.
#[derive(Debug)]
pub struct ReadFile(pub Workspace);

#[async_trait]
impl Tool for ReadFile {
    fn name(&self) -> &str {
        "read_file"
    }

    fn description(&self) -> &str {
        "Reads a UTF-8 text file of the workspace (path relative to it)."
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": { "path": { "type": "string" } },
            "required": ["path"]
        })
    }

    async fn call(&self, args: Value, _cx: &AgentContext) -> Result<Value> {
        let path = self.0.resolve(string_arg(&args, "path")?)?;
        let meta = tokio::fs::metadata(&path)
            .await
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
        if meta.len() > MAX_READ_BYTES {
            return Err(Error::invalid(format!(
                "{} is {} bytes; read_file returns at most {MAX_READ_BYTES}",
                path.display(),
                meta.len()
            )));
        }
        let text = tokio::fs::read_to_string(&path)
            .await
            .map_err(|e| Error::invalid(format!("cannot read {}: {e}", path.display())))?;
        Ok(Value::String(text))
    }
}

/// `write_file {path, content}`: creates or replaces a file of the
/// workspace (and its directories).
#[derive(Debug)]
pub struct WriteFile(pub Workspace);

#[async_trait]
impl Tool for WriteFile {
    fn name(&self) -> &str {
        "write_file"
    }

    fn description(&self) -> &str {
        "Creates or replaces a text file of the workspace (path relative to it)."
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": { "path": { "type": "string" }, "content": { "type": "string" } },
            "required": ["path", "content"]
        })
    }

    async fn call(&self, args: Value, _cx: &AgentContext) -> Result<Value> {
        let relative = string_arg(&args, "path")?;
        let content = string_arg(&args, "content")?;
        let path = self.0.resolve(relative)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir)
                .await
                .map_err(|e| Error::invalid(format!("cannot create {}: {e}", dir.display())))?;
        }
        tokio::fs::write(&path, content)
            .await
            .map_err(|e| Error::invalid(format!("cannot write {}: {e}", path.display())))?;
        Ok(json!({ "written": relative, "bytes": content.len() }))
    }
}

/// `search_context {query, k?}`: the hive's context, ranked.
#[derive(Debug)]
pub struct SearchContext;

#[async_trait]
impl Tool for SearchContext {
    fn name(&self) -> &str {
        "search_context"
    }

    fn description(&self) -> &str {
        "Searches the shared memory by meaning; answers the best entries."
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": { "query": { "type": "string" }, "k": { "type": "integer" } },
            "required": ["query"]
        })
    }

    async fn call(&self, args: Value, cx: &AgentContext) -> Result<Value> {
        let query = string_arg(&args, "query")?;
        let k = args
            .get("k")
            .and_then(Value::as_u64)
            .unwrap_or(5)
            .clamp(1, 50) as usize;
        let found = cx.search_context(query, k).await?;
        Ok(Value::Array(
            found
                .into_iter()
                .map(|f| json!({ "content": f.entry.content, "agent": f.entry.agent, "score": f.score }))
                .collect(),
        ))
    }
}

/// `store_context {content, importance?}`: remembers a fact as this agent's.
#[derive(Debug)]
pub struct StoreContext;

#[async_trait]
impl Tool for StoreContext {
    fn name(&self) -> &str {
        "store_context"
    }

    fn description(&self) -> &str {
        "Stores a fact in the shared memory, attributed to this agent."
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": { "content": { "type": "string" }, "importance": { "type": "number" } },
            "required": ["content"]
        })
    }

    async fn call(&self, args: Value, cx: &AgentContext) -> Result<Value> {
        let mut entry = NewEntry::text(string_arg(&args, "content")?);
        if let Some(importance) = args.get("importance").and_then(Value::as_f64) {
            entry.importance = importance as f32;
        }
        let stored = cx.store_context(entry).await?;
        serde_json::to_value(stored).map_err(|e| Error::invalid(e.to_string()))
    }
}

/// `send_message {to, kind, payload?}`: a direct message to another agent.
#[derive(Debug)]
pub struct SendMessage;

#[async_trait]
impl Tool for SendMessage {
    fn name(&self) -> &str {
        "send_message"
    }

    fn description(&self) -> &str {
        "Sends a message to another agent's inbox."
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "to": { "type": "string" },
                "kind": { "type": "string" },
                "payload": {}
            },
            "required": ["to", "kind"]
        })
    }

    async fn call(&self, args: Value, cx: &AgentContext) -> Result<Value> {
        let to = string_arg(&args, "to")?;
        let kind = string_arg(&args, "kind")?;
        let payload = args.get("payload").cloned().unwrap_or(Value::Null);
        let published = cx.send_message(to, kind, payload).await?;
        Ok(json!({ "sent_to": to, "message_id": published.id.to_string() }))
    }
}

/// The longest `run_command` may run.
pub const MAX_COMMAND_SECS: u64 = 600;

/// `run_command {argv, timeout_secs?}`: runs a program in the workspace —
/// no shell, a scrubbed environment (PATH, HOME, LANG… only), its whole
/// process group killed at the timeout (default 60 s, at most
/// [`MAX_COMMAND_SECS`]) or when the task is cancelled, output capped.
#[derive(Debug)]
pub struct RunCommand(pub Workspace);

#[async_trait]
impl Tool for RunCommand {
    fn name(&self) -> &str {
        "run_command"
    }

    fn description(&self) -> &str {
        "Runs a program (argv list, no shell) in the workspace with a timeout; answers its exit code and output."
    }

    fn schema(&self) -> Value {
        json!({
            "type": "object",
            "properties": {
                "argv": { "type": "array", "items": { "type": "string" } },
                "timeout_secs": { "type": "integer" }
            },
            "required": ["argv"]
        })
    }

    async fn call(&self, args: Value, cx: &AgentContext) -> Result<Value> {
        let argv: Vec<String> = args
            .get("argv")
            .and_then(Value::as_array)
            .map(|items| {
                items
                    .iter()
                    .map(|v| v.as_str().map(str::to_string))
                    .collect::<Option<Vec<_>>>()
            })
            .unwrap_or(None)
            .ok_or_else(|| Error::invalid("argument \"argv\" must be a list of strings"))?;
        let secs = args
            .get("timeout_secs")
            .and_then(Value::as_u64)
            .unwrap_or(60)
            .clamp(1, MAX_COMMAND_SECS);
        let outcome = crate::sandbox::ScrubbedCommand::new(argv, self.0.root())?
            .env(crate::sandbox::EnvPolicy::base())
            .timeout(std::time::Duration::from_secs(secs))
            .output_limit(64 * 1024)
            .run(cx.cancelled())
            .await?;
        Ok(json!({
            "exit_code": outcome.exit_code,
            "timed_out": outcome.timed_out,
            "stdout": outcome.stdout,
            "stderr": outcome.stderr,
        }))
    }
}

/// The built-in tools: the file and command tools when there is a
/// workspace, and the context and message tools always.
pub fn builtin_tools(workspace: Option<&Workspace>) -> Vec<Arc<dyn Tool>> {
    let mut tools: Vec<Arc<dyn Tool>> = vec![
        Arc::new(SearchContext),
        Arc::new(StoreContext),
        Arc::new(SendMessage),
    ];
    if let Some(ws) = workspace {
        tools.push(Arc::new(ReadFile(ws.clone())));
        tools.push(Arc::new(WriteFile(ws.clone())));
        tools.push(Arc::new(RunCommand(ws.clone())));
    }
    tools
}
