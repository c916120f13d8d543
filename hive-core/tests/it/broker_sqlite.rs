//! The broker conformance suite on the embedded SQLite backend, plus what is
//! particular to it: in-memory databases and a file shared by handles.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::broker::sqlite::SqliteBroker;
use hive_core::broker::{Broker, BrokerConfig};
use hive_core::conformance::broker::BrokerHarness;

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
}

#[async_trait]
impl BrokerHarness for Sqlite {
    async fn open(&self, config: BrokerConfig) -> Arc<dyn Broker> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqliteBroker::open(&url, config)
                .await
                .expect("open sqlite broker"),
        )
    }
}

mod conformance {
    use super::Sqlite;

    hive_core::broker_conformance_tests!(Some(Sqlite::new()));
}
