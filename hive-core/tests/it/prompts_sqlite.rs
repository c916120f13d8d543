//! The prompt-registry conformance suite on the embedded SQLite backend.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::prompts::PromptHarness;
use hive_core::prompt::sqlite::SqlitePromptRegistry;
use hive_core::prompt::PromptRegistry;

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

#[async_trait]
impl PromptHarness for Sqlite {
    async fn open(&self) -> Arc<dyn PromptRegistry> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqlitePromptRegistry::open(&url)
                .await
                .expect("open sqlite prompt registry"),
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

    hive_core::prompt_conformance_tests!(harness());
}

/// `prompt::open` takes `sqlite::memory:` and refuses other schemes.
#[tokio::test]
async fn open_by_url() {
    let registry = hive_core::prompt::open("sqlite::memory:")
        .await
        .expect("open");
    assert!(registry
        .versions("nobody")
        .await
        .expect("versions")
        .is_empty());
    let err = hive_core::prompt::open("redis://127.0.0.1")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("sqlite://"), "{err}");
}
