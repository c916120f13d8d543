// The changes view, on a real change set through the self-modifier's gates:
// `hive serve` with a token, an `[[approvers]]` entry and a
// `[[repositories]]` entry pointing at a fixture git repository made here
// (a shell adder with its test; `src/auth/**` critical). A patch adding
// src/auth/k.sh (made with git in a scratch clone) is proposed over HTTP
// with the page open: its row must appear from the change events alone and
// reach "awaiting approval"; its gates show as steps (tests passed, the
// output expandable and the server's; the benchmark skipped: the policy has
// none; review waiting), its file with +1 −0 and the static gate's critical
// path. Approve with the plain token shows the server's 403 (the tab stays
// signed in), a wrong token its 401 (still signed in); the approver's token
// approves: the page follows it to "done" with the decision by the
// approver, the target branch holds the file, and the token was neither
// kept in the page nor in storage. Revert (by a name, with a reason) makes
// it "reverted". axe-core at desktop size and at 390×844, with no overflow.
import { after, before, test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { Server, axeSerious, launch, newPage, openDashboard, sleep, waitConnection, waitFor } from './harness.mjs';

const TOKEN = 'changes-web-plain-token-0123456789';
const APPROVER = 'carol';
const APPROVER_TOKEN = 'changes-web-approver-token-0123456789';
const GIT_ID = ['-c', 'user.name=web-test', '-c', 'user.email=web-test@localhost'];

let server;
let browser;
let repo;
let patch;

function git(cwd, ...args) {
  return execFileSync('git', [...GIT_ID, ...args], { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
}

function write(dir, rel, text) {
  fs.mkdirSync(path.dirname(path.join(dir, rel)), { recursive: true });
  fs.writeFileSync(path.join(dir, rel), text);
}

before(async () => {
  browser = await launch();
  server = new Server({ token: TOKEN });
  // The fixture repository, committed on main.
  repo = path.join(server.dir, 'repo');
  fs.mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  write(repo, 'src/add.sh', 'echo $(( $1 + $2 ))\n');
  write(repo, 'tests/test_add.sh', '[ "$(sh src/add.sh 2 3)" = 5 ]\n');
  write(repo, 'run-tests.sh', 'for t in tests/*.sh; do sh "$t" || exit 1; done\n');
  write(repo, 'hive-policy.toml', 'allowed = ["src/**", "tests/**"]\ncritical = ["src/auth/**"]\n\n[test]\ncommand = ["sh", "run-tests.sh"]\n');
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'the adder and its test');
  // The change, as git prints it, made in a scratch clone.
  const scratch = path.join(server.dir, 'scratch');
  git(server.dir, 'clone', '-q', repo, scratch);
  write(scratch, 'src/auth/k.sh', 'echo "key: $1"\n');
  git(scratch, 'add', '-A');
  patch = git(scratch, 'diff', '--cached');
  assert.match(patch, /\+\+\+ b\/src\/auth\/k\.sh/);
  // `hive serve` reads ./hive.toml (its working directory is the server's
  // temp dir); it holds a token, so only its owner may read it.
  const toml = path.join(server.dir, 'hive.toml');
  fs.writeFileSync(
    toml,
    `[[approvers]]
name = "${APPROVER}"
token = "${APPROVER_TOKEN}"

[[repositories]]
name = "fixture"
path = "repo"
`,
  );
  fs.chmodSync(toml, 0o600);
  await server.start();
});
after(async () => {
  await browser?.close();
  await server?.dispose();
});

const axeText = async (page) => (await axeSerious(page)).map((v) => `${v.id}: ${v.help} ${JSON.stringify(v.nodes)}`);

/** The gates as the page shows them: step → {state, summaries}. */
const readSteps = () =>
  Object.fromEntries(
    __test.tid('change-step').map((li) => [
      li.getAttribute('data-step'),
      {
        state: li.getAttribute('data-state'),
        summaries: __test.tid('change-step-summary', li).map((s) => s.textContent.trim()),
      },
    ]),
  );

test('The changes view follows a critical change set live, shows its gates, diff and decision, refuses an approval without the approver scope with the server\'s 403, approves with the approver\'s token and reverts it', async () => {
  const page = await newPage(browser, { label: 'changes' });
  try {
    await openDashboard(page, server, '#/changes', { token: TOKEN });
    await waitConnection(page, 'live');
    await page.locator('[data-testid="changes-empty"]').waitFor({ timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="nav-changes"]').getAttribute('aria-current'), 'page', 'the navigation marks Changes');
    assert.deepEqual(
      await page.locator('[data-testid="changes-repository"] option').evaluateAll((els) => els.map((e) => e.value)),
      ['', 'fixture'],
      'the repository filter offers GET /repositories',
    );

    // Proposed over HTTP with the page open: the row comes from the events.
    const proposed = await server.call(
      'POST',
      '/changes',
      { repository: 'fixture', title: 'a key script', source: { kind: 'patch', patch } },
      { expect: 201 },
    );
    const id = proposed.body.id;
    const row = page.locator(`[data-testid="change-row"][data-change-id="${id}"]`);
    await row.waitFor({ timeout: 10_000 });
    await page.locator(`[data-testid="change-row"][data-change-id="${id}"][data-status="awaiting_approval"]`).waitFor({ timeout: 30_000 });
    const waiting = await server.get(`/changes/${id}`);
    assert.equal(waiting.status, 'awaiting_approval', `the server agrees: ${waiting.status} (${waiting.reason ?? ''})`);
    assert.equal(waiting.risk, 'critical');
    const rowText = (await row.textContent()).replace(/\s+/g, ' ').trim();
    assert.ok(
      ['a key script', 'fixture', 'awaiting approval', 'review', 'critical', '+1', '−0'].every((s) => rowText.includes(s)),
      `the row shows title, repository, status, step, risk and lines: ${rowText}`,
    );
    assert.equal(await row.getAttribute('data-step'), waiting.step);

    // Its detail: the gates, the file, the static verdict.
    await row.locator('[data-testid="change-link"]').click();
    await page.waitForFunction((x) => location.hash === `#/changes/${x}`, id, { timeout: 5_000 });
    const detail = page.locator(`[data-testid="change-detail"][data-change-id="${id}"]`);
    await detail.waitFor({ timeout: 10_000 });
    const steps = await page.evaluate(readSteps);
    console.log(`# steps while waiting: ${JSON.stringify(steps)}`);
    for (const step of ['prepare', 'generate', 'static_gate', 'tests']) assert.equal(steps[step].state, 'passed', `${step} passed`);
    assert.equal(steps.bench.state, 'skipped', 'no benchmark in the policy');
    assert.equal(steps.review.state, 'waiting', 'review waits for an approver');
    assert.equal(steps.merge.state, 'pending');
    for (const l of waiting.logs) assert.ok(steps[l.step].summaries.includes(l.summary), `${l.step} shows the server's summary "${l.summary}"`);
    assert.equal(await page.locator('[data-testid="change-bench-none"]').count(), 1, 'the benchmark panel says there is none');

    // The tests' output, expanded, is the server's.
    const testsLog = waiting.logs.find((l) => l.step === 'tests');
    const testsStep = page.locator('[data-testid="change-step"][data-step="tests"]');
    const output = testsStep.locator('[data-testid="change-step-output"]');
    assert.equal(await output.isVisible(), false, 'the output starts folded');
    await testsStep.locator('[data-testid="change-step-output-toggle"] summary').click();
    await output.waitFor({ state: 'visible', timeout: 5_000 });
    assert.equal(await output.textContent(), testsLog.output, 'the output is the log\'s');

    const files = await page.locator('[data-testid="change-file"]').evaluateAll((els) =>
      els.map((el) => ({
        path: el.getAttribute('data-path'),
        kind: el.getAttribute('data-kind'),
        ins: el.querySelector('[data-testid="change-file-insertions"]').textContent.trim(),
        del: el.querySelector('[data-testid="change-file-deletions"]').textContent.trim(),
      })),
    );
    assert.deepEqual(files, [{ path: 'src/auth/k.sh', kind: 'added', ins: '+1', del: '−0' }], 'the diff statistics per file');
    assert.match(await page.locator('[data-testid="change-verdict-critical"]').textContent(), /src\/auth\/k\.sh: a critical path/);
    assert.equal(await page.locator('[data-testid="change-revert"]').count(), 0, 'no Revert before the merge');
    assert.equal(await page.locator('[data-testid="change-reject"]').count(), 1, 'Reject while it waits');
    assert.deepEqual(await axeText(page), [], 'axe-core finds nothing serious in a change set awaiting approval');

    const dialog = page.locator('[data-testid="confirm-dialog"]');
    const tokenInput = page.locator('[data-testid="confirm-input-token"]');
    const actionError = page.locator('[data-testid="change-action-error"]');

    // The plain token lacks the approver scope: the server's 403, shown.
    await page.locator('[data-testid="change-approve"]').click();
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    assert.equal(await tokenInput.getAttribute('type'), 'password', 'the token is typed unseen');
    await tokenInput.fill(TOKEN);
    await page.locator('[data-testid="confirm-yes"]').click();
    await actionError.waitFor({ timeout: 10_000 });
    const direct = await server.call('POST', `/changes/${id}/approve`, { reason: 'direct' });
    assert.equal(direct.status, 403);
    assert.equal(direct.body.error.code, 'forbidden');
    const shown403 = await actionError.textContent();
    assert.ok(shown403.includes('403') && shown403.includes(direct.body.error.message), `the server's 403 message is shown: ${shown403}`);
    assert.equal((await server.get(`/changes/${id}`)).status, 'awaiting_approval', 'still waiting');

    // A token the server does not know: its 401, and the tab stays signed in.
    await page.locator('[data-testid="change-approve"]').click();
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    assert.equal(await tokenInput.inputValue(), '', 'the token field starts empty');
    await tokenInput.fill('not-a-token-of-this-server');
    await page.locator('[data-testid="confirm-yes"]').click();
    await page.waitForFunction(() => /401/.test(__test.tid('change-action-error')[0]?.textContent ?? ''), null, { timeout: 10_000 });
    assert.equal(await page.locator('[data-testid="signin"]').count(), 0, 'a refused approver token does not sign the tab out');
    await waitConnection(page, 'live');

    // The approver's token: approved, merged, done.
    await page.locator('[data-testid="change-approve"]').click();
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await tokenInput.fill(APPROVER_TOKEN);
    await page.locator('[data-testid="confirm-input-reason"]').fill('the key script is reviewed');
    await page.locator('[data-testid="confirm-yes"]').click();
    await page.locator('[data-testid="change-status"][data-status="done"]').waitFor({ timeout: 30_000 });
    const done = await server.get(`/changes/${id}`);
    assert.equal(done.status, 'done');
    assert.equal(done.decision.by, APPROVER, 'the approver is whom the token names');
    assert.equal(done.decision.reason, 'the key script is reviewed');
    const after = await page.evaluate(readSteps);
    console.log(`# steps when done: ${JSON.stringify(after)}`);
    assert.equal(after.tests.state, 'passed', 'the tests step passed');
    assert.equal(after.merge.state, 'passed', 'the merge step passed');
    assert.equal(after.watch.state, 'skipped', 'no watch in the policy');
    assert.equal((await page.locator('[data-testid="change-decision-by"]').textContent()).trim(), APPROVER);
    assert.equal((await page.locator('[data-testid="change-decision-reason"]').textContent()).trim(), 'the key script is reviewed');
    assert.equal(await page.locator('[data-testid="change-decision"]').getAttribute('data-kind'), 'approved');
    assert.equal((await page.locator('[data-testid="change-rollback-tag"]').textContent()).trim(), done.rollback_tag);
    await page.locator(`[data-testid="change-row"][data-change-id="${id}"][data-status="done"]`).waitFor({ timeout: 10_000 });
    assert.equal(git(repo, 'show', 'main:src/auth/k.sh'), 'echo "key: $1"\n', 'main holds the change');
    // The approver's token went with that one request only.
    assert.equal(await tokenInput.inputValue(), '', 'the dialog keeps no token');
    const stored = await page.evaluate(() => JSON.stringify({ ...sessionStorage }) + JSON.stringify({ ...localStorage }));
    assert.ok(!stored.includes(APPROVER_TOKEN), 'no storage holds the approver token');
    assert.equal(await page.locator('[data-testid="change-approve"]').count(), 0, 'no Approve once done');
    assert.deepEqual(await axeText(page), [], 'axe-core finds nothing serious in a done change set');

    // Revert: a new commit on main undoes it.
    await page.locator('[data-testid="change-revert"]').click();
    await dialog.waitFor({ state: 'visible', timeout: 5_000 });
    await page.locator('[data-testid="confirm-input-by"]').fill('dave');
    await page.locator('[data-testid="confirm-input-reason"]').fill('not needed after all');
    await page.locator('[data-testid="confirm-yes"]').click();
    await page.locator('[data-testid="change-status"][data-status="reverted"]').waitFor({ timeout: 30_000 });
    const reverted = await server.get(`/changes/${id}`);
    assert.equal(reverted.status, 'reverted');
    assert.ok(reverted.revert_commit, 'a revert commit');
    assert.equal((await page.locator('[data-testid="change-reason"]').textContent()).trim(), reverted.reason);
    assert.match(reverted.reason, /dave/);
    assert.throws(() => git(repo, 'show', 'main:src/auth/k.sh'), 'main no longer holds the file');
    await page.locator(`[data-testid="change-row"][data-change-id="${id}"][data-status="reverted"]`).waitFor({ timeout: 10_000 });

    // The status filter goes to the server.
    await page.locator('[data-testid="changes-status"]').selectOption('awaiting_approval');
    await page.locator('[data-testid="changes-empty"]').waitFor({ timeout: 10_000 });
    await page.locator('[data-testid="changes-status"]').selectOption('reverted');
    await row.waitFor({ timeout: 10_000 });

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
