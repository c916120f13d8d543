//! [`EventedSessions`]: the session store, emitting `session.*` events.

use async_trait::async_trait;
use serde_json::{json, Value};

use super::{emit, Evented};
use crate::error::Result;
use crate::events::event::kinds;
use crate::session::{
    ConversationEntry, NewSession, Session, SessionId, SessionStatus, SessionStore, Utterance,
};

/// A session store that reports its changes to an
/// [`EventHub`](crate::events::EventHub) (who said something in which
/// session; not what).
pub(crate) type EventedSessions = Evented<dyn SessionStore>;

#[async_trait]
#[deny(clippy::missing_trait_methods)]
impl SessionStore for EventedSessions {
    async fn create(&self, new: NewSession) -> Result<Session> {
        let s = self.inner.create(new).await?;
        emit(
            &self.hub,
            kinds::SESSION_CREATED,
            s.id,
            json!({ "name": s.name, "agents": s.agents }),
        );
        Ok(s)
    }

    async fn get(&self, id: SessionId) -> Result<Session> {
        self.inner.get(id).await
    }

    async fn list(&self, status: Option<SessionStatus>, limit: usize) -> Result<Vec<Session>> {
        self.inner.list(status, limit).await
    }

    async fn join(&self, id: SessionId, agent: &str) -> Result<Session> {
        let s = self.inner.join(id, agent).await?;
        emit(
            &self.hub,
            kinds::SESSION_JOINED,
            id,
            json!({ "agent": agent }),
        );
        Ok(s)
    }

    async fn set_state(&self, id: SessionId, state: Value) -> Result<Session> {
        let s = self.inner.set_state(id, state).await?;
        emit(&self.hub, kinds::SESSION_STATE, id, json!({}));
        Ok(s)
    }

    async fn record(&self, id: SessionId, utterance: Utterance) -> Result<ConversationEntry> {
        let entry = self.inner.record(id, utterance).await?;
        emit(
            &self.hub,
            kinds::SESSION_MESSAGE,
            id,
            json!({ "seq": entry.seq, "from": entry.from_agent, "to": entry.to_agent }),
        );
        Ok(entry)
    }

    async fn conversation(
        &self,
        id: SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<ConversationEntry>> {
        self.inner.conversation(id, after_seq, limit).await
    }

    async fn close(&self, id: SessionId) -> Result<Session> {
        let s = self.inner.close(id).await?;
        emit(
            &self.hub,
            kinds::SESSION_CLOSED,
            id,
            json!({ "name": s.name }),
        );
        Ok(s)
    }
}
