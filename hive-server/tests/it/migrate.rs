//! `hive migrate` through the real binary: `--dry-run` lists what a fresh
//! database lacks and changes nothing, a run applies it, a second run finds
//! nothing pending; a database written by a newer Agent Hive (a migration
//! version this binary does not have) is refused by `hive migrate` and by
//! `hive serve` with one clear message, and left exactly as it was — on
//! the embedded file and on Postgres.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use hive_core::conformance::service_url;
use hive_core::storage::schema::SchemaSet;
use serde_json::Value;
use sqlx::{Connection, Executor};

use super::backup::{arg, bytes, hive, Database, Run};
use super::binary::free_port;

/// The versions of `set`'s migrations listed under `key` ("applied",
/// "pending") of the one schema of `set` in a `--json` answer.
fn versions(answer: &Value, set: SchemaSet, key: &str) -> Vec<i64> {
    answer["schemas"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|s| s["set"] == set.name())
        .flat_map(|s| s[key].as_array().cloned().unwrap_or_default())
        .filter_map(|m| m["version"].as_i64())
        .collect()
}

/// Every version this binary has in `set`.
fn all(set: SchemaSet) -> Vec<i64> {
    set.migrations().iter().map(|m| m.version).collect()
}

/// Runs `hive migrate <store args>` in its three steps — a dry run, a run,
/// a second run — and checks each against `sets`; `exists` says whether
/// the store exists, for the dry run's promise to create nothing.
async fn check_migrate(dir: &Path, store: &[&str], sets: &[SchemaSet], exists: &dyn Fn() -> bool) {
    let existed = exists();
    let with = |extra: &[&str]| {
        let mut args = vec!["migrate"];
        args.extend(store);
        args.extend(extra);
        args.into_iter().map(String::from).collect::<Vec<_>>()
    };
    let run = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        hive(dir, &args).await
    };

    let dry = run(with(&["--dry-run", "--json"])).await.ok().json();
    assert_eq!(dry["dry_run"], true);
    assert_eq!(dry["applied"], serde_json::json!([]));
    for set in sets {
        assert_eq!(versions(&dry, *set, "pending"), all(*set), "{set}: {dry}");
        assert!(versions(&dry, *set, "applied").is_empty(), "{set}: {dry}");
    }
    assert_eq!(exists(), existed, "the dry run created the store");
    let people = run(with(&["--dry-run"])).await.ok();
    assert!(
        people.stdout.contains("pending (dry run: nothing applied)")
            && people.stdout.contains("VERSION"),
        "{people:?}"
    );

    let applied = run(with(&["--json"])).await.ok().json();
    let expected: Vec<i64> = sets.iter().flat_map(|set| all(*set)).collect();
    let got: Vec<i64> = applied["applied"]
        .as_array()
        .into_iter()
        .flatten()
        .filter_map(|m| m["version"].as_i64())
        .collect();
    assert_eq!(got, expected, "{applied}");

    let again: Run = run(with(&[])).await.ok();
    assert!(again.stdout.contains("nothing pending"), "{again:?}");
    let again = run(with(&["--json"])).await.ok().json();
    for set in sets {
        assert_eq!(
            versions(&again, *set, "applied"),
            all(*set),
            "{set}: {again}"
        );
        assert!(
            versions(&again, *set, "pending").is_empty(),
            "{set}: {again}"
        );
    }
}

/// `hive serve <args>` on a free port, expected to refuse to start: its
/// exit code and stderr. A server that starts after all is killed after
/// 60 s and fails the test.
async fn refused_serve(dir: &Path, args: &[&str]) -> (i32, String) {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hive"));
    cmd.current_dir(dir)
        .arg("serve")
        .args(["--addr", &format!("127.0.0.1:{}", free_port())])
        .args(args)
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    for var in [
        "HIVE_CONFIG",
        "HIVE_DB",
        "HIVE_REDIS_URL",
        "HIVE_DATABASE_URL",
        "HIVE_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    tokio::task::spawn_blocking(move || {
        let mut child = cmd.spawn().expect("start hive serve");
        let until = Instant::now() + Duration::from_secs(60);
        loop {
            if let Some(status) = child.try_wait().expect("wait") {
                let out = child.wait_with_output().expect("output");
                return (
                    status.code().unwrap_or(-1),
                    String::from_utf8_lossy(&out.stderr).into_owned(),
                );
            }
            if Instant::now() > until {
                let _ = child.kill();
                panic!("hive serve started on a database from a newer binary");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    })
    .await
    .expect("join")
}

/// Checks that `hive migrate` (both modes) and `hive serve` refuse the
/// store with `message`.
async fn check_refused(dir: &Path, store: &[&str], serve: &[&str], message: &str) {
    for extra in [&[][..], &["--dry-run"][..]] {
        let mut args = vec!["migrate"];
        args.extend(store);
        args.extend(extra);
        let run = hive(dir, &args).await;
        assert_eq!(run.code, 1, "{run:?}");
        assert!(run.stderr.contains(message), "{message:?} not in {run:?}");
    }
    let (code, stderr) = refused_serve(dir, serve).await;
    assert_ne!(code, 0, "{stderr}");
    assert!(stderr.contains(message), "{message:?} not in {stderr}");
}

#[tokio::test]
async fn migrate_lists_applies_and_then_finds_nothing_pending_on_the_embedded_file() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hive.db");
    check_migrate(
        dir.path(),
        &["--db", arg(&db)],
        &[SchemaSet::Embedded],
        &|| db.exists(),
    )
    .await;
}

#[tokio::test]
async fn an_embedded_file_from_a_newer_binary_is_refused_and_left_as_it_was() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hive.db");
    hive(dir.path(), &["migrate", "--db", arg(&db)]).await.ok();
    let options = sqlx::sqlite::SqliteConnectOptions::new().filename(&db);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("open");
    conn.execute(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES (9999, 'from a newer binary', 1, x'00', 0)",
    )
    .await
    .expect("insert");
    conn.close().await.expect("close");
    let before = bytes(&db);

    let message = format!(
        "{} was written by a newer Agent Hive (schema 9999, this binary knows up to {}): use \
         that binary, or restore a backup",
        db.display(),
        SchemaSet::Embedded.newest()
    );
    check_refused(
        dir.path(),
        &["--db", arg(&db)],
        &["--db", arg(&db)],
        &message,
    )
    .await;
    assert!(bytes(&db) == before, "the refused file was changed");
    let wal = dir.path().join("hive.db-wal");
    assert!(
        std::fs::metadata(&wal).map_or(true, |m| m.len() == 0),
        "the refused file's write-ahead log holds writes"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn on_postgres_migrate_covers_both_sets_and_a_newer_database_is_refused() {
    let (Some(admin), Some(redis)) = (
        service_url("HIVE_TEST_DATABASE_URL"),
        service_url("HIVE_TEST_REDIS_URL"),
    ) else {
        return;
    };
    let database = Database::create(&admin, "hive_migrate").await;
    let dir = tempfile::tempdir().expect("dir");
    let url = database.url.clone();
    let exists = || false;
    check_migrate(
        dir.path(),
        &["--postgres", &url],
        &[SchemaSet::Postgres, SchemaSet::PostgresContext],
        &exists,
    )
    .await;

    let mut conn = sqlx::PgConnection::connect(&url).await.expect("connect");
    let newer = SchemaSet::Postgres.newest() + 1;
    sqlx::query(
        "INSERT INTO _sqlx_migrations (version, description, success, checksum, execution_time) \
         VALUES ($1, 'from a newer binary', true, '\\x00', 0)",
    )
    .bind(newer)
    .execute(&mut conn)
    .await
    .expect("insert");
    let count = "SELECT count(*) FROM _sqlx_migrations";
    let rows: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    let message = format!(
        "the Postgres database {} was written by a newer Agent Hive (schema {newer}, this binary \
         knows up to {})",
        database.name,
        SchemaSet::Postgres.newest()
    );
    let db = dir.path().join("hive.db");
    let serve = ["--db", arg(&db), "--postgres", &url, "--redis", &redis];
    check_refused(dir.path(), &["--postgres", &url], &serve, &message).await;
    let after: i64 = sqlx::query_scalar(count)
        .fetch_one(&mut conn)
        .await
        .expect("count");
    assert_eq!(after, rows, "the refused database was changed");
    conn.close().await.expect("close");
    database.drop_now().await;
}
