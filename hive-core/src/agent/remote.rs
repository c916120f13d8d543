//! Work for an agent that runs elsewhere — another language, another
//! machine — and was registered in the [`AgentRegistry`] by hand rather
//! than spawned here. It claims as itself (worker id `agent-<id>`, the
//! capabilities it registered), so routing, [`Task::worker`], health and
//! the dead agent's lease recovery work as for the agents this process
//! runs. This is the one place that decides what such a claim means; the
//! HTTP API, the Python bindings and the dashboard only translate to it
//! (see [`crate::Hive::claim_as_agent`]).
//!
//! [`Task::worker`]: crate::queue::Task::worker

use std::collections::BTreeSet;
use std::time::Duration;

use super::record::AgentId;
use super::registry::AgentRegistry;
use crate::error::{Error, Result};
use crate::queue::{ClaimRequest, Lease, Queue, MAX_TYPE_LEN};
use crate::setters::setters;

/// The longest a long poll waits for a wake-up before it claims again. A
/// wake-up (on Redis, one marker per ready task) reaches one waiter of the
/// fleet, and that may be another one — this process's own dispatch
/// watcher, another server's claim — that cannot take the task; claiming
/// again this often bounds what such a lost wake-up costs. The same as the
/// orchestrator's default poll interval.
const REPOLL: Duration = Duration::from_millis(500);

/// What a registered agent asks for when it claims work as itself.
/// Defaults are documented per field.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RemoteClaim {
    /// At most this many tasks; at least 1. Default 1.
    pub max: usize,
    /// How long to wait for work when none is ready: the claim answers as
    /// soon as it has a task, or empty once this has passed. Default zero
    /// (answer at once).
    pub wait: Duration,
    /// Lease length; `None` uses the queue's. Default `None`.
    pub lease: Option<Duration>,
    /// Only tasks of these types; empty (the default) takes any type the
    /// agent's capabilities allow. Routing is by capability: a task that
    /// requires nothing goes to any agent, so an agent that can only do
    /// some types should name them here rather than release the others
    /// (a released task keeps its place in line and comes straight back).
    pub task_types: BTreeSet<String>,
}

impl Default for RemoteClaim {
    fn default() -> Self {
        RemoteClaim {
            max: 1,
            wait: Duration::ZERO,
            lease: None,
            task_types: BTreeSet::new(),
        }
    }
}

impl RemoteClaim {
    /// Claims up to `max` tasks at once.
    pub fn max(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    /// Waits up to `wait` for work.
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Uses a lease of `lease` instead of the queue default.
    pub fn lease(mut self, lease: Duration) -> Self {
        self.lease = Some(lease);
        self
    }

    setters! {
        /// Takes only tasks of these types (none: any type).
        task_types(task_types: impl IntoIterator<Item = impl Into<String>>) =>
            task_types.into_iter().map(Into::into).collect();
    }

    /// Refuses what no claim can honour.
    fn validate(&self) -> Result<()> {
        if self.max == 0 {
            return Err(Error::invalid("max must be at least 1"));
        }
        if let Some(bad) = self
            .task_types
            .iter()
            .find(|t| t.is_empty() || t.len() > MAX_TYPE_LEN)
        {
            return Err(Error::invalid(format!(
                "a task type to claim must be 1 to {MAX_TYPE_LEN} bytes, got {bad:?}"
            )));
        }
        Ok(())
    }
}

/// Claims tasks for agent `id` as it: refused unless it is live, then
/// claims with its registered capabilities (and only `request.task_types`,
/// when given), waiting up to `request.wait` for work when none is ready.
pub(crate) async fn claim_as_agent(
    registry: &dyn AgentRegistry,
    queue: &dyn Queue,
    id: AgentId,
    request: RemoteClaim,
) -> Result<Vec<Lease>> {
    request.validate()?;
    let agent = registry.get(id).await?;
    if !agent.status.is_live() {
        return Err(Error::conflict(format!(
            "agent {id} is {}: register it again to take work",
            agent.status
        )));
    }
    let mut claim = ClaimRequest::new(id.worker_id())
        .capabilities(agent.capabilities.iter().cloned())
        .task_types(request.task_types.iter().cloned())
        .max(request.max);
    if let Some(lease) = request.lease {
        claim = claim.lease(lease);
    }
    let deadline = tokio::time::Instant::now() + request.wait;
    loop {
        let leases = queue.claim(&claim).await?;
        let now = tokio::time::Instant::now();
        if !leases.is_empty() || now >= deadline {
            return Ok(leases);
        }
        queue.wait_for_work((deadline - now).min(REPOLL)).await?;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn defaults_claim_one_task_at_once_on_the_queue_lease() {
        let r = RemoteClaim::default();
        assert_eq!((r.max, r.wait, r.lease), (1, Duration::ZERO, None));
        assert!(r.task_types.is_empty(), "any type by default");
        let r = r
            .max(3)
            .wait(Duration::from_secs(2))
            .lease(Duration::from_secs(9));
        assert_eq!(
            (r.max, r.wait, r.lease),
            (3, Duration::from_secs(2), Some(Duration::from_secs(9)))
        );
        assert!(r.validate().is_ok());
        let typed = RemoteClaim::default().task_types(["echo"]);
        assert!(typed.validate().is_ok());
        assert!(typed.task_types.contains("echo"));
        let empty = RemoteClaim::default().task_types([""]).validate();
        assert!(
            matches!(&empty, Err(Error::InvalidInput(m)) if m.contains("task type")),
            "{empty:?}"
        );
        let zero = RemoteClaim::default().max(0).validate();
        assert!(
            matches!(&zero, Err(Error::InvalidInput(m)) if m.contains("max")),
            "{zero:?}"
        );
    }
}
