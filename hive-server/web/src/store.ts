// The one client-side store. It loads a snapshot over REST, then follows the
// event feed (`/ws/events?since=<seq>`) and applies each task event to the
// board. Column counts are always the server's (`GET /queue/stats`),
// refetched (throttled) after task events, never counted from cards.
// Subscribers are notified at most once per animation frame.
//
// Snapshot protocol: read the newest event number (lo), load the snapshot,
// read it again (hi), then follow the feed from lo. An event numbered ≤ lo is
// already in the snapshot; one in (lo, hi] may or may not be, so the task it
// is about is re-read by id instead of applying the transition blindly; later
// events are applied directly (their transitions are idempotent: "the task is
// now in status X").
//
// Memory is bounded: each column keeps at most COLUMN_CAP cards (more after
// "load more", up to COLUMN_MAX), the event list the newest EVENTS_KEPT, the
// latency ring LATENCY_RING values.

import { api, ApiError, errorText, getToken, NetworkError, qs, setToken, setUnauthorizedHandler } from './api';
import {
  COLUMNS,
  TASK_STATUSES,
  columnOf,
  type Agent,
  type AgentStatus,
  type Card,
  type Column,
  type EventPage,
  type HiveEvent,
  type Stats,
  type Task,
  type TaskPage,
  type TaskStatus,
} from './types';

export const COLUMN_CAP = 500;
export const COLUMN_MAX = 2000;
export const PAGE = 100;
export const EVENTS_KEPT = 1000;
export const LATENCY_RING = 10000;
const REFETCH_CAP = 200;
const STATS_MIN_GAP_MS = 250;

export type Connection = 'live' | 'reconnecting' | 'unreachable';
export type Auth = 'unknown' | 'signin' | 'ok';

interface CardEx extends Card {
  col: Column | null;
  deps: string[];
}

interface ColumnState {
  ids: string[];
  /** The server holds older tasks of this column than the loaded ones. */
  more: boolean;
  cap: number;
  loadingMore: boolean;
  error: string;
}

export interface Filters {
  type: string;
  agent: string;
  capability: string;
  priority: string;
}

type Listener = () => unknown;
type EventListener = (e: HiveEvent) => void;

function emptyCounts(): Record<TaskStatus, number> {
  const c = {} as Record<TaskStatus, number>;
  for (const s of TASK_STATUSES) c[s] = 0;
  return c;
}

function emptyColumns(): Record<Column, ColumnState> {
  const r = {} as Record<Column, ColumnState>;
  for (const c of COLUMNS) r[c.key] = { ids: [], more: false, cap: COLUMN_CAP, loadingMore: false, error: '' };
  return r;
}

function toCard(t: Task): CardEx {
  return {
    id: t.id,
    task_type: t.task_type,
    status: t.status,
    priority: t.priority,
    capabilities: t.capabilities,
    created_at: t.created_at,
    worker: t.worker,
    agent_name: t.agent_name,
    col: null,
    deps: t.dependencies,
  };
}

class Store {
  auth: Auth = 'unknown';
  signinError = '';
  signinBusy = false;
  /** Whether the server asked for a token (so a sign-out makes sense). */
  tokenRequired = false;

  connection: Connection = 'reconnecting';
  connectionDetail = 'connecting';
  lastError = '';
  lagged = 0;
  private failures = 0;

  counts: Record<TaskStatus, number> = emptyCounts();
  total = 0;
  statsLoaded = false;
  snapshotLoaded = false;
  cards = new Map<string, CardEx>();
  columns: Record<Column, ColumnState> = emptyColumns();
  filters: Filters = { type: '', agent: '', capability: '', priority: '' };

  agents: Agent[] = [];
  agentsError = '';
  agentsLoaded = false;

  /** The newest events, newest first. */
  events: HiveEvent[] = [];
  lastSeq = 0;

  resyncs = 0;
  applied = 0;
  private lat = new Float64Array(LATENCY_RING);
  private latCount = 0;
  private latPos = 0;
  private pendingAts: number[] = [];

  private listeners = new Set<Listener>();
  private eventListeners = new Set<EventListener>();
  private frame = 0;

  private ws: WebSocket | null = null;
  private gen = 0;
  private reconnectTimer: ReturnType<typeof setTimeout> | undefined;
  private loading = false;
  private resyncAgain = false;
  private buffer: HiveEvent[] = [];
  private snapLo = 0;
  private snapHi = 0;
  private refetched = new Set<string>();
  private inFlight = new Set<string>();
  private fetchQueue: string[] = [];
  private fetching = 0;
  /** Per task being re-read: the seq of the last event applied to it since (drops stale re-reads). */
  private lastApplied = new Map<string, number>();

  private statsTimer: ReturnType<typeof setTimeout> | undefined;
  private statsTrailing = false;

  constructor() {
    setUnauthorizedHandler(() => this.toSignin());
  }

  // ---- subscription -------------------------------------------------------

  subscribe(f: Listener): () => void {
    this.listeners.add(f);
    return () => this.listeners.delete(f);
  }

  /** Every event as it arrives (views that re-read what an event is about). */
  onEvent(f: EventListener): () => void {
    this.eventListeners.add(f);
    return () => this.eventListeners.delete(f);
  }

  changed(): void {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      const ats = this.pendingAts;
      this.pendingAts = [];
      const done: Promise<unknown>[] = [];
      for (const f of this.listeners) {
        const r = f();
        if (r instanceof Promise) done.push(r);
      }
      if (ats.length === 0) return;
      // Measured after the components' updates have rendered, still inside
      // this animation frame's callback chain.
      void Promise.all(done).then(() => {
        const now = Date.now();
        for (const at of ats) this.recordLatency(now - at);
      });
    });
  }

  private recordLatency(ms: number): void {
    this.lat[this.latPos] = ms;
    this.latPos = (this.latPos + 1) % LATENCY_RING;
    if (this.latCount < LATENCY_RING) this.latCount++;
  }

  latencies(): number[] {
    const out: number[] = [];
    const start = this.latCount < LATENCY_RING ? 0 : this.latPos;
    for (let i = 0; i < this.latCount; i++) out.push(this.lat[(start + i) % LATENCY_RING]);
    return out;
  }

  private p95Cache: { at: number; value: number | null } = { at: 0, value: null };

  /** p95 of the newest `n` latencies, or null when none (recomputed at most once a second). */
  latencyP95(n = 500): number | null {
    const now = Date.now();
    if (now - this.p95Cache.at < 1000) return this.p95Cache.value;
    const k = Math.min(n, this.latCount);
    const xs: number[] = [];
    for (let i = 1; i <= k; i++) xs.push(this.lat[(this.latPos - i + LATENCY_RING) % LATENCY_RING]);
    xs.sort((a, b) => a - b);
    const value = xs.length ? xs[Math.min(xs.length - 1, Math.ceil(xs.length * 0.95) - 1)] : null;
    this.p95Cache = { at: now, value };
    return value;
  }

  // ---- auth and lifecycle -------------------------------------------------

  /** First step: does the server want a token? `GET /queue/stats` says. */
  async start(): Promise<void> {
    try {
      // The counts answer whether a token is needed; the newest event number
      // (read alongside) is where the snapshot's feed will start.
      const [s, lo] = await Promise.all([api<Stats>('GET', '/queue/stats'), this.newestSeq()]);
      this.tokenRequired = getToken() !== null;
      this.applyStats(s);
      this.auth = 'ok';
      this.changed(); // the counts show at once, before the cards arrive
      await this.connect(false, lo);
    } catch (e) {
      if (e instanceof ApiError && e.status === 401) return;
      this.fail(e);
      this.scheduleReconnect(() => this.start());
    }
  }

  async signIn(token: string): Promise<void> {
    this.signinBusy = true;
    this.signinError = '';
    this.changed();
    try {
      const s = await api<Stats>('GET', '/queue/stats', undefined, token);
      setToken(token);
      this.tokenRequired = true;
      this.auth = 'ok';
      this.applyStats(s);
      this.signinBusy = false;
      this.changed();
      await this.connect(false);
    } catch (e) {
      this.signinBusy = false;
      this.auth = 'signin';
      this.signinError =
        e instanceof ApiError && e.status === 401 ? 'that token was refused' : `cannot sign in: ${errorText(e)}`;
      this.changed();
    }
  }

  signOut(): void {
    setToken(null);
    this.toSignin();
  }

  private toSignin(): void {
    this.gen++;
    this.closeSocket();
    clearTimeout(this.reconnectTimer);
    this.auth = 'signin';
    this.tokenRequired = true;
    this.connection = 'reconnecting';
    this.connectionDetail = 'signed out';
    this.changed();
  }

  private fail(e: unknown): void {
    this.lastError = errorText(e);
    if (e instanceof NetworkError || this.failures >= 2) {
      this.connection = 'unreachable';
      this.connectionDetail = 'server unreachable';
    } else {
      this.connection = 'reconnecting';
      this.connectionDetail = 'reconnecting';
    }
    this.changed();
  }

  private scheduleReconnect(f: () => void): void {
    clearTimeout(this.reconnectTimer);
    const delay = Math.min(500 * 2 ** this.failures, 10000);
    this.failures++;
    this.reconnectTimer = setTimeout(f, delay);
  }

  private closeSocket(): void {
    const ws = this.ws;
    this.ws = null;
    if (ws) {
      ws.onopen = ws.onmessage = ws.onclose = ws.onerror = null;
      try {
        ws.close();
      } catch {
        /* already closed */
      }
    }
  }

  /** Snapshot, then the socket from the snapshot's first event number. */
  private async connect(isResync: boolean, lo?: number): Promise<void> {
    const gen = ++this.gen;
    this.closeSocket();
    try {
      await this.loadSnapshot(isResync, gen, lo);
    } catch (e) {
      if (gen !== this.gen) return;
      if (e instanceof ApiError && e.status === 401) return;
      this.fail(e);
      this.scheduleReconnect(() => void this.connect(true));
      return;
    }
    if (gen !== this.gen) return;
    this.openSocket(gen, this.snapLo);
  }

  private openSocket(gen: number, since: number): void {
    const proto = location.protocol === 'https:' ? 'wss:' : 'ws:';
    const token = getToken();
    const url = `${proto}//${location.host}/ws/events${qs({ since, token })}`;
    let ws: WebSocket;
    try {
      ws = new WebSocket(url);
    } catch (e) {
      this.fail(e);
      this.scheduleReconnect(() => void this.connect(true));
      return;
    }
    this.ws = ws;
    ws.onmessage = (m) => {
      if (gen !== this.gen) return;
      let f: { type?: string } & Record<string, unknown>;
      try {
        f = JSON.parse(String(m.data));
      } catch {
        return;
      }
      switch (f.type) {
        case 'hello':
          this.failures = 0;
          this.connection = 'live';
          this.connectionDetail = 'live';
          this.lastError = '';
          this.changed();
          break;
        case 'event':
          this.receive(f as unknown as HiveEvent);
          break;
        case 'lagged':
          // The missed events follow, caught up from the log: nothing to do.
          this.lagged++;
          break;
        case 'resync':
          void this.resync();
          break;
        case 'error':
          this.lastError = `event feed: ${String(f.message)}`;
          this.changed();
          break;
      }
    };
    ws.onclose = () => {
      if (gen !== this.gen) return;
      this.ws = null;
      this.connection = this.failures >= 3 ? 'unreachable' : 'reconnecting';
      this.connectionDetail = this.connection === 'unreachable' ? 'server unreachable' : 'reconnecting';
      this.changed();
      this.scheduleReconnect(() => void this.connect(true));
    };
  }

  /** Reload the snapshot while the socket stays open (events are buffered). */
  private async resync(): Promise<void> {
    if (this.loading) {
      // One reload at a time: another follows the one under way.
      this.resyncAgain = true;
      return;
    }
    const gen = this.gen;
    try {
      await this.loadSnapshot(true, gen);
    } catch (e) {
      if (gen !== this.gen) return;
      this.fail(e);
      // A socket whose state we could not reload is no use: start over.
      this.closeSocket();
      this.scheduleReconnect(() => void this.connect(true));
    }
  }

  private async newestSeq(): Promise<number> {
    const p = await api<EventPage>('GET', '/events?limit=1');
    return p.seq;
  }

  private columnQuery(statuses: TaskStatus[], after?: string): string {
    return `/tasks${qs({
      status: statuses.join(','),
      order: 'desc',
      limit: PAGE,
      after,
      type: this.filters.type || undefined,
      agent: this.filters.agent || undefined,
    })}`;
  }

  private async loadSnapshot(isResync: boolean, gen: number, preLo?: number): Promise<void> {
    this.loading = true;
    this.buffer = [];
    try {
      const lo = preLo ?? (await this.newestSeq());
      const [stats, pages, agents] = await Promise.all([
        preLo !== undefined && this.statsLoaded ? null : api<Stats>('GET', '/queue/stats'),
        Promise.all(COLUMNS.map((c) => api<TaskPage>('GET', this.columnQuery(c.statuses)))),
        api<Agent[]>('GET', '/agents'),
      ]);
      const hi = await this.newestSeq();
      if (gen !== this.gen) return;
      if (stats) this.applyStats(stats);
      this.setAgents(agents);
      const cards = new Map<string, CardEx>();
      const columns = emptyColumns();
      COLUMNS.forEach((c, i) => {
        const page = pages[i];
        for (const t of page.tasks) {
          const card = toCard(t);
          card.col = c.key;
          cards.set(card.id, card);
          columns[c.key].ids.push(card.id);
        }
        columns[c.key].more = page.next !== null;
      });
      this.cards = cards;
      this.columns = columns;
      this.lastApplied.clear();
      this.refetched.clear();
      this.snapLo = lo;
      this.snapHi = hi;
      this.snapshotLoaded = true;
      if (isResync) this.resyncs++;
      if (lo < this.lastSeq) {
        // The numbers went back: the server restarted with a fresh event log.
        this.events = [];
      }
      this.lastSeq = lo;
    } finally {
      if (gen === this.gen) {
        this.loading = false;
        const buffered = this.buffer;
        this.buffer = [];
        for (const e of buffered) this.handle(e);
        this.changed();
        if (this.resyncAgain) {
          this.resyncAgain = false;
          queueMicrotask(() => void this.resync());
        }
      }
    }
  }

  // ---- stats --------------------------------------------------------------

  private applyStats(s: Stats): void {
    const c = emptyCounts();
    for (const k of TASK_STATUSES) c[k] = s.stats.counts[k] ?? 0;
    this.counts = c;
    this.total = s.total;
    this.statsLoaded = true;
  }

  /** Re-read the counts: at most one request per STATS_MIN_GAP_MS, the last one guaranteed. */
  statsSoon(): void {
    if (this.statsTimer !== undefined) {
      this.statsTrailing = true;
      return;
    }
    const run = () => {
      const gen = this.gen;
      api<Stats>('GET', '/queue/stats')
        .then((s) => {
          if (gen !== this.gen) return;
          this.applyStats(s);
          this.changed();
        })
        .catch((e) => {
          this.lastError = `queue stats: ${errorText(e)}`;
          this.changed();
        });
      this.statsTimer = setTimeout(() => {
        this.statsTimer = undefined;
        if (this.statsTrailing) {
          this.statsTrailing = false;
          this.statsSoon();
        }
      }, STATS_MIN_GAP_MS);
    };
    run();
  }

  columnCount(col: Column): number {
    const def = COLUMNS.find((c) => c.key === col)!;
    return def.statuses.reduce((n, s) => n + this.counts[s], 0);
  }

  // ---- events -------------------------------------------------------------

  private receive(e: HiveEvent): void {
    if (this.loading) {
      this.buffer.push(e);
      if (this.buffer.length > 20000) this.buffer.splice(0, this.buffer.length - 20000);
      return;
    }
    this.handle(e);
  }

  private handle(e: HiveEvent): void {
    if (e.seq > this.lastSeq) this.lastSeq = e.seq;
    if (this.events.length === 0 || this.events[0].seq < e.seq) {
      this.events.unshift(e);
      if (this.events.length > EVENTS_KEPT) this.events.length = EVENTS_KEPT;
    }
    for (const f of this.eventListeners) {
      try {
        f(e);
      } catch {
        /* a view's handler must not break the feed */
      }
    }
    const kind = e.kind;
    if (kind === 'events.lost') {
      void this.resync();
      return;
    }
    if (kind.startsWith('task.')) {
      if (e.seq <= this.snapLo) return;
      if (e.seq <= this.snapHi) {
        if (!this.refetched.has(e.subject)) {
          this.refetched.add(e.subject);
          if (this.refetched.size > REFETCH_CAP) {
            void this.resync();
            return;
          }
          this.refetch(e.subject);
        }
      } else {
        this.applyTask(e);
      }
      this.statsSoon();
    } else if (kind.startsWith('agent.')) {
      this.applyAgent(e);
    } else if (kind === 'queue.reaped' || kind === 'queue.worker_expired' || kind === 'queue.purged') {
      // Promotions and expired leases move tasks without a task event: re-read
      // the loaded cards they may concern.
      const d = (e.data ?? {}) as Record<string, unknown>;
      const ids: string[] = [];
      if (kind === 'queue.purged') ids.push(...this.columns.failed.ids);
      if (kind === 'queue.reaped' && Number(d.promoted ?? 0) > 0) ids.push(...this.columns.waiting.ids);
      if (kind === 'queue.worker_expired' || Number(d.expired ?? 0) > 0 || Number(d.timed_out ?? 0) > 0) {
        ids.push(...this.columns.running.ids);
      }
      if (ids.length > REFETCH_CAP) void this.resync();
      else for (const id of ids) this.refetch(id);
      this.statsSoon();
    }
    this.changed();
  }

  private agentNameOf(worker: string | null): string | null {
    if (!worker || !worker.startsWith('agent-')) return null;
    const id = worker.slice(6);
    return this.agents.find((a) => a.id === id)?.name ?? null;
  }

  private applyTask(e: HiveEvent): void {
    const id = e.subject;
    const d = (e.data ?? {}) as Record<string, unknown>;
    let card = this.cards.get(id);
    let status: TaskStatus | null = null;
    switch (e.kind) {
      case 'task.submitted':
        status = (d.status as TaskStatus) ?? 'pending';
        if (!card) {
          card = {
            id,
            task_type: String(d.type ?? ''),
            status,
            priority: Number(d.priority ?? 5),
            capabilities: Array.isArray(d.capabilities) ? (d.capabilities as string[]) : [],
            created_at: e.at,
            worker: null,
            agent_name: null,
            col: null,
            deps: Array.isArray(d.depends_on) ? (d.depends_on as string[]) : [],
          };
        }
        break;
      case 'task.claimed':
        status = 'assigned';
        if (card) {
          card.worker = typeof d.worker === 'string' ? d.worker : card.worker;
          card.agent_name = this.agentNameOf(card.worker) ?? card.agent_name;
        }
        break;
      case 'task.completed':
        status = 'completed';
        break;
      case 'task.failed':
        status = d.retry_at ? 'delayed' : 'failed';
        break;
      case 'task.dead_lettered':
        status = 'dead_lettered';
        break;
      case 'task.cancelled':
        status = 'cancelled';
        break;
      case 'task.retried':
      case 'task.released':
        status = 'pending';
        break;
    }
    // Only a read already under way can be overtaken by this event.
    if (this.inFlight.has(id)) this.lastApplied.set(id, e.seq);
    if (status === null || !card) {
      this.refetch(id);
      return;
    }
    this.applied++;
    const at = Date.parse(e.at);
    if (!Number.isNaN(at) && this.pendingAts.length < LATENCY_RING) this.pendingAts.push(at);
    this.place(card, status);
    if (status === 'completed' || status === 'failed' || status === 'dead_lettered' || status === 'cancelled') {
      // Dependants leave `waiting` without an event of their own.
      for (const wid of this.columns.waiting.ids) {
        const w = this.cards.get(wid);
        if (w && w.status === 'waiting' && w.deps.includes(id)) this.refetch(wid);
      }
    }
  }

  private admissible(card: CardEx, col: Column): boolean {
    if (this.filters.type && card.task_type !== this.filters.type) return false;
    if (this.filters.agent && card.worker !== `agent-${this.filters.agent}`) return false;
    const st = this.columns[col];
    if (!st.more || st.ids.length === 0) return true;
    return card.id > st.ids[st.ids.length - 1];
  }

  /** Put a card in the column of `status` (or drop it when outside the loaded window). */
  private place(card: CardEx, status: TaskStatus): void {
    card.status = status;
    const col = columnOf(status);
    if (card.col && card.col !== col) {
      const old = this.columns[card.col].ids;
      const i = old.indexOf(card.id);
      if (i >= 0) old.splice(i, 1);
      card.col = null;
    }
    if (card.col === col) {
      this.cards.set(card.id, card);
      return;
    }
    if (!this.admissible(card, col)) {
      this.cards.delete(card.id);
      return;
    }
    const st = this.columns[col];
    const ids = st.ids;
    // Newest first: ids are UUIDv7, so string order is submit order.
    let lo = 0;
    let hi = ids.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (ids[mid] > card.id) lo = mid + 1;
      else hi = mid;
    }
    ids.splice(lo, 0, card.id);
    card.col = col;
    this.cards.set(card.id, card);
    while (ids.length > st.cap) {
      const dropped = ids.pop()!;
      this.cards.delete(dropped);
      st.more = true;
    }
  }

  private removeCard(id: string): void {
    const card = this.cards.get(id);
    if (!card) return;
    if (card.col) {
      const ids = this.columns[card.col].ids;
      const i = ids.indexOf(id);
      if (i >= 0) ids.splice(i, 1);
    }
    this.cards.delete(id);
  }

  /** Re-read one task by id (a few at a time) and put it where it now is. */
  refetch(id: string): void {
    if (this.inFlight.has(id) || this.fetchQueue.includes(id)) return;
    this.fetchQueue.push(id);
    this.pump();
  }

  private pump(): void {
    while (this.fetching < 6 && this.fetchQueue.length > 0) {
      const id = this.fetchQueue.shift()!;
      this.inFlight.add(id);
      this.fetching++;
      const gen = this.gen;
      const seqAtIssue = this.lastSeq;
      api<Task>('GET', `/tasks/${encodeURIComponent(id)}`)
        .then((t) => {
          if (gen !== this.gen) return;
          const last = this.lastApplied.get(id);
          if (last !== undefined && last > seqAtIssue) return; // an event overtook this read
          const existing = this.cards.get(id);
          const card = toCard(t);
          if (existing) {
            card.col = existing.col;
          }
          this.place(card, t.status);
          this.changed();
        })
        .catch((e) => {
          if (e instanceof ApiError && e.status === 404) {
            this.removeCard(id);
            this.changed();
          }
        })
        .finally(() => {
          this.inFlight.delete(id);
          this.lastApplied.delete(id);
          this.fetching--;
          this.pump();
        });
    }
  }

  // ---- agents -------------------------------------------------------------

  setAgents(a: Agent[]): void {
    this.agents = a;
    this.agentsLoaded = true;
    this.agentsError = '';
    let named = false;
    for (const c of this.cards.values()) {
      if (c.worker && !c.agent_name) {
        const n = this.agentNameOf(c.worker);
        if (n) {
          c.agent_name = n;
          named = true;
        }
      }
    }
    if (named) this.changed();
  }

  async loadAgents(): Promise<void> {
    try {
      this.setAgents(await api<Agent[]>('GET', '/agents'));
    } catch (e) {
      this.agentsError = errorText(e);
    }
    this.changed();
  }

  private applyAgent(e: HiveEvent): void {
    const d = (e.data ?? {}) as Record<string, unknown>;
    const i = this.agents.findIndex((a) => a.id === e.subject);
    if (e.kind === 'agent.registered') {
      if (i < 0) {
        // Known at once from the event; the rest of the record is read below.
        this.agents = [
          ...this.agents,
          {
            id: e.subject,
            name: String(d.name ?? ''),
            kind: String(d.kind ?? ''),
            capabilities: Array.isArray(d.capabilities) ? (d.capabilities as string[]) : [],
            status: (d.status as AgentStatus) ?? 'healthy',
            load: 0,
            metadata: {},
            created_at: e.at,
            last_heartbeat: e.at,
          },
        ];
      }
      api<Agent>('GET', `/agents/${encodeURIComponent(e.subject)}`)
        .then((a) => {
          const j = this.agents.findIndex((x) => x.id === a.id);
          this.agents = j < 0 ? [...this.agents, a] : this.agents.map((x, k) => (k === j ? a : x));
          this.changed();
        })
        .catch(() => {});
    } else if (e.kind === 'agent.status' && i >= 0) {
      const status = d.status as string;
      const mapped: AgentStatus =
        status === 'terminated' ? 'stopped' : (['healthy', 'unhealthy', 'dead', 'stopped'].includes(status) ? (status as AgentStatus) : this.agents[i].status);
      this.agents = this.agents.map((a, k) => (k === i ? { ...a, status: mapped } : a));
    } else if (i < 0) {
      void this.loadAgents();
    }
  }

  // ---- board paging and filters -------------------------------------------

  async loadMore(col: Column): Promise<void> {
    const st = this.columns[col];
    if (!st.more || st.loadingMore || st.ids.length >= COLUMN_MAX) return;
    st.loadingMore = true;
    st.error = '';
    this.changed();
    const gen = this.gen;
    const def = COLUMNS.find((c) => c.key === col)!;
    const last = st.ids[st.ids.length - 1];
    try {
      const page = await api<TaskPage>('GET', this.columnQuery(def.statuses, last));
      if (gen !== this.gen || this.columns[col] !== st) return;
      st.cap = Math.min(COLUMN_MAX, Math.max(st.cap, st.ids.length + page.tasks.length));
      for (const t of page.tasks) {
        if (this.cards.has(t.id)) continue;
        const card = toCard(t);
        if (columnOf(t.status) !== col) continue;
        card.col = col;
        this.cards.set(card.id, card);
        st.ids.push(card.id);
      }
      st.more = page.next !== null;
    } catch (e) {
      st.error = errorText(e);
    } finally {
      st.loadingMore = false;
      this.changed();
    }
  }

  /** Type and agent filters go to the server: reload the columns with them. */
  async setServerFilters(type: string, agent: string): Promise<void> {
    this.filters = { ...this.filters, type, agent };
    this.changed();
    if (this.auth !== 'ok') return;
    await this.resyncQuiet();
  }

  private async resyncQuiet(): Promise<void> {
    if (this.loading) {
      this.resyncAgain = true;
      return;
    }
    const gen = this.gen;
    try {
      await this.loadSnapshot(false, gen);
    } catch (e) {
      this.lastError = errorText(e);
      this.changed();
    }
  }

  setLocalFilters(capability: string, priority: string): void {
    this.filters = { ...this.filters, capability, priority };
    this.changed();
  }

  /** The loaded cards of a column that pass the capability and priority filters. */
  visibleIds(col: Column): string[] {
    const ids = this.columns[col].ids;
    const cap = this.filters.capability.trim();
    const pr = this.filters.priority;
    if (!cap && !pr) return ids;
    return ids.filter((id) => {
      const c = this.cards.get(id);
      if (!c) return false;
      if (cap && !c.capabilities.includes(cap)) return false;
      if (pr && String(c.priority) !== pr) return false;
      return true;
    });
  }
}

export const store = new Store();

declare global {
  interface Window {
    __hive: { latencies(): number[]; readonly resyncs: number; readonly applied: number; readonly connection: string };
  }
}

window.__hive = {
  latencies: () => store.latencies(),
  get resyncs() {
    return store.resyncs;
  },
  get applied() {
    return store.applied;
  },
  get connection() {
    return store.connection;
  },
};
