// With 10,000 tasks stored, spread over the board's columns, a fresh page
// renders its first board (navigation start → all six column counts shown)
// in under 2 s, keeps fewer than 3,000 elements (open shadow roots counted),
// and shows for each column the server's own count (GET /queue/stats).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { COLUMNS, Server, domNodes, launch, newPage, pool, sleep } from './harness.mjs';

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

/**
 * 10,000 tasks: 9,699 plain ones, a dependency no agent can take, 100 waiting
 * on it, 200 delayed by an hour; then a remote agent claims 4,000 (an hour's
 * lease), completes 3,000, fails 200 for good (dead-lettered), keeps 800
 * running; 500 pending ones are cancelled.
 */
async function seed() {
  const t0 = Date.now();
  const dep = await server.submit({ type: 'seed-dep', capabilities: ['nobody-has-this'] });
  const specs = [];
  for (let i = 0; i < 9_699; i++) specs.push({ type: `seed-${i % 7}`, priority: 1 + (i % 9), payload: { i } });
  for (let i = 0; i < 100; i++) specs.push({ type: 'seed-waiting', depends_on: [dep.id], payload: { i } });
  for (let i = 0; i < 200; i++) specs.push({ type: 'seed-delayed', delay_ms: 3_600_000, payload: { i } });
  const tasks = await pool(specs, 16, (s) => server.submit(s));
  const t1 = Date.now();
  const agent = await server.agent('seed-agent');
  agent.keepBeating(5000);
  const leases = await agent.claimMany(4_000, { lease_ms: 3_600_000 });
  assert.equal(leases.length, 4_000, 'the agent claimed 4,000 tasks');
  await pool(leases.slice(0, 3_000), 16, (l) => agent.complete(l, { ok: true }));
  await pool(leases.slice(3_000, 3_200), 16, (l) => agent.fail(l, 'seeded failure', true));
  const claimed = new Set(leases.map((l) => l.task.id));
  const cancel = tasks.slice(0, 9_699).filter((t) => !claimed.has(t.id)).slice(0, 500);
  await pool(cancel, 16, (t) => server.post(`/tasks/${t.id}/cancel`, {}));
  console.log(`# seeded 10,000 tasks: submits ${((t1 - t0) / 1000).toFixed(1)} s, claims/completes/fails/cancels ${((Date.now() - t1) / 1000).toFixed(1)} s`);
  return agent;
}

test('With 10,000 tasks stored, a fresh page renders its first board in < 2 s, with fewer than 3,000 DOM nodes and each column count equal to GET /queue/stats', async () => {
  const agent = await seed();
  try {
    const stats = await server.stats();
    assert.equal(stats.total, 10_000, 'the server holds 10,000 tasks');
    const want = Object.fromEntries(Object.keys(COLUMNS).map((c) => [c, Server.columnCount(stats, c)]));
    console.log(`# server columns: ${JSON.stringify(want)}`);

    const page = await newPage(browser, { label: 'board-10k' });
    await page.goto(`${server.url}/ui/#/board`);
    // Polled every animation frame in the page: performance.now() counts from navigation start.
    const shownAt = await page
      .waitForFunction(
        (cols) => {
          const b = __test.board();
          return cols.every((c) => b[c] && b[c].count !== null) ? performance.now() : false;
        },
        Object.keys(COLUMNS),
        { polling: 'raf', timeout: 20_000 },
      )
      .then((h) => h.jsonValue());
    console.log(`# first render (navigation start → six column counts): ${shownAt.toFixed(0)} ms`);

    await sleep(1000); // let the cards of the first screen render too
    const nodes = await domNodes(page);
    console.log(`# DOM elements (open shadow roots included): ${nodes}`);
    const shown = await page.evaluate(() => Object.fromEntries(Object.entries(__test.board()).map(([k, v]) => [k, v.count])));
    const cards = await page.evaluate(() => __test.tid('card').length);
    console.log(`# page columns: ${JSON.stringify(shown)}; cards in the DOM: ${cards}`);

    assert.deepEqual(shown, want, 'each column count equals the server statistics for its statuses');
    assert.ok(cards > 0, 'cards are rendered');
    assert.ok(shownAt < 2000, `first render took ${shownAt.toFixed(0)} ms, want < 2,000 ms`);
    assert.ok(nodes < 3000, `${nodes} DOM elements, want fewer than 3,000`);
    await page.context().close();
  } finally {
    agent.stopBeating();
  }
});
