//! A small program that depends on hive-core embedded-only
//! (`default-features = false, features = ["sqlite"]`): an agent and a task
//! on the embedded default, in memory. `./scripts/bench build` builds it
//! from clean in a fresh target directory to measure what an embedded-only
//! user compiles (crates and wall time); it is not a workspace member.

use hive_core::agent::agent_fn;
use hive_core::queue::{NewTask, QueueExt};
use hive_core::Hive;
use std::time::Duration;

#[tokio::main(flavor = "current_thread")]
async fn main() -> hive_core::Result<()> {
    let hive = Hive::builder().memory().without_context().build().await?;
    hive.spawn_agent(agent_fn("echo", ["echo"], |task, _cx| async move {
        Ok(task.payload)
    }))
    .await?;
    let task = hive
        .submit(NewTask::new("echo", serde_json::json!({"hi": 1})).requires(["echo"]))
        .await?;
    let done = hive
        .queue()
        .wait_until_final(task.id, Duration::from_secs(10))
        .await?;
    println!("{:?}", done.result);
    hive.shutdown().await;
    Ok(())
}
