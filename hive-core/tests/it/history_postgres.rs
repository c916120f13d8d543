//! The history conformance suite on the Postgres store, plus what is
//! particular to it: connection failures, and text `jsonb` cannot hold.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test
//! works in a schema of its own (its connections' `search_path`), which it
//! drops at the end: `purge_before` and wildcard queries act on a whole
//! table, and tests share one database.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::broker::history::postgres::PostgresMessageStore;
use hive_core::broker::history::MessageStore;
use hive_core::conformance::history::HistoryHarness;

use crate::pg_schema::TestSchema;

/// A schema of its own per test; every `open` is a new pool on it, as
/// another process would have.
#[async_trait]
impl HistoryHarness for TestSchema {
    async fn open(&self) -> Arc<dyn MessageStore> {
        Arc::new(
            PostgresMessageStore::connect(self.pool())
                .await
                .expect("open postgres message store"),
        )
    }

    async fn clean_up(&self) {
        self.drop_schema().await;
    }
}

mod conformance {
    use crate::pg_schema::TestSchema;

    hive_core::history_conformance_tests!(TestSchema::create("history").await);
}

mod particular {
    use chrono::Utc;
    use hive_core::broker::history::postgres::PostgresMessageStore;
    use hive_core::broker::history::HistoryQuery;
    use hive_core::broker::{Message, Offset, StoredMessage, Topic};
    use hive_core::conformance::history::{run_clause, HistoryHarness};
    use hive_core::Error;
    use serde_json::json;

    use crate::pg_schema::TestSchema;

    #[tokio::test]
    async fn unreachable_database_is_a_backend_error() {
        // Nothing listens on port 1; the connection is refused at once.
        let r = PostgresMessageStore::open("postgres://postgres@127.0.0.1:1/hive_test").await;
        assert!(
            matches!(
                r,
                Err(Error::Backend {
                    backend: "postgres",
                    ..
                })
            ),
            "{r:?}"
        );
        let r = PostgresMessageStore::open("postgres://[::1").await;
        assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
    }

    /// `jsonb` refuses `\u0000`, and text columns refuse NUL: the batch is
    /// invalid input and stores nothing; the rest of history is unharmed.
    #[tokio::test]
    async fn text_postgres_cannot_hold_is_invalid_input() {
        let Some(h) = TestSchema::create("history").await else {
            return;
        };
        run_clause(&h, async {
            let store = h.open().await;
            let topic = Topic::new("nul.test").expect("topic");
            let good = StoredMessage {
                message: Message::new(topic.clone(), "k", json!({"ok": 1})),
                offset: Offset(1),
                published_at: Utc::now(),
            };
            let in_payload = StoredMessage {
                message: Message::new(topic.clone(), "k", json!({"bad": "a\u{0}b"})),
                offset: Offset(2),
                published_at: Utc::now(),
            };
            let in_header = StoredMessage {
                message: Message::new(topic.clone(), "k", json!(1)).header("h", "\u{0}"),
                offset: Offset(3),
                published_at: Utc::now(),
            };
            let in_kind = StoredMessage {
                message: Message::new(topic.clone(), "k\u{0}", json!(1)),
                offset: Offset(4),
                published_at: Utc::now(),
            };
            for bad in [in_payload, in_header, in_kind] {
                let r = store.record(&[good.clone(), bad]).await;
                assert!(matches!(r, Err(Error::InvalidInput(_))), "{r:?}");
            }
            let left = store
                .query(&HistoryQuery::new().topic(topic))
                .await
                .expect("query");
            assert!(left.is_empty(), "a refused batch stores nothing");
            assert_eq!(store.record(&[good]).await.expect("record"), 1);
        })
        .await;
    }
}
