//! `hive dead-letters …`: list the dead-lettered tasks (newest first),
//! send one back to pending, purge some or all.

use clap::Subcommand;
use serde_json::json;

use super::output::{self, Out};
use super::task::describe;
use super::{encode, exit};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum DeadLetterCommand {
    /// Lists dead-lettered tasks, newest first.
    List {
        /// At most this many (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Skips this many of the newest first.
        #[arg(long, default_value_t = 0)]
        offset: u64,
    },
    /// Sends a dead-lettered task back to pending with a fresh attempt
    /// budget.
    Retry {
        /// Its id.
        id: String,
    },
    /// Deletes dead-lettered tasks: those named, or with --all every one.
    Purge {
        /// The tasks to purge.
        #[arg(required_unless_present = "all", conflicts_with = "all")]
        ids: Vec<String>,
        /// Purges every dead-lettered task.
        #[arg(long)]
        all: bool,
    },
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: DeadLetterCommand,
) -> Result<i32, ClientError> {
    match command {
        DeadLetterCommand::List { limit, offset } => {
            let page = client
                .get(&format!("/dead-letters?limit={limit}&offset={offset}"))
                .await?;
            if out.json {
                out.json_reply(&page);
            } else {
                let table = dead_letter_table(page.value.as_array());
                if table.is_empty() {
                    out.line("no dead-lettered tasks");
                } else {
                    out.table(&table);
                }
            }
        }
        DeadLetterCommand::Retry { id } => {
            let task = client
                .post(&format!("/dead-letters/{}/retry", encode(&id)), &json!({}))
                .await?;
            out.reply(&task, describe);
        }
        DeadLetterCommand::Purge { ids, all } => {
            let body = if all {
                json!({})
            } else {
                json!({ "ids": ids })
            };
            let purged = client.post("/dead-letters/purge", &body).await?;
            out.reply(&purged, |v| {
                format!(
                    "purged {} dead-lettered task(s)",
                    output::text(&v["purged"])
                )
            });
        }
    }
    Ok(exit::OK)
}

/// Dead-lettered tasks with the error that put each one here.
fn dead_letter_table(tasks: Option<&Vec<serde_json::Value>>) -> output::Table {
    let mut table = output::Table::new(&["ID", "TYPE", "ATTEMPTS", "FINISHED", "ERROR"]);
    for t in tasks.into_iter().flatten() {
        table.row(vec![
            output::text(&t["id"]),
            output::text(&t["task_type"]),
            output::text(&t["attempts"]),
            output::time(&t["finished_at"]),
            output::text(&t["error"]),
        ]);
    }
    table
}
