//! `hive queue …`: the queue's retention — how long it keeps what has
//! ended (`retention`) — and a retention pass run now (`purge`).

use clap::Subcommand;

use super::exit;
use super::output::{self, Out};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum QueueCommand {
    /// How long finished tasks, dead letters and broker messages are kept,
    /// and how often retention runs.
    Retention,
    /// Runs a retention pass now: deletes what is past its age.
    Purge,
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: QueueCommand,
) -> Result<i32, ClientError> {
    match command {
        QueueCommand::Retention => {
            let settings = client.get("/queue/retention").await?;
            out.reply(&settings, |v| {
                let age = |key: &str| match v[key].as_f64() {
                    Some(secs) => format!("{} s", output::text(&serde_json::json!(secs))),
                    None => "forever".to_string(),
                };
                [
                    ("queue", output::text(&v["queue"])),
                    ("finished tasks", age("finished_secs")),
                    ("dead letters", age("dead_letters_secs")),
                    ("broker messages", age("messages_secs")),
                    ("every", format!("{} s", output::text(&v["interval_secs"]))),
                ]
                .iter()
                .map(|(label, value)| format!("{label:16}  {value}"))
                .collect::<Vec<_>>()
                .join("\n")
            });
        }
        QueueCommand::Purge => {
            let report = client.post("/queue/purge", &serde_json::json!({})).await?;
            out.reply(&report, |v| {
                format!(
                    "deleted {} finished tasks, {} dead letters, {} messages",
                    output::text(&v["finished"]),
                    output::text(&v["dead_letters"]),
                    output::text(&v["messages"])
                )
            });
        }
    }
    Ok(exit::OK)
}
