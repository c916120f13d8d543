//! Retention from `hive serve`'s settings: `retain_*_secs` in hive.toml
//! reach the queue and the broker (`GET /queue/retention`, `hive queue
//! retention`), and a pass run now (`POST /queue/purge`, `hive queue
//! purge`) deletes a completed task past its age while a younger one stays.
//! The rules of what a purge keeps (dependents, dead letters, limits) are
//! the queue's conformance clauses, run on every backend in hive-core.

use std::process::Command;
use std::time::Duration;

use serde_json::{json, Value};

use super::declared::{run_task, serve_with, webhook};

fn hive(base: &str, args: &[&str]) -> Value {
    let out = Command::new(env!("CARGO_BIN_EXE_hive"))
        .args(args)
        .args(["--server", base, "--json"])
        .env_remove("HIVE_TOKEN")
        .output()
        .expect("hive");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("json")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn retention_settings_reach_the_queue_and_a_purge_deletes_only_what_is_old() {
    let dir = tempfile::tempdir().expect("dir");
    let (hook, calls) = webhook().await;
    calls.store(1, std::sync::atomic::Ordering::SeqCst); // no 503 first
    let toml = format!(
        "retain_finished_secs = 1.5\nretain_dead_letters_secs = 0\nretain_messages_secs = 3600\n\
         retention_interval_secs = 0\n\n\
         [[agents]]\nname = \"hook\"\nkind = \"http\"\nurl = \"{hook}\"\ncapabilities = [\"kept\"]\n"
    );
    let server = serve_with(dir.path(), &toml, dir.path(), &[]).await;
    let base = server.base.clone();

    let settings = hive(&base, &["queue", "retention"]);
    assert_eq!(
        settings,
        json!({
            "queue": "default", "finished_secs": 1.5, "dead_letters_secs": null,
            "messages_secs": 3600.0, "interval_secs": 0.0
        })
    );

    let old = run_task(&base, "kept", json!({"n": 1}), Duration::from_secs(30)).await;
    assert_eq!(old["status"], "completed", "{old}");
    tokio::time::sleep(Duration::from_millis(1600)).await;
    let young = run_task(&base, "kept", json!({"n": 2}), Duration::from_secs(30)).await;
    assert_eq!(young["status"], "completed", "{young}");

    let report = hive(&base, &["queue", "purge"]);
    assert_eq!(report["finished"], 1, "{report}");
    assert_eq!(report["dead_letters"], 0, "{report}");
    let get = |id: &str| {
        let url = format!("{base}/tasks/{id}");
        async move { reqwest::get(url).await.expect("get").status().as_u16() }
    };
    assert_eq!(
        get(old["id"].as_str().expect("id")).await,
        404,
        "the old task is gone"
    );
    assert_eq!(
        get(young["id"].as_str().expect("id")).await,
        200,
        "the young one stays"
    );
    assert!(server.terminate().is_some_and(|s| s.success()));
}
