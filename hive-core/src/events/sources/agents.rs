//! [`EventedRegistry`]: the agent registry, emitting `agent.*` events.

use async_trait::async_trait;
use chrono::{DateTime, Utc};
use serde_json::json;

use super::{emit, Evented};
use crate::agent::{
    AgentFilter, AgentId, AgentRecord, AgentRegistry, AgentSpec, AgentStatus, Liveness,
};
use crate::error::Result;
use crate::events::event::kinds;

/// A registry that reports registrations and status changes (by the
/// orchestrator or the health sweep) to an [`EventHub`](crate::events::EventHub).
/// Heartbeats are not events: they are too frequent to be news.
pub(crate) type EventedRegistry = Evented<dyn AgentRegistry>;

impl EventedRegistry {
    fn status(&self, record: &AgentRecord) {
        emit(
            &self.hub,
            kinds::AGENT_STATUS,
            record.id,
            json!({ "name": record.name, "status": record.status }),
        );
    }
}

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl AgentRegistry for EventedRegistry {
    fn backend(&self) -> &'static str {
        self.inner.backend()
    }

    async fn register(&self, spec: AgentSpec) -> Result<AgentRecord> {
        let record = self.inner.register(spec).await?;
        emit(
            &self.hub,
            kinds::AGENT_REGISTERED,
            record.id,
            json!({
                "name": record.name,
                "kind": record.kind,
                "capabilities": record.capabilities,
                "status": record.status,
            }),
        );
        Ok(record)
    }

    async fn get(&self, id: AgentId) -> Result<AgentRecord> {
        self.inner.get(id).await
    }

    async fn list(&self, filter: &AgentFilter) -> Result<Vec<AgentRecord>> {
        self.inner.list(filter).await
    }

    async fn heartbeat(&self, id: AgentId, load: u32) -> Result<AgentRecord> {
        self.inner.heartbeat(id, load).await
    }

    async fn set_status(&self, id: AgentId, status: AgentStatus) -> Result<AgentRecord> {
        let record = self.inner.set_status(id, status).await?;
        self.status(&record);
        Ok(record)
    }

    async fn sweep(&self, now: DateTime<Utc>, liveness: &Liveness) -> Result<Vec<AgentRecord>> {
        let changed = self.inner.sweep(now, liveness).await?;
        changed.iter().for_each(|r| self.status(r));
        Ok(changed)
    }
}
