import { html, css, nothing, svg, LitElement } from 'lit';
import { api, errorText, qs } from '../api';
import { reloadOn, shortId, when } from '../base';
import { askAction } from '../confirm';
import { store } from '../store';
import { shared } from '../styles';
import {
  type ArmSummary,
  type Experiment,
  type ExperimentReport,
  type Guardrails,
  type Interval,
} from '../types';

/** Task events after which a running experiment's figures may have moved. */
const TASK_ENDS = ['task.completed', 'task.failed', 'task.dead_lettered'];
/** The report is re-read at most this often while tasks end. */
const REPORT_GAP_MS = 1000;

/** The operator's name as last entered in this page (offered again in the next dialog). */
let operator = '';

function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

function signed(v: number, digits = 3): string {
  if (!Number.isFinite(v)) return v > 0 ? '+∞' : v < 0 ? '−∞' : '—';
  const s = Math.abs(v).toFixed(digits);
  return Number(s) === 0 ? s : `${v < 0 ? '−' : '+'}${s}`;
}

function pct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(1)} %`;
}

/** Where an interval stands against 0: wholly above, wholly below, or across it. */
function side(d: Interval): 'above' | 'below' | 'includes' {
  if (d.lower > 0) return 'above';
  if (d.upper < 0) return 'below';
  return 'includes';
}

const BAR_W = 128;
const BAR_H = 18;

/** The difference's interval as a small horizontal bar on a scale centred on 0 (`half`: the scale's half-width). */
function bar(d: Interval, half: number) {
  const mid = BAR_W / 2;
  const room = mid - 6;
  const clamp = (v: number) => (Number.isFinite(v) ? Math.max(-1, Math.min(1, v / half)) : v > 0 ? 1 : -1);
  const x = (v: number) => mid + clamp(v) * room;
  const s = side(d);
  const label = `difference ${signed(d.estimate)}, interval ${signed(d.lower)} to ${signed(d.upper)}: ${
    s === 'includes' ? 'includes 0' : s === 'above' ? 'excludes 0, above it' : 'excludes 0, below it'
  }`;
  const y = BAR_H / 2;
  return html`<svg class="bar ${s}" data-testid="difference-bar" data-side=${s} viewBox="0 0 ${BAR_W} ${BAR_H}" width=${BAR_W} height=${BAR_H} role="img" aria-label=${label}>
    ${svg`<line class="axis" x1="2" x2=${BAR_W - 2} y1=${y} y2=${y}></line>
      <line class="zero" x1=${mid} x2=${mid} y1="1" y2=${BAR_H - 1}></line>
      <line class="ci" x1=${x(d.lower)} x2=${x(d.upper)} y1=${y} y2=${y}></line>
      <line class="ci" x1=${x(d.lower)} x2=${x(d.lower)} y1=${y - 4} y2=${y + 4}></line>
      <line class="ci" x1=${x(d.upper)} x2=${x(d.upper)} y1=${y - 4} y2=${y + 4}></line>
      <circle class="est" cx=${x(d.estimate)} cy=${y} r="3"></circle>`}
  </svg>`;
}

function guardrails(g: Guardrails): string {
  const parts: string[] = [];
  if (g.max_cost_increase != null) parts.push(`cost at most +${pct(g.max_cost_increase)}`);
  if (g.max_p95_increase != null) parts.push(`p95 run time at most +${pct(g.max_p95_increase)}`);
  if (g.max_error_rate_increase != null) parts.push(`error rate at most +${(g.max_error_rate_increase * 100).toFixed(1)} points`);
  return parts.length ? parts.join('; ') : 'none';
}

function allocation(e: Experiment): string {
  const a = e.allocation;
  const w = Array.isArray(e.weights) && e.weights.length ? ` (now ${e.weights.map((x) => num(x, 2)).join(' / ')})` : '';
  if (a && a.kind === 'thompson') return `Thompson sampling after ${a.burn_in} observations${w}`;
  return `fixed${w}`;
}

class HiveExperiments extends LitElement {
  static styles = [
    shared,
    css`
      .detail { margin-top: 1rem; }
      .head { display: flex; gap: 0.75rem; align-items: baseline; flex-wrap: wrap; }
      .head h3 { margin: 0; overflow-wrap: anywhere; }
      .actions { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; margin: 0.75rem 0; }
      .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 20rem), 1fr)); gap: 0.75rem; margin-top: 0.75rem; align-items: start; }
      td.version { white-space: nowrap; }
      .grid h4 { margin: 0 0 0.4rem; font-size: 0.95rem; }
      td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
      td.diff { white-space: nowrap; font-variant-numeric: tabular-nums; }
      td.diff svg { display: block; margin-top: 0.15rem; }
      tr[aria-current='true'] td { background: var(--code); }
      a[aria-current='true'] { font-weight: 700; }
      .reason { overflow-wrap: anywhere; }
      .bar .axis { stroke: var(--border-strong); stroke-width: 1; }
      .bar .zero { stroke: var(--fg); stroke-width: 1.5; }
      .bar .ci { stroke: var(--c-muted); stroke-width: 2.5; }
      .bar .est { fill: var(--c-muted); }
      .bar.above .ci { stroke: var(--c-ok); }
      .bar.above .est { fill: var(--c-ok); }
      .bar.below .ci { stroke: var(--c-bad); }
      .bar.below .est { fill: var(--c-bad); }
      .x-running, .x-active { color: var(--c-running); }
      .x-awaiting_approval { color: var(--c-warn); }
      .x-watching { color: var(--c-waiting); }
      .x-finished, .x-stopped, .x-inconclusive, .x-futility, .x-futile, .x-exhausted { color: var(--c-muted); }
      .x-winner, .x-kept { color: var(--c-ok); }
      .x-guardrail, .x-rolled_back { color: var(--c-bad); }
    `,
  ];

  private list: Experiment[] | null = null;
  private listError = '';
  private activeOnly = false;
  private sel = '';
  private report: ExperimentReport | null = null;
  private reportError = '';
  private msg = '';
  private actionErr = '';
  private busy = false;
  private listSeq = 0;
  private reportSeq = 0;
  private unsub: (() => void) | undefined;
  private unsubTasks: (() => void) | undefined;
  private taskTimer: ReturnType<typeof setTimeout> | undefined;
  private taskAgain = false;

  /** The selected experiment (`#/experiments/<id>`), or '' for none. */
  set experimentId(v: string) {
    if (v === this.sel) return;
    this.sel = v;
    this.report = null;
    this.reportError = '';
    this.msg = '';
    this.actionErr = '';
    void this.loadReport();
    this.requestUpdate();
  }
  get experimentId(): string {
    return this.sel;
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.loadList();
    // Live: an experiment's own events (started, decided, promoted, kept,
    // rolled back, stopped) and label moves re-read the list and the
    // selected experiment (debounced).
    this.unsub = reloadOn(
      (e) => e.kind.startsWith('experiment.') || e.kind === 'prompt.label_moved',
      150,
      () => {
        void this.loadList();
        void this.loadReport();
      },
    );
    // Its figures move as its tasks end: while the selected experiment is
    // active, a task's end re-reads its report, at most once a second.
    this.unsubTasks = store.onEvent((e) => {
      if (!TASK_ENDS.includes(e.kind)) return;
      const r = this.report;
      if (r && r.experiment.status !== 'finished') this.reportSoon();
    });
  }

  /** Re-reads the report REPORT_GAP_MS after a task ended: at most one read per gap, and always one after the last end. */
  private reportSoon(): void {
    if (this.taskTimer !== undefined) {
      this.taskAgain = true;
      return;
    }
    this.taskTimer = setTimeout(() => {
      this.taskTimer = undefined;
      void this.loadReport();
      if (this.taskAgain) {
        this.taskAgain = false;
        this.reportSoon();
      }
    }, REPORT_GAP_MS);
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsub?.();
    this.unsubTasks?.();
    clearTimeout(this.taskTimer);
    this.taskTimer = undefined;
    this.taskAgain = false;
  }

  private async loadList(): Promise<void> {
    const seq = ++this.listSeq;
    try {
      const rows = await api<Experiment[]>('GET', `/experiments${qs({ active: this.activeOnly ? 'true' : undefined, limit: 200 })}`);
      if (seq !== this.listSeq) return;
      this.list = rows;
      this.listError = '';
    } catch (e) {
      if (seq !== this.listSeq) return;
      this.listError = errorText(e);
    }
    this.requestUpdate();
  }

  private async loadReport(): Promise<void> {
    const id = this.sel;
    const seq = ++this.reportSeq;
    if (!id) return;
    try {
      const r = await api<ExperimentReport>('GET', `/experiments/${encodeURIComponent(id)}`);
      if (seq !== this.reportSeq || id !== this.sel) return;
      this.report = r;
      this.reportError = '';
    } catch (e) {
      if (seq !== this.reportSeq || id !== this.sel) return;
      this.reportError = errorText(e);
    }
    this.requestUpdate();
  }

  private setActiveOnly(on: boolean): void {
    this.activeOnly = on;
    void this.loadList();
  }

  private async stop(x: Experiment): Promise<void> {
    const a = await askAction(
      x.status === 'watching'
        ? `Stop watching ${x.agent}'s promoted ${x.label} prompt? The watch ends with no verdict; the label stays where it is.`
        : `Stop the experiment on ${x.agent}'s ${x.label} prompt? It ends now with the decision “stopped”; no label moves.`,
      [
        { key: 'by', label: 'Your name', required: true, value: operator },
        { key: 'reason', label: 'Reason' },
      ],
      'Stop it',
    );
    if (!a) return;
    operator = a.by;
    await this.act(`/experiments/${encodeURIComponent(x.id)}/stop`, a.reason ? { by: a.by, reason: a.reason } : { by: a.by }, 'Stopped.');
  }

  private async approve(x: Experiment): Promise<void> {
    const winner = x.decision?.arm ?? 'the winner';
    const a = await askAction(
      `Approve moving ${x.agent}'s ${x.label} label to ${winner}? The label moves and the watch begins. The approver must not be ${x.started_by}, who started it.`,
      [{ key: 'by', label: 'Your name', required: true, value: operator === x.started_by ? '' : operator }],
      'Approve',
    );
    if (!a) return;
    operator = a.by;
    await this.act(`/experiments/${encodeURIComponent(x.id)}/approve`, { by: a.by }, 'Approved: the label moved.');
  }

  private async act(path: string, body: unknown, done: string): Promise<void> {
    this.busy = true;
    this.msg = '';
    this.actionErr = '';
    this.requestUpdate();
    try {
      await api<Experiment>('POST', path, body);
      this.msg = done;
    } catch (e) {
      this.actionErr = errorText(e);
    }
    this.busy = false;
    await Promise.all([this.loadReport(), this.loadList()]);
  }

  private renderList() {
    const rows = this.list;
    if (rows === null) return this.listError ? nothing : html`<p class="muted">Loading…</p>`;
    if (rows.length === 0) {
      return html`<p data-testid="experiments-empty">
        No ${this.activeOnly ? 'active ' : ''}experiment. One starts with <span class="mono">hive experiments start</span> or
        <span class="mono">POST /experiments</span>.
      </p>`;
    }
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Experiments">
      <table data-testid="experiments-list">
        <thead>
          <tr><th scope="col">Agent</th><th scope="col">Label</th><th scope="col">Status</th><th scope="col">Decision</th><th scope="col">Arms</th><th scope="col">Started</th></tr>
        </thead>
        <tbody>
          ${rows.map((x) => {
            const current = x.id === this.sel;
            return html`<tr data-testid="experiment-row" data-experiment-id=${x.id} data-status=${x.status} aria-current=${current ? 'true' : 'false'}>
              <td>
                <a href="#/experiments/${x.id}" data-testid="experiment-link" aria-current=${current ? 'true' : 'false'}>${x.agent}</a>
                <span class="mono muted">${shortId(x.id)}</span>
              </td>
              <td>${x.label}</td>
              <td><span class="badge x-${x.status}">${x.status.replace('_', ' ')}</span></td>
              <td>${x.decision ? html`<span class="badge x-${x.decision.kind}">${x.decision.kind}</span>` : '—'}</td>
              <td class="num">${x.arms.length}</td>
              <td>${when(x.created_at)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }

  private armRow(a: ArmSummary, half: number, watch = false) {
    const d = a.difference ?? null;
    return html`<tr data-testid=${watch ? 'experiment-watch-row' : 'arm-row'} data-arm=${a.name} data-state=${a.state}>
      <th scope="row">${watch ? `watch: ${a.name}` : a.name}</th>
      <td class="mono version" title=${a.version}>${shortId(a.version)}</td>
      <td>
        <span class="badge x-${a.state}">${a.state}</span>
        ${a.reason ? html`<div class="reason muted">${a.reason}</div>` : nothing}
      </td>
      <td class="num" data-testid="arm-n">${a.samples}</td>
      <td class="num" data-testid="arm-mean">${num(a.mean)}</td>
      <td class="diff" data-testid="arm-difference">
        ${d
          ? html`<span>${signed(d.estimate)} [${signed(d.lower)}, ${signed(d.upper)}]</span>${bar(d, half)}`
          : a.name === 'control' && !watch
            ? html`<span class="muted">the baseline</span>`
            : html`<span class="muted">not yet</span>`}
      </td>
      <td class="num">${pct(a.success_rate)}</td>
      <td class="num">${pct(a.error_rate)}</td>
      <td class="num">${num(a.tokens_per_task, 1)}</td>
      <td class="num">${num(a.cost_per_task, 4)}</td>
      <td class="num">${a.p95_run_ms ?? '—'}</td>
    </tr>`;
  }

  private renderArms(r: ExperimentReport) {
    const all = r.watch ? [...r.arms, r.watch] : r.arms;
    // One scale for every bar, so the arms' intervals compare at a glance.
    let half = 0;
    for (const a of all) {
      const d = a.difference;
      if (!d) continue;
      for (const v of [d.lower, d.upper, d.estimate]) if (Number.isFinite(v)) half = Math.max(half, Math.abs(v));
    }
    half = half > 0 ? half * 1.05 : 1;
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Arms">
      <table data-testid="experiment-arms">
        <caption class="sr-only">Each arm's figures on the latest look; the difference is the arm's mean minus the control's, with its confidence interval, drawn on a scale centred on 0.</caption>
        <thead>
          <tr>
            <th scope="col">Arm</th><th scope="col">Version</th><th scope="col">State</th><th scope="col" class="num">Observations</th>
            <th scope="col" class="num">Mean (${r.experiment.metric})</th><th scope="col">Difference [interval]</th>
            <th scope="col" class="num">Success</th><th scope="col" class="num">Errors</th><th scope="col" class="num">Tokens / task</th>
            <th scope="col" class="num">USD / task</th><th scope="col" class="num">p95 run ms</th>
          </tr>
        </thead>
        <tbody>
          ${r.arms.map((a) => this.armRow(a, half))}
          ${r.watch ? this.armRow(r.watch, half, true) : nothing}
        </tbody>
      </table>
    </div>`;
  }

  private renderDetail() {
    if (!this.sel) return html`<p class="muted detail">Select an experiment to see its arms.</p>`;
    const r = this.report;
    if (!r) {
      return html`<section class="detail panel" data-testid="experiment-detail" aria-label="Experiment">
        ${this.reportError ? html`<p class="error" role="alert">${this.reportError}</p>` : html`<p class="muted">Loading…</p>`}
      </section>`;
    }
    const x = r.experiment;
    const finished = x.status === 'finished';
    const dec = x.decision ?? null;
    const w = x.watch ?? null;
    return html`<section class="detail panel" data-testid="experiment-detail" data-experiment-id=${x.id} aria-labelledby="exp-title">
      <div class="head">
        <h3 id="exp-title">${x.agent} · ${x.label}</h3>
        <span class="badge x-${x.status}" data-testid="experiment-status" data-status=${x.status}>${x.status.replace('_', ' ')}</span>
        <span class="mono muted">${x.id}</span>
      </div>
      ${this.reportError ? html`<p class="error" role="alert">${this.reportError}</p>` : nothing}
      <div class="actions">
        <button class="danger" data-testid="experiment-stop" ?disabled=${this.busy || finished} @click=${() => void this.stop(x)}>Stop…</button>
        ${x.status === 'awaiting_approval'
          ? html`<button class="primary" data-testid="experiment-approve" ?disabled=${this.busy} @click=${() => void this.approve(x)}>Approve promotion…</button>`
          : nothing}
        ${this.msg ? html`<span role="status">${this.msg}</span>` : nothing}
        ${this.actionErr ? html`<span class="error" role="alert" data-testid="experiment-action-error">${this.actionErr}</span>` : nothing}
      </div>
      <p data-testid="experiment-counts">
        <strong data-testid="experiment-assigned">${r.assigned}</strong> tasks assigned,
        <strong data-testid="experiment-observations">${r.observations}</strong> finished (the observations).
      </p>
      ${this.renderArms(r)}
      <div class="grid">
        <div class="panel" data-testid="experiment-decision" data-kind=${dec ? dec.kind : ''}>
          <h4>Decision</h4>
          ${dec
            ? html`<p><span class="badge x-${dec.kind}" data-testid="experiment-decision-kind">${dec.kind}</span>${dec.arm ? html` · arm <strong>${dec.arm}</strong>` : nothing}</p>
                <p class="reason" data-testid="experiment-decision-reason">${dec.reason}</p>
                <p class="muted">${dec.observations} observations · ${when(dec.at)}</p>`
            : html`<p class="muted">None yet: the test has not decided.</p>`}
        </div>
        <div class="panel" data-testid="experiment-watch" data-verdict=${w?.verdict ?? ''}>
          <h4>Watch after promotion</h4>
          ${w
            ? html`<p>
                  ${w.verdict
                    ? html`<span class="badge x-${w.verdict}" data-testid="experiment-watch-verdict">${w.verdict.replace('_', ' ')}</span>`
                    : x.status === 'watching'
                      ? html`<span class="badge x-watching">watching</span>`
                      : html`<span class="badge x-stopped">ended with no verdict</span>`}
                </p>
                ${w.reason ? html`<p class="reason" data-testid="experiment-watch-reason">${w.reason}</p>` : nothing}
                <dl>
                  <dt>Promoted</dt><dd class="mono" title=${w.promoted}>${shortId(w.promoted)}</dd>
                  <dt>Replaced</dt><dd class="mono" title=${w.replaced}>${shortId(w.replaced)}</dd>
                  <dt>Baseline arm</dt><dd>${w.baseline_arm}</dd>
                  <dt>Since</dt><dd>${when(w.since)}</dd>
                  ${w.at ? html`<dt>Verdict at</dt><dd>${when(w.at)}</dd>` : nothing}
                </dl>`
            : html`<p class="muted">None: nothing was promoted.</p>`}
        </div>
        <div class="panel">
          <h4>Settings</h4>
          <dl>
            <dt>Metric</dt><dd>${x.metric}</dd>
            <dt>α</dt><dd>${x.alpha}</dd>
            <dt>Per arm</dt><dd>${x.min_samples} observations before deciding, ${x.max_samples} at most</dd>
            <dt>Split</dt><dd>${allocation(x)}</dd>
            <dt>Guardrails</dt><dd>${guardrails(x.guardrails ?? {})}</dd>
            <dt>Watch</dt><dd>${x.watch_samples} observations, ${pct(x.watch_holdback)} held back</dd>
            <dt>Seed</dt><dd>${Number.isSafeInteger(x.seed) ? x.seed : 'above 2⁵³, not exact in a browser (hive experiments status shows it)'}</dd>
            <dt>Started by</dt><dd>${x.started_by}${x.approved_by ? ` (approved by ${x.approved_by})` : ''}</dd>
            <dt>Started</dt><dd>${when(x.created_at)}</dd>
            <dt>Updated</dt><dd>${when(x.updated_at)} (revision ${x.revision})</dd>
          </dl>
        </div>
      </div>
    </section>`;
  }

  render() {
    return html`<section data-testid="experiments">
      <h2>Experiments</h2>
      <p class="muted">
        Prompt experiments, newest first, from <span class="mono">GET /experiments</span>; the selected one's figures from
        <span class="mono">GET /experiments/{id}</span>. Both are re-read on experiment events, the figures also as its tasks end.
      </p>
      <div class="row">
        <label><input type="checkbox" data-testid="experiments-active" .checked=${this.activeOnly} @change=${(e: Event) => this.setActiveOnly((e.target as HTMLInputElement).checked)} /> Active only</label>
      </div>
      ${this.listError ? html`<p class="error" role="alert">${this.listError}</p>` : nothing}
      ${this.renderList()}
      ${this.renderDetail()}
    </section>`;
  }
}
customElements.define('hive-experiments', HiveExperiments);
