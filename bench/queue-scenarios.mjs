/**
 * Queue benchmark scenarios, shared by queue.bench.mjs: the same workloads against @integ/queue
 * (sqlite store) and plainjob (better-sqlite3), each on a fresh database file.
 * Every function returns { ops, ms } for the measured part only.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

const payload = (i) => ({ to: `user${i}@example.com`, template: 'welcome', n: i });
const silent = { debug() {}, info() {}, warn() {}, error() {}, log() {} };

export function tempDb() {
  const dir = mkdtempSync(join(tmpdir(), 'integ-queue-bench-'));
  return { path: join(dir, 'bench.db'), dispose: () => rmSync(dir, { recursive: true, force: true }) };
}

/** @integ/queue: one queue on a fresh sqlite file. */
export async function integ(durability) {
  const { createQueue } = await import('@integ/queue');
  const { sqliteStore } = await import('@integ/queue/sqlite');
  const db = tempDb();
  const store = sqliteStore({ path: db.path, durability });
  await store.ready();
  let completed = 0;
  let onDone = () => {};
  const queue = createQueue({
    name: 'bench',
    store,
    onCompleted: () => {
      completed += 1;
      onDone();
    },
  });
  return {
    driver: store.driver,
    push: (i) => queue.push(payload(i)),
    pushMany: (items) => queue.pushMany(items),
    async drain(total, concurrency) {
      completed = 0;
      const done = new Promise((resolve) => {
        onDone = () => completed >= total && resolve();
      });
      const worker = queue.process(async () => {}, { concurrency });
      await done;
      await worker.close();
    },
    async close() {
      await queue.close();
      await store.close();
      db.dispose();
    },
  };
}

/** plainjob 0.0.14 on better-sqlite3 (WAL, synchronous=NORMAL by default). */
export async function plainjob(durability) {
  const { better, defineQueue, defineWorker } = await import('plainjob');
  const { default: Database } = await import('better-sqlite3');
  const db = tempDb();
  const sqlite = new Database(db.path);
  const queue = defineQueue({ connection: better(sqlite), logger: silent });
  if (durability === 'full') sqlite.pragma('synchronous = FULL');
  let completed = 0;
  let onDone = () => {};
  return {
    driver: 'better-sqlite3',
    push: async (i) => queue.add('bench', payload(i)),
    pushMany: async (items) => queue.addMany('bench', items),
    async drain(total) {
      completed = 0;
      const done = new Promise((resolve) => {
        onDone = () => completed >= total && resolve();
      });
      const worker = defineWorker('bench', async () => {}, {
        queue,
        logger: silent,
        pollIntervall: 10,
        onCompleted: () => {
          completed += 1;
          onDone();
        },
      });
      void worker.start();
      await done;
      await worker.stop();
    },
    async close() {
      queue.close();
      sqlite.close();
      db.dispose();
    },
  };
}

export async function pushSingle(make, durability, n) {
  const q = await make(durability);
  for (let i = 0; i < 50; i++) await q.push(-i); // warm-up
  const t0 = performance.now();
  for (let i = 0; i < n; i++) await q.push(i);
  const ms = performance.now() - t0;
  await q.close();
  return { ops: n, ms };
}

export async function pushConcurrent(make, durability, n, producers = 100) {
  const q = await make(durability);
  for (let i = 0; i < 50; i++) await q.push(-i);
  const per = Math.ceil(n / producers);
  const t0 = performance.now();
  await Promise.all(
    Array.from({ length: producers }, async (_, p) => {
      for (let i = 0; i < per; i++) await q.push(p * per + i);
    }),
  );
  const ms = performance.now() - t0;
  await q.close();
  return { ops: per * producers, ms };
}

export async function pushBatch(make, durability, n, batch = 100) {
  const q = await make(durability);
  const items = Array.from({ length: batch }, (_, i) => payload(i));
  await q.pushMany(items);
  const batches = Math.ceil(n / batch);
  const t0 = performance.now();
  for (let b = 0; b < batches; b++) await q.pushMany(items);
  const ms = performance.now() - t0;
  await q.close();
  return { ops: batches * batch, ms };
}

export async function endToEnd(make, durability, n, concurrency) {
  const q = await make(durability);
  const items = Array.from({ length: 1000 }, (_, i) => payload(i));
  for (let i = 0; i < n; i += 1000) await q.pushMany(items.slice(0, Math.min(1000, n - i)));
  const t0 = performance.now();
  await q.drain(n, concurrency);
  const ms = performance.now() - t0;
  await q.close();
  return { ops: n, ms };
}
