//! A private `redis-server` for tests that kill and restart Redis, and the
//! polling helper they wait with. Shared by the queue's and the broker's
//! Redis tests; needs `HIVE_REDIS_SERVER_BIN`.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

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
