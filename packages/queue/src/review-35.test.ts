/**
 * Review 35: a second reading of the SQLite store's push path as three commits left it (decision 0202). f36379b puts
 * the key-less jobs of one enqueue in up to 256 rows per `INSERT ... RETURNING id`; 2716c2f unbinds such a statement's
 * values on node:sqlite with an `iterate()` given none; 72d63ca makes every INSERT `INSERT OR FAIL`, which stops at a
 * failing row but keeps the rows its statement wrote before it, so the all-or-none of a pushMany rests on atomic()'s
 * savepoint alone. Failures here are real SQLite ones (a CHECK constraint of a table made by hand, a full file), not
 * throws injected before the statement runs. Each case runs on the driver this Node loads (better-sqlite3 on Node 20,
 * node:sqlite on Node 22.13+ and 24); the node:sqlite cases are skipped where Node has none.
 */
import { mkdtempSync, rmSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { isIntegError } from '@integ/core';
import { createQueue } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../test/sqlite-db.js';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-review-35-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));
const file = (name: string): string => join(dir, `${name}-${++n}.db`);

interface NodeStatement {
  all(...params: unknown[]): unknown[];
  iterate(): { next(): unknown; return?(): unknown };
  readonly expandedSQL: string;
}
interface NodeDatabase {
  exec(sql: string): void;
  prepare(sql: string): NodeStatement;
}
/** node:sqlite where this Node has it (Node >= 22.13), else undefined. */
const nodeSqlite = (() => {
  try {
    return createRequire(import.meta.url)('node:sqlite') as {
      DatabaseSync: { prototype: NodeDatabase };
      StatementSync: { prototype: NodeStatement };
    };
  } catch {
    return undefined;
  }
})();

/** A node:sqlite store and its own connection (the first DatabaseSync that ran exec() while it opened). */
function nodeStore(
  path: string,
  table?: string,
): { store: ReturnType<typeof sqliteStore>; db: NodeDatabase } {
  const proto = (nodeSqlite as NonNullable<typeof nodeSqlite>).DatabaseSync.prototype;
  const original = proto.exec;
  let db: NodeDatabase | undefined;
  proto.exec = function (this: NodeDatabase, sql: string) {
    db ??= this;
    return original.call(this, sql);
  };
  try {
    const store = sqliteStore({ path, driver: 'node:sqlite', table });
    return { store, db: db as NodeDatabase };
  } finally {
    proto.exec = original;
  }
}

/** The node:sqlite statements `all()` ran on while `run` ran. */
async function statementsOf(run: () => Promise<unknown>): Promise<NodeStatement[]> {
  const proto = (nodeSqlite as NonNullable<typeof nodeSqlite>).StatementSync.prototype;
  const seen = new Set<NodeStatement>();
  const original = proto.all;
  proto.all = function (this: NodeStatement, ...params: unknown[]) {
    seen.add(this);
    return original.apply(this, params);
  };
  try {
    await run();
  } finally {
    proto.all = original;
  }
  return [...seen];
}

/**
 * A job table made by hand (the store takes one, review 33) with a CHECK the store does not know: a push of the payload
 * `"poison"` fails inside SQLite, at its own row, as a constraint error of the driver.
 */
function checkedTable(path: string): void {
  const db = openTestDatabase(path);
  db.exec(`CREATE TABLE checked (id INTEGER PRIMARY KEY AUTOINCREMENT, queue TEXT NOT NULL, status TEXT NOT NULL,
    payload TEXT NOT NULL CHECK (payload <> '"poison"'), priority INTEGER NOT NULL, key TEXT, attempts INTEGER NOT NULL,
    max_attempts INTEGER NOT NULL, backoff TEXT, created_at INTEGER NOT NULL, run_at INTEGER NOT NULL,
    token INTEGER NOT NULL, lease_until INTEGER, last_error TEXT, finished_at INTEGER)`);
  db.close();
}

/** The payloads of the file's rows, in id order, and whether SQLite finds the file sound. */
function stored(path: string, table: string): { payloads: unknown[]; sound: unknown } {
  const db = openTestDatabase(path, { readonly: true });
  try {
    const payloads = (
      db.prepare(`SELECT payload FROM ${table} ORDER BY id`).all() as { payload: string }[]
    ).map((row) => JSON.parse(row.payload) as unknown);
    return { payloads, sound: db.prepare('PRAGMA integrity_check').get() };
  } finally {
    db.close();
  }
}

const outcome = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'ok',
    (error: unknown) => (isIntegError(error) ? error.code : String((error as Error)?.message)),
  );

describe('a batch failing inside its own INSERT OR FAIL (72d63ca)', () => {
  /** The store's records of `payloads`, keyed as `keys` says (queue.pushMany gives one key to a whole batch). */
  const records = (payloads: readonly string[], keys: 'none' | 'all' | 'some') =>
    payloads.map((payload, i) => ({
      payload: JSON.stringify(payload),
      priority: 0,
      key: keys === 'all' || (keys === 'some' && i % 2 === 0) ? `k${i}` : null,
      maxAttempts: 3,
      backoff: null,
      runAt: 0,
    }));
  // Key-less: rows 0-199 are written by the very statement that fails at row 200 (OR FAIL keeps them), so only the
  // savepoint undoes them. Keyed and mixed batches go row by row: rows 0-2 are earlier statements of the same call.
  it.each([
    ['key-less (a 256-row statement failing at its row 200)', 'none', 200, 300],
    ['keyed (row by row, failing at the fourth)', 'all', 3, 40],
    ['mixed (row by row, failing at the fourth)', 'some', 3, 40],
  ] as const)(
    '%s: none of it is stored, the pushes sharing its group commit are, and ids go on in push order',
    async (_, keys, at, count) => {
      const path = file('check');
      checkedTable(path);
      const store = sqliteStore({ path, table: 'checked' });
      const queue = createQueue<string>({ name: 'q', store });
      const payloads = Array.from({ length: count }, (_, i) => (i === at ? 'poison' : `job ${i}`));
      const results = await Promise.all(
        [
          queue.push('before'),
          keys === 'none' ? queue.pushMany(payloads) : store.enqueue('q', records(payloads, keys), 0),
          queue.pushMany(['after 0', 'after 1']),
          queue.push('keyed after', { key: 'k0' }),
        ].map(outcome),
      );
      expect(results).toEqual(['ok', 'CHECK constraint failed: payload <> \'"poison"\'', 'ok', 'ok']);
      expect(stored(path, 'checked')).toEqual({
        payloads: ['before', 'after 0', 'after 1', 'keyed after'],
        sound: { integrity_check: 'ok' },
      });
      // The rows OR FAIL kept went with their savepoint: the next ids follow the four stored ones, in push order.
      const again = await queue.pushMany(Array.from({ length: 300 }, (_, i) => `again ${i}`));
      expect(again.map((job) => job.id)).toEqual(again.map((_, i) => String(5 + i)));
      expect((await queue.stats()).pending).toBe(304);
      await store.close();
    },
  );

  it('refuses only a one-row INSERT whose row breaks a constraint (push, pushMany of one) and commits the rest', async () => {
    const path = file('check-one');
    checkedTable(path);
    const store = sqliteStore({ path, table: 'checked' });
    const queue = createQueue<string>({ name: 'q', store });
    const results = await Promise.all(
      [
        queue.push('a'),
        queue.push('poison'),
        queue.pushMany(['poison']),
        queue.pushMany(['b', 'c']),
        queue.push('d', { key: 'd' }),
      ].map(outcome),
    );
    const refused = 'CHECK constraint failed: payload <> \'"poison"\'';
    expect(results).toEqual(['ok', refused, refused, 'ok', 'ok']);
    expect(stored(path, 'checked')).toEqual({
      payloads: ['a', 'b', 'c', 'd'],
      sound: { integrity_check: 'ok' },
    });
    await store.close();
  });
});

describe.skipIf(nodeSqlite === undefined)('node:sqlite: a many-row INSERT after iterate() (2716c2f)', () => {
  it.each([
    ['the disk was full', 'full'],
    ['a row broke a constraint', 'check'],
  ] as const)('holds no payload of a pushMany that failed because %s', async (_, failure) => {
    const path = file(`bound-${failure}`);
    if (failure === 'check') checkedTable(path);
    const { store, db } = nodeStore(path, failure === 'check' ? 'checked' : undefined);
    const queue = createQueue<string>({ name: 'q', store });
    await queue.push('first');
    const payloads = Array.from({ length: 300 }, (_, i) => `secret ${i} ${'x'.repeat(200)}`);
    if (failure === 'check') payloads[200] = 'poison';
    else {
      // Caps the file at its size: the first 256-row statement needs new pages and fails with SQLITE_FULL.
      const { page_count } = db.prepare('PRAGMA page_count').all()[0] as { page_count: number };
      db.exec(`PRAGMA max_page_count = ${page_count}`);
    }
    let result = '';
    const statements = await statementsOf(async () => {
      result = await outcome(queue.pushMany(payloads));
    });
    expect(result).toEqual(
      failure === 'full' ? 'ERR_STORE_UNAVAILABLE' : expect.stringContaining('CHECK constraint'),
    );
    const inserts = statements.filter((s) => s.expandedSQL.startsWith('INSERT'));
    expect(inserts.length).toBe(1);
    // Before: the failing statement kept its values bound (iterate() ran only after a successful all()), up to 256
    // payloads held while the store is open, as review 33 found of the successful case.
    expect(inserts.filter((statement) => statement.expandedSQL.includes('secret')).length).toBe(0);
    await store.close();
  });

  it('leaves no read transaction open: another connection checkpoints and truncates the whole WAL while the store is open', async () => {
    const path = file('checkpoint');
    const { store, db } = nodeStore(path);
    const queue = createQueue<number>({ name: 'q', store });
    await queue.pushMany(Array.from({ length: 300 }, (_, i) => i));
    const other = openTestDatabase(path);
    const checkpoint = () => other.prepare('PRAGMA wal_checkpoint(TRUNCATE)').get() as { busy: number };
    // A reader in the way makes TRUNCATE wait for it: answered at once instead.
    other.exec('PRAGMA busy_timeout = 0');
    try {
      // The probe sees a held read: a SELECT stepped once on the store's connection keeps its snapshot.
      const held = db.prepare('SELECT id FROM integ_jobs').iterate();
      held.next();
      other.exec(`INSERT INTO integ_jobs (queue, status, payload, priority, attempts, max_attempts, created_at, run_at,
        token) VALUES ('other', 'pending', '0', 0, 0, 3, 0, 0, 0)`);
      expect(checkpoint().busy).toBe(1);
      held.return?.();
      // The statements a pushMany left after iterate() hold none.
      await queue.pushMany(Array.from({ length: 300 }, (_, i) => i));
      expect(checkpoint().busy).toBe(0);
      expect(statSync(`${path}-wal`).size).toBe(0);
      // And they run again, with other values, as the next pushMany of the same sizes does.
      expect((await queue.pushMany([1, 2, 3])).map((job) => job.id)).toEqual(['602', '603', '604']);
    } finally {
      other.close();
    }
    await store.close();
  });
});
