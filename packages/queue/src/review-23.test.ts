/**
 * Review 23: a cross-review of b5b6c6a (a worker re-arms its due-time timer when the armed due time is already past
 * on the wall clock), on the fake clock and both local stores: timers set while the armed due time is now or past,
 * close(), and a wall-clock step back right after a step forward.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Clock } from '@integ/core';
import { createQueue, memoryStore, type QueueStore } from '@integ/queue';
import { sqliteStore } from '@integ/queue/sqlite';
import { createFakeClock, type FakeClock } from '@integ/testing';
import { afterAll, describe, expect, it } from 'vitest';

const dir = mkdtempSync(join(tmpdir(), 'integ-queue-review-23-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));
let n = 0;

const stores: [string, () => QueueStore][] = [
  ['memory', () => memoryStore()],
  ['sqlite file', () => sqliteStore({ path: join(dir, `r23-${++n}.db`) })],
];

const T0 = 1_700_000_000_000;
const HOUR = 3_600_000;

const settle = async (turns = 10): Promise<void> => {
  for (let i = 0; i < turns; i++) await new Promise<void>((resolve) => setImmediate(resolve));
};

/** The fake clock with its setTimeout calls counted. */
function counting(clock: FakeClock): { clock: Clock; timers: () => number } {
  let timers = 0;
  return {
    clock: {
      now: () => clock.now(),
      setTimeout: (callback, ms) => {
        timers++;
        return clock.setTimeout(callback, ms);
      },
      clearTimeout: (handle) => clock.clearTimeout(handle),
    },
    timers: () => timers,
  };
}

async function run(clock: FakeClock, total: number, step: number): Promise<void> {
  for (let t = 0; t < total; t += step) {
    await clock.advance(Math.min(step, total - t));
    await settle();
  }
}

describe.each(stores)('worker due-time timer after b5b6c6a (%s)', (_name, createStore) => {
  for (const [what, step] of [
    ['equals now', HOUR],
    ['is past', 2 * HOUR],
  ] as const)
    it(`sets one timer, not one per push, for 500 delayed pushes at one instant when the armed due time ${what}`, async () => {
      const fake = createFakeClock({ now: T0 });
      const { clock, timers } = counting(fake);
      const store = createStore();
      const queue = createQueue<string>({ name: 'storm', store, clock });
      const ran: string[] = [];
      const worker = queue.process(
        (job) => {
          ran.push(`${job.payload}@${fake.elapsed}`);
        },
        { pollInterval: 600_000, concurrency: 10 },
      );
      await settle();
      await queue.push('a', { delay: HOUR });
      fake.setWallClock(T0 + step);
      const before = timers();
      for (let i = 0; i < 500; i++) queue.push(`b${i}`, { delay: 60_000 + i });
      // Pushed without awaiting each: all at one instant, before the re-armed timer can fire.
      await settle(50);
      // The re-arm at once for 'a' (and a poll at most): no timer per push.
      const armed = timers() - before;
      expect(armed).toBeLessThanOrEqual(2);
      await fake.advance(0);
      await settle();
      expect(ran).toEqual(['a@0']);
      await run(fake, 62_000, 1000);
      expect(ran).toHaveLength(501);
      await worker.close();
      expect(fake.pendingTimers).toBe(0);
      await queue.close();
      await store.close();
    });

  it('close() right after the re-arm at once leaves no timer', async () => {
    const clock = createFakeClock({ now: T0 });
    const store = createStore();
    const queue = createQueue<string>({ name: 'close', store, clock });
    const worker = queue.process(() => {}, { pollInterval: 600_000 });
    await settle();
    await queue.push('a', { delay: HOUR });
    clock.setWallClock(T0 + HOUR);
    await queue.push('b', { delay: 1000 });
    await worker.close();
    expect(clock.pendingTimers).toBe(0);
    await queue.push('c', { delay: 1 });
    expect(clock.pendingTimers).toBe(0);
    await queue.close();
    await store.close();
  });

  it('after a step forward, a push, then a step back at once: each job runs when the wall clock reaches its due time', async () => {
    const clock = createFakeClock({ now: T0 });
    const store = createStore();
    const queue = createQueue<string>({ name: 'forward-back', store, clock });
    const ran: string[] = [];
    const worker = queue.process(
      (job) => {
        ran.push(`${job.payload}@${clock.now() - T0}`);
      },
      { pollInterval: 600_000 },
    );
    await settle();
    await queue.push('a', { delay: HOUR });
    clock.setWallClock(T0 + HOUR);
    await queue.push('b', { delay: 1000 });
    // Back where it was before the claim for 'a' could run: 'a' is an hour off again, 'b' an hour and a second.
    clock.setWallClock(T0);
    await settle();
    await run(clock, HOUR - 10_000, 60_000);
    expect(ran).toEqual([]);
    await run(clock, 15_000, 100);
    expect(ran).toEqual([`a@${HOUR}`, `b@${HOUR + 1000}`]);
    await worker.close();
    expect(clock.pendingTimers).toBe(0);
    await queue.close();
    await store.close();
  });
});
