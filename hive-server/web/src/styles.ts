import { css } from 'lit';

// Shared look. Colours are chosen for WCAG AA contrast on their backgrounds.
export const shared = css`
  :host {
    display: block;
    color: var(--fg);
    font: 14px/1.4 system-ui, -apple-system, 'Segoe UI', Roboto, sans-serif;
  }
  *, *::before, *::after { box-sizing: border-box; }
  h2 { font-size: 1.25rem; margin: 0 0 0.75rem; }
  h3 { font-size: 1rem; margin: 1rem 0 0.5rem; }
  a { color: var(--link); }
  button {
    font: inherit;
    color: var(--fg);
    background: var(--btn);
    border: 1px solid var(--border-strong);
    border-radius: 6px;
    padding: 0.3rem 0.7rem;
    cursor: pointer;
  }
  button.primary { background: var(--accent); color: #fff; border-color: var(--accent); }
  button.danger { background: var(--danger); color: #fff; border-color: var(--danger); }
  button:disabled { opacity: 0.6; cursor: default; }
  :focus-visible { outline: 3px solid var(--focus); outline-offset: 2px; }
  input, textarea, select {
    font: inherit;
    color: var(--fg);
    background: var(--input);
    border: 1px solid var(--border-strong);
    border-radius: 6px;
    padding: 0.3rem 0.5rem;
    max-width: 100%;
  }
  table { border-collapse: collapse; width: 100%; }
  th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid var(--border); vertical-align: top; }
  th { font-weight: 600; }
  .table-wrap { overflow-x: auto; max-width: 100%; position: relative; }
  .muted { color: var(--muted); }
  .error { color: var(--danger-text); }
  .mono { font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 0.85em; }
  pre {
    background: var(--code);
    padding: 0.5rem;
    border-radius: 6px;
    overflow: auto;
    max-height: 20rem;
    white-space: pre-wrap;
    word-break: break-word;
    margin: 0;
  }
  .badge {
    display: inline-block;
    padding: 0 0.45rem;
    border-radius: 999px;
    font-size: 0.8rem;
    font-weight: 600;
    border: 1px solid currentColor;
    white-space: nowrap;
  }
  .s-pending, .s-healthy-neutral { color: var(--c-pending); }
  .s-waiting, .s-delayed { color: var(--c-waiting); }
  .s-assigned, .s-in_progress { color: var(--c-running); }
  .s-completed, .s-healthy { color: var(--c-ok); }
  .s-failed, .s-dead_lettered, .s-dead { color: var(--c-bad); }
  .s-cancelled, .s-stopped { color: var(--c-muted); }
  .s-unhealthy { color: var(--c-warn); }
  .row { display: flex; gap: 0.5rem; flex-wrap: wrap; align-items: center; }
  .panel { background: var(--panel); border: 1px solid var(--border); border-radius: 8px; padding: 0.75rem; }
  .sr-only { position: absolute; width: 1px; height: 1px; overflow: hidden; clip: rect(0 0 0 0); white-space: nowrap; }
  dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.2rem 0.75rem; margin: 0; }
  dt { font-weight: 600; }
  dd { margin: 0; overflow-wrap: anywhere; }
`;
