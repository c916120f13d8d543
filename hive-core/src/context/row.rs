//! A stored entry as both SQL backends read it back, before its names and
//! codes are checked: one place turns columns into a [`ContextEntry`].

use serde_json::Value;
use uuid::Uuid;

use super::entry::{ContextEntry, EntryId, Kind, Tier};
use crate::error::{Error, Result};
use crate::time::from_ms;

/// An entry's columns, decoded from the backend's types.
pub(crate) struct RawEntry {
    pub id: Uuid,
    pub model: String,
    pub embedding: Vec<f32>,
    pub content: String,
    pub agent: Option<String>,
    pub session: Option<String>,
    pub kind: String,
    pub tier: i64,
    pub importance: f32,
    pub pinned: bool,
    pub metadata: Value,
    pub created_at: i64,
    pub accessed_at: i64,
    pub access_count: i64,
}

impl RawEntry {
    /// The entry, or [`Error::Backend`] for a row no build of hive wrote.
    pub fn into_entry(self, backend: &'static str) -> Result<ContextEntry> {
        let kind = Kind::new(self.kind).map_err(|e| Error::backend(backend, e.to_string()))?;
        Ok(ContextEntry {
            id: EntryId(self.id),
            content: self.content,
            embedding: self.embedding,
            model: self.model,
            agent: self.agent,
            session: self.session,
            kind,
            tier: Tier::from_code(self.tier, backend)?,
            importance: self.importance,
            pinned: self.pinned,
            metadata: self.metadata,
            created_at: from_ms(self.created_at),
            accessed_at: from_ms(self.accessed_at),
            access_count: u64::try_from(self.access_count).unwrap_or(0),
        })
    }
}
