//! `/health/live` and `/health/ready`: liveness answers whenever the
//! process does; readiness reads every store and names the one that does
//! not answer — a Redis stopped under a running server makes it a 503
//! naming Redis, and it is ready again once Redis is back. A Redis that
//! evicts keys is refused at start, with the reason.

use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use hive_core::conformance::service_url;
use hive_core::Hive;
use hive_server::{router, AppState};

use super::{send, state};

#[tokio::test]
async fn live_and_ready_answer_without_a_token_and_list_the_stores() {
    let app = router(state().await.with_token("s3cret"));
    let live = send(&app, Request::get("/health/live"), Body::empty()).await;
    assert_eq!(live.status, StatusCode::OK);
    assert_eq!(live.json()["status"], "ok");
    let ready = send(&app, Request::get("/health/ready"), Body::empty()).await;
    assert_eq!(ready.status, StatusCode::OK, "{}", ready.json());
    assert_eq!(ready.json()["status"], "ready");
    assert_eq!(
        ready.json()["checked"],
        serde_json::json!([
            "queue: sqlite",
            "agent registry: sqlite",
            "session store: sqlite",
            "broker: sqlite",
            "event log: memory"
        ])
    );
}

#[tokio::test]
async fn a_stopping_server_is_not_ready() {
    let state = state().await;
    let app = router(state.clone());
    state.shutdown.cancel();
    let ready = send(&app, Request::get("/health/ready"), Body::empty()).await;
    assert_eq!(ready.status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(ready.json()["error"]["code"], "not_ready");
    assert_eq!(ready.json()["error"]["message"], "the server is stopping");
    let live = send(&app, Request::get("/health/live"), Body::empty()).await;
    assert_eq!(live.status, StatusCode::OK, "still alive while it stops");
}

/// A private `redis-server` without persistence, killed on drop.
struct PrivateRedis {
    bin: String,
    extra: Vec<String>,
    port: u16,
    child: Option<Child>,
}

impl PrivateRedis {
    fn start(bin: String) -> PrivateRedis {
        Self::start_with(bin, &[])
    }

    fn start_with(bin: String, extra: &[&str]) -> PrivateRedis {
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("spare port");
        let mut redis = PrivateRedis {
            bin,
            extra: extra.iter().map(|a| a.to_string()).collect(),
            port,
            child: None,
        };
        redis.launch();
        redis
    }

    fn launch(&mut self) {
        let child = Command::new(&self.bin)
            .args(["--port", &self.port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no"])
            .args(&self.extra)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        for _ in 0..500 {
            if std::net::TcpStream::connect(("127.0.0.1", self.port)).is_ok() {
                return;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        panic!("redis-server did not start");
    }

    fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for PrivateRedis {
    fn drop(&mut self) {
        self.stop();
    }
}

#[tokio::test]
async fn with_redis_stopped_ready_is_a_503_naming_redis_and_200_once_it_is_back() {
    let Some(bin) = service_url("HIVE_REDIS_SERVER_BIN") else {
        return;
    };
    let mut redis = PrivateRedis::start(bin);
    let dir = tempfile::tempdir().expect("dir");
    let hive = Hive::builder()
        .embedded(dir.path().join("hive.db"))
        .redis(format!("redis://127.0.0.1:{}", redis.port))
        .without_context()
        .build()
        .await
        .expect("hive on Redis");
    let app = router(AppState::new(Arc::new(hive)));
    let ready = || async { send(&app, Request::get("/health/ready"), Body::empty()).await };

    let up = ready().await;
    assert_eq!(up.status, StatusCode::OK, "{}", up.json());
    assert_eq!(up.json()["checked"][0], "queue: redis");

    redis.stop();
    let down = ready().await;
    assert_eq!(
        down.status,
        StatusCode::SERVICE_UNAVAILABLE,
        "{}",
        down.json()
    );
    assert_eq!(down.json()["error"]["code"], "not_ready");
    let message = down.json()["error"]["message"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    assert!(message.contains("(redis)"), "{message}");

    redis.launch();
    let mut last = down;
    for _ in 0..100 {
        last = ready().await;
        if last.status == StatusCode::OK {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    assert_eq!(last.status, StatusCode::OK, "ready again: {}", last.json());
}

#[test]
fn a_redis_that_evicts_keys_is_refused_at_start_with_the_reason() {
    let Some(bin) = service_url("HIVE_REDIS_SERVER_BIN") else {
        return;
    };
    let redis = PrivateRedis::start_with(bin, &["--maxmemory-policy", "allkeys-lru"]);
    let dir = tempfile::tempdir().expect("dir");
    let url = format!("redis://127.0.0.1:{}", redis.port);
    let serve = |extra: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_hive"))
            .current_dir(dir.path())
            .args([
                "serve",
                "--addr",
                "127.0.0.1:0",
                "--no-context",
                "--redis",
                &url,
            ])
            .args(extra)
            .env_remove("HIVE_ALLOW_REDIS_EVICTION")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("start hive serve")
    };
    let refused = serve(&[]).wait_with_output().expect("hive serve ends");
    assert!(!refused.status.success(), "refused");
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("maxmemory-policy allkeys-lru"), "{stderr}");
    assert!(stderr.contains("noeviction"), "{stderr}");
    assert!(stderr.contains("queued tasks could vanish"), "{stderr}");
    assert!(stderr.contains("--allow-redis-eviction"), "{stderr}");

    // With the override it serves (and stops on SIGTERM).
    let mut allowed = serve(&["--allow-redis-eviction"]);
    std::thread::sleep(Duration::from_secs(2));
    assert!(allowed.try_wait().expect("poll").is_none(), "still serving");
    let _ = Command::new("kill")
        .args(["-TERM", &allowed.id().to_string()])
        .status();
    let _ = allowed.wait();
}
