//! Agents in separate processes sharing one store: an agent killed with
//! SIGKILL is declared dead within the heartbeat window and its task is
//! finished by an agent of another process; two processes split one
//! queue's tasks, none done twice.
//!
//! Each runs on the embedded default (two processes on one SQLite file) and
//! on Redis + Postgres when `HIVE_TEST_REDIS_URL` and
//! `HIVE_TEST_DATABASE_URL` are set (`./scripts/test` sets them).

use std::collections::BTreeMap;
use std::str::FromStr;
use std::time::{Duration, Instant};

use hive_core::agent::{self, AgentId, AgentStatus};
use hive_core::conformance::{service_url, unique_name};
use hive_core::queue::{self, NewTask, QueueConfig, QueueExt, TaskId, TaskStatus};
use serde_json::json;

use crate::Process;

/// The stores to run on: (agents' store argument, queue URL, registry URL).
fn stores(dir: &std::path::Path) -> Vec<(String, String, String)> {
    let file = format!("sqlite://{}", dir.join("hive.db").display());
    let mut all = vec![(file.clone(), file.clone(), file)];
    if let (Some(redis), Some(pg)) = (
        service_url("HIVE_TEST_REDIS_URL"),
        service_url("HIVE_TEST_DATABASE_URL"),
    ) {
        all.push((format!("{redis}|{pg}"), redis, pg));
    }
    all
}

fn ready_ids(line: &str) -> Vec<AgentId> {
    line.split_whitespace()
        .skip(1)
        .map(|s| AgentId::from_str(s).expect("agent id"))
        .collect()
}

/// Heartbeats every 200 ms: dead after 4 missed (800 ms), swept every
/// 100 ms. The leases are 60 s, so only the dead-agent path can hand the
/// task over within the bounds asserted here.
const DEAD_AFTER: Duration = Duration::from_millis(800);

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_killed_agent_is_declared_dead_and_its_task_finished_elsewhere() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (store, queue_url, registry_url) in stores(dir.path()) {
        let name = unique_name("sigkill");
        let q = queue::open(&queue_url, QueueConfig::named(name.clone()))
            .await
            .expect("open queue");
        let registry = agent::open(&registry_url).await.expect("open registry");

        let victim = Process::agents(&[&store, &name, &format!("{name}-victim"), "1"]);
        let victim_id = ready_ids(&victim.expect_line("ready", Duration::from_secs(60)))[0];
        let hang = q
            .submit(NewTask::new("hang", json!({})).requires(["work"]))
            .await
            .expect("submit")
            .id;
        let line = victim.expect_line("started ", Duration::from_secs(30));
        assert!(line.contains(&hang.to_string()), "{line}");

        let survivor = Process::agents(&[&store, &name, &format!("{name}-survivor"), "1"]);
        let survivor_id = ready_ids(&survivor.expect_line("ready", Duration::from_secs(60)))[0];
        victim.kill();
        let killed = Instant::now();

        // Declared dead within the window: 4 missed heartbeats plus a sweep,
        // with slack for a loaded machine.
        let mut dead_after = None;
        while killed.elapsed() < Duration::from_secs(15) {
            let record = registry.get(victim_id).await.expect("victim record");
            if record.status == AgentStatus::Dead {
                dead_after = Some(killed.elapsed());
                break;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        let dead_after = dead_after.expect("the killed agent was never declared dead");
        assert!(
            dead_after <= DEAD_AFTER + Duration::from_secs(3),
            "{store}: declared dead after {dead_after:?}"
        );

        let done = q
            .wait_until_final(hang, Duration::from_secs(30))
            .await
            .expect("final");
        let finished_after = killed.elapsed();
        assert_eq!(done.status, TaskStatus::Completed, "{store}: {done:?}");
        assert_eq!(done.attempts, 2, "{store}: redelivered once");
        assert_eq!(
            done.worker.as_deref(),
            Some(survivor_id.worker_id().as_str()),
            "{store}: finished by the survivor"
        );
        assert!(
            finished_after < Duration::from_secs(30),
            "{store}: the 60 s lease did not have to run out ({finished_after:?})"
        );
        println!("{store}: dead after {dead_after:?}, task finished after {finished_after:?}");

        let (ok, lines) = survivor.finish(Duration::from_secs(30));
        assert!(ok && lines.iter().any(|l| l == "stopped"), "{lines:?}");
        assert_eq!(
            registry.get(survivor_id).await.expect("record").status,
            AgentStatus::Stopped
        );
        crate::forget_queue(&queue_url, &name).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_processes_split_one_queue_and_do_nothing_twice() {
    let dir = tempfile::tempdir().expect("tempdir");
    for (store, queue_url, _) in stores(dir.path()) {
        let name = unique_name("split");
        let q = queue::open(&queue_url, QueueConfig::named(name.clone()))
            .await
            .expect("open queue");
        // Nobody dies here: a process starved for a second by a loaded
        // machine must not be declared dead (its tasks would run twice).
        let one = Process::agents(&[&store, &name, &format!("{name}-one"), "3", "10000"]);
        let two = Process::agents(&[&store, &name, &format!("{name}-two"), "3", "10000"]);
        one.expect_line("ready", Duration::from_secs(60));
        two.expect_line("ready", Duration::from_secs(60));
        let ids: Vec<TaskId> = q
            .submit_batch(
                (0..150)
                    .map(|i| {
                        NewTask::new("job", json!({ "i": i, "sleep_ms": 5 })).requires(["work"])
                    })
                    .collect(),
            )
            .await
            .expect("submit")
            .iter()
            .map(|s| s.id)
            .collect();
        for id in &ids {
            let t = q
                .wait_until_final(*id, Duration::from_secs(60))
                .await
                .expect("final");
            assert_eq!(t.status, TaskStatus::Completed, "{store}: {t:?}");
            assert_eq!(
                t.attempts, 1,
                "{store}: nobody died, so nothing was redelivered"
            );
        }
        let (ok_one, lines_one) = one.finish(Duration::from_secs(30));
        let (ok_two, lines_two) = two.finish(Duration::from_secs(30));
        assert!(ok_one && ok_two, "{lines_one:?} {lines_two:?}");
        let mut runs: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for line in lines_one.iter().chain(&lines_two) {
            if let Some(rest) = line.strip_prefix("done ") {
                let mut words = rest.split_whitespace();
                let (Some(id), Some(agent)) = (words.next(), words.next()) else {
                    panic!("bad line {line:?}");
                };
                runs.entry(id.to_string())
                    .or_default()
                    .push(agent.to_string());
            }
        }
        assert_eq!(runs.len(), ids.len(), "{store}: every task ran");
        let twice: Vec<_> = runs.iter().filter(|(_, by)| by.len() > 1).collect();
        assert!(twice.is_empty(), "{store}: run twice: {twice:?}");
        let by_one = runs
            .values()
            .filter(|by| by[0].starts_with(&format!("{name}-one")))
            .count();
        println!(
            "{store}: process one ran {by_one}, process two {}",
            ids.len() - by_one
        );
        assert!(
            by_one > 0 && by_one < ids.len(),
            "{store}: both processes took tasks (one took {by_one} of {})",
            ids.len()
        );
        crate::forget_queue(&queue_url, &name).await;
    }
}
