import { seededRandom, trackedAbortController } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

describe('seededRandom', () => {
  it('gives the same sequence for the same seed and another for another seed', () => {
    const a = seededRandom(42);
    const b = seededRandom(42);
    const c = seededRandom(43);
    const first = [a(), a(), a()];
    expect([b(), b(), b()]).toEqual(first);
    expect([c(), c(), c()]).not.toEqual(first);
  });

  it('property: stays in [0, 1) and spreads evenly over ten buckets', () => {
    fc.assert(
      fc.property(fc.integer(), (seed) => {
        const random = seededRandom(seed);
        const buckets = new Array<number>(10).fill(0);
        for (let i = 0; i < 5000; i++) {
          const x = random();
          expect(x).toBeGreaterThanOrEqual(0);
          expect(x).toBeLessThan(1);
          buckets[Math.floor(x * 10)]!++;
        }
        for (const count of buckets) expect(count).toBeGreaterThan(350);
      }),
      { numRuns: 20 },
    );
  });
});

describe('trackedAbortController', () => {
  it('counts abort listeners as they are added and removed', () => {
    const tracked = trackedAbortController();
    const a = (): void => {};
    const b = (): void => {};
    tracked.signal.addEventListener('abort', a);
    tracked.signal.addEventListener('abort', b, { once: true });
    tracked.signal.addEventListener('abort', a);
    expect(tracked.listeners).toBe(2);
    tracked.signal.removeEventListener('abort', a);
    expect(tracked.listeners).toBe(1);
  });

  it('forgets once-listeners when they fire, keeps the others', () => {
    const tracked = trackedAbortController();
    let fired = 0;
    tracked.signal.addEventListener('abort', () => fired++, { once: true });
    tracked.signal.addEventListener('abort', () => fired++);
    tracked.abort('stop');
    expect(fired).toBe(2);
    expect(tracked.listeners).toBe(1);
    expect(tracked.signal.reason).toBe('stop');
  });
});
