/**
 * Review round 9: sqliteStore's stats() counts the four statuses and nothing a hand-edited row names.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createQueue } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { afterAll, describe, expect, it } from 'vitest';
import { openTestDatabase } from '../test/sqlite-db.js';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-review-9-stats-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const T0 = Date.UTC(2030, 0, 1);

describe('sqliteStore stats()', () => {
  it('counts only the four statuses: a row edited to status "constructor" (or another name on Object.prototype) adds no field', async () => {
    const path = join(dir, 'stats.db');
    const store = sqliteStore({ path });
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: T0 }) });
    const jobs = await queue.pushMany(['a', 'b', 'c', 'd', 'e']);
    const db = openTestDatabase(path);
    for (const [i, status] of ['constructor', 'toString', '__proto__', 'hasOwnProperty'].entries())
      db.prepare('UPDATE integ_jobs SET status = ? WHERE id = ?').run(status, Number(jobs[i]?.id));
    db.close();
    const stats = await store.stats('q', T0);
    expect(Object.keys(stats).sort()).toEqual(
      ['dead', 'delayed', 'done', 'oldestPendingCreatedAt', 'pending', 'processing'].sort(),
    );
    expect(stats).toMatchObject({ pending: 1, processing: 0, done: 0, dead: 0 });
    await queue.close();
    await store.close();
  });
});
