//! Agents declared in `hive.toml` (`[[agents]]`), spawned by `hive serve`
//! itself, answer tasks submitted over HTTP: LLM agents on both wire
//! formats against the mock LLM server (and, in
//! `declared_llm_agents_answer_with_a_real_model`, against llama.cpp's
//! server with SmolLM2-135M), a coding CLI agent (a fake `claude` on its
//! PATH, in a fresh worktree of a real repository), and a webhook agent (a
//! small server in this test, which fails once with a 503 first). Bad
//! entries — a key written in the file, an unknown kind, a missing model —
//! are refused with a message naming the entry, and the good ones still
//! run. `POST /agents/spawn` and `hive agent spawn/stop` start and stop the
//! same agents at run time.

use std::process::{Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use hive_core::conformance::service_url;
use serde_json::{json, Value};

use super::binary::{free_port, hive_serve, Server};

/// Submits a task that needs `capability` and waits for it to end.
pub(super) async fn run_task(
    base: &str,
    capability: &str,
    payload: Value,
    within: Duration,
) -> Value {
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{base}/tasks"))
        .json(&json!({"type": "ask", "payload": payload, "capabilities": [capability]}))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    let id = created["task"]["id"].as_str().expect("id").to_string();
    wait_final(base, &id, within).await
}

/// Waits up to `within` for task `id` to end; answers it as `GET
/// /tasks/{id}` shows it.
pub(super) async fn wait_final(base: &str, id: &str, within: Duration) -> Value {
    let client = reqwest::Client::new();
    let until = Instant::now() + within;
    loop {
        let task: Value = client
            .get(format!("{base}/tasks/{id}"))
            .send()
            .await
            .expect("get")
            .json()
            .await
            .expect("json");
        let status = task["status"].as_str().unwrap_or_default();
        if ["completed", "failed", "dead_lettered", "cancelled"].contains(&status) {
            return task;
        }
        assert!(Instant::now() < until, "task {id} still {status}");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// The fleet's agents by name.
async fn agents(base: &str) -> Vec<Value> {
    reqwest::get(format!("{base}/agents"))
        .await
        .expect("agents")
        .json::<Vec<Value>>()
        .await
        .expect("json")
}

/// A webhook endpoint on a free port: answers 503 to the first call,
/// then echoes the task's payload with the agent's name; counts calls.
pub(super) async fn webhook() -> (String, Arc<AtomicUsize>) {
    use axum::routing::post;
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let app = axum::Router::new().route(
        "/hook",
        post(move |body: axum::Json<Value>| {
            let calls = counted.clone();
            async move {
                if calls.fetch_add(1, Ordering::SeqCst) == 0 {
                    return (
                        axum::http::StatusCode::SERVICE_UNAVAILABLE,
                        axum::Json(json!({"error": "warming up"})),
                    );
                }
                (
                    axum::http::StatusCode::OK,
                    axum::Json(json!({
                        "echo": body["task"]["payload"],
                        "by": body["agent"],
                    })),
                )
            }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr = listener.local_addr().expect("addr");
    tokio::spawn(async move {
        let _ = axum::serve(listener, app).await;
    });
    (format!("http://{addr}/hook"), calls)
}

/// A git repository with one commit on `main`, and a fake `claude` that
/// writes a file in its worktree and answers as Claude Code does.
fn repo_and_fake_cli(dir: &std::path::Path) -> (std::path::PathBuf, std::path::PathBuf) {
    let repo = dir.join("repo");
    std::fs::create_dir_all(&repo).expect("repo dir");
    let git = |args: &[&str]| {
        let status = Command::new("git")
            .args(["-c", "user.name=t", "-c", "user.email=t@example.com"])
            .args(args)
            .current_dir(&repo)
            .stdout(Stdio::null())
            .status()
            .expect("git");
        assert!(status.success(), "git {args:?}");
    };
    git(&["init", "-q", "-b", "main"]);
    std::fs::write(repo.join("README"), "hello\n").expect("write");
    git(&["add", "README"]);
    git(&["commit", "-q", "-m", "first"]);
    let bin = dir.join("bin");
    std::fs::create_dir_all(&bin).expect("bin dir");
    let claude = bin.join("claude");
    std::fs::write(
        &claude,
        "#!/bin/sh\n\
         # A stand-in for Claude Code: -p PROMPT ... --output-format json\n\
         echo \"$2\" > answer.txt\n\
         printf '{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\
         \"result\":\"wrote answer.txt\",\"session_id\":\"fake-1\",\"total_cost_usd\":0.0,\
         \"usage\":{\"input_tokens\":3,\"output_tokens\":2},\"num_turns\":1}\\n'\n",
    )
    .expect("write claude");
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(&claude, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    (repo, bin)
}

/// `hive serve` with `toml` as its config file, `path_dir` first on its
/// PATH and `env` set; its log goes to `dir/serve.log`.
pub(super) async fn serve_with(
    dir: &std::path::Path,
    toml: &str,
    path_dir: &std::path::Path,
    env: &[(&str, &str)],
) -> Server {
    std::fs::write(dir.join("hive.toml"), toml).expect("hive.toml");
    let port = free_port();
    let log = std::fs::File::create(dir.join("serve.log")).expect("log");
    let mut serve = hive_serve();
    let path = format!(
        "{}:{}",
        path_dir.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    serve
        .current_dir(dir)
        .args(["--addr", &format!("127.0.0.1:{port}"), "--no-context"])
        .env("PATH", path)
        .env("RUST_LOG", "info")
        .envs(env.iter().copied())
        .stdout(log.try_clone().expect("log"))
        .stderr(log);
    Server::spawn(serve, port).await
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_agents_answer_tasks_and_bad_entries_are_refused_by_name() {
    let Some(llm) = service_url("HIVE_TEST_LLM_URL") else {
        return;
    };
    let anthropic_root = llm.trim_end_matches('/').trim_end_matches("/v1");
    let dir = tempfile::tempdir().expect("dir");
    let (repo, bin) = repo_and_fake_cli(dir.path());
    let (hook, calls) = webhook().await;
    std::fs::write(dir.path().join("prompt.txt"), "You answer briefly.").expect("prompt");
    let toml = format!(
        r#"
[[agents]]
name = "mock-anthropic"
kind = "llm"
provider = "anthropic"
model = "claude-sonnet-4-5"
base_url = "{anthropic_root}"
api_key_env = "HIVE_DECLARED_TEST_KEY"
system_prompt_file = "prompt.txt"
capabilities = ["via-anthropic"]

[[agents]]
name = "leaky"
kind = "llm"
provider = "openai"
model = "gpt-4o-mini"
api_key = "sk-live-should-never-be-here"
system_prompt = "x"

[[agents]]
name = "mock-openai"
kind = "llm"
provider = "openai"
model = "gpt-4o-mini"
base_url = "{llm}"
system_prompt = "You answer briefly."
prompt_version = "v7"
capabilities = ["via-openai"]

[[agents]]
name = "robot"
kind = "robot"

[[agents]]
name = "modelless"
kind = "llm"
provider = "openai"
system_prompt = "x"

[[agents]]
name = "coder"
kind = "cli"
repo = "{repo}"
capabilities = ["code"]
timeout_secs = 60

[[agents]]
name = "hook"
kind = "http"
url = "{hook}"
capabilities = ["webhook"]
timeout_secs = 5
"#,
        repo = repo.display()
    );
    let server = serve_with(
        dir.path(),
        &toml,
        &bin,
        &[("HIVE_DECLARED_TEST_KEY", "test-key")],
    )
    .await;
    let base = server.base.clone();

    // The good entries run, under their names and kinds.
    let until = Instant::now() + Duration::from_secs(20);
    let mut names: Vec<String>;
    loop {
        names = agents(&base)
            .await
            .iter()
            .map(|a| {
                format!(
                    "{}:{}",
                    a["name"].as_str().unwrap_or(""),
                    a["kind"].as_str().unwrap_or("")
                )
            })
            .collect();
        names.sort();
        if names.len() >= 4 || Instant::now() > until {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(
        names,
        [
            "coder:cli",
            "hook:http",
            "mock-anthropic:llm",
            "mock-openai:llm"
        ]
    );

    // The bad ones are refused, each naming its entry and what is wrong.
    let log = std::fs::read_to_string(dir.path().join("serve.log")).expect("log");
    for (entry, agent, why) in [
        (2, "leaky", "`api_key` is refused"),
        (4, "robot", "unknown kind \"robot\""),
        (5, "modelless", "missing field `model`"),
    ] {
        let line = log
            .lines()
            .find(|l| l.contains(&format!("[[agents]] entry {entry} of")))
            .unwrap_or_else(|| panic!("no error for entry {entry} in:\n{log}"));
        assert!(
            line.contains(&format!("agent \"{agent}\"")) && line.contains(why),
            "{line}"
        );
    }
    assert!(!log.contains("sk-live-should-never-be-here"), "{log}");

    // The LLM agents answer on both wire formats, with the model's usage.
    let task = run_task(
        &base,
        "via-anthropic",
        json!({"prompt": "hive-declared-test:anthropic"}),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(
        task["result"]["text"],
        "Declared agent, Anthropic wire: hello."
    );
    assert_eq!(task["result"]["usage"]["input_tokens"], 21);
    assert_eq!(task["result"]["usage"]["output_tokens"], 7);
    assert!(
        task["result"]["prompt_version"]
            .as_str()
            .is_some_and(|v| v.starts_with("sha256:")),
        "{task}"
    );
    let task = run_task(
        &base,
        "via-openai",
        json!({"prompt": "hive-declared-test:openai"}),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(
        task["result"]["text"],
        "Declared agent, OpenAI wire: hello."
    );
    assert_eq!(task["result"]["usage"]["output_tokens"], 6);
    assert_eq!(task["result"]["prompt_version"], "v7");

    // The coding CLI ran in a worktree of the repository and its work was
    // committed to the task's branch.
    let task = run_task(
        &base,
        "code",
        json!({"prompt": "write the answer"}),
        Duration::from_secs(60),
    )
    .await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["result"]["text"], "wrote answer.txt");
    assert_eq!(task["result"]["changed_files"], json!(["answer.txt"]));
    let branch = task["result"]["branch"].as_str().expect("branch");
    let shown = Command::new("git")
        .args(["show", &format!("{branch}:answer.txt")])
        .current_dir(&repo)
        .output()
        .expect("git show");
    assert_eq!(
        String::from_utf8_lossy(&shown.stdout).trim(),
        "write the answer"
    );

    // The webhook agent retried the 503 and completed with the answer.
    let task = run_task(&base, "webhook", json!({"n": 42}), Duration::from_secs(30)).await;
    assert_eq!(task["status"], "completed", "{task}");
    assert_eq!(task["result"], json!({"echo": {"n": 42}, "by": "hook"}));
    assert_eq!(calls.load(Ordering::SeqCst), 2, "one 503, then the answer");

    // At run time: POST /agents/spawn starts another, a bad one is a 400
    // naming it, and DELETE stops it.
    let client = reqwest::Client::new();
    let spawned = client
        .post(format!("{base}/agents/spawn"))
        .json(&json!({
            "name": "late-openai", "kind": "llm", "provider": "openai",
            "model": "gpt-4o-mini", "base_url": llm, "system_prompt": "Be brief.",
            "capabilities": ["late"]
        }))
        .send()
        .await
        .expect("spawn");
    assert_eq!(spawned.status(), 201);
    let record: Value = spawned.json().await.expect("json");
    assert_eq!(record["name"], "late-openai");
    assert_eq!(record["kind"], "llm");
    let task = run_task(
        &base,
        "late",
        json!({"prompt": "hive-declared-test:openai"}),
        Duration::from_secs(30),
    )
    .await;
    assert_eq!(task["status"], "completed", "{task}");
    let refused = client
        .post(format!("{base}/agents/spawn"))
        .json(&json!({"name": "k", "kind": "http", "url": "http://h/", "token": "t0ps3cret"}))
        .send()
        .await
        .expect("spawn");
    assert_eq!(refused.status(), 400);
    let body: Value = refused.json().await.expect("json");
    let message = body["error"]["message"].as_str().unwrap_or_default();
    assert!(
        message.contains("agent \"k\": `token` is refused"),
        "{message}"
    );
    assert!(!message.contains("t0ps3cret"), "{message}");
    let id = record["id"].as_str().expect("id");
    let stopped = client
        .delete(format!("{base}/agents/{id}"))
        .send()
        .await
        .expect("stop");
    assert_eq!(stopped.status(), 200);
    assert!(server.terminate().is_some_and(|s| s.success()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_spawns_declared_agents_from_a_file_and_stops_them() {
    let dir = tempfile::tempdir().expect("dir");
    let (hook, _calls) = webhook().await;
    let server = serve_with(dir.path(), "", dir.path(), &[]).await;
    let file = dir.path().join("agents.toml");
    std::fs::write(
        &file,
        format!(
            "[[agents]]\nname = \"cli-hook\"\nkind = \"http\"\nurl = \"{hook}\"\n\n\
             [[agents]]\nname = \"nokind\"\n"
        ),
    )
    .expect("agents.toml");
    let hive = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hive"))
            .args(args)
            .args(["--server", &server.base, "--json"])
            .env_remove("HIVE_TOKEN")
            .output()
            .expect("hive")
    };
    let out = hive(&["agent", "spawn", "--config", &file.display().to_string()]);
    assert_eq!(out.status.code(), Some(1), "one entry was refused");
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("[[agents]] entry 2 of")
            && stderr.contains("agent \"nokind\": `kind` is missing"),
        "{stderr}"
    );
    let record: Value = serde_json::from_slice(&out.stdout).expect("the spawned agent as JSON");
    assert_eq!(record["name"], "cli-hook");
    assert_eq!(record["kind"], "http");
    let id = record["id"].as_str().expect("id");
    let out = hive(&["agent", "stop", id]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let stopped: Value = serde_json::from_slice(&out.stdout).expect("json");
    assert_eq!(stopped["status"], "stopped");
    assert!(server.terminate().is_some_and(|s| s.success()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn declared_llm_agents_answer_with_a_real_model() {
    let (Some(url), Some(model)) = (
        service_url("HIVE_TEST_LLAMA_URL"),
        service_url("HIVE_TEST_LLAMA_MODEL"),
    ) else {
        return;
    };
    let root = url.trim_end_matches('/').to_string();
    let dir = tempfile::tempdir().expect("dir");
    let toml = format!(
        r#"
[[agents]]
name = "smol-anthropic"
kind = "llm"
provider = "anthropic"
model = "{model}"
base_url = "{root}"
api_key_env = "HIVE_DECLARED_LLAMA_KEY"
system_prompt = "You are a helpful assistant. Answer in one short sentence."
max_tokens = 32
capabilities = ["smol-anthropic"]

[[agents]]
name = "smol-openai"
kind = "llm"
provider = "openai"
model = "{model}"
base_url = "{root}/v1"
system_prompt = "You are a helpful assistant. Answer in one short sentence."
max_tokens = 32
capabilities = ["smol-openai"]
"#
    );
    let server = serve_with(
        dir.path(),
        &toml,
        dir.path(),
        &[("HIVE_DECLARED_LLAMA_KEY", "local-no-key-needed")],
    )
    .await;
    for capability in ["smol-anthropic", "smol-openai"] {
        let task = run_task(
            &server.base,
            capability,
            json!({"prompt": "What colour is the sky on a clear day?"}),
            Duration::from_secs(120),
        )
        .await;
        assert_eq!(task["status"], "completed", "{capability}: {task}");
        let text = task["result"]["text"].as_str().unwrap_or_default();
        assert!(
            !text.trim().is_empty(),
            "{capability}: the model's own text: {task}"
        );
        let usage = &task["result"]["usage"];
        assert!(
            usage["input_tokens"].as_u64().is_some_and(|n| n > 0)
                && usage["output_tokens"].as_u64().is_some_and(|n| n > 0),
            "{capability}: token usage recorded: {usage}"
        );
        assert_eq!(
            task["result"]["model"].as_str().map(|m| !m.is_empty()),
            Some(true)
        );
    }
    assert!(server.terminate().is_some_and(|s| s.success()));
}
