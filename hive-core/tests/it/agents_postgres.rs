//! The agent-registry conformance suite on Postgres.
//!
//! Needs `HIVE_TEST_DATABASE_URL` (set by `./scripts/test`). Each test works
//! in a schema of its own (its connections' `search_path`), dropped at the
//! end: a sweep acts on the whole table, and tests share one database.

use std::str::FromStr;
use std::sync::Arc;

use async_trait::async_trait;
use hive_core::agent::postgres::PostgresAgentRegistry;
use hive_core::agent::AgentRegistry;
use hive_core::conformance::agents::AgentHarness;
use hive_core::conformance::{service_url, unique_name};
use sqlx::postgres::{PgConnectOptions, PgPoolOptions};

struct Postgres {
    url: String,
    schema: String,
}

impl Postgres {
    async fn from_env() -> Option<Self> {
        let url = service_url("HIVE_TEST_DATABASE_URL")?;
        let h = Postgres {
            url,
            schema: unique_name("agents").replace('-', "_"),
        };
        h.execute(&format!("CREATE SCHEMA {}", h.schema)).await;
        Some(h)
    }

    async fn execute(&self, sql: &str) {
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.url)
            .await
            .expect("connect");
        sqlx::raw_sql(sql).execute(&pool).await.expect(sql);
        pool.close().await;
    }
}

#[async_trait]
impl AgentHarness for Postgres {
    async fn open(&self) -> Arc<dyn AgentRegistry> {
        let options = PgConnectOptions::from_str(&self.url)
            .expect("url")
            .options([("search_path", self.schema.as_str())]);
        let pool = PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with(options);
        Arc::new(
            PostgresAgentRegistry::connect(pool)
                .await
                .expect("open postgres registry"),
        )
    }

    async fn finish(&self) {
        self.execute(&format!("DROP SCHEMA {} CASCADE", self.schema))
            .await;
    }
}

mod conformance {
    use super::Postgres;

    hive_core::agent_conformance_tests!(Postgres::from_env().await);
}
