/**
 * Review round 30: cross-review of round 29's retry fixes: 7f783a7 (an attempt the caller's abort cut before fn ran
 * is not counted), 577ee2e (a clock whose setTimeout calls back at once), 628a703 (Retry-After years 0000-0099).
 */
import type { Clock, TimerHandle } from '@integ/core';
import {
  type BackoffContext,
  constant,
  type GiveUpEvent,
  isRetryError,
  parseRetryAfter,
  type RetryBudget,
  type RetryEvent,
  retry,
  withRetry,
} from '@integ/retry';
import { createFakeClock, settledValue, trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run, settleOrHang } from './settle.test-support.js';

/** How a clock's setTimeout treats one call: as the contract says, calling back at once, or both. */
type Mode = 'timer' | 'at once' | 'at once, scheduled too';

/**
 * A fake clock whose setTimeout treats its nth call as `mode(n, ms)` says: 'at once' runs the callback before
 * returning a handle of nothing (breaking the Clock contract); 'at once, scheduled too' runs it and still schedules
 * it, returning the real handle (a wrapper that "fires due timers at once"). `throwAfter(n)` then throws.
 */
function oddClock(mode: (call: number, ms: number) => Mode, throwAfter?: (call: number) => boolean) {
  const fake = createFakeClock({ now: 1e12 });
  let calls = 0;
  const clock: Clock = {
    now: () => fake.now(),
    setTimeout: (callback, ms) => {
      const call = ++calls;
      const m = mode(call, ms);
      if (m !== 'timer') callback();
      if (throwAfter?.(call)) throw new Error(`clock broke at setTimeout ${call}`);
      return m === 'at once' ? { fired: call } : fake.setTimeout(callback, ms);
    },
    clearTimeout: (handle: TimerHandle) => fake.clearTimeout(handle),
  };
  return { fake, clock };
}

describe('retry with a clock whose setTimeout calls back at once (577ee2e)', () => {
  it('clears a timer that fired at once but was scheduled too: none is left when retry resolves', async () => {
    // setTimeout calls: 1 attempt 1's timer (cut at once), 2 attempt 2's timer.
    const { fake, clock } = oddClock((call) => (call === 1 ? 'at once, scheduled too' : 'timer'));
    let calls = 0;
    const promise = retry(() => ++calls, { clock, timeout: 100, backoff: constant(0) });
    // Resolved without advancing the clock: only the timer's scheduled copy can be left.
    expect(await settledValue(promise)).toBe(2);
    expect(fake.pendingTimers).toBe(0);
  });

  it('the scheduled copy of a wait that fired at once does not stop the deadline from cutting the next attempt', async () => {
    // setTimeout calls: 1 the deadline (1000 ms), 2 the wait (500 ms, at once and scheduled too). Before, the copy
    // fired at 500 ms and unhooked the deadline from attempt 2, which never settles: retry never settled.
    const { fake, clock } = oddClock((call) => (call === 2 ? 'at once, scheduled too' : 'timer'));
    const controller = trackedAbortController();
    let calls = 0;
    const outcome = await settleOrHang(
      retry(
        () => {
          if (++calls === 1) throw new Error('down');
          return new Promise<never>(() => {});
        },
        { clock, deadline: 1000, backoff: constant(500), signal: controller.signal },
      ),
      fake,
    );
    expect(outcome).toMatchObject({ ok: false, error: { attempts: 2, reason: 'deadline' } });
    expect(calls).toBe(2);
    expect(fake.now()).toBe(1e12 + 1000);
    expect(controller.listeners).toBe(0);
    expect(fake.pendingTimers).toBe(0);
  });

  it('a deadline timer that fired at once cuts the first attempt: an fn that never settles does not hold retry', async () => {
    const { fake, clock } = oddClock(() => 'at once');
    const seen: boolean[] = [];
    const events: GiveUpEvent[] = [];
    const outcome = await settleOrHang(
      retry(
        ({ signal }) => {
          seen.push(signal.aborted);
          return new Promise<never>(() => {});
        },
        { clock, deadline: 1000, onGiveUp: (event) => events.push(event) },
      ),
      fake,
    );
    expect(outcome).toMatchObject({ ok: false, error: { attempts: 1, reason: 'deadline' } });
    expect(seen).toEqual([true]);
    expect(events).toEqual([expect.objectContaining({ attempts: 1, reason: 'deadline' })]);
  });

  it.each([
    // setTimeout's first call: without a timeout the wait after attempt 1, with one attempt 1's timer.
    ['the wait', {}, 1],
    ['an attempt timeout', { timeout: 100 }, 0],
  ] as const)(
    'a setTimeout that calls back and then throws (%s): retry rejects with the clock error, fn not called again',
    async (_, extra, expectedCalls) => {
      const { fake, clock } = oddClock(
        (call) => (call === 1 ? 'at once' : 'timer'),
        (call) => call === 1,
      );
      const controller = trackedAbortController();
      let calls = 0;
      const events: GiveUpEvent[] = [];
      const result = await run(
        retry(
          () => {
            calls++;
            throw new Error(`down ${calls}`);
          },
          {
            clock,
            attempts: 3,
            backoff: constant(10),
            signal: controller.signal,
            onGiveUp: (event) => events.push(event),
            ...extra,
          },
        ),
        fake,
      );
      expect(result).toMatchObject({ ok: false, error: { message: expect.stringMatching(/^clock broke/) } });
      // Before: the wait's error was dropped and left retry marked broken, so attempt 2's ordinary failure was
      // thrown as is (no third attempt); the attempt's timer rejected with its TimeoutError instead.
      expect(calls).toBe(expectedCalls);
      expect(events).toEqual([]);
      expect(controller.listeners).toBe(0);
      expect(fake.pendingTimers).toBe(0);
    },
  );

  it('a setTimeout that calls back at once and aborts the caller before the first call: rejects with its reason', async () => {
    const controller = trackedAbortController();
    const reason = new Error('caller gone');
    const fake = createFakeClock({ now: 1e12 });
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (callback) => {
        callback();
        controller.abort(reason);
        return 0;
      },
      clearTimeout: () => {},
    };
    let calls = 0;
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(() => ++calls, {
        clock,
        timeout: 100,
        signal: controller.signal,
        onGiveUp: (event) => events.push(event),
      }),
      fake,
    );
    expect(result).toEqual({ ok: false, error: reason });
    expect(calls).toBe(0);
    expect(events).toEqual([]);
    expect(controller.listeners).toBe(0);
  });

  it('property: whatever timers fire at once, retry settles, reports the calls of fn and leaves no timer or listener', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Mode>('timer', 'at once', 'at once, scheduled too'), {
          minLength: 1,
          maxLength: 12,
        }),
        fc.array(fc.constantFrom('throw', 'reject later', 'ok', 'hang'), { minLength: 1, maxLength: 8 }),
        fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 1, max: 6 }),
        fc.boolean(),
        async (modes, outcomes, timeout, deadline, delay, attempts, withSignal) => {
          const { fake, clock } = oddClock((call) => modes[(call - 1) % modes.length] as Mode);
          const controller = trackedAbortController();
          // An fn that never settles is only given where something can cut it.
          const cuttable = timeout !== undefined || deadline !== undefined;
          let calls = 0;
          const events: GiveUpEvent[] = [];
          const retries: RetryEvent[] = [];
          const outcome = await settleOrHang(
            retry(
              ({ attempt }) => {
                expect(attempt).toBe(++calls);
                const what = outcomes[(calls - 1) % outcomes.length];
                if (what === 'throw') throw new Error(`down ${calls}`);
                if (what === 'reject later')
                  return new Promise((_, reject) => fake.setTimeout(() => reject(new Error('late')), 50));
                if (what === 'hang' && cuttable) return new Promise<never>(() => {});
                return 'ok';
              },
              {
                clock,
                attempts,
                backoff: constant(delay),
                onRetry: (event) => retries.push(event),
                onGiveUp: (event) => events.push(event),
                ...(withSignal ? { signal: controller.signal } : {}),
                ...(timeout === undefined ? {} : { timeout }),
                ...(deadline === undefined ? {} : { deadline }),
              },
            ),
            fake,
          );
          expect(outcome).not.toBe('pending');
          if (outcome === 'pending') return;
          expect(calls).toBeLessThanOrEqual(attempts);
          expect(retries.map((event) => event.attempt)).toEqual(
            Array.from({ length: retries.length }, (_, i) => i + 1),
          );
          if (outcome.ok) expect(events).toEqual([]);
          else {
            expect(events).toEqual([expect.objectContaining({ attempts: calls })]);
            if (isRetryError(outcome.error)) {
              expect(outcome.error.attempts).toBe(calls);
              expect(outcome.error.errors).toHaveLength(calls);
            }
          }
          expect(controller.listeners).toBe(0);
          expect(fake.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 600, seed: 30 },
    );
  });
});

describe('retry aborted by a clock as attempt N starts, before fn (7f783a7)', () => {
  /** A fake clock whose `nth` setTimeout call aborts `controller` first. */
  function abortingClock(nth: number, controller: AbortController, reason: unknown) {
    const fake = createFakeClock({ now: 1e12 });
    let calls = 0;
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (callback, ms) => {
        if (++calls === nth) controller.abort(reason);
        return fake.setTimeout(callback, ms);
      },
      clearTimeout: (handle) => fake.clearTimeout(handle),
    };
    return { fake, clock };
  }

  it.each([2, 3, 5])(
    'at attempt %i: fn, onRetry, the backoff, the budget and onGiveUp all see attempts 1 to N - 1 only',
    async (n) => {
      const controller = trackedAbortController();
      const reason = new Error('caller gone');
      // setTimeout calls with a timeout: attempt k's timer is call 2k - 1, the wait after it call 2k.
      const { fake, clock } = abortingClock(2 * n - 1, controller, reason);
      const seen: number[] = [];
      const backoffs: Pick<BackoffContext, 'attempt' | 'previousDelay'>[] = [];
      const retries: number[] = [];
      const events: GiveUpEvent[] = [];
      const counts = { requests: 0, retries: 0 };
      const budget: RetryBudget = {
        recordRequest: () => void counts.requests++,
        tryRetry: () => ++counts.retries > 0,
        available: () => 1,
      };
      const result = await run(
        retry(
          ({ attempt }) => {
            seen.push(attempt);
            throw new Error(`down ${attempt}`);
          },
          {
            clock,
            attempts: 10,
            timeout: 1000,
            budget,
            signal: controller.signal,
            backoff: ({ attempt, previousDelay }) => {
              backoffs.push({ attempt, previousDelay });
              return attempt * 10;
            },
            onRetry: ({ attempt }) => retries.push(attempt),
            onGiveUp: (event) => events.push(event),
          },
        ),
        fake,
      );
      const before = Array.from({ length: n - 1 }, (_, i) => i + 1);
      expect(result).toEqual({ ok: false, error: reason });
      expect(seen).toEqual(before);
      expect(retries).toEqual(before);
      expect(backoffs).toEqual(before.map((attempt) => ({ attempt, previousDelay: (attempt - 1) * 10 })));
      // One request (retry() was called once); a retry granted for each wait, the last one's attempt never ran.
      expect(counts).toEqual({ requests: 1, retries: n - 1 });
      expect(events).toEqual([{ attempts: n - 1, error: reason, reason: 'aborted' }]);
      expect(controller.listeners).toBe(0);
      expect(fake.pendingTimers).toBe(0);
    },
  );

  it('withRetry the same: before the first call it rejects with the reason, without onGiveUp', async () => {
    const controller = trackedAbortController();
    const reason = new Error('caller gone');
    const { fake, clock } = abortingClock(1, controller, reason);
    let calls = 0;
    const events: GiveUpEvent[] = [];
    const get = withRetry((id: string) => `${id} ${++calls}`, {
      clock,
      timeout: 100,
      signal: controller.signal,
      onGiveUp: (event) => events.push(event),
    });
    expect(await run(get('a'), fake)).toEqual({ ok: false, error: reason });
    expect(calls).toBe(0);
    expect(events).toEqual([]);
    // The signal stays aborted: the next call rejects up front, as for any aborted signal.
    expect(await run(get('b'), fake)).toEqual({ ok: false, error: reason });
    expect(calls).toBe(0);
  });
});

describe('parseRetryAfter and years after 628a703', () => {
  const days = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];
  const long = ['Sunday', 'Monday', 'Tuesday', 'Wednesday', 'Thursday', 'Friday', 'Saturday'];
  const months = 'JanFebMarAprMayJunJulAugSepOctNovDec';
  const two = (n: number): string => String(n).padStart(2, '0');
  /** Date.UTC with the year taken as written (Date.UTC reads 0-99 as 1900-1999). */
  const utc = (y: number, mo: number, d: number, h: number, mi: number, s: number): number => {
    const date = new Date(Date.UTC(2000, mo, d, h, mi, s));
    date.setUTCFullYear(y);
    return date.getTime();
  };

  it('property: each form of a valid date, seconds 00-60, reads as a reference built with Date.UTC', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 9999 }),
        fc.integer({ min: 0, max: 11 }),
        fc.integer({ min: 1, max: 28 }),
        fc.integer({ min: 0, max: 23 }),
        fc.integer({ min: 0, max: 59 }),
        fc.integer({ min: 0, max: 60 }),
        fc.integer({ min: -86_400_000, max: 86_400_000 }),
        (y, mo, d, h, mi, s, offset) => {
          // The instant the date names; second 60 is the next minute's 00 (a leap second, RFC 9110).
          const at = utc(y, mo, d, h, mi, s);
          const day = new Date(utc(y, mo, d, 0, 0, 0)).getUTCDay();
          const time = `${two(h)}:${two(mi)}:${two(s)}`;
          const month = months.slice(mo * 3, mo * 3 + 3);
          const year = String(y).padStart(4, '0');
          const imf = `${days[day]}, ${two(d)} ${month} ${year} ${time} GMT`;
          const asctime = `${days[day]} ${month} ${String(d).padStart(2, ' ')} ${time} ${year}`;
          // `now` near the date; for a year 0000-0099, any time from the year 100 on: such a date is long past.
          const now = y < 100 ? utc(100, 0, 1, 0, 0, 0) + Math.abs(offset) * 1e6 : at + offset;
          const expected = y < 100 ? 0 : Math.max(0, at - now);
          expect(parseRetryAfter(imf, now)).toBe(expected);
          expect(parseRetryAfter(asctime, now)).toBe(expected);
          // rfc850-date: two digits, 00-49 read as 20xx and 50-99 as 19xx (Date.parse's reading, decision 0200).
          const yy = y % 100;
          const full = yy < 50 ? 2000 + yy : 1900 + yy;
          const at850 = utc(full, mo, d, h, mi, s);
          const day850 = new Date(utc(full, mo, d, 0, 0, 0)).getUTCDay();
          const rfc850 = `${long[day850]}, ${two(d)}-${month}-${two(yy)} ${time} GMT`;
          expect(parseRetryAfter(rfc850, at850 + offset)).toBe(Math.max(0, -offset));
        },
      ),
      { numRuns: 3000, seed: 30 },
    );
  });

  it('keeps hour 24 past 24:00:00 no date, and 24:00:00 the next midnight, with a year 0000-0099 too', () => {
    const now = Date.UTC(2026, 10, 25);
    for (const year of ['0030', '2030']) {
      for (const time of ['24:00:01', '24:00:59', '24:00:60', '24:01:00']) {
        expect(parseRetryAfter(`Sun, 06 Nov ${year} ${time} GMT`, now)).toBeUndefined();
        expect(parseRetryAfter(`Sun Nov  6 ${time} ${year}`, now)).toBeUndefined();
      }
    }
    expect(parseRetryAfter('Sun, 06 Nov 0030 24:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('Wed, 06 Nov 2030 24:00:00 GMT', now)).toBe(Date.UTC(2030, 10, 7) - now);
  });
});

describe('retry with timers at once and a clock that aborts the caller (577ee2e with 7f783a7)', () => {
  it('property: the abort at any clock call, timers at once or not: onGiveUp and RetryError count the calls of fn', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.constantFrom<Mode>('timer', 'at once', 'at once, scheduled too'), {
          minLength: 1,
          maxLength: 8,
        }),
        fc.constantFrom('now', 'setTimeout', 'clearTimeout'),
        fc.integer({ min: 1, max: 12 }),
        fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        async (modes, method, nth, timeout, deadline, delay, failures, attempts) => {
          const controller = trackedAbortController();
          const reason = new Error('caller gone');
          const fake = createFakeClock({ now: 1e12 });
          const count = { now: 0, setTimeout: 0, clearTimeout: 0 };
          const hook = (name: keyof typeof count): void => {
            if (name === method && ++count[name] === nth) controller.abort(reason);
            else if (name !== method) count[name]++;
          };
          let timers = 0;
          const clock: Clock = {
            now: () => {
              hook('now');
              return fake.now();
            },
            setTimeout: (callback, ms) => {
              hook('setTimeout');
              const mode = modes[timers++ % modes.length] as Mode;
              if (mode !== 'timer') callback();
              return mode === 'at once' ? {} : fake.setTimeout(callback, ms);
            },
            clearTimeout: (handle) => {
              hook('clearTimeout');
              fake.clearTimeout(handle);
            },
          };
          let calls = 0;
          const events: GiveUpEvent[] = [];
          const outcome = await settleOrHang(
            retry(
              () => {
                if (++calls <= failures) throw new Error(`down ${calls}`);
                return 'ok';
              },
              {
                clock,
                attempts,
                backoff: constant(delay),
                signal: controller.signal,
                onGiveUp: (event) => events.push(event),
                ...(timeout === undefined ? {} : { timeout }),
                ...(deadline === undefined ? {} : { deadline }),
              },
            ),
            fake,
          );
          expect(outcome).not.toBe('pending');
          if (outcome === 'pending' || outcome.ok) return;
          if (calls === 0) {
            expect(outcome.error).toBe(reason);
            expect(events).toEqual([]);
          } else expect(events).toEqual([expect.objectContaining({ attempts: calls })]);
          if (isRetryError(outcome.error)) {
            expect(outcome.error.attempts).toBe(calls);
            expect(outcome.error.errors).toHaveLength(calls);
          }
          expect(controller.listeners).toBe(0);
          expect(fake.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 800, seed: 301 },
    );
  });
});
