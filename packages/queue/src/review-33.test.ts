/**
 * Review 33: f36379b's faster pushes (decision 0202) against the behaviour they claimed to keep. Key-less jobs of one
 * enqueue now go in up to 256 rows per `INSERT ... RETURNING id`, their ids sorted and matched in push order; records
 * are built property by property; f36379b's `temp_store = MEMORY` was replaced by `INSERT OR FAIL` after this review
 * (it held big writes' journals in memory, 0202). Each case runs on the driver this Node
 * loads (better-sqlite3 on Node 20, node:sqlite on Node 24).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createQueue } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it } from 'vitest';
import { failStatements, openTestDatabase, recordQueries } from '../test/sqlite-db.js';
import { memoryStore } from './memory-store.js';
import type { NewJobRecord } from './store.js';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-review-33-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => join(dir, `${name}-${++n}.db`);
const T0 = Date.UTC(2030, 0, 1);

/** node:sqlite where this Node has it (Node >= 22.13), else undefined. */
const nodeSqlite = (() => {
  try {
    return createRequire(import.meta.url)('node:sqlite') as {
      StatementSync: { prototype: { all(...params: unknown[]): unknown[]; expandedSQL: string } };
    };
  } catch {
    return undefined;
  }
})();

/** The id and payload of every row of the file, in id order. */
function rows(path: string, table = 'integ_jobs'): { id: number; payload: string }[] {
  const db = openTestDatabase(path, { readonly: true });
  try {
    return db.prepare(`SELECT id, payload FROM ${table} ORDER BY id`).all() as {
      id: number;
      payload: string;
    }[];
  } finally {
    db.close();
  }
}

/** Every job is the row with its own id, and the ids ascend in push order. */
function expectOwnRows(
  path: string,
  jobs: readonly { id: string; payload: unknown }[],
  table?: string,
): void {
  const byId = new Map(rows(path, table).map((row) => [String(row.id), row.payload]));
  for (const job of jobs) expect(byId.get(job.id), `job ${job.id}`).toBe(JSON.stringify(job.payload));
  const ids = jobs.map((job) => BigInt(job.id));
  for (let i = 1; i < ids.length; i++) expect((ids[i] as bigint) > (ids[i - 1] as bigint)).toBe(true);
}

describe('pushMany of jobs without a key, many rows per INSERT (f36379b)', () => {
  it.each([1, 2, 3, 255, 256, 257, 511, 1000, 10_000])(
    'gives each of %i jobs the id of its own row, ascending in push order, after an id gap',
    async (count) => {
      const clock = createFakeClock({ now: T0 });
      const path = file('sizes');
      const store = sqliteStore({ path });
      const queue = createQueue<string>({ name: 'q', store, clock });
      // A gap: the newest job deleted (AUTOINCREMENT does not reuse its id).
      await queue.pushMany(['gone-1', 'gone-2', 'gone-3']);
      for (let i = 0; i < 3; i++) await (await queue.next())?.ack();
      await clock.advance(1);
      expect(await queue.clean({ status: 'done', olderThan: 0 })).toBe(3);
      const payloads = Array.from({ length: count }, (_, i) => `job ${i}`);
      const jobs = await queue.pushMany(payloads);
      expect(jobs.map((job) => job.payload)).toEqual(payloads);
      expect(Number(jobs[0]?.id)).toBe(4);
      expectOwnRows(path, jobs);
      expect((await queue.list({ limit: 20 })).map((job) => job.payload)).toEqual(payloads.slice(0, 20));
      const claimed = [];
      for (let i = 0; i < Math.min(5, count); i++) {
        const held = await queue.next();
        claimed.push(held?.payload);
        await held?.ack();
      }
      expect(claimed).toEqual(payloads.slice(0, 5));
      expect(await queue.stats()).toMatchObject({ pending: Math.max(0, count - 5), total: count });
      await queue.close();
      await store.close();
    },
    60_000,
  );

  it('matches ids to rows when sqlite_sequence is ahead of the largest id', async () => {
    const path = file('sequence');
    const store = sqliteStore({ path });
    const queue = createQueue<number>({ name: 'q', store });
    await queue.push(0);
    const db = openTestDatabase(path);
    db.exec("UPDATE sqlite_sequence SET seq = 1000 WHERE name = 'integ_jobs'");
    db.close();
    const jobs = await queue.pushMany(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(jobs.map((job) => job.id)).toEqual(jobs.map((_, i) => String(1001 + i)));
    expectOwnRows(path, jobs);
    await store.close();
  });

  it('matches ids to rows in a table without AUTOINCREMENT (made by hand), which reuses a deleted newest id', async () => {
    const path = file('no-autoincrement');
    const db = openTestDatabase(path);
    // Every version of the store created AUTOINCREMENT; an app may create the table itself. Without it a row's id is
    // the largest id + 1, so the ids of one INSERT still ascend in VALUES order.
    db.exec(`CREATE TABLE hand (id INTEGER PRIMARY KEY, queue TEXT NOT NULL, status TEXT NOT NULL, payload TEXT NOT NULL,
      priority INTEGER NOT NULL, key TEXT, attempts INTEGER NOT NULL, max_attempts INTEGER NOT NULL, backoff TEXT,
      created_at INTEGER NOT NULL, run_at INTEGER NOT NULL, token INTEGER NOT NULL, lease_until INTEGER,
      last_error TEXT, finished_at INTEGER)`);
    db.close();
    const store = sqliteStore({ path, table: 'hand' });
    const queue = createQueue<number>({ name: 'q', store });
    const first = await queue.pushMany([1, 2, 3]);
    const cut = openTestDatabase(path);
    cut.exec('DELETE FROM hand WHERE id >= 2');
    cut.close();
    const jobs = await queue.pushMany(Array.from({ length: 260 }, (_, i) => 100 + i));
    expect(jobs[0]?.id).toBe(first[1]?.id);
    expectOwnRows(path, jobs, 'hand');
    await store.close();
  });

  it('keeps ids exact up to 2^53 - 1', async () => {
    const path = file('large-ids');
    const store = sqliteStore({ path });
    const queue = createQueue<number>({ name: 'q', store });
    await queue.push(0);
    const db = openTestDatabase(path);
    db.exec(`UPDATE sqlite_sequence SET seq = ${Number.MAX_SAFE_INTEGER - 300} WHERE name = 'integ_jobs'`);
    db.close();
    const jobs = await queue.pushMany(Array.from({ length: 300 }, (_, i) => i + 1));
    expect(jobs.at(-1)?.id).toBe(String(Number.MAX_SAFE_INTEGER));
    expect(jobs.map((job) => job.id)).toEqual(jobs.map((_, i) => String(Number.MAX_SAFE_INTEGER - 299 + i)));
    expectOwnRows(path, jobs);
    expect((await queue.get(String(Number.MAX_SAFE_INTEGER)))?.payload).toBe(300);
    await store.close();
  });
});

describe('sqliteStore.enqueue against memoryStore (the same calls on two fresh stores)', () => {
  const job = fc.record({
    payload: fc.string({ maxLength: 8 }).map((s) => JSON.stringify(s)),
    priority: fc.integer({ min: -3, max: 3 }),
    key: fc.option(fc.constantFrom('a', 'b', 'c'), { freq: 3 }),
    maxAttempts: fc.integer({ min: 1, max: 9 }),
    backoff: fc.option(fc.constant('{"type":"constant","delay":5}')),
    runAt: fc.integer({ min: T0, max: T0 + 10_000 }),
  });
  // Batches around the statement sizes: all key-less (the many-row path), or some keyed (one row at a time).
  const batch = fc.oneof(
    fc.array(
      job.map((j) => ({ ...j, key: null })),
      { minLength: 1, maxLength: 300 },
    ),
    fc.array(job, { minLength: 1, maxLength: 40 }),
  );

  it('returns the same records (ids, order, keys, created) and stores the same jobs', async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(batch, { minLength: 1, maxLength: 4 }), async (batches) => {
        const sqlite = sqliteStore({ path: ':memory:' });
        const memory = memoryStore();
        try {
          for (const [i, jobs] of batches.entries()) {
            const queue = i % 2 === 0 ? 'q' : 'other';
            const got = await sqlite.enqueue(queue, jobs as NewJobRecord[], T0 + i);
            const want = await memory.enqueue(queue, jobs as NewJobRecord[], T0 + i);
            expect(got).toEqual(want);
          }
          for (const queue of ['q', 'other']) {
            const options = { limit: 10_000 };
            expect(await sqlite.list(queue, options)).toEqual(await memory.list(queue, options));
          }
        } finally {
          await sqlite.close();
        }
      }),
      { numRuns: 60, seed: 33 },
    );
  }, 60_000);
});

describe('pushMany options, validation and failures on the many-row path', () => {
  it('stores every option of a key-less pushMany on every row', async () => {
    const clock = createFakeClock({ now: T0 });
    const store = sqliteStore({ path: file('options') });
    const queue = createQueue<number>({ name: 'q', store, clock });
    const backoff = { type: 'constant', delay: 7 } as const;
    const jobs = await queue.pushMany([1, 2, 3, 4, 5], { priority: 4, attempts: 6, delay: 250, backoff });
    for (const stored of [...jobs, ...(await queue.list())])
      expect(stored).toMatchObject({
        priority: 4,
        maxAttempts: 6,
        attempts: 0,
        key: null,
        status: 'pending',
      });
    expect(new Set([...jobs, ...(await queue.list())].map((job) => job.runAt))).toEqual(
      new Set([new Date(T0 + 250).toISOString()]),
    );
    // The backoff is stored with each job: its first failure waits 7 ms.
    await clock.advance(250);
    const held = await queue.next();
    await held?.fail(new Error('boom'));
    expect((await queue.get(held?.id as string))?.runAt).toBe(new Date(T0 + 257).toISOString());
    await store.close();
  });

  it('stores nothing when a payload at index i fails, says i, and takes a payload of exactly maxPayloadBytes', async () => {
    const path = file('validation');
    const store = sqliteStore({ path });
    const queue = createQueue<unknown>({ name: 'q', store, maxPayloadBytes: 64 });
    const exact = 'x'.repeat(62); // JSON text of 64 bytes
    const payloads: unknown[] = Array.from({ length: 600 }, () => exact);
    payloads[437] = `${exact}y`;
    const error = await queue.pushMany(payloads).catch((e: unknown) => e);
    expect(error).toMatchObject({ index: 437 });
    payloads[437] = () => 0;
    expect(await queue.pushMany(payloads).catch((e: unknown) => e)).toMatchObject({ index: 437 });
    expect(rows(path)).toEqual([]);
    payloads[437] = exact;
    expect(await queue.pushMany(payloads)).toHaveLength(600);
    expect(rows(path)).toHaveLength(600);
    await store.close();
  });

  it('writes none of a 1,000-job pushMany whose third INSERT fails, commits the pushes around it, and goes on', async () => {
    const path = file('fail-mid');
    const store = sqliteStore({ path });
    const queue = createQueue<number>({ name: 'q', store });
    const payloads = Array.from({ length: 1000 }, (_, i) => i);
    // 1 is the single push, 2 and 3 the pushMany's first two 256-row statements.
    const failing = failStatements(/^INSERT/, (call) => (call === 4 ? new Error('injected') : undefined));
    const results = await Promise.allSettled([
      queue.push(-1),
      queue.pushMany(payloads),
      queue.pushMany([-2, -3]),
    ]);
    failing.stop();
    expect(results.map((r) => r.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(rows(path).map((row) => JSON.parse(row.payload))).toEqual([-1, -2, -3]);
    const again = await queue.pushMany(payloads);
    expectOwnRows(path, again);
    expect((await queue.stats()).pending).toBe(1003);
    await store.close();
  });

  it('gives ids in call order to a push and pushManys sharing one group commit', async () => {
    const path = file('group');
    const store = sqliteStore({ path });
    const queue = createQueue<string>({ name: 'q', store });
    const calls = [
      queue.pushMany(Array.from({ length: 300 }, (_, i) => `a${i}`)),
      queue.push('b').then((job) => [job]),
      queue.pushMany(['c0', 'c1']),
      queue.pushMany(Array.from({ length: 257 }, (_, i) => `d${i}`)),
    ];
    const jobs = (await Promise.all(calls)).flat();
    expect(jobs.map((job) => job.id)).toEqual(jobs.map((_, i) => String(i + 1)));
    expectOwnRows(path, jobs);
    expect((await queue.list({ limit: 1000 })).map((job) => job.payload)).toEqual(
      jobs.map((job) => job.payload),
    );
    await store.close();
  });

  it('commits a pushMany issued just before store.close()', async () => {
    const path = file('close');
    const store = sqliteStore({ path });
    const queue = createQueue<number>({ name: 'q', store });
    const pending = queue.pushMany(Array.from({ length: 300 }, (_, i) => i));
    await store.close();
    const jobs = await pending;
    expectOwnRows(path, jobs);
    expect(rows(path)).toHaveLength(300);
  });

  it('prepares at most nine many-row statements, whatever the queue names and batch sizes', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const recording = recordQueries();
    try {
      for (const name of ['a', 'b', 'c'])
        for (const size of [2, 3, 7, 100, 255, 256, 300, 511, 1000])
          await createQueue<number>({ name, store }).pushMany(Array.from({ length: size }, (_, i) => i));
    } finally {
      recording.stop();
    }
    const many = new Set(recording.queries.filter((q) => / RETURNING id$/.test(q.sql)).map((q) => q.sql));
    expect(many.size).toBe(9);
    await store.close();
  });
});

describe.skipIf(nodeSqlite === undefined)('node:sqlite: what a many-row INSERT leaves bound', () => {
  it('holds no payload of a pushMany once it resolved (node:sqlite keeps a statement bound until its next run)', async () => {
    const proto = (nodeSqlite as NonNullable<typeof nodeSqlite>).StatementSync.prototype;
    const statements = new Set<{ expandedSQL: string }>();
    const original = proto.all;
    proto.all = function (this: { expandedSQL: string }, ...params: unknown[]) {
      statements.add(this);
      return original.apply(this, params);
    };
    const store = sqliteStore({ path: file('bindings'), driver: 'node:sqlite' });
    const queue = createQueue<string>({ name: 'q', store });
    try {
      await queue.pushMany(Array.from({ length: 300 }, (_, i) => `secret ${i}`));
    } finally {
      proto.all = original;
    }
    const inserts = [...statements].filter((s) => s.expandedSQL.startsWith('INSERT'));
    expect(inserts.length).toBeGreaterThan(0);
    // Up to 256 payloads (256 MiB at the default maxPayloadBytes) per cached statement, held for the store's life.
    for (const statement of inserts) expect(statement.expandedSQL).not.toContain('secret');
    await store.close();
  });
});
