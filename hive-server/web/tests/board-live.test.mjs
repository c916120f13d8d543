// The board follows the event feed live: a task submitted over REST shows
// within 1 s and moves pending → running → completed as a remote agent (over
// the HTTP API) claims and completes it; then 200 tasks, with the page's own
// event-to-screen latencies (window.__hive.latencies()) read back: p95 < 250 ms.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import {
  Server, hive, launch, newPage, openDashboard, percentile, pool, waitBoardEqual, waitConnection, waitFor,
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

/** Waits (polling each animation frame) until card `id` is in column `col` with a status among `statuses`. */
async function cardIn(page, id, col, statuses, timeout) {
  await page.waitForFunction(
    ([id, col, statuses]) => {
      const c = __test.board()[col];
      const i = c ? c.ids.indexOf(id) : -1;
      return i >= 0 && statuses.includes(c.statuses[i]);
    },
    [id, col, statuses],
    { polling: 'raf', timeout },
  );
}

test('A task submitted over REST appears on the board within 1 s and moves through the columns live (pending → running → completed) as a remote agent claims and completes it; then 200 tasks: event-to-screen p95 < 250 ms', async () => {
  const page = await newPage(browser, { label: 'board-live' });
  await openDashboard(page, server, '#/board');
  await waitConnection(page, 'live');
  const agent = await server.agent('board-live-agent');
  agent.keepBeating(5000);
  try {
    let t0 = Date.now();
    const task = await server.submit({ type: 'live-one', payload: { n: 1 } });
    await cardIn(page, task.id, 'pending', ['pending'], 1000).catch((e) => {
      throw new Error(`the submitted task ${task.id} is not in the pending column 1 s after its submit: ${e.message}`);
    });
    console.log(`# submitted → on the board (pending): ${Date.now() - t0} ms`);

    t0 = Date.now();
    const [lease] = await agent.claim({ max: 1 });
    assert.equal(lease?.task.id, task.id, 'the agent claims the one task');
    await cardIn(page, task.id, 'running', ['assigned', 'in_progress'], 1000).catch((e) => {
      throw new Error(`the claimed task is not in the running column within 1 s: ${e.message}`);
    });
    console.log(`# claimed → running column: ${Date.now() - t0} ms`);

    t0 = Date.now();
    await agent.complete(lease, { done: true });
    await cardIn(page, task.id, 'completed', ['completed'], 1000).catch((e) => {
      throw new Error(`the completed task is not in the completed column within 1 s: ${e.message}`);
    });
    console.log(`# completed → completed column: ${Date.now() - t0} ms`);
    const gone = await page.evaluate((id) => {
      const b = __test.board();
      return ['pending', 'running'].filter((c) => b[c]?.ids.includes(id));
    }, task.id);
    assert.deepEqual(gone, [], 'the card left the columns it passed through');

    // 200 tasks, each submitted, claimed and completed over HTTP (4 at a time).
    const before = await page.evaluate(() => ({ n: window.__hive.latencies().length, applied: window.__hive.applied }));
    await pool(Array.from({ length: 200 }, (_, i) => i), 4, async (i) => {
      await server.submit({ type: 'live-many', payload: { i } });
      const leases = await agent.claim({ max: 1 });
      for (const l of leases) await agent.complete(l, { i });
    });
    // Drain what the 4 workers may have left unclaimed.
    for (;;) {
      const leases = await agent.claim({ max: 100 });
      if (leases.length === 0) break;
      await pool(leases, 8, (l) => agent.complete(l, {}));
    }
    await waitFor(async () => (await hive(page)).applied >= before.applied + 600, {
      timeout: 15_000, what: '600 more task events applied (window.__hive.applied)',
    });
    await waitBoardEqual(page, server);
    const lat = await page.evaluate((n) => {
      const all = window.__hive.latencies();
      return all.length >= 10_000 ? all.slice(-600) : all.slice(n);
    }, before.n);
    assert.ok(lat.length >= 200, `at least 200 new latencies measured (got ${lat.length})`);
    const p50 = percentile(lat, 50);
    const p95 = percentile(lat, 95);
    console.log(`# event → screen over 200 tasks: ${lat.length} events, p50 ${p50.toFixed(1)} ms, p95 ${p95.toFixed(1)} ms, max ${Math.max(...lat).toFixed(1)} ms`);
    assert.ok(lat.every((v) => typeof v === 'number' && Number.isFinite(v)), 'latencies are finite numbers');
    assert.ok(p95 < 250, `event-to-screen p95 ${p95.toFixed(1)} ms, want < 250 ms`);
  } finally {
    agent.stopBeating();
    await page.context().close();
  }
});
