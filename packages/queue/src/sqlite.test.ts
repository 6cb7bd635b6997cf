import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { sqliteStore } from '@integ/queue/sqlite';
import { queueConformance } from '@integ/queue/testing';
import { afterAll, afterEach, beforeEach, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-sqlite-'));
let n = 0;
afterAll(() => rmSync(dir, { recursive: true, force: true }));

queueConformance(
  { describe, it, expect, beforeEach, afterEach },
  { name: 'sqlite (file)', createStore: () => sqliteStore({ path: join(dir, `conformance-${++n}.db`) }) },
);
queueConformance(
  { describe, it, expect, beforeEach, afterEach },
  {
    name: 'sqlite (:memory:, full durability)',
    createStore: () => sqliteStore({ path: ':memory:', durability: 'full' }),
  },
);
