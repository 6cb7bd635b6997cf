/**
 * Black-box tests: written from the issue text, DESIGN.md and the README only, the way an outside test
 * suite would check the package (public entry, plain vitest idioms, the fake clock, fast-check, and a real
 * HTTP server on loopback for the server hints).
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { IntegError, InvalidArgumentError, isIntegError, TimeoutError } from '@integ/core';
import {
  type AttemptContext,
  constant,
  decorrelated,
  exponential,
  isRetryable,
  isRetryError,
  linear,
  parseRetryAfter,
  RejectedResultError,
  RetryBudgetError,
  RetryError,
  retry,
  retryBudget,
  withRetry,
} from '@integ/retry';
import { createFakeClock, drain, seededRandom, trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, expectTypeOf, it, vi } from 'vitest';

const boom = (n = 0): Error => new Error(`boom ${n}`);

/** A function that fails `failures` times (with distinct errors), then resolves with `value`. */
function failing<T>(failures: number, value: T) {
  let calls = 0;
  const thrown: Error[] = [];
  const fn = vi.fn(async (_ctx: AttemptContext): Promise<T> => {
    calls++;
    if (calls <= failures) {
      const error = boom(calls);
      thrown.push(error);
      throw error;
    }
    return value;
  });
  return { fn, thrown };
}

/** Settles `promise` and returns its rejection (or fails the test if it resolved). */
async function rejection(promise: Promise<unknown>): Promise<unknown> {
  try {
    await promise;
  } catch (error) {
    return error;
  }
  throw new Error('expected a rejection');
}

describe('retry(fn, options): basics', () => {
  it('resolves with the value of fn when the first call succeeds, calling it once', async () => {
    const fn = vi.fn(async () => 'ok');
    await expect(retry(fn)).resolves.toBe('ok');
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('passes { attempt, signal } to fn', async () => {
    const fn = vi.fn(async (_ctx: AttemptContext) => 1);
    await retry(fn);
    expect(fn).toHaveBeenCalledWith({ attempt: 1, signal: expect.any(AbortSignal) });
  });

  it('passes { attempt, signal } with a signal, timeout and deadline too', async () => {
    const clock = createFakeClock();
    const fn = vi.fn(async (_ctx: AttemptContext) => 1);
    await retry(fn, { signal: new AbortController().signal, timeout: 100, deadline: 1000, clock });
    expect(fn).toHaveBeenCalledWith({ attempt: 1, signal: expect.any(AbortSignal) });
    const ctx = fn.mock.calls[0]?.[0];
    expect({ ...ctx }).toEqual({ attempt: 1, signal: expect.any(AbortSignal) });
    expect(clock.pendingTimers).toBe(0);
  });

  it('accepts a synchronous fn, and a synchronous throw is retried', async () => {
    const clock = createFakeClock();
    let n = 0;
    const fn = vi.fn(() => {
      n++;
      if (n < 2) throw boom();
      return 'sync';
    });
    const p = retry(fn, { clock, backoff: constant(10) });
    await clock.runAll();
    await expect(p).resolves.toBe('sync');
    expect(fn).toHaveBeenCalledTimes(2);
  });

  it('numbers the attempts 1, 2, 3 and resolves after two failures', async () => {
    const clock = createFakeClock();
    const { fn } = failing(2, 'third time');
    const p = retry(fn, { clock, random: seededRandom(1) });
    await clock.runAll();
    await expect(p).resolves.toBe('third time');
    expect(fn.mock.calls.map(([ctx]) => ctx.attempt)).toEqual([1, 2, 3]);
  });

  it('makes 3 calls in total by default (the seed’s max_attempts=3), then rejects with RetryError', async () => {
    const clock = createFakeClock();
    const { fn, thrown } = failing(Number.POSITIVE_INFINITY, 'never');
    const p = retry(fn, { clock, random: seededRandom(2) });
    const settled = rejection(p);
    await clock.runAll();
    const error = await settled;
    expect(fn).toHaveBeenCalledTimes(3);
    expect(error).toBeInstanceOf(RetryError);
    expect(error).toBeInstanceOf(IntegError);
    expect(error).toBeInstanceOf(Error);
    expect(error).toMatchObject({ code: 'ERR_RETRY_EXHAUSTED', attempts: 3, reason: 'attempts' });
    expect((error as RetryError).errors).toEqual(thrown);
    expect((error as RetryError).cause).toBe(thrown[2]);
    expect(isRetryError(error)).toBe(true);
    expect(isIntegError(error, 'ERR_RETRY_EXHAUSTED')).toBe(true);
    expect(clock.pendingTimers).toBe(0);
  });

  it('counts the first call in `attempts`: attempts 1 means no retry, 5 means 5 calls', async () => {
    const clock = createFakeClock();
    const one = failing(Number.POSITIVE_INFINITY, 0);
    await expect(retry(one.fn, { attempts: 1, clock })).rejects.toMatchObject({
      code: 'ERR_RETRY_EXHAUSTED',
      attempts: 1,
    });
    expect(one.fn).toHaveBeenCalledTimes(1);

    const five = failing(Number.POSITIVE_INFINITY, 0);
    const p = rejection(retry(five.fn, { attempts: 5, clock, backoff: constant(1) }));
    await clock.runAll();
    expect(await p).toMatchObject({ attempts: 5 });
    expect(five.fn.mock.calls.map(([ctx]) => ctx.attempt)).toEqual([1, 2, 3, 4, 5]);
  });

  it('RetryError is not retryable itself, so nested retries do not multiply', async () => {
    const clock = createFakeClock();
    const inner = failing(Number.POSITIVE_INFINITY, 0);
    const p = rejection(
      retry(() => retry(inner.fn, { clock, backoff: constant(0) }), { clock, backoff: constant(0) }),
    );
    await clock.runAll();
    expect(await p).toBeInstanceOf(RetryError);
    expect(inner.fn).toHaveBeenCalledTimes(3);
  });

  it('its message carries the attempt count but not the failure’s message', async () => {
    const secret = new Error('password=hunter2');
    const error = await rejection(
      retry(
        () => {
          throw secret;
        },
        { attempts: 2, backoff: constant(0) },
      ),
    );
    expect((error as Error).message).toMatch(/2/);
    expect((error as Error).message).not.toContain('hunter2');
    expect((error as Error).cause).toBe(secret);
  });
});

describe('retry(): bad input rejects with InvalidArgumentError before fn is called', () => {
  const bad: [string, Record<string, unknown>][] = [
    ['attempts 0', { attempts: 0 }],
    ['attempts -1', { attempts: -1 }],
    ['attempts 1.5', { attempts: 1.5 }],
    ['attempts NaN', { attempts: Number.NaN }],
    ['attempts "3"', { attempts: '3' }],
    ['timeout -1', { timeout: -1 }],
    ['timeout NaN', { timeout: Number.NaN }],
    ['deadline -5', { deadline: -5 }],
    ['maxRetryAfter -1', { maxRetryAfter: -1 }],
    ['backoff 100', { backoff: 100 }],
    ['retryIf true', { retryIf: true }],
    ['onRetry "x"', { onRetry: 'x' }],
    ['random 0.5', { random: 0.5 }],
  ];
  it.each(bad)('%s', async (_name, options) => {
    const fn = vi.fn(async () => 1);
    const error = await rejection(retry(fn, options as never));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(fn).not.toHaveBeenCalled();
  });

  it('rejects (does not throw synchronously) when fn is not a function', async () => {
    let p: Promise<unknown> | undefined;
    expect(() => {
      p = retry('nope' as never);
    }).not.toThrow();
    await expect(p).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('accepts attempts: Infinity when a deadline bounds the call', async () => {
    const clock = createFakeClock();
    const { fn } = failing(Number.POSITIVE_INFINITY, 0);
    const p = rejection(
      retry(fn, { attempts: Number.POSITIVE_INFINITY, deadline: 1000, backoff: constant(100), clock }),
    );
    await clock.runAll();
    expect(await p).toMatchObject({ code: 'ERR_RETRY_EXHAUSTED', reason: 'deadline' });
    expect(fn.mock.calls.length).toBeGreaterThan(3);
  });
});

describe('retryIf and retryOnResult', () => {
  it('calls retryIf(error, { attempt, signal }) and stops when it says no, rejecting with the failure itself', async () => {
    const clock = createFakeClock();
    const { fn, thrown } = failing(Number.POSITIVE_INFINITY, 0);
    const retryIf = vi.fn((_e: unknown, ctx: AttemptContext) => ctx.attempt < 2);
    const p = rejection(retry(fn, { retryIf, clock, backoff: constant(10), attempts: 5 }));
    await clock.runAll();
    const error = await p;
    expect(fn).toHaveBeenCalledTimes(2);
    expect(retryIf).toHaveBeenNthCalledWith(1, thrown[0], { attempt: 1, signal: expect.any(AbortSignal) });
    expect(retryIf).toHaveBeenNthCalledWith(2, thrown[1], { attempt: 2, signal: expect.any(AbortSignal) });
    expect(error).toBe(thrown[1]);
  });

  it('accepts an async retryIf', async () => {
    const clock = createFakeClock();
    const { fn } = failing(Number.POSITIVE_INFINITY, 0);
    const p = rejection(retry(fn, { retryIf: async () => false, clock }));
    await clock.runAll();
    expect(await p).toBeInstanceOf(Error);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('retries a value retryOnResult rejects, and resolves with the first accepted value', async () => {
    const clock = createFakeClock();
    let n = 0;
    const fn = vi.fn(async () => ++n);
    const retryOnResult = vi.fn((value: number, _ctx: AttemptContext) => value < 3);
    const p = retry(fn, { retryOnResult, clock, backoff: constant(5) });
    await clock.runAll();
    await expect(p).resolves.toBe(3);
    expect(retryOnResult).toHaveBeenCalledWith(1, { attempt: 1, signal: expect.any(AbortSignal) });
    expect(retryOnResult).toHaveBeenCalledTimes(3);
  });

  it('rejects with RetryError whose cause is a RejectedResultError holding the last value', async () => {
    const clock = createFakeClock();
    const p = rejection(
      retry(async () => ({ status: 503 }), { retryOnResult: () => true, clock, backoff: constant(1) }),
    );
    await clock.runAll();
    const error = (await p) as RetryError;
    expect(error).toBeInstanceOf(RetryError);
    expect(error.attempts).toBe(3);
    expect(error.cause).toBeInstanceOf(RejectedResultError);
    expect(error.cause).toMatchObject({ value: { status: 503 }, code: 'ERR_RETRY_RESULT_REJECTED' });
    expect(error.errors).toHaveLength(3);
  });

  it('by default does not retry an AbortError thrown by fn', async () => {
    const abort = new DOMException('aborted', 'AbortError');
    const fn = vi.fn(async () => {
      throw abort;
    });
    await expect(retry(fn)).rejects.toBe(abort);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('by default does not retry an error marked retryable: false', async () => {
    const permanent = Object.assign(new Error('404'), { retryable: false });
    const fn = vi.fn(async () => {
      throw permanent;
    });
    await expect(retry(fn)).rejects.toBe(permanent);
    expect(fn).toHaveBeenCalledTimes(1);

    const integ = new IntegError('ERR_NOPE', 'no', { retryable: false });
    await expect(
      retry(() => {
        throw integ;
      }),
    ).rejects.toBe(integ);
  });

  it('retryIf returning true cannot resurrect a retryable: false error', async () => {
    const permanent = Object.assign(new Error('x'), { retryable: false });
    const fn = vi.fn(async () => {
      throw permanent;
    });
    await expect(retry(fn, { retryIf: () => true })).rejects.toBe(permanent);
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('retries everything else by default: plain errors, strings, retryable: true', async () => {
    const clock = createFakeClock();
    expect(isRetryable(new Error('x'))).toBe(true);
    expect(isRetryable('a string')).toBe(true);
    expect(isRetryable(undefined)).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { retryable: true }))).toBe(true);
    expect(isRetryable(new TimeoutError(10))).toBe(true);
    expect(isRetryable(Object.assign(new Error('x'), { retryable: false }))).toBe(false);
    expect(isRetryable(new DOMException('a', 'AbortError'))).toBe(false);
    let n = 0;
    const p = retry(
      async () => {
        n++;
        if (n === 1) throw 'a string';
        return n;
      },
      { clock, backoff: constant(1) },
    );
    await clock.runAll();
    await expect(p).resolves.toBe(2);
  });
});

describe('withRetry(fn, options)', () => {
  it('returns a function taking fn’s arguments, retried with the options', async () => {
    const clock = createFakeClock();
    let n = 0;
    const add = vi.fn(async (a: number, b: number) => {
      if (++n < 3) throw boom();
      return a + b;
    });
    const wrapped = withRetry(add, { clock, backoff: constant(10) });
    expect(typeof wrapped).toBe('function');
    const p = wrapped(2, 3);
    await clock.runAll();
    await expect(p).resolves.toBe(5);
    expect(add).toHaveBeenCalledTimes(3);
    expect(add).toHaveBeenLastCalledWith(2, 3);
  });

  it('keeps this, so it can wrap a method', async () => {
    const api = {
      base: 10,
      get: withRetry(async function (this: { base: number }, x: number) {
        return this.base + x;
      }),
    };
    await expect(api.get(5)).resolves.toBe(15);
  });

  it('rejects with RetryError after the attempts', async () => {
    const clock = createFakeClock();
    const fn = vi.fn(async () => {
      throw boom();
    });
    const p = rejection(withRetry(fn, { attempts: 2, clock, backoff: constant(1) })());
    await clock.runAll();
    expect(await p).toMatchObject({ code: 'ERR_RETRY_EXHAUSTED', attempts: 2 });
  });
});

describe('backoffs', () => {
  const ctx = (attempt: number, previousDelay = 0, random: () => number = () => 0.5) => ({
    attempt,
    previousDelay,
    random,
  });

  it('constant(ms) waits ms every time', () => {
    const b = constant(250);
    expect([1, 2, 3, 10].map((a) => b(ctx(a)))).toEqual([250, 250, 250, 250]);
  });

  it('linear() defaults to 100, 200, 300 with no jitter, capped by max', () => {
    const b = linear();
    expect([1, 2, 3].map((a) => b(ctx(a, 0, () => 0.1)))).toEqual([100, 200, 300]);
    const capped = linear({ initial: 100, step: 50, max: 180 });
    expect([1, 2, 3, 4].map((a) => capped(ctx(a)))).toEqual([100, 150, 180, 180]);
  });

  it('exponential({ jitter: "none" }) doubles from 100 and is capped at max', () => {
    const b = exponential({ jitter: 'none' });
    expect([1, 2, 3, 4].map((a) => b(ctx(a)))).toEqual([100, 200, 400, 800]);
    expect(b(ctx(30))).toBe(30_000);
    const c = exponential({ initial: 10, factor: 3, max: 100, jitter: 'none' });
    expect([1, 2, 3, 4].map((a) => c(ctx(a)))).toEqual([10, 30, 90, 100]);
  });

  it('exponential() full jitter stays in [0, d), equal jitter in [d/2, d) (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 60 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 1, max: 100_000 }),
        (attempt, r, initial, max) => {
          const d = Math.min(max, initial * 2 ** (attempt - 1));
          const full = exponential({ initial, max, jitter: 'full' })(ctx(attempt, 0, () => r));
          const equal = exponential({ initial, max, jitter: 'equal' })(ctx(attempt, 0, () => r));
          const none = exponential({ initial, max, jitter: 'none' })(ctx(attempt, 0, () => r));
          expect(none).toBe(d);
          expect(full).toBeGreaterThanOrEqual(0);
          expect(full).toBeLessThanOrEqual(d);
          expect(equal).toBeGreaterThanOrEqual(d / 2);
          expect(equal).toBeLessThanOrEqual(d);
        },
      ),
    );
  });

  it('linear() with jitter stays within its bounds (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 100 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        fc.constantFrom('none', 'full', 'equal' as const),
        (attempt, r, jitter) => {
          const d = Math.min(1000, 100 + 100 * (attempt - 1));
          const v = linear({ max: 1000, jitter: jitter as 'none' | 'full' | 'equal' })(
            ctx(attempt, 0, () => r),
          );
          expect(v).toBeGreaterThanOrEqual(jitter === 'equal' ? d / 2 : jitter === 'none' ? d : 0);
          expect(v).toBeLessThanOrEqual(d);
        },
      ),
    );
  });

  it('decorrelated() stays in [initial, min(max, 3 x previous)] (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 1000, max: 100_000 }),
        fc.array(fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }), {
          minLength: 1,
          maxLength: 30,
        }),
        (initial, max, randoms) => {
          const b = decorrelated({ initial, max });
          let previous = 0;
          randoms.forEach((r, i) => {
            const d = b(ctx(i + 1, previous, () => r));
            const upper = Math.min(max, Math.max(initial, (previous || initial) * 3));
            expect(d).toBeGreaterThanOrEqual(Math.min(initial, max));
            expect(d).toBeLessThanOrEqual(upper);
            previous = d;
          });
        },
      ),
    );
  });

  it('backoffs reject bad options with InvalidArgumentError', () => {
    expect(() => constant(-1)).toThrow(InvalidArgumentError);
    expect(() => constant(Number.NaN)).toThrow(InvalidArgumentError);
    expect(() => exponential({ factor: 0.5 })).toThrow(InvalidArgumentError);
    expect(() => exponential({ initial: -1 })).toThrow(InvalidArgumentError);
    expect(() => exponential({ jitter: 'sometimes' as never })).toThrow(InvalidArgumentError);
    expect(() => linear({ max: -1 })).toThrow(InvalidArgumentError);
    expect(() => decorrelated({ initial: Number.POSITIVE_INFINITY })).toThrow(InvalidArgumentError);
  });

  it('retry uses any function as a backoff, and reports its delay to onRetry', async () => {
    const clock = createFakeClock();
    const { fn } = failing(2, 'ok');
    const backoff = vi.fn(({ attempt }: { attempt: number }) => attempt * 10);
    const onRetry = vi.fn();
    const p = retry(fn, { clock, backoff, onRetry });
    await clock.runAll();
    await p;
    expect(onRetry.mock.calls.map(([e]) => e.delay)).toEqual([10, 20]);
    expect(backoff).toHaveBeenCalledWith(expect.objectContaining({ attempt: 1, previousDelay: 0 }));
    expect(backoff).toHaveBeenCalledWith(expect.objectContaining({ attempt: 2, previousDelay: 10 }));
    expect(clock.now()).toBe(30);
  });

  it('a backoff returning garbage rejects with InvalidArgumentError', async () => {
    const { fn } = failing(5, 'ok');
    await expect(retry(fn, { backoff: () => -1 })).rejects.toBeInstanceOf(InvalidArgumentError);
    await expect(retry(fn, { backoff: () => Number.NaN })).rejects.toBeInstanceOf(InvalidArgumentError);
  });

  it('default backoff is exponential from 100 ms with full jitter', async () => {
    const clock = createFakeClock();
    const { fn } = failing(2, 'ok');
    const onRetry = vi.fn();
    const p = retry(fn, { clock, random: () => 0.5, onRetry });
    await clock.runAll();
    await p;
    expect(onRetry.mock.calls.map(([e]) => e.delay)).toEqual([50, 100]);
  });

  it('is deterministic with an injected random and clock', async () => {
    const run = async () => {
      const clock = createFakeClock();
      const { fn } = failing(5, 'ok');
      const delays: number[] = [];
      const p = retry(fn, {
        attempts: 6,
        clock,
        random: seededRandom(42),
        backoff: decorrelated(),
        onRetry: ({ delay }) => delays.push(delay),
      });
      await clock.runAll();
      await p;
      return { delays, end: clock.now() };
    };
    const a = await run();
    const b = await run();
    expect(a).toEqual(b);
    expect(a.delays).toHaveLength(5);
    expect(a.end).toBe(a.delays.reduce((x, y) => x + y, 0));
  });

  it('real waits on the fake clock: the second attempt starts exactly after the delay', async () => {
    const clock = createFakeClock();
    const starts: number[] = [];
    const { fn } = failing(1, 'ok');
    const p = retry(
      (ctx) => {
        starts.push(clock.now());
        return fn(ctx);
      },
      { clock, backoff: constant(1000) },
    );
    await clock.advance(999);
    expect(starts).toEqual([0]);
    await clock.advance(1);
    expect(starts).toEqual([0, 1000]);
    await expect(p).resolves.toBe('ok');
  });
});

describe('timeouts and deadline', () => {
  it('a per-attempt timeout aborts the attempt’s signal with a TimeoutError and moves on', async () => {
    const clock = createFakeClock();
    const signals: AbortSignal[] = [];
    const fn = vi.fn(({ signal }: AttemptContext) => {
      signals.push(signal);
      return new Promise<never>(() => {});
    });
    const p = rejection(retry(fn, { timeout: 100, attempts: 2, backoff: constant(0), clock }));
    await clock.advance(99);
    expect(signals[0]?.aborted).toBe(false);
    await clock.advance(1);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(TimeoutError);
    expect(fn).toHaveBeenCalledTimes(2);
    await clock.advance(100);
    const error = (await p) as RetryError;
    expect(error).toBeInstanceOf(RetryError);
    expect(error.errors).toHaveLength(2);
    expect(error.errors[0]).toBeInstanceOf(TimeoutError);
    expect(error.cause).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(clock.now()).toBe(200);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a per-attempt timeout covers retryOnResult, which is part of the attempt', async () => {
    const clock = createFakeClock();
    const signals: AbortSignal[] = [];
    let n = 0;
    // The first result's check hangs (a slow body); the second is accepted at once.
    const retryOnResult = (_v: number, ctx: AttemptContext) => {
      signals.push(ctx.signal);
      return ++n === 1 ? new Promise<boolean>(() => {}) : false;
    };
    const p = retry(async ({ attempt }) => attempt, {
      timeout: 100,
      backoff: constant(0),
      retryOnResult,
      clock,
    });
    await clock.advance(100);
    expect(signals[0]?.aborted).toBe(true);
    expect(signals[0]?.reason).toBeInstanceOf(TimeoutError);
    await expect(p).resolves.toBe(2);
    expect(clock.now()).toBe(100);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a per-attempt timeout does not fire for a fast attempt and leaves no timer', async () => {
    const clock = createFakeClock();
    await expect(retry(async () => 'fast', { timeout: 100, clock })).resolves.toBe('fast');
    expect(clock.pendingTimers).toBe(0);
  });

  it('never starts an attempt past the deadline and settles by it', async () => {
    const clock = createFakeClock();
    const starts: number[] = [];
    const fn = vi.fn(async () => {
      starts.push(clock.now());
      throw boom();
    });
    let settledAt = -1;
    const p = rejection(
      retry(fn, { attempts: 10, backoff: constant(100), deadline: 250, clock }).finally(() => {
        settledAt = clock.now();
      }),
    );
    await clock.runAll();
    const error = await p;
    expect(starts).toEqual([0, 100, 200]);
    expect(error).toMatchObject({ code: 'ERR_RETRY_EXHAUSTED', reason: 'deadline', attempts: 3 });
    expect(settledAt).toBeLessThanOrEqual(250);
    expect(clock.pendingTimers).toBe(0);
  });

  it('the deadline aborts the running attempt when it passes', async () => {
    const clock = createFakeClock();
    let signal: AbortSignal | undefined;
    const p = rejection(
      retry(
        (ctx) => {
          signal = ctx.signal;
          return new Promise(() => {});
        },
        { deadline: 50, timeout: 1000, clock },
      ),
    );
    await clock.advance(50);
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toBeInstanceOf(TimeoutError);
    const error = await p;
    expect(isIntegError(error)).toBe(true);
    expect(clock.now()).toBe(50);
    expect(clock.pendingTimers).toBe(0);
  });

  it('no attempt starts at or after the deadline, and the call settles by it (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 500 }),
        fc.integer({ min: 1, max: 2000 }),
        fc.integer({ min: 0, max: 300 }),
        fc.option(fc.integer({ min: 1, max: 400 }), { nil: undefined }),
        async (delay, deadline, work, timeout) => {
          const clock = createFakeClock();
          const starts: number[] = [];
          let settledAt = -1;
          const p = rejection(
            retry(
              ({ signal }) => {
                starts.push(clock.now());
                return new Promise((_, reject) => {
                  const t = clock.setTimeout(() => reject(boom()), work);
                  signal.addEventListener('abort', () => {
                    clock.clearTimeout(t);
                    reject(signal.reason);
                  });
                });
              },
              { attempts: Number.POSITIVE_INFINITY, backoff: constant(delay), deadline, timeout, clock },
            ).finally(() => {
              settledAt = clock.now();
            }),
          );
          await clock.runAll();
          const error = await p;
          expect(error).toBeInstanceOf(RetryError);
          expect(starts.length).toBeGreaterThanOrEqual(1);
          for (const start of starts) expect(start).toBeLessThan(deadline);
          expect(settledAt).toBeLessThanOrEqual(deadline);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 60, seed: 7 },
    );
  });
});

describe('cancellation with signal', () => {
  it('aborting rejects at once with the reason, aborts the attempt’s signal, leaves nothing behind', async () => {
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    let attemptSignal: AbortSignal | undefined;
    const p = rejection(
      retry(
        (ctx) => {
          attemptSignal = ctx.signal;
          return new Promise(() => {});
        },
        { signal: tracked.signal, timeout: 1000, deadline: 5000, clock },
      ),
    );
    await clock.advance(10);
    const reason = new Error('caller left');
    tracked.abort(reason);
    expect(attemptSignal?.aborted).toBe(true);
    expect(attemptSignal?.reason).toBe(reason);
    expect(await p).toBe(reason);
    expect(clock.now()).toBe(10);
    expect(clock.pendingTimers).toBe(0);
    expect(tracked.listeners).toBe(0);
  });

  it('aborting during the wait cancels the sleep at once', async () => {
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    const { fn } = failing(Number.POSITIVE_INFINITY, 0);
    const p = rejection(retry(fn, { signal: tracked.signal, backoff: constant(10_000), clock }));
    await clock.advance(1);
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(1);
    tracked.abort('stop');
    expect(await p).toBe('stop');
    expect(clock.pendingTimers).toBe(0);
    expect(tracked.listeners).toBe(0);
    await clock.runAll();
    expect(fn).toHaveBeenCalledTimes(1);
  });

  it('an already aborted signal means fn is never called', async () => {
    const fn = vi.fn(async () => 1);
    const reason = new Error('already');
    await expect(retry(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
  });

  it('aborting while an async retryOnResult is pending rejects at once and aborts the attempt’s signal', async () => {
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    let attemptSignal: AbortSignal | undefined;
    // e.g. retryOnResult reading the body of a Response: it never finishes on its own here.
    const retryOnResult = vi.fn((_v: number, ctx: AttemptContext) => {
      attemptSignal = ctx.signal;
      return new Promise<boolean>(() => {});
    });
    const p = rejection(retry(async () => 1, { signal: tracked.signal, retryOnResult, clock }));
    await clock.advance(5);
    expect(retryOnResult).toHaveBeenCalledTimes(1);
    tracked.abort('caller left');
    expect(attemptSignal?.aborted).toBe(true);
    expect(await p).toBe('caller left');
    expect(tracked.listeners).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('aborting while an async retryIf is pending rejects at once', async () => {
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    const onGiveUp = vi.fn();
    const p = rejection(
      retry(
        async () => {
          throw boom();
        },
        { signal: tracked.signal, retryIf: () => new Promise<boolean>(() => {}), onGiveUp, clock },
      ),
    );
    await clock.advance(5);
    tracked.abort('caller left');
    expect(await p).toBe('caller left');
    expect(onGiveUp).toHaveBeenCalledWith(expect.objectContaining({ attempts: 1, reason: 'aborted' }));
    expect(tracked.listeners).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('the default abort reason is an AbortError DOMException', async () => {
    const ac = new AbortController();
    const p = rejection(retry(() => new Promise(() => {}), { signal: ac.signal }));
    ac.abort();
    const error = await p;
    expect(error).toMatchObject({ name: 'AbortError' });
  });

  it('leaves no listener on the caller’s signal after success, failure and exhaustion', async () => {
    const clock = createFakeClock();
    const tracked = trackedAbortController();
    await retry(async () => 1, { signal: tracked.signal, clock });
    const f = failing(1, 2);
    const p1 = retry(f.fn, { signal: tracked.signal, clock, backoff: constant(5) });
    await clock.runAll();
    await p1;
    const p2 = rejection(
      retry(async () => Promise.reject(boom()), { signal: tracked.signal, clock, backoff: constant(5) }),
    );
    await clock.runAll();
    await p2;
    const p3 = rejection(
      retry(
        async () => {
          throw Object.assign(boom(), { retryable: false });
        },
        { signal: tracked.signal, clock },
      ),
    );
    await p3;
    expect(tracked.listeners).toBe(0);
    expect(clock.pendingTimers).toBe(0);
  });

  it('no attempt starts after an abort (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 1000 }),
        fc.integer({ min: 0, max: 200 }),
        async (abortAt, delay) => {
          const clock = createFakeClock();
          const tracked = trackedAbortController();
          clock.setTimeout(() => tracked.abort('bye'), abortAt);
          const starts: number[] = [];
          const p = rejection(
            retry(
              async () => {
                starts.push(clock.now());
                throw boom();
              },
              { attempts: Number.POSITIVE_INFINITY, backoff: constant(delay), signal: tracked.signal, clock },
            ),
          );
          // delay 0 retries without a timer: bound the loop by the abort time instead.
          if (delay === 0) {
            await clock.advance(abortAt);
            tracked.abort('bye');
          } else await clock.runAll();
          expect(await p).toBe('bye');
          for (const s of starts) expect(s).toBeLessThanOrEqual(abortAt);
          const count = starts.length;
          await clock.runAll();
          expect(starts.length).toBe(count);
          expect(tracked.listeners).toBe(0);
          expect(clock.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 50, seed: 3 },
    );
  });
});

describe('server hints', () => {
  it('an error with retryAfterMs sets the next delay, not jittered', async () => {
    const clock = createFakeClock();
    const onRetry = vi.fn();
    let n = 0;
    const hinted = Object.assign(new Error('slow down'), { retryAfterMs: 1234 });
    const p = retry(
      async () => {
        if (++n === 1) throw hinted;
        return 'ok';
      },
      { clock, random: () => 0.5, onRetry },
    );
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
    expect(onRetry).toHaveBeenCalledWith({ attempt: 1, delay: 1234, error: hinted });
    expect(clock.now()).toBe(1234);
  });

  it('a hint is capped by maxRetryAfter (default 60 s)', async () => {
    const clock = createFakeClock();
    const delays: number[] = [];
    const p = rejection(
      retry(
        async () => {
          throw Object.assign(boom(), { retryAfterMs: 3_600_000 });
        },
        { clock, attempts: 2, onRetry: ({ delay }) => delays.push(delay) },
      ),
    );
    await clock.runAll();
    await p;
    expect(delays).toEqual([60_000]);

    const clock2 = createFakeClock();
    const delays2: number[] = [];
    const p2 = rejection(
      retry(
        async () => {
          throw Object.assign(boom(), { retryAfterMs: 5000 });
        },
        { clock: clock2, attempts: 2, maxRetryAfter: 1000, onRetry: ({ delay }) => delays2.push(delay) },
      ),
    );
    await clock2.runAll();
    await p2;
    expect(delays2).toEqual([1000]);
  });

  it('a hint past the deadline gives up instead of sleeping past it', async () => {
    const clock = createFakeClock();
    const fn = vi.fn(async () => {
      throw Object.assign(boom(), { retryAfterMs: 5000 });
    });
    const p = rejection(retry(fn, { clock, deadline: 1000 }));
    await clock.runAll();
    expect(await p).toMatchObject({ code: 'ERR_RETRY_EXHAUSTED', reason: 'deadline' });
    expect(fn).toHaveBeenCalledTimes(1);
    expect(clock.now()).toBeLessThanOrEqual(1000);
  });

  it('a rejected Response with Retry-After in seconds sets the delay', async () => {
    const clock = createFakeClock();
    const onRetry = vi.fn();
    let n = 0;
    const p = retry(
      async () =>
        ++n === 1 ? new Response(null, { status: 503, headers: { 'Retry-After': '2' } }) : new Response('ok'),
      { clock, retryOnResult: (r) => r.status >= 500, onRetry, random: () => 0.9 },
    );
    await clock.runAll();
    expect((await p).status).toBe(200);
    expect(onRetry.mock.calls[0]?.[0]).toMatchObject({ attempt: 1, delay: 2000 });
  });

  it('a thrown error with .response, an HTTP-date Retry-After, and retry-after-ms are honoured', async () => {
    const start = Date.UTC(2025, 0, 1, 12, 0, 0);
    const clock = createFakeClock({ now: start });
    const headers = [
      { 'Retry-After': new Date(start + 3000).toUTCString() },
      { 'retry-after-ms': '1500' },
      { 'retry-after-ms': '700', 'Retry-After': '100' },
    ];
    const delays: number[] = [];
    let n = 0;
    const p = retry(
      async () => {
        const h = headers[n++];
        if (h)
          throw Object.assign(new Error('http'), {
            response: new Response(null, { status: 429, headers: h }),
          });
        return 'done';
      },
      { clock, attempts: 4, onRetry: ({ delay }) => delays.push(delay) },
    );
    await clock.runAll();
    await expect(p).resolves.toBe('done');
    expect(delays).toEqual([3000, 1500, 700]);
  });

  it('a thrown Response is read for hints too', async () => {
    const clock = createFakeClock();
    const delays: number[] = [];
    let n = 0;
    const p = retry(
      async () => {
        if (n++ === 0) throw new Response(null, { status: 503, headers: { 'Retry-After': '1' } });
        return 1;
      },
      { clock, onRetry: ({ delay }) => delays.push(delay) },
    );
    await clock.runAll();
    await p;
    expect(delays).toEqual([1000]);
  });

  it('parseRetryAfter reads seconds, HTTP-dates and headers', () => {
    const now = Date.UTC(2025, 5, 1);
    expect(parseRetryAfter('120')).toBe(120_000);
    expect(parseRetryAfter('0')).toBe(0);
    expect(parseRetryAfter(new Date(now + 10_000).toUTCString(), now)).toBe(10_000);
    expect(parseRetryAfter(new Date(now - 10_000).toUTCString(), now)).toBe(0);
    expect(parseRetryAfter('soon')).toBeUndefined();
    expect(parseRetryAfter('-5')).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ 'retry-after': '3' }))).toBe(3000);
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '250', 'retry-after': '3' }))).toBe(250);
    expect(parseRetryAfter(new Headers())).toBeUndefined();
  });

  describe('over a real loopback server', () => {
    let server: Server;
    let url = '';
    let hits = 0;
    beforeAll(async () => {
      server = createServer((_req, res) => {
        hits++;
        if (hits === 1) {
          res.writeHead(503, { 'Retry-After': '2' }).end('busy');
        } else res.writeHead(200, { 'content-type': 'text/plain' }).end('hello');
      });
      await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
      url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
    });
    afterAll(async () => {
      await new Promise((resolve) => server.close(resolve));
    });

    it('waits what the server’s Retry-After says, then gets the answer', async () => {
      const clock = createFakeClock();
      let retried: (delay: number) => void = () => {};
      const retriedP = new Promise<number>((resolve) => {
        retried = resolve;
      });
      const p = retry(({ signal }) => fetch(url, { signal }), {
        clock,
        timeout: 10_000,
        retryOnResult: (res) => res.status === 503,
        onRetry: ({ delay }) => retried(delay),
      });
      const delay = await retriedP;
      expect(delay).toBe(2000);
      await clock.advance(2000);
      const res = await p;
      expect(res.status).toBe(200);
      await expect(res.text()).resolves.toBe('hello');
      expect(hits).toBe(2);
      expect(clock.pendingTimers).toBe(0);
    });
  });
});

describe('retryBudget({ ratio, minPerSecond })', () => {
  it('fails fast with RetryBudgetError when the budget is spent', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0.1, ttl: 10_000, clock }); // 1 retry per window
    const a = failing(Number.POSITIVE_INFINITY, 0);
    const p = rejection(retry(a.fn, { budget, clock, backoff: constant(1) }));
    await clock.runAll();
    const error = await p;
    expect(a.fn).toHaveBeenCalledTimes(2);
    expect(error).toBeInstanceOf(RetryBudgetError);
    expect(error).toBeInstanceOf(RetryError);
    expect(error).toMatchObject({ code: 'ERR_RETRY_BUDGET_EXHAUSTED', reason: 'budget', attempts: 2 });
    expect((error as Error).message).toMatch(/budget/i);
    expect(isRetryError(error)).toBe(true);

    const b = failing(Number.POSITIVE_INFINITY, 0);
    const p2 = rejection(retry(b.fn, { budget, clock, backoff: constant(1) }));
    await clock.runAll();
    expect(await p2).toBeInstanceOf(RetryBudgetError);
    expect(b.fn).toHaveBeenCalledTimes(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a budget does not stop calls that succeed', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0, clock });
    for (let i = 0; i < 20; i++) await expect(retry(async () => i, { budget, clock })).resolves.toBe(i);
  });

  it('refills after the window', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, ttl: 1000, clock });
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    clock.setNow(5000);
    expect(budget.tryRetry()).toBe(true);
  });

  it('rejects bad options with InvalidArgumentError', () => {
    expect(() => retryBudget({ ratio: -1 })).toThrow(InvalidArgumentError);
    expect(() => retryBudget({ minPerSecond: -1 })).toThrow(InvalidArgumentError);
    expect(() => retryBudget({ ttl: 0 })).toThrow(InvalidArgumentError);
    expect(() => retryBudget({ ratio: Number.NaN })).toThrow(InvalidArgumentError);
  });

  it('never lets retries exceed ratio x requests + minimum (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 5 }),
        fc.array(fc.integer({ min: 0, max: 6 }), { minLength: 1, maxLength: 40 }),
        async (ratio, minPerSecond, failuresPerCall) => {
          const clock = createFakeClock();
          const ttl = 1000;
          const budget = retryBudget({ ratio, minPerSecond, ttl, clock });
          let calls = 0;
          let retries = 0;
          for (const failures of failuresPerCall) {
            calls++;
            let n = 0;
            const p = retry(
              async () => {
                if (n++ > 0) retries++;
                if (n <= failures) throw boom();
                return n;
              },
              { attempts: 5, budget, clock, backoff: constant(0) },
            ).catch(() => undefined);
            await clock.runAll();
            await p;
          }
          expect(retries).toBeLessThanOrEqual(ratio * calls + (minPerSecond * ttl) / 1000 + 1e-9);
        },
      ),
      { numRuns: 100, seed: 11 },
    );
  });

  it('is shared: one budget throttles many concurrent calls', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ ratio: 0.1, minPerSecond: 0, ttl: 10_000, clock });
    let total = 0;
    const ps = Array.from({ length: 50 }, () =>
      rejection(
        retry(
          async () => {
            total++;
            throw boom();
          },
          { budget, clock, backoff: constant(10), attempts: 3 },
        ),
      ),
    );
    await clock.runAll();
    const errors = await Promise.all(ps);
    expect(total - 50).toBeLessThanOrEqual(5);
    expect(errors.filter((e) => e instanceof RetryBudgetError).length).toBeGreaterThan(0);
  });
});

describe('hooks', () => {
  it('onRetry({ attempt, delay, error }) after each retried failure', async () => {
    const clock = createFakeClock();
    const { fn, thrown } = failing(2, 'ok');
    const onRetry = vi.fn();
    const p = retry(fn, { clock, backoff: constant(100), onRetry });
    await clock.runAll();
    await p;
    expect(onRetry).toHaveBeenCalledTimes(2);
    expect(onRetry).toHaveBeenNthCalledWith(1, { attempt: 1, delay: 100, error: thrown[0] });
    expect(onRetry).toHaveBeenNthCalledWith(2, { attempt: 2, delay: 100, error: thrown[1] });
  });

  it('onRetry is called before the wait', async () => {
    const clock = createFakeClock();
    const { fn } = failing(1, 'ok');
    const onRetry = vi.fn();
    const p = retry(fn, { clock, backoff: constant(100), onRetry });
    await clock.advance(0);
    expect(onRetry).toHaveBeenCalledTimes(1);
    expect(clock.now()).toBe(0);
    await clock.runAll();
    await p;
  });

  it('onGiveUp once, with the attempts, the last error and the reason', async () => {
    const clock = createFakeClock();
    const { fn, thrown } = failing(Number.POSITIVE_INFINITY, 0);
    const onGiveUp = vi.fn();
    const onRetry = vi.fn();
    const p = rejection(retry(fn, { clock, backoff: constant(1), onGiveUp, onRetry }));
    await clock.runAll();
    await p;
    expect(onGiveUp).toHaveBeenCalledTimes(1);
    expect(onGiveUp).toHaveBeenCalledWith({ attempts: 3, error: thrown[2], reason: 'attempts' });
    expect(onRetry).toHaveBeenCalledTimes(2);
  });

  it('onGiveUp reports not-retryable and aborted', async () => {
    const permanent = Object.assign(boom(), { retryable: false });
    const onGiveUp = vi.fn();
    await rejection(
      retry(
        async () => {
          throw permanent;
        },
        { onGiveUp },
      ),
    );
    expect(onGiveUp).toHaveBeenCalledWith({ attempts: 1, error: permanent, reason: 'not-retryable' });

    const ac = new AbortController();
    const onGiveUp2 = vi.fn();
    const p = rejection(retry(() => new Promise(() => {}), { signal: ac.signal, onGiveUp: onGiveUp2 }));
    ac.abort('gone');
    await p;
    expect(onGiveUp2).toHaveBeenCalledWith(expect.objectContaining({ attempts: 1, reason: 'aborted' }));
  });

  it('hooks are not called when the first attempt succeeds', async () => {
    const onRetry = vi.fn();
    const onGiveUp = vi.fn();
    await retry(async () => 1, { onRetry, onGiveUp });
    expect(onRetry).not.toHaveBeenCalled();
    expect(onGiveUp).not.toHaveBeenCalled();
  });
});

describe('invariants (fast-check)', () => {
  it('attempts never exceed the limit, and failures before success are retried up to it', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 15 }),
        async (attempts, failures) => {
          const clock = createFakeClock();
          const { fn } = failing(failures, 'ok');
          const p = retry(fn, { attempts, clock, random: seededRandom(attempts * 31 + failures) }).then(
            (v) => ({ ok: true as const, v }),
            (e: unknown) => ({ ok: false as const, e }),
          );
          await clock.runAll();
          const out = await p;
          expect(fn.mock.calls.length).toBeLessThanOrEqual(attempts);
          expect(fn).toHaveBeenCalledTimes(Math.min(attempts, failures + 1));
          if (failures < attempts) expect(out).toEqual({ ok: true, v: 'ok' });
          else expect(out.ok ? undefined : out.e).toMatchObject({ attempts, code: 'ERR_RETRY_EXHAUSTED' });
        },
      ),
      { numRuns: 100, seed: 5 },
    );
  });

  it('each delay retry waits stays within the exponential bounds', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 500 }),
        fc.integer({ min: 1, max: 5000 }),
        fc.integer(),
        fc.constantFrom('none', 'full', 'equal' as const),
        async (initial, max, seed, jitter) => {
          const clock = createFakeClock();
          const delays: { attempt: number; delay: number }[] = [];
          const starts: number[] = [];
          const p = rejection(
            retry(
              async () => {
                starts.push(clock.now());
                throw boom();
              },
              {
                attempts: 8,
                clock,
                random: seededRandom(seed),
                backoff: exponential({ initial, max, jitter: jitter as 'none' | 'full' | 'equal' }),
                onRetry: ({ attempt, delay }) => delays.push({ attempt, delay }),
              },
            ),
          );
          await clock.runAll();
          await p;
          expect(delays).toHaveLength(7);
          delays.forEach(({ attempt, delay }, i) => {
            const d = Math.min(max, initial * 2 ** (attempt - 1));
            expect(delay).toBeLessThanOrEqual(d);
            expect(delay).toBeGreaterThanOrEqual(jitter === 'none' ? d : jitter === 'equal' ? d / 2 : 0);
            // The wait really is the reported delay.
            expect((starts[i + 1] ?? 0) - (starts[i] ?? 0)).toBeCloseTo(delay, 6);
          });
        },
      ),
      { numRuns: 60, seed: 9 },
    );
  });
});

describe('documented choices an outside tester may guess differently (README)', () => {
  it('the deadline gives up as soon as the next wait would reach it, instead of sleeping to it', async () => {
    const clock = createFakeClock();
    let settledAt = -1;
    const p = rejection(
      retry(
        async () => {
          throw boom();
        },
        { backoff: constant(1000), deadline: 1500, attempts: 10, clock },
      ).finally(() => {
        settledAt = clock.now();
      }),
    );
    await clock.runAll();
    expect(await p).toMatchObject({ reason: 'deadline', attempts: 2 });
    // Not 1500: the wait of 1000 ms after the second failure would end past the deadline.
    expect(settledAt).toBe(1000);
  });

  it('RetryError keeps the last 100 errors when there were more', async () => {
    let n = 0;
    const error = (await rejection(
      retry(
        async () => {
          throw boom(++n);
        },
        { attempts: 150, backoff: constant(0) },
      ),
    )) as RetryError;
    expect(error.attempts).toBe(150);
    expect(error.errors).toHaveLength(100);
    expect((error.errors[0] as Error).message).toBe('boom 51');
    expect((error.cause as Error).message).toBe('boom 150');
  });

  it('withRetry checks its options on each call, not when wrapping', async () => {
    const wrapped = withRetry(async () => 1, { attempts: 0 });
    await expect(wrapped()).rejects.toBeInstanceOf(InvalidArgumentError);
    expect(() => withRetry('nope' as never)).toThrow(InvalidArgumentError);
  });

  it('retryBudget counts in 10 buckets: retries stay within ratio x calls of the last ttl + minimum (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.double({ min: 0, max: 2, noNaN: true }),
        fc.integer({ min: 0, max: 3 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 400 }), fc.integer({ min: 0, max: 4 })), {
          minLength: 1,
          maxLength: 60,
        }),
        async (ratio, minPerSecond, steps) => {
          const ttl = 1000;
          const clock = createFakeClock();
          const budget = retryBudget({ ratio, minPerSecond, ttl, clock });
          const callsAt: number[] = [];
          const retriesAt: number[] = [];
          for (const [gap, failures] of steps) {
            clock.setNow(clock.now() + gap);
            callsAt.push(clock.now());
            let n = 0;
            await retry(
              async () => {
                if (n++ > 0) {
                  retriesAt.push(clock.now());
                  const t = clock.now();
                  // Every retry that happened: retries in the last 0.9 x ttl <= ratio x calls in the last ttl + min.
                  const recent = retriesAt.filter((r) => r > t - 0.9 * ttl).length;
                  const calls = callsAt.filter((c) => c > t - ttl).length;
                  expect(recent).toBeLessThanOrEqual(ratio * calls + (minPerSecond * ttl) / 1000 + 1e-9);
                }
                if (n <= failures) throw boom();
                return n;
              },
              { attempts: 5, budget, clock, backoff: constant(0) },
            ).catch(() => undefined);
          }
        },
      ),
      { numRuns: 100, seed: 13 },
    );
  });
});

describe('types', () => {
  it('retry resolves with fn’s type, withRetry keeps fn’s parameters', () => {
    expectTypeOf(retry(async () => 42)).toEqualTypeOf<Promise<number>>();
    expectTypeOf(retry(() => 'sync')).toEqualTypeOf<Promise<string>>();
    const wrapped = withRetry(async (id: string, n: number) => ({ id, n }));
    expectTypeOf(wrapped).parameters.toEqualTypeOf<[string, number]>();
    expectTypeOf(wrapped).returns.toEqualTypeOf<Promise<{ id: string; n: number }>>();
    expectTypeOf<AttemptContext>().toEqualTypeOf<{
      readonly attempt: number;
      readonly signal: AbortSignal;
    }>();
  });
});

describe('per-attempt timeout over a real socket', () => {
  let server: Server;
  let url = '';
  let hits = 0;
  let firstClosed: () => void = () => {};
  const closed = new Promise<void>((resolve) => {
    firstClosed = resolve;
  });
  beforeAll(async () => {
    server = createServer((req, res) => {
      if (++hits === 1) {
        // Never answers: only the client's abort ends this request.
        req.socket.on('close', () => firstClosed());
        return;
      }
      res.end('second');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('aborts the hanging fetch through the attempt’s signal and succeeds on the next attempt', async () => {
    const clock = createFakeClock();
    const requested = new Promise<void>((resolve) => server.once('request', () => resolve()));
    const p = retry(async ({ signal }) => (await fetch(url, { signal })).text(), {
      clock,
      timeout: 1000,
      backoff: constant(0),
    });
    await requested;
    await clock.advance(1000);
    await expect(p).resolves.toBe('second');
    expect(hits).toBe(2);
    await closed; // the first request's socket was closed by the abort (a hang here fails the test)
    expect(clock.pendingTimers).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------------
// Second, independent spec-first reading (2026-11-24): only what no other test of the package checks.

const MAX_MS = 2 ** 31 - 1;
const neverSettles = <T>(): Promise<T> => new Promise<T>(() => {});

/** Observes a promise's outcome without awaiting it (and without leaving its rejection unhandled). */
function observe<T>(promise: Promise<T>) {
  let state: 'pending' | 'fulfilled' | 'rejected' = 'pending';
  let value: T | undefined;
  let error: unknown;
  promise.then(
    (v) => {
      state = 'fulfilled';
      value = v;
    },
    (e: unknown) => {
      state = 'rejected';
      error = e;
    },
  );
  return { state: () => state, value: () => value, error: () => error };
}

// second reading, 2026-11-24
describe('second reading: backoff bounds at the edges, and option checks', () => {
  const at = (attempt: number, random: () => number, previousDelay = 0) => ({
    attempt,
    previousDelay,
    random,
  });
  const justBelowOne = () => 1 - 2 ** -53;

  it('equal jitter is d/2 + random() x d/2: a random within 2^-52 of 1 rounds it to d (README), below that it stays under d', () => {
    const equal = exponential({ jitter: 'equal', initial: 1000 });
    expect(equal(at(1, () => 0))).toBe(500);
    expect(equal(at(1, justBelowOne))).toBe(1000);
    expect(equal(at(1, () => 0.999_999))).toBeLessThan(1000);
    // full jitter cannot round up to d: its product stays below
    expect(exponential({ jitter: 'full', initial: 1000 })(at(1, justBelowOne))).toBeLessThan(1000);
    expect(linear({ jitter: 'full', initial: 1000 })(at(1, justBelowOne))).toBeLessThan(1000);
  });

  it('every backoff option is checked, values above 2^31 - 1 ms and a factor above 1e6 included', () => {
    expect(constant(MAX_MS)(at(1, Math.random))).toBe(MAX_MS);
    expect(exponential({ factor: 1e6, jitter: 'none', max: MAX_MS })(at(3, Math.random))).toBe(MAX_MS);
    const bad: (() => unknown)[] = [
      () => constant(2 ** 31),
      () => constant(Number.POSITIVE_INFINITY),
      () => linear({ initial: 2 ** 31 }),
      () => linear({ max: 2 ** 31 }),
      () => linear({ step: 2 ** 31 }),
      () => linear({ step: Number.NaN }),
      () => linear({ jitter: 'half' as never }),
      () => exponential({ initial: 2 ** 31 }),
      () => exponential({ max: 2 ** 31 }),
      () => exponential({ factor: 1e6 + 1 }),
      () => exponential({ factor: Number.POSITIVE_INFINITY }),
      () => decorrelated({ initial: 2 ** 31 }),
      () => decorrelated({ max: 2 ** 31 }),
      () => decorrelated({ max: '1' as never }),
    ];
    for (const make of bad) expect(make).toThrow(InvalidArgumentError);
  });
});

// second reading, 2026-11-24
describe('second reading: retry option boundaries', () => {
  it.each([
    ['attempts MAX_SAFE_INTEGER', { attempts: Number.MAX_SAFE_INTEGER }],
    ['timeout 1', { timeout: 1 }],
    ['timeout 2^31 - 1', { timeout: MAX_MS }],
    ['timeout Infinity', { timeout: Number.POSITIVE_INFINITY }],
    ['deadline 1', { deadline: 1 }],
    ['deadline 2^31 - 1', { deadline: MAX_MS }],
    ['deadline Infinity', { deadline: Number.POSITIVE_INFINITY }],
    ['maxRetryAfter 0', { maxRetryAfter: 0 }],
    ['maxRetryAfter 2^31 - 1', { maxRetryAfter: MAX_MS }],
    ['maxRetryAfter Infinity', { maxRetryAfter: Number.POSITIVE_INFINITY }],
  ])('accepts %s', async (_name, options) => {
    const clock = createFakeClock();
    await expect(retry(() => 'ok', { clock, ...options })).resolves.toBe('ok');
    expect(clock.pendingTimers).toBe(0);
  });

  it.each([
    ['timeout', { timeout: 2 ** 31 }],
    ['timeout', { timeout: 0 }],
    ['maxRetryAfter', { maxRetryAfter: 2 ** 31 }],
    ['deadline', { deadline: Number.NaN }],
  ])('rejects %s just outside its range', async (name, options) => {
    const fn = vi.fn(() => 'ok');
    const error = await rejection(retry(fn, options));
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect((error as InvalidArgumentError).argument).toBe(name);
    expect(fn).not.toHaveBeenCalled();
  });

  it('a timeout and a deadline of 2^31 - 1 ms fire then, not at once (as an oversized timer would)', async () => {
    const clock = createFakeClock();
    const p = observe(retry(() => neverSettles(), { clock, timeout: MAX_MS, deadline: MAX_MS, attempts: 1 }));
    await clock.advance(MAX_MS - 1);
    await drain();
    expect(p.state()).toBe('pending');
    await clock.advance(1);
    await drain();
    expect(p.state()).toBe('rejected');
    expect(clock.pendingTimers).toBe(0);
  });

  it('options null is no options (or a typed error), never a TypeError', async () => {
    const out = await retry(() => 1, null as never).catch((e: unknown) => e);
    if (out !== 1) expect(out).toBeInstanceOf(InvalidArgumentError);
  });
});

// second reading, 2026-11-24
describe('second reading: parseRetryAfter at the edges of RFC 9110', () => {
  const now = Date.UTC(1994, 10, 6, 8, 49, 0);

  it.each([' ', '+5', '0x10', '12abc', 'Infinity', 'NaN', '1.', '.5', '1.1234567'])(
    'no delay-seconds: %j gives undefined',
    (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    },
  );

  it.each(['Sun, 06 Nov 1994', '1994-11-06', '2024-01-01', 'Nov 6 1994'])(
    'a date without an hh:mm:ss time is no HTTP-date: %j gives undefined',
    (value) => {
      expect(parseRetryAfter(value, now)).toBeUndefined();
    },
  );

  it('a date followed by a comment is no HTTP-date, even one Date.parse reads; whitespace around one is trimmed', () => {
    const commented = `Sun, 06 Nov 1994 08:49:37 GMT (${'x'.repeat(40)})`;
    expect(Date.parse(commented)).toBe(Date.UTC(1994, 10, 6, 8, 49, 37));
    expect(parseRetryAfter(commented, now)).toBeUndefined();
    expect(parseRetryAfter(`  Sun, 06 Nov 1994 08:49:37 GMT${' '.repeat(40)}`, now)).toBe(37_000);
  });

  it('retry-after-ms may carry a fraction; a malformed one counts as missing, so Retry-After applies', () => {
    expect(parseRetryAfter(new Headers({ 'retry-after-ms': '12.5' }))).toBe(12.5);
    expect(parseRetryAfter(new Headers({ 'Retry-After': '2', 'retry-after-ms': 'soon' }))).toBe(2000);
    expect(parseRetryAfter({ 'retry-after': '2', 'retry-after-ms': '-1' })).toBe(2000);
  });
});

// second reading, 2026-11-24
describe('second reading: hints of Infinity', () => {
  async function firstWait(retryAfterMs: number, maxRetryAfter?: number): Promise<number | undefined> {
    const clock = createFakeClock();
    const delays: number[] = [];
    const p = retry(
      ({ attempt }) => (attempt === 1 ? Promise.reject(Object.assign(boom(), { retryAfterMs })) : 'ok'),
      {
        clock,
        attempts: 2,
        ...(maxRetryAfter === undefined ? {} : { maxRetryAfter }),
        onRetry: (e) => delays.push(e.delay),
      },
    );
    await clock.runAll();
    await expect(p).resolves.toBe('ok');
    return delays[0];
  }

  it('retryAfterMs: Infinity is capped by the default maxRetryAfter (60 s)', async () => {
    expect(await firstWait(Number.POSITIVE_INFINITY)).toBe(60_000);
  });

  it('with maxRetryAfter: Infinity, an Infinity hint still waits a real timer (2^31 - 1 ms), not none', async () => {
    expect(await firstWait(Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY)).toBe(MAX_MS);
    expect(await firstWait(120_000, Number.POSITIVE_INFINITY)).toBe(120_000);
  });
});

// second reading, 2026-11-24
describe('second reading: where time and randomness come from', () => {
  it('with a clock, nothing reads Date.now() or the global timers, and an HTTP-date hint is read against the clock', async () => {
    const clock = createFakeClock({ now: Date.UTC(1994, 10, 6, 8, 49, 0) });
    const dateNow = vi.spyOn(Date, 'now');
    const setTimer = vi.spyOn(globalThis, 'setTimeout');
    const clearTimer = vi.spyOn(globalThis, 'clearTimeout');
    const delays: number[] = [];
    try {
      const p = observe(
        retry(
          ({ attempt }) =>
            attempt === 1
              ? new Response(null, {
                  status: 503,
                  headers: { 'retry-after': 'Sun, 06 Nov 1994 08:49:37 GMT' },
                })
              : attempt === 2
                ? neverSettles<Response>()
                : new Response('ok'),
          {
            clock,
            timeout: 1000,
            deadline: 100_000,
            retryOnResult: (r) => r.status === 503,
            backoff: constant(5),
            onRetry: (e) => delays.push(e.delay),
          },
        ),
      );
      await clock.runAll();
      expect(p.state()).toBe('fulfilled');
      expect(delays).toEqual([37_000, 5]);
      expect(dateNow).not.toHaveBeenCalled();
      // the fake clock's own flush uses setImmediate; no timer with a delay came from retry
      expect(setTimer.mock.calls.filter((call) => call[1] !== 0 && call[1] !== undefined)).toEqual([]);
      expect(clearTimer).not.toHaveBeenCalled();
    } finally {
      dateNow.mockRestore();
      setTimer.mockRestore();
      clearTimer.mockRestore();
    }
  });

  it('the default random is Math.random', async () => {
    const random = vi.spyOn(Math, 'random').mockReturnValue(0.5);
    try {
      const clock = createFakeClock();
      const delays: number[] = [];
      const p = rejection(
        retry(() => Promise.reject(boom()), { clock, attempts: 2, onRetry: (e) => delays.push(e.delay) }),
      );
      await clock.runAll();
      await p;
      expect(random).toHaveBeenCalled();
      expect(delays).toEqual([50]); // exponential() full jitter below 100 ms
    } finally {
      random.mockRestore();
    }
  });
});

// second reading, 2026-11-24
describe("second reading: fn's own abort errors, thenables, re-entrant hooks", () => {
  /** Like libraries that reject with their own AbortError (not the signal's reason) when the signal aborts. */
  const ownAbortError = ({ signal }: AttemptContext): Promise<string> =>
    new Promise((_, reject) =>
      signal.addEventListener('abort', () =>
        reject(new DOMException('The operation was aborted', 'AbortError')),
      ),
    );

  it('an attempt cut by its timeout is retried even if fn then rejects with its own AbortError', async () => {
    const clock = createFakeClock();
    const p = observe(
      retry((ctx) => (ctx.attempt === 1 ? ownAbortError(ctx) : 'ok'), {
        clock,
        timeout: 100,
        backoff: constant(0),
      }),
    );
    await clock.runAll();
    expect(p.value()).toBe('ok');
  });

  it("at the deadline, fn's own AbortError does not replace RetryError (reason 'deadline')", async () => {
    const clock = createFakeClock();
    const p = observe(retry(ownAbortError, { clock, deadline: 100 }));
    await clock.runAll();
    expect(p.error()).toBeInstanceOf(RetryError);
    expect((p.error() as RetryError).reason).toBe('deadline');
    expect((p.error() as RetryError).errors[0]).toBeInstanceOf(TimeoutError);
  });

  it('fn may return any thenable (PromiseLike), fulfilled or rejected', async () => {
    let calls = 0;
    const thenable = (ok: boolean): PromiseLike<string> => ({
      // biome-ignore lint/suspicious/noThenProperty: fn may return any thenable, not only a Promise
      then: ((resolve: (v: string) => void, reject: (e: unknown) => void) => {
        if (ok) resolve('t');
        else reject(boom());
      }) as PromiseLike<string>['then'],
    });
    await expect(retry(() => thenable(++calls > 1), { backoff: constant(0) })).resolves.toBe('t');
    expect(calls).toBe(2);
  });

  it('a hook may start another retry on the same clock; both settle and leave no timer', async () => {
    const clock = createFakeClock();
    const inner: Promise<string>[] = [];
    const outer = observe(
      retry(({ attempt }) => (attempt < 2 ? Promise.reject(boom()) : 'outer'), {
        clock,
        backoff: constant(10),
        onRetry: () => {
          inner.push(
            retry(({ attempt }) => (attempt < 2 ? Promise.reject(boom()) : 'inner'), {
              clock,
              backoff: constant(5),
            }),
          );
        },
      }),
    );
    await clock.runAll();
    expect(outer.value()).toBe('outer');
    await expect(inner[0]).resolves.toBe('inner');
    expect(clock.pendingTimers).toBe(0);
  });
});

// second reading, 2026-11-24
describe('second reading: abort at every microtask point', () => {
  it('property: aborting after any number of microtask turns rejects with the reason, calls fn no more, leaves nothing', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 0, max: 60 }),
        fc.boolean(),
        fc.boolean(),
        fc.integer({ min: 1, max: 4 }),
        async (turns, asyncPredicates, guarded, attempts) => {
          const clock = createFakeClock();
          const caller = trackedAbortController();
          let aborted = false;
          let callsAfterAbort = 0;
          const onGiveUp = vi.fn();
          const p = observe(
            retry(
              async ({ attempt }) => {
                if (aborted) callsAfterAbort++;
                await Promise.resolve();
                if (attempt % 2 === 1) throw boom(attempt);
                return attempt;
              },
              {
                clock,
                attempts,
                backoff: constant(0),
                signal: caller.signal,
                onGiveUp,
                ...(guarded ? { timeout: 1000, deadline: 5000 } : {}),
                ...(asyncPredicates
                  ? { retryIf: async () => true, retryOnResult: async (v: number) => v < 4 }
                  : { retryOnResult: (v: number) => v < 4 }),
              },
            ),
          );
          for (let i = 0; i < turns; i++) await Promise.resolve();
          // onGiveUp runs just before retry rejects: a call before the abort means it had already decided
          const decidedBefore = onGiveUp.mock.calls.length > 0;
          aborted = true;
          caller.abort('stop');
          await drain();
          await clock.runAll();
          expect(callsAfterAbort).toBe(0);
          expect(p.state()).not.toBe('pending');
          if (p.state() === 'rejected' && !decidedBefore) {
            expect(p.error()).toBe('stop');
            expect(onGiveUp.mock.calls.map((c) => c[0].reason)).toEqual(['aborted']);
          }
          if (decidedBefore) expect(p.error()).not.toBe('stop');
          expect(clock.pendingTimers).toBe(0);
          expect(caller.listeners).toBe(0);
        },
      ),
      { numRuns: 300 },
    );
  });
});

// second reading, 2026-11-24
describe('second reading: budgets', () => {
  it('ratio is checked from 0 to 1000, minPerSecond and ttl as numbers, ttl up to 2^31 - 1', () => {
    for (const options of [
      { ratio: 1001 },
      { minPerSecond: Number.NaN },
      { ttl: Number.NaN },
      { ttl: 2 ** 31 },
    ])
      expect(() => retryBudget(options)).toThrow(InvalidArgumentError);
    expect(() => retryBudget({ ratio: 0 })).not.toThrow();
    expect(() => retryBudget({ ratio: 1000 })).not.toThrow();
  });

  it('attempts: Infinity is bounded by a budget (RetryBudgetError once it is spent)', async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ clock, ratio: 0, minPerSecond: 1, ttl: 5000 }); // 5 retries in reserve
    const fn = vi.fn(() => Promise.reject(boom()));
    const p = observe(retry(fn, { clock, budget, attempts: Number.POSITIVE_INFINITY, backoff: constant(0) }));
    await clock.runAll();
    expect(p.error()).toBeInstanceOf(RetryBudgetError);
    expect(fn).toHaveBeenCalledTimes(6);
  });
});

// second reading, 2026-11-24
describe('second reading: isRetryError across copies', () => {
  it('recognises either retry error by the string brand and code, as another copy of the package makes them', () => {
    expect(isRetryError({ '@@integ/error': true, code: 'ERR_RETRY_EXHAUSTED' })).toBe(true);
    expect(isRetryError({ '@@integ/error': true, code: 'ERR_RETRY_BUDGET_EXHAUSTED' })).toBe(true);
    expect(isRetryError({ '@@integ/error': true, code: 'ERR_TIMEOUT' })).toBe(false);
    expect(isRetryError({ code: 'ERR_RETRY_EXHAUSTED' })).toBe(false);
    expect(isRetryError(null)).toBe(false);
  });
});

// second reading, 2026-11-24
describe('second reading: a streaming 503 over loopback', () => {
  let server: Server;
  let url = '';
  let closed: Promise<unknown> | undefined;
  let hits = 0;
  beforeAll(async () => {
    server = createServer((_req, res) => {
      hits++;
      if (hits === 1) {
        closed = once(res, 'close');
        res.writeHead(503, { 'retry-after': '0' });
        res.write('partial'); // and never ends
        return;
      }
      res.writeHead(200).end('ok');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
  });
  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('the unread body of a 503 that retryOnResult turns down is cancelled: the server sees that response closed', async () => {
    // Which bodies retry cancelled, seen on the body itself: an unread body left alone is closed too in the end
    // (undici cancels it once collected, seconds later), so the server's close alone could not tell.
    const cancelled: number[] = [];
    const response = await retry(
      async ({ signal }) => {
        const res = await fetch(url, { signal });
        const body = res.body;
        if (body) {
          const cancel = body.cancel.bind(body);
          body.cancel = (reason?: unknown) => {
            cancelled.push(res.status);
            return cancel(reason);
          };
        }
        return res;
      },
      { retryOnResult: (r) => r.status >= 500, deadline: 5000 },
    );
    expect(await response.text()).toBe('ok');
    expect(cancelled).toEqual([503]);
    // The close travels over the real socket: wait for it, with a limit a loaded machine does not reach.
    let seen = false;
    void closed?.then(() => {
      seen = true;
    });
    await vi.waitFor(() => expect(seen, 'the 503 response is still open').toBe(true), {
      timeout: 10_000,
      interval: 5,
    });
  });
});
