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
