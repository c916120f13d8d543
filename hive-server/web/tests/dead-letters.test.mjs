// The dead-letters view: tasks failed to dead-letter (max_attempts 1, one
// failed permanently, one retryable but out of attempts) show up; retry sends
// one back to pending; purge asks `confirm-dialog`, and after `confirm-yes`
// the list is empty, on the page and on the server.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, openDashboard, waitFor } from './harness.mjs';

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

const row = (id) => `[data-testid="dead-letter-row"][data-task-id="${id}"]`;

test('The dead-letters view shows a dead-lettered task; retry moves it back; purge asks confirm-dialog and after confirm-yes the list is empty', async () => {
  const agent = await server.agent('dl-agent', ['web-test']);
  agent.keepBeating(5000);
  const page = await newPage(browser, { label: 'dead-letters' });
  try {
    const a = await server.submit({ type: 'dl-a', max_attempts: 1, payload: { n: 1 } });
    const b = await server.submit({ type: 'dl-b', max_attempts: 1, payload: { n: 2 } });
    const [la] = await agent.claim({ max: 1, task_types: ['dl-a'] });
    const [lb] = await agent.claim({ max: 1, task_types: ['dl-b'] });
    assert.equal((await agent.fail(la, 'permanent failure', true)).outcome, 'dead_lettered');
    assert.equal((await agent.fail(lb, 'retryable, but out of attempts', false)).outcome, 'dead_lettered');

    await openDashboard(page, server, '#/dead-letters');
    await page.locator(row(a.id)).waitFor({ timeout: 10_000 });
    await page.locator(row(b.id)).waitFor({ timeout: 10_000 });

    await page.locator(`${row(a.id)} [data-testid="dead-letter-retry"]`).click();
    await page.locator(row(a.id)).waitFor({ state: 'detached', timeout: 10_000 });
    await waitFor(async () => (await server.get(`/tasks/${a.id}`)).status === 'pending', { timeout: 5_000, what: 'the retried task pending on the server' });
    assert.equal(await page.locator(row(b.id)).count(), 1, 'the other dead letter stays listed');

    await page.locator('[data-testid="dead-letters-purge"]').click();
    const dialog = page.locator('[data-testid="confirm-dialog"]');
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    assert.equal((await server.get('/dead-letters')).length, 1, 'nothing purged before the confirmation');
    await page.locator('[data-testid="confirm-yes"]').click();
    await page.locator('[data-testid="dead-letter-row"]').first().waitFor({ state: 'detached', timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="dead-letter-row"]').count(), 0, 'the list is empty');
    await waitFor(async () => (await server.get('/dead-letters')).length === 0, { timeout: 5_000, what: 'GET /dead-letters empty' });
    assert.equal(await dialog.isVisible(), false, 'the dialog is closed');
  } finally {
    agent.stopBeating();
    await page.context().close();
  }
});
