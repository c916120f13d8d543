//! Finding topics: the list of known topics, kept per handle, and the
//! announcements of new ones.
//!
//! A subscription listens to patterns, but Redis reads streams by name, so
//! each handle keeps the list of topics (the `topics` sorted set) and
//! matches patterns against it in Rust. Topics are only ever added, so the
//! list's length is its version: the fetch script reports the current
//! count, and a handle whose list is shorter reads it again.
//!
//! A fetch blocked on its streams cannot see a topic created meanwhile, so
//! the publish script announces each new topic on a pub/sub channel; a
//! listener per handle passes the news to waiting fetches, which interrupt
//! their wait when the topic matches. Pub/sub loses messages while a
//! connection is down, so a waiting fetch also looks again at least every
//! half second, and the listener announces "anything may have changed"
//! after it reconnects.

use std::sync::{Arc, Mutex};

use fred::interfaces::{ClientLike, EventInterface, PubsubInterface, SortedSetsInterface};
use fred::prelude::{Builder, Client};
use fred::types::{Key, Value};
use tokio::sync::broadcast::{self, error::RecvError};
use tokio::task::JoinHandle;

use crate::broker::{Topic, TopicPattern};
use crate::error::Result;
use crate::storage::redis::reply::text;
use crate::storage::redis::{close, redis_err};

/// Announcements kept for slow waiters; a waiter that falls further behind
/// looks again at everything.
const NEWS_BUFFER: usize = 256;

/// What the listener heard.
#[derive(Clone, Debug)]
pub(super) enum News {
    /// This topic got its first message.
    Topic(Topic),
    /// Announcements may have been lost (the listener reconnected or fell
    /// behind): any topic may be new.
    Anything,
}

impl News {
    /// Whether a fetch listening to `patterns` should look again.
    pub fn concerns(&self, patterns: &[TopicPattern]) -> bool {
        match self {
            News::Topic(topic) => patterns.iter().any(|p| p.matches(topic)),
            News::Anything => true,
        }
    }
}

/// The known topics, as one handle last read them.
#[derive(Debug)]
pub(super) struct TopicList {
    /// How many names the sorted set held (invalid names included).
    pub version: u64,
    /// The valid ones, sorted.
    pub topics: Vec<Topic>,
}

impl TopicList {
    /// The topics `patterns` match.
    pub fn matching<'a>(
        &'a self,
        patterns: &'a [TopicPattern],
    ) -> impl Iterator<Item = &'a Topic> + 'a {
        self.topics
            .iter()
            .filter(|t| patterns.iter().any(|p| p.matches(t)))
    }
}

/// The per-handle list and the listener.
#[derive(Debug)]
pub(super) struct Discovery {
    /// `None` until first read.
    list: Mutex<Option<Arc<TopicList>>>,
    news: broadcast::Sender<News>,
    listener: Client,
    task: JoinHandle<()>,
}

impl Discovery {
    /// Connects the listener and subscribes it to `channel`.
    pub async fn start(builder: &Builder, channel: &str) -> Result<Self> {
        let (news, _) = broadcast::channel(NEWS_BUFFER);
        let listener = builder.build().map_err(redis_err)?;
        listener.init().await.map_err(redis_err)?;
        let messages = listener.message_rx();
        let reconnects = listener.reconnect_rx();
        listener
            .subscribe(channel.to_string())
            .await
            .map_err(redis_err)?;
        let task = tokio::spawn(listen(
            listener.clone(),
            channel.to_string(),
            messages,
            reconnects,
            news.clone(),
        ));
        Ok(Discovery {
            list: Mutex::new(None),
            news,
            listener,
            task,
        })
    }

    /// A receiver of the news from now on.
    pub fn listen(&self) -> broadcast::Receiver<News> {
        self.news.subscribe()
    }

    /// The list at `version` or later: the one last read if it is, else
    /// read anew.
    pub async fn at_least(
        &self,
        client: &Client,
        topics_key: Key,
        version: u64,
    ) -> Result<Arc<TopicList>> {
        let cached = self
            .list
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
            .clone();
        match cached {
            Some(list) if list.version >= version => Ok(list),
            _ => self.read(client, topics_key).await,
        }
    }

    /// Reads the list anew.
    pub async fn read(&self, client: &Client, topics_key: Key) -> Result<Arc<TopicList>> {
        let names: Vec<Value> = client
            .zrange(topics_key, 0, -1, None, false, None, false)
            .await
            .map_err(redis_err)?;
        let version = names.len() as u64;
        let mut topics: Vec<Topic> = names
            .iter()
            .filter_map(|v| {
                let name = text(v)?;
                match Topic::new(name.as_str()) {
                    Ok(t) => Some(t),
                    Err(e) => {
                        tracing::warn!(topic = %name, error = %e, "ignoring a stored topic name");
                        None
                    }
                }
            })
            .collect();
        topics.sort();
        let list = Arc::new(TopicList { version, topics });
        let mut slot = self
            .list
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner());
        // Concurrent readers: the longer list is the newer one.
        if slot.as_ref().is_none_or(|old| list.version >= old.version) {
            *slot = Some(list.clone());
        }
        Ok(list)
    }

    /// Stops the listener.
    pub fn stop(&self) {
        self.task.abort();
        close(self.listener.clone());
    }
}

/// The listener's loop: passes announcements on, and subscribes again
/// after each reconnection (a plain fred client does not).
async fn listen(
    client: Client,
    channel: String,
    mut messages: broadcast::Receiver<fred::types::Message>,
    mut reconnects: broadcast::Receiver<fred::types::config::Server>,
    news: broadcast::Sender<News>,
) {
    loop {
        tokio::select! {
            message = messages.recv() => match message {
                Ok(m) => {
                    let topic = text(&m.value).and_then(|t| Topic::new(t).ok());
                    // Nobody waiting is fine.
                    let _ = news.send(topic.map_or(News::Anything, News::Topic));
                }
                Err(RecvError::Lagged(_)) => {
                    let _ = news.send(News::Anything);
                }
                Err(RecvError::Closed) => return,
            },
            reconnected = reconnects.recv() => match reconnected {
                Ok(_) | Err(RecvError::Lagged(_)) => {
                    if let Err(e) = client.subscribe(channel.clone()).await {
                        tracing::warn!(error = %e, "could not listen for new topics again");
                    }
                    let _ = news.send(News::Anything);
                }
                Err(RecvError::Closed) => return,
            },
        }
    }
}
