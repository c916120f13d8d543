//! hive-core's integration tests: one binary, one module per subject.

mod queue_postgres;
mod queue_sqlite;
