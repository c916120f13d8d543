//! `hive session …`: list sessions (newest first), show one with its
//! conversation, open one, close one.

use clap::Subcommand;
use serde_json::{json, Value};

use super::output::{self, Out, Table};
use super::{encode, exit, json_arg};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum SessionCommand {
    /// Lists sessions, newest first.
    List {
        /// Only sessions in this status (open, closed).
        #[arg(long)]
        status: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
    /// Prints a session and its conversation.
    Show {
        /// Its id.
        id: String,
    },
    /// Opens a session.
    Create {
        /// Its name.
        name: String,
        /// The names of its agents, comma-separated, in join order.
        #[arg(long, value_delimiter = ',')]
        agents: Vec<String>,
        /// Its initial shared state, a JSON object.
        #[arg(long)]
        state: Option<String>,
    },
    /// Closes a session.
    Close {
        /// Its id.
        id: String,
    },
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: SessionCommand,
) -> Result<i32, ClientError> {
    match command {
        SessionCommand::List { status, limit } => {
            let mut path = format!("/sessions?limit={limit}");
            if let Some(s) = status {
                path.push_str(&format!("&status={}", encode(&s)));
            }
            let sessions = client.get(&path).await?;
            if out.json {
                out.json_reply(&sessions);
            } else {
                let mut table = Table::new(&["ID", "NAME", "STATUS", "AGENTS", "CREATED"]);
                for s in sessions.value.as_array().into_iter().flatten() {
                    table.row(vec![
                        output::text(&s["id"]),
                        output::text(&s["name"]),
                        output::text(&s["status"]),
                        output::text(&s["agents"]),
                        output::time(&s["created_at"]),
                    ]);
                }
                out.table(&table);
            }
        }
        SessionCommand::Show { id } => {
            let got = client.get(&format!("/sessions/{}", encode(&id))).await?;
            out.reply(&got, |v| {
                let mut text = describe(&v["session"]);
                let said = v["conversation"].as_array().map_or(0, Vec::len);
                text.push_str(&format!("\nconversation ({said} entries):"));
                for entry in v["conversation"].as_array().into_iter().flatten() {
                    text.push_str(&format!("\n  {}", conversation_line(entry)));
                }
                text
            });
        }
        SessionCommand::Create {
            name,
            agents,
            state,
        } => {
            let mut body = json!({ "name": name, "agents": agents });
            if let Some(s) = state {
                body["state"] = json_arg("--state", &s)?;
            }
            let created = client.post("/sessions", &body).await?;
            out.reply(&created, describe);
        }
        SessionCommand::Close { id } => {
            let closed = client
                .post(&format!("/sessions/{}/close", encode(&id)), &json!({}))
                .await?;
            out.reply(&closed, describe);
        }
    }
    Ok(exit::OK)
}

/// One session, a field a line.
fn describe(s: &Value) -> String {
    let mut lines = vec![
        ("id", output::text(&s["id"])),
        ("name", output::text(&s["name"])),
        ("status", output::text(&s["status"])),
        ("agents", output::text(&s["agents"])),
        ("created", output::time(&s["created_at"])),
    ];
    if !s["closed_at"].is_null() {
        lines.push(("closed", output::time(&s["closed_at"])));
    }
    lines.push(("state", s["state"].to_string()));
    lines
        .iter()
        .map(|(label, value)| format!("{label:7}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One conversation entry on a line: `#seq from → to: content`.
fn conversation_line(entry: &Value) -> String {
    let to = entry["to_agent"]
        .as_str()
        .map(|t| format!(" → {t}"))
        .unwrap_or_default();
    let content = match &entry["content"] {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    format!(
        "#{} {}{to}: {content}",
        output::text(&entry["seq"]),
        output::text(&entry["from_agent"])
    )
}
