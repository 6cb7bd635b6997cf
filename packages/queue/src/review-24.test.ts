/**
 * Review round 24: user code at every callback point (handlers, hooks, custom stores, job methods called by user
 * code) throwing or calling back into the queue, and long runs staying bounded, on the fake clock and both local
 * stores.
 */
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe.each(stores)('a custom store over the %s store', (_name, createStore) => {
  it('whose fail() throws synchronously: a claim that took a damaged job still hands out the others of its batch', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = createStore();
    // A store method written without `async` throws instead of rejecting; here while dead-lettering the damaged job.
    const store: QueueStore = {
      ...base,
      claim: async (queue, options) =>
        (await base.claim(queue, options)).map((r) => (r.payload === '"b"' ? { ...r, payload: '"b' } : r)),
      fail: () => {
        throw new Error('fail() is down');
      },
    };
    const queue = createQueue<string>({ name: 'q', store, clock, leaseMs: 1000 });
    await queue.pushMany(['a', 'b']);
    const errors: unknown[] = [];
    const ran: string[] = [];
    const worker = queue.process((job) => void ran.push(job.payload), {
      concurrency: 2,
      onError: (error) => errors.push(error),
    });
    await settle();
    // Before: the throw escaped the claim, which had committed: a leased to nobody until its lease expired.
    expect(ran).toEqual(['a']);
    expect(errors).toEqual([]);
    expect((await base.list('q', {})).map((job) => job.status)).toEqual(['done', 'processing']);
    await worker.close();
    await base.close();
  });
});
