//! `hive backup` and `hive restore` as an operator runs them, through the
//! real binary: a backup taken while `hive serve` takes tasks as fast as
//! clients send them holds every task acknowledged before it began and
//! restores into a file that passes SQLite's integrity check; a backup that
//! is damaged, incomplete or of an unknown format is refused, naming the
//! file, with nothing written; an existing target is replaced only with
//! `--force`, and never under a running server; a hive on Postgres is
//! dumped with `pg_dump` and restored with `pg_restore` into a fresh
//! database, its sessions and agents with it.

use std::collections::HashSet;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use hive_core::agent::AgentSpec;
use hive_core::conformance::service_url;
use hive_core::session::NewSession;
use hive_core::storage::schema::SchemaSet;
use hive_core::storage::EmbeddedFile;
use serde_json::{json, Value};
use sqlx::{Connection, Executor};

use super::binary::Server;

/// What one run of `hive` did.
#[derive(Debug)]
pub(super) struct Run {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl Run {
    /// Stdout as JSON (the run had `--json`).
    pub fn json(&self) -> Value {
        serde_json::from_str(&self.stdout)
            .unwrap_or_else(|e| panic!("stdout is not JSON ({e}): {self:?}"))
    }

    /// Panics unless the run succeeded.
    pub fn ok(self) -> Run {
        assert_eq!(self.code, 0, "{self:?}");
        self
    }
}

/// `hive <args>` in `dir`, with none of the caller's `HIVE_…` settings,
/// run to its end off the runtime's threads.
pub(super) async fn hive(dir: &Path, args: &[&str]) -> Run {
    let mut cmd = Command::new(env!("CARGO_BIN_EXE_hive"));
    cmd.current_dir(dir).args(args);
    for var in [
        "HIVE_CONFIG",
        "HIVE_DB",
        "HIVE_REDIS_URL",
        "HIVE_DATABASE_URL",
        "HIVE_NO_CONTEXT",
        "HIVE_PG_DUMP",
        "HIVE_PG_RESTORE",
        "HIVE_TOKEN",
    ] {
        cmd.env_remove(var);
    }
    let out = tokio::task::spawn_blocking(move || cmd.output().expect("run hive"))
        .await
        .expect("join");
    Run {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

/// A path as an argument.
pub(super) fn arg(path: &Path) -> &str {
    path.to_str().expect("UTF-8 path")
}

/// A file's bytes, to show it was not changed.
pub(super) fn bytes(path: &Path) -> Vec<u8> {
    std::fs::read(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// A Postgres database of its own on the test server, dropped by
/// [`Database::drop_now`].
pub(super) struct Database {
    admin: String,
    pub name: String,
    pub url: String,
}

impl Database {
    /// `CREATE DATABASE <prefix>_<uuid>` on the server of `admin`.
    pub async fn create(admin: &str, prefix: &str) -> Database {
        let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
        let mut conn = sqlx::PgConnection::connect(admin).await.expect("connect");
        conn.execute(format!("CREATE DATABASE {name}").as_str())
            .await
            .expect("create database");
        let _ = conn.close().await;
        let mut url = reqwest::Url::parse(admin).expect("url");
        url.set_path(&format!("/{name}"));
        Database {
            admin: admin.to_string(),
            name,
            url: url.to_string(),
        }
    }

    /// Drops it, whoever is still connected.
    pub async fn drop_now(self) {
        if let Ok(mut conn) = sqlx::PgConnection::connect(&self.admin).await {
            let _ = conn
                .execute(format!("DROP DATABASE IF EXISTS {} WITH (FORCE)", self.name).as_str())
                .await;
            let _ = conn.close().await;
        }
    }
}

/// The ids of acknowledged tasks, with when the acknowledgement came.
type Acked = Arc<Mutex<Vec<(String, Instant)>>>;

/// Submits tasks over HTTP from `clients` loops until `stop`, recording
/// the id of each one acknowledged (201) and when the answer came.
fn submit_until_stopped(
    base: &str,
    clients: usize,
    stop: Arc<AtomicBool>,
) -> (Acked, Vec<tokio::task::JoinHandle<()>>) {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let loops = (0..clients)
        .map(|client| {
            let (base, stop, acked) = (base.to_string(), stop.clone(), acked.clone());
            tokio::spawn(async move {
                let http = reqwest::Client::new();
                let mut n = 0u64;
                while !stop.load(Ordering::Relaxed) {
                    n += 1;
                    let sent = http
                        .post(format!("{base}/tasks"))
                        .json(&json!({ "type": "load", "payload": { "client": client, "n": n } }))
                        .send()
                        .await;
                    let Ok(res) = sent else { continue };
                    if res.status() != reqwest::StatusCode::CREATED {
                        continue;
                    }
                    let body: Value = res.json().await.expect("json");
                    let at = Instant::now();
                    let id = body["task"]["id"].as_str().expect("id").to_string();
                    acked.lock().expect("lock").push((id, at));
                }
            })
        })
        .collect();
    (acked, loops)
}

/// The ids of the tasks in the embedded file at `path`.
async fn task_ids(path: &Path) -> HashSet<String> {
    let options = sqlx::sqlite::SqliteConnectOptions::new()
        .filename(path)
        .read_only(true);
    let mut conn = sqlx::SqliteConnection::connect_with(&options)
        .await
        .expect("open");
    let ids: Vec<String> = sqlx::query_scalar("SELECT id FROM hive_tasks")
        .fetch_all(&mut conn)
        .await
        .expect("select");
    let _ = conn.close().await;
    ids.into_iter().collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_under_write_load_holds_every_task_acknowledged_before_it_began() {
    let dir = tempfile::tempdir().expect("dir");
    let db = dir.path().join("hive.db");
    let server = Server::start_with(&["--db", arg(&db)], &[]).await;
    let stop = Arc::new(AtomicBool::new(false));
    let (acked, loops) = submit_until_stopped(&server.base, 4, stop.clone());
    let until = Instant::now() + Duration::from_secs(60);
    while acked.lock().expect("lock").len() < 2000 {
        assert!(Instant::now() < until, "the server took too few tasks");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }

    let backup = dir.path().join("backup");
    let started = Instant::now();
    let run = hive(
        dir.path(),
        &["backup", "--db", arg(&db), "--to", arg(&backup), "--json"],
    )
    .await;
    let finished = Instant::now();
    // The load goes on a little after the backup, then stops.
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::Relaxed);
    for submitter in loops {
        submitter.await.expect("submitter");
    }
    let manifest = run.ok().json();
    assert_eq!(manifest["format"], "agent-hive-backup");
    assert_eq!(manifest["format_version"], 1);
    assert_eq!(manifest["hive_version"], env!("CARGO_PKG_VERSION"));
    assert_eq!(manifest["files"][0]["name"], "hive.db");
    assert_eq!(manifest["files"][0]["store"], "embedded");
    let newest = SchemaSet::Embedded.newest();
    assert_eq!(
        manifest["schema"]["embedded"]
            .as_array()
            .and_then(|v| v.last()),
        Some(&json!(newest)),
        "{manifest}"
    );
    assert!(manifest.get("redis").is_none(), "{manifest}");
    let mode = std::fs::metadata(backup.join("hive.db"))
        .expect("copy")
        .permissions()
        .mode();
    assert_eq!(mode & 0o077, 0, "the copy is readable by others: {mode:o}");

    let acked = acked.lock().expect("lock").clone();
    let before: Vec<&String> = acked
        .iter()
        .filter(|(_, at)| *at < started)
        .map(|(id, _)| id)
        .collect();
    let during = acked
        .iter()
        .filter(|(_, at)| *at >= started && *at <= finished)
        .count();
    assert!(
        during > 0,
        "no task was acknowledged while the backup ran: it did not run under load"
    );

    let restored_dir = tempfile::tempdir().expect("dir");
    let restored = restored_dir.path().join("fresh").join("restored.db");
    let run = hive(
        dir.path(),
        &["restore", "--from", arg(&backup), "--db", arg(&restored)],
    )
    .await
    .ok();
    assert!(run.stdout.contains("integrity check ok"), "{run:?}");
    let problems = EmbeddedFile::new(&restored)
        .integrity_problems()
        .await
        .expect("integrity check");
    assert!(problems.is_empty(), "{problems:?}");
    let ids = task_ids(&restored).await;
    let missing: Vec<&&String> = before.iter().filter(|id| !ids.contains(**id)).collect();
    assert!(
        missing.is_empty(),
        "{} of the {} tasks acknowledged before the backup began are not in it: {:?}",
        missing.len(),
        before.len(),
        &missing[..missing.len().min(5)]
    );
    eprintln!(
        "backup of {} tasks ({} bytes) under load took {:?}; {} tasks were acknowledged \
         meanwhile",
        ids.len(),
        manifest["files"][0]["bytes"],
        finished - started,
        during
    );
    assert!(server.terminate().is_some_and(|s| s.success()));
}

/// A small backup of an embedded hive in `dir/backup`.
async fn small_backup(dir: &Path) -> PathBuf {
    let db = dir.join("source.db");
    hive(dir, &["migrate", "--db", arg(&db)]).await.ok();
    let backup = dir.join("backup");
    hive(dir, &["backup", "--db", arg(&db), "--to", arg(&backup)])
        .await
        .ok();
    backup
}

/// Copies the backup directory `from` to `to`.
fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).expect("mkdir");
    for entry in std::fs::read_dir(from).expect("read dir") {
        let entry = entry.expect("entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy");
    }
}

/// One way a backup can be damaged, and what the refusal must say.
struct Damage {
    case: &'static str,
    /// The file of the backup that is damaged.
    file: &'static str,
    damage: fn(&Path),
    says: &'static [&'static str],
}

fn flip(path: &Path) {
    let mut data = bytes(path);
    let middle = data.len() / 2;
    data[middle] ^= 0xff;
    std::fs::write(path, data).expect("write");
}

fn grow(path: &Path) {
    let mut data = bytes(path);
    data.push(0);
    std::fs::write(path, data).expect("write");
}

fn remove(path: &Path) {
    std::fs::remove_file(path).expect("remove");
}

fn newer_format(path: &Path) {
    let mut manifest: Value = serde_json::from_slice(&bytes(path)).expect("json");
    manifest["format_version"] = json!(2);
    std::fs::write(path, manifest.to_string()).expect("write");
}

fn newer_schema(path: &Path) {
    let mut manifest: Value = serde_json::from_slice(&bytes(path)).expect("json");
    manifest["schema"]["embedded"]
        .as_array_mut()
        .expect("versions")
        .push(json!(9999));
    std::fs::write(path, manifest.to_string()).expect("write");
}

#[tokio::test]
async fn a_damaged_incomplete_or_unknown_backup_is_refused_by_name_and_nothing_is_written() {
    let dir = tempfile::tempdir().expect("dir");
    let pristine = small_backup(dir.path()).await;
    let cases = [
        Damage {
            case: "a flipped byte",
            file: "hive.db",
            damage: flip,
            says: &["hive.db", "SHA-256"],
        },
        Damage {
            case: "a byte more",
            file: "hive.db",
            damage: grow,
            says: &["hive.db", "bytes"],
        },
        Damage {
            case: "a missing file",
            file: "hive.db",
            damage: remove,
            says: &["hive.db", "missing"],
        },
        Damage {
            case: "no manifest",
            file: "manifest.json",
            damage: remove,
            says: &["manifest.json", "missing"],
        },
        Damage {
            case: "an unknown format",
            file: "manifest.json",
            damage: newer_format,
            says: &["manifest.json", "format version 2"],
        },
        Damage {
            case: "a newer schema",
            file: "manifest.json",
            damage: newer_schema,
            says: &["newer schema", "9999"],
        },
    ];
    for (
        n,
        Damage {
            case,
            file,
            damage,
            says,
        },
    ) in cases.into_iter().enumerate()
    {
        let backup = dir.path().join(format!("damaged-{n}"));
        copy_dir(&pristine, &backup);
        damage(&backup.join(file));
        let target_dir = dir.path().join(format!("target-{n}"));
        let target = target_dir.join("hive.db");
        let run = hive(
            dir.path(),
            &["restore", "--from", arg(&backup), "--db", arg(&target)],
        )
        .await;
        assert_eq!(run.code, 1, "{case}: {run:?}");
        for word in says.iter().chain(&["nothing was restored"]) {
            assert!(run.stderr.contains(word), "{case}: no {word:?} in {run:?}");
        }
        assert!(!target_dir.exists(), "{case}: the restore wrote something");
    }
}

#[tokio::test]
async fn a_restore_replaces_an_existing_file_only_with_force_and_never_under_a_server() {
    let dir = tempfile::tempdir().expect("dir");
    let backup = small_backup(dir.path()).await;
    let target = dir.path().join("target.db");
    std::fs::write(&target, b"precious").expect("write");
    let restore = |force: bool| {
        let mut args = vec!["restore", "--from", arg(&backup), "--db", arg(&target)];
        if force {
            args.push("--force");
        }
        let dir = dir.path().to_path_buf();
        async move { hive(&dir, &args).await }
    };
    let run = restore(false).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("already exists") && run.stderr.contains("--force"),
        "{run:?}"
    );
    assert_eq!(bytes(&target), b"precious");

    // A stale write-ahead log of the old file must not be replayed into
    // the restored one.
    std::fs::write(dir.path().join("target.db-wal"), b"old log").expect("write");
    restore(true).await.ok();
    assert!(!dir.path().join("target.db-wal").exists());
    assert!(EmbeddedFile::new(&target)
        .integrity_problems()
        .await
        .expect("check")
        .is_empty());

    let server = Server::start_with(&["--db", arg(&target)], &[]).await;
    let run = restore(true).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is running on"), "{run:?}");
    assert!(server.terminate().is_some_and(|s| s.success()));
    // Refused before it copied anything: no half-restored file beside it.
    let leftovers: Vec<_> = std::fs::read_dir(dir.path())
        .expect("read dir")
        .filter_map(|e| e.ok())
        .filter(|e| e.file_name().to_string_lossy().contains("restoring"))
        .collect();
    assert!(leftovers.is_empty(), "{leftovers:?}");
}

#[tokio::test]
async fn a_backup_goes_only_into_a_new_or_empty_directory() {
    let dir = tempfile::tempdir().expect("dir");
    let backup = small_backup(dir.path()).await;
    let db = dir.path().join("source.db");
    let run = hive(
        dir.path(),
        &["backup", "--db", arg(&db), "--to", arg(&backup)],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("is not empty"), "{run:?}");
    let missing = dir.path().join("nope.db");
    let elsewhere = dir.path().join("elsewhere");
    let run = hive(
        dir.path(),
        &["backup", "--db", arg(&missing), "--to", arg(&elsewhere)],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(run.stderr.contains("no embedded file at"), "{run:?}");
    assert!(!elsewhere.exists() && !missing.exists());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hive_on_postgres_is_dumped_and_restored_into_a_fresh_database() {
    let (Some(admin), Some(pg_bin)) = (
        service_url("HIVE_TEST_DATABASE_URL"),
        service_url("HIVE_PG_BIN"),
    ) else {
        return;
    };
    let pg_dump = PathBuf::from(&pg_bin).join("pg_dump");
    let pg_restore = PathBuf::from(&pg_bin).join("pg_restore");
    let source = Database::create(&admin, "hive_backup_src").await;
    let target = Database::create(&admin, "hive_restore").await;
    let dir = tempfile::tempdir().expect("dir");

    // A hive on Postgres, its context store's schema included.
    hive(dir.path(), &["migrate", "--postgres", &source.url])
        .await
        .ok();
    let sessions = hive_core::session::open(&source.url)
        .await
        .expect("sessions");
    let session = sessions
        .create(NewSession::new("standup"))
        .await
        .expect("session");
    let registry = hive_core::agent::open(&source.url).await.expect("registry");
    let agent = registry
        .register(AgentSpec::new("ana", "llm", ["summarise"]))
        .await
        .expect("agent");
    drop((sessions, registry));

    // A pg_dump older than the server is refused, and nothing is left.
    let fake = dir.path().join("old").join("pg_dump");
    std::fs::create_dir_all(fake.parent().expect("dir")).expect("mkdir");
    std::fs::write(&fake, "#!/bin/sh\necho 'pg_dump (PostgreSQL) 9.6.24'\n").expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let refused = dir.path().join("refused");
    let run = hive(
        dir.path(),
        &[
            "backup",
            "--postgres",
            &source.url,
            "--pg-dump",
            arg(&fake),
            "--to",
            arg(&refused),
        ],
    )
    .await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr
            .contains("version 9, older than the Postgres server")
            && run.stderr.contains("--pg-dump"),
        "{run:?}"
    );
    assert!(!refused.exists());

    let backup = dir.path().join("backup");
    let manifest = hive(
        dir.path(),
        &[
            "backup",
            "--postgres",
            &source.url,
            "--redis",
            "redis://127.0.0.1:1",
            "--pg-dump",
            arg(&pg_dump),
            "--to",
            arg(&backup),
            "--json",
        ],
    )
    .await
    .ok()
    .json();
    assert_eq!(manifest["files"][0]["name"], "postgres.dump", "{manifest}");
    assert_eq!(manifest["files"][0]["store"], "postgres");
    assert_eq!(
        manifest["schema"]["postgres"]
            .as_array()
            .and_then(|v| v.last()),
        Some(&json!(SchemaSet::Postgres.newest())),
        "{manifest}"
    );
    assert_eq!(
        manifest["schema"]["postgres_context"],
        json!([SchemaSet::PostgresContext.newest()])
    );
    assert!(
        manifest["redis"]
            .as_str()
            .is_some_and(|note| note.contains("not copied") && note.contains("redis-cli --rdb")),
        "{manifest}"
    );
    assert!(!run_shows_password(&manifest.to_string(), &source.url));

    let restore = |url: &str, force: bool| {
        let mut args = vec![
            "restore".to_string(),
            "--from".into(),
            arg(&backup).into(),
            "--postgres".into(),
            url.into(),
            "--pg-restore".into(),
            arg(&pg_restore).into(),
        ];
        if force {
            args.push("--force".into());
        }
        let dir = dir.path().to_path_buf();
        async move {
            let args: Vec<&str> = args.iter().map(String::as_str).collect();
            hive(&dir, &args).await
        }
    };
    let run = restore(&target.url, false).await.ok();
    assert!(run.stdout.contains(&target.name), "{run:?}");
    let sessions = hive_core::session::open(&target.url)
        .await
        .expect("sessions");
    assert_eq!(
        sessions.get(session.id).await.expect("session").name,
        "standup"
    );
    let registry = hive_core::agent::open(&target.url).await.expect("registry");
    assert_eq!(registry.get(agent.id).await.expect("agent").name, "ana");
    drop((sessions, registry));

    // The target now holds a hive: replacing it takes --force.
    let run = restore(&target.url, false).await;
    assert_eq!(run.code, 1, "{run:?}");
    assert!(
        run.stderr.contains("already holds a hive") && run.stderr.contains("--force"),
        "{run:?}"
    );
    restore(&target.url, true).await.ok();

    source.drop_now().await;
    target.drop_now().await;
}

/// Whether `text` shows the password of `url`, if it has one.
fn run_shows_password(text: &str, url: &str) -> bool {
    reqwest::Url::parse(url)
        .ok()
        .and_then(|u| u.password().map(str::to_string))
        .is_some_and(|password| text.contains(&password))
}
