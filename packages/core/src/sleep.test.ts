import { sleep } from '@integ/core';
import { createFakeClock, trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('sleep', () => {
  it('resolves after the given time on the fake clock, with zero real waiting', async () => {
    const clock = createFakeClock();
    let done = false;
    const promise = sleep(1000, { clock }).then(() => {
      done = true;
    });
    await clock.advance(999);
    expect(done).toBe(false);
    await clock.advance(1);
    await promise;
    expect(done).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects with signal.reason when aborted, leaving no timer and no listener', async () => {
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    const promise = sleep(1000, { clock, signal: tracked.signal });
    expect(clock.pendingTimers).toBe(1);
    expect(tracked.listeners).toBe(1);
    const reason = new Error('stop');
    tracked.abort(reason);
    await expect(promise).rejects.toBe(reason);
    expect(clock.pendingTimers).toBe(0);
    expect(tracked.listeners).toBe(0);
  });

  it('removes its abort listener when it resolves normally', async () => {
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    const promise = sleep(10, { clock, signal: tracked.signal });
    expect(tracked.listeners).toBe(1);
    await clock.advance(10);
    await promise;
    expect(tracked.listeners).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('rejects at once without scheduling a timer when the signal is already aborted', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    controller.abort('gone');
    await expect(sleep(10, { clock, signal: controller.signal })).rejects.toBe('gone');
    expect(clock.pendingTimers).toBe(0);
  });

  it('leaves no abort listener behind when the clock calls back at once (a clock breaking the contract)', async () => {
    const tracked = trackedAbortController();
    const setTimeout = (fn: () => void): number => {
      fn();
      return 1;
    };
    const clock = { now: () => 0, setTimeout, clearTimeout: () => {} };
    await sleep(10, { clock, signal: tracked.signal });
    expect(tracked.listeners).toBe(0);
  });

  it('uses an AbortError DOMException when the signal has no reason', async () => {
    const signal = { aborted: true, reason: undefined } as unknown as AbortSignal;
    await expect(sleep(10, { signal })).rejects.toMatchObject({ name: 'AbortError' });
  });

  it('treats negative durations as zero', async () => {
    const clock = createFakeClock();
    const promise = sleep(-5, { clock });
    await clock.advance(0);
    await expect(promise).resolves.toBeUndefined();
  });

  it('never hands a timer more than 2^31-1 ms (a runtime fires such a timer at once), nor NaN', async () => {
    // A clock that records what sleep asks of it: the fake clock honours any delay, a real timer does not.
    const asked: number[] = [];
    const fake = createFakeClock();
    const clock = {
      ...fake,
      setTimeout: (cb: () => void, ms: number) => {
        asked.push(ms);
        return fake.setTimeout(cb, ms);
      },
    };
    void sleep(2 ** 40, { clock });
    void sleep(2 ** 31, { clock });
    void sleep(Number.NaN, { clock });
    expect(asked).toEqual([2_147_483_647, 2_147_483_647, 0]);
    await fake.advance(0);
  });

  it('waits for the abort only, with no timer, for Infinity ms', async () => {
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    let settled = false;
    const promise = sleep(Number.POSITIVE_INFINITY, { clock, signal: tracked.signal }).catch((reason) => {
      settled = true;
      return reason;
    });
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(2 ** 31);
    expect(settled).toBe(false);
    tracked.abort('stop');
    expect(await promise).toBe('stop');
    expect(tracked.listeners).toBe(0);
  });

  it('property: a sleep of ms settles exactly when the clock has moved ms', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 1e7 }),
        fc.integer({ min: 1, max: 20 }),
        async (ms, pieces) => {
          const step = Math.ceil((ms + 1) / pieces);
          const clock = createFakeClock({ now: 1_000 });
          let settledAt: number | undefined;
          const promise = sleep(ms, { clock }).then(() => {
            settledAt = clock.now();
          });
          while (settledAt === undefined) await clock.advance(step);
          await promise;
          expect(settledAt).toBe(1_000 + ms);
        },
      ),
      { numRuns: 50 },
    );
  });
});
