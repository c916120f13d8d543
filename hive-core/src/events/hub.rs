//! [`EventHub`]: a hive's end of the event feed.
//!
//! - `emit` hands an event to a background *appender* and returns at once:
//!   the operation that caused it never waits for (or fails because of)
//!   the event log. While the log is unreachable events wait in memory, up
//!   to a bound; the overflow is counted and announced as one
//!   [`kinds::EVENTS_LOST`] event once the log is back.
//! - Order: an operation that may set off work elsewhere in the process (a
//!   submit wakes an agent that claims) takes a [`Ticket`] *before* it
//!   runs and fills it after; the appender writes events in ticket order.
//!   So within a process an effect is never logged before its cause.
//!   Across processes events are in the order they reached the log.
//! - A background *tailer* follows the log (so events appended by other
//!   processes arrive too) and fans each event out to this process's
//!   subscriptions over a broadcast channel.
//! - An [`EventSubscription`] delivers events in number order. When it
//!   falls behind the broadcast it says so ([`Watch::Lagged`]) and catches
//!   up from the log; when the log no longer holds what it missed it says
//!   that too ([`Watch::Resync`]). Nothing is skipped without a word.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use serde_json::json;
use tokio::sync::{broadcast, mpsc};
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::event::kinds;
use super::{Event, EventFilter, EventLog, NewEvent};
use crate::error::Result;

/// Events waiting for the appender before new ones are counted as lost.
const EMIT_BUFFER: usize = 65_536;
/// How long the appender waits for an unfilled ticket before writing the
/// later ones without it (a ticket is always filled or dropped, so this
/// only bounds a stuck operation's hold on the feed).
const TICKET_PATIENCE: Duration = Duration::from_secs(5);
/// Events one append (and one read) carries at most.
const BATCH: usize = 512;
/// Events one [`EventHub::read_matching`] examines at most.
pub const SCAN_LIMIT: usize = 100_000;
/// Events a subscription may fall behind the tailer before it is lagged.
const LIVE_BUFFER: usize = 4_096;
/// How long one tailer read waits for news.
const TAIL_WAIT: Duration = Duration::from_millis(500);
/// Pause after a failed append or read before trying again.
const RETRY_PAUSE: Duration = Duration::from_millis(250);
/// How long `close` lets the appender flush what is buffered.
const CLOSE_FLUSH: Duration = Duration::from_secs(5);

/// What a subscription answers next.
#[derive(Clone, Debug, PartialEq)]
pub enum Watch {
    /// The next event (that passes the filter).
    Event(Arc<Event>),
    /// The subscription fell behind after event `after`; the events that
    /// follow are caught up from the log, in order, with none skipped.
    Lagged {
        /// The last event delivered (or passed over by the filter).
        after: u64,
    },
    /// Events after `after` and before `next` can no longer be delivered
    /// (the log dropped them, or it restarted): reread the state you
    /// follow from the stores. Events continue from `next`.
    Resync {
        /// The last event delivered.
        after: u64,
        /// The next event that will be.
        next: u64,
    },
}

/// A hive's event feed: emit, subscribe, read back. Cheap to clone; the
/// background tasks end with the last clone (or at [`close`](Self::close)).
#[derive(Clone, Debug)]
pub struct EventHub {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    log: Arc<dyn EventLog>,
    emit: mpsc::UnboundedSender<Filled>,
    /// The next ticket's number.
    tickets: AtomicU64,
    live: broadcast::Sender<Arc<Event>>,
    shared: Arc<Shared>,
    tasks: TaskTracker,
}

/// What the hub shares with its background tasks (which must not keep
/// [`Inner`] alive).
#[derive(Debug, Default)]
struct Shared {
    /// The last event the tailer has broadcast.
    position: AtomicU64,
    /// Events refused because the emit buffer was full, not yet announced.
    lost: AtomicU64,
    /// Events emitted and not yet written.
    queued: AtomicU64,
    closing: AtomicBool,
    /// Cancelled to stop the appender (after a last flush).
    stop_appender: CancellationToken,
    /// Cancelled by the appender when it has written its last batch.
    flushed: CancellationToken,
    /// Cancelled when the tailer has delivered its last event.
    stopped: CancellationToken,
}

impl EventHub {
    /// Starts the appender and the tailer over `log` on the current Tokio
    /// runtime; watchers see events from the log's current end on.
    ///
    /// # Errors
    /// When the log cannot tell where it ends.
    pub async fn start(log: Arc<dyn EventLog>) -> Result<Self> {
        let shared = Arc::new(Shared {
            position: AtomicU64::new(log.last_seq().await?),
            ..Shared::default()
        });
        let (emit, rx) = mpsc::unbounded_channel();
        let (live, _) = broadcast::channel(LIVE_BUFFER);
        let inner = Arc::new(Inner {
            log: log.clone(),
            emit,
            tickets: AtomicU64::new(0),
            live: live.clone(),
            shared: shared.clone(),
            tasks: TaskTracker::new(),
        });
        inner.tasks.spawn(appender(log.clone(), rx, shared.clone()));
        inner
            .tasks
            .spawn(tailer(log, live, shared, Arc::downgrade(&inner)));
        inner.tasks.close();
        Ok(EventHub { inner })
    }

    /// Which log the hub writes to: `"memory"` or `"redis"`.
    pub fn backend(&self) -> &'static str {
        self.inner.log.backend()
    }

    /// Queues an event for the log; never waits. After [`close`](Self::close)
    /// events are ignored.
    pub fn emit(&self, event: NewEvent) {
        self.ticket().fill(vec![event]);
    }

    /// Holds a place in the feed for the events of an operation about to
    /// run: whatever is emitted after this is logged after them. Fill it
    /// when the operation is done; dropping it gives the place up.
    pub fn ticket(&self) -> Ticket {
        Ticket {
            hub: self.inner.clone(),
            number: self.inner.tickets.fetch_add(1, Ordering::SeqCst),
            filled: false,
        }
    }

    /// Follows events passing `filter`: from now, or — with `since` — from
    /// just after event `since` (as far as the log still holds them).
    ///
    /// # Errors
    /// When the log cannot be read to check `since`.
    pub async fn subscribe(
        &self,
        filter: EventFilter,
        since: Option<u64>,
    ) -> Result<EventSubscription> {
        let rx = self.inner.live.subscribe();
        let position = self.position();
        let mut sub = EventSubscription {
            log: self.inner.log.clone(),
            shared: self.inner.shared.clone(),
            rx,
            filter,
            last: position,
            backlog: VecDeque::new(),
            catching_up: false,
            announce: None,
        };
        match since {
            None => {}
            Some(since) if since < position => {
                sub.last = since;
                sub.catching_up = true;
            }
            Some(since) if since <= self.inner.log.last_seq().await? => sub.last = since,
            // Numbers the log never gave: it restarted (an in-memory log
            // in a new process). Everything from now on is new.
            Some(since) => {
                sub.announce = Some(Watch::Resync {
                    after: since,
                    next: position + 1,
                });
            }
        }
        Ok(sub)
    }

    /// Retained events after `after`, oldest first, at most `limit` — to
    /// read the feed without subscribing.
    ///
    /// # Errors
    /// When the log cannot be read.
    pub async fn read_after(&self, after: u64, limit: usize) -> Result<Vec<Event>> {
        self.inner
            .log
            .read_after(after, limit, Duration::ZERO)
            .await
    }

    /// Up to `limit` retained events after `after` that pass `filter`,
    /// oldest first — the limit counts matching events, not events read.
    /// [`FeedPage::next`] is the `after` of the following page: the last
    /// event examined, so events the filter passed over are not read again.
    /// One call examines at most [`SCAN_LIMIT`] events; when that runs out
    /// first the page holds fewer than `limit` (maybe none) and `next` is
    /// still past what was examined, so reading on from `next` finds the
    /// rest.
    ///
    /// # Errors
    /// When the log cannot be read.
    pub async fn read_matching(
        &self,
        after: u64,
        filter: &EventFilter,
        limit: usize,
    ) -> Result<FeedPage> {
        let mut page = FeedPage {
            events: Vec::new(),
            next: after,
        };
        let mut examined = 0;
        while page.events.len() < limit && examined < SCAN_LIMIT {
            let want = BATCH.min(SCAN_LIMIT - examined);
            let batch = self.read_after(page.next, want).await?;
            let Some(last) = batch.last().map(|e| e.seq) else {
                break;
            };
            examined += batch.len();
            for e in batch {
                page.next = e.seq;
                if filter.matches(&e.kind) {
                    page.events.push(e);
                    if page.events.len() == limit {
                        break;
                    }
                }
            }
            debug_assert!(page.events.len() == limit || page.next == last);
        }
        Ok(page)
    }

    /// The last event this process has broadcast.
    pub fn position(&self) -> u64 {
        self.inner.shared.position.load(Ordering::SeqCst)
    }

    /// Stops taking events, writes what is buffered (for up to 5 s),
    /// delivers it to subscriptions, then ends them (their `next` answers
    /// `None`). Idempotent.
    pub async fn close(&self) {
        let shared = &self.inner.shared;
        shared.closing.store(true, Ordering::SeqCst);
        shared.stop_appender.cancel();
        if tokio::time::timeout(CLOSE_FLUSH + TAIL_WAIT * 4, self.inner.tasks.wait())
            .await
            .is_err()
        {
            tracing::warn!("the event feed did not stop in time");
        }
        shared.stopped.cancel();
    }
}

/// A page of the feed read through a filter ([`EventHub::read_matching`]).
#[derive(Clone, Debug, Default, PartialEq)]
pub struct FeedPage {
    /// The matching events, oldest first.
    pub events: Vec<Event>,
    /// The `after` of the following page: the last event examined (the
    /// `after` asked for when there was none).
    pub next: u64,
}

/// A ticket's events on their way to the appender.
#[derive(Debug)]
struct Filled {
    number: u64,
    events: Vec<NewEvent>,
}

/// A place in the feed, taken before an operation runs (see
/// [`EventHub::ticket`]).
#[derive(Debug)]
pub struct Ticket {
    hub: Arc<Inner>,
    number: u64,
    filled: bool,
}

impl Ticket {
    /// Puts `events` in this place.
    pub fn fill(mut self, events: Vec<NewEvent>) {
        self.send(events);
    }

    fn send(&mut self, mut events: Vec<NewEvent>) {
        self.filled = true;
        let shared = &self.hub.shared;
        let n = events.len() as u64;
        if shared.closing.load(Ordering::Relaxed) {
            events.clear();
        } else if shared.queued.fetch_add(n, Ordering::Relaxed) + n > EMIT_BUFFER as u64 {
            shared.queued.fetch_sub(n, Ordering::Relaxed);
            shared.lost.fetch_add(n, Ordering::Relaxed);
            events.clear();
        }
        // Sent even when empty: later tickets wait for this one. Fails only
        // once the appender is gone, when nothing is written anyway.
        let _ = self.hub.emit.send(Filled {
            number: self.number,
            events,
        });
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        if !self.filled {
            self.send(Vec::new());
        }
    }
}

/// Puts filled tickets back in ticket order.
#[derive(Debug, Default)]
struct Reorder {
    next: u64,
    waiting: std::collections::BTreeMap<u64, Vec<NewEvent>>,
    /// Since when the ticket `next` has been awaited while later ones wait.
    stalled_since: Option<tokio::time::Instant>,
}

impl Reorder {
    /// Takes in filled tickets; moves the events now in order to `out`.
    fn take(&mut self, filled: Vec<Filled>, out: &mut Vec<NewEvent>) {
        for f in filled {
            if f.number >= self.next {
                self.waiting.insert(f.number, f.events);
            }
        }
        self.release(out);
        let now = tokio::time::Instant::now();
        match (self.waiting.is_empty(), self.stalled_since) {
            (true, _) => self.stalled_since = None,
            (false, None) => self.stalled_since = Some(now),
            (false, Some(since)) if now - since >= TICKET_PATIENCE => {
                tracing::warn!(
                    ticket = self.next,
                    "an operation held its place in the event feed too long; going on without it"
                );
                if let Some(first) = self.waiting.keys().next() {
                    self.next = *first;
                }
                self.stalled_since = None;
                self.release(out);
            }
            _ => {}
        }
    }

    fn release(&mut self, out: &mut Vec<NewEvent>) {
        while let Some(events) = self.waiting.remove(&self.next) {
            out.extend(events);
            self.next += 1;
        }
    }

    /// Moves every waiting event to `out`, in ticket order, gaps or not.
    fn release_all(&mut self, out: &mut Vec<NewEvent>) {
        for (_, events) in std::mem::take(&mut self.waiting) {
            out.extend(events);
        }
    }

    fn stalled(&self) -> bool {
        !self.waiting.is_empty()
    }
}

/// Moves emitted events into the log in ticket order, a batch at a time,
/// until the hub is closed or gone. A batch the log refuses is kept and
/// tried again.
async fn appender(
    log: Arc<dyn EventLog>,
    mut rx: mpsc::UnboundedReceiver<Filled>,
    shared: Arc<Shared>,
) {
    let mut order = Reorder::default();
    let mut filled = Vec::with_capacity(BATCH);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        if batch.is_empty() {
            // While a ticket is awaited, look again now and then so a stuck
            // one cannot hold the feed for ever.
            let patience = if order.stalled() {
                TICKET_PATIENCE / 4
            } else {
                Duration::MAX
            };
            tokio::select! {
                n = rx.recv_many(&mut filled, BATCH) => if n == 0 { break },
                () = tokio::time::sleep(patience) => {}
                () = shared.stop_appender.cancelled() => break,
            }
            order.take(std::mem::take(&mut filled), &mut batch);
            if batch.is_empty() {
                continue;
            }
        }
        let lost = shared.lost.swap(0, Ordering::Relaxed);
        if lost > 0 {
            tracing::warn!(
                lost,
                "events were dropped while the event log was unreachable"
            );
            batch.push(NewEvent::known(
                kinds::EVENTS_LOST,
                "",
                json!({ "lost": lost }),
            ));
        }
        match log.append(&batch).await {
            Ok(_) => {
                let written = batch.len() as u64 - u64::from(lost > 0);
                shared.queued.fetch_sub(written, Ordering::Relaxed);
                batch.clear();
            }
            Err(e) => {
                if lost > 0 {
                    batch.pop();
                    shared.lost.fetch_add(lost, Ordering::Relaxed);
                }
                tracing::warn!(error = %e, events = batch.len(), "could not append events; retrying");
                tokio::select! {
                    () = tokio::time::sleep(RETRY_PAUSE) => {}
                    () = shared.stop_appender.cancelled() => break,
                }
            }
        }
    }
    // Closing: write what is buffered, in order as far as it goes (a
    // ticket still held by a running operation is not waited for).
    rx.close();
    while let Some(f) = rx.recv().await {
        filled.push(f);
    }
    order.take(std::mem::take(&mut filled), &mut batch);
    order.release_all(&mut batch);
    let flush = async {
        for chunk in batch.chunks(BATCH) {
            if let Err(e) = log.append(chunk).await {
                tracing::warn!(error = %e, "events not written at shutdown");
                return;
            }
        }
    };
    let _ = tokio::time::timeout(CLOSE_FLUSH, flush).await;
    shared.flushed.cancel();
}

/// Follows the log and broadcasts each event, in order, until the
/// appender has flushed and everything is delivered, or the hub is gone.
async fn tailer(
    log: Arc<dyn EventLog>,
    live: broadcast::Sender<Arc<Event>>,
    shared: Arc<Shared>,
    hub: std::sync::Weak<Inner>,
) {
    loop {
        let appender_done = shared.flushed.is_cancelled();
        if hub.strong_count() == 0 && !appender_done {
            return;
        }
        let after = shared.position.load(Ordering::SeqCst);
        match log.read_after(after, BATCH, TAIL_WAIT).await {
            Ok(events) => {
                let caught_up = events.is_empty();
                for e in events {
                    shared.position.store(e.seq, Ordering::SeqCst);
                    // Nobody listening is fine.
                    let _ = live.send(Arc::new(e));
                }
                if caught_up && appender_done {
                    return;
                }
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read events; retrying");
                if appender_done {
                    return;
                }
                tokio::time::sleep(RETRY_PAUSE).await;
            }
        }
    }
}

/// One watcher's view of the feed; see [`Watch`].
#[derive(Debug)]
pub struct EventSubscription {
    log: Arc<dyn EventLog>,
    shared: Arc<Shared>,
    rx: broadcast::Receiver<Arc<Event>>,
    filter: EventFilter,
    /// The last event delivered or passed over.
    last: u64,
    /// Caught-up events still to deliver.
    backlog: VecDeque<Arc<Event>>,
    /// Reading from the log rather than the broadcast.
    catching_up: bool,
    /// Said before anything else.
    announce: Option<Watch>,
}

impl EventSubscription {
    /// The next event, lag or resync notice; `None` once the hub closed
    /// and everything before it was delivered. Cancel-safe.
    pub async fn next(&mut self) -> Option<Watch> {
        if let Some(a) = self.announce.take() {
            return Some(a);
        }
        loop {
            if let Some(e) = self.backlog.pop_front() {
                self.last = e.seq;
                if self.filter.matches(&e.kind) {
                    return Some(Watch::Event(e));
                }
                continue;
            }
            if self.catching_up {
                if let Some(watch) = self.catch_up().await {
                    return Some(watch);
                }
                continue;
            }
            let received = tokio::select! {
                biased;
                r = self.rx.recv() => r,
                () = self.shared.stopped.cancelled() => return None,
            };
            match received {
                Ok(e) if e.seq <= self.last => {}
                // A gap (only after a lag or a `since`): the log fills it.
                Ok(e) if e.seq > self.last + 1 => self.catching_up = true,
                Ok(e) => {
                    self.last = e.seq;
                    if self.filter.matches(&e.kind) {
                        return Some(Watch::Event(e));
                    }
                }
                Err(broadcast::error::RecvError::Lagged(_)) => {
                    self.catching_up = true;
                    return Some(Watch::Lagged { after: self.last });
                }
                Err(broadcast::error::RecvError::Closed) => return None,
            }
        }
    }

    /// The patterns this subscription follows.
    pub fn filter(&self) -> &EventFilter {
        &self.filter
    }

    /// Follows other kinds from the next event on.
    pub fn set_filter(&mut self, filter: EventFilter) {
        self.filter = filter;
    }

    /// The last event delivered or passed over by the filter.
    pub fn last_seq(&self) -> u64 {
        self.last
    }

    /// Reads the next batch from the log into the backlog; answers a
    /// resync notice when the log no longer holds what comes next.
    async fn catch_up(&mut self) -> Option<Watch> {
        let read = tokio::select! {
            biased;
            r = self.log.read_after(self.last, BATCH, Duration::ZERO) => r,
            () = self.shared.stopped.cancelled() => Ok(Vec::new()),
        };
        match read {
            Ok(batch) => {
                let Some(first) = batch.first().map(|e| e.seq) else {
                    // Caught up with the log: back to the broadcast.
                    self.catching_up = false;
                    return None;
                };
                self.backlog.extend(batch.into_iter().map(Arc::new));
                if first > self.last + 1 {
                    let after = self.last;
                    self.last = first - 1;
                    return Some(Watch::Resync { after, next: first });
                }
                None
            }
            Err(e) => {
                tracing::warn!(error = %e, "could not read events to catch up; retrying");
                tokio::time::sleep(RETRY_PAUSE).await;
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::events::MemoryLog;

    async fn hub(retained: usize) -> EventHub {
        EventHub::start(Arc::new(MemoryLog::with_retention(retained)))
            .await
            .expect("start")
    }

    fn emit_n(hub: &EventHub, kind: &str, from: usize, count: usize) {
        for n in from..from + count {
            hub.emit(NewEvent::known(kind, format!("s{n}"), json!({ "n": n })));
        }
    }

    /// Waits until the tailer has broadcast event `seq`.
    async fn broadcast_up_to(hub: &EventHub, seq: u64) {
        let until = tokio::time::Instant::now() + Duration::from_secs(10);
        while hub.position() < seq {
            assert!(
                tokio::time::Instant::now() < until,
                "stuck at {}",
                hub.position()
            );
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    }

    async fn next(sub: &mut EventSubscription) -> Watch {
        tokio::time::timeout(Duration::from_secs(10), sub.next())
            .await
            .expect("an answer within 10 s")
            .expect("the hub is open")
    }

    async fn next_event(sub: &mut EventSubscription) -> Arc<Event> {
        match next(sub).await {
            Watch::Event(e) => e,
            other => panic!("expected an event, got {other:?}"),
        }
    }

    #[tokio::test]
    async fn subscriptions_follow_live_events_through_their_filter() -> Result<()> {
        let hub = hub(100).await;
        assert_eq!(hub.backend(), "memory");
        let mut tasks = hub
            .subscribe(EventFilter::patterns(["task"])?, None)
            .await?;
        let mut all = hub.subscribe(EventFilter::all(), None).await?;
        emit_n(&hub, "task.completed", 0, 2);
        emit_n(&hub, "agent.status", 2, 1);
        emit_n(&hub, "task.claimed", 3, 1);
        let kinds: Vec<String> = [
            next_event(&mut tasks).await,
            next_event(&mut tasks).await,
            next_event(&mut tasks).await,
        ]
        .iter()
        .map(|e| format!("{}#{}", e.kind, e.seq))
        .collect();
        assert_eq!(
            kinds,
            ["task.completed#1", "task.completed#2", "task.claimed#4"]
        );
        assert_eq!(tasks.last_seq(), 4);
        for seq in 1..=4 {
            assert_eq!(next_event(&mut all).await.seq, seq);
        }
        all.set_filter(EventFilter::patterns(["agent"])?);
        assert_eq!(all.filter().prefixes(), ["agent".to_string()]);
        emit_n(&hub, "task.completed", 4, 1);
        emit_n(&hub, "agent.registered", 5, 1);
        assert_eq!(next_event(&mut all).await.kind, "agent.registered");
        Ok(())
    }

    #[tokio::test]
    async fn since_replays_what_the_log_still_holds() -> Result<()> {
        let hub = hub(100).await;
        emit_n(&hub, "task.submitted", 0, 5);
        broadcast_up_to(&hub, 5).await;
        let mut sub = hub.subscribe(EventFilter::all(), Some(2)).await?;
        for seq in 3..=5 {
            assert_eq!(next_event(&mut sub).await.seq, seq);
        }
        emit_n(&hub, "task.submitted", 5, 1);
        assert_eq!(next_event(&mut sub).await.seq, 6, "then live");
        assert_eq!(hub.read_after(4, 10).await?.len(), 2);
        Ok(())
    }

    #[tokio::test]
    async fn a_since_the_log_never_gave_means_resync() -> Result<()> {
        let hub = hub(100).await;
        emit_n(&hub, "task.submitted", 0, 2);
        broadcast_up_to(&hub, 2).await;
        // A watcher from before a restart of an in-memory log.
        let mut sub = hub.subscribe(EventFilter::all(), Some(500)).await?;
        assert_eq!(
            next(&mut sub).await,
            Watch::Resync {
                after: 500,
                next: 3
            }
        );
        emit_n(&hub, "task.submitted", 2, 1);
        assert_eq!(next_event(&mut sub).await.seq, 3);
        Ok(())
    }

    #[tokio::test]
    async fn a_lagging_subscription_is_told_and_catches_up_from_the_log() -> Result<()> {
        let hub = hub(10_000).await;
        let mut sub = hub.subscribe(EventFilter::all(), None).await?;
        let total = LIVE_BUFFER + 1_000;
        emit_n(&hub, "task.claimed", 0, total);
        broadcast_up_to(&hub, total as u64).await;
        assert_eq!(next(&mut sub).await, Watch::Lagged { after: 0 });
        for seq in 1..=total as u64 {
            assert_eq!(next_event(&mut sub).await.seq, seq, "none skipped");
        }
        emit_n(&hub, "task.claimed", total, 1);
        assert_eq!(next_event(&mut sub).await.seq, total as u64 + 1);
        Ok(())
    }

    #[tokio::test]
    async fn a_subscription_behind_the_log_is_told_to_resync() -> Result<()> {
        let hub = hub(1_000).await;
        let mut sub = hub.subscribe(EventFilter::all(), None).await?;
        let total = (LIVE_BUFFER + 1_000) as u64;
        emit_n(&hub, "task.claimed", 0, total as usize);
        broadcast_up_to(&hub, total).await;
        // Told it lagged (unless the tailer itself saw the log's gap first),
        // then that the log no longer holds what it missed.
        let mut told = next(&mut sub).await;
        if told == (Watch::Lagged { after: 0 }) {
            told = next(&mut sub).await;
        }
        let Watch::Resync { after, next: first } = told else {
            panic!("expected a resync notice, got {told:?}");
        };
        assert_eq!(after, 0);
        assert!(first > 1 && first <= total - 999, "{first}");
        for seq in first..=total {
            assert_eq!(next_event(&mut sub).await.seq, seq);
        }
        Ok(())
    }

    #[tokio::test]
    async fn read_matching_counts_the_limit_after_filtering() -> Result<()> {
        let hub = hub(10_000).await;
        // Far more non-matching events than a page, then the matching ones
        // (the second batch of reads and beyond).
        emit_n(&hub, "agent.status", 0, BATCH + 100);
        emit_n(&hub, "task.submitted", BATCH + 100, 3);
        emit_n(&hub, "agent.status", BATCH + 103, 10);
        let total = BATCH as u64 + 113;
        broadcast_up_to(&hub, total).await;
        let tasks = EventFilter::patterns(["task"])?;
        let first = BATCH as u64 + 101;

        let page = hub.read_matching(0, &tasks, 2).await?;
        let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [first, first + 1]);
        assert_eq!(page.next, first + 1, "stops at the last one it answers");
        let page = hub.read_matching(page.next, &tasks, 2).await?;
        let seqs: Vec<u64> = page.events.iter().map(|e| e.seq).collect();
        assert_eq!(seqs, [first + 2]);
        assert_eq!(page.next, total, "past the non-matching tail it examined");
        let page = hub.read_matching(page.next, &tasks, 2).await?;
        assert_eq!(
            page,
            FeedPage {
                events: Vec::new(),
                next: total
            }
        );
        // Without a filter the limit is the page size.
        let page = hub.read_matching(0, &EventFilter::all(), 5).await?;
        assert_eq!((page.events.len(), page.next), (5, 5));
        Ok(())
    }

    #[tokio::test]
    async fn close_delivers_what_was_emitted_then_ends_subscriptions() -> Result<()> {
        let hub = hub(100).await;
        let mut sub = hub.subscribe(EventFilter::all(), None).await?;
        emit_n(&hub, "session.closed", 0, 3);
        hub.close().await;
        hub.emit(NewEvent::known("session.closed", "late", json!({})));
        for seq in 1..=3 {
            assert_eq!(next_event(&mut sub).await.seq, seq);
        }
        assert_eq!(sub.next().await, None);
        assert_eq!(
            hub.read_after(0, 10).await?.len(),
            3,
            "the late event was ignored"
        );
        hub.close().await;
        Ok(())
    }

    #[tokio::test]
    async fn tickets_order_events_by_when_their_operation_began() -> Result<()> {
        let hub = hub(100).await;
        let mut sub = hub.subscribe(EventFilter::all(), None).await?;
        let cause = hub.ticket();
        let abandoned = hub.ticket();
        emit_n(&hub, "task.claimed", 0, 1);
        tokio::time::sleep(Duration::from_millis(50)).await;
        assert_eq!(hub.position(), 0, "the effect waits for its cause");
        drop(abandoned);
        cause.fill(vec![NewEvent::known("task.submitted", "t", json!({}))]);
        assert_eq!(next_event(&mut sub).await.kind, "task.submitted");
        assert_eq!(next_event(&mut sub).await.kind, "task.claimed");
        Ok(())
    }

    fn filled(number: u64) -> Filled {
        Filled {
            number,
            events: vec![NewEvent::known("t.x", number.to_string(), json!({}))],
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_ticket_held_too_long_is_passed_over() {
        let mut order = Reorder::default();
        let mut out = Vec::new();
        order.take(vec![filled(1), filled(2)], &mut out);
        assert!(out.is_empty() && order.stalled(), "0 is awaited");
        tokio::time::advance(TICKET_PATIENCE).await;
        order.take(Vec::new(), &mut out);
        let subjects: Vec<&str> = out.iter().map(|e| e.subject.as_str()).collect();
        assert_eq!(subjects, ["1", "2"]);
        // Ticket 0 turning up late is not written out of order.
        order.take(vec![filled(0), filled(3)], &mut out);
        assert_eq!(out.len(), 3);
        assert_eq!(out[2].subject, "3");
        assert!(!order.stalled());
    }

    #[tokio::test]
    async fn dropping_the_last_hub_ends_its_tasks() -> Result<()> {
        let hub = hub(100).await;
        let mut sub = hub.subscribe(EventFilter::all(), None).await?;
        drop(hub);
        let ended = tokio::time::timeout(Duration::from_secs(5), sub.next()).await;
        assert_eq!(ended.ok(), Some(None));
        Ok(())
    }
}
