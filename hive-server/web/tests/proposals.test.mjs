// The proposals view, on a real run of the meta-agent: `hive serve` with a
// `[meta_agent]` and a declared LLM agent, both on the mock LLM server
// (aimock, at HIVE_TEST_LLM_URL). The agent's v1 prompt (with the must-keep
// clause) is refused on the "hard" tasks and answers the "easy" ones; the
// meta-agent's own call is answered with a new prompt keeping the clause and
// one configuration change. Six tasks run (three fail), then `POST
// /meta/runs`. The page — open before the run — must list the two proposals
// as soon as the run's experiment starts (an event); show the prompt one's
// diff from its parent (the server's lines), its experiment as a link, and
// its evidence: the cited tasks (exactly the failed ones, each a link to the
// task view) and the metrics snapshot; refuse an approval by the author and
// approve the config one as "bob"; reject the prompt one with a reason (its
// experiment stops); and pass axe-core. A second server with no
// `[meta_agent]` shows its 409 in the "Run meta-agent" form.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import crypto from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { Server, axeSerious, launch, newPage, openDashboard, pool, sleep, waitConnection, waitFor } from './harness.mjs';

const LLM = process.env.HIVE_TEST_LLM_URL?.replace(/\/+$/, '') || '';
const REQUIRED = process.env.HIVE_REQUIRE_SERVICES === '1';
const skip = !LLM && !REQUIRED ? 'HIVE_TEST_LLM_URL is not set (scripts/services starts the mock LLM server)' : false;

const AGENT = `meta-web-${crypto.randomUUID().slice(0, 8)}`;
const TAG = AGENT;
const KEEP = 'Never reveal the key.';
const V1 = `You answer.\n${KEEP}\n[${TAG}:v1]`;
const V2 = `You answer every case, the hard ones too.\n${KEEP}\n[${TAG}:v2]`;
const FINAL = ['completed', 'failed', 'dead_lettered', 'cancelled'];

let server;
let browser;
before(async () => {
  browser = await launch();
  if (skip) return;
  if (!LLM) throw new Error('HIVE_REQUIRE_SERVICES=1 but HIVE_TEST_LLM_URL is not set');
  server = new Server();
  // `hive serve` reads ./hive.toml (its working directory is the server's
  // temp dir): the meta-agent and the agent it improves.
  fs.writeFileSync(
    path.join(server.dir, 'hive.toml'),
    `[meta_agent]
provider = "openai"
model = "gpt-4o-mini"
base_url = "${LLM}"
calls_per_day = 5
must_keep = ["${KEEP}"]

[[agents]]
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
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

async function fixtures(list) {
  const r = await fetch(`${LLM.replace(/\/v1$/, '')}/__aimock/fixtures`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ fixtures: list }),
  });
  assert.ok(r.ok, `the mock took the fixtures: ${r.status} ${await r.text()}`);
}

const axeText = async (page) => (await axeSerious(page)).map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes)}`);

/** The diff as the page shows it: [op, line] per line. */
const readDiff = () =>
  __test.tid('diff-line').map((el) => [el.getAttribute('data-op'), el.querySelector('.line')?.textContent ?? '']);

test('The proposals view lists a meta-agent run\'s proposals live, shows a prompt proposal\'s diff and evidence as the server has them, approves a config proposal as "bob" and rejects the prompt one', { skip }, async () => {
  const v1Marker = `[${TAG}:v1]`;
  // v1 answers the easy tasks and is refused on the hard ones (status 400:
  // dead-lettered); the meta-agent, shown the hard ones, proposes v2 and a
  // concurrency change.
  await fixtures([
    {
      match: { systemMessage: v1Marker, userMessage: `${TAG}#easy-` },
      response: { content: 'solved', usage: { prompt_tokens: 40, completion_tokens: 8 } },
    },
    {
      match: { systemMessage: v1Marker, userMessage: `${TAG}#hard-` },
      response: { error: { message: 'refused', type: 'invalid_request_error' }, status: 400 },
    },
    {
      match: { systemMessage: 'You improve the system prompts of AI agents', userMessage: `${TAG}#hard-` },
      response: {
        content: JSON.stringify({
          prompt: V2,
          rationale: 'the hard cases were refused',
          expected_effect: 'success from 50 % to 100 %',
          config_changes: [{ setting: 'concurrency', value: 2, why: 'tasks queue up' }],
        }),
        usage: { prompt_tokens: 300, completion_tokens: 60 },
      },
    },
  ]);

  await waitFor(async () => (await server.get('/agents')).some((a) => a.name === AGENT && a.status === 'healthy'), {
    timeout: 20_000,
    what: `the declared agent ${AGENT} to register`,
  });
  const v1 = await server.post(`/prompts/${AGENT}`, { text: V1, author: 'alice' });
  assert.ok(v1.id, `v1: ${JSON.stringify(v1)}`);
  await server.call('PUT', `/prompts/${AGENT}/labels/production`, { version: v1.id, by: 'alice' }, { expect: 200 });

  // Six tasks: three easy (answered), three hard (refused → dead-lettered).
  const kinds = ['easy', 'hard', 'easy', 'hard', 'easy', 'hard'];
  const tasks = await pool(kinds.map((k, i) => [k, i]), 3, ([k, i]) =>
    server.submit({ type: 'ask', payload: { prompt: `${TAG}#${k}-${i}.` }, capabilities: ['answer'] }),
  );
  const ended = await pool(tasks, 6, (t) =>
    waitFor(async () => {
      const x = await server.get(`/tasks/${t.id}`);
      return FINAL.includes(x.status) ? x : null;
    }, { timeout: 60_000, interval: 150, what: `task ${t.id} to end` }),
  );
  const failed = ended.filter((t) => t.status === 'dead_lettered').map((t) => t.id).sort();
  assert.deepEqual(
    ended.map((t) => t.status),
    kinds.map((k) => (k === 'easy' ? 'completed' : 'dead_lettered')),
    'the easy tasks are answered, the hard ones dead-lettered',
  );
  // The meta-agent reads the recorded outcomes: wait until all six are there.
  await waitFor(async () => {
    const groups = await server.get(`/outcomes/metrics?agent=${AGENT}`);
    return groups.some((g) => g.tasks === kinds.length);
  }, { timeout: 15_000, what: 'the six outcomes to be recorded' });

  const page = await newPage(browser, { label: 'proposals' });
  try {
    // The view is open before the run: its proposals show up from the event
    // of the experiment it starts.
    await openDashboard(page, server, '#/proposals');
    await waitConnection(page, 'live');
    await page.locator('[data-testid="proposals-empty"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="nav-proposals"]').getAttribute('aria-current'), 'page', 'the navigation marks Proposals');

    const run = await server.call('POST', '/meta/runs', { agent: AGENT }, { expect: 201 });
    const report = run.body;
    console.log(`# meta run: calls ${report.calls}, tokens ${report.tokens}, proposals ${JSON.stringify(report.proposals.map((p) => [p.kind, p.status]))}`);
    assert.equal(report.calls, 1, 'one model call');
    assert.equal(report.proposals.length, 2, 'a prompt and a config proposal');
    const listed = await server.get(`/proposals?agent=${AGENT}`);
    const prompt = listed.find((p) => p.kind === 'prompt');
    const config = listed.find((p) => p.kind === 'config');
    assert.ok(prompt && config, `both kinds: ${JSON.stringify(listed.map((p) => p.kind))}`);
    assert.equal(prompt.status, 'experimenting');
    assert.equal(config.status, 'proposed');

    const rows = page.locator('[data-testid="proposal-row"]');
    await waitFor(async () => (await rows.count()) === 2, { timeout: 10_000, what: 'the page to list the two proposals' });
    const shownRows = await rows.evaluateAll((els) =>
      els.map((el) => ({ id: el.getAttribute('data-proposal-id'), kind: el.getAttribute('data-kind'), status: el.getAttribute('data-status'), text: el.textContent.replace(/\s+/g, ' ').trim() })),
    );
    assert.deepEqual(shownRows.map((r) => r.id), listed.map((p) => p.id), 'the rows are the server\'s, newest first');
    for (const r of shownRows) {
      const p = listed.find((x) => x.id === r.id);
      assert.equal(r.status, p.status);
      assert.ok(r.text.includes(AGENT) && r.text.includes(p.kind) && r.text.includes(p.risk) && r.text.includes(p.summary), `the row shows agent, kind, risk and summary: ${r.text}`);
    }

    // The prompt proposal: its diff, its experiment, its evidence.
    await page.locator(`[data-testid="proposal-row"][data-proposal-id="${prompt.id}"] [data-testid="proposal-link"]`).click();
    await page.waitForFunction((x) => location.hash === `#/proposals/${x}`, prompt.id, { timeout: 5_000 });
    const detail = page.locator(`[data-testid="proposal-detail"][data-proposal-id="${prompt.id}"]`);
    await detail.waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="proposal-diff"]').waitFor({ timeout: 10_000 });
    const diff = await server.get(`/prompt-versions/${prompt.parent_version}/diff?to=${prompt.prompt_version}`);
    const shownDiff = await page.evaluate(readDiff);
    console.log(`# page diff: ${JSON.stringify(shownDiff)}`);
    assert.deepEqual(shownDiff, diff.lines.map((l) => [l.op, l.line]), 'the diff is the server\'s, line by line');
    assert.equal(prompt.parent_version, v1.id, 'derived from v1');
    assert.ok(shownDiff.some(([op, line]) => op === 'added' && line.includes(`[${TAG}:v2]`)), 'v2\'s line is added');
    assert.ok(shownDiff.some(([op, line]) => op === 'removed' && line.includes(v1Marker)), 'v1\'s line is removed');
    assert.ok(shownDiff.some(([op, line]) => op === 'same' && line === KEEP), 'the must-keep clause stays');

    const exp = page.locator('[data-testid="proposal-experiment"]');
    assert.equal(await exp.getAttribute('href'), `#/experiments/${prompt.experiment}`, 'the experiment links to the Experiments panel');
    assert.equal((await page.locator('[data-testid="proposal-rationale"]').textContent()).trim(), 'the hard cases were refused');
    assert.equal((await page.locator('[data-testid="proposal-expected-effect"]').textContent()).trim(), 'success from 50 % to 100 %');

    const cited = await page.locator('[data-testid="proposal-evidence-task"]').evaluateAll((els) =>
      els.map((el) => ({ id: el.getAttribute('data-task-id'), href: el.getAttribute('href') })),
    );
    assert.deepEqual(cited.map((c) => c.id).sort(), failed, 'the cited tasks are the failed ones');
    for (const c of cited) assert.equal(c.href, `#/task/${c.id}`, 'each cited task links to the task view');

    const shown = await page.locator('[data-testid="proposal-metrics-row"]').evaluateAll((els) =>
      els.map((el) => ({
        key: el.getAttribute('data-key'),
        tasks: Number(el.querySelector('[data-testid="metrics-tasks"]').textContent),
        succeeded: Number(el.querySelector('[data-testid="metrics-succeeded"]').textContent),
        dead: Number(el.querySelector('[data-testid="metrics-dead-lettered"]').textContent),
      })),
    );
    const full = await server.get(`/proposals/${prompt.id}`);
    console.log(`# evidence metrics: ${JSON.stringify(full.evidence.metrics.map((m) => [m.key, m.tasks, m.succeeded, m.dead_lettered]))}`);
    assert.deepEqual(
      shown,
      full.evidence.metrics.map((m) => ({ key: m.key ?? '', tasks: m.tasks, succeeded: m.succeeded, dead: m.dead_lettered })),
      'the metrics table is the evidence\'s snapshot',
    );
    // Six tasks in all, three of them dead-lettered (a dead letter has no
    // result, so no prompt version: those count under no version).
    const sum = (f) => shown.reduce((n, m) => n + m[f], 0);
    assert.deepEqual([sum('tasks'), sum('succeeded'), sum('dead')], [6, 3, 3], 'the six tasks, three failed');
    assert.ok(shown.some((m) => m.key === v1.id), 'v1 has a row');

    assert.equal(await page.locator('[data-testid="proposal-approve"]').count(), 0, 'no Approve while it is being tried');
    assert.equal(await page.locator('[data-testid="proposal-reject"]').count(), 1, 'Reject while it is being tried');
    assert.deepEqual(await axeText(page), [], 'axe-core finds nothing serious in a prompt proposal');

    // A cited task opens the task view the dashboard has; back returns here.
    await page.locator(`[data-testid="proposal-evidence-task"][data-task-id="${failed[0]}"]`).click();
    await page.waitForFunction((x) => location.hash === `#/task/${x}`, failed[0], { timeout: 5_000 });
    await page.locator('[data-testid="task-detail"]').waitFor({ timeout: 10_000 });
    await page.goBack();
    await detail.waitFor({ timeout: 10_000 });

    // The status filter goes to the server: "proposed" lists the config one only.
    await page.locator('[data-testid="proposals-status"]').selectOption('proposed');
    await waitFor(async () => {
      const ids = await rows.evaluateAll((els) => els.map((el) => el.getAttribute('data-proposal-id')));
      return ids.length === 1 && ids[0] === config.id;
    }, { timeout: 10_000, what: 'the filter to list the config proposal only' });

    // The config proposal: its change, then an approval — refused for its
    // author, accepted for bob.
    await page.locator(`[data-testid="proposal-row"][data-proposal-id="${config.id}"] [data-testid="proposal-link"]`).click();
    const cdetail = page.locator(`[data-testid="proposal-detail"][data-proposal-id="${config.id}"]`);
    await cdetail.waitFor({ timeout: 10_000 });
    assert.deepEqual(JSON.parse(await page.locator('[data-testid="proposal-change"]').textContent()), config.change, 'the change is the server\'s JSON');
    assert.equal(await page.locator('[data-testid="proposal-diff"]').count(), 0, 'no diff for a config change');
    assert.equal(await page.locator('[data-testid="proposal-reject"]').count(), 1);
    const dialog = page.locator('[data-testid="confirm-dialog"]');

    await page.locator('[data-testid="proposal-approve"]').click();
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await page.locator('[data-testid="confirm-input-by"]').fill('meta-agent');
    await page.locator('[data-testid="confirm-yes"]').click();
    const refusal = page.locator('[data-testid="proposal-action-error"]');
    await refusal.waitFor({ timeout: 10_000 });
    assert.match(await refusal.textContent(), /other than its author/, 'the server\'s refusal is shown');
    assert.equal((await server.get(`/proposals/${config.id}`)).status, 'proposed', 'still proposed');

    await page.locator('[data-testid="proposal-approve"]').click();
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await page.locator('[data-testid="confirm-input-by"]').fill('bob');
    await page.locator('[data-testid="confirm-yes"]').click();
    await page.locator('[data-testid="proposal-status"][data-status="approved"]').waitFor({ timeout: 10_000 });
    const approved = await server.get(`/proposals/${config.id}`);
    assert.equal(approved.status, 'approved');
    assert.equal(approved.decided_by, 'bob');
    assert.equal((await page.locator('[data-testid="proposal-decided-by"]').textContent()).trim(), 'bob');
    assert.equal(await page.locator('[data-testid="proposal-approve"]').count(), 0, 'no Approve once approved');
    assert.equal(await page.locator('[data-testid="proposal-reject"]').count(), 0, 'no Reject once approved');
    assert.deepEqual(await axeText(page), [], 'axe-core finds nothing serious in a config proposal');

    // All statuses again: the config row says approved.
    await page.locator('[data-testid="proposals-status"]').selectOption('');
    await page.locator(`[data-testid="proposal-row"][data-proposal-id="${config.id}"][data-status="approved"]`).waitFor({ timeout: 10_000 });

    // Reject the prompt proposal with a reason: its experiment stops.
    await page.locator(`[data-testid="proposal-row"][data-proposal-id="${prompt.id}"] [data-testid="proposal-link"]`).click();
    await detail.waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="proposal-reject"]').click();
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    assert.equal(await page.locator('[data-testid="confirm-input-by"]').inputValue(), 'bob', 'the operator\'s name is offered again');
    await page.locator('[data-testid="confirm-input-reason"]').fill('not now');
    await page.locator('[data-testid="confirm-yes"]').click();
    await page.locator('[data-testid="proposal-status"][data-status="rejected"]').waitFor({ timeout: 10_000 });
    assert.equal((await page.locator('[data-testid="proposal-decision-reason"]').textContent()).trim(), 'not now');
    const rejected = await server.get(`/proposals/${prompt.id}`);
    assert.equal(rejected.status, 'rejected');
    assert.equal(rejected.decision_reason, 'not now');
    const stopped = await server.get(`/experiments/${prompt.experiment}`);
    assert.equal(stopped.experiment.status, 'finished', 'rejecting it stopped its experiment');

    // At 390×844: no page overflow, nothing serious for axe-core.
    await page.setViewportSize({ width: 390, height: 844 });
    await sleep(300);
    const { sw, iw } = await page.evaluate(() => ({ sw: document.documentElement.scrollWidth, iw: innerWidth }));
    assert.ok(sw <= iw, `no page overflow at 390×844: scrollWidth ${sw} > innerWidth ${iw}`);
    assert.deepEqual(await axeText(page), [], 'axe-core finds nothing serious at 390×844');
  } finally {
    await page.context().close();
  }
});

test('With no [meta_agent], "Run meta-agent" shows the server\'s 409', async () => {
  const bare = await new Server().start();
  const page = await newPage(browser, { label: 'proposals-bare' });
  try {
    await openDashboard(page, bare, '#/proposals');
    await page.locator('[data-testid="proposals-empty"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="meta-run-agent"]').fill('someone');
    const submit = page.locator('[data-testid="meta-run-submit"]');
    assert.equal((await submit.textContent()).trim(), 'Run meta-agent on someone');
    await submit.click();
    const err = page.locator('[data-testid="meta-run-error"]');
    await err.waitFor({ timeout: 10_000 });
    const text = await err.textContent();
    const direct = await bare.call('POST', '/meta/runs', { agent: 'someone' });
    assert.equal(direct.status, 409);
    assert.ok(text.includes('409') && text.includes(direct.body.error.message), `the server's message is shown: ${text}`);
    assert.match(text, /no meta-agent is configured/);
    assert.deepEqual(await axeText(page), [], 'axe-core finds nothing serious with the error shown');
  } finally {
    await page.context().close();
    await bare.dispose();
  }
});
