// The conformance kit under node:test instead of vitest, against the BUILT package: proves the kit is
// framework-agnostic and runs the sqlite store on whichever driver this Node loads (better-sqlite3 on
// Node 20, node:sqlite on Node >= 22.13 when the addon is built for another ABI).
//   corepack pnpm run build && node --test test/node-test-conformance.mjs
//   npx -p node@24 node --test test/node-test-conformance.mjs
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, afterEach, beforeEach, describe, it } from 'node:test';
import { memoryStore } from '../dist/index.js';
import { sqliteStore } from '../dist/sqlite.js';
import { queueConformance } from '../dist/testing.js';

const expect = (actual) => ({
  toBe: (expected) =>
    assert.ok(Object.is(actual, expected), `expected ${String(expected)}, got ${String(actual)}`),
  toEqual: (expected) => assert.deepStrictEqual(actual, expected),
});
const runner = { describe, it, expect, beforeEach, afterEach };
const dir = mkdtempSync(join(tmpdir(), 'integ-queue-node-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;
const driver = process.env.QUEUE_SQLITE_DRIVER ?? 'auto';

queueConformance(runner, { name: 'memory (node:test)', createStore: () => memoryStore() });
queueConformance(runner, {
  name: `sqlite driver=${driver} on node ${process.versions.node} (node:test)`,
  createStore: () => sqliteStore({ path: join(dir, `${++n}.db`), driver }),
});
