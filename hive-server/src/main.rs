//! The `hive` binary: parses flags (with `HIVE_…` environment fallbacks),
//! builds the hive, and serves [`hive_server::router`] until SIGTERM or
//! Ctrl-C, then drains the agents. Everything else lives in the library.

use std::net::SocketAddr;
use std::sync::Arc;

use anyhow::{Context, Result};
use clap::{Parser, Subcommand};
use hive_core::Hive;
use hive_server::{router, AppState};

#[derive(Parser, Debug)]
#[command(
    name = "hive",
    version,
    about = "Agent Hive: a durable runtime for fleets of AI agents"
)]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Serves the HTTP API.
    Serve(Serve),
}

#[derive(clap::Args, Debug)]
struct Serve {
    /// Address to listen on.
    #[arg(long, env = "HIVE_ADDR", default_value = "127.0.0.1:8080")]
    addr: SocketAddr,
    /// The embedded SQLite file (used for whatever Redis/Postgres don't hold).
    #[arg(long, env = "HIVE_DB", default_value = "hive.db")]
    db: std::path::PathBuf,
    /// Redis URL: the queue and broker move there.
    #[arg(long, env = "HIVE_REDIS_URL")]
    redis: Option<String>,
    /// Postgres URL: the registry, sessions and context move there.
    #[arg(long, env = "HIVE_DATABASE_URL")]
    postgres: Option<String>,
    /// Bearer token every route but /health requires. Without one the
    /// server only binds to loopback addresses.
    #[arg(long, env = "HIVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Seconds a request may take before it is answered with a 503.
    #[arg(long, env = "HIVE_REQUEST_TIMEOUT_SECS", default_value_t = 30)]
    request_timeout_secs: u64,
}

#[tokio::main]
async fn main() -> Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .init();
    match Cli::parse().command {
        Command::Serve(args) => serve(args).await,
    }
}

async fn serve(args: Serve) -> Result<()> {
    let token = args.token.clone().filter(|t| !t.is_empty());
    if token.is_none() && !args.addr.ip().is_loopback() {
        anyhow::bail!(
            "refusing to serve on {} without a token: set --token (or HIVE_TOKEN), or bind to 127.0.0.1",
            args.addr
        );
    }
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
    if token.is_none() {
        tracing::warn!(addr = %args.addr, "no token configured: serving on loopback only, without authentication");
    }
    tracing::info!(addr = %args.addr, "serving the Agent Hive API");
    let mut state = AppState::new(hive.clone());
    state.request_timeout = std::time::Duration::from_secs(args.request_timeout_secs.max(1));
    if let Some(t) = token {
        state = state.with_token(t);
    }
    let app = router(state);
    axum::serve(listener, app)
        .with_graceful_shutdown(stop_signal())
        .await
        .context("serving")?;
    let report = hive.orchestrator().shutdown().await;
    tracing::info!(agents = report.agents, "stopped");
    Ok(())
}

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
