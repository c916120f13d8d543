//! `LlmAgent` through a real `Hive` against aimock, once with the Anthropic
//! provider and once with the OpenAI-compatible one: a tool-use round trip that writes a file in the workspace,
//! model mistakes answered as tool errors (malformed arguments, an unknown
//! tool, a path escaping the workspace), a flaky server retried first by
//! the provider and then by the queue, the bounded tool loop, and spend
//! accounting.
//!
//! Needs `HIVE_TEST_LLM_URL` (set by `./scripts/test`). Fixtures:
//! `tests/fixtures/aimock/llm_agent.json`, chosen by the task's prompt
//! (`hive-agent-test:<case>`); the second leg of each case only matches when
//! our tool result contains the expected text, so a passing test proves
//! what the model was told.

use std::sync::Arc;
use std::time::Duration;

use hive_core::agent::OrchestratorConfig;
use hive_core::conformance::{service_url, unique_name};
use hive_core::llm::anthropic::{AnthropicConfig, AnthropicProvider};
use hive_core::llm::openai::{OpenAiConfig, OpenAiProvider, OpenAiProviderConfig};
use hive_core::llm::{ContentBlock, HttpSettings, LlmProvider, Role};
use hive_core::llm_agent::{LlmAgent, LlmAgentConfig, LlmOutcome, SystemPrompt, UsageLedger};
use hive_core::queue::{NewTask, QueueConfig, QueueExt, RetryPolicy, Task, TaskStatus};
use hive_core::Hive;
use serde_json::json;

struct Setup {
    hive: Hive,
    workspace: tempfile::TempDir,
    ledger: Arc<UsageLedger>,
    _dir: tempfile::TempDir,
}

/// Which wire format the agent's provider speaks.
#[derive(Clone, Copy, Debug)]
pub enum Wire {
    Anthropic,
    OpenAi,
}

fn provider(wire: Wire, root: &str, test_id: &str, retries: u32) -> Arc<dyn LlmProvider> {
    if let Wire::OpenAi = wire {
        let client = OpenAiConfig {
            http: HttpSettings {
                max_retries: retries,
                backoff_base: Duration::from_millis(10),
                backoff_cap: Duration::from_millis(20),
                timeout: Duration::from_secs(10),
                ..HttpSettings::default()
            },
            ..OpenAiConfig::new(format!("{root}/v1"))
        }
        .with_header("X-Test-Id", test_id);
        return Arc::new(
            OpenAiProvider::new(OpenAiProviderConfig::new(client, "gpt-4o-mini"))
                .expect("provider"),
        );
    }
    let config = AnthropicConfig {
        base_url: root.to_string(),
        http: HttpSettings {
            max_retries: retries,
            backoff_base: Duration::from_millis(10),
            backoff_cap: Duration::from_millis(20),
            timeout: Duration::from_secs(10),
            ..AnthropicConfig::default().http
        },
        ..AnthropicConfig::default()
    }
    .with_api_key("sk-ant-hive-agent-test")
    .with_header("X-Test-Id", test_id);
    Arc::new(AnthropicProvider::new(config).expect("provider"))
}

/// A hive with one LLM agent (provider retries: `retries`, max turns:
/// `max_turns`), fast queue retries, and a workspace.
async fn setup(wire: Wire, retries: u32, max_turns: u32) -> Option<Setup> {
    let url = service_url("HIVE_TEST_LLM_URL")?;
    let root = url
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let workspace = tempfile::tempdir().expect("workspace");
    let name = unique_name("llm");
    let hive = Hive::builder()
        .embedded(dir.path().join("hive.db"))
        .queue_config(QueueConfig {
            retry: RetryPolicy {
                base: Duration::from_millis(20),
                cap: Duration::from_millis(20),
                jitter: 0.0,
            },
            ..QueueConfig::named(&name)
        })
        .orchestrator_config(OrchestratorConfig {
            poll_interval: Duration::from_millis(20),
            reap_interval: Duration::from_millis(20),
            ..OrchestratorConfig::default()
        })
        .without_context()
        .build()
        .await
        .expect("hive");
    let mut config = LlmAgentConfig::new(
        &name,
        ["write"],
        SystemPrompt::new("v1", "You write files when asked."),
    );
    config.workspace = Some(workspace.path().to_path_buf());
    config.max_turns = max_turns;
    let ledger = Arc::new(UsageLedger::new());
    let agent = LlmAgent::new(config, provider(wire, &root, &name, retries))
        .expect("agent")
        .ledger(ledger.clone());
    hive.spawn_agent(agent).await.expect("spawn");
    Some(Setup {
        hive,
        workspace,
        ledger,
        _dir: dir,
    })
}

impl Setup {
    /// Runs the fixture case `case` (the prompt `hive-agent-test:<case>`).
    async fn run(&self, case: &str) -> Task {
        self.run_payload(json!({ "prompt": format!("hive-agent-test:{case}") }))
            .await
    }

    /// Runs a task with `payload` to its end.
    async fn run_payload(&self, payload: serde_json::Value) -> Task {
        let t = self
            .hive
            .submit(
                NewTask::new("llm", payload)
                    .requires(["write"])
                    .max_attempts(3),
            )
            .await
            .expect("submit");
        self.hive
            .queue()
            .wait_until_final(t.id, Duration::from_secs(30))
            .await
            .expect("final")
    }
}

fn outcome(task: &Task) -> LlmOutcome {
    assert_eq!(task.status, TaskStatus::Completed, "{task:?}");
    serde_json::from_value(task.result.clone().expect("result")).expect("an LlmOutcome")
}

pub async fn a_tool_round_trip_writes_a_file_in_the_workspace(wire: Wire) {
    let Some(s) = setup(wire, 1, 5).await else {
        return;
    };
    let task = s.run("write").await;
    let out = outcome(&task);
    assert_eq!(out.text, "Wrote the file.");
    assert_eq!(out.turns, 2);
    assert_eq!(out.tool_calls.len(), 1);
    assert!(!out.tool_calls[0].is_error, "{out:?}");
    assert_eq!(out.prompt_version, "v1");
    // The transcript: the task, the tool call, its result, the answer.
    let roles: Vec<Role> = out.transcript.iter().map(|m| m.role).collect();
    assert_eq!(
        roles,
        [Role::User, Role::Assistant, Role::User, Role::Assistant]
    );
    assert!(matches!(
        &out.transcript[2].content[0],
        ContentBlock::ToolResult {
            is_error: false,
            ..
        }
    ));
    assert_eq!(out.transcript[3].text(), "Wrote the file.");
    let written = std::fs::read_to_string(s.workspace.path().join("notes/hello.txt"))
        .expect("the file the model asked for");
    assert_eq!(written, "hello from the model");
    // Spend: two calls, recorded by agent and by task, and in the result.
    let spend = s.ledger.task(task.id);
    assert_eq!(spend.calls, 2);
    assert_eq!(spend.usage, out.usage);
    assert_eq!(s.ledger.total().calls, 2);
    s.hive.shutdown().await;
}

pub async fn model_mistakes_go_back_to_the_model_as_tool_errors(wire: Wire) {
    let Some(s) = setup(wire, 1, 5).await else {
        return;
    };
    for (case, answer) in [
        ("malformed", "Sorry, I will fix the arguments."),
        ("unknown", "No such tool, understood."),
        ("escape", "Refused, fine."),
    ] {
        let task = s.run(case).await;
        let out = outcome(&task);
        // The second fixture only answers if our tool result carried the
        // error text, so this text proves what the model was told.
        assert_eq!(out.text, answer, "{case}");
        assert_eq!(out.tool_calls.len(), 1, "{case}");
        assert!(out.tool_calls[0].is_error, "{case}: {out:?}");
        assert_eq!(task.attempts, 1, "{case}: not a failed attempt");
    }
    let escaped = s.workspace.path().parent().map(|p| p.join("escaped.txt"));
    assert!(
        escaped.is_some_and(|p| !p.exists()),
        "nothing was written outside the workspace"
    );
    s.hive.shutdown().await;
}

pub async fn commands_run_in_the_workspace_with_a_timeout(wire: Wire) {
    let Some(s) = setup(wire, 1, 5).await else {
        return;
    };
    let out = outcome(&s.run("command").await);
    assert_eq!(out.text, "Ran it.");
    assert!(
        s.workspace.path().join("made.txt").exists(),
        "ran in the workspace"
    );
    let started = std::time::Instant::now();
    let out = outcome(&s.run("slow-command").await);
    assert_eq!(out.text, "Too slow, noted.");
    assert!(
        started.elapsed() < Duration::from_secs(20),
        "killed at its 1 s timeout"
    );
    s.hive.shutdown().await;
}

pub async fn a_flaky_server_is_retried_by_the_provider_then_by_the_queue(wire: Wire) {
    // The fixture fails the first two requests with 500. With one provider
    // retry, the first attempt makes both and fails (transient: retryable);
    // the queue's second attempt gets the answer.
    let Some(s) = setup(wire, 1, 5).await else {
        return;
    };
    let task = s.run("flaky").await;
    let out = outcome(&task);
    assert_eq!(out.text, "Recovered on the second attempt.");
    assert_eq!(task.attempts, 2, "{task:?}");
    s.hive.shutdown().await;
}

pub async fn the_tool_loop_is_bounded(wire: Wire) {
    let Some(s) = setup(wire, 0, 3).await else {
        return;
    };
    let task = s.run("loop").await;
    assert_eq!(task.status, TaskStatus::DeadLettered, "{task:?}");
    let error = task.error.clone().unwrap_or_default();
    assert!(error.contains("3 turns"), "{error}");
    assert_eq!(task.attempts, 1, "a runaway loop is not retried");
    assert_eq!(s.ledger.task(task.id).calls, 3);
    s.hive.shutdown().await;
}

pub async fn refusals_are_permanent_and_payloads_without_a_prompt_go_as_json(wire: Wire) {
    let Some(s) = setup(wire, 1, 5).await else {
        return;
    };
    let task = s.run("refused").await;
    assert_eq!(task.status, TaskStatus::DeadLettered, "{task:?}");
    assert_eq!(task.attempts, 1, "a refusal is not retried");
    assert!(
        task.error
            .as_deref()
            .unwrap_or_default()
            .contains("refused"),
        "{task:?}"
    );
    // No `prompt` string: the payload goes to the model as JSON text, which
    // here contains the write case's marker.
    let task = s
        .run_payload(json!({ "ask": "hive-agent-test:write" }))
        .await;
    let out = outcome(&task);
    assert_eq!(out.text, "Wrote the file.");
    assert!(
        out.transcript[0].text().starts_with('{'),
        "{:?}",
        out.transcript[0]
    );
    s.hive.shutdown().await;
}

#[test]
fn bad_agent_configs_are_refused() {
    let base = || LlmAgentConfig::new("a", ["w"], SystemPrompt::new("v1", "p"));
    let provider = || -> Arc<dyn LlmProvider> {
        Arc::new(
            OpenAiProvider::new(OpenAiProviderConfig::new(
                OpenAiConfig::new("http://127.0.0.1:1/v1"),
                "m",
            ))
            .expect("provider"),
        )
    };
    let mut zero = base();
    zero.max_turns = 0;
    assert!(matches!(
        LlmAgent::new(zero, provider()),
        Err(hive_core::Error::InvalidInput(_))
    ));
    let mut nowhere = base();
    nowhere.workspace = Some("/definitely/not/here".into());
    assert!(matches!(
        LlmAgent::new(nowhere, provider()),
        Err(hive_core::Error::InvalidInput(_))
    ));
    let mut quiet = base();
    quiet.builtin_tools = false;
    quiet.keep_transcript = false;
    let agent = LlmAgent::new(quiet, provider()).expect("agent");
    use hive_core::agent::Agent;
    assert!(agent.tools().is_empty());
    assert_eq!(agent.spec().kind, "llm");
    assert_eq!(agent.spec().metadata["prompt_version"], "v1");
    assert!(format!("{agent:?}").contains("LlmAgent"));
    assert_eq!(agent.spend().total().calls, 0);
}

macro_rules! per_wire {
    ($($name:ident),* $(,)?) => {
        mod anthropic {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Wire::Anthropic).await;
                }
            )*
        }
        mod openai {
            $(
                #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
                async fn $name() {
                    super::$name(super::Wire::OpenAi).await;
                }
            )*
        }
    };
}

per_wire!(
    a_tool_round_trip_writes_a_file_in_the_workspace,
    model_mistakes_go_back_to_the_model_as_tool_errors,
    commands_run_in_the_workspace_with_a_timeout,
    a_flaky_server_is_retried_by_the_provider_then_by_the_queue,
    the_tool_loop_is_bounded,
    refusals_are_permanent_and_payloads_without_a_prompt_go_as_json,
);
