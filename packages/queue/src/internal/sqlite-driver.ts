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

// Loaded synchronously, so sqliteStore() can open the file (and report a corrupt or locked one) at once.
// `require` is resolved from this file, so better-sqlite3 is found among the user's dependencies.
declare const __filename: string | undefined;
// process.getBuiltinModule (Node >= 20.16) instead of `import 'node:module'`: the build targets a neutral
// platform, and this keeps the subpath loadable from both the ESM and the CJS build.
function load(id: string): unknown {
  const getBuiltin = (process as { getBuiltinModule?: (id: string) => unknown }).getBuiltinModule;
  if (getBuiltin === undefined)
    throw new Error(`Node ${process.versions.node} lacks process.getBuiltinModule`);
  if (id.startsWith('node:')) {
    const builtin = getBuiltin(id);
    if (builtin === undefined) throw new Error(`${id} is not available in Node ${process.versions.node}`);
    return builtin;
  }
  const { createRequire } = getBuiltin('node:module') as {
    createRequire: (from: string) => (id: string) => unknown;
  };
  // ESM: this module's URL. CJS build: esbuild empties import.meta, and the module's __filename applies.
  const base = (import.meta as { url?: string }).url ?? (__filename as string);
  return createRequire(base)(id);
}

function better(path: string, busyTimeout: number): Opened {
  const mod = load('better-sqlite3') as { default?: BetterCtor } & BetterCtor;
  // better-sqlite3 13 ships Node-API 10 addons: on Node-API 9 (Node 20, 22.13) opening a database kills the
  // process with SIGSEGV instead of throwing. Refused here, so 'auto' can still fall back to node:sqlite.
  const { napi } = process.versions;
  let version = '';
  try {
    version = (load('better-sqlite3/package.json') as { version: string }).version;
  } catch {}
  if (Number.parseFloat(version) >= 13 && Number(napi) < 10)
    throw new Error(`better-sqlite3 ${version} is compiled against Node-API 10 (Node >= 22.14), not ${napi}`);
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
export function openDatabase(path: string, driver: SqliteDriver, busyTimeout: number): Opened {
  const failures: string[] = [];
  const node = process.versions.node;
  let fix = 'install better-sqlite3 (npm i better-sqlite3)';
  let cause: unknown;
  if (driver !== 'node:sqlite') {
    try {
      return better(path, busyTimeout);
    } catch (error) {
      // Missing module, or a native addon built for another Node ABI: try the next binding. Anything
      // else (a missing directory, a permission) is about the file: report it as is.
      const code = String((error as { code?: unknown })?.code ?? '');
      const message = String((error as Error)?.message ?? '');
      const bindingProblem =
        code === 'MODULE_NOT_FOUND' ||
        code === 'ERR_MODULE_NOT_FOUND' ||
        code === 'ERR_DLOPEN_FAILED' ||
        /NODE_MODULE_VERSION|bindings file|compiled against|dlopen|Cannot find module/i.test(message);
      if (!bindingProblem) throw error;
      cause = error;
      // Node's dlopen message starts with the addon's path and gives the reason on the next lines;
      // bindings' lists every path it tried.
      const abi = /VERSION (\d+)[\s\S]*VERSION (\d+)/.exec(message);
      let problem = message.split(/\. Tried:|\n/)[0];
      if (/Node-API/.test(message)) fix = 'install better-sqlite3@12';
      else if (/bindings file/.test(message))
        // Installed, no addon: its install script did not run (npm 11 runs it, with a notice until approved).
        fix = `build its addon for Node ${node} (its install script did not run: pnpm 10 skips it until approved, npm with --ignore-scripts): npm install-scripts approve better-sqlite3 && npm rebuild better-sqlite3 (pnpm: pnpm approve-builds)`;
      else if (!/module 'better-sqlite3'/.test(message)) {
        // An addon that does not load here: built for another Node version (or platform).
        if (abi) problem = `built for NODE_MODULE_VERSION ${abi[1]}, Node ${node} needs ${abi[2]}`;
        fix = `rebuild it for Node ${node}: npm rebuild better-sqlite3 (pnpm rebuild better-sqlite3)`;
      }
      failures.push(`better-sqlite3: ${problem}`);
    }
  }
  let builtin: unknown;
  try {
    builtin = load('node:sqlite');
  } catch (error) {
    if (driver !== 'better-sqlite3') failures.push(`node:sqlite: ${(error as Error).message}`);
  }
  if (builtin === undefined)
    fix =
      driver === 'node:sqlite'
        ? "run on Node >= 22.13, or use driver: 'auto' with better-sqlite3 installed"
        : `${fix}, or run on Node >= 22.13 for node:sqlite`;
  else if (driver !== 'better-sqlite3') return nodeSqlite(builtin as { DatabaseSync: NodeCtor }, path);
  else fix += ", or use driver: 'auto' (falls back to node:sqlite)";
  throw new StoreUnavailableError(
    `No SQLite driver could be loaded for @integ/queue/sqlite (${failures.join('; ')}); ${fix}`,
    { cause },
  );
}
