//! [`HiveBuilder`]: where a hive keeps its state, chosen by URLs, with the
//! embedded default when nothing is said.
//!
//! - `embedded(path)` (the default, at `./hive.db`): everything in one
//!   SQLite file.
//! - `redis(url)` + `postgres(url)`: the distributed setup — queue and
//!   broker on Redis; registry, sessions, message history and context on
//!   Postgres (with pgvector).
//! - `postgres(url)` alone: queue too on Postgres; the broker then needs
//!   Redis or the embedded file, so [`HiveBuilder::build`] refuses it with
//!   a clear error rather than pick one silently.

use std::path::Path;
use std::sync::Arc;

use super::retention::{RetentionLoop, DEFAULT_INTERVAL};
use super::Hive;
use crate::agent::{self, AgentOrchestrator, Liveness, OrchestratorConfig, Services};
use crate::broker::{self, BrokerConfig};
use crate::context::{ContextEngine, EmbeddingService};
use crate::error::{Error, Result, Setup};
use crate::events::sources::{EventedBroker, EventedQueue, EventedRegistry, EventedSessions};
use crate::events::{EventHub, EventLog, MemoryLog, NewEvent, DEFAULT_RETAINED};
use crate::experiment::{self, Experiments, Notify};
use crate::outcome::{self, OutcomeRecorder};
use crate::prompt;
use crate::queue::{self, Queue, QueueConfig, TaskRetention};
use crate::session::{self, SessionStore};

/// The default embedded file.
pub const DEFAULT_EMBEDDED_PATH: &str = "hive.db";

enum ContextChoice {
    /// The built-in offline embedder (the `embedder` feature).
    #[cfg(feature = "embedder")]
    Offline,
    Embedder(Arc<dyn EmbeddingService>),
    Disabled,
}

impl Default for ContextChoice {
    /// The built-in offline embedder when this build has it; without the
    /// `embedder` feature a hive has context only when given an embedder.
    fn default() -> Self {
        #[cfg(feature = "embedder")]
        return ContextChoice::Offline;
        #[cfg(not(feature = "embedder"))]
        return ContextChoice::Disabled;
    }
}

/// Configures and starts a [`Hive`]. Defaults are documented per method.
pub struct HiveBuilder {
    embedded: String,
    redis: Option<String>,
    postgres: Option<String>,
    queue: QueueConfig,
    broker: BrokerConfig,
    orchestrator: OrchestratorConfig,
    context: ContextChoice,
    events_retained: usize,
    allow_redis_eviction: bool,
    task_retention: Option<TaskRetention>,
    retention_interval: std::time::Duration,
    experiment_interval: std::time::Duration,
}

impl Default for HiveBuilder {
    fn default() -> Self {
        HiveBuilder {
            embedded: format!("sqlite://{DEFAULT_EMBEDDED_PATH}"),
            redis: None,
            postgres: None,
            queue: QueueConfig::default(),
            broker: BrokerConfig::default(),
            orchestrator: OrchestratorConfig::default(),
            context: ContextChoice::default(),
            events_retained: DEFAULT_RETAINED,
            allow_redis_eviction: false,
            task_retention: None,
            retention_interval: DEFAULT_INTERVAL,
            experiment_interval: super::experiments::DEFAULT_INTERVAL,
        }
    }
}

impl HiveBuilder {
    /// Keeps everything not given a Redis or Postgres URL in the SQLite
    /// file at `path` (created if missing). Default `./hive.db`.
    pub fn embedded(mut self, path: impl AsRef<Path>) -> Self {
        self.embedded = format!("sqlite://{}", path.as_ref().display());
        self
    }

    /// Keeps the embedded state in memory: nothing survives the process.
    pub fn memory(mut self) -> Self {
        self.embedded = "sqlite::memory:".into();
        self
    }

    /// Puts the queue and the broker on Redis at `url`.
    pub fn redis(mut self, url: impl Into<String>) -> Self {
        self.redis = Some(url.into());
        self
    }

    /// Puts the registry, sessions and context (and the queue, without
    /// Redis) on Postgres at `url`.
    pub fn postgres(mut self, url: impl Into<String>) -> Self {
        self.postgres = Some(url.into());
        self
    }

    /// The queue's configuration (name, lease, retries…). Default
    /// [`QueueConfig::default`].
    pub fn queue_config(mut self, config: QueueConfig) -> Self {
        self.queue = config;
        self
    }

    /// How long the queue keeps finished tasks and dead letters. It wins
    /// over the `retention` of [`queue_config`](Self::queue_config),
    /// whichever is called first. Default: that `retention`,
    /// [`TaskRetention::default`] unless given (7 days, 30 for dead
    /// letters).
    pub fn task_retention(mut self, retention: TaskRetention) -> Self {
        self.task_retention = Some(retention);
        self
    }

    /// How often the hive deletes what its retention lets go: tasks past
    /// their age ([`task_retention`](Self::task_retention)) and the
    /// broker's messages past [`BrokerConfig::retention`]. The first pass
    /// runs as the hive starts. Every process sharing the stores may run
    /// it. Default 60 s; [`Duration::ZERO`](std::time::Duration::ZERO)
    /// runs none (for a caller that purges by itself).
    pub fn retention_interval(mut self, interval: std::time::Duration) -> Self {
        self.retention_interval = interval;
        self
    }

    /// How often the hive looks at its active experiments (replays their
    /// outcomes, applies decisions). Every process sharing the stores may
    /// run it. Default 250 ms; [`Duration::ZERO`](std::time::Duration::ZERO)
    /// runs none (the caller ticks [`Experiments::tick`](crate::experiment::Experiments::tick)).
    pub fn experiment_interval(mut self, interval: std::time::Duration) -> Self {
        self.experiment_interval = interval;
        self
    }

    /// The broker's configuration. Default [`BrokerConfig::default`].
    pub fn broker_config(mut self, config: BrokerConfig) -> Self {
        self.broker = config;
        self
    }

    /// The orchestrator's configuration (heartbeats, grace…). Default
    /// [`OrchestratorConfig::default`].
    pub fn orchestrator_config(mut self, config: OrchestratorConfig) -> Self {
        self.orchestrator = config;
        self
    }

    /// Heartbeat interval (unhealthy after 2 missed, dead after 4). Default
    /// 30 s.
    pub fn heartbeat_every(mut self, interval: std::time::Duration) -> Self {
        self.orchestrator.liveness = Liveness::every(interval);
        self
    }

    /// Embeds context with `embedder` instead of the offline default (which
    /// needs the `embedder` feature; without it, a hive given no embedder
    /// runs without a context engine, as with
    /// [`without_context`](Self::without_context)).
    pub fn embedder(mut self, embedder: Arc<dyn EmbeddingService>) -> Self {
        self.context = ContextChoice::Embedder(embedder);
        self
    }

    /// How many events the feed keeps for watchers that fall behind or
    /// resume (in memory on the embedded default, in Redis otherwise).
    /// Default [`DEFAULT_RETAINED`] (10,000).
    pub fn events_retained(mut self, events: usize) -> Self {
        self.events_retained = events;
        self
    }

    /// Opens a Redis whose `maxmemory-policy` is not `noeviction`. Default
    /// false: such a Redis is refused with [`Setup::RedisEvicts`], because
    /// when it fills up it deletes keys — queued tasks, leases, messages —
    /// and the hive would lose work without a trace. A Redis that does not
    /// append to a log (`appendonly no`) is allowed, with a warning: it
    /// loses the writes since its last snapshot when it restarts.
    pub fn allow_redis_eviction(mut self, allow: bool) -> Self {
        self.allow_redis_eviction = allow;
        self
    }

    /// Runs without a context engine (agents' `store_context` and
    /// `search_context` then answer [`Error::NotSupported`]).
    pub fn without_context(mut self) -> Self {
        self.context = ContextChoice::Disabled;
        self
    }

    /// Opens every store (running migrations) and starts the orchestrator
    /// on the current Tokio runtime.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for bad URLs or configuration;
    /// [`Error::Setup`] for Postgres without Redis or a Redis that evicts
    /// keys (see [`allow_redis_eviction`](Self::allow_redis_eviction));
    /// [`Error::Backend`] when a store cannot be reached.
    pub async fn build(mut self) -> Result<Hive> {
        if let Some(retention) = self.task_retention {
            self.queue.retention = retention;
        }
        let store_url = self
            .postgres
            .clone()
            .unwrap_or_else(|| self.embedded.clone());
        let queue_url = self
            .redis
            .clone()
            .or_else(|| self.postgres.clone())
            .unwrap_or_else(|| self.embedded.clone());
        let broker_url = match (&self.redis, &self.postgres) {
            (Some(redis), _) => redis.clone(),
            (None, None) => self.embedded.clone(),
            (None, Some(_)) => return Err(Error::Setup(Setup::BrokerMissing)),
        };
        #[cfg(feature = "redis")]
        if let Some(url) = &self.redis {
            let (policy, appends) = crate::storage::redis::server_settings(url).await?;
            if policy != "noeviction" {
                if !self.allow_redis_eviction {
                    return Err(Error::Setup(Setup::RedisEvicts { policy }));
                }
                tracing::warn!(
                    policy,
                    "Redis evicts keys when full: queued tasks may vanish"
                );
            }
            if !appends {
                tracing::warn!(
                    "Redis has appendonly off: a restart loses the writes since its last snapshot"
                );
            }
        }
        let log: Arc<dyn EventLog> = match &self.redis {
            #[cfg(feature = "redis")]
            Some(url) => Arc::new(
                crate::events::RedisLog::open_with_retention(
                    url,
                    &self.queue.name,
                    self.events_retained,
                )
                .await?,
            ),
            #[cfg(not(feature = "redis"))]
            Some(_) => return Err(crate::storage::Engine::Redis.left_out()),
            None => Arc::new(MemoryLog::with_retention(self.events_retained)),
        };
        let events = EventHub::start(log).await?;
        let queue: Arc<dyn Queue> = Arc::new(EventedQueue::new(
            queue::open(&queue_url, self.queue).await?,
            events.clone(),
        ));
        let broker: Arc<dyn broker::Broker> = Arc::new(EventedBroker::new(
            broker::open(&broker_url, self.broker).await?,
            events.clone(),
        ));
        let registry: Arc<dyn agent::AgentRegistry> = Arc::new(EventedRegistry::new(
            agent::open(&store_url).await?,
            events.clone(),
        ));
        let sessions: Arc<dyn SessionStore> = Arc::new(EventedSessions::new(
            session::open(&store_url).await?,
            events.clone(),
        ));
        let context = match self.context {
            ContextChoice::Disabled => None,
            #[cfg(feature = "embedder")]
            ContextChoice::Offline => {
                let embedder: Arc<dyn EmbeddingService> =
                    Arc::new(crate::context::OfflineEmbedder::new()?);
                Some(Arc::new(ContextEngine::open(&store_url, embedder).await?))
            }
            ContextChoice::Embedder(embedder) => {
                Some(Arc::new(ContextEngine::open(&store_url, embedder).await?))
            }
        };
        let outcomes = OutcomeRecorder::start(outcome::open(&store_url).await?);
        let prompts = prompt::open(&store_url).await?;
        let notify: Notify = {
            let events = events.clone();
            Arc::new(move |kind, subject, data| events.emit(NewEvent::known(kind, subject, data)))
        };
        let experiments = Arc::new(Experiments::new(
            experiment::open(&store_url).await?,
            prompts.clone(),
            outcomes.clone(),
            Some(notify),
        ));
        let verifiers = Arc::new(crate::verify::Verifiers::new());
        let services = Services {
            queue: queue.clone(),
            broker: broker.clone(),
            sessions: sessions.clone(),
            context: context.clone(),
            outcomes: Some(outcomes.clone()),
            prompts: Some(prompts.clone()),
            experiments: Some(experiments.clone()),
            verifiers: Some(verifiers.clone()),
        };
        let orchestrator =
            AgentOrchestrator::start(queue.clone(), registry.clone(), services, self.orchestrator)?;
        let retention =
            RetentionLoop::start(queue.clone(), broker.clone(), self.retention_interval);
        let proposals = crate::meta::open(&store_url).await?;
        let experiment_loop = super::experiments::ExperimentLoop::start(
            experiments.clone(),
            self.experiment_interval,
        );
        #[cfg(feature = "selfmod")]
        let changes = Arc::new(crate::selfmod::SelfModifier::new(
            crate::selfmod::open(&store_url).await?,
            queue.clone(),
            Some({
                let events = events.clone();
                Arc::new(move |kind, subject, data| {
                    events.emit(NewEvent::known(kind, subject, data))
                })
            }),
        ));
        Ok(Hive {
            #[cfg(feature = "selfmod")]
            changes,
            #[cfg(feature = "selfmod")]
            change_agent: tokio::sync::OnceCell::new(),
            verifiers,
            proposals,
            prompts,
            experiments,
            experiment_loop,
            queue,
            broker,
            registry,
            sessions,
            context,
            outcomes,
            orchestrator,
            events,
            retention,
            retention_interval: self.retention_interval,
        })
    }
}

impl std::fmt::Debug for HiveBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // URLs may hold passwords: say only which stores are set.
        f.debug_struct("HiveBuilder")
            .field("redis", &self.redis.is_some())
            .field("postgres", &self.postgres.is_some())
            .field("queue", &self.queue.name)
            .finish()
    }
}
