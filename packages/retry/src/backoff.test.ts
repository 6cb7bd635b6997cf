import { isIntegError } from '@integ/core';
import { constant, decorrelated, exponential, linear } from '@integ/retry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const fixed = (value: number) => () => value;
const ctx = (attempt: number, random: () => number = fixed(0.5), previousDelay = 0) => ({
  attempt,
  previousDelay,
  random,
});

describe('constant', () => {
  it('returns the same delay for every attempt', () => {
    const backoff = constant(250);
    expect([1, 2, 10].map((a) => backoff(ctx(a)))).toEqual([250, 250, 250]);
  });

  it('rejects a negative or non-numeric delay with ERR_INVALID_ARGUMENT', () => {
    expect(() => constant(-1)).toThrow(/Invalid constant/);
    expect(() => constant(Number.NaN)).toThrow();
    try {
      constant('5' as unknown as number);
    } catch (error) {
      expect(isIntegError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
    }
  });
});

describe('linear', () => {
  it('grows by step from initial and stops at max', () => {
    const backoff = linear({ initial: 100, step: 50, max: 220 });
    expect([1, 2, 3, 4].map((a) => backoff(ctx(a)))).toEqual([100, 150, 200, 220]);
  });

  it('defaults to 100 ms steps without jitter', () => {
    const backoff = linear();
    expect([1, 2, 3].map((a) => backoff(ctx(a)))).toEqual([100, 200, 300]);
  });

  it('steps by initial when no step is given', () => {
    const backoff = linear({ initial: 250 });
    expect([1, 2, 3].map((a) => backoff(ctx(a)))).toEqual([250, 500, 750]);
  });
});

describe('exponential', () => {
  it('doubles the delay by default (factor 2 from 100 ms), capped at 30 s', () => {
    const backoff = exponential({ jitter: 'none' });
    expect([1, 2, 3, 4, 30].map((a) => backoff(ctx(a)))).toEqual([100, 200, 400, 800, 30_000]);
  });

  it('uses full jitter by default: the seeded random scales the doubled ceiling', () => {
    const backoff = exponential();
    expect([1, 2, 3].map((a) => backoff(ctx(a, fixed(0.25))))).toEqual([25, 50, 100]);
  });

  it('keeps equal jitter in [d/2, d)', () => {
    const backoff = exponential({ initial: 100, jitter: 'equal' });
    expect(backoff(ctx(2, fixed(0)))).toBe(100);
    expect(backoff(ctx(2, fixed(0.5)))).toBe(150);
  });

  it('rejects a factor below 1 and an unknown jitter', () => {
    expect(() => exponential({ factor: 0.5 })).toThrow(/factor/);
    expect(() => exponential({ jitter: 'half' as 'full' })).toThrow(/jitter/);
    expect(() => exponential({ max: Number.POSITIVE_INFINITY })).toThrow(/max/);
  });

  it('property: every delay stays within [0, min(max, initial * factor^(attempt-1))]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.double({ min: 1, max: 10, noNaN: true }),
        fc.integer({ min: 0, max: 1_000_000 }),
        fc.constantFrom('none', 'full', 'equal' as const),
        fc.integer({ min: 1, max: 2000 }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initial, factor, max, jitter, attempt, r) => {
          const delay = exponential({ initial, factor, max, jitter })(ctx(attempt, fixed(r)));
          const ceiling = Math.min(max, initial === 0 ? 0 : initial * factor ** (attempt - 1));
          expect(delay).toBeGreaterThanOrEqual(jitter === 'equal' ? ceiling / 2 : 0);
          expect(delay).toBeLessThanOrEqual(ceiling);
        },
      ),
    );
  });
});

describe('decorrelated', () => {
  it('draws the first delay between initial and 3 x initial', () => {
    const backoff = decorrelated({ initial: 100 });
    expect(backoff(ctx(1, fixed(0)))).toBe(100);
    expect(backoff(ctx(1, fixed(0.5)))).toBe(200);
  });

  it('draws between initial and 3 x the previous delay, capped at max', () => {
    const backoff = decorrelated({ initial: 100, max: 1000 });
    expect(backoff(ctx(3, fixed(0.5), 300))).toBe(500);
    expect(backoff(ctx(3, fixed(0.99), 5000))).toBe(1000);
  });

  it('property: every delay stays within [min(initial, max), max]', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 10_000 }),
        fc.integer({ min: 0, max: 100_000 }),
        fc.double({ min: 0, max: 1e6, noNaN: true }),
        fc.double({ min: 0, max: 1, maxExcluded: true, noNaN: true }),
        (initial, max, previous, r) => {
          const delay = decorrelated({ initial, max })(ctx(2, fixed(r), previous));
          expect(delay).toBeGreaterThanOrEqual(Math.min(initial, max));
          expect(delay).toBeLessThanOrEqual(max);
        },
      ),
    );
  });
});

describe('exponential edge cases', () => {
  it('stays 0 (not NaN) with initial 0 at a huge attempt number', () => {
    expect(exponential({ initial: 0, jitter: 'none' })(ctx(5000))).toBe(0);
    expect(exponential({ jitter: 'none' })(ctx(5000))).toBe(30_000);
  });
});
