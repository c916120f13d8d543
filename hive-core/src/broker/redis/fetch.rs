//! `fetch`: rounds of the fetch script, and waits between them.
//!
//! One round is one script: due redeliveries (or dead letters), then new
//! entries, from every stream the subscription reads. A round that finds
//! nothing answers where each stream ends; the fetch then blocks with
//! `XREAD` after those ids on a connection of its own, for at most half a
//! second, and runs another round when something arrives, when a matching
//! topic is announced, or when the half second is up (redeliveries fall due
//! and pub/sub may have lost an announcement). Blocking with `XREAD` rather
//! than `XREADGROUP` keeps the wait free of side effects: it delivers
//! nothing, so a fetch given up mid-wait loses nothing, and a round never
//! hands out more than `max` entries.

use std::time::Duration;

use fred::interfaces::{ClientLike, StreamsInterface};
use fred::prelude::Client;
use fred::types::{ClusterHash, CustomCommand, Value};
use tokio::sync::broadcast::{self, error::TryRecvError};

use super::discovery::News;
use super::reply::Entry;
use super::scripts::SCRIPTS;
use super::subscriptions::{known_name, SubView};
use super::RedisBroker;
use crate::broker::{check_fetch, Delivery, Nack, Receipt, Topic, TopicPattern};
use crate::error::{Error, Result};
use crate::storage::redis::reply::{array, int, malformed, tag, text};
use crate::storage::redis::{redis_err, BACKEND};

/// The longest one blocking read lasts before the fetch looks again.
const BLOCK_ROUND: Duration = Duration::from_millis(500);
/// Rounds in a row that may find the subscription recreated under the
/// handle's feet before the fetch gives up.
const STALE_TRIES: usize = 4;

/// What one round found.
enum Round {
    /// The subscription does not exist.
    Missing,
    /// It was deleted and created again since the view was made.
    Stale,
    Found {
        /// The topic list's version now.
        version: u64,
        /// `(stream number, entry, deliveries)`.
        deliveries: Vec<(usize, Entry, u32)>,
        /// When there are no deliveries: each stream's newest id.
        lasts: Vec<String>,
    },
}

impl RedisBroker {
    pub(super) async fn fetch_deliveries(
        &self,
        name: &str,
        consumer: &str,
        max: usize,
        wait: Duration,
    ) -> Result<Vec<Delivery>> {
        check_fetch(consumer, max)?;
        known_name(name)?;
        let deadline = tokio::time::Instant::now() + wait;
        // Subscribed before the first round, so an announcement made after
        // a round looked at the topics is not missed.
        let mut news = self.discovery.listen();
        let mut stale = 0;
        let mut view = self.view(name).await?;
        loop {
            match self.round(&view, name, consumer, max).await? {
                Round::Missing => {
                    self.forget(name);
                    return Err(Error::not_found("subscription", name));
                }
                Round::Stale => {
                    stale += 1;
                    if stale >= STALE_TRIES {
                        return Err(Error::backend(
                            BACKEND,
                            format!("subscription {name} keeps being recreated"),
                        ));
                    }
                    view = self.load_view(name, 0).await?;
                }
                Round::Found {
                    version,
                    deliveries,
                    lasts,
                } => {
                    // Deliveries name streams by their place in the view
                    // the round ran with: they are read before any rematch.
                    // (The next round notices the new topics as well.)
                    if !deliveries.is_empty() {
                        let out = self.deliver(name, &view.topics, deliveries).await;
                        if !out.is_empty() {
                            return Ok(out);
                        }
                        continue;
                    }
                    if version != view.version {
                        let grew;
                        (view, grew) = self.rematch(name, &view, version).await?;
                        // New streams: read them at once.
                        if grew {
                            continue;
                        }
                    }
                    let now = tokio::time::Instant::now();
                    if now >= deadline {
                        return Ok(Vec::new());
                    }
                    let block = (deadline - now).min(BLOCK_ROUND);
                    self.wait_for_entries(&view, lasts, block, &mut news)
                        .await?;
                }
            }
        }
    }

    /// Runs the fetch script once.
    async fn round(&self, view: &SubView, name: &str, consumer: &str, max: usize) -> Result<Round> {
        let rotation = self
            .rotation
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let streams = view.keys.len();
        let reply = array(
            self.run(
                &SCRIPTS.fetch,
                self.keys.with(view.keys.iter().cloned()),
                vec![
                    Value::from(name),
                    Value::from(view.incarnation.as_str()),
                    Value::from(consumer),
                    Value::from(max as i64),
                    Value::from((rotation % streams.max(1)) as i64),
                ],
            )
            .await?,
        );
        match tag(&reply).as_str() {
            "missing" => return Ok(Round::Missing),
            "stale" => return Ok(Round::Stale),
            "ok" => {}
            _ => return Err(malformed("the fetch script", &Value::Array(reply))),
        }
        let mut items = reply.into_iter().skip(1);
        let (Some(version), Some(found), Some(lasts)) = (items.next(), items.next(), items.next())
        else {
            return Err(Error::backend(
                BACKEND,
                "the fetch script answered too little",
            ));
        };
        let version = int(&version)
            .and_then(|v| u64::try_from(v).ok())
            .ok_or_else(|| malformed("the fetch script's topic count", &version))?;
        let mut deliveries = Vec::new();
        for item in array(found) {
            let mut parts = array(item).into_iter();
            let (Some(stream), Some(id), Some(fields), Some(count)) =
                (parts.next(), parts.next(), parts.next(), parts.next())
            else {
                return Err(Error::backend(
                    BACKEND,
                    "the fetch script answered a short delivery",
                ));
            };
            let stream = int(&stream)
                .and_then(|i| usize::try_from(i).ok())
                .filter(|i| (1..=streams).contains(i))
                .ok_or_else(|| malformed("the fetch script's stream number", &stream))?;
            let count = int(&count)
                .and_then(|c| u32::try_from(c).ok())
                .unwrap_or(u32::MAX);
            let entry = Entry::parse(Value::Array(vec![id, fields]))?;
            deliveries.push((stream - 1, entry, count));
        }
        let lasts = array(lasts).iter().filter_map(text).collect();
        Ok(Round::Found {
            version,
            deliveries,
            lasts,
        })
    }

    /// Turns entries into deliveries. An entry that cannot be read (another
    /// program wrote it, or it outgrew an offset) would come back forever:
    /// it is dead-lettered with the reason instead, and skipped.
    async fn deliver(
        &self,
        name: &str,
        topics: &[Topic],
        entries: Vec<(usize, Entry, u32)>,
    ) -> Vec<Delivery> {
        let mut out = Vec::with_capacity(entries.len());
        for (stream, entry, deliveries) in entries {
            let Some(topic) = topics.get(stream) else {
                continue;
            };
            let delivery = entry.message().and_then(|message| {
                Ok(Delivery {
                    message,
                    receipt: Receipt {
                        topic: topic.clone(),
                        offset: entry.id.offset()?,
                    },
                    published_at: entry.id.time(),
                    deliveries,
                })
            });
            match delivery {
                Ok(d) => out.push(d),
                Err(e) => {
                    tracing::warn!(
                        subscription = name, topic = %topic, id = %entry.id, error = %e,
                        "dead-lettering an entry that cannot be delivered"
                    );
                    let reason = format!("cannot be delivered: {e}");
                    let label = format!("{} of {topic}", entry.id);
                    if let Err(e) = self
                        .nack_id(name, topic, entry.id, &label, Nack::Reject { reason })
                        .await
                    {
                        tracing::warn!(subscription = name, error = %e, "could not dead-letter it");
                    }
                }
            }
        }
        out
    }

    /// Blocks until one of the view's streams has an entry after `lasts`,
    /// a matching topic is announced, or `block` passes.
    async fn wait_for_entries(
        &self,
        view: &SubView,
        lasts: Vec<String>,
        block: Duration,
        news: &mut broadcast::Receiver<News>,
    ) -> Result<()> {
        if heard_of_new_topics(news, &view.patterns) {
            return Ok(());
        }
        if lasts.len() != view.keys.len() {
            return Err(Error::backend(
                BACKEND,
                "the fetch script answered the wrong number of stream ends",
            ));
        }
        let borrowed = self.waiters.borrow().await?;
        // A handle of its own, so `borrowed` can be given back below.
        let client = borrowed.client().clone();
        let id = connection_id(&client).await?;
        let ms = u64::try_from(block.as_millis()).unwrap_or(u64::MAX).max(1);
        let read = client.xread::<Value, _, _>(Some(1), Some(ms), view.keys.clone(), lasts);
        tokio::pin!(read);
        let result = tokio::select! {
            result = &mut read => result,
            () = news_for(news, &view.patterns) => {
                // Ends the read at once; the connection stays usable. Should
                // that fail, the read ends by itself within the round.
                if let Ok(client) = self.live() {
                    let unblocked: Result<Value, _> = client
                        .custom(client_command(), vec![Value::from("UNBLOCK"), Value::from(id)])
                        .await;
                    if let Err(e) = unblocked {
                        tracing::debug!(error = %e, "CLIENT UNBLOCK failed");
                    }
                }
                read.await
            }
        };
        match result {
            Ok(_) => {
                borrowed.give_back();
                Ok(())
            }
            // Dropping `borrowed` closes a connection in an unknown state.
            Err(e) => Err(redis_err(e)),
        }
    }
}

/// `CLIENT …`, which fred 10 offers only with a feature this crate does
/// not enable.
fn client_command() -> CustomCommand {
    CustomCommand::new_static("CLIENT", ClusterHash::Random, false)
}

/// The server's id for `client`'s connection, for `CLIENT UNBLOCK`. Asked
/// afresh each time: a reconnection changes it.
async fn connection_id(client: &Client) -> Result<i64> {
    let reply: Value = client
        .custom(client_command(), vec!["ID"])
        .await
        .map_err(redis_err)?;
    int(&reply).ok_or_else(|| malformed("CLIENT ID", &reply))
}

/// Whether news already received concerns `patterns` (drains it).
fn heard_of_new_topics(news: &mut broadcast::Receiver<News>, patterns: &[TopicPattern]) -> bool {
    let mut heard = false;
    loop {
        match news.try_recv() {
            Ok(n) => heard |= n.concerns(patterns),
            Err(TryRecvError::Lagged(_)) => heard = true,
            Err(TryRecvError::Empty | TryRecvError::Closed) => return heard,
        }
    }
}

/// Resolves when news concerning `patterns` arrives (never, once the
/// listener is gone).
async fn news_for(news: &mut broadcast::Receiver<News>, patterns: &[TopicPattern]) {
    loop {
        match news.recv().await {
            Ok(n) if n.concerns(patterns) => return,
            Ok(_) => {}
            Err(broadcast::error::RecvError::Lagged(_)) => return,
            Err(broadcast::error::RecvError::Closed) => std::future::pending::<()>().await,
        }
    }
}
