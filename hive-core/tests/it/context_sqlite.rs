//! The context-store conformance suite on the embedded SQLite backend, plus
//! what is particular to it: in-memory databases, a model id reopened with
//! another dimension, and a file shared with the queue.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::context::ContextHarness;
use hive_core::context::sqlite::SqliteContextStore;
use hive_core::context::{ContextStore, ModelSpec};

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
impl ContextHarness for Sqlite {
    async fn open(&self, model: ModelSpec) -> Arc<dyn ContextStore> {
        Arc::new(
            SqliteContextStore::open(&self.url(), model)
                .await
                .expect("open sqlite context store"),
        )
    }
}

mod conformance {
    use super::Sqlite;

    hive_core::context_conformance_tests!(Some(Sqlite::new()));
}

mod particular {
    use hive_core::context::{self, Filter, ModelSpec, NewEntry, VectorQuery};
    use hive_core::Error;

    use super::Sqlite;

    /// `sqlite::memory:` works through `context::open`, and unknown URLs
    /// are refused with the schemes that work.
    #[tokio::test]
    async fn memory_databases_and_bad_urls() {
        let model = ModelSpec::new("mem", 2).expect("model");
        let s = context::open("sqlite::memory:", model.clone())
            .await
            .expect("open");
        s.insert(vec![NewEntry::new("kept in memory", vec![1.0, 0.0])])
            .await
            .expect("insert");
        let hits = s
            .search(&VectorQuery::new(vec![1.0, 0.0], 3))
            .await
            .expect("search");
        assert_eq!(hits.len(), 1);
        assert_eq!(s.count(&Filter::any()).await.expect("count").total(), 1);
        match context::open("mysql://x", model).await {
            Err(Error::InvalidInput(msg)) => assert!(msg.contains("sqlite://"), "{msg}"),
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }

    /// Vectors of one model id keep one dimension: opening it with another
    /// is refused rather than silently mixing lengths.
    #[tokio::test]
    async fn a_model_keeps_its_dimension() {
        let h = Sqlite::new();
        let s = context::open(&h.url(), ModelSpec::new("m", 2).expect("model"))
            .await
            .expect("open");
        s.insert(vec![NewEntry::new("two", vec![1.0, 0.0])])
            .await
            .expect("insert");
        match context::open(&h.url(), ModelSpec::new("m", 3).expect("model")).await {
            Err(Error::InvalidInput(msg)) => {
                assert!(msg.contains("stored with dimension 2"), "{msg}")
            }
            other => panic!("expected InvalidInput, got {other:?}"),
        }
    }
}
