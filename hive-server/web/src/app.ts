import { html, css, nothing } from 'lit';
import { StoreView } from './base';
import { store } from './store';
import { shared } from './styles';
import './views/board';
import './views/task';
import './views/agents';
import './views/sessions';
import './views/dead-letters';
import './views/events';
import './views/submit';
import './views/metrics';
import './views/experiments';
import './views/proposals';
import './views/changes';
import './views/coming';

interface Route {
  view: string;
  id: string;
}

function parseRoute(): Route {
  const h = location.hash.replace(/^#\/?/, '');
  const [view, ...rest] = h.split('/');
  return { view: view || 'board', id: decodeURIComponent(rest.join('/')) };
}

const NAV: [string, string, string][] = [
  ['board', 'Board', 'nav-board'],
  ['agents', 'Agents', 'nav-agents'],
  ['sessions', 'Sessions', 'nav-sessions'],
  ['dead-letters', 'Dead letters', 'nav-dead-letters'],
  ['events', 'Events', 'nav-events'],
  ['submit', 'Submit', 'nav-submit'],
  ['metrics', 'Metrics', 'nav-metrics'],
  ['experiments', 'Experiments', 'nav-experiments'],
  ['proposals', 'Proposals', 'nav-proposals'],
  ['changes', 'Changes', 'nav-changes'],
];
const COMING: [string, string, string][] = [
  ['sleep', 'Sleep cycles', 'nav-sleep'],
];

export class HiveApp extends StoreView {
  static styles = [
    shared,
    css`
      :host { min-height: 100vh; display: flex; flex-direction: column; }
      header { background: var(--header); color: #fff; padding: 0.5rem 1rem; display: flex; flex-wrap: wrap; gap: 0.5rem 1.25rem; align-items: center; }
      header h1 { font-size: 1.15rem; margin: 0; white-space: nowrap; }
      nav { display: flex; flex-wrap: wrap; gap: 0.25rem 0.25rem; align-items: center; flex: 1 1 auto; min-width: 0; }
      nav a { color: #fff; text-decoration: none; padding: 0.2rem 0.5rem; border-radius: 4px; white-space: nowrap; }
      nav a:hover { background: rgba(255, 255, 255, 0.15); }
      nav a[aria-current='page'] { background: #fff; color: var(--header); font-weight: 600; }
      nav .group { display: inline-flex; flex-wrap: wrap; gap: 0.25rem; align-items: center; border-left: 1px solid rgba(255,255,255,0.5); padding-left: 0.5rem; }
      nav .group-label { font-size: 0.8rem; color: #e3ebf5; }
      header :focus-visible { outline-color: #f5b72a; }
      .conn { display: inline-flex; align-items: center; gap: 0.35rem; white-space: nowrap; }
      .dot { width: 0.7rem; height: 0.7rem; border-radius: 50%; display: inline-block; border: 1px solid #fff; }
      .conn[data-state='live'] .dot { background: #3ccf6e; }
      .conn[data-state='reconnecting'] .dot { background: #f5b72a; }
      .conn[data-state='unreachable'] .dot { background: #ff5a4f; }
      header button { background: transparent; color: #fff; border-color: #fff; }
      .banner { padding: 0.5rem 1rem; display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; }
      .banner.bad { background: #fde8e7; color: #7a1711; border-bottom: 1px solid #e0a5a0; }
      .banner.info { background: #e7f0fb; color: #163a66; border-bottom: 1px solid #9fbde3; }
      .banner button { background: #fff; color: #163a66; }
      main { flex: 1 1 auto; padding: 1rem; min-width: 0; }
      footer { border-top: 1px solid var(--border); padding: 0.35rem 1rem; color: var(--muted); font-size: 0.85rem; display: flex; gap: 1rem; flex-wrap: wrap; }
      form.signin { max-width: 24rem; margin: 2rem auto; }
      form.signin label { display: block; font-weight: 600; margin-bottom: 0.25rem; }
      form.signin input { width: 100%; margin-bottom: 0.75rem; }
      @media (max-width: 700px) {
        header { padding: 0.5rem; }
        main { padding: 0.5rem; }
      }
    `,
  ];

  private route: Route = parseRoute();
  private updateWorker: ServiceWorker | null = null;
  private reloadRequested = false;
  private onHash = () => {
    this.route = parseRoute();
    this.requestUpdate();
  };

  connectedCallback(): void {
    super.connectedCallback();
    window.addEventListener('hashchange', this.onHash);
    void store.start();
    // The service worker's install (which downloads the shell again) waits
    // until the first snapshot is on screen, so it does not slow that down.
    let registered = false;
    const register = () => {
      if (registered) return;
      registered = true;
      unsubscribe();
      clearTimeout(fallback);
      this.registerServiceWorker();
    };
    const unsubscribe = store.subscribe(() => {
      if (store.snapshotLoaded || store.auth === 'signin' || store.connection === 'unreachable') setTimeout(register, 0);
    });
    const fallback = setTimeout(register, 2000);
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    window.removeEventListener('hashchange', this.onHash);
  }

  private registerServiceWorker(): void {
    if (!import.meta.env.PROD || !('serviceWorker' in navigator)) return;
    navigator.serviceWorker.addEventListener('controllerchange', () => {
      if (this.reloadRequested) location.reload();
    });
    navigator.serviceWorker
      .register(`${import.meta.env.BASE_URL}sw.js`, { scope: import.meta.env.BASE_URL })
      .then((reg) => {
        const offer = (w: ServiceWorker | null) => {
          if (w && navigator.serviceWorker.controller) {
            this.updateWorker = w;
            this.requestUpdate();
          }
        };
        offer(reg.waiting);
        reg.onupdatefound = () => {
          const w = reg.installing;
          if (!w) return;
          w.addEventListener('statechange', () => {
            if (w.state === 'installed') offer(w);
          });
        };
      })
      .catch(() => {
        /* no service worker: the app works without one, only not offline */
      });
  }

  private reloadForUpdate(): void {
    this.reloadRequested = true;
    const w = this.updateWorker;
    if (w && w.state !== 'redundant') w.postMessage({ type: 'skipWaiting' });
    else location.reload();
    // Should the new worker not take over quickly, reload anyway.
    setTimeout(() => location.reload(), 3000);
  }

  private signin(e: Event): void {
    e.preventDefault();
    const input = this.renderRoot.querySelector('[data-testid=signin-token]') as HTMLInputElement;
    const t = input.value.trim();
    if (!t) {
      store.signinError = 'enter a token';
      this.requestUpdate();
      return;
    }
    void store.signIn(t);
  }

  private renderSignin() {
    return html`<form class="signin panel" data-testid="signin" @submit=${this.signin}>
      <h2>Sign in</h2>
      <p>This server requires a token. It is kept for this tab only.</p>
      <label for="token">Token</label>
      <input id="token" data-testid="signin-token" type="password" autocomplete="current-password" required />
      ${store.signinError ? html`<p class="error" role="alert" data-testid="signin-error">${store.signinError}</p>` : nothing}
      <button class="primary" type="submit" data-testid="signin-submit" ?disabled=${store.signinBusy}>Sign in</button>
    </form>`;
  }

  private renderView() {
    const { view, id } = this.route;
    switch (view) {
      case 'board':
        return html`<hive-board></hive-board>`;
      case 'task':
        return html`<hive-task .taskId=${id}></hive-task>`;
      case 'agents':
        return html`<hive-agents></hive-agents>`;
      case 'sessions':
        return html`<hive-sessions></hive-sessions>`;
      case 'session':
        return html`<hive-session .sessionId=${id}></hive-session>`;
      case 'dead-letters':
        return html`<hive-dead-letters></hive-dead-letters>`;
      case 'events':
        return html`<hive-events></hive-events>`;
      case 'submit':
        return html`<hive-submit></hive-submit>`;
      case 'metrics':
        return html`<hive-metrics></hive-metrics>`;
      case 'experiments':
        return html`<hive-experiments .experimentId=${id}></hive-experiments>`;
      case 'proposals':
        return html`<hive-proposals .proposalId=${id}></hive-proposals>`;
      case 'changes':
        return html`<hive-changes .changeId=${id}></hive-changes>`;
      case 'sleep':
        return html`<hive-coming .panel=${view}></hive-coming>`;
      default:
        return html`<h2>Not found</h2><p>There is no view “${view}”. <a href="#/board">Back to the board</a>.</p>`;
    }
  }

  render() {
    const active = this.route.view === 'task' ? 'board' : this.route.view === 'session' ? 'sessions' : this.route.view;
    const link = ([key, label, testid]: [string, string, string]) =>
      html`<a href="#/${key}" data-testid=${testid} aria-current=${active === key ? 'page' : 'false'}>${label}</a>`;
    const conn = store.connection;
    const connText = conn;
    const p95 = store.latencyP95();
    return html`
      <header>
        <h1>Agent Hive</h1>
        <nav aria-label="Main">
          ${NAV.map(link)}
          <span class="group" role="group" aria-label="Coming">
            <span class="group-label">Coming:</span>
            ${COMING.map(link)}
          </span>
        </nav>
        <span class="conn" data-testid="connection" data-state=${conn} role="status" aria-live="polite">
          <span class="dot" aria-hidden="true"></span>${connText}
        </span>
        ${store.auth === 'ok' && store.tokenRequired
          ? html`<button data-testid="signout" @click=${() => store.signOut()}>Sign out</button>`
          : nothing}
      </header>
      ${conn === 'unreachable'
        ? html`<div class="banner bad" data-testid="banner-unreachable" role="alert">
            The server cannot be reached; retrying. Nothing below is newer than the last answer.
            ${store.lastError ? html`<span class="mono">${store.lastError}</span>` : nothing}
          </div>`
        : nothing}
      ${this.updateWorker
        ? html`<div class="banner info" data-testid="banner-update" role="status">
            A new version is available — reload
            <button data-testid="update-reload" @click=${() => this.reloadForUpdate()}>Reload</button>
          </div>`
        : nothing}
      <main id="main">${store.auth === 'signin' ? this.renderSignin() : this.renderView()}</main>
      <footer>
        <span>event → screen p95: ${p95 === null ? 'no events yet' : `${Math.round(p95)} ms`}</span>
        <span>events applied: ${store.applied}</span>
        <span>resyncs: ${store.resyncs}</span>
        ${store.lastSeq ? html`<span>last event #${store.lastSeq}</span>` : nothing}
      </footer>
    `;
  }
}
customElements.define('hive-app', HiveApp);
