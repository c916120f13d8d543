//! Verifiers through a real hive: an LLM agent (its model the mock LLM
//! server) answers, and a verifier of the task type scores the answer — a
//! function, a command, or a judge model (the mock again, answering the
//! judge's prompt). The score lands in the result and the outcome, the
//! metrics' mean score reads it, and an experiment on the `score` metric
//! tells apart two prompts that both always "succeed".
//!
//! Needs `HIVE_TEST_LLM_URL` (set by `./scripts/test`).

use std::sync::Arc;
use std::time::Duration;

use hive_core::agent::OrchestratorConfig;
use hive_core::conformance::{service_url, unique_name};
use hive_core::experiment::{DecisionKind, ExperimentStatus, Metric, NewExperiment};
use hive_core::llm::openai::{OpenAiConfig, OpenAiProvider, OpenAiProviderConfig};
use hive_core::llm::{HttpSettings, LlmProvider};
use hive_core::llm_agent::{LlmAgent, LlmAgentConfig, SystemPrompt};
use hive_core::outcome::{GroupBy, OutcomeFilter};
use hive_core::prompt::{MoveLabel, NewPromptVersion, PRODUCTION};
use hive_core::queue::{NewTask, QueueConfig, QueueExt, Task, TaskId};
use hive_core::verify::{CommandVerifier, FnVerifier, JudgeVerifier};
use hive_core::Hive;
use serde_json::{json, Value};

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

struct Setup {
    hive: Hive,
    agent: String,
    llm: String,
    mock: String,
    _dir: tempfile::TempDir,
}

/// A hive with an LLM agent `answer`-ing on the mock.
async fn setup() -> Option<Setup> {
    let llm = service_url("HIVE_TEST_LLM_URL")?;
    let mock = llm
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let agent = unique_name("verify");
    let hive = Hive::builder()
        .embedded(dir.path().join("hive.db"))
        .queue_config(QueueConfig::named(&agent))
        .orchestrator_config(OrchestratorConfig {
            poll_interval: Duration::from_millis(10),
            ..OrchestratorConfig::default()
        })
        .experiment_interval(Duration::from_millis(50))
        .without_context()
        .build()
        .await
        .expect("hive");
    let mut config = LlmAgentConfig::new(&agent, ["answer"], SystemPrompt::new("cfg", "unused"));
    config.builtin_tools = false;
    config.keep_transcript = false;
    hive.spawn_agent_with(
        LlmAgent::new(config, provider(&llm)).expect("agent"),
        hive_core::agent::SpawnOptions::default().concurrency(4),
    )
    .await
    .expect("spawn");
    Some(Setup {
        hive,
        agent,
        llm,
        mock,
        _dir: dir,
    })
}

impl Setup {
    /// A version whose answer to every `q-N` task is `answer`.
    async fn version(&self, name: &str, answer: &str) -> hive_core::prompt::PromptVersion {
        let marker = format!("[{}:{name}]", self.agent);
        teach(
            &self.mock,
            vec![json!({
                "match": {"systemMessage": marker, "userMessage": format!("{}#q-", self.agent)},
                "response": {"content": answer},
            })],
        )
        .await;
        self.hive
            .prompts()
            .create(NewPromptVersion::new(
                &self.agent,
                format!("Answer. {marker}"),
                "alice",
            ))
            .await
            .expect("version")
    }

    async fn run(&self, n: usize, from: usize) -> Vec<Task> {
        let mut ids: Vec<TaskId> = Vec::new();
        for i in from..from + n {
            let t = self
                .hive
                .submit(
                    NewTask::new("answer", json!({"prompt": format!("{}#q-{i}", self.agent)}))
                        .requires(["answer"]),
                )
                .await
                .expect("submit");
            ids.push(t.id);
        }
        let mut done = Vec::new();
        for id in ids {
            done.push(
                self.hive
                    .queue()
                    .wait_until_final(id, Duration::from_secs(30))
                    .await
                    .expect("ends"),
            );
        }
        done
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn functions_commands_and_judges_score_results_into_outcomes() {
    let Some(s) = setup().await else {
        return;
    };
    let v1 = s.version("v1", "The answer is 4.").await;
    s.hive
        .move_label(MoveLabel::new(&s.agent, PRODUCTION, v1.id, "alice"))
        .await
        .expect("production");

    // A function.
    s.hive
        .verifiers()
        .set(
            "answer",
            Arc::new(FnVerifier(|_t: &Task, r: &Value| {
                if r["text"].as_str().unwrap_or("").contains('4') {
                    1.0
                } else {
                    0.0
                }
            })),
        )
        .expect("set");
    let done = s.run(3, 0).await;
    for t in &done {
        let r = t.result.clone().expect("result");
        assert_eq!(
            (r["score"].as_f64(), r["verifier"].as_str()),
            (Some(1.0), Some("function"))
        );
        let o = s
            .hive
            .list_outcomes(&OutcomeFilter::new().agent(&s.agent), 100)
            .await
            .expect("outcomes");
        assert!(
            o.iter().any(|o| o.task_id == t.id && o.score == Some(1.0)),
            "{o:?}"
        );
    }

    // A command: `sh` reads the answer and prints a score.
    let dir = tempfile::tempdir().expect("dir");
    s.hive
        .verifiers()
        .set(
            "answer",
            Arc::new(
                CommandVerifier::new(
                    vec![
                        "sh".into(),
                        "-c".into(),
                        r#"case "$HIVE_RESULT_TEXT" in *4*) echo 0.9;; *) echo 0.1;; esac"#.into(),
                    ],
                    dir.path(),
                )
                .expect("command"),
            ),
        )
        .expect("set");
    for t in s.run(2, 10).await {
        assert_eq!(t.result.expect("result")["score"], json!(0.9));
    }

    // A judge: the mock answers the judge's prompt with a grade.
    teach(
        &s.mock,
        vec![json!({
            "match": {"systemMessage": "You grade an AI agent's answer", "userMessage": format!("{}#q-2", s.agent)},
            "response": {"content": "0.75 — right, but terse."},
        })],
    )
    .await;
    s.hive
        .verifiers()
        .set(
            "answer",
            Arc::new(JudgeVerifier::new(
                provider(&s.llm),
                "Is the arithmetic right?",
            )),
        )
        .expect("set");
    for t in s.run(1, 20).await {
        let r = t.result.expect("result");
        assert_eq!(
            (r["score"].as_f64(), r["verifier"].as_str()),
            (Some(0.75), Some("judge"))
        );
    }
    let m = s
        .hive
        .metrics(&OutcomeFilter::new().agent(&s.agent), GroupBy::All)
        .await
        .expect("metrics");
    assert_eq!(m[0].scored, 6);
    let mean = (3.0 * 1.0 + 2.0 * 0.9 + 0.75) / 6.0;
    assert!(
        (m[0].mean_score.expect("a mean") - mean).abs() < 1e-9,
        "{m:?}"
    );
    s.hive.shutdown().await;
}

/// Two prompts that both always complete — the success metric cannot tell
/// them apart — differ on the verifier's score: an experiment on `score`
/// finds the right one, which waits for an approval of the protected
/// label and is promoted once someone other than its starter gives it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_experiment_on_the_score_metric_promotes_the_right_answer() {
    let Some(s) = setup().await else {
        return;
    };
    let v1 = s.version("v1", "It is 5.").await;
    let v2 = s.version("v2", "It is 4.").await;
    s.hive
        .move_label(MoveLabel::new(&s.agent, PRODUCTION, v1.id, "alice"))
        .await
        .expect("production");
    s.hive
        .verifiers()
        .set(
            "answer",
            Arc::new(FnVerifier(|_t: &Task, r: &Value| {
                f64::from(u8::from(r["text"].as_str().unwrap_or("").contains('4')))
            })),
        )
        .expect("set");
    let e = s
        .hive
        .experiments()
        .start(NewExperiment {
            metric: Metric::Score,
            min_samples: 10,
            max_samples: 100,
            watch_samples: 0,
            seed: Some(9),
            ..NewExperiment::new(&s.agent, [v2.id], "alice")
        })
        .await
        .expect("start");
    let mut ran = 0;
    loop {
        s.hive.experiments().tick().await.expect("tick");
        let now = s.hive.experiments().report(e.id).await.expect("report");
        if now.experiment.status != ExperimentStatus::Running || ran >= 200 {
            let d = now.experiment.decision.expect("decided");
            assert_eq!(
                (d.kind, d.arm.as_deref()),
                (DecisionKind::Winner, Some("variant-1")),
                "{d:?}"
            );
            // production is protected and nobody approved in advance: the
            // winner waits for an approval, by someone other than alice.
            assert_eq!(now.experiment.status, ExperimentStatus::AwaitingApproval);
            break;
        }
        s.run(10, 100 + ran).await;
        ran += 10;
    }
    let label = s
        .hive
        .prompts()
        .label(&s.agent, PRODUCTION)
        .await
        .expect("label");
    assert_eq!(label.version, v1.id, "not moved before the approval");
    let err = s
        .hive
        .experiments()
        .approve(e.id, "alice")
        .await
        .expect_err("not by its starter");
    assert!(matches!(err, hive_core::Error::InvalidInput(_)), "{err:?}");
    let approved = s
        .hive
        .experiments()
        .approve(e.id, "bob")
        .await
        .expect("approve");
    assert_eq!(
        approved.status,
        ExperimentStatus::Finished,
        "no watch asked for"
    );
    let label = s
        .hive
        .prompts()
        .label(&s.agent, PRODUCTION)
        .await
        .expect("label");
    assert_eq!(label.version, v2.id);
    let history = s
        .hive
        .prompts()
        .history(&s.agent, PRODUCTION)
        .await
        .expect("history");
    assert_eq!(
        history.last().and_then(|m| m.approved_by.as_deref()),
        Some("bob")
    );
    s.hive.shutdown().await;
}
