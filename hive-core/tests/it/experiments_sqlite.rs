//! The experiment-store conformance suite on the embedded SQLite backend.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::experiments::ExperimentHarness;
use hive_core::experiment::sqlite::SqliteExperimentStore;
use hive_core::experiment::ExperimentStore;

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

#[async_trait]
impl ExperimentHarness for Sqlite {
    async fn open(&self) -> Arc<dyn ExperimentStore> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqliteExperimentStore::open(&url)
                .await
                .expect("open sqlite experiment store"),
        )
    }
}

fn harness() -> Option<Sqlite> {
    Some(Sqlite {
        dir: tempfile::tempdir().expect("tempdir"),
    })
}

mod conformance {
    use super::harness;

    hive_core::experiment_conformance_tests!(harness());
}

/// `experiment::open` takes `sqlite::memory:` and refuses other schemes.
#[tokio::test]
async fn open_by_url() {
    let store = hive_core::experiment::open("sqlite::memory:")
        .await
        .expect("open");
    assert!(store.list(None, false, 10).await.expect("list").is_empty());
    let err = hive_core::experiment::open("redis://127.0.0.1")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("sqlite://"), "{err}");
}
