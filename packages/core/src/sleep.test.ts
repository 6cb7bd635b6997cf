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
