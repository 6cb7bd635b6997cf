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

  it('counts a listener added with capture and without as two, as the signal does, so a remove with the wrong capture flag shows as a leak', () => {
    const tracked = trackedAbortController();
    const listener = (): void => {};
    tracked.signal.addEventListener('abort', listener);
    tracked.signal.removeEventListener('abort', listener, { capture: true });
    expect(tracked.listeners).toBe(1);
    tracked.signal.addEventListener('abort', listener, true);
    expect(tracked.listeners).toBe(2);
    tracked.signal.removeEventListener('abort', listener, false);
    expect(tracked.listeners).toBe(1);
    tracked.signal.removeEventListener('abort', listener, { capture: true });
    expect(tracked.listeners).toBe(0);
  });

  it('does not count a listener whose { signal } option is already aborted: the signal never adds it', () => {
    const tracked = trackedAbortController();
    tracked.signal.addEventListener('abort', () => {}, { signal: AbortSignal.abort() });
    expect(tracked.listeners).toBe(0);
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
