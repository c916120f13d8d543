import { html, css, nothing, svg } from 'lit';
import { LitElement } from 'lit';
import { api, errorText } from '../api';
import { json, reloadOn, shortId, when } from '../base';
import { confirmAction } from '../confirm';
import { shared } from '../styles';
import type { AttemptView, Task, TaskStatus } from '../types';

const FINAL: TaskStatus[] = ['completed', 'failed', 'cancelled', 'dead_lettered'];
const DEP_CAP = 24;

const NODE_FILL: Record<string, string> = {
  pending: '#dce7f3',
  waiting: '#fbeccc',
  delayed: '#fbeccc',
  assigned: '#d5e6fa',
  in_progress: '#d5e6fa',
  completed: '#d6f0de',
  failed: '#fadad7',
  dead_lettered: '#fadad7',
  cancelled: '#e4e7eb',
  unknown: '#eeeeee',
};

class HiveTask extends LitElement {
  static styles = [
    shared,
    css`
      .grid { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 22rem), 1fr)); gap: 0.75rem; }
      .actions { display: flex; gap: 0.5rem; flex-wrap: wrap; margin: 0.5rem 0; }
      svg { max-width: 100%; height: auto; background: var(--panel); }
      .head { display: flex; gap: 0.75rem; align-items: baseline; flex-wrap: wrap; }
      .head h2 { margin: 0; overflow-wrap: anywhere; }
    `,
  ];

  private tid = '';
  private task: Task | null = null;
  private attempts: AttemptView[] | null = null;
  private why = '';
  private deps = new Map<string, Task | null>();
  private error = '';
  private actionMsg = '';
  private actionErr = '';
  private busy = false;
  private unsub: (() => void) | undefined;

  set taskId(v: string) {
    if (v === this.tid) return;
    this.tid = v;
    this.task = null;
    this.attempts = null;
    this.deps = new Map();
    this.why = '';
    this.error = '';
    this.actionMsg = '';
    this.actionErr = '';
    void this.load();
  }
  get taskId(): string {
    return this.tid;
  }

  connectedCallback(): void {
    super.connectedCallback();
    // Live: re-read the task when an event about it (or a dependency) arrives.
    this.unsub = reloadOn(
      (e) =>
        !!this.tid &&
        (e.subject === this.tid ||
          this.deps.has(e.subject) ||
          (e.kind.startsWith('queue.') && !!this.task && !FINAL.includes(this.task.status))),
      100,
      () => void this.load(),
    );
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsub?.();
  }

  private async load(): Promise<void> {
    const id = this.tid;
    if (!id) return;
    const enc = encodeURIComponent(id);
    try {
      const [task, att] = await Promise.all([
        api<Task>('GET', `/tasks/${enc}`),
        api<{ attempts: AttemptView[] }>('GET', `/tasks/${enc}/attempts`).catch(() => null),
      ]);
      if (id !== this.tid) return;
      this.task = task;
      this.attempts = att ? att.attempts : null;
      this.error = '';
      const running = task.status === 'assigned' || task.status === 'in_progress';
      if (!running && !FINAL.includes(task.status)) {
        this.why = await api<{ reason: string }>('GET', `/tasks/${enc}/why`)
          .then((w) => w.reason)
          .catch((e) => `could not ask why: ${errorText(e)}`);
      } else {
        this.why = '';
      }
      const depIds = task.dependencies.slice(0, DEP_CAP);
      const found = await Promise.all(depIds.map((d) => api<Task>('GET', `/tasks/${encodeURIComponent(d)}`).catch(() => null)));
      if (id !== this.tid) return;
      this.deps = new Map(depIds.map((d, i) => [d, found[i]]));
    } catch (e) {
      if (id !== this.tid) return;
      this.error = errorText(e);
    }
    this.requestUpdate();
  }

  private async retry(): Promise<void> {
    this.busy = true;
    this.actionErr = '';
    this.requestUpdate();
    try {
      await api<Task>('POST', `/dead-letters/${encodeURIComponent(this.tid)}/retry`);
      this.actionMsg = 'Sent back to pending with a fresh attempt budget.';
    } catch (e) {
      this.actionErr = errorText(e);
    }
    this.busy = false;
    await this.load();
  }

  private async cancel(): Promise<void> {
    if (!(await confirmAction(`Cancel task ${this.tid}?`))) return;
    this.busy = true;
    this.actionErr = '';
    this.requestUpdate();
    try {
      await api<Task>('POST', `/tasks/${encodeURIComponent(this.tid)}/cancel`);
      this.actionMsg = 'Cancelled.';
    } catch (e) {
      this.actionErr = errorText(e);
    }
    this.busy = false;
    await this.load();
  }

  private renderDeps(t: Task) {
    const deps = [...this.deps.entries()];
    const rowH = 44;
    const h = Math.max(1, deps.length) * rowH + 16;
    const w = 420;
    const ty = h / 2;
    const label = deps.length
      ? `Dependencies: ${deps.map(([d, x]) => `${shortId(d)} ${x ? x.status : 'not found'}`).join(', ')}`
      : 'No dependencies';
    return html`<svg data-testid="task-deps" viewBox="0 0 ${w} ${h}" width=${w} height=${h} role="group" aria-label=${label}>
      <defs>
        <marker id="arrow" viewBox="0 0 10 10" refX="10" refY="5" markerWidth="8" markerHeight="8" orient="auto">
          <path d="M0,0 L10,5 L0,10 z" fill="#4f5863"></path>
        </marker>
      </defs>
      ${deps.map(([d, x], i) => {
        const y = 8 + i * rowH;
        const st = x ? x.status : 'unknown';
        return svg`<g data-testid="dep-node" data-task-id=${d} data-status=${st}>
          <a href="#/task/${d}" aria-label=${`Dependency ${x ? x.task_type : ''} ${d}: ${st.replace('_', ' ')}`}>
            <rect x="4" y=${y} width="196" height=${rowH - 8} rx="6" fill=${NODE_FILL[st] ?? NODE_FILL.unknown} stroke="#4f5863"></rect>
            <text x="12" y=${y + 15} font-size="13" fill="#1b1f24">${x ? x.task_type : 'not found'} ${shortId(d)}</text>
            <text x="12" y=${y + 31} font-size="13" fill="#1b1f24" font-weight="600">${st.replace('_', ' ')}</text>
          </a>
          <line x1="200" y1=${y + (rowH - 8) / 2} x2="240" y2=${ty} stroke="#4f5863" marker-end="url(#arrow)"></line>
        </g>`;
      })}
      <g aria-hidden="true">
        <rect x="242" y=${ty - 18} width="174" height="36" rx="6" fill=${NODE_FILL[t.status] ?? NODE_FILL.unknown} stroke="#1b1f24" stroke-width="2"></rect>
        <text x="250" y=${ty + 4} font-size="13" fill="#1b1f24">this task: ${t.status.replace('_', ' ')}</text>
      </g>
    </svg>`;
  }

  render() {
    if (!this.tid) return html`<p>No task selected.</p>`;
    const t = this.task;
    if (!t) {
      return html`<section data-testid="task-detail">
        <h2>Task ${this.tid}</h2>
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : html`<p class="muted">Loading…</p>`}
      </section>`;
    }
    const traceback = t.error && /Traceback|\n\s+at |\n\s+File "/.test(t.error);
    const canCancel = !FINAL.includes(t.status);
    return html`<section data-testid="task-detail">
      <p><a href="#/board">← Board</a></p>
      <div class="head">
        <h2>${t.task_type} <span class="mono">${t.id}</span></h2>
        <span class="badge s-${t.status}" data-testid="task-status">${t.status}</span>
      </div>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      <div class="actions">
        <button data-testid="task-retry" ?disabled=${this.busy || t.status !== 'dead_lettered'} @click=${() => void this.retry()}>
          Retry (dead letters only)
        </button>
        <button class="danger" data-testid="task-cancel" ?disabled=${this.busy || !canCancel} @click=${() => void this.cancel()}>
          Cancel task
        </button>
        ${this.actionMsg ? html`<span role="status">${this.actionMsg}</span>` : nothing}
        ${this.actionErr ? html`<span class="error" role="alert">${this.actionErr}</span>` : nothing}
      </div>
      <div class="grid">
        <div class="panel">
          <h3>Where it is</h3>
          <dl>
            <dt>Priority</dt><dd>${t.priority}</dd>
            <dt>Capabilities</dt><dd>${t.capabilities.length ? t.capabilities.join(', ') : 'none'}</dd>
            <dt>Worker</dt><dd>${t.worker ?? '—'}${t.agent_name ? ` (agent ${t.agent_name})` : ''}</dd>
            <dt>Attempts</dt><dd>${t.attempts} of ${t.max_attempts}</dd>
            <dt>Created</dt><dd>${when(t.created_at)}</dd>
            <dt>Started</dt><dd>${when(t.started_at)}</dd>
            <dt>Finished</dt><dd>${when(t.finished_at)}</dd>
            <dt>Run at</dt><dd>${when(t.run_at)}</dd>
            <dt>Lease until</dt><dd>${when(t.lease_expires_at)}</dd>
            <dt>Timeout</dt><dd>${t.timeout} ms</dd>
            <dt>Trace</dt><dd data-testid="task-trace" title=${t.traceparent ?? ''}>${t.traceparent ? t.traceparent.split('-')[1] : '—'}</dd>
          </dl>
          <h3>Why is it not running</h3>
          <p data-testid="task-why">${this.why || (FINAL.includes(t.status) ? `It has ended (${t.status.replace('_', ' ')}).` : 'It is running.')}</p>
        </div>
        <div class="panel">
          <h3>Dependencies</h3>
          ${this.renderDeps(t)}
          ${t.dependencies.length > DEP_CAP ? html`<p class="muted">Showing ${DEP_CAP} of ${t.dependencies.length}.</p>` : nothing}
        </div>
        <div class="panel">
          <h3>Payload</h3>
          <pre data-testid="task-payload" tabindex="0">${json(t.payload)}</pre>
          <h3>Result</h3>
          <pre data-testid="task-result" tabindex="0">${t.result === null || t.result === undefined ? '—' : json(t.result)}</pre>
          <h3>${traceback ? 'Error and traceback' : 'Error'}</h3>
          <pre data-testid="task-error" tabindex="0">${t.error ?? '—'}</pre>
        </div>
        <div class="panel">
          <h3>Attempts</h3>
          <div class="table-wrap" data-testid="task-attempts" tabindex="0" role="region" aria-label="Attempts">
            ${this.attempts === null
              ? html`<p class="muted">Attempts could not be read.</p>`
              : this.attempts.length === 0
                ? html`<p class="muted">No attempt yet.</p>`
                : html`<table>
                    <thead><tr><th scope="col">#</th><th scope="col">Worker</th><th scope="col">Started</th><th scope="col">Finished</th><th scope="col">Outcome</th><th scope="col">Error</th></tr></thead>
                    <tbody>
                      ${this.attempts.map(
                        (a) => html`<tr>
                          <td>${a.attempt}</td>
                          <td>${a.agent_name ?? a.worker}</td>
                          <td>${when(a.started_at)}</td>
                          <td>${when(a.finished_at)}</td>
                          <td>${a.outcome.replace('_', ' ')}</td>
                          <td>${a.error ?? ''}</td>
                        </tr>`,
                      )}
                    </tbody>
                  </table>`}
          </div>
        </div>
      </div>
    </section>`;
  }
}
customElements.define('hive-task', HiveTask);
