//! What the context engine remembers: an entry, its tier and kind, the
//! model its vector belongs to, and the checks every store applies before
//! writing anything.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use super::vector;
use crate::error::{Error, Result};
use crate::setters::setters;

/// The longest content an entry may hold, in bytes (1 MiB).
pub const MAX_CONTENT_BYTES: usize = 1 << 20;

/// The longest agent or session name, in bytes.
pub const MAX_NAME_BYTES: usize = 256;

/// An entry's identity: a UUID (v7, so ids sort by creation).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct EntryId(pub Uuid);

impl EntryId {
    /// A fresh id.
    pub fn new() -> Self {
        EntryId(Uuid::now_v7())
    }
}

impl Default for EntryId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for EntryId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for EntryId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s)
            .map(EntryId)
            .map_err(|e| Error::invalid(format!("bad context entry id {s:?}: {e}")))
    }
}

/// Which memory an entry lives in. Each tier has its own rules of
/// promotion, demotion and expiry ([`TierPolicy`](super::TierPolicy)).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum Tier {
    /// The live window and pinned facts. Unpinned entries expire.
    Short,
    /// The conversation log and its rolling summaries.
    Medium,
    /// Extracted facts, kept by importance.
    Long,
}

impl Tier {
    /// Every tier, shortest first.
    pub const ALL: [Tier; 3] = [Tier::Short, Tier::Medium, Tier::Long];

    /// Its stored form: `short`, `medium` or `long`.
    pub fn as_str(self) -> &'static str {
        match self {
            Tier::Short => "short",
            Tier::Medium => "medium",
            Tier::Long => "long",
        }
    }

    /// The small integer stored in the databases.
    pub(crate) fn code(self) -> i16 {
        match self {
            Tier::Short => 0,
            Tier::Medium => 1,
            Tier::Long => 2,
        }
    }

    /// The tier of a stored code.
    ///
    /// # Errors
    /// [`Error::Backend`] for a code no build of hive wrote.
    pub(crate) fn from_code(code: i64, backend: &'static str) -> Result<Self> {
        match code {
            0 => Ok(Tier::Short),
            1 => Ok(Tier::Medium),
            2 => Ok(Tier::Long),
            other => Err(Error::backend(
                backend,
                format!("stored tier code {other} is unknown"),
            )),
        }
    }
}

impl fmt::Display for Tier {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Tier {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "short" => Ok(Tier::Short),
            "medium" => Ok(Tier::Medium),
            "long" => Ok(Tier::Long),
            other => Err(Error::invalid(format!(
                "unknown tier {other:?} (expected short, medium or long)"
            ))),
        }
    }
}

/// What an entry is: `message`, `fact`, `summary`, `note`, or any name of
/// the caller's (1–64 characters of `a-z 0-9 _ - .`).
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct Kind(String);

impl Kind {
    /// One message of a conversation.
    pub const MESSAGE: &'static str = "message";
    /// A fact extracted from work or conversation.
    pub const FACT: &'static str = "fact";
    /// A summary that replaced older entries.
    pub const SUMMARY: &'static str = "summary";
    /// Anything else an agent chose to remember.
    pub const NOTE: &'static str = "note";

    /// Checks and wraps a kind name.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an empty, long or oddly spelled name.
    pub fn new(name: impl Into<String>) -> Result<Self> {
        let name = name.into();
        let valid = !name.is_empty()
            && name.len() <= 64
            && name
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b"_-.".contains(&b));
        if !valid {
            return Err(Error::invalid(format!(
                "bad context kind {name:?}: use 1-64 characters of a-z, 0-9, '_', '-', '.'"
            )));
        }
        Ok(Kind(name))
    }

    /// `message`.
    pub fn message() -> Self {
        Kind(Self::MESSAGE.into())
    }

    /// `fact`.
    pub fn fact() -> Self {
        Kind(Self::FACT.into())
    }

    /// `summary`.
    pub fn summary() -> Self {
        Kind(Self::SUMMARY.into())
    }

    /// `note`.
    pub fn note() -> Self {
        Kind(Self::NOTE.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Kind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl TryFrom<String> for Kind {
    type Error = Error;

    fn try_from(s: String) -> Result<Self> {
        Kind::new(s)
    }
}

impl From<Kind> for String {
    fn from(k: Kind) -> String {
        k.0
    }
}

/// The model whose vectors a store holds: its id and true dimension. Every
/// row records both, and vectors of different models are never compared.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ModelSpec {
    /// The model's id, e.g. `minilm-l6-m2v-256` or `text-embedding-3-small`.
    pub id: String,
    /// The length of its vectors.
    pub dimension: usize,
}

impl ModelSpec {
    /// The largest dimension a store accepts (pgvector's HNSW limit for
    /// `vector`).
    pub const MAX_DIMENSION: usize = 2000;

    /// Checks and builds a model spec.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an id outside `A-Z a-z 0-9 . _ - : /`
    /// (1–128 characters) or a dimension outside 1–2000.
    pub fn new(id: impl Into<String>, dimension: usize) -> Result<Self> {
        let id = id.into();
        let valid = !id.is_empty()
            && id.len() <= 128
            && id
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"._-:/".contains(&b));
        if !valid {
            return Err(Error::invalid(format!(
                "bad embedding model id {id:?}: use 1-128 characters of A-Z, a-z, 0-9, '.', '_', '-', ':', '/'"
            )));
        }
        if dimension == 0 || dimension > Self::MAX_DIMENSION {
            return Err(Error::invalid(format!(
                "embedding dimension {dimension} is outside 1-{}",
                Self::MAX_DIMENSION
            )));
        }
        Ok(ModelSpec { id, dimension })
    }

    /// The spec of an embedder.
    ///
    /// # Errors
    /// As [`ModelSpec::new`].
    pub fn of(embedder: &dyn super::EmbeddingService) -> Result<Self> {
        Self::new(embedder.model(), embedder.dimension())
    }
}

/// An entry to store, with its vector already computed.
#[derive(Clone, Debug, PartialEq)]
pub struct NewEntry {
    /// The text remembered (not empty, at most [`MAX_CONTENT_BYTES`]).
    pub content: String,
    /// Its vector, of the store's dimension. Stores normalise it.
    pub embedding: Vec<f32>,
    /// The agent it belongs to, if any.
    pub agent: Option<String>,
    /// The session it belongs to, if any.
    pub session: Option<String>,
    /// What it is.
    pub kind: Kind,
    /// Which memory it lives in.
    pub tier: Tier,
    /// How much it matters, in [0, 1]. Default 0.5.
    pub importance: f32,
    /// Pinned entries never expire from short-term memory.
    pub pinned: bool,
    /// A JSON object of the caller's.
    pub metadata: Value,
    /// When it happened; `None` means now.
    pub created_at: Option<DateTime<Utc>>,
}

impl NewEntry {
    /// A medium-term `note` with importance 0.5 and no owner.
    pub fn new(content: impl Into<String>, embedding: Vec<f32>) -> Self {
        NewEntry {
            content: content.into(),
            embedding,
            agent: None,
            session: None,
            kind: Kind::note(),
            tier: Tier::Medium,
            importance: 0.5,
            pinned: false,
            metadata: Value::Object(Default::default()),
            created_at: None,
        }
    }

    /// An entry given as text only: [`ContextEngine`](super::ContextEngine)
    /// computes its vector. Otherwise as [`NewEntry::new`].
    pub fn text(content: impl Into<String>) -> Self {
        Self::new(content, Vec::new())
    }

    setters! {
        /// Sets the owning agent.
        agent(agent: impl Into<String>) => Some(agent.into());
        /// Sets the session.
        session(session: impl Into<String>) => Some(session.into());
        /// Sets the kind.
        kind(kind: Kind);
        /// Sets the tier.
        tier(tier: Tier);
        /// Sets the importance.
        importance(importance: f32);
        /// Pins it (or not).
        pinned(pinned: bool);
        /// Sets the metadata object.
        metadata(metadata: Value);
        /// Sets when it happened.
        created_at(at: DateTime<Utc>) => Some(at);
    }

    /// Checks everything and normalises the vector, ready to write.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the first problem.
    pub(crate) fn checked(mut self, model: &ModelSpec) -> Result<Self> {
        check_content(&self.content)?;
        check_name("agent", self.agent.as_deref())?;
        check_name("session", self.session.as_deref())?;
        check_importance(self.importance)?;
        check_metadata(&self.metadata)?;
        vector::check(&self.embedding, model.dimension)?;
        vector::normalize(&mut self.embedding)?;
        Ok(self)
    }
}

/// Every entry of one insert, checked and normalised for `model`: the
/// first problem refuses the whole batch, so nothing of it is written.
///
/// # Errors
/// [`Error::InvalidInput`] naming the first problem.
#[cfg(any(feature = "sqlite", feature = "postgres"))]
pub(crate) fn checked_batch(entries: Vec<NewEntry>, model: &ModelSpec) -> Result<Vec<NewEntry>> {
    entries.into_iter().map(|e| e.checked(model)).collect()
}

/// A stored entry.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ContextEntry {
    /// Its id.
    pub id: EntryId,
    /// The text remembered.
    pub content: String,
    /// Its unit vector.
    pub embedding: Vec<f32>,
    /// The model of the vector.
    pub model: String,
    /// The owning agent.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub agent: Option<String>,
    /// The session.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub session: Option<String>,
    /// What it is.
    pub kind: Kind,
    /// Which memory it lives in.
    pub tier: Tier,
    /// How much it matters, in [0, 1].
    pub importance: f32,
    /// Whether it is pinned.
    pub pinned: bool,
    /// The caller's JSON object.
    pub metadata: Value,
    /// When it happened.
    pub created_at: DateTime<Utc>,
    /// When it was last found or used.
    pub accessed_at: DateTime<Utc>,
    /// How many times it was found or used.
    pub access_count: u64,
}

/// A change to a stored entry; `None` leaves a field as it is.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Patch {
    /// A new importance, in [0, 1].
    pub importance: Option<f32>,
    /// A new tier.
    pub tier: Option<Tier>,
    /// Pin or unpin.
    pub pinned: Option<bool>,
    /// A new metadata object (replaces the old one).
    pub metadata: Option<Value>,
}

impl Patch {
    /// Checks the new values.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for an importance outside [0, 1] or metadata
    /// that is not an object.
    pub(crate) fn check(&self) -> Result<()> {
        if let Some(i) = self.importance {
            check_importance(i)?;
        }
        if let Some(m) = &self.metadata {
            check_metadata(m)?;
        }
        Ok(())
    }
}

fn check_content(content: &str) -> Result<()> {
    if content.trim().is_empty() {
        return Err(Error::invalid("context content is empty"));
    }
    if content.len() > MAX_CONTENT_BYTES {
        return Err(Error::invalid(format!(
            "context content is {} bytes, over the limit of {MAX_CONTENT_BYTES}",
            content.len()
        )));
    }
    if content.contains('\0') {
        return Err(Error::invalid("context content contains a NUL character"));
    }
    Ok(())
}

/// Checks an optional agent or session name.
pub(crate) fn check_name(what: &str, name: Option<&str>) -> Result<()> {
    match name {
        Some(n) if n.is_empty() || n.len() > MAX_NAME_BYTES || n.contains('\0') => {
            Err(Error::invalid(format!(
                "bad {what} name {n:?}: use 1-{MAX_NAME_BYTES} bytes without NUL"
            )))
        }
        _ => Ok(()),
    }
}

fn check_importance(importance: f32) -> Result<()> {
    if !(0.0..=1.0).contains(&importance) {
        return Err(Error::invalid(format!(
            "importance {importance} is outside [0, 1]"
        )));
    }
    Ok(())
}

fn check_metadata(metadata: &Value) -> Result<()> {
    if !metadata.is_object() {
        return Err(Error::invalid("context metadata must be a JSON object"));
    }
    if metadata.to_string().contains("\\u0000") {
        return Err(Error::invalid("context metadata contains a NUL character"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model() -> ModelSpec {
        ModelSpec::new("m", 2).expect("model")
    }

    #[test]
    fn names_parse_and_print() {
        assert_eq!("long".parse::<Tier>().expect("tier"), Tier::Long);
        assert!("huge".parse::<Tier>().is_err());
        for t in Tier::ALL {
            assert_eq!(Tier::from_code(t.code().into(), "x").expect("code"), t);
            assert_eq!(t.to_string().parse::<Tier>().expect("round trip"), t);
        }
        assert!(Tier::from_code(7, "x").is_err());
        assert_eq!(Kind::new("fact").expect("kind"), Kind::fact());
        for bad in ["", "Fact", "a b", &"x".repeat(65)] {
            assert!(Kind::new(bad).is_err(), "{bad:?}");
        }
        let id = EntryId::new();
        assert_eq!(id.to_string().parse::<EntryId>().expect("id"), id);
        assert!("nope".parse::<EntryId>().is_err());
    }

    #[test]
    fn models_are_checked() {
        assert!(ModelSpec::new("text-embedding-3-small", 1536).is_ok());
        assert!(ModelSpec::new("bad'model", 3).is_err());
        assert!(ModelSpec::new("m", 0).is_err());
        assert!(ModelSpec::new("m", 2001).is_err());
    }

    #[test]
    fn bad_entries_say_what_is_wrong() {
        let ok = NewEntry::new("hello", vec![3.0, 4.0]);
        let checked = ok.clone().checked(&model()).expect("valid");
        assert!((checked.embedding[0] - 0.6).abs() < 1e-6);
        let cases: Vec<(NewEntry, &str)> = vec![
            (NewEntry::new("  ", vec![1.0, 0.0]), "content is empty"),
            (NewEntry::new("x", vec![1.0]), "has 1 dimensions"),
            (NewEntry::new("x", vec![f32::NAN, 1.0]), "NaN"),
            (NewEntry::new("x", vec![0.0, 0.0]), "zero vector"),
            (ok.clone().importance(1.5), "importance 1.5"),
            (ok.clone().importance(f32::NAN), "importance NaN"),
            (ok.clone().metadata(Value::Null), "JSON object"),
            (ok.clone().agent(""), "bad agent name"),
            (ok.clone().session("a\0b"), "bad session name"),
            (
                NewEntry::new("x".repeat(MAX_CONTENT_BYTES + 1), vec![1.0, 0.0]),
                "over the limit",
            ),
        ];
        for (entry, expected) in cases {
            let err = entry.checked(&model()).expect_err(expected).to_string();
            assert!(err.contains(expected), "{err} lacks {expected}");
        }
        assert!(Patch {
            importance: Some(-0.1),
            ..Patch::default()
        }
        .check()
        .is_err());
    }
}
