/**
 * Review round 18: the deadline give-up compares `now + delay` with `expiresAt` (1a0a915, decision 0177). With no
 * deadline (or `deadline: Infinity`) there is none to give up for, whatever the clock reads: a reading of Infinity
 * made `Infinity + delay >= Infinity` true, where the time left read back (`Infinity - Infinity`, NaN) was not.
 */
import { constant, RetryError, retry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('retry on a clock that reads Infinity', () => {
  for (const deadline of [undefined, Number.POSITIVE_INFINITY]) {
    it(`retries up to attempts with deadline ${deadline} (no deadline to give up for)`, async () => {
      const fake = createFakeClock({ now: 1_000 });
      let reads = 0;
      // Infinity from the second reading on (the first is retry's start).
      const clock = { ...fake, now: () => (reads++ === 0 ? fake.now() : Number.POSITIVE_INFINITY) };
      let calls = 0;
      const outcome = retry(
        () => {
          calls++;
          return Promise.reject(new Error('down'));
        },
        { attempts: 3, backoff: constant(10), clock, ...(deadline === undefined ? {} : { deadline }) },
      ).catch((error: unknown) => error);
      await fake.advance(10);
      await fake.advance(10);
      const error = await outcome;
      expect(error).toBeInstanceOf(RetryError);
      // Before: reason 'deadline' after the first call, with no deadline given.
      expect((error as RetryError).reason).toBe('attempts');
      expect(calls).toBe(3);
    });
  }
});
