//! hive-core's integration tests: one binary, one module per subject.

mod agents_postgres;
mod agents_sqlite;
mod broker_redis;
mod broker_sqlite;
mod cli_agent;
mod context_engine;
mod context_postgres;
mod context_retrieval;
mod context_sqlite;
mod fleet;
mod history_postgres;
mod history_recorder;
mod history_sqlite;
mod llm_agent;
mod llm_anthropic;
mod llm_openai;
mod openai;
mod pg_schema;
mod private_redis;
mod queue_postgres;
mod queue_redis;
mod queue_sqlite;
mod sessions_postgres;
mod sessions_sqlite;
mod worker;
