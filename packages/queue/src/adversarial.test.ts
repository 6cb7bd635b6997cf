// An adversarial reading of issue 5, DESIGN.md and the README, by someone who has run BullMQ and pg-boss in
// production: callbacks that misbehave, payloads that are too big to even serialise, shutdown races, secrets
// in odd shapes. Time runs on a fake clock.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@integ/core';
import {
  createQueue,
  memoryStore,
  PayloadTooLargeError,
  type QueueStore,
  StoreCorruptError,
} from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock, trackUnhandledRejections } from '@integ/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../test/sqlite-db.js';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

function recordingLogger(): Logger & { readonly warned: unknown[][] } {
  const warned: unknown[][] = [];
  const none = (): void => {};
  return {
    debug: none,
    info: none,
    error: none,
    warn: (...args: unknown[]) => void warned.push(args),
    warned,
  };
}

describe.each(stores)('async callbacks on the %s store', (_name, createStore) => {
  it('logs an async hook that rejects instead of leaving an unhandled rejection (which ends a Node process)', async () => {
    const store = createStore();
    const logger = recordingLogger();
    const down = async (): Promise<void> => {
      throw new Error('alerting is down');
    };
    const queue = createQueue({
      name: 'q',
      store,
      clock: createFakeClock({ now: 1e12 }),
      attempts: 1,
      logger,
      onCompleted: down,
      onFailed: down,
      onDead: down,
    });
    await queue.push('a');
    await queue.push('b');
    await (await queue.next())?.ack();
    await (await queue.next())?.fail(new Error('x'));
    await settle();
    const hooks = logger.warned.map(([context]) => (context as { hook?: string }).hook);
    expect(hooks).toEqual(['onCompleted', 'onFailed', 'onDead']);
    expect(await queue.stats()).toMatchObject({ done: 1, dead: 1 });
    await store.close();
  });

  it("ignores a worker's async onError that rejects, like one that throws", async () => {
    const store = createStore();
    const clock = createFakeClock({ now: 1e12 });
    const queue = createQueue({ name: 'q', store, clock });
    const failing: QueueStore = { ...store, claim: () => Promise.reject(new Error('store down')) };
    const broken = createQueue({ name: 'q', store: failing, clock });
    let calls = 0;
    const unhandled = trackUnhandledRejections();
    const worker = broken.process(async () => {}, {
      onError: async () => {
        calls += 1;
        throw new Error('onError is broken too');
      },
    });
    await settle();
    unhandled.stop();
    expect(calls).toBe(1);
    expect(unhandled.reasons).toEqual([]);
    await worker.close();
    await queue.close();
    await store.close();
  });
});

describe('payloads far over maxPayloadBytes', () => {
  it('are refused with PayloadTooLargeError before JSON.stringify runs out of string length', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    // One 1 MB string shared by 1,000 entries: 1 GB of JSON, more than a V8 string can hold (RangeError).
    const shared = 'x'.repeat(1_000_000);
    const error = await queue.push(new Array(1000).fill(shared)).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(PayloadTooLargeError);
    expect((error as PayloadTooLargeError).limit).toBe(1024 * 1024);
    expect((error as PayloadTooLargeError).bytes).toBeGreaterThan(1024 * 1024);
    await expect(queue.pushMany(['ok', [shared, shared]])).rejects.toMatchObject({
      code: 'ERR_PAYLOAD_TOO_LARGE',
      index: 1,
    });
    expect((await queue.stats()).total).toBe(0);
  });

  it('are refused without walking every path of a shared structure (2^64 leaves, 64 levels deep)', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore(), maxPayloadBytes: 4096 });
    let dag: unknown = 0;
    for (let i = 0; i < 64; i++) dag = [dag, dag];
    await expect(queue.push(dag)).rejects.toBeInstanceOf(PayloadTooLargeError);
    // Sharing within the limit is fine: JSON writes each use out.
    const leaf = { n: 1 };
    const job = await queue.push({ a: leaf, b: leaf });
    expect(job.payload).toEqual({ a: { n: 1 }, b: { n: 1 } });
  });
});

describe.each(stores)('lastError redaction on the %s store', (_name, createStore) => {
  const lastErrorOf = async (error: unknown): Promise<string> => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }), attempts: 1 });
    const { id } = await queue.push('x');
    await (await queue.next())?.fail(error);
    const stored = (await queue.get(id))?.lastError ?? '';
    await store.close();
    return stored;
  };

  it('redacts an Authorization value whatever its scheme (GitHub "token", DRF "Token", "Bot", "SSWS")', async () => {
    const stored = await lastErrorOf(
      new Error(
        [
          'GitHub said 401 to Authorization: token ghp_16C7e42F292c6912E7710c838347Ae178B4a',
          'request headers {"Authorization":"Token 9944b09199c62bcf9418ad846dd0e4bbdfc6ee4b"}',
          'proxy-authorization: Bot MTk4NjIyNDgzNDcxOTI1MjQ4.Cl2FMQ.ZnCjm1XVW7vRze4b7Cq4se7kKWs',
          'authorization=SSWS 00QCjAl4MlV-WPXM-ABCDEFGHIJKLMNOPQRSTUVWXYZ',
        ].join('\n'),
      ),
    );
    for (const secret of ['ghp_16C7e42F', '9944b09199c6', 'MTk4NjIyNDgz', '00QCjAl4MlV'])
      expect(stored, secret).not.toContain(secret);
    expect(stored).toContain('GitHub said 401 to Authorization: [redacted]');
  });

  it('redacts the whole quoted value of a credential, spaces and punctuation included', async () => {
    const stored = await lastErrorOf(
      new Error(
        [
          'body {"user":"bob","password":"correct horse, battery; staple"} refused',
          "config password: 'my s3cret & more'",
          'escaped {"api_key":"ab\\"cd ef"}',
        ].join('\n'),
      ),
    );
    for (const secret of ['horse', 'battery', 'staple', 's3cret', 'more', 'cd ef'])
      expect(stored, secret).not.toContain(secret);
    // What a reader needs stays: the other fields and the shape.
    expect(stored).toContain('{"user":"bob","password":"[redacted]"} refused');
  });
});

describe.each(stores)('queue.close() on the %s store', (_name, createStore) => {
  it('called twice, both calls end once the jobs taken with next() are settled (the second returns the first)', async () => {
    const store = createStore();
    const clock = createFakeClock({ now: 1e12 });
    const queue = createQueue({ name: 'q', store, clock });
    const { id } = await queue.push('x');
    const job = await queue.next();
    const ended: string[] = [];
    const first = queue.close({ timeout: 10_000 }).then(() => ended.push('first'));
    const second = queue.close({ timeout: 5_000 }).then(() => ended.push('second'));
    await job?.ack();
    await settle();
    expect(ended.sort()).toEqual(['first', 'second']);
    await Promise.all([first, second]);
    expect((await queue.get(id))?.status).toBe('done');
    await store.close();
  });

  it('returns to pending a job whose next() was in flight when close() began (no attempt used up)', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }) });
    const { id } = await queue.push('x');
    const taking = queue.next();
    await queue.close({ timeout: 0 });
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    // The caller still gets the job, like any job taken with next() that close() gave back.
    const job = await taking;
    await expect(job?.ack()).rejects.toMatchObject({ code: 'ERR_JOB_SETTLED' });
    await store.close();
  });
});

describe.each(stores)('hook snapshots on the %s store', (_name, createStore) => {
  it('onFailed of a job that will retry shows when it runs again (runAt), as get() does', async () => {
    const store = createStore();
    const clock = createFakeClock({ now: 1e12 });
    const seen: string[] = [];
    const queue = createQueue({
      name: 'q',
      store,
      clock,
      attempts: 2,
      backoff: 5000,
      onFailed: (job) => seen.push(job.runAt),
    });
    const { id } = await queue.push('x');
    const job = await queue.next();
    await clock.advance(100);
    await job?.fail(new Error('x'));
    const stored = await queue.get(id);
    expect(stored?.runAt).toBe(new Date(1e12 + 100 + 5000).toISOString());
    expect(seen).toEqual([stored?.runAt]);
    expect(job?.runAt).toBe(stored?.runAt);
    await store.close();
  });
});

describe.each(stores)('names and keys on the %s store', (_name, createStore) => {
  it('refuses a queue name or key with a lone surrogate (SQLite stores it as U+FFFD: get() found no job, keys came back changed)', async () => {
    const store = createStore();
    expect(() => createQueue({ name: 'emails\uD800', store })).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
    );
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }) });
    await expect(queue.push('x', { key: 'user:\uDC00' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    await expect(queue.pushMany(['x'], { key: '\uD83D' })).rejects.toMatchObject({
      code: 'ERR_INVALID_ARGUMENT',
    });
    // Well-formed text of any script, emoji included, is fine and comes back as pushed.
    const named = createQueue({ name: 'émails-😀', store, clock: createFakeClock({ now: 1e12 }) });
    const job = await named.push('x', { key: 'user:😀' });
    expect(await named.get(job.id)).toMatchObject({ key: 'user:😀' });
    expect((await queue.stats()).total).toBe(0);
    await store.close();
  });
});

describe('sqliteStore table option', () => {
  it('accepts a table name that is an SQL keyword (order, select, index), as its documented rule allows', async () => {
    for (const table of ['order', 'select', 'index', 'values']) {
      const store = sqliteStore({ path: ':memory:', table });
      const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }) });
      await queue.push(table, { key: 'k' });
      await queue.push('second');
      const job = await queue.next();
      await job?.fail(new Error('x'), { retry: false });
      expect(await queue.redrive()).toBe(1);
      expect(await queue.list({ status: 'pending' })).toHaveLength(2);
      expect(await queue.stats()).toMatchObject({ pending: 2, total: 2 });
      expect(await queue.clean({ status: 'done', olderThan: 0 })).toBe(0);
      await store.close();
    }
  });
});

describe('sqliteStore on a file whose table is not a queue table', () => {
  const dir = mkdtempSync(join(tmpdir(), 'integ-queue-adversarial-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('throws StoreCorruptError at open, naming the table option, instead of a bare "no such column" SqliteError', () => {
    const path = join(dir, 'app.db');
    const db = openTestDatabase(path);
    db.exec('CREATE TABLE integ_jobs (id INTEGER PRIMARY KEY, name TEXT)');
    db.close();
    const error = (() => {
      try {
        sqliteStore({ path });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as Error).message).toMatch(/integ_jobs/);
    // Another table name on the same file works.
    const store = sqliteStore({ path, table: 'queue_jobs' });
    return store.close();
  });
});
