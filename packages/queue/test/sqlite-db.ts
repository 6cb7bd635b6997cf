/**
 * Test-only: a second connection to a store's file, for tests that look at it from outside (journal mode,
 * WAL frames, rows a crash left behind, a lock held by another connection, query plans). better-sqlite3 when
 * its native addon loads in this Node, else `node:sqlite`'s `DatabaseSync`: the addon in node_modules is built
 * for one Node ABI, and the store itself falls back the same way (src/internal/sqlite-driver.ts).
 */
import { createRequire } from 'node:module';

/** A prepared statement: positional parameters, plain row objects. */
export interface TestStatement {
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
  run(...params: unknown[]): unknown;
}

/** The part of a connection the tests use. */
export interface TestDatabase {
  prepare(sql: string): TestStatement;
  exec(sql: string): void;
  close(): void;
}

type Open = (path: string, readonly: boolean) => TestDatabase;

/** A statement prototype as the recorder sees it: SQL in `source` (better-sqlite3) or `sourceSQL`. */
interface StatementProto {
  all(this: { source?: string; sourceSQL?: string }, ...params: unknown[]): unknown;
  run(this: { source?: string; sourceSQL?: string }, ...params: unknown[]): unknown;
}

const require = createRequire(import.meta.url);

/** A connection prototype as {@link connectionOf} sees it. */
interface DatabaseProto {
  exec(this: TestDatabase, sql: string): unknown;
}

function pick(): {
  driver: 'better-sqlite3' | 'node:sqlite';
  open: Open;
  statement: StatementProto;
  database: DatabaseProto;
} {
  let betterError: unknown;
  try {
    const Better = require('better-sqlite3') as new (
      path: string,
      options?: { readonly?: boolean },
    ) => TestDatabase;
    // The addon is loaded by the first constructor call, not by require().
    const probe = new Better(':memory:');
    const statement = Object.getPrototypeOf(probe.prepare('SELECT 1')) as StatementProto;
    const database = Object.getPrototypeOf(probe) as DatabaseProto;
    probe.close();
    return {
      driver: 'better-sqlite3',
      open: (path, readonly) => new Better(path, { readonly }),
      statement,
      database,
    };
  } catch (error) {
    betterError = error;
  }
  let sqlite: {
    DatabaseSync: {
      new (path: string, options: { readOnly: boolean; timeout: number }): TestDatabase;
      prototype: DatabaseProto;
    };
    StatementSync: { prototype: StatementProto };
  };
  try {
    sqlite = require('node:sqlite') as typeof sqlite;
  } catch {
    throw betterError;
  }
  return {
    driver: 'node:sqlite',
    // better-sqlite3's default busy timeout, so both drivers wait for a lock alike.
    open: (path, readOnly) => new sqlite.DatabaseSync(path, { readOnly, timeout: 5000 }),
    statement: sqlite.StatementSync.prototype,
    database: sqlite.DatabaseSync.prototype,
  };
}

const picked = pick();

/** The driver the tests' own connections use, which is also the one `driver: 'auto'` picks. */
export const testDriver: 'better-sqlite3' | 'node:sqlite' = picked.driver;

/**
 * Whether this Node's node:sqlite reads a `file:` path as a URI: from Node 22.15 (its URL support), while 22.13 and
 * 22.14 take it as a file name, as better-sqlite3 does (found running the suite on 22.13.0). Probed with an
 * authority only a URI reader refuses ('invalid uri authority'); a file-name reader cannot open the path's missing
 * directory, so nothing is created either way.
 */
export const nodeSqliteReadsUris: boolean = (() => {
  const sqlite = process.getBuiltinModule?.('node:sqlite') as
    | { DatabaseSync: new (path: string) => TestDatabase }
    | undefined;
  if (sqlite === undefined) return false;
  try {
    new sqlite.DatabaseSync('file://probe:probe@host/integ-no-such-dir/probe.db').close();
    return false;
  } catch (error) {
    return /invalid uri authority/.test((error as Error).message);
  }
})();

/** Opens `path` (created if missing unless `readonly`). */
export function openTestDatabase(
  path: string,
  { readonly = false }: { readonly?: boolean } = {},
): TestDatabase {
  return picked.open(path, readonly);
}

/**
 * Records the SQL and parameters of every `all()` and `run()` on any connection of {@link testDriver}, the
 * store's included, until `stop()`: a test can then ask SQLite how it runs the very statement a store method ran.
 */
export function recordQueries(): { readonly queries: { sql: string; params: unknown[] }[]; stop(): void } {
  const proto = picked.statement;
  const queries: { sql: string; params: unknown[] }[] = [];
  const originals = { all: proto.all, run: proto.run };
  for (const method of ['all', 'run'] as const)
    proto[method] = function (...params) {
      queries.push({ sql: String(this.source ?? this.sourceSQL), params });
      return originals[method].apply(this, params);
    };
  return {
    queries,
    stop: () => Object.assign(proto, originals),
  };
}

/**
 * Runs `open` (e.g. `() => sqliteStore({ path })`) and returns its result with the connection it opened (the first
 * of {@link testDriver} that ran `exec()` meanwhile), so a test can set a per-connection limit on a store's own
 * connection: `PRAGMA max_page_count` makes its writes fail with SQLITE_FULL, as a full disk does.
 */
export function connectionOf<T>(open: () => T): { result: T; db: TestDatabase } {
  const proto = picked.database;
  const original = proto.exec;
  let db: TestDatabase | undefined;
  proto.exec = function (sql) {
    db ??= this;
    return original.call(this, sql);
  };
  try {
    const result = open();
    if (db === undefined) throw new Error('connectionOf: open() ran no exec() on a connection');
    return { result, db };
  } finally {
    proto.exec = original;
  }
}

/**
 * Runs `after()` right after each statement whose SQL matches `pattern` returns rows (`all()` on any connection of
 * {@link testDriver}), until `stop()`: another connection can commit between two statements of one store call, as
 * another process may.
 */
export function betweenStatements(pattern: RegExp, after: () => void): { stop(): void } {
  const proto = picked.statement;
  const original = proto.all;
  proto.all = function (...params) {
    const rows = original.apply(this, params);
    if (pattern.test(String(this.source ?? this.sourceSQL))) after();
    return rows;
  };
  return { stop: () => Object.assign(proto, { all: original }) };
}

/**
 * Makes the statements whose SQL matches `pattern` (`run`, `get` and `all`, on any connection of {@link testDriver})
 * throw what `fail(n)` returns on their n-th call (1-based), unless it returns `undefined`, until `stop()`: a driver
 * error (a better-sqlite3 `SqliteError` with an I/O code, say) injected in the middle of a store call.
 */
export function failStatements(pattern: RegExp, fail: (n: number) => unknown): { stop(): void } {
  const proto = picked.statement as StatementProto & { get: StatementProto['all'] };
  const originals = { all: proto.all, run: proto.run, get: proto.get };
  let n = 0;
  for (const method of ['all', 'run', 'get'] as const)
    proto[method] = function (...params) {
      if (pattern.test(String(this.source ?? this.sourceSQL))) {
        const error = fail(++n);
        if (error !== undefined) throw error;
      }
      return originals[method].apply(this, params);
    };
  return { stop: () => Object.assign(proto, originals) };
}
