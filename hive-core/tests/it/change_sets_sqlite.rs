//! The change-set-store conformance suite on the embedded SQLite backend.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::change_sets::ChangeSetHarness;
use hive_core::selfmod::sqlite::SqliteChangeSetStore;
use hive_core::selfmod::ChangeSetStore;

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

#[async_trait]
impl ChangeSetHarness for Sqlite {
    async fn open(&self) -> Arc<dyn ChangeSetStore> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqliteChangeSetStore::open(&url)
                .await
                .expect("open sqlite change-set store"),
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

    hive_core::change_set_conformance_tests!(harness());
}
