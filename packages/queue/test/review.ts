/** Test-only helpers shared by the review-round suites. */
import type { Logger } from '@integ/core';
import { memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';

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
