import { html, LitElement } from 'lit';
import { shared } from '../styles';

const PANELS: Record<string, [string, string]> = {
  sleep: [
    'Sleep cycles',
    'Sleep cycles will appear here: the periods in which agents consolidate their memory, when each ran and what it kept or dropped.',
  ],
};

class HiveComing extends LitElement {
  static styles = [shared];
  private which = 'sleep';

  set panel(v: string) {
    this.which = v;
    this.requestUpdate();
  }
  get panel(): string {
    return this.which;
  }

  render() {
    const [title, text] = PANELS[this.which] ?? ['Coming', 'This panel comes with a later release.'];
    return html`<h2>${title}</h2>
      <p>${text}</p>
      <p class="muted">Nothing is shown yet: the server does not provide this data today.</p>`;
  }
}
customElements.define('hive-coming', HiveComing);
