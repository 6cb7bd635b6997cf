/**
 * Review round 26: a cross-review of round 25's fix acf908b (a trip checks its generation after reading the
 * failure's retryAfterMs and before asking openFor, so openFor is not asked for a trip that a reset() or isolate()
 * from a custom window's record() or that getter dropped). Attacked with a trip made inside the dropped one: that
 * code calls reset() and then a call of the new generation trips (a caller's timeout aborts it at once).
 */

import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { type Breaker, type BreakerWindow, createBreaker } from '../src/index';

describe('a trip made inside a trip that reset() dropped', () => {
  it.each(['record', 'retryAfterMs'])(
    'from %s: openFor is asked once, for trip 1, and the breaker is open with 1 trip',
    async (where) => {
      const clock = createFakeClock();
      const openFor = vi.fn((trip: number) => 100 * trip);
      let b!: Breaker;
      let nested = false;
      const resetAndTrip = (): void => {
        if (nested) return;
        nested = true;
        b.reset();
        const caller = new AbortController();
        void b.tryExecute(() => new Promise(() => {}), { signal: caller.signal });
        caller.abort(new DOMException('caller timeout', 'TimeoutError')); // a failure, counted at once: a trip
      };
      let failures = 0;
      const window = (): BreakerWindow => ({
        record: (failed) => {
          if (where === 'record') resetAndTrip();
          if (failed) failures++;
          return failures > 0;
        },
        counts: () => ({ calls: failures, failures, slowCalls: 0 }),
        clear: () => {
          failures = 0;
        },
      });
      b = createBreaker({ clock, failureThreshold: 1, openFor, ...(where === 'record' && { window }) });
      const error = Object.defineProperty(new Error('down'), 'retryAfterMs', {
        get: () => void (where === 'retryAfterMs' && resetAndTrip()),
      });
      await b.tryExecute(() => Promise.reject(error));
      // The dropped trip asked openFor(2) after the nested one had counted its trip.
      expect(openFor.mock.calls).toEqual([[1]]);
      expect(b.snapshot()).toMatchObject({ state: 'open', trips: 1, openUntil: 100 });
    },
  );
});
