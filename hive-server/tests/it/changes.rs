//! The self-modifier through `hive serve` and the `hive` CLI, on fixture
//! repositories made here (shell scripts: a function and its tests) and
//! declared in hive.toml (`[[repositories]]`), with an approver
//! (`[[approvers]]`) besides the plain token:
//!
//! - over HTTP, a critical change waits for an approval; the plain token
//!   is refused with a 403 (and the CLI prints the server's message and
//!   exits 1); the approver's token approves, the change merges with a
//!   rollback tag and the decision names the approver; a second critical
//!   change, proposed from stdin, is rejected with `hive change reject`
//!   and main does not move;
//! - the CLI proposes a correct change from a patch file, shows it through
//!   its gates to done, lists it, lists the repositories, and reverts it;
//! - a `kill -9` of the server while the sandboxed tests run: the
//!   restarted server finishes the change set, and nothing is left behind
//!   (worktrees, `hive/*` branches, processes of the killed tests).

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use reqwest::StatusCode;
use serde_json::{json, Value};

use super::binary::{free_port, hive_serve, Server};

const PLAIN: &str = "plain-token-0123456789";
const CAROL: &str = "approver-token-0123456789";

/// How long a change set gets to go through its gates on a slow machine.
const SETTLE: Duration = Duration::from_secs(120);

/// Runs git in `dir`, answering its stdout; panics with its stderr.
fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .current_dir(dir)
        .args(args)
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

fn write(dir: &Path, path: &str, text: &str) {
    let file = dir.join(path);
    std::fs::create_dir_all(file.parent().expect("a parent")).expect("mkdir");
    std::fs::write(file, text).expect("write");
}

const POLICY: &str = r#"allowed = ["src/**", "tests/**"]
critical = ["src/auth/**"]
approval_timeout_secs = 600
[test]
command = ["sh", "run-tests.sh"]
"#;

const RUN_TESTS: &str =
    "for t in tests/*.sh; do sh \"$t\" || { echo \"FAIL $t\"; exit 1; }; done\n";

/// What the slow fixture's test sleeps: a number no other process uses,
/// so its processes can be found in /proc.
const SLOW_MARKER: &str = "5.123";

/// A fixture repository on `main`, a clone to make patches in, and the
/// directory `hive serve` runs in.
struct Fixture {
    dir: tempfile::TempDir,
    repo: PathBuf,
    scratch: PathBuf,
}

impl Fixture {
    /// The fixture; `slow` adds a test that sleeps 5 s.
    fn new(slow: bool) -> Fixture {
        let dir = tempfile::tempdir().expect("tempdir");
        let repo = dir.path().join("repo");
        std::fs::create_dir_all(&repo).expect("mkdir");
        git(&repo, &["init", "-q", "-b", "main"]);
        git(&repo, &["config", "user.name", "Fixture"]);
        git(&repo, &["config", "user.email", "fixture@example.com"]);
        write(&repo, "src/add.sh", "echo $(( $1 + $2 ))\n");
        write(
            &repo,
            "tests/test_add.sh",
            "[ \"$(sh src/add.sh 2 3)\" = 5 ]\n",
        );
        if slow {
            write(
                &repo,
                "tests/test_slow.sh",
                &format!("sleep {SLOW_MARKER}\n"),
            );
        }
        write(&repo, "run-tests.sh", RUN_TESTS);
        write(&repo, "hive-policy.toml", POLICY);
        git(&repo, &["add", "-A"]);
        git(&repo, &["commit", "-q", "-m", "fixture"]);
        git(
            dir.path(),
            &["clone", "-q", repo.to_str().expect("utf-8"), "scratch"],
        );
        let scratch = dir.path().join("scratch");
        Fixture { dir, repo, scratch }
    }

    /// The patch that adds (or replaces) these files on `main`.
    fn patch(&self, files: &[(&str, &str)]) -> String {
        git(&self.scratch, &["fetch", "-q", "origin"]);
        git(&self.scratch, &["reset", "-q", "--hard", "origin/main"]);
        for (path, text) in files {
            write(&self.scratch, path, text);
        }
        git(&self.scratch, &["add", "-A"]);
        let patch = git(&self.scratch, &["diff", "--cached"]);
        git(&self.scratch, &["reset", "-q", "--hard"]);
        format!("{patch}\n")
    }

    fn head(&self) -> String {
        git(&self.repo, &["rev-parse", "main"])
    }

    /// hive.toml: the plain token, `top` (more top-level settings), carol
    /// the approver, and the fixture as repository `app`; readable by its
    /// owner only (it holds tokens).
    fn configure(&self, top: &str) {
        let toml = format!(
            "token = \"{PLAIN}\"\n{top}\n\
             [[approvers]]\nname = \"carol\"\ntoken = \"{CAROL}\"\n\n\
             [[repositories]]\nname = \"app\"\npath = \"{}\"\n",
            self.repo.display()
        );
        let file = self.dir.path().join("hive.toml");
        std::fs::write(&file, toml).expect("hive.toml");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).expect("chmod");
    }

    /// `hive serve` in the fixture's directory (its hive.toml, its
    /// hive.db), logging to `serve-<n>.log`.
    async fn serve(&self, n: u32) -> Server {
        let port = free_port();
        let log =
            std::fs::File::create(self.dir.path().join(format!("serve-{n}.log"))).expect("log");
        let mut serve = hive_serve();
        serve
            .current_dir(self.dir.path())
            .args(["--addr", &format!("127.0.0.1:{port}"), "--no-context"])
            .env("RUST_LOG", "info")
            .stdout(log.try_clone().expect("log"))
            .stderr(log);
        Server::spawn(serve, port).await
    }

    /// The end of the servers' logs, for a failure's message.
    fn logs(&self) -> String {
        let mut text = String::new();
        for n in 1..=2 {
            if let Ok(log) = std::fs::read_to_string(self.dir.path().join(format!("serve-{n}.log")))
            {
                let start = log.len().saturating_sub(4000);
                let start = (start..log.len())
                    .find(|i| log.is_char_boundary(*i))
                    .unwrap_or(log.len());
                text.push_str(&format!("--- serve-{n}.log\n{}\n", &log[start..]));
            }
        }
        text
    }

    /// Nothing of a change set is left: no worktree but the main one, no
    /// hive branch.
    fn assert_clean(&self) {
        let worktrees = git(&self.repo, &["worktree", "list", "--porcelain"]);
        assert_eq!(
            worktrees.matches("worktree ").count(),
            1,
            "worktrees left: {worktrees}"
        );
        assert_eq!(git(&self.repo, &["branch", "--list", "hive/*"]), "");
    }
}

/// One request with a bearer token; the status and the JSON body.
async fn call(
    base: &str,
    token: &str,
    method: reqwest::Method,
    path: &str,
    body: Option<Value>,
) -> (StatusCode, Value) {
    let mut req = reqwest::Client::new()
        .request(method, format!("{base}{path}"))
        .bearer_auth(token);
    if let Some(b) = body {
        req = req.json(&b);
    }
    let res = req.send().await.expect("request");
    let status = res.status();
    let text = res.text().await.expect("body");
    (status, serde_json::from_str(&text).unwrap_or(Value::Null))
}

async fn change(base: &str, id: &str) -> Value {
    let (status, c) = call(
        base,
        PLAIN,
        reqwest::Method::GET,
        &format!("/changes/{id}"),
        None,
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{c}");
    c
}

/// Waits until change set `id` is as `done` says; panics with where it is
/// and the server's log after `within`.
async fn wait_until(
    f: &Fixture,
    base: &str,
    id: &str,
    within: Duration,
    done: impl Fn(&Value) -> bool,
) -> Value {
    let until = Instant::now() + within;
    loop {
        let c = change(base, id).await;
        if done(&c) {
            return c;
        }
        assert!(
            Instant::now() < until,
            "change set {id} still {}/{}: {:#}\n{}",
            c["status"],
            c["step"],
            c["logs"],
            f.logs()
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// What one run of the CLI did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

/// `hive <args> --server <base> --token <token>`, with none of the caller's
/// `HIVE_…` settings, `stdin` on its standard input; off the runtime's
/// threads.
async fn hive(base: &str, token: &str, args: &[&str], stdin: Option<String>) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hive"));
    cmd.args(args)
        .args(["--server", base, "--token", token])
        .env_remove("HIVE_TOKEN")
        .env_remove("HIVE_SERVER")
        .stdin(if stdin.is_some() {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let out = tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("run hive");
        if let Some(text) = stdin {
            use std::io::Write;
            let mut pipe = child.stdin.take().expect("stdin");
            pipe.write_all(text.as_bytes()).expect("write stdin");
        }
        child.wait_with_output().expect("hive output")
    })
    .await
    .expect("join");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// As [`hive`] with `--json`, expecting success; stdout as JSON.
async fn hive_json(base: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let run = hive(base, PLAIN, &all, None).await;
    assert_eq!(run.code, 0, "{args:?}: {run:?}");
    serde_json::from_str(&run.stdout).unwrap_or_else(|e| panic!("not JSON ({e}): {run:?}"))
}

const AUTH: &str = "echo key\n";
const MUL: &str = "echo $(( $1 * $2 ))\n";
const MUL_TEST: &str = "[ \"$(sh src/mul.sh 2 3)\" = 6 ]\n";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_critical_change_needs_an_approvers_token_and_a_rejected_one_leaves_main() {
    let f = Fixture::new(false);
    f.configure("");
    let server = f.serve(1).await;
    let base = server.base.clone();
    let before = f.head();

    // Without a token, the change routes are closed like every other.
    let (status, _) = call(
        &base,
        "wrong-token-0123456789",
        reqwest::Method::GET,
        "/changes",
        None,
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let (status, created) = call(
        &base,
        PLAIN,
        reqwest::Method::POST,
        "/changes",
        Some(json!({
            "repository": "app",
            "title": "Add the key script",
            "source": {"kind": "patch", "patch": f.patch(&[("src/auth/k.sh", AUTH)])},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    assert_eq!(created["status"], "running");
    let waiting = wait_until(&f, &base, &id, SETTLE, |c| {
        c["status"] == "awaiting_approval" || c["status"] != "running"
    })
    .await;
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting:#}");
    assert_eq!(waiting["risk"], "critical");
    assert!(waiting["approval_deadline"].is_string(), "{waiting:#}");
    assert_eq!(f.head(), before, "nothing merges before the approval");

    // The plain token lacks the approver scope: a 403, over HTTP and from
    // the CLI (the server's message, exit code 1).
    let approve = format!("/changes/{id}/approve");
    let (status, refused) = call(
        &base,
        PLAIN,
        reqwest::Method::POST,
        &approve,
        Some(json!({"reason": "looks fine"})),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{refused}");
    assert_eq!(refused["error"]["code"], "forbidden", "{refused}");
    let run = hive(&base, PLAIN, &["change", "approve", &id], None).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("approver scope") && run.stderr.contains("403"),
        "{run:?}"
    );
    assert_eq!(change(&base, &id).await["status"], "awaiting_approval");

    // Carol's token approves: it merges, with a rollback tag at the base.
    let (status, approved) = call(
        &base,
        CAROL,
        reqwest::Method::POST,
        &approve,
        Some(json!({"reason": "reviewed the key script"})),
    )
    .await;
    assert_eq!(status, StatusCode::OK, "{approved}");
    assert_eq!(approved["decision"]["by"], "carol");
    let done = wait_until(&f, &base, &id, SETTLE, |c| {
        c["status"] != "running" && c["status"] != "awaiting_approval"
    })
    .await;
    assert_eq!(done["status"], "done", "{done:#}");
    assert_eq!(done["decision"]["by"], "carol");
    assert_eq!(done["decision"]["reason"], "reviewed the key script");
    let head = f.head();
    assert_eq!(done["merged_commit"].as_str(), Some(head.as_str()));
    assert_ne!(head, before);
    let tag = format!("hive/rollback/{id}");
    assert_eq!(done["rollback_tag"].as_str(), Some(tag.as_str()));
    assert_eq!(git(&f.repo, &["tag", "--list", &tag]), tag);
    assert_eq!(
        git(&f.repo, &["rev-parse", &format!("{tag}^{{commit}}")]),
        before
    );
    assert_eq!(git(&f.repo, &["show", "main:src/auth/k.sh"]), "echo key");

    // A second critical change, its patch from stdin, rejected from the
    // CLI: main stays where it is.
    let patch = f.patch(&[("src/auth/other.sh", "echo other\n")]);
    let run = hive(
        &base,
        PLAIN,
        &[
            "change",
            "propose",
            "--repository",
            "app",
            "--title",
            "Another key script",
            "--patch",
            "-",
        ],
        Some(patch),
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let second = run.stdout.trim().to_string();
    assert!(uuid::Uuid::parse_str(&second).is_ok(), "{run:?}");
    let waiting = wait_until(&f, &base, &second, SETTLE, |c| c["status"] != "running").await;
    assert_eq!(waiting["status"], "awaiting_approval", "{waiting:#}");
    let run = hive(
        &base,
        PLAIN,
        &[
            "change", "reject", &second, "--reason", "not now", "--by", "dave",
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(run.stdout.trim(), format!("change set {second} rejected"));
    let rejected = change(&base, &second).await;
    assert_eq!(rejected["status"], "rejected", "{rejected:#}");
    assert_eq!(rejected["decision"]["by"], "dave");
    assert!(rejected["merged_commit"].is_null());
    assert_eq!(f.head(), head, "a rejected change leaves main");
    // Rejecting it again is a conflict, which the CLI reports (exit 1).
    let run = hive(&base, PLAIN, &["change", "reject", &second], None).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("409"), "{run:?}");
    f.assert_clean();
    drop(server);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_proposes_shows_lists_and_reverts_a_change() {
    let f = Fixture::new(false);
    f.configure("");
    let server = f.serve(1).await;
    let base = server.base.clone();
    let before = f.head();

    let run = hive(&base, PLAIN, &["repositories"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let row = run
        .stdout
        .lines()
        .find(|l| l.starts_with("app "))
        .unwrap_or_else(|| panic!("app is listed: {run:?}"));
    assert!(
        row.contains("main") && row.contains("src/**,tests/**"),
        "{row}"
    );
    let repos = hive_json(&base, &["repositories"]).await;
    assert_eq!(repos[0]["name"], "app", "{repos}");
    assert_eq!(repos[0]["policy"]["critical"], json!(["src/auth/**"]));

    let file = f.dir.path().join("mul.patch");
    std::fs::write(
        &file,
        f.patch(&[("src/mul.sh", MUL), ("tests/test_mul.sh", MUL_TEST)]),
    )
    .expect("patch file");
    let run = hive(
        &base,
        PLAIN,
        &[
            "change",
            "propose",
            "--repository",
            "app",
            "--title",
            "Add mul",
            "--description",
            "Multiplies two numbers.",
            "--patch",
            file.to_str().expect("utf-8"),
        ],
        None,
    )
    .await;
    assert_eq!(run.code, 0, "{run:?}");
    let id = run.stdout.trim().to_string();
    assert!(uuid::Uuid::parse_str(&id).is_ok(), "{run:?}");

    // `hive change show` follows it through its gates to done.
    let until = Instant::now() + SETTLE;
    let shown = loop {
        let run = hive(&base, PLAIN, &["change", "show", &id], None).await;
        assert_eq!(run.code, 0, "{run:?}");
        if run.stdout.contains("\nstatus      done\n") {
            break run.stdout;
        }
        assert!(
            !run.stdout.contains("\nstatus      rejected\n"),
            "{}\n{}",
            run.stdout,
            f.logs()
        );
        assert!(
            Instant::now() < until,
            "not done: {}\n{}",
            run.stdout,
            f.logs()
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    };
    let head = f.head();
    for want in [
        format!("change set  {id}"),
        "repository  app (into main)".to_string(),
        "description Multiplies two numbers.".to_string(),
        "risk        normal".to_string(),
        format!("merged      {head}"),
        format!("rollback    hive/rollback/{id}"),
        "static      passed, 2 lines; added tests: tests/test_mul.sh".to_string(),
        "diff: 2 files, +2 -0".to_string(),
        "tests (attempt 1) passed: the tests pass; the added ones fail on the base".to_string(),
        // A step's output, indented under it.
        "    FAIL tests/test_mul.sh".to_string(),
        "merge (attempt 1) passed".to_string(),
    ] {
        assert!(shown.contains(&want), "{want:?} in\n{shown}");
    }
    assert!(
        shown
            .lines()
            .any(|l| l.starts_with("src/mul.sh") && l.contains("added")),
        "{shown}"
    );
    assert_eq!(git(&f.repo, &["show", "main:src/mul.sh"]), MUL.trim());

    let listed = hive_json(&base, &["change", "list", "--repository", "app"]).await;
    let mine = listed
        .as_array()
        .and_then(|a| a.iter().find(|c| c["id"] == id.as_str()))
        .unwrap_or_else(|| panic!("{id} in {listed}"));
    assert_eq!(mine["status"], "done");
    let run = hive(&base, PLAIN, &["change", "list", "--status", "done"], None).await;
    assert_eq!(run.code, 0, "{run:?}");
    let line = run
        .stdout
        .lines()
        .find(|l| l.starts_with(&id))
        .unwrap_or_else(|| panic!("{id} in {run:?}"));
    for cell in ["done", "app", "Add mul", "normal", "+2/-0"] {
        assert!(line.contains(cell), "{cell:?} in {line:?}");
    }
    let none = hive(
        &base,
        PLAIN,
        &["change", "list", "--status", "rejected"],
        None,
    )
    .await;
    assert_eq!(none.stdout.trim(), "no change sets", "{none:?}");
    let bad = hive(&base, PLAIN, &["change", "list", "--status", "maybe"], None).await;
    assert_eq!(bad.code, 1, "{bad:?}");

    // Reverted by a new commit on main: history is kept.
    let reverted = hive_json(
        &base,
        &[
            "change",
            "revert",
            &id,
            "--by",
            "bob",
            "--reason",
            "not needed",
        ],
    )
    .await;
    assert_eq!(reverted["status"], "reverted", "{reverted:#}");
    let revert = f.head();
    assert_eq!(reverted["revert_commit"].as_str(), Some(revert.as_str()));
    assert_eq!(git(&f.repo, &["rev-parse", "main~1"]), head);
    assert_eq!(git(&f.repo, &["rev-parse", "main~2"]), before);
    assert_eq!(
        git(&f.repo, &["ls-tree", "--name-only", "main", "src/"]),
        "src/add.sh"
    );
    f.assert_clean();
    drop(server);
}

/// The processes whose command line or working directory names `needle`
/// (a path or the slow test's marker): pid and command line.
fn processes_naming(needles: &[&str]) -> Vec<(u32, String)> {
    let me = std::process::id();
    let mut found = Vec::new();
    let Ok(entries) = std::fs::read_dir("/proc") else {
        return found;
    };
    for entry in entries.flatten() {
        let Some(pid) = entry
            .file_name()
            .to_str()
            .and_then(|n| n.parse::<u32>().ok())
        else {
            continue;
        };
        if pid == me {
            continue;
        }
        let cmdline = std::fs::read(entry.path().join("cmdline"))
            .map(|b| String::from_utf8_lossy(&b).replace('\0', " "))
            .unwrap_or_default();
        let cwd = std::fs::read_link(entry.path().join("cwd"))
            .map(|p| p.display().to_string())
            .unwrap_or_default();
        if needles
            .iter()
            .any(|n| cmdline.contains(n) || cwd.contains(n))
        {
            found.push((pid, format!("{cmdline} (in {cwd})")));
        }
    }
    found
}

/// Whether process `pid` runs (exists and is not a zombie).
fn alive(pid: u32) -> bool {
    std::fs::read_to_string(format!("/proc/{pid}/stat")).is_ok_and(|stat| {
        // The state follows the command name's closing parenthesis.
        stat.rsplit_once(')')
            .and_then(|(_, rest)| rest.split_whitespace().next())
            .is_some_and(|state| state != "Z" && state != "X")
    })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_kill_9_during_the_sandboxed_tests_leaves_nothing_behind() {
    let f = Fixture::new(true);
    // Heartbeats every second: the killed server's self-modifier agent is
    // declared dead after 4 s and its lease on the tests step ends.
    f.configure("heartbeat_secs = 1\nlease_secs = 5\n");
    let server = f.serve(1).await;
    let base = server.base.clone();
    let before = f.head();
    let repo = f.repo.display().to_string();
    let marker = format!("sleep {SLOW_MARKER}");

    let (status, created) = call(
        &base,
        PLAIN,
        reqwest::Method::POST,
        "/changes",
        Some(json!({
            "repository": "app",
            "title": "Add sub",
            "source": {"kind": "patch", "patch": f.patch(&[("src/sub.sh", "echo $(( $1 - $2 ))\n")])},
        })),
    )
    .await;
    assert_eq!(status, StatusCode::CREATED, "{created}");
    let id = created["id"].as_str().expect("id").to_string();
    let testing = wait_until(&f, &base, &id, SETTLE, |c| {
        c["step"] == "tests" || c["status"] != "running"
    })
    .await;
    assert_eq!(
        (testing["status"].as_str(), testing["step"].as_str()),
        (Some("running"), Some("tests")),
        "{testing:#}"
    );
    // The sandboxed tests are running once their sleep is there.
    let until = Instant::now() + Duration::from_secs(30);
    while processes_naming(&[&marker]).is_empty() {
        assert!(
            Instant::now() < until,
            "the slow test never started: {:#}\n{}",
            change(&base, &id).await,
            f.logs()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    tokio::time::sleep(Duration::from_secs(1)).await;
    let mid = change(&base, &id).await;
    assert_eq!(mid["step"], "tests", "killed during the tests: {mid:#}");

    // What the killed server's tests run as: the sandbox's processes.
    let running: Vec<u32> = processes_naming(&[&marker, &repo])
        .into_iter()
        .map(|(pid, _)| pid)
        .collect();
    let pid = server.pid().to_string();
    let killed = Command::new("kill")
        .args(["-KILL", &pid])
        .status()
        .expect("kill");
    assert!(killed.success());
    drop(server);
    // They die with the server (long before the sleep would end): the
    // sandbox's `unshare` gets SIGKILL when its parent dies, and takes its
    // PID namespace with it.
    let until = Instant::now() + Duration::from_secs(2);
    loop {
        let alive: Vec<u32> = running.iter().copied().filter(|p| alive(*p)).collect();
        if alive.is_empty() {
            break;
        }
        assert!(
            Instant::now() < until,
            "the killed server's tests live on: {:#?}",
            processes_naming(&[&marker, &repo])
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // The same command on the same file.
    let server = f.serve(2).await;
    let base = server.base.clone();
    let ended = wait_until(&f, &base, &id, Duration::from_secs(90), |c| {
        ["done", "rejected"].contains(&c["status"].as_str().unwrap_or_default())
    })
    .await;
    if ended["status"] == "done" {
        assert_eq!(ended["merged_commit"].as_str(), Some(f.head().as_str()));
        assert_eq!(
            git(&f.repo, &["show", "main:src/sub.sh"]),
            "echo $(( $1 - $2 ))"
        );
    } else {
        assert_eq!(f.head(), before, "{ended:#}");
    }
    let tests: Vec<&Value> = ended["logs"]
        .as_array()
        .expect("logs")
        .iter()
        .filter(|l| l["step"] == "tests")
        .collect();
    assert!(!tests.is_empty(), "the tests ran again: {ended:#}");

    f.assert_clean();
    // No process of the killed tests (nor of the re-run) is left: give the
    // kernel a moment to reap what --kill-child took down.
    let until = Instant::now() + Duration::from_secs(10);
    loop {
        let left = processes_naming(&[&marker, &repo]);
        if left.is_empty() {
            break;
        }
        assert!(
            Instant::now() < until,
            "processes left behind: {left:#?}\n{}",
            f.logs()
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    drop(server);
}
