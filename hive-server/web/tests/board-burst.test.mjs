// A burst of 5,000 task events ends with the board equal to the server (each
// column's rendered cards = the newest-first GET /tasks of its statuses, the
// counts = GET /queue/stats). Then the server restarts (same port, same db):
// the indicator says reconnecting (or unreachable), then live, and the board
// is the server's again, with no card twice and window.__hive.resyncs up.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, hive, launch, newPage, openDashboard, pool, waitBoardEqual, waitConnection,
} from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await new Server().start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('A burst of 5,000 events ends with the board equal to GET /tasks; a server restart shows reconnecting, then live, then the same board with no duplicated card and __hive.resyncs increased', async () => {
  const page = await newPage(browser, { label: 'board-burst' });
  const frames = { lagged: 0, resync: 0, sockets: 0 };
  page.on('websocket', (ws) => {
    frames.sockets++;
    ws.on('framereceived', ({ payload }) => {
      if (typeof payload !== 'string' || payload.length > 200) return;
      const type = /"type"\s*:\s*"(lagged|resync)"/.exec(payload)?.[1];
      if (type) frames[type]++;
    });
  });
  await openDashboard(page, server, '#/board');
  await waitConnection(page, 'live');
  const agent = await server.agent('burst-agent');
  agent.keepBeating(5000);
  try {
    const seq0 = await server.seq();
    const h0 = await hive(page);
    // The page reads nothing during the burst (its JS paused through the
    // DevTools protocol), so the server sees a slow reader: it falls behind
    // the feed (lagged), or is closed for not reading and reconnects.
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Debugger.enable');
    await cdp.send('Debugger.pause');
    const t0 = Date.now();
    // 2,000 submits + 1,500 claims + 1,000 completes + 200 dead letters + 300 cancels = 5,000 events.
    const tasks = await pool(Array.from({ length: 2000 }, (_, i) => i), 16, (i) =>
      server.submit({ type: `burst-${i % 5}`, priority: 1 + (i % 9), payload: { i } }));
    const leases = await agent.claimMany(1500, { lease_ms: 3_600_000 });
    assert.equal(leases.length, 1500);
    await pool(leases.slice(0, 1000), 16, (l) => agent.complete(l, { ok: true }));
    await pool(leases.slice(1000, 1200), 16, (l) => agent.fail(l, 'burst failure', true));
    const claimed = new Set(leases.map((l) => l.task.id));
    await pool(tasks.filter((t) => !claimed.has(t.id)).slice(0, 300), 16, (t) => server.post(`/tasks/${t.id}/cancel`, {}));
    const seq1 = await server.seq();
    await cdp.send('Debugger.resume');
    await cdp.send('Debugger.disable');
    await cdp.detach();
    console.log(`# burst: ${seq1 - seq0} events in ${((Date.now() - t0) / 1000).toFixed(1)} s, the page's JS paused meanwhile`);
    assert.ok(seq1 - seq0 >= 5000, `the burst made ${seq1 - seq0} events, want ≥ 5,000`);

    await waitBoardEqual(page, server, 30_000);
    const h1 = await hive(page);
    console.log(`# after the burst: applied +${h1.applied - h0.applied}, resyncs ${h0.resyncs} → ${h1.resyncs}, connection ${h1.connection}; the server sent ${frames.lagged} lagged and ${frames.resync} resync frames over ${frames.sockets} socket(s)`);

    // The restart.
    await server.stop();
    await waitConnection(page, ['reconnecting', 'unreachable'], 10_000).catch((e) => {
      throw new Error(`the connection indicator did not say reconnecting/unreachable with the server stopped: ${e.message}`);
    });
    console.log(`# server stopped: connection ${(await hive(page)).connection}`);
    await server.start();
    await waitConnection(page, 'live', 30_000).catch((e) => {
      throw new Error(`the connection indicator is not live again after the restart: ${e.message}`);
    });
    await waitBoardEqual(page, server, 20_000);
    const ids = await page.evaluate(() => __test.tid('card').map((c) => c.getAttribute('data-task-id')));
    const dup = ids.filter((id, i) => ids.indexOf(id) !== i);
    assert.deepEqual(dup, [], 'no data-task-id twice on the board');
    const h2 = await hive(page);
    console.log(`# after the restart: resyncs ${h1.resyncs} → ${h2.resyncs}, ${ids.length} cards`);
    assert.ok(h2.resyncs > h1.resyncs, `__hive.resyncs went from ${h1.resyncs} to ${h2.resyncs}, want an increase`);
  } finally {
    agent.stopBeating();
    await page.context().close();
  }
});
