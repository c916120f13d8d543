// The PWA: with the server stopped, a reload shows the shell (the header's
// navigation) and `banner-unreachable`, served by the service worker; and a
// new build is announced: the server comes back serving a copy of dist whose
// sw.js changed (HIVE_UI_DIR), and after registration.update() the open page
// shows `banner-update`, whose `update-reload` brings the new version in.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Server, WEB, launch, newPage, openDashboard, waitConnection } from './harness.mjs';

let browser;
const cleanup = [];
before(async () => {
  browser = await launch();
});
after(async () => {
  for (const f of cleanup.reverse()) await f();
  await browser?.close();
});

/** Waits until a service worker is active and controls the page (reloading once if needed). */
async function controlled(page) {
  await page.evaluate(() => navigator.serviceWorker.ready.then(() => true), undefined, { timeout: 15_000 });
  const has = await page.evaluate(() => !!navigator.serviceWorker.controller);
  if (!has) {
    await page.reload();
    await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 15_000 });
  }
  return page.evaluate(() => navigator.serviceWorker.controller.scriptURL);
}

test('With the server stopped, a reload shows the shell and banner-unreachable (the service worker serves it)', async () => {
  const server = await new Server().start();
  cleanup.push(() => server.dispose());
  const page = await newPage(browser, { label: 'offline' });
  cleanup.push(() => page.context().close());
  await openDashboard(page, server, '#/board');
  await waitConnection(page, 'live');
  console.log(`# controlled by ${await controlled(page)}`);
  await waitConnection(page, 'live');
  assert.equal(await page.locator('[data-testid="banner-unreachable"]').isVisible(), false, 'no unreachable banner while the server is up');

  await server.stop();
  await page.reload({ timeout: 15_000 });
  await page.locator('[data-testid="nav-board"]').waitFor({ state: 'visible', timeout: 10_000 }).catch((e) => {
    throw new Error(`no shell (nav-board) after an offline reload: ${e.message}`);
  });
  await page.locator('[data-testid="banner-unreachable"]').waitFor({ state: 'visible', timeout: 15_000 }).catch((e) => {
    throw new Error(`no banner-unreachable after an offline reload: ${e.message}`);
  });
  const state = await page.evaluate(() => __test.tid('connection')[0]?.getAttribute('data-state'));
  console.log(`# offline reload: shell shown, banner-unreachable shown, connection ${state}`);
  assert.notEqual(state, 'live', 'the indicator is not live with the server down');

  // Back up: the banner goes away and the indicator is live again.
  await server.start();
  await waitConnection(page, 'live', 30_000);
  await page.locator('[data-testid="banner-unreachable"]').waitFor({ state: 'hidden', timeout: 10_000 });
});

test('A new build is announced: with sw.js changed (HIVE_UI_DIR to a changed copy of dist) the open page shows banner-update after registration.update()', async () => {
  const server = await new Server().start();
  cleanup.push(() => server.dispose());
  const page = await newPage(browser, { label: 'update' });
  cleanup.push(() => page.context().close());
  await openDashboard(page, server, '#/board');
  await waitConnection(page, 'live');
  const before = await controlled(page);
  await waitConnection(page, 'live');
  assert.equal(await page.locator('[data-testid="banner-update"]').isVisible(), false, 'no update banner before a new build');

  // The "new build": the dist this server served, with sw.js changed.
  const src = server.uiDir ?? path.join(WEB, 'dist');
  const copy = fs.mkdtempSync(path.join(os.tmpdir(), 'hive-web-dist-'));
  cleanup.push(() => fs.rmSync(copy, { recursive: true, force: true }));
  fs.cpSync(src, copy, { recursive: true });
  const sw = (await (await fetch(`${server.url}/ui/sw.js`)).text());
  fs.writeFileSync(path.join(copy, 'sw.js'), `${sw}\n// a new build for the test: ${Date.now()}\n`);
  await server.stop();
  server.uiDir = copy;
  await server.start();
  await waitConnection(page, 'live', 30_000);

  await page.evaluate(() => navigator.serviceWorker.getRegistration().then((r) => r.update()));
  const banner = page.locator('[data-testid="banner-update"]');
  await banner.waitFor({ state: 'visible', timeout: 15_000 }).catch((e) => {
    throw new Error(`no banner-update after registration.update() with a changed sw.js: ${e.message}`);
  });
  console.log(`# banner-update: "${(await banner.textContent()).trim().replace(/\s+/g, ' ')}"`);
  assert.match(await banner.textContent(), /new version/i);
  const reload = page.locator('[data-testid="update-reload"]');
  assert.equal(await reload.isVisible(), true, 'update-reload button shown');

  await reload.click();
  await page.waitForFunction(() => !!navigator.serviceWorker.controller, undefined, { timeout: 15_000 });
  await page.locator('[data-testid="nav-board"]').waitFor({ timeout: 15_000 });
  await page.waitForFunction(async () => {
    const r = await navigator.serviceWorker.getRegistration();
    return r && !r.waiting && !r.installing;
  }, undefined, { timeout: 15_000 });
  await waitConnection(page, 'live', 15_000);
  assert.equal(await banner.isVisible(), false, 'no update banner once the new version runs');
  console.log(`# controller before: ${before}`);
});
