//! The change-set-store conformance suite on Postgres.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test works
//! in a schema of its own, dropped at the end.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::change_sets::ChangeSetHarness;
use hive_core::selfmod::postgres::PostgresChangeSetStore;
use hive_core::selfmod::ChangeSetStore;

use crate::pg_schema::TestSchema;

#[async_trait]
impl ChangeSetHarness for TestSchema {
    async fn open(&self) -> Arc<dyn ChangeSetStore> {
        Arc::new(
            PostgresChangeSetStore::connect(self.pool())
                .await
                .expect("open postgres change-set store"),
        )
    }

    async fn finish(&self) {
        self.drop_schema().await;
    }
}

mod conformance {
    use crate::pg_schema::TestSchema;

    hive_core::change_set_conformance_tests!(TestSchema::create("change_sets").await);
}
