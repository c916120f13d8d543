//! Two cooperating agents on the embedded default: a researcher and a
//! writer work through a dependency chain of tasks and talk to each other
//! in a session whose conversation is printed at the end.
//!
//! Run with: `cargo run -p examples --example agents`
//!
//! The same program on Redis + Postgres (pgvector), shared by any number of
//! processes: `HIVE_REDIS_URL=redis://127.0.0.1:6379
//! HIVE_DATABASE_URL=postgres://… cargo run -p examples --example agents`.
//!
//! The chain: two `research` tasks (researcher) → one `draft` that needs
//! both (writer) → one `review` of the draft (researcher). The researcher
//! tells the writer when its notes are ready; the writer answers. Each
//! message is recorded in the session.

use std::time::{Duration, Instant};

use anyhow::{Context, Result};
use hive_core::agent::{agent_fn, AgentContext};
use hive_core::context::NewEntry;
use hive_core::queue::{NewTask, QueueConfig, QueueExt, TaskFailure, TaskId};
use hive_core::session::NewSession;
use hive_core::Hive;
use serde_json::{json, Value};

fn failure(e: hive_core::Error) -> TaskFailure {
    TaskFailure::retryable(e.to_string())
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt().with_env_filter("warn").init();
    let run = format!("{}", std::process::id());
    let mut builder = Hive::builder().queue_config(QueueConfig::named(format!("agents-{run}")));
    builder = match (
        std::env::var("HIVE_REDIS_URL"),
        std::env::var("HIVE_DATABASE_URL"),
    ) {
        (Ok(redis), Ok(pg)) => builder.redis(redis).postgres(pg),
        _ => {
            let dir = std::env::temp_dir().join("hive-agents-example");
            std::fs::create_dir_all(&dir)?;
            builder.embedded(dir.join("hive.db"))
        }
    };
    let hive = builder.build().await.context("starting the hive")?;
    let (researcher, writer) = (format!("researcher-{run}"), format!("writer-{run}"));
    let session = hive
        .create_session(NewSession::new("article").agents([researcher.clone(), writer.clone()]))
        .await?;
    let sid = session.id;

    let to_writer = writer.clone();
    hive.spawn_agent(agent_fn(
        &researcher,
        ["research"],
        move |task, cx: AgentContext| {
            let to_writer = to_writer.clone();
            async move {
                let cx = cx.in_session(sid);
                match task.task_type.as_str() {
                    "research" => {
                        let topic = task.payload["topic"].as_str().unwrap_or("?").to_string();
                        let notes = format!("{topic}: three facts worth knowing");
                        cx.store_context(NewEntry::text(notes.clone()))
                            .await
                            .map_err(failure)?;
                        cx.send_message(&to_writer, "notes-ready", json!({ "topic": topic }))
                            .await
                            .map_err(failure)?;
                        Ok(json!({ "notes": notes }))
                    }
                    _ => {
                        let draft = cx.dependency_results(&task).await.map_err(failure)?;
                        let words = draft[0]["draft"]
                            .as_str()
                            .unwrap_or("")
                            .split_whitespace()
                            .count();
                        Ok(json!({ "review": format!("approved ({words} words)") }))
                    }
                }
            }
        },
    ))
    .await?;

    let to_researcher = researcher.clone();
    hive.spawn_agent(
        agent_fn(&writer, ["write"], |task, cx| async move {
            let notes = cx.dependency_results(&task).await.map_err(failure)?;
            let lines: Vec<&str> = notes.iter().filter_map(|n| n["notes"].as_str()).collect();
            let recalled = cx
                .search_context("facts worth knowing", 2)
                .await
                .map_err(failure)?;
            Ok(json!({
                "draft": format!("An article on {}.", lines.join(" and ")),
                "recalled": recalled.len(),
            }))
        })
        .on_message(move |delivery, cx| {
            let to_researcher = to_researcher.clone();
            async move {
                let topic = delivery.message.payload["topic"].clone();
                cx.send_message(&to_researcher, "thanks", json!({ "topic": topic }))
                    .await
                    .map(|_| ())
                    .map_err(failure)
            }
        }),
    )
    .await?;

    let a = TaskId::new();
    let b = TaskId::new();
    let draft = TaskId::new();
    let review = TaskId::new();
    let started = Instant::now();
    hive.submit_batch(vec![
        NewTask::new("research", json!({ "topic": "bees" }))
            .with_id(a)
            .requires(["research"]),
        NewTask::new("research", json!({ "topic": "hives" }))
            .with_id(b)
            .requires(["research"]),
        NewTask::new("draft", Value::Null)
            .with_id(draft)
            .requires(["write"])
            .depends_on([a, b]),
        NewTask::new("review", Value::Null)
            .with_id(review)
            .requires(["research"])
            .depends_on([draft]),
    ])
    .await?;
    for id in [a, b, draft, review] {
        let t = hive
            .queue()
            .wait_until_final(id, Duration::from_secs(30))
            .await?;
        println!(
            "{:<9} {:<9} by {:<22} {}",
            t.task_type,
            t.status,
            t.worker.unwrap_or_default(),
            t.result.unwrap_or_default()
        );
    }
    println!("chain done in {} ms", started.elapsed().as_millis());

    // The writer's replies travel through the broker; give them a moment.
    let mut said = Vec::new();
    for _ in 0..100 {
        said = hive.sessions().conversation(sid, 0, 100).await?;
        if said.len() >= 4 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    println!("session {} ({} messages):", session.name, said.len());
    for e in &said {
        println!(
            "  #{} {} -> {}: {}",
            e.seq,
            e.from_agent,
            e.to_agent.as_deref().unwrap_or("all"),
            e.content
        );
    }
    hive.sessions().close(sid).await?;
    let report = hive.shutdown().await;
    println!("stopped {} agents: {:?}", report.agents, report.tasks);
    Ok(())
}
