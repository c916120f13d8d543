//! What the registry knows of an agent: who it is, what it can do, whether
//! it is alive and how busy it is.

use std::collections::BTreeSet;
use std::fmt;
use std::str::FromStr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use uuid::Uuid;

use crate::error::{Error, Result};
use crate::names::{check_capability, check_label};
use crate::queue::WorkerId;

pub use crate::names::MAX_AGENT_NAME;

/// An agent's identity: a fresh UUID (v7) per registration, so a restarted
/// agent is a new agent and a late heartbeat of the old one changes nothing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct AgentId(pub Uuid);

impl AgentId {
    /// A fresh id.
    pub fn new() -> Self {
        AgentId(Uuid::now_v7())
    }

    /// The queue worker id this agent claims tasks under: `agent-<id>`, so
    /// [`crate::queue::Task::worker`] names the agent that ran (or runs) a
    /// task, and a dead agent's leases can be ended by id.
    pub fn worker_id(&self) -> WorkerId {
        WorkerId::from_unique(format!("agent-{}", self.0))
    }

    /// The agent behind a worker id made by [`AgentId::worker_id`].
    pub fn from_worker(worker: &str) -> Option<AgentId> {
        let id = worker.strip_prefix("agent-")?;
        Uuid::parse_str(id).ok().map(AgentId)
    }
}

impl Default for AgentId {
    fn default() -> Self {
        Self::new()
    }
}

impl fmt::Display for AgentId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl FromStr for AgentId {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        Uuid::parse_str(s)
            .map(AgentId)
            .map_err(|e| Error::invalid(format!("bad agent id {s:?}: {e}")))
    }
}

/// Where an agent is in its life.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub enum AgentStatus {
    /// Heartbeating on time; offered work.
    Healthy,
    /// Missed heartbeats; offered no work until it beats again.
    Unhealthy,
    /// Missed heartbeats for too long; its leases are released. Final.
    Dead,
    /// Shut down on purpose. Final.
    Stopped,
}

impl AgentStatus {
    /// Its stored form.
    pub fn as_str(self) -> &'static str {
        match self {
            AgentStatus::Healthy => "healthy",
            AgentStatus::Unhealthy => "unhealthy",
            AgentStatus::Dead => "dead",
            AgentStatus::Stopped => "stopped",
        }
    }

    /// Healthy or unhealthy: it holds its name and may beat again.
    pub fn is_live(self) -> bool {
        matches!(self, AgentStatus::Healthy | AgentStatus::Unhealthy)
    }
}

impl fmt::Display for AgentStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for AgentStatus {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self> {
        match s {
            "healthy" => Ok(AgentStatus::Healthy),
            "unhealthy" => Ok(AgentStatus::Unhealthy),
            "dead" => Ok(AgentStatus::Dead),
            "stopped" => Ok(AgentStatus::Stopped),
            other => Err(Error::invalid(format!(
                "unknown agent status {other:?} (expected healthy, unhealthy, dead or stopped)"
            ))),
        }
    }
}

/// An agent to register.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentSpec {
    /// Its name: unique among live agents (1–128 bytes, no control
    /// characters).
    pub name: String,
    /// What kind of agent it is (`llm`, `cli`, `python`, …).
    pub kind: String,
    /// What it can do; at least one.
    pub capabilities: BTreeSet<String>,
    /// A JSON object of the caller's.
    pub metadata: Value,
}

impl AgentSpec {
    /// An agent named `name` of kind `kind` with `capabilities`.
    pub fn new<I, S>(name: impl Into<String>, kind: impl Into<String>, capabilities: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        AgentSpec {
            name: name.into(),
            kind: kind.into(),
            capabilities: capabilities.into_iter().map(Into::into).collect(),
            metadata: Value::Object(Default::default()),
        }
    }

    /// Sets the metadata object.
    pub fn metadata(mut self, metadata: Value) -> Self {
        self.metadata = metadata;
        self
    }

    /// Checks the spec.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] naming the problem.
    pub fn check(&self) -> Result<()> {
        check_label("agent name", &self.name)?;
        check_label("agent kind", &self.kind)?;
        if self.capabilities.is_empty() {
            return Err(Error::invalid(format!(
                "agent {:?} declares no capabilities: it could never be offered a task",
                self.name
            )));
        }
        for cap in &self.capabilities {
            check_capability(cap)?;
        }
        if !self.metadata.is_object() {
            return Err(Error::invalid("agent metadata must be a JSON object"));
        }
        Ok(())
    }
}

/// A registered agent.
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AgentRecord {
    /// Its id.
    pub id: AgentId,
    /// Its name.
    pub name: String,
    /// Its kind.
    pub kind: String,
    /// What it can do.
    pub capabilities: BTreeSet<String>,
    /// Where it is in its life.
    pub status: AgentStatus,
    /// Tasks in hand at its last heartbeat.
    pub load: u32,
    /// The caller's JSON object.
    pub metadata: Value,
    /// When it registered.
    pub created_at: DateTime<Utc>,
    /// Its last heartbeat (its registration at first).
    pub last_heartbeat: DateTime<Utc>,
}

impl AgentRecord {
    /// Whether it can take a task requiring `required`.
    pub fn can_do<'a>(&self, required: impl IntoIterator<Item = &'a String>) -> bool {
        required.into_iter().all(|c| self.capabilities.contains(c))
    }
}

/// Which agents to list. Empty sets mean any.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct AgentFilter {
    /// Only these statuses.
    pub statuses: Vec<AgentStatus>,
    /// Only this kind.
    pub kind: Option<String>,
    /// Only agents holding every one of these capabilities.
    pub capabilities: BTreeSet<String>,
}

impl AgentFilter {
    /// Every agent.
    pub fn any() -> Self {
        Self::default()
    }

    /// Live agents (healthy or unhealthy).
    pub fn live() -> Self {
        AgentFilter {
            statuses: vec![AgentStatus::Healthy, AgentStatus::Unhealthy],
            ..Self::default()
        }
    }

    /// Adds a status to those allowed.
    pub fn status(mut self, status: AgentStatus) -> Self {
        self.statuses.push(status);
        self
    }

    /// Only this kind.
    pub fn kind(mut self, kind: impl Into<String>) -> Self {
        self.kind = Some(kind.into());
        self
    }

    /// Only agents holding `capability` (and any added before).
    pub fn capability(mut self, capability: impl Into<String>) -> Self {
        self.capabilities.insert(capability.into());
        self
    }

    /// Whether `r` passes.
    pub fn matches(&self, r: &AgentRecord) -> bool {
        (self.statuses.is_empty() || self.statuses.contains(&r.status))
            && self.kind.as_ref().is_none_or(|k| *k == r.kind)
            && r.can_do(&self.capabilities)
    }
}

/// When missed heartbeats make an agent unhealthy, then dead.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Liveness {
    /// How often agents beat. Default 30 s.
    #[serde(with = "crate::time::millis")]
    pub interval: Duration,
    /// Unhealthy after this long without a beat. Default 2 intervals.
    #[serde(with = "crate::time::millis")]
    pub unhealthy_after: Duration,
    /// Dead after this long without a beat. Default 4 intervals.
    #[serde(with = "crate::time::millis")]
    pub dead_after: Duration,
}

impl Liveness {
    /// Beats every `interval`; unhealthy after two missed, dead after four.
    pub fn every(interval: Duration) -> Self {
        Liveness {
            interval,
            unhealthy_after: interval * 2,
            dead_after: interval * 4,
        }
    }

    /// Checks the durations.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a zero interval or thresholds out of order.
    pub fn check(&self) -> Result<()> {
        if self.interval.is_zero()
            || self.unhealthy_after < self.interval
            || self.dead_after <= self.unhealthy_after
        {
            return Err(Error::invalid(format!(
                "liveness needs 0 < interval ≤ unhealthy_after < dead_after, got {self:?}"
            )));
        }
        Ok(())
    }
}

impl Default for Liveness {
    fn default() -> Self {
        Self::every(Duration::from_secs(30))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn specs_are_checked() {
        assert!(AgentSpec::new("coder", "llm", ["rust"]).check().is_ok());
        let cases = [
            (AgentSpec::new("", "llm", ["rust"]), "bad agent name"),
            (AgentSpec::new("a\nb", "llm", ["rust"]), "bad agent name"),
            (AgentSpec::new("x", "", ["rust"]), "bad agent kind"),
            (
                AgentSpec::new("x", "llm", Vec::<String>::new()),
                "declares no capabilities",
            ),
            (AgentSpec::new("x", "llm", ["a b"]), "capability"),
            (
                AgentSpec::new("x", "llm", ["a"]).metadata(Value::Null),
                "JSON object",
            ),
        ];
        for (spec, expected) in cases {
            let err = spec.check().expect_err(expected).to_string();
            assert!(err.contains(expected), "{err}");
        }
    }

    #[test]
    fn statuses_and_liveness() {
        for s in [
            AgentStatus::Healthy,
            AgentStatus::Unhealthy,
            AgentStatus::Dead,
            AgentStatus::Stopped,
        ] {
            assert_eq!(s.as_str().parse::<AgentStatus>().expect("parse"), s);
        }
        assert!("zombie".parse::<AgentStatus>().is_err());
        assert!(Liveness::default().check().is_ok());
        assert_eq!(Liveness::default().dead_after, Duration::from_secs(120));
        let bad = Liveness {
            dead_after: Duration::from_secs(1),
            ..Liveness::default()
        };
        assert!(bad.check().is_err());
        let id = AgentId::new();
        assert_eq!(id.to_string().parse::<AgentId>().expect("id"), id);
    }
}
