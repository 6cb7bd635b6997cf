/**
 * Review round 33: cross-review of 9bf6798 (the fail path reads the system clock only for a deadline or an
 * HTTP-date hint, and a hook that returns nothing gets no promise). Checked differentially against 9bf6798^ (both
 * built, fast-check over a fake time given as `clock` or installed as Date.now and the global timers, random
 * attempts, deadlines, timeouts, maxRetryAfter, failures with every kind of hint, every kind of hook return): no
 * difference in outcome, delays, call times, the given clock's reads or unhandled rejections. These pin what was
 * kept: with no `deadline` a start that reads NaN (no system clock read) never gives up for a deadline, as Infinity
 * did; hints on the system clock (fake timers mocking Date.now) give the delays a given clock gives; a hook's
 * return value, whatever it is, is never an unhandled rejection.
 */
import { constant, type RetryOptions, retry } from '@integ/retry';
import { createFakeClock, drain } from '@integ/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it, vi } from 'vitest';

// A whole second, so an HTTP-date (second resolution) is exact.
const T0 = Date.UTC(2026, 10, 25, 4, 0, 0);

afterEach(() => {
  vi.useRealTimers();
  vi.restoreAllMocks();
});

interface Seen {
  outcome: unknown;
  delays: number[];
  calls: number[];
}

/**
 * Runs retry with `fail(n, now)` as the n-th attempt's failure (undefined: success), on a given fake clock or,
 * with `clock: false`, on vitest's fake timers (Date.now and the global timers mocked): records the outcome, the
 * onRetry delays and the time of each call.
 */
async function attempt(
  fail: (n: number, now: number) => unknown,
  options: RetryOptions<string>,
  given: boolean,
): Promise<Seen> {
  const seen: Seen = { outcome: 'pending', delays: [], calls: [] };
  const clock = given ? createFakeClock({ now: T0 }) : undefined;
  if (!given) vi.useFakeTimers({ now: T0 });
  const now = (): number => (clock ? clock.now() : Date.now());
  let n = 0;
  const promise = retry(
    async () => {
      seen.calls.push(now() - T0);
      const failure = fail(++n, now());
      if (failure !== undefined) throw failure;
      return 'ok';
    },
    { ...options, ...(clock ? { clock } : {}), onRetry: ({ delay }) => void seen.delays.push(delay) },
  );
  promise.then(
    (value) => {
      seen.outcome = value;
    },
    (error: { name?: string; reason?: string; attempts?: number }) => {
      seen.outcome = [error.name, error.reason, error.attempts];
    },
  );
  if (clock) await clock.runAll();
  else await vi.runAllTimersAsync();
  // Every promise callback has run once drain()'s turns passed (it takes real ones under vitest's fake timers).
  await drain();
  vi.useRealTimers();
  return seen;
}

describe('no deadline: the start is NaN (no clock read), never reached, as Infinity was (9bf6798)', () => {
  for (const reading of [T0, Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
    it(`a given clock reading ${reading}: every attempt runs, read once at the start and once per retry`, async () => {
      const clock = createFakeClock({ now: T0 });
      const now = vi.fn(() => reading);
      const seen: number[] = [];
      const promise = retry(
        () => {
          throw new Error('down');
        },
        {
          attempts: 4,
          backoff: constant(100),
          clock: { now, setTimeout: clock.setTimeout, clearTimeout: clock.clearTimeout },
          onRetry: ({ delay }) => void seen.push(delay),
        },
      );
      const settled = promise.catch((error: { reason?: string; attempts?: number }) => error);
      await clock.runAll();
      expect(await settled).toMatchObject({ reason: 'attempts', attempts: 4 });
      expect(seen).toEqual([100, 100, 100]);
      // As before 9bf6798: a clock given is read exactly as it was.
      expect(now).toHaveBeenCalledTimes(4);
    });

    it(`the system clock mocked to read ${reading}: every attempt runs, and it is not read at all`, async () => {
      vi.useFakeTimers({ now: T0 });
      const dateNow = vi.spyOn(Date, 'now').mockReturnValue(reading);
      const promise = retry(
        () => {
          throw new Error('down');
        },
        { attempts: 4, backoff: constant(100) },
      );
      const settled = promise.catch((error: { reason?: string; attempts?: number }) => error);
      await vi.runAllTimersAsync();
      expect(await settled).toMatchObject({ reason: 'attempts', attempts: 4 });
      expect(dateNow).not.toHaveBeenCalled();
    });
  }

  it('a deadline on the system clock (fake timers) still gives up before an attempt it could not start', async () => {
    const fails = () => new Error('down');
    for (const given of [true, false]) {
      const seen = await attempt(fails, { attempts: 10, backoff: constant(100), deadline: 250 }, given);
      expect(seen).toEqual({
        outcome: ['RetryError', 'deadline', 3],
        delays: [100, 100],
        calls: [0, 100, 200],
      });
    }
  });
});

describe('hints on the system clock (Date.now mocked by fake timers) wait as on a given clock (9bf6798)', () => {
  const date = (now: number, s: number): string => new Date(now + s * 1000).toUTCString();
  const cases: [string, (now: number) => unknown, number][] = [
    ['Retry-After seconds (Headers)', () => ({ headers: new Headers({ 'retry-after': '2' }) }), 2000],
    [
      'Retry-After HTTP-date (Headers)',
      (now) => ({ headers: new Headers({ 'retry-after': date(now, 30) }) }),
      30_000,
    ],
    ['Retry-After HTTP-date (plain object)', (now) => ({ headers: { 'retry-after': date(now, 7) } }), 7000],
    [
      'Retry-After HTTP-date on .response (axios, got)',
      (now) => ({ response: { headers: new Headers({ 'retry-after': date(now, 12) }) } }),
      12_000,
    ],
    ['Retry-After HTTP-date in the past', (now) => ({ headers: { 'retry-after': date(now, -60) } }), 0],
    ['retry-after-ms', () => ({ headers: new Headers({ 'retry-after-ms': '1500' }) }), 1500],
    ['retryAfterMs', () => Object.assign(new Error('down'), { retryAfterMs: 300 }), 300],
  ];
  for (const [name, hint, ms] of cases)
    for (const given of [true, false])
      it(`${name}, ${given ? 'a given clock' : 'the system clock'}: waits ${ms} ms`, async () => {
        const seen = await attempt((n, now) => (n < 3 ? hint(now) : undefined), { attempts: 3 }, given);
        expect(seen).toEqual({ outcome: 'ok', delays: [ms, ms], calls: [0, ms, 2 * ms] });
      });

  it('a date hint past the deadline gives up at once, on either clock', async () => {
    for (const given of [true, false]) {
      const seen = await attempt(
        (_, now) => ({ headers: new Headers({ 'retry-after': date(now, 30) }) }),
        { attempts: 5, deadline: 20_000 },
        given,
      );
      expect(seen).toEqual({ outcome: ['RetryError', 'deadline', 1], delays: [], calls: [0] });
    }
  });

  it('property: a given fake clock and fake timers mocking Date.now give the same waits, calls and outcome', async () => {
    const failure = fc.record({
      kind: fc.constantFrom('plain', 'ms', 'headers', 'object', 'response', 'not-retryable', 'ok'),
      secs: fc.integer({ min: -5, max: 90 }),
      asDate: fc.boolean(),
      headerMs: fc.boolean(),
    });
    type Failure = typeof failure extends fc.Arbitrary<infer F> ? F : never;
    const make = (f: Failure | undefined, now: number): unknown => {
      if (!f || f.kind === 'ok') return undefined;
      const value = f.asDate ? new Date(now + f.secs * 1000).toUTCString() : String(Math.abs(f.secs));
      const headers = f.headerMs
        ? { 'retry-after-ms': String(Math.abs(f.secs) * 10) }
        : { 'retry-after': value };
      if (f.kind === 'ms') return Object.assign(new Error('down'), { retryAfterMs: Math.abs(f.secs) * 10 });
      if (f.kind === 'headers') return { headers: new Headers(headers) };
      if (f.kind === 'object') return { headers };
      if (f.kind === 'response') return { response: { headers: new Headers(headers) } };
      if (f.kind === 'not-retryable') return Object.assign(new Error('bad'), { retryable: false });
      return new Error('down');
    };
    await fc.assert(
      fc.asyncProperty(
        fc.array(failure, { maxLength: 5 }),
        fc.integer({ min: 1, max: 6 }),
        fc.option(fc.integer({ min: 1, max: 200_000 }), { nil: undefined }),
        fc.option(fc.integer({ min: 0, max: 100_000 }), { nil: undefined }),
        async (failures, attempts, deadline, maxRetryAfter) => {
          // A constant backoff: vitest's fake Date.now() reads whole ms, a fractional jittered wait would differ there.
          const options: RetryOptions<string> = { attempts, deadline, maxRetryAfter, backoff: constant(100) };
          const fail = (n: number, now: number): unknown => make(failures[n - 1], now);
          expect(await attempt(fail, options, false)).toEqual(await attempt(fail, options, true));
        },
      ),
      { seed: 33, numRuns: 150 },
    );
  });
});

describe('a hook returning anything is never an unhandled rejection (quiet(), 9bf6798)', () => {
  const returns: [string, () => unknown][] = [
    ['undefined', () => undefined],
    ['0', () => 0],
    ["''", () => ''],
    ['false', () => false],
    ['null', () => null],
    ['an object', () => ({})],
    ['a rejected promise', () => Promise.reject(new Error('hook'))],
    [
      'a thenable whose then throws',
      () => ({
        // biome-ignore lint/suspicious/noThenProperty: a thenable is what is tested
        then: () => {
          throw new Error('then');
        },
      }),
    ],
    [
      'an object whose then getter throws',
      () =>
        Object.defineProperty({}, 'then', {
          get() {
            throw new Error('getter');
          },
        }),
    ],
    [
      'an async function that throws',
      async () => {
        throw new Error('async');
      },
    ],
  ];
  for (const [name, hook] of returns)
    it(`onRetry and onGiveUp returning ${name}: retry settles as usual, nothing unhandled`, async () => {
      const unhandled: unknown[] = [];
      const listener = (reason: unknown): void => void unhandled.push(reason);
      process.on('unhandledRejection', listener);
      try {
        const clock = createFakeClock();
        const onRetry = vi.fn(hook);
        const onGiveUp = vi.fn(hook);
        const fails = retry(
          () => {
            throw new Error('down');
          },
          { attempts: 3, backoff: constant(10), clock, onRetry, onGiveUp },
        ).catch((error: { reason?: string }) => error.reason);
        let n = 0;
        const succeeds = retry(() => (++n < 3 ? Promise.reject(new Error('down')) : 'ok'), {
          attempts: 3,
          backoff: constant(10),
          clock,
          onRetry,
        });
        await clock.runAll();
        expect(await fails).toBe('attempts');
        expect(await succeeds).toBe('ok');
        expect(onRetry).toHaveBeenCalledTimes(4);
        expect(onGiveUp).toHaveBeenCalledTimes(1);
        // Rejections left unhandled are reported after a macrotask turn.
        await drain();
        expect(unhandled).toEqual([]);
      } finally {
        process.off('unhandledRejection', listener);
      }
    });
});
