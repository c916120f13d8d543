// Sign-in: against a server with a token, a wrong token is refused with
// `signin-error` and no data is shown; the right one shows the board.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { COLUMNS, Server, launch, newPage, readBoard, signIn, waitFor } from './harness.mjs';

const TOKEN = 'web-test-' + process.pid + '-right-token';
let server;
let browser;
before(async () => {
  server = await new Server({ token: TOKEN }).start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

test('Sign-in: with a token-protected server, a wrong token shows signin-error and no data; the right one shows the board', async () => {
  const task = await server.submit({ type: 'signin-visible', payload: { secret: 'only with the token' } });
  assert.equal((await server.call('GET', '/queue/stats', undefined, { token: null })).status, 401, 'the server refuses without the token');
  const page = await newPage(browser, { label: 'signin' });
  try {
    await page.goto(`${server.url}/ui/#/board`);
    await page.locator('[data-testid="signin"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="signin-token"]').getAttribute('type'), 'password', 'signin-token is a password input');

    await signIn(page, 'a-wrong-token');
    await page.locator('[data-testid="signin-error"]').waitFor({ timeout: 10_000 });
    const msg = (await page.locator('[data-testid="signin-error"]').textContent()).trim();
    console.log(`# wrong token: "${msg}"`);
    assert.ok(msg.length > 0, 'signin-error says something');
    const leaked = await page.evaluate((id) => ({
      cards: __test.tid('card').length,
      counts: __test.tid('column-count').map((e) => e.textContent.trim()).filter((t) => t !== ''),
      hasId: document.documentElement.outerHTML.includes(id) || __test.all('*').some((e) => e.shadowRoot?.innerHTML.includes(id)),
      hasPayload: __test.all('*').some((e) => (e.shadowRoot?.textContent ?? '').includes('only with the token')),
    }), task.id);
    assert.deepEqual(leaked, { cards: 0, counts: [], hasId: false, hasPayload: false }, 'no data shown with a wrong token');
    assert.equal(await page.locator('[data-testid="signin"]').isVisible(), true, 'still on the sign-in form');

    await signIn(page, TOKEN);
    await page.locator(`[data-testid="card"][data-task-id="${task.id}"]`).waitFor({ timeout: 10_000 });
    const stats = await server.stats();
    await waitFor(async () => {
      const b = await readBoard(page);
      return Object.keys(COLUMNS).every((c) => b[c]?.count === Server.columnCount(stats, c));
    }, { timeout: 5_000, what: 'column counts equal to the server statistics' });
    assert.equal(await page.locator('[data-testid="signin-error"]').count(), 0, 'no sign-in error once signed in');
    assert.equal(await page.locator('[data-testid="signout"]').count(), 1, 'a signout button in the header');
  } finally {
    await page.context().close();
  }
});
