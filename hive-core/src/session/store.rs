//! The session contract: groups of agents, their shared state and the
//! conversation they hold, kept where every process of the fleet reads it.

use std::sync::Arc;

use async_trait::async_trait;
use serde_json::Value;

use super::conversation::{ConversationEntry, Utterance};
use super::record::{NewSession, Session, SessionId, SessionStatus};
use crate::error::{Error, Result};
use crate::storage::Engine;

/// The most sessions or entries one `list` or `conversation` call answers.
pub const MAX_LIMIT: usize = 10_000;

/// Where sessions and their conversations are kept.
///
/// # Contract
///
/// Each clause ends with the names of its tests in
/// [`crate::conformance::sessions`].
///
/// - **Create.** `create` stores a checked session and answers it: a
///   fresh id, status open, its agents in the order given (none is fine:
///   agents may join later), state `{}` unless set, `created_at` now and
///   `closed_at` `None`; `get` answers the same session, and an unknown id
///   is [`Error::NotFound`]. (`create_answers_a_fresh_open_session`)
/// - **Bad input stores nothing.** An empty, over-long (more than 128
///   bytes) or control-character session or agent name, an agent listed
///   twice ("duplicate agent name … in session …") or a state that is not
///   a JSON object is [`Error::InvalidInput`] naming the problem.
///   (`bad_input_stores_nothing`)
/// - **Join.** `join` adds an agent after the session's others and
///   answers the session; a name already in it is [`Error::Conflict`]
///   ("duplicate agent name … in session …"), a bad name
///   [`Error::InvalidInput`], a closed session [`Error::Conflict`] and an
///   unknown one [`Error::NotFound`]. (`join_appends_an_agent`)
/// - **Record.** `record` appends an utterance and answers its entry: the
///   session's next seq (1, 2, 3… per session, in record order), the
///   speaker, the addressee (`None`: the whole session), the content as
///   given and `at` now. (`record_appends_numbered_entries`)
/// - **Only members speak.** A speaker or addressee who is not one of the
///   session's agents, or content over
///   [`MAX_CONTENT_BYTES`](super::MAX_CONTENT_BYTES) serialised, is
///   [`Error::InvalidInput`] naming it; a closed session is
///   [`Error::Conflict`], an unknown one [`Error::NotFound`]. A refused
///   record stores nothing and uses up no seq. (`only_members_speak`)
/// - **Gap-free under concurrency.** Records on one session made at once
///   from many handles get the seqs 1..=n, each once.
///   (`concurrent_records_are_gap_free`)
/// - **Conversation.** `conversation(id, after_seq, limit)` answers the
///   entries with a seq above `after_seq`, ascending, at most `limit`; a
///   closed session's conversation reads back the same; a `limit` of 0 or
///   over [`MAX_LIMIT`] is [`Error::InvalidInput`], an unknown session
///   [`Error::NotFound`]. (`conversation_reads_after_a_seq`)
/// - **State.** `set_state` replaces an open session's state and answers
///   the session; a state that is not an object is
///   [`Error::InvalidInput`], a closed session [`Error::Conflict`], an
///   unknown one [`Error::NotFound`]. (`set_state_replaces_the_state`)
/// - **Close.** `close` makes a session closed with `closed_at` now and
///   answers it; closed is final (closing again is [`Error::Conflict`],
///   as are `join`, `record` and `set_state`), an unknown session is
///   [`Error::NotFound`]; `get` and `conversation` still read everything
///   back. (`close_is_final`)
/// - **List.** `list(status, limit)` answers the sessions of that status
///   (`None`: every session), newest first (by creation time, then id),
///   at most `limit`; a `limit` of 0 or over [`MAX_LIMIT`] is
///   [`Error::InvalidInput`]. (`list_is_newest_first`)
/// - **Shared and durable.** Every handle on the same database sees every
///   other's writes at its next call; sessions and conversations survive
///   reopening. (`shared_and_durable`)
///
/// # Errors
/// As above; [`Error::Backend`] when the database fails.
#[async_trait]
pub trait SessionStore: Send + Sync + std::fmt::Debug {
    /// Creates a session.
    async fn create(&self, new: NewSession) -> Result<Session>;

    /// One session.
    async fn get(&self, id: SessionId) -> Result<Session>;

    /// Sessions of `status` (`None`: all), newest first, at most `limit`.
    async fn list(&self, status: Option<SessionStatus>, limit: usize) -> Result<Vec<Session>>;

    /// Adds `agent` to an open session, after its other agents.
    async fn join(&self, id: SessionId, agent: &str) -> Result<Session>;

    /// Replaces an open session's state object.
    async fn set_state(&self, id: SessionId, state: Value) -> Result<Session>;

    /// Appends what an agent says to an open session's conversation.
    async fn record(&self, id: SessionId, utterance: Utterance) -> Result<ConversationEntry>;

    /// The entries after `after_seq`, ascending, at most `limit`.
    async fn conversation(
        &self,
        id: SessionId,
        after_seq: u64,
        limit: usize,
    ) -> Result<Vec<ConversationEntry>>;

    /// Closes an open session for good.
    async fn close(&self, id: SessionId) -> Result<Session>;
}

/// Checks a `list` or `conversation` limit (the contract's **List** and
/// **Conversation** clauses) and answers it as SQL wants it.
///
/// # Errors
/// [`Error::InvalidInput`] for 0 or more than [`MAX_LIMIT`].
pub(crate) fn sql_limit(limit: usize) -> Result<i64> {
    if limit == 0 || limit > MAX_LIMIT {
        return Err(Error::invalid(format!(
            "limit {limit} is out of range: use 1-{MAX_LIMIT}"
        )));
    }
    // At most MAX_LIMIT, so it fits.
    Ok(i64::try_from(limit).unwrap_or(i64::MAX))
}

/// A seq from the caller as SQL wants it: one past `i64::MAX` is as good as
/// `i64::MAX` (nothing is numbered that high).
pub(crate) fn sql_seq(seq: u64) -> i64 {
    i64::try_from(seq).unwrap_or(i64::MAX)
}

/// The conflict for joining `agent` to a session already holding the name.
pub(crate) fn duplicate_member(id: SessionId, agent: &str) -> Error {
    Error::conflict(format!("duplicate agent name {agent:?} in session {id}"))
}

/// The **Only members speak** clause's check of an utterance against the
/// names `members` found of its speaker and addressee in session `id`.
///
/// # Errors
/// [`Error::InvalidInput`] naming whichever is not a member.
pub(crate) fn check_speakers(id: SessionId, u: &Utterance, members: &[String]) -> Result<()> {
    let member = |name: &str| members.iter().any(|m| m == name);
    if !member(&u.from_agent) {
        return Err(Error::invalid(format!(
            "agent {:?} is not in session {id}: only its agents speak in it",
            u.from_agent
        )));
    }
    match &u.to_agent {
        Some(to) if !member(to) => Err(Error::invalid(format!(
            "agent {to:?} is not in session {id}: only its agents can be addressed"
        ))),
        _ => Ok(()),
    }
}

/// Why a write to an open session `id` matched no row: it is closed
/// ([`Error::Conflict`] saying `what` cannot happen), or unknown
/// ([`Error::NotFound`]). Both backends answer this way.
pub(crate) async fn refusal(store: &dyn SessionStore, id: SessionId, what: &str) -> Error {
    match store.get(id).await {
        Ok(s) => Error::conflict(format!(
            "session {:?} ({}) is {}: {what}",
            s.name, s.id, s.status
        )),
        Err(e) => e,
    }
}

/// Opens the session store at `url`: `sqlite://path`, `sqlite::memory:` or
/// `postgres://…`.
///
/// # Errors
/// [`Error::InvalidInput`] for an unknown scheme or a bad URL;
/// [`Error::NotSupported`] for a backend this build left out (naming its
/// cargo feature); [`Error::Backend`] when the database cannot be reached or
/// migrated.
pub async fn open(url: &str) -> Result<Arc<dyn SessionStore>> {
    match Engine::of(url) {
        #[cfg(feature = "sqlite")]
        Some(Engine::Sqlite) => Ok(Arc::new(
            super::sqlite::SqliteSessionStore::open(url).await?,
        )),
        #[cfg(feature = "postgres")]
        Some(Engine::Postgres) => Ok(Arc::new(
            super::postgres::PostgresSessionStore::open(url).await?,
        )),
        #[allow(unreachable_patterns)] // Reached only in builds without every backend.
        Some(engine @ (Engine::Sqlite | Engine::Postgres)) => Err(engine.left_out()),
        Some(Engine::Redis) | None => Err(Error::invalid(format!(
            "no session store for {url:?}: use sqlite://, sqlite::memory: or postgres://"
        ))),
    }
}
