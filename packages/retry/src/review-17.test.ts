/**
 * Review round 17: retryBudget()'s forward-only time on a clock that reads Infinity or -Infinity once, at creation
 * or later: like a NaN reading (f1d3ea2, 9b9f8c9), it must not stop the window sliding for good.
 */
import { retryBudget } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('retryBudget on a clock that reads a non-finite number once', () => {
  for (const odd of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY, Number.NaN]) {
    for (const at of [0, 3]) {
      it(`slides its window once the clock reads numbers again (${odd} at read ${at})`, () => {
        const fake = createFakeClock({ now: 1_000_000 });
        let reads = 0;
        const clock = { ...fake, now: () => (reads++ === at ? odd : fake.now()) };
        const budget = retryBudget({ ratio: 0, minPerSecond: 1, ttl: 1000, clock });
        expect(budget.tryRetry()).toBe(true);
        expect(budget.tryRetry()).toBe(false);
        expect(budget.tryRetry()).toBe(false);
        // The time up to the first number read after the odd one may count as none, as after a NaN (9b9f8c9).
        fake.advanceSync(1_000);
        budget.available();
        // Before: once an infinite reading was taken, the bucket index was NaN and nothing counted ever expired.
        for (let round = 0; round < 3; round++) {
          fake.advanceSync(1_000);
          expect(budget.available()).toBe(1);
          expect(budget.tryRetry()).toBe(true);
          expect(budget.tryRetry()).toBe(false);
        }
      });
    }
  }
});
