/** Test-only helpers shared by the review-round suites. */

import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Logger } from '@integ/core';
import { memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { afterEach, beforeEach, vi } from 'vitest';

/** Both stores, each fresh per call: memory and an in-memory sqlite database. */
export const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

/** A logger keeping its warnings as [message, details]. */
export function recordingLogger(): Logger & { warnings: [string | undefined, Record<string, unknown>][] } {
  const warnings: [string | undefined, Record<string, unknown>][] = [];
  const noop = () => {};
  return {
    debug: noop,
    info: noop,
    error: noop,
    warn: (details: unknown, message?: string) => {
      warnings.push([message, details as Record<string, unknown>]);
    },
    warnings,
  } as Logger & { warnings: typeof warnings };
}

/** Runs `fn` with `driver: 'better-sqlite3'` loading `Database` instead. */
export function withDriver<R>(Database: (path: string) => unknown, fn: () => R): R {
  const real = process.getBuiltinModule;
  const spy = vi.spyOn(process, 'getBuiltinModule').mockImplementation(((id: string) =>
    id === 'node:module'
      ? {
          createRequire: () => () =>
            function Stub(path: string) {
              return Database(path);
            },
        }
      : real(id)) as typeof process.getBuiltinModule);
  try {
    return fn();
  } finally {
    spy.mockRestore();
  }
}

/**
 * A fresh directory per test, made the working directory while it runs (node:sqlite opens what a `#` or `?` leaves of
 * a relative `file:` URI there), then removed. Read `dir` inside a test or hook.
 */
export function inTempDirectory(prefix: string): { readonly dir: string } {
  const state = { dir: '' };
  let cwd = '';
  beforeEach(() => {
    state.dir = mkdtempSync(join(tmpdir(), prefix));
    cwd = process.cwd();
    process.chdir(state.dir);
  });
  afterEach(() => {
    process.chdir(cwd);
    rmSync(state.dir, { recursive: true, force: true });
  });
  return state;
}
