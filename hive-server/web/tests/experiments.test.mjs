// The experiments view, on a real experiment run end to end: `hive serve`
// with a declared LLM agent whose model is the mock LLM server (aimock, at
// HIVE_TEST_LLM_URL), taught how each prompt version does (v1 answers 5 of
// 10 cases, v2 8 of 10; the others are refused). v1 and v2 are created over
// the API, production points at v1, an experiment of v2 starts (with a
// minimum of 200 observations per arm, so it keeps running) and 20 tasks
// run. The page must list the experiment as soon as it starts (an event),
// show the arms' figures as the server reports them — observation counts
// that add up to the report's, the difference from the control with its
// interval, drawn — and stop it with the operator's name: finished, decided
// "stopped".
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Server, axeSerious, launch, newPage, openDashboard, pool, waitConnection, waitFor } from './harness.mjs';

const LLM = process.env.HIVE_TEST_LLM_URL?.replace(/\/+$/, '') || '';
const REQUIRED = process.env.HIVE_REQUIRE_SERVICES === '1';
const skip = !LLM && !REQUIRED ? 'HIVE_TEST_LLM_URL is not set (scripts/services starts the mock LLM server)' : false;

const AGENT = `exp-web-${crypto.randomUUID().slice(0, 8)}`;
const TAG = AGENT;
const CASES = 10;
const TASKS = 20;

let server;
let browser;
before(async () => {
  if (skip) return;
  if (!LLM) throw new Error('HIVE_REQUIRE_SERVICES=1 but HIVE_TEST_LLM_URL is not set');
  server = new Server();
  // `hive serve` reads ./hive.toml (its working directory is the server's
  // temp dir) and spawns the agents it declares.
  fs.writeFileSync(
    path.join(server.dir, 'hive.toml'),
    `[[agents]]
name = "${AGENT}"
kind = "llm"
provider = "openai"
model = "gpt-4o-mini"
base_url = "${LLM}"
system_prompt = "The configured prompt, used until production is set."
capabilities = ["answer"]
concurrency = 4
`,
  );
  await server.start();
  browser = await launch();
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

/** Teaches the mock how the prompt carrying `marker` does: it answers the cases in `succeeds`, refuses the others. */
async function teach(marker, succeeds) {
  const fixtures = Array.from({ length: CASES }, (_, c) => ({
    match: { systemMessage: marker, userMessage: `${TAG}#case-${c}.` },
    response: succeeds.includes(c)
      ? { content: `solved ${c}`, usage: { prompt_tokens: 40, completion_tokens: 8 } }
      : { error: { message: 'refused', type: 'invalid_request_error' }, status: 400 },
  }));
  const r = await fetch(`${LLM.replace(/\/v1$/, '')}/__aimock/fixtures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fixtures }),
  });
  assert.ok(r.ok, `the mock took the fixtures: ${r.status} ${await r.text()}`);
}

const FINAL = ['completed', 'failed', 'dead_lettered', 'cancelled'];

/** One arm row of the page's table: its name, observation count and difference text. */
const readArms = () =>
  __test.tid('arm-row').map((row) => ({
    name: row.getAttribute('data-arm'),
    n: __test.digits(__test.tid('arm-n', row)[0]),
    difference: (__test.tid('arm-difference', row)[0]?.textContent ?? '').replace(/\s+/g, ' ').trim(),
    bar: __test.tid('difference-bar', row)[0]?.getAttribute('aria-label') ?? null,
    side: __test.tid('difference-bar', row)[0]?.getAttribute('data-side') ?? null,
  }));

/** The signed numbers of a text such as "+0.250 [−0.310, +0.810]". */
const numbers = (s) => [...s.replace(/\u2212/g, '-').matchAll(/[-+]?\d+\.\d+/g)].map((m) => Number(m[0]));

test('The experiments view lists a live experiment, shows its arms as GET /experiments/{id} reports them (counts, difference and interval), and stops it with the operator\'s name', { skip }, async () => {
  const m1 = `[${TAG}:v1]`;
  const m2 = `[${TAG}:v2]`;
  await teach(m1, [0, 1, 2, 3, 4]);
  await teach(m2, [0, 1, 2, 3, 4, 5, 6, 7]);

  await waitFor(async () => (await server.get('/agents')).some((a) => a.name === AGENT && a.status === 'healthy'), {
    timeout: 20_000,
    what: `the declared agent ${AGENT} to register`,
  });
  const v1 = await server.post(`/prompts/${AGENT}`, { text: `You answer.\nKeep it short.\n${m1}`, author: 'alice' });
  const v2 = await server.post(`/prompts/${AGENT}`, { text: `You answer.\nKeep it short and right.\n${m2}`, author: 'alice' });
  assert.ok(v1.id && v2.id && v1.id !== v2.id, `two versions: ${JSON.stringify([v1, v2])}`);
  await server.call('PUT', `/prompts/${AGENT}/labels/production`, { version: v1.id, by: 'alice' }, { expect: 200 });
  const prompts = await server.get(`/prompts/${AGENT}`);
  assert.equal(prompts.labels.find((l) => l.name === 'production')?.version, v1.id, 'production → v1');

  const page = await newPage(browser, { label: 'experiments' });
  try {
    // The view is open before the experiment starts: it shows up from the event.
    await openDashboard(page, server, '#/experiments');
    await waitConnection(page, 'live');
    await page.locator('[data-testid="experiments-empty"]').waitFor({ timeout: 10_000 });
    const nav = page.locator('[data-testid="nav-experiments"]');
    assert.equal(await nav.getAttribute('aria-current'), 'page', 'the navigation marks Experiments as the current view');

    const started = await server.call(
      'POST',
      '/experiments',
      { agent: AGENT, variants: [v2.id], started_by: 'alice', min_samples: 200, max_samples: 400, seed: 7 },
      { expect: 201 },
    );
    const id = started.body.id;
    assert.equal(started.body.status, 'running');
    const row = page.locator(`[data-testid="experiment-row"][data-experiment-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    const rowText = (await row.textContent()).replace(/\s+/g, ' ');
    assert.ok(rowText.includes(AGENT) && rowText.includes('production') && rowText.includes('running'), `the row: ${rowText}`);

    // Select it (the row's link), then run the tasks while it is shown.
    await row.locator('[data-testid="experiment-link"]').click();
    await page.waitForFunction((x) => location.hash === `#/experiments/${x}`, id, { timeout: 5_000 });
    const detail = page.locator(`[data-testid="experiment-detail"][data-experiment-id="${id}"]`);
    await detail.waitFor({ timeout: 10_000 });

    const tasks = await pool(Array.from({ length: TASKS }, (_, i) => i), 5, (i) =>
      server.submit({ type: 'ask', payload: { prompt: `${TAG}#case-${i % CASES}.` }, capabilities: ['answer'] }),
    );
    const ended = await pool(tasks, 5, (t) =>
      waitFor(async () => {
        const x = await server.get(`/tasks/${t.id}`);
        return FINAL.includes(x.status) ? x : null;
      }, { timeout: 60_000, interval: 150, what: `task ${t.id} to end` }),
    );
    const byStatus = ended.reduce((m, t) => ({ ...m, [t.status]: (m[t.status] ?? 0) + 1 }), {});
    console.log(`# ${TASKS} tasks ended: ${JSON.stringify(byStatus)}`);
    assert.ok(ended.some((t) => t.status === 'completed'), 'some tasks were answered');
    const report = await waitFor(async () => {
      const r = await server.get(`/experiments/${id}`);
      return r.observations === TASKS ? r : null;
    }, { timeout: 20_000, what: `GET /experiments/${id} to count ${TASKS} observations` });
    console.log(`# report: assigned ${report.assigned}, observations ${report.observations}, arms ${JSON.stringify(report.arms.map((a) => [a.name, a.samples, a.mean, a.difference]))}`);
    assert.equal(report.experiment.status, 'running', 'the minimum of 200 keeps it running');
    const variant = report.arms.find((a) => a.name === 'variant-1');
    assert.ok(variant?.difference, `the variant has a difference with its interval: ${JSON.stringify(variant)}`);

    // The page catches up by itself (task events re-read the report): its
    // counts are the report's, and the arms' counts add up to them.
    let shown;
    await waitFor(async () => {
      shown = await page.evaluate(readArms);
      const obs = await page.locator('[data-testid="experiment-observations"]').textContent();
      return Number(obs) === report.observations && shown.reduce((n, a) => n + (a.n ?? 0), 0) === report.observations;
    }, { timeout: 15_000, what: `the page to show ${report.observations} observations` }).catch((e) => {
      throw new Error(`${e.message}; the page shows ${JSON.stringify(shown)}`);
    });
    console.log(`# page arms: ${JSON.stringify(shown)}`);
    assert.deepEqual(shown.map((a) => a.name), ['control', 'variant-1']);
    const fresh = await server.get(`/experiments/${id}`);
    assert.deepEqual(
      shown.map((a) => a.n),
      fresh.arms.map((a) => a.samples),
      'each arm\'s count is the server\'s',
    );
    assert.equal(Number(await page.locator('[data-testid="experiment-assigned"]').textContent()), fresh.assigned, 'assigned is the server\'s');

    // The difference: estimate [lower, upper] as the server gave them (3
    // decimals), and its bar, on the side of 0 the interval is.
    const d = fresh.arms.find((a) => a.name === 'variant-1').difference;
    const pv = shown.find((a) => a.name === 'variant-1');
    assert.match(pv.difference, /\[.+,.+\]/, `an interval is shown: ${pv.difference}`);
    assert.deepEqual(numbers(pv.difference), [d.estimate, d.lower, d.upper].map((v) => Number(v.toFixed(3)) + 0), `the interval is the server's: ${pv.difference}`);
    assert.ok(pv.bar, 'the interval is drawn');
    const wantSide = d.lower > 0 ? 'above' : d.upper < 0 ? 'below' : 'includes';
    assert.equal(pv.side, wantSide, `the bar says whether it excludes 0: ${pv.bar}`);
    assert.equal(shown.find((a) => a.name === 'control').bar, null, 'the control has no difference to draw');
    await page.locator('[data-testid="experiment-decision"][data-kind=""]').waitFor({ timeout: 5_000 });
    assert.equal(await page.locator('[data-testid="experiment-approve"]').count(), 0, 'no Approve while running');
    const axe = (await axeSerious(page)).map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes)}`);
    assert.deepEqual(axe, [], 'axe-core finds nothing serious in the figures');

    // Stop, asking for a name first (an empty one is refused in the dialog).
    await page.locator('[data-testid="experiment-stop"]').click();
    const dialog = page.locator('[data-testid="confirm-dialog"]');
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await page.locator('[data-testid="confirm-input-by"]').fill('');
    await page.locator('[data-testid="confirm-yes"]').click();
    await dialog.locator('[role="alert"]').waitFor({ timeout: 5_000 });
    assert.ok(await dialog.isVisible(), 'the dialog stays open without a name');
    const axeDialog = (await axeSerious(page)).map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes)}`);
    assert.deepEqual(axeDialog, [], 'axe-core finds nothing serious in the dialog');
    assert.equal((await server.get(`/experiments/${id}`)).experiment.status, 'running', 'nothing sent without a name');
    await page.locator('[data-testid="confirm-input-by"]').fill('carol');
    await page.locator('[data-testid="confirm-input-reason"]').fill('seen enough in the browser test');
    await page.locator('[data-testid="confirm-yes"]').click();

    await page.locator('[data-testid="experiment-status"][data-status="finished"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="experiment-decision"][data-kind="stopped"]').waitFor({ timeout: 10_000 });
    const kind = await page.locator('[data-testid="experiment-decision-kind"]').textContent();
    assert.equal(kind.trim(), 'stopped');
    const after = await server.get(`/experiments/${id}`);
    assert.equal(after.experiment.status, 'finished');
    assert.equal(after.experiment.decision?.kind, 'stopped');
    const reason = await page.locator('[data-testid="experiment-decision-reason"]').textContent();
    assert.equal(reason.trim(), after.experiment.decision.reason, 'the decision\'s reason is the server\'s');
    console.log(`# stopped: ${JSON.stringify(after.experiment.decision)}`);
    assert.ok(await page.locator('[data-testid="experiment-stop"]').isDisabled(), 'Stop is off once finished');
    await page.locator(`[data-testid="experiment-row"][data-experiment-id="${id}"][data-status="finished"]`).waitFor({ timeout: 10_000 });
  } finally {
    await page.context().close();
  }
});
