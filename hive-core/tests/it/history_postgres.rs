//! The history conformance suite on the Postgres store, plus what is
//! particular to it: connection failures, and text `jsonb` cannot hold.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test
//! works in a schema of its own (its connections' `search_path`), which it
//! drops at the end: `purge_before` and wildcard queries act on a whole
//! table, and tests share one database.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use hive_core::broker::history::postgres::PostgresMessageStore;
use hive_core::broker::history::MessageStore;
use hive_core::conformance::history::HistoryHarness;
use hive_core::conformance::{service_url, unique_name};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

/// A schema of its own per test; every `open` is a new pool on it, as
/// another process would have.
struct Postgres {
    url: String,
    schema: String,
}

impl Postgres {
    /// The harness, with its schema created; `None` when no database is
    /// configured.
    async fn from_env() -> Option<Self> {
        let url = service_url("HIVE_TEST_DATABASE_URL")?;
        let schema = unique_name("history").replace('-', "_");
        let h = Postgres { url, schema };
        h.execute(&format!("CREATE SCHEMA {}", h.schema)).await;
        Some(h)
    }

    async fn execute(&self, sql: &str) {
        // A pool, not a bare connection: `&mut PgConnection` as an executor
        // trips the compiler inside an `async_trait` method.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.url)
            .await
            .expect("connect");
        sqlx::raw_sql(sql).execute(&pool).await.expect(sql);
        pool.close().await;
    }
}

#[async_trait]
impl HistoryHarness for Postgres {
    async fn open(&self) -> Arc<dyn MessageStore> {
        let options = PgConnectOptions::from_str(&self.url)
            .expect("url")
            .options([("search_path", self.schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with(options);
        Arc::new(
            PostgresMessageStore::connect(pool)
                .await
                .expect("open postgres message store"),
        )
    }

    async fn clean_up(&self) {
        self.execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await;
    }
}

mod conformance {
    use super::Postgres;

    hive_core::history_conformance_tests!(Postgres::from_env().await);
}

mod particular {
    use chrono::Utc;
    use hive_core::broker::history::postgres::PostgresMessageStore;
    use hive_core::broker::history::HistoryQuery;
    use hive_core::broker::{Message, Offset, StoredMessage, Topic};
    use hive_core::conformance::history::{run_clause, HistoryHarness};
    use hive_core::Error;
    use serde_json::json;

    use super::Postgres;

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
        let Some(h) = Postgres::from_env().await else {
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
