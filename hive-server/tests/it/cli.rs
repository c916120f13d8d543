//! The `hive` client commands run as a user runs them: the real binary
//! against a live `hive serve`. `task submit --wait` shows the server's
//! reason while the task waits and exits with the code of how it ended;
//! every command group answers tables by default and the server's JSON
//! with `--json`; a closed pipe, a URL without a scheme and a server that
//! is not there each get a clean answer.

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::{json, Value};

use super::binary::{free_port, hive_serve, Server};

/// What one run of the CLI did.
#[derive(Debug)]
struct Run {
    code: i32,
    stdout: String,
    stderr: String,
}

impl Run {
    /// Stdout as JSON (the run had `--json`).
    fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }
}

/// `hive <args> --server <server>`, with none of the caller's `HIVE_…`
/// settings.
fn hive_command(server: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hive"));
    cmd.args(args).args(["--server", server]);
    for var in ["HIVE_TOKEN", "HIVE_SERVER"] {
        cmd.env_remove(var);
    }
    cmd
}

/// Runs the CLI to its end (off the async runtime's threads).
async fn hive(server: &str, args: &[&str]) -> Run {
    let mut cmd = hive_command(server, args);
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run hive"))
        .await
        .expect("join");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// Runs the CLI and expects success; answers stdout as JSON.
async fn hive_json(server: &str, args: &[&str]) -> Value {
    let mut all = args.to_vec();
    all.push("--json");
    let run = hive(server, &all).await;
    assert_eq!(run.code, 0, "{args:?}: {run:?}");
    run.json()
}

async fn embedded_server(dir: &tempfile::TempDir) -> Server {
    let db = dir.path().join("hive.db").display().to_string();
    Server::start_with(&["--db", &db], &[]).await
}

/// A `hive` run in the background whose stderr arrives line by line.
struct Background {
    child: std::process::Child,
    lines: tokio::sync::mpsc::UnboundedReceiver<String>,
    seen: Vec<String>,
}

impl Background {
    fn start(server: &str, args: &[&str]) -> Background {
        let mut cmd = hive_command(server, args);
        cmd.stdout(Stdio::piped()).stderr(Stdio::piped());
        let mut child = cmd.spawn().expect("start hive");
        let stderr = child.stderr.take().expect("stderr");
        let (tx, lines) = tokio::sync::mpsc::unbounded_channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Background {
            child,
            lines,
            seen: Vec::new(),
        }
    }

    /// Waits (up to 30 s) for a stderr line containing `text`.
    async fn expect_line(&mut self, text: &str) -> String {
        let found = tokio::time::timeout(Duration::from_secs(30), async {
            while let Some(line) = self.lines.recv().await {
                self.seen.push(line.clone());
                if line.contains(text) {
                    return Some(line);
                }
            }
            None
        })
        .await;
        match found {
            Ok(Some(line)) => line,
            _ => panic!("no stderr line with {text:?}; saw {:?}", self.seen),
        }
    }

    /// Waits for the exit; answers (code, stdout, all of stderr seen).
    async fn finish(mut self) -> (i32, String, Vec<String>) {
        let mut child = self.child;
        let out = tokio::task::spawn_blocking(move || {
            let mut stdout = String::new();
            if let Some(mut s) = child.stdout.take() {
                let _ = std::io::Read::read_to_string(&mut s, &mut stdout);
            }
            (child.wait().expect("wait"), stdout)
        })
        .await
        .expect("join");
        while let Some(line) = self.lines.recv().await {
            self.seen.push(line);
        }
        (out.0.code().unwrap_or(-1), out.1, self.seen)
    }
}

/// The value of `label` in a task printed for people (`label   value`).
fn field<'a>(text: &'a str, label: &str) -> &'a str {
    text.lines()
        .find_map(|l| l.strip_prefix(label).filter(|rest| rest.starts_with("  ")))
        .map(str::trim)
        .unwrap_or_else(|| panic!("no {label:?} line in {text}"))
}

/// POSTs `body` to the server; the answer's JSON.
async fn post(base: &str, path: &str, body: Value) -> Value {
    let res = reqwest::Client::new()
        .post(format!("{base}{path}"))
        .json(&body)
        .send()
        .await
        .expect("post");
    assert!(res.status().is_success(), "{path}: {}", res.status());
    res.json().await.expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn submit_wait_shows_why_it_waits_and_exits_4_when_dead_lettered() {
    let dir = tempfile::tempdir().expect("dir");
    let server = embedded_server(&dir).await;
    let base = server.base.clone();
    let mut wait = Background::start(
        &base,
        &[
            "task",
            "submit",
            "flaky",
            "--requires",
            "fails",
            "--max-attempts",
            "1",
            "--wait",
            "--timeout",
            "60s",
            "--json",
        ],
    );
    let submitted = wait.expect_line(": submitted").await;
    let id = submitted.split(':').next().expect("id").trim().to_string();
    let reason = wait.expect_line("waiting:").await;
    assert!(
        reason.contains("no healthy agent has every capability it requires: fails"),
        "{reason}"
    );

    // An agent that can take it arrives: the new reason is printed, then
    // the agent fails its one attempt.
    let agent = post(
        &base,
        "/agents",
        json!({ "name": "failer", "capabilities": ["fails"] }),
    )
    .await;
    let agent_id = agent["id"].as_str().expect("agent id").to_string();
    let changed = wait.expect_line("waiting: 1 capable agent(s)").await;
    assert!(changed.starts_with(&id), "{changed}");
    let claimed = post(
        &base,
        &format!("/agents/{agent_id}/claim"),
        json!({ "wait_ms": 10_000 }),
    )
    .await;
    let lease = &claimed["leases"][0];
    assert_eq!(lease["task"]["id"], id.as_str());
    post(
        &base,
        &format!("/tasks/{id}/fail"),
        json!({ "token": lease["token"], "error": "it broke" }),
    )
    .await;
    let (code, stdout, stderr) = wait.finish().await;
    assert_eq!(code, 4, "dead-lettered is exit code 4: {stderr:?}");
    let task: Value = serde_json::from_str(&stdout).expect("the final task as JSON");
    assert_eq!(task["status"], "dead_lettered");
    assert!(
        stderr
            .iter()
            .any(|l| l.contains("dead-lettered after 1 attempt(s): it broke")),
        "{stderr:?}"
    );
    assert!(server.terminate().is_some_and(|s| s.success()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wait_exit_codes_say_timed_out_cancelled_and_failed() {
    let dir = tempfile::tempdir().expect("dir");
    let server = embedded_server(&dir).await;
    let base = server.base.clone();

    // Nobody can run it: --timeout gives up with 6, naming the reason; a
    // task with no requirements reads as words, not "()".
    let run = hive(
        &base,
        &["task", "submit", "lonely", "--wait", "--timeout", "1s"],
    )
    .await;
    assert_eq!(run.code, 6, "{run:?}");
    assert!(
        run.stderr
            .contains("gave up after 1s; the task is still pending")
            && run.stderr.contains("it requires no capabilities")
            && !run.stderr.contains("()"),
        "{}",
        run.stderr
    );
    assert_eq!(field(&run.stdout, "requires"), "no capabilities");

    // Cancelled while waited for: 5.
    let first = hive_json(&base, &["task", "submit", "later", "--delay", "1h"]).await;
    let first_id = first["task"]["id"].as_str().expect("id").to_string();
    let dependent = hive_json(
        &base,
        &["task", "submit", "after", "--depends-on", &first_id],
    )
    .await;
    let dependent_id = dependent["task"]["id"].as_str().expect("id").to_string();
    assert_eq!(dependent["task"]["dependencies"], json!([first_id]));
    let mut waiting_first = Background::start(&base, &["task", "wait", &first_id]);
    waiting_first.expect_line("waiting: delayed").await;
    let mut waiting_dependent = Background::start(&base, &["task", "wait", &dependent_id]);
    waiting_dependent
        .expect_line("waiting: waiting for its dependencies")
        .await;
    let cancelled = hive_json(&base, &["task", "cancel", &first_id]).await;
    assert_eq!(cancelled["status"], "cancelled");
    let (code, _, stderr) = waiting_first.finish().await;
    assert_eq!(code, 5, "cancelled is exit code 5: {stderr:?}");
    // Its dependent can never run: failed, 3.
    let (code, _, stderr) = waiting_dependent.finish().await;
    assert_eq!(code, 3, "failed is exit code 3: {stderr:?}");
    assert!(
        stderr.iter().any(|l| l.contains("the task failed")),
        "{stderr:?}"
    );
    assert!(server.terminate().is_some_and(|s| s.success()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_list_into_a_closed_pipe_exits_cleanly() {
    let dir = tempfile::tempdir().expect("dir");
    let server = embedded_server(&dir).await;
    let base = server.base.clone();
    // Enough rows that the table is larger than a pipe's buffer, so the
    // CLI is still writing when `head` has gone.
    let client = reqwest::Client::new();
    for chunk in 0..10 {
        let submits = (0..100).map(|i| {
            client
                .post(format!("{base}/tasks"))
                .json(&json!({ "type": format!("bulk-{chunk}-{i}") }))
                .send()
        });
        for r in futures::future::join_all(submits).await {
            assert!(r.expect("submit").status().is_success());
        }
    }
    let script =
        r#"{ "$0" task list --limit 1000 --server "$1"; echo "hive exited $?" >&2; } | head -1"#;
    let out = tokio::task::spawn_blocking(move || {
        Command::new("sh")
            .args(["-c", script, env!("CARGO_BIN_EXE_hive"), &base])
            .env_remove("HIVE_SERVER")
            .output()
            .expect("sh")
    })
    .await
    .expect("join");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stdout.starts_with("ID "), "the table's header: {stdout}");
    assert_eq!(stdout.lines().count(), 1);
    assert!(stderr.contains("hive exited 0"), "{stderr}");
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(server.terminate().is_some_and(|s| s.success()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn server_urls_without_a_scheme_and_unreachable_servers_get_clear_answers() {
    let dir = tempfile::tempdir().expect("dir");
    let server = embedded_server(&dir).await;
    // Without a scheme, http:// is meant.
    let bare = server.base.trim_start_matches("http://").to_string();
    let status = hive_json(&bare, &["status"]).await;
    assert_eq!(status["health"]["status"], "ok");
    let run = hive(&bare, &["status"]).await;
    assert!(
        run.code == 0 && run.stdout.contains(&format!("server {}: ok", server.base)),
        "{run:?}"
    );
    // Another scheme is refused with a message.
    let run = hive("ftp://127.0.0.1:1", &["status"]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr.contains("the server speaks http:// or https://"),
        "{}",
        run.stderr
    );
    assert!(server.terminate().is_some_and(|s| s.success()));
    // Nobody listens there.
    let nowhere = format!("127.0.0.1:{}", free_port());
    let run = hive(&nowhere, &["task", "list"]).await;
    assert_eq!(run.code, 1);
    assert!(
        run.stderr
            .contains(&format!("is `hive serve` running at http://{nowhere}?")),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("panicked"), "{}", run.stderr);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_takes_a_host_name_and_its_help_lists_only_serving() {
    let dir = tempfile::tempdir().expect("dir");
    let port = free_port();
    let mut serve = hive_serve();
    serve
        .args(["--addr", &format!("localhost:{port}")])
        .arg("--db")
        .arg(dir.path().join("hive.db"));
    let server = Server::spawn(serve, port).await;
    assert!(server.terminate().is_some_and(|s| s.success()));

    let help = hive("http://unused", &[]).await;
    assert_eq!(help.code, 2, "no command is a usage error");
    let serve_help = Command::new(env!("CARGO_BIN_EXE_hive"))
        .args(["serve", "--help"])
        .output()
        .expect("hive serve --help");
    let text = String::from_utf8_lossy(&serve_help.stdout);
    assert!(serve_help.status.success());
    assert!(
        text.contains("--addr") && text.contains("--token"),
        "{text}"
    );
    assert!(
        !text.contains("--server") && !text.contains("--json"),
        "{text}"
    );
    let refused = Command::new(env!("CARGO_BIN_EXE_hive"))
        .args(["serve", "--server", "http://x"])
        .output()
        .expect("hive serve --server");
    assert_eq!(refused.status.code(), Some(2), "serve has no --server");
    let submit_help = Command::new(env!("CARGO_BIN_EXE_hive"))
        .args(["task", "submit", "--help"])
        .output()
        .expect("hive task submit --help");
    let text = String::from_utf8_lossy(&submit_help.stdout);
    assert!(
        text.contains("4 dead-lettered") && text.contains("6 --timeout ran out"),
        "the exit codes are in --help: {text}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn task_commands_cover_the_api() {
    let dir = tempfile::tempdir().expect("dir");
    let server = embedded_server(&dir).await;
    let base = server.base.clone();
    let created = hive_json(
        &base,
        &[
            "task",
            "submit",
            "report",
            "--payload",
            r#"{"n": 7}"#,
            "--requires",
            "llm,web",
            "--priority",
            "2",
            "--max-attempts",
            "5",
            "--attempt-timeout",
            "90s",
            "--delay",
            "1h",
            "--idempotency-key",
            "report-7",
        ],
    )
    .await;
    let task = &created["task"];
    let id = task["id"].as_str().expect("id").to_string();
    assert_eq!(
        (
            &task["capabilities"],
            &task["priority"],
            &task["max_attempts"],
            &task["timeout"],
            &task["status"],
            &task["idempotency_key"]
        ),
        (
            &json!(["llm", "web"]),
            &json!(2),
            &json!(5),
            &json!(90_000),
            &json!("delayed"),
            &json!("report-7")
        )
    );
    // The same key answers the first task.
    let again = hive_json(
        &base,
        &["task", "submit", "report", "--idempotency-key", "report-7"],
    )
    .await;
    assert_eq!(
        (&again["deduplicated"], &again["task"]["id"]),
        (&json!(true), &json!(id))
    );
    let run = hive(&base, &["task", "submit", "x", "--payload", "{oops"]).await;
    assert!(
        run.code == 1 && run.stderr.contains("--payload is not JSON"),
        "{run:?}"
    );
    let run = hive(&base, &["task", "submit", "x", "--delay", "soon"]).await;
    assert!(
        run.code == 2 && run.stderr.contains("not a duration"),
        "{run:?}"
    );

    // get, in both forms: --json is exactly the server's JSON.
    let got = hive_json(&base, &["task", "get", &id]).await;
    let from_server: Value = reqwest::get(format!("{base}/tasks/{id}"))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(got, from_server);
    let run = hive(&base, &["task", "get", &id]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert_eq!(field(&run.stdout, "requires"), "llm,web");
    assert_eq!(field(&run.stdout, "idempotency key"), "report-7");
    let why = hive_json(&base, &["task", "why", &id]).await;
    assert_eq!(why["reason"], "delayed until its run time");
    let run = hive(&base, &["task", "why", &id]).await;
    assert_eq!(run.stdout.trim(), "delayed until its run time");

    // list: pages with --after, newest first on request.
    let mut ids = vec![id.clone()];
    for i in 0..4 {
        let t = hive_json(&base, &["task", "submit", &format!("t{i}")]).await;
        ids.push(t["task"]["id"].as_str().expect("id").to_string());
    }
    let listed = |page: &Value| -> Vec<String> {
        page["tasks"]
            .as_array()
            .expect("tasks")
            .iter()
            .map(|t| t["id"].as_str().expect("id").to_string())
            .collect()
    };
    let first = hive_json(&base, &["task", "list", "--limit", "3"]).await;
    assert_eq!(listed(&first), ids[..3]);
    let next = first["next"].as_str().expect("next").to_string();
    let second = hive_json(&base, &["task", "list", "--limit", "3", "--after", &next]).await;
    assert_eq!(listed(&second), ids[3..]);
    let newest = hive_json(&base, &["task", "list", "--newest-first", "--limit", "2"]).await;
    assert_eq!(listed(&newest), vec![ids[4].clone(), ids[3].clone()]);
    let after = newest["next"].as_str().expect("next").to_string();
    let older = hive_json(
        &base,
        &["task", "list", "--newest-first", "--after", &after],
    )
    .await;
    assert_eq!(
        listed(&older),
        vec![ids[2].clone(), ids[1].clone(), ids[0].clone()]
    );
    let bad = reqwest::get(format!("{base}/tasks?order=sideways"))
        .await
        .expect("get");
    assert_eq!(bad.status(), reqwest::StatusCode::BAD_REQUEST);
    let table = hive(&base, &["task", "list", "--status", "delayed"]).await;
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert!(
        lines.len() == 2
            && lines[0].starts_with("ID")
            && lines[1].contains(&id)
            && lines[1].contains("delayed"),
        "{table:?}"
    );

    // The tasks without requirements go, so the agent below can claim
    // only the one meant for it.
    for other in &ids[1..] {
        let cancelled = hive_json(&base, &["task", "cancel", other]).await;
        assert_eq!(cancelled["status"], "cancelled");
    }

    // Dead letters: one task, dead-lettered by a failing remote agent.
    let doomed = hive_json(
        &base,
        &[
            "task",
            "submit",
            "doomed",
            "--requires",
            "dooms",
            "--max-attempts",
            "1",
        ],
    )
    .await;
    let doomed_id = doomed["task"]["id"].as_str().expect("id").to_string();
    let agent = post(
        &base,
        "/agents",
        json!({ "name": "doomer", "capabilities": ["dooms"] }),
    )
    .await;
    let agent_id = agent["id"].as_str().expect("id").to_string();
    let claimed = post(
        &base,
        &format!("/agents/{agent_id}/claim"),
        json!({ "wait_ms": 10_000 }),
    )
    .await;
    let lease = &claimed["leases"][0];
    assert_eq!(lease["task"]["id"], doomed_id.as_str());
    post(
        &base,
        &format!("/tasks/{doomed_id}/fail"),
        json!({ "token": lease["token"], "error": "boom" }),
    )
    .await;
    let dead = hive_json(&base, &["dead-letters", "list"]).await;
    assert_eq!(dead[0]["id"], doomed_id.as_str());
    let run = hive(&base, &["dead-letters", "list"]).await;
    assert!(
        run.stdout.contains(&doomed_id) && run.stdout.contains("boom"),
        "{run:?}"
    );
    let retried = hive_json(&base, &["task", "retry", &doomed_id]).await;
    assert_eq!(retried["status"], "pending");
    let run = hive(&base, &["dead-letters", "retry", &doomed_id]).await;
    assert!(
        run.code == 1 && run.stderr.contains("(409"),
        "retrying a pending task is a conflict: {run:?}"
    );
    let run = hive(&base, &["dead-letters", "purge"]).await;
    assert_eq!(run.code, 2, "purge needs ids or --all: {run:?}");
    let purged = hive_json(&base, &["dead-letters", "purge", "--all"]).await;
    assert_eq!(purged["purged"], 0);

    // Agents: list, get, terminate.
    let agents = hive_json(&base, &["agent", "list", "--capability", "dooms"]).await;
    assert_eq!(agents[0]["name"], "doomer");
    let run = hive(&base, &["agent", "list"]).await;
    assert!(run.stdout.contains("doomer"), "{run:?}");
    let one = hive_json(&base, &["agent", "get", &agent_id]).await;
    assert_eq!(one["status"], "healthy");
    let stopped = hive_json(&base, &["agent", "terminate", &agent_id]).await;
    assert_eq!(stopped["status"], "stopped");

    let cancelled = hive_json(&base, &["task", "cancel", &id]).await;
    assert_eq!(cancelled["status"], "cancelled");
    let run = hive(&base, &["task", "get", "not-an-id"]).await;
    assert!(
        run.code == 1 && run.stderr.contains("not a valid task id"),
        "{run:?}"
    );
    assert!(server.terminate().is_some_and(|s| s.success()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_messages_and_events_from_the_cli() {
    let dir = tempfile::tempdir().expect("dir");
    let server = embedded_server(&dir).await;
    let base = server.base.clone();

    // Sessions: create, list, show, close.
    let session = hive_json(
        &base,
        &[
            "session",
            "create",
            "standup",
            "--agents",
            "ana,bo",
            "--state",
            r#"{"day": 1}"#,
        ],
    )
    .await;
    let sid = session["id"].as_str().expect("id").to_string();
    assert_eq!(
        (&session["agents"], &session["state"]),
        (&json!(["ana", "bo"]), &json!({ "day": 1 }))
    );
    let listed = hive_json(&base, &["session", "list", "--status", "open"]).await;
    assert_eq!(listed[0]["id"], sid.as_str());
    let shown = hive_json(&base, &["session", "show", &sid]).await;
    assert_eq!(shown["session"]["name"], "standup");
    let run = hive(&base, &["session", "show", &sid]).await;
    assert!(
        run.stdout.contains("standup") && run.stdout.contains("conversation (0 entries)"),
        "{run:?}"
    );
    let closed = hive_json(&base, &["session", "close", &sid]).await;
    assert_eq!(closed["status"], "closed");

    // Messages: publish to a topic, read it back.
    let published = hive_json(
        &base,
        &[
            "message",
            "publish",
            "news.bees",
            "--kind",
            "note",
            "--payload",
            r#"{"buzz": true}"#,
            "--from",
            "ana",
        ],
    )
    .await;
    assert_eq!(published["topic"], "news.bees");
    let read = hive_json(&base, &["message", "read", "news.bees"]).await;
    assert_eq!(read[0]["message"]["payload"], json!({ "buzz": true }));
    let run = hive(&base, &["message", "read", "news.bees"]).await;
    assert!(
        run.stdout.contains("note") && run.stdout.contains(r#"{"buzz":true}"#),
        "{run:?}"
    );
    let run = hive(&base, &["message", "publish", "--kind", "x"]).await;
    assert_eq!(run.code, 2, "a topic or --to is needed: {run:?}");

    // Events: read what happened, then follow new ones.
    hive_json(&base, &["task", "submit", "seen"]).await;
    let run = hive(&base, &["events", "--topics", "task"]).await;
    assert!(
        run.code == 0 && run.stdout.contains("task.submitted"),
        "{run:?}"
    );
    let mut follow =
        Background::start(&base, &["events", "--follow", "--json", "--topics", "task"]);
    let stdout = follow.child.stdout.take().expect("stdout");
    let (tx, mut lines) = tokio::sync::mpsc::unbounded_channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    // Following starts at the newest event: only what comes after shows.
    // Submit until the follower (still starting up) prints one.
    let mut fresh_ids = Vec::new();
    let line = loop {
        let fresh = hive_json(&base, &["task", "submit", "fresh"]).await;
        fresh_ids.push(fresh["task"]["id"].clone());
        match tokio::time::timeout(Duration::from_millis(1500), lines.recv()).await {
            Ok(line) => break line.expect("a line"),
            Err(_) => assert!(fresh_ids.len() < 20, "no event followed"),
        }
    };
    let event: Value = serde_json::from_str(&line).expect("one event per line");
    assert_eq!(event["kind"], "task.submitted");
    assert!(
        fresh_ids.contains(&event["subject"]),
        "only events after the start: {event}"
    );
    let _ = follow.child.kill();
    let _ = follow.child.wait();
    assert!(server.terminate().is_some_and(|s| s.success()));
}

#[tokio::test]
async fn metrics_shows_the_servers_window_as_a_table_and_as_json() {
    let dir = tempfile::tempdir().expect("dir");
    let server = embedded_server(&dir).await;
    let base = server.base.clone();
    post(&base, "/tasks", json!({ "type": "count", "payload": {} })).await;
    // The server's follower reads the feed in the background.
    let mut page = Value::Null;
    for _ in 0..100 {
        page = hive_json(&base, &["metrics"]).await;
        if page["intervals"]
            .as_array()
            .and_then(|s| s.last())
            .is_some_and(|s| s["submitted"] == 1)
        {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let last = page["intervals"]
        .as_array()
        .and_then(|s| s.last())
        .expect("a sample");
    assert_eq!(
        (last["submitted"].clone(), last["depth"]["pending"].clone()),
        (json!(1), json!(1)),
        "{page}"
    );
    let run = hive(&base, &["metrics", "--last", "1"]).await;
    assert_eq!(run.code, 0, "{run:?}");
    assert!(
        run.stdout.contains("SUBMITTED") && run.stdout.contains("(so far)"),
        "{run:?}"
    );
    assert!(run.stdout.contains("no model spend recorded"), "{run:?}");
}
