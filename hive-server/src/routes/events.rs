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
//! - the server sends a WebSocket ping every [`AppState::ws_ping`] and
//!   closes a connection that has not answered the previous one, or that
//!   does not take a frame within [`SEND_TIMEOUT`]; on shutdown it closes
//!   every socket with 1001 (going away). After its close frame it waits up
//!   to [`CLOSE_GRACE`] for the client's, as the close handshake asks.

use std::time::Duration;

use axum::extract::ws::{CloseFrame, Message, WebSocket, WebSocketUpgrade};
use axum::extract::State;
use axum::response::Response;
use axum::Json;
use hive_core::events::{Event, EventFilter, EventSubscription, Watch};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};

use super::{in_range, QueryParams};
use crate::error::{ApiError, ApiResult, ErrorBody};
use crate::AppState;

/// How long one frame may take to go out before the client is dropped as
/// stuck (it is told why in the close frame, when that gets through).
pub const SEND_TIMEOUT: Duration = Duration::from_secs(10);

/// How long the server waits for the client's answer to its close frame
/// before it drops the connection.
pub const CLOSE_GRACE: Duration = Duration::from_secs(2);

/// WebSocket close code: the server is going away.
const GOING_AWAY: u16 = 1001;
/// WebSocket close code: policy violation (stuck or silent client).
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

/// One socket's life.
async fn serve(mut socket: WebSocket, mut sub: EventSubscription, state: AppState) {
    let hello = Frame::Hello {
        seq: sub.last_seq(),
        topics: sub.filter().prefixes(),
    };
    if send(&mut socket, &hello).await.is_err() {
        return;
    }
    let mut ping = tokio::time::interval(state.ws_ping);
    ping.tick().await;
    let mut awaiting_pong = false;
    let close = loop {
        tokio::select! {
            biased;
            () = state.shutdown.cancelled() => break Some((GOING_AWAY, "the server is shutting down")),
            incoming = socket.recv() => match incoming {
                None | Some(Err(_)) | Some(Ok(Message::Close(_))) => break None,
                Some(Ok(Message::Pong(_))) => awaiting_pong = false,
                Some(Ok(Message::Text(text))) => {
                    let answer = answer(&mut sub, text.as_str());
                    if send(&mut socket, &answer).await.is_err() {
                        break Some((POLICY, "the client does not read"));
                    }
                }
                // Pings are answered by the WebSocket layer itself.
                Some(Ok(Message::Ping(_))) => {}
                Some(Ok(Message::Binary(_))) => {
                    let error = Frame::Error { message: "frames must be JSON text".into() };
                    if send(&mut socket, &error).await.is_err() {
                        break Some((POLICY, "the client does not read"));
                    }
                }
            },
            watch = sub.next() => {
                let sent = match &watch {
                    None => break Some((GOING_AWAY, "the event feed has ended")),
                    Some(Watch::Event(e)) => send(&mut socket, &Frame::Event(e)).await,
                    Some(Watch::Lagged { after }) => send(&mut socket, &Frame::Lagged { after: *after }).await,
                    Some(Watch::Resync { after, next }) => {
                        send(&mut socket, &Frame::Resync { after: *after, next: *next }).await
                    }
                };
                if sent.is_err() {
                    break Some((POLICY, "the client does not read"));
                }
            }
            _ = ping.tick() => {
                if awaiting_pong {
                    break Some((POLICY, "no pong to the last ping"));
                }
                awaiting_pong = true;
                if timed_send(&mut socket, Message::Ping(Default::default())).await.is_err() {
                    break Some((POLICY, "the client does not read"));
                }
            }
        }
    };
    if let Some((code, reason)) = close {
        let frame = Message::Close(Some(CloseFrame {
            code,
            reason: reason.into(),
        }));
        if timed_send(&mut socket, frame).await.is_ok() {
            finish_closing(&mut socket).await;
        }
    }
}

/// After our close frame: reads (and drops) what the client still sends —
/// pongs to pings it had not read yet — until its own close frame, the end
/// of the connection or [`CLOSE_GRACE`]. Dropping the connection at once
/// would let those late frames reach a closed socket, whose reset can
/// destroy the close frame before the client reads it.
async fn finish_closing(socket: &mut WebSocket) {
    let _ = tokio::time::timeout(CLOSE_GRACE, async {
        while let Some(Ok(message)) = socket.recv().await {
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

async fn send(socket: &mut WebSocket, frame: &Frame<'_>) -> Result<(), ()> {
    let text = serde_json::to_string(frame).map_err(|_| ())?;
    timed_send(socket, Message::Text(text.into())).await
}

async fn timed_send(socket: &mut WebSocket, message: Message) -> Result<(), ()> {
    match tokio::time::timeout(SEND_TIMEOUT, socket.send(message)).await {
        Ok(Ok(())) => Ok(()),
        _ => Err(()),
    }
}

/// Query of `GET /events`.
#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
#[into_params(parameter_in = Query)]
pub(crate) struct ReadQuery {
    /// Events after this number (default 0: the oldest retained).
    after: Option<u64>,
    /// At most this many (1–1000, default 100).
    #[param(minimum = 1, maximum = 1000)]
    limit: Option<usize>,
    /// Comma-separated kind patterns (`task`, `task.*`, `agent.status`,
    /// `*`); default everything.
    topics: Option<String>,
}

/// A page of `GET /events`.
#[derive(Debug, Serialize, ToSchema)]
pub(crate) struct EventPage {
    /// The events, oldest first, of the kinds asked for.
    events: Vec<Event>,
    /// The `after` of the following page.
    next: u64,
    /// The newest event number this server has seen.
    seq: u64,
}

/// `GET /events`: retained events after `after`, oldest first, filtered;
/// `next` is the `after` of the following page; `seq` is the newest event
/// number this server has seen.
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
    let page = state.hive.events().read_after(after, limit).await?;
    let next = page.last().map_or(after, |e| e.seq);
    let events = page
        .into_iter()
        .filter(|e| filter.matches(&e.kind))
        .collect();
    Ok(Json(EventPage {
        events,
        next,
        seq: state.hive.events().position(),
    }))
}
