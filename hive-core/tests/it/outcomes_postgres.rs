//! The outcome-store conformance suite on Postgres.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test works
//! in a schema of its own, dropped at the end.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::outcomes::OutcomeHarness;
use hive_core::outcome::postgres::PostgresOutcomeStore;
use hive_core::outcome::OutcomeStore;

use crate::pg_schema::TestSchema;

#[async_trait]
impl OutcomeHarness for TestSchema {
    async fn open(&self) -> Arc<dyn OutcomeStore> {
        Arc::new(
            PostgresOutcomeStore::connect(self.pool())
                .await
                .expect("open postgres outcome store"),
        )
    }

    async fn finish(&self) {
        self.drop_schema().await;
    }
}

mod conformance {
    use crate::pg_schema::TestSchema;

    hive_core::outcome_conformance_tests!(TestSchema::create("outcomes").await);
}
