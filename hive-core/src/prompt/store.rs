//! The prompt registry's contract: versions are immutable, labels point at
//! them, and moving a label is the only way a prompt changes.

use std::sync::Arc;

use async_trait::async_trait;

use super::record::{
    Label, LabelMove, MoveLabel, NewPromptVersion, PromptVersion, PromptVersionId,
};
use crate::error::{Error, Result};
use crate::storage::Engine;

/// Where prompt versions and their labels are kept.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::prompts`].
///
/// - **Create and read.** `create` stores a checked version and answers
///   it: a fresh id, the text as given, its parent, author and rationale,
///   `hash` the `sha256:` of the text, `created_at` now; `get` answers it,
///   an unknown id is [`Error::NotFound`]; `versions(agent)` answers the
///   agent's versions oldest first. (`create_then_get_round_trips`)
/// - **Same text, same version.** Creating a text an agent already has a
///   version of answers that version and stores nothing new.
///   (`the_same_text_is_the_same_version`)
/// - **Bad input stores nothing.** A version failing
///   [`NewPromptVersion::check`] is [`Error::InvalidInput`]; a parent that
///   does not exist is [`Error::NotFound`], one of another agent
///   [`Error::InvalidInput`]; nothing is stored. (`bad_input_stores_nothing`)
/// - **Labels.** `move_label` points an agent's label at one of its
///   versions and answers the label (its move count, protection and time);
///   `label` and `resolve` read it back (the label, the version it points
///   at), `labels(agent)` lists them by name; an unset label is
///   [`Error::NotFound`]. Every move is kept: `history` answers the
///   label's moves oldest first, numbered 1, 2, 3…, each with where it
///   pointed before, where after, who moved it, who approved and why.
///   (`labels_move_and_keep_their_history`)
/// - **Only its agent's versions.** A label moves only to a version of
///   its own agent ([`Error::InvalidInput`]); an unknown version is
///   [`Error::NotFound`]; a refused move changes nothing.
///   (`a_label_moves_only_to_its_agents_versions`)
/// - **Protected labels need an approval.** The label
///   [`PRODUCTION`](super::PRODUCTION) is protected from its first move
///   on, and `set_protected` protects any other. A move of a protected
///   label without `approved_by`, or approved by its own mover, is
///   [`Error::InvalidInput`] and changes nothing; turning protection off
///   needs an approver too. (`protected_labels_need_an_approval`)
/// - **Gap-free moves.** Moves of one label made at once from many
///   handles each get their own number, 1..=n, and the label ends where
///   the last numbered move put it. (`concurrent_moves_are_gap_free`)
/// - **Shared and durable.** Every handle on the same database sees every
///   other's writes; versions and labels survive reopening.
///   (`shared_and_durable`)
///
/// # Errors
/// As above; [`Error::Backend`] when the database fails.
#[async_trait]
pub trait PromptRegistry: Send + Sync + std::fmt::Debug {
    /// Stores a version (or answers the agent's version of the same text).
    async fn create(&self, new: NewPromptVersion) -> Result<PromptVersion>;

    /// One version.
    async fn get(&self, id: PromptVersionId) -> Result<PromptVersion>;

    /// An agent's versions, oldest first.
    async fn versions(&self, agent: &str) -> Result<Vec<PromptVersion>>;

    /// Points a label at a version.
    async fn move_label(&self, request: MoveLabel) -> Result<Label>;

    /// One label.
    async fn label(&self, agent: &str, label: &str) -> Result<Label>;

    /// The version a label points at.
    async fn resolve(&self, agent: &str, label: &str) -> Result<PromptVersion> {
        let l = self.label(agent, label).await?;
        self.get(l.version).await
    }

    /// An agent's labels, by name.
    async fn labels(&self, agent: &str) -> Result<Vec<Label>>;

    /// Protects a label (or, with an approver, stops protecting it).
    async fn set_protected(
        &self,
        agent: &str,
        label: &str,
        protected: bool,
        approved_by: Option<&str>,
    ) -> Result<Label>;

    /// A label's moves, oldest first.
    async fn history(&self, agent: &str, label: &str) -> Result<Vec<LabelMove>>;
}

/// Opens the prompt registry at `url`: `sqlite://…`, `sqlite::memory:` or
/// `postgres://…`.
///
/// # Errors
/// [`Error::InvalidInput`] for another scheme; [`Error::NotSupported`]
/// for a backend this build left out; [`Error::Backend`] when the
/// database cannot be opened or migrated.
pub async fn open(url: &str) -> Result<Arc<dyn PromptRegistry>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(
            super::sqlite::SqlitePromptRegistry::open(url).await?,
        )),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(
            super::postgres::PostgresPromptRegistry::open(url).await?,
        )),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "no prompt registry for {url:?}: use sqlite://, sqlite::memory: or postgres://"
        ))),
    }
}
