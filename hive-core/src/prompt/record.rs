//! The prompt model: immutable versions, labels that point at them, and
//! the history of every move of a label.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::names::check_label;

/// The most bytes a prompt's text may have.
pub const MAX_PROMPT_BYTES: usize = 100_000;

/// The most bytes of a rationale or a reason.
pub const MAX_RATIONALE_BYTES: usize = 10_000;

/// The label an agent's prompt is taken from unless it names another; it
/// is protected from its first move on.
pub const PRODUCTION: &str = "production";

/// A prompt version's identity: a UUID (version 7, so ids sort by
/// creation time).
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(transparent)]
pub struct PromptVersionId(pub Uuid);

impl PromptVersionId {
    /// A fresh, time-ordered id.
    pub fn new() -> Self {
        PromptVersionId(Uuid::now_v7())
    }
}

impl Default for PromptVersionId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for PromptVersionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for PromptVersionId {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s)
            .map(PromptVersionId)
            .map_err(|e| Error::invalid(format!("prompt version id {s:?} is not a UUID: {e}")))
    }
}

/// Who wrote a prompt version.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum AuthorKind {
    /// A person.
    Person,
    /// The optimiser (the meta-agent).
    Optimiser,
}

impl AuthorKind {
    /// The stable lower-case name.
    pub fn as_str(self) -> &'static str {
        match self {
            AuthorKind::Person => "person",
            AuthorKind::Optimiser => "optimiser",
        }
    }
}

impl FromStr for AuthorKind {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s {
            "person" => Ok(AuthorKind::Person),
            "optimiser" => Ok(AuthorKind::Optimiser),
            other => Err(Error::invalid(format!(
                "unknown author kind {other:?} (person or optimiser)"
            ))),
        }
    }
}

/// A prompt version to create.
#[derive(Clone, Debug, PartialEq)]
pub struct NewPromptVersion {
    /// The agent it is for (by name).
    pub agent: String,
    /// The prompt.
    pub text: String,
    /// The version it was derived from, if any (the same agent's).
    pub parent: Option<PromptVersionId>,
    /// Who wrote it.
    pub author: String,
    /// A person or the optimiser.
    pub author_kind: AuthorKind,
    /// Why it was written.
    pub rationale: Option<String>,
}

impl NewPromptVersion {
    /// A version of `agent`'s prompt written by the person `author`.
    pub fn new(
        agent: impl Into<String>,
        text: impl Into<String>,
        author: impl Into<String>,
    ) -> Self {
        NewPromptVersion {
            agent: agent.into(),
            text: text.into(),
            parent: None,
            author: author.into(),
            author_kind: AuthorKind::Person,
            rationale: None,
        }
    }

    /// Derived from `parent`.
    pub fn parent(mut self, parent: PromptVersionId) -> Self {
        self.parent = Some(parent);
        self
    }

    /// Written by the optimiser rather than a person.
    pub fn by_optimiser(mut self) -> Self {
        self.author_kind = AuthorKind::Optimiser;
        self
    }

    /// Why it was written.
    pub fn rationale(mut self, rationale: impl Into<String>) -> Self {
        self.rationale = Some(rationale.into());
        self
    }

    /// Refuses a version no registry should keep.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the field: a bad agent or author
    /// name, an empty (or blank) text or one over [`MAX_PROMPT_BYTES`], a
    /// rationale over [`MAX_RATIONALE_BYTES`].
    pub fn check(&self) -> Result<()> {
        check_label("agent name", &self.agent)?;
        check_label("author", &self.author)?;
        if self.text.trim().is_empty() {
            return Err(Error::invalid("a prompt's text must not be empty"));
        }
        if self.text.len() > MAX_PROMPT_BYTES {
            return Err(Error::invalid(format!(
                "a prompt's text is {} bytes, over the limit of {MAX_PROMPT_BYTES}",
                self.text.len()
            )));
        }
        if self
            .rationale
            .as_ref()
            .is_some_and(|r| r.len() > MAX_RATIONALE_BYTES)
        {
            return Err(Error::invalid(format!(
                "a rationale must be at most {MAX_RATIONALE_BYTES} bytes"
            )));
        }
        Ok(())
    }
}

/// An immutable prompt version.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct PromptVersion {
    /// Identity.
    pub id: PromptVersionId,
    /// The agent it is for.
    pub agent: String,
    /// The prompt.
    pub text: String,
    /// The version it was derived from.
    pub parent: Option<PromptVersionId>,
    /// Who wrote it.
    pub author: String,
    /// A person or the optimiser.
    pub author_kind: AuthorKind,
    /// Why it was written.
    pub rationale: Option<String>,
    /// `sha256:` and the hex SHA-256 of the text.
    pub hash: String,
    /// When it was created.
    pub created_at: DateTime<Utc>,
}

/// The content hash of a prompt's text.
pub fn content_hash(text: &str) -> String {
    use sha2::{Digest, Sha256};
    use std::fmt::Write;
    let digest = Sha256::digest(text.as_bytes());
    digest.iter().fold(String::from("sha256:"), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// A label: a name that points at one of an agent's versions.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Label {
    /// The agent.
    pub agent: String,
    /// The label's name (`production`, `candidate`, …).
    pub name: String,
    /// The version it points at.
    pub version: PromptVersionId,
    /// Whether a move needs an approval.
    pub protected: bool,
    /// How many times it was moved.
    pub moves: u64,
    /// When it last moved.
    pub updated_at: DateTime<Utc>,
}

/// A request to point a label at a version.
#[derive(Clone, Debug, PartialEq)]
pub struct MoveLabel {
    /// The agent.
    pub agent: String,
    /// The label.
    pub label: String,
    /// The version to point at (the agent's).
    pub version: PromptVersionId,
    /// Who moves it.
    pub by: String,
    /// Who approved the move: needed for a protected label, and not the
    /// mover.
    pub approved_by: Option<String>,
    /// Why.
    pub reason: Option<String>,
}

impl MoveLabel {
    /// `by` points `agent`'s `label` at `version`.
    pub fn new(
        agent: impl Into<String>,
        label: impl Into<String>,
        version: PromptVersionId,
        by: impl Into<String>,
    ) -> Self {
        MoveLabel {
            agent: agent.into(),
            label: label.into(),
            version,
            by: by.into(),
            approved_by: None,
            reason: None,
        }
    }

    /// Approved by `approver`.
    pub fn approved_by(mut self, approver: impl Into<String>) -> Self {
        self.approved_by = Some(approver.into());
        self
    }

    /// With a reason.
    pub fn reason(mut self, reason: impl Into<String>) -> Self {
        self.reason = Some(reason.into());
        self
    }

    pub(crate) fn check(&self) -> Result<()> {
        check_label("agent name", &self.agent)?;
        check_label("label", &self.label)?;
        check_label("mover", &self.by)?;
        if let Some(a) = &self.approved_by {
            check_label("approver", a)?;
        }
        if self
            .reason
            .as_ref()
            .is_some_and(|r| r.len() > MAX_RATIONALE_BYTES)
        {
            return Err(Error::invalid(format!(
                "a reason must be at most {MAX_RATIONALE_BYTES} bytes"
            )));
        }
        Ok(())
    }
}

/// One move of a label, as the history keeps it.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct LabelMove {
    /// The agent.
    pub agent: String,
    /// The label.
    pub label: String,
    /// 1 for its first move, then 2, 3…
    pub seq: u64,
    /// Where it pointed before (none for the first move).
    pub from: Option<PromptVersionId>,
    /// Where it points since.
    pub to: PromptVersionId,
    /// Who moved it.
    pub by: String,
    /// Who approved it, for a protected label.
    pub approved_by: Option<String>,
    /// Why.
    pub reason: Option<String>,
    /// When.
    pub at: DateTime<Utc>,
}
