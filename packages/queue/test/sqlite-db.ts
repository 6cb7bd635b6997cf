/**
 * Test-only: a second connection to a store's file, for tests that look at it from outside (journal mode,
 * WAL frames, rows a crash left behind, a lock held by another connection). better-sqlite3 when its native
 * addon loads in this Node, else `node:sqlite`'s `DatabaseSync`: the addon in node_modules is built for one
 * Node ABI, and the store itself falls back the same way (src/internal/sqlite-driver.ts).
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

const require = createRequire(import.meta.url);

function pick(): { driver: 'better-sqlite3' | 'node:sqlite'; open: Open } {
  let betterError: unknown;
  try {
    const Better = require('better-sqlite3') as new (
      path: string,
      options?: { readonly?: boolean },
    ) => TestDatabase;
    // The addon is loaded by the first constructor call, not by require().
    new Better(':memory:').close();
    return { driver: 'better-sqlite3', open: (path, readonly) => new Better(path, { readonly }) };
  } catch (error) {
    betterError = error;
  }
  let DatabaseSync: new (path: string, options: { readOnly: boolean; timeout: number }) => TestDatabase;
  try {
    ({ DatabaseSync } = require('node:sqlite') as { DatabaseSync: typeof DatabaseSync });
  } catch {
    throw betterError;
  }
  // better-sqlite3's default busy timeout, so both drivers wait for a lock alike.
  return {
    driver: 'node:sqlite',
    open: (path, readOnly) => new DatabaseSync(path, { readOnly, timeout: 5000 }),
  };
}

const picked = pick();

/** The driver the tests' own connections use, which is also the one `driver: 'auto'` picks. */
export const testDriver: 'better-sqlite3' | 'node:sqlite' = picked.driver;

/** Opens `path` (created if missing unless `readonly`). */
export function openTestDatabase(
  path: string,
  { readonly = false }: { readonly?: boolean } = {},
): TestDatabase {
  return picked.open(path, readonly);
}
