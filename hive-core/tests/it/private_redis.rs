//! Redis helpers shared by the queue's and the broker's Redis tests: a
//! private `redis-server` for tests that kill and restart Redis (needs
//! `HIVE_REDIS_SERVER_BIN`), the polling helper they wait with, and key
//! listing and clean-up on a shared Redis.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use fred::interfaces::{ClientLike, KeysInterface};
use fred::prelude::{Client, Config};
use hive_core::conformance::service_url;
use hive_core::Error;
use tokio::process::{Child, Command};

/// A private `redis-server` with an append-only file fsynced on every write,
/// killed on drop.
pub struct Server {
    bin: String,
    dir: tempfile::TempDir,
    port: u16,
    child: Option<Child>,
}

impl Server {
    pub async fn start() -> Option<Server> {
        let bin = service_url("HIVE_REDIS_SERVER_BIN")?;
        let mut server = Server {
            bin,
            dir: tempfile::tempdir().expect("tempdir"),
            port: spare_port(),
            child: None,
        };
        server.launch().await;
        Some(server)
    }

    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    pub async fn launch(&mut self) {
        let child = Command::new(&self.bin)
            .args(server_args(self.port, self.dir.path()))
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .expect("start redis-server");
        self.child = Some(child);
        let until = tokio::time::Instant::now() + Duration::from_secs(10);
        while tokio::net::TcpStream::connect(("127.0.0.1", self.port))
            .await
            .is_err()
        {
            assert!(
                tokio::time::Instant::now() < until,
                "redis-server did not start"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// SIGKILL: no shutdown save, only what the append-only file holds.
    pub async fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            child.kill().await.expect("kill redis-server");
        }
    }
}

fn server_args(port: u16, dir: &Path) -> Vec<String> {
    [
        "--port",
        &port.to_string(),
        "--bind",
        "127.0.0.1",
        "--appendonly",
        "yes",
        "--appendfsync",
        "always",
        "--save",
        "",
        "--dir",
        &dir.display().to_string(),
    ]
    .map(String::from)
    .to_vec()
}

/// A port nothing listens on right now.
pub fn spare_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("spare port")
}

/// Polls `f` until it succeeds or `within` passes.
pub async fn eventually<T, F, Fut>(within: Duration, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, Error>>,
{
    let until = tokio::time::Instant::now() + within;
    loop {
        match f().await {
            Ok(v) => return v,
            Err(e) => {
                assert!(
                    tokio::time::Instant::now() < until,
                    "still failing after {within:?}: {e}"
                );
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// A connected client for inspecting or cleaning a Redis.
pub async fn connect(url: &str) -> Result<Client, fred::error::Error> {
    let client = Client::new(Config::from_url(url)?, None, None, None);
    client.init().await?;
    Ok(client)
}

/// Every key matching `pattern`, following SCAN's cursor to the end (one
/// page may hold none of them on a busy server).
pub async fn all_keys(client: &Client, pattern: &str) -> Vec<String> {
    let mut found = Vec::new();
    let mut cursor = "0".to_string();
    loop {
        let Ok((next, keys)) = client
            .scan_page::<(String, Vec<String>), _, _>(cursor, pattern.to_string(), Some(1000), None)
            .await
        else {
            break;
        };
        found.extend(keys);
        if next == "0" {
            break;
        }
        cursor = next;
    }
    found
}

/// Deletes every key matching `pattern` (best effort: clean-up never fails
/// a test). Braces are not special in SCAN patterns, so hash tags match as
/// they are.
pub async fn delete_matching(url: &str, pattern: &str) {
    let Ok(client) = connect(url).await else {
        return;
    };
    let keys = all_keys(&client, pattern).await;
    for chunk in keys.chunks(500) {
        let _: Result<i64, _> = client.del(chunk.to_vec()).await;
    }
    let _ = client.quit().await;
}
