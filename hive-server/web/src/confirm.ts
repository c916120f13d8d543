import { LitElement, html, css, nothing } from 'lit';
import { shared } from './styles';

/** A text field the dialog asks for (`confirm-input-<key>`). */
export interface AskField {
  key: string;
  label: string;
  required?: boolean;
  /** Filled in when the dialog opens. */
  value?: string;
  /** `password`: typed unseen, never offered for saving, cleared when the dialog closes. */
  type?: 'text' | 'password';
}

/**
 * A modal confirmation (`confirm-dialog`, `confirm-yes`, `confirm-no`), with
 * text fields when it asks for something (an operator's name, a reason).
 */
class HiveConfirm extends LitElement {
  static styles = [
    shared,
    css`
      dialog { border: 1px solid var(--border-strong); border-radius: 8px; background: var(--panel); color: var(--fg); max-width: min(30rem, 92vw); }
      dialog::backdrop { background: rgba(0, 0, 0, 0.4); }
      .actions { display: flex; gap: 0.5rem; justify-content: flex-end; margin-top: 1rem; }
      label { display: block; font-weight: 600; margin: 0.5rem 0 0.2rem; }
      input { width: 100%; }
    `,
  ];
  message = '';
  yes = 'Yes';
  fields: AskField[] = [];
  error = '';
  private resolve: ((answer: Record<string, string> | null) => void) | undefined;

  ask(message: string, fields: AskField[] = [], yes = 'Yes'): Promise<Record<string, string> | null> {
    this.message = message;
    this.fields = fields;
    this.yes = yes;
    this.error = '';
    this.requestUpdate();
    return this.updateComplete.then(
      () =>
        new Promise<Record<string, string> | null>((resolve) => {
          this.resolve = resolve;
          const d = this.renderRoot.querySelector('dialog')!;
          this.renderRoot.querySelectorAll('input').forEach((input, i) => {
            input.value = fields[i]?.value ?? '';
          });
          d.showModal();
          const first = fields.length
            ? this.renderRoot.querySelector('input')
            : this.renderRoot.querySelector('[data-testid=confirm-no]');
          (first as HTMLElement | null)?.focus();
        }),
    );
  }

  private accept(e?: Event): void {
    e?.preventDefault();
    const answer: Record<string, string> = {};
    const inputs = [...this.renderRoot.querySelectorAll('input')];
    for (const [i, f] of this.fields.entries()) {
      const v = (inputs[i]?.value ?? '').trim();
      if (f.required && !v) {
        this.error = `Enter ${f.label.toLowerCase()}.`;
        this.requestUpdate();
        inputs[i]?.focus();
        return;
      }
      answer[f.key] = v;
    }
    this.finish(answer);
  }

  private finish(answer: Record<string, string> | null): void {
    // What was typed leaves the page with the dialog (a token among it).
    this.renderRoot.querySelectorAll('input').forEach((input) => {
      input.value = '';
    });
    const d = this.renderRoot.querySelector('dialog');
    if (d?.open) d.close();
    const r = this.resolve;
    this.resolve = undefined;
    r?.(answer);
  }

  render() {
    return html`<dialog data-testid="confirm-dialog" aria-labelledby="confirm-title" @cancel=${() => this.finish(null)}>
      <form method="dialog" novalidate @submit=${(e: Event) => this.accept(e)}>
        <h2 id="confirm-title">Please confirm</h2>
        <p>${this.message}</p>
        ${this.fields.map(
          (f) => html`<label for="confirm-${f.key}">${f.label}${f.required ? '' : ' (optional)'}</label>
            <input
              id="confirm-${f.key}"
              data-testid="confirm-input-${f.key}"
              type=${f.type ?? 'text'}
              autocomplete=${f.type === 'password' ? 'new-password' : 'off'}
              ?required=${!!f.required}
            />`,
        )}
        ${this.error ? html`<p class="error" role="alert">${this.error}</p>` : nothing}
        <div class="actions">
          <button type="button" data-testid="confirm-no" @click=${() => this.finish(null)}>No, keep it</button>
          <button type="submit" class="danger" data-testid="confirm-yes">${this.yes}</button>
        </div>
      </form>
    </dialog>`;
  }
}
customElements.define('hive-confirm', HiveConfirm);

let instance: HiveConfirm | undefined;

function dialog(): HiveConfirm {
  if (!instance) {
    instance = document.createElement('hive-confirm') as HiveConfirm;
    document.body.appendChild(instance);
  }
  return instance;
}

export function confirmAction(message: string): Promise<boolean> {
  return dialog()
    .ask(message)
    .then((a) => a !== null);
}

/** Confirms with text fields filled in: their trimmed values by key, or null when declined. */
export function askAction(message: string, fields: AskField[], yes = 'Yes'): Promise<Record<string, string> | null> {
  return dialog().ask(message, fields, yes);
}
