/**
 * Review round 20: the nineteenth round's signal and options checks (0884cd4, 0130f57) and the deadline's past()
 * (e14cb4d, b98f406), pinned for normal input: every real signal is taken and fn's outcome comes back unchanged
 * through settle()'s try/finally; the backoff factories still take no options, {} and null.
 */
import {
  type Backoff,
  constant,
  decorrelated,
  exponential,
  linear,
  RetryError,
  retry,
  retryBudget,
  withRetry,
} from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

class PolyfillSignal extends EventTarget {
  aborted = false;
  reason: unknown;
}

const signals = (): [string, AbortSignal][] => [
  ['Node', new AbortController().signal],
  ['AbortSignal.timeout', AbortSignal.timeout(1_000_000)],
  ['AbortSignal.any', AbortSignal.any([new AbortController().signal])],
  ['an EventTarget polyfill', new PolyfillSignal() as unknown as AbortSignal],
];

describe('retry with a real signal after 0884cd4', () => {
  for (const [name, make] of signals().map(([n], i) => [n, () => signals()[i]![1]] as const)) {
    it(`returns fn's value, and rethrows its non-retryable error, with ${name}'s signal`, async () => {
      await expect(retry(() => 42, { signal: make() })).resolves.toBe(42);
      await expect(retry(async () => 'v', { signal: make(), timeout: 1000 })).resolves.toBe('v');
      const error = Object.assign(new Error('no'), { retryable: false });
      await expect(retry(() => Promise.reject(error), { signal: make() })).rejects.toBe(error);
      let calls = 0;
      const clock = createFakeClock();
      const done = retry(
        () => {
          calls += 1;
          if (calls < 3) throw new Error('flaky');
          return 'ok';
        },
        { signal: make(), backoff: constant(10), clock },
      );
      await clock.advance(100);
      await expect(done).resolves.toBe('ok');
      expect(calls).toBe(3);
    });
  }
});

describe('backoff factories and retryBudget after 0130f57', () => {
  it('take no options, {} and null', () => {
    const context = { attempt: 2, error: new Error('x'), random: () => 0.5, previousDelay: 100 };
    for (const make of [exponential, linear, decorrelated] as ((o?: unknown) => Backoff)[]) {
      for (const options of [undefined, {}, null]) {
        const delay = make(options)(context as never);
        expect(delay).toBe(make()(context as never));
        expect(delay).toBeGreaterThanOrEqual(0);
      }
    }
    expect(() => retryBudget()).not.toThrow();
    expect(() => retryBudget({})).not.toThrow();
    expect(typeof withRetry(() => 1)).toBe('function');
    expect(typeof withRetry(() => 1, {})).toBe('function');
  });
});

// b98f406 made `expiresAt` -Infinity the sign that the deadline's timer has fired. A clock whose first reading (the
// start) is -Infinity made it -Infinity at the start too: retry gave up for the deadline after the first failure,
// long before the deadline, where a NaN reading (the mirror case) retries until the timer fires.
describe('retry with a deadline on a clock that read -Infinity at the start', () => {
  it('retries up to attempts before the deadline, and the deadline still ends it', async () => {
    const fake = createFakeClock({ now: 1_000 });
    let reads = 0;
    const clock = { ...fake, now: () => (reads++ === 0 ? Number.NEGATIVE_INFINITY : fake.now()) };
    let calls = 0;
    const fail = (): Promise<never> => {
      calls++;
      return Promise.reject(new Error('down'));
    };
    const outcome = retry(fail, { attempts: 3, backoff: constant(10), deadline: 1000, clock }).catch(
      (error: unknown) => error,
    );
    await fake.advance(10);
    await fake.advance(10);
    const error = await outcome;
    expect(error).toBeInstanceOf(RetryError);
    // Before: reason 'deadline' after the first call, at 0 ms of a 1000 ms deadline.
    expect((error as RetryError).reason).toBe('attempts');
    expect(calls).toBe(3);
    reads = 0;
    calls = 0;
    const cut = retry(fail, {
      attempts: Number.POSITIVE_INFINITY,
      backoff: constant(100),
      deadline: 1000,
      clock,
    }).catch((e: unknown) => e);
    await fake.advance(1000);
    expect(((await cut) as RetryError).reason).toBe('deadline');
    expect(calls).toBe(10);
  });
});
