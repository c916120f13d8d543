//! The registry contract: which agents exist, what they can do, whether
//! they are alive, and which of them should get the next task.

use std::sync::Arc;

use async_trait::async_trait;
use chrono::{DateTime, Utc};

use super::record::{AgentFilter, AgentId, AgentRecord, AgentSpec, AgentStatus, Liveness};
use crate::error::{Error, Result};
use crate::storage::Engine;

/// Where agents are registered: the one view of the fleet that every
/// process sharing a database has.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::agents`].
///
/// - **Register.** `register` stores a checked spec and answers its record:
///   a fresh id, status healthy, load 0, `last_heartbeat` equal to
///   `created_at` (now), capabilities sorted without duplicates; `get`
///   answers the same record. (`register_answers_a_fresh_healthy_record`)
/// - **Bad specs store nothing.** An empty or oversized name or kind, no
///   capabilities, a malformed capability or metadata that is not an
///   object is [`Error::InvalidInput`] naming the problem.
///   (`bad_specs_store_nothing`)
/// - **Live names are unique.** Registering a name a live (healthy or
///   unhealthy) agent holds is [`Error::Conflict`]; once that agent is
///   dead or stopped the name is free again, under a new id.
///   (`live_names_are_unique`)
/// - **Heartbeats.** `heartbeat` records the time and the load, and makes
///   an unhealthy agent healthy again; for a dead or stopped agent it is
///   [`Error::Conflict`] and changes nothing (it must register again); for
///   an unknown id [`Error::NotFound`]. (`heartbeats_record_time_and_load`)
/// - **Sweep.** `sweep(now, liveness)` marks live agents unhealthy whose
///   last heartbeat is older than `unhealthy_after`, dead when older than
///   `dead_after`, and answers exactly the records it changed (with their
///   new status); a second sweep at the same time changes nothing; stopped
///   and dead agents never change. (`sweep_marks_missed_heartbeats`)
/// - **Status.** `set_status` moves an agent to a status and answers the
///   record; from dead or stopped only to the same status (else
///   [`Error::Conflict`]); an unknown id is [`Error::NotFound`].
///   (`status_changes_follow_the_rules`)
/// - **List.** `list` answers the agents passing a filter (statuses, kind,
///   capabilities held), ordered by name then registration.
///   (`list_filters_and_orders`)
/// - **Candidates.** `candidates(required)` answers the healthy agents
///   whose capabilities include every required one, least loaded first,
///   ties broken by the most recent heartbeat, then the name: the
///   documented choice of who gets a task.
///   (`candidates_are_capable_healthy_and_least_loaded`)
/// - **Shared and durable.** Every handle on the same database sees every
///   other's writes at its next call; records survive reopening.
///   (`shared_and_durable`)
///
/// # Errors
/// As above; [`Error::Backend`] when the database fails.
#[async_trait]
pub trait AgentRegistry: Send + Sync + std::fmt::Debug {
    /// `"sqlite"` or `"postgres"`.
    fn backend(&self) -> &'static str;

    /// Registers an agent.
    async fn register(&self, spec: AgentSpec) -> Result<AgentRecord>;

    /// One agent.
    async fn get(&self, id: AgentId) -> Result<AgentRecord>;

    /// Agents passing `filter`.
    async fn list(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>>;

    /// Records a heartbeat with the agent's current load.
    async fn heartbeat(&self, id: AgentId, load: u32) -> Result<AgentRecord>;

    /// Moves an agent to `status`.
    async fn set_status(&self, id: AgentId, status: AgentStatus) -> Result<AgentRecord>;

    /// Marks agents that missed their heartbeats; answers those changed.
    async fn sweep(&self, now: DateTime<Utc>, liveness: &Liveness) -> Result<Vec<AgentRecord>>;
}

/// Conveniences over any [`AgentRegistry`]; never implemented by hand.
#[async_trait]
pub trait AgentRegistryExt: AgentRegistry {
    /// The healthy agents able to take a task requiring `required`, best
    /// first (the contract's **Candidates** clause).
    async fn candidates(&self, required: &[String]) -> Result<Vec<AgentRecord>> {
        let mut filter = AgentFilter::any().status(AgentStatus::Healthy);
        filter.capabilities = required.iter().cloned().collect();
        let mut agents = self.list(&filter).await?;
        agents.sort_by(|a, b| {
            a.load
                .cmp(&b.load)
                .then_with(|| b.last_heartbeat.cmp(&a.last_heartbeat))
                .then_with(|| a.name.cmp(&b.name))
        });
        Ok(agents)
    }
}

impl<R: AgentRegistry + ?Sized> AgentRegistryExt for R {}

/// Why an update of `id` matched no row: the agent is dead or stopped
/// ([`Error::Conflict`] saying `what` it cannot do), or unknown
/// ([`Error::NotFound`]). Both backends answer this way.
pub(crate) async fn refusal(registry: &dyn AgentRegistry, id: AgentId, what: &str) -> Error {
    match registry.get(id).await {
        Ok(r) => Error::conflict(format!(
            "agent {} ({}) is {}: {what}",
            r.name, r.id, r.status
        )),
        Err(e) => e,
    }
}

/// Opens the registry at `url`: `sqlite://path`, `sqlite::memory:` or
/// `postgres://…`.
///
/// # Errors
/// [`Error::InvalidInput`] for an unknown scheme or a bad URL;
/// [`Error::NotSupported`] for a backend this build left out (naming its
/// cargo feature); [`Error::Backend`] when the database cannot be reached or
/// migrated.
pub async fn open(url: &str) -> Result<Arc<dyn AgentRegistry>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(
            super::sqlite::SqliteAgentRegistry::open(url).await?,
        )),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(
            super::postgres::PostgresAgentRegistry::open(url).await?,
        )),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "no agent registry for {url:?}: use sqlite://, sqlite::memory: or postgres://"
        ))),
    }
}
