/**
 * Third spec-first reading (adversarial): edges the other suites did not reach, each written as a failing
 * test before its fix. Public entry only, fake clock, no real sleeps.
 */
import { constant, isRetryError, type RetryOptions, retry } from '@integ/retry';
import {
  createFakeClock,
  trackedAbortController,
  trackUnhandledRejections,
  type UnhandledRejections,
} from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

describe('options given as null', () => {
  // JSON configs and JS callers write null for "not set". The checks accept null for timeout, deadline and
  // maxRetryAfter (and every function option), so the loop must read it as "not given" too.
  it.each([
    ['timeout', { timeout: null }],
    ['deadline', { deadline: null }],
  ])('%s: null means no limit, not 0 ms', async (_name, nulls) => {
    const clock = createFakeClock();
    let calls = 0;
    const slow = async (): Promise<string> => {
      calls++;
      await new Promise<void>((resolve) => clock.setTimeout(resolve, 50));
      if (calls === 1) throw new Error('flaky');
      return 'ok';
    };
    const options = { clock, signal: new AbortController().signal, backoff: constant(10), ...nulls };
    const result = await run(retry(slow, options as unknown as RetryOptions<string>), clock);
    expect(result).toEqual({ ok: true, value: 'ok' });
    expect(calls).toBe(2);
    expect(clock.pendingTimers).toBe(0);
  });

  it('clock: null means the system clock, not a TypeError', async () => {
    let calls = 0;
    const options = { clock: null, signal: new AbortController().signal, backoff: constant(0) };
    const result = await retry(
      () => {
        if (++calls < 3) throw new Error('flaky');
        return 'ok';
      },
      options as unknown as RetryOptions<string>,
    );
    expect(result).toBe('ok');
    expect(calls).toBe(3);
  });
});

describe('hooks that return a rejected promise', () => {
  // `onRetry: async (event) => { await log(event); }` type-checks against `=> void`; if log() fails, its
  // rejection must not become an unhandled rejection (which ends a Node process by default).
  let unhandled: UnhandledRejections;
  beforeEach(() => {
    unhandled = trackUnhandledRejections();
  });
  afterEach(() => unhandled.stop());

  it('an async onRetry that rejects is ignored: retry goes on and resolves, nothing unhandled', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const delays: number[] = [];
    const result = await run(
      retry(
        () => {
          if (++calls < 3) throw new Error('flaky');
          return 'ok';
        },
        {
          clock,
          backoff: constant(10),
          onRetry: async ({ delay }) => {
            delays.push(delay);
            throw new Error('log sink down');
          },
        },
      ),
      clock,
    );
    expect(await unhandled.settled()).toEqual([]);
    expect(result).toEqual({ ok: true, value: 'ok' });
    expect(delays).toEqual([10, 10]);
    expect(clock.pendingTimers).toBe(0);
  });

  it('an async onGiveUp that rejects is ignored: retry rejects with its RetryError, nothing unhandled', async () => {
    const clock = createFakeClock();
    const failure = new Error('down');
    const result = await run(
      retry(
        () => {
          throw failure;
        },
        {
          clock,
          attempts: 2,
          backoff: constant(10),
          onGiveUp: () => Promise.reject(new Error('alerting down')),
        },
      ),
      clock,
    );
    expect(await unhandled.settled()).toEqual([]);
    expect(result.ok).toBe(false);
    expect(isRetryError((result as { error: unknown }).error)).toBe(true);
    expect(((result as { error: Error }).error as Error).cause).toBe(failure);
  });

  it('a hook that throws synchronously still stops retry with its error (documented)', async () => {
    const clock = createFakeClock();
    const thrown = new Error('hook bug');
    let calls = 0;
    const result = await run(
      retry(
        () => {
          calls++;
          throw new Error('down');
        },
        {
          clock,
          backoff: constant(10),
          onRetry: () => {
            throw thrown;
          },
        },
      ),
      clock,
    );
    expect(result).toEqual({ ok: false, error: thrown });
    expect(calls).toBe(1);
  });
});

describe('a clock whose setTimeout throws', () => {
  // In a browser, `clock: { now: Date.now, setTimeout, clearTimeout }` calls window.setTimeout with the clock
  // as `this`, which throws "Illegal invocation". Retry must fail with that error and leave nothing behind.
  const throwingClock = () => {
    const fake = createFakeClock();
    const illegal = new TypeError('Illegal invocation');
    return {
      illegal,
      clock: {
        now: () => fake.now(),
        clearTimeout: (handle: unknown) => fake.clearTimeout(handle),
        setTimeout: (): never => {
          throw illegal;
        },
      },
    };
  };

  it.each([
    ['a timeout', { timeout: 100, backoff: constant(10) }],
    ['a deadline', { deadline: 1000, backoff: constant(10) }],
    ['a wait between attempts', { backoff: constant(10) }],
    ['no wait (constant(0))', { timeout: 100, backoff: constant(0) }],
  ])(
    'with %s, rejects with the clock error and leaves no listener on the caller signal',
    async (_what, extra) => {
      const { clock, illegal } = throwingClock();
      const tracked = trackedAbortController();
      const error = await retry(
        () => {
          throw new Error('down');
        },
        { clock, signal: tracked.signal, ...extra },
      ).catch((e: unknown) => e);
      expect(error).toBe(illegal);
      expect(tracked.listeners).toBe(0);
    },
  );
});
