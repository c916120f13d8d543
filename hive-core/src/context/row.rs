//! A stored entry as both SQL backends read it back, before its names and
//! codes are checked: one row struct, decoded by sqlx on either engine, and
//! one place that turns it into a [`ContextEntry`].

use serde_json::Value;
use sqlx::types::Json;

use super::entry::{ContextEntry, EntryId, Kind, Tier};
use crate::error::{Error, Result};
use crate::storage::sql::SqlUuid;
use crate::time::from_ms;

/// A stored vector. Each engine decodes its own form (little-endian `f32`s
/// in a SQLite `BLOB`; pgvector's text, `[x,y,…]`, in Postgres), next to
/// the code that writes it in that backend's module.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct StoredVector(pub Vec<f32>);

/// An entry's columns (every statement names them alike).
#[derive(sqlx::FromRow)]
pub(crate) struct RawEntry {
    pub id: SqlUuid,
    pub model: String,
    pub embedding: StoredVector,
    pub content: String,
    pub agent: Option<String>,
    pub session: Option<String>,
    pub kind: String,
    pub tier: i16,
    pub importance: f32,
    pub pinned: bool,
    pub metadata: Json<Value>,
    pub created_at: i64,
    pub accessed_at: i64,
    pub access_count: i64,
}

impl RawEntry {
    /// The entry, or [`Error::Backend`] for a row no build of hive wrote.
    pub fn into_entry(self, backend: &'static str) -> Result<ContextEntry> {
        let kind = Kind::new(self.kind).map_err(|e| Error::backend(backend, e.to_string()))?;
        Ok(ContextEntry {
            id: EntryId(self.id.0),
            content: self.content,
            embedding: self.embedding.0,
            model: self.model,
            agent: self.agent,
            session: self.session,
            kind,
            tier: Tier::from_code(self.tier.into(), backend)?,
            importance: self.importance,
            pinned: self.pinned,
            metadata: self.metadata.0,
            created_at: from_ms(self.created_at),
            accessed_at: from_ms(self.accessed_at),
            access_count: u64::try_from(self.access_count).unwrap_or(0),
        })
    }
}
