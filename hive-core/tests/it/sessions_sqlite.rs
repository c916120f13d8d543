//! The session-store conformance suite on the embedded SQLite backend.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::sessions::SessionHarness;
use hive_core::session::sqlite::SqliteSessionStore;
use hive_core::session::{NewSession, SessionStore, Utterance};

/// A fresh database file per test; every `open` is a new handle on it.
struct Sqlite {
    dir: tempfile::TempDir,
}

#[async_trait]
impl SessionHarness for Sqlite {
    async fn open(&self) -> Arc<dyn SessionStore> {
        let url = format!("sqlite://{}", self.dir.path().join("hive.db").display());
        Arc::new(
            SqliteSessionStore::open(&url)
                .await
                .expect("open sqlite session store"),
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

    hive_core::session_conformance_tests!(harness());
}

/// `session::open` takes `sqlite::memory:` (one connection: a write that
/// is refused must not hold it while the refusal is looked up) and refuses
/// unknown schemes.
#[tokio::test]
async fn open_by_url() {
    let store = hive_core::session::open("sqlite::memory:")
        .await
        .expect("open");
    let s = store
        .create(NewSession::new("memory").agents(["a"]))
        .await
        .expect("create");
    let said = store
        .record(s.id, Utterance::new("a", None, serde_json::json!("hi")))
        .await
        .expect("record");
    assert_eq!(said.seq, 1);
    store.close(s.id).await.expect("close");
    let refused = store.join(s.id, "b").await.expect_err("closed");
    assert!(refused.to_string().contains("closed"), "{refused}");
    let err = hive_core::session::open("mysql://x")
        .await
        .expect_err("refused");
    assert!(err.to_string().contains("sqlite://"), "{err}");
}
