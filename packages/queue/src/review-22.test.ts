/**
 * Review 22: the worker's due-time wake-ups of 4112f74 (it keeps the earliest 1000 due times of delayed pushes and
 * retries on its queue object and wakes at each), on the fake clock and on both local stores: wall-clock steps,
 * due times past a timer's 2^31 - 1 ms, 10,000 delayed pushes, close(), re-arming, duplicates, pushes through
 * another queue object and jobs taken by someone else first. Claims are counted to catch a busy loop.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock, type FakeClock } from '@integ/testing';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-review-22-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite file', () => sqliteStore({ path: join(dir, `r22-${++n}.db`) })],
];

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

const settle = async (turns = 10): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** The store with its claims counted. */
function counted(store: QueueStore): { store: QueueStore; claims: () => number } {
  let claims = 0;
  const wrapped = new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (prop === 'claim' && typeof value === 'function')
        return (...args: unknown[]) => {
          claims++;
          return (value as (...a: unknown[]) => unknown).apply(target, args);
        };
      return typeof value === 'function' ? (value as (...a: unknown[]) => unknown).bind(target) : value;
    },
  });
  return { store: wrapped, claims: () => claims };
}

/** Moves the clock by `total` ms in steps of `step`, letting the store's promises settle after each. */
async function run(clock: FakeClock, total: number, step: number): Promise<void> {
  for (let t = 0; t < total; t += step) {
    await clock.advance(Math.min(step, total - t));
    await settle();
  }
}

/** A queue named `name` on a fresh counted store, at T0 on a fake clock, with a worker recording when each job ran. */
async function started(createStore: () => QueueStore, name: string, pollInterval: number) {
  const clock = createFakeClock({ now: T0 });
  const { store, claims } = counted(createStore());
  const queue = createQueue<string>({ name, store, clock });
  const ran: number[] = [];
  const worker = queue.process(
    () => {
      ran.push(clock.now() - T0);
    },
    { pollInterval },
  );
  await settle();
  return { clock, store, claims, queue, ran, worker };
}

describe.each(stores)('worker due-time wake-ups, review 22 (%s)', (_name, createStore) => {
  it('after a wall-clock step back, runs a delayed job when the wall clock reaches its due time, with few claims', async () => {
    const { clock, store, claims, queue, ran, worker } = await started(createStore, 'step-back', DAY);
    await queue.push('a', { delay: 1000 });
    clock.setWallClock(T0 - 60_000);
    const before = claims();
    await run(clock, 70_000, 500);
    // Due at wall T0 + 1000: 61 s of elapsed time after the step.
    expect(ran).toEqual([1000]);
    expect(clock.elapsed).toBe(70_000);
    expect(claims() - before).toBeLessThanOrEqual(4);
    await worker.close();
    expect(clock.pendingTimers).toBe(0);
    await queue.close();
    await store.close();
  });

  it('after a wall-clock step forward, runs a delayed job no later than its delay of elapsed time', async () => {
    const clock = createFakeClock({ now: T0 });
    const { store, claims } = counted(createStore());
    const queue = createQueue<string>({ name: 'step-forward', store, clock });
    const ran: number[] = [];
    const worker = queue.process(
      () => {
        ran.push(clock.elapsed);
      },
      { pollInterval: DAY },
    );
    await settle();
    await queue.push('a', { delay: 60_000 });
    clock.setWallClock(T0 + 3_600_000);
    const before = claims();
    await run(clock, 120_000, 1000);
    expect(ran).toHaveLength(1);
    expect(ran[0]).toBeLessThanOrEqual(60_000);
    expect(claims() - before).toBeLessThanOrEqual(3);
    await worker.close();
    await queue.close();
    await store.close();
  });

  it('runs a job due past 2^31 - 1 ms at its due time, re-arming without a claim storm', async () => {
    const { clock, store, claims, queue, ran, worker } = await started(createStore, 'far', 2_147_483_647);
    const delay = 60 * DAY + 123;
    await queue.push('a', { delay });
    const before = claims();
    await run(clock, delay + DAY, DAY / 4);
    expect(ran).toEqual([delay]);
    // A timer of at most 2^31 - 1 ms (~24.8 days): 3 wake-ups for 60 days, a poll or two, the job's claim.
    expect(claims() - before).toBeLessThanOrEqual(8);
    await worker.close();
    expect(clock.pendingTimers).toBe(0);
    await queue.close();
    await store.close();
  });

  it('after a wall-clock step back of 30 days, a near due time does not spin on the clamped timer', async () => {
    const { clock, store, claims, queue, ran, worker } = await started(
      createStore,
      'back-far',
      2_147_483_647,
    );
    await queue.push('a', { delay: 1000 });
    clock.setWallClock(T0 - 30 * DAY);
    const before = claims();
    await run(clock, 31 * DAY, DAY / 8);
    expect(ran).toEqual([1000]);
    expect(claims() - before).toBeLessThanOrEqual(8);
    await worker.close();
    await queue.close();
    await store.close();
  });

  it('10,000 delayed pushes (latest first): one due timer, every job runs, claims bounded while idle', async () => {
    const clock = createFakeClock({ now: T0 });
    const { store, claims } = counted(createStore());
    const queue = createQueue<number>({ name: 'many', store, clock });
    let done = 0;
    const errors: unknown[] = [];
    const worker = queue.process(
      () => {
        done++;
      },
      { pollInterval: 60_000, concurrency: 50, onError: (e) => errors.push(e) },
    );
    await settle();
    const timersBefore = clock.pendingTimers;
    for (let i = 10_000; i >= 1; i--) await queue.push(i, { delay: 3_600_000 + i * 10 });
    // One due timer more (and the poll that was already there): no timer per push.
    expect(clock.pendingTimers).toBeLessThanOrEqual(timersBefore + 1);
    const idle = claims();
    await run(clock, 3_599_000, 60_000);
    // Idle for an hour: polls only (once a minute), no busy loop.
    expect(claims() - idle).toBeLessThanOrEqual(62);
    await run(clock, 200_000, 1000);
    expect(done).toBe(10_000);
    expect(errors).toEqual([]);
    await worker.close();
    expect(clock.pendingTimers).toBe(0);
    await queue.close();
    await store.close();
  }, 60_000);

  it('close() leaves no timer with due times still pending', async () => {
    const clock = createFakeClock({ now: T0 });
    const store = createStore();
    const queue = createQueue<string>({ name: 'close', store, clock });
    const worker = queue.process(() => {}, { pollInterval: 1000 });
    await settle();
    await queue.push('a', { delay: 5000 });
    await queue.push('b', { delay: 90_000 });
    expect(clock.pendingTimers).toBeGreaterThan(0);
    await worker.close();
    expect(clock.pendingTimers).toBe(0);
    // A push after close does not arm one either.
    await queue.push('c', { delay: 100 });
    expect(clock.pendingTimers).toBe(0);
    await queue.close();
    await store.close();
  });

  it('re-arms for a due time earlier than the armed one, and runs duplicates of one due time together', async () => {
    const clock = createFakeClock({ now: T0 });
    const { store, claims } = counted(createStore());
    const queue = createQueue<string>({ name: 'rearm', store, clock });
    const ran: string[] = [];
    const worker = queue.process(
      (job) => {
        ran.push(`${job.payload}@${clock.now() - T0}`);
      },
      { pollInterval: 600_000, concurrency: 10 },
    );
    await settle();
    await queue.push('late', { delay: 5000 });
    await queue.push('early', { delay: 1000 });
    for (let i = 0; i < 5; i++) await queue.push(`dup${i}`, { delay: 3000 });
    const before = claims();
    await run(clock, 6000, 250);
    expect(ran).toEqual([
      'early@1000',
      'dup0@3000',
      'dup1@3000',
      'dup2@3000',
      'dup3@3000',
      'dup4@3000',
      'late@5000',
    ]);
    // Three wake-ups, and a claim after each of the 7 jobs at most.
    expect(claims() - before).toBeLessThanOrEqual(10);
    await worker.close();
    await queue.close();
    await store.close();
  });

  it('a job pushed with a delay through another queue object on the same store is found by a poll', async () => {
    const clock = createFakeClock({ now: T0 });
    const { store, claims } = counted(createStore());
    const mine = createQueue<string>({ name: 'shared', store, clock });
    const other = createQueue<string>({ name: 'shared', store, clock });
    const ran: string[] = [];
    const worker = mine.process(
      (job) => {
        ran.push(`${job.payload}@${clock.now() - T0}`);
      },
      { pollInterval: 1000 },
    );
    await settle();
    await other.push('x', { delay: 1500 });
    const before = claims();
    await run(clock, 3000, 50);
    expect(ran).toEqual(['x@2000']);
    expect(claims() - before).toBeLessThanOrEqual(4);
    await worker.close();
    await mine.close();
    await other.close();
    await store.close();
  });

  it('a due job taken by another worker first: no error, no spin', async () => {
    const clock = createFakeClock({ now: T0 });
    const { store, claims } = counted(createStore());
    const queue = createQueue<string>({ name: 'race', store, clock });
    const ran: string[] = [];
    const errors: unknown[] = [];
    const workers = [1, 2, 3].map((w) =>
      queue.process(
        (job) => {
          ran.push(`${job.payload}:${w}@${clock.now() - T0}`);
        },
        { pollInterval: 600_000, onError: (e) => errors.push(e) },
      ),
    );
    await settle();
    await queue.push('a', { delay: 1500 });
    // Taken through next() at its due time, before the workers' due timers fire: the wall clock is 1 ms ahead.
    await clock.advance(1499);
    await settle();
    clock.setWallClock(T0 + 1500);
    const taken = await queue.next();
    expect(taken?.payload).toBe('a');
    await taken?.ack();
    const before = claims();
    await run(clock, 10_000, 100);
    expect(ran).toEqual([]);
    expect(errors).toEqual([]);
    expect(claims() - before).toBeLessThanOrEqual(6);
    for (const worker of workers) await worker.close();
    await queue.close();
    await store.close();
  });

  it('on a clock with a fraction of a ms, runs each delayed job at its due time with one claim each', async () => {
    const clock = createFakeClock({ now: T0 + 0.7 });
    const { store, claims } = counted(createStore());
    const queue = createQueue<number>({ name: 'fraction', store, clock });
    const ran: number[] = [];
    const worker = queue.process(
      (job) => {
        ran.push(Math.floor(clock.now()) - T0 - job.payload);
      },
      { pollInterval: 600_000 },
    );
    await settle();
    for (const d of [1, 37, 100, 333, 1001]) await queue.push(d, { delay: d });
    const before = claims();
    await run(clock, 1100, 1);
    expect(ran).toEqual([0, 0, 0, 0, 0]);
    expect(claims() - before).toBeLessThanOrEqual(12);
    await worker.close();
    await queue.close();
    await store.close();
  });
});

describe.each(stores)(
  'worker due-time wake-ups after a wall-clock step forward (%s)',
  (_name, createStore) => {
    it('a push after the step wakes the worker at its due time, not when the timer armed before the step fires', async () => {
      const clock = createFakeClock({ now: T0 });
      const { store, claims } = counted(createStore());
      const queue = createQueue<string>({ name: 'forward', store, clock });
      const ran: string[] = [];
      const worker = queue.process(
        (job) => {
          ran.push(`${job.payload}@${clock.elapsed}`);
        },
        { pollInterval: 600_000 },
      );
      await settle();
      // Armed for an hour of elapsed time; then the wall clock steps an hour forward: 'a' is due now.
      await queue.push('a', { delay: 3_600_000 });
      clock.setWallClock(T0 + 3_600_000);
      await queue.push('b', { delay: 1000 });
      const before = claims();
      await run(clock, 5000, 100);
      expect(ran).toEqual(['a@0', 'b@1000']);
      expect(claims() - before).toBeLessThanOrEqual(5);
      await worker.close();
      expect(clock.pendingTimers).toBe(0);
      await queue.close();
      await store.close();
    });
  },
);
