//! `hive agent …`: list the fleet, show one agent, terminate one wherever
//! it runs.

use clap::Subcommand;

use super::output::{self, Out, Table};
use super::{encode, exit};
use crate::client::{ApiClient, ClientError};

#[derive(Subcommand, Debug)]
pub(crate) enum AgentCommand {
    /// Lists the fleet's agents.
    List {
        /// Only agents in this status (healthy, unhealthy, dead, stopped).
        #[arg(long)]
        status: Option<String>,
        /// Only agents of this kind.
        #[arg(long)]
        kind: Option<String>,
        /// Only agents with this capability.
        #[arg(long)]
        capability: Option<String>,
    },
    /// Prints one agent.
    Get {
        /// Its id.
        id: String,
    },
    /// Terminates an agent, wherever it runs.
    Terminate {
        /// Its id.
        id: String,
    },
}

pub(crate) async fn run(
    client: &ApiClient,
    out: &Out,
    command: AgentCommand,
) -> Result<i32, ClientError> {
    match command {
        AgentCommand::List {
            status,
            kind,
            capability,
        } => {
            let query: Vec<String> = [
                ("status", status),
                ("kind", kind),
                ("capability", capability),
            ]
            .into_iter()
            .filter_map(|(k, v)| v.map(|v| format!("{k}={}", encode(&v))))
            .collect();
            let path = if query.is_empty() {
                "/agents".to_string()
            } else {
                format!("/agents?{}", query.join("&"))
            };
            let agents = client.get(&path).await?;
            if out.json {
                out.json_reply(&agents);
            } else {
                let mut table = Table::new(&[
                    "ID",
                    "NAME",
                    "KIND",
                    "STATUS",
                    "LOAD",
                    "CAPABILITIES",
                    "LAST HEARTBEAT",
                ]);
                for a in agents.value.as_array().into_iter().flatten() {
                    table.row(vec![
                        output::text(&a["id"]),
                        output::text(&a["name"]),
                        output::text(&a["kind"]),
                        output::text(&a["status"]),
                        output::text(&a["load"]),
                        output::text(&a["capabilities"]),
                        output::time(&a["last_heartbeat"]),
                    ]);
                }
                out.table(&table);
            }
        }
        AgentCommand::Get { id } => {
            let agent = client.get(&format!("/agents/{}", encode(&id))).await?;
            out.reply(&agent, describe);
        }
        AgentCommand::Terminate { id } => {
            let agent = client.delete(&format!("/agents/{}", encode(&id))).await?;
            out.reply(&agent, describe);
        }
    }
    Ok(exit::OK)
}

/// One agent, a field a line.
fn describe(a: &serde_json::Value) -> String {
    let lines = [
        ("id", output::text(&a["id"])),
        ("name", output::text(&a["name"])),
        ("kind", output::text(&a["kind"])),
        ("status", output::text(&a["status"])),
        ("load", output::text(&a["load"])),
        ("capabilities", output::text(&a["capabilities"])),
        ("created", output::time(&a["created_at"])),
        ("last heartbeat", output::time(&a["last_heartbeat"])),
        ("metadata", a["metadata"].to_string()),
    ];
    lines
        .iter()
        .map(|(label, value)| format!("{label:14}  {value}"))
        .collect::<Vec<_>>()
        .join("\n")
}
