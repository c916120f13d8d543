//! The hive's retention loop: it purges what the queue's retention lets go
//! on its timer, says so on the event feed, stops with the hive, and two
//! hives sharing Redis and Postgres purge one queue together, each task
//! once.

use std::sync::Arc;
use std::time::Duration;

use hive_core::agent::agent_fn;
use hive_core::conformance::{service_url, unique_name};
use hive_core::events::{EventFilter, Watch};
use hive_core::queue::{
    ClaimRequest, NewTask, QueueConfig, QueueExt, TaskRetention, TaskStatus, WorkerId,
};
use hive_core::{Error, Hive};
use serde_json::json;

/// Tasks go as soon as they finish.
const AT_ONCE: TaskRetention = TaskRetention {
    finished: Some(Duration::ZERO),
    dead_letters: Some(Duration::ZERO),
};

/// Waits until `id` is gone from `hive`'s queue, for up to ten seconds.
async fn until_gone(hive: &Hive, id: hive_core::queue::TaskId) {
    let until = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        match hive.queue().get(id).await {
            Err(Error::NotFound { .. }) => return,
            Ok(task) if tokio::time::Instant::now() >= until => {
                panic!("task {id} is still there: {:?}", task.status)
            }
            Ok(_) => tokio::time::sleep(Duration::from_millis(20)).await,
            Err(e) => panic!("get: {e}"),
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_purges_finished_tasks_and_says_so() {
    let hive = Hive::builder()
        .memory()
        .without_context()
        .task_retention(AT_ONCE)
        .retention_interval(Duration::from_millis(50))
        .build()
        .await
        .expect("build");
    let mut feed = hive
        .events()
        .subscribe(
            EventFilter::patterns(["queue.expired"]).expect("filter"),
            None,
        )
        .await
        .expect("subscribe");
    hive.spawn_agent(agent_fn("echo", ["echo"], |task, _cx| async move {
        Ok(task.payload)
    }))
    .await
    .expect("spawn");
    let id = hive
        .submit(NewTask::new("echo", json!({"n": 1})).requires(["echo"]))
        .await
        .expect("submit")
        .id;
    until_gone(&hive, id).await;
    let event = tokio::time::timeout(Duration::from_secs(10), feed.next())
        .await
        .expect("an event in time")
        .expect("the feed is open");
    let Watch::Event(event) = event else {
        panic!("expected an event, got {event:?}");
    };
    assert_eq!(event.kind, "queue.expired");
    assert_eq!(event.subject, "default");
    assert_eq!(event.data, json!({"finished": 1, "dead_letters": 0}));
    hive.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_loop_stops_with_the_hive_and_a_zero_interval_runs_none() {
    for (interval, shut_down) in [(Duration::from_millis(20), true), (Duration::ZERO, false)] {
        let hive = Hive::builder()
            .memory()
            .without_context()
            .task_retention(AT_ONCE)
            .retention_interval(interval)
            .build()
            .await
            .expect("build");
        if shut_down {
            hive.shutdown().await;
        }
        let q = hive.queue();
        let id = q
            .submit(NewTask::new("t", json!({})))
            .await
            .expect("submit")
            .id;
        let lease = q
            .claim(&ClaimRequest::new(WorkerId::random("t")))
            .await
            .expect("claim")
            .pop()
            .expect("a task");
        q.complete(lease.key(), json!(null))
            .await
            .expect("complete");
        tokio::time::sleep(Duration::from_millis(300)).await;
        assert_eq!(
            q.get(id).await.expect("still there").status,
            TaskStatus::Completed,
            "interval {interval:?}, shut down: {shut_down}"
        );
        if !shut_down {
            hive.shutdown().await;
        }
    }
}

/// Two processes' hives on one Redis and one Postgres both run the loop:
/// every task is purged once, and the feed they share counts each once.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hives_sharing_stores_purge_each_task_once() {
    let (Some(redis), Some(pg)) = (
        service_url("HIVE_TEST_REDIS_URL"),
        service_url("HIVE_TEST_DATABASE_URL"),
    ) else {
        return;
    };
    let queue = unique_name("retention");
    let open = || async {
        Arc::new(
            Hive::builder()
                .memory()
                .redis(&redis)
                .postgres(&pg)
                .without_context()
                .queue_config(QueueConfig::named(&queue))
                .task_retention(AT_ONCE)
                .retention_interval(Duration::from_millis(30))
                .build()
                .await
                .expect("build"),
        )
    };
    let (a, b) = (open().await, open().await);
    let mut feed = a
        .events()
        .subscribe(
            EventFilter::patterns(["queue.expired"]).expect("filter"),
            None,
        )
        .await
        .expect("subscribe");
    const TASKS: u64 = 60;
    let w = ClaimRequest::new(WorkerId::random("t")).max(10);
    let mut ids = Vec::new();
    for n in 0..TASKS {
        let hive = if n % 2 == 0 { &a } else { &b };
        ids.push(
            hive.submit(NewTask::new("t", json!({ "n": n })))
                .await
                .expect("submit")
                .id,
        );
    }
    let mut done = 0;
    while done < TASKS {
        for lease in a.queue().claim(&w).await.expect("claim") {
            b.queue()
                .complete(lease.key(), json!(null))
                .await
                .expect("complete");
            done += 1;
        }
    }
    for id in ids {
        until_gone(&a, id).await;
    }
    let mut counted = 0;
    while counted < TASKS {
        let watch = tokio::time::timeout(Duration::from_secs(10), feed.next())
            .await
            .expect("events in time")
            .expect("the feed is open");
        if let Watch::Event(event) = watch {
            counted += event.data["finished"].as_u64().expect("a count");
        }
    }
    assert_eq!(counted, TASKS);
    assert!(
        tokio::time::timeout(Duration::from_millis(300), feed.next())
            .await
            .is_err(),
        "no task is counted twice"
    );
    assert_eq!(a.queue().stats().await.expect("stats").total(), 0);
    a.shutdown().await;
    b.shutdown().await;
}
