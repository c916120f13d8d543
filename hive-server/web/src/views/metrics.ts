import { html, css, nothing, svg, LitElement } from 'lit';
import { api, errorText } from '../api';
import { shared } from '../styles';
import { seriesPoints, type MetricsPoint, type MetricsSeries, type OutcomeMetrics, type TaskStatus } from '../types';

interface Series {
  name: string;
  color: string;
  values: (number | null)[];
}

const W = 560;
const H = 200;
const PAD = { l: 52, r: 10, t: 24, b: 28 };

function fmt(v: number | null | undefined, digits = 2): string {
  if (v === null || v === undefined || Number.isNaN(v)) return 'none';
  if (Math.abs(v) >= 100) return v.toFixed(0);
  return Number(v.toFixed(digits)).toString();
}

/** The newest value of a series that is not null (a partial or idle interval has none). */
function latest(values: (number | null)[]): number | null {
  for (let i = values.length - 1; i >= 0; i--) if (values[i] !== null) return values[i];
  return null;
}

function lineChart(testid: string, label: string, times: string[], series: Series[], unit: string) {
  const all = series.flatMap((s) => s.values.filter((v): v is number => v !== null));
  const top = Math.max(0, ...all);
  const max = top > 0 ? top * 1.1 : 1;
  const n = times.length;
  const x = (i: number) => PAD.l + (n <= 1 ? 0 : (i * (W - PAD.l - PAD.r)) / (n - 1));
  const y = (v: number) => PAD.t + (H - PAD.t - PAD.b) * (1 - v / max);
  const paths = series.map((s) => {
    let d = '';
    let pen = false;
    s.values.forEach((v, i) => {
      if (v === null) {
        pen = false;
        return;
      }
      d += `${pen ? 'L' : 'M'}${x(i).toFixed(1)},${y(v).toFixed(1)} `;
      pen = true;
    });
    const dots = s.values.map((v, i) =>
      v !== null && (i === 0 || s.values[i - 1] === null) && (i === n - 1 || s.values[i + 1] === null)
        ? svg`<circle cx=${x(i).toFixed(1)} cy=${y(v).toFixed(1)} r="2.5" fill=${s.color}></circle>`
        : nothing,
    );
    return svg`<path d=${d || 'M0,0'} fill="none" stroke=${s.color} stroke-width="2"></path>${dots}`;
  });
  const ticks = [0, max / 2, max];
  const first = times[0] ? new Date(times[0]).toLocaleTimeString() : '';
  const lastT = times[n - 1] ? new Date(times[n - 1]).toLocaleTimeString() : '';
  return html`<svg data-testid=${testid} viewBox="0 0 ${W} ${H}" role="img" aria-label=${label} preserveAspectRatio="xMidYMid meet">
      ${ticks.map(
        (t) => svg`<line x1=${PAD.l} x2=${W - PAD.r} y1=${y(t)} y2=${y(t)} stroke="#c9ced4" stroke-width="1"></line>
          <text x=${PAD.l - 4} y=${y(t) + 4} font-size="11" text-anchor="end" fill="currentColor">${fmt(t)}</text>`,
      )}
      <text x=${PAD.l} y=${H - 8} font-size="11" fill="currentColor">${first}</text>
      <text x=${W - PAD.r} y=${H - 8} font-size="11" text-anchor="end" fill="currentColor">${lastT}</text>
      <text x="4" y="12" font-size="11" fill="currentColor">${unit}</text>
      ${paths}
    </svg>
    <ul class="legend">
      ${series.map(
        (s) => html`<li><span class="swatch" style="background:${s.color}"></span>${s.name}: ${fmt(latest(s.values))}</li>`,
      )}
    </ul>`;
}

const DEPTH: { name: string; statuses: TaskStatus[]; color: string }[] = [
  { name: 'pending', statuses: ['pending'], color: '#32577d' },
  { name: 'waiting + delayed', statuses: ['waiting', 'delayed'], color: '#a86f00' },
  { name: 'running', statuses: ['assigned', 'in_progress'], color: '#1d7fd8' },
  { name: 'dead-lettered', statuses: ['dead_lettered'], color: '#b42318' },
];

class HiveMetrics extends LitElement {
  static styles = [
    shared,
    css`
      .charts { display: grid; grid-template-columns: repeat(auto-fit, minmax(min(100%, 26rem), 1fr)); gap: 0.75rem; }
      svg { width: 100%; height: auto; display: block; color: var(--fg); }
      .legend { list-style: none; padding: 0; margin: 0.35rem 0 0; display: flex; gap: 0.3rem 1rem; flex-wrap: wrap; font-size: 0.85rem; }
      .swatch { display: inline-block; width: 0.8rem; height: 0.8rem; border-radius: 2px; margin-right: 0.3rem; vertical-align: -1px; }
      h3 { margin-top: 0; }
      h3.spend { margin-top: 1.25rem; }
      td.num, th.num { text-align: right; font-variant-numeric: tabular-nums; }
    `,
  ];

  private data: MetricsSeries | null = null;
  private outcomes: OutcomeMetrics[] | null = null;
  private error = '';
  private timer: ReturnType<typeof setTimeout> | undefined;
  private alive = false;

  connectedCallback(): void {
    super.connectedCallback();
    this.alive = true;
    void this.load();
  }

  disconnectedCallback(): void {
    super.disconnectedCallback();
    this.alive = false;
    clearTimeout(this.timer);
  }

  // The series is not in the event feed: while this view is shown it is
  // re-read every `interval_secs` (the server's sampling interval).
  private async load(): Promise<void> {
    clearTimeout(this.timer);
    try {
      const [series, outcomes] = await Promise.all([
        api<MetricsSeries>('GET', '/metrics/series'),
        api<OutcomeMetrics[]>('GET', '/outcomes/metrics?group_by=agent'),
      ]);
      this.data = series;
      this.outcomes = outcomes;
      this.error = '';
    } catch (e) {
      this.error = errorText(e);
    }
    this.requestUpdate();
    if (!this.alive) return;
    const every = Math.max(1, this.data?.interval_secs ?? 5) * 1000;
    this.timer = setTimeout(() => {
      if (document.visibilityState === 'visible') void this.load();
      else this.timer = setTimeout(() => void this.load(), every);
    }, every);
  }

  private charts(d: MetricsSeries) {
    const s: MetricsPoint[] = seriesPoints(d);
    const times = s.map((x) => x.at);
    const per = Math.max(1, d.interval_secs);
    const tput: Series[] = [{ name: 'completed / s', color: '#1d6b3a', values: s.map((x) => x.completed / per) }];
    const depth: Series[] = DEPTH.map((g) => ({
      name: g.name,
      color: g.color,
      values: s.map((x) => g.statuses.reduce((n, st) => n + (x.depth[st] ?? 0), 0)),
    }));
    const lat: Series[] = [
      { name: 'wait p50 ms', color: '#32577d', values: s.map((x) => x.wait_p50_ms) },
      { name: 'wait p95 ms', color: '#7c9cc4', values: s.map((x) => x.wait_p95_ms) },
      { name: 'run p50 ms', color: '#a86f00', values: s.map((x) => x.run_p50_ms) },
      { name: 'run p95 ms', color: '#d9a441', values: s.map((x) => x.run_p95_ms) },
    ];
    const fail: Series[] = [
      {
        name: 'failure rate %',
        color: '#b42318',
        values: s.map((x) => {
          const n = x.completed + x.failed + x.dead_lettered;
          return n === 0 ? null : ((x.failed + x.dead_lettered) * 100) / n;
        }),
      },
    ];
    const last = s[s.length - 1];
    const lastTxt = (xs: Series[]) => xs.map((x) => `${x.name} ${fmt(latest(x.values))}`).join(', ');
    const note = last ? ` (newest point ${last.at}${last.partial ? ', still filling' : ''}; latest known values)` : ' (no point yet)';
    return html`<div class="charts">
      <section class="panel"><h3>Completed tasks per second</h3>
        ${lineChart('chart-throughput', `Completed tasks per second${note}: ${lastTxt(tput)}`, times, tput, 'tasks/s')}</section>
      <section class="panel"><h3>Queue depth by status</h3>
        ${lineChart('chart-depth', `Queue depth by status${note}: ${lastTxt(depth)}`, times, depth, 'tasks')}</section>
      <section class="panel"><h3>Wait (submit → start) and run time</h3>
        ${lineChart('chart-latency', `Wait and run time percentiles${note}: ${lastTxt(lat)}`, times, lat, 'ms')}</section>
      <section class="panel"><h3>Failure rate</h3>
        ${lineChart('chart-failure', `Failure rate${note}: ${lastTxt(fail)}`, times, fail, '%')}</section>
    </div>`;
  }

  render() {
    const d = this.data;
    return html`<section data-testid="metrics">
      <h2>Metrics</h2>
      <p class="muted">
        From <span class="mono">GET /metrics/series</span>${d ? `: ${seriesPoints(d).length} points, one every ${d.interval_secs} s over ${d.window_secs} s, re-read every ${d.interval_secs} s while shown` : ''}.
      </p>
      ${this.error ? html`<p class="error" role="alert">Could not read the series: ${this.error}</p>` : nothing}
      ${d ? this.charts(d) : this.error ? nothing : html`<p class="muted">Loading…</p>`}
      <h3 class="spend">Spend per agent</h3>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Table">
        <table data-testid="spend-table">
          <thead>
            <tr><th scope="col">Agent</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Tokens in</th><th scope="col" class="num">Tokens out</th><th scope="col" class="num">USD</th><th scope="col" class="num">Unpriced tasks</th></tr>
          </thead>
          <tbody>
            ${!d || d.spend.length === 0
              ? html`<tr><td colspan="6">${d ? 'no spend recorded' : '—'}</td></tr>`
              : d.spend.map(
                  (r) => html`<tr>
                    <td>${r.agent}</td>
                    <td class="num">${r.tasks}</td>
                    <td class="num">${r.input_tokens}</td>
                    <td class="num">${r.output_tokens}</td>
                    <td class="num">${r.cost_usd.toFixed(4)}</td>
                    <td class="num">${r.unpriced_tasks ?? '—'}</td>
                  </tr>`,
                )}
          </tbody>
        </table>
      </div>
      ${this.renderOutcomes()}
    </section>`;
  }

  // Every finished task's outcome, from the durable store (not this
  // server's window): GET /outcomes/metrics?group_by=agent.
  private renderOutcomes() {
    const o = this.outcomes;
    const pct = (r: number) => `${(r * 100).toFixed(1)} %`;
    return html`<h3 class="spend">Outcomes by agent</h3>
      <p class="muted">Every task an agent finished, from <span class="mono">GET /outcomes/metrics?group_by=agent</span> (all time).</p>
      <div class="table-wrap" tabindex="0" role="region" aria-label="Outcomes by agent">
        <table data-testid="outcomes-table">
          <thead>
            <tr><th scope="col">Agent</th><th scope="col" class="num">Tasks</th><th scope="col" class="num">Succeeded</th><th scope="col" class="num">Dead-lettered</th><th scope="col" class="num">Success</th><th scope="col" class="num">Retries</th><th scope="col" class="num">Run p50 / p95 ms</th><th scope="col" class="num">USD per task</th></tr>
          </thead>
          <tbody>
            ${!o || o.length === 0
              ? html`<tr><td colspan="8">${o ? 'no outcomes yet' : '—'}</td></tr>`
              : o.map(
                  (m) => html`<tr>
                    <td>${m.key ?? '(no agent)'}</td>
                    <td class="num">${m.tasks}</td>
                    <td class="num">${m.succeeded}</td>
                    <td class="num">${m.dead_lettered}</td>
                    <td class="num">${pct(m.success_rate)}</td>
                    <td class="num">${m.retries}</td>
                    <td class="num">${m.p50_run_ms} / ${m.p95_run_ms}</td>
                    <td class="num">${m.cost_per_task.toFixed(4)}</td>
                  </tr>`,
                )}
          </tbody>
        </table>
      </div>`;
  }
}
customElements.define('hive-metrics', HiveMetrics);
