//! `hive message …`: publish a message to a topic or an agent's inbox, and
//! read a topic's retained history from an offset.

use clap::Subcommand;
use serde_json::{json, Value};

use super::output::{self, Out, Table};
use super::{encode, exit, json_arg};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum MessageCommand {
    /// Publishes one message to a topic (or, with --to, an agent's inbox).
    Publish {
        /// The topic, e.g. news.bees (leave out with --to).
        #[arg(required_unless_present = "to", conflicts_with = "to")]
        topic: Option<String>,
        /// An agent's name: the message goes to its inbox.
        #[arg(long)]
        to: Option<String>,
        /// What kind of message it is; receivers dispatch on it.
        #[arg(long)]
        kind: String,
        /// The content, as JSON.
        #[arg(long, default_value = "null")]
        payload: String,
        /// The sending agent.
        #[arg(long)]
        from: Option<String>,
    },
    /// Reads a topic's retained history, oldest first.
    Read {
        /// The topic.
        topic: String,
        /// From this offset [default: the oldest retained].
        #[arg(long)]
        from: Option<u64>,
        /// At most this many (1 to 1000).
        #[arg(long, default_value_t = 100)]
        limit: usize,
    },
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: MessageCommand,
) -> Result<i32, ClientError> {
    match command {
        MessageCommand::Publish {
            topic,
            to,
            kind,
            payload,
            from,
        } => {
            let mut body = json!({ "kind": kind, "payload": json_arg("--payload", &payload)? });
            if let Some(t) = topic {
                body["topic"] = json!(t);
            }
            if let Some(t) = to {
                body["to"] = json!(t);
            }
            if let Some(f) = from {
                body["from"] = json!(f);
            }
            let published = client.post("/messages", &body).await?;
            out.reply(&published, |v| {
                format!(
                    "published {} to {} at offset {}",
                    output::text(&v["id"]),
                    output::text(&v["topic"]),
                    output::text(&v["offset"])
                )
            });
        }
        MessageCommand::Read { topic, from, limit } => {
            let mut path = format!("/topics/{}/messages?limit={limit}", encode(&topic));
            if let Some(f) = from {
                path.push_str(&format!("&from={f}"));
            }
            let messages = client.get(&path).await?;
            if out.json {
                out.json_reply(&messages);
            } else {
                let mut table = Table::new(&["OFFSET", "PUBLISHED", "KIND", "FROM", "PAYLOAD"]);
                for m in messages.value.as_array().into_iter().flatten() {
                    table.row(vec![
                        output::text(&m["offset"]),
                        output::time(&m["published_at"]),
                        output::text(&m["message"]["kind"]),
                        output::text(&m["message"]["from"]),
                        compact(&m["message"]["payload"]),
                    ]);
                }
                out.table(&table);
            }
        }
    }
    Ok(exit::OK)
}

/// A payload on one line.
fn compact(v: &Value) -> String {
    v.to_string()
}
