/**
 * Review 22: afb66a3 (a time window's count of whole windows rounded) on fractional and negative clocks and at
 * bucket boundaries, and 32495af (openFor asked only when a restored snapshot is open and not isolated) for open
 * snapshots with and without openUntil, isolated ones, and a registry restored by the README's recipe.
 */
import { createFakeClock, type FakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Breaker,
  type BreakerSnapshot,
  createBreaker,
  createBreakerRegistry,
  isCircuitOpenError,
  slidingWindow,
} from '../src/index';

const down = new Error('down');
const fail = (): Promise<never> => Promise.reject(down);
const pass = (): Promise<number> => Promise.resolve(1);
const settle = (breaker: Breaker, fn: () => unknown): Promise<unknown> => breaker.tryExecute(fn);

const counting = (clock: FakeClock, window: Parameters<typeof slidingWindow>[0]): Breaker =>
  createBreaker({
    clock,
    failureThreshold: Number.POSITIVE_INFINITY,
    window: slidingWindow({ failureRateThreshold: Number.POSITIVE_INFINITY, ...window }),
  });

const counts = (breaker: Breaker) => {
  const { calls, failures, slowCalls } = breaker.snapshot();
  return { calls, failures, slowCalls };
};

/** A double as an exact fraction of BigInts. */
function fraction(x: number): [bigint, bigint] {
  const view = new DataView(new ArrayBuffer(8));
  view.setFloat64(0, x);
  const hi = view.getUint32(0);
  const sign = hi >>> 31 ? -1n : 1n;
  const e = (hi >>> 20) & 0x7ff;
  let m = (BigInt(hi & 0xfffff) << 32n) | BigInt(view.getUint32(4));
  if (e === 0) return m === 0n ? [0n, 1n] : [sign * m, 1n << 1074n];
  m |= 1n << 52n;
  const shift = e - 1075;
  return shift >= 0 ? [sign * (m << BigInt(shift)), 1n] : [sign * m, 1n << BigInt(-shift)];
}

/** floor(now * buckets / duration) of the doubles given, exactly. */
function bucketOf(now: number, duration: number, buckets: number): bigint {
  const [a, b] = fraction(now);
  const [c, d] = fraction(duration);
  const num = a * d * BigInt(buckets);
  const den = b * c;
  const q = num / den;
  return num % den !== 0n && num < 0n ? q - 1n : q;
}

describe('slidingWindow (time) on fractional and negative clocks (property)', () => {
  it('holds exactly the calls of the last `buckets` buckets, durations and instants with fractions, below 0 too', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        // Durations of 12 ms to 600,000 s, fractional three times in four (review-21's range, merged here).
        fc.integer({ min: 12_000, max: 600_000_000 }),
        fc.oneof(
          fc.integer({ min: -2_000_000, max: 2_000_000 }),
          fc.integer({ min: -1_900_000_000_000, max: 1_900_000_000_000 }),
        ),
        fc.integer({ min: 0, max: 1023 }),
        fc.array(
          fc.tuple(fc.integer({ min: 0, max: 90_000 }), fc.integer({ min: 0, max: 7 }), fc.boolean()),
          {
            minLength: 1,
            maxLength: 30,
          },
        ),
        async (buckets, milli, whole, part, calls) => {
          const duration = milli / 1000;
          // A start with a fraction of 1/1024 ms steps, and steps of 1/8 ms: every instant is exact.
          const clock = createFakeClock({ now: whole + part / 1024 });
          const breaker = counting(clock, { type: 'time', duration, buckets });
          const held: [bigint, boolean][] = [];
          for (const [ms, eighths, failed] of calls) {
            await clock.advance(ms + eighths / 8);
            await settle(breaker, failed ? fail : pass);
            const key = bucketOf(clock.now(), duration, buckets);
            held.push([key, failed]);
            const live = held.filter(([k]) => k > key - BigInt(buckets));
            expect(counts(breaker)).toEqual({
              calls: live.length,
              failures: live.filter(([, f]) => f).length,
              slowCalls: 0,
            });
          }
        },
      ),
      { seed: 2_2022, numRuns: 300 },
    );
  });
});

describe('slidingWindow (time) at bucket boundaries k * duration / buckets', () => {
  it('a call at a boundary is in the bucket that starts there and leaves with it, below 0 as above', async () => {
    for (const start of [-999_990, -90, 0, 1_705_574_160_000]) {
      // 3 buckets of 30 ms: boundaries at every multiple of 30 (start is one).
      const clock = createFakeClock({ now: start });
      const breaker = counting(clock, { type: 'time', duration: 90, buckets: 3 });
      await clock.advance(29.5);
      await settle(breaker, fail); // bucket [start, start + 30)
      await clock.advance(0.5);
      await settle(breaker, pass); // bucket [start + 30, start + 60), at its first instant
      expect(counts(breaker)).toEqual({ calls: 2, failures: 1, slowCalls: 0 });
      // At start + 90 the first bucket leaves; the second stays until start + 120, exclusive.
      await clock.advance(60);
      expect({ start, ...counts(breaker) }).toEqual({ start, calls: 1, failures: 0, slowCalls: 0 });
      await clock.advance(29.875);
      expect(counts(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
      await clock.advance(0.125);
      expect(counts(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
    }
  });

  it('with a bucket length that is not whole (100 ms in 3), at whole-ms instants', async () => {
    // Boundaries at 33.33.., 66.66..: the instants 33 and 34, 66 and 67 fall on either side.
    const clock = createFakeClock({ now: 0 });
    const breaker = counting(clock, { type: 'time', duration: 100, buckets: 3 });
    await clock.advance(33);
    await settle(breaker, fail); // bucket 0
    await clock.advance(1);
    await settle(breaker, pass); // bucket 1
    await clock.advance(66); // 100: bucket 3, bucket 0 has left
    expect(counts(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
    await clock.advance(33); // 133: still bucket 3
    expect(counts(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
    await clock.advance(1); // 134: bucket 4, bucket 1 has left
    expect(counts(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
  });
});

describe('initialState and openFor, review 22', () => {
  const recorder = () => {
    const trips: number[] = [];
    const openFor = (trip: number): number => {
      trips.push(trip);
      return 1_000 * trip;
    };
    return { trips, openFor };
  };

  it('an open snapshot with openUntil: openFor not asked, open until then, then a probe', async () => {
    const clock = createFakeClock({ now: 10_000 });
    const { trips, openFor } = recorder();
    const breaker = createBreaker({
      clock,
      openFor,
      initialState: { state: 'open', openUntil: 14_000, trips: 3 },
    });
    expect(trips).toEqual([]);
    const rejected = await breaker.tryExecute(pass);
    expect(rejected.ok).toBe(false);
    if (!rejected.ok) {
      expect(isCircuitOpenError(rejected.error)).toBe(true);
      expect((rejected.error as { retryAfterMs: number }).retryAfterMs).toBe(4_000);
    }
    await clock.advance(4_000);
    expect(breaker.state).toBe('half-open');
    // A failed probe trips again: the fourth trip.
    await settle(breaker, fail);
    expect(trips).toEqual([4]);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 18_000, trips: 4 });
  });

  it('an open snapshot without openUntil: openFor asked once, for its trips', async () => {
    const clock = createFakeClock({ now: 10_000 });
    const { trips, openFor } = recorder();
    const breaker = createBreaker({ clock, openFor, initialState: { state: 'open', trips: 3 } });
    expect(trips).toEqual([3]);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 13_000 });
    await clock.advance(2_999);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(breaker.state).toBe('half-open');
    expect(trips).toEqual([3]);
  });

  it('an isolated snapshot: openFor not asked, rejects with no end, stays isolated in its snapshot, closes on reset()', async () => {
    const clock = createFakeClock({ now: 10_000 });
    const { trips, openFor } = recorder();
    const changes: string[] = [];
    const breaker = createBreaker({
      clock,
      openFor,
      onStateChange: (to, from) => changes.push(`${from}->${to}`),
      initialState: { state: 'open', isolated: true, openUntil: null, trips: 2 },
    });
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(10 * 60_000);
    expect(breaker.state).toBe('open');
    const rejected = await breaker.tryExecute(pass);
    expect(!rejected.ok && (rejected.error as { retryAfterMs: number }).retryAfterMs).toBe(
      Number.POSITIVE_INFINITY,
    );
    const snapshot = breaker.snapshot();
    expect(snapshot).toMatchObject({ state: 'open', isolated: true, openUntil: null, trips: 2 });
    // Restored again from its own snapshot: the same.
    const again = createBreaker({ clock, openFor, initialState: JSON.parse(JSON.stringify(snapshot)) });
    expect(again.snapshot()).toEqual(snapshot);
    breaker.reset();
    expect(breaker.state).toBe('closed');
    expect(changes).toEqual(['open->closed']);
    expect(trips).toEqual([]);
    // A later trip asks openFor for trip 1 (reset forgets trips).
    const strict = createBreaker({
      clock,
      openFor,
      failureThreshold: 1,
      initialState: { state: 'open', isolated: true, trips: 5 },
    });
    strict.reset();
    await settle(strict, fail);
    expect(trips).toEqual([1]);
  });

  it("a registry restored by the README's recipe asks openFor only for open keys without openUntil, once each", async () => {
    const clock = createFakeClock({ now: 50_000 });
    const { trips, openFor } = recorder();
    const saved: Record<string, BreakerSnapshot> = JSON.parse(
      JSON.stringify({
        closed: { state: 'closed', isolated: false, openUntil: null, trips: 0, consecutiveFailures: 1 },
        half: { state: 'half-open', isolated: false, openUntil: null, trips: 2, consecutiveFailures: 0 },
        isolated: { state: 'open', isolated: true, openUntil: null, trips: 1, consecutiveFailures: 0 },
        until: { state: 'open', isolated: false, openUntil: 53_000, trips: 3, consecutiveFailures: 0 },
        bare: { state: 'open', trips: 2 },
      }),
    );
    const breakers = createBreakerRegistry({
      clock,
      options: (key) => {
        const initialState = Object.hasOwn(saved, key) ? saved[key] : undefined;
        delete saved[key];
        return { openFor, failureThreshold: 3, ...(initialState && { initialState }) };
      },
    });
    expect(trips).toEqual([]);
    for (const key of ['closed', 'half', 'isolated', 'until']) breakers.get(key);
    expect(trips).toEqual([]);
    expect(breakers.get('bare').snapshot()).toMatchObject({ state: 'open', openUntil: 52_000 });
    breakers.get('bare');
    expect(trips).toEqual([2]);
    expect(breakers.snapshot()).toMatchObject({
      closed: { state: 'closed', consecutiveFailures: 1 },
      half: { state: 'half-open', trips: 2 },
      isolated: { state: 'open', isolated: true, openUntil: null },
      until: { state: 'open', openUntil: 53_000, trips: 3 },
    });
  });
});
