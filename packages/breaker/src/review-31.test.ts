/**
 * Review round 31: cross-review of round 30's breaker fix 8621995 (snapshot() asks a window's counts() again when
 * the breaker's calls count moved while it ran, not only on a transition). Pins where it held.
 */

import type { Clock } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import {
  type Breaker,
  type BreakerWindow,
  createBreaker,
  createBreakerRegistry,
  slidingWindow,
} from '../src/index';

const boom = (): never => {
  throw new Error('boom');
};

/** A window of `inner`'s whose counts() runs `during` after taking its answer, and counts how often it is asked. */
function acting(inner: () => BreakerWindow, during: (asked: number) => void) {
  const state = { asked: 0 };
  const factory = (): BreakerWindow => {
    const w = inner();
    return {
      ...w,
      counts: (now) => {
        const answer = w.counts(now);
        during(++state.asked);
        return answer;
      },
    };
  };
  return { state, factory };
}

describe('breaker.snapshot(): a counts() that makes a call (8621995)', () => {
  it('a call rejected while open is no call counted: counts() is asked once, the snapshot agrees with itself', async () => {
    const clock = createFakeClock();
    let b!: Breaker;
    const rejections: unknown[] = [];
    const { state, factory } = acting(slidingWindow({ size: 10, minimumCalls: 10 }), (asked) => {
      if (asked === 1) void b.tryExecute(() => 1);
    });
    b = createBreaker({
      clock,
      failureThreshold: 2,
      openFor: 5_000,
      slowCallDuration: 1_000,
      window: factory,
      onReject: (error) => rejections.push(error),
    });
    await b.tryExecute(boom);
    await b.tryExecute(boom);
    const snap = b.snapshot();
    expect(rejections).toHaveLength(1);
    expect(state.asked).toBe(1);
    expect(snap).toMatchObject({ state: 'open', trips: 1, consecutiveFailures: 2, calls: 2, failures: 2 });
    expect(b.snapshot()).toEqual(snap);
  });

  it('half-open: a probe left in flight and an extra caller turned away count nothing: asked once', async () => {
    const clock = createFakeClock();
    let b!: Breaker;
    let turnedAway: unknown;
    const { state, factory } = acting(slidingWindow({ size: 10, minimumCalls: 10 }), (asked) => {
      if (asked !== 1) return;
      void b.tryExecute(() => new Promise(() => {}));
      void b
        .tryExecute(() => 1)
        .then((result) => {
          turnedAway = result;
        });
    });
    b = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, halfOpenProbes: 1, window: factory });
    await b.tryExecute(boom);
    await clock.advance(1_000);
    expect(b.state).toBe('half-open');
    const snap = b.snapshot();
    expect(state.asked).toBe(1);
    expect(snap).toMatchObject({
      state: 'half-open',
      trips: 1,
      consecutiveFailures: 1,
      calls: 1,
      failures: 1,
    });
    await Promise.resolve();
    await Promise.resolve();
    expect(turnedAway).toMatchObject({ ok: false, error: { code: 'ERR_CIRCUIT_OPEN' } });
    expect(b.snapshot()).toEqual(snap);
  });

  it('half-open: a timed probe that throws at once re-opens the breaker: asked again, the snapshot is of the open breaker', async () => {
    const clock = createFakeClock();
    let b!: Breaker;
    const { state, factory } = acting(slidingWindow({ size: 10, minimumCalls: 10 }), (asked) => {
      if (asked === 1) void b.tryExecute(boom);
    });
    b = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 1_000,
      halfOpenProbes: 1,
      slowCallDuration: 500,
      window: factory,
    });
    await b.tryExecute(boom);
    await clock.advance(1_000);
    const snap = b.snapshot();
    expect(state.asked).toBe(2);
    expect(snap).toMatchObject({ state: 'open', trips: 2, openUntil: 2_000, calls: 1, failures: 1 });
    expect(b.snapshot()).toEqual(snap);
  });

  it('a time window whose clock moves past its duration inside counts(), with a call that fails at once: the counts after the roll', async () => {
    const clock = createFakeClock({ now: 1_000 });
    let b!: Breaker;
    const { state, factory } = acting(
      slidingWindow({ type: 'time', duration: 10_000, buckets: 5, minimumCalls: 100 }),
      (asked) => {
        if (asked !== 1) return;
        clock.setNow(clock.now() + 20_000);
        void b.tryExecute(boom);
      },
    );
    b = createBreaker({ clock, failureThreshold: 100, slowCallDuration: 500, window: factory });
    for (let i = 0; i < 3; i++) await b.tryExecute(boom);
    // counts() answers 3 failures at 1 s, then the clock moves to 21 s and a call fails at once: recorded at 21 s,
    // the old buckets fall out. Asked again, the window answers as it is now: that failure only.
    const snap = b.snapshot();
    expect(state.asked).toBe(2);
    expect(snap).toMatchObject({ state: 'closed', consecutiveFailures: 4, calls: 1, failures: 1 });
    expect(b.snapshot()).toEqual(snap);
  });

  it('a time window whose clock moves inside counts() with no call: asked once, the counts at the time snapshot() read', async () => {
    const clock = createFakeClock({ now: 1_000 });
    let moving = false;
    const { state, factory } = acting(
      slidingWindow({ type: 'time', duration: 10_000, buckets: 5, minimumCalls: 100 }),
      () => moving && clock.setNow(clock.now() + 20_000),
    );
    const b = createBreaker({ clock, failureThreshold: 100, window: factory });
    await b.tryExecute(() => Promise.reject(new Error('down')));
    moving = true;
    expect(b.snapshot()).toMatchObject({ consecutiveFailures: 1, calls: 1, failures: 1 });
    expect(state.asked).toBe(1);
    moving = false;
    // 20 s later the failure has left the window; consecutive failures are not windowed (decision 0129).
    expect(b.snapshot()).toMatchObject({ consecutiveFailures: 1, calls: 0, failures: 0 });
  });

  it('a counts() that makes a counted call every time it is asked: asked twice, never more', () => {
    const clock = createFakeClock();
    let b!: Breaker;
    const { state, factory } = acting(slidingWindow({ size: 100, minimumCalls: 100 }), () => {
      void b.tryExecute(boom);
    });
    b = createBreaker({ clock, failureThreshold: 100, slowCallDuration: 500, window: factory });
    for (let n = 1; n <= 5; n++) {
      b.snapshot();
      expect(state.asked).toBe(2 * n);
    }
  });
});

describe('breaker.snapshot() without a window (8621995)', () => {
  it('a clock that makes a call that fails at once from inside snapshot(): the snapshot agrees with itself', () => {
    const fake = createFakeClock({ now: 1_000 });
    let b!: Breaker;
    let inside = false;
    let reads = 0;
    const clock: Clock = {
      now: () => {
        if (inside && ++reads === 1) void b.tryExecute(boom);
        return fake.now();
      },
      setTimeout: (callback, ms) => fake.setTimeout(callback, ms),
      clearTimeout: (handle) => fake.clearTimeout(handle),
    };
    b = createBreaker({ clock, failureThreshold: 5, slowCallDuration: 500 });
    inside = true;
    const snap = b.snapshot();
    inside = false;
    expect(reads).toBeGreaterThan(1);
    expect(snap).toMatchObject({ state: 'closed', consecutiveFailures: 1, calls: 1, failures: 1 });
    expect(b.snapshot()).toEqual(snap);
  });
});

describe('createBreakerRegistry({ options: null }) (62e3674)', () => {
  it("makes every breaker with the defaults on the registry's clock", async () => {
    const clock = createFakeClock({ now: 5_000 });
    const registry = createBreakerRegistry({ options: null, clock });
    const b = registry.get('k');
    for (let i = 0; i < 5; i++) await b.tryExecute(boom);
    // The default failureThreshold (5) and openFor (60 s), on the fake clock, not Date.now().
    expect(b.snapshot()).toMatchObject({ state: 'open', trips: 1, openUntil: 65_000 });
    await clock.advance(60_000);
    expect(b.state).toBe('half-open');
  });
});
