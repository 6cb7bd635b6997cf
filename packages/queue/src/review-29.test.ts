/**
 * Review round 29: defects noticed and left by earlier rounds. URL userinfo in a sqlite `path` reaching errors and
 * logs; a throwing custom backoff or random making fail() reject; close() waiting for next() jobs another process
 * took over; a store release() that never settles.
 */
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createQueue, type Job, type LeasedJob, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { recordingLogger, stores } from '../test/review.js';
import { nodeSqliteReadsUris, openTestDatabase, testDriver } from '../test/sqlite-db.js';
import { turns } from './internal/manual-clock.js';

/** Everything a user may see of an error: its message, its `cause` chain and its inspect output. */
const seen = (error: unknown): string =>
  `${String((error as Error)?.message)}\n${inspect(error, { depth: 10 })}`;

describe('sqliteStore() errors and logs name the path without URL userinfo', () => {
  let dir: string;
  let cwd: string;
  beforeEach(() => {
    dir = mkdtempSync(join(tmpdir(), 'queue-review-29-'));
    cwd = process.cwd();
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(dir, { recursive: true, force: true });
  });

  it.each([
    ['a file: URL with an authority', (d: string) => `file://USER-Q7:PASSWORD-Z9@localhost${d}/jobs.db`],
    ['a file: URI without one', (d: string) => `file:USER-Q7:PASSWORD-Z9@${d}/missing/jobs.db`],
    ['an https-shaped path', () => 'https://USER-Q7:PASSWORD-Z9@example.com/missing/jobs.db'],
    [
      'a password holding a slash',
      (d: string) => `file://USER-Q7:PASS/WORD-Z9@localhost${d}/jobs.db?mode=rwc`,
    ],
  ])('when the file cannot be opened: %s', (_, make) => {
    let error: unknown;
    try {
      sqliteStore({ path: make(dir) });
    } catch (e) {
      error = e;
    }
    // mkdtemp's six random characters could spell a secret's letters: the directory is masked (review round 30).
    const text = seen(error).replaceAll(dir, '<dir>');
    expect(error, text).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(text).toContain('jobs.db');
    expect(text).not.toMatch(/USER-Q7|PASS|WORD-Z9/);
  });

  it("when the driver's own error quotes the userinfo (node:sqlite: 'invalid uri authority: user:password@host')", () => {
    // What node:sqlite (Node 22.23) throws for such a path, checked there; Node 20 has no node:sqlite, so the error
    // comes from a stubbed driver.
    const quoted = Object.assign(new Error('invalid uri authority: USER-Q7:PASSWORD-Z9@localhost'), {
      code: 'ERR_SQLITE_ERROR',
      errcode: 1,
    });
    const realGetBuiltin = process.getBuiltinModule;
    vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
      id === 'node:module'
        ? {
            createRequire: () => () =>
              function Database() {
                throw quoted;
              },
          }
        : realGetBuiltin(id)) as typeof process.getBuiltinModule);
    let error: unknown;
    try {
      sqliteStore({ path: 'file://USER-Q7:PASSWORD-Z9@localhost/srv/jobs.db' });
    } catch (e) {
      error = e;
    } finally {
      vi.restoreAllMocks();
    }
    const text = seen(error);
    expect(text).toContain('invalid uri authority');
    expect(text).not.toMatch(/USER-Q7|PASSWORD-Z9/);
  });

  it('still names a plain path holding an @ in full, and a Windows drive path', async () => {
    const plain = join(dir, 'missing', 'team@corp', 'jobs.db');
    expect(() => sqliteStore({ path: plain })).toThrow(
      expect.objectContaining({ message: expect.stringContaining(JSON.stringify(plain)) }),
    );
    // A file name on POSIX, made in the test's directory.
    process.chdir(dir);
    const drive = 'C:\\team@corp\\jobs.db';
    const store = sqliteStore({ path: drive });
    await store.close();
    await expect(store.ready()).rejects.toThrow(JSON.stringify(drive));
  });

  it('when the store is closed, locked, and in the worker log line', async () => {
    // Relative paths that open: better-sqlite3 reads a file: URI as a file name (no SQLITE_USE_URI), node:sqlite
    // (where the addon does not load: Node 22+) from Node 22.15 as a URI with no authority, before as a file name;
    // so these are directories under the working directory.
    process.chdir(dir);
    const uriFile =
      testDriver === 'node:sqlite' && nodeSqliteReadsUris
        ? 'alice:S3CRET@db/jobs.db'
        : 'file:alice:S3CRET@db/jobs.db';
    mkdirSync(join(dir, uriFile, '..'), { recursive: true });
    mkdirSync(join(dir, 'https:', 'alice:S3CRET@example.com'), { recursive: true });
    for (const [path, file] of [
      ['file:alice:S3CRET@db/jobs.db', uriFile],
      ['https://alice:S3CRET@example.com/jobs.db', 'https:/alice:S3CRET@example.com/jobs.db'],
    ] as const) {
      const texts: string[] = [];
      // Locked: another connection holds the write lock and busyTimeout is 0.
      const store = sqliteStore({ path, busyTimeout: 0 });
      const other = openTestDatabase(join(dir, file));
      other.exec('BEGIN IMMEDIATE');
      const queue = createQueue({
        name: 'q',
        store,
        logger: {
          debug() {},
          info() {},
          error() {},
          warn: (details: unknown, message?: string) => {
            texts.push(`${message} ${inspect(details, { depth: 10 })}`);
          },
        },
      });
      const locked = await queue.push(1).catch((e: unknown) => e);
      expect(locked).toMatchObject({ code: 'ERR_STORE_LOCKED' });
      texts.push(seen(locked));
      other.exec('COMMIT');
      other.close();
      await store.close();
      // Closed: ready(), a push, and the worker's log line about its failed claim.
      texts.push(seen(await store.ready().catch((e: unknown) => e)));
      texts.push(seen(await queue.push(2).catch((e: unknown) => e)));
      const worker = queue.process(() => {});
      // Waited for, not slept for: the worker's first claim fails on the closed store and logs it.
      await vi.waitFor(() =>
        expect(texts.some((text) => text.startsWith('queue worker could not claim jobs'))).toBe(true),
      );
      await worker.close();
      for (const text of texts) {
        expect(text).toContain('jobs.db');
        expect(text).not.toMatch(/alice|S3CRET/);
      }
    }
  });
});

describe.each(stores)('a custom backoff or random that throws (%s store)', (_, createStore) => {
  const bug = new Error('backoff bug');
  const throwing = () => {
    throw bug;
  };

  it.each([
    ['a backoff function', { backoff: throwing }, undefined],
    [
      'random, for a jittered spec',
      { random: throwing },
      { type: 'exponential', delay: 500, jitter: 'full' } as const,
    ],
    [
      'random, for a jittered default',
      { random: throwing, backoff: { type: 'linear', delay: 500, jitter: 'full' } as const },
      undefined,
    ],
  ])(
    '%s: fail() records the failure at once, retried after the built-in default backoff, and warns',
    async (_, options, spec) => {
      const clock = createFakeClock({ now: 1_000_000 });
      const logger = recordingLogger();
      const failed: [Job<string>, unknown][] = [];
      const store = createStore();
      const queue = createQueue<string>({
        name: 'q',
        store,
        clock,
        logger,
        onFailed: (job, error) => failed.push([job, error]),
        ...options,
      });
      const pushed = await queue.push('a', spec === undefined ? undefined : { backoff: spec });
      const job = (await queue.next({ leaseMs: 60_000 })) as LeasedJob<string>;
      const boom = new Error('boom');
      await expect(job.fail(boom)).resolves.toBeUndefined();
      // The built-in default (exponential from 1000 ms, no jitter): 1000 ms after the first attempt.
      expect(await queue.get(pushed.id)).toMatchObject({
        status: 'pending',
        attempts: 1,
        lastError: 'Error: boom',
        runAt: new Date(1_000_000 + 1000).toISOString(),
      });
      expect(failed).toEqual([[expect.objectContaining({ status: 'pending' }), boom]]);
      expect(logger.warnings).toEqual([
        [
          expect.stringContaining('backoff'),
          expect.objectContaining({ err: bug, queue: 'q', jobId: pushed.id }),
        ],
      ]);
      await queue.close();
      await store.close();
    },
  );

  it('a worker records the failed attempt: the job runs again after the default delay, not as stalled', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const stalled: string[] = [];
    const store = createStore();
    const queue = createQueue<string>({
      name: 'q',
      store,
      clock,
      logger,
      backoff: throwing,
      onStalled: (job) => stalled.push(job.id),
    });
    const pushed = await queue.push('a');
    const runs: number[] = [];
    const worker = queue.process(
      (job) => {
        runs.push(job.attempts);
        if (job.attempts === 1) throw new Error('boom');
      },
      { leaseMs: 60_000, pollInterval: 100_000 },
    );
    for (let i = 0; i < 20 && runs.length === 0; i++) await turns();
    for (let i = 0; i < 20; i++) await turns();
    expect(await queue.get(pushed.id)).toMatchObject({ status: 'pending', attempts: 1 });
    await clock.advance(1000);
    for (let i = 0; i < 20 && runs.length < 2; i++) await turns();
    await worker.close();
    expect(runs).toEqual([1, 2]);
    expect(stalled).toEqual([]);
    expect(await queue.get(pushed.id)).toMatchObject({ status: 'done', attempts: 2 });
    expect(logger.warnings.map(([message]) => message)).toEqual([expect.stringContaining('backoff')]);
    await queue.close();
    await store.close();
  });
});

/** `base` with its release() calls counted. */
function countingReleases(base: QueueStore): { store: QueueStore; releases: string[] } {
  const releases: string[] = [];
  const store: QueueStore = Object.assign(Object.create(base) as QueueStore, {
    release: (...args: Parameters<QueueStore['release']>) => {
      releases.push(args[0]);
      return base.release(...args);
    },
  });
  return { store, releases };
}

/** Whether `promise` settles within a few event-loop turns, the fake clock standing still. */
async function settlesAtOnce(promise: Promise<unknown>): Promise<boolean> {
  let settled = false;
  void promise.finally(() => {
    settled = true;
  });
  for (let i = 0; i < 10 && !settled; i++) await turns();
  return settled;
}

describe.each(stores)('next() jobs another queue object took over (%s store)', (_, createStore) => {
  it('close() neither waits for such a job nor returns it; the old holder still gets LeaseLostError', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = createStore();
    const { store, releases } = countingReleases(base);
    const queue = createQueue<string>({ name: 'q', store, clock });
    await queue.push('a');
    const old = (await queue.next({ leaseMs: 1000 })) as LeasedJob<string>;
    await clock.advance(1000);
    const other = createQueue<string>({ name: 'q', store: base, clock });
    const taken = (await other.next()) as LeasedJob<string>;
    expect(await settlesAtOnce(queue.close({ timeout: 10_000 }))).toBe(true);
    expect(releases).toEqual([]);
    expect(clock.pendingTimers).toBe(0);
    await expect(old.ack()).rejects.toMatchObject({ code: 'ERR_LEASE_LOST' });
    await taken.ack();
    await base.close();
  });

  it('close() still waits for a lapsed job nobody took (its holder may ack it), then returns it', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = createStore();
    const { store, releases } = countingReleases(base);
    const queue = createQueue<string>({ name: 'q', store, clock });
    const pushed = await queue.push('a');
    await queue.next({ leaseMs: 1000 });
    await clock.advance(1000);
    const closing = queue.close({ timeout: 10_000 });
    expect(await settlesAtOnce(closing)).toBe(false);
    await clock.advance(10_000);
    await closing;
    expect(releases).toEqual([pushed.id]);
    expect(await queue.get(pushed.id)).toMatchObject({ status: 'pending', attempts: 0 });
    await base.close();
  });

  it('10,000 jobs left to their lease and taken over elsewhere: close() keeps none of them', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = createStore();
    const { store, releases } = countingReleases(base);
    const queue = createQueue<number>({ name: 'q', store, clock });
    const other = createQueue<number>({ name: 'q', store: base, clock });
    const pulled = (queue as unknown as { pulled: Map<string, unknown> }).pulled;
    let most = 0;
    for (let i = 0; i < 10_000; i++) {
      await queue.push(i);
      await queue.next({ leaseMs: 1000 });
      most = Math.max(most, pulled.size);
      clock.setNow(clock.now() + 1000);
      await ((await other.next()) as LeasedJob<number>).ack();
    }
    // Before: 10,000 (each job left to its lease and taken elsewhere stayed, with its payload, until close()).
    expect(most).toBeLessThanOrEqual(3);
    expect(await settlesAtOnce(queue.close({ timeout: 10_000 }))).toBe(true);
    expect(pulled.size).toBe(0);
    expect(releases).toEqual([]);
    expect((await queue.stats()).done).toBe(10_000);
    await base.close();
  }, 60_000);
});

describe('a store release() that answers late (decision 0206: the store contract makes every call settle)', () => {
  /** A memory store whose release() answers only once `answer()` is called. */
  function lateRelease() {
    const base = memoryStore();
    let answer = () => {};
    const held = new Promise<void>((resolve) => {
      answer = resolve;
    });
    const store: QueueStore = Object.assign(Object.create(base) as QueueStore, {
      release: async (...args: Parameters<QueueStore['release']>) => {
        await held;
        return base.release(...args);
      },
    });
    return { base, store, answer };
  }

  it("queue.close() waits for the store's answer past its timeout; the holder's ack then says close() returned the job", async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const { store, answer } = lateRelease();
    const queue = createQueue<string>({ name: 'q', store, clock });
    const pushed = await queue.push('a');
    const job = (await queue.next({ leaseMs: 60_000 })) as LeasedJob<string>;
    const closing = queue.close({ timeout: 1000 });
    await clock.advance(1000);
    // Resolving at the timeout would let the process exit before the store had the release (decision 0187).
    expect(await settlesAtOnce(closing)).toBe(false);
    const acked = job.ack().then(
      () => 'ok',
      (error: Error) => error.message,
    );
    await clock.advance(50_000);
    expect(await settlesAtOnce(acked)).toBe(false);
    answer();
    await closing;
    expect(await acked).toMatch(/close\(\) returned it to pending/);
    expect(await queue.get(pushed.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(clock.pendingTimers).toBe(0);
  });

  it("worker.close() waits for the store's answer past its timeout too", async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const { store, answer } = lateRelease();
    const queue = createQueue<string>({ name: 'q', store, clock });
    const pushed = await queue.push('a');
    const worker = queue.process(() => new Promise(() => {}), { leaseMs: 60_000 });
    await clock.advance(0);
    for (let i = 0; i < 10 && worker.running === 0; i++) await turns();
    const closing = worker.close({ timeout: 1000 });
    await clock.advance(1000);
    expect(await settlesAtOnce(closing)).toBe(false);
    answer();
    await closing;
    expect(await queue.get(pushed.id)).toMatchObject({ status: 'pending', attempts: 0 });
    await queue.close();
    expect(clock.pendingTimers).toBe(0);
  });
});
