/**
 * The two SQLite bindings behind one small interface: better-sqlite3 (an optional peer, synchronous,
 * fast) and `node:sqlite` (built into Node >= 22.13). Both take positional `?` parameters and return
 * plain row objects, so the store's SQL is shared.
 */
import { StoreUnavailableError } from '../errors.js';

/** Which binding to use. */
export type SqliteDriver = 'auto' | 'better-sqlite3' | 'node:sqlite';

/** A prepared statement. */
export interface SqliteStatement {
  run(...params: unknown[]): { changes: number | bigint; lastInsertRowid: number | bigint };
  get(...params: unknown[]): unknown;
  all(...params: unknown[]): unknown[];
}

/** An open database. */
export interface SqliteDatabase {
  exec(sql: string): void;
  prepare(sql: string): SqliteStatement;
  close(): void;
  readonly inTransaction: boolean;
}

interface Opened {
  readonly db: SqliteDatabase;
  readonly driver: Exclude<SqliteDriver, 'auto'>;
}

type BetterCtor = new (path: string, options?: { timeout?: number }) => SqliteDatabase;
type NodeCtor = new (
  path: string,
) => Omit<SqliteDatabase, 'inTransaction'> & { readonly isTransaction?: boolean };

// Specifiers in variables keep bundlers from resolving an optional peer at build time.
const BETTER = 'better-sqlite3';
const NODE = 'node:sqlite';

async function better(path: string, busyTimeout: number): Promise<Opened> {
  const mod = (await import(/* @vite-ignore */ BETTER)) as { default?: BetterCtor } & BetterCtor;
  const Database = mod.default ?? mod;
  return { db: new Database(path, { timeout: busyTimeout }), driver: 'better-sqlite3' };
}

function nodeSqlite(mod: { DatabaseSync: NodeCtor }, path: string): Opened {
  const raw = new mod.DatabaseSync(path);
  const db: SqliteDatabase = {
    exec: (sql: string) => raw.exec(sql),
    prepare: (sql: string) => raw.prepare(sql),
    close: () => raw.close(),
    // node:sqlite before 22.16 has no isTransaction: assume the transaction survived a failed statement
    // (SQLite rolls back by itself only on I/O-level errors, which fail the whole batch anyway).
    get inTransaction() {
      return raw.isTransaction ?? true;
    },
  };
  return { db, driver: 'node:sqlite' };
}

/**
 * Opens `path` with the chosen binding (`'auto'`: better-sqlite3, else `node:sqlite`).
 *
 * @throws {StoreUnavailableError} when no binding can be loaded; driver errors (a corrupt file) pass through
 */
export async function openDatabase(path: string, driver: SqliteDriver, busyTimeout: number): Promise<Opened> {
  const failures: string[] = [];
  if (driver !== 'node:sqlite') {
    try {
      return await better(path, busyTimeout);
    } catch (error) {
      // An SQLite error (cannot open the file) is about the file, not the binding: report it as is.
      if (String((error as { code?: unknown })?.code ?? '').startsWith('SQLITE_')) throw error;
      // Missing module, or a native addon built for another Node ABI: try the next binding.
      failures.push(`better-sqlite3: ${(error as Error)?.message ?? String(error)}`);
    }
  }
  if (driver !== 'better-sqlite3') {
    let mod: unknown;
    try {
      mod = await import(/* @vite-ignore */ NODE);
    } catch (error) {
      failures.push(`node:sqlite: ${(error as Error)?.message ?? String(error)}`);
    }
    if (mod !== undefined) return nodeSqlite(mod as { DatabaseSync: NodeCtor }, path);
  }
  throw new StoreUnavailableError(
    `No SQLite driver could be loaded for @integ/queue/sqlite (${failures.join('; ')}); install better-sqlite3 (npm i better-sqlite3) or run on Node >= 22.13 for node:sqlite`,
  );
}
