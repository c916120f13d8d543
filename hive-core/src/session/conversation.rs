//! What agents say inside a session: an utterance to record, and the
//! numbered entry the store keeps of it. The checks that need no storage
//! (names, content size) live here, once for every backend.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::record::SessionId;
use crate::error::{Error, Result};
use crate::names::check_label;
use crate::names::uuid_id;

/// The largest content an utterance may carry, serialised as JSON (1 MiB).
pub const MAX_CONTENT_BYTES: usize = 1 << 20;

uuid_id!(
    /// A conversation entry's identity: a fresh UUID (v7) per entry.
    ConversationEntryId,
    "conversation entry id"
);

/// Something an agent says in a session.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Utterance {
    /// Who speaks: one of the session's agents.
    pub from_agent: String,
    /// To whom: one of the session's agents, or `None` for the whole
    /// session.
    pub to_agent: Option<String>,
    /// What is said: any JSON up to [`MAX_CONTENT_BYTES`] serialised.
    pub content: Value,
}

impl Utterance {
    /// `from_agent` says `content` to `to_agent` (`None`: to everyone).
    pub fn new(from_agent: impl Into<String>, to_agent: Option<&str>, content: Value) -> Self {
        Utterance {
            from_agent: from_agent.into(),
            to_agent: to_agent.map(str::to_string),
            content,
        }
    }

    /// Checks what can be checked without the session: the names and the
    /// content's size. Whether the names are members is the store's to say.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the problem.
    pub fn check(&self) -> Result<()> {
        self.prepare().map(drop)
    }

    /// [`Utterance::check`], answering the content serialised: what both
    /// backends store, so it is serialised once.
    pub(crate) fn prepare(&self) -> Result<String> {
        check_label("agent name", &self.from_agent)?;
        if let Some(to) = &self.to_agent {
            check_label("agent name", to)?;
        }
        let content = self.content.to_string();
        if content.len() > MAX_CONTENT_BYTES {
            return Err(Error::invalid(format!(
                "conversation content is {} bytes serialised; the limit is {MAX_CONTENT_BYTES}",
                content.len()
            )));
        }
        Ok(content)
    }
}

/// A recorded utterance.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ConversationEntry {
    /// Its id.
    pub id: ConversationEntryId,
    /// The session it was said in.
    pub session: SessionId,
    /// Its number in the session: 1, 2, 3… in record order, without gaps.
    pub seq: u64,
    /// Who spoke.
    pub from_agent: String,
    /// To whom; `None` for the whole session.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub to_agent: Option<String>,
    /// What was said.
    pub content: Value,
    /// When it was recorded.
    pub at: DateTime<Utc>,
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn utterances_are_checked() {
        assert!(Utterance::new("a", None, json!("hi")).check().is_ok());
        assert!(Utterance::new("a", Some("b"), json!({ "k": [1] }))
            .check()
            .is_ok());
        let big = Value::String("x".repeat(MAX_CONTENT_BYTES));
        let cases = [
            (Utterance::new("", None, json!(1)), "bad agent name"),
            (Utterance::new("a", Some("b\n"), json!(1)), "bad agent name"),
            (Utterance::new("a", None, big), "the limit is 1048576"),
        ];
        for (u, expected) in cases {
            let err = u.check().expect_err(expected).to_string();
            assert!(err.contains(expected), "{err}");
        }
        let id = ConversationEntryId::new();
        assert_eq!(
            id.to_string().parse::<ConversationEntryId>().expect("id"),
            id
        );
    }
}
