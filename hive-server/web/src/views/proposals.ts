import { html, css, nothing, LitElement } from 'lit';
import { api, errorText, qs } from '../api';
import { json, reloadOn, shortId, when } from '../base';
import { askAction } from '../confirm';
import { store } from '../store';
import { shared } from '../styles';
import {
  PROPOSAL_STATUSES,
  type MetaRunReport,
  type OutcomeMetrics,
  type PromptDiff,
  type Proposal,
  type ProposalStatus,
} from '../types';

/** The operator's name as last entered in this page (offered again in the next dialog). */
let operator = '';

function pct(v: number | null | undefined): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return `${(v * 100).toFixed(1)} %`;
}

function num(v: number | null | undefined, digits = 3): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  return v.toFixed(digits);
}

/** What a proposal changes, in words. */
const KIND_TEXT: Record<string, string> = { prompt: 'prompt', config: 'configuration', code: 'code' };

/** Where a proposal stands, in a sentence: who decided and why, as the server recorded it. */
function standing(p: Proposal) {
  const by = p.decided_by ? html` by <strong data-testid="proposal-decided-by">${p.decided_by}</strong>` : nothing;
  const why = p.decision_reason
    ? html`<span class="reason" data-testid="proposal-decision-reason">${p.decision_reason}</span>`
    : nothing;
  switch (p.status) {
    case 'proposed':
      return html`Waiting for a person to approve or reject it.${p.decision_reason ? html` ${why}` : nothing}`;
    case 'experimenting':
      return html`Being tried in an experiment${p.decided_by ? html`, approved${by}` : nothing}.${p.decision_reason ? html` ${why}` : nothing}`;
    case 'approved':
      return html`Approved${by}.${p.decision_reason ? html` ${why}` : nothing}`;
    case 'rejected':
      return html`Rejected${by}${p.decision_reason ? html`: ${why}` : html`, with no reason given.`}`;
    case 'refused':
      return html`Refused${by} (the meta-agent's own checks)${p.decision_reason ? html`: ${why}` : nothing}`;
    default:
      return html`${p.status}${by}${p.decision_reason ? html`: ${why}` : nothing}`;
  }
}

class HiveProposals extends LitElement {
  static styles = [
    shared,
    css`
      .detail { margin-top: 1rem; }
      .head { display: flex; gap: 0.5rem 0.75rem; align-items: baseline; flex-wrap: wrap; }
      .head h3 { margin: 0; overflow-wrap: anywhere; }
      .actions { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; margin: 0.75rem 0; }
      .filters { margin-bottom: 0.75rem; }
      .run { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; margin-bottom: 0.75rem; }
      .run label { font-weight: 600; }
      .run input { width: 14rem; }
      .run-result { flex-basis: 100%; margin: 0; overflow-wrap: anywhere; }
      .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 0.75rem; margin-top: 0.75rem; align-items: start; }
      .grid h4 { margin: 0 0 0.4rem; font-size: 0.95rem; }
      .wide { grid-column: 1 / -1; }
      .grid h4.next { margin-top: 0.75rem; }
      td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; white-space: nowrap; }
      td.summary { overflow-wrap: anywhere; min-width: 10rem; }
      tr[aria-current='true'] td { background: var(--code); }
      a[aria-current='true'] { font-weight: 700; }
      .reason, .text { overflow-wrap: anywhere; white-space: pre-wrap; }
      ul.tasks { list-style: none; padding: 0; margin: 0; display: flex; flex-wrap: wrap; gap: 0.25rem 0.75rem; }
      ul.tasks a { overflow-wrap: anywhere; }
      .diff { background: var(--code); border-radius: 6px; padding: 0.4rem 0; max-height: 24rem; overflow: auto; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
      .dl { white-space: pre-wrap; overflow-wrap: anywhere; padding: 0 0.5rem; }
      .dl .op { display: inline-block; width: 1.25em; user-select: none; }
      .dl.added { background: color-mix(in srgb, var(--c-ok) 16%, var(--code)); }
      .dl.removed { background: color-mix(in srgb, var(--c-bad) 16%, var(--code)); text-decoration: line-through; text-decoration-color: var(--c-bad); }
      .k-prompt { color: var(--c-running); }
      .k-config { color: var(--c-pending); }
      .k-code { color: var(--c-waiting); }
      .p-proposed { color: var(--c-warn); }
      .p-experimenting { color: var(--c-running); }
      .p-approved { color: var(--c-ok); }
      .p-rejected { color: var(--c-muted); }
      .p-refused { color: var(--c-bad); }
      .r-low { color: var(--c-ok); }
      .r-medium { color: var(--c-warn); }
      .r-high { color: var(--c-bad); }
    `,
  ];

  private list: Proposal[] | null = null;
  private listError = '';
  private status: ProposalStatus | '' = '';
  private sel = '';
  private proposal: Proposal | null = null;
  private detailError = '';
  private diff: PromptDiff | null = null;
  private diffKey = '';
  private diffError = '';
  private msg = '';
  private actionErr = '';
  private busy = false;
  private runAgent = '';
  private runBusy = false;
  private runReport: MetaRunReport | null = null;
  private runError = '';
  private listSeq = 0;
  private detailSeq = 0;
  private unsub: (() => void) | undefined;

  /** The selected proposal (`#/proposals/<id>`), or '' for none. */
  set proposalId(v: string) {
    if (v === this.sel) return;
    this.sel = v;
    this.proposal = null;
    this.detailError = '';
    this.diff = null;
    this.diffKey = '';
    this.diffError = '';
    this.msg = '';
    this.actionErr = '';
    void this.loadDetail();
    this.requestUpdate();
  }
  get proposalId(): string {
    return this.sel;
  }

  connectedCallback(): void {
    super.connectedCallback();
    void this.loadList();
    // Proposals have no events of their own. What moves them shows as
    // experiment events: a run that writes a prompt proposal starts its
    // experiment, approving a prompt proposal starts one, rejecting one
    // being tried stops it. Those re-read the list and the selected one
    // (debounced); so does every action taken here. Nothing is polled.
    this.unsub = reloadOn(
      (e) => e.kind.startsWith('experiment.'),
      150,
      () => void this.reload(),
    );
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsub?.();
  }

  private async reload(): Promise<void> {
    await Promise.all([this.loadList(), this.loadDetail()]);
  }

  private async loadList(): Promise<void> {
    const seq = ++this.listSeq;
    try {
      const rows = await api<Proposal[]>('GET', `/proposals${qs({ status: this.status, limit: 200 })}`);
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
      const p = await api<Proposal>('GET', `/proposals/${encodeURIComponent(id)}`);
      if (seq !== this.detailSeq || id !== this.sel) return;
      this.proposal = p;
      this.detailError = '';
      void this.loadDiff(p);
    } catch (e) {
      if (seq !== this.detailSeq || id !== this.sel) return;
      this.detailError = errorText(e);
    }
    this.requestUpdate();
  }

  /** A prompt proposal's diff from its parent version (versions do not change: read once per pair). */
  private async loadDiff(p: Proposal): Promise<void> {
    if (p.kind !== 'prompt' || !p.parent_version || !p.prompt_version) return;
    const key = `${p.parent_version}→${p.prompt_version}`;
    if (key === this.diffKey && this.diff) return;
    this.diffKey = key;
    try {
      const d = await api<PromptDiff>(
        'GET',
        `/prompt-versions/${encodeURIComponent(p.parent_version)}/diff${qs({ to: p.prompt_version })}`,
      );
      if (key !== this.diffKey || p.id !== this.sel) return;
      this.diff = d;
      this.diffError = '';
    } catch (e) {
      if (key !== this.diffKey || p.id !== this.sel) return;
      this.diffKey = '';
      this.diffError = errorText(e);
    }
    this.requestUpdate();
  }

  private setStatus(v: string): void {
    this.status = (PROPOSAL_STATUSES as string[]).includes(v) ? (v as ProposalStatus) : '';
    void this.loadList();
  }

  private async approve(p: Proposal): Promise<void> {
    const what =
      p.kind === 'prompt'
        ? `Approve the new prompt for ${p.agent}? Its experiment starts now, with you as its approver.`
        : `Approve the ${KIND_TEXT[p.kind] ?? p.kind} change “${p.summary}” for ${p.agent}? It is marked approved: the server records the decision, it does not apply the change itself.`;
    const a = await askAction(
      `${what} The approver must not be ${p.author}, who wrote it.`,
      [{ key: 'by', label: 'Your name', required: true, value: operator === p.author ? '' : operator }],
      'Approve',
    );
    if (!a) return;
    operator = a.by;
    await this.act(p, 'approve', { by: a.by }, p.kind === 'prompt' ? 'Approved: its experiment started.' : 'Approved.');
  }

  private async reject(p: Proposal): Promise<void> {
    const what =
      p.status === 'experimenting'
        ? `Reject the new prompt for ${p.agent}? Its experiment stops now; no label moves.`
        : `Reject “${p.summary}” for ${p.agent}?`;
    const a = await askAction(
      what,
      [
        { key: 'by', label: 'Your name', required: true, value: operator },
        { key: 'reason', label: 'Reason' },
      ],
      'Reject',
    );
    if (!a) return;
    operator = a.by;
    await this.act(p, 'reject', a.reason ? { by: a.by, reason: a.reason } : { by: a.by }, 'Rejected.');
  }

  private async act(p: Proposal, verb: 'approve' | 'reject', body: unknown, done: string): Promise<void> {
    this.busy = true;
    this.msg = '';
    this.actionErr = '';
    this.requestUpdate();
    try {
      const saved = await api<Proposal>('POST', `/proposals/${encodeURIComponent(p.id)}/${verb}`, body);
      if (saved && saved.id === this.sel) this.proposal = saved;
      this.msg = done;
    } catch (e) {
      this.actionErr = errorText(e);
    }
    this.busy = false;
    await this.reload();
  }

  private async runMeta(e: Event): Promise<void> {
    e.preventDefault();
    const agent = this.runAgent.trim();
    if (!agent) {
      this.runError = 'Enter the name of the agent to look at.';
      this.runReport = null;
      this.requestUpdate();
      return;
    }
    this.runBusy = true;
    this.runError = '';
    this.runReport = null;
    this.requestUpdate();
    try {
      this.runReport = await api<MetaRunReport>('POST', '/meta/runs', { agent });
    } catch (err) {
      this.runError = errorText(err);
    }
    this.runBusy = false;
    await this.reload();
  }

  private renderRun() {
    const agent = this.runAgent.trim();
    const names = [...new Set([...store.agents.map((a) => a.name), ...(this.list ?? []).map((p) => p.agent)])].sort();
    const r = this.runReport;
    return html`<form class="run panel" data-testid="meta-run" aria-label="Run the meta-agent" novalidate @submit=${(e: Event) => void this.runMeta(e)}>
      <label for="meta-run-agent">Agent</label>
      <input
        id="meta-run-agent"
        data-testid="meta-run-agent"
        list="meta-run-agents"
        autocomplete="off"
        .value=${this.runAgent}
        @input=${(e: Event) => {
          this.runAgent = (e.target as HTMLInputElement).value;
          this.requestUpdate();
        }}
      />
      <datalist id="meta-run-agents">${names.map((n) => html`<option value=${n}></option>`)}</datalist>
      <button type="submit" class="primary" data-testid="meta-run-submit" ?disabled=${this.runBusy}>
        ${agent ? `Run meta-agent on ${agent}` : 'Run meta-agent'}
      </button>
      ${this.runBusy ? html`<span role="status">Running…</span>` : nothing}
      ${this.runError ? html`<p class="run-result error" role="alert" data-testid="meta-run-error">${this.runError}</p>` : nothing}
      ${r
        ? html`<p class="run-result" role="status" data-testid="meta-run-result" data-proposals=${r.proposals.length}>
            Run <span class="mono" title=${r.run}>${shortId(r.run)}</span> on ${r.agent}: ${r.calls} model
            call${r.calls === 1 ? '' : 's'}, ${r.tokens} tokens${r.cost_usd > 0 ? `, $${r.cost_usd.toFixed(4)}` : ''};
            ${r.proposals.length
              ? html`wrote ${r.proposals.length} proposal${r.proposals.length === 1 ? '' : 's'}:
                  ${r.proposals.map(
                    (p, i) => html`${i ? ', ' : ''}<a href="#/proposals/${p.id}">${p.summary || p.kind}</a> (${p.status})`,
                  )}.`
              : html`wrote nothing${r.note ? html`: ${r.note}` : nothing}.`}
          </p>`
        : nothing}
    </form>`;
  }

  private renderList() {
    const rows = this.list;
    if (rows === null) return this.listError ? nothing : html`<p class="muted">Loading…</p>`;
    if (rows.length === 0) {
      return html`<p data-testid="proposals-empty">
        No ${this.status ? `${this.status} ` : ''}proposal. The meta-agent writes them when it runs (above,
        <span class="mono">hive meta run</span> or <span class="mono">POST /meta/runs</span>).
      </p>`;
    }
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Proposals">
      <table data-testid="proposals-list">
        <thead>
          <tr><th scope="col">Agent</th><th scope="col">Kind</th><th scope="col">Risk</th><th scope="col">Status</th><th scope="col">Summary</th><th scope="col">Created</th></tr>
        </thead>
        <tbody>
          ${rows.map((p) => {
            const current = p.id === this.sel;
            return html`<tr data-testid="proposal-row" data-proposal-id=${p.id} data-kind=${p.kind} data-status=${p.status} aria-current=${current ? 'true' : 'false'}>
              <td>${p.agent}</td>
              <td><span class="badge k-${p.kind}">${p.kind}</span></td>
              <td><span class="badge r-${p.risk}">${p.risk}</span></td>
              <td><span class="badge p-${p.status}">${p.status}</span></td>
              <td class="summary">
                <a href="#/proposals/${p.id}" data-testid="proposal-link" aria-current=${current ? 'true' : 'false'}>${p.summary || `a ${KIND_TEXT[p.kind] ?? p.kind} change`}</a>
              </td>
              <td>${when(p.created_at)}</td>
            </tr>`;
          })}
        </tbody>
      </table>
    </div>`;
  }

  private renderDiff(p: Proposal) {
    if (!p.prompt_version) {
      return html`<p class="muted" data-testid="proposal-no-version">No prompt version was written${p.status === 'refused' ? ': the proposal was refused (its text is in the change below)' : ''}.</p>`;
    }
    if (!p.parent_version) {
      return html`<p class="muted">Version <span class="mono" title=${p.prompt_version}>${shortId(p.prompt_version)}</span> has no parent to compare with.</p>`;
    }
    if (this.diffError) return html`<p class="error" role="alert">${this.diffError}</p>`;
    const d = this.diff;
    if (!d) return html`<p class="muted">Loading the diff…</p>`;
    const added = d.lines.filter((l) => l.op === 'added').length;
    const removed = d.lines.filter((l) => l.op === 'removed').length;
    return html`<p class="muted">
        From <span class="mono" title=${d.from}>${shortId(d.from)}</span> (its parent) to
        <span class="mono" title=${d.to}>${shortId(d.to)}</span>: ${removed} line${removed === 1 ? '' : 's'} removed, ${added} added.
      </p>
      <div class="diff" data-testid="proposal-diff" tabindex="0" role="region" aria-label="Prompt diff">
        ${d.lines.map(
          (l) => html`<div class="dl ${l.op}" data-testid="diff-line" data-op=${l.op}><span class="op" aria-hidden="true">${l.op === 'added' ? '+' : l.op === 'removed' ? '−' : ' '}</span>${l.op === 'same' ? nothing : html`<span class="sr-only">${l.op}: </span>`}<span class="line">${l.line}</span></div>`,
        )}
      </div>`;
  }

  private renderMetrics(p: Proposal) {
    const rows: OutcomeMetrics[] = p.evidence?.metrics ?? [];
    if (rows.length === 0) return html`<p class="muted">No metrics were recorded with it.</p>`;
    return html`<div class="table-wrap" tabindex="0" role="region" aria-label="Metrics when it was written">
      <table data-testid="proposal-metrics">
        <caption class="sr-only">The agent's outcomes per prompt version when the proposal was written.</caption>
        <thead>
          <tr>
            <th scope="col">Prompt version</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Succeeded</th>
            <th scope="col" class="num">Dead-lettered</th><th scope="col" class="num">Success</th><th scope="col" class="num">Retries</th>
            <th scope="col" class="num">p95 run ms</th><th scope="col" class="num">Tokens</th><th scope="col" class="num">USD / task</th>
            <th scope="col" class="num">Mean score</th>
          </tr>
        </thead>
        <tbody>
          ${rows.map(
            (m) => html`<tr data-testid="proposal-metrics-row" data-key=${m.key ?? ''}>
              <th scope="row" class="mono" title=${m.key ?? ''}>
                ${m.key ? shortId(m.key) : 'none recorded'}${m.key && m.key === p.parent_version ? html` <span class="muted">(parent)</span>` : nothing}
              </th>
              <td class="num" data-testid="metrics-tasks">${m.tasks}</td>
              <td class="num" data-testid="metrics-succeeded">${m.succeeded}</td>
              <td class="num" data-testid="metrics-dead-lettered">${m.dead_lettered}</td>
              <td class="num">${pct(m.success_rate)}</td>
              <td class="num">${m.retries}</td>
              <td class="num">${m.p95_run_ms}</td>
              <td class="num">${m.input_tokens + m.output_tokens}</td>
              <td class="num">${num(m.cost_per_task, 4)}</td>
              <td class="num">${m.mean_score === null || m.mean_score === undefined ? '—' : `${num(m.mean_score)} (${m.scored})`}</td>
            </tr>`,
          )}
        </tbody>
      </table>
    </div>
    ${rows.some((m) => !m.key)
      ? html`<p class="muted" data-testid="proposal-metrics-unversioned">
          “None recorded”: tasks whose outcome names no prompt version — a dead-lettered task has no result to name it.
        </p>`
      : nothing}`;
  }

  private renderDetail() {
    if (!this.sel) return html`<p class="muted detail">Select a proposal to see its reasons, its change and its evidence.</p>`;
    const p = this.proposal;
    if (!p) {
      return html`<section class="detail panel" data-testid="proposal-detail" aria-label="Proposal">
        ${this.detailError ? html`<p class="error" role="alert">${this.detailError}</p>` : html`<p class="muted">Loading…</p>`}
      </section>`;
    }
    const canApprove = p.status === 'proposed';
    const canReject = p.status === 'proposed' || p.status === 'experimenting';
    const tasks = p.evidence?.tasks ?? [];
    return html`<section class="detail panel" data-testid="proposal-detail" data-proposal-id=${p.id} data-kind=${p.kind} data-status=${p.status} aria-labelledby="proposal-title">
      <div class="head">
        <h3 id="proposal-title" data-testid="proposal-summary">${p.summary || `a ${KIND_TEXT[p.kind] ?? p.kind} change`}</h3>
        <span class="badge k-${p.kind}">${p.kind}</span>
        <span class="badge p-${p.status}" data-testid="proposal-status" data-status=${p.status}>${p.status}</span>
        <span class="badge r-${p.risk}" data-testid="proposal-risk">${p.risk} risk</span>
      </div>
      <p class="mono muted">${p.id}</p>
      ${this.detailError ? html`<p class="error" role="alert">${this.detailError}</p>` : nothing}
      <p data-testid="proposal-decision">${standing(p)}</p>
      ${canApprove || canReject || this.msg || this.actionErr
        ? html`<div class="actions">
            ${canApprove
              ? html`<button class="primary" data-testid="proposal-approve" ?disabled=${this.busy} @click=${() => void this.approve(p)}>Approve…</button>`
              : nothing}
            ${canReject
              ? html`<button class="danger" data-testid="proposal-reject" ?disabled=${this.busy} @click=${() => void this.reject(p)}>Reject…</button>`
              : nothing}
            ${this.msg ? html`<span role="status" data-testid="proposal-action-done">${this.msg}</span>` : nothing}
            ${this.actionErr ? html`<span class="error" role="alert" data-testid="proposal-action-error">${this.actionErr}</span>` : nothing}
          </div>`
        : nothing}
      <dl>
        <dt>Agent</dt><dd>${p.agent}</dd>
        <dt>Rationale</dt><dd class="text" data-testid="proposal-rationale">${p.rationale || '—'}</dd>
        <dt>Expected effect</dt><dd class="text" data-testid="proposal-expected-effect">${p.expected_effect || '—'}</dd>
        <dt>Risk</dt><dd>${p.risk}</dd>
        <dt>Written by</dt><dd>${p.author}, run <span class="mono" title=${p.run}>${shortId(p.run)}</span>, ${when(p.created_at)}</dd>
        <dt>Updated</dt><dd>${when(p.updated_at)} (revision ${p.revision})</dd>
      </dl>
      <div class="grid">
        ${p.kind === 'prompt'
          ? html`<div class="panel wide" data-testid="proposal-prompt">
              <h4>The new prompt</h4>
              <p>
                Experiment:
                ${p.experiment
                  ? html`<a href="#/experiments/${p.experiment}" data-testid="proposal-experiment" data-experiment-id=${p.experiment}>${shortId(p.experiment)} in Experiments</a>`
                  : html`<span class="muted">none${p.status === 'proposed' ? ' yet: approving it starts one' : ''}</span>`}
              </p>
              ${this.renderDiff(p)}
            </div>`
          : nothing}
        ${p.change !== undefined && p.change !== null
          ? html`<div class="panel wide">
              <h4>The change</h4>
              <pre data-testid="proposal-change">${json(p.change)}</pre>
            </div>`
          : nothing}
        <div class="panel wide" data-testid="proposal-evidence">
          <h4>Evidence: the failed tasks it read (${tasks.length})</h4>
          ${tasks.length
            ? html`<ul class="tasks" data-testid="proposal-evidence-tasks">
                ${tasks.map((t) => html`<li><a class="mono" href="#/task/${t}" data-testid="proposal-evidence-task" data-task-id=${t}>${t}</a></li>`)}
              </ul>`
            : html`<p class="muted">None.</p>`}
          <h4 class="next">Evidence: the metrics when it was written</h4>
          ${this.renderMetrics(p)}
        </div>
      </div>
    </section>`;
  }

  render() {
    return html`<section data-testid="proposals">
      <h2>Proposals</h2>
      <p class="muted">
        The meta-agent's proposals, newest first, from <span class="mono">GET /proposals</span>; the selected one from
        <span class="mono">GET /proposals/{id}</span>. Both are re-read on experiment events and after every action here.
      </p>
      ${this.renderRun()}
      <div class="row filters">
        <label for="proposals-status">Status</label>
        <select id="proposals-status" data-testid="proposals-status" @change=${(e: Event) => this.setStatus((e.target as HTMLSelectElement).value)}>
          <option value="" ?selected=${this.status === ''}>all</option>
          ${PROPOSAL_STATUSES.map((s) => html`<option value=${s} ?selected=${this.status === s}>${s}</option>`)}
        </select>
        <button data-testid="proposals-refresh" @click=${() => void this.reload()}>Re-read</button>
      </div>
      ${this.listError ? html`<p class="error" role="alert">${this.listError}</p>` : nothing}
      ${this.renderList()}
      ${this.renderDetail()}
    </section>`;
  }
}
customElements.define('hive-proposals', HiveProposals);
