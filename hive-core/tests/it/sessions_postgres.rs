//! The session-store conformance suite on Postgres.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test works
//! in a schema of its own, dropped at the end, so a clause's listing sees
//! only its own sessions.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::sessions::SessionHarness;
use hive_core::session::postgres::PostgresSessionStore;
use hive_core::session::SessionStore;

use crate::pg_schema::TestSchema;

#[async_trait]
impl SessionHarness for TestSchema {
    async fn open(&self) -> Arc<dyn SessionStore> {
        Arc::new(
            PostgresSessionStore::connect(self.pool())
                .await
                .expect("open postgres session store"),
        )
    }

    async fn finish(&self) {
        self.drop_schema().await;
    }
}

mod conformance {
    use crate::pg_schema::TestSchema;

    hive_core::session_conformance_tests!(TestSchema::create("sessions").await);
}
