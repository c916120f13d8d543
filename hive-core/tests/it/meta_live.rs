//! The meta-agent through a real hive, its model the mock LLM server: an
//! LLM agent fails the tasks of one pattern (the mock refuses its prompt
//! on them), the meta-agent reads those failures, and the mock — taught a
//! fixture built from that pattern — answers with a better prompt. The
//! proposal cites the failed tasks and starts an experiment; a proposal
//! that drops a must-keep clause is refused; a run over its budget stops
//! before calling and writes nothing.
//!
//! Needs `HIVE_TEST_LLM_URL` (set by `./scripts/test`).

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use hive_core::agent::OrchestratorConfig;
use hive_core::conformance::{service_url, unique_name};
use hive_core::llm::openai::{OpenAiConfig, OpenAiProvider, OpenAiProviderConfig};
use hive_core::llm::{HttpSettings, LlmProvider};
use hive_core::llm_agent::{LlmAgent, LlmAgentConfig, SystemPrompt};
use hive_core::meta::{Budget, MetaAgent, MetaConfig, MetaRun, ProposalKind, ProposalStatus, Risk};
use hive_core::prompt::{AuthorKind, MoveLabel, NewPromptVersion, PRODUCTION};
use hive_core::queue::{NewTask, QueueConfig, QueueExt, TaskId, TaskStatus};
use hive_core::Hive;
use serde_json::{json, Value};

const KEEP: &str = "Never reveal the key.";

fn provider(llm: &str) -> Arc<dyn LlmProvider> {
    let client = OpenAiConfig {
        http: HttpSettings {
            max_retries: 0,
            timeout: Duration::from_secs(10),
            ..HttpSettings::default()
        },
        ..OpenAiConfig::new(llm)
    };
    Arc::new(
        OpenAiProvider::new(OpenAiProviderConfig::new(client, "gpt-4o-mini")).expect("provider"),
    )
}

async fn teach(mock: &str, fixtures: Vec<Value>) {
    let r = reqwest::Client::new()
        .post(format!("{mock}/__aimock/fixtures"))
        .json(&json!({ "fixtures": fixtures }))
        .send()
        .await
        .expect("mock reachable");
    assert!(r.status().is_success());
}

/// A hive with one LLM agent whose production prompt (v1, with the
/// must-keep clause) succeeds on `plain` tasks and is refused on `units`
/// tasks; the meta-agent's fixture answers with `proposed` as the new
/// prompt. Runs 5 of each and answers the failed tasks' ids.
async fn failing_agent(
    hive: &Hive,
    llm: &str,
    mock: &str,
    proposed: &str,
) -> (String, BTreeSet<TaskId>) {
    let agent = unique_name("meta-live");
    let marker = format!("[{agent}:v1]");
    let mut fixtures = Vec::new();
    for i in 0..5 {
        fixtures.push(json!({
            "match": {"systemMessage": marker, "userMessage": format!("{agent}#plain-{i}.")},
            "response": {"content": "42", "usage": {"prompt_tokens": 30, "completion_tokens": 2}},
        }));
        fixtures.push(json!({
            "match": {"systemMessage": marker, "userMessage": format!("{agent}#units-{i}.")},
            "response": {"error": {"message": "the answer states no units", "type": "invalid_request_error"}, "status": 400},
        }));
    }
    // The meta-agent's own call: its system prompt, and this agent's
    // failure pattern in the tasks it is shown.
    fixtures.push(json!({
        "match": {"systemMessage": "You improve the system prompts of AI agents", "userMessage": format!("{agent}#units-")},
        "response": {"content": json!({
            "prompt": proposed,
            "rationale": "every failed task asked for a quantity and the answer stated no units",
            "expected_effect": "the units tasks succeed; success rate from 50 % towards 100 %",
            "config_changes": [{"setting": "max_attempts", "value": 1, "why": "refusals never pass on a retry"}],
        }).to_string(), "usage": {"prompt_tokens": 400, "completion_tokens": 80}},
    }));
    teach(mock, fixtures).await;
    let v1 = hive
        .prompts()
        .create(NewPromptVersion::new(
            &agent,
            format!("You answer questions. {KEEP} {marker}"),
            "alice",
        ))
        .await
        .expect("v1");
    hive.move_label(MoveLabel::new(&agent, PRODUCTION, v1.id, "alice"))
        .await
        .expect("production");
    // A capability of its own: another test agent of this hive must not
    // take its tasks.
    let mut config =
        LlmAgentConfig::new(&agent, [agent.as_str()], SystemPrompt::new("cfg", "unused"));
    config.builtin_tools = false;
    hive.spawn_agent(LlmAgent::new(config, provider(llm)).expect("agent"))
        .await
        .expect("spawn");
    let mut failed = BTreeSet::new();
    for i in 0..5 {
        for kind in ["plain", "units"] {
            let t = hive
                .submit(
                    NewTask::new("ask", json!({"prompt": format!("{agent}#{kind}-{i}.")}))
                        .requires([agent.as_str()]),
                )
                .await
                .expect("submit");
            let done = hive
                .queue()
                .wait_until_final(t.id, Duration::from_secs(30))
                .await
                .expect("ends");
            if done.status == TaskStatus::DeadLettered {
                failed.insert(t.id);
            }
        }
    }
    assert_eq!(failed.len(), 5, "the units tasks fail");
    // Every outcome names v1, the dead-lettered ones too (they have no
    // result: the agent stamped its version on the attempt).
    let outcomes = hive
        .list_outcomes(&hive_core::outcome::OutcomeFilter::new().agent(&agent), 100)
        .await
        .expect("outcomes");
    assert_eq!(outcomes.len(), 10);
    let v1_id = v1.id.to_string();
    assert!(
        outcomes
            .iter()
            .all(|o| o.prompt_version.as_deref() == Some(v1_id.as_str())),
        "{outcomes:?}"
    );
    (agent, failed)
}

async fn hive(dir: &tempfile::TempDir, name: &str) -> Hive {
    Hive::builder()
        .embedded(dir.path().join("hive.db"))
        .queue_config(QueueConfig::named(name))
        .orchestrator_config(OrchestratorConfig {
            poll_interval: Duration::from_millis(10),
            ..OrchestratorConfig::default()
        })
        .without_context()
        .build()
        .await
        .expect("hive")
}

fn meta(llm: &str, calls_per_day: u64) -> MetaAgent {
    MetaAgent::new(
        provider(llm),
        MetaConfig {
            must_keep: vec![KEEP.to_string()],
            budget: Budget {
                calls_per_day,
                usd_per_day: None,
            },
            ..MetaConfig::default()
        },
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_meta_agent_proposes_from_failures_and_its_checks_and_budget_hold() {
    let Some(llm) = service_url("HIVE_TEST_LLM_URL") else {
        return;
    };
    let mock = llm
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let hive = hive(&dir, &unique_name("meta-q")).await;
    let meta = meta(&llm, 5);

    // A good proposal: it cites the failed tasks and starts an experiment.
    let (agent, failed) = failing_agent(
        &hive,
        &llm,
        &mock,
        &format!("You answer questions and always state the units. {KEEP} [v2]"),
    )
    .await;
    let report = hive.run_meta_agent(&meta, &agent).await.expect("run");
    assert_eq!(report.calls, 1);
    assert_eq!(report.tokens, 480);
    let prompt = report
        .proposals
        .iter()
        .find(|p| p.kind == ProposalKind::Prompt)
        .expect("a prompt proposal");
    assert_eq!(prompt.status, ProposalStatus::Experimenting, "{prompt:?}");
    assert_eq!(prompt.risk, Risk::Low);
    let cited: BTreeSet<TaskId> = prompt.evidence.tasks.iter().copied().collect();
    assert_eq!(cited, failed, "it cites exactly the failed tasks");
    assert!(
        !prompt.evidence.metrics.is_empty(),
        "with a metrics snapshot"
    );
    assert!(prompt.rationale.contains("units"));
    let version = hive
        .prompts()
        .get(prompt.prompt_version.expect("a version"))
        .await
        .expect("version");
    assert_eq!(version.author_kind, AuthorKind::Optimiser);
    assert_eq!(
        Some(version.parent.expect("a parent")),
        prompt.parent_version
    );
    let e = hive
        .experiments()
        .report(prompt.experiment.expect("an experiment"))
        .await
        .expect("experiment");
    assert_eq!(e.experiment.arms[1].version, version.id);
    assert_eq!(e.experiment.started_by, "meta-agent");
    // The configuration change waits for a person.
    let config = report
        .proposals
        .iter()
        .find(|p| p.kind == ProposalKind::Config)
        .expect("a config proposal");
    assert_eq!(
        (config.status, config.risk),
        (ProposalStatus::Proposed, Risk::Medium)
    );
    let err = hive
        .approve_proposal(config.id, "meta-agent")
        .await
        .expect_err("not by its author");
    assert!(matches!(err, hive_core::Error::InvalidInput(_)), "{err:?}");
    let approved = hive
        .approve_proposal(config.id, "bob")
        .await
        .expect("approve");
    assert_eq!(approved.status, ProposalStatus::Approved);
    assert_eq!(approved.decided_by.as_deref(), Some("bob"));

    // A proposal that drops the must-keep clause is refused: no version,
    // no experiment.
    let (agent_b, _) = failing_agent(
        &hive,
        &llm,
        &mock,
        "You answer questions and always state the units. [v2]",
    )
    .await;
    let report = hive.run_meta_agent(&meta, &agent_b).await.expect("run");
    let refused = &report.proposals[0];
    assert_eq!(refused.status, ProposalStatus::Refused);
    assert!(
        refused
            .decision_reason
            .as_deref()
            .unwrap_or("")
            .contains(KEEP),
        "{refused:?}"
    );
    assert_eq!(refused.experiment, None);
    assert_eq!(
        hive.prompts()
            .versions(&agent_b)
            .await
            .expect("versions")
            .len(),
        1
    );
    assert!(hive
        .experiments()
        .list(Some(&agent_b), false, 10)
        .await
        .expect("list")
        .is_empty());
    hive.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_run_over_its_budget_stops_loudly_and_writes_nothing() {
    let Some(llm) = service_url("HIVE_TEST_LLM_URL") else {
        return;
    };
    let mock = llm
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let hive = hive(&dir, &unique_name("meta-b")).await;
    let (agent, _) = failing_agent(&hive, &llm, &mock, &format!("Better. {KEEP}")).await;
    // Two calls were spent today already; the budget allows two.
    hive.proposals()
        .record_run(&MetaRun {
            id: uuid::Uuid::now_v7(),
            agent: agent.clone(),
            calls: 2,
            tokens: 900,
            cost_usd: 0.0,
            at: chrono::Utc::now() - chrono::Duration::hours(3),
        })
        .await
        .expect("earlier spend");
    let err = hive
        .run_meta_agent(&meta(&llm, 2), &agent)
        .await
        .expect_err("over budget");
    assert!(matches!(err, hive_core::Error::Conflict(_)), "{err:?}");
    assert!(err.to_string().contains("budget is spent"), "{err}");
    assert!(hive
        .proposals()
        .list(Some(&agent), None, 10)
        .await
        .expect("list")
        .is_empty());
    assert_eq!(
        hive.prompts()
            .versions(&agent)
            .await
            .expect("versions")
            .len(),
        1
    );
    assert!(hive
        .experiments()
        .list(Some(&agent), false, 10)
        .await
        .expect("list")
        .is_empty());
    let (calls, _) = hive
        .proposals()
        .spend_since(chrono::Utc::now() - chrono::Duration::hours(24))
        .await
        .expect("spend");
    assert_eq!(calls, 2, "no call was made");
    hive.shutdown().await;
}
