//! `hive prompts …`: the prompt registry — an agent's versions and labels
//! (`list`), one version (`show`), a diff of two (`diff`), a new version
//! (`create`), a label moved (`label`) and its history (`history`).

use std::path::PathBuf;

use clap::Subcommand;
use serde_json::{json, Value};

use super::encode;
use super::exit;
use super::output::{self, Out};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum PromptCommand {
    /// An agent's versions (oldest first) and labels.
    List {
        /// The agent.
        agent: String,
    },
    /// One version, with its text.
    Show {
        /// The version's id.
        id: String,
    },
    /// The line diff from one version to another.
    Diff {
        /// The older version's id.
        from: String,
        /// The newer version's id.
        to: String,
    },
    /// Adds a version of an agent's prompt (the text from --text or
    /// --file).
    Create {
        /// The agent.
        agent: String,
        /// The prompt.
        #[arg(long, conflicts_with = "file", required_unless_present = "file")]
        text: Option<String>,
        /// A file holding the prompt.
        #[arg(long)]
        file: Option<PathBuf>,
        /// Who wrote it.
        #[arg(long)]
        author: String,
        /// The version it was derived from.
        #[arg(long)]
        parent: Option<String>,
        /// Why it was written.
        #[arg(long)]
        rationale: Option<String>,
    },
    /// Points an agent's label at a version (`production` needs
    /// --approved-by someone other than --by).
    Label {
        /// The agent.
        agent: String,
        /// The label (production, candidate, …).
        label: String,
        /// The version's id.
        version: String,
        /// Who moves it.
        #[arg(long)]
        by: String,
        /// Who approved (for a protected label).
        #[arg(long)]
        approved_by: Option<String>,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
    /// Every move of a label, oldest first.
    History {
        /// The agent.
        agent: String,
        /// The label.
        label: String,
    },
}

fn short(v: &Value) -> String {
    let s = output::text(v);
    s.chars().take(8).collect()
}

fn first_line(v: &Value, max: usize) -> String {
    let line = v.as_str().unwrap_or("").lines().next().unwrap_or("");
    if line.chars().count() > max {
        format!("{}…", line.chars().take(max).collect::<String>())
    } else {
        line.to_string()
    }
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: PromptCommand,
) -> Result<i32, ClientError> {
    match command {
        PromptCommand::List { agent } => {
            let reply = client.get(&format!("/prompts/{}", encode(&agent))).await?;
            if out.json {
                out.json_reply(&reply);
                return Ok(exit::OK);
            }
            let labels = reply.value["labels"]
                .as_array()
                .cloned()
                .unwrap_or_default();
            let mut table =
                output::Table::new(&["VERSION", "CREATED", "AUTHOR", "LABELS", "HASH", "TEXT"]);
            for v in reply.value["versions"]
                .as_array()
                .cloned()
                .unwrap_or_default()
            {
                let on: Vec<String> = labels
                    .iter()
                    .filter(|l| l["version"] == v["id"])
                    .map(|l| output::text(&l["name"]))
                    .collect();
                table.row(vec![
                    output::text(&v["id"]),
                    output::time(&v["created_at"]),
                    format!(
                        "{} ({})",
                        output::text(&v["author"]),
                        output::text(&v["author_kind"])
                    ),
                    on.join(","),
                    output::text(&v["hash"]).chars().take(19).collect(),
                    first_line(&v["text"], 50),
                ]);
            }
            if table.is_empty() {
                out.line(&format!("agent {agent:?} has no prompt versions"));
            } else {
                out.table(&table);
            }
        }
        PromptCommand::Show { id } => {
            let reply = client
                .get(&format!("/prompt-versions/{}", encode(&id)))
                .await?;
            out.reply(&reply, |v| {
                format!(
                    "version   {}\nagent     {}\nauthor    {} ({})\nparent    {}\ncreated   {}\nhash      {}\nrationale {}\n\n{}",
                    output::text(&v["id"]),
                    output::text(&v["agent"]),
                    output::text(&v["author"]),
                    output::text(&v["author_kind"]),
                    output::text(&v["parent"]),
                    output::time(&v["created_at"]),
                    output::text(&v["hash"]),
                    output::text(&v["rationale"]),
                    v["text"].as_str().unwrap_or("")
                )
            });
        }
        PromptCommand::Diff { from, to } => {
            let reply = client
                .get(&format!(
                    "/prompt-versions/{}/diff?to={}",
                    encode(&from),
                    encode(&to)
                ))
                .await?;
            out.reply(&reply, |v| {
                format!(
                    "--- {}\n+++ {}\n{}",
                    short(&v["from"]),
                    short(&v["to"]),
                    v["text"].as_str().unwrap_or("")
                )
            });
        }
        PromptCommand::Create {
            agent,
            text,
            file,
            author,
            parent,
            rationale,
        } => {
            let text = match (text, file) {
                (Some(t), _) => t,
                (None, Some(path)) => std::fs::read_to_string(&path)
                    .map_err(|e| ClientError(format!("cannot read {}: {e}", path.display())))?,
                (None, None) => return Err(ClientError("give --text or --file".into())),
            };
            let mut body = json!({ "text": text, "author": author });
            if let Some(p) = parent {
                body["parent"] = json!(p);
            }
            if let Some(r) = rationale {
                body["rationale"] = json!(r);
            }
            let reply = client
                .post(&format!("/prompts/{}", encode(&agent)), &body)
                .await?;
            out.reply(&reply, |v| {
                format!(
                    "version {} of {} ({})",
                    output::text(&v["id"]),
                    output::text(&v["agent"]),
                    output::text(&v["hash"])
                )
            });
        }
        PromptCommand::Label {
            agent,
            label,
            version,
            by,
            approved_by,
            reason,
        } => {
            let mut body = json!({ "version": version, "by": by });
            if let Some(a) = approved_by {
                body["approved_by"] = json!(a);
            }
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            let reply = client
                .put(
                    &format!("/prompts/{}/labels/{}", encode(&agent), encode(&label)),
                    &body,
                )
                .await?;
            out.reply(&reply, |v| {
                format!(
                    "{} of {} → {} (move {}{})",
                    output::text(&v["name"]),
                    output::text(&v["agent"]),
                    output::text(&v["version"]),
                    output::text(&v["moves"]),
                    if v["protected"] == json!(true) {
                        ", protected"
                    } else {
                        ""
                    }
                )
            });
        }
        PromptCommand::History { agent, label } => {
            let reply = client
                .get(&format!(
                    "/prompts/{}/labels/{}/history",
                    encode(&agent),
                    encode(&label)
                ))
                .await?;
            if out.json {
                out.json_reply(&reply);
                return Ok(exit::OK);
            }
            let mut table =
                output::Table::new(&["MOVE", "AT", "FROM", "TO", "BY", "APPROVED BY", "REASON"]);
            for m in reply.value.as_array().cloned().unwrap_or_default() {
                table.row(vec![
                    output::text(&m["seq"]),
                    output::time(&m["at"]),
                    short(&m["from"]),
                    short(&m["to"]),
                    output::text(&m["by"]),
                    output::text(&m["approved_by"]),
                    first_line(&m["reason"], 60),
                ]);
            }
            out.table(&table);
        }
    }
    Ok(exit::OK)
}
