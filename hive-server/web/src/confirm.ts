import { LitElement, html, css } from 'lit';
import { shared } from './styles';

/** A modal confirmation (`confirm-dialog`, `confirm-yes`, `confirm-no`). */
class HiveConfirm extends LitElement {
  static styles = [
    shared,
    css`
      dialog { border: 1px solid var(--border-strong); border-radius: 8px; background: var(--panel); color: var(--fg); max-width: min(30rem, 92vw); }
      dialog::backdrop { background: rgba(0, 0, 0, 0.4); }
      .actions { display: flex; gap: 0.5rem; justify-content: flex-end; margin-top: 1rem; }
    `,
  ];
  message = '';
  private resolve: ((ok: boolean) => void) | undefined;

  ask(message: string): Promise<boolean> {
    this.message = message;
    this.requestUpdate();
    return this.updateComplete.then(
      () =>
        new Promise<boolean>((resolve) => {
          this.resolve = resolve;
          const d = this.renderRoot.querySelector('dialog')!;
          d.showModal();
          (this.renderRoot.querySelector('[data-testid=confirm-no]') as HTMLButtonElement | null)?.focus();
        }),
    );
  }

  private answer(ok: boolean): void {
    const d = this.renderRoot.querySelector('dialog');
    if (d?.open) d.close();
    const r = this.resolve;
    this.resolve = undefined;
    r?.(ok);
  }

  render() {
    return html`<dialog data-testid="confirm-dialog" aria-labelledby="confirm-title" @cancel=${() => this.answer(false)}>
      <h2 id="confirm-title">Please confirm</h2>
      <p>${this.message}</p>
      <div class="actions">
        <button data-testid="confirm-no" @click=${() => this.answer(false)}>No, keep it</button>
        <button class="danger" data-testid="confirm-yes" @click=${() => this.answer(true)}>Yes</button>
      </div>
    </dialog>`;
  }
}
customElements.define('hive-confirm', HiveConfirm);

let instance: HiveConfirm | undefined;

export function confirmAction(message: string): Promise<boolean> {
  if (!instance) {
    instance = document.createElement('hive-confirm') as HiveConfirm;
    document.body.appendChild(instance);
  }
  return instance.ask(message);
}
