// BullMQ on the same Redis, with the same scenarios as benches/benches/queue.rs,
// so that the two can be compared as ratios measured in one run.
//
// Run with: ./scripts/bench (it installs this package with `npm ci` and runs
// `node benches/bullmq/bench.mjs` after the Rust benchmark). Reads
// HIVE_TEST_REDIS_URL and HIVE_BENCH_TASKS like the Rust benchmark.
import { Queue, Worker } from "bullmq";

const url = new URL(process.env.HIVE_TEST_REDIS_URL ?? "redis://127.0.0.1:6379");
const connection = {
  host: url.hostname,
  port: Number(url.port || 6379),
  db: Number(url.pathname.slice(1) || 0),
  maxRetriesPerRequest: null,
};
const n = Number(process.env.HIVE_BENCH_TASKS ?? 20000);
const BATCH = 500;

const jobs = (count) => Array.from({ length: count }, (_, i) => ({ name: "noop", data: { i } }));
const fresh = () => `bench-bullmq-${process.pid}-${Math.random().toString(36).slice(2, 10)}`;

async function submitAll(queue, count, writers) {
  const per = Math.floor(count / writers);
  await Promise.all(
    Array.from({ length: writers }, async () => {
      for (let left = per; left > 0; left -= BATCH) {
        await queue.addBulk(jobs(Math.min(left, BATCH)));
      }
    }),
  );
}

function worker(name, concurrency, done) {
  let completed = 0;
  const w = new Worker(name, async () => null, { connection, concurrency });
  w.on("completed", () => {
    completed += 1;
    if (completed === n) done();
  });
  return w;
}

async function cleanup(queue) {
  await queue.obliterate({ force: true });
  await queue.close();
}

async function submitOnly() {
  const queue = new Queue(fresh(), { connection });
  const start = performance.now();
  await submitAll(queue, n, 4);
  const rate = n / ((performance.now() - start) / 1000);
  await cleanup(queue);
  return rate;
}

async function drain(concurrency) {
  const name = fresh();
  const queue = new Queue(name, { connection });
  await submitAll(queue, n, 4);
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const start = performance.now();
  const w = worker(name, concurrency, finish);
  await finished;
  const rate = n / ((performance.now() - start) / 1000);
  await w.close();
  await cleanup(queue);
  return rate;
}

async function endToEnd(concurrency) {
  const name = fresh();
  const queue = new Queue(name, { connection });
  let finish;
  const finished = new Promise((resolve) => (finish = resolve));
  const start = performance.now();
  const w = worker(name, concurrency, finish);
  await submitAll(queue, n, 2);
  await finished;
  const rate = n / ((performance.now() - start) / 1000);
  await w.close();
  await cleanup(queue);
  return rate;
}

const row = (scenario, rate) =>
  console.log(`${"bullmq".padEnd(10)} ${scenario.padEnd(28)} ${Math.round(rate).toString().padStart(12)}`);

row("submit only (4 writers)", await submitOnly());
for (const c of [10, 50]) row(`drain, concurrency ${c}`, await drain(c));
for (const c of [10, 50]) row(`end to end, concurrency ${c}`, await endToEnd(c));
process.exit(0);
