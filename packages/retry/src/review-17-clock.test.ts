/**
 * Round 17 (clock): on a fake clock standing at a fraction of a ms, what the README promises at a given
 * advance() happens there: the deadline's give-up, and the budget's window.
 */
import { constant, RetryError, retry, retryBudget } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const start = fc.double({ min: 0, max: 2e12, noNaN: true });

describe('deadline on a clock at a fraction of a ms', () => {
  // README: a wait as long as the time left, or longer, gives up right away, "instead of sleeping until the
  // deadline only to fail then". On a clock at a fraction of a ms, "as long as" is where the clock puts the two
  // timers: a wait that retry sleeps ends before the deadline's timer, so the next attempt starts.
  it('never sleeps a wait that the deadline then cuts, and gives up only when it would', async () => {
    await fc.assert(
      fc.asyncProperty(
        start,
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 5 }),
        fc.constantFrom(0, 0, 1e-9, 0.5, 1),
        async (s, wait, k, room) => {
          const clock = createFakeClock({ now: s });
          let calls = 0;
          // k waits fit before the deadline; the (k+1)th ends at it, or `room` ms before it.
          const deadline = wait * (k + 1) + room;
          const outcome = retry(
            () => {
              calls++;
              return Promise.reject(new Error('down'));
            },
            { attempts: Infinity, backoff: constant(wait), deadline, clock },
          ).catch((error: unknown) => error);
          let settled: unknown;
          void outcome.then((value) => {
            settled = value;
          });
          for (let i = 0; i < k; i++) await clock.advance(wait);
          expect(calls).toBe(k + 1);
          if (settled === undefined) {
            // It chose to wait: the wait ends before the deadline, and the next attempt runs.
            await clock.advance(wait);
            expect(calls).toBe(k + 2);
          } else {
            expect(settled).toBeInstanceOf(RetryError);
            expect(settled).toMatchObject({ reason: 'deadline', attempts: k + 1 });
            // Gave up because the wait would have ended at or after the deadline: never with 1 ms to spare.
            expect(room).toBeLessThan(1);
          }
          await clock.advance(deadline);
          await outcome;
        },
      ),
      { seed: 1717, numRuns: 400 },
    );
  });
});

describe('retryBudget on a clock at a fraction of a ms', () => {
  it('has forgotten a retry made ttl ms ago, whatever the start', () => {
    fc.assert(
      fc.property(
        start,
        fc.integer({ min: 1, max: 100_000 }),
        fc.array(fc.double({ min: 0, max: 1000, noNaN: true }), { maxLength: 5 }),
        (s, ttl, steps) => {
          const clock = createFakeClock({ now: s });
          const budget = retryBudget({ ratio: 0, minPerSecond: 1000, ttl, clock });
          const full = budget.available();
          for (const step of steps) clock.advanceSync(step);
          expect(budget.tryRetry()).toBe(true);
          clock.advanceSync(ttl);
          expect(budget.available()).toBe(full);
        },
      ),
      { seed: 1718, numRuns: 1000 },
    );
  });
});
