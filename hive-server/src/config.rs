//! `hive serve`'s configuration, from four sources in order of precedence:
//! flags, then `HIVE_…` environment variables (both read by clap into
//! [`ServeArgs`]), then a TOML file (`--config` / `HIVE_CONFIG`, else
//! `./hive.toml` when it exists), then the defaults documented here. Each
//! source is a [`Settings`] whose unset keys fall through to the next.
//!
//! A file with an unknown key, or a value of the wrong shape, is refused
//! with an error naming the file and the key: a misspelt setting never
//! silently does nothing.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use serde::de::DeserializeOwned;

use hive_core::agent::{Liveness, OrchestratorConfig};
use hive_core::queue::QueueConfig;

use crate::cors::CorsOrigins;
use crate::AppState;

/// Default listen address: loopback, port 8080.
pub const DEFAULT_ADDR: SocketAddr = SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), 8080);
/// Default embedded SQLite file, relative to the working directory.
pub const DEFAULT_DB: &str = "hive.db";
/// The config file read when none is named, if it exists.
pub const DEFAULT_CONFIG_FILE: &str = "hive.toml";
/// The keys a config file may hold.
pub const KEYS: &[&str] = &[
    "addr",
    "db",
    "redis",
    "postgres",
    "token",
    "request_timeout_secs",
    "body_limit_bytes",
    "cors_origins",
    "no_context",
    "lease_secs",
    "heartbeat_secs",
    "unhealthy_after_secs",
    "dead_after_secs",
    "events_retained",
    "allow_redis_eviction",
    "agents",
    "meta_agent",
    "verifiers",
    "approvers",
    "repositories",
    "retain_finished_secs",
    "retain_dead_letters_secs",
    "retain_messages_secs",
    "retention_interval_secs",
];

/// `hive serve`'s flags, each with its environment variable.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct ServeArgs {
    /// A TOML file with any of these settings (keys as the flags, with `_`
    /// for `-`), below flags and environment in precedence. Default:
    /// ./hive.toml if it exists.
    #[arg(long, env = "HIVE_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(flatten)]
    pub settings: Settings,
}

/// One source's settings; `None` leaves a key to the next source.
#[derive(Debug, Default, Clone, clap::Args)]
pub struct Settings {
    /// Address to listen on: host:port, e.g. 0.0.0.0:8080 or localhost:9000
    /// [default: 127.0.0.1:8080].
    #[arg(long, env = "HIVE_ADDR", value_parser = resolve_addr)]
    pub addr: Option<SocketAddr>,
    /// The embedded SQLite file, used for whatever Redis/Postgres don't
    /// hold [default: hive.db].
    #[arg(long, env = "HIVE_DB")]
    pub db: Option<PathBuf>,
    /// Redis URL: the queue and broker move there.
    #[arg(long, env = "HIVE_REDIS_URL", hide_env_values = true)]
    pub redis: Option<String>,
    /// Postgres URL: the registry, sessions and context move there.
    #[arg(long, env = "HIVE_DATABASE_URL", hide_env_values = true)]
    pub postgres: Option<String>,
    /// The bearer token to require; the flag is the global `--token`.
    #[arg(skip)]
    pub token: Option<Token>,
    /// Seconds a request may take before it is answered with a 503
    /// [default: 30].
    #[arg(long, env = "HIVE_REQUEST_TIMEOUT_SECS", value_parser = at_least_one::<u64>)]
    pub request_timeout_secs: Option<u64>,
    /// The largest request body accepted, in bytes; larger ones are a 413
    /// [default: 1048576].
    #[arg(long, env = "HIVE_BODY_LIMIT_BYTES", value_parser = at_least_one::<usize>)]
    pub body_limit_bytes: Option<usize>,
    /// Browser origins allowed to call the API, comma-separated
    /// (`https://app.example.com,http://localhost:5173`), or `*` for any
    /// [default: none, no CORS headers].
    #[arg(long, env = "HIVE_CORS_ORIGINS", value_parser = CorsOrigins::parse)]
    pub cors_origins: Option<CorsOrigins>,
    /// Runs without the context store (context routes answer 501), e.g.
    /// on a Postgres without pgvector [default: false].
    #[arg(long, env = "HIVE_NO_CONTEXT", num_args = 0..=1, default_missing_value = "true")]
    pub no_context: Option<bool>,
    /// Seconds a claimed task's lease lasts unless its worker heartbeats:
    /// a killed worker's tasks are handed out again after at most this
    /// long [default: 30].
    #[arg(long, env = "HIVE_LEASE_SECS", value_parser = positive_secs)]
    pub lease_secs: Option<f64>,
    /// Seconds between agents' heartbeats [default: 30].
    #[arg(long, env = "HIVE_HEARTBEAT_SECS", value_parser = positive_secs)]
    pub heartbeat_secs: Option<f64>,
    /// Seconds without a heartbeat before an agent is listed unhealthy
    /// [default: 2 heartbeats].
    #[arg(long, env = "HIVE_UNHEALTHY_AFTER_SECS", value_parser = positive_secs)]
    pub unhealthy_after_secs: Option<f64>,
    /// Seconds without a heartbeat before an agent is dead: it is marked
    /// so and its leases end at once [default: 4 heartbeats].
    #[arg(long, env = "HIVE_DEAD_AFTER_SECS", value_parser = positive_secs)]
    pub dead_after_secs: Option<f64>,
    /// How many of the newest events the embedded event log keeps for
    /// watchers to resume from (`/ws/events?since=`); one that missed
    /// older ones is told to resync [default: 10000]. (With Redis the
    /// stream keeps about this many too.)
    #[arg(long, env = "HIVE_EVENTS_RETAINED", value_parser = at_least_one::<usize>)]
    pub events_retained: Option<usize>,
    /// Serves with a Redis whose maxmemory-policy is not noeviction. Such a
    /// Redis deletes keys when it is full — queued tasks, leases, messages
    /// — so it is refused unless this is set [default: false].
    #[arg(long, env = "HIVE_ALLOW_REDIS_EVICTION", num_args = 0..=1, default_missing_value = "true")]
    pub allow_redis_eviction: Option<bool>,
    /// Seconds completed, failed and cancelled tasks are kept (with their
    /// history, edges and idempotency keys); 0 keeps them forever
    /// [default: 604800, a week].
    #[arg(long, env = "HIVE_RETAIN_FINISHED_SECS", value_parser = zero_or_secs)]
    pub retain_finished_secs: Option<f64>,
    /// Seconds dead letters are kept; 0 keeps them until purged
    /// [default: 2592000, 30 days].
    #[arg(long, env = "HIVE_RETAIN_DEAD_LETTERS_SECS", value_parser = zero_or_secs)]
    pub retain_dead_letters_secs: Option<f64>,
    /// Seconds the broker keeps a message, read or not; 0 keeps them
    /// forever [default: 604800, a week].
    #[arg(long, env = "HIVE_RETAIN_MESSAGES_SECS", value_parser = zero_or_secs)]
    pub retain_messages_secs: Option<f64>,
    /// Seconds between retention passes; 0 runs none (purge with
    /// `POST /queue/purge` instead) [default: 60].
    #[arg(long, env = "HIVE_RETENTION_INTERVAL_SECS", value_parser = zero_or_secs)]
    pub retention_interval_secs: Option<f64>,
    /// The agents the config file declares (`[[agents]]`); only a file
    /// declares them.
    #[arg(skip)]
    pub agents: Option<Vec<DeclaredEntry>>,
    /// The meta-agent (`[meta_agent]`); only a file configures it.
    #[arg(skip)]
    pub meta_agent: Option<Box<MetaDecl>>,
    /// The verifiers (`[[verifiers]]`); only a file declares them.
    #[arg(skip)]
    pub verifiers: Option<Vec<VerifierDecl>>,
    /// Who may approve critical change sets (`[[approvers]]`); only a
    /// file declares them.
    #[arg(skip)]
    pub approvers: Option<Vec<ApproverDecl>>,
    /// The repositories the self-modifier may change (`[[repositories]]`);
    /// only a file declares them.
    #[arg(skip)]
    pub repositories: Option<Vec<RepositoryDecl>>,
}

/// One approver of the config file (`[[approvers]]`): a name and the
/// bearer token that carries the approver scope. The token is read from
/// the environment variable `token_env` names, or written as `token` (the
/// file must then be readable by its owner only, as for the main token).
#[derive(Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ApproverDecl {
    /// Who approves: stored with each approval.
    pub name: String,
    /// The token itself.
    #[serde(default)]
    pub token: Option<String>,
    /// The environment variable holding the token.
    #[serde(default)]
    pub token_env: Option<String>,
}

impl std::fmt::Debug for ApproverDecl {
    // Never prints the token.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ApproverDecl")
            .field("name", &self.name)
            .field("token", &self.token.as_ref().map(|_| "<set>"))
            .field("token_env", &self.token_env)
            .finish()
    }
}

impl ApproverDecl {
    /// The approver's name and token.
    ///
    /// # Errors
    /// A blank name, neither or both of `token` and `token_env`, an unset
    /// or empty variable.
    pub fn resolve(&self) -> Result<(String, String), String> {
        let whence = format!("[[approvers]] {:?}", self.name);
        if self.name.trim().is_empty() {
            return Err("[[approvers]]: name must not be empty".into());
        }
        let token = match (&self.token, &self.token_env) {
            (Some(t), None) => t.clone(),
            (None, Some(var)) => std::env::var(var)
                .map_err(|_| format!("{whence}: the environment variable {var} is not set"))?,
            _ => return Err(format!("{whence}: give one of token and token_env")),
        };
        if token.len() < 16 {
            return Err(format!(
                "{whence}: the token must be at least 16 characters"
            ));
        }
        Ok((self.name.clone(), token))
    }
}

/// One repository of the config file (`[[repositories]]`) the
/// self-modifier may change.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RepositoryDecl {
    /// Its name in change sets.
    pub name: String,
    /// Its directory (relative paths from the config file's directory).
    pub path: PathBuf,
    /// The branch changes merge into [default: main].
    #[serde(default)]
    pub target: Option<String>,
    /// Its policy file [default: hive-policy.toml in the repository].
    #[serde(default)]
    pub policy: Option<PathBuf>,
    /// The coding command for change sets written from a prompt (`{prompt}`
    /// replaced); none refuses them.
    #[serde(default)]
    pub coder: Option<Vec<String>>,
    /// Seconds the coding command may run [default: 1800].
    #[serde(default)]
    pub coder_timeout_secs: Option<f64>,
}

impl RepositoryDecl {
    /// The repository's configuration, paths resolved from `dir`.
    ///
    /// # Errors
    /// An unreadable or invalid policy file (its error names the key).
    pub fn build(&self, dir: &Path) -> Result<hive_core::selfmod::RepositoryConfig, String> {
        let whence = format!("[[repositories]] {:?}", self.name);
        let path = dir.join(&self.path);
        let policy_path = match &self.policy {
            Some(p) => dir.join(p),
            None => path.join("hive-policy.toml"),
        };
        let text = std::fs::read_to_string(&policy_path).map_err(|e| {
            format!(
                "{whence}: cannot read the policy file {}: {e}",
                policy_path.display()
            )
        })?;
        let policy = hive_core::selfmod::Policy::from_toml(&text)
            .map_err(|e| format!("{whence}: {}: {e}", policy_path.display()))?;
        let mut config = hive_core::selfmod::RepositoryConfig::new(&self.name, path, policy);
        if let Some(target) = &self.target {
            config = config.target(target);
        }
        if let Some(coder) = &self.coder {
            config = config.coder(coder.clone());
        }
        if let Some(secs) = self.coder_timeout_secs {
            if !(secs > 0.0 && secs.is_finite()) {
                return Err(format!(
                    "{whence}: coder_timeout_secs must be a positive number"
                ));
            }
            config.coder_timeout = Duration::from_secs_f64(secs);
        }
        Ok(config)
    }
}

/// One verifier of the config file (`[[verifiers]]`): the task type it
/// scores, and how — a command, or a judge model.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct VerifierDecl {
    /// The task type it scores.
    pub task_type: String,
    /// `command` or `judge`.
    pub kind: String,
    /// For `command`: the program and its arguments (run in the config
    /// file's directory; it reads `$HIVE_VERIFY_INPUT` and
    /// `$HIVE_RESULT_TEXT` and prints the score).
    #[serde(default)]
    pub command: Vec<String>,
    /// For `command`: seconds it may run [default: 60].
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// For `judge`: `anthropic` or `openai`.
    #[serde(default)]
    pub provider: Option<hive_core::declared::ProviderDecl>,
    /// For `judge`: the model.
    #[serde(default)]
    pub model: Option<String>,
    /// For `judge`: the server's root.
    #[serde(default)]
    pub base_url: Option<String>,
    /// For `judge`: the environment variable holding the key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// For `judge`: what a good answer is.
    #[serde(default)]
    pub rubric: Option<String>,
}

impl VerifierDecl {
    /// The verifier; a command runs in `dir`.
    ///
    /// # Errors
    /// An unknown kind, a command without a program, a judge without a
    /// provider, model or rubric, or a key variable that is not set.
    pub fn build(
        &self,
        dir: &std::path::Path,
    ) -> Result<Arc<dyn hive_core::verify::Verifier>, String> {
        let whence = format!("[[verifiers]] for {:?}", self.task_type);
        match self.kind.as_str() {
            "command" => {
                let mut v = hive_core::verify::CommandVerifier::new(self.command.clone(), dir)
                    .map_err(|e| format!("{whence}: {e}"))?;
                if let Some(t) = self.timeout_secs {
                    if !(t.is_finite() && t > 0.0) {
                        return Err(format!("{whence}: timeout_secs must be positive"));
                    }
                    v = v.timeout(Duration::from_secs_f64(t));
                }
                Ok(Arc::new(v))
            }
            "judge" => {
                let (Some(provider), Some(model), Some(rubric)) =
                    (self.provider, self.model.clone(), self.rubric.clone())
                else {
                    return Err(format!(
                        "{whence}: a judge needs provider, model and rubric"
                    ));
                };
                let llm = hive_core::declared::LlmDecl {
                    provider,
                    model: model.clone(),
                    base_url: self.base_url.clone(),
                    api_key_env: self.api_key_env.clone(),
                    system_prompt: None,
                    system_prompt_file: None,
                    prompt_version: None,
                    max_tokens: None,
                    temperature: None,
                    max_turns: None,
                    workspace: None,
                    tools: None,
                    timeout_secs: None,
                };
                let provider = llm
                    .provider(&|k| std::env::var(k).ok())
                    .map_err(|e| format!("{whence}: {e}"))?;
                Ok(Arc::new(
                    hive_core::verify::JudgeVerifier::new(provider, rubric).model(model),
                ))
            }
            other => Err(format!(
                "{whence}: unknown kind {other:?} (command or judge)"
            )),
        }
    }
}

/// The meta-agent's settings (`[meta_agent]` in hive.toml): its model
/// (as an LLM agent's), its daily budget, the clauses a new prompt must
/// keep, and its schedule.
#[derive(Debug, Clone, PartialEq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MetaDecl {
    /// `anthropic` or `openai`.
    pub provider: hive_core::declared::ProviderDecl,
    /// The model.
    pub model: String,
    /// The server's root (as an LLM agent's `base_url`).
    #[serde(default)]
    pub base_url: Option<String>,
    /// The environment variable holding the API key.
    #[serde(default)]
    pub api_key_env: Option<String>,
    /// Seconds one model call may take.
    #[serde(default)]
    pub timeout_secs: Option<f64>,
    /// Model calls per 24 hours at most [default: 20].
    #[serde(default)]
    pub calls_per_day: Option<u64>,
    /// Dollars per 24 hours at most, when the model is priced.
    #[serde(default)]
    pub usd_per_day: Option<f64>,
    /// Clauses a new prompt must keep word for word.
    #[serde(default)]
    pub must_keep: Vec<String>,
    /// The label it improves [default: production].
    #[serde(default)]
    pub label: Option<String>,
    /// Seconds between scheduled runs over `agents` (none: on demand
    /// only, `POST /meta/runs`).
    #[serde(default)]
    pub every_secs: Option<f64>,
    /// The agents a scheduled run looks at.
    #[serde(default)]
    pub agents: Vec<String>,
}

impl MetaDecl {
    /// The meta-agent, its key read from the environment.
    ///
    /// # Errors
    /// A key variable that is not set, a bad URL, a budget or schedule that
    /// is not a positive number.
    pub fn build(&self) -> Result<hive_core::meta::MetaAgent, String> {
        let llm = hive_core::declared::LlmDecl {
            provider: self.provider,
            model: self.model.clone(),
            base_url: self.base_url.clone(),
            api_key_env: self.api_key_env.clone(),
            system_prompt: None,
            system_prompt_file: None,
            prompt_version: None,
            max_tokens: None,
            temperature: None,
            max_turns: None,
            workspace: None,
            tools: None,
            timeout_secs: self.timeout_secs,
        };
        if self
            .timeout_secs
            .is_some_and(|s| !(s.is_finite() && s > 0.0))
        {
            return Err("[meta_agent]: timeout_secs must be a positive number".into());
        }
        let provider = llm
            .provider(&|k| std::env::var(k).ok())
            .map_err(|e| format!("[meta_agent]: {e}"))?;
        if self.every_secs.is_some_and(|s| !(s.is_finite() && s > 0.0)) {
            return Err("[meta_agent]: every_secs must be a positive number".into());
        }
        if self
            .usd_per_day
            .is_some_and(|s| !(s.is_finite() && s >= 0.0))
        {
            return Err("[meta_agent]: usd_per_day must be a number ≥ 0".into());
        }
        let mut config = hive_core::meta::MetaConfig {
            must_keep: self.must_keep.clone(),
            model: Some(self.model.clone()),
            ..hive_core::meta::MetaConfig::default()
        };
        if let Some(l) = &self.label {
            config.label = l.clone();
        }
        if let Some(c) = self.calls_per_day {
            config.budget.calls_per_day = c;
        }
        config.budget.usd_per_day = self.usd_per_day;
        Ok(hive_core::meta::MetaAgent::new(provider, config))
    }
}

/// One `[[agents]]` entry of the config file: the declaration, or why it
/// was refused. A refused entry is reported at start and the others still
/// run.
#[derive(Debug, Clone, PartialEq)]
pub struct DeclaredEntry {
    /// Its position among the file's `[[agents]]`, from 1.
    pub entry: usize,
    /// The declaration (relative paths resolved against the file's
    /// directory), or the error naming what is wrong.
    pub decl: Result<hive_core::declared::AgentDecl, String>,
}

impl DeclaredEntry {
    /// Where it came from, for messages: `[[agents]] entry 2 of hive.toml`.
    pub fn whence(&self, file: Option<&Path>) -> String {
        match file {
            Some(path) => format!("[[agents]] entry {} of {}", self.entry, path.display()),
            None => format!("[[agents]] entry {}", self.entry),
        }
    }
}

/// A bearer token. Its `Debug` never shows it.
#[derive(Clone, PartialEq, Eq)]
pub struct Token(Arc<str>);

impl Token {
    /// The token, or `None` for an empty one (which means no token).
    pub fn new(token: impl AsRef<str>) -> Option<Token> {
        let token = token.as_ref();
        (!token.is_empty()).then(|| Token(token.into()))
    }

    /// The token itself.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Token {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Token(<set>)")
    }
}

/// Why `hive serve` cannot start with the configuration it was given.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read.
    #[error("cannot read the config file {}", path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The config file is not TOML.
    #[error("the config file {} is not valid TOML: {message}", path.display())]
    Syntax {
        /// The file.
        path: PathBuf,
        /// The parser's message, with line and column.
        message: String,
    },
    /// The config file has a key that means nothing.
    #[error("the config file {} has an unknown key `{key}` (known keys: {})", path.display(), KEYS.join(", "))]
    UnknownKey {
        /// The file.
        path: PathBuf,
        /// The key.
        key: String,
    },
    /// A value in the config file has the wrong shape.
    #[error("the config file {} has a bad value for `{key}`: {message}", path.display())]
    BadValue {
        /// The file.
        path: PathBuf,
        /// The key.
        key: &'static str,
        /// What is wrong with it.
        message: String,
    },
    /// The heartbeat thresholds are out of order.
    #[error("heartbeat_secs ({heartbeat:?}) ≤ unhealthy_after_secs ({unhealthy_after:?}) < dead_after_secs ({dead_after:?}) must hold")]
    Liveness {
        /// The heartbeat interval.
        heartbeat: Duration,
        /// Unhealthy after this long without one.
        unhealthy_after: Duration,
        /// Dead after this long without one.
        dead_after: Duration,
    },
    /// A public address without a token would open the API to anyone.
    #[error("refusing to serve on {addr} without a token: set --token (or HIVE_TOKEN, or `token` in the config file), or bind to 127.0.0.1")]
    PublicWithoutToken {
        /// The address.
        addr: SocketAddr,
    },
}

/// Why `hive serve` could not open its hive, in the CLI's words.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct StartError(String);

impl From<hive_core::Error> for StartError {
    fn from(e: hive_core::Error) -> Self {
        use hive_core::{Error, Setup};
        StartError(match e {
            Error::Setup(setup @ Setup::PgvectorMissing) => format!(
                "{} (the `vector` extension on the Postgres given by --postgres; or serve with \
                 --no-context, HIVE_NO_CONTEXT=1 or `no_context = true` in hive.toml)",
                setup.problem()
            ),
            Error::Setup(setup @ Setup::BrokerMissing) => format!(
                "{}: give --redis (or HIVE_REDIS_URL, or `redis` in hive.toml) for the queue \
                 and the broker",
                setup.problem()
            ),
            Error::Setup(setup @ Setup::RedisEvicts { .. }) => format!(
                "{}{}; or serve with --allow-redis-eviction (HIVE_ALLOW_REDIS_EVICTION=1, \
                 `allow_redis_eviction = true` in hive.toml) to accept losing tasks when Redis \
                 fills up",
                setup.problem(),
                setup.detail()
            ),
            other => format!("cannot open the hive: {other}"),
        })
    }
}

/// Everything `hive serve` needs, every key resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct ServeConfig {
    /// Where to listen.
    pub addr: SocketAddr,
    /// The embedded SQLite file.
    pub db: PathBuf,
    /// Redis URL, if the queue and broker live there.
    pub redis: Option<String>,
    /// Postgres URL, if the registry, sessions and context live there.
    pub postgres: Option<String>,
    /// The token every route but `/health` requires, if any.
    pub token: Option<Token>,
    /// The request deadline.
    pub request_timeout: Duration,
    /// The largest request body, in bytes.
    pub body_limit: usize,
    /// Browser origins allowed to call the API.
    pub cors: CorsOrigins,
    /// The config file that was read, if any.
    pub file: Option<PathBuf>,
    /// Whether the hive runs without a context store.
    pub no_context: bool,
    /// The lease of a claimed task.
    pub lease: Duration,
    /// Agents' heartbeats and the thresholds for unhealthy and dead.
    pub liveness: Liveness,
    /// Events the event log keeps.
    pub events_retained: usize,
    /// Whether a Redis that evicts keys is accepted.
    pub allow_redis_eviction: bool,
    /// The agents the config file declares, spawned at start.
    pub agents: Vec<DeclaredEntry>,
    /// The meta-agent, when the file configures one.
    pub meta_agent: Option<Box<MetaDecl>>,
    /// The verifiers the file declares.
    pub verifiers: Vec<VerifierDecl>,
    /// The approvers the file declares.
    pub approvers: Vec<ApproverDecl>,
    /// The repositories the file declares.
    pub repositories: Vec<RepositoryDecl>,
    /// How long finished tasks and dead letters are kept.
    pub task_retention: hive_core::queue::TaskRetention,
    /// How long broker messages are kept (`None`: forever).
    pub retain_messages: Option<Duration>,
    /// How often retention runs (zero: never).
    pub retention_interval: Duration,
}

impl ServeConfig {
    /// Resolves `args` (flags and environment) and `token` (the global
    /// `--token` / `HIVE_TOKEN`) over the config file, over the defaults.
    ///
    /// # Errors
    ///
    /// A named config file that cannot be read, a file that is not TOML
    /// or holds an unknown key or a bad value, or a non-loopback address
    /// without a token.
    pub fn load(args: ServeArgs, token: Option<String>) -> Result<Self, ConfigError> {
        let mut given = args.settings;
        given.token = token.and_then(Token::new);
        let path = args.config.or_else(|| {
            let default = PathBuf::from(DEFAULT_CONFIG_FILE);
            default.exists().then_some(default)
        });
        let file = match path {
            Some(path) => {
                let text = std::fs::read_to_string(&path).map_err(|source| ConfigError::Read {
                    path: path.clone(),
                    source,
                })?;
                let settings = Settings::from_toml(&path, &text)?;
                let approver_tokens = settings
                    .approvers
                    .iter()
                    .flatten()
                    .any(|a| a.token.is_some());
                if (settings.token.is_some() || approver_tokens) && readable_by_others(&path) {
                    tracing::warn!(
                        path = %path.display(),
                        "the config file holds the token and other users can read it; chmod 600 it"
                    );
                }
                tracing::info!(path = %path.display(), "read the config file");
                Some((path, settings))
            }
            None => None,
        };
        Self::resolve(given, file)
    }

    /// `given` over `file` over the defaults.
    ///
    /// # Errors
    ///
    /// A non-loopback address without a token.
    pub fn resolve(
        given: Settings,
        file: Option<(PathBuf, Settings)>,
    ) -> Result<Self, ConfigError> {
        let (path, from_file) = file.unzip();
        let s = given.or(from_file.unwrap_or_default());
        let liveness = liveness(&s)?;
        let config = ServeConfig {
            addr: s.addr.unwrap_or(DEFAULT_ADDR),
            db: s.db.unwrap_or_else(|| DEFAULT_DB.into()),
            redis: s.redis,
            postgres: s.postgres,
            token: s.token,
            request_timeout: s
                .request_timeout_secs
                .map_or(crate::hygiene::DEFAULT_REQUEST_TIMEOUT, Duration::from_secs),
            body_limit: s.body_limit_bytes.unwrap_or(crate::DEFAULT_BODY_LIMIT),
            cors: s.cors_origins.unwrap_or_default(),
            file: path,
            no_context: s.no_context.unwrap_or(false),
            lease: s
                .lease_secs
                .map_or(QueueConfig::default().lease, Duration::from_secs_f64),
            liveness,
            events_retained: s
                .events_retained
                .unwrap_or(hive_core::events::DEFAULT_RETAINED),
            allow_redis_eviction: s.allow_redis_eviction.unwrap_or(false),
            agents: s.agents.unwrap_or_default(),
            meta_agent: s.meta_agent,
            verifiers: s.verifiers.unwrap_or_default(),
            approvers: s.approvers.unwrap_or_default(),
            repositories: s.repositories.unwrap_or_default(),
            task_retention: hive_core::queue::TaskRetention {
                finished: kept(s.retain_finished_secs, DEFAULT_RETAIN_FINISHED),
                dead_letters: kept(s.retain_dead_letters_secs, DEFAULT_RETAIN_DEAD_LETTERS),
            },
            retain_messages: kept(s.retain_messages_secs, DEFAULT_RETAIN_MESSAGES),
            retention_interval: s
                .retention_interval_secs
                .map_or(DEFAULT_RETENTION_INTERVAL, Duration::from_secs_f64),
        };
        if config.token.is_none() && !config.addr.ip().is_loopback() {
            return Err(ConfigError::PublicWithoutToken { addr: config.addr });
        }
        Ok(config)
    }

    /// Opens the hive this configuration describes: the embedded file,
    /// Redis and Postgres as given, the lease and liveness, with or
    /// without the context store.
    ///
    /// # Errors
    ///
    /// Stores that cannot be opened, with what a configuration lacks
    /// ([`hive_core::Setup`]) said in `hive serve`'s words.
    pub async fn open_hive(&self) -> Result<hive_core::Hive, StartError> {
        let mut builder = hive_core::Hive::builder()
            .embedded(&self.db)
            .queue_config(QueueConfig {
                lease: self.lease,
                ..QueueConfig::default()
            })
            .orchestrator_config(OrchestratorConfig {
                liveness: self.liveness,
                ..OrchestratorConfig::default()
            })
            .events_retained(self.events_retained)
            .allow_redis_eviction(self.allow_redis_eviction)
            .task_retention(self.task_retention)
            .retention_interval(self.retention_interval)
            .broker_config(hive_core::broker::BrokerConfig {
                retention: hive_core::broker::Retention {
                    max_age: self.retain_messages,
                    ..hive_core::broker::Retention::default()
                },
                ..hive_core::broker::BrokerConfig::default()
            });
        if let Some(url) = &self.redis {
            builder = builder.redis(url);
        }
        if let Some(url) = &self.postgres {
            builder = builder.postgres(url);
        }
        if self.no_context {
            builder = builder.without_context();
        }
        builder.build().await.map_err(StartError::from)
    }

    /// The router's state for serving `hive` with this configuration.
    ///
    /// # Errors
    /// An approver whose token cannot be read (see [`ApproverDecl::resolve`]).
    pub fn app_state(&self, hive: Arc<hive_core::Hive>) -> Result<AppState, String> {
        let mut state = AppState::new(hive);
        for approver in &self.approvers {
            let (name, token) = approver.resolve()?;
            state = state.with_approver(name, token);
        }
        state.request_timeout = self.request_timeout;
        state.body_limit = self.body_limit;
        state.cors = self.cors.clone();
        if let Some(token) = &self.token {
            state = state.with_token(token.expose());
        }
        Ok(state)
    }
}

impl Settings {
    /// Each key from `self`, else from `lower`.
    pub fn or(self, lower: Settings) -> Settings {
        Settings {
            addr: self.addr.or(lower.addr),
            db: self.db.or(lower.db),
            redis: self.redis.or(lower.redis),
            postgres: self.postgres.or(lower.postgres),
            token: self.token.or(lower.token),
            request_timeout_secs: self.request_timeout_secs.or(lower.request_timeout_secs),
            body_limit_bytes: self.body_limit_bytes.or(lower.body_limit_bytes),
            cors_origins: self.cors_origins.or(lower.cors_origins),
            no_context: self.no_context.or(lower.no_context),
            lease_secs: self.lease_secs.or(lower.lease_secs),
            heartbeat_secs: self.heartbeat_secs.or(lower.heartbeat_secs),
            unhealthy_after_secs: self.unhealthy_after_secs.or(lower.unhealthy_after_secs),
            dead_after_secs: self.dead_after_secs.or(lower.dead_after_secs),
            events_retained: self.events_retained.or(lower.events_retained),
            allow_redis_eviction: self.allow_redis_eviction.or(lower.allow_redis_eviction),
            agents: self.agents.or(lower.agents),
            meta_agent: self.meta_agent.or(lower.meta_agent),
            verifiers: self.verifiers.or(lower.verifiers),
            approvers: self.approvers.or(lower.approvers),
            repositories: self.repositories.or(lower.repositories),
            retain_finished_secs: self.retain_finished_secs.or(lower.retain_finished_secs),
            retain_dead_letters_secs: self
                .retain_dead_letters_secs
                .or(lower.retain_dead_letters_secs),
            retain_messages_secs: self.retain_messages_secs.or(lower.retain_messages_secs),
            retention_interval_secs: self
                .retention_interval_secs
                .or(lower.retention_interval_secs),
        }
    }

    /// The settings in a config file's text; `path` names it in errors.
    ///
    /// # Errors
    ///
    /// Text that is not TOML, an unknown key, or a bad value.
    pub fn from_toml(path: &Path, text: &str) -> Result<Settings, ConfigError> {
        let table: toml::Table =
            text.parse()
                .map_err(|e: toml::de::Error| ConfigError::Syntax {
                    path: path.to_path_buf(),
                    message: e.to_string().trim_end().to_string(),
                })?;
        if let Some(key) = table.keys().find(|k| !KEYS.contains(&k.as_str())) {
            return Err(ConfigError::UnknownKey {
                path: path.to_path_buf(),
                key: key.clone(),
            });
        }
        let file = ConfigFile { path, table };
        Ok(Settings {
            addr: file
                .value::<String>("addr")?
                .map(|a| resolve_addr(&a).map_err(|m| file.bad("addr", m)))
                .transpose()?,
            db: file.value("db")?,
            redis: file.value("redis")?,
            postgres: file.value("postgres")?,
            token: file.value::<String>("token")?.and_then(Token::new),
            request_timeout_secs: file.positive("request_timeout_secs")?,
            body_limit_bytes: file.positive("body_limit_bytes")?,
            cors_origins: file.cors_origins("cors_origins")?,
            no_context: file.value("no_context")?,
            lease_secs: file.secs("lease_secs")?,
            heartbeat_secs: file.secs("heartbeat_secs")?,
            unhealthy_after_secs: file.secs("unhealthy_after_secs")?,
            dead_after_secs: file.secs("dead_after_secs")?,
            events_retained: file.positive("events_retained")?,
            allow_redis_eviction: file.value("allow_redis_eviction")?,
            agents: file.agents()?,
            meta_agent: file.value("meta_agent")?,
            verifiers: file.value("verifiers")?,
            approvers: file.value("approvers")?,
            repositories: file.value("repositories")?,
            retain_finished_secs: file.zero_or_secs("retain_finished_secs")?,
            retain_dead_letters_secs: file.zero_or_secs("retain_dead_letters_secs")?,
            retain_messages_secs: file.zero_or_secs("retain_messages_secs")?,
            retention_interval_secs: file.zero_or_secs("retention_interval_secs")?,
        })
    }
}

/// A parsed config file, read one key at a time.
struct ConfigFile<'a> {
    path: &'a Path,
    table: toml::Table,
}

impl ConfigFile<'_> {
    fn bad(&self, key: &'static str, message: impl Into<String>) -> ConfigError {
        ConfigError::BadValue {
            path: self.path.to_path_buf(),
            key,
            message: message.into(),
        }
    }

    /// The value of `key` as a `T`, if present.
    fn value<T: DeserializeOwned>(&self, key: &'static str) -> Result<Option<T>, ConfigError> {
        self.table
            .get(key)
            .map(|v| {
                v.clone()
                    .try_into()
                    .map_err(|e: toml::de::Error| self.bad(key, e.message()))
            })
            .transpose()
    }

    /// A count that must be at least 1.
    fn positive<T>(&self, key: &'static str) -> Result<Option<T>, ConfigError>
    where
        T: DeserializeOwned + PartialOrd + From<u8>,
    {
        self.value::<T>(key)?
            .map(|n| positive(n).map_err(|m| self.bad(key, m)))
            .transpose()
    }

    /// Seconds above zero, written as an integer or a float.
    fn secs(&self, key: &'static str) -> Result<Option<f64>, ConfigError> {
        let secs = match self.table.get(key) {
            None => return Ok(None),
            Some(toml::Value::Integer(n)) => *n as f64,
            Some(_) => self.value::<f64>(key)?.unwrap_or_default(),
        };
        check_secs(secs).map(Some).map_err(|m| self.bad(key, m))
    }

    /// Seconds, or 0 (for "keep forever" / "never").
    fn zero_or_secs(&self, key: &'static str) -> Result<Option<f64>, ConfigError> {
        let secs = match self.table.get(key) {
            None => return Ok(None),
            Some(toml::Value::Integer(n)) => *n as f64,
            Some(_) => self.value::<f64>(key)?.unwrap_or_default(),
        };
        check_zero_or_secs(secs)
            .map(Some)
            .map_err(|m| self.bad(key, m))
    }

    /// The `[[agents]]` entries, each read on its own: a bad entry is kept
    /// as its error, so the others still start.
    fn agents(&self) -> Result<Option<Vec<DeclaredEntry>>, ConfigError> {
        let Some(value) = self.table.get("agents") else {
            return Ok(None);
        };
        let Some(entries) = value.as_array() else {
            return Err(self.bad(
                "agents",
                "declare agents as [[agents]] tables (an array of tables)",
            ));
        };
        let base = declarations_dir(self.path);
        Ok(Some(
            entries
                .iter()
                .enumerate()
                .map(|(i, entry)| DeclaredEntry {
                    entry: i + 1,
                    decl: read_declaration(entry, &base),
                })
                .collect(),
        ))
    }

    /// A list of origins, or one string (`"*"`, or comma-separated).
    fn cors_origins(&self, key: &'static str) -> Result<Option<CorsOrigins>, ConfigError> {
        let parsed = match self.table.get(key) {
            None => return Ok(None),
            Some(toml::Value::String(list)) => CorsOrigins::parse(list),
            Some(_) => match self.value::<Vec<String>>(key)? {
                Some(list) => CorsOrigins::from_list(list.iter().map(String::as_str)),
                None => Ok(CorsOrigins::Off),
            },
        };
        parsed.map(Some).map_err(|m| self.bad(key, m))
    }
}

/// The directory a declarations file's relative paths start from: the
/// file's own, made absolute.
pub(crate) fn declarations_dir(file: &Path) -> PathBuf {
    let base = file.parent().map(Path::to_path_buf).unwrap_or_default();
    std::fs::canonicalize(&base).unwrap_or(base)
}

/// One agent declaration of a TOML file (hive.toml's `[[agents]]`, or
/// `hive agent spawn --config`), read and checked, its relative paths
/// resolved against `base`; or the error, naming the agent, in the CLI's
/// words (without hive-core's "invalid input:" prefix).
pub(crate) fn read_declaration(
    entry: &toml::Value,
    base: &Path,
) -> Result<hive_core::declared::AgentDecl, String> {
    let json = serde_json::to_value(entry).map_err(|e| e.to_string())?;
    let mut decl = hive_core::declared::AgentDecl::from_value(json).map_err(|e| match e {
        hive_core::Error::InvalidInput(message) => message,
        other => other.to_string(),
    })?;
    decl.resolve_paths(base);
    Ok(decl)
}

/// The address `text` names: an IP and port (`127.0.0.1:8080`, `[::1]:80`)
/// or a host name and port (`localhost:9000`), resolved, the first IPv4
/// address preferred.
///
/// # Errors
/// Text that names no host and port, or a host that does not resolve.
pub fn resolve_addr(text: &str) -> Result<SocketAddr, String> {
    use std::net::ToSocketAddrs;
    if let Ok(addr) = text.parse::<SocketAddr>() {
        return Ok(addr);
    }
    let hint = "give host:port, e.g. 127.0.0.1:8080 or localhost:9000";
    let addrs: Vec<SocketAddr> = text
        .to_socket_addrs()
        .map_err(|e| format!("{text:?} is not a socket address ({e}): {hint}"))?
        .collect();
    addrs
        .iter()
        .find(|a| a.is_ipv4())
        .or(addrs.first())
        .copied()
        .ok_or_else(|| format!("{text:?} resolves to no socket address: {hint}"))
}

/// `n`, if it is at least 1.
fn positive<T: PartialOrd + From<u8>>(n: T) -> Result<T, &'static str> {
    if n < T::from(1) {
        Err("must be at least 1")
    } else {
        Ok(n)
    }
}

/// A count from a flag or the environment: at least 1.
fn at_least_one<T>(text: &str) -> Result<T, String>
where
    T: std::str::FromStr + PartialOrd + From<u8>,
    T::Err: fmt::Display,
{
    let n: T = text.parse().map_err(|e: T::Err| e.to_string())?;
    positive(n).map_err(str::to_string)
}

/// Seconds that make a duration: above zero, finite, at most a year.
fn check_secs(secs: f64) -> Result<f64, &'static str> {
    if secs.is_finite() && secs > 0.0 && secs <= 365.0 * 86_400.0 {
        Ok(secs)
    } else {
        Err("must be a number of seconds above 0 (and at most a year)")
    }
}

/// Seconds that may also be 0: at least zero, finite, at most ten years.
fn check_zero_or_secs(secs: f64) -> Result<f64, &'static str> {
    if secs.is_finite() && (0.0..=3650.0 * 86_400.0).contains(&secs) {
        Ok(secs)
    } else {
        Err("must be a number of seconds, 0 or more (0 means forever / never), at most ten years")
    }
}

/// Seconds or 0 from a flag or the environment.
fn zero_or_secs(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|e: std::num::ParseFloatError| e.to_string())?;
    check_zero_or_secs(secs).map_err(str::to_string)
}

/// A retention age: `given` seconds (0 keeps forever), else `default`.
fn kept(given: Option<f64>, default: Duration) -> Option<Duration> {
    match given {
        Some(0.0) => None,
        Some(secs) => Some(Duration::from_secs_f64(secs)),
        None => Some(default),
    }
}

/// Default age of finished tasks: a week.
pub const DEFAULT_RETAIN_FINISHED: Duration = Duration::from_secs(7 * 86_400);
/// Default age of dead letters: 30 days.
pub const DEFAULT_RETAIN_DEAD_LETTERS: Duration = Duration::from_secs(30 * 86_400);
/// Default age of broker messages: a week.
pub const DEFAULT_RETAIN_MESSAGES: Duration = Duration::from_secs(7 * 86_400);
/// Default time between retention passes.
pub const DEFAULT_RETENTION_INTERVAL: Duration = Duration::from_secs(60);

/// Seconds from a flag or the environment.
fn positive_secs(text: &str) -> Result<f64, String> {
    let secs: f64 = text
        .parse()
        .map_err(|e: std::num::ParseFloatError| e.to_string())?;
    check_secs(secs).map_err(str::to_string)
}

/// The liveness the settings give: the heartbeat interval (default 30 s),
/// unhealthy after 2 of them and dead after 4 unless set.
fn liveness(s: &Settings) -> Result<Liveness, ConfigError> {
    let mut liveness = s.heartbeat_secs.map_or_else(Liveness::default, |secs| {
        Liveness::every(Duration::from_secs_f64(secs))
    });
    if let Some(secs) = s.unhealthy_after_secs {
        liveness.unhealthy_after = Duration::from_secs_f64(secs);
    }
    if let Some(secs) = s.dead_after_secs {
        liveness.dead_after = Duration::from_secs_f64(secs);
    }
    liveness.check().map_err(|_| ConfigError::Liveness {
        heartbeat: liveness.interval,
        unhealthy_after: liveness.unhealthy_after,
        dead_after: liveness.dead_after,
    })?;
    Ok(liveness)
}

/// Whether users other than the owner may read `path`.
fn readable_by_others(path: &Path) -> bool {
    use std::os::unix::fs::PermissionsExt;
    std::fs::metadata(path).is_ok_and(|m| m.permissions().mode() & 0o044 != 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn file(text: &str) -> Result<Settings, ConfigError> {
        Settings::from_toml(Path::new("conf/hive.toml"), text)
    }

    fn resolve(given: Settings, text: &str) -> ServeConfig {
        let from_file = file(text).expect("file");
        ServeConfig::resolve(given, Some(("conf/hive.toml".into(), from_file))).expect("config")
    }

    #[test]
    fn nothing_given_is_the_documented_defaults() {
        let config = ServeConfig::resolve(Settings::default(), None).expect("config");
        assert_eq!(config.addr.to_string(), "127.0.0.1:8080");
        assert_eq!(config.db, PathBuf::from("hive.db"));
        assert_eq!(
            (config.redis, config.postgres, config.token),
            (None, None, None)
        );
        assert_eq!(config.request_timeout, Duration::from_secs(30));
        assert_eq!(config.body_limit, 1 << 20);
        assert_eq!(config.cors, CorsOrigins::Off);
        assert_eq!(config.file, None);
    }

    #[test]
    fn the_file_fills_in_and_flags_or_environment_win() {
        let text = r#"
            addr = "127.0.0.1:9000"
            db = "from-file.db"
            redis = "redis://127.0.0.1:6379"
            token = "from-file"
            request_timeout_secs = 5
            body_limit_bytes = 4096
            cors_origins = ["https://app.example", "http://localhost:5173"]
        "#;
        let all_from_file = resolve(Settings::default(), text);
        assert_eq!(all_from_file.addr.port(), 9000);
        assert_eq!(all_from_file.db, PathBuf::from("from-file.db"));
        assert_eq!(
            all_from_file.redis.as_deref(),
            Some("redis://127.0.0.1:6379")
        );
        assert_eq!(all_from_file.token, Token::new("from-file"));
        assert_eq!(all_from_file.request_timeout, Duration::from_secs(5));
        assert_eq!(all_from_file.body_limit, 4096);
        assert_eq!(
            all_from_file.cors.to_string(),
            "https://app.example,http://localhost:5173"
        );
        assert_eq!(all_from_file.file, Some(PathBuf::from("conf/hive.toml")));
        let given = Settings {
            addr: Some("127.0.0.1:9001".parse().expect("addr")),
            token: Token::new("given"),
            body_limit_bytes: Some(10),
            cors_origins: Some(CorsOrigins::Any),
            ..Settings::default()
        };
        let mixed = resolve(given, text);
        assert_eq!(mixed.addr.port(), 9001);
        assert_eq!(mixed.token, Token::new("given"));
        assert_eq!(mixed.body_limit, 10);
        assert_eq!(mixed.cors, CorsOrigins::Any);
        // What was not given still comes from the file.
        assert_eq!(mixed.db, PathBuf::from("from-file.db"));
        assert_eq!(mixed.request_timeout, Duration::from_secs(5));
    }

    #[test]
    fn the_context_store_and_liveness_are_tunable_with_documented_defaults() {
        let defaults = ServeConfig::resolve(Settings::default(), None).expect("config");
        assert!(!defaults.no_context);
        assert_eq!(defaults.lease, Duration::from_secs(30));
        assert_eq!(defaults.liveness, Liveness::every(Duration::from_secs(30)));
        assert_eq!(defaults.liveness.unhealthy_after, Duration::from_secs(60));
        assert_eq!(defaults.liveness.dead_after, Duration::from_secs(120));
        assert_eq!(defaults.events_retained, 10_000);

        let tuned = resolve(
            Settings::default(),
            "no_context = true\nlease_secs = 5\nheartbeat_secs = 0.5\ndead_after_secs = 3\nevents_retained = 50\n",
        );
        assert!(tuned.no_context);
        assert_eq!(tuned.events_retained, 50);
        assert_eq!(tuned.lease, Duration::from_secs(5));
        assert_eq!(tuned.liveness.interval, Duration::from_millis(500));
        // Unset thresholds follow the heartbeat: two of them.
        assert_eq!(tuned.liveness.unhealthy_after, Duration::from_secs(1));
        assert_eq!(tuned.liveness.dead_after, Duration::from_secs(3));

        let flags = Settings {
            no_context: Some(false),
            unhealthy_after_secs: Some(2.0),
            ..Settings::default()
        };
        let mixed = resolve(flags, "no_context = true\nheartbeat_secs = 1\n");
        assert!(!mixed.no_context, "the flag wins over the file");
        assert_eq!(mixed.liveness.unhealthy_after, Duration::from_secs(2));
        assert_eq!(mixed.liveness.dead_after, Duration::from_secs(4));

        let out_of_order = Settings {
            heartbeat_secs: Some(10.0),
            dead_after_secs: Some(5.0),
            ..Settings::default()
        };
        let err = ServeConfig::resolve(out_of_order, None).expect_err("order");
        assert!(
            err.to_string().contains("heartbeat_secs")
                && err.to_string().contains("dead_after_secs"),
            "{err}"
        );
        for bad in [
            "lease_secs = 0",
            "heartbeat_secs = -1",
            "dead_after_secs = \"x\"",
            "lease_secs = nan",
            "events_retained = 0",
        ] {
            let err = file(bad).expect_err(bad);
            assert!(matches!(err, ConfigError::BadValue { .. }), "{bad}: {err}");
        }
        assert!(positive_secs("0").is_err() && positive_secs("inf").is_err());
        assert_eq!(positive_secs("1.5"), Ok(1.5));
    }

    #[test]
    fn what_a_configuration_lacks_is_said_in_the_clis_words() {
        let pgvector = StartError::from(hive_core::Error::Setup(hive_core::Setup::PgvectorMissing));
        let text = pgvector.to_string();
        assert!(
            text.starts_with("pgvector is missing — install it, or run without the context store")
                && text.contains("--no-context")
                && !text.contains("without_context()"),
            "{text}"
        );
        let broker = StartError::from(hive_core::Error::Setup(hive_core::Setup::BrokerMissing));
        assert!(
            broker.to_string().contains("--redis") && !broker.to_string().contains(".redis(url)"),
            "{broker}"
        );
    }

    #[test]
    fn cors_origins_may_be_one_string() {
        assert_eq!(
            resolve(Settings::default(), r#"cors_origins = "*""#).cors,
            CorsOrigins::Any
        );
        assert_eq!(
            resolve(Settings::default(), "cors_origins = []").cors,
            CorsOrigins::Off
        );
    }

    #[test]
    fn unknown_keys_are_refused_by_name() {
        let err = file("addr = \"127.0.0.1:1\"\nrequest_timeout = 5\n").expect_err("unknown");
        assert!(matches!(&err, ConfigError::UnknownKey { key, .. } if key == "request_timeout"));
        let message = err.to_string();
        assert!(
            message.contains("conf/hive.toml") && message.contains("`request_timeout`"),
            "{message}"
        );
        let err = file("[server]\naddr = \"127.0.0.1:1\"\n").expect_err("table");
        assert!(
            matches!(&err, ConfigError::UnknownKey { key, .. } if key == "server"),
            "{err}"
        );
    }

    #[test]
    fn an_address_may_name_a_host() {
        assert_eq!(
            resolve_addr("localhost:9000").map(|a| (a.ip().is_loopback(), a.port())),
            Ok((true, 9000))
        );
        assert_eq!(
            resolve_addr("[::1]:80").map(|a| a.to_string()),
            Ok("[::1]:80".to_string())
        );
        for bad in ["localhost", "nowhere", ":80", "localhost:port"] {
            let err = resolve_addr(bad).expect_err(bad);
            assert!(err.contains("host:port"), "{bad}: {err}");
        }
        let config = resolve(Settings::default(), "addr = \"localhost:9001\"\n");
        assert_eq!(config.addr.port(), 9001);
    }

    #[test]
    fn bad_values_name_the_file_and_the_key() {
        for (text, key, why) in [
            (r#"addr = "nowhere""#, "addr", "socket address"),
            ("addr = 8080", "addr", "invalid type"),
            (
                r#"request_timeout_secs = "30""#,
                "request_timeout_secs",
                "invalid type",
            ),
            (
                "request_timeout_secs = 0",
                "request_timeout_secs",
                "at least 1",
            ),
            ("body_limit_bytes = -1", "body_limit_bytes", "invalid value"),
            ("body_limit_bytes = 0", "body_limit_bytes", "at least 1"),
            ("token = 5", "token", "invalid type"),
            (
                r#"cors_origins = ["https://a.example/"]"#,
                "cors_origins",
                "trailing slash",
            ),
            ("cors_origins = [1]", "cors_origins", "invalid type"),
            ("cors_origins = true", "cors_origins", "invalid type"),
        ] {
            let err = file(text).expect_err(text);
            assert!(
                matches!(&err, ConfigError::BadValue { key: k, .. } if *k == key),
                "{text}: {err:?}"
            );
            let message = err.to_string();
            assert!(
                message.contains("conf/hive.toml")
                    && message.contains(&format!("`{key}`"))
                    && message.contains(why),
                "{text}: {message}"
            );
        }
    }

    #[test]
    fn text_that_is_not_toml_names_the_file_and_line() {
        let err = file("addr = \"127.0.0.1:1\"\ndb = \n").expect_err("syntax");
        let message = err.to_string();
        assert!(matches!(err, ConfigError::Syntax { .. }), "{message}");
        assert!(
            message.contains("conf/hive.toml") && message.contains("line 2"),
            "{message}"
        );
    }

    #[test]
    fn a_public_address_needs_a_token_from_somewhere() {
        let public = Settings {
            addr: Some("0.0.0.0:8080".parse().expect("addr")),
            ..Settings::default()
        };
        let err = ServeConfig::resolve(public.clone(), None).expect_err("no token");
        assert!(err.to_string().contains("without a token"), "{err}");
        let config = resolve(public, r#"token = "s3cret""#);
        assert_eq!(config.token, Token::new("s3cret"));
        // An empty token is no token.
        assert_eq!(Token::new(""), None);
    }

    #[test]
    fn load_reads_the_named_file_and_says_which_one_is_missing() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("serve.toml");
        std::fs::write(&path, "db = \"x.db\"\n").expect("write");
        let args = ServeArgs {
            config: Some(path.clone()),
            settings: Settings::default(),
        };
        let config = ServeConfig::load(args, Some("t".into())).expect("load");
        assert_eq!(
            (config.db, config.token),
            (PathBuf::from("x.db"), Token::new("t"))
        );
        let missing = ServeArgs {
            config: Some(dir.path().join("nope.toml")),
            settings: Settings::default(),
        };
        let err = ServeConfig::load(missing, None).expect_err("missing");
        assert!(err.to_string().contains("nope.toml"), "{err}");
    }

    #[test]
    fn the_token_never_shows_in_debug_output() {
        let config = resolve(Settings::default(), r#"token = "s3cret""#);
        let shown = format!("{config:?}");
        assert!(
            !shown.contains("s3cret") && shown.contains("<set>"),
            "{shown}"
        );
    }
}
