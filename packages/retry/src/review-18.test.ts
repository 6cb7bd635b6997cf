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

// README: "The call settles no later than `deadline` ms after it started." The deadline is a timer; once it has
// fired, `expiresAt` is -Infinity and every check gives up, but a clock reading NaN made `NaN >= -Infinity` false:
// retry started another attempt after the deadline, which nothing cut any more.
describe('retry with a deadline on a clock that reads NaN', () => {
  const nanClock = () => {
    const fake = createFakeClock({ now: 1_000 });
    return { fake, clock: { ...fake, now: () => Number.NaN } };
  };

  it('starts no attempt after the deadline cut one, and settles at the deadline', async () => {
    const { fake, clock } = nanClock();
    let calls = 0;
    let settled: unknown;
    void retry(
      ({ signal }) => {
        calls++;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      { attempts: Number.POSITIVE_INFINITY, backoff: constant(100), deadline: 1000, clock },
    ).catch((error: unknown) => {
      settled = error;
    });
    await fake.advance(1000);
    await fake.advance(5000);
    // Before: a second attempt at 1100 ms, waiting for an abort that never came; retry never settled.
    expect(calls).toBe(1);
    expect(settled).toBeInstanceOf(RetryError);
    expect((settled as RetryError).reason).toBe('deadline');
  });

  it('starts no attempt after the deadline cut a wait', async () => {
    const { fake, clock } = nanClock();
    let calls = 0;
    let settled: unknown;
    void retry(
      () => {
        calls++;
        return Promise.reject(new Error('down'));
      },
      { attempts: Number.POSITIVE_INFINITY, backoff: constant(300), deadline: 1000, clock },
    ).catch((error: unknown) => {
      settled = error;
    });
    for (let i = 0; i < 4; i++) await fake.advance(300);
    // Attempts at 0, 300, 600 and 900 ms; the wait from 900 ms is cut at 1000 ms. Before: a 5th attempt at 1000.
    expect(calls).toBe(4);
    expect((settled as RetryError).reason).toBe('deadline');
  });
});
