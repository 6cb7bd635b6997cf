/**
 * Queue benchmark scenarios, shared by queue.bench.mjs: the same workloads against @integ/queue
 * (sqlite store) and plainjob (better-sqlite3, or node:sqlite through an adapter), each on a fresh database file.
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

/**
 * @integ/queue: one queue on a fresh sqlite file. `build` is the workspace's own by default; queue-ab.mjs passes the
 * `{ createQueue, sqliteStore }` of another build.
 */
export async function integ(durability, build) {
  const { createQueue } = build ?? (await import('@integ/queue'));
  const { sqliteStore } = build ?? (await import('@integ/queue/sqlite'));
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

/**
 * plainjob's Connection over node:sqlite (for Node versions where the better-sqlite3 addon does not load):
 * the same statements, with transactions made of BEGIN/COMMIT as better-sqlite3's `transaction()` does.
 */
function nodeSqliteConnection(db, filename) {
  const wrap =
    (fn, mode) =>
    (...args) => {
      db.exec(`BEGIN ${mode}`);
      try {
        const result = fn(...args);
        db.exec('COMMIT');
        return result;
      } catch (error) {
        db.exec('ROLLBACK');
        throw error;
      }
    };
  return {
    driver: 'better-sqlite3',
    filename,
    pragma: (statement) => db.exec(`PRAGMA ${statement}`),
    exec: (sql) => db.exec(sql),
    prepare: (sql) => db.prepare(sql),
    transaction(fn) {
      const run = wrap(fn, 'DEFERRED');
      run.deferred = run;
      run.immediate = wrap(fn, 'IMMEDIATE');
      run.exclusive = wrap(fn, 'EXCLUSIVE');
      return run;
    },
    close() {
      // plainjob's queue.close() closes its connection; closing twice is a no-op, as in better-sqlite3.
      if (db.isOpen !== false) db.close();
    },
  };
}

/** Which SQLite binding plainjob can use here: better-sqlite3, else node:sqlite through the adapter above. */
export async function plainjobDriver() {
  try {
    const { default: Database } = await import('better-sqlite3');
    new Database(':memory:').close();
    return 'better-sqlite3';
  } catch {
    try {
      await import('node:sqlite');
      return 'node:sqlite';
    } catch {
      return undefined;
    }
  }
}

/** plainjob 0.0.14 (WAL, synchronous=NORMAL by default) on better-sqlite3, or node:sqlite where that is all there is. */
export async function plainjob(durability) {
  const { better, defineQueue, defineWorker } = await import('plainjob');
  const db = tempDb();
  let connection;
  let sqlite;
  if ((await plainjobDriver()) === 'better-sqlite3') {
    const { default: Database } = await import('better-sqlite3');
    sqlite = new Database(db.path);
    connection = better(sqlite);
  } else {
    const { DatabaseSync } = await import('node:sqlite');
    sqlite = new DatabaseSync(db.path);
    connection = nodeSqliteConnection(sqlite, db.path);
  }
  const queue = defineQueue({ connection, logger: silent });
  if (durability === 'full') connection.pragma('synchronous = FULL');
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
      connection.close();
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
