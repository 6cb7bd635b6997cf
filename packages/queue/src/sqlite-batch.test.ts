/**
 * Group commit under failure: what each caller of one batch gets when a write of the batch fails (a full disk, a
 * statement error), that nothing is half-written, and that the store keeps working afterwards.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIntegError, type Logger } from '@integ/core';
import { createQueue } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { afterAll, describe, expect, it } from 'vitest';
import {
  betweenStatements,
  connectionOf,
  failStatements,
  openTestDatabase,
  type TestDatabase,
} from '../test/sqlite-db.js';

// better-sqlite3's own error class (its addon is only loaded by a connection, so this works on either driver).
const SqliteError = createRequire(import.meta.url)('better-sqlite3').SqliteError as new (
  message: string,
  code: string,
) => Error & { code: string };
/** node:sqlite's shape of the same error: the extended result code as a number. */
const nodeSqliteError = (message: string, errcode: number): Error =>
  Object.assign(new Error(message), { code: 'ERR_SQLITE_ERROR', errcode });

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-batch-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const outcome = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'ok',
    (error: unknown) => (isIntegError(error) ? error.code : `untyped ${String(error)}`),
  );

/** Caps the file at its current size: every write that needs a new page fails with SQLITE_FULL. */
function fill(db: TestDatabase): void {
  const pages = (db.prepare('PRAGMA page_count').get() as { page_count: number }).page_count;
  db.exec(`PRAGMA max_page_count = ${pages}`);
}

describe('sqliteStore group commit when the disk is full', () => {
  it('rejects every write of the batch with a typed, retryable error, writes none of it, and works once there is room', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const { result: store, db } = connectionOf(() => sqliteStore({ path: join(dir, `full-${++n}.db`) }));
    const queue = createQueue({ name: 'q', store, clock });
    await queue.pushMany(['a', 'b']);
    const held = await queue.next();
    if (held === null) throw new Error('expected a job');
    const before = JSON.stringify(await queue.list());
    fill(db);
    const batch = [held.ack(), queue.push('x'.repeat(100_000)), queue.push('small'), queue.next()];
    const errors = await Promise.allSettled(batch);
    expect(await Promise.all(batch.map(outcome))).toEqual([
      'ERR_STORE_UNAVAILABLE',
      'ERR_STORE_UNAVAILABLE',
      'ERR_STORE_UNAVAILABLE',
      'ERR_STORE_UNAVAILABLE',
    ]);
    const first = (errors[0] as PromiseRejectedResult).reason as Error & { retryable?: boolean };
    expect(first.retryable).toBe(true);
    expect(first.message).toMatch(/full/);
    expect(JSON.stringify(await queue.list())).toBe(before);
    db.exec('PRAGMA max_page_count = 1073741823');
    // The ack was refused, not lost: the lease is still the holder's to settle.
    await held.ack();
    await queue.push('x'.repeat(100_000));
    expect((await queue.stats()).total).toBe(3);
    await queue.close();
    await store.close();
  });

  it('reports the full disk, not its own savepoint, when SQLite rolled back under a pushMany', async () => {
    const { result: store, db } = connectionOf(() => sqliteStore({ path: join(dir, `full-${++n}.db`) }));
    const queue = createQueue({ name: 'q', store });
    await queue.push('a');
    fill(db);
    const batch = [queue.push('small'), queue.pushMany(['y'.repeat(50_000), 'z'.repeat(50_000)])];
    expect(await Promise.all(batch.map(outcome))).toEqual(['ERR_STORE_UNAVAILABLE', 'ERR_STORE_UNAVAILABLE']);
    expect((await queue.list()).map((j) => j.payload)).toEqual(['a']);
    db.exec('PRAGMA max_page_count = 1073741823');
    await queue.pushMany(['y'.repeat(50_000), 'z'.repeat(50_000)]);
    expect((await queue.stats()).total).toBe(3);
    await store.close();
  });
});

describe('sqliteStore group commit when the disk fails', () => {
  const ioErrors: [string, () => Error, string, boolean][] = [
    ['SQLITE_IOERR', () => new SqliteError('disk I/O error', 'SQLITE_IOERR'), 'ERR_STORE_UNAVAILABLE', true],
    [
      'SQLITE_IOERR_WRITE',
      () => new SqliteError('disk I/O error', 'SQLITE_IOERR_WRITE'),
      'ERR_STORE_UNAVAILABLE',
      true,
    ],
    [
      'SQLITE_IOERR_FSYNC',
      () => new SqliteError('disk I/O error', 'SQLITE_IOERR_FSYNC'),
      'ERR_STORE_UNAVAILABLE',
      true,
    ],
    [
      'node:sqlite SQLITE_IOERR_WRITE (778)',
      () => nodeSqliteError('disk I/O error', 778),
      'ERR_STORE_UNAVAILABLE',
      true,
    ],
    // The VFS found the file system corrupt (a checksum VFS): retrying will not help.
    [
      'SQLITE_IOERR_CORRUPTFS',
      () => new SqliteError('disk I/O error', 'SQLITE_IOERR_CORRUPTFS'),
      'ERR_STORE_CORRUPT',
      false,
    ],
    [
      'node:sqlite SQLITE_IOERR_CORRUPTFS (8458)',
      () => nodeSqliteError('disk I/O error', 8458),
      'ERR_STORE_CORRUPT',
      false,
    ],
    // Already typed before SQLITE_IOERR was: a file (or its -wal, -shm, directory) this connection cannot write, or
    // one moved away under it, stays so until someone fixes it and reopens the store (decision 0136).
    [
      'SQLITE_CANTOPEN',
      () => new SqliteError('unable to open database file', 'SQLITE_CANTOPEN'),
      'ERR_STORE_UNAVAILABLE',
      false,
    ],
    [
      'SQLITE_READONLY_DBMOVED',
      () => new SqliteError('attempt to write a readonly database', 'SQLITE_READONLY_DBMOVED'),
      'ERR_STORE_UNAVAILABLE',
      false,
    ],
    [
      'node:sqlite SQLITE_READONLY_CANTLOCK (520)',
      () => nodeSqliteError('attempt to write a readonly database', 520),
      'ERR_STORE_UNAVAILABLE',
      false,
    ],
  ];
  for (const [name, makeError, code, retryable] of ioErrors)
    it(`fails the whole batch with ${code} on ${name}, writes none of it, and works afterwards`, async () => {
      const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
      const store = sqliteStore({ path: join(dir, `ioerr-${++n}.db`) });
      const queue = createQueue({ name: 'q', store, clock });
      await queue.push('a');
      const held = await queue.next();
      if (held === null) throw new Error('expected a job');
      const before = JSON.stringify(await queue.list());
      // The ack runs first in the batch, then the push's INSERT meets the I/O error.
      const injected = makeError();
      const failing = failStatements(/^INSERT/, (call) => (call === 1 ? injected : undefined));
      const batch = [held.ack(), queue.push('b')];
      const errors = await Promise.allSettled(batch);
      failing.stop();
      expect(await Promise.all(batch.map(outcome))).toEqual([code, code]);
      const first = (errors[0] as PromiseRejectedResult).reason as Error & {
        retryable?: boolean;
        cause?: unknown;
      };
      expect(first.retryable).toBe(retryable);
      expect(first.cause).toBe(injected);
      expect(JSON.stringify(await queue.list())).toBe(before);
      await held.ack();
      await queue.push('b');
      expect((await queue.stats()).done).toBe(1);
      await queue.close();
      await store.close();
    });
});

describe('sqliteStore redrive of many dead jobs', () => {
  // The dead jobs span two of the pages redrive reads (500 rows each); the error comes after rows of both were moved.
  const failures: [string, () => Error, string][] = [
    [
      'SQLITE_FULL',
      () => new SqliteError('database or disk is full', 'SQLITE_FULL'),
      'ERR_STORE_UNAVAILABLE',
    ],
    // An error no mapping types (a statement's own failure) must not leave half a redrive committed either.
    [
      'SQLITE_NOMEM',
      () => new SqliteError('out of memory', 'SQLITE_NOMEM'),
      'untyped SqliteError: out of memory',
    ],
  ];
  for (const [name, makeError, expected] of failures)
    it(`moves all or none when ${name} hits it midway, and all on the next call`, async () => {
      const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
      const store = sqliteStore({ path: join(dir, `redrive-${++n}.db`) });
      const queue = createQueue<number>({ name: 'q', store, clock });
      await queue.pushMany(Array.from({ length: 600 }, (_, i) => i));
      const jobs = await Promise.all(Array.from({ length: 600 }, () => queue.next()));
      await Promise.all(jobs.map((job) => job?.fail(new Error('x'), { retry: false })));
      expect((await queue.stats()).dead).toBe(600);
      const failing = failStatements(/attempts = 0/, (call) => (call === 550 ? makeError() : undefined));
      const result = await outcome(queue.redrive());
      failing.stop();
      expect(result).toBe(expected);
      const { dead, pending } = await queue.stats();
      expect({ dead, pending }).toEqual({ dead: 600, pending: 0 });
      expect(await queue.redrive()).toBe(600);
      expect((await queue.stats()).pending).toBe(600);
      await store.close();
    });
});

describe('sqliteStore claim of expired leases', () => {
  it('claims all or none: a statement error on the second job leaves the first unclaimed, its attempt unspent', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const store = sqliteStore({ path: join(dir, `claim-${++n}.db`) });
    const queue = createQueue<string>({ name: 'q', store, clock });
    const [a, b] = await queue.pushMany(['a', 'b']);
    await queue.next({ leaseMs: 100 });
    await queue.next({ leaseMs: 100 });
    await clock.advance(100); // both holders stalled: the next claim takes expired leases one row at a time
    const failing = failStatements(/WHERE id = \? RETURNING/, (call) =>
      call === 2 ? new SqliteError('out of memory', 'SQLITE_NOMEM') : undefined,
    );
    const result = await outcome(store.claim('q', { now: clock.now(), leaseMs: 1000, limit: 2 }));
    failing.stop();
    expect(result).toBe('untyped SqliteError: out of memory');
    // Before: job a was claimed (token 2, attempt 2, leased for 1000 ms) by a call that then rejected, so nobody held it.
    for (const id of [a?.id, b?.id]) {
      const record = await store.get(id ?? '');
      expect([record?.token, record?.attempts, record?.leaseUntil]).toEqual([1, 1, clock.now()]);
    }
    expect((await store.claim('q', { now: clock.now(), leaseMs: 1000, limit: 2 })).length).toBe(2);
    await store.close();
  });
});

describe('sqliteStore claim after a reap in the same call', () => {
  it('fires onStalled and onDead for the jobs the reap dead-lettered when the claim part then fails', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const store = sqliteStore({ path: join(dir, `reap-${++n}.db`) });
    const events: string[] = [];
    const queue = createQueue<string>({
      name: 'q',
      store,
      clock,
      onStalled: (job) => events.push(`stalled ${job.payload} ${job.status}`),
      onDead: (job) => events.push(`dead ${job.payload}`),
    });
    const a = await queue.push('a', { attempts: 1 });
    await queue.next({ leaseMs: 100 });
    await clock.advance(100); // the holder stalled on the last attempt: the next claim's reap dead-letters it
    await queue.push('b');
    // The reap commits in the batch; the claim's UPDATE fails on its own (an error no mapping types).
    const failing = failStatements(
      /attempts = attempts \+ 1/,
      () => new SqliteError('out of memory', 'SQLITE_NOMEM'),
    );
    const result = await outcome(queue.next());
    failing.stop();
    expect(result).toBe('untyped SqliteError: out of memory');
    expect((await queue.get(a.id))?.status).toBe('dead');
    // Before: none; the job was dead and no later reap returns it again.
    expect(events).toEqual(['stalled a dead', 'dead a']);
    const b = await queue.next();
    expect(b?.payload).toBe('b');
    await b?.ack();
    expect(events.length).toBe(2);
    await store.close();
  });
});

describe('sqliteStore reap that fails on its own in a claim', () => {
  it('hands out the jobs the claim of the same batch took, logs the reap error, and reaps on the next claim', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const store = sqliteStore({ path: join(dir, `reap-fails-${++n}.db`) });
    const events: string[] = [];
    const warnings: string[] = [];
    const log = ((details: { err?: unknown }, message: string) => {
      warnings.push(`${message}: ${String(details.err)}`);
    }) as Logger['warn'];
    const queue = createQueue<string>({
      name: 'q',
      store,
      clock,
      logger: { debug: () => {}, info: () => {}, warn: log, error: log },
      onStalled: (job) => events.push(`stalled ${job.payload} ${job.status}`),
      onDead: (job) => events.push(`dead ${job.payload}`),
    });
    const a = await queue.push('a', { attempts: 1 });
    await queue.next({ leaseMs: 100 });
    await clock.advance(100); // a's last lease expired: the next claim's reap dead-letters it
    await queue.push('b', { attempts: 1 });
    // The claim commits in the batch; the reap's UPDATE fails on its own (an error no mapping types).
    const failing = failStatements(
      /attempts >= max_attempts RETURNING/,
      () => new SqliteError('out of memory', 'SQLITE_NOMEM'),
    );
    const b = await queue.next().catch((error: unknown) => `rejected: ${String(error)}`);
    failing.stop();
    // Before: rejected, with b claimed in the store (its one attempt used) and held by nobody until its lease
    // ended, and then dead.
    expect(typeof b === 'string' ? b : b?.payload).toBe('b');
    expect(warnings).toEqual([expect.stringContaining('SqliteError: out of memory')]);
    expect((await queue.get(a.id))?.status).toBe('processing');
    await (b as Exclude<typeof b, string | null>).ack();
    expect(await queue.next()).toBe(null); // this claim's reap dead-letters a
    expect((await queue.get(a.id))?.status).toBe('dead');
    expect(events).toEqual(['stalled a dead', 'dead a']);
    expect((await queue.stats()).done).toBe(1);
    await store.close();
  });
});

describe('sqliteStore stats() with another process writing', () => {
  it('reads all its counts from one snapshot: delayed never exceeds pending, no oldest age without a due job', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const path = join(dir, `stats-${++n}.db`);
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store, clock });
    const other = openTestDatabase(path);
    const t = clock.now();
    // Another process commits a delayed job and a due one just after stats() counted by status.
    const hook = betweenStatements(/GROUP BY status/, () =>
      other
        .prepare(
          `INSERT INTO integ_jobs (queue, status, payload, priority, attempts, max_attempts, created_at, run_at, token)
           VALUES ('q', 'pending', '1', 0, 0, 3, ?, ?, 0), ('q', 'pending', '2', 0, 0, 3, ?, ?, 0)`,
        )
        .run(t - 5000, t + 60_000, t - 5000, t - 5000),
    );
    let stats: Awaited<ReturnType<typeof queue.stats>>;
    try {
      stats = await queue.stats();
    } finally {
      hook.stop();
    }
    const { pending, delayed, total, oldestPendingAgeMs } = stats;
    // Either before the other commit or after it, never a mix of both.
    expect([
      [0, 0, 0, 0],
      [2, 1, 2, 5000],
    ]).toContainEqual([pending, delayed, total, oldestPendingAgeMs]);
    expect((await queue.stats()).pending).toBe(2);
    other.close();
    await store.close();
  });
});

describe('sqliteStore pushMany of jobs without a key (many rows per INSERT, decision 0202)', () => {
  it('gives every job the id of its own row, in push order, across the 256/64/16/4/2/1-row statements', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const store = sqliteStore({ path: join(dir, `many-${++n}.db`) });
    const queue = createQueue<number>({ name: 'q', store, clock });
    // A deleted newest job leaves a gap in the ids (AUTOINCREMENT does not reuse it): ids need not follow the table's.
    await queue.push(-1);
    const gone = await queue.next();
    await gone?.ack();
    await clock.advance(1);
    expect(await queue.clean({ status: 'done', olderThan: 0 })).toBe(1);
    const payloads = Array.from({ length: 343 }, (_, i) => i); // 256 + 64 + 16 + 4 + 2 + 1
    const jobs = await queue.pushMany(payloads);
    expect(jobs.map((job) => job.payload)).toEqual(payloads);
    const ids = jobs.map((job) => Number(job.id));
    expect(ids).toEqual(ids.map((_, i) => (ids[0] as number) + i));
    expect(ids[0]).toBeGreaterThan(Number(gone?.id));
    for (const job of jobs) expect((await queue.get(job.id))?.payload).toBe(job.payload);
    const claimed = await Promise.all(payloads.map(() => queue.next()));
    expect(claimed.map((job) => job?.payload)).toEqual(payloads);
    await store.close();
  });

  it('writes none of the jobs when a later statement of the same pushMany fails, and the batch around it commits', async () => {
    const clock = createFakeClock({ now: Date.UTC(2030, 0, 1) });
    const store = sqliteStore({ path: join(dir, `many-fail-${++n}.db`) });
    const queue = createQueue<number>({ name: 'q', store, clock });
    // Call 1 is the single push's INSERT, 2 the pushMany's 64 rows, 3 its 32 rows.
    const failing = failStatements(/^INSERT/, (call) =>
      call === 3 ? new SqliteError('out of memory', 'SQLITE_NOMEM') : undefined,
    );
    const batch = [queue.push(-1), queue.pushMany(Array.from({ length: 100 }, (_, i) => i))];
    const results = await Promise.all(batch.map(outcome));
    failing.stop();
    expect(results).toEqual(['ok', 'untyped SqliteError: out of memory']);
    expect((await queue.list({ limit: 1000 })).map((job) => job.payload)).toEqual([-1]);
    await store.close();
  });
});
