/**
 * Review round 27: a cross-review of round 26's fixes (4713d8e: a holder's ack()/fail()/extend() made while close()'s
 * release of its job is in flight waits for the store's answer; 35a6ce5: the reference model compares whole lists).
 * Angle: the holder calling during that release twice, from a worker's handler, and from inside the store's release().
 */
import { createQueue, type LeasedJob, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { turns } from './internal/manual-clock.js';

const code = (promise: Promise<unknown>): Promise<string> =>
  promise.then(
    () => 'ok',
    (error: Error & { code?: string }) => `${error.code} ${error.message}`,
  );

const noop = () => {};

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite', () => sqliteStore({ path: ':memory:' })],
];

/**
 * `base` with its ack()/fail() calls counted in `settles`, and `release` replaced: by default one that answers only
 * once `answer()` is called.
 */
function wrap(base: QueueStore, release?: QueueStore['release']) {
  const settles: string[] = [];
  let answer = () => {};
  const held = new Promise<void>((resolve) => {
    answer = resolve;
  });
  const store: QueueStore = Object.assign(Object.create(base) as QueueStore, {
    release:
      release ??
      (async (...args: Parameters<QueueStore['release']>) => {
        await held;
        return base.release(...args);
      }),
    ack: (...args: Parameters<QueueStore['ack']>) => {
      settles.push('ack');
      return base.ack(...args);
    },
    fail: (...args: Parameters<QueueStore['fail']>) => {
      settles.push('fail');
      return base.fail(...args);
    },
  });
  return { store, settles, answer };
}

describe.each(stores)(
  "a holder's calls during close()'s release of its next() job (%s store)",
  (_, createStore) => {
    it.each([
      ['ack', 'fail'],
      ['ack', 'ack'],
    ])(
      'taken over: %s() then %s() during the refused release: one reaches the store (LeaseLostError), not the other',
      async (first, second) => {
        const clock = createFakeClock({ now: 1_000_000 });
        const base = createStore();
        const { store, settles, answer } = wrap(base);
        const queue = createQueue<string>({ name: 'q', store, clock });
        await queue.push('a');
        const old = (await queue.next({ leaseMs: 1000 })) as LeasedJob<string>;
        // Taken over while close() waits (one taken before close() is no longer returned, decision 0206).
        const closing = queue.close({ timeout: 2000 });
        await clock.advance(1000);
        await createQueue<string>({ name: 'q', store: base, clock }).next();
        await clock.advance(1000);
        await turns();
        const call = (name: string) => (name === 'ack' ? old.ack() : old.fail(new Error('x')));
        const results = [code(call(first)), code(call(second))];
        answer();
        await closing;
        expect(await Promise.all(results)).toEqual([
          expect.stringMatching(/^ERR_LEASE_LOST /),
          expect.stringMatching(/^ERR_JOB_SETTLED .*already settled/),
        ]);
        expect(settles).toEqual([first]);
        await base.close();
      },
    );

    it.each([
      ['refuses it (another queue object took the job over)', true, 'ERR_LEASE_LOST'],
      ['throws (applied nothing)', false, 'ok'],
    ])(
      "a custom store whose release() calls the holder's ack(), then %s: the ack waits for it and reaches the store",
      async (_, takenOver, expected) => {
        const clock = createFakeClock({ now: 1_000_000 });
        const base = createStore();
        const held: { job?: LeasedJob<string>; ack?: Promise<string> } = {};
        const { store, settles } = wrap(base, (...args) => {
          held.ack = code((held.job as LeasedJob<string>).ack());
          if (takenOver) return base.release(...args);
          throw new Error('locked');
        });
        const queue = createQueue<string>({
          name: 'q',
          store,
          clock,
          logger: { debug: noop, info: noop, warn: noop, error: noop },
        });
        await queue.push('a');
        held.job = (await queue.next({ leaseMs: 1000 })) as LeasedJob<string>;
        // Taken over while close() waits: one taken before close() is no longer released (decision 0206).
        const closing = queue.close({ timeout: 2000 });
        await clock.advance(1000);
        if (takenOver) await createQueue<string>({ name: 'q', store: base, clock }).next();
        await clock.advance(1000);
        await closing;
        // Before: 'this lease was already settled', and the ack never reached the store, which kept the lease.
        expect(await held.ack).toMatch(new RegExp(`^${expected}`));
        expect(settles).toEqual(['ack']);
        await base.close();
      },
    );
  },
);

it("a worker's handler that acks while worker.close() returns its job: JobSettledError naming close()", async () => {
  const clock = createFakeClock({ now: 1_000_000 });
  const base = memoryStore();
  const { store, settles, answer } = wrap(base);
  const queue = createQueue<string>({ name: 'q', store, clock });
  await queue.push('a');
  let job: LeasedJob<string> | undefined;
  const worker = queue.process((leased) => {
    job = leased;
    return new Promise(() => {});
  });
  await clock.advance(0);
  const closing = worker.close({ timeout: 0 });
  await turns();
  const acked = code((job as LeasedJob<string>).ack());
  answer();
  await closing;
  // Before 4713d8e: 'this lease was already settled', as if its holder had settled it.
  expect(await acked).toMatch(/^ERR_JOB_SETTLED .*close\(\) returned it to pending/);
  expect(settles).toEqual([]);
  expect((await queue.get((job as LeasedJob<string>).id))?.status).toBe('pending');
});
