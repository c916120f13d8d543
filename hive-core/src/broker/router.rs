//! Routing rules: messages on a topic pattern forwarded to an agent's inbox,
//! or to the best agent holding a capability.
//!
//! Publishers often know *what* they want done, not *who* does it. A router
//! runs as one more durable subscription: for each message matching a rule it
//! publishes a copy to the chosen agent's inbox, then acknowledges. A crash
//! between the two republishes on redelivery (at least once); copies carry
//! the original id in [`ROUTED_FROM_ID`] so an inbox can drop repeats. A
//! message no agent can take is dead-lettered with the reason, not dropped.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use serde::{Deserialize, Serialize};
use tokio_util::sync::CancellationToken;

use super::{
    Broker, Message, Nack, Published, StartAt, Subscriber, SubscriberOptions, SubscriptionSpec,
    Topic, TopicPattern,
};
use crate::error::{Error, Result};

/// Header on a routed copy: the topic the original was published to.
pub const ROUTED_FROM_TOPIC: &str = "hive-routed-from-topic";
/// Header on a routed copy: the original message's id.
pub const ROUTED_FROM_ID: &str = "hive-routed-from-id";

/// Where a rule sends what it matches.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case", tag = "to", content = "name")]
pub enum Route {
    /// This agent's inbox.
    Agent(String),
    /// The inbox of the least loaded healthy agent with this capability.
    Capability(String),
}

/// An agent the directory offers for a capability.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Candidate {
    /// The agent's name (its inbox is `agent.<name>.inbox`).
    pub name: String,
    /// Work in hand; lower is preferred.
    pub load: u32,
    /// Unhealthy agents are never chosen.
    pub healthy: bool,
}

/// Who has a capability. The agent registry implements it; [`StaticDirectory`]
/// is a fixed one.
#[async_trait]
pub trait AgentDirectory: Send + Sync + std::fmt::Debug {
    /// The agents that hold `capability`.
    async fn candidates(&self, capability: &str) -> Result<Vec<Candidate>>;
}

/// A fixed capability → agents table.
#[derive(Clone, Debug, Default)]
pub struct StaticDirectory {
    by_capability: BTreeMap<String, Vec<Candidate>>,
}

impl StaticDirectory {
    /// Adds an agent under a capability.
    pub fn with(mut self, capability: &str, candidate: Candidate) -> Self {
        self.by_capability
            .entry(capability.to_string())
            .or_default()
            .push(candidate);
        self
    }
}

#[async_trait]
impl AgentDirectory for StaticDirectory {
    async fn candidates(&self, capability: &str) -> Result<Vec<Candidate>> {
        Ok(self
            .by_capability
            .get(capability)
            .cloned()
            .unwrap_or_default())
    }
}

/// Picks among candidates: healthy only, least load, then name (so the
/// choice is deterministic and testable).
pub fn choose(candidates: &[Candidate]) -> Option<&Candidate> {
    candidates
        .iter()
        .filter(|c| c.healthy)
        .min_by(|a, b| a.load.cmp(&b.load).then_with(|| a.name.cmp(&b.name)))
}

/// Rules from topic patterns to routes.
///
/// ```
/// use hive_core::broker::router::{MessageRouter, Route, StaticDirectory, Candidate};
/// use hive_core::broker::{Message, Topic};
/// use serde_json::json;
/// use std::sync::Arc;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> hive_core::Result<()> {
/// let directory = StaticDirectory::default()
///     .with("review", Candidate { name: "rev-1".into(), load: 3, healthy: true })
///     .with("review", Candidate { name: "rev-2".into(), load: 1, healthy: true });
/// let router = MessageRouter::new(Arc::new(directory))
///     .rule("code.pushed.>", Route::Capability("review".into()))?
///     .rule("code.>", Route::Agent("archivist".into()))?;
/// let pushed = Message::new(Topic::new("code.pushed.main")?, "push", json!({}));
/// assert_eq!(router.targets(&pushed).await?, ["rev-2", "archivist"]);
/// # Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct MessageRouter {
    rules: Vec<(TopicPattern, Route)>,
    directory: Arc<dyn AgentDirectory>,
}

/// How a running router subscribes.
#[derive(Clone, Debug)]
pub struct RouterOptions {
    /// The durable subscription's name. Default `hive-router`.
    pub subscription: String,
    /// Where it starts when first created. Default: new messages only.
    pub start: StartAt,
    /// Its ack timeout. Default 30 s.
    pub ack_timeout: Duration,
}

impl Default for RouterOptions {
    fn default() -> Self {
        RouterOptions {
            subscription: "hive-router".into(),
            start: StartAt::New,
            ack_timeout: super::DEFAULT_ACK_TIMEOUT,
        }
    }
}

impl MessageRouter {
    /// A router with no rules, choosing capability holders from `directory`.
    pub fn new(directory: Arc<dyn AgentDirectory>) -> Self {
        MessageRouter {
            rules: Vec::new(),
            directory,
        }
    }

    /// Adds a rule; rules are tried in order and every match routes.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] for a bad pattern, or an agent name that
    /// cannot form an inbox topic.
    pub fn rule(mut self, pattern: &str, route: Route) -> Result<Self> {
        let pattern = TopicPattern::new(pattern)?;
        if let Route::Agent(name) = &route {
            Topic::inbox(name)?;
        }
        self.rules.push((pattern, route));
        Ok(self)
    }

    /// The agents `message` goes to, in rule order, without repeats.
    /// A capability no healthy agent holds contributes nothing.
    ///
    /// # Errors
    /// What the directory returns.
    pub async fn targets(&self, message: &Message) -> Result<Vec<String>> {
        let mut out: Vec<String> = Vec::new();
        for (pattern, route) in &self.rules {
            if !pattern.matches(&message.topic) {
                continue;
            }
            let agent = match route {
                Route::Agent(name) => Some(name.clone()),
                Route::Capability(cap) => {
                    let candidates = self.directory.candidates(cap).await?;
                    choose(&candidates).map(|c| c.name.clone())
                }
            };
            if let Some(agent) = agent {
                if !out.contains(&agent) {
                    out.push(agent);
                }
            }
        }
        Ok(out)
    }

    /// Publishes a copy of `message` to each target's inbox.
    ///
    /// # Errors
    /// [`Error::NotFound`] when no rule finds an agent; what the directory
    /// or the broker returns.
    pub async fn route(&self, broker: &dyn Broker, message: &Message) -> Result<Vec<Published>> {
        let targets = self.targets(message).await?;
        if targets.is_empty() {
            return Err(Error::not_found(
                "route",
                format!("no agent for topic {}", message.topic),
            ));
        }
        let copies = targets
            .iter()
            .map(|agent| {
                let mut copy =
                    Message::direct(agent, message.kind.clone(), message.payload.clone())?
                        .header(ROUTED_FROM_TOPIC, message.topic.as_str())
                        .header(ROUTED_FROM_ID, message.id.to_string());
                copy.from = message.from.clone();
                copy.correlation_id = message.correlation_id;
                copy.headers.extend(message.headers.clone());
                Ok(copy)
            })
            .collect::<Result<Vec<_>>>()?;
        broker.publish_batch(copies).await
    }

    /// Runs the router as a durable subscription on every rule's pattern
    /// until the returned handle is shut down.
    ///
    /// # Errors
    /// [`Error::InvalidInput`] without rules; what subscribing returns.
    pub async fn spawn(
        self,
        broker: Arc<dyn Broker>,
        options: RouterOptions,
    ) -> Result<RouterHandle> {
        if self.rules.is_empty() {
            return Err(Error::invalid("a router needs at least one rule"));
        }
        let mut patterns: Vec<String> = self.rules.iter().map(|(p, _)| p.to_string()).collect();
        patterns.dedup();
        let spec = SubscriptionSpec::new(&options.subscription, patterns)?
            .start_at(options.start)
            .ack_timeout(options.ack_timeout);
        let mut subscriber = Subscriber::new(
            broker.clone(),
            spec,
            SubscriberOptions {
                wait: Duration::from_millis(500),
                ..Default::default()
            },
        )
        .await?;
        let stop = CancellationToken::new();
        let token = stop.clone();
        let task = tokio::spawn(async move {
            let mut routed = 0u64;
            loop {
                let next = tokio::select! {
                    () = token.cancelled() => break,
                    next = subscriber.next_timeout(Duration::from_millis(500)) => next,
                };
                let delivery = match next {
                    Ok(Some(d)) => d,
                    Ok(None) => continue,
                    Err(e) => {
                        tracing::error!(error = %e, "router stopped: its subscription failed");
                        break;
                    }
                };
                let settled = match self.route(broker.as_ref(), &delivery.message).await {
                    Ok(_) => {
                        routed += 1;
                        subscriber.ack(&delivery).await
                    }
                    Err(Error::NotFound { id, .. }) => {
                        subscriber
                            .nack(&delivery, Nack::Reject { reason: id })
                            .await
                    }
                    // Broker or directory trouble: let it come back later.
                    Err(e) => {
                        tracing::warn!(error = %e, "routing failed; will retry");
                        subscriber
                            .nack(
                                &delivery,
                                Nack::Retry {
                                    after: Duration::from_secs(1),
                                },
                            )
                            .await
                    }
                };
                if let Err(e) = settled {
                    tracing::warn!(error = %e, "could not settle a routed message");
                }
            }
            routed
        });
        Ok(RouterHandle { stop, task })
    }
}

/// A running router.
#[derive(Debug)]
pub struct RouterHandle {
    stop: CancellationToken,
    task: tokio::task::JoinHandle<u64>,
}

impl RouterHandle {
    /// Stops after the message in hand; returns how many were routed.
    pub async fn shutdown(self) -> u64 {
        self.stop.cancel();
        self.task.await.unwrap_or(0)
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::broker::{self, BrokerConfig, BrokerExt};

    fn agent(name: &str, load: u32, healthy: bool) -> Candidate {
        Candidate {
            name: name.into(),
            load,
            healthy,
        }
    }

    #[test]
    fn choice_prefers_healthy_then_least_loaded_then_name() {
        let all = [
            agent("c", 0, false),
            agent("b", 2, true),
            agent("a", 2, true),
            agent("d", 5, true),
        ];
        assert_eq!(choose(&all).map(|c| c.name.as_str()), Some("a"));
        assert!(choose(&[agent("x", 0, false)]).is_none());
    }

    #[tokio::test]
    async fn rules_route_by_pattern_and_refuse_bad_ones() -> Result<()> {
        let dir = StaticDirectory::default().with("review", agent("r1", 0, true));
        let router = MessageRouter::new(Arc::new(dir))
            .rule("jobs.*", Route::Agent("worker".into()))?
            .rule("jobs.review", Route::Capability("review".into()))?
            .rule("jobs.>", Route::Agent("worker".into()))?
            .rule("jobs.translate", Route::Capability("translate".into()))?;
        let m = |t: &str| Message::new(Topic::new(t).expect("topic"), "k", json!(null));
        assert_eq!(router.targets(&m("jobs.review")).await?, ["worker", "r1"]);
        assert_eq!(router.targets(&m("jobs.translate")).await?, ["worker"]);
        assert!(router.targets(&m("other")).await?.is_empty());
        assert!(MessageRouter::new(Arc::new(StaticDirectory::default()))
            .rule("a.>.b", Route::Agent("x".into()))
            .is_err());
        assert!(MessageRouter::new(Arc::new(StaticDirectory::default()))
            .rule("a", Route::Agent("x.y".into()))
            .is_err());
        Ok(())
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_running_router_forwards_and_dead_letters_the_unroutable() -> Result<()> {
        let broker = broker::open("sqlite::memory:", BrokerConfig::default()).await?;
        let dir = StaticDirectory::default().with("summarise", agent("sum-1", 0, true));
        let handle = MessageRouter::new(Arc::new(dir))
            .rule("docs.>", Route::Capability("summarise".into()))?
            .rule("orphans.>", Route::Capability("nobody".into()))?
            .spawn(
                broker.clone(),
                RouterOptions {
                    ack_timeout: Duration::from_secs(5),
                    ..Default::default()
                },
            )
            .await?;
        let mut inbox = Subscriber::new(
            broker.clone(),
            SubscriptionSpec::agent("sum-1")?.start_at(StartAt::Beginning),
            SubscriberOptions::default(),
        )
        .await?;
        let original = Message::new(Topic::new("docs.new")?, "doc", json!({"id": 1}))
            .from_agent("crawler")
            .header("trace", "t1");
        broker.publish(original.clone()).await?;
        broker
            .publish(Message::new(Topic::new("orphans.x")?, "doc", json!(2)))
            .await?;
        let got = inbox
            .next_timeout(Duration::from_secs(10))
            .await?
            .ok_or_else(|| Error::conflict("nothing routed"))?;
        assert_eq!(got.message.payload, json!({"id": 1}));
        assert_eq!(got.message.to.as_deref(), Some("sum-1"));
        assert_eq!(got.message.from.as_deref(), Some("crawler"));
        assert_eq!(
            got.message.headers.get(ROUTED_FROM_ID),
            Some(&original.id.to_string())
        );
        assert_eq!(
            got.message.headers.get("trace").map(String::as_str),
            Some("t1")
        );
        inbox.ack(&got).await?;
        let until = tokio::time::Instant::now() + Duration::from_secs(10);
        let dead = loop {
            let dead = broker.dead_letters("hive-router", 10).await?;
            if !dead.is_empty() || tokio::time::Instant::now() > until {
                break dead;
            }
            tokio::time::sleep(Duration::from_millis(20)).await;
        };
        assert_eq!(dead.len(), 1);
        assert!(
            dead[0].reason.contains("no agent for topic orphans.x"),
            "{}",
            dead[0].reason
        );
        assert_eq!(handle.shutdown().await, 1);
        assert!(MessageRouter::new(Arc::new(StaticDirectory::default()))
            .spawn(broker, RouterOptions::default())
            .await
            .is_err());
        Ok(())
    }
}
