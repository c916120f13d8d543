//! The `hive` command line: `hive serve`, the client commands that talk
//! to a running server over [`crate::client`], one file per command group
//! (`task`, `dead-letters`, `agent`, `session`, `events`, `message`,
//! `change` and `repositories`, `status`), and the commands that work on
//! the stores themselves, finding them as `hive serve` does (`stores`):
//! `backup` (`hive backup`, `hive restore`) and `migrate`. `main.rs` only
//! calls [`main`].
//!
//! Every client command prints a human-readable table or summary by
//! default and, with `--json`, exactly the JSON the server answered. Output
//! goes through [`output`], which treats a closed pipe (`hive task list |
//! head -1`) as a clean end. The connection flags (`--server`, `--token`,
//! `--json`) belong to the client commands, so `hive serve --help` lists
//! only what serving uses.
//!
//! Exit codes, the same for every command ([`exit`]): 0 success, 1 an
//! error (the server refused, could not be reached, bad input), 2 a usage
//! error (clap's), and for `hive task submit --wait` / `hive task wait` 3
//! the task failed, 4 it was dead-lettered, 5 it was cancelled, 6 the
//! `--timeout` ran out first.

mod agent;
mod backup;
mod changes;
mod dead_letters;
mod events;
mod experiments;
mod message;
mod metrics;
mod migrate;
mod outcomes;
pub mod output;
mod prompts;
mod proposals;
mod queue;
mod serve;
mod session;
mod stores;
mod task;

use clap::{Args, Parser, Subcommand};
use serde_json::json;

use crate::client::{ApiClient, ClientError};
use output::Out;

/// The process's exit codes.
pub mod exit {
    /// The command did what it was asked (a waited-for task completed).
    pub const OK: i32 = 0;
    /// An error: the server refused, could not be reached, or the input
    /// was bad.
    pub const ERROR: i32 = 1;
    /// The command line did not parse (clap's code).
    pub const USAGE: i32 = 2;
    /// A waited-for task ended `failed` (a dependency did not complete).
    pub const FAILED: i32 = 3;
    /// A waited-for task ended `dead_lettered` (out of attempts).
    pub const DEAD_LETTERED: i32 = 4;
    /// A waited-for task ended `cancelled`.
    pub const CANCELLED: i32 = 5;
    /// `--timeout` ran out before the waited-for task ended.
    pub const TIMED_OUT: i32 = 6;
}

/// The exit codes as `--help` shows them.
const EXIT_CODES: &str = "Exit codes: 0 ok; 1 error (refused, unreachable, bad input); 2 usage; \
for a waited-for task: 3 failed, 4 dead-lettered, 5 cancelled, 6 --timeout ran out.";

#[derive(Parser, Debug)]
#[command(
    name = "hive",
    version,
    about = "Agent Hive: a durable runtime for fleets of AI agents",
    after_help = EXIT_CODES
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

/// How a client command reaches the server and prints.
#[derive(Args, Debug, Clone)]
#[command(next_help_heading = "Connection")]
pub(crate) struct Connection {
    /// The server to talk to: http://host:port (without a scheme, http://
    /// is assumed).
    #[arg(
        long,
        global = true,
        env = "HIVE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// The bearer token the server requires, if any.
    #[arg(long, global = true, env = "HIVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Prints the server's JSON instead of tables, for scripts.
    #[arg(long, global = true)]
    json: bool,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serves the HTTP API.
    Serve(serve::Serve),
    /// Tasks: submit (and wait), list, get, why, cancel, retry.
    Task {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: task::TaskCommand,
    },
    /// Dead-lettered tasks: list, retry, purge.
    #[command(name = "dead-letters", visible_alias = "dlq")]
    DeadLetters {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: dead_letters::DeadLetterCommand,
    },
    /// Agents: list, get, terminate.
    Agent {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: agent::AgentCommand,
    },
    /// Sessions: list, show, create, close.
    Session {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: session::SessionCommand,
    },
    /// The event feed: read it, or tail it with --follow.
    Events {
        #[command(flatten)]
        conn: Connection,
        #[command(flatten)]
        args: events::EventsArgs,
    },
    /// Messages: publish to a topic or an inbox, read a topic's history.
    Message {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: message::MessageCommand,
    },
    /// Task metrics over the last minutes, per interval, and the spend
    /// per agent (what the dashboard charts).
    Metrics {
        #[command(flatten)]
        conn: Connection,
        #[command(flatten)]
        args: metrics::MetricsArgs,
    },
    /// Outcomes of finished tasks, and the metrics over them by agent,
    /// prompt version, task type or experiment arm.
    Outcomes {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: outcomes::OutcomeCommand,
    },
    /// The prompt registry: versions, labels, diffs, history.
    Prompts {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: prompts::PromptCommand,
    },
    /// Experiments on agents' prompts: start, list, status, stop, approve.
    Experiments {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: experiments::ExperimentCommand,
    },
    /// What the meta-agent proposes: list, show with evidence, approve,
    /// reject.
    Proposals {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: proposals::ProposalCommand,
    },
    /// The meta-agent: run it on an agent's failures now.
    Meta {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: proposals::MetaCommand,
    },
    /// The self-modifier's change sets: propose, list, show with the
    /// gates' logs, approve, reject, revert.
    Change {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: changes::ChangeCommand,
    },
    /// The repositories the self-modifier may change, with their policies.
    Repositories {
        #[command(flatten)]
        conn: Connection,
    },
    /// The queue's retention: how long it keeps what has ended; purge now.
    Queue {
        #[command(flatten)]
        conn: Connection,
        #[command(subcommand)]
        command: queue::QueueCommand,
    },
    /// The server's health, whether every store answers, and the queue's
    /// counts.
    Status {
        #[command(flatten)]
        conn: Connection,
    },
    /// Writes a consistent backup of the hive's stores into a new
    /// directory, with a manifest of sizes and SHA-256 sums, while the hive
    /// keeps working.
    Backup(backup::BackupArgs),
    /// Restores a backup after verifying it against its manifest.
    Restore(backup::RestoreArgs),
    /// Lists the stores' applied and pending migrations and applies the
    /// pending ones (--dry-run: only lists).
    Migrate(migrate::MigrateArgs),
}

/// Runs the `hive` command line; answers the process's exit code.
pub async fn main() -> i32 {
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => {
            // --help and --version are "errors" that print to stdout.
            let _ = e.print();
            return if e.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            };
        }
    };
    match cli.command {
        Command::Serve(serve) => local(serve.run().await),
        Command::Backup(args) => local(backup::backup(args).await),
        Command::Restore(args) => local(backup::restore(args).await),
        Command::Migrate(args) => local(migrate::run(args).await),
        command => match client_command(command).await {
            Ok(code) => code,
            Err(e) => {
                output::error(&e.to_string());
                exit::ERROR
            }
        },
    }
}

/// The exit code of a command that runs here rather than on a server,
/// its error printed.
fn local(result: anyhow::Result<()>) -> i32 {
    match result {
        Ok(()) => exit::OK,
        Err(e) => {
            output::error(&format!("{e:#}"));
            exit::ERROR
        }
    }
}

/// One client command; answers its exit code.
async fn client_command(command: Command) -> Result<i32, ClientError> {
    let conn = match &command {
        Command::Serve(_) | Command::Backup(_) | Command::Restore(_) | Command::Migrate(_) => {
            return Ok(exit::OK)
        }
        Command::Task { conn, .. }
        | Command::DeadLetters { conn, .. }
        | Command::Agent { conn, .. }
        | Command::Session { conn, .. }
        | Command::Events { conn, .. }
        | Command::Message { conn, .. }
        | Command::Metrics { conn, .. }
        | Command::Outcomes { conn, .. }
        | Command::Prompts { conn, .. }
        | Command::Experiments { conn, .. }
        | Command::Proposals { conn, .. }
        | Command::Meta { conn, .. }
        | Command::Change { conn, .. }
        | Command::Repositories { conn }
        | Command::Queue { conn, .. }
        | Command::Status { conn } => conn.clone(),
    };
    let client = ApiClient::new(&conn.server, conn.token.clone())?;
    let out = Out::new(conn.json);
    match command {
        Command::Serve(_) | Command::Backup(_) | Command::Restore(_) | Command::Migrate(_) => {
            Ok(exit::OK)
        }
        Command::Task { command, .. } => task::run(&client, &out, command).await,
        Command::DeadLetters { command, .. } => dead_letters::run(&client, &out, command).await,
        Command::Agent { command, .. } => agent::run(&client, &out, command).await,
        Command::Session { command, .. } => session::run(&client, &out, command).await,
        Command::Events { args, .. } => events::run(&client, &out, args).await,
        Command::Message { command, .. } => message::run(&client, &out, command).await,
        Command::Metrics { args, .. } => metrics::run(&client, &out, args).await,
        Command::Outcomes { command, .. } => outcomes::run(&client, &out, command).await,
        Command::Prompts { command, .. } => prompts::run(&client, &out, command).await,
        Command::Experiments { command, .. } => experiments::run(&client, &out, command).await,
        Command::Proposals { command, .. } => proposals::run(&client, &out, command).await,
        Command::Meta { command, .. } => proposals::meta(&client, &out, command).await,
        Command::Change { command, .. } => changes::run(&client, &out, command).await,
        Command::Repositories { .. } => changes::repositories(&client, &out).await,
        Command::Queue { command, .. } => queue::run(&client, &out, command).await,
        Command::Status { .. } => status(&client, &out).await,
    }
}

/// `hive status`: health and the queue's counts.
async fn status(client: &ApiClient, out: &Out) -> Result<i32, ClientError> {
    let health = client.get("/health").await?;
    // A store that does not answer fails the command, naming it.
    let ready = client.get("/health/ready").await?;
    let stats = client.get("/queue/stats").await?;
    if out.json {
        out.json_value(
            &json!({ "health": health.value, "ready": ready.value, "queue": stats.value }),
        );
        return Ok(exit::OK);
    }
    let checked: Vec<String> = ready.value["checked"]
        .as_array()
        .into_iter()
        .flatten()
        .map(output::text)
        .collect();
    out.line(&format!(
        "server {}: {}, ready ({})",
        client.base(),
        output::text(&health.value["status"]),
        checked.join(", ")
    ));
    let mut table = output::Table::new(&["STATUS", "TASKS"]);
    let counts = &stats.value["stats"]["counts"];
    if let Some(counts) = counts.as_object() {
        for (status, n) in counts {
            table.row(vec![status.clone(), output::text(n)]);
        }
    }
    table.row(vec!["total".into(), output::text(&stats.value["total"])]);
    out.table(&table);
    Ok(exit::OK)
}

/// Percent-encodes one path segment or query value.
pub(crate) fn encode(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// A JSON argument (`--payload`, `--state`), or a message naming the flag.
pub(crate) fn json_arg(flag: &str, text: &str) -> Result<serde_json::Value, ClientError> {
    serde_json::from_str(text).map_err(|e| ClientError(format!("{flag} is not JSON: {e}")))
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory;

    #[test]
    fn the_command_line_is_consistent() {
        Cli::command().debug_assert();
    }

    #[test]
    fn serve_help_lists_only_what_serving_uses() {
        let mut cli = Cli::command();
        let serve = cli.find_subcommand_mut("serve").expect("serve");
        let help = serve.render_long_help().to_string();
        assert!(!help.contains("--server"), "{help}");
        assert!(!help.contains("--json"), "{help}");
        assert!(
            help.contains("--token") && help.contains("--addr"),
            "{help}"
        );
    }

    #[test]
    fn encode_escapes_what_a_url_would_misread() {
        assert_eq!(encode("news.bees"), "news.bees");
        assert_eq!(encode("a b/c?d&e"), "a%20b%2Fc%3Fd%26e");
    }
}
