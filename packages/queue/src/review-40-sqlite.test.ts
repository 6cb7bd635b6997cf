/**
 * Review 40 (helper QUEUE2): what Stryker's survivors of sqlite.ts lines 1-439 (option checks, hide()/shown(),
 * mapError(), open() and setup()) showed untested. A stub driver (test/review.ts's withDriver) throws each error at
 * open or setup, so node:sqlite's numeric codes and better-sqlite3's extended codes are reached on any Node.
 */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { StoreCorruptError, StoreLockedError, StoreUnavailableError } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withDriver } from '../test/review.js';
import { openTestDatabase } from '../test/sqlite-db.js';

/** What sqliteStore() throws when the stub driver's constructor throws `error`. */
function openError(error: unknown, path = '/srv/jobs.db', busyTimeout?: number): unknown {
  try {
    withDriver(
      () => {
        throw error;
      },
      () => sqliteStore({ path, busyTimeout }),
    );
  } catch (e) {
    return e;
  }
  return undefined;
}

const driverError = (fields: Record<string, unknown>, message = 'driver says no') =>
  Object.assign(new Error(message), fields);

afterEach(() => {
  vi.restoreAllMocks();
});

describe('sqliteStore(): a driver error at open, mapped by its code', () => {
  // node:sqlite's errors carry the numeric result code in `errcode` (its `code` is 'ERR_SQLITE_ERROR').
  it.each([
    [3, StoreUnavailableError, 'ERR_STORE_UNAVAILABLE'],
    [5, StoreLockedError, 'ERR_STORE_LOCKED'],
    [6, StoreLockedError, 'ERR_STORE_LOCKED'],
    [11, StoreCorruptError, 'ERR_STORE_CORRUPT'],
    [13, StoreUnavailableError, 'ERR_STORE_UNAVAILABLE'],
    [26, StoreCorruptError, 'ERR_STORE_CORRUPT'],
  ])("node:sqlite's errcode %i is a %o", (errcode, type, code) => {
    const cause = driverError({ code: 'ERR_SQLITE_ERROR', errcode });
    const error = openError(cause);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, cause });
  });

  // better-sqlite3 names the extended result code: each one is its primary code's.
  it.each([
    ['SQLITE_CORRUPT_VTAB', StoreCorruptError, 'ERR_STORE_CORRUPT'],
    ['SQLITE_BUSY_SNAPSHOT', StoreLockedError, 'ERR_STORE_LOCKED'],
    ['SQLITE_LOCKED_SHAREDCACHE', StoreLockedError, 'ERR_STORE_LOCKED'],
    ['SQLITE_CANTOPEN_ISDIR', StoreUnavailableError, 'ERR_STORE_UNAVAILABLE'],
  ])("better-sqlite3's %s is a %o", (name, type, code) => {
    const cause = driverError({ code: name });
    const error = openError(cause);
    expect(error).toBeInstanceOf(type);
    expect(error).toMatchObject({ code, cause });
  });

  it('a lock error names the store and busyTimeout, and keeps the driver error as its cause', () => {
    const cause = driverError({ code: 'SQLITE_BUSY' }, 'database is locked');
    const error = openError(cause, '/srv/jobs.db', 70);
    expect(error).toBeInstanceOf(StoreLockedError);
    expect((error as Error).cause).toBe(cause);
    expect((error as Error).message).toMatch(
      /^SQLite queue database "\/srv\/jobs.db" stayed locked .* 70 ms/,
    );
  });

  it('an I/O error says so, names the store and keeps the cause', () => {
    const cause = driverError({ code: 'SQLITE_IOERR_FSYNC' }, 'disk I/O error');
    const error = openError(cause);
    expect(error).toMatchObject({
      code: 'ERR_STORE_UNAVAILABLE',
      message: 'SQLite queue database "/srv/jobs.db": disk I/O error; check the disk',
      cause,
    });
  });

  it('an errcode that is no number is not read as one: the error is thrown as is', () => {
    const cause = driverError({ errcode: '5' });
    expect(openError(cause)).toBe(cause);
  });

  it('null thrown by the driver is thrown as is (no TypeError reading its code)', () => {
    expect(openError(null)).toBe(null);
  });
});

describe('sqliteStore(): paths in messages', () => {
  const missing = () => new TypeError('Cannot open database because the directory does not exist');

  // A plain file path holding ':' and '@' has no scheme, so no userinfo: it is shown whole.
  it("a plain path holding 'ab:cd@' is shown as given", () => {
    const error = openError(missing(), '/srv/ab:cd@ef/jobs.db');
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect((error as Error).message).toContain('"/srv/ab:cd@ef/jobs.db"');
  });

  it("a plain path holding 'ab:cd?x@y' loses only what follows its '?'", () => {
    const error = openError(missing(), '/srv/ab:cd?x@y/jobs.db');
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE' });
    expect((error as Error).message).toContain('"/srv/ab:cd?…"');
  });

  // SQLite quotes an authority up to its first '/': that part of a password is replaced by '…', not just removed.
  it("the quoted part of an authority cut at its first '/' becomes '…'", () => {
    const cause = driverError({ code: 'ERR_SQLITE_ERROR', errcode: 1 }, 'invalid uri authority: user:pa');
    // V8 formats a stack on its first read: read now, it holds the password until it is cut from it too.
    expect(cause.stack).toContain('user:pa');
    const error = openError(cause, 'file://user:pa/ss@host/srv/jobs.db');
    expect((error as Error).message).toBe(
      'Cannot open SQLite queue database "file://…@host/srv/jobs.db" (invalid uri authority: …)',
    );
    expect(error).toMatchObject({ code: 'ERR_STORE_UNAVAILABLE', cause });
    expect(cause.message).toBe('invalid uri authority: …');
    // Only that part: the stack keeps its 'Error: ' and its frames.
    expect(cause.stack).toMatch(/^Error: invalid uri authority: …\n\s+at /);
  });
});

describe('sqliteStore(options)', () => {
  it('no options at all is an InvalidArgumentError for path, not a TypeError', () => {
    expect(() => sqliteStore(undefined as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('path') }),
    );
  });
});

describe('sqliteStore(): a failing setup', () => {
  /** A stub connection whose exec and prepare throw `error`; counts its exec and close calls. */
  function failing(error: unknown, closeThrows = false) {
    const db = {
      execs: 0,
      closed: 0,
      exec() {
        db.execs++;
        throw error;
      },
      prepare() {
        throw error;
      },
      close() {
        db.closed++;
        if (closeThrows) throw new Error('close failed');
      },
      inTransaction: false,
    };
    return db;
  }

  function setupError(db: ReturnType<typeof failing>, busyTimeout?: number): unknown {
    try {
      withDriver(
        () => db,
        () => sqliteStore({ path: '/srv/jobs.db', busyTimeout }),
      );
    } catch (e) {
      return e;
    }
    return undefined;
  }

  // The waits double from 1 ms up to 50; one more is taken while elapsed + wait <= busyTimeout.
  it.each([
    [31, [1, 2, 4, 8, 16]],
    [30, [1, 2, 4, 8]],
    [200, [1, 2, 4, 8, 16, 32, 50, 50]],
  ])(
    'busy: retried until busyTimeout %i ms with waits %j, then StoreLockedError, and the connection closed',
    (busyTimeout, expected) => {
      let now = 1_000;
      vi.spyOn(Date, 'now').mockImplementation(() => now);
      const waits: number[] = [];
      vi.spyOn(Atomics, 'wait').mockImplementation((_array, _index, _value, ms) => {
        waits.push(ms as number);
        now += ms as number;
        return 'timed-out';
      });
      const busy = driverError({ code: 'SQLITE_BUSY' }, 'database is locked');
      const db = failing(busy);
      const error = setupError(db, busyTimeout);
      expect(error).toBeInstanceOf(StoreLockedError);
      expect((error as Error).cause).toBe(busy);
      expect(waits).toEqual(expected);
      expect(db.execs).toBe(expected.length + 1);
      expect(db.closed).toBe(1);
    },
  );

  it('corrupt: not retried; StoreCorruptError, the connection closed', () => {
    const wait = vi.spyOn(Atomics, 'wait');
    const cause = driverError({ code: 'SQLITE_CORRUPT' }, 'database disk image is malformed');
    const db = failing(cause);
    const error = setupError(db);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as Error).cause).toBe(cause);
    expect([db.execs, db.closed, wait.mock.calls.length]).toEqual([1, 1, 0]);
  });

  it("SQLITE_ERROR (the app's own table of that name): StoreCorruptError advising another table, even when close() throws", () => {
    const cause = driverError({ code: 'SQLITE_ERROR' }, 'no such column: queue');
    const db = failing(cause, true);
    const error = setupError(db);
    expect(error).toBeInstanceOf(StoreCorruptError);
    expect((error as Error).cause).toBe(cause);
    expect((error as Error).message).toContain(
      'SQLite queue database "/srv/jobs.db" cannot hold a queue in table "integ_jobs" (no such column: queue); choose another with the table option',
    );
    expect(db.closed).toBe(1);
  });

  it('another error passes through as is, the connection closed', () => {
    const cause = new RangeError('something else');
    const db = failing(cause);
    expect(setupError(db)).toBe(cause);
    expect(db.closed).toBe(1);
  });
});

describe('sqliteStore(options): the bounds of each check', () => {
  it('busyTimeout 0 and 2,147,483,647 are taken; -1, 2,147,483,648, 1.5 and a string are refused', async () => {
    for (const busyTimeout of [0, 2_147_483_647])
      await sqliteStore({ path: ':memory:', busyTimeout }).close();
    for (const busyTimeout of [-1, 2_147_483_648, 1.5, '5' as never])
      expect(() => sqliteStore({ path: ':memory:', busyTimeout })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARGUMENT',
          message: expect.stringContaining('busyTimeout'),
        }),
      );
  });

  it('a table name of 63 characters is taken, 64 refused; a non-string (an array whose text is a name) too', async () => {
    await sqliteStore({ path: ':memory:', table: `t${'x'.repeat(62)}` }).close();
    for (const table of [`t${'x'.repeat(63)}`, ['jobs'] as never, '1jobs', ''])
      expect(() => sqliteStore({ path: ':memory:', table })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining('table') }),
      );
  });

  it("each driver name is taken; durability 'full' and 'normal' too", async () => {
    for (const driver of ['auto', 'better-sqlite3', 'node:sqlite'] as const) {
      let error: unknown;
      try {
        await withDriver(
          () => ({ exec() {}, prepare: () => ({}), close() {}, inTransaction: false }),
          () => sqliteStore({ path: ':memory:', driver }),
        ).close();
      } catch (e) {
        error = e;
      }
      // node:sqlite may be missing (Node < 22.13): then it is StoreUnavailableError, never InvalidArgumentError.
      expect(error === undefined || (error as { code?: string }).code === 'ERR_STORE_UNAVAILABLE').toBe(true);
    }
    for (const durability of ['normal', 'full'] as const)
      await sqliteStore({ path: ':memory:', durability }).close();
  });
});

describe('sqliteStore(): setup', () => {
  /**
   * The SQL a store's setup runs, on a real connection of the binding this Node loads (better-sqlite3 built for another
   * Node, as on Node 24 in a Node 20 install, would have the store fall back to node:sqlite unrecorded).
   */
  function setupSql(
    path: string,
    options: { durability?: 'normal' | 'full'; busyTimeout?: number },
  ): string[] {
    const sql: string[] = [];
    const store = withDriver(
      (p) => {
        const real = openTestDatabase(p);
        return {
          exec: (text: string) => {
            sql.push(text.trim().split('\n')[0] as string);
            real.exec(text);
          },
          prepare: (text: string) => {
            if (text.startsWith('PRAGMA')) sql.push(text);
            return real.prepare(text);
          },
          close: () => real.close(),
          inTransaction: false,
        };
      },
      () => sqliteStore({ path, ...options }),
    );
    void store.close();
    return sql.filter((line) => line.startsWith('PRAGMA'));
  }

  it("sets busy_timeout and synchronous from the options; WAL for a file, not for ':memory:'", () => {
    const dir = mkdtempSync(join(tmpdir(), 'queue-review-40-'));
    try {
      expect(setupSql(join(dir, 'jobs.db'), { durability: 'full', busyTimeout: 1234 })).toEqual([
        'PRAGMA busy_timeout = 1234',
        'PRAGMA journal_mode = WAL',
        'PRAGMA synchronous = FULL',
      ]);
      expect(setupSql(':memory:', {})).toEqual(['PRAGMA busy_timeout = 5000', 'PRAGMA synchronous = NORMAL']);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe('sqliteStore(): messages', () => {
  it.each([
    [{ path: '' }, "Invalid path: expected a file path or ':memory:'"],
    [{ path: ':memory:', durability: 'x' as never }, "Invalid durability: expected 'normal' or 'full'"],
    [{ path: ':memory:', busyTimeout: -1 }, 'Invalid busyTimeout: expected an integer number of ms >= 0'],
    [
      { path: ':memory:', driver: 'x' as never },
      "Invalid driver: expected 'auto', 'better-sqlite3' or 'node:sqlite'",
    ],
    [
      { path: ':memory:', table: '-' },
      'Invalid table: expected letters, digits and underscores (at most 63)',
    ],
  ])('%o: %s', (options, message) => {
    expect(() => sqliteStore(options)).toThrow(message);
  });

  it('ready() after close() rejects naming the store', async () => {
    const store = sqliteStore({ path: ':memory:' });
    await store.close();
    await expect(store.ready()).rejects.toThrow('SQLite queue store ":memory:" is closed');
  });
});
