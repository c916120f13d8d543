//! `hive proposals …`: what the meta-agent proposes — list, show one with
//! its evidence, approve, reject — and `hive meta run <agent>`, one run of
//! the meta-agent on demand.

use clap::Subcommand;
use serde_json::{json, Value};

use super::encode;
use super::exit;
use super::output::{self, Out};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum ProposalCommand {
    /// Proposals, newest first.
    List {
        /// Only this agent's.
        #[arg(long)]
        agent: Option<String>,
        /// Only in this status (proposed, experimenting, approved,
        /// rejected, refused).
        #[arg(long)]
        status: Option<String>,
    },
    /// One proposal with its evidence (the tasks it learned from, the
    /// metrics when written).
    Show {
        /// The proposal's id.
        id: String,
    },
    /// Approves a proposal waiting for it.
    Approve {
        /// The proposal's id.
        id: String,
        /// Who approves (not its author).
        #[arg(long)]
        by: String,
    },
    /// Rejects a proposal (a prompt being tried has its experiment
    /// stopped).
    Reject {
        /// The proposal's id.
        id: String,
        /// Who rejects.
        #[arg(long)]
        by: String,
        /// Why.
        #[arg(long)]
        reason: Option<String>,
    },
}

#[derive(Subcommand, Debug)]
pub(crate) enum MetaCommand {
    /// Runs the meta-agent once on an agent's failures (the server's
    /// `[meta_agent]`).
    Run {
        /// The agent.
        agent: String,
    },
}

fn row(p: &Value) -> Vec<String> {
    vec![
        output::text(&p["id"]),
        output::time(&p["created_at"]),
        output::text(&p["agent"]),
        output::text(&p["kind"]),
        output::text(&p["risk"]),
        output::text(&p["status"]),
        output::text(&p["summary"]),
    ]
}

const HEADERS: &[&str] = &[
    "ID", "CREATED", "AGENT", "KIND", "RISK", "STATUS", "SUMMARY",
];

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: ProposalCommand,
) -> Result<i32, ClientError> {
    match command {
        ProposalCommand::List { agent, status } => {
            let mut path = "/proposals?limit=100".to_string();
            if let Some(a) = agent {
                path.push_str(&format!("&agent={}", encode(&a)));
            }
            if let Some(s) = status {
                path.push_str(&format!("&status={}", encode(&s)));
            }
            let reply = client.get(&path).await?;
            if out.json {
                out.json_reply(&reply);
                return Ok(exit::OK);
            }
            let mut table = output::Table::new(HEADERS);
            for p in reply.value.as_array().cloned().unwrap_or_default() {
                table.row(row(&p));
            }
            if table.is_empty() {
                out.line("no proposals");
            } else {
                out.table(&table);
            }
        }
        ProposalCommand::Show { id } => {
            let reply = client.get(&format!("/proposals/{}", encode(&id))).await?;
            out.reply(&reply, |p| {
                let tasks: Vec<String> = p["evidence"]["tasks"]
                    .as_array()
                    .cloned()
                    .unwrap_or_default()
                    .iter()
                    .map(output::text)
                    .collect();
                format!(
                    "proposal   {}\nagent      {}\nkind       {} (risk {})\nstatus     {}\nsummary    {}\n\
                     rationale  {}\nexpected   {}\nversion    {} (from {})\nexperiment {}\nchange     {}\n\
                     decided    {} {}\nevidence   {} tasks: {}",
                    output::text(&p["id"]),
                    output::text(&p["agent"]),
                    output::text(&p["kind"]),
                    output::text(&p["risk"]),
                    output::text(&p["status"]),
                    output::text(&p["summary"]),
                    output::text(&p["rationale"]),
                    output::text(&p["expected_effect"]),
                    output::text(&p["prompt_version"]),
                    output::text(&p["parent_version"]),
                    output::text(&p["experiment"]),
                    output::text(&p["change"]),
                    output::text(&p["decided_by"]),
                    output::text(&p["decision_reason"]),
                    tasks.len(),
                    tasks.join(", ")
                )
            });
        }
        ProposalCommand::Approve { id, by } => {
            let reply = client
                .post(
                    &format!("/proposals/{}/approve", encode(&id)),
                    &json!({ "by": by }),
                )
                .await?;
            out.reply(&reply, |p| {
                format!(
                    "proposal {} {}",
                    output::text(&p["id"]),
                    output::text(&p["status"])
                )
            });
        }
        ProposalCommand::Reject { id, by, reason } => {
            let mut body = json!({ "by": by });
            if let Some(r) = reason {
                body["reason"] = json!(r);
            }
            let reply = client
                .post(&format!("/proposals/{}/reject", encode(&id)), &body)
                .await?;
            out.reply(&reply, |p| {
                format!(
                    "proposal {} {}",
                    output::text(&p["id"]),
                    output::text(&p["status"])
                )
            });
        }
    }
    Ok(exit::OK)
}

pub(crate) async fn meta(
    client: &ApiClient,
    out: &Out,
    command: MetaCommand,
) -> Result<i32, ClientError> {
    match command {
        MetaCommand::Run { agent } => {
            let reply = client
                .post("/meta/runs", &json!({ "agent": agent }))
                .await?;
            if out.json {
                out.json_reply(&reply);
                return Ok(exit::OK);
            }
            let r = &reply.value;
            out.line(&format!(
                "run {} on {}: {} model call(s), {} tokens{}",
                output::text(&r["run"]),
                output::text(&r["agent"]),
                output::text(&r["calls"]),
                output::text(&r["tokens"]),
                r["note"]
                    .as_str()
                    .map(|n| format!(" — {n}"))
                    .unwrap_or_default()
            ));
            let mut table = output::Table::new(HEADERS);
            for p in r["proposals"].as_array().cloned().unwrap_or_default() {
                table.row(row(&p));
            }
            if !table.is_empty() {
                out.table(&table);
            }
        }
    }
    Ok(exit::OK)
}
