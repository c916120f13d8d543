//! The event feed over the wire: `GET /ws/events` (WebSocket) follows it
//! live; `GET /events` reads it back a page at a time.
//!
//! The WebSocket protocol (JSON text frames, each with a `type`):
//! - on connect, `?topics=task,agent.status` picks kinds (a kind, a prefix
//!   of whole tokens, `task.*`, or `*`; default everything) and
//!   `?since=<seq>` resumes after an event seen earlier;
//! - the server first sends `{"type":"hello","seq"}` (the newest event
//!   number), then `{"type":"event","seq","at","kind","subject","data"}`
//!   per event, in number order;
//! - a client that falls behind gets `{"type":"lagged","after"}` and then
//!   the events it missed, caught up from the hive's event log; when the
//!   log no longer holds them, `{"type":"resync","after","next"}`: reread
//!   the state over REST, events go on from `next`. Nothing is skipped
//!   without one of these;
//! - the client may send `{"type":"ping"}` (answered `{"type":"pong"}`) and
//!   `{"type":"subscribe","topics":[…]}` (answered `{"type":"subscribed"}`);
//!   anything else is answered `{"type":"error","message"}`;
//! - on shutdown the server closes every socket with 1001 (going away),
//!   after the frames already queued for it. After its close frame it waits
//!   up to [`CLOSE_GRACE`] for the client's, as the close handshake asks.
//!
//! Slow readers. Each socket has a writer that sends from a small queue
//! ([`OUTBOX`] frames), and the sockets themselves hold little unsent
//! (`listener.rs`). While the queue is full the socket's subscription is
//! not read, so a client slower than the feed falls behind *in the feed*
//! and is told so (`lagged`, then `resync` once it is further behind than
//! the log keeps): the server never buffers without bound and never drops
//! a reader for being slow.
//!
//! A client is judged by its progress, once per ping interval
//! ([`AppState::ws_ping`], 20 s by default): the server pings it, and by
//! the next interval the client must have answered that ping *or* taken
//! some of what was waiting for it (a write the socket had held back went
//! through). One that did neither read nothing for a whole interval and is
//! closed with 1008 [`DOES_NOT_READ`] — sent after what is already queued,
//! so a client that reads again still finds the reason.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use futures::stream::{SplitSink, SplitStream};
use futures::{SinkExt, StreamExt};
use hive_core::events::{Event, EventFilter, EventSubscription, Watch};
use serde::{Deserialize, Serialize};
use tokio::sync::mpsc;
use utoipa::{IntoParams, ToSchema};

use super::{in_range, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// Frames queued in the process for one socket. While they all wait the
/// socket's subscription is not read, so a slow client falls behind in the
/// feed (and is told so) rather than in the server's memory.
pub const OUTBOX: usize = 32;

/// How long, once the server has decided to close a socket, the frames
/// queued before the close frame and the close frame itself may take to
/// go out; after that the connection is dropped.
pub const CLOSE_SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server waits for the client's answer to its close frame
/// before it drops the connection.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// The close reason (with code 1008) for a client that read nothing for a
/// whole ping interval.
pub const DOES_NOT_READ: &str = "the client does not read";

/// WebSocket close code: the server is going away.
const GOING_AWAY: u16 = 1001;
/// WebSocket close code: policy violation (a client that does not read).
const POLICY: u16 = 1008;

/// Query of `GET /ws/events`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct WatchQuery {
    /// Comma-separated kind patterns.
    topics: Option<String>,
    /// Resume after this event.
    since: Option<u64>,
    /// The bearer token (checked by the auth layer; accepted here so it is
    /// not an unknown field).
    #[allow(dead_code)]
    token: Option<String>,
}

/// What the server sends.
#[derive(Debug, Serialize)]
#[serde(tag = "type", rename_all = "snake_case")]
enum Frame<'a> {
    Hello { seq: u64, topics: &'a [String] },
    Event(&'a Event),
    Lagged { after: u64 },
    Resync { after: u64, next: u64 },
    Pong,
    Subscribed { topics: &'a [String] },
    Error { message: String },
}

/// What the client may send.
#[derive(Debug, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case", deny_unknown_fields)]
enum ClientFrame {
    Ping,
    Subscribe { topics: Vec<String> },
}

fn filter_of(topics: Option<&str>) -> Result<EventFilter, ApiError> {
    let patterns = topics
        .unwrap_or_default()
        .split(',')
        .map(str::trim)
        .filter(|t| !t.is_empty());
    Ok(EventFilter::patterns(patterns)?)
}

/// `GET /ws/events`: upgrades to a WebSocket following the feed.
pub(crate) async fn watch(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<WatchQuery>,
    upgrade: Result<WebSocketUpgrade, axum::extract::ws::rejection::WebSocketUpgradeRejection>,
) -> ApiResult<Response> {
    let filter = filter_of(q.topics.as_deref())?;
    let upgrade = upgrade.map_err(|e| {
        ApiError::BadRequest(format!(
            "/ws/events needs a WebSocket upgrade (GET with Connection: upgrade, Upgrade: websocket): {}",
            e.body_text()
        ))
    })?;
    let subscription = state.hive.events().subscribe(filter, q.since).await?;
    let sockets = state.sockets.clone();
    Ok(upgrade.on_upgrade(move |socket| sockets.track_future(serve(socket, subscription, state))))
}

/// Why a socket is closed: the code and the reason in the close frame.
type Close = (u16, &'static str);

/// One socket's life: [`write`] sends what is queued while [`follow`]
/// reads the client and the feed, until one of them ends it.
async fn serve(socket: WebSocket, mut sub: EventSubscription, state: AppState) {
    let (mut sink, mut stream) = socket.split();
    let (out, outbox) = mpsc::channel(OUTBOX);
    let (pinger, pings) = mpsc::channel(1);
    let drained = AtomicU64::new(0);
    let hello = Frame::Hello {
        seq: sub.last_seq(),
        topics: sub.filter().prefixes(),
    };
    // The outbox is empty: there is room.
    let _ = out.try_send(encode(&hello));
    let writer = write(&mut sink, outbox, pings, &drained);
    tokio::pin!(writer);
    let close = tokio::select! {
        // While `follow` holds the senders the writer ends only when the
        // socket fails: the client is gone.
        _ = &mut writer => None,
        close = follow(&mut stream, &mut sub, &state, &out, &pinger, &drained) => close,
    };
    let Some((code, reason)) = close else {
        return;
    };
    let frame = Message::Close(Some(CloseFrame {
        code,
        reason: reason.into(),
    }));
    let queue_close = async move {
        let queued = out.send(frame).await.is_ok();
        // With the senders gone the writer ends once it has sent
        // everything, the close frame last.
        drop(out);
        drop(pinger);
        queued
    };
    // The writer goes on meanwhile: the close frame may wait for room.
    let closing = async {
        let (queued, sent) = tokio::join!(queue_close, writer);
        queued && sent
    };
    if let Ok(true) = tokio::time::timeout(CLOSE_SEND_TIMEOUT, closing).await {
        finish_closing(&mut stream).await;
    }
}

/// Reads the client's frames and the feed, queues what to send and judges
/// the client's progress; answers how to close, or `None` when the client
/// is gone.
async fn follow(
    stream: &mut SplitStream<WebSocket>,
    sub: &mut EventSubscription,
    state: &AppState,
    out: &mpsc::Sender<Message>,
    pinger: &mpsc::Sender<()>,
    drained: &AtomicU64,
) -> Option<Close> {
    let mut ping = tokio::time::interval(state.ws_ping);
    // After a stall of the process, the next judgement is a whole interval
    // after the ping before it, never two ticks back to back.
    ping.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    ping.tick().await;
    let mut awaiting_pong = false;
    let mut drained_at_ping = 0;
    // A frame made and waiting for room in the outbox. Nothing more is
    // read from the client or the feed until it is queued.
    let mut waiting: Option<Message> = None;
    loop {
        tokio::select! {
            biased;
            () = state.shutdown.cancelled() => return Some((GOING_AWAY, "the server is shutting down")),
            _ = ping.tick() => {
                let drains = drained.load(Ordering::Relaxed);
                if awaiting_pong && drains == drained_at_ping {
                    return Some((POLICY, DOES_NOT_READ));
                }
                drained_at_ping = drains;
                awaiting_pong = true;
                // Full: the previous ping is still waiting to go out.
                let _ = pinger.try_send(());
            }
            permit = out.reserve(), if waiting.is_some() => {
                // An error means the writer is gone, and with it the socket.
                let permit = permit.ok()?;
                if let Some(message) = waiting.take() {
                    permit.send(message);
                }
            }
            incoming = stream.next(), if waiting.is_none() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => return None,
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Text(text))) => {
                    waiting = Some(encode(&answer(sub, text.as_str())));
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_))) => {}
                Some(Ok(Message::Binary(_))) => {
                    let error = Frame::Error { message: "frames must be JSON text".into() };
                    waiting = Some(encode(&error));
                }
            },
            watch = sub.next(), if waiting.is_none() => {
                waiting = Some(match &watch {
                    None => return Some((GOING_AWAY, "the event feed has ended")),
                    Some(Watch::Event(e)) => encode(&Frame::Event(e)),
                    Some(Watch::Lagged { after }) => encode(&Frame::Lagged { after: *after }),
                    Some(Watch::Resync { after, next }) => {
                        encode(&Frame::Resync { after: *after, next: *next })
                    }
                });
            }
        }
    }
}

/// Sends pings (first) and queued frames, one at a time, until both queues
/// are closed and empty (answers `true`) or the socket fails (`false`).
/// Each send the socket held back before taking it counts in `drained`:
/// the client read enough to make room, which is progress.
async fn write(
    sink: &mut SplitSink<WebSocket, Message>,
    mut outbox: mpsc::Receiver<Message>,
    mut pings: mpsc::Receiver<()>,
    drained: &AtomicU64,
) -> bool {
    loop {
        let message = tokio::select! {
            biased;
            Some(()) = pings.recv() => Message::Ping(Default::default()),
            Some(message) = outbox.recv() => message,
            else => return true,
        };
        let mut held_back = false;
        let mut send = sink.send(message);
        let sent = std::future::poll_fn(|cx| {
            let poll = Pin::new(&mut send).poll(cx);
            held_back |= poll.is_pending();
            poll
        })
        .await;
        if sent.is_err() {
            return false;
        }
        if held_back {
            drained.fetch_add(1, Ordering::Relaxed);
        }
    }
}

/// After our close frame: reads (and drops) what the client still sends —
/// pongs to pings it had not read yet — until its own close frame, the end
/// of the connection or [`CLOSE_GRACE`]. Dropping the connection at once
/// would let those late frames reach a closed socket, whose reset can
/// destroy the close frame before the client reads it.
async fn finish_closing(stream: &mut SplitStream<WebSocket>) {
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = stream.next().await {
            if matches!(message, Message::Close(_)) {
                break;
            }
        }
    })
    .await;
}

/// The answer to a client's text frame.
fn answer<'a>(sub: &'a mut EventSubscription, text: &str) -> Frame<'a> {
    match serde_json::from_str::<ClientFrame>(text) {
        Ok(ClientFrame::Ping) => Frame::Pong,
        Ok(ClientFrame::Subscribe { topics }) => match EventFilter::patterns(&topics) {
            Ok(filter) => {
                sub.set_filter(filter);
                Frame::Subscribed {
                    topics: sub.filter().prefixes(),
                }
            }
            Err(e) => Frame::Error {
                message: e.to_string(),
            },
        },
        Err(e) => Frame::Error {
            message: format!(
                "expected {{\"type\":\"ping\"}} or {{\"type\":\"subscribe\",\"topics\":[…]}}: {e}"
            ),
        },
    }
}

/// A frame as a text message.
fn encode(frame: &Frame<'_>) -> Message {
    let text = serde_json::to_string(frame).unwrap_or_else(|e| {
        let message = format!("could not encode a frame: {e}");
        serde_json::json!({ "type": "error", "message": message }).to_string()
    });
    Message::Text(text.into())
}

/// Query of `GET /events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReadQuery {
    /// Events after this number (default 0: the oldest retained).
    after: Option<u64>,
    /// At most this many matching events (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Comma-separated kind patterns (`task`, `task.*`, `agent.status`,
    /// `*`); default everything.
    topics: Option<String>,
}

/// A page of `GET /events`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    /// Up to `limit` events of the kinds asked for, oldest first.
    events: Vec<Event>,
    /// The `after` of the following page: the last event examined, past
    /// the ones the filter passed over.
    next: u64,
    /// The newest event number this server has seen.
    seq: u64,
}

/// `GET /events`: up to `limit` retained events after `after` of the kinds
/// in `topics`, oldest first — the limit counts matching events. `next` is
/// the `after` of the following page; `seq` is the newest event number
/// this server has seen. One request examines at most 100,000 events, so
/// a page can hold fewer than `limit` while `next` is below `seq`: read on
/// from `next`.
#[utoipa::path(
    get,
    path = "/events",
    tag = "events",
    operation_id = "read_events",
    params(ReadQuery),
    responses(
        (status = 200, description = "a page of events", body = EventPage),
        (status = 400, description = "a bad limit or kind pattern", body = ErrorBody),
    )
)]
pub(crate) async fn read(
    State(state): State<AppState>,
    QueryParams(q): QueryParams<ReadQuery>,
) -> ApiResult<Json<EventPage>> {
    let limit = in_range("limit", q.limit.unwrap_or(100), 1..=1000)?;
    let filter = filter_of(q.topics.as_deref())?;
    let after = q.after.unwrap_or(0);
    let page = state
        .hive
        .events()
        .read_matching(after, &filter, limit)
        .await?;
    Ok(Json(EventPage {
        events: page.events,
        next: page.next,
        seq: state.hive.events().position(),
    }))
}
