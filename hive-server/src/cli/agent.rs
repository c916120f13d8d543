//! `hive agent …`: list the fleet, show one agent, spawn declared agents
//! in the server (`spawn --config`), stop one wherever it runs.

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
    /// Stops an agent, wherever it runs (its leases end; its tasks go to
    /// other agents).
    #[command(visible_alias = "terminate")]
    Stop {
        /// Its id.
        id: String,
    },
    /// Spawns in the server the agents a TOML file declares: its
    /// `[[agents]]` entries, as in hive.toml, or one agent's keys at the
    /// top level. Relative paths are made absolute against the file's
    /// directory; keys are named by the server's environment variables
    /// (`api_key_env`), never written in the file.
    Spawn {
        /// The TOML file.
        #[arg(long, value_name = "FILE")]
        config: std::path::PathBuf,
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
        AgentCommand::Stop { id } => {
            let agent = client.delete(&format!("/agents/{}", encode(&id))).await?;
            out.reply(&agent, describe);
        }
        AgentCommand::Spawn { config } => {
            let mut failed = false;
            for decl in declarations(&config)? {
                match decl {
                    Ok(body) => {
                        let agent = client.post("/agents/spawn", &body).await;
                        match agent {
                            Ok(agent) => out.reply(&agent, describe),
                            Err(e) => {
                                eprintln!("error: {e}");
                                failed = true;
                            }
                        }
                    }
                    Err(e) => {
                        eprintln!("error: {e}");
                        failed = true;
                    }
                }
            }
            if failed {
                return Ok(exit::ERROR);
            }
        }
    }
    Ok(exit::OK)
}

/// The declarations in the TOML file at `path`, each as the JSON body of
/// `POST /agents/spawn` or the error naming its entry; the others are
/// still sent.
fn declarations(
    path: &std::path::Path,
) -> Result<Vec<Result<serde_json::Value, String>>, ClientError> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| ClientError(format!("cannot read {}: {e}", path.display())))?;
    let table: toml::Table = text.parse().map_err(|e: toml::de::Error| {
        ClientError(format!("{} is not valid TOML: {e}", path.display()))
    })?;
    let base = crate::config::declarations_dir(path);
    let entries: Vec<(String, toml::Value)> = match table.get("agents") {
        Some(toml::Value::Array(list)) => list
            .iter()
            .enumerate()
            .map(|(i, v)| {
                (
                    format!("[[agents]] entry {} of {}", i + 1, path.display()),
                    v.clone(),
                )
            })
            .collect(),
        Some(_) => {
            return Err(ClientError(format!(
                "{}: declare agents as [[agents]] tables",
                path.display()
            )))
        }
        None => vec![(path.display().to_string(), toml::Value::Table(table))],
    };
    Ok(entries
        .into_iter()
        .map(|(whence, value)| {
            let decl = crate::config::read_declaration(&value, &base)
                .map_err(|e| format!("{whence}: {e}"))?;
            serde_json::to_value(&decl).map_err(|e| format!("{whence}: {e}"))
        })
        .collect())
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
