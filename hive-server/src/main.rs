//! The `hive` binary: parses flags (with `HIVE_…` environment fallbacks
//! and, for `serve`, a config file: [`hive_server::config`]) and either
//! serves [`hive_server::router`] over a hive until SIGTERM or Ctrl-C
//! (then finishes requests, closes WebSockets, drains the agents and
//! writes the last events), or talks to a running server as a
//! client (`hive task …`, `hive agent list`, `hive status`). Everything
//! else lives in the library.

use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use hive_core::Hive;
use hive_server::client::{ApiClient, ClientError};
use hive_server::config::{ServeArgs, ServeConfig};
use hive_server::router;
use serde_json::json;

#[derive(Parser, Debug)]
#[command(
    name = "hive",
    version,
    about = "Agent Hive: a durable runtime for fleets of AI agents"
)]
struct Cli {
    /// The server the client commands talk to.
    #[arg(
        long,
        global = true,
        env = "HIVE_SERVER",
        default_value = "http://127.0.0.1:8080"
    )]
    server: String,
    /// Bearer token for the server (and, for `serve`, the one it requires;
    /// without one it binds only to loopback addresses).
    #[arg(long, global = true, env = "HIVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serves the HTTP API.
    Serve(ServeArgs),
    /// Tasks on a running server.
    #[command(subcommand)]
    Task(TaskCommand),
    /// Agents on a running server.
    #[command(subcommand)]
    Agent(AgentCommand),
    /// The server's health and the queue's counts.
    Status,
}

#[derive(Subcommand, Debug)]
enum TaskCommand {
    /// Submits a task and prints it (with --wait, follows it to the end).
    Submit {
        /// The task's type.
        task_type: String,
        /// Its payload, as JSON.
        #[arg(long, default_value = "null")]
        payload: String,
        /// Capabilities it requires, comma-separated.
        #[arg(long, value_delimiter = ',')]
        requires: Vec<String>,
        /// Priority, 1 (most urgent) to 9.
        #[arg(long)]
        priority: Option<u8>,
        /// Prints each status change until the task ends.
        #[arg(long)]
        wait: bool,
    },
    /// Prints one task.
    Get {
        /// Its id.
        id: String,
    },
    /// Lists tasks, oldest first.
    List {
        /// Only these statuses (comma-separated).
        #[arg(long)]
        status: Option<String>,
        /// Only this type.
        #[arg(long = "type")]
        task_type: Option<String>,
        /// At most this many.
        #[arg(long, default_value_t = 50)]
        limit: usize,
    },
    /// Cancels a task.
    Cancel {
        /// Its id.
        id: String,
    },
}

#[derive(Subcommand, Debug)]
enum AgentCommand {
    /// Lists the fleet's agents.
    List,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    let cli = Cli::parse();
    match cli.command {
        Command::Serve(args) => serve(ServeConfig::load(args, cli.token)?).await,
        command => {
            let client = ApiClient::new(&cli.server, cli.token)?;
            if let Err(e) = run_client(&client, command).await {
                eprintln!("hive: {e}");
                std::process::exit(1);
            }
            Ok(())
        }
    }
}

/// One client command; prints the server's JSON.
async fn run_client(client: &ApiClient, command: Command) -> Result<(), ClientError> {
    let out = match command {
        Command::Serve(_) => return Ok(()),
        Command::Status => {
            let health = client.get("/health").await?;
            let stats = client.get("/queue/stats").await?;
            json!({ "health": health, "queue": stats })
        }
        Command::Agent(AgentCommand::List) => client.get("/agents").await?,
        Command::Task(TaskCommand::Get { id }) => client.get(&format!("/tasks/{id}")).await?,
        Command::Task(TaskCommand::Cancel { id }) => {
            client
                .post(&format!("/tasks/{id}/cancel"), &json!({}))
                .await?
        }
        Command::Task(TaskCommand::List {
            status,
            task_type,
            limit,
        }) => {
            let mut path = format!("/tasks?limit={limit}");
            if let Some(s) = status {
                path.push_str(&format!("&status={s}"));
            }
            if let Some(t) = task_type {
                path.push_str(&format!("&type={t}"));
            }
            client.get(&path).await?
        }
        Command::Task(TaskCommand::Submit {
            task_type,
            payload,
            requires,
            priority,
            wait,
        }) => {
            let payload: serde_json::Value = serde_json::from_str(&payload)
                .map_err(|e| ClientError(format!("--payload is not JSON: {e}")))?;
            let mut body =
                json!({ "type": task_type, "payload": payload, "capabilities": requires });
            if let Some(p) = priority {
                body["priority"] = json!(p);
            }
            let created = client.post("/tasks", &body).await?;
            if !wait {
                created
            } else {
                follow(client, &created).await?
            }
        }
    };
    println!("{}", serde_json::to_string_pretty(&out).unwrap_or_default());
    Ok(())
}

/// Polls a submitted task, printing each status change to stderr (the
/// progress), until it ends; answers the final task.
async fn follow(
    client: &ApiClient,
    created: &serde_json::Value,
) -> Result<serde_json::Value, ClientError> {
    let id = created["task"]["id"]
        .as_str()
        .unwrap_or_default()
        .to_string();
    let mut last = String::new();
    loop {
        let task = client.get(&format!("/tasks/{id}")).await?;
        let status = task["status"].as_str().unwrap_or_default().to_string();
        if status != last {
            eprintln!("{id}: {status}");
            last = status.clone();
        }
        if matches!(
            status.as_str(),
            "completed" | "failed" | "dead_lettered" | "cancelled"
        ) {
            return Ok(task);
        }
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }
}

async fn serve(args: ServeConfig) -> Result<()> {
    let mut builder = Hive::builder().embedded(&args.db);
    if let Some(url) = &args.redis {
        builder = builder.redis(url);
    }
    if let Some(url) = &args.postgres {
        builder = builder.postgres(url);
    }
    let hive = Arc::new(builder.build().await.context("starting the hive")?);
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    if args.token.is_none() {
        tracing::warn!(addr = %args.addr, "no token configured: serving on loopback only, without authentication");
    }
    tracing::info!(addr = %args.addr, "serving the Agent Hive API");
    let state = args.app_state(hive.clone());
    let app = router(state.clone());
    let stopping = state.shutdown.clone();
    axum::serve(hive_server::listener::bounded(listener), app)
        .with_graceful_shutdown(async move {
            stop_signal().await;
            tracing::info!("stopping: finishing requests, closing WebSockets, draining agents");
            stopping.cancel();
        })
        .await
        .context("serving")?;
    if !state.drain(SOCKET_GRACE).await {
        tracing::warn!("some WebSockets did not close in time");
    }
    let report = hive.shutdown().await;
    tracing::info!(agents = report.agents, "stopped");
    Ok(())
}

/// How long open WebSockets get to close at shutdown.
const SOCKET_GRACE: std::time::Duration = std::time::Duration::from_secs(10);

/// Resolves on SIGTERM or Ctrl-C.
async fn stop_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = ctrl_c => {}
        () = term => {}
    }
}
