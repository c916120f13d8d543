//! The agent-registry conformance suite on Postgres.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test works
//! in a schema of its own, dropped at the end: a sweep acts on the whole
//! table, and tests share one database.

use std::sync::Arc;

use async_trait::async_trait;
use hive_core::agent::postgres::PostgresAgentRegistry;
use hive_core::agent::AgentRegistry;
use hive_core::conformance::agents::AgentHarness;

use crate::pg_schema::TestSchema;

#[async_trait]
impl AgentHarness for TestSchema {
    async fn open(&self) -> Arc<dyn AgentRegistry> {
        Arc::new(
            PostgresAgentRegistry::connect(self.pool())
                .await
                .expect("open postgres registry"),
        )
    }

    async fn finish(&self) {
        self.drop_schema().await;
    }
}

mod conformance {
    use crate::pg_schema::TestSchema;

    hive_core::agent_conformance_tests!(TestSchema::create("agents").await);
}
