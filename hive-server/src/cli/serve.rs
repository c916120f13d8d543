//! `hive serve`: resolves the configuration ([`crate::config`]), builds the
//! hive, and serves [`crate::router`] until SIGTERM or Ctrl-C; then it
//! finishes requests, closes WebSockets, drains the agents and writes the
//! last events.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, Result};

use crate::config::{ServeArgs, ServeConfig};
use crate::router;

/// `hive serve`'s flags: the config's, and the token it requires.
#[derive(clap::Args, Debug)]
pub(crate) struct Serve {
    #[command(flatten)]
    args: ServeArgs,
    /// The bearer token every route but /health requires; without one the
    /// server binds only to loopback addresses.
    #[arg(long, env = "HIVE_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Serve the dashboard (/ui/) from this directory, read on each
    /// request, instead of the copy built into the binary: for developing
    /// it (`hive-server/web/dist` after `npm run build`).
    #[arg(long, env = "HIVE_UI_DIR", value_name = "DIR")]
    ui_dir: Option<std::path::PathBuf>,
    /// How log lines are written: `text` for people, `json` (one object a
    /// line, with the request id and the task id of the spans it was
    /// logged in) for log collectors. Levels by RUST_LOG (default info).
    #[arg(long, env = "HIVE_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text)]
    log_format: LogFormat,
}

/// `--log-format`.
#[derive(clap::ValueEnum, Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum LogFormat {
    /// Lines for people (colours only on a terminal).
    Text,
    /// One JSON object per line.
    Json,
}

/// How long open WebSockets get to close at shutdown.
const SOCKET_GRACE: Duration = Duration::from_secs(10);

impl Serve {
    /// Serves until a stop signal.
    pub(crate) async fn run(self) -> Result<()> {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
        let logs = tracing_subscriber::fmt().with_env_filter(filter);
        match self.log_format {
            LogFormat::Text => logs
                .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stdout()))
                .init(),
            LogFormat::Json => logs
                .json()
                .with_current_span(false)
                .with_span_list(true)
                .init(),
        }
        serve(ServeConfig::load(self.args, self.token)?, self.ui_dir).await
    }
}

async fn serve(args: ServeConfig, ui_dir: Option<std::path::PathBuf>) -> Result<()> {
    // On the embedded default the event feed is this process's: one
    // server per file (crate::lock).
    let _lock = match &args.redis {
        None => Some(crate::lock::ServeLock::acquire(&args.db)?),
        Some(_) => None,
    };
    let hive = Arc::new(args.open_hive().await?);
    // Commands run in the config file's directory (this one when the
    // file is ./hive.toml).
    let base = args
        .file
        .as_deref()
        .map(crate::config::declarations_dir)
        .filter(|d| !d.as_os_str().is_empty())
        .or_else(|| std::env::current_dir().ok())
        .unwrap_or_else(|| std::path::PathBuf::from("."));
    for v in &args.verifiers {
        let verifier = v.build(&base).map_err(anyhow::Error::msg)?;
        hive.verifiers()
            .set(&v.task_type, verifier)
            .map_err(|e| anyhow::anyhow!("[[verifiers]]: {e}"))?;
        tracing::info!(task_type = %v.task_type, kind = %v.kind, "verifier set");
    }
    for r in &args.repositories {
        let config = r.build(&base).map_err(anyhow::Error::msg)?;
        hive.add_repository(config)
            .await
            .map_err(|e| anyhow::anyhow!("[[repositories]] {:?}: {e}", r.name))?;
        tracing::info!(repository = %r.name, "the self-modifier may change this repository");
    }
    spawn_declared(&hive, &args).await;
    let listener = tokio::net::TcpListener::bind(args.addr)
        .await
        .with_context(|| format!("binding {}", args.addr))?;
    if args.token.is_none() {
        tracing::warn!(addr = %args.addr, "no token configured: serving on loopback only, without authentication");
    }
    tracing::info!(addr = %args.addr, "serving the Agent Hive API, and its dashboard at http://{}{}", args.addr, crate::ui::PREFIX);
    let mut state = args.app_state(hive.clone()).map_err(anyhow::Error::msg)?;
    if let Some(decl) = &args.meta_agent {
        let meta = Arc::new(decl.build().map_err(anyhow::Error::msg)?);
        if let Some(every) = decl.every_secs {
            schedule_meta(hive.clone(), meta.clone(), decl.agents.clone(), every);
        }
        state.meta = Some(meta);
    }
    if let Some(dir) = ui_dir {
        tracing::info!(dir = %dir.display(), "serving the dashboard from a directory");
        state.ui_dir = Some(dir);
    }
    let app = router(state.clone());
    let stopping = state.shutdown.clone();
    axum::serve(crate::listener::bounded(listener), app)
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

/// Spawns the agents the config file declares. An entry that is refused
/// (a bad declaration, a key variable not set) is logged as an error naming
/// the entry, and the others still start. An entry whose name is still
/// held by a live registration — a process that crashed (`kill -9`) and
/// has not yet been declared dead — is tried again in the background
/// every 2 s until that registration is swept, so a restarted
/// server takes its agents back without a hand.
async fn spawn_declared(hive: &Arc<hive_core::Hive>, config: &ServeConfig) {
    for entry in &config.agents {
        let whence = entry.whence(config.file.as_deref());
        let decl = match &entry.decl {
            Ok(decl) => decl.clone(),
            Err(e) => {
                tracing::error!("{whence} refused: {e}");
                continue;
            }
        };
        match hive.spawn_declared(&decl).await {
            Ok(handle) => tracing::info!(
                agent = %handle.name,
                id = %handle.id,
                "started the agent declared by {whence}"
            ),
            Err(hive_core::Error::Conflict(e)) => {
                tracing::warn!(
                    "{whence} waits: {e}; it starts once that registration is declared dead \
                     (no heartbeat for dead_after_secs)"
                );
                let hive = hive.clone();
                tokio::spawn(async move {
                    loop {
                        tokio::time::sleep(Duration::from_secs(2)).await;
                        match hive.spawn_declared(&decl).await {
                            Ok(handle) => {
                                tracing::info!(
                                    agent = %handle.name,
                                    id = %handle.id,
                                    "started the agent declared by {whence}"
                                );
                                return;
                            }
                            Err(hive_core::Error::Conflict(_)) => continue,
                            Err(e) => {
                                tracing::error!("{whence} refused: {e}");
                                return;
                            }
                        }
                    }
                });
            }
            Err(e) => tracing::error!("{whence} refused: {e}"),
        }
    }
}

/// Runs the meta-agent over `agents` every `every_secs`, first after one
/// period. A run that fails — its budget spent above all — is logged as an
/// error and the schedule goes on.
fn schedule_meta(
    hive: Arc<hive_core::Hive>,
    meta: Arc<hive_core::meta::MetaAgent>,
    agents: Vec<String>,
    every_secs: f64,
) {
    tokio::spawn(async move {
        let mut ticks = tokio::time::interval(Duration::from_secs_f64(every_secs));
        ticks.tick().await;
        loop {
            ticks.tick().await;
            for agent in &agents {
                match hive.run_meta_agent(&meta, agent).await {
                    Ok(report) => tracing::info!(
                        agent = %agent,
                        calls = report.calls,
                        proposals = report.proposals.len(),
                        note = report.note.as_deref().unwrap_or(""),
                        "meta-agent run"
                    ),
                    Err(e) => tracing::error!(agent = %agent, error = %e, "meta-agent run failed"),
                }
            }
        }
    });
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
