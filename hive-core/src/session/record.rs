//! What a session is: its identity, its agents in join order, whether it is
//! still open, and the checks every store applies before creating one.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::error::{Error, Result};
use crate::names::check_label;

use crate::names::uuid_id;

uuid_id!(
    /// A session's identity: a fresh UUID (v7) per session.
    SessionId,
    "session id"
);

/// Whether a session still takes members, state and utterances.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum SessionStatus {
    /// Agents may join, speak and change its state.
    Open,
    /// Read-only: its agents, state and conversation are kept. Final.
    Closed,
}

impl SessionStatus {
    /// Its stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            SessionStatus::Open => "open",
            SessionStatus::Closed => "closed",
        }
    }
}

impl fmt::Display for SessionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for SessionStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "open" => Ok(SessionStatus::Open),
            "closed" => Ok(SessionStatus::Closed),
            other => Err(Error::invalid(format!(
                "unknown session status {other:?} (expected open or closed)"
            ))),
        }
    }
}

/// A session to create.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct NewSession {
    /// Its name (1–128 bytes, no control characters; need not be unique).
    pub name: String,
    /// The agents in it from the start, in join order; each name once. May
    /// be empty: agents can join later.
    pub agents: Vec<String>,
    /// A JSON object of the caller's; `{}` unless set.
    pub state: Value,
}

impl NewSession {
    /// A session named `name` with no agents and an empty state.
    pub fn new(name: impl Into<String>) -> Self {
        NewSession {
            name: name.into(),
            agents: Vec::new(),
            state: Value::Object(Default::default()),
        }
    }

    /// Sets its agents, in join order.
    pub fn agents<I, S>(mut self, names: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.agents = names.into_iter().map(Into::into).collect();
        self
    }

    /// Sets its state object.
    pub fn state(mut self, state: Value) -> Self {
        self.state = state;
        self
    }

    /// Checks it.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the problem: a bad session or agent
    /// name, an agent listed twice, a state that is not an object.
    pub fn check(&self) -> Result<()> {
        check_label("session name", &self.name)?;
        let mut seen = HashSet::with_capacity(self.agents.len());
        for agent in &self.agents {
            check_label("agent name", agent)?;
            if !seen.insert(agent.as_str()) {
                return Err(Error::invalid(format!(
                    "duplicate agent name {agent:?} in session {:?}",
                    self.name
                )));
            }
        }
        check_state(&self.state)
    }
}

/// Checks a session's state: a JSON object.
///
/// # Errors
/// [`Error::InvalidInput`] for anything else.
pub(crate) fn check_state(state: &Value) -> Result<()> {
    if !state.is_object() {
        return Err(Error::invalid("session state must be a JSON object"));
    }
    Ok(())
}

/// A stored session.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Session {
    /// Its id.
    pub id: SessionId,
    /// Its name.
    pub name: String,
    /// Its agents' names, in join order.
    pub agents: Vec<String>,
    /// Open or closed.
    pub status: SessionStatus,
    /// The caller's JSON object.
    pub state: Value,
    /// When it was created.
    pub created_at: DateTime<Utc>,
    /// When it was closed; `None` while open.
    #[cfg_attr(feature = "openapi", schema(required = true))]
    pub closed_at: Option<DateTime<Utc>>,
}

impl Session {
    /// Whether `agent` is one of its agents.
    pub fn has_agent(&self, agent: &str) -> bool {
        self.agents.iter().any(|a| a == agent)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn new_sessions_are_checked() {
        assert!(NewSession::new("review").check().is_ok());
        assert!(NewSession::new("review")
            .agents(["planner", "coder"])
            .state(json!({ "goal": "ship" }))
            .check()
            .is_ok());
        let cases = [
            (NewSession::new(""), "bad session name"),
            (NewSession::new("x".repeat(129)), "bad session name"),
            (NewSession::new("a\tb"), "bad session name"),
            (NewSession::new("s").agents([""]), "bad agent name"),
            (
                NewSession::new("s").agents(["a", "b", "a"]),
                "duplicate agent name \"a\" in session \"s\"",
            ),
            (NewSession::new("s").state(json!([1])), "JSON object"),
        ];
        for (new, expected) in cases {
            let err = new.check().expect_err(expected).to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn ids_and_statuses_round_trip() {
        for s in [SessionStatus::Open, SessionStatus::Closed] {
            assert_eq!(s.as_str().parse::<SessionStatus>().expect("parse"), s);
        }
        assert!("ajar".parse::<SessionStatus>().is_err());
        let id = SessionId::new();
        assert_eq!(id.to_string().parse::<SessionId>().expect("id"), id);
        let err = "nope"
            .parse::<SessionId>()
            .expect_err("refused")
            .to_string();
        assert!(err.contains("bad session id"), "{err}");
    }
}
