import { html, css, nothing } from 'lit';
import { api, errorText, qs } from '../api';
import { StoreView, ago, reloadOn, shortId } from '../base';
import { confirmAction } from '../confirm';
import { store } from '../store';
import { shared } from '../styles';
import type { Agent, TaskPage } from '../types';

const TASK_LOOKUPS = 50;
/** Task events that change which task an agent is running. */
const RUNNING_CHANGES = ['task.claimed', 'task.completed', 'task.failed', 'task.released', 'task.dead_lettered', 'task.cancelled'];

class HiveAgents extends StoreView {
  static styles = [
    shared,
    css`
      td.num { font-variant-numeric: tabular-nums; }
      .caps { display: flex; flex-wrap: wrap; gap: 0.25rem; }
      .cap { background: var(--code); border-radius: 4px; padding: 0 0.3rem; font-size: 0.85em; }
    `,
  ];

  private poll: ReturnType<typeof setInterval> | undefined;
  private tick: ReturnType<typeof setInterval> | undefined;
  private running = new Map<string, { id: string; type: string } | null>();
  private msg = '';
  private err = '';
  private unsubEvents: (() => void) | undefined;
  private onVisibility = () => {
    if (document.visibilityState === 'visible') void this.refresh();
  };

  connectedCallback(): void {
    super.connectedCallback();
    void this.refresh();
    // Heartbeats are not in the event feed (docs/events.md: too frequent to be
    // news), so an agent's heartbeat time and its healthy → unhealthy → dead
    // sweep show only in `GET /agents`. While this view is visible (and the
    // tab is), it re-reads `GET /agents` every 5 s: the one deliberate periodic
    // read of the dashboard besides the metrics series. agent.registered and
    // agent.status events still apply at once (through the store).
    this.poll = setInterval(() => {
      if (document.visibilityState === 'visible') void this.refresh();
    }, 5000);
    // The heartbeat age ticks client-side from `last_heartbeat`.
    this.tick = setInterval(() => this.requestUpdate(), 1000);
    document.addEventListener('visibilitychange', this.onVisibility);
    this.unsubEvents = reloadOn(
      (e) => RUNNING_CHANGES.includes(e.kind),
      300,
      () => void this.loadRunning(),
    );
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.poll);
    clearInterval(this.tick);
    document.removeEventListener('visibilitychange', this.onVisibility);
    this.unsubEvents?.();
  }

  private async refresh(): Promise<void> {
    await store.loadAgents();
    await this.loadRunning();
  }

  private async loadRunning(): Promise<void> {
    const agents = store.agents.filter((a) => a.status !== 'stopped' && a.status !== 'dead').slice(0, TASK_LOOKUPS);
    const results = await Promise.all(
      agents.map((a) =>
        api<TaskPage>('GET', `/tasks${qs({ agent: a.id, status: 'assigned,in_progress', limit: 1 })}`)
          .then((p) => (p.tasks[0] ? { id: p.tasks[0].id, type: p.tasks[0].task_type } : null))
          .catch(() => undefined),
      ),
    );
    agents.forEach((a, i) => {
      const r = results[i];
      if (r !== undefined) this.running.set(a.id, r);
    });
    this.requestUpdate();
  }

  private async terminate(a: Agent): Promise<void> {
    if (!(await confirmAction(`Terminate agent ${a.name}? It stops taking work.`))) return;
    this.msg = '';
    this.err = '';
    try {
      await api<unknown>('DELETE', `/agents/${encodeURIComponent(a.id)}`);
      this.msg = `Agent ${a.name} terminated.`;
    } catch (e) {
      this.err = errorText(e);
    }
    await this.refresh();
  }

  private load(a: Agent): string {
    const md = a.metadata as Record<string, unknown> | null;
    const conc = md && typeof md === 'object' && typeof md.concurrency === 'number' ? md.concurrency : null;
    return conc !== null ? `${a.load} / ${conc}` : String(a.load);
  }

  render() {
    const now = Date.now();
    const agents = [...store.agents].sort((x, y) => x.name.localeCompare(y.name));
    return html`<h2>Agents</h2>
      <p class="muted">From <span class="mono">GET /agents</span>, re-read every 5 s while shown (heartbeats are not events).</p>
      ${store.agentsError ? html`<p class="error" role="alert">${store.agentsError}</p>` : nothing}
      ${this.msg ? html`<p role="status">${this.msg}</p>` : nothing}
      ${this.err ? html`<p class="error" role="alert">${this.err}</p>` : nothing}
      ${!store.agentsLoaded
        ? html`<p class="muted">Loading…</p>`
        : agents.length === 0
          ? html`<p>No agent is registered.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Table">
              <table>
                <thead>
                  <tr>
                    <th scope="col">Name</th><th scope="col">Kind</th><th scope="col">Status</th><th scope="col">Load</th>
                    <th scope="col">Capabilities</th><th scope="col">Heartbeat</th><th scope="col">Running</th><th scope="col"><span class="sr-only">Actions</span></th>
                  </tr>
                </thead>
                <tbody>
                  ${agents.map((a) => {
                    const r = this.running.get(a.id);
                    return html`<tr data-testid="agent-row" data-agent-id=${a.id} data-status=${a.status}>
                      <td>${a.name}<br /><span class="mono muted">${shortId(a.id)}</span></td>
                      <td>${a.kind}</td>
                      <td><span class="badge s-${a.status}" data-testid="agent-status">${a.status}</span></td>
                      <td class="num" data-testid="agent-load">${this.load(a)}</td>
                      <td><span class="caps">${a.capabilities.map((c) => html`<span class="cap">${c}</span>`)}</span></td>
                      <td class="num" data-testid="agent-heartbeat-age">${ago(a.last_heartbeat, now)} ago</td>
                      <td data-testid="agent-task">${r ? html`<a href="#/task/${r.id}">${r.type} ${shortId(r.id)}</a>` : r === null ? 'idle' : '—'}</td>
                      <td>
                        <button class="danger" data-testid="agent-terminate" ?disabled=${a.status === 'stopped'} @click=${() => void this.terminate(a)}>
                          Terminate<span class="sr-only"> ${a.name}</span>
                        </button>
                      </td>
                    </tr>`;
                  })}
                </tbody>
              </table>
            </div>`}`;
  }
}
customElements.define('hive-agents', HiveAgents);
