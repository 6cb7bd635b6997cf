/**
 * A clock whose `now()` or `setTimeout` throws is a bug of the caller (in a browser, `window.setTimeout` called on
 * another object throws "Illegal invocation"), not a failure of the operation: retry must reject with the
 * clock's error at once, call `fn` no more, and leave no timer and no listener on the caller's signal.
 */
import type { Clock } from '@integ/core';
import { constant, retry } from '@integ/retry';
import { createFakeClock, trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Method = 'now' | 'setTimeout';

/** A fake clock whose `method` throws `broken` on its `nth` call (1-based); `log` records fn and clock calls. */
function brokenClock(method: Method, nth: number) {
  const fake = createFakeClock({ now: 1e12 });
  const broken = new TypeError('Illegal invocation');
  const log: string[] = [];
  let calls = 0;
  const guard = (name: Method): void => {
    log.push(name);
    if (name === method && ++calls === nth) {
      log.push('threw');
      throw broken;
    }
  };
  const clock: Clock = {
    now: () => {
      guard('now');
      return fake.now();
    },
    setTimeout: (callback, ms) => {
      guard('setTimeout');
      return fake.setTimeout(callback, ms);
    },
    clearTimeout: (handle) => fake.clearTimeout(handle),
  };
  return { fake, clock, broken, log };
}

describe('retry with a clock that throws', () => {
  it('property: rejects with the clock error at once, calls fn no more, leaves no timer and no listener', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Method>('now', 'setTimeout'),
        fc.integer({ min: 1, max: 8 }),
        fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 50 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 4 }),
        async (method, nth, timeout, deadline, delay, withSignal, failures) => {
          const { fake, clock, broken, log } = brokenClock(method, nth);
          const tracked = trackedAbortController();
          let outcome: { ok: boolean; value: unknown } | undefined;
          retry(
            () => {
              log.push('fn');
              if (log.filter((entry) => entry === 'fn').length <= failures) throw new Error('down');
              return 'ok';
            },
            {
              clock,
              attempts: 5,
              backoff: constant(delay),
              ...(timeout === undefined ? {} : { timeout }),
              ...(deadline === undefined ? {} : { deadline }),
              ...(withSignal ? { signal: tracked.signal } : {}),
            },
          ).then(
            (value) => {
              outcome = { ok: true, value };
            },
            (error: unknown) => {
              outcome = { ok: false, value: error };
            },
          );
          await fake.runAll();
          expect(outcome).toBeDefined();
          const threw = log.indexOf('threw');
          if (threw >= 0) {
            expect(outcome).toEqual({ ok: false, value: broken });
            expect(log.slice(threw)).not.toContain('fn');
          }
          expect(fake.pendingTimers).toBe(0);
          expect(tracked.listeners).toBe(0);
        },
      ),
      { numRuns: 400, seed: 20_240_601 },
    );
  });

  it('a setTimeout that throws when an attempt with a timeout starts is not counted as a failed attempt', async () => {
    const { fake, clock, broken, log } = brokenClock('setTimeout', 1);
    const tracked = trackedAbortController();
    const result = retry(
      () => {
        log.push('fn');
        return 'ok';
      },
      { clock, timeout: 100, signal: tracked.signal, backoff: constant(10) },
    ).catch((error: unknown) => error);
    await fake.runAll();
    expect(await result).toBe(broken);
    expect(log).not.toContain('fn');
    expect(fake.pendingTimers).toBe(0);
    expect(tracked.listeners).toBe(0);
  });
});
