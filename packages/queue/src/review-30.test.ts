import { inspect } from 'node:util';
import type { Logger } from '@integ/core';
import { createQueue, type LeasedJob, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';
import { inTempDirectory, recordingLogger, stores, withDriver } from '../test/review.js';
import { nodeSqliteReadsUris } from '../test/sqlite-db.js';
import { turns } from './internal/manual-clock.js';

/** Everything a user may see of an error: its message, its `cause` chain and its inspect output. */
const seen = (error: unknown): string =>
  `${String((error as Error)?.message)}\n${inspect(error, { depth: 10 })}`;

/** A logger keeping every warning as text (message and details). */
function textLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const noop = () => {};
  return {
    debug: noop,
    info: noop,
    error: noop,
    warn: (details: unknown, message?: string) => {
      lines.push(`${message} ${inspect(details, { depth: 10 })}`);
    },
    lines,
  } as Logger & { lines: string[] };
}

/** What SQLite (node:sqlite) throws for a URI path: it quotes the authority, from `file://` to the first `/`. */
function sqliteLikeOpen(path: string): never {
  if (path.startsWith('file://')) {
    const end = path.indexOf('/', 7);
    const authority = path.slice(7, end < 0 ? undefined : end);
    if (authority !== '' && authority !== 'localhost')
      throw Object.assign(new Error(`invalid uri authority: ${authority}`), {
        code: 'ERR_SQLITE_ERROR',
        errcode: 1,
      });
  }
  throw Object.assign(new Error('unable to open database file'), { code: 'ERR_SQLITE_ERROR', errcode: 14 });
}

/** A database that opens and answers every statement with nothing (a file: URI read as a file name opens). */
const openingDb = () => ({
  exec() {},
  prepare: () => ({ run: () => ({ changes: 0, lastInsertRowid: 0 }), get: () => undefined, all: () => [] }),
  close() {},
  inTransaction: false,
});

// node:sqlite as the one that reads `file:` paths as URIs (Node >= 22.15); elsewhere its stand-in.
const hasNodeSqlite = nodeSqliteReadsUris;

describe('sqliteStore() path userinfo: round 29 cross-review', () => {
  // The test's directory is the working directory ('USR:SEC' and other relative `file:` URIs open there).
  const temp = inTempDirectory('queue-review-30-');

  /** The open error's text, the random directory name masked (mkdtemp's six characters may hold anything). */
  const openError = (path: string, driver?: 'node:sqlite'): [unknown, string] => {
    let error: unknown;
    try {
      sqliteStore({ path, driver });
    } catch (e) {
      error = e;
    }
    return [error, seen(error).replaceAll(temp.dir, '<dir>')];
  };

  it('a password holding a ? (read as the start of the query, it was shown up to there)', () => {
    const [error, text] = openError(`file://USER-Q7:PASS?WORD-Z9@localhost${temp.dir}/missing/jobs.db`);
    expect(error, text).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    // A `?` before the last `@` may also start a query holding an `@`: all after the scheme goes.
    expect((error as Error).message).toContain('"file://…"');
    expect(text).not.toMatch(/USER-Q7|PASS|WORD-Z9/);
  });

  it.each([
    ['with an authority', 'file://localhost/srv/missing/jobs.db?mode=rw&key=K3Y@T41L'],
    ['without one', 'file:srv/missing/jobs.db?key=K3Y@T41L&mode=rw'],
  ])('a query holding an @ (%s): neither the key nor its part after the @ is shown', (_, path) => {
    const [error, text] = openError(path);
    expect(error, text).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect(text).not.toMatch(/K3Y|T41L/);
  });

  it("a password holding a /, quoted by node:sqlite only up to the / ('invalid uri authority: user:pa')", () => {
    const path = 'file://USER-Q7:PASS/WORD-Z9@localhost/srv/jobs.db';
    const [, text] = hasNodeSqlite
      ? openError(path, 'node:sqlite')
      : withDriver(sqliteLikeOpen, () => openError(path));
    expect(text).toContain('invalid uri authority');
    expect(text).not.toMatch(/USER-Q7|PASS|WORD-Z9/);
  });

  it('cuts the authority node:sqlite quotes only where it quotes it: a short one does not garble the message', () => {
    const path = 'file://a/b@localhost/srv/jobs.db';
    const [error, text] = hasNodeSqlite
      ? openError(path, 'node:sqlite')
      : withDriver(sqliteLikeOpen, () => openError(path));
    expect((error as Error).message).toBe(
      'Cannot open SQLite queue database "file://…@localhost/srv/jobs.db" (invalid uri authority: …)',
    );
    expect(text).toContain('StoreUnavailableError');
  });

  it.each([
    ['a URL object', new URL('https://USER-Q7:PASSWORD-Z9@example.com/jobs.db') as unknown as string],
    ['a path holding a NUL', 'file://USER-Q7:PASSWORD-Z9@localhost/srv/jobs.db\0'],
  ])('refuses %s with InvalidArgumentError that does not quote it', (_, path) => {
    const [error, text] = openError(path);
    expect(error, text).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(text).not.toMatch(/USER-Q7|PASSWORD-Z9/);
  });

  it.each([
    ['invalid uri authority: …', 'file://USER-Q7:PASS/WORD-Z9@localhost/srv/jobs.db'],
    ['no such vfs', 'file:/srv/jobs.db?vfs=nope'],
    ['no such access mode', 'file:/srv/jobs.db?mode=bad'],
  ])(
    "node:sqlite's SQLITE_ERROR at open (%s) is a StoreUnavailableError naming the path, the driver's error its cause",
    (reason, path) => {
      const driverError = () =>
        reason.startsWith('invalid')
          ? sqliteLikeOpen(path)
          : (() => {
              throw Object.assign(new Error(`${reason}: ${path.split('=')[1]}`), {
                code: 'ERR_SQLITE_ERROR',
                errcode: 1,
              });
            })();
      const [error, text] = hasNodeSqlite
        ? openError(path, 'node:sqlite')
        : withDriver(driverError, () => openError(path));
      expect(error, text).toMatchObject({
        code: 'ERR_STORE_UNAVAILABLE',
        message: expect.stringContaining('jobs.db'),
        cause: expect.objectContaining({ code: 'ERR_SQLITE_ERROR', errcode: 1 }),
      });
      expect(text).toContain(reason.replace(': …', ''));
      expect(text).not.toMatch(/USER-Q7|PASS|WORD-Z9/);
    },
  );

  it.each([
    ['file:///abs', (d: string) => `file://${d}/missing/team@corp/jobs.db`],
    ['file:/abs', (d: string) => `file:${d}/missing/team@corp/jobs.db`],
    ['file:///abs?mode=ro', (d: string) => `file://${d}/missing/team@corp/jobs.db?mode=ro`],
  ])('names a %s path holding an @ in full (no authority, so no userinfo)', (_, make) => {
    const path = make(temp.dir);
    const [error, text] = openError(path);
    expect(error, text).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect((error as Error).message).toContain(JSON.stringify(path.replace(/\?.*/s, '?…')));
  });

  // Passwords as users write them: unencoded `/ ? # @ :`, percent-encoded parts, spaces, line breaks, non-ASCII.
  const password = fc
    .array(
      fc.oneof(
        fc.constantFrom(
          '/',
          '//',
          '?',
          '#',
          '@',
          ':',
          '%40',
          '%2F',
          '&',
          '=',
          ' ',
          '\n',
          '\\',
          ';',
          '.',
          'é',
          '…',
        ),
        fc.constant('SEC'),
      ),
      { maxLength: 10 },
    )
    .map((parts) => `SEC${parts.join('')}SEC`);
  const shapes = [
    (pw: string) => `file://USR:${pw}@localhost/srv/jobs.db`,
    (pw: string) => `file://USR:${pw}@localhost/srv/jobs.db?mode=ro&cache=shared`,
    (pw: string) => `file://USR:${pw}@/srv/jobs.db`,
    (pw: string) => `file:USR:${pw}@srv/jobs.db`,
    (pw: string) => `https://USR:${pw}@example.com/jobs.db`,
    // A key in the query (SQLite ignores parameters it does not know): cut with the query, an `@` in it too.
    (pw: string) => `file://localhost/srv/jobs.db?mode=rwc&key=USR${pw}`,
    (pw: string) => `file:srv/jobs.db?key=USR${pw}`,
  ];

  it('property: no password reaches the open error, its cause, stack or inspect output (node:sqlite or its stand-in)', async () => {
    await fc.assert(
      fc.asyncProperty(password, fc.integer({ min: 0, max: shapes.length - 1 }), async (pw, shape) => {
        const path = (shapes[shape] as (pw: string) => string)(pw);
        let text: string;
        try {
          const store = hasNodeSqlite
            ? sqliteStore({ path, driver: 'node:sqlite' })
            : withDriver(sqliteLikeOpen, () => sqliteStore({ path }));
          // node:sqlite opened what a `#` or `?` left of a relative URI: the closed store's error then.
          await store.close();
          text = seen(await store.ready().catch((e: unknown) => e));
        } catch (error) {
          text = seen(error);
        }
        expect(text).not.toMatch(/USR|SEC/);
      }),
      { seed: 30, numRuns: 300 },
    );
  });

  it("property: no password reaches a closed store's errors nor the worker's log line (a driver that opens)", async () => {
    await fc.assert(
      fc.asyncProperty(password, fc.integer({ min: 0, max: shapes.length - 1 }), async (pw, shape) => {
        const path = (shapes[shape] as (pw: string) => string)(pw);
        const store = withDriver(openingDb, () => sqliteStore({ path }));
        const logger = textLogger();
        const queue = createQueue({ name: 'q', store, logger });
        await store.close();
        const texts = [
          seen(await store.ready().catch((e: unknown) => e)),
          seen(await queue.push(1).catch((e: unknown) => e)),
        ];
        const worker = queue.process(() => {}, { pollInterval: 60_000 });
        for (let i = 0; i < 20 && logger.lines.length === 0; i++) await turns();
        await worker.close();
        await queue.close();
        texts.push(...logger.lines);
        expect(logger.lines.length).toBeGreaterThan(0);
        for (const text of texts) {
          // A `?` before the last `@` (a password's or a query's): all after the scheme goes.
          expect(text).toMatch(/jobs\.db|"\w+:(\/\/)?…"/);
          expect(text).not.toMatch(/USR|SEC/);
        }
      }),
      { seed: 30, numRuns: 100 },
    );
  });
});

describe.each(stores)('a custom backoff whose answer is no delay (%s store)', (_, createStore) => {
  it.each([
    ['NaN', () => Number.NaN],
    ['a negative number', () => -5000],
    ['a string', () => '5000' as unknown as number],
    ['undefined', () => undefined as unknown as number],
  ])(
    'a backoff returning %s: the retry waits the built-in default (1000 ms), not 0 ms, and a warning says so',
    async (_, backoff) => {
      const clock = createFakeClock({ now: 1_000_000 });
      const logger = recordingLogger();
      const store = createStore();
      const queue = createQueue<string>({ name: 'q', store, clock, logger, backoff });
      const pushed = await queue.push('a');
      const job = (await queue.next()) as LeasedJob<string>;
      await job.fail(new Error('boom'));
      expect(await queue.get(pushed.id)).toMatchObject({
        status: 'pending',
        attempts: 1,
        runAt: new Date(1_000_000 + 1000).toISOString(),
      });
      expect(logger.warnings).toEqual([
        [expect.stringContaining('backoff'), expect.objectContaining({ queue: 'q', jobId: pushed.id })],
      ]);
      await queue.close();
      await store.close();
    },
  );

  it('random returning NaN for a jittered spec: the built-in default, not 0 ms', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const store = createStore();
    const queue = createQueue<string>({ name: 'q', store, clock, logger, random: () => Number.NaN });
    const pushed = await queue.push('a', { backoff: { type: 'exponential', delay: 500, jitter: 'full' } });
    const job = (await queue.next()) as LeasedJob<string>;
    await job.fail(new Error('boom'));
    expect(await queue.get(pushed.id)).toMatchObject({ runAt: new Date(1_000_000 + 1000).toISOString() });
    expect(logger.warnings).toHaveLength(1);
    await queue.close();
    await store.close();
  });

  it.each([
    ['2', 2],
    ['-0.5', -0.5],
  ])(
    'random returning %s for a jittered spec: checked as @integ/retry checks it (0 to 1), so the built-in default',
    async (_, value) => {
      const clock = createFakeClock({ now: 1_000_000 });
      const logger = recordingLogger();
      const store = createStore();
      const queue = createQueue<string>({ name: 'q', store, clock, logger, random: () => value });
      const pushed = await queue.push('a', {
        backoff: { type: 'exponential', delay: 5000, max: 5000, jitter: 'full' },
      });
      const job = (await queue.next()) as LeasedJob<string>;
      await job.fail(new Error('boom'));
      // Not 10,000 ms, twice the spec's own max, nor 0 ms.
      expect(await queue.get(pushed.id)).toMatchObject({ runAt: new Date(1_000_000 + 1000).toISOString() });
      expect(logger.warnings).toEqual([
        [
          expect.stringContaining('backoff'),
          expect.objectContaining({ err: expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }) }),
        ],
      ]);
      await queue.close();
      await store.close();
    },
  );

  it('a backoff returning Infinity: the retry is due at the last instant a Date holds, not at once', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const store = createStore();
    const queue = createQueue<string>({ name: 'q', store, clock, logger, backoff: () => Infinity });
    const pushed = await queue.push('a');
    const job = (await queue.next()) as LeasedJob<string>;
    await job.fail(new Error('boom'));
    expect(await queue.get(pushed.id)).toMatchObject({
      status: 'pending',
      runAt: new Date(8.64e15).toISOString(),
    });
    expect(logger.warnings).toEqual([]);
    await queue.close();
    await store.close();
  });

  it('a throwing backoff on the last attempt is not asked: dead with the handler error, hooks once, no warning', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const store = createStore();
    const calls: string[] = [];
    const backoff = vi.fn(() => {
      throw new Error('backoff bug');
    });
    const queue = createQueue<string>({
      name: 'q',
      store,
      clock,
      logger,
      backoff,
      attempts: 1,
      onFailed: (job, error) => calls.push(`failed ${job.status} ${(error as Error).message}`),
      onDead: (job, error) => calls.push(`dead ${job.status} ${(error as Error).message}`),
    });
    const pushed = await queue.push('a');
    const job = (await queue.next()) as LeasedJob<string>;
    await job.fail(new Error('boom'));
    expect(await queue.get(pushed.id)).toMatchObject({
      status: 'dead',
      attempts: 1,
      lastError: 'Error: boom',
    });
    expect(calls).toEqual(['failed dead boom', 'dead dead boom']);
    expect(backoff).not.toHaveBeenCalled();
    expect(logger.warnings).toEqual([]);
    await queue.close();
    await store.close();
  });

  it('a logger whose warn throws: the failure is still recorded with the default delay, hooks once', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const store = createStore();
    const failed: string[] = [];
    const warn = vi.fn((_details: unknown, _message?: string) => {
      throw new Error('logger down');
    });
    const noop = () => {};
    const queue = createQueue<string>({
      name: 'q',
      store,
      clock,
      logger: { debug: noop, info: noop, error: noop, warn },
      backoff: () => {
        throw new Error('backoff bug');
      },
      onFailed: (job) => failed.push(job.status),
    });
    const pushed = await queue.push('a');
    const job = (await queue.next()) as LeasedJob<string>;
    await expect(job.fail(new Error('boom'))).resolves.toBeUndefined();
    expect(await queue.get(pushed.id)).toMatchObject({
      status: 'pending',
      runAt: new Date(1_000_000 + 1000).toISOString(),
    });
    expect(warn).toHaveBeenCalledTimes(1);
    expect(JSON.stringify(warn.mock.calls[0]?.[0] ?? {})).not.toContain('"a"');
    expect(failed).toEqual(['pending']);
    await queue.close();
    await store.close();
  });
});

/** `base` whose get() answers when the test says so; release() calls counted. */
function gatedGet(base: QueueStore): {
  store: QueueStore;
  gets: (() => void)[];
  releases: string[];
} {
  const gets: (() => void)[] = [];
  const releases: string[] = [];
  const store: QueueStore = Object.assign(Object.create(base) as QueueStore, {
    get: (id: string) =>
      new Promise((resolve, reject) => {
        gets.push(() => base.get(id).then(resolve, reject));
      }),
    release: (...args: Parameters<QueueStore['release']>) => {
      releases.push(args[0]);
      return base.release(...args);
    },
  });
  return { store, gets, releases };
}

describe.each(stores)('the store lookup of lapsed next() jobs (01388d6, %s store)', (_, createStore) => {
  it('next() neither waits for nor fails with a lookup that never answers, or rejects', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = createStore();
    const { store, gets } = gatedGet(base);
    let rejecting = false;
    const queue = createQueue<string>({
      name: 'q',
      store: Object.assign(Object.create(store) as QueueStore, {
        get: (id: string) => (rejecting ? Promise.reject(new Error('store down')) : store.get(id)),
      }),
      clock,
    });
    await queue.push('a');
    const first = (await queue.next({ leaseMs: 1000 })) as LeasedJob<string>;
    // Ahead of `first` once its lease lapses, so the next claims take them, not it.
    await queue.pushMany(['b', 'c'], { priority: 1 });
    await clock.advance(1000);
    // The lookup of `first` (lapsed) never answers: next() still hands out the next job.
    expect((await queue.next({ leaseMs: 60_000 }))?.payload).toBe('b');
    expect(gets).toHaveLength(1);
    rejecting = true;
    expect((await queue.next({ leaseMs: 60_000 }))?.payload).toBe('c');
    // Still the holder's: nobody took it, and the lookups said nothing.
    await first.ack();
    expect(await base.get(first.id)).toMatchObject({ status: 'done' });
    await base.close();
  });

  it('close() with a lookup that rejects: the lapsed job stays, is waited for and returned at the timeout', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = createStore();
    const { store, releases } = gatedGet(base);
    const queue = createQueue<string>({
      name: 'q',
      store: Object.assign(Object.create(store) as QueueStore, {
        get: () => Promise.reject(new Error('store down')),
      }),
      clock,
    });
    await queue.push('a');
    const job = (await queue.next({ leaseMs: 1000 })) as LeasedJob<string>;
    await clock.advance(1000);
    let closed = false;
    const closing = queue.close({ timeout: 5000 }).then(() => {
      closed = true;
    });
    await turns();
    await clock.advance(4999);
    expect(closed).toBe(false);
    await clock.advance(1);
    await closing;
    expect(releases).toEqual([job.id]);
    expect(await base.get(job.id)).toMatchObject({ status: 'pending', attempts: 0 });
    expect(clock.pendingTimers).toBe(0);
    await base.close();
  });

  it.each([
    ['ack', (job: LeasedJob<string>) => job.ack(), 'done'],
    ['fail', (job: LeasedJob<string>) => job.fail(new Error('boom'), { retry: false }), 'dead'],
  ] as const)(
    "a holder's %s made while close()'s lookup is in flight: close() returns nothing and resolves without its timeout",
    async (_, settle, status) => {
      for (const lookupFirst of [false, true]) {
        const clock = createFakeClock({ now: 1_000_000 });
        const base = createStore();
        const { store, gets, releases } = gatedGet(base);
        const queue = createQueue<string>({ name: 'q', store, clock });
        await queue.push('a');
        const job = (await queue.next({ leaseMs: 1000 })) as LeasedJob<string>;
        await clock.advance(1000);
        let closed = false;
        const closing = queue.close({ timeout: 60_000 }).then(() => {
          closed = true;
        });
        await turns();
        expect(gets).toHaveLength(1);
        // The lookup answers before the holder's call (it reads 'processing': the job stays) or after it.
        if (lookupFirst) gets[0]?.();
        await settle(job);
        if (!lookupFirst) gets[0]?.();
        await turns();
        expect(closed).toBe(true);
        await closing;
        expect(releases).toEqual([]);
        expect(clock.pendingTimers).toBe(0);
        expect(await base.get(job.id)).toMatchObject({ status, attempts: 1 });
        await base.close();
      }
    },
  );
});
