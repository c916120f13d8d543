//! The proposal-store conformance suite on Postgres.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test works
//! in a schema of its own, dropped at the end.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::proposals::ProposalHarness;
use hive_core::meta::postgres::PostgresProposalStore;
use hive_core::meta::ProposalStore;

use crate::pg_schema::TestSchema;

#[async_trait]
impl ProposalHarness for TestSchema {
    async fn open(&self) -> Arc<dyn ProposalStore> {
        Arc::new(
            PostgresProposalStore::connect(self.pool())
                .await
                .expect("open postgres proposal store"),
        )
    }

    async fn finish(&self) {
        self.drop_schema().await;
    }
}

mod conformance {
    use crate::pg_schema::TestSchema;

    hive_core::proposal_conformance_tests!(TestSchema::create("proposals").await);
}
