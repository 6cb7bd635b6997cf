/**
 * The default clock is `Date.now()`, a wall clock: NTP, a VM resumed from a snapshot or an operator can step
 * it back or forward while a call runs. The README promises that a call settles no later than `deadline` ms
 * after it started, and the issue that no attempt starts past the deadline: elapsed time, whatever the clock
 * reads. A step forward may end the call early (the clock says the time is up: honest); a step back must not
 * stretch it.
 *
 * The clock of these tests is such a wall clock: `now()` is the fake clock's time plus a step the test sets,
 * while timers run on the fake clock's elapsed time, as `setTimeout` does on a real machine.
 */
import { TimeoutError } from '@integ/core';
import {
  type AttemptContext,
  constant,
  type RetryError,
  type RetryEvent,
  type RetryOptions,
  retry,
} from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

const wallClock = () => createFakeClock({ now: T0 });

/** Follows a promise: `outcome` is set (with the elapsed time) once it settles. */
function watch<T>(promise: Promise<T>, clock: ReturnType<typeof wallClock>) {
  const seen: { outcome?: { ok: boolean; value: unknown; at: number } } = {};
  promise.then(
    (value) => {
      seen.outcome = { ok: true, value, at: clock.elapsed };
    },
    (value: unknown) => {
      seen.outcome = { ok: false, value, at: clock.elapsed };
    },
  );
  return seen;
}

const fails = (): never => {
  throw new Error('boom');
};

describe('deadline when the clock steps back', () => {
  it('gives up after deadline of elapsed time, not deadline plus the step, when the clock went back during a wait', async () => {
    const clock = wallClock();
    const starts: number[] = [];
    const seen = watch(
      retry(
        () => {
          starts.push(clock.elapsed);
          fails();
        },
        { clock, deadline: 10_000, attempts: Infinity, backoff: constant(1_000) },
      ),
      clock,
    );
    await clock.advance(500);
    clock.setWallClock(T0 - DAY);
    await clock.advance(9_500);
    expect(seen.outcome).toMatchObject({ ok: false, at: 10_000 });
    expect((seen.outcome?.value as RetryError | undefined)?.reason).toBe('deadline');
    expect(Math.max(...starts)).toBeLessThan(10_000);
    expect(clock.pendingTimers).toBe(0);
  });

  it('cuts an attempt that started after the step at the deadline, not a day later', async () => {
    const clock = wallClock();
    const signals: AbortSignal[] = [];
    const seen = watch(
      retry(
        ({ attempt, signal }: AttemptContext) => {
          signals.push(signal);
          if (attempt === 1) fails();
          return new Promise<never>(() => {}); // hangs, as a call to a dead host does
        },
        { clock, deadline: 10_000, attempts: 5, backoff: constant(1_000) },
      ),
      clock,
    );
    await clock.advance(500);
    clock.setWallClock(T0 - DAY);
    await clock.advance(9_500);
    expect(signals).toHaveLength(2);
    expect(signals[1]?.reason).toBeInstanceOf(TimeoutError);
    expect(seen.outcome).toMatchObject({ ok: false, at: 10_000 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('cuts an attempt during which the clock went back at the deadline', async () => {
    const clock = wallClock();
    let signal: AbortSignal | undefined;
    const seen = watch(
      retry(
        (context: AttemptContext) => {
          signal = context.signal;
          clock.setWallClock(T0 - DAY);
          return new Promise<never>(() => {});
        },
        { clock, deadline: 10_000 },
      ),
      clock,
    );
    await clock.advance(10_000);
    expect(signal?.aborted).toBe(true);
    expect(seen.outcome).toMatchObject({ ok: false, at: 10_000 });
  });

  it('keeps each wait within the time left, with no timer beyond 2^31 - 1 ms after a step back of a year', async () => {
    const clock = wallClock();
    const timers: number[] = [];
    const setTimeout = clock.setTimeout;
    clock.setTimeout = (callback, ms) => {
      timers.push(ms);
      return setTimeout(callback, ms);
    };
    const seen = watch(
      retry(
        ({ attempt }: AttemptContext) => {
          if (attempt === 1) clock.setWallClock(T0 - 365 * DAY);
          return new Promise<never>((_, reject) => clock.setTimeout(() => reject(new Error('slow')), 3_000));
        },
        { clock, deadline: 10_000, attempts: 5, backoff: constant(1_000) },
      ),
      clock,
    );
    await clock.advance(10_000);
    expect(seen.outcome).toMatchObject({ ok: false, at: 10_000 });
    expect(Math.max(...timers)).toBeLessThanOrEqual(10_000);
  });
});

describe('deadline when the clock steps forward', () => {
  it('may give up early: the clock says the time is up (no attempt starts after it)', async () => {
    const clock = wallClock();
    let calls = 0;
    const seen = watch(
      retry(
        () => {
          calls++;
          fails();
        },
        { clock, deadline: 10_000, attempts: Infinity, backoff: constant(1_000) },
      ),
      clock,
    );
    await clock.advance(500);
    clock.setWallClock(T0 + DAY);
    await clock.advance(500);
    expect(calls).toBe(1);
    expect(seen.outcome).toMatchObject({ ok: false, at: 1_000 });
    expect((seen.outcome?.value as RetryError | undefined)?.reason).toBe('deadline');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('timeout when the clock steps', () => {
  it.each([
    ['back', -DAY],
    ['forward', DAY],
  ])('cuts each attempt after timeout of elapsed time when the clock steps %s', async (_, step) => {
    const clock = wallClock();
    const cuts: number[] = [];
    const seen = watch(
      retry(
        ({ signal }: AttemptContext) => {
          clock.setWallClock(clock.now() + step);
          signal.addEventListener('abort', () => cuts.push(clock.elapsed));
          return new Promise<never>(() => {});
        },
        { clock, timeout: 1_000, attempts: 3, backoff: constant(100) },
      ),
      clock,
    );
    await clock.advance(3_200);
    expect(cuts).toEqual([1_000, 2_100, 3_200]);
    expect((seen.outcome?.value as RetryError | undefined)?.reason).toBe('attempts');
  });
});

describe('Retry-After HTTP-dates when the clock steps', () => {
  // An HTTP-date is the server's wall-clock time: it can only be read against the clock as it reads now.
  const unavailable = (date: number) =>
    Object.assign(new Error('503'), {
      headers: new Headers({ 'retry-after': new Date(date).toUTCString() }),
    });

  it('reads the date against the clock as it reads after the step', async () => {
    const clock = wallClock();
    const events: RetryEvent[] = [];
    const done = retry(
      ({ attempt }: AttemptContext) => {
        if (attempt > 1) return 'ok';
        clock.setWallClock(T0 - DAY);
        throw unavailable(T0 - DAY + 5_000);
      },
      { clock, deadline: 10_000, onRetry: (event) => events.push(event) },
    );
    await clock.advance(5_000);
    await expect(done).resolves.toBe('ok');
    expect(events.map((event) => event.delay)).toEqual([5_000]);
  });

  it('caps a date read a day ahead by maxRetryAfter, and the deadline still ends that wait on time', async () => {
    const clock = wallClock();
    let calls = 0;
    const seen = watch(
      retry(
        () => {
          calls++;
          clock.setWallClock(T0 - DAY);
          throw unavailable(T0 + 5_000);
        },
        { clock, deadline: 10_000 },
      ),
      clock,
    );
    await clock.advance(10_000);
    expect(calls).toBe(1);
    expect(seen.outcome).toMatchObject({ ok: false, at: 10_000 });
    expect((seen.outcome?.value as RetryError | undefined)?.reason).toBe('deadline');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('deadline on a clock that steps back and forth (property)', () => {
  // What retry guarantees, whatever the steps: no attempt starts at or after `deadline` ms of elapsed time,
  // the call settles by then, and no timer of retry's is left. (A step forward may end it earlier.)
  const step = fc.record({
    at: fc.nat({ max: 3_000 }),
    by: fc.constantFrom(-365 * DAY, -DAY, -60_000, -1_000, -1, 1, 1_000, 60_000, DAY),
  });
  const behaviour = fc.record({
    kind: fc.constantFrom('fail', 'succeed', 'hang'),
    after: fc.nat({ max: 3_000 }),
    honour: fc.boolean(),
  });

  it('never starts an attempt at or after the deadline, settles by it and leaves no timer', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          deadline: fc.integer({ min: 1, max: 2_500 }),
          timeout: fc.option(fc.integer({ min: 1, max: 3_000 }), { nil: undefined }),
          attempts: fc.constantFrom(2, 5, Infinity),
          delay: fc.nat({ max: 1_500 }),
          steps: fc.array(step, { maxLength: 5 }),
          fn: fc.array(behaviour, { minLength: 1, maxLength: 6 }),
        }),
        async ({ deadline, timeout, attempts, delay, steps, fn }) => {
          const clock = wallClock();
          // Timers of retry's own (fn's go straight to the fake clock): armed and not yet fired or cleared.
          const live = new Set<unknown>();
          const { setTimeout, clearTimeout } = clock;
          clock.setTimeout = (callback, ms) => {
            const handle = setTimeout(() => {
              live.delete(handle);
              callback();
            }, ms);
            live.add(handle);
            return handle;
          };
          clock.clearTimeout = (handle) => {
            live.delete(handle);
            clearTimeout(handle);
          };
          const starts: number[] = [];
          const options: RetryOptions<string> = {
            clock,
            deadline,
            timeout,
            attempts,
            backoff: constant(delay),
          };
          const promise = retry(({ attempt, signal }: AttemptContext) => {
            starts.push(clock.elapsed);
            const b = fn[(attempt - 1) % fn.length] as (typeof fn)[number];
            return new Promise<string>((resolve, reject) => {
              if (b.honour) signal.addEventListener('abort', () => reject(signal.reason));
              if (b.kind !== 'hang')
                setTimeout(() => (b.kind === 'fail' ? reject(new Error('boom')) : resolve('ok')), b.after);
            });
          }, options);
          let leftAtSettle = -1;
          const seen = watch(
            promise.finally(() => {
              leftAtSettle = live.size;
            }),
            clock,
          );
          for (const { at, by } of [...steps].sort((x, y) => x.at - y.at)) {
            await clock.advance(Math.max(0, at - clock.elapsed));
            clock.setWallClock(clock.now() + by);
          }
          await clock.advance(Math.max(0, deadline - clock.elapsed));
          expect(seen.outcome).toBeDefined();
          expect(seen.outcome?.at).toBeLessThanOrEqual(deadline);
          for (const start of starts) expect(start).toBeLessThan(deadline);
          expect(starts.length).toBeLessThanOrEqual(attempts);
          expect(leftAtSettle).toBe(0);
        },
      ),
      { seed: 20261124, numRuns: 300 },
    );
  });
});
