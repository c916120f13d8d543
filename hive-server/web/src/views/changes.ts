import { html, css, nothing, svg, LitElement } from 'lit';
import { api, errorText, qs } from '../api';
import { shortId, when } from '../base';
import { askAction } from '../confirm';
import { store } from '../store';
import { shared } from '../styles';
import {
  CHANGE_STATUSES,
  CHANGE_STEPS,
  type BenchFigures,
  type ChangeSet,
  type ChangeStatus,
  type ChangeStep,
  type DiffStats,
  type Repository,
  type StaticVerdict,
  type StepLog,
} from '../types';

/** Change events re-read the list (and the selected one, when it is theirs) this long after the last of a burst. */
const RELOAD_DELAY_MS = 150;

/** The operator's name as last entered in this page (offered again in the next dialog). */
let operator = '';

const STEP_TEXT: Record<ChangeStep, string> = {
  prepare: 'Prepare: a worktree from the target’s head',
  generate: 'Generate: the change, committed',
  static_gate: 'Static gate: paths, size, risk',
  tests: 'Tests: restored from the base, sandboxed',
  bench: 'Benchmark: base and candidate, interleaved',
  review: 'Review: an approval when critical',
  merge: 'Merge: fast-forward with a rollback tag',
  watch: 'Watch: the health command after the merge',
};

const STATUS_TEXT: Record<ChangeStatus, string> = {
  running: 'running',
  awaiting_approval: 'awaiting approval',
  watching: 'watching',
  done: 'done',
  rejected: 'rejected',
  reverted: 'reverted',
  failed: 'failed',
};

function statusText(s: string): string {
  return STATUS_TEXT[s as ChangeStatus] ?? s;
}

function stepName(s: string): string {
  return s.replace('_', ' ');
}

function commit(c: string | null | undefined) {
  return c ? html`<span class="mono" title=${c}>${c.slice(0, 10)}</span>` : html`<span class="muted">—</span>`;
}

function fixed(v: number, digits = 3): string {
  return Number.isFinite(v) ? v.toFixed(digits) : '—';
}

function median(xs: number[]): number {
  if (xs.length === 0) return NaN;
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
}

function duration(from: string, to: string): string {
  const ms = Date.parse(to) - Date.parse(from);
  if (!Number.isFinite(ms) || ms < 0) return '';
  if (ms < 1000) return `${ms} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  return `${Math.round(ms / 60_000)} min`;
}

/** What happened to a step no log records, from where the change set stands and its repository's policy. */
function unlogged(c: ChangeSet, step: ChangeStep, repo: Repository | undefined): { state: string; text: string } {
  const at = CHANGE_STEPS.indexOf(c.step);
  const here = CHANGE_STEPS.indexOf(step);
  if (step === c.step && c.status === 'running') return { state: 'running', text: 'running now' };
  if (step === 'bench' && repo && !repo.policy.bench) return { state: 'skipped', text: 'no benchmark in the policy' };
  if (step === 'watch' && repo && !repo.policy.watch) return { state: 'skipped', text: 'no watch in the policy' };
  if (here < at) return { state: 'skipped', text: 'passed over' };
  if (c.status === 'running' || c.status === 'awaiting_approval') return { state: 'pending', text: 'to come' };
  return { state: 'pending', text: 'not reached' };
}

const BAR_W = 280;
const BAR_H = 34;

/**
 * The benchmark's ratio (candidate median / base median) with its interval,
 * on a scale centred on 1.0 (no change), and the allowed slowdown's line at
 * 1 + max_slowdown: the gate refuses only an interval wholly right of it.
 */
function benchBar(b: BenchFigures) {
  const limit = 1 + b.max_slowdown;
  let half = 0;
  for (const v of [b.low, b.high, b.ratio, limit]) if (Number.isFinite(v)) half = Math.max(half, Math.abs(v - 1));
  half = half > 0 ? half * 1.15 : 0.2;
  const mid = BAR_W / 2;
  const room = mid - 8;
  const x = (v: number) => (Number.isFinite(v) ? mid + Math.max(-1, Math.min(1, (v - 1) / half)) * room : v > 0 ? BAR_W - 8 : 8);
  const y = 14;
  const label = `ratio ${fixed(b.ratio)}, ${Math.round(b.confidence * 100)} % interval ${fixed(b.low)} to ${fixed(b.high)}; allowed up to ${fixed(limit)}; ${b.passed ? 'passed' : 'refused: the whole interval is above the allowed slowdown'}`;
  return html`<svg class="bench-bar ${b.passed ? 'ok' : 'bad'}" data-testid="change-bench-bar" data-passed=${String(b.passed)} viewBox="0 0 ${BAR_W} ${BAR_H}" width=${BAR_W} height=${BAR_H} role="img" aria-label=${label}>
    ${svg`<line class="axis" x1="4" x2=${BAR_W - 4} y1=${y} y2=${y}></line>
      <line class="one" x1=${mid} x2=${mid} y1="3" y2=${y + 8}></line>
      <line class="limit" x1=${x(limit)} x2=${x(limit)} y1="1" y2=${y + 10}></line>
      <line class="ci" x1=${x(b.low)} x2=${x(b.high)} y1=${y} y2=${y}></line>
      <line class="ci" x1=${x(b.low)} x2=${x(b.low)} y1=${y - 5} y2=${y + 5}></line>
      <line class="ci" x1=${x(b.high)} x2=${x(b.high)} y1=${y - 5} y2=${y + 5}></line>
      <circle class="est" cx=${x(b.ratio)} cy=${y} r="3.5"></circle>
      <text x=${mid} y=${BAR_H - 1} text-anchor="middle">1.0</text>
      <text x=${x(limit)} y=${BAR_H - 1} text-anchor=${x(limit) > BAR_W - 30 ? 'end' : 'start'} dx="2">${fixed(limit, 2)} allowed</text>`}
  </svg>`;
}

class HiveChanges extends LitElement {
  static styles = [
    shared,
    css`
      .detail { margin-top: 1rem; }
      .head { display: flex; gap: 0.5rem 0.75rem; align-items: baseline; flex-wrap: wrap; }
      .head h3 { margin: 0; overflow-wrap: anywhere; }
      .actions { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; margin: 0.75rem 0; }
      .filters { margin-bottom: 0.75rem; }
      .grid { display: grid; grid-template-columns: minmax(0, 3fr) minmax(0, 2fr); gap: 0.75rem; margin-top: 0.75rem; align-items: start; }
      @media (max-width: 800px) {
        .grid { grid-template-columns: minmax(0, 1fr); }
      }
      .grid h4 { margin: 0 0 0.4rem; font-size: 0.95rem; }
      .wide { grid-column: 1 / -1; }
      td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
      td.title { overflow-wrap: anywhere; min-width: 10rem; }
      td.path { overflow-wrap: anywhere; }
      tr[aria-current='true'] td { background: var(--code); }
      a[aria-current='true'] { font-weight: 700; }
      .reason, .text { overflow-wrap: anywhere; white-space: pre-wrap; }
      .ins { color: var(--c-ok); }
      .del { color: var(--c-bad); }
      ol.steps { list-style: none; margin: 0; padding: 0; }
      ol.steps > li { position: relative; padding: 0 0 0.75rem 1.9rem; }
      ol.steps > li::before { content: ''; position: absolute; left: 0.6rem; top: 1.3rem; bottom: 0; border-left: 2px solid var(--border); }
      ol.steps > li:last-child::before { display: none; }
      .mark { position: absolute; left: 0; top: 0.05rem; width: 1.3rem; height: 1.3rem; border-radius: 50%; display: inline-flex; align-items: center; justify-content: center; font-size: 0.8rem; font-weight: 700; border: 2px solid currentColor; background: var(--panel); }
      .step-head { display: flex; gap: 0.25rem 0.6rem; flex-wrap: wrap; align-items: baseline; }
      .step-head strong { font-weight: 600; }
      .run { margin-top: 0.2rem; }
      .run + .run { margin-top: 0.4rem; }
      .run .summary { overflow-wrap: anywhere; }
      details summary { cursor: pointer; color: var(--link); margin: 0.2rem 0; }
      .st-passed { color: var(--c-ok); }
      .st-failed { color: var(--c-bad); }
      .st-running { color: var(--c-running); }
      .st-waiting { color: var(--c-warn); }
      .st-skipped, .st-pending { color: var(--c-muted); }
      .c-running { color: var(--c-running); }
      .c-awaiting_approval { color: var(--c-warn); }
      .c-watching { color: var(--c-waiting); }
      .c-done { color: var(--c-ok); }
      .c-rejected, .c-reverted { color: var(--c-muted); }
      .c-failed { color: var(--c-bad); }
      .r-normal { color: var(--c-muted); }
      .r-critical { color: var(--c-bad); }
      .f-added { color: var(--c-ok); }
      .f-deleted { color: var(--c-bad); }
      .f-modified, .f-renamed, .f-type_changed { color: var(--c-running); }
      ul.plain { margin: 0.2rem 0 0.4rem; padding-left: 1.2rem; }
      ul.plain li { overflow-wrap: anywhere; }
      .bench-bar { display: block; margin: 0.4rem 0; max-width: 100%; }
      .bench-bar .axis { stroke: var(--border-strong); stroke-width: 1; }
      .bench-bar .one { stroke: var(--fg); stroke-width: 1.5; }
      .bench-bar .limit { stroke: var(--c-warn); stroke-width: 1.5; stroke-dasharray: 3 2; }
      .bench-bar .ci { stroke: var(--c-ok); stroke-width: 3; }
      .bench-bar .est { fill: var(--c-ok); }
      .bench-bar.bad .ci { stroke: var(--c-bad); }
      .bench-bar.bad .est { fill: var(--c-bad); }
      .bench-bar text { font-size: 9px; fill: var(--fg); }
    `,
  ];

  private list: ChangeSet[] | null = null;
  private listError = '';
  private repos: Repository[] = [];
  private repository = '';
  private status: ChangeStatus | '' = '';
  private sel = '';
  private change: ChangeSet | null = null;
  private detailError = '';
  private msg = '';
  private actionErr = '';
  private busy = false;
  private listSeq = 0;
  private detailSeq = 0;
  private unsubEvents: (() => void) | undefined;
  private unsubStore: (() => void) | undefined;
  private timer: ReturnType<typeof setTimeout> | undefined;
  private detailDue = false;
  private resyncs = 0;

  /** The selected change set (`#/changes/<id>`), or '' for none. */
  set changeId(v: string) {
    if (v === this.sel) return;
    this.sel = v;
    this.change = null;
    this.detailError = '';
    this.msg = '';
    this.actionErr = '';
    void this.loadDetail();
    this.requestUpdate();
  }
  get changeId(): string {
    return this.sel;
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.loadRepositories();
    void this.loadList();
    // Live: every change.* event (subject: the change set) re-reads the
    // list, and the selected change set when the event is about it —
    // debounced, so a burst of steps costs one read. A resync of the
    // store (events were lost) re-reads both. Nothing is polled.
    this.unsubEvents = store.onEvent((e) => {
      if (!e.kind.startsWith('change.')) return;
      if (e.subject === this.sel) this.detailDue = true;
      clearTimeout(this.timer);
      this.timer = setTimeout(() => {
        const detail = this.detailDue;
        this.detailDue = false;
        void this.loadList();
        if (detail) void this.loadDetail();
      }, RELOAD_DELAY_MS);
    });
    this.resyncs = store.resyncs;
    this.unsubStore = store.subscribe(() => {
      if (store.resyncs === this.resyncs) return;
      this.resyncs = store.resyncs;
      void this.reload();
    });
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubEvents?.();
    this.unsubStore?.();
    clearTimeout(this.timer);
    this.timer = undefined;
    this.detailDue = false;
  }

  private async reload(): Promise<void> {
    await Promise.all([this.loadList(), this.loadDetail()]);
  }

  private async loadRepositories(): Promise<void> {
    try {
      this.repos = await api<Repository[]>('GET', '/repositories');
    } catch (e) {
      this.listError = `repositories: ${errorText(e)}`;
    }
    this.requestUpdate();
  }

  private async loadList(): Promise<void> {
    const seq = ++this.listSeq;
    try {
      const rows = await api<ChangeSet[]>('GET', `/changes${qs({ repository: this.repository, status: this.status, limit: 200 })}`);
      if (seq !== this.listSeq) return;
      this.list = rows;
      this.listError = '';
    } catch (e) {
      if (seq !== this.listSeq) return;
      this.listError = errorText(e);
    }
    this.requestUpdate();
  }

  private async loadDetail(): Promise<void> {
    const id = this.sel;
    const seq = ++this.detailSeq;
    if (!id) return;
    try {
      const c = await api<ChangeSet>('GET', `/changes/${encodeURIComponent(id)}`);
      if (seq !== this.detailSeq || id !== this.sel) return;
      this.change = c;
      this.detailError = '';
    } catch (e) {
      if (seq !== this.detailSeq || id !== this.sel) return;
      this.detailError = errorText(e);
    }
    this.requestUpdate();
  }

  private setRepository(v: string): void {
    this.repository = this.repos.some((r) => r.name === v) ? v : '';
    void this.loadList();
  }

  private setStatus(v: string): void {
    this.status = (CHANGE_STATUSES as string[]).includes(v) ? (v as ChangeStatus) : '';
    void this.loadList();
  }

  private async approve(c: ChangeSet): Promise<void> {
    const a = await askAction(
      `Approve “${c.title}” for ${c.repository}? It then merges into ${c.target}. Approving needs an approver's token (an [[approvers]] entry of hive.toml): it is sent with this one request and not kept.`,
      [
        { key: 'token', label: 'Approver token', required: true, type: 'password' },
        { key: 'reason', label: 'Reason' },
      ],
      'Approve',
    );
    if (!a) return;
    // The approver is whoever the token names; the tab's own token is not sent.
    await this.act(c, 'approve', { reason: a.reason }, 'Approved: on to its merge.', a.token);
  }

  private async reject(c: ChangeSet): Promise<void> {
    const a = await askAction(
      c.status === 'running'
        ? `Reject “${c.title}” while its gates run? It stops; ${c.target} never moves.`
        : `Reject “${c.title}”? It will not merge; ${c.target} never moves.`,
      [
        { key: 'by', label: 'Your name', required: true, value: operator },
        { key: 'reason', label: 'Reason', required: true },
      ],
      'Reject',
    );
    if (!a) return;
    operator = a.by;
    await this.act(c, 'reject', { by: a.by, reason: a.reason }, 'Rejected.');
  }

  private async revert(c: ChangeSet): Promise<void> {
    const a = await askAction(
      `Revert “${c.title}”? A new commit on ${c.target} undoes it (history is not rewritten).`,
      [
        { key: 'by', label: 'Your name', required: true, value: operator },
        { key: 'reason', label: 'Reason', required: true },
      ],
      'Revert',
    );
    if (!a) return;
    operator = a.by;
    await this.act(c, 'revert', { by: a.by, reason: a.reason }, 'Reverted.');
  }

  private async act(c: ChangeSet, verb: 'approve' | 'reject' | 'revert', body: unknown, done: string, token?: string): Promise<void> {
    this.busy = true;
    this.msg = '';
    this.actionErr = '';
    this.requestUpdate();
    try {
      const path = `/changes/${encodeURIComponent(c.id)}/${verb}`;
      const saved =
        token === undefined
          ? await api<ChangeSet>('POST', path, body)
          : await api<ChangeSet>('POST', path, body, token, { keepSession: true });
      if (saved && saved.id === this.sel) this.change = saved;
      this.msg = done;
    } catch (e) {
      this.actionErr = errorText(e);
    }
    this.busy = false;
    await this.reload();
  }

  private renderList() {
    const rows = this.list;
    if (rows === null) return this.listError ? nothing : html`<p class="muted">Loading…</p>`;
    if (rows.length === 0) {
      const filtered = this.status || this.repository;
      return html`<p data-testid="changes-empty">
        No ${filtered ? 'such ' : ''}change set${this.repos.length === 0
          ? html`, and no repository the self-modifier may change: they are declared as <span class="mono">[[repositories]]</span> in hive.toml`
          : html`. One starts with <span class="mono">hive changes propose</span> or <span class="mono">POST /changes</span>`}.
      </p>`;
    }
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Change sets">
      <table data-testid="changes-list">
        <thead>
          <tr>
            <th scope="col">Title</th><th scope="col">Repository</th><th scope="col">Status</th><th scope="col">Step</th>
            <th scope="col">Risk</th><th scope="col" class="num">Lines</th><th scope="col">Updated</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map((c) => {
            const current = c.id === this.sel;
            return html`<tr data-testid="change-row" data-change-id=${c.id} data-status=${c.status} data-step=${c.step} data-risk=${c.risk ?? ''} aria-current=${current ? 'true' : 'false'}>
              <td class="title">
                <a href="#/changes/${c.id}" data-testid="change-link" aria-current=${current ? 'true' : 'false'}>${c.title}</a>
                <span class="mono muted">${shortId(c.id)}</span>
              </td>
              <td>${c.repository} <span class="muted">→ ${c.target}</span></td>
              <td><span class="badge c-${c.status}" data-testid="change-row-status">${statusText(c.status)}</span></td>
              <td data-testid="change-row-step">${stepName(c.step)}</td>
              <td>${c.risk ? html`<span class="badge r-${c.risk}">${c.risk}</span>` : html`<span class="muted">—</span>`}</td>
              <td class="num" data-testid="change-row-lines">
                ${c.diff
                  ? html`<span class="ins">+${c.diff.insertions}</span> <span class="del">−${c.diff.deletions}</span>`
                  : html`<span class="muted">—</span>`}
              </td>
              <td>${when(c.updated_at)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }

  private renderRun(l: StepLog, multiple: boolean) {
    const time = duration(l.started_at, l.finished_at);
    return html`<div class="run" data-testid="change-step-run" data-attempt=${l.attempt} data-passed=${String(l.passed)}>
      <span class="summary" data-testid="change-step-summary">${l.summary}</span>
      <span class="muted">${multiple ? `· attempt ${l.attempt} ` : ''}· ${when(l.finished_at)}${time ? ` · ${time}` : ''}</span>
      ${l.output
        ? html`<details data-testid="change-step-output-toggle">
            <summary>Output</summary>
            <pre data-testid="change-step-output">${l.output}</pre>
          </details>`
        : nothing}
    </div>`;
  }

  private renderSteps(c: ChangeSet) {
    const repo = this.repos.find((r) => r.name === c.repository);
    return html`<ol class="steps" data-testid="change-steps" aria-label="Gates">
      ${CHANGE_STEPS.map((step) => {
        const logs = c.logs.filter((l) => l.step === step);
        const last = logs[logs.length - 1];
        let state: string;
        let note = '';
        if (last) {
          state = last.passed ? 'passed' : 'failed';
          if (step === c.step && c.status === 'awaiting_approval') {
            state = 'waiting';
            note = 'waiting for an approver';
          } else if (step === c.step && c.status === 'running' && last.passed) {
            state = 'running';
            note = 'running again';
          } else if (step === c.step && c.status === 'watching') {
            state = 'running';
            note = 'watching';
          } else if (step === 'review' && c.decision && c.status !== 'rejected') {
            // Its log was written when the wait began; the approval is the decision.
            note = `approved by ${c.decision.by}`;
          }
        } else {
          const u = unlogged(c, step, repo);
          state = u.state;
          note = u.text;
        }
        const mark = { passed: '✓', failed: '✗', running: '…', waiting: '!', skipped: '–', pending: '' }[state] ?? '';
        const word = { passed: 'passed', failed: 'failed', running: 'running', waiting: 'waiting', skipped: 'skipped', pending: 'not run' }[state] ?? state;
        return html`<li data-testid="change-step" data-step=${step} data-state=${state} aria-current=${step === c.step ? 'step' : 'false'}>
          <span class="mark st-${state}" aria-hidden="true">${mark}</span>
          <div class="step-head">
            <strong>${STEP_TEXT[step]}</strong>
            <span class="badge st-${state}" data-testid="change-step-state">${word}</span>
            ${note ? html`<span class="muted">${note}</span>` : nothing}
          </div>
          ${logs.map((l) => this.renderRun(l, logs.length > 1))}
        </li>`;
      })}
    </ol>`;
  }

  private renderDiff(d: DiffStats | null | undefined) {
    if (!d) return html`<p class="muted">Not yet: the change is not committed.</p>`;
    return html`<p data-testid="change-diff-total">
        ${d.files} file${d.files === 1 ? '' : 's'}, <span class="ins">+${d.insertions}</span> <span class="del">−${d.deletions}</span>
      </p>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Files changed">
        <table data-testid="change-files">
          <thead>
            <tr><th scope="col">Path</th><th scope="col">How</th><th scope="col" class="num">Added</th><th scope="col" class="num">Removed</th></tr>
          </thead>
          <tbody>
            ${d.changes.map(
              (f) => html`<tr data-testid="change-file" data-path=${f.path} data-kind=${f.kind}>
                <td class="path mono">${f.old_path && f.old_path !== f.path ? html`${f.old_path} → ` : nothing}${f.path}</td>
                <td>
                  <span class="badge f-${f.kind}">${f.kind.replace('_', ' ')}</span>
                  ${f.symlink ? html` <span class="badge r-critical">symlink</span>` : nothing}
                  ${f.executable ? html` <span class="badge">executable</span>` : nothing}
                  ${f.binary ? html` <span class="badge">binary</span>` : nothing}
                </td>
                <td class="num ins" data-testid="change-file-insertions">+${f.insertions}</td>
                <td class="num del" data-testid="change-file-deletions">−${f.deletions}</td>
              </tr>`,
            )}
          </tbody>
        </table>
      </div>`;
  }

  private renderVerdict(v: StaticVerdict | null | undefined) {
    if (!v) return html`<p class="muted">Not yet.</p>`;
    const list = (title: string, xs: string[], testid: string) =>
      xs.length
        ? html`<div data-testid=${testid}>${title}:<ul class="plain">${xs.map((x) => html`<li class="mono">${x}</li>`)}</ul></div>`
        : nothing;
    return html`<p>
        ${v.refused.length ? html`<span class="badge c-failed">refused</span>` : html`<span class="badge c-done">passed</span>`}
        ${v.lines} line${v.lines === 1 ? '' : 's'} changed
      </p>
      ${list('Refused because', v.refused, 'change-verdict-refused')} ${list('Critical because', v.critical, 'change-verdict-critical')}
      ${list('Tests added (must fail on the base)', v.added_tests, 'change-verdict-added-tests')}
      ${list('Tests changed (restored from the base before running)', v.changed_tests, 'change-verdict-changed-tests')}`;
  }

  private renderBench(c: ChangeSet, repo: Repository | undefined) {
    const b = c.bench;
    if (!b) {
      const why = repo && !repo.policy.bench ? 'No benchmark: the repository’s policy has none.' : 'Not yet measured.';
      return html`<p class="muted" data-testid="change-bench-none">${why}</p>`;
    }
    const limit = 1 + b.max_slowdown;
    return html`<div data-testid="change-bench" data-passed=${String(b.passed)}>
      <p>
        <span class="badge ${b.passed ? 'c-done' : 'c-failed'}">${b.passed ? 'passed' : 'refused'}</span>
        Ratio of medians (candidate / base) <strong data-testid="change-bench-ratio">${fixed(b.ratio)}</strong>,
        ${Math.round(b.confidence * 100)} % interval [<span data-testid="change-bench-low">${fixed(b.low)}</span>,
        <span data-testid="change-bench-high">${fixed(b.high)}</span>]; allowed up to ${fixed(limit)}
        (+${(b.max_slowdown * 100).toFixed(0)} %).
      </p>
      ${benchBar(b)}
      <p class="muted">
        ${b.base_ms.length} base and ${b.candidate_ms.length} candidate runs, interleaved; medians ${fixed(median(b.base_ms), 1)} ms
        and ${fixed(median(b.candidate_ms), 1)} ms. Refused only when the whole interval lies above the allowed line.
      </p>
    </div>`;
  }

  private renderDecision(c: ChangeSet) {
    const d = c.decision;
    // A person's rejection is stored as the decision, with the reason
    // "rejected by <who>: …"; any other decision is an approval (which a
    // later gate may still have stopped).
    const rejected = !!d && c.status === 'rejected' && (c.reason ?? '').startsWith(`rejected by ${d.by}`);
    return html`<div data-testid="change-decision" data-kind=${d ? (rejected ? 'rejected' : 'approved') : ''}>
      ${d
        ? html`<p>
              ${rejected ? 'Rejected' : 'Approved'} by
              <strong data-testid="change-decision-by">${d.by}</strong>, ${when(d.at)}${d.reason ? ':' : ' (no reason given).'}
            </p>
            ${d.reason ? html`<p class="reason" data-testid="change-decision-reason">${d.reason}</p>` : nothing}`
        : c.status === 'awaiting_approval'
          ? html`<p>Waiting for an approver${c.approval_deadline ? html` until <strong>${when(c.approval_deadline)}</strong>; then it is rejected` : nothing}.</p>`
          : html`<p class="muted">No decision by a person${c.risk === 'normal' ? ': normal risk needs none' : ''}.</p>`}
      ${c.reason
        ? html`<p>Why it ${c.status === 'reverted' ? 'was reverted' : c.status === 'failed' ? 'failed' : 'stopped'}:
            <span class="reason" data-testid="change-reason">${c.reason}</span></p>`
        : nothing}
    </div>`;
  }

  private renderDetail() {
    if (!this.sel) return html`<p class="muted detail">Select a change set to see its gates, its diff and its decision.</p>`;
    const c = this.change;
    if (!c) {
      return html`<section class="detail panel" data-testid="change-detail" aria-label="Change set">
        ${this.detailError ? html`<p class="error" role="alert">${this.detailError}</p>` : html`<p class="muted">Loading…</p>`}
      </section>`;
    }
    const repo = this.repos.find((r) => r.name === c.repository);
    const canApprove = c.status === 'awaiting_approval';
    const canReject = c.status === 'awaiting_approval' || c.status === 'running';
    const canRevert = c.status === 'done' || c.status === 'watching';
    return html`<section class="detail panel" data-testid="change-detail" data-change-id=${c.id} data-status=${c.status} aria-labelledby="change-title">
      <div class="head">
        <h3 id="change-title" data-testid="change-title">${c.title}</h3>
        <span class="badge c-${c.status}" data-testid="change-status" data-status=${c.status}>${statusText(c.status)}</span>
        ${c.risk ? html`<span class="badge r-${c.risk}" data-testid="change-risk" data-risk=${c.risk}>${c.risk} risk</span>` : nothing}
      </div>
      <p class="mono muted">${c.id}</p>
      ${this.detailError ? html`<p class="error" role="alert">${this.detailError}</p>` : nothing}
      ${canApprove || canReject || canRevert || this.msg || this.actionErr
        ? html`<div class="actions">
            ${canApprove
              ? html`<button class="primary" data-testid="change-approve" ?disabled=${this.busy} @click=${() => void this.approve(c)}>Approve…</button>`
              : nothing}
            ${canReject
              ? html`<button class="danger" data-testid="change-reject" ?disabled=${this.busy} @click=${() => void this.reject(c)}>Reject…</button>`
              : nothing}
            ${canRevert
              ? html`<button class="danger" data-testid="change-revert" ?disabled=${this.busy} @click=${() => void this.revert(c)}>Revert…</button>`
              : nothing}
            ${this.msg ? html`<span role="status" data-testid="change-action-done">${this.msg}</span>` : nothing}
            ${this.actionErr ? html`<span class="error" role="alert" data-testid="change-action-error">${this.actionErr}</span>` : nothing}
          </div>`
        : nothing}
      <dl>
        <dt>Repository</dt><dd>${c.repository}, into <span class="mono">${c.target}</span> from <span class="mono">${c.branch}</span></dd>
        ${c.description ? html`<dt>Description</dt><dd class="text">${c.description}</dd>` : nothing}
        <dt>Step</dt><dd data-testid="change-step-now">${stepName(c.step)}</dd>
        <dt>Base</dt><dd>${commit(c.base_commit)}</dd>
        <dt>Change</dt><dd>${commit(c.head_commit)}</dd>
        ${c.merged_commit ? html`<dt>Merged</dt><dd>${commit(c.merged_commit)}</dd>` : nothing}
        ${c.rollback_tag ? html`<dt>Rollback tag</dt><dd class="mono" data-testid="change-rollback-tag">${c.rollback_tag}</dd>` : nothing}
        ${c.revert_commit ? html`<dt>Revert commit</dt><dd>${commit(c.revert_commit)}</dd>` : nothing}
        ${c.proposal ? html`<dt>Proposal</dt><dd><a href="#/proposals/${c.proposal}">${shortId(c.proposal)} in Proposals</a></dd>` : nothing}
        <dt>Asked by</dt><dd>${c.requested_by ?? html`<span class="muted">not named</span>`}, ${when(c.created_at)}</dd>
        <dt>Updated</dt><dd>${when(c.updated_at)} (revision ${c.revision})</dd>
      </dl>
      <div class="grid">
        <div class="panel">
          <h4>Gates</h4>
          ${this.renderSteps(c)}
        </div>
        <div class="panel">
          <h4>Decision</h4>
          ${this.renderDecision(c)}
          <h4>Benchmark</h4>
          ${this.renderBench(c, repo)}
          <h4>Static gate</h4>
          ${this.renderVerdict(c.static_verdict)}
        </div>
        <div class="panel wide" data-testid="change-diff">
          <h4>Files changed</h4>
          ${this.renderDiff(c.diff)}
          <details>
            <summary>${c.source.kind === 'patch' ? 'The patch as proposed' : 'The prompt the coding command was given'}</summary>
            <pre data-testid="change-source">${c.source.kind === 'patch' ? c.source.patch : c.source.prompt}</pre>
          </details>
        </div>
      </div>
    </section>`;
  }

  render() {
    return html`<section data-testid="changes">
      <h2>Changes</h2>
      <p class="muted">
        The self-modifier's change sets, newest first, from <span class="mono">GET /changes</span>; the selected one with its
        gates' logs from <span class="mono">GET /changes/{id}</span>. Both are re-read on <span class="mono">change.*</span> events
        and after every action here.
      </p>
      <div class="row filters">
        <label for="changes-repository">Repository</label>
        <select id="changes-repository" data-testid="changes-repository" @change=${(e: Event) => this.setRepository((e.target as HTMLSelectElement).value)}>
          <option value="" ?selected=${this.repository === ''}>all</option>
          ${this.repos.map((r) => html`<option value=${r.name} ?selected=${this.repository === r.name}>${r.name}</option>`)}
        </select>
        <label for="changes-status">Status</label>
        <select id="changes-status" data-testid="changes-status" @change=${(e: Event) => this.setStatus((e.target as HTMLSelectElement).value)}>
          <option value="" ?selected=${this.status === ''}>all</option>
          ${CHANGE_STATUSES.map((s) => html`<option value=${s} ?selected=${this.status === s}>${statusText(s)}</option>`)}
        </select>
        <button data-testid="changes-refresh" @click=${() => void this.reload()}>Re-read</button>
      </div>
      ${this.listError ? html`<p class="error" role="alert">${this.listError}</p>` : nothing}
      ${this.renderList()}
      ${this.renderDetail()}
    </section>`;
  }
}
customElements.define('hive-changes', HiveChanges);
