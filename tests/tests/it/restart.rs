//! Acknowledged submits survive the death of the process that made them:
//! the submitter is killed with SIGKILL right after the acknowledgement, and
//! a fresh process (this one) finds every task.

use std::str::FromStr;
use std::time::Duration;

use hive_core::conformance::unique_name;
use hive_core::queue::{self, QueueConfig, TaskId, TaskStatus};

use crate::{backends, Process};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn acknowledged_submits_survive_a_killed_process() {
    let dir = tempfile::tempdir().expect("tempdir");
    for url in backends(dir.path()) {
        let name = unique_name("restart");
        let submitter = Process::start(&["submit", &url, &name, "200"]);
        let line = submitter.expect_line("submitted", Duration::from_secs(30));
        submitter.kill();
        let ids: Vec<TaskId> = line
            .split_whitespace()
            .skip(1)
            .map(|s| TaskId::from_str(s).expect("id"))
            .collect();
        assert_eq!(ids.len(), 200);
        let q = queue::open(&url, QueueConfig::named(name.clone()))
            .await
            .expect("reopen");
        for id in ids {
            assert_eq!(
                q.get(id).await.expect("the task survived").status,
                TaskStatus::Pending,
                "{url}"
            );
        }
        assert_eq!(q.stats().await.expect("stats").total(), 200, "{url}");
        crate::forget_queue(&url, &name).await;
    }
}
