//! Experiments through a real hive: an LLM agent whose model is the mock
//! LLM server (aimock), with fixtures that answer by system prompt — so
//! each prompt version has a known success rate — and tasks that run,
//! dead-letter, get assigned, observed, decided and promoted for real.
//!
//! The fixtures are added to the running mock for this test only (its
//! system prompts and task texts carry a unique tag): a version succeeds
//! on the task cases listed for it and is refused (HTTP 400, a permanent
//! failure, so the task dead-letters) on the others. Tasks cycle through
//! cases 0–9, so the success rate of a version is the share of the ten it
//! succeeds on.
//!
//! Needs `HIVE_TEST_LLM_URL` (set by `./scripts/test`).

use std::time::Duration;

use hive_core::agent::OrchestratorConfig;
use hive_core::conformance::{service_url, unique_name};
use hive_core::experiment::stats::SplitMix64;
use hive_core::experiment::{
    DecisionKind, Experiment, ExperimentStatus, Guardrails, NewExperiment, WatchVerdict,
};
use hive_core::llm::openai::{OpenAiConfig, OpenAiProvider, OpenAiProviderConfig};
use hive_core::llm::HttpSettings;
use hive_core::llm_agent::{LlmAgent, LlmAgentConfig, LlmOutcome, SystemPrompt};
use hive_core::prompt::{MoveLabel, NewPromptVersion, PromptVersion, PRODUCTION};
use hive_core::queue::{NewTask, QueueConfig, QueueExt, TaskId};
use hive_core::Hive;
use serde_json::{json, Value};

/// What a version does at the mock: the cases (0–9) it succeeds on, and
/// the tokens each answer reports.
struct Behaviour {
    succeeds: &'static [u32],
    completion_tokens: u32,
    /// The cases of the later task family (`late-N`) it succeeds on:
    /// where a version's success can drop while the others' does not.
    late: Option<&'static [u32]>,
}

impl Behaviour {
    fn new(succeeds: &'static [u32], completion_tokens: u32) -> Self {
        Behaviour {
            succeeds,
            completion_tokens,
            late: None,
        }
    }
}

struct Live {
    hive: Hive,
    agent: String,
    tag: String,
    mock: String,
    submitted: u64,
    /// Task ids come from a seeded generator: the arms a task lands in
    /// depend on its id, so the run is the same every time. (How often
    /// the rules find the winner over random assignments is measured in
    /// `decide::tests::the_live_experiment_finds_its_winner_within_200_tasks`.)
    ids: SplitMix64,
    _dir: tempfile::TempDir,
}

impl Live {
    async fn start() -> Option<Live> {
        let url = service_url("HIVE_TEST_LLM_URL")?;
        let root = url
            .trim_end_matches('/')
            .trim_end_matches("/v1")
            .to_string();
        let dir = tempfile::tempdir().expect("dir");
        let agent = unique_name("exp-live");
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
        let client = OpenAiConfig {
            http: HttpSettings {
                max_retries: 0,
                timeout: Duration::from_secs(10),
                ..HttpSettings::default()
            },
            ..OpenAiConfig::new(format!("{root}/v1"))
        };
        let provider = OpenAiProvider::new(OpenAiProviderConfig::new(client, "gpt-4o-mini"))
            .expect("provider");
        let mut config = LlmAgentConfig::new(
            &agent,
            ["answer"],
            SystemPrompt::new("configured", "not used once production is set"),
        );
        config.builtin_tools = false;
        config.keep_transcript = false;
        let llm = LlmAgent::new(config, std::sync::Arc::new(provider)).expect("agent");
        hive.spawn_agent_with(
            llm,
            hive_core::agent::SpawnOptions::default().concurrency(8),
        )
        .await
        .expect("spawn");
        Some(Live {
            tag: agent.clone(),
            hive,
            agent,
            mock: root,
            submitted: 0,
            ids: SplitMix64::new(2026),
            _dir: dir,
        })
    }

    /// Adds a version whose system prompt carries `name`, and teaches the
    /// mock how that prompt does.
    async fn version(&self, name: &str, b: Behaviour) -> PromptVersion {
        let marker = format!("[{}:{name}]", self.tag);
        let mut fixtures: Vec<Value> = Vec::new();
        for (family, succeeds) in [("case", b.succeeds), ("late", b.late.unwrap_or(b.succeeds))] {
            for case in 0..10u32 {
                let response = if succeeds.contains(&case) {
                    json!({
                        "content": format!("{name} solved {family} {case}"),
                        "usage": {"prompt_tokens": 50, "completion_tokens": b.completion_tokens},
                    })
                } else {
                    json!({
                        "error": {"message": format!("{name} cannot do {family} {case}"), "type": "invalid_request_error"},
                        "status": 400,
                    })
                };
                fixtures.push(json!({
                    "match": {
                        "systemMessage": marker,
                        "userMessage": format!("{}#{family}-{case}.", self.tag),
                    },
                    "response": response,
                }));
            }
        }
        let r = reqwest::Client::new()
            .post(format!("{}/__aimock/fixtures", self.mock))
            .json(&json!({ "fixtures": fixtures }))
            .send()
            .await
            .expect("mock reachable");
        assert!(
            r.status().is_success(),
            "fixtures refused: {:?}",
            r.text().await
        );
        self.hive
            .prompts()
            .create(NewPromptVersion::new(
                &self.agent,
                format!("You are version {name}. {marker}"),
                "alice",
            ))
            .await
            .expect("version")
    }

    /// Submits `n` tasks cycling through `cases` and waits for them.
    async fn run(&mut self, n: usize, family: &str) -> Vec<TaskId> {
        let mut ids = Vec::new();
        for _ in 0..n {
            let case = self.submitted % 10;
            self.submitted += 1;
            let t = self
                .hive
                .submit(
                    NewTask::new(
                        "answer",
                        json!({"prompt": format!("{}#{family}-{case}.", self.tag)}),
                    )
                    .requires(["answer"])
                    .with_id(TaskId(uuid::Uuid::from_u64_pair(
                        self.ids.next_u64(),
                        self.ids.next_u64(),
                    ))),
                )
                .await
                .expect("submit");
            ids.push(t.id);
        }
        for id in &ids {
            self.hive
                .queue()
                .wait_until_final(*id, Duration::from_secs(30))
                .await
                .expect("finished");
        }
        ids
    }

    /// Starts `variant` against production (20 to `max` tasks per arm,
    /// approved in advance by bob), with `guardrails`, runs tasks of
    /// `family` until it decides, and answers it decided and the tasks
    /// run.
    async fn experiment(
        &mut self,
        variant: &PromptVersion,
        max: u64,
        guardrails: Guardrails,
    ) -> (Experiment, usize) {
        let e = self
            .hive
            .experiments()
            .start(NewExperiment {
                min_samples: 20,
                max_samples: max,
                watch_samples: 300,
                approved_by: Some("bob".into()),
                guardrails,
                seed: Some(21),
                ..NewExperiment::new(&self.agent, [variant.id], "alice")
            })
            .await
            .expect("start");
        self.until_not(&e, ExperimentStatus::Running, "case", 300)
            .await
    }

    /// Runs tasks in batches until `e` leaves `status` (or `limit` tasks);
    /// answers it and the tasks it took.
    async fn until_not(
        &mut self,
        e: &Experiment,
        status: ExperimentStatus,
        family: &str,
        limit: usize,
    ) -> (Experiment, usize) {
        let mut ran = 0;
        loop {
            self.hive.experiments().tick().await.expect("tick");
            let now = self.hive.experiments().report(e.id).await.expect("report");
            if now.experiment.status != status || ran >= limit {
                return (now.experiment, ran);
            }
            self.run(10, family).await;
            ran += 10;
        }
    }

    async fn production(&self) -> hive_core::prompt::Label {
        self.hive
            .prompts()
            .label(&self.agent, PRODUCTION)
            .await
            .expect("production")
    }

    async fn events(&self, kind: &str) -> Vec<hive_core::events::Event> {
        self.hive
            .events()
            .read_after(0, 10_000)
            .await
            .expect("events")
            .into_iter()
            .filter(|e| e.kind == kind)
            .collect()
    }
}

/// v2 (80 %) beats v1 (50 %) and is promoted; the next task says v2; when
/// v2's success at the mock drops, the watch moves the label back; a worse
/// v3 stops for futility; a better but twice-as-costly v4 is stopped by
/// the cost guardrail. Figures are printed (`--no-capture`).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_live_experiment_promotes_watches_and_refuses() {
    let Some(mut live) = Live::start().await else {
        return;
    };
    let v1 = live
        .version("v1", Behaviour::new(&[0, 1, 2, 3, 4], 10))
        .await;
    let v2 = live
        .version(
            "v2",
            Behaviour {
                late: Some(&[7]),
                ..Behaviour::new(&[0, 1, 2, 3, 4, 5, 6, 7], 10)
            },
        )
        .await;
    live.hive
        .move_label(MoveLabel::new(&live.agent, PRODUCTION, v1.id, "alice"))
        .await
        .expect("production → v1");

    // v2 against v1, approved in advance by bob.
    let (after, ran) = live.experiment(&v2, 100, Guardrails::default()).await;
    let d = after.decision.clone().expect("decided");
    println!(
        "v2 (80 %) against v1 (50 %): {:?} after {} observations ({ran} tasks run): {}",
        d.kind, d.observations, d.reason
    );
    assert_eq!(d.kind, DecisionKind::Winner, "{d:?}");
    assert_eq!(d.arm.as_deref(), Some("variant-1"));
    assert!(d.observations <= 200, "{d:?}");
    assert_eq!(after.status, ExperimentStatus::Watching);
    // The outcomes carry the arm, the dead-lettered ones too: metrics by
    // arm count what the experiment observed.
    let by_arm = live
        .hive
        .metrics(
            &hive_core::outcome::OutcomeFilter::new().experiment(after.id.to_string()),
            hive_core::outcome::GroupBy::Arm,
        )
        .await
        .expect("metrics");
    let counted: u64 = by_arm.iter().map(|m| m.tasks).sum();
    assert!(counted >= d.observations, "{by_arm:?}");
    assert!(by_arm.iter().all(|m| m.key.is_some()), "{by_arm:?}");
    assert!(by_arm.iter().any(|m| m.dead_lettered > 0), "{by_arm:?}");
    assert_eq!(
        live.production().await.version,
        v2.id,
        "production moved to v2"
    );
    let promoted = live.events("experiment.promoted").await;
    assert_eq!(promoted.len(), 1, "{promoted:?}");
    assert_eq!(promoted[0].data["to"], json!(v2.id));

    // The next task's result says v2 — unless it is one of the 20 % the
    // watch holds back on v1, which says v1: tasks run until one is not.
    loop {
        let next = live.run(1, "case").await;
        let task = live.hive.queue().get(next[0]).await.expect("task");
        let Some(result) = task.result else {
            continue; // a case the version fails: no result to read
        };
        let out: LlmOutcome = serde_json::from_value(result).expect("outcome");
        if out.arm.as_deref() == Some("control") {
            assert_eq!(out.prompt_version, v1.id.to_string(), "held back on v1");
            continue;
        }
        assert_eq!(out.prompt_version, v2.id.to_string());
        assert_eq!(out.arm.as_deref(), Some("watch"));
        break;
    }

    // The later tasks are ones v2 mostly fails (it solves 1 in 10) while
    // v1 still solves half: v2's success at the mock drops to 10 %, and
    // the watch moves the label back.
    let (after, ran) = live
        .until_not(&after, ExperimentStatus::Watching, "late", 300)
        .await;
    let w = after.watch.clone().expect("a watch");
    println!(
        "watch: {:?} after {ran} tasks at 10 %: {}",
        w.verdict,
        w.reason.clone().unwrap_or_default()
    );
    assert_eq!(w.verdict, Some(WatchVerdict::RolledBack), "{w:?}");
    assert!(ran <= 150, "rolled back within 150 tasks, took {ran}");
    assert_eq!(live.production().await.version, v1.id, "moved back to v1");
    let back = live.events("experiment.rolled_back").await;
    assert_eq!(back.len(), 1);
    assert!(
        back[0].data["reason"]
            .as_str()
            .unwrap_or("")
            .contains("regression"),
        "{back:?}"
    );

    // A worse v3 (20 %) stops for futility; production stays at v1.
    let v3 = live.version("v3", Behaviour::new(&[0, 1], 10)).await;
    let (after, ran) = live.experiment(&v3, 150, Guardrails::default()).await;
    let d = after.decision.clone().expect("decided");
    println!(
        "v3 (20 %) against v1: {:?} after {ran} tasks: {}",
        d.kind, d.reason
    );
    assert_eq!(d.kind, DecisionKind::Futility, "{d:?}");
    assert_eq!(after.status, ExperimentStatus::Finished);
    assert_eq!(
        live.production().await.version,
        v1.id,
        "the label did not move"
    );

    // v4 succeeds more (90 %) but answers with twice the tokens (120
    // against 60; a refused call reports none): the cost
    // guardrail (at most +50 %) stops it; production stays at v1.
    let v4 = live
        .version("v4", Behaviour::new(&[0, 1, 2, 3, 4, 5, 6, 7, 8], 70))
        .await;
    let guardrails = Guardrails {
        max_cost_increase: Some(0.5),
        ..Guardrails::default()
    };
    let (after, ran) = live.experiment(&v4, 150, guardrails).await;
    let d = after.decision.clone().expect("decided");
    println!(
        "v4 (90 %, 2x tokens) against v1: {:?} after {ran} tasks: {}",
        d.kind, d.reason
    );
    assert_eq!(d.kind, DecisionKind::Guardrail, "{d:?}");
    assert!(d.reason.contains("cost guardrail"), "{}", d.reason);
    assert_eq!(
        live.production().await.version,
        v1.id,
        "the label did not move"
    );
    live.hive.shutdown().await;
}

/// Bad input is refused with a clear error and stores nothing: an unknown
/// agent or version, α outside (0, 0.5], a minimum over the maximum, a
/// second experiment on the label, moving a protected label without an
/// approval.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_experiments_are_refused_and_store_nothing() {
    let dir = tempfile::tempdir().expect("dir");
    let hive = Hive::builder()
        .embedded(dir.path().join("hive.db"))
        .without_context()
        .build()
        .await
        .expect("hive");
    let agent = unique_name("exp-bad");
    let p = hive.prompts();
    let v1 = p
        .create(NewPromptVersion::new(&agent, "one", "alice"))
        .await
        .expect("v1");
    let v2 = p
        .create(NewPromptVersion::new(&agent, "two", "alice"))
        .await
        .expect("v2");
    let other = p
        .create(NewPromptVersion::new(
            unique_name("exp-other"),
            "x",
            "alice",
        ))
        .await
        .expect("other");
    hive.move_label(MoveLabel::new(&agent, PRODUCTION, v1.id, "alice"))
        .await
        .expect("production");
    let x = hive.experiments();
    let base = || NewExperiment::new(&agent, [v2.id], "alice");
    let cases: Vec<(NewExperiment, &str)> = vec![
        (
            NewExperiment::new("nobody-at-all", [v2.id], "alice"),
            "not found",
        ),
        (
            NewExperiment {
                variants: vec![hive_core::prompt::PromptVersionId::new()],
                ..base()
            },
            "not found",
        ),
        (
            NewExperiment {
                variants: vec![other.id],
                ..base()
            },
            "not of",
        ),
        (
            NewExperiment {
                alpha: 0.0,
                ..base()
            },
            "alpha",
        ),
        (
            NewExperiment {
                alpha: 0.7,
                ..base()
            },
            "alpha",
        ),
        (
            NewExperiment {
                min_samples: 50,
                max_samples: 10,
                ..base()
            },
            "min_samples",
        ),
        (
            NewExperiment {
                control: Some(v2.id),
                variants: vec![v1.id],
                ..base()
            },
            "control",
        ),
    ];
    for (bad, says) in cases {
        let err = x.start(bad).await.expect_err(says).to_string();
        assert!(err.contains(says), "{err:?} should say {says:?}");
    }
    assert!(
        x.list(Some(&agent), false, 10)
            .await
            .expect("list")
            .is_empty(),
        "nothing stored"
    );
    let e = x.start(base()).await.expect("a good one");
    let again = x.start(base()).await.expect_err("one per label");
    assert!(matches!(again, hive_core::Error::Conflict(_)), "{again:?}");
    // production is protected from its first move on.
    let err = hive
        .move_label(MoveLabel::new(&agent, PRODUCTION, v2.id, "alice"))
        .await
        .expect_err("protected");
    assert!(matches!(err, hive_core::Error::InvalidInput(_)), "{err:?}");
    assert_eq!(
        p.label(&agent, PRODUCTION).await.expect("label").version,
        v1.id
    );
    let stopped = x.stop(e.id, "alice", Some("enough")).await.expect("stop");
    assert_eq!(stopped.status, ExperimentStatus::Finished);
    assert_eq!(
        stopped.decision.expect("decision").kind,
        DecisionKind::Stopped
    );
    hive.shutdown().await;
}
