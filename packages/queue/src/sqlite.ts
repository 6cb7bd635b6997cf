/**
 * `@integ/queue/sqlite`: the embedded, durable default store. One SQLite file in WAL mode; every write
 * (push, claim, ack, fail, extend) goes through a group commit: the operations issued during one tick
 * run in one transaction, and each promise resolves only after that transaction committed. The driver
 * is better-sqlite3 (optional peer) or `node:sqlite` where Node >= 22.13 provides it.
 */

import { InvalidArgumentError } from '@integ/core';
import { StoreCorruptError, StoreLockedError, StoreUnavailableError } from './errors.js';
import {
  openDatabase,
  type SqliteDatabase,
  type SqliteDriver,
  type SqliteStatement,
} from './internal/sqlite-driver.js';
import type {
  ClaimedRecord,
  ClaimOptions,
  CleanOptions,
  EnqueueResult,
  FailOutcome,
  JobRecord,
  JobStatus,
  ListOptions,
  NewJobRecord,
  QueueStore,
  RedriveOptions,
  StoreStats,
} from './store.js';

/**
 * When a committed write is safe:
 * - `'normal'`: `synchronous=NORMAL` in WAL mode. A commit is in the OS before the promise resolves, so
 *   it survives the process being killed (SIGKILL, OOM, crash); a power loss or OS crash may drop the
 *   last commits (never corrupts the file).
 * - `'full'`: `synchronous=FULL`. Every commit is fsynced before the promise resolves, so it also
 *   survives power loss; each commit costs a disk flush (group commit amortises it).
 */
export type SqliteDurability = 'normal' | 'full';

export type { SqliteDriver } from './internal/sqlite-driver.js';

/** Options of {@link sqliteStore}. */
export interface SqliteStoreOptions {
  /** The database file (created if missing), or `':memory:'`. */
  readonly path: string;
  /** See {@link SqliteDurability}. @default 'normal' */
  readonly durability?: SqliteDurability | undefined;
  /** How long a write waits for another connection's lock before `StoreLockedError`, in ms. @default 5000 */
  readonly busyTimeout?: number | undefined;
  /** Which SQLite binding to load. `'auto'` tries better-sqlite3, then `node:sqlite`. @default 'auto' */
  readonly driver?: SqliteDriver | undefined;
  /** Table name (letters, digits, underscores). @default 'integ_jobs' */
  readonly table?: string | undefined;
}

/** The SQLite {@link QueueStore} returned by {@link sqliteStore}. */
export interface SqliteStore extends QueueStore {
  /** Resolves while the store is open (it opens in `sqliteStore()`); rejects after `close()`. */
  ready(): Promise<void>;
  /** The driver in use: `'better-sqlite3'` or `'node:sqlite'`. */
  readonly driver: SqliteDriver | undefined;
}

interface Row {
  id: number;
  queue: string;
  status: JobStatus;
  payload: string;
  priority: number;
  key: string | null;
  attempts: number;
  max_attempts: number;
  backoff: string | null;
  created_at: number;
  run_at: number;
  token: number;
  lease_until: number | null;
  last_error: string | null;
  finished_at: number | null;
}

interface Op {
  readonly run: () => unknown;
  readonly resolve: (value: unknown) => void;
  readonly reject: (error: unknown) => void;
}

const toRecord = (row: Row): JobRecord => ({
  id: String(row.id),
  queue: row.queue,
  status: row.status,
  payload: row.payload,
  priority: row.priority,
  key: row.key,
  attempts: row.attempts,
  maxAttempts: row.max_attempts,
  backoff: row.backoff,
  createdAt: row.created_at,
  runAt: row.run_at,
  token: row.token,
  leaseUntil: row.lease_until,
  lastError: row.last_error,
  finishedAt: row.finished_at,
});

/** A claimed job: `stalled` set on the record, not spread into a copy (slow on Node 20, decision 0202). */
function toClaimed(row: Row, stalled: boolean): ClaimedRecord {
  const record = toRecord(row) as JobRecord & { stalled?: boolean };
  record.stalled = stalled;
  return record as ClaimedRecord;
}

const PRIMARY_CODES: Record<number, string> = {
  3: 'SQLITE_PERM',
  5: 'SQLITE_BUSY',
  6: 'SQLITE_LOCKED',
  8: 'SQLITE_READONLY',
  10: 'SQLITE_IOERR',
  11: 'SQLITE_CORRUPT',
  13: 'SQLITE_FULL',
  14: 'SQLITE_CANTOPEN',
  26: 'SQLITE_NOTADB',
  8458: 'SQLITE_IOERR_CORRUPTFS',
};

/** Blocks the thread for `ms` (only while opening the store, which is synchronous by design). */
function sleepSync(ms: number): void {
  Atomics.wait(new Int32Array(new SharedArrayBuffer(4)), 0, 0, ms);
}

/**
 * `text` without the userinfo of `path`: what a path with a scheme holds from it to its last `@` (`user:password@`;
 * up to the last, so a password holding `/`, `?` or `@` goes too). A scheme has two characters or more (`C:\` is a
 * Windows drive) and is followed by `//` and an authority, or by no `/` at all: `file:///a@b` and `file:/a@b` have no
 * authority, so no userinfo. SQLite quotes an authority up to its first `/` ('invalid uri authority: user:pa' of
 * `file://user:pa/ss@host`): that part goes too, where it is quoted (after ': ': a short one garbles nothing else).
 */
function hide(text: string, path: string): string {
  const userinfo = /^\w[\w+.-]+:(?:\/\/)?(?!\/)(.*@)/s.exec(path)?.[1];
  // A `?` in it starts a query to SQLite, which quotes a `vfs`, `mode` or `cache` value it cannot use (decoded,
  // up to the query's end): all after ': ' goes.
  return userinfo
    ? text
        .replaceAll(userinfo, '…@')
        .replaceAll(userinfo.includes('?') ? /: .*/gs : `: ${userinfo.split('/')[0]}`, ': …')
    : text;
}

/**
 * The path for messages: without its userinfo, nor a `file:` URI's query, whose parameters may carry a key. A `?`
 * before the last `@` is a password's or starts a query holding an `@` (`?key=p@ss`): which one, the text cannot say,
 * so all after the scheme goes (either reading would show the other's secret).
 */
const shown = (path: string): string =>
  JSON.stringify(
    hide(path.replace(/^(\w[\w+.-]+:(?:\/\/)?)(?!\/).*\?.*@.*/s, '$1…'), path).replace(/\?.*/s, '?…'),
  );

/** SQLITE_ERROR, as better-sqlite3 (`code`) or node:sqlite (`errcode`) says it. */
const isSqliteError = (error: unknown): boolean =>
  (error as { code?: unknown } | null)?.code === 'SQLITE_ERROR' ||
  (error as { errcode?: unknown } | null)?.errcode === 1;

/** Maps a driver error onto the store's typed errors; others pass through. */
function mapError(error: unknown, path: string, busyTimeout: number): unknown {
  const e = error as { code?: unknown; errcode?: unknown; message?: unknown } | null;
  let code = typeof e?.code === 'string' ? e.code : '';
  // node:sqlite reports the numeric (extended) result code: a few extended codes by name, else its low byte (primary).
  if (typeof e?.errcode === 'number')
    code = PRIMARY_CODES[e.errcode] ?? PRIMARY_CODES[e.errcode & 0xff] ?? code;
  const what = `SQLite queue database ${shown(path)}`;
  // SQLITE_IOERR_CORRUPTFS: the VFS found the file system damaged (decision 0136).
  if (code.startsWith('SQLITE_CORRUPT') || code.startsWith('SQLITE_NOTADB') || code.endsWith('CORRUPTFS'))
    return new StoreCorruptError(what, { cause: error });
  if (code.startsWith('SQLITE_BUSY') || code.startsWith('SQLITE_LOCKED'))
    return new StoreLockedError(what, busyTimeout, { cause: error });
  // A full disk (or max_page_count) may leave the transaction open: typed, it fails the whole batch (0032).
  if (code.startsWith('SQLITE_FULL'))
    return new StoreUnavailableError(`${what} is full: free disk space`, { cause: error, retryable: true });
  // The OS failed a read, write or sync (EIO, a network file system gone): typed, it fails the whole batch, which is
  // rolled back, and the file stays intact; a later write may succeed (decision 0136).
  if (code.startsWith('SQLITE_IOERR'))
    return new StoreUnavailableError(`${what}: disk I/O error; check the disk`, {
      cause: error,
      retryable: true,
    });
  if (
    code.startsWith('SQLITE_CANTOPEN') ||
    code.startsWith('SQLITE_PERM') ||
    code.startsWith('SQLITE_READONLY') ||
    // better-sqlite3's TypeError, told by its text: under jest or a vm pool it is another realm's (Node's require).
    /directory does not exist/i.test(e?.message as string)
  )
    return new StoreUnavailableError(
      `Cannot open ${what} for writing (${(error as Error).message}); check that its directory exists and is writable`,
      { cause: error },
    );
  return error;
}

const nowIsInteger = (n: number): number => Math.floor(n);

/**
 * Creates a SQLite store: opens (or creates) the file, switches it to WAL and creates the table.
 *
 * @throws {InvalidArgumentError} for a bad option
 * @throws {StoreCorruptError} when the file is not a database or is damaged (SQLITE_NOTADB, SQLITE_CORRUPT)
 * @throws {StoreLockedError} when another connection holds the lock past `busyTimeout`
 * @throws {StoreUnavailableError} when neither better-sqlite3 nor `node:sqlite` can be loaded
 * @example
 * ```ts
 * import { createQueue } from '@integ/queue';
 * import { sqliteStore } from '@integ/queue/sqlite';
 *
 * const queue = createQueue({ name: 'emails', store: sqliteStore({ path: './jobs.db' }) });
 * ```
 */
export function sqliteStore(options: SqliteStoreOptions): SqliteStore {
  const path = options?.path;
  // A NUL ends a C string: better-sqlite3 opened (and created) the path cut there, another file than the one given.
  if (typeof path !== 'string' || path.length === 0 || path.includes('\0'))
    throw new InvalidArgumentError('path', "a file path or ':memory:'", path);
  const durability = options.durability ?? 'normal';
  if (durability !== 'normal' && durability !== 'full')
    throw new InvalidArgumentError('durability', "'normal' or 'full'", durability);
  const busyTimeout = options.busyTimeout ?? 5000;
  if (
    typeof busyTimeout !== 'number' ||
    !Number.isInteger(busyTimeout) ||
    busyTimeout < 0 ||
    busyTimeout > 2_147_483_647
  )
    throw new InvalidArgumentError('busyTimeout', 'an integer number of ms >= 0', busyTimeout);
  const driverChoice = options.driver ?? 'auto';
  if (driverChoice !== 'auto' && driverChoice !== 'better-sqlite3' && driverChoice !== 'node:sqlite')
    throw new InvalidArgumentError('driver', "'auto', 'better-sqlite3' or 'node:sqlite'", driverChoice);
  const table = options.table ?? 'integ_jobs';
  if (typeof table !== 'string' || !/^[A-Za-z_][A-Za-z0-9_]{0,62}$/.test(table))
    throw new InvalidArgumentError('table', 'letters, digits and underscores (at most 63)', table);
  // Quoted, so a name that is an SQL keyword (`order`, `index`) is a name, not a syntax error.
  const quoted = `"${table}"`;

  let db: SqliteDatabase | undefined;
  let driver: SqliteDriver | undefined;
  let ops: Op[] = [];
  let scheduled = false;
  let s: ReturnType<typeof prepareStatements>;

  // LIMIT as a literal: with a bound `LIMIT ?` SQLite does not stop the ordered index walk early
  // (measured: 12 us instead of 1 us per claim). One statement per distinct limit, bounded by concurrency.
  const claimStatements = new Map<string, SqliteStatement>();
  function claimStatement(kind: 'any' | 'pending', limit: number): SqliteStatement {
    const n = Math.max(1, Math.min(10_000, Math.floor(limit)));
    const cacheKey = `${kind}${n}`;
    let statement = claimStatements.get(cacheKey);
    if (statement === undefined) {
      const d = db as SqliteDatabase;
      const t = quoted;
      statement =
        kind === 'any'
          ? d.prepare(
              `SELECT id, status FROM (SELECT * FROM (SELECT id, status, priority, run_at FROM ${t} WHERE queue = ? AND status = 'pending' AND run_at <= ? ORDER BY priority DESC, run_at, id LIMIT ${n}) UNION ALL SELECT * FROM (SELECT id, status, priority, run_at FROM ${t} WHERE queue = ? AND status = 'processing' AND lease_until <= ? AND attempts < max_attempts ORDER BY priority DESC, run_at, id LIMIT ${n})) ORDER BY priority DESC, run_at, id LIMIT ${n}`,
            )
          : d.prepare(
              `UPDATE ${t} SET status = 'processing', attempts = attempts + 1, token = token + 1, lease_until = ? WHERE id IN (SELECT id FROM ${t} WHERE queue = ? AND status = 'pending' AND run_at <= ? ORDER BY priority DESC, run_at, id LIMIT ${n}) RETURNING *`,
            );
      if (claimStatements.size >= 256) claimStatements.clear();
      claimStatements.set(cacheKey, statement);
    }
    return statement;
  }

  function prepareStatements(d: SqliteDatabase) {
    const t = quoted;
    // Reads of one status search that status's range of the claim index and sort it by id. Left to itself the
    // planner walks the whole queue on the list index instead (decision 0038): 13 ms, not 0.2, for 50 dead
    // jobs among 100,000 done ones.
    const byStatus = `${t} INDEXED BY "${table}_claim"`;
    return {
      begin: d.prepare('BEGIN IMMEDIATE'),
      commit: d.prepare('COMMIT'),
      insert: d.prepare(insertSql(1)),
      byKey: d.prepare(
        `SELECT * FROM ${t} WHERE queue = ? AND key = ? AND status IN ('pending', 'processing') LIMIT 1`,
      ),
      anyExpired: d.prepare(
        `SELECT 1 FROM ${t} WHERE queue = ? AND status = 'processing' AND lease_until <= ? AND attempts < max_attempts LIMIT 1`,
      ),
      claimOne: d.prepare(
        `UPDATE ${t} SET status = 'processing', attempts = attempts + 1, token = token + 1, lease_until = ? WHERE id = ? RETURNING *`,
      ),
      ack: d.prepare(
        `UPDATE ${t} SET status = 'done', lease_until = NULL, finished_at = ? WHERE id = ? AND token = ? AND status = 'processing'`,
      ),
      failDead: d.prepare(
        `UPDATE ${t} SET status = 'dead', lease_until = NULL, finished_at = ?, last_error = ? WHERE id = ? AND token = ? AND status = 'processing'`,
      ),
      failRetry: d.prepare(
        `UPDATE ${t} SET status = 'pending', lease_until = NULL, run_at = ?, last_error = ? WHERE id = ? AND token = ? AND status = 'processing'`,
      ),
      extend: d.prepare(
        `UPDATE ${t} SET lease_until = ? WHERE id = ? AND token = ? AND status = 'processing'`,
      ),
      release: d.prepare(
        `UPDATE ${t} SET status = 'pending', lease_until = NULL, run_at = ?, attempts = MAX(0, attempts - 1) WHERE id = ? AND token = ? AND status = 'processing'`,
      ),
      reap: d.prepare(
        `UPDATE ${t} SET status = 'dead', lease_until = NULL, finished_at = ?, last_error = ? WHERE queue = ? AND status = 'processing' AND lease_until <= ? AND attempts >= max_attempts RETURNING *`,
      ),
      deadList: d.prepare(
        `SELECT id, key FROM ${byStatus} WHERE queue = ? AND status = 'dead' AND id > ? ORDER BY id LIMIT 500`,
      ),
      redriveOne: d.prepare(
        `UPDATE ${t} SET status = 'pending', attempts = 0, run_at = ?, finished_at = NULL WHERE id = ? AND status = 'dead'`,
      ),
      keyTaken: d.prepare(
        `SELECT 1 FROM ${t} WHERE queue = ? AND key = ? AND status IN ('pending', 'processing') LIMIT 1`,
      ),
      get: d.prepare(`SELECT * FROM ${t} WHERE id = ?`),
      listAll: d.prepare(`SELECT * FROM ${t} WHERE queue = ? ORDER BY id LIMIT ? OFFSET ?`),
      listStatus: d.prepare(
        `SELECT * FROM ${byStatus} WHERE queue = ? AND status = ? ORDER BY id LIMIT ? OFFSET ?`,
      ),
      counts: d.prepare(`SELECT status, COUNT(*) AS n FROM ${t} WHERE queue = ? GROUP BY status`),
      delayed: d.prepare(
        `SELECT COUNT(*) AS n FROM ${t} WHERE queue = ? AND status = 'pending' AND run_at > ?`,
      ),
      oldest: d.prepare(
        `SELECT MIN(created_at) AS t FROM ${t} WHERE queue = ? AND status = 'pending' AND run_at <= ?`,
      ),
      clean: d.prepare(
        `DELETE FROM ${t} WHERE id IN (SELECT id FROM ${byStatus} WHERE queue = ? AND status = ? AND finished_at < ? ORDER BY id LIMIT ?)`,
      ),
    };
  }

  function open(): void {
    let opened: ReturnType<typeof openDatabase>;
    try {
      opened = openDatabase(path, driverChoice, busyTimeout);
    } catch (error) {
      // node:sqlite quotes a bad URI authority in its message ('invalid uri authority: user:password@host'): the
      // userinfo shown() hides is cut from the driver's error too, which is kept as the cause (or thrown as is). Not
      // told by `instanceof Error`: node:sqlite makes its errors in Node's realm, not the caller's (jest, vm pools).
      const e = error as Error | null;
      if (typeof e?.message === 'string')
        try {
          e.message = hide(e.message, path);
          e.stack &&= hide(e.stack, path);
        } catch {
          // A frozen error (no driver makes one) keeps its text, which the mapped error's message may quote.
        }
      const mapped = mapError(error, path, busyTimeout);
      // SQLITE_ERROR at open is a URI the driver cannot read ('invalid uri authority', 'no such vfs'; node:sqlite, or
      // a better-sqlite3 built with URIs on): thrown as is, it was no error sqliteStore() documents (no ERR_* code).
      throw mapped === error && isSqliteError(error)
        ? new StoreUnavailableError(
            `Cannot open SQLite queue database ${shown(path)} (${(error as Error).message})`,
            {
              cause: error,
            },
          )
        : mapped;
    }
    const d = opened.db;
    // Setup is idempotent. Opening a file that another process is creating, switching to WAL or recovering
    // after a crash can fail with SQLITE_BUSY at once, without SQLite's busy handler (the crash test hit it
    // about one run in four), so a busy setup is retried until busyTimeout.
    const started = Date.now();
    for (let wait = 1; ; wait = Math.min(wait * 2, 50)) {
      try {
        setup(d);
        break;
      } catch (error) {
        let mapped = mapError(error, path, busyTimeout);
        if (mapped instanceof StoreLockedError && Date.now() - started + wait <= busyTimeout) {
          sleepSync(wait);
          continue;
        }
        // SQLITE_ERROR from setup: a name the queue needs is the app's in a database they share ("no such column:
        // queue" of its own table, "there is already a table named jobs_list" of an index's name). The file is sound:
        // not StoreCorruptError's default advice (restore it from a backup, move it away).
        if (mapped === error && isSqliteError(error))
          mapped = new StoreCorruptError(
            `SQLite queue database ${shown(path)}`,
            { cause: error },
            `cannot hold a queue in table "${table}" (${(error as Error).message}); choose another with the table option`,
          );
        try {
          d.close();
        } catch {
          // Already failing: the original error is the one to report.
        }
        throw mapped;
      }
    }
    db = d;
    driver = opened.driver;
  }

  function setup(d: SqliteDatabase): void {
    d.exec(`PRAGMA busy_timeout = ${busyTimeout}`);
    // WAL: readers never block the writer and a commit is one append; the mode is persistent in the file.
    if (path !== ':memory:') d.prepare('PRAGMA journal_mode = WAL').get();
    d.exec(`PRAGMA synchronous = ${durability === 'full' ? 'FULL' : 'NORMAL'}`);
    // `_list` holds (queue, rowid): list() walks a queue in id order and stops at the page. `queue` never
    // changes, so claims and acks leave it alone (decision 0038). All IF NOT EXISTS: an older file gains it.
    d.exec(`CREATE TABLE IF NOT EXISTS ${quoted} (
        id INTEGER PRIMARY KEY AUTOINCREMENT,
        queue TEXT NOT NULL,
        status TEXT NOT NULL,
        payload TEXT NOT NULL,
        priority INTEGER NOT NULL,
        key TEXT,
        attempts INTEGER NOT NULL,
        max_attempts INTEGER NOT NULL,
        backoff TEXT,
        created_at INTEGER NOT NULL,
        run_at INTEGER NOT NULL,
        token INTEGER NOT NULL,
        lease_until INTEGER,
        last_error TEXT,
        finished_at INTEGER
      );
      CREATE INDEX IF NOT EXISTS "${table}_claim" ON ${quoted} (queue, status, priority DESC, run_at, id);
      CREATE INDEX IF NOT EXISTS "${table}_lease" ON ${quoted} (queue, lease_until) WHERE status = 'processing';
      CREATE INDEX IF NOT EXISTS "${table}_list" ON ${quoted} (queue);
      CREATE UNIQUE INDEX IF NOT EXISTS "${table}_key" ON ${quoted} (queue, key) WHERE key IS NOT NULL AND status IN ('pending', 'processing');`);
    s = prepareStatements(d);
  }

  function ready(): Promise<void> {
    // Undefined only after close(): a store whose file cannot be opened is never returned.
    return db === undefined
      ? Promise.reject(new StoreUnavailableError(`SQLite queue store ${shown(path)} is closed`))
      : Promise.resolve();
  }

  function flush(): void {
    scheduled = false;
    const batch = ops;
    ops = [];
    if (batch.length === 0) return;
    const d = db as SqliteDatabase;
    const results: unknown[] = new Array(batch.length);
    const failed: (unknown | undefined)[] = new Array(batch.length);
    try {
      s.begin.run();
    } catch (error) {
      const mapped = mapError(error, path, busyTimeout);
      for (const op of batch) op.reject(mapped);
      return;
    }
    try {
      for (let i = 0; i < batch.length; i++) {
        try {
          results[i] = (batch[i] as Op).run();
        } catch (error) {
          const mapped = mapError(error, path, busyTimeout);
          // A corrupt or unwritable file fails the whole batch; a single statement's error fails its op only.
          if (mapped !== error || !d.inTransaction) throw mapped;
          failed[i] = error;
        }
      }
      s.commit.run();
    } catch (error) {
      try {
        d.exec('ROLLBACK');
      } catch {
        // No transaction left to roll back: SQLite rolled it back already (a failed commit, a full disk).
      }
      const mapped = mapError(error, path, busyTimeout);
      for (const op of batch) op.reject(mapped);
      return;
    }
    for (let i = 0; i < batch.length; i++) {
      const op = batch[i] as Op;
      if (failed[i] !== undefined) op.reject(failed[i]);
      else op.resolve(results[i]);
    }
  }

  function write<R>(run: () => R): Promise<R> {
    if (db === undefined)
      return Promise.reject(new StoreUnavailableError(`SQLite queue store ${shown(path)} is closed`));
    return new Promise<R>((resolve, reject) => {
      ops.push({ run, resolve: resolve as (value: unknown) => void, reject });
      if (!scheduled) {
        scheduled = true;
        // One tick of batching: every write issued in this turn of the event loop shares the commit.
        setImmediate(flush);
      }
    });
  }

  async function read<R>(run: () => R): Promise<R> {
    if (db === undefined) throw new StoreUnavailableError(`SQLite queue store ${shown(path)} is closed`);
    try {
      return run();
    } catch (error) {
      throw mapError(error, path, busyTimeout);
    }
  }

  /**
   * Runs a store call of several statements all or nothing inside the batch's transaction: a statement error after
   * some rows (which fails only this call, 0032) undoes the rows it already wrote instead of committing them.
   */
  function atomic<R>(run: () => R): R {
    const d = db as SqliteDatabase;
    d.exec('SAVEPOINT op');
    try {
      const result = run();
      d.exec('RELEASE op');
      return result;
    } catch (error) {
      try {
        d.exec('ROLLBACK TO op; RELEASE op');
      } catch {
        // SQLite rolled the whole transaction back (a full disk), savepoint included: report the cause.
      }
      throw error;
    }
  }

  // OR FAIL: a many-row INSERT with the default ABORT keeps a statement journal (to undo itself alone), which SQLite
  // spilled to a temporary file past 64 KiB, one per pushMany; FAIL keeps none, so it keeps the rows before a failing
  // one (and a full disk rolls back the whole transaction). Nothing is half-written: every many-row INSERT runs inside
  // atomic()'s savepoint, rolled back whole on an error (decision 0202, review-35.test.ts). For one row FAIL and ABORT
  // are the same.
  const insertSql = (rows: number): string =>
    `INSERT OR FAIL INTO ${quoted} (queue, status, payload, priority, key, attempts, max_attempts, backoff, created_at, run_at, token) VALUES ${Array(rows).fill("(?, 'pending', ?, ?, ?, 0, ?, ?, ?, ?, 0)").join()}`;
  // Jobs without a key go in up to 256 rows per INSERT, not one per row (decision 0202): one statement per power of
  // two, so at most nine are kept.
  const insertMany = new Map<number, SqliteStatement>();

  const enqueue = (queue: string, jobs: readonly NewJobRecord[], now: number): Promise<EnqueueResult[]> =>
    write(() => {
      const out: EnqueueResult[] = [];
      const createdAt = nowIsInteger(now);
      // Property by property, not `{ ...job }`: slow on Node 20 (decision 0202).
      const created = (job: NewJobRecord, id: number | bigint): EnqueueResult => ({
        job: {
          id: String(id),
          queue,
          status: 'pending',
          payload: job.payload,
          priority: job.priority,
          key: job.key,
          attempts: 0,
          maxAttempts: job.maxAttempts,
          backoff: job.backoff,
          createdAt,
          runAt: nowIsInteger(job.runAt),
          token: 0,
          leaseUntil: null,
          lastError: null,
          finishedAt: null,
        },
        created: true,
      });
      const insert = (): EnqueueResult[] => {
        if (jobs.length > 1 && jobs.every((job) => job.key === null)) {
          for (let i = 0, n = 256; i < jobs.length; ) {
            while (n > jobs.length - i) n >>= 1;
            let statement = insertMany.get(n);
            if (statement === undefined) {
              statement = (db as SqliteDatabase).prepare(`${insertSql(n)} RETURNING id`);
              insertMany.set(n, statement);
            }
            const params: unknown[] = [];
            for (let j = i; j < i + n; j++) {
              const job = jobs[j] as NewJobRecord;
              params.push(
                queue,
                job.payload,
                job.priority,
                null,
                job.maxAttempts,
                job.backoff,
                createdAt,
                nowIsInteger(job.runAt),
              );
            }
            try {
              // RETURNING gives its rows in no set order; the rows go in in VALUES order, each id above all before it.
              for (const { id } of (statement.all(...params) as { id: number }[]).sort((a, b) => a.id - b.id))
                out.push(created(jobs[i++] as NewJobRecord, id));
            } finally {
              // node:sqlite keeps a statement's values bound until it runs again, also after a run that failed (a full
              // disk): up to 256 payloads held as long as the store is open. iterate() given none binds NULLs and runs
              // nothing, not even a step (better-sqlite3 clears them itself, on success and error alike).
              if (driver === 'node:sqlite') (statement as { iterate?: () => unknown }).iterate?.();
            }
          }
          return out;
        }
        for (const job of jobs) {
          if (job.key !== null) {
            const existing = s.byKey.get(queue, job.key) as Row | undefined;
            if (existing !== undefined) {
              out.push({ job: toRecord(existing), created: false });
              continue;
            }
          }
          const { lastInsertRowid } = s.insert.run(
            queue,
            job.payload,
            job.priority,
            job.key,
            job.maxAttempts,
            job.backoff,
            createdAt,
            nowIsInteger(job.runAt),
          );
          out.push(created(job, lastInsertRowid));
        }
        return out;
      };
      // A multi-job enqueue must be all or none even though it shares the batch's transaction.
      return jobs.length > 1 ? atomic(insert) : insert();
    });

  // A job by its id as the store wrote it: Number() also reads '01', ' 1', '1.0' and '0x1' as job 1 (memoryStore not).
  const rowOf = (id: string): Row | undefined =>
    /^[1-9]\d*$/.test(id) ? (s.get.get(Number(id)) as Row | undefined) : undefined;

  // Open now: a missing driver, a corrupt file or a lock held too long is reported by sqliteStore() itself.
  open();

  const store: SqliteStore = {
    get driver() {
      return driver;
    },
    ready,
    enqueue,

    claim(queue: string, { now, leaseMs, limit }: ClaimOptions): Promise<ClaimedRecord[]> {
      return write(() => {
        const t = nowIsInteger(now);
        const leaseUntil = nowIsInteger(now + leaseMs);
        // Without an expired lease (the usual case) one UPDATE claims; otherwise expired leases compete
        // with the due jobs in the one claim order (priority, run_at, id) and are claimed one by one.
        if (s.anyExpired.get(queue, t) === undefined)
          return (claimStatement('pending', limit).all(leaseUntil, queue, t) as Row[]).map((row) =>
            toClaimed(row, false),
          );
        // All or none: a claim that fails after some rows must not leave them leased to nobody.
        return atomic(() =>
          (claimStatement('any', limit).all(queue, t, queue, t) as Row[]).map(({ id, status }) =>
            toClaimed(s.claimOne.get(leaseUntil, id) as Row, status === 'processing'),
          ),
        );
      });
    },

    ack(id: string, token: number, now: number): Promise<boolean> {
      return write(() => s.ack.run(nowIsInteger(now), Number(id), token).changes > 0);
    },

    fail(id: string, token: number, now: number, error: string, outcome: FailOutcome): Promise<boolean> {
      return write(() =>
        outcome.status === 'dead'
          ? s.failDead.run(nowIsInteger(now), error, Number(id), token).changes > 0
          : s.failRetry.run(nowIsInteger(outcome.runAt), error, Number(id), token).changes > 0,
      );
    },

    extend(id: string, token: number, leaseUntil: number): Promise<boolean> {
      return write(() => s.extend.run(nowIsInteger(leaseUntil), Number(id), token).changes > 0);
    },

    release(id: string, token: number, now: number): Promise<boolean> {
      return write(() => s.release.run(nowIsInteger(now), Number(id), token).changes > 0);
    },

    reap(queue: string, now: number, error: string): Promise<JobRecord[]> {
      return write(() => {
        const t = nowIsInteger(now);
        return (s.reap.all(t, error, queue, t) as Row[]).map(toRecord);
      });
    },

    redrive(queue: string, { now, ids, limit }: RedriveOptions): Promise<number> {
      // One row at a time, so all or none: a statement error midway must not leave half the dead jobs moved.
      return write(() =>
        atomic(() => {
          // In push order, like the memory store. `limit` is not a SQL LIMIT, since a dead job whose key is
          // taken is skipped without counting towards it; without `ids` the dead jobs are read 500 at a time
          // (better-sqlite3 runs no write while a read iterates), so memory stays flat however many there are.
          const byId = ids
            ?.map(rowOf)
            // No status test here: redriveOne's `status = 'dead'` changes no other row, and such a row counts nothing.
            .filter((r): r is Row => r !== undefined && r.queue === queue)
            .sort((a, b) => a.id - b.id);
          let count = 0;
          let after = 0;
          for (;;) {
            const batch = byId ?? (s.deadList.all(queue, after) as Row[]);
            for (const row of batch) {
              // No limit: count >= undefined is false.
              if (count >= (limit as number)) return count;
              after = row.id;
              if (row.key !== null && s.keyTaken.get(queue, row.key) !== undefined) continue;
              count += Number(s.redriveOne.run(nowIsInteger(now), row.id).changes);
            }
            if (byId || batch.length === 0) return count;
          }
        }),
      );
    },

    get(id: string): Promise<JobRecord | null> {
      return read(() => {
        const row = rowOf(id);
        return row === undefined ? null : toRecord(row);
      });
    },

    list(queue: string, { status, limit = 100, offset = 0 }: ListOptions): Promise<JobRecord[]> {
      return read(() =>
        (status === undefined
          ? (s.listAll.all(queue, limit, offset) as Row[])
          : (s.listStatus.all(queue, status, limit, offset) as Row[])
        ).map(toRecord),
      );
    },

    stats(queue: string, now: number): Promise<StoreStats> {
      return read(() => {
        // One read transaction, one snapshot: another process committing between the three statements made
        // `delayed` exceed `pending`, or gave an oldest pending age with no pending job counted.
        (db as SqliteDatabase).exec('BEGIN');
        try {
          const counts: Record<JobStatus, number> = { pending: 0, processing: 0, done: 0, dead: 0 };
          // Only the four counts are numbers: a row edited by hand to status 'constructor' passed `in` (an
          // inherited field) and added a field; what Object.prototype holds compares to 0 as false.
          for (const row of s.counts.all(queue) as { status: JobStatus; n: number }[])
            if (counts[row.status] >= 0) counts[row.status] = Number(row.n);
          const t = nowIsInteger(now);
          const delayed = Number((s.delayed.get(queue, t) as { n: number }).n);
          const oldest = (s.oldest.get(queue, t) as { t: number | null }).t;
          return { ...counts, delayed, oldestPendingCreatedAt: oldest === null ? null : Number(oldest) };
        } finally {
          if ((db as SqliteDatabase).inTransaction) s.commit.run();
        }
      });
    },

    clean(queue: string, { status, finishedBefore, limit }: CleanOptions): Promise<number> {
      return write(() =>
        Number(s.clean.run(queue, status, nowIsInteger(finishedBefore), limit ?? -1).changes),
      );
    },

    async close(): Promise<void> {
      if (db === undefined) return;
      // Writes not yet committed go in now (flush() does nothing without any).
      flush();
      const d = db;
      db = undefined;
      d.close();
    },
  };
  return store;
}
