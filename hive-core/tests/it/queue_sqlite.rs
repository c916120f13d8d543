//! The queue conformance suite on the embedded SQLite backend, plus what is
//! particular to it: a file that outlives its process, in-memory databases.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::queue::QueueHarness;
use hive_core::conformance::unique_name;
use hive_core::queue::sqlite::SqliteQueue;
use hive_core::queue::{Queue, QueueConfig};

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
    name: String,
}

impl Sqlite {
    fn new() -> Self {
        Sqlite {
            dir: tempfile::tempdir().expect("tempdir"),
            name: unique_name("q"),
        }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("hive.db").display())
    }
}

#[async_trait]
impl QueueHarness for Sqlite {
    fn config(&self) -> QueueConfig {
        QueueConfig::named(self.name.clone())
    }

    async fn open(&self, config: QueueConfig) -> Arc<dyn Queue> {
        Arc::new(
            SqliteQueue::open(&self.url(), config)
                .await
                .expect("open sqlite queue"),
        )
    }
}

mod conformance {
    use super::Sqlite;

    hive_core::queue_conformance_tests!(Some(Sqlite::new()));
}

mod particular {
    use std::time::Duration;

    use hive_core::queue::sqlite::{Durability, SqliteOptions, SqliteQueue};
    use hive_core::queue::{
        self, ClaimRequest, NewTask, Queue, QueueConfig, QueueExt, TaskFailure, TaskFilter,
        TaskStatus, WorkerId,
    };
    use hive_core::Error;
    use serde_json::json;

    #[tokio::test]
    async fn open_rejects_unknown_schemes_and_bad_config() {
        let r = queue::open("mysql://localhost/db", QueueConfig::default()).await;
        assert!(
            matches!(r, Err(Error::InvalidInput(ref m)) if m.contains("unknown queue URL scheme")),
            "{r:?}"
        );
        let r = queue::open("sqlite::memory:", QueueConfig::named("no spaces allowed")).await;
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
        let r = SqliteQueue::open("sqlite://%%bad\0", QueueConfig::default()).await;
        assert!(r.is_err());
        let dir = tempfile::tempdir().expect("tempdir");
        let nowhere = format!("sqlite://{}/missing/dir/hive.db", dir.path().display());
        let r = SqliteQueue::open(&nowhere, QueueConfig::default()).await;
        assert!(
            matches!(
                r,
                Err(Error::Backend {
                    backend: "sqlite",
                    ..
                })
            ),
            "{r:?}"
        );
    }

    #[tokio::test]
    async fn in_memory_queues_serve_reads_through_the_writer() {
        let q = queue::open("sqlite::memory:", QueueConfig::default())
            .await
            .expect("open");
        let id = q
            .submit(NewTask::new("t", json!({})).max_attempts(1))
            .await
            .expect("submit")
            .id;
        let w = ClaimRequest::new(WorkerId::random("t"));
        let lease = q.claim(&w).await.expect("claim").pop().expect("a task");
        q.fail(lease.key(), TaskFailure::retryable("no"))
            .await
            .expect("fail");
        assert_eq!(
            q.get(id).await.expect("get").status,
            TaskStatus::DeadLettered
        );
        assert_eq!(
            q.stats()
                .await
                .expect("stats")
                .get(TaskStatus::DeadLettered),
            1
        );
        assert_eq!(q.dead_letters(5, 0).await.expect("list").len(), 1);
        let listed = q
            .list(&TaskFilter::new().status(TaskStatus::DeadLettered))
            .await
            .expect("list");
        assert_eq!(listed.iter().map(|t| t.id).collect::<Vec<_>>(), [id]);
    }

    /// Concurrent `submit_and_get` calls are inserted together by the writer
    /// (one statement, one clock reading); each answer is still exactly what
    /// `get` reads, in memory and in a file.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn grouped_submit_and_get_answers_match_the_stored_tasks() {
        let dir = tempfile::tempdir().expect("tempdir");
        let file = format!("sqlite://{}", dir.path().join("g.db").display());
        for url in ["sqlite::memory:", file.as_str()] {
            let q = queue::open(url, QueueConfig::default())
                .await
                .expect("open");
            let calls = (0..40).map(|i| {
                let q = q.clone();
                tokio::spawn(async move {
                    let t =
                        NewTask::new("g", json!({ "i": i })).delay(Duration::from_millis(i * 50));
                    q.submit_and_get(t).await
                })
            });
            let answers = futures::future::join_all(calls).await;
            for answer in answers {
                let answer = answer.expect("join").expect("submit_and_get");
                assert_eq!(
                    answer.task,
                    q.get(answer.task.id).await.expect("get"),
                    "{url}"
                );
            }
            assert_eq!(q.stats().await.expect("stats").total(), 40, "{url}");
        }
    }

    /// The writer inserts concurrent submits of independent tasks together;
    /// each caller still gets its own answer, in its own order, and in the
    /// second round a refused one (an id already taken) fails alone.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn concurrent_independent_submits_are_answered_one_by_one() {
        let q = queue::open("sqlite::memory:", QueueConfig::default())
            .await
            .expect("open");
        let taken = q
            .submit(NewTask::new("first", json!({})))
            .await
            .expect("submit")
            .id;
        for round in 0..2 {
            let calls: Vec<_> = (0..50)
                .map(|n| {
                    let q = q.clone();
                    tokio::spawn(async move {
                        let tasks = match n {
                            25 if round == 1 => vec![NewTask::new("dup", json!({})).with_id(taken)],
                            n if n % 10 == 0 => (0..2)
                                .map(|k| NewTask::new("pair", json!({ "n": n, "k": k })))
                                .collect(),
                            n => vec![NewTask::new("one", json!({ "n": n }))],
                        };
                        let ids: Vec<_> = tasks.iter().map(NewTask::id).collect();
                        (n, ids, q.submit_batch(tasks).await)
                    })
                })
                .collect();
            for call in calls {
                let (n, ids, got) = call.await.expect("join");
                if n == 25 && round == 1 {
                    assert!(matches!(got, Err(Error::Conflict(_))), "{got:?}");
                    continue;
                }
                let got = got.expect("submit");
                assert_eq!(got.iter().map(|s| s.id).collect::<Vec<_>>(), ids);
                for id in ids {
                    assert_eq!(q.get(id).await.expect("get").payload["n"], n);
                }
            }
        }
        // The first task; 50 calls, then 49 answered; five pairs per round.
        assert_eq!(q.stats().await.expect("stats").total(), 1 + 50 + 49 + 2 * 5);
    }

    #[tokio::test]
    async fn a_file_keeps_its_tasks_across_handles_and_durability_modes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("hive.db").display());
        let config = QueueConfig::named("keep");
        let id = {
            let q = SqliteQueue::open(&url, config.clone()).await.expect("open");
            q.submit(NewTask::new("t", json!({"kept": true})))
                .await
                .expect("submit")
                .id
        };
        let options = SqliteOptions {
            durability: Durability::Process,
            ..SqliteOptions::default()
        };
        let q = SqliteQueue::open_with(&url, config, options)
            .await
            .expect("reopen");
        let t = q.get(id).await.expect("the task is still there");
        assert_eq!(t.payload, json!({"kept": true}));
        assert_eq!(q.backend(), "sqlite");
        q.wait_for_work(Duration::from_millis(10))
            .await
            .expect("wait");
    }
}
