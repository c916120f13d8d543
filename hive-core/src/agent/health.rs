//! Health: this process's heartbeats for its agents, and the sweep that
//! declares silent agents unhealthy, then dead — ending a dead agent's
//! leases at once so its tasks are redelivered without waiting for them to
//! expire.
//!
//! Every process sweeps; the registry's `sweep` answers each change to
//! exactly one caller, so a dead agent's leases are ended once. If that
//! caller dies before ending them, the leases still expire on their own.

use std::sync::Arc;

use chrono::{DateTime, Utc};

use super::orchestrator::Inner;
use super::record::{AgentRecord, AgentStatus, Liveness};
use super::registry::AgentRegistry;
use crate::error::{Error, Result};
use crate::queue::Queue;

/// Sweeps the registry and ends dead agents' leases.
#[derive(Clone, Debug)]
pub struct HealthMonitor {
    registry: Arc<dyn AgentRegistry>,
    queue: Arc<dyn Queue>,
    liveness: Liveness,
}

/// What one sweep did.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct HealthReport {
    /// Agents marked unhealthy.
    pub unhealthy: Vec<AgentRecord>,
    /// Agents marked dead.
    pub dead: Vec<AgentRecord>,
    /// Leases of dead agents ended (their tasks redelivered).
    pub leases_ended: u64,
}

impl HealthMonitor {
    /// A monitor of `registry`'s agents, ending leases on `queue`.
    pub fn new(
        registry: Arc<dyn AgentRegistry>,
        queue: Arc<dyn Queue>,
        liveness: Liveness,
    ) -> Self {
        HealthMonitor {
            registry,
            queue,
            liveness,
        }
    }

    /// The heartbeat rules in effect.
    pub fn liveness(&self) -> &Liveness {
        &self.liveness
    }

    /// Sweeps once as of `now`: marks agents that missed heartbeats and
    /// ends the leases of those it declared dead.
    ///
    /// # Errors
    /// Backend errors. A failure to end one agent's leases is logged and
    /// the others still go ahead (the leases expire on their own anyway).
    pub async fn check(&self, now: DateTime<Utc>) -> Result<HealthReport> {
        let changed = self.registry.sweep(now, &self.liveness).await?;
        let mut report = HealthReport::default();
        for record in changed {
            match record.status {
                AgentStatus::Dead => {
                    match self.queue.expire_worker(&record.id.worker_id()).await {
                        Ok(n) => {
                            report.leases_ended += n;
                            tracing::warn!(agent = %record.name, id = %record.id, leases = n, "agent declared dead; its tasks are redelivered");
                        }
                        Err(e) => {
                            tracing::error!(agent = %record.name, error = %e, "could not end a dead agent's leases; they will expire")
                        }
                    }
                    report.dead.push(record);
                }
                _ => {
                    tracing::info!(agent = %record.name, id = %record.id, "agent missed heartbeats: unhealthy");
                    report.unhealthy.push(record);
                }
            }
        }
        Ok(report)
    }
}

/// Sends a heartbeat with its load for every local agent, once per
/// interval. An agent the registry no longer counts as live is handed to
/// [`Inner::on_lost`] (restart or stop).
pub(crate) async fn pulse(inner: Arc<Inner>) {
    let every = inner.config.liveness.interval;
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = inner.stop.cancelled() => return,
        }
        for agent in inner.local_agents() {
            if agent.stop.is_cancelled() {
                continue;
            }
            match inner.registry.heartbeat(agent.id, agent.load()).await {
                Ok(_) => {}
                Err(Error::Conflict(_)) => {
                    let status = match inner.registry.get(agent.id).await {
                        Ok(r) => r.status,
                        Err(_) => AgentStatus::Stopped,
                    };
                    inner.on_lost(agent.id, status).await;
                }
                Err(Error::NotFound { .. }) => inner.on_lost(agent.id, AgentStatus::Stopped).await,
                Err(e) => {
                    tracing::warn!(agent = %agent.name, error = %e, "heartbeat failed; will retry")
                }
            }
        }
    }
}

/// Runs [`HealthMonitor::check`] every sweep interval.
pub(crate) async fn sweep_loop(inner: Arc<Inner>) {
    let every = inner.config.sweep_every();
    loop {
        tokio::select! {
            () = tokio::time::sleep(every) => {}
            () = inner.stop.cancelled() => return,
        }
        if let Err(e) = inner.monitor.check(Utc::now()).await {
            tracing::warn!(error = %e, "health sweep failed");
        }
    }
}
