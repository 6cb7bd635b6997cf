/**
 * Review round 14: fail()'s `retry` option is a boolean, checked like every other option.
 */
import { isIntegError } from '@integ/core';
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { describe, expect, it } from 'vitest';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

describe.each(stores)('job.fail(err, { retry }) on %s', (_name, createStore) => {
  it.each([['false'], [0], [1], [null]])(
    'refuses retry: %j with InvalidArgumentError and settles nothing: the lease stays the holder’s',
    async (retry) => {
      const store = createStore();
      const queue = createQueue({ name: 'q', store, attempts: 3 });
      const { id } = await queue.push('p');
      const job = await queue.next();
      const error = await job?.fail(new Error('e'), { retry: retry as never }).catch((e: unknown) => e);
      expect(isIntegError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).toContain('retry');
      expect(await queue.get(id)).toMatchObject({ status: 'processing', attempts: 1 });
      // Still the holder's: a boolean retry settles it.
      await job?.fail(new Error('e'), { retry: false });
      expect(await queue.get(id)).toMatchObject({ status: 'dead' });
      await queue.close();
      await store.close();
    },
  );
});

describe('queue.pushMany(payloads, options)', () => {
  it('refuses invalid options for an empty batch too, as for any other', async () => {
    const queue = createQueue({ name: 'q', store: memoryStore() });
    for (const options of [{ delay: -1 }, { priority: 1.5 }, { key: '' }, { attempts: 0 }, { backoff: -5 }])
      await expect(queue.pushMany([], options)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    await expect(queue.pushMany([], { priority: 2 })).resolves.toEqual([]);
    await queue.close();
  });
});

describe('a leased job called again after LeaseLostError', () => {
  it.each(stores)(
    'says this lease was lost, not that it was settled: the README example fail()s after an ack() that lost it (%s)',
    async (_name, createStore) => {
      let now = 0;
      const clock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
      const store = createStore();
      const queue = createQueue({ name: 'q', store, clock: clock as never });
      await queue.push('p');
      const job = await queue.next({ leaseMs: 1000 });
      now = 2000;
      const taker = await queue.next({ leaseMs: 1000 });
      expect(taker?.stalled).toBe(true);
      let error: unknown;
      try {
        await job?.ack();
      } catch (err) {
        expect(isIntegError(err, 'ERR_LEASE_LOST')).toBe(true);
        error = await job?.fail(err).catch((e: unknown) => e);
      }
      expect(isIntegError(error, 'ERR_JOB_SETTLED')).toBe(true);
      expect((error as Error).message).toBe(`Cannot fail job ${job?.id}: this lease was lost`);
      await expect(job?.extend(1000)).rejects.toThrow(/this lease was lost/);
      // A job its holder settled keeps the old message.
      await taker?.ack();
      await expect(taker?.ack()).rejects.toThrow(/this lease was already settled$/);
      await queue.close();
      await store.close();
    },
  );
});

describe('queue.close() and a job taken with next()', () => {
  it.each(stores)(
    'resolves once the holder’s ack() is committed, not when it starts: exiting after close() keeps it (%s)',
    async (_name, createStore) => {
      const store = createStore();
      const queue = createQueue({ name: 'q', store });
      const { id } = await queue.push('p');
      const job = await queue.next();
      const closing = queue.close();
      const acked = job?.ack();
      await closing;
      // Before: close() resolved while the ack was still in the store's group commit; a process that exited
      // then lost it, and the job ran again (a worker's close() waits for its acks).
      expect((await store.get(id))?.status).toBe('done');
      await acked;
      await store.close();
    },
  );
});
