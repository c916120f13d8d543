import { html, css, nothing } from 'lit';
import { StoreView, shortId } from '../base';
import { store, EVENTS_KEPT } from '../store';
import { shared } from '../styles';

const SHOWN = 200;

class HiveEvents extends StoreView {
  static styles = [
    shared,
    css`
      label { font-weight: 600; display: inline-flex; gap: 0.5rem; align-items: center; flex-wrap: wrap; }
      ol { list-style: none; padding: 0; margin: 0.75rem 0 0; }
      li { display: grid; grid-template-columns: 5rem 11rem minmax(0, 1fr); gap: 0.5rem; padding: 0.3rem 0; border-bottom: 1px solid var(--border); }
      .data { overflow-wrap: anywhere; }
      @media (max-width: 700px) { li { grid-template-columns: 4rem minmax(0, 1fr); } .data { grid-column: 1 / -1; } }
    `,
  ];
  private filter = '';

  render() {
    const f = this.filter.trim().toLowerCase();
    const all = store.events;
    const matching = f ? all.filter((e) => e.kind.toLowerCase().includes(f) || e.subject.toLowerCase().includes(f)) : all;
    const shown = matching.slice(0, SHOWN);
    return html`<h2>Events</h2>
      <p class="muted">
        The live feed, newest first (the newest ${EVENTS_KEPT} kept in this page; ${shown.length} of ${matching.length} matching shown).
      </p>
      <label
        >Filter by kind or subject
        <input
          data-testid="event-filter"
          type="search"
          .value=${this.filter}
          @input=${(e: Event) => {
            this.filter = (e.target as HTMLInputElement).value;
            this.requestUpdate();
          }}
      /></label>
      <ol data-testid="event-feed" aria-label="Events">
        ${shown.length === 0 ? html`<li><span></span><span class="muted">No event received yet.</span></li>` : nothing}
        ${shown.map(
          (e) => html`<li data-testid="event-row" data-seq=${String(e.seq)} data-kind=${e.kind}>
            <span class="mono">#${e.seq}</span>
            <span><strong>${e.kind}</strong><br /><span class="muted">${new Date(e.at).toLocaleTimeString()}</span></span>
            <span class="data mono"
              >${e.kind.startsWith('task.') ? html`<a href="#/task/${e.subject}">${shortId(e.subject)}</a>` : e.subject}
              ${e.data && Object.keys(e.data).length ? JSON.stringify(e.data) : ''}</span
            >
          </li>`,
        )}
      </ol>`;
  }
}
customElements.define('hive-events', HiveEvents);
