/**
 * Review round 29: what retry reports (onGiveUp's `attempts`, RetryError's `attempts` and `errors`) agrees with how
 * many times fn actually ran, on every path where fn runs fewer times than attempts were begun; a clock whose
 * setTimeout calls back at once.
 */
import type { Clock } from '@integ/core';
import {
  constant,
  type GiveUpEvent,
  isRetryError,
  parseRetryAfter,
  type RetryBudget,
  RetryBudgetError,
  RetryError,
  retry,
  retryBudget,
} from '@integ/retry';
import { createFakeClock, trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

type Method = 'now' | 'setTimeout' | 'clearTimeout';

/** A fake clock that runs `hook` on its `nth` call of `method` (1-based). */
function hookedClock(method: Method, nth: number, hook: () => void) {
  const fake = createFakeClock({ now: 1e12 });
  let calls = 0;
  const at = (name: Method): void => {
    if (name === method && ++calls === nth) hook();
  };
  const clock: Clock = {
    now: () => {
      at('now');
      return fake.now();
    },
    setTimeout: (callback, ms) => {
      at('setTimeout');
      return fake.setTimeout(callback, ms);
    },
    clearTimeout: (handle) => {
      at('clearTimeout');
      fake.clearTimeout(handle);
    },
  };
  return { fake, clock };
}

/** fn that fails `failures` times then returns 'ok', counting its calls. */
function flaky(failures = Infinity) {
  const counter = {
    calls: 0,
    fn: (): string => {
      counter.calls++;
      if (counter.calls <= failures) throw new Error(`down ${counter.calls}`);
      return 'ok';
    },
  };
  return counter;
}

describe('retry aborted by the caller before fn runs', () => {
  it('a budget whose recordRequest aborts the signal: fn never runs, onGiveUp is not called (as for an aborted signal)', async () => {
    const fake = createFakeClock();
    const controller = trackedAbortController();
    const reason = new Error('caller gone');
    const budget: RetryBudget = {
      recordRequest: () => controller.abort(reason),
      tryRetry: () => true,
      available: () => 1,
    };
    const f = flaky();
    const onGiveUp = (event: GiveUpEvent): void => {
      throw new Error(`onGiveUp called: ${JSON.stringify(event)}`);
    };
    const result = await run(retry(f.fn, { clock: fake, budget, signal: controller.signal, onGiveUp }), fake);
    expect(result).toEqual({ ok: false, error: reason });
    expect(f.calls).toBe(0);
    expect(controller.listeners).toBe(0);
    expect(fake.pendingTimers).toBe(0);
  });

  it.each([
    ['now', 1, {}],
    ['setTimeout', 1, { deadline: 1000 }],
    ['setTimeout', 1, { timeout: 100 }],
    ['setTimeout', 2, { timeout: 100, deadline: 1000 }],
  ] as const)(
    'a clock whose %s (call %i) aborts the signal before the first call: fn never runs, no onGiveUp (%o)',
    async (method, nth, extra) => {
      const controller = trackedAbortController();
      const reason = new Error('caller gone');
      const { fake, clock } = hookedClock(method, nth, () => controller.abort(reason));
      const f = flaky();
      const events: GiveUpEvent[] = [];
      const result = await run(
        retry(f.fn, {
          clock,
          signal: controller.signal,
          onGiveUp: (event) => events.push(event),
          ...extra,
        }),
        fake,
      );
      expect(result).toEqual({ ok: false, error: reason });
      expect(f.calls).toBe(0);
      expect(events).toEqual([]);
      expect(controller.listeners).toBe(0);
      expect(fake.pendingTimers).toBe(0);
    },
  );

  it('a clock whose setTimeout aborts the signal as attempt 2 starts: onGiveUp says 1 attempt, fn ran once', async () => {
    const controller = trackedAbortController();
    const reason = new Error('caller gone');
    // setTimeout calls: 1 attempt 1's timer, 2 the wait, 3 attempt 2's timer.
    const { fake, clock } = hookedClock('setTimeout', 3, () => controller.abort(reason));
    const f = flaky();
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(f.fn, {
        clock,
        timeout: 100,
        backoff: constant(10),
        signal: controller.signal,
        onGiveUp: (event) => events.push(event),
      }),
      fake,
    );
    expect(result).toEqual({ ok: false, error: reason });
    expect(f.calls).toBe(1);
    expect(events).toEqual([{ attempts: 1, error: reason, reason: 'aborted' }]);
    expect(controller.listeners).toBe(0);
  });

  it('a clock whose now() aborts the signal in the check after the wait: onGiveUp says 1 attempt', async () => {
    const controller = trackedAbortController();
    const reason = new Error('caller gone');
    // now() calls: 1 the start, 2 the hint's now, 3 past(delay), 4 past(0) after the wait.
    const { fake, clock } = hookedClock('now', 4, () => controller.abort(reason));
    const f = flaky();
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(f.fn, {
        clock,
        deadline: 1000,
        backoff: constant(10),
        signal: controller.signal,
        onGiveUp: (event) => events.push(event),
      }),
      fake,
    );
    expect(result).toEqual({ ok: false, error: reason });
    expect(f.calls).toBe(1);
    expect(events).toEqual([{ attempts: 1, error: reason, reason: 'aborted' }]);
  });
});

describe('retry gives up with attempts and errors that match the calls of fn', () => {
  it('a deadline shorter than the wait: 1 attempt, 1 error, no second call', async () => {
    const fake = createFakeClock();
    const f = flaky();
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(f.fn, {
        clock: fake,
        deadline: 50,
        timeout: 1000,
        backoff: constant(60),
        onGiveUp: (event) => events.push(event),
      }),
      fake,
    );
    expect(f.calls).toBe(1);
    const error = (result as { error: RetryError }).error;
    expect(error).toBeInstanceOf(RetryError);
    expect(error).toMatchObject({ attempts: 1, reason: 'deadline' });
    expect(error.errors).toHaveLength(1);
    expect(events).toEqual([expect.objectContaining({ attempts: 1, reason: 'deadline' })]);
  });

  it('a deadline that cuts the first attempt (deadline < timeout): 1 attempt, its TimeoutError the only error', async () => {
    const fake = createFakeClock();
    let calls = 0;
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(
        () => {
          calls++;
          return new Promise<never>(() => {});
        },
        {
          clock: fake,
          deadline: 50,
          timeout: 1000,
          backoff: constant(10),
          onGiveUp: (event) => events.push(event),
        },
      ),
      fake,
    );
    expect(calls).toBe(1);
    const error = (result as { error: RetryError }).error;
    expect(error).toMatchObject({ attempts: 1, reason: 'deadline' });
    expect(error.errors).toHaveLength(1);
    expect(error.errors[0]).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(events).toEqual([expect.objectContaining({ attempts: 1, reason: 'deadline' })]);
  });

  it('a spent budget: RetryBudgetError counts the calls made', async () => {
    const fake = createFakeClock();
    const budget = retryBudget({ ratio: 0, minPerSecond: 0.1, clock: fake }); // 1 retry in 10 s
    const f = flaky();
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(f.fn, {
        clock: fake,
        budget,
        attempts: 5,
        backoff: constant(10),
        onGiveUp: (event) => events.push(event),
      }),
      fake,
    );
    expect(f.calls).toBe(2);
    const error = (result as { error: RetryBudgetError }).error;
    expect(error).toBeInstanceOf(RetryBudgetError);
    expect(error).toMatchObject({ attempts: 2, reason: 'budget' });
    expect(error.errors).toHaveLength(2);
    expect(events).toEqual([expect.objectContaining({ attempts: 2, reason: 'budget' })]);
  });

  it('property: onGiveUp, RetryError.attempts and errors agree with the calls of fn, whatever clock call aborts the caller', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom<Method>('now', 'setTimeout', 'clearTimeout'),
        fc.integer({ min: 1, max: 12 }),
        fc.boolean(),
        fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 2000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 400 }),
        fc.integer({ min: 0, max: 6 }),
        fc.integer({ min: 1, max: 6 }),
        async (method, nth, abort, timeout, deadline, delay, failures, attempts) => {
          const controller = trackedAbortController();
          const { fake, clock } = hookedClock(method, nth, () => {
            if (abort) controller.abort(new Error('caller gone'));
          });
          const f = flaky(failures);
          const events: GiveUpEvent[] = [];
          const result = await run(
            retry(f.fn, {
              clock,
              attempts,
              backoff: constant(delay),
              signal: controller.signal,
              onGiveUp: (event) => events.push(event),
              ...(timeout === undefined ? {} : { timeout }),
              ...(deadline === undefined ? {} : { deadline }),
            }),
            fake,
          );
          if (result.ok) {
            expect(events).toEqual([]);
            return;
          }
          if (f.calls === 0) expect(events).toEqual([]);
          else expect(events).toEqual([expect.objectContaining({ attempts: f.calls })]);
          if (isRetryError(result.error)) {
            expect(result.error.attempts).toBe(f.calls);
            expect(result.error.errors).toHaveLength(f.calls);
          }
          expect(controller.listeners).toBe(0);
          expect(fake.pendingTimers).toBe(0);
        },
      ),
      { numRuns: 500, seed: 29 },
    );
  });
});

describe('retry with a clock whose setTimeout calls back at once (breaking the Clock contract)', () => {
  /** A fake clock whose setTimeout runs the callback synchronously, as a timer of 0 ms that fired already. */
  function eagerClock() {
    const fake = createFakeClock({ now: 1e12 });
    let timers = 0;
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (callback) => {
        timers++;
        callback();
        return timers;
      },
      clearTimeout: () => {},
    };
    return { fake, clock, timers: () => timers };
  }

  it('takes a wait as over at once: fn is retried and its value returned', async () => {
    const { fake, clock, timers } = eagerClock();
    const f = flaky(2);
    const controller = trackedAbortController();
    const result = await run(
      retry(f.fn, { clock, backoff: constant(1000), signal: controller.signal }),
      fake,
    );
    expect(result).toEqual({ ok: true, value: 'ok' });
    expect(f.calls).toBe(3);
    expect(timers()).toBe(2);
    expect(controller.listeners).toBe(0);
  });

  it('takes an attempt timeout as passed as fn starts: fn is called with an aborted signal, each call counted', async () => {
    const { fake, clock } = eagerClock();
    const controller = trackedAbortController();
    const seen: boolean[] = [];
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(
        ({ signal }) => {
          seen.push(signal.aborted);
          return 'late';
        },
        {
          clock,
          timeout: 100,
          backoff: constant(10),
          signal: controller.signal,
          onGiveUp: (event) => events.push(event),
        },
      ),
      fake,
    );
    expect(result.ok).toBe(false);
    const error = (result as { error: RetryError }).error;
    expect(error).toBeInstanceOf(RetryError);
    expect(error).toMatchObject({ attempts: 3, reason: 'attempts' });
    expect(error.errors).toHaveLength(3);
    expect(error.errors.every((e) => (e as { code?: unknown }).code === 'ERR_TIMEOUT')).toBe(true);
    expect(seen).toEqual([true, true, true]);
    expect(events).toEqual([expect.objectContaining({ attempts: 3, reason: 'attempts' })]);
    expect(controller.listeners).toBe(0);
  });

  it('takes a deadline as passed after the first attempt: no retry, RetryError for the deadline', async () => {
    const { fake, clock } = eagerClock();
    const f = flaky();
    const result = await run(retry(f.fn, { clock, deadline: 1000, backoff: constant(10) }), fake);
    expect(f.calls).toBe(1);
    expect((result as { error: unknown }).error).toMatchObject({ attempts: 1, reason: 'deadline' });
  });
});

describe('parseRetryAfter and the years of an HTTP-date (RFC 9110 §5.6.7)', () => {
  const now = Date.UTC(2026, 10, 25, 1, 0, 0);

  it.each([
    'Sun, 06 Nov 0030 08:49:37 GMT',
    'Sun Nov  6 08:49:37 0030',
    'Sun, 06 Nov 0000 08:49:37 GMT',
    'Sun, 06 Nov 0099 08:49:37 GMT',
  ])(
    'reads a four-digit year 0000-0099 as that year, in the past: %s waits 0 (Date.parse read 20xx)',
    (value) => {
      expect(parseRetryAfter(value, now)).toBe(0);
      // On a clock before 1970 such a year is still long past (Date.parse read 0050-0099 as 1950-1999).
      expect(parseRetryAfter(value, Date.UTC(1900, 0, 1))).toBe(0);
    },
  );

  it('still reads a malformed date with such a year as no date', () => {
    expect(parseRetryAfter('Sun, 06 Foo 0030 08:49:37 GMT', now)).toBeUndefined();
  });

  it('reads the four-digit years from 0100 on as written', () => {
    expect(parseRetryAfter('Sun, 06 Nov 0100 08:49:37 GMT', now)).toBe(0);
    expect(parseRetryAfter('Wed, 25 Nov 2026 01:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Wed Nov 25 01:00:30 2026', now)).toBe(30_000);
  });

  // Decision 0200: rfc850-date's two-digit year is Date.parse's (00-49 are 20xx, 50-99 are 19xx), not RFC 9110's
  // "more than 50 years in the future is the most recent past year with those digits". They differ only for years
  // read as 50 to (now - 50) years ago, which the RFC reads as 50-76 years ahead; a Retry-After date is seconds to
  // minutes ahead (year 26 today), which both read alike until 2050.
  it('pins rfc850-date two-digit years as Date.parse reads them (decision 0200)', () => {
    expect(parseRetryAfter('Wednesday, 25-Nov-26 01:00:30 GMT', now)).toBe(30_000);
    // 60 is 1960 (the RFC: 2060, 34 years ahead): a past date, no wait.
    expect(parseRetryAfter('Thursday, 25-Nov-60 01:00:30 GMT', now)).toBe(0);
    // 49 is 2049 for both.
    expect(parseRetryAfter('Thursday, 25-Nov-49 01:00:00 GMT', now)).toBe(Date.UTC(2049, 10, 25, 1) - now);
    // 94 is 1994 for both.
    expect(parseRetryAfter('Sunday, 06-Nov-94 08:49:37 GMT', now)).toBe(0);
  });
});
