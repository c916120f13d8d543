//! Subscriptions: their records, the streams each one reads, and the calls
//! that create, list, move and delete them.
//!
//! A subscription's record lives in the `subs` hash as JSON, written by the
//! scripts (Lua's cjson) and read here:
//!
//! | field | holds |
//! |---|---|
//! | `id` | this incarnation (a subscription deleted and created again gets a new one, so a handle's cached view of the old one is noticed) |
//! | `patterns` | its patterns, sorted, space-separated (patterns have no spaces) |
//! | `created_ms` | creation time, by the server's clock |
//! | `ack_timeout_ms`, `max_deliveries` | as in [`SubscriptionSpec`] |
//! | `start` | the id after which groups made later (on topics that appear later) start |
//!
//! A handle's topic list may be behind. That is harmless where a missing
//! group is made later from the subscription's start (subscribe, fetch),
//! but seek and unsubscribe must reach every group the subscription has:
//! their scripts take the topic count the caller matched against and
//! refuse when topics appeared meanwhile; the caller reads the list again
//! and retries.

use std::collections::HashMap;
use std::sync::Arc;

use fred::interfaces::HashesInterface;
use fred::types::{Key, Value};
use serde::Deserialize;

use super::discovery::TopicList;
use super::ids::group_start;
use super::scripts::SCRIPTS;
use super::RedisBroker;
use crate::broker::{check_name, StartAt, SubscriptionInfo, SubscriptionSpec, Topic, TopicPattern};
use crate::error::{Error, Result};
use crate::storage::redis::reply::{array, int, malformed, tag, text};
use crate::storage::redis::{redis_err, BACKEND};
use crate::time::{duration_ms, from_ms};

/// Tries of a script refused because topics appeared meanwhile.
const TOPIC_RACE_TRIES: usize = 8;

/// A subscription's record (see the module docs). Numbers are read as
/// floats: cjson writes them so.
#[derive(Clone, Debug, Deserialize)]
pub(super) struct SubRecord {
    pub id: String,
    patterns: String,
    created_ms: f64,
    ack_timeout_ms: f64,
    max_deliveries: f64,
}

impl SubRecord {
    fn parse(name: &str, raw: &str) -> Result<Self> {
        serde_json::from_str(raw).map_err(|e| {
            Error::backend(
                BACKEND,
                format!("subscription {name} has an unreadable record: {e}"),
            )
        })
    }

    fn patterns(&self) -> Result<Vec<TopicPattern>> {
        self.patterns
            .split(' ')
            .filter(|p| !p.is_empty())
            .map(|p| {
                TopicPattern::new(p)
                    .map_err(|e| Error::backend(BACKEND, format!("stored pattern {p:?}: {e}")))
            })
            .collect()
    }

    fn info(&self, name: &str, pending: u64, dead_letters: u64) -> Result<SubscriptionInfo> {
        Ok(SubscriptionInfo {
            name: name.to_string(),
            patterns: self.patterns()?,
            created_at: from_ms(self.created_ms as i64),
            ack_timeout: std::time::Duration::from_millis(self.ack_timeout_ms as u64),
            max_deliveries: self.max_deliveries as u32,
            pending,
            dead_letters,
        })
    }
}

/// What a handle knows of a subscription to fetch from it: the streams it
/// reads, matched against the topic list of one version.
#[derive(Debug)]
pub(super) struct SubView {
    /// The incarnation the streams were matched for.
    pub incarnation: String,
    pub patterns: Vec<TopicPattern>,
    /// The topic list's version the streams were matched at.
    pub version: u64,
    /// The replay topic, then the matching topics.
    pub topics: Vec<Topic>,
    /// Their streams, in the same order.
    pub keys: Vec<Key>,
}

/// A subscription name as a key part; a name that cannot be one cannot
/// name a subscription either.
pub(super) fn known_name(name: &str) -> Result<()> {
    check_name("subscription", name).map_err(|_| Error::not_found("subscription", name))
}

impl RedisBroker {
    /// The stream keys of `topics`.
    fn stream_keys<'a>(&self, topics: impl IntoIterator<Item = &'a Topic>) -> Vec<Key> {
        topics.into_iter().map(|t| self.keys.stream(t)).collect()
    }

    /// The subscription's view: cached, or read.
    pub(super) async fn view(&self, name: &str) -> Result<Arc<SubView>> {
        let cached = self
            .views
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .get(name)
            .cloned();
        match cached {
            Some(view) => Ok(view),
            None => self.load_view(name, 0).await,
        }
    }

    /// Reads the subscription's record and matches its patterns against a
    /// topic list of `version` or later.
    pub(super) async fn load_view(&self, name: &str, version: u64) -> Result<Arc<SubView>> {
        let raw: Option<String> = self
            .live()?
            .hget(self.keys.subs(), name)
            .await
            .map_err(redis_err)?;
        let Some(raw) = raw else {
            self.forget(name);
            return Err(Error::not_found("subscription", name));
        };
        let record = SubRecord::parse(name, &raw)?;
        let list = self.topic_list(version).await?;
        let view = Arc::new(self.match_view(name, &record, &list)?);
        self.views
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(name.to_string(), view.clone());
        Ok(view)
    }

    /// A view of `record` against `list`.
    fn match_view(&self, name: &str, record: &SubRecord, list: &TopicList) -> Result<SubView> {
        let patterns = record.patterns()?;
        let mut topics = vec![Topic::replay(name)?];
        topics.extend(list.matching(&patterns).cloned());
        Ok(SubView {
            incarnation: record.id.clone(),
            keys: self.stream_keys(&topics),
            patterns,
            version: list.version,
            topics,
        })
    }

    /// Matches an existing view against a list of `version` or later.
    /// Returns the new view and whether its streams changed.
    pub(super) async fn rematch(
        &self,
        name: &str,
        view: &SubView,
        version: u64,
    ) -> Result<(Arc<SubView>, bool)> {
        let list = self.topic_list(version).await?;
        let mut topics = vec![Topic::replay(name)?];
        topics.extend(list.matching(&view.patterns).cloned());
        let changed = topics != view.topics;
        let fresh = Arc::new(SubView {
            incarnation: view.incarnation.clone(),
            patterns: view.patterns.clone(),
            version: list.version,
            keys: self.stream_keys(&topics),
            topics,
        });
        self.views
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .insert(name.to_string(), fresh.clone());
        Ok((fresh, changed))
    }

    /// Drops the cached view.
    pub(super) fn forget(&self, name: &str) {
        self.views
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .remove(name);
    }

    /// Fails with [`Error::NotFound`] unless the subscription exists.
    pub(super) async fn must_exist(&self, name: &str) -> Result<()> {
        known_name(name)?;
        let exists: bool = self
            .live()?
            .hexists(self.keys.subs(), name)
            .await
            .map_err(redis_err)?;
        if exists {
            Ok(())
        } else {
            Err(Error::not_found("subscription", name))
        }
    }

    pub(super) async fn create_or_resume(
        &self,
        spec: SubscriptionSpec,
    ) -> Result<SubscriptionInfo> {
        spec.validate()?;
        let patterns = spec.pattern_set();
        let joined = patterns
            .iter()
            .map(TopicPattern::as_str)
            .collect::<Vec<_>>()
            .join(" ");
        let name = spec.name.as_str();
        let replay = self.keys.replay(name)?;
        let incarnation = uuid::Uuid::new_v4().simple().to_string();
        let list = self.topic_list(0).await?;
        let mut keys = vec![replay];
        keys.extend(self.stream_keys(list.matching(&patterns)));
        let reply = array(
            self.run(
                &SCRIPTS.subscribe,
                self.keys.with(keys),
                vec![
                    Value::from(name),
                    Value::from(joined.as_str()),
                    Value::from(duration_ms(spec.ack_timeout)),
                    Value::from(i64::from(spec.max_deliveries)),
                    Value::from(group_start(spec.start)),
                    Value::from(incarnation.as_str()),
                ],
            )
            .await?,
        );
        self.forget(name);
        match tag(&reply).as_str() {
            "conflict" => {
                let existing = reply.get(1).and_then(text).unwrap_or_default();
                Err(Error::conflict(format!(
                    "subscription {name} listens to {existing:?}, not {joined:?}: \
                     unsubscribe it first to change its patterns"
                )))
            }
            "created" => self.record_info(name, &reply)?.info(name, 0, 0),
            "resumed" => {
                let record = self.record_info(name, &reply)?;
                let (pending, dead) = self.counts(name, &record, &list).await?;
                record.info(name, pending, dead)
            }
            _ => Err(malformed("the subscribe script", &Value::Array(reply))),
        }
    }

    fn record_info(&self, name: &str, reply: &[Value]) -> Result<SubRecord> {
        let raw = reply
            .get(1)
            .and_then(text)
            .ok_or_else(|| Error::backend(BACKEND, "subscribe answered no record"))?;
        SubRecord::parse(name, &raw)
    }

    /// Pending deliveries and dead letters of one subscription.
    async fn counts(&self, name: &str, record: &SubRecord, list: &TopicList) -> Result<(u64, u64)> {
        let patterns = record.patterns()?;
        let mut keys = vec![self.keys.dead(name)?, self.keys.replay(name)?];
        keys.extend(self.stream_keys(list.matching(&patterns)));
        let reply = array(
            self.run(&SCRIPTS.info, self.keys.with(keys), vec![Value::from(name)])
                .await?,
        );
        match (reply.first().and_then(int), reply.get(1).and_then(int)) {
            (Some(pending), Some(dead)) => Ok((
                u64::try_from(pending).unwrap_or(0),
                u64::try_from(dead).unwrap_or(0),
            )),
            _ => Err(malformed("the info script", &Value::Array(reply))),
        }
    }

    pub(super) async fn list_subscriptions(&self) -> Result<Vec<SubscriptionInfo>> {
        let records: HashMap<String, String> = self
            .live()?
            .hgetall(self.keys.subs())
            .await
            .map_err(redis_err)?;
        let list = self.topic_list(u64::MAX).await?;
        let infos = futures::future::try_join_all(records.iter().map(|(name, raw)| {
            let list = list.clone();
            async move {
                let record = SubRecord::parse(name, raw)?;
                let (pending, dead) = self.counts(name, &record, &list).await?;
                record.info(name, pending, dead)
            }
        }))
        .await?;
        let mut infos = infos;
        infos.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(infos)
    }

    pub(super) async fn delete(&self, name: &str) -> Result<()> {
        known_name(name)?;
        let mut version = 0;
        for _ in 0..TOPIC_RACE_TRIES {
            let view = self.load_view(name, version).await?;
            let mut keys = vec![self.keys.replay(name)?, self.keys.dead(name)?];
            // The view's first stream is the replay stream, named above.
            keys.extend(view.keys.iter().skip(1).cloned());
            let reply = array(
                self.run(
                    &SCRIPTS.unsubscribe,
                    self.keys.with(keys),
                    vec![Value::from(name), Value::from(view.version as i64)],
                )
                .await?,
            );
            self.forget(name);
            match tag(&reply).as_str() {
                "ok" => return Ok(()),
                "missing" => return Err(Error::not_found("subscription", name)),
                "retry" => version = view.version + 1,
                _ => return Err(malformed("the unsubscribe script", &Value::Array(reply))),
            }
        }
        Err(race(name))
    }

    pub(super) async fn move_to(&self, name: &str, to: StartAt) -> Result<()> {
        known_name(name)?;
        let mut version = 0;
        for _ in 0..TOPIC_RACE_TRIES {
            let view = self.load_view(name, version).await?;
            let keys = view.keys.iter().skip(1).cloned();
            let reply = array(
                self.run(
                    &SCRIPTS.seek,
                    self.keys.with(keys),
                    vec![
                        Value::from(name),
                        Value::from(view.version as i64),
                        Value::from(group_start(to)),
                    ],
                )
                .await?,
            );
            match tag(&reply).as_str() {
                "ok" => return Ok(()),
                "missing" => {
                    self.forget(name);
                    return Err(Error::not_found("subscription", name));
                }
                "retry" => version = view.version + 1,
                _ => return Err(malformed("the seek script", &Value::Array(reply))),
            }
        }
        Err(race(name))
    }
}

/// Topics kept appearing faster than a call could match them.
fn race(name: &str) -> Error {
    Error::backend(
        BACKEND,
        format!("new topics kept appearing while changing subscription {name}; try again"),
    )
}
