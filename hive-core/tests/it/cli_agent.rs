//! `CliAgent` end to end, with a fake `claude`: a shell script written into
//! a temp dir that is put first on the PATH the agent passes to its CLI.
//! Each test makes its own git repository (one commit on `main`) and its
//! own embedded hive, and runs the agent through the real queue.
//!
//! What a fake cannot show is whether the real Claude Code accepts the
//! default template and prints what the fake prints; `docs/cli-agents.md`
//! says how to check that by hand.

use std::sync::Arc;

use hive_core::llm::UsageLedger;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use hive_core::agent::{OrchestratorConfig, SpawnOptions};
use hive_core::coding::{CliAgent, CliAgentConfig, WorktreePolicy};
use hive_core::conformance::unique_name;
use hive_core::queue::{NewTask, QueueConfig, QueueExt, Task, TaskStatus};
use hive_core::sandbox::EnvPolicy;
use hive_core::{Error, Hive};
use serde_json::{json, Value};

/// A repository, a directory holding the fake CLI, and a hive.
struct Bench {
    dir: tempfile::TempDir,
    repo: PathBuf,
    bin: PathBuf,
    hive: Hive,
    ledger: Arc<UsageLedger>,
}

impl Bench {
    /// A repo with one commit on `main`, and `claude` doing `script`.
    async fn new(script: &str) -> Bench {
        let dir = tempfile::tempdir().expect("temp dir");
        let repo = dir.path().join("repo");
        std::fs::create_dir(&repo).expect("repo dir");
        git(&repo, &["init", "--quiet", "-b", "main"]);
        commit_file(&repo, "README.md", "# a project\n");
        let bin = dir.path().join("bin");
        std::fs::create_dir(&bin).expect("bin dir");
        write_script(&bin.join("claude"), script);
        let hive = Hive::builder()
            .queue_config(QueueConfig::named(unique_name("cli")))
            .orchestrator_config(OrchestratorConfig {
                poll_interval: Duration::from_millis(20),
                reap_interval: Duration::from_millis(50),
                shutdown_grace: Duration::from_secs(5),
                ..OrchestratorConfig::default()
            })
            .without_context()
            .embedded(dir.path().join("hive.db"))
            .build()
            .await
            .expect("build hive");
        Bench {
            dir,
            repo,
            bin,
            hive,
            ledger: Arc::new(UsageLedger::new()),
        }
    }

    /// The agent's config: short timeout, the fake first on its PATH (the
    /// test process's own PATH is left alone: tests run in parallel).
    fn config(&self) -> CliAgentConfig {
        let path = format!(
            "{}:{}",
            self.bin.display(),
            std::env::var("PATH").unwrap_or_else(|_| "/usr/bin:/bin".into())
        );
        CliAgentConfig {
            timeout: Duration::from_secs(3),
            env: EnvPolicy::default().set("PATH", path),
            ..CliAgentConfig::new(unique_name("coder"), &self.repo)
        }
    }

    async fn spawn(&self, config: CliAgentConfig) {
        let agent = CliAgent::new(config)
            .await
            .expect("agent")
            .ledger(self.ledger.clone());
        self.hive
            .spawn_agent_with(agent, SpawnOptions::default())
            .await
            .expect("spawn");
    }

    async fn run(&self, task: NewTask) -> Task {
        let id = self.hive.submit(task).await.expect("submit").id;
        self.wait(id).await
    }

    async fn wait(&self, id: hive_core::queue::TaskId) -> Task {
        self.hive
            .queue()
            .wait_until_final(id, Duration::from_secs(30))
            .await
            .expect("task ends")
    }

    /// The directories in the default worktree root, sorted.
    fn worktree_dirs(&self) -> Vec<String> {
        let mut dirs: Vec<String> = std::fs::read_dir(self.repo.join(".hive-worktrees"))
            .expect("worktree root")
            .map(|d| d.expect("entry").file_name().to_string_lossy().into_owned())
            .collect();
        dirs.sort();
        dirs
    }

    async fn finish(self) {
        self.hive.shutdown().await;
        drop(self.dir);
    }
}

fn coding(payload: Value) -> NewTask {
    NewTask::new("code", payload).requires(["code"])
}

fn git(dir: &Path, args: &[&str]) -> String {
    let out = std::process::Command::new("git")
        .arg("-C")
        .arg(dir)
        .args([
            "-c",
            "user.name=test",
            "-c",
            "user.email=test@example.invalid",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .output()
        .expect("run git");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn commit_file(repo: &Path, name: &str, text: &str) -> String {
    std::fs::write(repo.join(name), text).expect("write");
    git(repo, &["add", name]);
    git(repo, &["commit", "--quiet", "-m", &format!("add {name}")]);
    git(repo, &["rev-parse", "main"])
}

fn write_script(path: &Path, body: &str) {
    use std::os::unix::fs::PermissionsExt;
    std::fs::write(path, format!("#!/bin/sh\n{body}")).expect("write script");
    std::fs::set_permissions(path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
}

/// Claude Code's `--output-format json` answer, as the fake prints it.
const RESULT_JSON: &str = r#"{"type":"result","subtype":"success","is_error":false,"duration_ms":1200,"duration_api_ms":900,"num_turns":3,"result":"Added src/main.rs","session_id":"0b9a5c2e-session","total_cost_usd":0.0123,"usage":{"input_tokens":120,"output_tokens":40}}"#;

fn result(task: &Task) -> &Value {
    assert_eq!(task.status, TaskStatus::Completed, "{task:#?}");
    task.result.as_ref().expect("result")
}

fn error(task: &Task) -> &str {
    task.error.as_deref().expect("error")
}

/// Whether `pid` is a live process (a zombie awaiting its reaper is dead).
fn alive(pid: i32) -> bool {
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        // The state follows the parenthesised command name.
        Ok(stat) => stat
            .rsplit_once(") ")
            .is_some_and(|(_, rest)| !rest.starts_with('Z')),
        Err(_) => false,
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_successful_run_is_parsed_and_its_work_kept_on_its_branch() {
    let bench = Bench::new(&format!(
        r#"[ "$1" = "-p" ] && [ "$3" = "--output-format" ] && [ "$4" = "json" ] || {{ echo "unexpected arguments: $*" >&2; exit 64; }}
printf '%s' "$2" > prompt.txt
mkdir -p src && echo 'fn main() {{}}' > src/main.rs
echo '{RESULT_JSON}'
"#
    ))
    .await;
    bench.spawn(bench.config()).await;
    // Shell syntax and a placeholder inside the prompt stay inert text.
    let prompt = "Add a main; touch pwned $(touch pwned2) {worktree} 'quoted'";
    let task = bench.run(coding(json!({ "prompt": prompt }))).await;
    let r = result(&task);
    assert_eq!(r["text"], "Added src/main.rs");
    assert_eq!(r["session_id"], "0b9a5c2e-session");
    assert_eq!(r["cost_usd"], 0.0123);
    assert_eq!(r["usage"]["input_tokens"], 120);
    assert_eq!(r["num_turns"], 3);
    // What the CLI reported spending is in the shared ledger, by task.
    let spend = bench.ledger.task(task.id);
    assert_eq!(
        (
            spend.calls,
            spend.usage.input_tokens,
            spend.usage.output_tokens
        ),
        (1, 120, 40)
    );
    assert!((spend.cost_usd - 0.0123).abs() < 1e-12, "{spend:?}");
    assert_eq!(r["changed_files"], json!(["prompt.txt", "src/main.rs"]));
    assert_eq!(r["base"], "main");
    assert_eq!(r["base_commit"], git(&bench.repo, &["rev-parse", "main"]));
    assert!(r["duration_ms"].is_u64());
    // The default policy removed the worktree of a successful attempt; its
    // uncommitted edits were committed first, so its branch holds them.
    assert_eq!(r["worktree_removed"], true);
    let worktree = PathBuf::from(r["worktree"].as_str().expect("worktree"));
    assert!(worktree.starts_with(bench.repo.join(".hive-worktrees")));
    assert!(!worktree.exists());
    let branch = r["branch"].as_str().expect("branch");
    assert!(
        branch.starts_with("hive/") && branch.ends_with("-1"),
        "{branch}"
    );
    assert_eq!(r["head_commit"], git(&bench.repo, &["rev-parse", branch]));
    assert_ne!(r["head_commit"], r["base_commit"]);
    assert_eq!(
        git(&bench.repo, &["show", &format!("{branch}:prompt.txt")]),
        prompt
    );
    assert_eq!(
        git(
            &bench.repo,
            &[
                "ls-tree",
                "-r",
                "--name-only",
                branch,
                "--",
                "pwned",
                "pwned2"
            ]
        ),
        ""
    );
    // The worktrees never show in the main checkout.
    assert_eq!(git(&bench.repo, &["status", "--porcelain"]), "");
    bench.finish().await;
}

/// A CLI that starts a background child and never ends; it writes both
/// pids into `$HIVE_TEST_PIDS`.
const HANGING: &str = r#"sleep 60 &
echo $! > "$HIVE_TEST_PIDS/child"
echo $$ > "$HIVE_TEST_PIDS/leader"
wait
"#;

/// The agent config for [`HANGING`], and where its pids go.
fn hanging_config(bench: &Bench, timeout: Duration) -> (CliAgentConfig, PathBuf) {
    let pids = bench.dir.path().join("pids");
    std::fs::create_dir(&pids).expect("pids dir");
    let mut config = bench.config();
    config.timeout = timeout;
    config.env = config
        .env
        .set("HIVE_TEST_PIDS", pids.to_string_lossy().into_owned());
    (config, pids)
}

/// Fails unless the leader and its child are both gone (within 2 s).
async fn assert_group_gone(pids: &Path) {
    for who in ["leader", "child"] {
        let pid: i32 = std::fs::read_to_string(pids.join(who))
            .expect("pid file")
            .trim()
            .parse()
            .expect("pid");
        let mut waited = 0;
        while alive(pid) && waited < 100 {
            tokio::time::sleep(Duration::from_millis(20)).await;
            waited += 1;
        }
        assert!(!alive(pid), "the {who} ({pid}) outlived its attempt");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hung_cli_is_killed_with_its_whole_process_group() {
    let bench = Bench::new(HANGING).await;
    let (config, pids) = hanging_config(&bench, Duration::from_secs(1));
    bench.spawn(config).await;
    let task = bench
        .run(coding(json!({ "prompt": "hang" })).max_attempts(1))
        .await;
    assert_eq!(task.status, TaskStatus::DeadLettered);
    assert!(error(&task).contains("timed out after 1s"), "{task:#?}");
    assert!(error(&task).contains("process group was killed"));
    assert_group_gone(&pids).await;
    // A failed attempt's worktree is kept for inspection.
    assert_eq!(bench.worktree_dirs().len(), 1);
    bench.finish().await;
}

/// A task cancelled while its CLI runs: the queue drops the attempt (its
/// lease is gone), and dropping it kills the group too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_cancelled_task_takes_its_cli_down_with_it() {
    let bench = Bench::new(HANGING).await;
    let (config, pids) = hanging_config(&bench, Duration::from_secs(60));
    let agent = CliAgent::new(config).await.expect("agent");
    // A short lease, so the heartbeat that finds it gone comes soon.
    bench
        .hive
        .spawn_agent_with(agent, SpawnOptions::default().lease(Duration::from_secs(1)))
        .await
        .expect("spawn");
    let id = bench
        .hive
        .submit(coding(json!({ "prompt": "hang" })))
        .await
        .expect("submit")
        .id;
    let mut waited = 0;
    while !pids.join("child").exists() && waited < 500 {
        tokio::time::sleep(Duration::from_millis(20)).await;
        waited += 1;
    }
    // Both pids are written before the script waits.
    tokio::time::sleep(Duration::from_millis(100)).await;
    bench.hive.queue().cancel(id).await.expect("cancel");
    assert_group_gone(&pids).await;
    assert_eq!(bench.wait(id).await.status, TaskStatus::Cancelled);
    bench.finish().await;
}

/// A task whose own timeout is shorter than the CLI's: the CLI is stopped
/// just before the task's deadline, and the error still carries its output.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_timeout_is_cut_to_the_tasks_deadline() {
    let bench = Bench::new("echo 'still thinking' >&2\nsleep 60\n").await;
    let mut config = bench.config();
    config.timeout = Duration::from_secs(60);
    bench.spawn(config).await;
    let task = bench
        .run(
            coding(json!({ "prompt": "hang" }))
                .timeout(Duration::from_secs(3))
                .max_attempts(1),
        )
        .await;
    let e = error(&task);
    assert!(e.contains("its process group was killed"), "{e}");
    assert!(e.contains("still thinking"), "{e}");
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_failing_cli_fails_the_attempt_with_its_stderr_and_is_retried() {
    let bench = Bench::new(
        r#"echo "starting"
echo "Error: Invalid API key · Please run /login" >&2
exit 2
"#,
    )
    .await;
    bench.spawn(bench.config()).await;
    let task = bench
        .run(coding(json!({ "prompt": "fix it" })).max_attempts(2))
        .await;
    assert_eq!(task.status, TaskStatus::DeadLettered);
    assert_eq!(task.attempts, 2, "a non-zero exit is retryable");
    let e = error(&task);
    assert!(e.contains("exit code 2"), "{e}");
    assert!(e.contains("Invalid API key · Please run /login"), "{e}");
    // Each attempt had its own worktree, both kept (they failed).
    let kept = bench.worktree_dirs();
    assert_eq!(kept.len(), 2, "{kept:?}");
    assert!(
        kept[0].ends_with("-1") && kept[1].ends_with("-2"),
        "{kept:?}"
    );
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_error_result_fails_the_attempt_with_its_text() {
    let bench = Bench::new(
        r#"echo '{"type":"result","subtype":"error_during_execution","is_error":true,"result":"API Error: 529 overloaded","session_id":"s"}'
"#,
    )
    .await;
    bench.spawn(bench.config()).await;
    let task = bench
        .run(coding(json!({ "prompt": "x" })).max_attempts(1))
        .await;
    assert_eq!(task.status, TaskStatus::DeadLettered);
    assert!(
        error(&task).contains("API Error: 529 overloaded"),
        "{task:#?}"
    );
    bench.finish().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_worktree_starts_at_the_base_as_it_is_when_the_task_runs() {
    let bench = Bench::new(
        r#"test -f late.txt || { echo "late.txt is missing: a stale base" >&2; exit 5; }
echo done
"#,
    )
    .await;
    git(&bench.repo, &["branch", "old"]);
    bench.spawn(bench.config()).await;
    // main moves after the agent exists, before the task is submitted.
    let head = commit_file(&bench.repo, "late.txt", "new\n");
    let task = bench.run(coding(json!({ "prompt": "check" }))).await;
    let r = result(&task);
    assert_eq!(r["base"], "main");
    assert_eq!(r["base_commit"], head.as_str());
    assert_eq!(r["text"], "done\n", "plain stdout is kept as text");
    assert_eq!(r["session_id"], Value::Null);
    assert_eq!(r["changed_files"], json!([]));
    assert_eq!(r["head_commit"], r["base_commit"], "nothing to commit");
    // A branch without work is deleted with its worktree.
    let branch = r["branch"].as_str().expect("branch");
    assert_eq!(git(&bench.repo, &["branch", "--list", branch]), "");
    // The payload's base overrides the agent's: old has no late.txt.
    let task = bench
        .run(coding(json!({ "prompt": "check", "base": "old" })).max_attempts(1))
        .await;
    assert!(error(&task).contains("stale base"), "{task:#?}");
    bench.finish().await;
}

/// Set in the test process before anything reads the environment: the
/// runtime is built after, so no other thread of this test races the write
/// (nextest runs each test in a process of its own).
#[test]
fn the_cli_sees_only_allow_listed_variables() {
    std::env::set_var("HIVE_TEST_SECRET", "hunter2");
    std::env::set_var("CLAUDE_HIVE_TEST_VISIBLE", "yes");
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async {
        let bench = Bench::new("env > env.txt\n").await;
        let config = bench.config();
        let policy = config.env.clone();
        bench.spawn(config).await;
        let task = bench.run(coding(json!({ "prompt": "env" }))).await;
        let branch = result(&task)["branch"].as_str().expect("branch");
        let env = git(&bench.repo, &["show", &format!("{branch}:env.txt")]);
        assert!(!env.contains("HIVE_TEST_SECRET"), "{env}");
        assert!(!env.contains("hunter2"), "{env}");
        assert!(
            env.lines().any(|l| l == "CLAUDE_HIVE_TEST_VISIBLE=yes"),
            "{env}"
        );
        let path = format!("PATH={}:", bench.bin.display());
        assert!(env.lines().any(|l| l.starts_with(&path)), "{env}");
        // Nothing else: only what the policy passes, plus what sh itself
        // sets.
        let shell_own: BTreeSet<&str> = ["PWD", "OLDPWD", "SHLVL", "_"].into();
        for line in env.lines() {
            let name = line.split_once('=').map_or(line, |(n, _)| n);
            assert!(
                policy.passes(name) || policy.set.contains_key(name) || shell_own.contains(name),
                "{name} leaked into the CLI's environment"
            );
        }
        bench.finish().await;
    });
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_input_gets_clear_errors() {
    let bench = Bench::new("echo '{}'\n").await;
    bench.spawn(bench.config()).await;
    for (payload, expected) in [
        (
            json!({ "text": "no prompt" }),
            "needs a non-empty string \"prompt\"",
        ),
        (json!({ "prompt": " " }), "non-empty"),
        (
            json!({ "prompt": 42 }),
            "needs a non-empty string \"prompt\"",
        ),
        (
            json!({ "prompt": "x", "base": "nope" }),
            "base branch not found: nope",
        ),
        (
            json!({ "prompt": "x", "base": "-x y" }),
            "not a valid branch name",
        ),
        (json!({ "prompt": "x", "base": 7 }), "must be a branch name"),
    ] {
        let task = bench.run(coding(payload.clone())).await;
        assert_eq!(task.status, TaskStatus::DeadLettered, "{payload}");
        assert_eq!(task.attempts, 1, "{payload}: permanent, not retried");
        assert!(error(&task).contains(expected), "{payload}: {task:#?}");
    }
    // A template whose program is not on the agent's PATH.
    let missing = CliAgentConfig {
        command: vec!["hive-no-such-cli".into(), "{prompt}".into()],
        capabilities: vec!["missing".into()],
        ..bench.config()
    };
    bench.spawn(missing).await;
    let task = bench
        .run(NewTask::new("code", json!({ "prompt": "x" })).requires(["missing"]))
        .await;
    assert_eq!(task.attempts, 1);
    assert!(error(&task).contains("hive-no-such-cli"), "{task:#?}");

    let not_repo = bench.dir.path().join("plain");
    std::fs::create_dir(&not_repo).expect("dir");
    for (config, expected) in [
        (
            CliAgentConfig::new("c", &not_repo),
            "is not a git repository",
        ),
        (
            CliAgentConfig::new("c", bench.dir.path().join("absent")),
            "is not a directory",
        ),
        (
            CliAgentConfig {
                command: Vec::new(),
                ..CliAgentConfig::new("c", &bench.repo)
            },
            "needs a program",
        ),
        (
            CliAgentConfig {
                capabilities: Vec::new(),
                ..CliAgentConfig::new("c", &bench.repo)
            },
            "capabilit",
        ),
    ] {
        match CliAgent::new(config).await {
            Err(Error::InvalidInput(m)) => assert!(m.contains(expected), "{m}"),
            other => panic!("expected invalid input about {expected:?}, got {other:?}"),
        }
    }
    bench.finish().await;
}

/// The bootstrap use case: a small DAG of coding tasks (B after A, C after
/// both) run by one agent through the queue, each in its own worktree,
/// its progress visible in the tasks' statuses.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dag_of_coding_tasks_runs_in_order_each_in_its_own_worktree() {
    let bench = Bench::new(
        r#"file=${2#write }; file=${file%% *}
case "$2" in *slow*) sleep 1 ;; esac
echo "$2" > "$file"
echo "{\"type\":\"result\",\"subtype\":\"success\",\"is_error\":false,\"result\":\"wrote $file\",\"session_id\":\"$file\"}"
"#,
    )
    .await;
    bench
        .spawn(CliAgentConfig {
            worktree_policy: WorktreePolicy::Keep,
            ..bench.config()
        })
        .await;
    let a = coding(json!({ "prompt": "write a.txt slow" }));
    let b = coding(json!({ "prompt": "write b.txt" })).depends_on([a.id()]);
    let c = coding(json!({ "prompt": "write c.txt" })).depends_on([a.id(), b.id()]);
    let ids = [a.id(), b.id(), c.id()];
    bench
        .hive
        .submit_batch(vec![a, b, c])
        .await
        .expect("submit");
    // While A runs, B and C wait for it.
    let mut seen = false;
    for _ in 0..200 {
        let a = bench.hive.queue().get(ids[0]).await.expect("get");
        if a.status.is_leased() {
            for id in &ids[1..] {
                let t = bench.hive.queue().get(*id).await.expect("get");
                assert_eq!(t.status, TaskStatus::Waiting, "{t:#?}");
            }
            seen = true;
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert!(seen, "A was never seen running");
    let mut done = Vec::new();
    for id in ids {
        done.push(bench.wait(id).await);
    }
    let mut worktrees = BTreeSet::new();
    for (task, file) in done.iter().zip(["a.txt", "b.txt", "c.txt"]) {
        let r = result(task);
        assert_eq!(r["text"], format!("wrote {file}"));
        assert_eq!(r["changed_files"], json!([file]));
        assert_eq!(r["worktree_removed"], false);
        let worktree = r["worktree"].as_str().expect("worktree");
        assert!(Path::new(worktree).join(file).exists(), "kept by policy");
        worktrees.insert(worktree.to_string());
    }
    assert_eq!(worktrees.len(), 3, "one worktree each");
    for pair in done.windows(2) {
        assert!(
            pair[0].finished_at <= pair[1].started_at,
            "ran in dependency order"
        );
    }
    bench.finish().await;
}
