// Every view at 390×844 renders with no horizontal page overflow, and
// axe-core (wcag2a, wcag2aa) finds no serious or critical violation on any
// view, at desktop size and at 390×844. The views have real data to show: a
// completed task, a dead letter, a registered agent, a session, events, an
// experiment (the proposals view, with no meta-agent here, shows its empty
// list and its form).
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, axeSerious, launch, newPage, openDashboard, sleep } from './harness.mjs';

let server;
let browser;
let views;
let agent;
before(async () => {
  server = await new Server().start();
  browser = await launch();
  agent = await server.agent('views-agent', ['web-test']);
  agent.keepBeating(5000);
  const parent = await server.submit({ type: 'views-parent', payload: { doc: 1 } });
  const child = await server.submit({ type: 'views-child', payload: { doc: 2 }, depends_on: [parent.id] });
  const [lease] = await agent.claim({ max: 1, task_types: ['views-parent'] });
  await agent.complete(lease, { summary: 'done' });
  const dl = await server.submit({ type: 'views-dead', payload: {}, max_attempts: 1 });
  const [dlLease] = await agent.claim({ max: 1, task_types: ['views-dead'] });
  await agent.fail(dlLease, 'Traceback (most recent call last):\n  boom', true);
  await server.submit({ type: 'views-pending', priority: 2 });
  const session = (await server.post('/sessions', { name: 'views-session', agents: ['views-agent'], state: { step: 1 } }));
  const sessionId = session.id ?? session.session?.id;
  await server.post('/messages', { to: 'views-agent', kind: 'note', payload: { text: 'hello' }, from: 'views-test' }).catch(() => {});
  // An experiment on views-agent's prompt (two versions, production → the
  // first): the experiments view has a row and an arms table to show.
  const v1 = await server.post('/prompts/views-agent', { text: 'You answer.', author: 'views-test' });
  const v2 = await server.post('/prompts/views-agent', { text: 'You answer briefly.', author: 'views-test' });
  await server.call('PUT', '/prompts/views-agent/labels/production', { version: v1.id, by: 'views-test' }, { expect: 200 });
  const experiment = await server.post('/experiments', { agent: 'views-agent', variants: [v2.id], started_by: 'views-test' });
  views = [
    ['board', '#/board', 'column'],
    ['a task', `#/task/${child.id}`, 'task-detail'],
    ['agents', '#/agents', 'agent-row'],
    ['sessions', '#/sessions', 'session-row'],
    ['a session', `#/session/${sessionId}`, 'session-timeline'],
    ['dead letters', '#/dead-letters', 'dead-letter-row'],
    // The feed is live: an event after the view opens gives it a row.
    ['events', '#/events', 'event-feed', async (page) => {
      await server.submit({ type: 'views-event' });
      await page.locator('[data-testid="event-row"]').first().waitFor({ timeout: 10_000 });
    }],
    ['submit', '#/submit', 'submit-form'],
    ['metrics', '#/metrics', 'metrics'],
    ['experiments', '#/experiments', 'experiments-list'],
    ['an experiment', `#/experiments/${experiment.id}`, 'experiment-arms'],
    // No [meta_agent] here: the proposals view shows its empty list and the
    // "Run meta-agent" form (tests/proposals.test.mjs shows real proposals).
    ['proposals', '#/proposals', 'proposals-empty'],
    // No [[repositories]] here: the changes view shows its empty list
    // (tests/changes.test.mjs shows a real change set).
    ['changes', '#/changes', 'changes-empty'],
    ['sleep', '#/sleep', null],
  ];
  void dl;
});
after(async () => {
  agent?.stopBeating();
  await browser?.close();
  await server?.dispose();
});

async function visit(page, hash, ready, then) {
  await page.evaluate((h) => { location.hash = h; }, hash);
  if (ready) await page.locator(`[data-testid="${ready}"]`).first().waitFor({ timeout: 10_000 });
  if (then) await then(page);
  await sleep(400); // layout settles (fonts, a second frame)
}

for (const [size, viewport] of [['desktop 1280×800', { width: 1280, height: 800 }], ['390×844', { width: 390, height: 844 }]]) {
  test(`At ${size} every view renders${viewport.width === 390 ? ' with no page overflow' : ''} and axe-core (wcag2a, wcag2aa) reports no serious or critical violation`, async (t) => {
    const page = await newPage(browser, { viewport, label: size });
    try {
      await openDashboard(page, server, '#/board');
      await page.locator('[data-testid="column"]').first().waitFor({ timeout: 10_000 });
      for (const [name, hash, ready, then] of views) {
        await t.test(`${name} (${hash}) at ${size}`, async () => {
          await visit(page, hash, ready, then);
          const problems = [];
          if (viewport.width === 390) {
            const { sw, iw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: innerWidth }));
            if (sw > iw) problems.push(`page overflow: scrollWidth ${sw} > innerWidth ${iw}`);
          }
          const serious = await axeSerious(page);
          for (const v of serious) {
            problems.push(`axe ${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `      ${JSON.stringify(n.target)} ${n.summary?.replace(/\n/g, ' ')}`).join('\n')}`);
          }
          if (problems.length) console.log(`# ${name} at ${size}:\n#   ${problems.join('\n#   ')}`);
          assert.deepEqual(problems, [], `${name} at ${size}`);
        });
      }
    } finally {
      await page.context().close();
    }
  });
}
