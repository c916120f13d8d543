// Keyboard navigation: with no mouse at all, Tab reaches the navigation and a
// task card, Enter on the card opens the task, and the focused element is
// always visible (a focus ring), so an operator can drive the board from the
// keyboard.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, openDashboard, waitConnection } from './harness.mjs';

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

/** The deepest focused element (through open shadow roots): its test id, task id and outline. */
const focused = () => {
  let el = document.activeElement;
  while (el?.shadowRoot?.activeElement) el = el.shadowRoot.activeElement;
  if (!el) return null;
  const style = getComputedStyle(el);
  return {
    testid: el.getAttribute('data-testid'),
    task: el.getAttribute('data-task-id'),
    ring: style.outlineStyle !== 'none' && parseFloat(style.outlineWidth) > 0,
  };
};

test('Tab reaches the navigation and a task card, Enter opens the task, and focus is always visible', async () => {
  const task = await server.submit({ type: 'keyboard', payload: { n: 1 } });
  const page = await newPage(browser, { label: 'keyboard' });
  try {
    await openDashboard(page, server, '#/board');
    await waitConnection(page, 'live');
    await page.locator(`[data-testid="card"][data-task-id="${task.id}"]`).waitFor({ timeout: 10_000 });
    const reached = [];
    let card = null;
    for (let i = 0; i < 60 && !card; i++) {
      await page.keyboard.press('Tab');
      const f = await page.evaluate(focused);
      if (!f) continue;
      reached.push(f.testid ?? '?');
      assert.ok(f.ring, `the focused element ${JSON.stringify(f)} shows a focus ring`);
      if (f.testid === 'card' && f.task === task.id) card = f;
    }
    assert.ok(reached.includes('nav-board') || reached.some((t) => t.startsWith('nav-')), `Tab reached the navigation: ${reached.join(', ')}`);
    assert.ok(card, `Tab reached the task's card within 60 presses: ${reached.join(', ')}`);
    await page.keyboard.press('Enter');
    await page.waitForFunction((id) => location.hash === `#/task/${id}`, task.id, { timeout: 5_000 });
    await page.locator('[data-testid="task-detail"]').waitFor({ timeout: 10_000 });
    console.log(`# Tab order to the card: ${reached.join(' → ')}`);
  } finally {
    await page.context().close();
  }
});
