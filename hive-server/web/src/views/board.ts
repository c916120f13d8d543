import { html, css, nothing } from 'lit';
import { StoreView, ago, shortId } from '../base';
import { store, COLUMN_MAX } from '../store';
import { shared } from '../styles';
import { COLUMNS, type Column } from '../types';

/** One card slot: fixed height, so the virtualised column can place cards by index. */
const SLOT = 76;
const OVERSCAN = 4;

class HiveBoard extends StoreView {
  static styles = [
    shared,
    css`
      .filters { display: flex; flex-wrap: wrap; gap: 0.5rem 1rem; align-items: end; margin-bottom: 0.75rem; }
      .filters label { display: flex; flex-direction: column; font-size: 0.85rem; font-weight: 600; gap: 0.15rem; }
      .filters input, .filters select { min-width: 8rem; }
      .note { font-size: 0.85rem; color: var(--muted); margin: 0 0 0.5rem; }
      .tabs { display: none; gap: 0.25rem; flex-wrap: wrap; margin-bottom: 0.5rem; }
      .tabs button[aria-pressed='true'] { background: var(--accent); color: #fff; border-color: var(--accent); }
      .columns { display: grid; grid-template-columns: repeat(6, minmax(0, 1fr)); gap: 0.5rem; }
      section.column { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; min-width: 0; display: flex; flex-direction: column; }
      .col-head { padding: 0.5rem; border-bottom: 1px solid var(--border); }
      .col-head h2 { font-size: 0.95rem; margin: 0; display: flex; justify-content: space-between; gap: 0.25rem; flex-wrap: wrap; }
      .count { font-variant-numeric: tabular-nums; }
      .col-head .sub { font-size: 0.78rem; color: var(--muted); margin: 0.15rem 0 0; }
      .scroller { position: relative; overflow-y: auto; height: calc(100vh - 290px); min-height: 280px; }
      .spacer { position: relative; width: 100%; }
      button.card {
        position: absolute; left: 0.35rem; right: 0.35rem; height: ${SLOT - 8}px;
        text-align: left; border: 1px solid var(--border); border-left: 4px solid currentColor;
        background: var(--panel); border-radius: 6px; padding: 0.3rem 0.45rem; overflow: hidden;
        display: flex; flex-direction: column; justify-content: space-between; gap: 0.1rem;
      }
      button.card:hover { background: var(--code); }
      .card .l1, .card .l2 { display: flex; justify-content: space-between; gap: 0.35rem; white-space: nowrap; overflow: hidden; color: var(--fg); }
      .card .type { font-weight: 600; overflow: hidden; text-overflow: ellipsis; }
      .card .l2 { font-size: 0.78rem; color: var(--muted); }
      .card .agent { overflow: hidden; text-overflow: ellipsis; }
      .empty { padding: 0.75rem 0.5rem; color: var(--muted); font-size: 0.85rem; }
      .foot { padding: 0.35rem 0.5rem; font-size: 0.78rem; color: var(--muted); border-top: 1px solid var(--border); }
      @media (max-width: 1100px) { .columns { grid-template-columns: repeat(3, minmax(0, 1fr)); } }
      @media (max-width: 700px) {
        .filters { display: grid; grid-template-columns: minmax(0, 1fr) minmax(0, 1fr); gap: 0.4rem 0.5rem; }
        .filters input, .filters select { min-width: 0; width: 100%; }
        .tabs { display: flex; }
        .columns { grid-template-columns: minmax(0, 1fr); }
        section.column:not(.selected) { display: none; }
        .scroller { height: calc(100vh - 330px); }
      }
    `,
  ];

  private colScroll: Partial<Record<Column, number>> = {};
  private viewport: Partial<Record<Column, number>> = {};
  private selected: Column = 'pending';
  private scrollFrame = 0;
  private tick: ReturnType<typeof setInterval> | undefined;
  private typeDraft = store.filters.type;

  connectedCallback(): void {
    super.connectedCallback();
    // Ages on the cards: redrawn every 5 s (a local clock, no request).
    this.tick = setInterval(() => this.requestUpdate(), 5000);
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    clearInterval(this.tick);
  }

  private onScroll(col: Column, e: Event): void {
    const el = e.target as HTMLElement;
    this.colScroll[col] = el.scrollTop;
    this.viewport[col] = el.clientHeight;
    const n = store.visibleIds(col).length;
    if (el.scrollTop + el.clientHeight > n * SLOT - SLOT * 5) void store.loadMore(col);
    if (this.scrollFrame) return;
    this.scrollFrame = requestAnimationFrame(() => {
      this.scrollFrame = 0;
      this.requestUpdate();
    });
  }

  private applyType(e: Event): void {
    e.preventDefault();
    const v = this.typeDraft.trim();
    if (v !== store.filters.type) void store.setServerFilters(v, store.filters.agent);
  }

  private renderFilters() {
    const f = store.filters;
    return html`<form class="filters" @submit=${this.applyType} aria-label="Board filters">
      <label
        >Type (server)
        <input
          data-testid="filter-type"
          type="text"
          .value=${this.typeDraft}
          placeholder="any type"
          @input=${(e: Event) => (this.typeDraft = (e.target as HTMLInputElement).value)}
          @change=${this.applyType}
      /></label>
      <label
        >Agent (server)
        <select
          data-testid="filter-agent"
          @change=${(e: Event) => void store.setServerFilters(store.filters.type, (e.target as HTMLSelectElement).value)}
        >
          <option value="" ?selected=${f.agent === ''}>any agent</option>
          ${store.agents.map((a) => html`<option value=${a.id} ?selected=${f.agent === a.id}>${a.name}</option>`)}
        </select></label
      >
      <label
        >Capability (loaded cards)
        <input
          data-testid="filter-capability"
          type="text"
          .value=${f.capability}
          placeholder="any capability"
          @input=${(e: Event) => store.setLocalFilters((e.target as HTMLInputElement).value, f.priority)}
      /></label>
      <label
        >Priority (loaded cards)
        <select
          data-testid="filter-priority"
          @change=${(e: Event) => store.setLocalFilters(f.capability, (e.target as HTMLSelectElement).value)}
        >
          <option value="" ?selected=${f.priority === ''}>any</option>
          ${[1, 2, 3, 4, 5, 6, 7, 8, 9].map((p) => html`<option value=${String(p)} ?selected=${f.priority === String(p)}>${p}</option>`)}
        </select></label
      >
    </form>`;
  }

  private renderColumn(def: (typeof COLUMNS)[number]) {
    const col = def.key;
    const st = store.columns[col];
    const ids = store.visibleIds(col);
    const loaded = st.ids.length;
    const localFilter = !!(store.filters.capability.trim() || store.filters.priority);
    const serverFilter = !!(store.filters.type || store.filters.agent);
    const count = store.statsLoaded ? String(store.columnCount(col)) : '';
    const top = this.colScroll[col] ?? 0;
    const vh = this.viewport[col] ?? 900;
    const first = Math.max(0, Math.floor(top / SLOT) - OVERSCAN);
    const last = Math.min(ids.length, Math.ceil((top + vh) / SLOT) + OVERSCAN);
    const now = Date.now();
    const slice = ids.slice(first, last);
    return html`<section
      class="column ${this.selected === col ? 'selected' : ''}"
      data-testid="column"
      data-status=${col}
      aria-labelledby="h-${col}"
    >
      <div class="col-head">
        <h2 id="h-${col}">
          <span>${def.label}</span>
          <span class="count" title="tasks in these statuses, from the server's statistics"
            ><span data-testid="column-count">${count}</span>${store.statsLoaded ? nothing : html`<span class="muted">…</span>`}</span
          >
        </h2>
        ${localFilter || serverFilter
          ? html`<p class="sub">
              ${localFilter ? html`${ids.length} of the loaded ${loaded} match · ` : html`${loaded} loaded${serverFilter ? ' matching the server filter' : ''} · `}
              ${count || '?'} in all (server count, unfiltered)
            </p>`
          : html`<p class="sub">${def.statuses.join(', ').replace(/_/g, ' ')} · server count</p>`}
      </div>
      <div class="scroller" tabindex="0" aria-label="${def.label} cards" @scroll=${(e: Event) => this.onScroll(col, e)}>
        ${ids.length === 0
          ? html`<p class="empty">${store.snapshotLoaded ? 'No loaded task here.' : 'Not loaded yet.'}</p>`
          : html`<div class="spacer" style="height:${ids.length * SLOT}px">
              ${slice.map((id, k) => {
                const c = store.cards.get(id);
                if (!c) return nothing;
                return html`<button
                  class="card s-${c.status}"
                  style="top:${(first + k) * SLOT + 4}px"
                  data-testid="card"
                  data-task-id=${c.id}
                  data-status=${c.status}
                  aria-label="Task ${c.task_type} ${shortId(c.id)}, ${c.status.replace('_', ' ')}, priority ${c.priority}"
                  @click=${() => (location.hash = `#/task/${c.id}`)}
                >
                  <span class="l1"><span class="type">${c.task_type}</span><span class="mono">${shortId(c.id)}</span></span>
                  <span class="l2"
                    ><span>P${c.priority} · ${c.status.replace('_', ' ')}</span><span class="agent">${c.agent_name ?? ''}</span
                    ><span>${ago(c.created_at, now)}</span></span
                  >
                </button>`;
              })}
            </div>`}
      </div>
      ${st.loadingMore || st.error || (st.more && loaded >= COLUMN_MAX)
        ? html`<div class="foot">
            ${st.loadingMore ? 'loading older tasks…' : nothing} ${st.error ? html`<span class="error">${st.error}</span>` : nothing}
            ${st.more && loaded >= COLUMN_MAX ? `showing the newest ${loaded}; older ones are not loaded` : nothing}
          </div>`
        : nothing}
    </section>`;
  }

  render() {
    return html`
      <h2 class="sr-only">Task board</h2>
      ${this.renderFilters()}
      ${store.lastError && store.connection !== 'unreachable' ? html`<p class="error" role="alert">${store.lastError}</p>` : nothing}
      <div class="tabs" role="group" aria-label="Column">
        ${COLUMNS.map(
          (c) => html`<button
            data-testid="column-tab"
            data-status=${c.key}
            aria-pressed=${this.selected === c.key ? 'true' : 'false'}
            @click=${() => {
              this.selected = c.key;
              this.requestUpdate();
            }}
          >
            ${c.label} (${store.statsLoaded ? store.columnCount(c.key) : '…'})
          </button>`,
        )}
      </div>
      <div class="columns">${COLUMNS.map((c) => this.renderColumn(c))}</div>
    `;
  }
}
customElements.define('hive-board', HiveBoard);
