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
