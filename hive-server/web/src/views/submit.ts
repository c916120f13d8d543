import { html, css, nothing, LitElement } from 'lit';
import { api, ApiError, errorText } from '../api';
import { shared } from '../styles';
import type { Task } from '../types';

const CAPABILITY = /^[^\s,\x00-\x1F\x7F-\x9F]{1,100}$/;
const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

type Field = 'type' | 'payload' | 'priority' | 'capabilities' | 'depends-on' | 'delay' | 'max-attempts';

class HiveSubmit extends LitElement {
  static styles = [
    shared,
    css`
      form { max-width: 40rem; display: grid; gap: 0.75rem; }
      label { font-weight: 600; display: block; margin-bottom: 0.2rem; }
      input, textarea { width: 100%; }
      textarea { min-height: 8rem; font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; }
      .hint { font-size: 0.85rem; color: var(--muted); margin: 0.15rem 0 0; }
      .field-error { color: var(--danger-text); font-size: 0.9rem; margin: 0.15rem 0 0; }
      .two { display: grid; grid-template-columns: repeat(auto-fit, minmax(12rem, 1fr)); gap: 0.75rem; }
    `,
  ];

  private errors: Partial<Record<Field, string>> = {};
  private serverError = '';
  private ok: Task | null = null;
  private busy = false;

  private value(id: string): string {
    return ((this.renderRoot.querySelector(`#${id}`) as HTMLInputElement | HTMLTextAreaElement | null)?.value ?? '').trim();
  }

  private async submit(e: Event): Promise<void> {
    e.preventDefault();
    if (this.busy) return;
    const errors: Partial<Record<Field, string>> = {};
    const body: Record<string, unknown> = {};

    const type = this.value('type');
    if (!type) errors.type = 'A type is required.';
    else if (type.length > 200) errors.type = 'At most 200 characters.';
    else body.type = type;

    const payloadText = this.value('payload');
    if (payloadText) {
      try {
        body.payload = JSON.parse(payloadText);
      } catch (err) {
        errors.payload = `Not valid JSON: ${err instanceof Error ? err.message : String(err)}`;
      }
    }

    const pr = this.value('priority');
    if (pr) {
      const n = Number(pr);
      if (!/^\d+$/.test(pr) || n < 1 || n > 9) errors.priority = 'Priority is a whole number from 1 (most urgent) to 9.';
      else body.priority = n;
    }

    const caps = this.value('capabilities');
    if (caps) {
      const list = caps.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = list.filter((c) => !CAPABILITY.test(c));
      if (bad.length) errors.capabilities = `Not a capability: ${bad.join(', ')} (1–100 characters, no spaces, commas or control characters).`;
      else body.capabilities = [...new Set(list)];
    }

    const deps = this.value('depends-on');
    if (deps) {
      const list = deps.split(',').map((s) => s.trim()).filter(Boolean);
      const bad = list.filter((d) => !UUID.test(d));
      if (bad.length) errors['depends-on'] = `Not a task id (UUID): ${bad.join(', ')}`;
      else body.depends_on = list;
    }

    const delay = this.value('delay');
    if (delay) {
      if (!/^\d+$/.test(delay)) errors.delay = 'A whole number of milliseconds (0 or more).';
      else body.delay_ms = Number(delay);
    }

    const ma = this.value('max-attempts');
    if (ma) {
      if (!/^\d+$/.test(ma) || Number(ma) < 1) errors['max-attempts'] = 'A whole number, 1 or more.';
      else body.max_attempts = Number(ma);
    }

    this.errors = errors;
    this.serverError = '';
    this.ok = null;
    if (Object.keys(errors).length > 0) {
      this.requestUpdate();
      return;
    }
    this.busy = true;
    this.requestUpdate();
    try {
      const r = await api<{ task: Task; deduplicated: boolean }>('POST', '/tasks', body);
      this.ok = r.task;
    } catch (err) {
      this.serverError = err instanceof ApiError ? `${err.code}: ${err.message}` : errorText(err);
    }
    this.busy = false;
    this.requestUpdate();
  }

  private err(f: Field) {
    const m = this.errors[f];
    return m ? html`<p class="field-error" id="err-${f}" data-testid="submit-error-${f}" role="alert">${m}</p>` : nothing;
  }

  private described(f: Field): string {
    return this.errors[f] ? `err-${f}` : `hint-${f}`;
  }

  render() {
    return html`<h2>Submit a task</h2>
      <form data-testid="submit-form" novalidate @submit=${(e: Event) => void this.submit(e)}>
        <div>
          <label for="type">Type (required)</label>
          <input id="type" data-testid="submit-type" type="text" maxlength="200" aria-invalid=${this.errors.type ? 'true' : 'false'} aria-describedby=${this.described('type')} />
          <p class="hint" id="hint-type">What kind of work: workers dispatch on it.</p>
          ${this.err('type')}
        </div>
        <div>
          <label for="payload">Payload (JSON)</label>
          <textarea id="payload" data-testid="submit-payload" spellcheck="false" aria-invalid=${this.errors.payload ? 'true' : 'false'} aria-describedby=${this.described('payload')}></textarea>
          <p class="hint" id="hint-payload">Any JSON value; empty means null.</p>
          ${this.err('payload')}
        </div>
        <div class="two">
          <div>
            <label for="priority">Priority (1 most urgent … 9)</label>
            <input id="priority" data-testid="submit-priority" type="text" inputmode="numeric" value="5" aria-invalid=${this.errors.priority ? 'true' : 'false'} aria-describedby=${this.described('priority')} />
            <p class="hint" id="hint-priority">Default 5.</p>
            ${this.err('priority')}
          </div>
          <div>
            <label for="max-attempts">Max attempts (optional)</label>
            <input id="max-attempts" data-testid="submit-max-attempts" type="text" inputmode="numeric" aria-describedby=${this.described('max-attempts')} />
            <p class="hint" id="hint-max-attempts">Before it is dead-lettered.</p>
            ${this.err('max-attempts')}
          </div>
          <div>
            <label for="delay">Delay in ms (optional)</label>
            <input id="delay" data-testid="submit-delay" type="text" inputmode="numeric" aria-describedby=${this.described('delay')} />
            <p class="hint" id="hint-delay">Not to run before then.</p>
            ${this.err('delay')}
          </div>
        </div>
        <div>
          <label for="capabilities">Capabilities (comma separated)</label>
          <input id="capabilities" data-testid="submit-capabilities" type="text" aria-describedby=${this.described('capabilities')} />
          <p class="hint" id="hint-capabilities">A worker must have all of them.</p>
          ${this.err('capabilities')}
        </div>
        <div>
          <label for="depends-on">Depends on (comma separated task ids)</label>
          <input id="depends-on" data-testid="submit-depends-on" type="text" aria-describedby=${this.described('depends-on')} />
          <p class="hint" id="hint-depends-on">Tasks that must complete first.</p>
          ${this.err('depends-on')}
        </div>
        <div class="row">
          <button class="primary" type="submit" data-testid="submit-send" ?disabled=${this.busy}>Submit</button>
          ${this.busy ? html`<span>Sending…</span>` : nothing}
        </div>
        ${this.serverError ? html`<p class="error" role="alert" data-testid="submit-error-server">The server refused it: ${this.serverError}</p>` : nothing}
        ${this.ok
          ? html`<p role="status" data-testid="submit-ok">
              Submitted: <a href="#/task/${this.ok.id}">task ${this.ok.id}</a> (${this.ok.status}).
            </p>`
          : nothing}
      </form>`;
  }
}
customElements.define('hive-submit', HiveSubmit);
