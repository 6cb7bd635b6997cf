/**
 * Review round 28: a cross-review of round 27's fix 3e1c780 (release() asks the store a tick later, once a holder's
 * call can see it in flight), asking what the one-tick delay changes next to it: close() releasing several jobs.
 */
import { createQueue } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { expect, it } from 'vitest';
import { recordQueries } from '../test/sqlite-db.js';

it('close() returns the next() jobs it holds in one sqlite transaction, on time, with no timer left', async () => {
  // Each release is asked a tick late (3e1c780), but all in the same turn: the store's group commit still takes
  // them in one batch, where one transaction per job costs a disk flush each.
  const clock = createFakeClock();
  const store = sqliteStore({ path: ':memory:' });
  const queue = createQueue<number>({ name: 'q', store, clock });
  await queue.pushMany([1, 2, 3]);
  const jobs = [await queue.next(), await queue.next(), await queue.next()];
  const recorder = recordQueries();
  try {
    let closed = false;
    const closing = queue.close({ timeout: 1000 }).then(() => {
      closed = true;
    });
    await clock.advance(999);
    expect(closed).toBe(false);
    await clock.advance(1);
    await closing;
    expect(clock.pendingTimers).toBe(0);
  } finally {
    recorder.stop();
  }
  const sql = recorder.queries.map((query) => query.sql.split(' ', 2).join(' '));
  expect(sql).toEqual([
    'BEGIN IMMEDIATE',
    'UPDATE "integ_jobs"',
    'UPDATE "integ_jobs"',
    'UPDATE "integ_jobs"',
    'COMMIT',
  ]);
  await expect(jobs[0]?.ack()).rejects.toThrow('close() returned it to pending');
  await store.close();
});
