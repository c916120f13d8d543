// The submit form validates before sending: invalid JSON and a priority of 12
// are refused inline and nothing reaches the server (no POST /tasks seen by
// the page, the server's total unchanged); a valid submit shows `submit-ok`
// with a link to the task, which exists on the server as sent.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { Server, launch, newPage, openDashboard, sleep } from './harness.mjs';

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

const tid = (id) => `[data-testid="${id}"]`;

test('The submit form refuses invalid JSON and a priority of 12 inline and submits nothing; a valid submit shows submit-ok and the task exists', async () => {
  const page = await newPage(browser, { label: 'submit' });
  const seen = new Set(); // page.on and context.on both report the page's requests: count each once
  const onRequest = (r) => {
    if (r.method() === 'POST' && new URL(r.url()).pathname === '/tasks') seen.add(r);
  };
  const posts = { get list() { return [...seen].map((r) => r.url()); } };
  page.on('request', onRequest);
  page.context().on('request', onRequest); // the service worker's too, should it forward
  try {
    await openDashboard(page, server, '#/submit');
    await page.locator(tid('submit-form')).waitFor({ timeout: 10_000 });
    const total0 = (await server.stats()).total;

    // Invalid JSON.
    await page.locator(tid('submit-type')).fill('web-form');
    await page.locator(tid('submit-payload')).fill('{"doc": 1,');
    await page.locator(tid('submit-priority')).fill('5');
    await page.locator(tid('submit-send')).click();
    await page.locator(tid('submit-error-payload')).waitFor({ timeout: 5_000 });
    console.log(`# invalid JSON: "${(await page.locator(tid('submit-error-payload')).textContent()).trim()}"`);

    // Valid JSON, priority 12.
    await page.locator(tid('submit-payload')).fill('{"doc": 1}');
    await page.locator(tid('submit-priority')).fill('12');
    await page.locator(tid('submit-send')).click();
    await page.locator(tid('submit-error-priority')).waitFor({ timeout: 5_000 });
    console.log(`# priority 12: "${(await page.locator(tid('submit-error-priority')).textContent()).trim()}"`);

    await sleep(500);
    assert.deepEqual(posts.list, [], 'no POST /tasks sent for invalid input');
    assert.equal((await server.stats()).total, total0, 'the server total is unchanged');
    assert.equal(await page.locator(tid('submit-ok')).count(), 0, 'no submit-ok for invalid input');

    // Valid.
    await page.locator(tid('submit-priority')).fill('3');
    await page.locator(tid('submit-payload')).fill('{"doc": 7, "words": ["a", "b"]}');
    await page.locator(tid('submit-send')).click();
    const ok = page.locator(tid('submit-ok'));
    await ok.waitFor({ timeout: 5_000 });
    assert.equal(await page.locator(tid('submit-error-payload')).count() + await page.locator(tid('submit-error-priority')).count(), 0,
      'the inline errors are gone after a valid submit');
    const href = await ok.locator('a').first().getAttribute('href');
    const id = /#\/task\/([0-9a-f-]{36})/.exec(href ?? '')?.[1];
    assert.ok(id, `submit-ok links to the task (#/task/<id>), href ${href}`);
    const task = (await server.get(`/tasks/${id}`));
    assert.equal(task.task_type, 'web-form');
    assert.equal(task.priority, 3);
    assert.deepEqual(task.payload, { doc: 7, words: ['a', 'b'] });
    assert.equal((await server.stats()).total, total0 + 1, 'exactly one task submitted');
    assert.equal(posts.list.length, 1, 'one POST /tasks seen');
  } finally {
    await page.context().close();
  }
});
