//! The prompt-registry conformance suite on Postgres.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test works
//! in a schema of its own, dropped at the end.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::conformance::prompts::PromptHarness;
use hive_core::prompt::postgres::PostgresPromptRegistry;
use hive_core::prompt::PromptRegistry;

use crate::pg_schema::TestSchema;

#[async_trait]
impl PromptHarness for TestSchema {
    async fn open(&self) -> Arc<dyn PromptRegistry> {
        Arc::new(
            PostgresPromptRegistry::connect(self.pool())
                .await
                .expect("open postgres prompt registry"),
        )
    }

    async fn finish(&self) {
        self.drop_schema().await;
    }
}

mod conformance {
    use crate::pg_schema::TestSchema;

    hive_core::prompt_conformance_tests!(TestSchema::create("prompts").await);
}
