import { createBreaker, slidingWindow } from '@integ/breaker';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const fail = (): Promise<never> => Promise.reject(new Error('x'));
const pass = (): Promise<number> => Promise.resolve(1);

describe('slidingWindow', () => {
  it('count window: opens at the failure rate once minimumCalls are in', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ type: 'count', size: 10, failureRateThreshold: 0.5, minimumCalls: 6 }),
    });
    for (const fn of [fail, pass, fail, pass, fail]) await breaker.execute(fn).catch(() => {});
    // 3 of 5 failed, but only 5 calls: below minimumCalls.
    expect(breaker.state).toBe('closed');
    await breaker.execute(pass);
    // 3 of 6 = 50%: at the threshold.
    expect(breaker.state).toBe('open');
  });

  it('count window: only the last N outcomes count', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ type: 'count', size: 4, failureRateThreshold: 0.75, minimumCalls: 4 }),
    });
    for (const fn of [fail, fail, pass, pass, pass, fail, fail]) await breaker.execute(fn).catch(() => {});
    // Last 4: pass pass fail fail = 50% (the two early failures fell out).
    expect(breaker.snapshot()).toMatchObject({ calls: 4, failures: 2, state: 'closed' });
    await breaker.execute(fail).catch(() => {});
    expect(breaker.state).toBe('open');
  });

  it('time window: forgets buckets older than the window', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({
        type: 'time',
        duration: 10_000,
        buckets: 10,
        failureRateThreshold: 0.5,
        minimumCalls: 4,
      }),
    });
    for (let i = 0; i < 3; i++) await breaker.execute(fail).catch(() => {});
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 3 });
    await clock.advance(5_000);
    expect(breaker.snapshot()).toMatchObject({ calls: 3, failures: 3 });
    await clock.advance(5_000);
    // The bucket of t=0 is now 10 s old: gone, with no call having landed since.
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0 });
    for (const fn of [pass, pass, pass, fail]) await breaker.execute(fn).catch(() => {});
    expect(breaker.state).toBe('closed');
  });

  it('time window: keeps recent buckets while older ones expire one by one', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({
        type: 'time',
        duration: 4_000,
        buckets: 4,
        failureRateThreshold: 1,
        minimumCalls: 100,
      }),
    });
    for (let s = 0; s < 6; s++) {
      await breaker.execute(fail).catch(() => {});
      await clock.advance(1_000);
    }
    // At t = 6 s the window holds the buckets of 3, 4, 5 and 6 s: the calls at 3, 4 and 5 s.
    expect(breaker.snapshot().calls).toBe(3);
  });

  it('slow-call rate opens the circuit even when every call succeeds', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      slowCallDuration: 1_000,
      window: slidingWindow({ size: 4, slowCallRateThreshold: 0.5, minimumCalls: 4 }),
    });
    const slow = async () => {
      const call = breaker.execute(() => new Promise<number>((r) => clock.setTimeout(() => r(1), 1_500)));
      await clock.advance(1_500);
      return call;
    };
    await slow();
    await breaker.execute(pass);
    await breaker.execute(pass);
    expect(breaker.snapshot()).toMatchObject({ calls: 3, slowCalls: 1 });
    await slow();
    expect(breaker.state).toBe('open');
  });

  it('starts a fresh window when the breaker closes again', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      openFor: 100,
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ size: 10, failureRateThreshold: 0.5, minimumCalls: 2 }),
    });
    await breaker.execute(fail).catch(() => {});
    await breaker.execute(fail).catch(() => {});
    expect(breaker.state).toBe('open');
    await clock.advance(100);
    await breaker.execute(pass);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0 });
  });

  it('one options object serves many breakers without sharing counts', async () => {
    const options = { window: slidingWindow({ size: 10 }), clock: createFakeClock() };
    const a = createBreaker(options);
    const b = createBreaker(options);
    await a.execute(fail).catch(() => {});
    expect(a.snapshot().calls).toBe(1);
    expect(b.snapshot().calls).toBe(0);
  });

  it('rejects bad options', () => {
    const bad = [
      { type: 'sliding' },
      { size: 0 },
      { size: 2.5 },
      { failureRateThreshold: 0 },
      { failureRateThreshold: 50 },
      { minimumCalls: 200, size: 100 },
      { type: 'time', duration: 0 },
    ];
    for (const options of bad)
      expect(() => slidingWindow(options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
  });

  it('refuses a time window that could never forget: an infinite duration, or one past 2^31 - 1 ms', () => {
    // duration: Infinity made every bucket key 0 (now / Infinity), so nothing ever left the window.
    for (const duration of [Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 53, 1e300])
      expect(() => slidingWindow({ type: 'time', duration })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARGUMENT',
          argument: 'duration',
          message: expect.stringContaining(', 2147483647]'),
        }),
      );
    expect(() => slidingWindow({ type: 'time', duration: 2 ** 31 - 1 })).not.toThrow();
  });

  it('refuses buckets shorter than 1 ms (a duration below buckets), which made it loop for ever at epoch times', () => {
    // 1.5 ms in 10,000 buckets: keys of now / 0.00015 are past 2^53 at epoch times, where `k++` stops
    // moving k, and the second call a millisecond later never returned.
    for (const [options, range] of [
      [{ duration: 1.5, buckets: 10_000 }, '[10000, 2147483647]'],
      [{ duration: 5 }, '[10, 2147483647]'],
    ] as const)
      expect(() => slidingWindow({ type: 'time', ...options })).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARGUMENT',
          argument: 'duration',
          message: expect.stringContaining(`expected a number in ${range}`),
        }),
      );
    // The finest window allowed, 1 ms buckets, counts and forgets at epoch times (year 2100).
    const window = slidingWindow({ type: 'time', duration: 10_000, buckets: 10_000, minimumCalls: 1e6 })();
    const now = Date.UTC(2100, 0);
    for (let i = 0; i < 5; i++) window.record(i % 2 === 0, false, now + i * 0.5);
    expect(window.counts(now + 2)).toEqual({ calls: 5, failures: 3, slowCalls: 0 });
    expect(window.counts(now + 10_001).calls).toBe(1);
    expect(window.counts(now + 20_000).calls).toBe(0);
  });

  it('time window: a call at an exact bucket edge lands in the bucket that starts there (buckets of a fractional length)', () => {
    // 100 ms in 3 buckets: bucket 15 starts at 500 (15 * 100 / 3). 500 / (100 / 3) is 14.999999999999998 in
    // floating point: the call went into bucket 14 and was forgotten at 566.67, a third of the window early.
    const window = slidingWindow({ type: 'time', duration: 100, buckets: 3, minimumCalls: 1e6 })();
    window.record(true, false, 499);
    window.record(false, false, 500);
    expect(window.counts(566).calls).toBe(2);
    expect(window.counts(567)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
    expect(window.counts(599).calls).toBe(1);
    expect(window.counts(600).calls).toBe(0);
  });

  it('time window: a call at any whole-ms bucket edge, at epoch times, stays for exactly one duration (property)', () => {
    const gcd = (a: number, b: number): number => (b ? gcd(b, a % b) : a);
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 10_000 }),
        fc.integer({ min: 0, max: 2 ** 31 - 1 }),
        fc.integer({ min: 1, max: Date.UTC(2200, 0) }),
        (buckets, extra, base) => {
          const duration = Math.min(buckets + extra, 2 ** 31 - 1);
          // The first whole ms at or after `base` where a bucket starts: a multiple of duration / gcd.
          const step = duration / gcd(buckets, duration);
          const edge = Math.ceil(base / step) * step;
          const window = slidingWindow({ type: 'time', duration, buckets, minimumCalls: 1e6 })();
          // One ms earlier is the bucket before (buckets are at least 1 ms long).
          window.record(true, false, edge - 1);
          window.record(false, false, edge);
          expect(window.counts(edge + duration - 1)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
          expect(window.counts(edge + duration).calls).toBe(0);
        },
      ),
    );
  });

  it('counts match a naive model of the last N calls (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 20 }),
        fc.array(fc.tuple(fc.boolean(), fc.boolean()), { maxLength: 200 }),
        (size, outcomes) => {
          const window = slidingWindow({ size, failureRateThreshold: 1, minimumCalls: 1 })();
          outcomes.forEach(([failed, slow], i) => {
            window.record(failed, slow, 0);
            const last = outcomes.slice(Math.max(0, i + 1 - size), i + 1);
            expect(window.counts(0)).toEqual({
              calls: last.length,
              // A slow call counts as a failure.
              failures: last.filter(([f, s]) => f || s).length,
              slowCalls: last.filter(([, s]) => s).length,
            });
          });
        },
      ),
    );
  });

  it('time-window counts match a naive model of the buckets in the window (property)', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 8 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 3_000 }), fc.boolean()), { maxLength: 100 }),
        (buckets, steps) => {
          const bucketMs = 1_000;
          const window = slidingWindow({
            type: 'time',
            duration: buckets * bucketMs,
            buckets,
            failureRateThreshold: 1,
          })();
          let now = 0;
          const seen: [number, boolean][] = [];
          for (const [dt, failed] of steps) {
            now += dt;
            window.record(failed, false, now);
            seen.push([Math.floor(now / bucketMs), failed]);
            const current = Math.floor(now / bucketMs);
            const live = seen.filter(([key]) => key > current - buckets);
            expect(window.counts(now)).toEqual({
              calls: live.length,
              failures: live.filter(([, f]) => f).length,
              slowCalls: 0,
            });
          }
        },
      ),
    );
  });
});

describe('slidingWindow on a clock that reads below 0 (a custom clock, a fake one started in the past)', () => {
  it('counts and forgets there as anywhere else', () => {
    const window = slidingWindow({ type: 'time', duration: 1_000, buckets: 10, minimumCalls: 1 })();
    expect(window.record(true, false, -5_000)).toBe(true);
    window.record(false, true, -4_900);
    // 100 ms buckets: at -4 000 the bucket of -5 000 has left the window, the one of -4 900 has not.
    expect(window.counts(-4_050)).toEqual({ calls: 2, failures: 2, slowCalls: 1 });
    expect(window.counts(-4_000)).toEqual({ calls: 1, failures: 1, slowCalls: 1 });
    expect(window.counts(-3_000)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
    window.record(true, false, -1);
    expect(window.counts(50)).toEqual({ calls: 1, failures: 1, slowCalls: 0 });
  });

  it('a breaker on such a clock trips on the failure rate', async () => {
    const clock = createFakeClock({ now: -60_000 });
    const breaker = createBreaker({
      clock,
      failureThreshold: Infinity,
      window: slidingWindow({ type: 'time', duration: 10_000, minimumCalls: 4 }),
    });
    for (let i = 0; i < 4; i++) {
      // 1.5 s apart: each call lands in a new 1 s bucket, so the window rolls between them.
      clock.advanceSync(1_500);
      await breaker.execute(() => Promise.reject(new Error('down'))).catch(() => {});
    }
    expect(breaker.state).toBe('open');
  });
});
