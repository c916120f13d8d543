import { html, css, nothing, LitElement } from 'lit';
import { api, errorText } from '../api';
import { json, reloadOn, shortId, when } from '../base';
import { shared } from '../styles';
import type { ConversationEntry, Session } from '../types';

class HiveSessions extends LitElement {
  static styles = [shared];
  private sessions: Session[] | null = null;
  private error = '';
  private unsub: (() => void) | undefined;

  connectedCallback(): void {
    super.connectedCallback();
    void this.load();
    // Live: re-read the list on session events (debounced).
    this.unsub = reloadOn((e) => e.kind.startsWith('session.'), 200, () => void this.load());
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsub?.();
  }

  private async load(): Promise<void> {
    try {
      this.sessions = await api<Session[]>('GET', '/sessions?limit=200');
      this.error = '';
    } catch (e) {
      this.error = errorText(e);
    }
    this.requestUpdate();
  }

  render() {
    return html`<h2>Sessions</h2>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${this.sessions === null
        ? this.error
          ? nothing
          : html`<p class="muted">Loading…</p>`
        : this.sessions.length === 0
          ? html`<p>No session yet.</p>`
          : html`<div class="table-wrap" tabindex="0" role="region" aria-label="Table">
              <table>
                <thead><tr><th scope="col">Name</th><th scope="col">Status</th><th scope="col">Agents</th><th scope="col">Created</th><th scope="col">Closed</th></tr></thead>
                <tbody>
                  ${this.sessions.map(
                    (s) => html`<tr data-testid="session-row" data-session-id=${s.id}>
                      <td><a href="#/session/${s.id}">${s.name}</a> <span class="mono muted">${shortId(s.id)}</span></td>
                      <td>${s.status}</td>
                      <td>${s.agents.join(', ') || '—'}</td>
                      <td>${when(s.created_at)}</td>
                      <td>${when(s.closed_at)}</td>
                    </tr>`,
                  )}
                </tbody>
              </table>
            </div>`}`;
  }
}
customElements.define('hive-sessions', HiveSessions);

class HiveSession extends LitElement {
  static styles = [
    shared,
    css`
      ol { list-style: none; padding: 0; margin: 0; border-left: 3px solid var(--border-strong); }
      li { margin: 0 0 0.75rem; padding-left: 0.75rem; position: relative; }
      li::before { content: ''; position: absolute; left: -0.45rem; top: 0.35rem; width: 0.6rem; height: 0.6rem; border-radius: 50%; background: var(--accent); }
      .who { font-weight: 600; }
      .text { white-space: pre-wrap; overflow-wrap: anywhere; margin: 0.2rem 0 0; }
    `,
  ];
  private tid = '';
  private session: Session | null = null;
  private conversation: ConversationEntry[] = [];
  private error = '';
  private unsub: (() => void) | undefined;

  set sessionId(v: string) {
    if (v === this.tid) return;
    this.tid = v;
    this.session = null;
    this.conversation = [];
    void this.load();
  }
  get sessionId(): string {
    return this.tid;
  }

  connectedCallback(): void {
    super.connectedCallback();
    this.unsub = reloadOn(
      (e) => e.kind.startsWith('session.') && e.subject === this.tid,
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
    try {
      const r = await api<{ session: Session; conversation: ConversationEntry[] }>('GET', `/sessions/${encodeURIComponent(id)}`);
      if (id !== this.tid) return;
      this.session = r.session;
      this.conversation = r.conversation;
      this.error = '';
    } catch (e) {
      this.error = errorText(e);
    }
    this.requestUpdate();
  }

  render() {
    const s = this.session;
    return html`<p><a href="#/sessions">← Sessions</a></p>
      <h2>Session ${s ? s.name : this.tid}</h2>
      ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
      ${s
        ? html`<p>
              ${s.status} · agents: ${s.agents.join(', ') || 'none'} · created ${when(s.created_at)}${s.closed_at ? ` · closed ${when(s.closed_at)}` : ''}
            </p>
            <h3>Conversation</h3>
            <ol data-testid="session-timeline" aria-label="Conversation">
              ${this.conversation.length === 0 ? html`<li>Nothing said yet.</li>` : nothing}
              ${this.conversation.map(
                (c) => html`<li data-testid="session-entry">
                  <span class="who">${c.from_agent} → ${c.to_agent ?? 'everyone'}</span>
                  <span class="muted"> · #${c.seq} · <time datetime=${c.at}>${when(c.at)}</time></span>
                  <p class="text ${typeof c.content === 'string' ? '' : 'mono'}">${typeof c.content === 'string' ? c.content : json(c.content)}</p>
                </li>`,
              )}
            </ol>`
        : this.error
          ? nothing
          : html`<p class="muted">Loading…</p>`}`;
  }
}
customElements.define('hive-session', HiveSession);
