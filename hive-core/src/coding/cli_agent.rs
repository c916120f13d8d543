//! [`CliAgent`]: an [`Agent`] that hands each task to a coding CLI —
//! Claude Code headless by default — running in a fresh git worktree.
//!
//! The agent owns nothing but configuration: per attempt it makes a
//! worktree from the base branch's current head, runs the command template
//! there through [`ScrubbedCommand`] (scrubbed environment, own process
//! group, timeout, killed on cancellation), turns the CLI's JSON verdict
//! into the task's result, and keeps or removes the worktree per
//! [`WorktreePolicy`]. Driving the CLI through its headless JSON output —
//! never a terminal multiplexer and screen-scraping — is what makes the
//! outcome machine-readable and the process killable.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde_json::{json, Map, Value};

use super::worktree::{Worktree, WorktreePolicy, Worktrees, WorktreesConfig};
use crate::agent::{Agent, AgentContext, AgentSpec};
use crate::error::{Error, Result};
use crate::llm::{Usage, UsageLedger};
use crate::queue::{Task, TaskFailure};
use crate::sandbox::{EnvPolicy, ProcessOutcome, ScrubbedCommand};

/// How a [`CliAgent`] runs. Build with [`CliAgentConfig::new`] and change
/// fields with struct update syntax; defaults are documented per field.
///
/// ```no_run
/// use std::time::Duration;
/// use hive_core::coding::{CliAgent, CliAgentConfig};
///
/// # async fn run(hive: hive_core::Hive) -> hive_core::Result<()> {
/// let agent = CliAgent::new(CliAgentConfig {
///     timeout: Duration::from_secs(20 * 60),
///     ..CliAgentConfig::new("coder-1", "/src/my-project")
/// })
/// .await?;
/// hive.spawn_agent(agent).await?;
/// # Ok(()) }
/// ```
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct CliAgentConfig {
    /// The agent's name (unique among live agents).
    pub name: String,
    /// What tasks it takes. Default `["code"]`.
    pub capabilities: Vec<String>,
    /// The git repository tasks work on (any directory inside it).
    pub repo: PathBuf,
    /// The branch worktrees start from when the task names none. Default
    /// `"main"`.
    pub base_branch: String,
    /// The program and its arguments; `{prompt}`, `{task_id}`, `{attempt}`,
    /// `{worktree}`, `{branch}` and `{base}` are replaced inside each
    /// argument, which stays one argument whatever the value holds (no
    /// shell runs it). Default [`CliAgentConfig::claude_code`].
    pub command: Vec<String>,
    /// How long one run of the command may take before its process group
    /// is killed. Default 30 minutes. Keep it below the tasks' own timeout,
    /// or the queue's deadline ends the attempt first (the group is still
    /// killed, but the error no longer carries the CLI's output).
    pub timeout: Duration,
    /// Which environment variables the command gets. Default
    /// [`EnvPolicy::default`]: PATH, HOME, LANG, TERM, USER, TMPDIR,
    /// ANTHROPIC_API_KEY and CLAUDE_*.
    pub env: EnvPolicy,
    /// Whether an attempt's worktree is removed when it ends. Default
    /// [`WorktreePolicy::RemoveOnSuccess`].
    pub worktree_policy: WorktreePolicy,
    /// Where worktrees go and whether the base is fetched first. Default:
    /// `<repo>/.hive-worktrees`, no fetch.
    pub worktrees: WorktreesConfig,
    /// Whether what the CLI left uncommitted in a successful attempt's
    /// worktree is committed to its branch, so the work survives the
    /// worktree's removal and `head_commit` names it. Default true: Claude
    /// Code in `acceptEdits` mode edits files but may not run `git commit`.
    pub commit_changes: bool,
    /// Bytes kept of each of the CLI's stdout and stderr (the last ones).
    /// Default 1 MiB.
    pub output_limit: usize,
}

impl CliAgentConfig {
    /// Claude Code headless: `claude -p {prompt} --output-format json
    /// --permission-mode acceptEdits`.
    ///
    /// `acceptEdits` lets it edit files in the worktree without asking
    /// (headless, a question is a refusal) but not run shell commands.
    /// Skipping all permission checks (`--dangerously-skip-permissions`) is
    /// deliberately not the default: the environment is scrubbed but the
    /// process is not sandboxed, and a shell can reach the whole machine.
    /// Add it, or `--allowedTools`, to the template yourself when the
    /// machine is disposable.
    pub fn claude_code() -> Vec<String> {
        [
            "claude",
            "-p",
            "{prompt}",
            "--output-format",
            "json",
            "--permission-mode",
            "acceptEdits",
        ]
        .map(String::from)
        .to_vec()
    }

    /// The defaults, for an agent called `name` working on `repo`.
    pub fn new(name: impl Into<String>, repo: impl Into<PathBuf>) -> Self {
        CliAgentConfig {
            name: name.into(),
            capabilities: vec!["code".to_string()],
            repo: repo.into(),
            base_branch: "main".to_string(),
            command: Self::claude_code(),
            timeout: ScrubbedCommand::DEFAULT_TIMEOUT,
            env: EnvPolicy::default(),
            worktree_policy: WorktreePolicy::default(),
            worktrees: WorktreesConfig::default(),
            commit_changes: true,
            output_limit: ScrubbedCommand::DEFAULT_OUTPUT_LIMIT,
        }
    }
}

/// An agent that runs a coding CLI in a fresh git worktree per task.
///
/// A task's payload is `{"prompt": "…", "base": "optional-branch"}`. Its
/// result is
/// `{"text", "session_id", "cost_usd", "usage", "num_turns", "worktree",
/// "branch", "base", "base_commit", "head_commit", "changed_files",
/// "duration_ms", "worktree_removed"}`, where the first five come from
/// Claude Code's JSON output (null when the CLI printed something else;
/// `text` is then its stdout).
///
/// An attempt fails — retryably — when the CLI exits non-zero (the error
/// holds the exit code and the end of its stderr), runs past the timeout,
/// or reports `"is_error": true`. It fails permanently when the payload
/// has no string `prompt`, the base branch does not exist, or the program
/// cannot be found.
#[derive(Debug)]
pub struct CliAgent {
    config: CliAgentConfig,
    worktrees: Worktrees,
    ledger: Arc<UsageLedger>,
}

/// Characters of the CLI's output quoted in a task's error.
const ERROR_TAIL: usize = 4000;

/// How long before the task's own deadline the CLI is killed, leaving time
/// to report its output and apply the worktree policy.
const DEADLINE_MARGIN: Duration = Duration::from_secs(2);

impl CliAgent {
    /// Checks `config` and opens the repository.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] when the command template or its program is
    /// empty, the spec (name, capabilities) is invalid, or `repo` is not a
    /// git repository with a working tree.
    pub async fn new(config: CliAgentConfig) -> Result<Self> {
        if config.command.first().is_none_or(|p| p.is_empty()) {
            return Err(Error::invalid(
                "a CLI agent's command template needs a program",
            ));
        }
        let worktrees = Worktrees::open(&config.repo, config.worktrees.clone()).await?;
        let agent = CliAgent {
            config,
            worktrees,
            ledger: Arc::new(UsageLedger::new()),
        };
        agent.spec().check()?;
        Ok(agent)
    }

    /// Records what the CLI reports it spent (tokens, dollars) in `ledger`,
    /// shared with other agents, instead of a ledger of its own.
    pub fn ledger(mut self, ledger: Arc<UsageLedger>) -> Self {
        self.ledger = ledger;
        self
    }

    /// The ledger this agent records its spend in.
    pub fn spend(&self) -> &Arc<UsageLedger> {
        &self.ledger
    }

    /// The agent's configuration.
    pub fn config(&self) -> &CliAgentConfig {
        &self.config
    }

    /// Its worktrees.
    pub fn worktrees(&self) -> &Worktrees {
        &self.worktrees
    }

    /// The CLI's timeout for this attempt: the configured one, cut short to
    /// end [`DEADLINE_MARGIN`] before the task's own deadline. Past that
    /// deadline the queue drops the attempt (which still kills the group),
    /// and the error would no longer say what the CLI printed.
    fn timeout_for(&self, task: &Task) -> Duration {
        let deadline = task.started_at.and_then(|started| {
            started.checked_add_signed(chrono::TimeDelta::from_std(task.timeout).ok()?)
        });
        match deadline {
            Some(deadline) => {
                let left = (deadline - chrono::Utc::now())
                    .to_std()
                    .unwrap_or(Duration::ZERO);
                self.config
                    .timeout
                    .min(left.saturating_sub(DEADLINE_MARGIN))
            }
            None => self.config.timeout,
        }
    }

    /// Runs the CLI in `worktree` and makes the task's result of it.
    async fn run_in(
        &self,
        task: &Task,
        prompt: &str,
        worktree: &Worktree,
        cx: &AgentContext,
    ) -> Result<Map<String, Value>, TaskFailure> {
        let attempt = cx.attempt().to_string();
        let task_id = task.id.to_string();
        let path = worktree.path.to_string_lossy();
        let values = BTreeMap::from([
            ("prompt", prompt),
            ("task_id", task_id.as_str()),
            ("attempt", attempt.as_str()),
            ("worktree", path.as_ref()),
            ("branch", worktree.branch.as_str()),
            ("base", worktree.base.as_str()),
        ]);
        let argv = fill(&self.config.command, &values);
        let program = argv.first().cloned().unwrap_or_default();
        let timeout = self.timeout_for(task);
        let outcome = ScrubbedCommand::new(argv, &worktree.path)
            .map_err(failure)?
            .env(self.config.env.clone())
            .timeout(timeout)
            .output_limit(self.config.output_limit)
            .run(cx.cancelled())
            .await
            .map_err(failure)?;
        if outcome.timed_out {
            return Err(TaskFailure::retryable(format!(
                "{program} timed out after {timeout:?}; its process group was killed{}",
                quoted(" stderr: ", &outcome.stderr)
            )));
        }
        if outcome.cancelled {
            return Err(TaskFailure::retryable(format!(
                "{program} was stopped: the attempt was cancelled"
            )));
        }
        if !outcome.success() {
            return Err(TaskFailure::retryable(exit_error(&program, &outcome)));
        }
        let verdict = Verdict::parse(&outcome.stdout);
        if verdict.is_error {
            return Err(TaskFailure::retryable(format!(
                "{program} reported an error: {}",
                tail(&verdict.text, ERROR_TAIL)
            )));
        }
        let changed_files = self
            .worktrees
            .changed_files(worktree)
            .await
            .map_err(failure)?;
        if self.config.commit_changes {
            let message = format!(
                "hive: task {} attempt {} by {}\n\n{}",
                task.id,
                cx.attempt(),
                cx.agent_name(),
                tail(prompt, ERROR_TAIL)
            );
            self.worktrees
                .commit_all(worktree, cx.agent_name(), &message)
                .await
                .map_err(failure)?;
        }
        let head_commit = self.worktrees.head(worktree).await.map_err(failure)?;
        let tokens = |field: &str| {
            verdict
                .usage
                .get(field)
                .and_then(Value::as_u64)
                .unwrap_or(0)
        };
        self.ledger.record(
            cx.agent_name(),
            Some(task.id),
            Usage {
                input_tokens: tokens("input_tokens")
                    + tokens("cache_read_input_tokens")
                    + tokens("cache_creation_input_tokens"),
                output_tokens: tokens("output_tokens"),
            },
            verdict.cost_usd.as_f64(),
        );
        let mut result = Map::new();
        result.insert("text".into(), json!(verdict.text));
        result.insert("session_id".into(), verdict.session_id);
        result.insert("cost_usd".into(), verdict.cost_usd);
        result.insert("usage".into(), verdict.usage);
        result.insert("num_turns".into(), verdict.num_turns);
        result.insert("worktree".into(), json!(path));
        result.insert("branch".into(), json!(worktree.branch));
        result.insert("base".into(), json!(worktree.base));
        result.insert("base_commit".into(), json!(worktree.base_commit));
        result.insert("head_commit".into(), json!(head_commit));
        result.insert("changed_files".into(), json!(changed_files));
        result.insert(
            "duration_ms".into(),
            json!(u64::try_from(outcome.duration.as_millis()).unwrap_or(u64::MAX)),
        );
        Ok(result)
    }
}

#[async_trait]
impl Agent for CliAgent {
    fn spec(&self) -> AgentSpec {
        AgentSpec::new(&self.config.name, "cli", self.config.capabilities.clone()).metadata(json!({
            "command": self.config.command.first(),
            "repo": self.worktrees.repo().to_string_lossy(),
            "base_branch": self.config.base_branch,
        }))
    }

    async fn process_task(&self, task: Task, cx: AgentContext) -> Result<Value, TaskFailure> {
        let Some(prompt) = task
            .payload
            .get("prompt")
            .and_then(Value::as_str)
            .filter(|p| !p.trim().is_empty())
        else {
            return Err(TaskFailure::permanent(
                "a coding task's payload needs a non-empty string \"prompt\": {\"prompt\": \"…\", \"base\": \"optional branch\"}",
            ));
        };
        let base = match task.payload.get("base") {
            None | Some(Value::Null) => self.config.base_branch.as_str(),
            Some(Value::String(base)) => base.as_str(),
            Some(other) => {
                return Err(TaskFailure::permanent(format!(
                    "a coding task's \"base\" must be a branch name, not {other}"
                )))
            }
        };
        let worktree = self
            .worktrees
            .create(task.id, cx.attempt(), base)
            .await
            .map_err(failure)?;
        tracing::info!(agent = %cx.agent_name(), task = %task.id, worktree = %worktree.path.display(), base_commit = %worktree.base_commit, "running the coding CLI");
        let outcome = self.run_in(&task, prompt, &worktree, &cx).await;
        let remove = self.config.worktree_policy.removes(outcome.is_ok());
        let mut removed = false;
        if remove {
            match self.worktrees.remove(&worktree).await {
                Ok(()) => removed = true,
                // The task's outcome stands; a leftover directory is only
                // clutter, and the log says where it is.
                Err(e) => {
                    tracing::warn!(worktree = %worktree.path.display(), error = %e, "could not remove a worktree")
                }
            }
        }
        let mut result = outcome?;
        result.insert("worktree_removed".into(), json!(removed));
        Ok(Value::Object(result))
    }
}

/// What the CLI said it did.
struct Verdict {
    text: String,
    is_error: bool,
    session_id: Value,
    cost_usd: Value,
    usage: Value,
    num_turns: Value,
}

impl Verdict {
    /// Reads Claude Code's `--output-format json` object (or the last line
    /// of `stream-json`, which is the same object); anything else is kept
    /// as text. Missing fields are null.
    fn parse(stdout: &str) -> Verdict {
        let object = serde_json::from_str::<Value>(stdout.trim())
            .ok()
            .filter(Value::is_object)
            .or_else(|| {
                let last = stdout.lines().rev().find(|l| !l.trim().is_empty())?;
                serde_json::from_str::<Value>(last)
                    .ok()
                    .filter(|v| v["type"] == "result")
            });
        let Some(object) = object else {
            return Verdict {
                text: stdout.to_string(),
                is_error: false,
                session_id: Value::Null,
                cost_usd: Value::Null,
                usage: Value::Null,
                num_turns: Value::Null,
            };
        };
        let field = |name: &str| object.get(name).cloned().unwrap_or(Value::Null);
        let text = match &object["result"] {
            Value::String(s) => s.clone(),
            Value::Null => object["subtype"].as_str().unwrap_or_default().to_string(),
            other => other.to_string(),
        };
        Verdict {
            text,
            is_error: object["is_error"].as_bool().unwrap_or(false),
            session_id: field("session_id"),
            // Older Claude Code versions called it `cost_usd`.
            cost_usd: object
                .get("total_cost_usd")
                .or_else(|| object.get("cost_usd"))
                .cloned()
                .unwrap_or(Value::Null),
            usage: field("usage"),
            num_turns: field("num_turns"),
        }
    }
}

/// Replaces `{name}` with `values[name]` inside each item, in one pass, so
/// a value that itself contains `{…}` is never expanded again. Unknown
/// `{…}` are left as they are.
fn fill(template: &[String], values: &BTreeMap<&str, &str>) -> Vec<String> {
    template
        .iter()
        .map(|item| {
            let mut out = String::with_capacity(item.len());
            let mut rest = item.as_str();
            while let Some(open) = rest.find('{') {
                out.push_str(&rest[..open]);
                let after = &rest[open + 1..];
                match after
                    .find('}')
                    .and_then(|close| Some((close, values.get(&after[..close])?)))
                {
                    Some((close, value)) => {
                        out.push_str(value);
                        rest = &after[close + 1..];
                    }
                    None => {
                        out.push('{');
                        rest = after;
                    }
                }
            }
            out.push_str(rest);
            out
        })
        .collect()
}

/// A library error as a task failure: what retrying cannot fix (bad
/// input, a missing branch or program) is permanent.
fn failure(e: Error) -> TaskFailure {
    match e {
        Error::InvalidInput(_) | Error::NotFound { .. } | Error::NotSupported { .. } => {
            TaskFailure::permanent(e.to_string())
        }
        e => TaskFailure::retryable(e.to_string()),
    }
}

fn exit_error(program: &str, outcome: &ProcessOutcome) -> String {
    // Claude Code reports some failures as JSON on stdout; quote that when
    // stderr says nothing.
    let said = if outcome.stderr.trim().is_empty() {
        quoted(" stdout: ", &outcome.stdout)
    } else {
        quoted(" stderr: ", &outcome.stderr)
    };
    format!("{program} failed with {}{said}", outcome.describe_exit())
}

fn quoted(label: &str, output: &str) -> String {
    let output = output.trim();
    if output.is_empty() {
        String::new()
    } else {
        format!(";{label}{}", tail(output, ERROR_TAIL))
    }
}

/// The last `chars` characters of `s`.
fn tail(s: &str, chars: usize) -> &str {
    if chars == 0 {
        return "";
    }
    match s.char_indices().rev().nth(chars - 1) {
        Some((i, _)) => &s[i..],
        None => s,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_one_argument_each_and_never_twice() {
        let values = BTreeMap::from([
            ("prompt", "a {worktree} b; $(rm -rf /)"),
            ("worktree", "/w"),
        ]);
        let template = ["x", "{prompt}", "--dir={worktree}", "{unknown}", "{"].map(String::from);
        assert_eq!(
            fill(&template, &values),
            [
                "x",
                "a {worktree} b; $(rm -rf /)",
                "--dir=/w",
                "{unknown}",
                "{"
            ]
        );
    }

    #[test]
    fn claude_codes_json_is_read_and_other_output_kept_as_text() {
        let v = Verdict::parse(
            r#"{"type":"result","subtype":"success","is_error":false,"result":"done","session_id":"s","total_cost_usd":0.5,"usage":{"input_tokens":3},"num_turns":2}"#,
        );
        assert_eq!((v.text.as_str(), v.is_error), ("done", false));
        assert_eq!(
            (v.session_id, v.cost_usd, v.num_turns),
            (json!("s"), json!(0.5), json!(2))
        );
        let stream = "{\"type\":\"system\"}\n{\"type\":\"result\",\"is_error\":true,\"subtype\":\"error_max_turns\"}\n";
        let v = Verdict::parse(stream);
        assert!(v.is_error);
        assert_eq!(v.text, "error_max_turns");
        let plain = Verdict::parse("just text\n");
        assert_eq!(
            (plain.text.as_str(), plain.cost_usd),
            ("just text\n", Value::Null)
        );
    }

    #[test]
    fn tails_count_characters() {
        assert_eq!(tail("héllo", 3), "llo");
        assert_eq!(tail("hé", 5), "hé");
        assert_eq!(tail("abc", 0), "");
    }
}
