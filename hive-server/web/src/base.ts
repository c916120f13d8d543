import { LitElement } from 'lit';
import { store } from './store';
import type { HiveEvent } from './types';

/** A view that re-renders when the store changes (at most once per animation frame). */
export class StoreView extends LitElement {
  private unsubscribe: (() => void) | undefined;

  connectedCallback(): void {
    super.connectedCallback();
    this.unsubscribe = store.subscribe(() => {
      this.requestUpdate();
      return this.updateComplete;
    });
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.unsubscribe?.();
    this.unsubscribe = undefined;
  }
}

/**
 * Calls `reload` `delay` ms after the last store event that `matches`
 * (debounced, so a burst costs one read); answers the unsubscribe, which
 * also cancels a pending reload. The views that re-read over REST on
 * events use it.
 */
export function reloadOn(matches: (e: HiveEvent) => boolean, delay: number, reload: () => void): () => void {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const unsubscribe = store.onEvent((e) => {
    if (!matches(e)) return;
    clearTimeout(timer);
    timer = setTimeout(reload, delay);
  });
  return () => {
    unsubscribe();
    clearTimeout(timer);
  };
}

export function ago(iso: string | null | undefined, now = Date.now()): string {
  if (!iso) return '—';
  const t = Date.parse(iso);
  if (Number.isNaN(t)) return '—';
  const s = Math.max(0, Math.round((now - t) / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${s % 60}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${m % 60}m`;
  return `${Math.floor(h / 24)}d`;
}

export function when(iso: string | null | undefined): string {
  if (!iso) return '—';
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return iso;
  return d.toLocaleString();
}

export function shortId(id: string): string {
  return id.length > 8 ? `…${id.slice(-8)}` : id;
}

export function json(v: unknown): string {
  if (v === undefined) return '—';
  try {
    return JSON.stringify(v, null, 2);
  } catch {
    return String(v);
  }
}
