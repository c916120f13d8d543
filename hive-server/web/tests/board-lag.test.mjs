// A page that really falls behind the event feed. The browser reads its
// socket even while the page's JS is paused (board-burst), so the page
// reaches the server here through a small TCP proxy that can stop reading
// from the server: while it is paused the server's socket buffers fill, the
// server sees a slow reader and the page's place in the feed stops. The
// server keeps only the newest 500 events (`--events-retained 500`), so a
// burst of ≥ 5,000 events made meanwhile (REST calls straight to the server)
// (submits, claims and completions of tasks mostly submitted before the page
// opened, so the pause stays well inside the server's 20 s ping judgement)
// puts the page more than the log holds behind: once the proxy reads again
// the page gets `resync`, reloads its snapshot (`__hive.resyncs` goes up) and
// its board equals GET /tasks, with no card twice.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { once } from 'node:events';
import {
  Server, hive, launch, newPage, pool, waitBoardEqual, waitConnection, waitFor,
} from './harness.mjs';

/**
 * A TCP proxy on a free loopback port to `target` (a port on 127.0.0.1).
 * `pause()` stops reading from the server side of every connection, open or
 * opened later; `resume()` reads again. Client → server always flows.
 */
class PausableProxy {
  constructor(target) {
    this.target = target;
    this.paused = false;
    this.conns = new Set();
    this.server = net.createServer((client) => this.accept(client));
  }

  async start() {
    this.server.listen(0, '127.0.0.1');
    await once(this.server, 'listening');
    this.port = this.server.address().port;
    return this;
  }

  get url() {
    return `http://127.0.0.1:${this.port}`;
  }

  accept(client) {
    const upstream = net.connect(this.target, '127.0.0.1');
    const conn = { client, upstream, awaitingDrain: false };
    this.conns.add(conn);
    const end = () => {
      this.conns.delete(conn);
      client.destroy();
      upstream.destroy();
    };
    client.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    client.pipe(upstream);
    // Server → client by hand (not pipe(), whose drain handling would
    // resume a stream this proxy paused).
    upstream.on('data', (chunk) => {
      if (!client.write(chunk)) {
        conn.awaitingDrain = true;
        upstream.pause();
      }
    });
    upstream.on('end', () => client.end());
    client.on('drain', () => {
      conn.awaitingDrain = false;
      if (!this.paused) upstream.resume();
    });
    if (this.paused) upstream.pause();
  }

  pause() {
    this.paused = true;
    for (const c of this.conns) c.upstream.pause();
  }

  resume() {
    this.paused = false;
    for (const c of this.conns) if (!c.awaitingDrain) c.upstream.resume();
  }

  async close() {
    this.paused = false;
    for (const c of this.conns) {
      c.client.destroy();
      c.upstream.destroy();
    }
    this.conns.clear();
    await new Promise((r) => this.server.close(() => r()));
  }
}

let server;
let proxy;
let browser;
before(async () => {
  server = await new Server({ args: ['--events-retained', '500'] }).start();
  proxy = await new PausableProxy(server.port).start();
  browser = await launch();
});
after(async () => {
  await browser?.close().catch(() => {});
  await proxy?.close().catch(() => {});
  await server?.dispose();
});

test('A page that stops reading during a burst of ≥ 5,000 events (the log keeps 500) gets resync, reloads (__hive.resyncs up) and its board equals GET /tasks with no card twice', async () => {
  const page = await newPage(browser, { label: 'board-lag' });
  const t = { start: Date.now() };
  const ms = (at) => `${((at - t.start) / 1000).toFixed(1)} s`;
  // Every lagged/resync frame and socket close the page sees, with when.
  const seen = [];
  const frames = { lagged: 0, resync: 0, sockets: 0, closes: 0 };
  page.on('websocket', (ws) => {
    const n = ++frames.sockets;
    seen.push({ at: Date.now(), what: `socket #${n} opened (${ws.url().replace(/^ws:\/\/[^/]+/, '')})` });
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string' || payload.length > 300) return;
      const type = /"type"\s*:\s*"(lagged|resync)"/.exec(payload)?.[1];
      if (!type) return;
      frames[type]++;
      seen.push({ at: Date.now(), what: `socket #${n}: ${payload}` });
    });
    ws.on('close', () => {
      frames.closes++;
      seen.push({ at: Date.now(), what: `socket #${n} closed` });
    });
  });
  const agent = await server.agent('lag-agent');
  agent.keepBeating(5000);
  try {
    // Tasks to claim and complete during the burst, submitted beforehand so
    // that the burst itself is quick: the proxy must read again well within
    // the server's 20 s ping interval, or the server closes the socket for
    // not reading (1008) before it is told to resync. The page opens after
    // them: a socket that has carried thousands of events gets larger kernel
    // buffers (receive autotuning), which would hold more of the burst.
    t.submitting = Date.now();
    const pre = await pool(Array.from({ length: 5000 }, (_, i) => i), 12, (i) =>
      server.submit({ type: `lag-${i % 5}`, priority: 1 + (i % 9), payload: { i } }));
    t.presubmitted = Date.now();
    // The dashboard through the proxy: its REST calls and its socket
    // (location.host) both go that way.
    await page.goto(`${proxy.url}/ui/#/board`);
    await waitConnection(page, 'live', 20_000);
    await waitBoardEqual(page, server, 20_000);
    const h0 = await hive(page);
    const seq0 = await server.seq();

    proxy.pause();
    t.paused = Date.now();
    seen.push({ at: t.paused, what: 'proxy paused' });
    // 300 submits + 5,300 claims + 700 completes = 6,300 events, straight
    // to the server. (The proxy's and the server's socket buffers hold some
    // 900 of them; the page must end up more than 4,096 behind, past the
    // server's live buffer, to be told anything.)
    const tasks = await pool(Array.from({ length: 300 }, (_, i) => i), 12, (i) =>
      server.submit({ type: `lag-${i % 5}`, priority: 1 + (i % 9), payload: { burst: i } }));
    assert.equal(pre.length + tasks.length, 5300);
    const leases = await agent.claimMany(5300, { lease_ms: 3_600_000 });
    assert.equal(leases.length, 5300);
    await pool(leases.slice(0, 700), 12, (l) => agent.complete(l, { ok: true }));
    const seq1 = await server.seq();
    t.burst = Date.now();
    const during = { ...frames };
    proxy.resume();
    t.resumed = Date.now();
    seen.push({ at: t.resumed, what: `proxy resumed after ${seq1 - seq0} events` });
    console.log(`# 5,000 tasks submitted before the page opened, in ${((t.presubmitted - t.submitting) / 1000).toFixed(1)} s`);
    console.log(`# burst: ${seq1 - seq0} events in ${((t.burst - t.paused) / 1000).toFixed(1)} s with the proxy paused; frames the page saw meanwhile: ${during.lagged} lagged, ${during.resync} resync`);
    assert.ok(seq1 - seq0 >= 5000, `the burst made ${seq1 - seq0} events, want ≥ 5,000`);

    await waitFor(() => frames.resync >= 1, { timeout: 30_000, what: 'a resync frame on the page' }).catch((e) => {
      throw new Error(`${e.message}; seen: ${seen.map((s) => `${ms(s.at)} ${s.what}`).join('; ')}`);
    });
    t.resync = Date.now();
    await waitBoardEqual(page, server, 30_000);
    t.equal = Date.now();
    const h1 = await hive(page);
    const ids = await page.evaluate(() => __test.tid('card').map((c) => c.getAttribute('data-task-id')));
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);

    for (const s of seen) console.log(`#   ${ms(s.at)} ${s.what}`);
    console.log(`# frames: ${frames.lagged} lagged, ${frames.resync} resync over ${frames.sockets} socket(s), ${frames.closes} closed`);
    console.log(`# resume → first resync frame ${t.resync - t.resumed} ms (polled), resume → board equal ${t.equal - t.resumed} ms; resyncs ${h0.resyncs} → ${h1.resyncs}, applied +${h1.applied - h0.applied}, connection ${h1.connection}, ${ids.length} cards`);

    assert.ok(frames.resync >= 1, `the page got ${frames.resync} resync frames, want ≥ 1`);
    assert.ok(h1.resyncs > h0.resyncs, `__hive.resyncs went from ${h0.resyncs} to ${h1.resyncs}, want an increase`);
    assert.deepEqual(dup, [], 'no data-task-id twice on the board');
    await waitConnection(page, 'live', 10_000);
  } finally {
    proxy.resume();
    agent.stopBeating();
    await page.context().close().catch(() => {});
  }
});
