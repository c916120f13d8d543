//! Publishing with group commit: concurrent publish calls of one handle
//! share script calls.
//!
//! With `appendfsync always` Redis writes its append-only file once per
//! turn of its event loop, and a publish is answered only after that write.
//! Many publishers each sending a one-message script leave Redis parsing
//! and running many small scripts per write; gathering the messages that
//! are waiting into one script makes each write carry more of them. A
//! background task per handle sends what has queued up while at most
//! [`MAX_IN_FLIGHT`] scripts are under way, so a lone publisher is sent at
//! once and a crowd is gathered. Each caller's batch stays contiguous and
//! in its order inside the script, and the script is atomic, so each
//! `publish_batch` is still stored whole or not at all.

use std::collections::HashMap;

use fred::prelude::Pool;
use fred::types::{Key, Value};
use futures::stream::{FuturesUnordered, StreamExt};
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use super::scripts::{Keys, SCRIPTS};
use crate::broker::Topic;
use crate::error::{Error, Result};
use crate::storage::redis::reply::{array, malformed, text};
use crate::storage::redis::{self as connection, live, BACKEND};

/// Scripts under way at once; more waiting publishes gather into the next.
/// Enough that a few dozen publishers are not held back by the gathering
/// (each script still waits for its write); measured on two cores, 8 gave
/// less at 64 concurrent publishers and no more at 256.
const MAX_IN_FLIGHT: usize = 32;
/// Most messages gathered into one script.
const MAX_MESSAGES: usize = 1_000;
/// Most message bytes gathered into one script (a larger lone batch goes
/// alone).
const MAX_BYTES: usize = 4 * 1024 * 1024;

/// A message ready to store: its topic and its JSON.
#[derive(Debug)]
pub(super) struct Ready {
    pub topic: Topic,
    pub body: String,
}

/// One caller's batch and where its entry ids go.
struct Request {
    messages: Vec<Ready>,
    bytes: usize,
    reply: oneshot::Sender<Result<Vec<String>>>,
}

/// The handle's publishing task.
#[derive(Debug)]
pub(super) struct Publisher {
    queue: mpsc::UnboundedSender<Request>,
    task: JoinHandle<()>,
}

/// What the task needs to run the publish script.
struct Target {
    pool: Pool,
    keys: Keys,
    /// The approximate length cap for XADD, or empty.
    cap: String,
}

impl Publisher {
    pub fn start(pool: Pool, keys: Keys, cap: String) -> Self {
        let (queue, requests) = mpsc::unbounded_channel();
        let task = tokio::spawn(drive(requests, Target { pool, keys, cap }));
        Publisher { queue, task }
    }

    /// Stores `messages` (in one script, maybe with others' batches) and
    /// returns their entry ids in order.
    pub async fn publish(&self, messages: Vec<Ready>) -> Result<Vec<String>> {
        let (reply, answer) = oneshot::channel();
        let bytes = messages.iter().map(|m| m.body.len()).sum();
        self.queue
            .send(Request {
                messages,
                bytes,
                reply,
            })
            .map_err(|_| Error::backend(BACKEND, "the publishing task has stopped"))?;
        answer
            .await
            .map_err(|_| Error::backend(BACKEND, "the publishing task dropped a batch"))?
    }

    pub fn stop(&self) {
        self.task.abort();
    }
}

/// The task: gathers queued requests into scripts, keeping at most
/// [`MAX_IN_FLIGHT`] under way.
async fn drive(mut requests: mpsc::UnboundedReceiver<Request>, target: Target) {
    let mut in_flight = FuturesUnordered::new();
    // A request that did not fit the last gathering starts the next.
    let mut carried: Option<Request> = None;
    let mut open = true;
    loop {
        if !open && carried.is_none() && in_flight.is_empty() {
            return;
        }
        if in_flight.len() >= MAX_IN_FLIGHT || (!open && carried.is_none()) {
            in_flight.next().await;
            continue;
        }
        let first = match carried.take() {
            Some(r) => r,
            None => tokio::select! {
                r = requests.recv() => match r {
                    Some(r) => r,
                    None => {
                        open = false;
                        continue;
                    }
                },
                Some(()) = in_flight.next(), if !in_flight.is_empty() => continue,
            },
        };
        let (mut count, mut bytes) = (first.messages.len(), first.bytes);
        let mut batch = vec![first];
        while count < MAX_MESSAGES && bytes < MAX_BYTES {
            match requests.try_recv() {
                Ok(r) if count + r.messages.len() > MAX_MESSAGES || bytes + r.bytes > MAX_BYTES => {
                    carried = Some(r);
                    break;
                }
                Ok(r) => {
                    count += r.messages.len();
                    bytes += r.bytes;
                    batch.push(r);
                }
                Err(_) => break,
            }
        }
        in_flight.push(store(&target, batch));
    }
}

/// Runs one publish script for `batch` and answers each request.
async fn store(target: &Target, batch: Vec<Request>) {
    let mut answers = match run(target, &batch).await {
        Ok(ids) => ids.into_iter().map(Ok).collect::<Vec<_>>(),
        Err(e) => {
            // Every request of the script failed the same way.
            let text = e.to_string();
            let lost = || Err(Error::backend(BACKEND, text.clone()));
            batch
                .iter()
                .map(|_| lost())
                .collect::<Vec<Result<Vec<String>>>>()
        }
    }
    .into_iter();
    for request in batch {
        let answer = answers
            .next()
            .unwrap_or_else(|| Err(Error::backend(BACKEND, "publish answered too little")));
        // A caller that gave up is told nothing; its messages are stored.
        let _ = request.reply.send(answer);
    }
}

/// The script call: ids per request, in order.
async fn run(target: &Target, batch: &[Request]) -> Result<Vec<Vec<String>>> {
    let total: usize = batch.iter().map(|r| r.messages.len()).sum();
    let mut topics: Vec<&Topic> = Vec::new();
    let mut number: HashMap<&Topic, usize> = HashMap::new();
    let mut pairs = Vec::with_capacity(total * 2);
    for m in batch.iter().flat_map(|r| &r.messages) {
        let n = *number.entry(&m.topic).or_insert_with(|| {
            topics.push(&m.topic);
            topics.len()
        });
        pairs.push(Value::from(n as i64));
        pairs.push(Value::from(m.body.as_str()));
    }
    let mut args = Vec::with_capacity(2 + topics.len() + pairs.len());
    args.push(Value::from(target.cap.as_str()));
    args.push(Value::from(topics.len() as i64));
    args.extend(topics.iter().map(|t| Value::from(t.as_str())));
    args.extend(pairs);
    let keys: Vec<Key> = target
        .keys
        .with(topics.iter().map(|t| target.keys.stream(t)));
    let client = live(target.pool.next_connected())?;
    let reply =
        connection::scripts::run(client, &SCRIPTS.publish, target.keys.prefix(), keys, args)
            .await?;
    let ids = array(reply);
    if ids.len() != total {
        return Err(Error::backend(
            BACKEND,
            format!("publish stored {} messages of {total}", ids.len()),
        ));
    }
    let mut ids = ids.into_iter();
    batch
        .iter()
        .map(|r| {
            ids.by_ref()
                .take(r.messages.len())
                .map(|id| text(&id).ok_or_else(|| malformed("the publish script", &id)))
                .collect()
        })
        .collect()
}
