import { html, nothing, LitElement } from 'lit';
import { api, errorText } from '../api';
import { reloadOn, shortId, when } from '../base';
import { confirmAction } from '../confirm';
import { store } from '../store';
import { shared } from '../styles';
import type { Task } from '../types';

class HiveDeadLetters extends LitElement {
  static styles = [shared];
  private rows: Task[] | null = null;
  private error = '';
  private msg = '';
  private unsub: (() => void) | undefined;

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
    this.unsub = reloadOn(
      (e) => e.kind === 'task.dead_lettered' || e.kind === 'task.retried' || e.kind === 'queue.purged',
      200,
      () => void this.load(),
    );
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsub?.();
  }

  private async load(): Promise<void> {
    try {
      this.rows = await api<Task[]>('GET', '/dead-letters?limit=200');
      this.error = '';
    } catch (e) {
      this.error = errorText(e);
    }
    this.requestUpdate();
  }

  private async retry(t: Task): Promise<void> {
    this.msg = '';
    try {
      await api<Task>('POST', `/dead-letters/${encodeURIComponent(t.id)}/retry`);
      this.msg = `Task ${shortId(t.id)} sent back to pending.`;
    } catch (e) {
      this.error = errorText(e);
    }
    await this.load();
  }

  private async purge(): Promise<void> {
    if (!(await confirmAction('Delete every dead-lettered task? This cannot be undone.'))) return;
    this.msg = '';
    try {
      const r = await api<{ purged: number }>('POST', '/dead-letters/purge', {});
      this.msg = `Purged ${r.purged} dead-lettered task${r.purged === 1 ? '' : 's'}.`;
    } catch (e) {
      this.error = errorText(e);
    }
    await this.load();
  }

  render() {
    const rows = this.rows;
    return html`<h2>Dead letters</h2>
      <div class="row">
        <button class="danger" data-testid="dead-letters-purge" ?disabled=${!rows || rows.length === 0} @click=${() => void this.purge()}>
          Purge all…
        </button>
        <span class="muted">Dead-lettered tasks (count from the server: ${store.statsLoaded ? store.counts.dead_lettered : '…'}), newest first.</span>
      </div>
      ${this.msg ? html`<p role="status">${this.msg}</p>` : nothing}
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${rows === null
        ? this.error
          ? nothing
          : html`<p class="muted">Loading…</p>`
        : rows.length === 0
          ? html`<p>No dead-lettered task.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Table">
              <table>
                <thead><tr><th scope="col">Task</th><th scope="col">Type</th><th scope="col">Attempts</th><th scope="col">Error</th><th scope="col">Finished</th><th scope="col"><span class="sr-only">Actions</span></th></tr></thead>
                <tbody>
                  ${rows.map(
                    (t) => html`<tr data-testid="dead-letter-row" data-task-id=${t.id}>
                      <td><a href="#/task/${t.id}" class="mono">${shortId(t.id)}</a></td>
                      <td>${t.task_type}</td>
                      <td>${t.attempts} / ${t.max_attempts}</td>
                      <td>${t.error ?? ''}</td>
                      <td>${when(t.finished_at)}</td>
                      <td><button data-testid="dead-letter-retry" @click=${() => void this.retry(t)}>Retry<span class="sr-only"> ${t.id}</span></button></td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`}`;
  }
}
customElements.define('hive-dead-letters', HiveDeadLetters);
