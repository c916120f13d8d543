//! Agents declared as data: the `[[agents]]` entries of `hive.toml`, the
//! body of `POST /agents/spawn`, Python's `spawn_llm_agent` — one
//! description, read and checked here once, that
//! [`Hive::spawn_declared`](crate::Hive::spawn_declared) turns into a
//! running agent. Three kinds:
//!
//! - `llm` — an [`LlmAgent`](crate::llm_agent::LlmAgent) on Anthropic's
//!   Messages API or any OpenAI-compatible server (OpenAI, Ollama, vLLM,
//!   llama.cpp) by `base_url`;
//! - `cli` — a [`CliAgent`](crate::coding::CliAgent): a coding CLI headless
//!   in a fresh worktree per task (feature `coding`);
//! - `http` — a [`WebhookAgent`](crate::webhook::WebhookAgent): the task is
//!   POSTed to a URL and the answer completes or fails it (feature
//!   `webhook`).
//!
//! **Secrets never live in a declaration.** Keys are named by the
//! environment variable that holds them (`api_key_env`,
//! `auth_token_env`), read when the agent is built; a declaration with a
//! key written in it (`api_key`, `token`, …) is refused, so a config file
//! or a request body never carries one.
//!
//! Every error names the agent (`agent "writer": …`), and a frontend adds
//! where the declaration came from (the entry of `hive.toml`), so one bad
//! entry is reported and the others still start.

mod build;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};

pub use build::Built;

/// The keys every kind has.
const COMMON: [&str; 7] = [
    "name",
    "kind",
    "capabilities",
    "concurrency",
    "task_types",
    "max_restarts",
    "lease_secs",
];
/// The keys of each kind, besides [`COMMON`].
const LLM_KEYS: [&str; 13] = [
    "provider",
    "model",
    "base_url",
    "api_key_env",
    "system_prompt",
    "system_prompt_file",
    "prompt_version",
    "max_tokens",
    "temperature",
    "max_turns",
    "workspace",
    "tools",
    "timeout_secs",
];
const CLI_KEYS: [&str; 8] = [
    "repo",
    "base_branch",
    "command",
    "timeout_secs",
    "env",
    "worktree_dir",
    "keep_worktrees",
    "commit_changes",
];
const HTTP_KEYS: [&str; 5] = [
    "url",
    "timeout_secs",
    "max_retries",
    "auth_token_env",
    "headers",
];
/// Keys that would hold a secret: refused, with the way to pass one.
const SECRETS: [&str; 7] = [
    "api_key",
    "key",
    "token",
    "auth_token",
    "bearer_token",
    "password",
    "secret",
];

/// One declared agent: what every kind shares, and its kind's own
/// settings. Read with [`AgentDecl::from_value`], which refuses unknown
/// keys and keys holding secrets.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentDecl {
    /// The agent's name, unique among live agents.
    pub name: String,
    /// What tasks it takes. Default by kind: `["llm"]`, `["code"]`,
    /// `["http"]`.
    #[serde(default)]
    pub capabilities: Vec<String>,
    /// Tasks it runs at once. Default 1.
    #[serde(default = "one")]
    pub concurrency: usize,
    /// Only tasks of these types; empty (the default) takes any type its
    /// capabilities allow.
    #[serde(default)]
    pub task_types: Vec<String>,
    /// Times it is registered again after being declared dead while this
    /// process runs it; 0 stops it for good. Default 3.
    #[serde(default = "three")]
    pub max_restarts: u32,
    /// The lease it claims with, in seconds. Default: the queue's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_secs: Option<f64>,
    /// The kind and its settings.
    #[serde(flatten)]
    pub kind: KindDecl,
}

fn one() -> usize {
    1
}

fn three() -> u32 {
    3
}

/// A declared agent's kind, by the `kind` key.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum KindDecl {
    /// An agent that works by talking to a language model.
    Llm(LlmDecl),
    /// A coding CLI in a fresh git worktree per task.
    Cli(CliDecl),
    /// A webhook: the task is POSTed to a URL.
    Http(HttpDecl),
}

impl KindDecl {
    /// The kind's name, as written in `kind`.
    pub fn name(&self) -> &'static str {
        match self {
            KindDecl::Llm(_) => "llm",
            KindDecl::Cli(_) => "cli",
            KindDecl::Http(_) => "http",
        }
    }
}

/// Which wire format an LLM agent speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "lowercase")]
pub enum ProviderDecl {
    /// Anthropic's Messages API (`<base_url>/v1/messages`).
    Anthropic,
    /// OpenAI's chat completions (`<base_url>/chat/completions`), as
    /// OpenAI, Ollama, vLLM and the llama.cpp server answer it.
    Openai,
}

/// An LLM agent's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct LlmDecl {
    /// `anthropic` or `openai`.
    pub provider: ProviderDecl,
    /// The model, e.g. `claude-sonnet-4-5` or `gpt-4o-mini`.
    pub model: String,
    /// The server's root: for `anthropic` without the version segment
    /// (default `https://api.anthropic.com`), for `openai` with it
    /// (default `https://api.openai.com/v1`; Ollama
    /// `http://localhost:11434/v1`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_url: Option<String>,
    /// The environment variable holding the API key. Required for
    /// `anthropic` and for OpenAI's own API; local servers need none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key_env: Option<String>,
    /// The system prompt, written here; or give `system_prompt_file`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_prompt: Option<String>,
    /// A file holding the system prompt (relative to the config file).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub system_prompt_file: Option<PathBuf>,
    /// The prompt's version, recorded with every result. Default
    /// `sha256:` and the first 12 hex digits of the prompt's hash, so an
    /// edited prompt is a new version by itself.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_version: Option<String>,
    /// Tokens per answer. Default 4096.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature. Default: the provider's.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f32>,
    /// Model calls per task (the bound on the tool loop). Default 10.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_turns: Option<u32>,
    /// The directory the file and command tools work in (relative to the
    /// config file). Default none: no file or command tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub workspace: Option<PathBuf>,
    /// The built-in tools offered, by name: `search_context`,
    /// `store_context`, `send_message`, and with a workspace `read_file`,
    /// `write_file`, `run_command`. Default: all that apply; `[]` offers
    /// none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<String>>,
    /// Seconds one model call may take. Default: the provider's (120 s
    /// Anthropic, 60 s OpenAI-compatible).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<f64>,
}

/// A coding CLI agent's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct CliDecl {
    /// The git repository tasks work on (relative to the config file).
    #[cfg_attr(feature = "openapi", schema(value_type = String))]
    pub repo: PathBuf,
    /// The branch worktrees start from when a task names none. Default
    /// `main`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub base_branch: Option<String>,
    /// The program and its arguments; `{prompt}`, `{task_id}`,
    /// `{attempt}`, `{worktree}`, `{branch}`, `{base}` are filled in.
    /// Default Claude Code headless (`claude -p {prompt} --output-format
    /// json --permission-mode acceptEdits`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub command: Option<Vec<String>>,
    /// Seconds one run may take before its process group is killed.
    /// Default 1800.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<f64>,
    /// Environment variables the CLI gets besides PATH, HOME, LANG, TERM,
    /// USER, TMPDIR, ANTHROPIC_API_KEY and CLAUDE_* (names, or `PREFIX*`).
    #[serde(default)]
    pub env: Vec<String>,
    /// Where worktrees go. Default `<repo>/.hive-worktrees`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[cfg_attr(feature = "openapi", schema(value_type = Option<String>))]
    pub worktree_dir: Option<PathBuf>,
    /// Keep every attempt's worktree (default: a successful one is
    /// removed, its work committed to its branch).
    #[serde(default)]
    pub keep_worktrees: bool,
    /// Commit what the CLI left uncommitted after a successful run.
    /// Default true.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub commit_changes: Option<bool>,
}

/// A webhook agent's settings.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct HttpDecl {
    /// The endpoint tasks are POSTed to.
    pub url: String,
    /// Seconds one request may take. Default 60.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timeout_secs: Option<f64>,
    /// Retries of a request after a timeout, a connection error, a 408, a
    /// 429 or a 5xx. Default 3.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_retries: Option<u32>,
    /// The environment variable holding a token sent as `authorization:
    /// Bearer …`. Default none.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub auth_token_env: Option<String>,
    /// Extra headers (no secrets: use `auth_token_env`).
    #[serde(default)]
    pub headers: BTreeMap<String, String>,
}

impl AgentDecl {
    /// Reads a declaration from a JSON object (a TOML table converts to
    /// one).
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the agent (or its position, when it
    /// has no name) and the problem: not an object, no name, an unknown
    /// kind, a key holding a secret, an unknown key for its kind, a
    /// missing or mistyped setting.
    pub fn from_value(value: Value) -> Result<AgentDecl> {
        let Value::Object(map) = &value else {
            return Err(Error::invalid(
                "an agent declaration must be a table / JSON object",
            ));
        };
        let who = match map.get("name").and_then(Value::as_str) {
            Some(name) => format!("agent {name:?}"),
            None => return Err(Error::invalid("an agent declaration needs a `name`")),
        };
        let bad = |message: String| Error::invalid(format!("{who}: {message}"));
        let own: &[&str] = match map.get("kind") {
            Some(Value::String(kind)) => match kind.as_str() {
                "llm" => &LLM_KEYS,
                "cli" => &CLI_KEYS,
                "http" => &HTTP_KEYS,
                other => {
                    return Err(bad(format!(
                        "unknown kind {other:?} (known kinds: llm, cli, http)"
                    )))
                }
            },
            Some(other) => return Err(bad(format!("`kind` must be a string, not {other}"))),
            None => return Err(bad("`kind` is missing (llm, cli or http)".into())),
        };
        for key in map.keys() {
            if SECRETS.contains(&key.as_str()) {
                return Err(bad(format!(
                    "`{key}` is refused: a secret must not be written in a declaration — put \
                     it in an environment variable and name the variable (api_key_env for \
                     llm agents, auth_token_env for http agents)"
                )));
            }
            if !COMMON.contains(&key.as_str()) && !own.contains(&key.as_str()) {
                let mut known: Vec<&str> = COMMON.to_vec();
                known.extend_from_slice(own);
                return Err(bad(format!(
                    "unknown key `{key}` (known keys: {})",
                    known.join(", ")
                )));
            }
        }
        let decl: AgentDecl = serde_json::from_value(value).map_err(|e| bad(e.to_string()))?;
        decl.check().map_err(|e| bad(e.to_string()))?;
        Ok(decl)
    }

    /// Checks what the types cannot say.
    fn check(&self) -> std::result::Result<(), String> {
        if self.concurrency == 0 {
            return Err("concurrency must be at least 1".into());
        }
        if let Some(secs) = self.lease_secs {
            positive("lease_secs", secs)?;
        }
        match &self.kind {
            KindDecl::Llm(llm) => {
                if llm.model.trim().is_empty() {
                    return Err("`model` is empty".into());
                }
                match (&llm.system_prompt, &llm.system_prompt_file) {
                    (Some(_), Some(_)) => {
                        return Err("give `system_prompt` or `system_prompt_file`, not both".into())
                    }
                    (None, None) => {
                        return Err(
                            "a system prompt is needed: `system_prompt` or `system_prompt_file`"
                                .into(),
                        )
                    }
                    _ => {}
                }
                if let Some(secs) = llm.timeout_secs {
                    positive("timeout_secs", secs)?;
                }
            }
            KindDecl::Cli(cli) => {
                if let Some(command) = &cli.command {
                    if command.first().is_none_or(|p| p.trim().is_empty()) {
                        return Err("`command` must name a program".into());
                    }
                }
                if let Some(secs) = cli.timeout_secs {
                    positive("timeout_secs", secs)?;
                }
            }
            KindDecl::Http(http) => {
                if let Some(secs) = http.timeout_secs {
                    positive("timeout_secs", secs)?;
                }
                if let Some(name) = http.headers.keys().find(|h| {
                    let h = h.to_ascii_lowercase();
                    h == "authorization" || h.contains("api-key") || h.contains("token")
                }) {
                    return Err(format!(
                        "header {name:?} would carry a secret: name the variable holding it \
                         with auth_token_env"
                    ));
                }
            }
        }
        Ok(())
    }

    /// Makes the relative paths (prompt file, workspace, repository,
    /// worktree directory) relative to `base`, the directory of the file
    /// the declaration came from.
    pub fn resolve_paths(&mut self, base: &Path) {
        let join = |p: &mut PathBuf| {
            if p.is_relative() {
                *p = base.join(&*p);
            }
        };
        match &mut self.kind {
            KindDecl::Llm(llm) => {
                llm.system_prompt_file.as_mut().map(join);
                llm.workspace.as_mut().map(join);
            }
            KindDecl::Cli(cli) => {
                join(&mut cli.repo);
                cli.worktree_dir.as_mut().map(join);
            }
            KindDecl::Http(_) => {}
        }
    }

    /// Its capabilities, or its kind's default.
    pub fn capabilities(&self) -> Vec<String> {
        if !self.capabilities.is_empty() {
            return self.capabilities.clone();
        }
        let default = match self.kind {
            KindDecl::Llm(_) => "llm",
            KindDecl::Cli(_) => "code",
            KindDecl::Http(_) => "http",
        };
        vec![default.to_string()]
    }
}

fn positive(key: &str, secs: f64) -> std::result::Result<(), String> {
    if secs.is_finite() && secs > 0.0 {
        Ok(())
    } else {
        Err(format!("`{key}` must be a number of seconds above zero"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn err(value: Value) -> String {
        AgentDecl::from_value(value)
            .expect_err("refused")
            .to_string()
    }

    #[test]
    fn an_llm_declaration_reads_with_its_defaults() {
        let decl = AgentDecl::from_value(json!({
            "name": "writer", "kind": "llm", "provider": "openai",
            "model": "smollm2", "base_url": "http://127.0.0.1:4020/v1",
            "system_prompt": "Be brief."
        }))
        .expect("valid");
        assert_eq!(decl.concurrency, 1);
        assert_eq!(decl.max_restarts, 3);
        assert_eq!(decl.capabilities(), ["llm"]);
        let KindDecl::Llm(llm) = &decl.kind else {
            panic!("llm")
        };
        assert_eq!(llm.provider, ProviderDecl::Openai);
        assert_eq!(llm.model, "smollm2");
        // It goes back to the same JSON it came from (the API answers it).
        let again =
            AgentDecl::from_value(serde_json::to_value(&decl).expect("json")).expect("round trip");
        assert_eq!(again, decl);
    }

    #[test]
    fn a_key_written_in_the_declaration_is_refused_by_name() {
        let message = err(json!({
            "name": "writer", "kind": "llm", "provider": "anthropic", "model": "m",
            "system_prompt": "p", "api_key": "sk-ant-xyz"
        }));
        assert!(
            message.contains("agent \"writer\": `api_key` is refused"),
            "{message}"
        );
        assert!(message.contains("api_key_env"), "{message}");
        assert!(
            !message.contains("sk-ant-xyz"),
            "the key is not quoted: {message}"
        );
        let message = err(json!({
            "name": "hook", "kind": "http", "url": "http://h/",
            "headers": {"Authorization": "Bearer abc"}
        }));
        assert!(message.contains("auth_token_env"), "{message}");
        assert!(!message.contains("abc"), "{message}");
    }

    #[test]
    fn unknown_kinds_keys_and_missing_settings_name_the_agent() {
        let message = err(json!({"name": "r", "kind": "robot"}));
        assert_eq!(
            message,
            "invalid input: agent \"r\": unknown kind \"robot\" (known kinds: llm, cli, http)"
        );
        let message = err(json!({
            "name": "w", "kind": "llm", "provider": "openai", "system_prompt": "p"
        }));
        assert!(
            message.contains("agent \"w\"") && message.contains("`model`"),
            "{message}"
        );
        let message = err(json!({"name": "w", "kind": "cli", "repo": ".", "modle": "x"}));
        assert!(message.contains("unknown key `modle`"), "{message}");
        let message = err(json!({
            "name": "w", "kind": "llm", "provider": "gemini", "model": "m", "system_prompt": "p"
        }));
        assert!(message.contains("gemini"), "{message}");
        let message = err(json!({"kind": "llm"}));
        assert!(message.contains("needs a `name`"), "{message}");
        let message =
            err(json!({"name": "w", "kind": "http", "url": "http://h/", "concurrency": 0}));
        assert!(message.contains("concurrency"), "{message}");
        let message = err(json!({
            "name": "w", "kind": "llm", "provider": "openai", "model": "m"
        }));
        assert!(message.contains("system prompt is needed"), "{message}");
    }

    #[test]
    fn relative_paths_follow_the_file_they_came_from() {
        let mut decl = AgentDecl::from_value(json!({
            "name": "c", "kind": "cli", "repo": "repo", "worktree_dir": "/abs/wt"
        }))
        .expect("valid");
        decl.resolve_paths(Path::new("/etc/hive"));
        let KindDecl::Cli(cli) = &decl.kind else {
            panic!("cli")
        };
        assert_eq!(cli.repo, Path::new("/etc/hive/repo"));
        assert_eq!(cli.worktree_dir.as_deref(), Some(Path::new("/abs/wt")));
        assert_eq!(decl.capabilities(), ["code"]);
    }
}
