/**
 * Review round 31: cross-review of round 30's retry fix 9c79259 (a clock whose setTimeout calls back from inside:
 * the callback only marks the timer while setTimeout runs, retry acts once it has returned; a deadline found fired
 * cuts the attempt that starts).
 */
import type { Clock, TimerHandle } from '@integ/core';
import { TimeoutError } from '@integ/core';
import { constant, type GiveUpEvent, isRetryError, type RetryEvent, retry } from '@integ/retry';
import { createFakeClock, trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run, settleOrHang } from './settle.test-support.js';

/** How a clock's setTimeout treats one call. */
type Mode = 'timer' | 'at once' | 'at once, scheduled too' | 'throw' | 'at once, then throw';
/** How the clock's clearTimeout treats one call: as the contract says, or clearing and then throwing. */
type ClearMode = 'clear' | 'clear, then throw';

class ClockError extends Error {}

/**
 * A fake clock that refuses to clear a handle it has cleared before ('unknown timer'), as a strict test clock may;
 * `atOnce(n)` says whether its nth setTimeout calls back from inside (and still schedules the timer).
 */
function strictClock(atOnce: (call: number) => boolean) {
  const fake = createFakeClock({ now: 1e12 });
  const cleared = new Set<TimerHandle>();
  let calls = 0;
  const clock: Clock = {
    now: () => fake.now(),
    setTimeout: (callback, ms) => {
      if (atOnce(++calls)) callback();
      return fake.setTimeout(callback, ms);
    },
    clearTimeout: (handle) => {
      if (typeof handle === 'object' && handle !== null) {
        if (cleared.has(handle)) throw new ClockError('unknown timer');
        cleared.add(handle);
      }
      fake.clearTimeout(handle);
    },
  };
  return { fake, clock };
}

describe('retry clears the timer of a cut attempt once (9c79259)', () => {
  const down = (): never => {
    throw new Error('down');
  };

  it('an attempt timeout that fired at once, then fn throwing at once: retried, not stopped by a second clear', async () => {
    // Before: the cut settled the attempt, fn's throw settled it again and cleared its timer again; the clock's
    // error marked retry broken, which rejected with attempt 1's TimeoutError as is: no retry, no onGiveUp.
    const { fake, clock } = strictClock(() => true);
    const events: GiveUpEvent[] = [];
    let calls = 0;
    const result = await run(
      retry(
        () => {
          calls++;
          down();
        },
        { clock, attempts: 3, timeout: 100, backoff: constant(0), onGiveUp: (event) => events.push(event) },
      ),
      fake,
    );
    expect(result).toMatchObject({ ok: false, error: { code: 'ERR_RETRY_EXHAUSTED', attempts: 3 } });
    expect(calls).toBe(3);
    expect(events).toEqual([expect.objectContaining({ attempts: 3, reason: 'attempts' })]);
    expect(fake.pendingTimers).toBe(0);
  });

  it('a deadline found fired as the attempt starts, then fn throwing at once: RetryError for the deadline', async () => {
    // setTimeout calls: 1 the deadline (at once), 2 attempt 1's timeout. Before: TimeoutError 'Retry deadline' as
    // is, without onGiveUp.
    const { fake, clock } = strictClock((call) => call === 1);
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(down, { clock, timeout: 100, deadline: 1000, onGiveUp: (event) => events.push(event) }),
      fake,
    );
    expect(result).toMatchObject({
      ok: false,
      error: { code: 'ERR_RETRY_EXHAUSTED', attempts: 1, reason: 'deadline' },
    });
    expect(events).toEqual([expect.objectContaining({ attempts: 1, reason: 'deadline' })]);
    expect(fake.pendingTimers).toBe(0);
  });

  it('the caller aborting inside fn, which then throws: its reason, with onGiveUp for the call made', async () => {
    const { fake, clock } = strictClock(() => false);
    const controller = trackedAbortController();
    const reason = new Error('caller gone');
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(
        () => {
          controller.abort(reason);
          down();
        },
        { clock, timeout: 100, signal: controller.signal, onGiveUp: (event) => events.push(event) },
      ),
      fake,
    );
    expect(result).toEqual({ ok: false, error: reason });
    expect(events).toEqual([{ attempts: 1, error: reason, reason: 'aborted' }]);
    expect(controller.listeners).toBe(0);
    expect(fake.pendingTimers).toBe(0);
  });
});

describe('retry timers that fire together (9c79259)', () => {
  it('a deadline and an attempt timeout due at the same instant: the deadline cuts the attempt, RetryError', async () => {
    const fake = createFakeClock({ now: 1e12 });
    const signals: AbortSignal[] = [];
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(
        ({ signal }) => {
          signals.push(signal);
          return new Promise<never>(() => {});
        },
        { clock: fake, timeout: 100, deadline: 100, onGiveUp: (event) => events.push(event) },
      ),
      fake,
    );
    expect(result).toMatchObject({ ok: false, error: { attempts: 1, reason: 'deadline' } });
    const reason = signals[0]?.reason as TimeoutError;
    expect(reason).toBeInstanceOf(TimeoutError);
    expect(reason.message).toMatch(/deadline/i);
    if (result.ok || !isRetryError(result.error)) throw new Error('expected a RetryError');
    expect(result.error.errors).toEqual([reason]);
    expect(events).toEqual([expect.objectContaining({ attempts: 1, reason: 'deadline' })]);
    expect(fake.now()).toBe(1e12 + 100);
    expect(fake.pendingTimers).toBe(0);
  });

  it('an fn that returns at once, with a timer called back at once: the value is dropped, each attempt timed out', async () => {
    const fake = createFakeClock({ now: 1e12 });
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (callback) => {
        callback();
        return 0;
      },
      clearTimeout: () => {},
    };
    const seen: boolean[] = [];
    const result = await run(
      retry(
        ({ signal }) => {
          seen.push(signal.aborted);
          return 'ok';
        },
        { clock, attempts: 2, timeout: 100, backoff: constant(0) },
      ),
      fake,
    );
    expect(seen).toEqual([true, true]);
    expect(result).toMatchObject({ ok: false, error: { attempts: 2, reason: 'attempts' } });
    if (result.ok || !isRetryError(result.error)) throw new Error('expected a RetryError');
    expect(result.error.errors).toEqual([expect.any(TimeoutError), expect.any(TimeoutError)]);
  });

  it("the caller's abort made inside the attempt's setTimeout, the deadline fired at once before: its reason, fn not called", async () => {
    const fake = createFakeClock({ now: 1e12 });
    const controller = trackedAbortController();
    const reason = new Error('caller gone');
    let timers = 0;
    const clock: Clock = {
      now: () => fake.now(),
      setTimeout: (callback, ms) => {
        // 1: the deadline, called back at once; 2: attempt 1's timeout, called back at once after the abort.
        if (++timers === 2) controller.abort(reason);
        callback();
        return fake.setTimeout(callback, ms);
      },
      clearTimeout: (handle) => fake.clearTimeout(handle),
    };
    let calls = 0;
    const events: GiveUpEvent[] = [];
    const result = await run(
      retry(() => ++calls, {
        clock,
        timeout: 100,
        deadline: 1000,
        signal: controller.signal,
        onGiveUp: (event) => events.push(event),
      }),
      fake,
    );
    expect(result).toEqual({ ok: false, error: reason });
    expect(calls).toBe(0);
    expect(events).toEqual([]);
    expect(controller.listeners).toBe(0);
    expect(fake.pendingTimers).toBe(0);
  });
});

describe('retry with a clock that calls back at once, throws or behaves, and random aborts (9c79259)', () => {
  it('property: retry settles, counts the calls of fn, leaves no timer or listener, rejects only with what it may', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.constantFrom<Mode>(
            'timer',
            'timer',
            'at once',
            'at once, scheduled too',
            'throw',
            'at once, then throw',
          ),
          { minLength: 1, maxLength: 10 },
        ),
        fc.array(fc.constantFrom<ClearMode>('clear', 'clear', 'clear', 'clear, then throw'), {
          minLength: 1,
          maxLength: 6,
        }),
        // Where the caller aborts: at the nth call of a clock method, inside the nth call of fn, at a time, or never.
        fc.oneof(
          fc.record({
            at: fc.constantFrom('now' as const, 'setTimeout' as const, 'clearTimeout' as const),
            nth: fc.integer({ min: 1, max: 12 }),
          }),
          fc.record({ at: fc.constant('fn' as const), nth: fc.integer({ min: 1, max: 6 }) }),
          fc.record({ at: fc.constant('time' as const), nth: fc.integer({ min: 0, max: 1500 }) }),
          fc.constant(undefined),
        ),
        fc.array(fc.constantFrom('throw', 'reject later', 'ok', 'resolve later', 'hang'), {
          minLength: 1,
          maxLength: 6,
        }),
        fc.option(fc.integer({ min: 1, max: 300 }), { nil: undefined }),
        fc.option(fc.integer({ min: 1, max: 1000 }), { nil: undefined }),
        fc.integer({ min: 0, max: 200 }),
        fc.integer({ min: 1, max: 6 }),
        async (modes, clears, abortAt, outcomes, timeout, deadline, delay, attempts) => {
          const fake = createFakeClock({ now: 1e12 });
          const controller = trackedAbortController();
          const reason = new Error('caller gone');
          const count = { now: 0, setTimeout: 0, clearTimeout: 0 };
          const hook = (name: keyof typeof count): void => {
            if (++count[name] === abortAt?.nth && abortAt.at === name) controller.abort(reason);
          };
          // Timers the clock scheduled for retry, so 'no timer left' does not count fn's own.
          const ours = new Set<TimerHandle>();
          const clock: Clock = {
            now: () => {
              hook('now');
              return fake.now();
            },
            setTimeout: (callback, ms) => {
              hook('setTimeout');
              const mode = modes[(count.setTimeout - 1) % modes.length] as Mode;
              if (mode === 'throw') throw new ClockError('setTimeout');
              if (mode !== 'timer') callback();
              if (mode === 'at once, then throw') throw new ClockError('setTimeout after calling back');
              if (mode === 'at once') return { fired: true };
              const handle = fake.setTimeout(() => {
                ours.delete(handle);
                callback();
              }, ms);
              ours.add(handle);
              return handle;
            },
            clearTimeout: (handle) => {
              hook('clearTimeout');
              ours.delete(handle);
              fake.clearTimeout(handle);
              if (clears[(count.clearTimeout - 1) % clears.length] === 'clear, then throw')
                throw new ClockError('clearTimeout');
            },
          };
          if (abortAt?.at === 'time') fake.setTimeout(() => controller.abort(reason), abortAt.nth);
          const cuttable = timeout !== undefined || deadline !== undefined;
          let calls = 0;
          const events: GiveUpEvent[] = [];
          const retries: RetryEvent[] = [];
          const outcome = await settleOrHang(
            retry(
              ({ attempt }) => {
                expect(attempt).toBe(++calls);
                if (abortAt?.at === 'fn' && abortAt.nth === calls) controller.abort(reason);
                const what = outcomes[(calls - 1) % outcomes.length];
                if (what === 'throw') throw new Error(`down ${calls}`);
                if (what === 'reject later')
                  return new Promise((_, reject) => fake.setTimeout(() => reject(new Error('late')), 50));
                if (what === 'resolve later')
                  return new Promise((resolve) => fake.setTimeout(() => resolve('late ok'), 50));
                if (what === 'hang' && cuttable) return new Promise<never>(() => {});
                return 'ok';
              },
              {
                clock,
                attempts,
                backoff: constant(delay),
                signal: controller.signal,
                onRetry: (event) => retries.push(event),
                onGiveUp: (event) => events.push(event),
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
          expect(events.length).toBeLessThanOrEqual(1);
          if (outcome.ok) expect(events).toEqual([]);
          else {
            const { error } = outcome;
            expect(
              error instanceof ClockError ||
                error === reason ||
                error instanceof TimeoutError ||
                isRetryError(error),
            ).toBe(true);
            // A clock error rejects without onGiveUp, unless the clearTimeout of the deadline's timer threw after it
            // (retry's finally: the give-up was reported, the clock's error is what the caller gets).
            if (calls === 0) expect(events).toEqual([]);
            else if (!(error instanceof ClockError) || events.length)
              expect(events).toEqual([expect.objectContaining({ attempts: calls })]);
            if (isRetryError(error)) {
              expect(error.attempts).toBe(calls);
              expect(error.errors).toHaveLength(calls);
            }
          }
          expect(controller.listeners).toBe(0);
          expect(ours.size).toBe(0);
        },
      ),
      { numRuns: 1500, seed: 31 },
    );
  });
});
