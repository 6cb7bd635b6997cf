/**
 * Review round 16: retryBudget()'s forward-only time (131f747, 9b9f8c9) at every read, the first included.
 */
import { retryBudget } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('retryBudget on a clock whose first reading is NaN', () => {
  it('slides its window once the clock reads numbers, as it does after a NaN later on', () => {
    const fake = createFakeClock({ now: 1_000_000 });
    let reads = 0;
    // The budget reads the clock once when it is created: that reading is NaN, every later one a number.
    const clock = { ...fake, now: () => (reads++ === 0 ? Number.NaN : fake.now()) };
    const budget = retryBudget({ ratio: 0, minPerSecond: 1, ttl: 1000, clock });
    expect(budget.tryRetry()).toBe(true);
    expect(budget.tryRetry()).toBe(false);
    fake.advanceSync(1_000);
    expect(budget.available()).toBe(1);
    expect(budget.tryRetry()).toBe(true);
    fake.advanceSync(5_000);
    expect(budget.available()).toBe(1);
  });
});
