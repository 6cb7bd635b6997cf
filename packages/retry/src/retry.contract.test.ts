/**
 * The promises, each tried against the public entry the way an outside test suite would:
 * the attempt context's shape, withRetry's `this`, no timer or listener left in any path, throwing
 * hooks, malformed server hints, the error cap and the backoff bounds.
 */
import { getEventListeners } from 'node:events';
import { InvalidArgumentError, TimeoutError } from '@integ/core';
import {
  type AttemptContext,
  constant,
  decorrelated,
  exponential,
  linear,
  parseRetryAfter,
  RetryBudgetError,
  type RetryError,
  retry,
  retryBudget,
  withRetry,
} from '@integ/retry';
import { createFakeClock, type FakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, expectTypeOf, it, vi } from 'vitest';
import { run } from './settle.test-support.js';

const boom = (message = 'boom') => new Error(message);
const listeners = (signal: AbortSignal) => getEventListeners(signal, 'abort').length;

describe('the attempt context', () => {
  it('is a plain { attempt, signal } when the caller passes a signal, so spreading it keeps the signal', async () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    const fn = vi.fn((_context: AttemptContext) => new Promise<never>(() => {}));
    const spread: AttemptContext[] = [];
    const promise = retry(
      (context) => {
        spread.push({ ...context });
        return fn(context);
      },
      { clock, signal: caller.signal, timeout: 100 },
    );
    const settled = promise.catch((e: unknown) => e);
    expect(fn).toHaveBeenCalledWith({ attempt: 1, signal: expect.any(AbortSignal) });
    caller.abort('gone');
    expect(await settled).toBe('gone');
    expect(spread[0]?.signal.aborted).toBe(true);
    expect(spread[0]?.signal.reason).toBe('gone');
  });

  it('has attempt and signal readable by destructuring and by objectContaining on the fast path', async () => {
    const fn = vi.fn(async ({ attempt, signal }: AttemptContext) => attempt + Number(signal.aborted));
    expect(await retry(fn)).toBe(1);
    expect(fn).toHaveBeenCalledWith(expect.objectContaining({ attempt: 1, signal: expect.any(AbortSignal) }));
  });
});

describe('withRetry', () => {
  it('calls fn with the wrapper’s `this` and every argument, on every attempt', async () => {
    const clock = createFakeClock();
    const seen: unknown[][] = [];
    const api = {
      base: 10,
      add: withRetry(
        function (this: { base: number }, a: number, b: string) {
          seen.push([this, a, b]);
          if (seen.length < 2) throw boom();
          return this.base + a + b.length;
        },
        { clock, backoff: constant(1) },
      ),
    };
    expectTypeOf(api.add).parameters.toEqualTypeOf<[number, string]>();
    expectTypeOf(withRetry((id: string) => id.length)).toEqualTypeOf<
      (this: unknown, id: string) => Promise<number>
    >();
    const result = await run(api.add(1, 'abc'), clock);
    expect(result).toEqual({ ok: true, value: 14 });
    expect(seen).toEqual([
      [api, 1, 'abc'],
      [api, 1, 'abc'],
    ]);
  });

  it('validates its options on each call with InvalidArgumentError, never calling fn', async () => {
    const fn = vi.fn();
    const wrapped = withRetry(fn, { attempts: 0 });
    await expect(wrapped()).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(fn).not.toHaveBeenCalled();
  });
});

describe('attempts', () => {
  it.each([[0], [-1], [2.5], [Number.NaN], [Number.NEGATIVE_INFINITY], ['3'], [null]])(
    'rejects %j with an InvalidArgumentError that says what to pass',
    async (attempts) => {
      const error = await retry(vi.fn(), { attempts: attempts as number }).catch((e: unknown) => e);
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect((error as InvalidArgumentError).code).toBe('ERR_INVALID_ARGUMENT');
      expect((error as Error).message).toMatch(
        /^Invalid attempts: expected an integer >= 1 or Infinity, received/,
      );
    },
  );

  it('accepts Infinity, bounded by the deadline', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const result = await run(
      retry(
        () => {
          calls++;
          throw boom();
        },
        { clock, attempts: Number.POSITIVE_INFINITY, backoff: constant(10), deadline: 1000 },
      ),
      clock,
    );
    expect(result.ok).toBe(false);
    expect((result as { error: RetryError }).error.reason).toBe('deadline');
    expect(calls).toBe(100);
    expect(clock.now()).toBeLessThan(1000);
  });

  it('keeps the last 100 errors of a long run, counts every attempt and has the last one as cause', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const result = await run(
      retry(
        () => {
          throw boom(String(++calls));
        },
        { clock, attempts: 150, backoff: constant(0) },
      ),
      clock,
    );
    const error = (result as { error: RetryError }).error;
    expect(error.attempts).toBe(150);
    expect(error.errors).toHaveLength(100);
    expect((error.errors[0] as Error).message).toBe('51');
    expect((error.cause as Error).message).toBe('150');
    expect(error.errors.at(-1)).toBe(error.cause);
  });
});

describe('no timer and no listener left behind', () => {
  // Each scenario runs with a caller signal, a per-attempt timeout and a deadline, so every timer kind exists.
  const scenarios: [
    string,
    (
      clock: FakeClock,
      caller: AbortController,
    ) => { fn: (context: AttemptContext) => unknown; act?: () => Promise<void>; options?: object },
  ][] = [
    ['success', () => ({ fn: async () => 'ok' })],
    ['synchronous success', () => ({ fn: () => 'ok' })],
    ['every attempt fails', () => ({ fn: async () => Promise.reject(boom()) })],
    [
      'a synchronous throw',
      () => ({
        fn: () => {
          throw boom();
        },
      }),
    ],
    ['every attempt times out', () => ({ fn: () => new Promise(() => {}) })],
    [
      'a non-retryable failure',
      () => ({ fn: async () => Promise.reject(Object.assign(boom(), { retryable: false })) }),
    ],
    [
      'the deadline passes during an attempt',
      () => ({ fn: () => new Promise(() => {}), options: { timeout: 5000, deadline: 300 } }),
    ],
    [
      'abort during an attempt',
      (clock, caller) => ({
        fn: () => new Promise(() => {}),
        act: async () => {
          await clock.advance(10);
          caller.abort('stop');
        },
      }),
    ],
    [
      'abort during the wait',
      (clock, caller) => ({
        fn: async () => Promise.reject(boom()),
        act: async () => {
          await clock.advance(20);
          caller.abort('stop');
        },
      }),
    ],
    [
      'abort from inside fn',
      (_clock, caller) => ({
        fn: () => {
          caller.abort('inside');
          return new Promise(() => {});
        },
      }),
    ],
    [
      'the budget is spent',
      (clock) => ({
        fn: async () => Promise.reject(boom()),
        options: { budget: retryBudget({ ratio: 0, minPerSecond: 0, clock }) },
      }),
    ],
    [
      'onRetry throws',
      () => ({
        fn: async () => Promise.reject(boom()),
        options: {
          onRetry: () => {
            throw boom('hook');
          },
        },
      }),
    ],
  ];

  it.each(scenarios)('when %s', async (_name, make) => {
    const clock = createFakeClock();
    const caller = new AbortController();
    const attemptSignals: AbortSignal[] = [];
    const { fn, act, options } = make(clock, caller);
    const promise = retry(
      (context) => {
        attemptSignals.push(context.signal);
        return fn(context);
      },
      { clock, signal: caller.signal, timeout: 100, deadline: 10_000, backoff: constant(50), ...options },
    );
    const settled = promise.then(
      () => undefined,
      () => undefined,
    );
    await act?.();
    await clock.runAll();
    await settled;
    expect(clock.pendingTimers).toBe(0);
    expect(listeners(caller.signal)).toBe(0);
    for (const signal of attemptSignals) expect(listeners(signal)).toBe(0);
  });

  it('when the signal is already aborted: no call, no timer, no listener', async () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    caller.abort('early');
    const fn = vi.fn();
    await expect(retry(fn, { clock, signal: caller.signal, timeout: 100, deadline: 1000 })).rejects.toBe(
      'early',
    );
    expect(fn).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
    expect(listeners(caller.signal)).toBe(0);
  });

  it('aborting the caller aborts the running attempt and frees its timer synchronously', async () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    let attemptSignal: AbortSignal | undefined;
    const settled = retry(
      ({ signal }) => {
        attemptSignal = signal;
        return new Promise(() => {});
      },
      { clock, signal: caller.signal, timeout: 1000 },
    ).catch((e: unknown) => e);
    await clock.advance(1);
    expect(clock.pendingTimers).toBe(1);
    caller.abort('now');
    expect(attemptSignal?.aborted).toBe(true);
    expect(attemptSignal?.reason).toBe('now');
    expect(clock.pendingTimers).toBe(0);
    expect(listeners(caller.signal)).toBe(0);
    expect(await settled).toBe('now');
  });

  it('aborting the caller cancels the pending wait synchronously', async () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    const fn = vi.fn(async () => Promise.reject(boom()));
    const settled = retry(fn, { clock, signal: caller.signal, backoff: constant(60_000) }).catch(
      (e: unknown) => e,
    );
    await clock.advance(1);
    expect(clock.pendingTimers).toBe(1);
    expect(listeners(caller.signal)).toBe(1);
    caller.abort('now');
    expect(clock.pendingTimers).toBe(0);
    expect(listeners(caller.signal)).toBe(0);
    expect(await settled).toBe('now');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('no unhandled rejection from attempts that were cut short and reject later', async () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    const late: ((error: unknown) => void)[] = [];
    const result = await run(
      retry(
        () =>
          new Promise((_, reject) => {
            late.push(reject);
          }),
        { clock, signal: caller.signal, timeout: 10, backoff: constant(0) },
      ),
      clock,
    );
    expect((result as { error: RetryError }).error.errors.every((e) => e instanceof TimeoutError)).toBe(true);
    for (const reject of late) reject(boom('too late'));
    await clock.advance(0);
  });
});

describe('throwing hooks', () => {
  it('a throwing onRetry stops retrying: retry rejects with the hook’s error and calls fn no more', async () => {
    const clock = createFakeClock();
    const hookError = boom('hook');
    const fn = vi.fn(async () => Promise.reject(boom()));
    const onGiveUp = vi.fn();
    const result = await run(
      retry(fn, {
        clock,
        backoff: constant(10),
        onRetry: () => {
          throw hookError;
        },
        onGiveUp,
      }),
      clock,
    );
    expect(result).toEqual({ ok: false, error: hookError });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onGiveUp).not.toHaveBeenCalled();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a throwing onGiveUp rejects with the hook’s error, once', async () => {
    const clock = createFakeClock();
    const hookError = boom('hook');
    const onGiveUp = vi.fn(() => {
      throw hookError;
    });
    const result = await run(
      retry(async () => Promise.reject(boom()), { clock, attempts: 2, backoff: constant(1), onGiveUp }),
      clock,
    );
    expect(result).toEqual({ ok: false, error: hookError });
    expect(onGiveUp).toHaveBeenCalledTimes(1);
  });
});

describe('throwing predicates', () => {
  it('a rejecting retryIf stops retrying with its error, leaving no listener', async () => {
    const clock = createFakeClock();
    const caller = new AbortController();
    const predicateError = boom('predicate');
    const fn = vi.fn(async () => Promise.reject(boom()));
    const onGiveUp = vi.fn();
    const result = await run(
      retry(fn, {
        clock,
        signal: caller.signal,
        retryIf: async () => Promise.reject(predicateError),
        onGiveUp,
      }),
      clock,
    );
    expect(result).toEqual({ ok: false, error: predicateError });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(onGiveUp).not.toHaveBeenCalled();
    expect(listeners(caller.signal)).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a throwing retryOnResult counts as the attempt failing, and is retried', async () => {
    const clock = createFakeClock();
    const predicateError = boom('cannot judge');
    let judged = 0;
    const result = await run(
      retry(({ attempt }) => attempt, {
        clock,
        backoff: constant(1),
        retryOnResult: () => {
          if (++judged === 1) throw predicateError;
          return false;
        },
      }),
      clock,
    );
    expect(result).toEqual({ ok: true, value: 2 });
  });
});

describe('server hints, hostile or malformed', () => {
  it.each([
    'abc 12',
    'soon 1',
    'Mon 5',
    'in 5',
    '2 minutes',
    '-5',
    '1e3',
    'Infinity',
    'NaN',
    '',
    ' ',
    '0x10',
  ])('parseRetryAfter(%j) is undefined (not a delay), so the backoff is used', (value) => {
    expect(parseRetryAfter(value, Date.parse('2024-01-01T00:00:00Z'))).toBeUndefined();
  });

  it.each([
    ['Wed, 21 Oct 2015 07:28:30 GMT', 30_000],
    ['Wednesday, 21-Oct-15 07:28:30 GMT', 30_000],
    ['Wed Oct 21 07:28:30 2015', 30_000],
  ])('still reads each HTTP-date format of RFC 9110 (%s)', (value, expected) => {
    expect(parseRetryAfter(value, Date.parse('2015-10-21T07:28:00Z'))).toBe(expected);
  });

  it('a malformed Retry-After on a thrown Response falls back to the backoff', async () => {
    const clock = createFakeClock();
    const delays: number[] = [];
    await run(
      retry(
        ({ attempt }) => {
          if (attempt === 1) throw new Response(null, { status: 503, headers: { 'Retry-After': 'soon 1' } });
          return 1;
        },
        { clock, backoff: constant(250), onRetry: ({ delay }) => delays.push(delay) },
      ),
      clock,
    );
    expect(delays).toEqual([250]);
  });

  it('property: any header value gives undefined or a finite delay >= 0, and retry waits within [0, maxRetryAfter]', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(
          fc.string(),
          fc.integer({ min: -1e15, max: 1e15 }).map(String),
          fc.double().map(String),
          fc.date({ noInvalidDate: true }).map((d) => d.toUTCString()),
        ),
        fc.constantFrom('retry-after', 'retry-after-ms'),
        fc.integer({ min: 0, max: 120_000 }),
        async (value, header, maxRetryAfter) => {
          let headers: Headers;
          try {
            headers = new Headers([[header, value]]);
          } catch {
            return; // not a valid header value at all
          }
          const parsed = parseRetryAfter(headers, 0);
          if (parsed !== undefined) {
            expect(Number.isFinite(parsed)).toBe(true);
            expect(parsed).toBeGreaterThanOrEqual(0);
          }
          const clock = createFakeClock();
          const delays: number[] = [];
          await run(
            retry(
              ({ attempt }) => {
                if (attempt === 1) throw new Response(null, { status: 503, headers });
                return 1;
              },
              { clock, maxRetryAfter, backoff: constant(7), onRetry: ({ delay }) => delays.push(delay) },
            ),
            clock,
          );
          expect(delays).toHaveLength(1);
          const delay = delays[0] as number;
          expect(Number.isFinite(delay)).toBe(true);
          expect(delay).toBeGreaterThanOrEqual(0);
          expect(delay === 7 || delay <= maxRetryAfter).toBe(true);
        },
      ),
      { numRuns: 300 },
    );
  });

  it.each([
    [Number.NaN, 7],
    [-1, 7],
    [Number.POSITIVE_INFINITY, 5000],
    [1e300, 5000],
    ['100', 7],
  ])('retryAfterMs %j waits %i ms (bad values ignored, huge ones capped)', async (retryAfterMs, expected) => {
    const clock = createFakeClock();
    const delays: number[] = [];
    await run(
      retry(
        ({ attempt }) => {
          if (attempt === 1) throw Object.assign(boom(), { retryAfterMs });
          return 1;
        },
        { clock, maxRetryAfter: 5000, backoff: constant(7), onRetry: ({ delay }) => delays.push(delay) },
      ),
      clock,
    );
    expect(delays).toEqual([expected]);
  });

  it('is not jittered: the hint is waited exactly whatever random returns', async () => {
    const clock = createFakeClock();
    const random = vi.fn(() => 0.3);
    const delays: number[] = [];
    await run(
      retry(
        ({ attempt }) => {
          if (attempt === 1) throw new Response(null, { status: 429, headers: { 'retry-after-ms': '1500' } });
          return 1;
        },
        {
          clock,
          random,
          backoff: exponential({ jitter: 'full' }),
          onRetry: ({ delay }) => delays.push(delay),
        },
      ),
      clock,
    );
    expect(delays).toEqual([1500]);
    expect(random).not.toHaveBeenCalled();
  });
});

describe('deadline', () => {
  it('property: retry settles by the deadline and starts no attempt at or after it, even if fn ignores its signal', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5000 }),
        fc.option(fc.integer({ min: 1, max: 3000 }), { nil: undefined }),
        fc.array(fc.oneof(fc.integer({ min: 0, max: 3000 }), fc.constant(-1)), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.integer(),
        async (deadline, timeout, durations, seed) => {
          const clock = createFakeClock({ now: 1_000_000 });
          const start = clock.now();
          const starts: number[] = [];
          let settledAt: number | undefined;
          let call = 0;
          const promise = retry(
            () => {
              starts.push(clock.now() - start);
              const duration = durations[call++ % durations.length] as number;
              // -1: never settles and ignores the signal
              return new Promise((_, reject) => {
                if (duration >= 0) clock.setTimeout(() => reject(boom()), duration);
              });
            },
            {
              clock,
              deadline,
              timeout,
              attempts: 20,
              backoff: decorrelated({ initial: 50, max: 2000 }),
              random: seededRandom(seed),
            },
          ).then(
            () => {},
            () => {
              settledAt = clock.now() - start;
            },
          );
          await clock.runAll();
          await promise;
          expect(settledAt).toBeDefined();
          expect(settledAt as number).toBeLessThanOrEqual(deadline);
          for (const at of starts) expect(at).toBeLessThan(deadline);
        },
      ),
      { numRuns: 200 },
    );
  });
});

describe('backoff bounds', () => {
  it('property: decorrelated draws each delay in [initial, min(max, 3 x previous)] (AWS)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1, max: 100_000 }),
        fc.integer(),
        (initial, max, seed) => {
          const backoff = decorrelated({ initial, max });
          const random = seededRandom(seed);
          let previousDelay = 0;
          for (let attempt = 1; attempt <= 20; attempt++) {
            const delay = backoff({ attempt, previousDelay, random });
            const upper = Math.min(max, 3 * (previousDelay || initial));
            expect(delay).toBeGreaterThanOrEqual(Math.min(initial, max));
            expect(delay).toBeLessThanOrEqual(Math.max(upper, Math.min(initial, max)));
            previousDelay = delay;
          }
        },
      ),
    );
  });

  it('property: linear with jitter stays within its bounds', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 1000 }),
        fc.integer({ min: 0, max: 20_000 }),
        fc.constantFrom('none' as const, 'full' as const, 'equal' as const),
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initial, step, max, jitter, attempt, r) => {
          const d = Math.min(max, initial + step * (attempt - 1));
          const delay = linear({ initial, step, max, jitter })({
            attempt,
            previousDelay: 0,
            random: () => r,
          });
          expect(delay).toBeLessThanOrEqual(d);
          expect(delay).toBeGreaterThanOrEqual(jitter === 'equal' ? d / 2 : jitter === 'none' ? d : 0);
        },
      ),
    );
  });

  it('the same seed gives the same waits, run after run', async () => {
    const waits = async () => {
      const clock = createFakeClock();
      const delays: number[] = [];
      await run(
        retry(async () => Promise.reject(boom()), {
          clock,
          attempts: 6,
          random: seededRandom(7),
          onRetry: ({ delay }) => delays.push(delay),
        }),
        clock,
      );
      return delays;
    };
    expect(await waits()).toEqual(await waits());
  });
});

describe('budget', () => {
  it('fails fast: no wait and no further call once spent, with an error that names the budget', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0, clock });
    const result = await run(
      retry(async () => Promise.reject(boom()), { clock, budget, backoff: constant(1000) }),
      clock,
    );
    expect(clock.now()).toBe(0);
    const error = (result as { error: RetryBudgetError }).error;
    expect(error).toBeInstanceOf(RetryBudgetError);
    expect(error.code).toBe('ERR_RETRY_BUDGET_EXHAUSTED');
    expect(error.message).toMatch(/budget/);
  });
});
