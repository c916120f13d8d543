// The browser tests' shared harness: a real `hive serve` on a free port with
// a throwaway database, REST helpers that send the token, a remote agent over
// the HTTP API, Chromium through playwright-core, and the page-side helpers
// that look through open shadow roots (the dashboard is Lit, so nearly all of
// it lives in shadow DOM).
//
// Environment:
//   HIVE_BIN        the `hive` binary (default: <repo>/target/debug/hive)
//   HIVE_UI_DIR     passed on to the server when set (serve the UI from a
//                   directory instead of the copy embedded in the binary)
//   CHROMIUM        the browser (default: /usr/bin/chromium)

import { spawn } from 'node:child_process';
import { once } from 'node:events';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { chromium } from 'playwright-core';

export const WEB = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
export const REPO = path.resolve(WEB, '..', '..');
export const HIVE_BIN = process.env.HIVE_BIN || path.join(REPO, 'target', 'debug', 'hive');
export const CHROMIUM = process.env.CHROMIUM || '/usr/bin/chromium';
export const AXE = path.join(WEB, 'node_modules', 'axe-core', 'axe.min.js');

/** Board columns and the task statuses each shows (the contract). */
export const COLUMNS = {
  pending: ['pending'],
  waiting: ['waiting', 'delayed'],
  running: ['assigned', 'in_progress'],
  completed: ['completed'],
  failed: ['failed', 'dead_lettered'],
  cancelled: ['cancelled'],
};

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** A port nobody listens on right now (bind to 0, read it, close). */
export async function freePort() {
  const srv = net.createServer();
  srv.listen(0, '127.0.0.1');
  await once(srv, 'listening');
  const { port } = srv.address();
  await new Promise((r) => srv.close(r));
  return port;
}

/** Polls `fn` until it answers truthy; throws with `what` (and the last value or error) after `ms`. */
export async function waitFor(fn, { timeout = 10_000, interval = 100, what = 'condition' } = {}) {
  const end = Date.now() + timeout;
  let last;
  let lastErr;
  for (;;) {
    try {
      last = await fn();
      if (last) return last;
    } catch (e) {
      lastErr = e;
    }
    if (Date.now() > end) {
      const detail = lastErr ? ` (last error: ${lastErr.message})` : ` (last value: ${JSON.stringify(last)})`;
      throw new Error(`timed out after ${timeout} ms waiting for ${what}${detail}`);
    }
    await sleep(interval);
  }
}

/** Runs `fn` over `items`, at most `n` at a time; answers the results in order. */
export async function pool(items, n, fn) {
  const out = new Array(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const i = next++;
      out[i] = await fn(items[i], i);
    }
  };
  await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
  return out;
}

export function percentile(values, p) {
  if (values.length === 0) return NaN;
  const s = [...values].sort((a, b) => a - b);
  const i = Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1));
  return s[i];
}

const servers = new Set();
process.on('exit', () => {
  for (const s of servers) if (s.child && s.child.exitCode === null) s.child.kill('SIGKILL');
});

/**
 * A `hive serve` of its own: a temp dir with its db, a free port (or `port`),
 * optional `token`, `heartbeatSecs` / `unhealthySecs` / `deadSecs`, `uiDir`
 * (HIVE_UI_DIR; default: the caller's HIVE_UI_DIR, else the embedded copy),
 * `args` (more flags). `stop()`, `start()` and `restart()` keep the port and db.
 */
export class Server {
  constructor(opts = {}) {
    this.opts = opts;
    this.token = opts.token ?? null;
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hive-web-test-'));
    this.db = path.join(this.dir, 'hive.db');
    this.log = path.join(this.dir, 'serve.log');
    this.port = opts.port ?? null;
    this.child = null;
    this.uiDir = opts.uiDir ?? process.env.HIVE_UI_DIR ?? null;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  async start() {
    if (!fs.existsSync(HIVE_BIN)) throw new Error(`no hive binary at ${HIVE_BIN} (build it, or set HIVE_BIN)`);
    if (this.port == null) this.port = await freePort();
    const env = {};
    for (const [k, v] of Object.entries(process.env)) if (!k.startsWith('HIVE_')) env[k] = v;
    if (this.token) env.HIVE_TOKEN = this.token;
    if (this.uiDir) env.HIVE_UI_DIR = this.uiDir;
    const o = this.opts;
    const args = ['serve', '--addr', `127.0.0.1:${this.port}`, '--db', this.db];
    if (o.heartbeatSecs != null) args.push('--heartbeat-secs', String(o.heartbeatSecs));
    if (o.unhealthySecs != null) args.push('--unhealthy-after-secs', String(o.unhealthySecs));
    if (o.deadSecs != null) args.push('--dead-after-secs', String(o.deadSecs));
    if (o.args) args.push(...o.args);
    const fd = fs.openSync(this.log, 'a');
    this.child = spawn(HIVE_BIN, args, { cwd: this.dir, env, stdio: ['ignore', fd, fd] });
    fs.closeSync(fd);
    servers.add(this);
    const child = this.child;
    try {
      await waitFor(
        async () => {
          if (child.exitCode !== null) throw new Error(`hive serve exited ${child.exitCode}`);
          const r = await fetch(`${this.url}/health`);
          return r.ok;
        },
        { timeout: 30_000, interval: 50, what: `hive serve on ${this.url}/health` },
      );
    } catch (e) {
      throw new Error(`${e.message}\n--- ${this.log} ---\n${this.tail()}`);
    }
    return this;
  }

  tail(lines = 40) {
    try {
      return fs.readFileSync(this.log, 'utf8').split('\n').slice(-lines).join('\n');
    } catch {
      return '';
    }
  }

  /** SIGTERM, then SIGKILL after `graceMs`; resolves when the process is gone. */
  async stop(graceMs = 12_000) {
    const child = this.child;
    if (!child) return;
    this.child = null;
    if (child.exitCode === null && child.signalCode === null) {
      const exited = once(child, 'exit');
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), graceMs);
      await exited;
      clearTimeout(t);
    }
    servers.delete(this);
  }

  async restart() {
    await this.stop();
    await this.start();
  }

  /** Stops it and deletes its directory. */
  async dispose() {
    await this.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  headers(extra = {}) {
    const h = { ...extra };
    if (this.token) h.authorization = `Bearer ${this.token}`;
    return h;
  }

  /** A REST call: answers `{status, body}`; `expect` (a status or list) throws otherwise. */
  async call(method, route, body, { expect, token } = {}) {
    const headers = this.headers(body === undefined ? {} : { 'content-type': 'application/json' });
    if (token !== undefined) {
      if (token) headers.authorization = `Bearer ${token}`;
      else delete headers.authorization;
    }
    const r = await fetch(this.url + route, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await r.text();
    let parsed = text;
    try {
      parsed = text ? JSON.parse(text) : null;
    } catch {
      /* not JSON: keep the text */
    }
    if (expect !== undefined) {
      const ok = Array.isArray(expect) ? expect.includes(r.status) : r.status === expect;
      if (!ok) throw new Error(`${method} ${route} answered ${r.status}: ${text.slice(0, 500)}`);
    }
    return { status: r.status, body: parsed };
  }

  async get(route) {
    const r = await this.call('GET', route, undefined, { expect: 200 });
    return r.body;
  }

  async post(route, body = {}) {
    const r = await this.call('POST', route, body, { expect: [200, 201] });
    return r.body;
  }

  /** POST /tasks: the task. */
  async submit(spec = {}) {
    const body = await this.post('/tasks', { type: 'web-test', payload: {}, ...spec });
    return body.task;
  }

  async stats() {
    return this.get('/queue/stats');
  }

  /** The server's count for a board column (sum over its statuses). */
  static columnCount(stats, column) {
    return COLUMNS[column].reduce((n, s) => n + (stats.stats.counts[s] ?? 0), 0);
  }

  /** The newest-first ids of a column's tasks, up to `limit` (≤ 1000). */
  async columnIds(column, limit = 100) {
    const q = `/tasks?status=${COLUMNS[column].join(',')}&order=desc&limit=${Math.max(1, Math.min(1000, limit))}`;
    const page = await this.get(q);
    return page.tasks.map((t) => t.id);
  }

  /** The newest event number (GET /events). */
  async seq() {
    const page = await this.get('/events?limit=1');
    return page.seq;
  }

  /** Registers a remote agent over HTTP. */
  async agent(name, capabilities = ['web-test']) {
    const rec = await this.post('/agents', { name, capabilities });
    return new RemoteAgent(this, rec);
  }
}

/** An agent running "elsewhere": it registers, heartbeats, claims and completes over HTTP. */
export class RemoteAgent {
  constructor(server, record) {
    this.server = server;
    this.record = record;
    this.id = record.id;
    this.name = record.name;
    this.beat = null;
  }

  heartbeat(load = 0) {
    return this.server.post(`/agents/${this.id}/heartbeat`, { load });
  }

  /** Heartbeats every `ms` until `stopBeating()`. */
  keepBeating(ms = 1000) {
    this.stopBeating();
    this.beat = setInterval(() => this.heartbeat().catch(() => {}), ms);
    this.beat.unref(); // never what keeps a test process alive
    return this;
  }

  stopBeating() {
    if (this.beat) clearInterval(this.beat);
    this.beat = null;
  }

  /** The leases of one claim (`max` 1–100, `wait_ms`, `lease_ms`, `task_types`). */
  async claim({ max = 1, wait_ms = 0, lease_ms = 600_000, task_types } = {}) {
    const body = { max, wait_ms, lease_ms };
    if (task_types) body.task_types = task_types;
    const r = await this.server.post(`/agents/${this.id}/claim`, body);
    return r.leases;
  }

  /** Claims until `n` leases are held or nothing is left (100 at a time). */
  async claimMany(n, opts = {}) {
    const out = [];
    while (out.length < n) {
      const leases = await this.claim({ ...opts, max: Math.min(100, n - out.length) });
      if (leases.length === 0) break;
      out.push(...leases);
    }
    return out;
  }

  complete(lease, result = { ok: true }) {
    return this.server.post(`/tasks/${lease.task.id}/complete`, { token: lease.token, result });
  }

  fail(lease, error = 'failed by the test', permanent = true) {
    return this.server.post(`/tasks/${lease.task.id}/fail`, { token: lease.token, error, permanent });
  }
}

// ---------------------------------------------------------------- browser

export async function launch() {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`no browser at ${CHROMIUM} (scripts/browser-tests installs Debian's chromium)`);
  const args = [];
  if (typeof process.getuid === 'function' && process.getuid() === 0) args.push('--no-sandbox');
  return chromium.launch({ executablePath: CHROMIUM, args });
}

/**
 * Page-side helpers, installed before any page script runs. `all(sel, root)`
 * finds elements matching `sel` below `root` (a document, element or shadow
 * root), looking inside every open shadow root; `count(root)` counts
 * elements the same way.
 */
const PAGE_HELPERS = `(() => {
  const kids = (root) => root.querySelectorAll('*');
  const all = (sel, root = document) => {
    const out = [];
    const walk = (r) => {
      if (r.shadowRoot) walk(r.shadowRoot);
      for (const e of r.querySelectorAll(sel)) out.push(e);
      for (const e of kids(r)) if (e.shadowRoot) walk(e.shadowRoot);
    };
    walk(root);
    return [...new Set(out)];
  };
  const count = (root = document) => {
    let n = 0;
    const walk = (r) => {
      for (const e of kids(r)) {
        n++;
        if (e.shadowRoot) walk(e.shadowRoot);
      }
    };
    walk(root);
    return n;
  };
  const tid = (id, root = document) => all('[data-testid="' + id + '"]', root);
  const digits = (el) => {
    if (!el) return null;
    const d = (el.textContent || '').replace(/\\D/g, '');
    return d === '' ? null : Number(d);
  };
  const visible = (el) => {
    if (!el || !el.isConnected) return false;
    const r = el.getBoundingClientRect();
    if (r.width === 0 && r.height === 0) return false;
    const s = getComputedStyle(el);
    return s.visibility !== 'hidden' && s.display !== 'none';
  };
  // Each board column: its count (digits of column-count) and its cards in
  // visual order (top to bottom), with their statuses.
  const board = () => {
    const out = {};
    for (const col of tid('column')) {
      const status = col.getAttribute('data-status');
      const cards = tid('card', col)
        .map((c, i) => ({ c, i, top: c.getBoundingClientRect().top }))
        .sort((a, b) => a.top - b.top || a.i - b.i)
        .map(({ c }) => c);
      out[status] = {
        count: digits(tid('column-count', col)[0]),
        ids: cards.map((c) => c.getAttribute('data-task-id')),
        statuses: cards.map((c) => c.getAttribute('data-status')),
      };
    }
    return out;
  };
  globalThis.__test = { all, count, tid, digits, visible, board };
})();`;

/** A fresh context (own storage and service worker) and page, with the helpers and error logging. */
export async function newPage(browser, { viewport = { width: 1400, height: 900 }, label = '' } = {}) {
  const context = await browser.newContext({ viewport });
  await context.addInitScript(PAGE_HELPERS);
  const page = await context.newPage();
  page.on('pageerror', (e) => console.error(`[page${label ? ' ' + label : ''}] error: ${e.message}`));
  page.on('console', (m) => {
    if (m.type() === 'error') console.error(`[page${label ? ' ' + label : ''}] console.error: ${m.text()}`);
  });
  return page;
}

/** Opens the dashboard at `hash` (e.g. '#/board'); signs in when `token` is given. */
export async function openDashboard(page, server, hash = '#/board', { token } = {}) {
  await page.goto(`${server.url}/ui/${hash}`);
  if (token) await signIn(page, token);
}

export async function signIn(page, token) {
  await page.locator('[data-testid="signin-token"]').fill(token, { timeout: 10_000 });
  await page.locator('[data-testid="signin-submit"]').click();
}

/** Waits for the connection indicator's data-state to be one of `states`. */
export async function waitConnection(page, states, timeout = 15_000) {
  const want = Array.isArray(states) ? states : [states];
  const sel = want.map((s) => `[data-testid="connection"][data-state="${s}"]`).join(', ');
  await page.locator(sel).first().waitFor({ state: 'attached', timeout });
}

export async function connectionState(page) {
  return page.evaluate(() => __test.tid('connection')[0]?.getAttribute('data-state') ?? null);
}

/** The board as the page shows it (see PAGE_HELPERS.board). */
export function readBoard(page) {
  return page.evaluate(() => __test.board());
}

/** window.__hive, read. */
export function hive(page) {
  return page.evaluate(() => {
    const h = window.__hive;
    if (!h) return null;
    return { resyncs: h.resyncs, applied: h.applied, connection: h.connection, latencies: h.latencies().length };
  });
}

/** Elements in the page, open shadow roots included. */
export function domNodes(page) {
  return page.evaluate(() => __test.count(document));
}

/**
 * Compares the board with the server: each column's count with GET
 * /queue/stats, and its rendered cards (top to bottom) with the first ids of
 * GET /tasks?status=…&order=desc. Answers a list of differences (empty: equal).
 */
export async function boardDiff(page, server) {
  const [b, stats] = await Promise.all([readBoard(page), server.stats()]);
  const diffs = [];
  for (const col of Object.keys(COLUMNS)) {
    const shown = b[col];
    const want = Server.columnCount(stats, col);
    if (!shown) {
      diffs.push(`${col}: no column on the page`);
      continue;
    }
    if (shown.count !== want) diffs.push(`${col}: count ${shown.count} on the page, ${want} on the server`);
    const ids = shown.ids;
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
    if (dup.length) diffs.push(`${col}: duplicated cards ${dup.slice(0, 5).join(', ')}`);
    if (want > 0 && ids.length === 0) diffs.push(`${col}: no card rendered, ${want} on the server`);
    if (ids.length > 0) {
      const serverIds = await server.columnIds(col, ids.length);
      const n = Math.min(ids.length, serverIds.length);
      if (ids.length > serverIds.length) diffs.push(`${col}: ${ids.length} cards rendered, the server has ${serverIds.length}`);
      for (let i = 0; i < n; i++) {
        if (ids[i] !== serverIds[i]) {
          diffs.push(`${col}: card #${i} is ${ids[i]}, the server's newest-first #${i} is ${serverIds[i]}`);
          break;
        }
      }
      const wrong = shown.statuses.filter((s) => !COLUMNS[col].includes(s));
      if (wrong.length) diffs.push(`${col}: cards with status ${[...new Set(wrong)].join(',')}`);
    }
  }
  return diffs;
}

/** Waits until boardDiff is empty; throws with the last differences. */
export async function waitBoardEqual(page, server, timeout = 15_000) {
  let diffs = [];
  try {
    await waitFor(
      async () => {
        diffs = await boardDiff(page, server);
        return diffs.length === 0;
      },
      { timeout, interval: 250, what: 'the board to equal the server' },
    );
  } catch (e) {
    throw new Error(`${e.message}:\n  ${diffs.join('\n  ')}`);
  }
}

/** Injects axe-core and runs wcag2a + wcag2aa; answers serious and critical violations. */
export async function axeSerious(page) {
  const loaded = await page.evaluate(() => typeof window.axe !== 'undefined');
  if (!loaded) await page.addScriptTag({ path: AXE });
  const violations = await page.evaluate(async () => {
    const r = await window.axe.run(document, {
      runOnly: { type: 'tag', values: ['wcag2a', 'wcag2aa'] },
      resultTypes: ['violations'],
    });
    return r.violations.map((v) => ({
      id: v.id,
      impact: v.impact,
      help: v.help,
      nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, summary: n.failureSummary })),
    }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
}
