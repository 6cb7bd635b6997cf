/**
 * Review round 37: triage of StrykerJS's surviving mutants (run at 965fde0). These pin what the README, DESIGN.md
 * and the error messages promise but no test held: each InvalidArgumentError names the option and says what it
 * takes, a `retryAfterMs` of 0 is a hint (retry at once), `Retry-After` is read only in an HTTP-date's shape with
 * nothing before it, asctime-date is GMT whatever zone `Date.parse` reads a zoneless date in (the TZ test in
 * retry-after.test.ts cannot switch zones in a worker thread, where Stryker runs), the shared never-aborted
 * signal keeps no `onabort` handler and comes from `AbortSignal.any([])` where there is one, and a `RetryError`
 * built without a reason says `'attempts'`.
 */
import {
  constant,
  decorrelated,
  exponential,
  isRetryable,
  linear,
  parseRetryAfter,
  RetryError,
  retry,
  retryBudget,
  withRetry,
} from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { run } from './settle.test-support.js';

afterEach(() => {
  vi.restoreAllMocks();
});

/** The error `call` throws (or the promise it returns rejects with), for a look at `argument` and `message`. */
async function thrown(call: () => unknown): Promise<{ argument?: unknown; message: string }> {
  try {
    await call();
  } catch (error) {
    return error as { argument?: unknown; message: string };
  }
  throw new Error('did not throw');
}

const MAX = 2_147_483_647;

describe('option errors name the option and say what it takes', () => {
  it.each([
    ['linear initial', () => linear({ initial: -1 })],
    ['linear step', () => linear({ step: -1 })],
    ['linear max', () => linear({ max: -1 })],
    ['exponential initial', () => exponential({ initial: -1 })],
    ['decorrelated initial', () => decorrelated({ initial: -1 })],
    ['decorrelated max', () => decorrelated({ max: -1 })],
    ['ttl', () => retryBudget({ ttl: -1 })],
  ])('%s: a number from 0 to 2^31 - 1 (no Infinity)', async (argument, call) => {
    const error = await thrown(call);
    expect(error.argument).toBe(argument);
    expect(error.message).toContain(`Invalid ${argument}: expected a number from 0 to ${MAX}, received -1`);
  });

  it.each([
    ['ratio', () => retryBudget({ ratio: 1001 }), 'from 0 to 1000, received 1001'],
    ['minPerSecond', () => retryBudget({ minPerSecond: -1 }), 'from 0 to 1000000000, received -1'],
  ])('%s: its own range', async (argument, call, range) => {
    const error = await thrown(call);
    expect(error.argument).toBe(argument);
    expect(error.message).toContain(`Invalid ${argument}: expected a number ${range}`);
  });

  it('timeout, deadline and maxRetryAfter say that Infinity is allowed', async () => {
    const error = await thrown(() => retry(() => 1, { timeout: 0 }));
    expect(error.argument).toBe('timeout');
    expect(error.message).toContain(`expected a number from 1 to ${MAX} or Infinity, received 0`);
  });

  it('a budget ttl of 0 asks for more than 0 ms', async () => {
    const error = await thrown(() => retryBudget({ ttl: 0 }));
    expect(error.argument).toBe('ttl');
    expect(error.message).toContain('a number of ms > 0');
  });

  it('a jitter that is none of the three names them', async () => {
    const error = await thrown(() => linear({ jitter: 'random' as never }));
    expect(error.argument).toBe('linear jitter');
    expect(error.message).toContain("'none', 'full' or 'equal'");
  });

  it('retryBudget(options) not an object shows an options object', async () => {
    const error = await thrown(() => retryBudget(0.1 as never));
    expect(error.argument).toBe('options');
    expect(error.message).toContain('{ ratio: 0.1 }');
  });

  it.each([
    ['retry', () => retry('fetch' as never)],
    ['withRetry', () => withRetry('fetch' as never)],
  ])('%s: fn must be a function', async (_, call) => {
    const error = await thrown(call);
    expect(error.argument).toBe('fn');
    expect(error.message).toContain('expected a function, received a string');
  });

  it('a hook that is not a function says a function is expected', async () => {
    const error = await thrown(() => retry(() => 1, { onRetry: 'log' as never }));
    expect(error.argument).toBe('onRetry');
    expect(error.message).toContain('expected a function, received a string');
  });

  it('a signal stub without removeEventListener says an AbortSignal is expected', async () => {
    const stub = { aborted: false, addEventListener() {} };
    const error = await thrown(() => retry(() => 1, { signal: stub as never }));
    expect(error.argument).toBe('signal');
    expect(error.message).toContain('expected an AbortSignal, received an object');
  });
});

describe('what equivalent mutants showed redundant, kept as it was', () => {
  it('isRetryable(null) and isRetryable(undefined) are true (no property to read), and a thrown null is retried', async () => {
    expect(isRetryable(null)).toBe(true);
    expect(isRetryable(undefined)).toBe(true);
    let calls = 0;
    const error = await thrown(() =>
      retry(
        () => {
          calls++;
          throw null;
        },
        { backoff: constant(0) },
      ),
    );
    expect(calls).toBe(3);
    expect(error).toBeInstanceOf(RetryError);
  });

  it('parseRetryAfter(null | undefined) is no hint', () => {
    expect(parseRetryAfter(null, 0)).toBeUndefined();
    expect(parseRetryAfter(undefined, 0)).toBeUndefined();
  });

  it('a budget counts from an empty window: ttl x minPerSecond, then ratio x calls', () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0.5, minPerSecond: 1, ttl: 2000, clock });
    expect(budget.available()).toBe(2);
    budget.recordRequest();
    budget.recordRequest();
    expect(budget.available()).toBe(3);
    expect([budget.tryRetry(), budget.tryRetry(), budget.tryRetry(), budget.tryRetry()]).toEqual([
      true,
      true,
      true,
      false,
    ]);
    clock.advanceSync(2000);
    expect(budget.available()).toBe(2);
  });
});

describe('RetryError', () => {
  it("built without a reason (a user's stand-in) says 'attempts'", () => {
    const error = new RetryError(2, [new Error('boom')]);
    expect(error.reason).toBe('attempts');
    expect(error.message).toContain('(attempts)');
  });
});

describe('server hints', () => {
  it('a failure with retryAfterMs: 0 is retried at once, not after the backoff', async () => {
    const clock = createFakeClock();
    const delays: number[] = [];
    const result = await run(
      retry(
        ({ attempt }) => {
          if (attempt === 1) throw Object.assign(new Error('busy'), { retryAfterMs: 0 });
          return 'ok';
        },
        { clock, backoff: constant(5000), onRetry: ({ delay }) => delays.push(delay) },
      ),
      clock,
    );
    expect(result).toEqual({ ok: true, value: 'ok' });
    expect(delays).toEqual([0]);
  });

  it.each([
    'next Sun, 01 Mar 2026 12:00:30 GMT',
    'at Sun Mar  1 12:00:30 2026',
    'xSunday, 01-Mar-26 12:00:30 GMT',
  ])('a Retry-After with text before a date is no hint (%j: Date.parse reads it)', (value) => {
    expect(Date.parse(value)).not.toBeNaN();
    expect(parseRetryAfter(value, Date.parse('2026-03-01T12:00:00Z'))).toBeUndefined();
  });

  it('reads asctime-date as GMT where Date.parse reads a zoneless date as local time (UTC+9)', () => {
    // A zone of UTC+9 for Date.parse, set without TZ: a worker thread (vitest's threads pool) ignores a TZ change.
    const real = Date.parse;
    vi.spyOn(Date, 'parse').mockImplementation((text) =>
      / GMT$/.test(text) ? real(text) : real(`${text} GMT`) - 9 * 3_600_000,
    );
    const now = real('2026-03-01T12:00:00Z');
    expect(parseRetryAfter('Sun Mar  1 12:00:30 2026', now)).toBe(30_000);
    expect(parseRetryAfter('Sun Mar  1 12:00:00 2026', now)).toBe(0);
  });
});

describe('the shared signal of attempts nothing can abort', () => {
  const signalOf = async (module: { retry: typeof retry }): Promise<AbortSignal> =>
    module.retry(({ signal }) => signal);

  it('drops an onabort handler: assigning one does not throw and keeps no handler', async () => {
    const signal = await signalOf({ retry });
    const handler = (): void => {};
    signal.onabort = handler;
    expect(signal.onabort).not.toBe(handler);
    expect(signal.aborted).toBe(false);
  });

  it('is AbortSignal.any([]) (a signal without sources), created once', async () => {
    vi.resetModules();
    const any = vi.spyOn(AbortSignal, 'any');
    const fresh: { retry: typeof retry } = await import('@integ/retry');
    const signal = await signalOf(fresh);
    expect(any).toHaveBeenCalledTimes(1);
    expect(any).toHaveBeenCalledWith([]);
    expect(signal).toBe(any.mock.results[0]?.value);
    expect(await signalOf(fresh)).toBe(signal);
  });

  it('is a plain signal that never aborts on a runtime without AbortSignal.any()', async () => {
    vi.resetModules();
    const descriptor = Object.getOwnPropertyDescriptor(AbortSignal, 'any');
    Object.defineProperty(AbortSignal, 'any', { value: undefined, configurable: true, writable: true });
    try {
      const fresh: { retry: typeof retry } = await import('@integ/retry');
      const signal = await signalOf(fresh);
      expect(signal).toBeInstanceOf(AbortSignal);
      expect(signal.aborted).toBe(false);
    } finally {
      Object.defineProperty(AbortSignal, 'any', descriptor as PropertyDescriptor);
    }
  });
});
