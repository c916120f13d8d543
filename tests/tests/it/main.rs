//! Cross-crate tests that need separate processes: crashes and restarts.

mod broker_crash;
mod crash;
mod fleet_processes;
mod restart;
mod tidy;

use std::io::{BufRead, BufReader};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::time::Duration;

/// A `hive-test-worker` (or `hive-test-agents`) child process, killed
/// (SIGKILL) when dropped.
pub struct Process {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
}

impl Process {
    pub fn start(args: &[&str]) -> Process {
        Self::start_bin(env!("CARGO_BIN_EXE_hive-test-worker"), args)
    }

    /// A `hive-test-agents` process (see its docs for the arguments).
    pub fn agents(args: &[&str]) -> Process {
        Self::start_bin(env!("CARGO_BIN_EXE_hive-test-agents"), args)
    }

    fn start_bin(bin: &str, args: &[&str]) -> Process {
        let mut child = Command::new(bin)
            .args(args)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .spawn()
            .expect("start a test process");
        let stdout: ChildStdout = child.stdout.take().expect("stdout");
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Process { child, lines }
    }

    /// The next line the process prints that starts with `prefix`.
    pub fn expect_line(&self, prefix: &str, within: Duration) -> String {
        let until = std::time::Instant::now() + within;
        loop {
            let left = until.saturating_duration_since(std::time::Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => panic!("no line starting with {prefix:?} within {within:?}: {e}"),
            }
        }
    }

    /// Every line printed from now until `within` passes or the process
    /// ends, whichever is first.
    pub fn lines_until(&self, within: Duration) -> Vec<String> {
        let until = std::time::Instant::now() + within;
        let mut lines = Vec::new();
        while let Ok(line) = self
            .lines
            .recv_timeout(until.saturating_duration_since(std::time::Instant::now()))
        {
            lines.push(line);
        }
        lines
    }

    /// Closes its stdin (which asks `hive-test-agents` to shut down), waits
    /// up to `within` for it to exit, and answers whether it exited
    /// successfully and what it printed meanwhile.
    pub fn finish(mut self, within: Duration) -> (bool, Vec<String>) {
        drop(self.child.stdin.take());
        let until = std::time::Instant::now() + within;
        let mut lines = Vec::new();
        loop {
            while let Ok(line) = self.lines.try_recv() {
                lines.push(line);
            }
            match self.child.try_wait() {
                Ok(Some(status)) => {
                    lines.extend(self.lines_until(Duration::from_millis(200)));
                    return (status.success(), lines);
                }
                Ok(None) if std::time::Instant::now() < until => {
                    std::thread::sleep(Duration::from_millis(20));
                }
                _ => return (false, lines),
            }
        }
    }

    /// SIGKILL: no destructor, no flush, no goodbye.
    pub fn kill(mut self) {
        self.child.kill().expect("kill");
        self.child.wait().expect("reap child");
    }
}

impl Drop for Process {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The backends to run a cross-process test on: the embedded file always,
/// Redis and Postgres when their URLs are set.
pub fn backends(dir: &std::path::Path) -> Vec<String> {
    let mut urls = vec![format!("sqlite://{}", dir.join("hive.db").display())];
    urls.extend(hive_core::conformance::service_url("HIVE_TEST_REDIS_URL"));
    urls.extend(hive_core::conformance::service_url(
        "HIVE_TEST_DATABASE_URL",
    ));
    urls
}

/// The backends of the broker: the embedded file always, Redis when its URL
/// is set.
pub fn broker_backends(dir: &std::path::Path) -> Vec<String> {
    let mut urls = vec![format!("sqlite://{}", dir.join("broker.db").display())];
    urls.extend(hive_core::conformance::service_url("HIVE_TEST_REDIS_URL"));
    urls
}

/// Deletes a topic's stream from a shared Redis after a test (SQLite files
/// live in temporary directories). Best effort.
pub async fn forget_topic(url: &str, topic: &hive_core::broker::Topic) {
    use fred::interfaces::{ClientLike, KeysInterface};
    if !url.starts_with("redis") {
        return;
    }
    let Ok(config) = fred::prelude::Config::from_url(url) else {
        return;
    };
    let client = fred::prelude::Client::new(config, None, None, None);
    if client.init().await.is_ok() {
        let _: Result<i64, _> = client.del(format!("hive:broker:t:{topic}")).await;
        let _ = client.quit().await;
    }
}

/// Removes queue `name` from a shared Redis or Postgres once a test is done
/// with it, so repeated runs do not fill the services. (SQLite files live in
/// temporary directories.) Best effort: a failure here fails no test.
pub async fn forget_queue(url: &str, name: &str) {
    use fred::interfaces::{ClientLike, KeysInterface};
    if url.starts_with("redis") {
        let Ok(config) = fred::prelude::Config::from_url(url) else {
            return;
        };
        let client = fred::prelude::Client::new(config, None, None, None);
        if client.init().await.is_err() {
            return;
        }
        let mut cursor = "0".to_string();
        loop {
            let page: Result<(String, Vec<String>), _> = client
                .scan_page(cursor, format!("hive:{{{name}}}:*"), Some(1000), None)
                .await;
            let Ok((next, keys)) = page else { break };
            if !keys.is_empty() {
                let _: Result<i64, _> = client.del(keys).await;
            }
            if next == "0" {
                break;
            }
            cursor = next;
        }
        let _ = client.quit().await;
    } else if url.starts_with("postgres") {
        if let Ok(pool) = sqlx::PgPool::connect(url).await {
            let _ = sqlx::query("DELETE FROM hive_tasks WHERE queue = $1")
                .bind(name)
                .execute(&pool)
                .await;
            pool.close().await;
        }
    }
}
