//! The experiment-store conformance suite on Postgres.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test works
//! in a schema of its own, dropped at the end.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::experiments::ExperimentHarness;
use hive_core::experiment::postgres::PostgresExperimentStore;
use hive_core::experiment::ExperimentStore;

use crate::pg_schema::TestSchema;

#[async_trait]
impl ExperimentHarness for TestSchema {
    async fn open(&self) -> Arc<dyn ExperimentStore> {
        Arc::new(
            PostgresExperimentStore::connect(self.pool())
                .await
                .expect("open postgres experiment store"),
        )
    }

    async fn finish(&self) {
        self.drop_schema().await;
    }
}

mod conformance {
    use crate::pg_schema::TestSchema;

    hive_core::experiment_conformance_tests!(TestSchema::create("experiments").await);
}
