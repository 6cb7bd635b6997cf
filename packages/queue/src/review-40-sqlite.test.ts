/**
 * Review 40 (helper QUEUE2): what Stryker's survivors of sqlite.ts lines 1-439 (option checks, hide()/shown(),
 * mapError(), open() and setup()) showed untested. A stub driver (test/review.ts's withDriver) throws each error at
 * open or setup, so node:sqlite's numeric codes and better-sqlite3's extended codes are reached on any Node.
 */
import { StoreCorruptError, StoreLockedError, StoreUnavailableError } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { withDriver } from '../test/review.js';

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
    const error = openError(cause, 'file://user:pa/ss@host/srv/jobs.db');
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

describe('sqliteStore(): a busy setup', () => {
  it('is retried with waits of 1, 2, 4, 8 ms until busyTimeout, then throws StoreLockedError and closes', () => {
    let now = 1_000;
    vi.spyOn(Date, 'now').mockImplementation(() => now);
    const waits: number[] = [];
    vi.spyOn(Atomics, 'wait').mockImplementation((_array, _index, _value, ms) => {
      waits.push(ms as number);
      now += ms as number;
      return 'timed-out';
    });
    let execs = 0;
    let closed = 0;
    const busy = driverError({ code: 'SQLITE_BUSY' }, 'database is locked');
    const db = {
      exec: () => {
        execs++;
        throw busy;
      },
      prepare: () => {
        throw busy;
      },
      close: () => {
        closed++;
      },
      inTransaction: false,
    };
    let error: unknown;
    try {
      withDriver(
        () => db,
        () => sqliteStore({ path: '/srv/jobs.db', busyTimeout: 30 }),
      );
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(StoreLockedError);
    expect((error as Error).cause).toBe(busy);
    // 0+1, 1+2, 3+4, 7+8 <= 30; 15+16 > 30.
    expect(waits).toEqual([1, 2, 4, 8]);
    expect(execs).toBe(5);
    expect(closed).toBe(1);
  });
});
