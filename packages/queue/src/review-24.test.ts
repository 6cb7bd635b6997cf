/**
 * Review round 24: user code at every callback point (handlers, hooks, custom stores, job methods called by user
 * code) throwing or calling back into the queue, and long runs staying bounded, on the fake clock and both local
 * stores.
 */
import { getEventListeners } from 'node:events';
import { inspect } from 'node:util';
import type { Logger } from '@integ/core';
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock, trackUnhandledRejections } from '@integ/testing';
import { describe, expect, it } from 'vitest';

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

/** `base` with the calls of one of its methods counted. */
function counting(base: QueueStore, method: 'claim' | 'release'): { store: QueueStore; calls: () => number } {
  let calls = 0;
  const call = base[method] as (...args: unknown[]) => Promise<unknown>;
  const counted = (...args: unknown[]): Promise<unknown> => {
    calls++;
    return call(...args);
  };
  const store = { ...base, [method]: counted } as QueueStore;
  return { store, calls: () => calls };
}

const settle = async (turns = 20): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

describe.each(stores)('a custom store over the %s store', (_name, createStore) => {
  it('whose reap() throws synchronously: claims still hand out jobs, as when its promise rejects (only logged)', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = createStore();
    const store: QueueStore = {
      ...base,
      reap: () => {
        throw new Error('reap() is down');
      },
    };
    const warnings: string[] = [];
    const noop = (): void => {};
    const logger = {
      debug: noop,
      info: noop,
      error: noop,
      warn: ((_: object, message: string) => void warnings.push(message)) as Logger['warn'],
    };
    const queue = createQueue<string>({ name: 'q', store, clock, logger });
    await queue.push('a');
    // Before: the throw rejected every claim before it was made, so no job ever ran.
    expect((await queue.next())?.payload).toBe('a');
    expect(warnings).toEqual(['could not reap expired jobs']);
    await queue.close({ timeout: 0 });
    await base.close();
  });

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

describe.each(stores)('jobs taken with next() and left unsettled (%s store)', (_name, createStore) => {
  /** A queue on a fresh store whose release() calls are counted: close() returns each job it still waits for. */
  function counted(attempts: number) {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = createStore();
    const { store, calls: releases } = counting(base, 'release');
    const queue = createQueue<number>({ name: 'q', store, clock, attempts });
    return { clock, base, queue, releases };
  }

  it.each([
    ['claimed again by next() and acked', 3],
    ['claimed again by a worker of the queue and acked', 3],
    ['dead-lettered by the next claim (last attempt)', 1],
  ] as const)('are not kept, nor waited for by close(), once %s', async (how, attempts) => {
    const { clock, base, queue, releases } = counted(attempts);
    await queue.pushMany(Array.from({ length: 200 }, (_, i) => i));
    for (let i = 0; i < 200; i++) await queue.next({ leaseMs: 1000 });
    await clock.advance(1000);
    if (how.includes('next()'))
      for (let job = await queue.next(); job !== null; job = await queue.next()) await job.ack();
    else if (how.includes('worker')) {
      const worker = queue.process(() => {}, { concurrency: 10 });
      await settle(100);
      await worker.close();
    } else expect(await queue.next()).toBe(null);
    expect(await queue.stats()).toMatchObject({ pending: 0, processing: 0, total: 200 });
    let closed = false;
    const closing = queue.close().then(() => {
      closed = true;
    });
    await settle();
    // Before: the queue kept all 200 stale leases, close() waited its whole 10 s for them and then released each.
    expect(closed).toBe(true);
    expect(releases()).toBe(0);
    await clock.advance(10_000);
    await closing;
    await base.close();
  });
});

describe('a long run on the memory store', () => {
  it('processes 10,000 jobs (delays, retries, deadlines) with timers and store calls per job that do not grow', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const base = memoryStore();
    const { store, calls: claims } = counting(base, 'claim');
    const queue = createQueue<number>({ name: 'q', store, clock, backoff: 10, attempts: 2 });
    const worker = queue.process(
      (job) => {
        if (job.payload % 10 === 0 && job.attempts === 1) throw new Error('once');
      },
      { concurrency: 8, timeout: 5000 },
    );
    const perChunk: number[] = [];
    for (let chunk = 0; chunk < 10; chunk++) {
      const before = claims();
      for (let batch = 0; batch < 10; batch++) {
        await queue.pushMany(
          Array.from({ length: 100 }, (_, i) => i),
          { delay: batch % 2 ? 5 : 0 },
        );
        for (let ms = 0; ms < 60; ms++) {
          await clock.advance(1);
          await settle(3);
        }
      }
      perChunk.push(claims() - before);
      // A renewal and a deadline per running handler, a poll or due-time timer: none left behind per job.
      expect(clock.pendingTimers).toBeLessThanOrEqual(2 * 8 + 2);
      expect(await queue.stats()).toMatchObject({ pending: 0, processing: 0, done: (chunk + 1) * 1000 });
    }
    expect(Math.max(...perChunk)).toBeLessThanOrEqual(Math.min(...perChunk) * 1.2);
    await worker.close();
    expect(clock.pendingTimers).toBe(0);
    await queue.close();
    await base.close();
  });
});

describe.each(stores)(
  'a handler that returns after its lease was taken over (%s store)',
  (_name, createStore) => {
    it("does not ack the new holder's lease: onError gets LeaseLostError, no onCompleted, the new holder acks", async () => {
      const unhandled = trackUnhandledRejections();
      const clock = createFakeClock({ now: 1_000_000 });
      const store = createStore();
      const completed: string[] = [];
      const errors: unknown[] = [];
      const queue = createQueue<string>({
        name: 'q',
        store,
        clock,
        onCompleted: (job) => completed.push(job.id),
      });
      const other = createQueue<string>({ name: 'q', store, clock });
      let finish!: () => void;
      const worker = queue.process(() => new Promise<void>((resolve) => (finish = resolve)), {
        leaseMs: 1000,
        onError: (error) => errors.push(error),
      });
      await queue.push('a');
      await settle();
      // The wall clock steps past the lease before the first renewal (500 ms of timer time) comes due.
      clock.setWallClock(clock.now() + 5000);
      const taken = await other.next({ leaseMs: 60_000 });
      expect(taken?.stalled).toBe(true);
      finish();
      await settle();
      expect(errors.map((error) => (error as { code?: unknown }).code)).toEqual(['ERR_LEASE_LOST']);
      expect(completed).toEqual([]);
      expect(worker.running).toBe(0);
      expect((await queue.stats()).processing).toBe(1);
      await taken?.ack();
      expect((await queue.stats()).done).toBe(1);
      await queue.close();
      await other.close();
      expect(clock.pendingTimers).toBe(0);
      unhandled.stop();
      expect(unhandled.reasons).toEqual([]);
      await store.close();
    });
  },
);

describe('a refused payload', () => {
  it('is described by where and what, never by the values beside it: message, JSON and inspect()', async () => {
    const queue = createQueue<unknown>({ name: 'q', store: memoryStore(), maxPayloadBytes: 1000 });
    const refused = [
      queue.push({ token: 'sk_live_a1', callback: () => {} }),
      queue.push({ password: 'hunter2-b2', at: new Date(0) }),
      queue.push({ user: 'x', apiKey: 'c3'.repeat(600) }),
      queue.pushMany([{ secret: 'd4-ok' }, { secret: 'e5', n: Number.NaN }]),
    ];
    for (const promise of refused) {
      const error = await promise.catch((e: unknown) => e);
      expect(error).toBeInstanceOf(Error);
      const text = `${String(error)} ${JSON.stringify(error)} ${inspect(error, { depth: 5 })}`;
      for (const secret of ['sk_live_a1', 'hunter2-b2', 'c3c3', 'd4-ok', 'e5'])
        expect(text).not.toContain(secret);
    }
    await queue.close();
  });
});

describe("workers sharing the caller's signal", () => {
  it('leave no listener on it: 1,000 closed one after another, 10 closed by its abort', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const queue = createQueue<number>({ name: 'q', store: memoryStore(), clock });
    const controller = new AbortController();
    for (let i = 0; i < 1000; i++) {
      const worker = queue.process(() => {}, { signal: controller.signal });
      await queue.push(i);
      await settle(2);
      await worker.close();
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const workers = Array.from({ length: 10 }, () => queue.process(() => {}, { signal: controller.signal }));
    controller.abort();
    await settle();
    expect(workers.every((worker) => worker.closed)).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
    expect((await queue.stats()).done).toBe(1000);
    await queue.close();
  });
});
