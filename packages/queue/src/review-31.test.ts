/**
 * Review round 31: cross-review of round 30's fixes. The sqlite path rules of decision 0207 (a property over
 * generated paths), node:sqlite's SQLITE_ERROR at open (04007ed), a backoff capped at the last instant a Date holds
 * (030c591) and the range check of `random` (9005470).
 */
import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { createQueue, type LeasedJob } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { inTempDirectory, recordingLogger, stores, withDriver } from '../test/review.js';
import { nodeSqliteReadsUris } from '../test/sqlite-db.js';

/** Everything a user may see of an error: its message, its `cause` chain and its inspect output. */
const seen = (error: unknown): string =>
  `${String((error as Error)?.message)}\n${inspect(error, { depth: 10 })}`;

// node:sqlite as the one that reads `file:` paths as URIs (Node >= 22.15); elsewhere its stand-in.
const hasNodeSqlite = nodeSqliteReadsUris;

const sqliteError = (message: string, errcode: number): Error =>
  Object.assign(new Error(message), { code: 'ERR_SQLITE_ERROR', errcode });

/**
 * What SQLite (node:sqlite, sqlite3ParseUri) throws at open for a `file:` URI: it quotes the authority (from `//` to
 * the first `/`), and the value of a `vfs`, `mode` or `cache` parameter it cannot use, percent-decoded (from the
 * first `?` to the `#`; parameters split at `&`). Anything else: the file cannot be opened (the directory is missing).
 */
function sqliteLikeOpen(path: string): never {
  if (/^file:/i.test(path)) {
    let rest = path.slice(5);
    if (rest.startsWith('//')) {
      const end = rest.indexOf('/', 2);
      const authority = rest.slice(2, end < 0 ? undefined : end);
      if (authority !== '' && authority !== 'localhost')
        throw sqliteError(`invalid uri authority: ${authority}`, 1);
      rest = end < 0 ? '' : rest.slice(end);
    }
    const q = rest.indexOf('?');
    const query = q < 0 ? '' : rest.slice(q + 1).split('#')[0];
    const decode = (s: string) =>
      s.replace(/%([0-9a-f]{2})/gi, (_, h) => String.fromCharCode(Number.parseInt(h, 16)));
    for (const param of (query as string).split('&')) {
      const [key = '', ...v] = param.split('=');
      const value = decode(v.join('='));
      if (decode(key) === 'vfs') throw sqliteError(`no such vfs: ${value}`, 1);
      if (decode(key) === 'mode' && !['ro', 'rw', 'rwc', 'memory'].includes(value))
        throw sqliteError(`no such access mode: ${value}`, 1);
      if (decode(key) === 'cache' && !['shared', 'private'].includes(value))
        throw sqliteError(`no such cache mode: ${value}`, 1);
    }
  }
  throw sqliteError('unable to open database file', 14);
}

/** A database that opens and answers every statement with nothing. */
const openingDb = () => ({
  exec() {},
  prepare: () => ({ run: () => ({ changes: 0, lastInsertRowid: 0 }), get: () => undefined, all: () => [] }),
  close() {},
  inTransaction: false,
});

describe('sqliteStore() path rules (decision 0207): round 30 cross-review', () => {
  // The test's directory is the working directory ('USR:SEC' and other relative `file:` URIs open there).
  const temp = inTempDirectory('queue-review-31-');

  /** The error sqliteStore() throws at open (or the closed store's, when the driver opened the path). */
  async function openText(path: string, Database: (path: string) => unknown): Promise<[unknown, string]> {
    let error: unknown;
    try {
      const store = hasNodeSqlite
        ? sqliteStore({ path, driver: 'node:sqlite' })
        : withDriver(Database, () => sqliteStore({ path }));
      await store.close();
      error = await store.ready().catch((e: unknown) => e);
    } catch (e) {
      error = e;
    }
    return [error, seen(error)];
  }

  it.each([
    ['vfs', 'file:USR:pa?vfs=SEC@srv/jobs.db'],
    ['mode', 'file:USR:pa?mode=SEC@srv/jobs.db'],
    ['cache (percent-encoded)', 'file:USR:pa?cache=S%45C@srv/jobs.db'],
    ['vfs after an authority', 'file://localhost/x?vfs=SEC@srv/jobs.db'],
  ])(
    "a password holding '?%s=': node:sqlite quotes the value it cannot use, which goes too",
    async (_, path) => {
      const [error, text] = await openText(path, sqliteLikeOpen);
      expect(error, text).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      expect((error as Error).message).toMatch(
        /^Cannot open SQLite queue database "file:(\/\/)?…" \(no such \w+( \w+)?: …\)$/,
      );
      expect(text).not.toMatch(/SEC|pa\?/);
    },
  );

  it.each([
    ['a file that is no database', 'garbage'],
    ['a database whose schema is damaged', 'schema'],
  ])(
    "%s is still a StoreCorruptError (04007ed maps only the driver's SQLITE_ERROR at open, not at setup)",
    async (_, kind) => {
      const path = join(temp.dir, `${kind}.db`);
      if (kind === 'garbage') writeFileSync(path, Buffer.alloc(8192, 0x5a));
      else {
        const store = sqliteStore({ path, driver: hasNodeSqlite ? 'node:sqlite' : undefined });
        await store.close();
        const bytes = readFileSync(path);
        const at = bytes.indexOf('CREATE TABLE');
        expect(at).toBeGreaterThan(0);
        bytes.write('CREATX', at);
        writeFileSync(path, bytes);
      }
      for (const driver of hasNodeSqlite ? (['node:sqlite'] as const) : ([undefined] as const)) {
        let error: unknown;
        try {
          sqliteStore({ path, driver });
        } catch (e) {
          error = e;
        }
        expect(error, seen(error)).toMatchObject({
          code: 'ERR_STORE_CORRUPT',
          cause: expect.objectContaining({
            message: expect.stringMatching(/not a database|malformed database schema/),
          }),
        });
      }
    },
  );

  it('a file: URI is one to node:sqlite from Node 22.15 only: better-sqlite3 (SQLITE_USE_URI=0) and older node:sqlite open a file of that name (README)', async () => {
    const path = 'file:jobs.db?mode=rwc';
    const store = sqliteStore({ path });
    await store.close();
    expect(
      existsSync(
        join(
          temp.dir,
          store.driver === 'node:sqlite' && nodeSqliteReadsUris ? 'jobs.db' : 'file:jobs.db?mode=rwc',
        ),
      ),
    ).toBe(true);
    expect(
      existsSync(
        join(
          temp.dir,
          store.driver === 'node:sqlite' && nodeSqliteReadsUris ? 'file:jobs.db?mode=rwc' : 'jobs.db',
        ),
      ),
    ).toBe(false);
  });

  // Generated paths: a scheme (or none), userinfo (or none), an authority, directories holding `@`, `#`, `%40`, a
  // file name, a query whose keys and values may hold `@`, a fragment. Passwords hold `/ ? # @ : % & =` and the
  // parameter names SQLite quotes the value of.
  const piece = (alphabet: string[]) =>
    fc
      .array(fc.oneof(fc.constantFrom(...alphabet), fc.constant('SEC')), { maxLength: 8 })
      .map((p) => p.join(''));
  const password = piece([
    '/',
    '?',
    '#',
    '@',
    ':',
    '%40',
    '%2F',
    '&',
    '=',
    'vfs=',
    'mode=',
    'cache=',
    ' ',
    '\n',
    'é',
  ]).map((p) => `SEC${p}SEC`);
  const segment = piece(['a', 'b', '@', '#', '%40', 'team@corp', '.', '-']).map(
    (s) => s.replaceAll('SEC', 'd') || 'd',
  );
  const generated = fc.record({
    scheme: fc.constantFrom('', 'file:', 'file:/', 'file://', 'file:///', 'FILE://', 'sqlite://'),
    userinfo: fc.option(password.map((pw) => `USR:${pw}@`)),
    host: fc.constantFrom('', 'localhost', 'host'),
    dirs: fc.array(segment, { maxLength: 3 }),
    file: fc.nat({ max: 999 }).map((n) => `jobs${n}.db`),
    query: fc.option(
      fc
        .array(
          fc.constantFrom('mode=ro', 'cache=shared', 'k@y=v', 'key=K@T', 'vfs=unix', 'a=%40b', 'mode=bad'),
          {
            minLength: 1,
            maxLength: 3,
          },
        )
        .map((p) => `?${p.join('&')}`),
    ),
    fragment: fc.option(fc.constantFrom('#frag', '#a@b')),
  });

  it('property: a password never shows; a path with no userinfo shows its file name, but for 0207 ambiguous shapes', async () => {
    await fc.assert(
      fc.asyncProperty(generated, fc.boolean(), async (p, opens) => {
        const authority = p.scheme.endsWith('//') && !p.scheme.endsWith('///');
        const userinfo = p.scheme !== '' && p.userinfo !== null ? p.userinfo : '';
        const path = `${p.scheme}${authority || p.scheme === 'file:' ? `${userinfo}${p.host}/` : ''}${[...p.dirs, p.file].join('/')}${p.query ?? ''}${p.fragment ?? ''}`;
        const [error, text] = await openText(path, opens ? openingDb : sqliteLikeOpen);
        expect(error, text).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
        expect(text).not.toMatch(/USR|SEC/);
        // No userinfo: the file is named, but where 0207's trade-off hides all after the scheme (a `?` before a later
        // `@`, after a scheme with an authority or with no `/`), and where a fragment holds an `@` (`#a@b`: read as
        // a password holding `#`, which is cut up to its `@`; SQLite ignores a fragment, a known limit).
        const ambiguous = (authority || p.scheme === 'file:') && /[?#].*@/s.test(path);
        if (userinfo === '' && !ambiguous) expect((error as Error).message).toContain(p.file);
      }),
      { seed: 31, numRuns: 2000 },
    );
  });
});

const MAX_DATE = new Date(8.64e15).toISOString();

describe.each(stores)('random and a backoff at the edges (%s store)', (_, createStore) => {
  /** Pushes one job with `spec`, fails it once; answers the stored job and the warnings. */
  async function failOnce(
    options: Parameters<typeof createQueue<string>>[0] extends infer O ? Partial<O> : never,
    spec?: object,
  ) {
    const clock = createFakeClock({ now: 1_000_000 });
    const logger = recordingLogger();
    const store = createStore();
    const queue = createQueue<string>({ name: 'q', store, clock, logger, ...options });
    const pushed = await queue.push('a', spec ? { backoff: spec as never } : undefined);
    const job = (await queue.next()) as LeasedJob<string>;
    await job.fail(new Error('boom'));
    return { clock, logger, store, queue, id: pushed.id, stored: await queue.get(pushed.id) };
  }

  it.each([
    ['0.5 as a string', '0.5'],
    ['1 as a string', '1'],
    ['a boxed number', Object(0.5)],
  ])(
    'random returning %s for a jittered spec: no number, refused as @integ/retry refuses it, so the built-in default',
    async (_, value) => {
      const { logger, store, queue, stored } = await failOnce(
        { random: () => value as number },
        {
          type: 'exponential',
          delay: 5000,
          max: 5000,
          jitter: 'full',
        },
      );
      expect(stored).toMatchObject({ runAt: new Date(1_000_000 + 1000).toISOString() });
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

  it.each([
    [0, 0],
    [1, 5000],
  ])(
    'random returning %s (the ends of 0 to 1, as @integ/retry allows them) is used as drawn',
    async (value, ms) => {
      const { logger, store, queue, stored } = await failOnce(
        { random: () => value },
        {
          type: 'exponential',
          delay: 5000,
          max: 5000,
          jitter: 'full',
        },
      );
      expect(stored).toMatchObject({ runAt: new Date(1_000_000 + ms).toISOString() });
      expect(logger.warnings).toEqual([]);
      await queue.close();
      await store.close();
    },
  );

  it("a failure's retryAfterMs of Infinity with maxRetryAfter Infinity: due at the last instant a Date holds too", async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const store = createStore();
    const queue = createQueue<string>({ name: 'q', store, clock, maxRetryAfter: Infinity });
    const pushed = await queue.push('a');
    const job = (await queue.next()) as LeasedJob<string>;
    await job.fail(Object.assign(new Error('busy'), { retryAfterMs: Infinity }));
    expect(job.runAt).toBe(MAX_DATE);
    expect(await queue.get(pushed.id)).toMatchObject({ status: 'pending', runAt: MAX_DATE });
    await queue.close();
    await store.close();
  });

  it.each([
    ['Infinity', Infinity],
    ['1e300', 1e300],
    ['Number.MAX_VALUE', Number.MAX_VALUE],
  ])(
    'a backoff returning %s: due at the last instant a Date holds, counted as delayed, behind due jobs, no timer spin',
    async (_, value) => {
      const { clock, logger, store, queue, id, stored } = await failOnce({ backoff: () => value });
      expect(stored).toMatchObject({ status: 'pending', runAt: MAX_DATE });
      expect(logger.warnings).toEqual([]);
      // Ordered after a job due later than now but before the end of time, in the store's due-time order.
      await queue.push('b', { delay: 10 });
      expect(await queue.stats()).toMatchObject({ pending: 2, delayed: 2, oldestPendingAgeMs: 0 });
      await clock.advance(10);
      // The age is of the due job only (pushed 10 ms ago), not of the one due at the end of time.
      expect(await queue.stats()).toMatchObject({ pending: 2, delayed: 1, oldestPendingAgeMs: 10 });
      const next = (await queue.next()) as LeasedJob<string>;
      expect(next.payload).toBe('b');
      await next.ack();
      expect(await queue.next()).toBeNull();
      // A worker arms its due timer at most 2^31 - 1 ms ahead and does not spin: 30 days pass without a claim.
      const handled: string[] = [];
      const worker = queue.process(
        (job) => {
          handled.push(job.payload);
        },
        { pollInterval: 60_000 },
      );
      await clock.advance(30 * 24 * 3600_000);
      expect(handled).toEqual([]);
      expect(clock.pendingTimers).toBeLessThanOrEqual(2);
      await worker.close();
      expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 1, runAt: MAX_DATE });
      await queue.close();
      await store.close();
    },
  );
});

describe("sqliteStore(): better-sqlite3's SQLITE_ERROR at open (a build with URIs on), as node:sqlite's since 04007ed", () => {
  it.each([
    ['no such vfs: nope', 'file:/srv/jobs.db?vfs=nope'],
    ['invalid uri authority: USR:SEC@host', 'file://USR:SEC@host/srv/jobs.db'],
  ])(
    '%s is a StoreUnavailableError naming the path, the driver error its cause, no password',
    (message, path) => {
      let error: unknown;
      try {
        withDriver(
          () => {
            // better-sqlite3's SqliteError: a code, no errcode.
            throw Object.assign(new Error(message), { name: 'SqliteError', code: 'SQLITE_ERROR' });
          },
          () => sqliteStore({ path }),
        );
      } catch (e) {
        error = e;
      }
      expect(error, seen(error)).toMatchObject({
        code: 'ERR_STORE_UNAVAILABLE',
        message: expect.stringMatching(
          /^Cannot open SQLite queue database "file:.*" \((no such vfs|invalid uri authority)/,
        ),
        cause: expect.objectContaining({ code: 'SQLITE_ERROR' }),
      });
      expect(seen(error)).not.toMatch(/USR|SEC/);
    },
  );
});
