//! The history conformance suite on the embedded SQLite store, plus what is
//! particular to it: in-memory databases, a file shared with the queue, and
//! the recorder fed by the real SQLite broker.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::broker::history::sqlite::SqliteMessageStore;
use hive_core::broker::history::MessageStore;
use hive_core::conformance::history::HistoryHarness;

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

impl Sqlite {
    fn new() -> Self {
        Sqlite {
            dir: tempfile::tempdir().expect("tempdir"),
        }
    }

    fn url(&self) -> String {
        format!("sqlite://{}", self.dir.path().join("hive.db").display())
    }
}

#[async_trait]
impl HistoryHarness for Sqlite {
    async fn open(&self) -> Arc<dyn MessageStore> {
        Arc::new(
            SqliteMessageStore::open(&self.url())
                .await
                .expect("open sqlite message store"),
        )
    }
}

mod conformance {
    use super::Sqlite;

    hive_core::history_conformance_tests!(Some(Sqlite::new()));
}

mod particular {
    use std::sync::Arc;
    use std::time::Duration;

    use chrono::Utc;
    use hive_core::broker::history::sqlite::SqliteMessageStore;
    use hive_core::broker::history::{
        self, HistoryQuery, HistoryRecorder, MessageStore, RecorderOptions,
    };
    use hive_core::broker::{
        self, Broker, BrokerConfig, BrokerExt, Message, Offset, StoredMessage, Topic,
    };
    use hive_core::queue::sqlite::SqliteQueue;
    use hive_core::queue::{NewTask, QueueConfig, QueueExt};
    use hive_core::Error;
    use serde_json::json;
    use uuid::Uuid;

    fn stored(topic: &str, n: u64) -> StoredMessage {
        StoredMessage {
            message: Message::new(Topic::new(topic).expect("topic"), "k", json!({ "n": n })),
            offset: Offset(n),
            published_at: Utc::now(),
        }
    }

    #[tokio::test]
    async fn in_memory_stores_keep_their_data() {
        let store = SqliteMessageStore::open("sqlite::memory:")
            .await
            .expect("open");
        let m = stored("mem.a", 1);
        assert_eq!(
            store
                .record(std::slice::from_ref(&m))
                .await
                .expect("record"),
            1
        );
        // The single connection is never recycled, so the data stays.
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(
            store.get(m.message.id).await.expect("get").message.id,
            m.message.id
        );
        let other = SqliteMessageStore::open("sqlite::memory:")
            .await
            .expect("open");
        assert!(
            matches!(other.get(m.message.id).await, Err(Error::NotFound { .. })),
            "each in-memory store is its own database"
        );
    }

    #[tokio::test]
    async fn open_picks_the_backend_by_scheme() {
        let r = history::open("mysql://localhost/db").await;
        assert!(
            matches!(r, Err(Error::InvalidInput(ref m)) if m.contains("unknown message store URL scheme")),
            "{r:?}"
        );
        let store = history::open("sqlite::memory:").await.expect("open");
        assert_eq!(store.backend(), "sqlite");
        let dir = tempfile::tempdir().expect("tempdir");
        let nowhere = format!("sqlite://{}/missing/dir/hive.db", dir.path().display());
        let r = SqliteMessageStore::open(&nowhere).await;
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

    /// One file holds the queue and history: both run the same migrations,
    /// whichever opens it first.
    #[tokio::test]
    async fn history_shares_a_file_with_the_queue() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("hive.db").display());
        let queue = SqliteQueue::open(&url, QueueConfig::named("q"))
            .await
            .expect("queue");
        let store = SqliteMessageStore::open(&url).await.expect("history");
        queue
            .submit(NewTask::new("t", json!(1)))
            .await
            .expect("submit");
        let m = stored("shared.file", 1);
        store
            .record(std::slice::from_ref(&m))
            .await
            .expect("record");
        drop(store);
        let again = SqliteMessageStore::open(&url).await.expect("reopen");
        assert_eq!(
            again.get(m.message.id).await.expect("get").message.id,
            m.message.id
        );

        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("hive.db").display());
        SqliteMessageStore::open(&url).await.expect("history first");
        SqliteQueue::open(&url, QueueConfig::named("q"))
            .await
            .expect("then the queue");
    }

    /// Polls the store until `q` returns `want` messages (10 s at most).
    async fn wait_for(
        store: &dyn MessageStore,
        q: &HistoryQuery,
        want: usize,
    ) -> Vec<StoredMessage> {
        let until = tokio::time::Instant::now() + Duration::from_secs(10);
        loop {
            let got = store.query(q).await.expect("query");
            if got.len() >= want || tokio::time::Instant::now() > until {
                assert_eq!(got.len(), want, "recorded within 10 s");
                return got;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Waits briefly for the recorder's count, which it raises just after
    /// the store commits, then checks it.
    async fn settle(recorder: &HistoryRecorder, want: u64) {
        let until = tokio::time::Instant::now() + Duration::from_secs(2);
        while recorder.recorded() < want && tokio::time::Instant::now() < until {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        assert_eq!(recorder.recorded(), want);
    }

    /// End to end on the embedded deployment: the SQLite broker and history
    /// in one file, the recorder between them. Needs the SQLite broker
    /// (`broker/sqlite`); until it lands, opening it fails.
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn recorder_records_what_the_sqlite_broker_delivers() {
        let dir = tempfile::tempdir().expect("tempdir");
        let url = format!("sqlite://{}", dir.path().join("hive.db").display());
        let broker: Arc<dyn Broker> = broker::open(&url, BrokerConfig::default())
            .await
            .expect("open the SQLite broker");
        let store: Arc<dyn MessageStore> =
            Arc::new(SqliteMessageStore::open(&url).await.expect("open history"));
        let conversation = Uuid::now_v7();

        // Published before any recorder: a new recorder starts at the
        // beginning of what the broker retains.
        let ask = broker
            .publish(
                Message::direct("coder", "ask", json!({"q": 1}))
                    .expect("direct")
                    .from_agent("planner")
                    .correlation(conversation),
            )
            .await
            .expect("publish");
        let options = || RecorderOptions {
            wait: Duration::from_millis(200),
            ..RecorderOptions::default()
        };
        let recorder = HistoryRecorder::start(broker.clone(), store.clone(), options())
            .await
            .expect("start");
        let answer = broker
            .publish(
                Message::direct("planner", "answer", json!({"a": 2}))
                    .expect("direct")
                    .from_agent("coder")
                    .correlation(conversation),
            )
            .await
            .expect("publish");
        let event = broker
            .publish(Message::new(
                Topic::new("events.task.created").expect("topic"),
                "created",
                json!({}),
            ))
            .await
            .expect("publish");

        let all = wait_for(store.as_ref(), &HistoryQuery::new(), 3).await;
        let talk = store
            .query(&HistoryQuery::new().correlation(conversation))
            .await
            .expect("conversation");
        assert_eq!(
            talk.iter().map(|m| m.message.id).collect::<Vec<_>>(),
            [ask.id, answer.id]
        );
        for published in [&ask, &answer, &event] {
            let m = all
                .iter()
                .find(|m| m.message.id == published.id)
                .expect("recorded");
            assert_eq!(m.offset, published.offset, "the broker's offset");
            assert_eq!(m.message.topic, published.topic);
        }
        let from_planner = store
            .query(&HistoryQuery::new().agent("planner"))
            .await
            .expect("agent");
        assert_eq!(from_planner.len(), 2, "sent by or addressed to the planner");
        settle(&recorder, 3).await;
        recorder.shutdown().await.expect("shutdown");

        // Published while no recorder runs: the durable subscription keeps
        // it, and a new recorder records it, and nothing twice.
        let late = broker
            .publish(Message::broadcast("late", json!({})))
            .await
            .expect("publish");
        let recorder = HistoryRecorder::start(broker.clone(), store.clone(), options())
            .await
            .expect("restart");
        let all = wait_for(store.as_ref(), &HistoryQuery::new(), 4).await;
        assert!(all.iter().any(|m| m.message.id == late.id));
        settle(&recorder, 1).await;
        recorder.shutdown().await.expect("shutdown");
        let subs = broker.subscriptions().await.expect("subscriptions");
        let sub = subs
            .iter()
            .find(|s| s.name == history::DEFAULT_RECORDER_NAME)
            .expect("the recorder's subscription");
        assert_eq!(sub.pending, 0, "everything recorded was acknowledged");
    }
}
