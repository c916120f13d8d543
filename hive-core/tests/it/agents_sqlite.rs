//! The agent-registry conformance suite on the embedded SQLite backend.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::agent::sqlite::SqliteAgentRegistry;
use hive_core::agent::AgentRegistry;
use hive_core::conformance::agents::AgentHarness;

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

#[async_trait]
impl AgentHarness for Sqlite {
    async fn open(&self) -> Arc<dyn AgentRegistry> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqliteAgentRegistry::open(&url)
                .await
                .expect("open sqlite registry"),
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

    hive_core::agent_conformance_tests!(harness());
}

/// `agent::open` takes `sqlite::memory:` and refuses unknown schemes.
#[tokio::test]
async fn open_by_url() {
    let reg = hive_core::agent::open("sqlite::memory:")
        .await
        .expect("open");
    assert_eq!(reg.backend(), "sqlite");
    let err = hive_core::agent::open("mysql://x")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("sqlite://"), "{err}");
}
