//! A worker process killed with SIGKILL mid-task loses nothing: its task is
//! redelivered after the lease and completed by another worker, and the dead
//! worker's late answer is refused.

use std::str::FromStr;
use std::time::Duration;

use hive_core::conformance::unique_name;
use hive_core::queue::worker::{handler_fn, Worker, WorkerConfig};
use hive_core::queue::{
    self, LeaseKey, LeaseToken, NewTask, QueueConfig, QueueExt, TaskId, TaskStatus,
};
use hive_core::Error;
use serde_json::json;

use crate::{backends, Process};

async fn killed_worker_loses_nothing(url: &str) {
    let name = unique_name("crash");
    let q = queue::open(url, QueueConfig::named(name.clone()))
        .await
        .expect("open");
    let hang = q
        .submit(NewTask::new("hang", json!({})).priority(hive_core::queue::TaskPriority::CRITICAL))
        .await
        .expect("submit")
        .id;
    let others: Vec<TaskId> = q
        .submit_batch((0..20).map(|i| NewTask::new("quick", json!(i))).collect())
        .await
        .expect("submit")
        .iter()
        .map(|s| s.id)
        .collect();

    // The victim takes the hanging task, says so, and is killed mid-task.
    let victim = Process::start(&["work", url, &name, "1000"]);
    let line = victim.expect_line("started ", Duration::from_secs(30));
    let mut words = line.split_whitespace().skip(1);
    let task_id = TaskId::from_str(words.next().expect("id")).expect("task id");
    let token = LeaseToken(uuid::Uuid::parse_str(words.next().expect("token")).expect("token"));
    assert_eq!(task_id, hang);
    victim.kill();

    // A survivor (in this process) finishes everything, the orphan included
    // once its lease has run out.
    let survivor = Worker::new(
        q.clone(),
        handler_fn(|task, _cx| async move { Ok(json!({ "rescued": task.task_type })) }),
        WorkerConfig {
            poll_interval: Duration::from_millis(50),
            reap_interval: Duration::from_millis(100),
            ..WorkerConfig::default()
        },
    )
    .spawn();
    let rescued = q
        .wait_until_final(hang, Duration::from_secs(30))
        .await
        .expect("final");
    assert_eq!(
        rescued.status,
        TaskStatus::Completed,
        "{url}: the orphaned task was completed"
    );
    assert_eq!(rescued.attempts, 2, "{url}: redelivered once");
    assert_eq!(rescued.result, Some(json!({ "rescued": "hang" })));
    for id in &others {
        let t = q
            .wait_until_final(*id, Duration::from_secs(30))
            .await
            .expect("final");
        assert_eq!(t.status, TaskStatus::Completed, "{url}: task {id} was lost");
    }
    survivor.shutdown().await;

    // The dead worker's answer, arriving late, changes nothing.
    let late = q
        .complete(LeaseKey { task_id, token }, json!("zombie"))
        .await;
    assert!(
        matches!(late, Err(Error::StaleLease { .. })),
        "{url}: late completion was {late:?}"
    );
    assert_eq!(
        q.get(hang).await.expect("get").result,
        Some(json!({ "rescued": "hang" }))
    );
    let stats = q.stats().await.expect("stats");
    assert_eq!(stats.get(TaskStatus::Completed), 21, "{url}: {stats:?}");
    assert_eq!(stats.total(), 21);
    crate::forget_queue(url, &name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_worker_loses_nothing_on_every_backend() {
    let dir = tempfile::tempdir().expect("tempdir");
    for url in backends(dir.path()) {
        killed_worker_loses_nothing(&url).await;
    }
}
