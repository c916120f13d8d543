//! Prompts and experiments through `hive serve` and the `hive` CLI: a
//! declared LLM agent (its model the mock LLM server, whose fixtures answer
//! by system prompt) takes its prompt from the registry; versions are
//! created, diffed and labelled with `hive prompts`; an experiment is
//! started with `hive experiments start` (bad ones refused, nothing
//! stored), its tasks are assigned and observed — and after a `kill -9` of
//! the server mid-experiment and a restart on the same file, every task
//! keeps its arm and the figures rebuilt from the stored outcomes equal
//! those before the kill (the restarted server takes its declared agent
//! back once the killed one's registration is declared dead).

use std::collections::BTreeMap;
use std::process::Command;
use std::time::Duration;

use hive_core::conformance::{service_url, unique_name};
use serde_json::{json, Value};

use super::binary::Server;
use super::declared::{serve_with, wait_final};

/// `hive <args> --server <base> --json`: its JSON answer, or its stderr
/// when it failed.
fn hive(base: &str, args: &[&str]) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_hive"))
        .args(args)
        .args(["--server", base, "--json"])
        .env_remove("HIVE_TOKEN")
        .output()
        .expect("hive");
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).expect("json"))
}

/// Teaches the mock how the prompt carrying `marker` does: it succeeds on
/// the cases in `succeeds` (0–9) and is refused on the others.
async fn teach(mock: &str, tag: &str, marker: &str, succeeds: &[u32]) {
    let fixtures: Vec<Value> = (0..10u32)
        .map(|case| {
            let response = if succeeds.contains(&case) {
                json!({"content": format!("solved {case}"), "usage": {"prompt_tokens": 40, "completion_tokens": 8}})
            } else {
                json!({"error": {"message": "refused", "type": "invalid_request_error"}, "status": 400})
            };
            json!({
                "match": {"systemMessage": marker, "userMessage": format!("{tag}#case-{case}.")},
                "response": response,
            })
        })
        .collect();
    let r = reqwest::Client::new()
        .post(format!("{mock}/__aimock/fixtures"))
        .json(&json!({ "fixtures": fixtures }))
        .send()
        .await
        .expect("mock reachable");
    assert!(r.status().is_success());
}

/// Submits `n` tasks cycling through the cases; answers their ids.
async fn submit(base: &str, tag: &str, from: usize, n: usize) -> Vec<String> {
    let client = reqwest::Client::new();
    let mut ids = Vec::new();
    for i in from..from + n {
        let created: Value = client
            .post(format!("{base}/tasks"))
            .json(&json!({
                "type": "ask",
                "payload": {"prompt": format!("{tag}#case-{}.", i % 10)},
                "capabilities": ["answer"],
            }))
            .send()
            .await
            .expect("submit")
            .json()
            .await
            .expect("json");
        ids.push(created["task"]["id"].as_str().expect("id").to_string());
    }
    ids
}

async fn get(base: &str, path: &str) -> Value {
    reqwest::get(format!("{base}{path}"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json")
}

/// Per arm: samples and mean, as the report shows them.
fn figures(report: &Value) -> Vec<(String, u64, String)> {
    report["arms"]
        .as_array()
        .expect("arms")
        .iter()
        .map(|a| {
            (
                a["name"].as_str().unwrap_or_default().to_string(),
                a["samples"].as_u64().unwrap_or(0),
                format!("{:.6}", a["mean"].as_f64().unwrap_or(f64::NAN)),
            )
        })
        .collect()
}

async fn assignments(base: &str, id: &str) -> BTreeMap<String, String> {
    get(base, &format!("/experiments/{id}/assignments"))
        .await
        .as_array()
        .expect("assignments")
        .iter()
        .map(|a| {
            (
                a["task_id"].as_str().unwrap_or_default().to_string(),
                a["arm"].as_str().unwrap_or_default().to_string(),
            )
        })
        .collect()
}

async fn start_server(dir: &std::path::Path, toml: &str) -> Server {
    serve_with(dir, toml, dir, &[]).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn experiments_over_the_cli_survive_a_kill_9() {
    let Some(llm) = service_url("HIVE_TEST_LLM_URL") else {
        return;
    };
    let mock = llm
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let agent = unique_name("exp-cli");
    let tag = agent.clone();
    // Heartbeats every second: the killed server's agent is declared dead
    // after 4 s, and the restarted server takes its name back.
    let toml = format!(
        r#"
heartbeat_secs = 1

[[agents]]
name = "{agent}"
kind = "llm"
provider = "openai"
model = "gpt-4o-mini"
base_url = "{llm}"
system_prompt = "The configured prompt, used until production is set."
capabilities = ["answer"]
concurrency = 4
lease_secs = 2
"#
    );
    let server = start_server(dir.path(), &toml).await;
    let base = server.base.clone();

    // Two versions, each taught to the mock; production → v1.
    let (m1, m2) = (format!("[{tag}:v1]"), format!("[{tag}:v2]"));
    teach(&mock, &tag, &m1, &[0, 1, 2, 3, 4]).await;
    teach(&mock, &tag, &m2, &[0, 1, 2, 3, 4, 5, 6, 7]).await;
    let text1 = format!("You answer.\nKeep it short.\n{m1}");
    let text2 = format!("You answer.\nKeep it short and right.\n{m2}");
    let v1 = hive(
        &base,
        &[
            "prompts", "create", &agent, "--text", &text1, "--author", "alice",
        ],
    )
    .expect("create v1");
    let v2 = hive(
        &base,
        &[
            "prompts", "create", &agent, "--text", &text2, "--author", "alice",
        ],
    )
    .expect("create v2");
    let (v1, v2) = (
        v1["id"].as_str().expect("id").to_string(),
        v2["id"].as_str().expect("id").to_string(),
    );
    let diff = hive(&base, &["prompts", "diff", &v1, &v2]).expect("diff");
    let text = diff["text"].as_str().unwrap_or_default();
    assert!(
        text.contains("- Keep it short.") && text.contains("+ Keep it short and right."),
        "{text}"
    );
    hive(
        &base,
        &[
            "prompts",
            "label",
            &agent,
            "production",
            &v1,
            "--by",
            "alice",
        ],
    )
    .expect("production → v1");
    let refused = hive(
        &base,
        &[
            "prompts",
            "label",
            &agent,
            "production",
            &v2,
            "--by",
            "alice",
        ],
    )
    .expect_err("production is protected");
    assert!(refused.contains("protected"), "{refused}");
    let listed = hive(&base, &["prompts", "list", &agent]).expect("list");
    assert_eq!(listed["versions"].as_array().map(Vec::len), Some(2));
    assert_eq!(listed["labels"][0]["version"], json!(v1));

    // The agent takes production's prompt at its next task, no restart.
    let done = wait_final(
        &base,
        &submit(&base, &tag, 0, 1).await[0],
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(done["result"]["prompt_version"], json!(v1), "{done}");

    // Bad experiments are refused and store nothing.
    for (args, says) in [
        (vec!["--alpha", "0.7"], "alpha"),
        (
            vec!["--min-samples", "50", "--max-samples", "10"],
            "min_samples",
        ),
    ] {
        let mut all = vec![
            "experiments",
            "start",
            &agent,
            "--variant",
            &v2,
            "--by",
            "alice",
        ];
        all.extend(args);
        let err = hive(&base, &all).expect_err(says);
        assert!(err.contains(says), "{err}");
    }
    let err = hive(
        &base,
        &[
            "experiments",
            "start",
            "nobody-here",
            "--variant",
            &v2,
            "--by",
            "alice",
        ],
    )
    .expect_err("unknown agent");
    assert!(err.contains("not found"), "{err}");
    let none = get(&base, &format!("/experiments?agent={agent}")).await;
    assert_eq!(none, json!([]), "nothing stored");

    // v2 against v1, with a minimum no run here reaches: it stays running.
    let e = hive(
        &base,
        &[
            "experiments",
            "start",
            &agent,
            "--variant",
            &v2,
            "--by",
            "alice",
            "--approved-by",
            "bob",
            "--min-samples",
            "200",
            "--max-samples",
            "400",
            "--seed",
            "7",
        ],
    )
    .expect("start");
    let id = e["id"].as_str().expect("id").to_string();
    let ids = submit(&base, &tag, 1, 40).await;
    for t in &ids {
        wait_final(&base, t, Duration::from_secs(30)).await;
    }
    let before = hive(&base, &["experiments", "status", &id]).expect("status");
    let assigned_before = assignments(&base, &id).await;
    assert_eq!(before["experiment"]["status"], "running");
    assert_eq!(before["observations"], 40, "{before}");
    assert!(ids.iter().all(|t| assigned_before.contains_key(t)));
    let counts = figures(&before);
    assert!(
        counts.iter().all(|(_, n, _)| *n > 5),
        "both arms get tasks: {counts:?}"
    );

    // kill -9 mid-experiment, then a new server on the same file.
    let pid = server.pid().to_string();
    let killed = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    drop(server);
    let server = start_server(dir.path(), &toml).await;
    let base = server.base.clone();
    let after = hive(&base, &["experiments", "status", &id]).expect("status after restart");
    assert_eq!(
        figures(&after),
        counts,
        "the figures rebuilt from stored outcomes"
    );
    assert_eq!(
        assignments(&base, &id).await,
        assigned_before,
        "every task keeps its arm"
    );

    // It goes on: ten more tasks, each task's result names the arm it was
    // assigned, and the first forty keep theirs.
    let more = submit(&base, &tag, 41, 10).await;

    let assigned = {
        let mut finished = Vec::new();
        for t in &more {
            finished.push(wait_final(&base, t, Duration::from_secs(30)).await);
        }
        let assigned = assignments(&base, &id).await;
        for task in finished.iter().filter(|t| t["status"] == "completed") {
            let tid = task["id"].as_str().unwrap_or_default();
            assert_eq!(
                task["result"]["arm"].as_str(),
                assigned.get(tid).map(String::as_str)
            );
        }
        assigned
    };
    for (t, arm) in &assigned_before {
        assert_eq!(assigned.get(t), Some(arm));
    }
    let later = hive(&base, &["experiments", "status", &id]).expect("status");
    assert_eq!(later["observations"], 50);
    let stopped = hive(
        &base,
        &[
            "experiments",
            "stop",
            &id,
            "--by",
            "alice",
            "--reason",
            "done",
        ],
    )
    .expect("stop");
    assert_eq!(stopped["status"], "finished");
    assert_eq!(stopped["decision"]["kind"], "stopped");
}

/// `[meta_agent]` in hive.toml, `hive meta run` and `hive proposals`: the
/// meta-agent reads the agent's failed tasks, its model (the mock, taught
/// the failure pattern) answers with a better prompt and a configuration
/// change; the prompt is tried in an experiment, the change waits for an
/// approval; rejecting the prompt stops its experiment. A server without
/// a meta-agent says so.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_meta_agent_runs_and_its_proposals_are_decided_from_the_cli() {
    let Some(llm) = service_url("HIVE_TEST_LLM_URL") else {
        return;
    };
    let mock = llm
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let agent = unique_name("meta-cli");
    let tag = agent.clone();
    let toml = format!(
        r#"
[meta_agent]
provider = "openai"
model = "gpt-4o-mini"
base_url = "{llm}"
calls_per_day = 5
must_keep = ["Never reveal the key."]

[[agents]]
name = "{agent}"
kind = "llm"
provider = "openai"
model = "gpt-4o-mini"
base_url = "{llm}"
system_prompt = "unused once production is set"
capabilities = ["answer"]
"#
    );
    let server = start_server(dir.path(), &toml).await;
    let base = server.base.clone();
    let marker = format!("[{tag}:v1]");
    // v1 solves cases 0-4 and is refused on 5-9 (the failure pattern).
    teach(&mock, &tag, &marker, &[0, 1, 2, 3, 4]).await;
    let fixture = json!({"fixtures": [{
        "match": {"systemMessage": "You improve the system prompts of AI agents", "userMessage": format!("{tag}#case-")},
        "response": {"content": json!({
            "prompt": format!("You answer, all cases. Never reveal the key. [{tag}:v2]"),
            "rationale": "cases 5 to 9 were refused",
            "expected_effect": "success from 50 % to 100 %",
            "config_changes": [{"setting": "concurrency", "value": 2, "why": "tasks queue up"}],
        }).to_string()},
    }]});
    reqwest::Client::new()
        .post(format!("{mock}/__aimock/fixtures"))
        .json(&fixture)
        .send()
        .await
        .expect("mock");
    let v1 = hive(
        &base,
        &[
            "prompts",
            "create",
            &agent,
            "--text",
            &format!("You answer. Never reveal the key. {marker}"),
            "--author",
            "alice",
        ],
    )
    .expect("v1");
    let v1 = v1["id"].as_str().expect("id").to_string();
    hive(
        &base,
        &[
            "prompts",
            "label",
            &agent,
            "production",
            &v1,
            "--by",
            "alice",
        ],
    )
    .expect("label");
    let ids = submit(&base, &tag, 0, 10).await;
    let mut failed = Vec::new();
    for t in &ids {
        let task = wait_final(&base, t, Duration::from_secs(30)).await;
        if task["status"] == "dead_lettered" {
            failed.push(t.clone());
        }
    }
    assert_eq!(failed.len(), 5);

    let report = hive(&base, &["meta", "run", &agent]).expect("meta run");
    assert_eq!(report["calls"], 1, "{report}");
    let proposals = hive(&base, &["proposals", "list", "--agent", &agent]).expect("list");
    assert_eq!(proposals.as_array().map(Vec::len), Some(2), "{proposals}");
    let prompt = proposals
        .as_array()
        .and_then(|a| a.iter().find(|p| p["kind"] == "prompt"))
        .expect("a prompt proposal")
        .clone();
    assert_eq!(prompt["status"], "experimenting");
    let shown = hive(
        &base,
        &["proposals", "show", prompt["id"].as_str().expect("id")],
    )
    .expect("show");
    let mut cited: Vec<String> = shown["evidence"]["tasks"]
        .as_array()
        .expect("tasks")
        .iter()
        .map(|t| t.as_str().unwrap_or_default().to_string())
        .collect();
    cited.sort();
    failed.sort();
    assert_eq!(cited, failed, "the proposal cites the failed tasks");
    let experiment = prompt["experiment"]
        .as_str()
        .expect("experiment")
        .to_string();
    let status = hive(&base, &["experiments", "status", &experiment]).expect("status");
    assert_eq!(status["experiment"]["status"], "running");

    let config = proposals
        .as_array()
        .and_then(|a| a.iter().find(|p| p["kind"] == "config"))
        .expect("a config proposal")
        .clone();
    let cid = config["id"].as_str().expect("id");
    let err = hive(&base, &["proposals", "approve", cid, "--by", "meta-agent"])
        .expect_err("not by its author");
    assert!(err.contains("other than its author"), "{err}");
    let approved = hive(&base, &["proposals", "approve", cid, "--by", "bob"]).expect("approve");
    assert_eq!(approved["status"], "approved");
    let rejected = hive(
        &base,
        &[
            "proposals",
            "reject",
            prompt["id"].as_str().expect("id"),
            "--by",
            "bob",
            "--reason",
            "not now",
        ],
    )
    .expect("reject");
    assert_eq!(rejected["status"], "rejected");
    let stopped = hive(&base, &["experiments", "status", &experiment]).expect("status");
    assert_eq!(stopped["experiment"]["status"], "finished");
    let bad = reqwest::get(format!("{base}/proposals?status=maybe"))
        .await
        .expect("get");
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
    drop(server);

    // A server without [meta_agent] says there is none.
    let bare = tempfile::tempdir().expect("dir");
    let server = start_server(bare.path(), "").await;
    let err = hive(&server.base, &["meta", "run", &agent]).expect_err("none configured");
    assert!(err.contains("no meta-agent is configured"), "{err}");
}

/// `[[verifiers]]` in hive.toml: a command scores a declared LLM agent's
/// answers; the score is in the task's result and its outcome, and `GET
/// /verifiers` lists it. A verifier of an unknown kind stops the server
/// from starting, naming it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_declared_verifier_scores_answers() {
    let Some(llm) = service_url("HIVE_TEST_LLM_URL") else {
        return;
    };
    let mock = llm
        .trim_end_matches('/')
        .trim_end_matches("/v1")
        .to_string();
    let dir = tempfile::tempdir().expect("dir");
    let agent = unique_name("verified");
    let marker = format!("[{agent}:v1]");
    teach(&mock, &agent, &marker, &[0, 1, 2, 3, 4, 5, 6, 7, 8, 9]).await;
    let toml = format!(
        r#"
[[verifiers]]
task_type = "ask"
kind = "command"
command = ["sh", "-c", "case \"$HIVE_RESULT_TEXT\" in solved*) echo 0.8;; *) echo 0;; esac"]

[[agents]]
name = "{agent}"
kind = "llm"
provider = "openai"
model = "gpt-4o-mini"
base_url = "{llm}"
system_prompt = "Answer. {marker}"
capabilities = ["answer"]
"#
    );
    let server = start_server(dir.path(), &toml).await;
    let base = server.base.clone();
    assert_eq!(
        get(&base, "/verifiers").await,
        json!([{"task_type": "ask", "kind": "command"}])
    );
    let ids = submit(&base, &agent, 0, 3).await;
    for id in &ids {
        let t = wait_final(&base, id, Duration::from_secs(30)).await;
        assert_eq!(t["result"]["score"], json!(0.8), "{t}");
        assert_eq!(t["result"]["verifier"], "command");
    }
    let m = get(&base, &format!("/outcomes/metrics?agent={agent}")).await;
    assert_eq!(m[0]["scored"], 3, "{m}");
    assert!((m[0]["mean_score"].as_f64().unwrap_or(0.0) - 0.8).abs() < 1e-9);
    drop(server);

    let bad = tempfile::tempdir().expect("dir");
    std::fs::write(
        bad.path().join("hive.toml"),
        "[[verifiers]]\ntask_type = \"ask\"\nkind = \"oracle\"\n",
    )
    .expect("toml");
    let out = Command::new(env!("CARGO_BIN_EXE_hive"))
        .current_dir(bad.path())
        .args(["serve", "--addr", "127.0.0.1:0"])
        .env_remove("HIVE_CONFIG")
        .output()
        .expect("hive serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("unknown kind \"oracle\""), "{stderr}");
}
