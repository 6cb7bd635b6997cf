/**
 * Review round 15: black-box checks of what the issue, the README and DESIGN.md promise that rounds 1-14 did
 * not pin down.
 */
import { constant, RejectedResultError, retry, retryBudget } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

describe('retryBudget on a wall clock that steps back (NTP, an operator)', () => {
  it('refills its minPerSecond reserve after ttl ms of elapsed time, not after the clock caught up with the step', () => {
    const clock = createFakeClock({ now: 1_800_000_000_000 });
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, ttl: 1000, clock });
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    clock.setWallClock(clock.now() - 3_600_000); // an hour back
    // A wall clock cannot tell the step from the time that passed until the budget reads it again: from that read
    // on, time goes on. Before, the window stood still until the clock caught up: no retry for an hour.
    expect(budget.tryRetry()).toBe(false);
    clock.advanceSync(5_000); // 5 s later, five windows have passed
    expect(budget.available()).toBe(1);
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
  });

  it('property: after any steps back, the reserve refills once ttl ms have passed since the last read', () => {
    fc.assert(
      fc.property(
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.integer({ min: -86_400_000, max: 0 })), {
          maxLength: 20,
        }),
        (moves) => {
          const clock = createFakeClock({ now: 1_800_000_000_000 });
          const budget = retryBudget({ ratio: 0, minPerSecond: 2, ttl: 1000, clock });
          for (const [elapsed, step] of moves) {
            clock.advanceSync(elapsed);
            clock.setWallClock(clock.now() + step);
            budget.tryRetry();
          }
          clock.advanceSync(1000);
          expect(budget.available()).toBe(2);
        },
      ),
      { seed: 15, numRuns: 200 },
    );
  });
});

describe('retryBudget on a clock that once reads NaN', () => {
  it('goes on sliding its window afterwards, as before time was counted forward only', () => {
    const fake = createFakeClock({ now: 1_000_000 });
    let broken = false;
    const clock = { ...fake, now: () => (broken ? Number.NaN : fake.now()) };
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, ttl: 1000, clock });
    expect(budget.tryRetry()).toBe(true);
    broken = true;
    expect(budget.tryRetry()).toBe(false);
    broken = false;
    budget.available();
    fake.advanceSync(1_000);
    expect(budget.tryRetry()).toBe(true);
  });
});

describe('retryIf given with retryOnResult (README: retryIf judges a turned-down value too)', () => {
  it('gets the RejectedResultError, and saying no rejects with it, the value readable in .value', async () => {
    const clock = createFakeClock();
    const seen: unknown[] = [];
    const response = new Response('busy', { status: 503 });
    const outcome = await run(
      retry(async () => response, {
        clock,
        retryOnResult: (res) => res.status === 503,
        // Meant for failures only: network errors are TypeErrors.
        retryIf: (error) => {
          seen.push(error);
          return error instanceof TypeError;
        },
      }),
      clock,
    );
    expect(seen).toHaveLength(1);
    expect(seen[0]).toBeInstanceOf(RejectedResultError);
    expect(outcome).toEqual({ ok: false, error: seen[0] });
    expect((seen[0] as RejectedResultError).value).toBe(response);
    expect(await response.text()).toBe('busy');
  });
});

describe('one retryBudget shared by many concurrent retry() calls over time (issue: Must show)', () => {
  it('property: at every retry, retries in the window never exceed ratio x calls in it + minimum', async () => {
    const ttl = 1000;
    const width = ttl / 10; // the budget counts whole buckets: it remembers at least the last ttl - width ms
    let retriedInAll = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            at: fc.integer({ min: 0, max: 3000 }),
            attempts: fc.integer({ min: 1, max: 6 }),
            wait: fc.integer({ min: 0, max: 700 }),
          }),
          { minLength: 1, maxLength: 30 },
        ),
        fc.double({ min: 0, max: 1, noNaN: true }),
        fc.integer({ min: 0, max: 4 }),
        fc.integer({ min: -5000, max: 5000 }),
        async (calls, ratio, minPerSecond, start) => {
          const clock = createFakeClock({ now: start });
          const budget = retryBudget({ ratio, minPerSecond, ttl, clock });
          const callTimes: number[] = [];
          const retryTimes: number[] = [];
          const over: string[] = [];
          const settled: Promise<unknown>[] = [];
          for (const { at, attempts, wait } of calls)
            clock.setTimeout(() => {
              callTimes.push(clock.now());
              const onRetry = (): void => {
                const now = clock.now();
                retryTimes.push(now);
                const retries = retryTimes.filter((t) => t > now - ttl + width).length;
                const inWindow = callTimes.filter((t) => t > now - ttl).length;
                if (retries > ratio * inWindow + (minPerSecond * ttl) / 1000 + 1e-6)
                  over.push(`at ${now}: ${retries} retries for ${inWindow} calls`);
              };
              const failing = async (): Promise<never> => {
                throw new Error('down');
              };
              settled.push(
                retry(failing, { budget, clock, attempts, backoff: constant(wait), onRetry }).catch(() => {}),
              );
            }, at);
          await clock.runAll();
          await Promise.all(settled);
          retriedInAll += retryTimes.length;
          expect(over).toEqual([]);
        },
      ),
      { seed: 15, numRuns: 200 },
    );
    expect(retriedInAll).toBeGreaterThan(100); // the property was exercised, not vacuous
  });
});
