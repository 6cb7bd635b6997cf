/**
 * A clock whose `now()`, `setTimeout` or `clearTimeout` throws is a bug of the caller (in a browser,
 * `window.setTimeout` called on another object throws "Illegal invocation"; so does a clock that wraps
 * setTimeout but passes `window.clearTimeout` unwrapped), not a failure of the operation: retry must reject with
 * the clock's error at once, call `fn` no more, leave no listener on the caller's signal and no unhandled
 * rejection, and never hang.
 */
import type { Clock } from '@integ/core';
import { constant, retry } from '@integ/retry';
import {
  createFakeClock,
  settledValue,
  trackedAbortController,
  trackUnhandledRejections,
  type UnhandledRejections,
} from '@integ/testing';
import fc from 'fast-check';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';

type Method = 'now' | 'setTimeout' | 'clearTimeout';

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
    clearTimeout: (handle) => {
      guard('clearTimeout');
      fake.clearTimeout(handle);
    },
  };
  return { fake, clock, broken, log };
}

/** `promise`'s value, or 'still pending' if it has not settled once every promise callback ran (a hang fails fast). */
const settledOrPending = async (promise: Promise<unknown>): Promise<unknown> => {
  const value = await settledValue(promise);
  return value === 'pending' ? 'still pending' : value;
};

describe('retry with a clock that throws', () => {
  let unhandled: UnhandledRejections;
  beforeEach(() => {
    unhandled = trackUnhandledRejections();
  });
  afterEach(() => unhandled.stop());

  it('property: rejects with the clock error at once, calls fn no more, leaves no timer and no listener', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Method>('now', 'setTimeout', 'clearTimeout'),
        fc.integer({ min: 1, max: 8 }),
        fc.option(fc.integer({ min: 1, max: 500 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 5000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 50 }),
        fc.boolean(),
        fc.integer({ min: 0, max: 4 }),
        fc.boolean(),
        async (method, nth, timeout, deadline, delay, withSignal, failures, withRetryIf) => {
          const { fake, clock, broken, log } = brokenClock(method, nth);
          const tracked = trackedAbortController();
          const reported = unhandled.reasons.length;
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
              ...(withRetryIf ? { retryIf: async () => true } : {}),
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
          expect((await unhandled.settled()).slice(reported)).toEqual([]);
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

  it('a clearTimeout that throws when an attempt with a timeout succeeds rejects retry with its error', async () => {
    const { fake, clock, broken, log } = brokenClock('clearTimeout', 1);
    const tracked = trackedAbortController();
    const result = retry(
      () => {
        log.push('fn');
        return 'ok';
      },
      { clock, timeout: 100, signal: tracked.signal },
    ).catch((error: unknown) => error);
    await fake.runAll();
    expect(await settledOrPending(result)).toBe(broken);
    expect(log.filter((entry) => entry === 'fn')).toHaveLength(1);
    expect(fake.pendingTimers).toBe(0);
    expect(tracked.listeners).toBe(0);
    expect(await unhandled.settled()).toEqual([]);
  });

  it('a clearTimeout that throws when a retryIf answers rejects retry with its error, fn not called again', async () => {
    const { fake, clock, broken, log } = brokenClock('clearTimeout', 1);
    const result = retry(
      () => {
        log.push('fn');
        throw new Error('down');
      },
      { clock, retryIf: () => true, backoff: constant(10) },
    ).catch((error: unknown) => error);
    await fake.runAll();
    expect(await settledOrPending(result)).toBe(broken);
    expect(log.filter((entry) => entry === 'fn')).toHaveLength(1);
    expect(fake.pendingTimers).toBe(0);
    expect(await unhandled.settled()).toEqual([]);
  });

  it('a clearTimeout that always throws (window.clearTimeout passed unbound) rejects at once and leaves nothing unhandled', async () => {
    const fake = createFakeClock();
    const broken = new TypeError('Illegal invocation');
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (callback, ms) => fake.setTimeout(callback, ms),
      clearTimeout: () => {
        throw broken;
      },
    };
    const tracked = trackedAbortController();
    const signals: AbortSignal[] = [];
    const result = retry(
      ({ signal }) => {
        signals.push(signal);
        return 'ok';
      },
      { clock, timeout: 100, deadline: 1000, signal: tracked.signal },
    ).catch((error: unknown) => error);
    expect(await settledOrPending(result)).toBe(broken);
    // The timers it could not clear fire later and find nothing to cut: no throw, no rejection left behind.
    await fake.runAll();
    expect(signals).toHaveLength(1);
    expect(tracked.listeners).toBe(0);
    expect(await unhandled.settled()).toEqual([]);
  });
});
