//! The `hive` binary end to end: `hive serve` on a free port answers over
//! real HTTP, keeps what it was given in its embedded file, and stops
//! cleanly (exit 0) on SIGTERM; it reads `./hive.toml` below the
//! environment, below flags.

use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::{json, Value};

/// A port nobody listens on right now.
pub(super) fn free_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("addr").port()
}

pub(super) struct Server {
    child: Child,
    pub(super) base: String,
}

impl Server {
    async fn start(db: &std::path::Path) -> Server {
        let db = db.display().to_string();
        Server::start_with(&["--db", &db], &[]).await
    }

    /// `hive serve` on a free port with `args` and `env` (the caller's
    /// `HIVE_…` settings removed first), once it answers `/health`.
    pub(super) async fn start_with(args: &[&str], env: &[(&str, &str)]) -> Server {
        let port = free_port();
        let mut serve = hive_serve();
        serve
            .args(["--addr", &format!("127.0.0.1:{port}")])
            .args(args)
            .envs(env.iter().copied());
        Server::spawn(serve, port).await
    }

    /// Runs `serve` and waits until it answers on `port`.
    pub(super) async fn spawn(mut serve: Command, port: u16) -> Server {
        let child = serve.spawn().expect("start hive serve");
        let server = Server {
            child,
            base: format!("http://127.0.0.1:{port}"),
        };
        let until = Instant::now() + Duration::from_secs(60);
        while Instant::now() < until {
            if let Ok(r) = reqwest::get(format!("{}/health", server.base)).await {
                if r.status().is_success() {
                    return server;
                }
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("hive serve did not answer /health within 60 s");
    }

    /// The server's process id (to signal it).
    pub(super) fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGTERM, then the exit status (None if it did not exit in 30 s).
    pub(super) fn terminate(mut self) -> Option<std::process::ExitStatus> {
        let pid = self.child.id().to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status();
        let until = Instant::now() + Duration::from_secs(30);
        while Instant::now() < until {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        let _ = self.child.kill();
        None
    }
}

impl Drop for Server {
    /// A test that panics does not leave its server running.
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

#[tokio::test]
async fn hive_serve_answers_keeps_its_data_and_stops_on_sigterm() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hive.db");
    let server = Server::start(&db).await;
    let client = reqwest::Client::new();
    let created: Value = client
        .post(format!("{}/tasks", server.base))
        .json(&json!({ "type": "later", "payload": { "n": 1 } }))
        .send()
        .await
        .expect("submit")
        .json()
        .await
        .expect("json");
    let id = created["task"]["id"].as_str().expect("id").to_string();
    let status = server.terminate();
    assert!(
        status.is_some_and(|s| s.success()),
        "exit on SIGTERM: {status:?}"
    );

    // A new server on the same file still has the task.
    let server = Server::start(&db).await;
    let got: Value = reqwest::get(format!("{}/tasks/{id}", server.base))
        .await
        .expect("get")
        .json()
        .await
        .expect("json");
    assert_eq!(got["payload"], json!({ "n": 1 }));
    assert!(server.terminate().is_some_and(|s| s.success()));
}

#[test]
fn without_a_token_it_refuses_a_public_address() {
    let dir = tempfile::tempdir().expect("dir");
    let out = Command::new(env!("CARGO_BIN_EXE_hive"))
        .args(["serve", "--addr", &format!("0.0.0.0:{}", free_port())])
        .arg("--db")
        .arg(dir.path().join("hive.db"))
        .env_remove("HIVE_TOKEN")
        .output()
        .expect("run hive serve");
    assert!(!out.status.success());
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(stderr.contains("without a token"), "{stderr}");
}

/// `hive serve`, quiet, with none of the environment that configures it.
pub(super) fn hive_serve() -> Command {
    let mut serve = Command::new(env!("CARGO_BIN_EXE_hive"));
    serve.arg("serve");
    for var in [
        "HIVE_CONFIG",
        "HIVE_ADDR",
        "HIVE_DB",
        "HIVE_REDIS_URL",
        "HIVE_DATABASE_URL",
        "HIVE_TOKEN",
        "HIVE_REQUEST_TIMEOUT_SECS",
        "HIVE_BODY_LIMIT_BYTES",
        "HIVE_CORS_ORIGINS",
    ] {
        serve.env_remove(var);
    }
    serve.stdout(Stdio::null()).stderr(Stdio::null());
    serve
}

#[tokio::test]
async fn serve_reads_hive_toml_below_the_environment_below_flags() {
    let dir = tempfile::tempdir().expect("dir");
    let (file_port, env_port) = (free_port(), free_port());
    std::fs::write(
        dir.path().join("hive.toml"),
        format!(
            "addr = \"127.0.0.1:{file_port}\"\ndb = \"file.db\"\ntoken = \"from-file\"\n\
             cors_origins = [\"https://app.example\"]\n"
        ),
    )
    .expect("write hive.toml");
    let mut serve = hive_serve();
    serve
        .current_dir(dir.path())
        .args(["--db", "flag.db"])
        .env("HIVE_ADDR", format!("127.0.0.1:{env_port}"))
        .env("HIVE_DB", "env.db");
    // The environment's address wins over the file's.
    let server = Server::spawn(serve, env_port).await;
    let client = reqwest::Client::new();
    let submit = |token: Option<&str>| {
        let mut req = client
            .post(format!("{}/tasks", server.base))
            .header("origin", "https://app.example")
            .json(&json!({ "type": "configured" }));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        req.send()
    };
    // The token and the CORS origins come from the file.
    let refused = submit(None).await.expect("submit");
    assert_eq!(refused.status(), reqwest::StatusCode::UNAUTHORIZED);
    let created = submit(Some("from-file")).await.expect("submit");
    assert_eq!(created.status(), reqwest::StatusCode::CREATED);
    assert_eq!(
        created.headers().get("access-control-allow-origin"),
        Some(&reqwest::header::HeaderValue::from_static(
            "https://app.example"
        ))
    );
    assert!(server.terminate().is_some_and(|s| s.success()));
    // The flag's file wins over the environment's and the config file's.
    let exists = |name: &str| dir.path().join(name).exists();
    assert_eq!(
        (exists("flag.db"), exists("env.db"), exists("file.db")),
        (true, false, false)
    );
}

/// Runs the `hive` CLI against `server`; answers (success, stdout, stderr).
fn cli(server: &str, args: &[&str]) -> (bool, Value, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_hive"))
        .args(args)
        .args(["--server", server, "--json"])
        .env_remove("HIVE_TOKEN")
        .output()
        .expect("run hive");
    let stdout: Value = serde_json::from_slice(&out.stdout).unwrap_or(Value::Null);
    (
        out.status.success(),
        stdout,
        String::from_utf8_lossy(&out.stderr).to_string(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_cli_talks_to_a_running_server() {
    let dir = tempfile::tempdir().expect("dir");
    let server = Server::start(&dir.path().join("hive.db")).await;
    let base = server.base.clone();
    let (ok, created, err) = tokio::task::spawn_blocking({
        let base = base.clone();
        move || {
            cli(
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
                ],
            )
        }
    })
    .await
    .expect("join");
    assert!(ok, "{err}");
    let id = created["task"]["id"].as_str().expect("id").to_string();
    assert_eq!(created["task"]["capabilities"], json!(["llm", "web"]));
    let run = |args: Vec<String>| {
        let base = base.clone();
        tokio::task::spawn_blocking(move || {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            cli(&base, &args)
        })
    };
    let (ok, got, _) = run(vec!["task".into(), "get".into(), id.clone()])
        .await
        .expect("join");
    assert!(ok);
    assert_eq!(
        (got["payload"].clone(), got["priority"].clone()),
        (json!({"n": 7}), json!(2))
    );
    let (ok, list, _) = run(vec![
        "task".into(),
        "list".into(),
        "--status".into(),
        "pending".into(),
    ])
    .await
    .expect("join");
    assert!(ok);
    assert_eq!(list["tasks"][0]["id"], id.as_str());
    let (ok, status, _) = run(vec!["status".into()]).await.expect("join");
    assert!(ok);
    assert_eq!(status["health"]["status"], "ok");
    assert_eq!(status["queue"]["total"], 1);
    let (ok, agents, _) = run(vec!["agent".into(), "list".into()])
        .await
        .expect("join");
    assert!(ok && agents.is_array());
    let (ok, cancelled, _) = run(vec!["task".into(), "cancel".into(), id.clone()])
        .await
        .expect("join");
    assert!(ok);
    assert_eq!(cancelled["status"], "cancelled");
    // Errors: the server's message, exit code 1.
    let (ok, _, err) = run(vec!["task".into(), "get".into(), "not-an-id".into()])
        .await
        .expect("join");
    assert!(!ok && err.contains("not a valid task id"), "{err}");
    let (ok, _, err) = run(vec![
        "task".into(),
        "submit".into(),
        "x".into(),
        "--payload".into(),
        "{oops".into(),
    ])
    .await
    .expect("join");
    assert!(!ok && err.contains("--payload is not JSON"), "{err}");
    assert!(server.terminate().is_some_and(|s| s.success()));
    let (ok, _, err) = tokio::task::spawn_blocking(move || cli(&base, &["status"]))
        .await
        .expect("join");
    assert!(!ok && err.contains("is `hive serve` running at"), "{err}");
}
