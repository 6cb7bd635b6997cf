import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { InvalidArgumentError, isIntegError } from '@integ/core';
import { createQueue, JOB_STATUSES, StoreCorruptError, StoreUnavailableError } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { queueConformance } from '@integ/queue/testing';
import { createFakeClock } from '@integ/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { openTestDatabase, recordQueries, testDriver } from '../test/sqlite-db.js';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

queueConformance(
  { describe, it, expect, beforeEach, afterEach },
  { name: 'sqlite (file)', createStore: () => sqliteStore({ path: join(dir, `conformance-${++n}.db`) }) },
);
queueConformance(
  { describe, it, expect, beforeEach, afterEach },
  {
    name: 'sqlite (:memory:, full durability)',
    createStore: () => sqliteStore({ path: ':memory:', durability: 'full' }),
  },
);

describe('sqliteStore', () => {
  const file = (name: string): string => join(dir, `${name}-${++n}.db`);

  it('opens the file in WAL mode, with either durability', async () => {
    for (const durability of ['normal', 'full'] as const) {
      const path = file(`durability-${durability}`);
      const store = sqliteStore({ path, durability });
      const queue = createQueue({ name: 'q', store });
      await queue.push({ durability });
      expect(store.driver).toBe(testDriver);
      await store.close();
      const db = openTestDatabase(path);
      expect(db.prepare('PRAGMA journal_mode').get()).toEqual({ journal_mode: 'wal' });
      expect((db.prepare('SELECT payload FROM integ_jobs').get() as { payload: string }).payload).toBe(
        JSON.stringify({ durability }),
      );
      db.close();
    }
  });

  it('refuses a file that is not a database with ERR_STORE_CORRUPT, at sqliteStore()', () => {
    const path = file('garbage');
    writeFileSync(
      path,
      'this is not an SQLite database, just text that is long enough to have a header'.repeat(100),
    );
    let error: unknown;
    try {
      sqliteStore({ path });
    } catch (e) {
      error = e;
    }
    expect(isIntegError(error, 'ERR_STORE_CORRUPT')).toBe(true);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as Error).message).toContain('corrupted');
    expect((error as Error).message).toContain(path);
  });

  it('rejects a damaged database with ERR_STORE_CORRUPT', async () => {
    const path = file('damaged');
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    await queue.pushMany(Array.from({ length: 2000 }, (_, i) => ({ i, pad: 'x'.repeat(200) })));
    await store.close();
    const db = openTestDatabase(path);
    db.exec('PRAGMA wal_checkpoint(TRUNCATE)');
    db.close();
    // Overwrite the middle of the file (table and index pages) with garbage, keep the header intact.
    const bytes = readFileSync(path);
    for (let i = 8192; i < bytes.length - 4096; i++) bytes[i] = (i * 7919) & 0xff;
    writeFileSync(path, bytes);
    let reopened: ReturnType<typeof sqliteStore> | undefined;
    const error = await (async () => {
      try {
        reopened = sqliteStore({ path });
        await createQueue({ name: 'q', store: reopened }).stats();
        await createQueue({ name: 'q', store: reopened }).list({ limit: 10_000 });
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(isIntegError(error, 'ERR_STORE_CORRUPT')).toBe(true);
    await reopened?.close();
  });

  it('fails a write with ERR_STORE_LOCKED when another connection holds the lock past busyTimeout', async () => {
    const path = file('locked');
    const store = sqliteStore({ path, busyTimeout: 50 });
    const queue = createQueue({ name: 'q', store });
    await queue.push('before');
    const other = openTestDatabase(path);
    other.exec('BEGIN IMMEDIATE');
    try {
      const error = await queue.push('during').then(
        () => undefined,
        (e: unknown) => e,
      );
      expect(isIntegError(error, 'ERR_STORE_LOCKED')).toBe(true);
      expect((error as { retryable?: unknown }).retryable).toBe(true);
    } finally {
      other.exec('ROLLBACK');
      other.close();
    }
    expect((await queue.push('after')).status).toBe('pending');
    expect((await queue.stats()).pending).toBe(2);
    await store.close();
  });

  it('leaves a lease unsettled when ack/fail fails with ERR_STORE_LOCKED, so the retry the error invites works', async () => {
    const path = file('locked-ack');
    const store = sqliteStore({ path, busyTimeout: 20 });
    const queue = createQueue({ name: 'q', store, attempts: 1 });
    await queue.pushMany(['ack me', 'fail me']);
    const [first, second] = [await queue.next(), await queue.next()];
    const other = openTestDatabase(path);
    other.exec('BEGIN IMMEDIATE');
    const locked = await Promise.all(
      [first?.ack(), second?.fail(new Error('no'))].map((p) => p?.catch((e: unknown) => e)),
    );
    other.exec('ROLLBACK');
    other.close();
    for (const error of locked) expect(error).toMatchObject({ code: 'ERR_STORE_LOCKED', retryable: true });
    await first?.ack();
    await second?.fail(new Error('no'));
    expect((await queue.list()).map((job) => job.status)).toEqual(['done', 'dead']);
    await expect(first?.ack()).rejects.toMatchObject({ code: 'ERR_JOB_SETTLED' });
    await store.close();
  });

  it('keeps jobs, leases and backoff specs across a restart', async () => {
    const path = file('restart');
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    let store = sqliteStore({ path });
    let queue = createQueue({ name: 'q', store, clock });
    await queue.push(
      { a: 1 },
      { attempts: 3, backoff: { type: 'linear', delay: 100, step: 400, jitter: 'none' } },
    );
    await queue.push({ b: 2 });
    const first = await queue.next({ leaseMs: 1000 });
    await first?.fail(new Error('try again'));
    const held = await queue.next({ leaseMs: 1000 });
    expect(held?.payload).toEqual({ b: 2 });
    await store.close();

    store = sqliteStore({ path });
    queue = createQueue({ name: 'q', store, clock });
    expect(await queue.stats()).toMatchObject({ pending: 1, processing: 1, delayed: 1 });
    await clock.advance(100);
    const retried = await queue.next({ leaseMs: 1000 });
    expect([retried?.payload, retried?.attempts, retried?.lastError]).toEqual([
      { a: 1 },
      2,
      'Error: try again',
    ]);
    await retried?.fail(new Error('again'));
    await clock.advance(499);
    expect(await queue.next()).toBe(null);
    await clock.advance(1);
    expect((await queue.next())?.attempts).toBe(3); // second delay: 100 + 400
    await clock.advance(400);
    const taken = await queue.next(); // the lease held by the "old process" expired
    expect([taken?.payload, taken?.stalled]).toEqual([{ b: 2 }, true]);
    await store.close();
  });

  it('group-commits concurrent pushes and resolves each after its commit', async () => {
    const path = file('group');
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    await store.ready();
    const watcher = openTestDatabase(path, { readonly: true });
    const count = (): number =>
      (watcher.prepare('SELECT COUNT(*) AS n FROM integ_jobs').get() as { n: number }).n;
    const pushes = Array.from({ length: 500 }, (_, i) => queue.push(i));
    expect(count()).toBe(0); // nothing is written before the tick ends
    const jobs = await Promise.all(pushes);
    expect(count()).toBe(500); // every resolved push is committed
    expect(new Set(jobs.map((j) => j.id)).size).toBe(500);
    watcher.close();
    await store.close();
  });

  it('fails only the operation whose statement failed, not its batch', async () => {
    const store = sqliteStore({ path: ':memory:' });
    const queue = createQueue({ name: 'q', store });
    await store.ready();
    const ok = queue.push('fine');
    const bad = store.enqueue(
      'q',
      [{ payload: 'x', priority: 0, key: null, maxAttempts: 0.5, backoff: null, runAt: Number.NaN }],
      0,
    );
    const ok2 = queue.push('fine too');
    await expect(ok).resolves.toMatchObject({ status: 'pending' });
    await expect(ok2).resolves.toMatchObject({ status: 'pending' });
    await expect(bad).rejects.toThrow(/NOT NULL/);
    expect((await queue.stats()).pending).toBe(2);
    await store.close();
  });

  it('refuses a path whose directory does not exist with ERR_STORE_UNAVAILABLE', () => {
    expect(() => sqliteStore({ path: join(dir, 'missing-dir', 'jobs.db') })).toThrow(
      expect.objectContaining({
        code: 'ERR_STORE_UNAVAILABLE',
        message: expect.stringContaining('directory'),
      }),
    );
  });

  it('names a file: URI path in its errors without the query, which may carry a key', async () => {
    const path = `file:${join(dir, 'missing-dir', 'jobs.db')}?mode=rw&key=S3CRET-KEY`;
    let error: unknown;
    try {
      await sqliteStore({ path }).close();
    } catch (e) {
      error = e;
    }
    expect(isIntegError(error, 'ERR_STORE_UNAVAILABLE')).toBe(true);
    expect((error as Error).message).toContain('missing-dir');
    expect((error as Error).message).not.toContain('S3CRET');
  });

  it('validates its options', () => {
    expect(() => sqliteStore({ path: '' })).toThrow(InvalidArgumentError);
    expect(() => sqliteStore({ path: 'x.db', durability: 'extra' as 'full' })).toThrow(/durability/);
    expect(() => sqliteStore({ path: 'x.db', busyTimeout: -1 })).toThrow(/busyTimeout/);
    expect(() => sqliteStore({ path: 'x.db', table: 'jobs; DROP TABLE x' })).toThrow(/table/);
    expect(() => sqliteStore({ path: 'x.db', driver: 'sqlite3' as 'auto' })).toThrow(/driver/);
  });

  it('reports a missing node:sqlite driver with ERR_STORE_UNAVAILABLE (Node < 22.13)', async () => {
    const builtin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule?.(
      'node:sqlite',
    );
    if (builtin !== undefined) {
      const store = sqliteStore({ path: ':memory:', driver: 'node:sqlite' });
      expect(store.driver).toBe('node:sqlite');
      await store.close();
    } else {
      expect(() => sqliteStore({ path: ':memory:', driver: 'node:sqlite' })).toThrow(
        expect.objectContaining({ code: 'ERR_STORE_UNAVAILABLE' }),
      );
    }
  });

  describe('without a loadable better-sqlite3', () => {
    const realGetBuiltin = process.getBuiltinModule;
    /** Makes `require('better-sqlite3')` inside the store return `fake`, or throw it when it is an Error. */
    const stubBetterSqlite = (fake: unknown): void => {
      vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
        id === 'node:module'
          ? {
              createRequire: () => (request: string) => {
                if (request !== 'better-sqlite3') throw new Error(`unexpected require(${request})`);
                if (fake instanceof Error) throw fake;
                return fake;
              },
            }
          : realGetBuiltin(id)) as typeof process.getBuiltinModule);
    };
    /** A better-sqlite3 whose constructor fails the way it does when its addon cannot be loaded. */
    const unbuilt = (error: Error) =>
      function Database() {
        throw error;
      };
    afterEach(() => {
      vi.restoreAllMocks();
    });

    it('says how to build the addon when its install script did not run (no bindings file)', () => {
      const cause = new Error(
        'Could not locate the bindings file. Tried:\n → /app/node_modules/better-sqlite3/build/better_sqlite3.node',
      );
      stubBetterSqlite(unbuilt(cause));
      let error: unknown;
      try {
        sqliteStore({ path: ':memory:', driver: 'better-sqlite3' });
      } catch (e) {
        error = e;
      }
      expect(error).toBeInstanceOf(StoreUnavailableError);
      expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', cause });
      const message = (error as Error).message;
      expect(message).toContain('npm install-scripts approve better-sqlite3');
      expect(message).toContain('npm rebuild better-sqlite3');
      expect(message).toContain('pnpm approve-builds');
      expect(message).not.toContain('npm i better-sqlite3');
    });

    it('says to rebuild the addon when it was built for another Node (NODE_MODULE_VERSION)', () => {
      const cause = Object.assign(
        new Error(
          "The module '/app/node_modules/better-sqlite3/build/Release/better_sqlite3.node'\nwas compiled against a different Node.js version using\nNODE_MODULE_VERSION 115. This version of Node.js requires\nNODE_MODULE_VERSION 137.",
        ),
        { code: 'ERR_DLOPEN_FAILED' },
      );
      stubBetterSqlite(unbuilt(cause));
      expect(() => sqliteStore({ path: ':memory:', driver: 'better-sqlite3' })).toThrow(
        expect.objectContaining({
          code: 'ERR_STORE_UNAVAILABLE',
          cause,
          message: expect.stringContaining('npm rebuild better-sqlite3'),
        }),
      );
    });

    it('says to install better-sqlite3 when it is missing', () => {
      const cause = Object.assign(new Error("Cannot find module 'better-sqlite3'"), {
        code: 'MODULE_NOT_FOUND',
      });
      stubBetterSqlite(cause);
      expect(() => sqliteStore({ path: ':memory:', driver: 'better-sqlite3' })).toThrow(
        expect.objectContaining({
          code: 'ERR_STORE_UNAVAILABLE',
          cause,
          message: expect.stringContaining('npm i better-sqlite3'),
        }),
      );
    });
  });

  it('rejects operations after close()', async () => {
    const store = sqliteStore({ path: ':memory:' });
    await store.ready();
    await store.close();
    await expect(createQueue({ name: 'q', store }).push(1)).rejects.toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
    });
  });
});

describe('sqliteStore list()', () => {
  const file = (name: string): string => join(dir, `${name}-${++n}.db`);

  /** How SQLite runs each statement that `run` made the store execute (plan details joined by ' | '). */
  async function plans(path: string, run: () => Promise<unknown>): Promise<{ sql: string; plan: string }[]> {
    const recorder = recordQueries();
    try {
      await run();
    } finally {
      recorder.stop();
    }
    const db = openTestDatabase(path, { readonly: true });
    try {
      return recorder.queries
        .filter(({ sql }) => /^(SELECT|DELETE)/.test(sql))
        .map(({ sql, params }) => ({
          sql,
          plan: (db.prepare(`EXPLAIN QUERY PLAN ${sql}`).all(...params) as { detail: string }[])
            .map((row) => row.detail)
            .join(' | '),
        }));
    } finally {
      db.close();
    }
  }

  it("walks the queue's jobs in id order and stops at the page, instead of sorting them all first", async () => {
    const path = file('list-plan');
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    await createQueue({ name: 'other', store }).pushMany([1, 2, 3]);
    await queue.pushMany(Array.from({ length: 50 }, (_, i) => i));
    const [list, ...more] = await plans(path, () => queue.list({ limit: 10, offset: 20 }));
    expect(more).toEqual([]);
    expect(list?.plan).toContain('(queue=?)');
    expect(list?.plan).not.toContain('USE TEMP B-TREE FOR ORDER BY');
    await store.close();
  });

  it("reads of one status (list, redrive, clean) search that status's jobs, not the whole queue", async () => {
    const path = file('status-plan');
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store, clock, attempts: 1 });
    await queue.pushMany(Array.from({ length: 20 }, (_, i) => i));
    await (await queue.next())?.fail(new Error('dead'));
    await (await queue.next())?.ack();
    const statements = await plans(path, async () => {
      await queue.list({ status: 'dead' });
      await queue.redrive();
      await queue.clean({ status: 'done', olderThan: 0 });
    });
    expect(statements.map(({ sql }) => sql.split(' ')[0])).toEqual(['SELECT', 'SELECT', 'SELECT', 'DELETE']);
    for (const { plan } of statements) expect(plan).toMatch(/\(queue=\? AND status=\?/);
    await store.close();
  });

  it('adds its index to a database file made by the previous version, and lists its jobs as before', async () => {
    const path = file('old-schema');
    const old = openTestDatabase(path);
    // The schema as the previous version created it (no list index).
    old.exec(`PRAGMA journal_mode = WAL;
      CREATE TABLE integ_jobs (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, status TEXT NOT NULL,
        payload TEXT NOT NULL, priority INTEGER NOT NULL, key TEXT, attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL, backoff TEXT, created_at INTEGER NOT NULL, run_at INTEGER NOT NULL,
        token INTEGER NOT NULL, lease_until INTEGER, last_error TEXT, finished_at INTEGER);
      CREATE INDEX integ_jobs_claim ON integ_jobs (queue, status, priority DESC, run_at, id);
      CREATE INDEX integ_jobs_lease ON integ_jobs (queue, lease_until) WHERE status = 'processing';
      CREATE UNIQUE INDEX integ_jobs_key ON integ_jobs (queue, key) WHERE key IS NOT NULL AND status IN ('pending', 'processing');`);
    const insert = old.prepare(
      'INSERT INTO integ_jobs (queue, status, payload, priority, attempts, max_attempts, created_at, run_at, token) VALUES (?, ?, ?, ?, 0, 3, 0, ?, 0)',
    );
    const rows: { id: number; queue: string; status: string }[] = [];
    for (let i = 0; i < 60; i++) {
      const row = { id: i + 1, queue: i % 4 === 0 ? 'other' : 'q', status: JOB_STATUSES[(i * 7) % 4] ?? '' };
      // Priorities and due times out of id order, so an order other than push order would show.
      insert.run(row.queue, row.status, JSON.stringify(i), (i * 5) % 7, 1000 - i);
      rows.push(row);
    }
    old.close();

    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    const check = openTestDatabase(path, { readonly: true });
    const indexes = check.prepare("SELECT name FROM sqlite_master WHERE type = 'index'").all() as {
      name: string;
    }[];
    check.close();
    expect(indexes.map(({ name }) => name)).toContain('integ_jobs_list');
    for (const status of [undefined, ...JOB_STATUSES]) {
      const expected = rows.filter((r) => r.queue === 'q' && (status === undefined || r.status === status));
      for (let offset = 0; offset <= expected.length; offset += 4) {
        const page = await queue.list({ limit: 4, offset, ...(status === undefined ? {} : { status }) });
        expect(page.map((job) => Number(job.id))).toEqual(
          expected.slice(offset, offset + 4).map((r) => r.id),
        );
      }
    }
    const [list] = await plans(path, () => queue.list());
    expect(list?.plan).not.toContain('USE TEMP B-TREE FOR ORDER BY');
    await store.close();
  });
});
