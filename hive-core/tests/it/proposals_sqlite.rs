//! The proposal-store conformance suite on the embedded SQLite backend.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::proposals::ProposalHarness;
use hive_core::meta::sqlite::SqliteProposalStore;
use hive_core::meta::ProposalStore;

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

#[async_trait]
impl ProposalHarness for Sqlite {
    async fn open(&self) -> Arc<dyn ProposalStore> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqliteProposalStore::open(&url)
                .await
                .expect("open sqlite proposal store"),
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

    hive_core::proposal_conformance_tests!(harness());
}
