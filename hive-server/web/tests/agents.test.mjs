// An agent that stops heartbeating turns unhealthy, then dead, on the agents
// view (the server runs with short liveness settings: heartbeat 1 s,
// unhealthy after 2 s, dead after 6 s; it sweeps every half heartbeat).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, openDashboard, sleep } from './harness.mjs';

let server;
let browser;
before(async () => {
  server = await new Server({ heartbeatSecs: 1, unhealthySecs: 2, deadSecs: 6 }).start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('An agent that stops heartbeating turns unhealthy, then dead, on the agents view', async () => {
  const agent = await server.agent('silent-agent', ['web-test']);
  agent.keepBeating(300);
  const page = await newPage(browser, { label: 'agents' });
  try {
    await openDashboard(page, server, '#/agents');
    const row = page.locator(`[data-testid="agent-row"][data-agent-id="${agent.id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await page.locator(`[data-testid="agent-row"][data-agent-id="${agent.id}"][data-status="healthy"]`).waitFor({ timeout: 5_000 });

    // Record every status the row shows (sampled each animation frame) from the moment it stops beating.
    await page.evaluate((id) => {
      window.__seen = [];
      const tick = () => {
        const r = __test.all(`[data-testid="agent-row"][data-agent-id="${id}"]`)[0];
        const s = r?.getAttribute('data-status') ?? null;
        if (s && window.__seen[window.__seen.length - 1] !== s) window.__seen.push(s);
        if (s !== 'dead') requestAnimationFrame(tick);
      };
      tick();
    }, agent.id);
    agent.stopBeating();
    const t0 = Date.now();
    const times = {};
    for (;;) {
      const seen = await page.evaluate(() => window.__seen);
      for (const s of seen) if (!(s in times)) times[s] = Date.now() - t0;
      if (seen.includes('dead') || Date.now() - t0 > 30_000) break;
      await sleep(100);
    }
    const seen = await page.evaluate(() => window.__seen);
    const server_ = (await server.get(`/agents/${agent.id}`)).status;
    console.log(`# statuses shown after the last heartbeat: ${seen.map((s) => `${s} (${times[s]} ms)`).join(' → ')}; the server says ${server_}`);
    assert.ok(seen.includes('unhealthy'), `the row showed unhealthy (seen: ${seen.join(' → ')})`);
    assert.ok(seen.includes('dead'), `the row showed dead within 30 s (seen: ${seen.join(' → ')})`);
    assert.ok(seen.indexOf('unhealthy') < seen.indexOf('dead'), `unhealthy before dead (seen: ${seen.join(' → ')})`);
    const statusText = await row.locator('[data-testid="agent-status"]').textContent();
    assert.match(statusText, /dead/i, 'agent-status says dead in words');
  } finally {
    agent.stopBeating();
    await page.context().close();
  }
});
