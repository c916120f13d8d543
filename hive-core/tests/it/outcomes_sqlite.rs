//! The outcome-store conformance suite on the embedded SQLite backend.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::outcomes::OutcomeHarness;
use hive_core::outcome::sqlite::SqliteOutcomeStore;
use hive_core::outcome::OutcomeStore;

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

#[async_trait]
impl OutcomeHarness for Sqlite {
    async fn open(&self) -> Arc<dyn OutcomeStore> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqliteOutcomeStore::open(&url)
                .await
                .expect("open sqlite outcome store"),
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

    hive_core::outcome_conformance_tests!(harness());
}

/// `outcome::open` takes `sqlite::memory:` and refuses other schemes.
#[tokio::test]
async fn open_by_url() {
    let store = hive_core::outcome::open("sqlite::memory:")
        .await
        .expect("open");
    assert_eq!(store.backend(), "sqlite");
    let err = hive_core::outcome::open("redis://127.0.0.1")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("sqlite://"), "{err}");
}
