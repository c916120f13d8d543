//! What a configuration lacks is said before anything starts
//! ([`Error::Setup`]): a Postgres without pgvector for the context store,
//! Postgres without Redis. A hive without the context store runs on a
//! Postgres without pgvector end to end.
//!
//! `HIVE_TEST_NOVECTOR_DATABASE_URL` (set by `./scripts/test` through
//! `scripts/pg-without-vector`) is a database where the `vector` extension
//! is not available.

use std::time::Duration;

use hive_core::agent::agent_fn;
use hive_core::conformance::{service_url, unique_name};
use hive_core::queue::{NewTask, QueueConfig, QueueExt, TaskStatus};
use hive_core::{Error, Hive, Setup};
use serde_json::json;

fn builder(redis: &str, postgres: &str, queue: &str) -> hive_core::hive::HiveBuilder {
    Hive::builder()
        .memory()
        .redis(redis)
        .postgres(postgres)
        .queue_config(QueueConfig::named(queue))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_postgres_without_pgvector_refuses_the_context_store_by_name() {
    let (Some(redis), Some(pg)) = (
        service_url("HIVE_TEST_REDIS_URL"),
        service_url("HIVE_TEST_NOVECTOR_DATABASE_URL"),
    ) else {
        return;
    };
    let queue = unique_name("novector");
    let err = builder(&redis, &pg, &queue)
        .build()
        .await
        .expect_err("no pgvector");
    assert!(
        matches!(err, Error::Setup(Setup::PgvectorMissing)),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(
        message.starts_with("pgvector is missing — install it, or run without the context store")
            && message.contains("without_context()"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn without_the_context_store_a_postgres_without_pgvector_runs_agents() {
    let (Some(redis), Some(pg)) = (
        service_url("HIVE_TEST_REDIS_URL"),
        service_url("HIVE_TEST_NOVECTOR_DATABASE_URL"),
    ) else {
        return;
    };
    let queue = unique_name("novector");
    let hive = builder(&redis, &pg, &queue)
        .without_context()
        .build()
        .await
        .expect("a hive without context");
    assert!(hive.context().is_none());
    let kind = unique_name("echo");
    hive.spawn_agent(agent_fn(
        &unique_name("echoer"),
        [kind.as_str()],
        |task, _ctx| async move { Ok(task.payload) },
    ))
    .await
    .expect("spawn");
    let id = hive
        .submit(NewTask::new(&kind, json!({"hi": 1})).requires([kind.as_str()]))
        .await
        .expect("submit")
        .id;
    let done = hive
        .queue()
        .wait_until_final(id, Duration::from_secs(30))
        .await
        .expect("final");
    assert_eq!(done.status, TaskStatus::Completed);
    assert_eq!(done.result, Some(json!({"hi": 1})));
    hive.shutdown().await;
}

#[tokio::test]
async fn postgres_without_redis_says_a_broker_is_missing() {
    // Refused before any store is opened: the URL need not answer.
    let err = Hive::builder()
        .memory()
        .postgres("postgres://nobody@127.0.0.1:1/none")
        .build()
        .await
        .expect_err("no broker");
    assert!(matches!(err, Error::Setup(Setup::BrokerMissing)), "{err:?}");
    assert!(err.to_string().contains(".redis(url)"), "{err}");
}

#[tokio::test]
async fn an_embedded_file_that_cannot_be_used_is_named() {
    let dir = tempfile::tempdir().expect("dir");
    let not_sqlite = dir.path().join("notes.db");
    std::fs::write(
        &not_sqlite,
        "these are my notes, not a database\n".repeat(200),
    )
    .expect("write");
    let err = Hive::embedded(&not_sqlite).await.expect_err("not sqlite");
    let message = err.to_string();
    assert!(
        message.contains(&not_sqlite.display().to_string())
            && message.contains("not a SQLite database, or it is corrupt"),
        "{message}"
    );
    // Nothing was written over the user's file.
    assert!(std::fs::read_to_string(&not_sqlite)
        .expect("read")
        .starts_with("these are my notes"));

    let nowhere = dir.path().join("no-such-dir").join("hive.db");
    let err = Hive::embedded(&nowhere).await.expect_err("no dir");
    let message = err.to_string();
    assert!(
        message.contains(&nowhere.display().to_string()) && message.contains("check that it"),
        "{message}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_redis_that_evicts_keys_is_refused_unless_allowed() {
    use fred::interfaces::ClientLike;
    let set_policy = |client: fred::prelude::Client, policy: &'static str| async move {
        client
            .custom::<fred::types::Value, _>(
                fred::cmd!("CONFIG"),
                vec!["SET", "maxmemory-policy", policy],
            )
            .await
            .expect("CONFIG SET");
    };
    let Some(server) = crate::private_redis::Server::start().await else {
        return;
    };
    let client = crate::private_redis::connect(&server.url())
        .await
        .expect("connect");
    set_policy(client.clone(), "allkeys-lru").await;
    let err = Hive::builder()
        .memory()
        .redis(server.url())
        .without_context()
        .build()
        .await
        .expect_err("an evicting Redis is refused");
    assert!(
        matches!(
            err,
            Error::Setup(Setup::RedisEvicts {
                policy: "allkeys-lru"
            })
        ),
        "{err:?}"
    );
    let message = err.to_string();
    assert!(message.contains("noeviction"), "{message}");
    assert!(message.contains("allkeys-lru"), "{message}");
    assert!(message.contains("allow_redis_eviction"), "{message}");

    // Accepting the risk opens it, and it works.
    let hive = Hive::builder()
        .memory()
        .redis(server.url())
        .without_context()
        .allow_redis_eviction(true)
        .build()
        .await
        .expect("allowed");
    hive.submit(NewTask::new("echo", json!({})))
        .await
        .expect("submit");
    hive.shutdown().await;

    // Back to noeviction: opened without being asked.
    set_policy(client.clone(), "noeviction").await;
    let hive = Hive::builder()
        .memory()
        .redis(server.url())
        .without_context()
        .build()
        .await
        .expect("noeviction opens");
    hive.shutdown().await;
    let _ = client.quit().await;
}
