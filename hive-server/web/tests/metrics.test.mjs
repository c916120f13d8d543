// The metrics view draws its charts (plain SVG) from GET /metrics/series
// after some tasks ran, and its numbers are the server's: the spend table's
// tokens for the agent, and the depth chart's text alternative.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, openDashboard, pool, waitFor } from './harness.mjs';

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

const digitsOnly = (s) => (s ?? '').replace(/(\d)[,\u00a0\u202f ](?=\d{3}\b)/g, '$1');

test('The metrics view shows its charts from GET /metrics/series after some tasks ran, and the numbers in spend-table and the aria-labels are the server\'s', async () => {
  const agent = await server.agent('metrics-writer', ['web-test']);
  agent.keepBeating(5000);
  const page = await newPage(browser, { label: 'metrics' });
  const seriesRequests = [];
  page.on('request', (r) => { if (new URL(r.url()).pathname === '/metrics/series') seriesRequests.push(r.url()); });
  try {
    // 23 tasks: 17 completed with a model's usage (37 in, 11 out, $0.01 each), 2 dead-lettered, 4 left pending.
    await pool(Array.from({ length: 23 }, (_, i) => i), 8, (i) => server.submit({ type: 'metrics-task', payload: { i } }));
    const leases = await agent.claimMany(19);
    assert.equal(leases.length, 19);
    await pool(leases.slice(0, 17), 8, (l) => agent.complete(l, { text: 'ok', usage: { input_tokens: 37, output_tokens: 11 }, cost_usd: 0.01 }));
    await pool(leases.slice(17), 8, (l) => agent.fail(l, 'metrics failure', true));

    const series = await waitFor(async () => {
      const s = await server.get('/metrics/series');
      const last = s.intervals[s.intervals.length - 1];
      const done = s.intervals.reduce((n, x) => n + x.completed, 0);
      return done === 17 && last?.depth?.completed === 17 && s.spend.some((x) => x.agent === 'metrics-writer') ? s : null;
    }, { timeout: 15_000, what: 'GET /metrics/series to show the 17 completed tasks and the spend' });
    const spend = series.spend.find((x) => x.agent === 'metrics-writer');
    console.log(`# server spend for metrics-writer: ${JSON.stringify(spend)}`);
    assert.equal(spend.input_tokens, 17 * 37);

    await openDashboard(page, server, '#/metrics');
    await page.locator('[data-testid="metrics"]').waitFor({ timeout: 10_000 });
    for (const id of ['chart-throughput', 'chart-depth', 'chart-latency', 'chart-failure']) {
      const el = page.locator(`[data-testid="${id}"]`);
      await el.waitFor({ state: 'visible', timeout: 10_000 });
      const info = await el.evaluate((e) => ({ tag: e.tagName.toLowerCase(), label: e.getAttribute('aria-label'), shapes: e.querySelectorAll('path, polyline, rect, line, circle').length }));
      console.log(`# ${id}: <${info.tag}> ${info.shapes} shapes, aria-label "${info.label}"`);
      assert.equal(info.tag, 'svg', `${id} is an svg`);
      assert.ok(info.shapes > 0, `${id} draws something`);
      assert.ok(info.label && info.label.trim().length > 0, `${id} has a text alternative (aria-label)`);
    }
    assert.ok(seriesRequests.length > 0, 'the page read GET /metrics/series');

    // The depth chart's text alternative carries the server's latest depth: 4 pending (nothing moves now).
    const depthLabel = await page.locator('[data-testid="chart-depth"]').getAttribute('aria-label');
    const latest = (await server.get('/metrics/series')).intervals.at(-1);
    assert.equal(latest.depth.pending, 4, 'the server counts 4 pending');
    const shownPending = /pending\D{0,3}(\d+)/i.exec(digitsOnly(depthLabel))?.[1];
    assert.equal(Number(shownPending), latest.depth.pending, `chart-depth's aria-label gives the server's pending depth: "${depthLabel}"`);

    // The spend table's row for the agent shows the server's tokens.
    const table = page.locator('[data-testid="spend-table"]');
    await table.waitFor({ timeout: 10_000 });
    const cells = await table.evaluate((t) => {
      const row = [...t.querySelectorAll('tr')].find((r) => r.textContent.includes('metrics-writer'));
      return row ? [...row.querySelectorAll('td, th')].map((c) => c.textContent.replace(/\s+/g, ' ').trim()) : null;
    });
    console.log(`# spend-table row: ${JSON.stringify(cells)}`);
    assert.ok(cells, 'spend-table has a row for metrics-writer');
    const numbers = cells.map((c) => digitsOnly(c).replace(/[^\d.]/g, ''));
    assert.ok(numbers.includes(String(spend.input_tokens)), `a cell with the server's input tokens ${spend.input_tokens}: ${JSON.stringify(cells)}`);
    assert.ok(numbers.includes(String(spend.output_tokens)), `a cell with the server's output tokens ${spend.output_tokens}: ${JSON.stringify(cells)}`);

    // The outcomes table's row for the agent: the durable outcomes of its
    // 17 completed and 2 dead-lettered tasks, as the server counts them.
    const outcomes = (await server.get('/outcomes/metrics?group_by=agent')).find((m) => m.key === 'metrics-writer');
    assert.deepEqual([outcomes.tasks, outcomes.succeeded, outcomes.dead_lettered], [19, 17, 2]);
    const outcomeCells = await waitFor(async () => page.locator('[data-testid="outcomes-table"]').evaluate((t) => {
      const row = [...t.querySelectorAll('tr')].find((r) => r.textContent.includes('metrics-writer'));
      return row ? [...row.querySelectorAll('td')].map((c) => c.textContent.replace(/\s+/g, ' ').trim()) : null;
    }), { timeout: 10_000, what: 'the outcomes table to show metrics-writer' });
    console.log(`# outcomes-table row: ${JSON.stringify(outcomeCells)}`);
    assert.deepEqual(outcomeCells.slice(0, 5), ['metrics-writer', '19', '17', '2', `${(outcomes.success_rate * 100).toFixed(1)} %`]);
  } finally {
    agent.stopBeating();
    await page.context().close();
  }
});
