// The dashboard benchmark (not a test: it reports, it does not judge).
//
//   node hive-server/web/tests/bench-dashboard.mjs
//
// An open board page follows ~200 task events a second for HIVE_BENCH_SECS
// (default 600) after a 30 s warm-up: about 67 tasks a second, each submitted
// over REST, claimed and completed by a remote agent over the HTTP API. The
// page's JS heap is read through the DevTools protocol (after a forced GC) at
// the start and at the end of the measured run; the event-to-screen latencies
// come from the page (window.__hive.latencies(), read as they accumulate).
// Prints start MB, end MB, their ratio, the events/s achieved, the
// event-to-screen p50/p95 over the run, and "heap within 20 %: yes/no".
// Reads HIVE_BIN (default target/debug/hive) and HIVE_UI_DIR like the tests.
import { Server, hive, launch, newPage, openDashboard, percentile, sleep, waitConnection } from './harness.mjs';

const SECS = Number(process.env.HIVE_BENCH_SECS || 600);
const WARMUP_SECS = Number(process.env.HIVE_BENCH_WARMUP_SECS || 30);
const TASKS_PER_SEC = 200 / 3; // submitted + claimed + completed: three events a task

const log = (s) => console.log(`bench-dashboard: ${s}`);

const server = await new Server().start();
const browser = await launch();
let stopping = false;
const cleanup = async () => {
  stopping = true;
  await browser.close().catch(() => {});
  await server.dispose().catch(() => {});
};
process.on('SIGINT', () => cleanup().then(() => process.exit(130)));

try {
  const page = await newPage(browser, { label: 'bench' });
  await openDashboard(page, server, '#/board');
  await waitConnection(page, 'live');
  const cdp = await page.context().newCDPSession(page);
  const heapMB = async () => {
    await cdp.send('HeapProfiler.collectGarbage');
    await cdp.send('HeapProfiler.collectGarbage');
    const { usedSize } = await cdp.send('Runtime.getHeapUsage');
    return usedSize / 1024 / 1024;
  };

  const agent = await server.agent('bench-agent', ['bench']);
  agent.keepBeating(5000);
  let submitted = 0;
  let completed = 0;
  let errors = 0;

  // The submitter: keeps the count submitted at TASKS_PER_SEC × elapsed, at most 16 requests in flight.
  const t0 = Date.now();
  let inFlight = 0;
  const submitter = (async () => {
    while (!stopping) {
      const due = Math.floor(((Date.now() - t0) / 1000) * TASKS_PER_SEC);
      while (submitted + inFlight < due && inFlight < 16) {
        inFlight++;
        server.submit({ type: 'bench', payload: { n: submitted + inFlight } })
          .then(() => { submitted++; }, () => { errors++; })
          .finally(() => { inFlight--; });
      }
      await sleep(20);
    }
  })();
  // Two workers: long-poll claims (up to 100), complete each lease.
  const worker = async () => {
    while (!stopping) {
      let leases = [];
      try {
        leases = await agent.claim({ max: 100, wait_ms: 500, lease_ms: 60_000 });
      } catch {
        errors++;
        await sleep(100);
      }
      await Promise.all(leases.map((l) => agent.complete(l, { ok: true }).then(() => { completed++; }, () => { errors++; })));
    }
  };
  const workers = [worker(), worker()];

  log(`warming up for ${WARMUP_SECS} s at ~${Math.round(TASKS_PER_SEC * 3)} events/s`);
  await sleep(WARMUP_SECS * 1000);
  const heap0 = await heapMB();
  const seq0 = await server.seq();
  const h0 = await hive(page);
  let lastApplied = h0.applied;
  const lat = [];
  const tStart = Date.now();
  log(`measuring for ${SECS} s; heap at start ${heap0.toFixed(2)} MB`);
  // Read the page's new latencies every 5 s (its ring holds the newest 10,000; 5 s is ~1,000).
  let nextReport = tStart + 60_000;
  while (Date.now() - tStart < SECS * 1000) {
    await sleep(Math.min(5000, SECS * 1000 - (Date.now() - tStart)));
    const fresh = await page.evaluate((last) => {
      const h = window.__hive;
      const n = Math.max(0, h.applied - last);
      const all = h.latencies();
      return { applied: h.applied, values: n === 0 ? [] : all.slice(-Math.min(n, all.length)) };
    }, lastApplied);
    lastApplied = fresh.applied;
    for (const v of fresh.values) lat.push(v);
    if (Date.now() >= nextReport) {
      nextReport += 60_000;
      const el = (Date.now() - tStart) / 1000;
      log(`${el.toFixed(0)} s: ${lat.length} latencies, p95 so far ${percentile(lat, 95).toFixed(1)} ms, submitted ${submitted}, completed ${completed}`);
    }
  }
  const elapsed = (Date.now() - tStart) / 1000;
  const seq1 = await server.seq();
  const heap1 = await heapMB();
  stopping = true;
  await submitter;
  await Promise.all(workers);
  agent.stopBeating();
  const h1 = await hive(page);
  const stats = await server.stats();
  const ratio = heap1 / heap0;
  log(`run: ${elapsed.toFixed(0)} s after a ${WARMUP_SECS} s warm-up; ${submitted} submitted, ${completed} completed, ${errors} request errors; queue now ${JSON.stringify(stats.stats.counts)}`);
  log(`events/s achieved: ${((seq1 - seq0) / elapsed).toFixed(1)} (${seq1 - seq0} events)`);
  log(`page: applied ${h1.applied - h0.applied} task events, resyncs ${h0.resyncs} → ${h1.resyncs}, connection ${h1.connection}`);
  log(`event → screen: ${lat.length} events, p50 ${percentile(lat, 50).toFixed(1)} ms, p95 ${percentile(lat, 95).toFixed(1)} ms`);
  log(`heap: start ${heap0.toFixed(2)} MB, end ${heap1.toFixed(2)} MB, ratio ${ratio.toFixed(3)}`);
  log(`heap within 20 %: ${Math.abs(ratio - 1) <= 0.2 ? 'yes' : 'no'}`);
} catch (e) {
  console.error(`bench-dashboard: ${e.stack || e}`);
  console.error(server.tail());
  process.exitCode = 1;
} finally {
  await cleanup();
}
