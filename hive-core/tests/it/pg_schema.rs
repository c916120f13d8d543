//! A Postgres schema of a test's own: tests that act on whole tables (a
//! history purge, a registry sweep) share one database without seeing each
//! other. Pools opened with [`TestSchema::pool`] set `search_path` to it.

use std::str::FromStr;

use hive_core::conformance::{service_url, unique_name};
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};

/// A schema created for one test, dropped by [`TestSchema::drop_schema`].
pub struct TestSchema {
    url: String,
    name: String,
}

impl TestSchema {
    /// Creates a schema named after `prefix`; `None` (after printing why)
    /// when no database is configured.
    pub async fn create(prefix: &str) -> Option<Self> {
        let url = service_url("HIVE_TEST_DATABASE_URL")?;
        let s = TestSchema {
            url,
            name: unique_name(prefix).replace('-', "_"),
        };
        s.execute(&format!("CREATE SCHEMA {}", s.name)).await;
        Some(s)
    }

    /// Runs `sql` on the database (not inside the schema).
    pub async fn execute(&self, sql: &str) {
        // A pool, not a bare connection: `&mut PgConnection` as an executor
        // trips the compiler inside an `async_trait` method.
        let pool = PgPoolOptions::new()
            .max_connections(1)
            .connect(&self.url)
            .await
            .expect("connect");
        sqlx::raw_sql(sql).execute(&pool).await.expect(sql);
        pool.close().await;
    }

    /// A new lazy pool whose connections work in the schema, as another
    /// process would have.
    pub fn pool(&self) -> PgPool {
        let options = PgConnectOptions::from_str(&self.url)
            .expect("url")
            .options([("search_path", self.name.as_str())]);
        PgPoolOptions::new()
            .max_connections(2)
            .connect_lazy_with(options)
    }

    /// A URL whose connections work in the schema (then in `public`, where
    /// the `vector` type lives), for code that opens its own pools.
    pub fn url(&self) -> String {
        let sep = if self.url.contains('?') { '&' } else { '?' };
        format!(
            "{}{sep}options=-c%20search_path%3D{}%2Cpublic",
            self.url, self.name
        )
    }

    /// Drops the schema and everything in it.
    pub async fn drop_schema(&self) {
        self.execute(&format!("DROP SCHEMA {} CASCADE", self.name))
            .await;
    }
}
