// Workers, deadlines and close() read adversarially (queue review 2): a hung handler that ignores its signal,
// close() called in odd ways, and the README's word on keys and stats. Time runs on a fake clock.
import { isIntegError } from '@integ/core';
import { createQueue, type LeasedJob, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock, trackUnhandledRejections } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

const settle = async (turns = 30): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe.each(stores)('workers and close() on the %s store', (_name, createStore) => {
  it('a hung handler past its deadline frees its slot; its late ack or rejection leaves the next claim alone', async () => {
    const store = createStore();
    const clock = createFakeClock({ now: 1e12 });
    const completed: number[] = [];
    const queue = createQueue({
      name: 'q',
      store,
      clock,
      backoff: 0,
      onCompleted: () => completed.push(1),
    });
    const held: LeasedJob[] = [];
    const release: ((value?: unknown) => void)[] = [];
    const worker = queue.process(
      (job) => {
        held.push(job);
        // Ignores its signal and never settles until told to, then rejects.
        return new Promise((_, reject) => release.push(() => reject(new Error('late'))));
      },
      { timeout: 1000, concurrency: 1 },
    );
    const { id } = await queue.push('x');
    await settle();
    expect(held).toHaveLength(1);
    await clock.advance(1000);
    await settle();
    // The retry (backoff 0) took the freed slot: a second delivery, one slot in use.
    expect(held.map((job) => job.token)).toEqual([1, 2]);
    expect(worker.running).toBe(1);
    const unhandled = trackUnhandledRejections();
    release[0]?.();
    const late = await held[0]?.ack().catch((error: unknown) => error);
    await settle();
    unhandled.stop();
    expect(isIntegError(late, 'ERR_JOB_SETTLED')).toBe(true);
    expect(unhandled.reasons).toEqual([]);
    expect(completed).toEqual([]);
    expect(await queue.get(id)).toMatchObject({ status: 'processing', attempts: 2 });
    await queue.close({ timeout: 0 });
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 1 });
    await store.close();
  });

  it('worker.close() with a bad timeout rejects with InvalidArgumentError, as queue.close() does, and the worker keeps running', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }) });
    const worker = queue.process(async () => {});
    for (const timeout of [-1, Number.NaN, 2 ** 31]) {
      // Before: threw synchronously, so `worker.close(options).catch(...)` did not catch it.
      let closing: Promise<void> | undefined;
      expect(() => {
        closing = worker.close({ timeout });
      }).not.toThrow();
      await expect(closing).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      await expect(queue.close({ timeout })).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    }
    expect(worker.closed).toBe(false);
    const { id } = await queue.push('x');
    await settle();
    expect((await queue.get(id))?.status).toBe('done');
    const closing = worker.close({ timeout: 0 });
    expect(worker.close()).toBe(closing);
    await closing;
    await queue.close();
    await store.close();
  });

  it("queue.close() waits for a worker already closing with that close()'s timeout (README)", async () => {
    const store = createStore();
    const clock = createFakeClock({ now: 1e12 });
    const queue = createQueue({ name: 'q', store, clock });
    const worker = queue.process(() => new Promise(() => {}));
    const { id } = await queue.push('x');
    await settle();
    let workerClosed = false;
    let queueClosed = false;
    void worker.close({ timeout: 5000 }).then(() => {
      workerClosed = true;
    });
    void queue.close({ timeout: 0 }).then(() => {
      queueClosed = true;
    });
    await settle();
    expect([workerClosed, queueClosed]).toEqual([false, false]);
    await clock.advance(5000);
    await settle();
    expect([workerClosed, queueClosed]).toEqual([true, true]);
    expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
    await store.close();
  });

  it('a key held by a dead job is free: a push makes a new job (keys are unique among pending and processing)', async () => {
    const store = createStore();
    const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }), attempts: 1 });
    const first = await queue.push('a', { key: 'k' });
    await (await queue.next())?.fail(new Error('x'));
    expect((await queue.get(first.id))?.status).toBe('dead');
    const second = await queue.push('b', { key: 'k' });
    expect(second).toMatchObject({ status: 'pending', payload: 'b' });
    expect(second.id).not.toBe(first.id);
    expect(await queue.redrive()).toBe(0);
    await queue.close();
    await store.close();
  });

  it('hands out ties of one priority in push order, past ten jobs (ids 9 and 10), through next() and a worker batch', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: -2, max: 2 }), { minLength: 1, maxLength: 30 }),
        async (priorities) => {
          const store = createStore();
          const queue = createQueue({ name: 'q', store, clock: createFakeClock({ now: 1e12 }) });
          const expected = priorities
            .map((priority, n) => ({ priority, n }))
            .sort((a, b) => b.priority - a.priority || a.n - b.n)
            .map(({ n }) => n);
          for (const [n, priority] of priorities.entries()) await queue.push(n, { priority });
          const pulled: unknown[] = [];
          for (let job = await queue.next(); job; job = await queue.next()) {
            pulled.push(job.payload);
            await job.ack();
          }
          expect(pulled).toEqual(expected);
          for (const [n, priority] of priorities.entries()) await queue.push(n, { priority });
          const started: unknown[] = [];
          const worker = queue.process((job) => void started.push(job.payload), { concurrency: 30 });
          await settle();
          expect(started).toEqual(expected);
          await worker.close();
          await queue.close();
          await store.close();
        },
      ),
      { seed: 20261124, numRuns: 25 },
    );
  });
});

describe.each(stores)('close() from inside a handler on the %s store', (_name, createStore) => {
  it('awaited, it waits out its whole timeout and returns the finished job to pending; not awaited, the job is acked at once', async () => {
    for (const via of ['worker', 'queue'] as const) {
      for (const awaited of [true, false]) {
        const store = createStore();
        const clock = createFakeClock({ now: 1e12 });
        const queue = createQueue({ name: 'q', store, clock });
        let work = 0;
        let closed = false;
        const worker = queue.process(
          async () => {
            await settle(2); // some async work first
            work++;
            const closing = (via === 'worker' ? worker : queue).close({ timeout: 5000 });
            void closing.then(() => {
              closed = true;
            });
            if (awaited) await closing; // the deadlock: close() waits for this handler, which waits for close()
          },
          { timeout: 60_000 },
        );
        const { id } = await queue.push('x');
        await settle();
        expect(work).toBe(1);
        if (awaited) {
          // Nothing moves until the close timeout passes on the clock.
          expect(closed).toBe(false);
          await clock.advance(4999);
          await settle();
          expect(closed).toBe(false);
          await clock.advance(1);
          await settle();
          expect(closed).toBe(true);
          // The work was done, but the job was returned to pending and runs again.
          expect(await queue.get(id)).toMatchObject({ status: 'pending', attempts: 0 });
        } else {
          expect(closed).toBe(true);
          expect(clock.pendingTimers).toBe(0);
          expect(await queue.get(id)).toMatchObject({ status: 'done', attempts: 1 });
        }
        await queue.close();
        await store.close();
      }
    }
  });
});

describe.each(stores)(
  'close() called before a handler first awaits, on the %s store',
  (_name, createStore) => {
    it('waits for that handler: its ack is written before close() resolves, so closing the store then loses nothing', async () => {
      for (const via of ['worker', 'queue'] as const) {
        const store = createStore();
        const clock = createFakeClock({ now: 1e12 });
        const queue = createQueue({ name: 'q', store, clock });
        let closing: Promise<unknown> | undefined;
        let finished = false;
        const worker = queue.process(async () => {
          // The README's pattern for a handler that stops its worker: close() without awaiting it, then return.
          closing = (via === 'worker' ? worker : queue)
            .close({ timeout: 5000 })
            .then(async () => ({ finished, status: (await store.get(id))?.status }));
          await settle(2);
          finished = true;
        });
        const { id } = await queue.push('x');
        await settle(5);
        expect(await closing).toEqual({ finished: true, status: 'done' });
        await store.close();
      }
    });
  },
);
