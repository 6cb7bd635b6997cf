/**
 * Review round 32: cross-review of round 31's fixes. The driver's error at open from another realm (jest's and
 * vitest's vm pools run the test's code in a context of its own; node:sqlite makes its errors in Node's), 0667198's
 * cut of a driver message, a643c77's isSqliteError() at its two call sites, f8d35ef's typeof check of `random`.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { inspect } from 'node:util';
import { runInNewContext } from 'node:vm';
import { createQueue } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { recordingLogger, stores, withDriver } from '../test/review.js';

/** Everything a user may see of an error: its message, its `cause` chain and its inspect output. */
const seen = (error: unknown): string =>
  `${String((error as Error)?.message)}\n${inspect(error, { depth: 10 })}`;

/** What sqliteStore() throws when the driver throws `error` at open. */
function openError(path: string, error: () => unknown): unknown {
  try {
    withDriver(
      () => {
        throw error();
      },
      () => sqliteStore({ path }),
    );
  } catch (e) {
    return e;
  }
  return undefined;
}

describe("sqliteStore(): a driver's error at open made in another realm", () => {
  // node:sqlite's error is made in Node's own context: called from a vm context (jest; vitest's vmThreads and
  // vmForks pools), it is no `instanceof Error` of the caller's (verified on Node 22.23: [false, 'invalid uri
  // authority: USR:SEC@host', 1]).
  const foreign = (message: string, fields: Record<string, unknown>) => () =>
    runInNewContext('Object.assign(new Error(message), fields)', { message, fields });

  it.each([
    [
      'node:sqlite, invalid uri authority',
      'file://USR:SEC@host/srv/jobs.db',
      'invalid uri authority: USR:SEC@host',
      { code: 'ERR_SQLITE_ERROR', errcode: 1 },
    ],
    [
      'node:sqlite, no such vfs (a ? in the password)',
      'file:USR:pa?vfs=SEC@srv/jobs.db',
      'no such vfs: SEC@srv/jobs.db',
      { code: 'ERR_SQLITE_ERROR', errcode: 1 },
    ],
    [
      'better-sqlite3 with URIs on',
      'file://USR:SEC@host/srv/jobs.db',
      'invalid uri authority: USR:SEC@host',
      { code: 'SQLITE_ERROR' },
    ],
    [
      'cannot open',
      'file://USR:SEC@host/srv/jobs.db',
      'unable to open USR:SEC@host',
      { code: 'ERR_SQLITE_ERROR', errcode: 14 },
    ],
  ])(
    '%s: the password is cut from its message and stack, as from a local error',
    (_, path, message, fields) => {
      const error = openError(path, foreign(message, fields));
      expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
      expect((error as Error).cause).toMatchObject(fields);
      expect(seen(error)).not.toMatch(/SEC/);
    },
  );

  // better-sqlite3's JS is loaded by Node's own require (not the vm's), so under a vm pool its TypeError for a
  // missing directory is another realm's too: it was thrown as is, not as the documented StoreUnavailableError
  // (sqlite.test.ts's 'directory does not exist' test failed under --pool=vmThreads on Node 20 with better-sqlite3).
  it("better-sqlite3's missing directory (a TypeError of another realm) is a StoreUnavailableError", () => {
    const error = openError('/srv/missing/jobs.db', () =>
      runInNewContext("new TypeError('Cannot open database because the directory does not exist')"),
    );
    expect(error).toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      message: expect.stringContaining('check that its directory exists'),
    });
  });

  // The real thing on Node >= 22.13. In the default pool its error is of this realm; run under
  // `--pool=vmThreads` it is not, and this failed before (checked on Node 22.23). From Node 22.15 node:sqlite refuses
  // the URI's authority (errcode 1); 22.13 and 22.14 read the path as a file name it cannot open (errcode 14).
  it.runIf(process.getBuiltinModule?.('node:sqlite') !== undefined)(
    "node:sqlite's own error (whichever realm runs this test)",
    () => {
      let error: unknown;
      try {
        sqliteStore({ path: 'file://USR:SEC@host/srv/jobs.db', driver: 'node:sqlite' });
      } catch (e) {
        error = e;
      }
      expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', cause: { code: 'ERR_SQLITE_ERROR' } });
      expect(seen(error)).not.toMatch(/SEC/);
    },
  );
});

describe("sqliteStore(): a643c77's isSqliteError() is used at open and setup only", () => {
  it("a table dropped under an open store: each call rejects with the driver's own 'no such table', not as unavailable", async () => {
    const dir = mkdtempSync(join(tmpdir(), 'queue-review-32-'));
    const path = join(dir, 'jobs.db');
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store });
    await queue.push('a');
    // Another hand on the file: the driver the store uses, on a connection of its own.
    const Database = createRequire(import.meta.url)(
      store.driver === 'node:sqlite' ? 'node:sqlite' : 'better-sqlite3',
    );
    const db = store.driver === 'node:sqlite' ? new Database.DatabaseSync(path) : new Database(path);
    db.exec('DROP TABLE integ_jobs');
    db.close();
    for (const call of [() => queue.push('b'), () => queue.next(), () => queue.stats()]) {
      const error = await call().catch((e: unknown) => e);
      // A statement failing after open is our SQL or an outside hand: neither a file that cannot be opened nor a
      // table made by something else, so it passes through as mapError() says (better-sqlite3 or node:sqlite).
      expect(error).toMatchObject({ message: expect.stringContaining('no such table') });
      expect((error as { code?: string }).code).not.toMatch(/^ERR_STORE/);
    }
    await queue.close();
    await store.close();
    rmSync(dir, { recursive: true, force: true });
  });
});

/** A connection of its own to `path`: node:sqlite where Node has it, else better-sqlite3 (what the store loads). */
function rawDb(path: string): { exec(sql: string): void; close(): void } {
  const sqlite = process.getBuiltinModule?.('node:sqlite') as
    | { DatabaseSync: new (path: string) => { exec(sql: string): void; close(): void } }
    | undefined;
  return sqlite
    ? new sqlite.DatabaseSync(path)
    : new (createRequire(import.meta.url)('better-sqlite3'))(path);
}

describe("sqliteStore(): a643c77's other call site, SQLITE_ERROR at setup", () => {
  // Setup's SQLITE_ERROR is a table or index name of the queue's taken by the app in a database the two share: not
  // a damaged file. 'Restore it from a backup or move it away' (StoreCorruptError's default advice) was wrong for
  // every case, and of a `jobs` table that did not exist yet the message said it was not a queue's.
  it.each([
    [
      "an app's own table of that name",
      'CREATE TABLE integ_jobs (id INTEGER PRIMARY KEY, title TEXT)',
      undefined,
      'no such column: queue',
    ],
    [
      "an app's table named as one of the queue's indexes",
      'CREATE TABLE jobs_list (x)',
      'jobs',
      'there is already a table named jobs_list',
    ],
  ])(
    "%s: ERR_STORE_CORRUPT naming the table, the driver's reason and the table option; no advice to move the file",
    (_, sql, table, reason) => {
      const dir = mkdtempSync(join(tmpdir(), 'queue-review-32-'));
      const path = join(dir, 'app.db');
      const db = rawDb(path);
      db.exec(sql);
      db.close();
      let error: unknown;
      try {
        sqliteStore({ path, table });
      } catch (e) {
        error = e;
      }
      rmSync(dir, { recursive: true, force: true });
      expect(error).toMatchObject({
        code: 'ERR_STORE_CORRUPT',
        message: expect.stringContaining(`table "${table ?? 'integ_jobs'}"`),
        cause: { message: reason },
      });
      expect((error as Error).message).toContain(reason);
      expect((error as Error).message).toContain('table option');
      expect((error as Error).message).not.toMatch(/backup|move it away|corrupted/);
    },
  );
});

describe("createQueue(): f8d35ef's check of random, every way a draw reaches a backoff", () => {
  const refused: [string, unknown][] = [
    ['NaN (typeof number)', Number.NaN],
    ['-1', -1],
    ['just past 1', 1 + 2 ** -52],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['-Infinity', Number.NEGATIVE_INFINITY],
    ['undefined', undefined],
    ['null', null],
    ['0n', 0n],
    ['a string holding a secret', 'SECRET'],
    ['a boxed 0.5', Object(0.5)],
  ];
  const ways = {
    "a job's jittered spec": {
      push: { backoff: { type: 'exponential', delay: 5000, max: 5000, jitter: 'full' } },
    },
    "the queue's jittered spec": {
      queue: { backoff: { type: 'exponential', delay: 5000, max: 5000, jitter: 'full' } },
    },
    "the queue's backoff function": {
      queue: { backoff: ({ random }: { random: () => number }) => 5000 * random() },
    },
  } as const;

  for (const [way, options] of Object.entries(ways))
    it.each(refused)(
      `${way}, random answering %s: the built-in default (1 s), one warn line, no value text`,
      async (_, value) => {
        for (const [, makeStore] of stores) {
          const store = makeStore();
          const clock = createFakeClock({ now: 1_000_000 });
          const logger = recordingLogger();
          const queue = createQueue<string>({
            name: 'q',
            store,
            clock,
            logger,
            random: () => value as number,
            ...('queue' in options ? (options.queue as object) : {}),
          });
          const pushed = await queue.push('a', 'push' in options ? (options.push as never) : undefined);
          await ((await queue.next()) as { fail(e: unknown): Promise<unknown> }).fail(new Error('boom'));
          expect(await queue.get(pushed.id)).toMatchObject({
            runAt: new Date(1_000_000 + 1000).toISOString(),
          });
          expect(logger.warnings).toEqual([
            [
              'backoff threw; using the built-in default backoff',
              expect.objectContaining({
                jobId: pushed.id,
                err: expect.objectContaining({
                  code: 'ERR_INVALID_ARGUMENT',
                  message: expect.stringMatching(
                    /^Invalid random\(\): expected a number from 0 to 1, received /,
                  ),
                }),
              }),
            ],
          ]);
          expect(inspect(logger.warnings, { depth: 10 })).not.toContain('SECRET');
          await queue.close();
          await store.close();
        }
      },
    );

  it.each([
    ['-0', -0, 0],
    ['0.5', 0.5, 2500],
    ['1', 1, 5000],
  ])(
    "the queue's backoff function, random answering %s: used as drawn, no warn line",
    async (_, value, ms) => {
      const clock = createFakeClock({ now: 1_000_000 });
      const logger = recordingLogger();
      const queue = createQueue<string>({
        name: 'q',
        store: stores[0]?.[1]() as never,
        clock,
        logger,
        random: () => value,
        backoff: ({ random }) => 5000 * random(),
      });
      const pushed = await queue.push('a');
      await ((await queue.next()) as { fail(e: unknown): Promise<unknown> }).fail(new Error('boom'));
      expect(await queue.get(pushed.id)).toMatchObject({ runAt: new Date(1_000_000 + ms).toISOString() });
      expect(logger.warnings).toEqual([]);
      await queue.close();
    },
  );
});
