/**
 * Review round 21 (reference-derived): the semantic cases of resilience4j's CircuitBreakerStateMachineTest,
 * SlidingTimeWindowMetricsTest and FixedSizeSlidingWindowMetricsTest, Polly v8's RollingHealthMetricsTests,
 * AdvancedCircuitBehaviorTests and CircuitStateControllerTests, cockatiel's and opossum's breaker tests, and the
 * known faults of those peers (buckets not reset, half-open stuck, stale results counted after a transition),
 * translated to our API on a fake clock. Where our documented semantics differ on purpose, the case pins ours.
 */
import { createFakeClock, type FakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import {
  type Breaker,
  type BreakerOptions,
  createBreaker,
  createBreakerRegistry,
  isCircuitOpenError,
  slidingWindow,
} from '../src/index';

const down = new Error('down');
const fail = (): Promise<never> => Promise.reject(down);
const pass = (): Promise<number> => Promise.resolve(1);
const settle = (breaker: Breaker, fn: () => unknown): Promise<unknown> => breaker.tryExecute(fn);

/** A call that settles `ms` later on the fake clock: with `value`, or failing when `failed`. */
const takes =
  (clock: FakeClock, ms: number, failed = false) =>
  (): Promise<number> =>
    new Promise<number>((resolve, reject) =>
      clock.setTimeout(() => (failed ? reject(down) : resolve(1)), ms),
    );

/** A call that never settles unless its signal aborts (then it rejects with the reason). */
const hang = ({ signal }: { signal: AbortSignal }): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

/** Resolves once every pending microtask has run. */
const flush = async (): Promise<void> => {
  for (let i = 0; i < 10; i++) await Promise.resolve();
};

// 2019-08-04T12:00:00Z, the MockClock start of resilience4j's tests: a whole second, so buckets start on it.
const T0 = Date.UTC(2019, 7, 4, 12);

/** A breaker whose window only counts: neither rate can open it, nor consecutive failures. */
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

/** Trips a breaker with `failureThreshold: 1` (or a window that opens on one failure). */
const trip = async (breaker: Breaker): Promise<void> => {
  await settle(breaker, fail);
  expect(breaker.state).toBe('open');
};

describe('resilience4j CircuitBreakerStateMachineTest, ported', () => {
  const options = (clock: FakeClock): BreakerOptions => ({
    clock,
    failureThreshold: Number.POSITIVE_INFINITY,
    window: slidingWindow({ type: 'count', size: 5, minimumCalls: 5, failureRateThreshold: 0.5 }),
    halfOpenProbes: 4,
    // resilience4j reopens at a failure rate of 50 % of 4 probes: closing takes more than 2 of 4, so 3.
    halfOpenSuccessRatio: 0.75,
    openFor: 5_000,
    probeTimeout: 60_000,
  });

  it('opens once a full window reaches the failure rate (3 of 5, the 5th call a success)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker(options(clock));
    for (const fn of [fail, fail, fail, pass]) await settle(breaker, fn);
    expect(breaker.state).toBe('closed');
    expect(counts(breaker)).toEqual({ calls: 4, failures: 3, slowCalls: 0 });
    await settle(breaker, pass);
    expect(breaker.state).toBe('open');
    expect(counts(breaker)).toEqual({ calls: 5, failures: 3, slowCalls: 0 });
    const rejected = await breaker.tryExecute(pass);
    expect(!rejected.ok && isCircuitOpenError(rejected.error)).toBe(true);
  });

  it('opens on the slow-call rate of a time window (3 of 5 slower than slowCallDuration)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      slowCallDuration: 4_000,
      // Off: our slow calls also count as failures (decision 0027), resilience4j's do not.
      window: slidingWindow({
        type: 'time',
        duration: 5_000,
        buckets: 5,
        minimumCalls: 5,
        failureRateThreshold: Number.POSITIVE_INFINITY,
        slowCallRateThreshold: 0.5,
      }),
    });
    const calls = [
      settle(breaker, takes(clock, 4_001, true)),
      settle(breaker, takes(clock, 4_001)),
      settle(breaker, takes(clock, 100, true)),
      settle(breaker, takes(clock, 100)),
    ];
    await clock.advance(100);
    expect(breaker.state).toBe('closed');
    calls.push(settle(breaker, takes(clock, 4_001)));
    await clock.advance(3_901);
    // Two slow calls of four settled: 50 %, but below minimumCalls.
    expect(counts(breaker)).toEqual({ calls: 4, failures: 3, slowCalls: 2 });
    expect(breaker.state).toBe('closed');
    await clock.advance(100);
    await Promise.all(calls);
    expect(breaker.state).toBe('open');
    expect(counts(breaker)).toEqual({ calls: 5, failures: 4, slowCalls: 3 });
  });

  it('admits exactly halfOpenProbes calls in half-open, and again after reopening', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({ ...options(clock), failureThreshold: 1 });
    await trip(breaker);
    for (let round = 0; round < 2; round++) {
      await clock.advance(5_000);
      expect(breaker.state).toBe('half-open');
      const probes = [0, 1, 2, 3].map(() => settle(breaker, takes(clock, 10, true)));
      for (let i = 0; i < 2; i++) {
        const rejected = await breaker.tryExecute(pass);
        expect(!rejected.ok && isCircuitOpenError(rejected.error)).toBe(true);
      }
      await clock.advance(10);
      await Promise.all(probes);
      expect(breaker.state).toBe('open');
    }
  });

  it('frees a probe slot when a probe is aborted (releasePermission)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({ ...options(clock), failureThreshold: 1 });
    await trip(breaker);
    await clock.advance(5_000);
    const controllers = [0, 1, 2, 3].map(() => new AbortController());
    const probes = controllers.map((c) => breaker.tryExecute(hang, { signal: c.signal }));
    expect((await breaker.tryExecute(pass)).ok).toBe(false);
    controllers[0]!.abort();
    await probes[0];
    expect(await breaker.execute(pass)).toBe(1);
    expect(breaker.state).toBe('half-open');
    for (const c of controllers) c.abort();
    await Promise.all(probes);
  });

  it('moves to half-open once openFor has passed, not before', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({ ...options(clock), failureThreshold: 1 });
    await trip(breaker);
    await clock.advance(3_000);
    expect(breaker.state).toBe('open');
    expect((await breaker.tryExecute(pass)).ok).toBe(false);
    await clock.advance(3_000);
    expect(await breaker.execute(pass)).toBe(1);
    expect(breaker.state).toBe('half-open');
    expect(counts(breaker)).toEqual({ calls: 1, failures: 1, slowCalls: 0 });
  });

  it('waits an exponential backoff of trips (5 s, then 7.5 s) as IntervalFunction.ofExponentialBackoff(5000)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: (trip) => 5_000 * 1.5 ** (trip - 1),
    });
    await trip(breaker);
    await clock.advance(5_000);
    expect(breaker.state).toBe('half-open');
    await trip(breaker);
    await clock.advance(6_000);
    expect(breaker.state).toBe('open');
    await clock.advance(1_500);
    expect(breaker.state).toBe('half-open');
  });

  it('reopens from half-open when too many probes fail (F, F, S, F of 4)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({ ...options(clock), failureThreshold: 1, halfOpenSuccessRatio: 0.5 });
    await trip(breaker);
    await clock.advance(5_000);
    for (const fn of [fail, fail, pass]) await settle(breaker, fn);
    expect(breaker.state).toBe('half-open');
    await settle(breaker, fail);
    expect(breaker.state).toBe('open');
    // Probes are not window calls: the counts are still those of the closed period that tripped.
    expect(counts(breaker)).toEqual({ calls: 1, failures: 1, slowCalls: 0 });
  });

  it('reopens from half-open on slow probes even when every probe succeeds', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({ ...options(clock), failureThreshold: 1, slowCallDuration: 4_000 });
    await trip(breaker);
    await clock.advance(5_000);
    const probes = [4_001, 4_001, 4_001, 1_000].map((ms) => settle(breaker, takes(clock, ms)));
    await clock.advance(4_001);
    await Promise.all(probes);
    expect(breaker.state).toBe('open');
  });

  it('closes from half-open when enough probes succeed, with empty counts (F, S, S, S)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({ ...options(clock), failureThreshold: 1 });
    await trip(breaker);
    await clock.advance(5_000);
    for (const fn of [fail, pass, pass]) await settle(breaker, fn);
    expect(breaker.state).toBe('half-open');
    await settle(breaker, pass);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0, slowCalls: 0, trips: 0 });
    await settle(breaker, pass);
    expect(counts(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
  });

  it('counts an error isFailure turns down as a success in half-open (resilience4j ignores it instead)', async () => {
    const clock = createFakeClock({ now: T0 });
    const ignored = new TypeError('not ours');
    const breaker = createBreaker({
      ...options(clock),
      failureThreshold: 1,
      isFailure: (e) => e !== ignored,
    });
    await trip(breaker);
    await clock.advance(5_000);
    for (let i = 0; i < 3; i++) await settle(breaker, () => Promise.reject(ignored));
    expect(breaker.state).toBe('closed');
  });

  it('stays open past openFor while isolated (forced open), and reset() closes it with empty counts', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker(options(clock));
    await settle(breaker, pass);
    await settle(breaker, fail);
    breaker.isolate();
    expect((await breaker.tryExecute(pass)).ok).toBe(false);
    await clock.advance(6_000);
    expect(breaker.state).toBe('open');
    expect((await breaker.tryExecute(pass)).ok).toBe(false);
    breaker.reset();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', isolated: false, calls: 0, failures: 0 });
  });
});

describe('resilience4j SlidingTimeWindowMetricsTest, ported (5 buckets of 1 s)', () => {
  const window = { type: 'time', duration: 5_000, buckets: 5 } as const;

  it('counts slow calls among all calls (testSlowCallsPercentage)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      slowCallDuration: 1_000,
      window: slidingWindow({
        ...window,
        duration: 20_000,
        failureRateThreshold: Number.POSITIVE_INFINITY,
        slowCallRateThreshold: Number.POSITIVE_INFINITY,
      }),
    });
    const calls = [
      settle(breaker, takes(clock, 10_000)),
      settle(breaker, takes(clock, 10_000, true)),
      ...[0, 1, 2].map(() => settle(breaker, takes(clock, 100))),
    ];
    await clock.advance(10_000);
    await Promise.all(calls);
    expect(counts(breaker)).toEqual({ calls: 5, failures: 2, slowCalls: 2 });
  });

  it('forgets a bucket once it is older than the window (shouldClearSlidingTimeWindowMetrics)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = counting(clock, window);
    await settle(breaker, fail);
    expect(counts(breaker)).toEqual({ calls: 1, failures: 1, slowCalls: 0 });
    await clock.advance(100);
    await settle(breaker, pass);
    await clock.advance(700);
    await settle(breaker, pass);
    expect(counts(breaker)).toEqual({ calls: 3, failures: 1, slowCalls: 0 });
    await clock.advance(4_000);
    expect(counts(breaker)).toEqual({ calls: 3, failures: 1, slowCalls: 0 });
    await clock.advance(1_000);
    expect(counts(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
    await clock.advance(100);
    await settle(breaker, pass);
    expect(counts(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
  });

  it('slides one bucket per second (testSlidingTimeWindowMetrics)', async () => {
    const clock = createFakeClock({ now: T0 });
    const breaker = counting(clock, window);
    const expected: [() => Promise<unknown>, number, number, number][] = [
      // call, advance before it, calls and failures after it
      [fail, 0, 1, 1],
      [pass, 100, 2, 1],
      [pass, 100, 3, 1],
      [pass, 1_000, 4, 1],
      [pass, 1_000, 5, 1],
      [fail, 1_000, 6, 2],
      [pass, 1_000, 7, 2],
      [pass, 1_000, 5, 1],
      [pass, 1_000, 5, 1],
      [pass, 5_000, 1, 0],
    ];
    for (const [fn, ms, calls, failures] of expected) {
      await clock.advance(ms);
      await settle(breaker, fn);
      expect(counts(breaker)).toEqual({ calls, failures, slowCalls: 0 });
    }
  });
});

describe('resilience4j FixedSizeSlidingWindowMetricsTest, ported', () => {
  it('keeps the last size outcomes, the oldest falling out first', async () => {
    const breaker = counting(createFakeClock(), { type: 'count', size: 3, minimumCalls: 3 });
    const steps: [() => Promise<unknown>, number, number][] = [
      [fail, 1, 1],
      [pass, 2, 1],
      [pass, 3, 1],
      [pass, 3, 0],
      [fail, 3, 1],
      [fail, 3, 2],
      [fail, 3, 3],
      [pass, 3, 2],
    ];
    for (const [fn, calls, failures] of steps) {
      await settle(breaker, fn);
      expect(counts(breaker)).toEqual({ calls, failures, slowCalls: 0 });
    }
  });
});

describe('resilience4j FixedSizeSlidingWindowMetricsTest.testSlidingWindowMetricsWithSlowCalls, ported', () => {
  it('lets slow calls fall out of a ring of 2 with their outcomes (our failures include slow successes)', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      slowCallDuration: 50,
      window: slidingWindow({
        type: 'count',
        size: 2,
        failureRateThreshold: Number.POSITIVE_INFINITY,
        slowCallRateThreshold: Number.POSITIVE_INFINITY,
      }),
    });
    const steps: [number, boolean, number, number, number][] = [
      // ms, failed, then calls, failures, slow calls
      [100, true, 1, 1, 1],
      [100, false, 2, 2, 2],
      [10, false, 2, 1, 1],
      [10, false, 2, 0, 0],
    ];
    for (const [ms, failed, calls, failures, slowCalls] of steps) {
      const call = settle(breaker, takes(clock, ms, failed));
      await clock.advance(ms);
      await call;
      expect(counts(breaker)).toEqual({ calls, failures, slowCalls });
    }
  });
});

describe("Polly's RollingHealthMetrics, ported (10 s in 10 buckets)", () => {
  const window = { type: 'time', duration: 10_000, buckets: 10 } as const;

  it('reports throughput and failure rate of the window (GetHealthInfo_EnsureWindowRespected)', async () => {
    const clock = createFakeClock();
    const breaker = counting(clock, window);
    const seen: [number, number][] = [];
    for (let i = 0; i < 5; i++) {
      await settle(breaker, i < 2 ? fail : pass);
      await settle(breaker, pass);
      await clock.advance(2_000);
      seen.push([counts(breaker).calls, counts(breaker).failures]);
    }
    await clock.advance(2_000);
    seen.push([counts(breaker).calls, counts(breaker).failures]);
    expect(seen).toEqual([
      [2, 1],
      [4, 2],
      [6, 2],
      [8, 2],
      [8, 1],
      [6, 0],
    ]);
  });

  it('holds at most the window (GetHealthInfo_EnsureWindowCapacityRespected)', async () => {
    const clock = createFakeClock();
    const breaker = counting(clock, window);
    for (let i = 0; i < 10; i++) {
      await settle(breaker, pass);
      await clock.advance(1_000);
    }
    expect(counts(breaker).calls).toBe(9);
    await clock.advance(1_000);
    expect(counts(breaker).calls).toBe(8);
  });

  for (const variance of [0, 1])
    it(`forgets everything after the sampling duration (+${variance} ms)`, async () => {
      const clock = createFakeClock();
      const breaker = counting(clock, window);
      await settle(breaker, pass);
      await settle(breaker, pass);
      await clock.advance(10_000 + variance);
      expect(counts(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
    });
});

describe("Polly's AdvancedCircuitBehavior, ported (failure ratio and minimum throughput)", () => {
  const cases: [number, number, boolean][] = [
    // calls, failures among them, opens
    [10, 0, false],
    [10, 1, true],
    [10, 2, true],
    [11, 2, true],
    [9, 1, false],
  ];
  for (const [calls, failures, opens] of cases)
    it(`${opens ? 'opens' : 'stays closed'} at ${failures} failures of ${calls} calls (ratio 0.1, minimum 10)`, async () => {
      const breaker = createBreaker({
        clock: createFakeClock(),
        failureThreshold: Number.POSITIVE_INFINITY,
        window: slidingWindow({
          type: 'time',
          duration: 30_000,
          failureRateThreshold: 0.1,
          minimumCalls: 10,
        }),
      });
      // Successes first, failures last: Polly judges on a failure, we after every call.
      for (let i = 0; i < calls; i++) await settle(breaker, i < calls - failures ? pass : fail);
      expect(breaker.state).toBe(opens ? 'open' : 'closed');
    });

  it('does not count half-open probes in the window (OnActionFailure_State_EnsureCorrectCalls)', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      openFor: 1_000,
      window: slidingWindow({ type: 'count', size: 10, failureRateThreshold: 0.5, minimumCalls: 2 }),
    });
    await settle(breaker, pass);
    await settle(breaker, fail);
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    await settle(breaker, pass);
    expect(breaker.state).toBe('closed');
    // The window starts empty: one failure of one call is below minimumCalls.
    await settle(breaker, fail);
    expect(breaker.state).toBe('closed');
    expect(counts(breaker)).toEqual({ calls: 1, failures: 1, slowCalls: 0 });
  });
});

describe("Polly's CircuitStateController, ported", () => {
  it('rejects with the same error object for a whole open episode (stack trace does not grow)', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    await trip(breaker);
    const errors = new Set<unknown>();
    for (let i = 0; i < 100; i++) {
      const r = await breaker.tryExecute(pass);
      if (!r.ok) errors.add(r.error);
    }
    expect(errors.size).toBe(1);
  });

  it('admits one probe in half-open and rejects the next (OnActionPreExecute_HalfOpen)', async () => {
    const clock = createFakeClock();
    const states: string[] = [];
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 5_000,
      onStateChange: (to) => states.push(to),
    });
    await trip(breaker);
    await clock.advance(5_000);
    expect(states).toEqual(['open', 'half-open']);
    const probe = breaker.tryExecute(takes(clock, 10));
    const rejected = await breaker.tryExecute(pass);
    expect(!rejected.ok && isCircuitOpenError(rejected.error)).toBe(true);
    await clock.advance(10);
    expect((await probe).ok).toBe(true);
    expect(states).toEqual(['open', 'half-open', 'closed']);
  });

  it('uses the break duration generator for each break (EnsureBreakDurationGeneration)', async () => {
    const clock = createFakeClock({ now: Date.UTC(2023, 11, 12, 12, 34, 56) });
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: () => 42 * 60_000,
      maxOpenFor: 3_600_000,
    });
    await trip(breaker);
    expect(breaker.snapshot().openUntil).toBe(clock.now() + 42 * 60_000);
  });

  it('isolate() then close (reset) admits calls again, with closed counts (IsolateAsync_Ok)', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    const release = breaker.isolate();
    const r = await breaker.tryExecute(pass);
    expect(!r.ok && (r.error as { isolated: boolean; retryAfterMs: number })).toMatchObject({
      isolated: true,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
    release();
    expect(breaker.state).toBe('closed');
    expect(await breaker.execute(pass)).toBe(1);
  });
});

describe('cockatiel and opossum breaker cases, ported', () => {
  it('a backoff openFor restarts from the first trip after the breaker closes', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: (trip) => trip * 1_000 });
    await trip(breaker);
    await clock.advance(1_000);
    await trip(breaker);
    expect(breaker.snapshot()).toMatchObject({ trips: 2, openUntil: 3_000 });
    await clock.advance(2_000);
    await settle(breaker, pass);
    expect(breaker.state).toBe('closed');
    await trip(breaker);
    expect(breaker.snapshot()).toMatchObject({ trips: 1, openUntil: 4_000 });
  });

  it('a success while closed resets consecutive failures (ConsecutiveBreaker)', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 3 });
    for (const fn of [fail, fail, pass, fail, fail]) await settle(breaker, fn);
    expect(breaker.state).toBe('closed');
    await settle(breaker, fail);
    expect(breaker.state).toBe('open');
  });

  it('a call cancelled by its caller counts as nothing (cockatiel: cancellation does not open)', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    const c = new AbortController();
    const call = breaker.tryExecute(hang, { signal: c.signal });
    c.abort();
    await call;
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, consecutiveFailures: 0 });
  });

  it('opossum #385: failures of calls in flight after the trip do not stop the move to half-open', async () => {
    const clock = createFakeClock();
    const states: string[] = [];
    const breaker = createBreaker({
      clock,
      failureThreshold: 5,
      openFor: 10_000,
      onStateChange: (to) => states.push(to),
    });
    const calls = [0, 1, 2, 3, 4, 5].map((i) => settle(breaker, takes(clock, 100 + i, true)));
    await clock.advance(105);
    await Promise.all(calls);
    expect(states).toEqual(['open']);
    expect(breaker.snapshot()).toMatchObject({ trips: 1, openUntil: 10_104, consecutiveFailures: 5 });
    await clock.advance(10_000);
    expect(states).toEqual(['open', 'half-open']);
  });

  it('opossum #119: half-open lets only the probes through, and a failed probe reopens', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    await trip(breaker);
    await clock.advance(1_000);
    let ran = 0;
    const calls = [0, 1, 2].map(() =>
      settle(breaker, () => {
        ran++;
        return takes(clock, 10, true)();
      }),
    );
    await clock.advance(10);
    await Promise.all(calls);
    expect(ran).toBe(1);
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
  });
});

describe('known faults of the peers, ported', () => {
  it('rubyist/circuitbreaker#36: a window idle for its whole duration holds only the next call', async () => {
    const clock = createFakeClock();
    const breaker = counting(clock, { type: 'time', duration: 10_000, buckets: 10 });
    for (let i = 0; i < 10; i++) {
      await settle(breaker, fail);
      await clock.advance(1_000);
    }
    await clock.advance(10_000);
    await settle(breaker, pass);
    expect(counts(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
  });

  it('asecurityteam/rolling#13: a bucket reused after the ring wrapped starts empty', async () => {
    const clock = createFakeClock();
    const breaker = counting(clock, { type: 'time', duration: 3_000, buckets: 3 });
    for (let i = 0; i < 3; i++) await settle(breaker, fail);
    // Bucket 0 again, two rings later (6 s): the three failures must be gone, not added to.
    await clock.advance(6_000);
    await settle(breaker, pass);
    expect(counts(breaker)).toEqual({ calls: 1, failures: 0, slowCalls: 0 });
    // And one bucket later, the call in bucket 0 is still held.
    await clock.advance(1_000);
    await settle(breaker, pass);
    expect(counts(breaker)).toEqual({ calls: 2, failures: 0, slowCalls: 0 });
  });

  it('resilience4j #903/#1351: half-open decides on its probes even when minimumCalls is higher', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      openFor: 1_000,
      halfOpenProbes: 10,
      window: slidingWindow({ type: 'count', size: 100, minimumCalls: 100, failureRateThreshold: 0.25 }),
    });
    for (let i = 0; i < 100; i++) await settle(breaker, fail);
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    for (let i = 0; i < 10; i++) await settle(breaker, pass);
    expect(breaker.state).toBe('closed');
  });

  it('opossum #276: a failed probe reopens even after the window has forgotten the calls that tripped it', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      openFor: 30_000,
      window: slidingWindow({ type: 'time', duration: 10_000, minimumCalls: 5, failureRateThreshold: 0.5 }),
    });
    for (let i = 0; i < 5; i++) await settle(breaker, fail);
    expect(breaker.state).toBe('open');
    await clock.advance(30_000);
    // The window is empty now (below minimumCalls), but the probe is judged by halfOpenProbes alone.
    expect(counts(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
    await settle(breaker, fail);
    expect(breaker.state).toBe('open');
    await clock.advance(30_000);
    await settle(breaker, pass);
    expect(breaker.state).toBe('closed');
  });

  it('resilience4j #935: a probe that never settles does not keep the breaker half-open', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, probeTimeout: 5_000 });
    await trip(breaker);
    await clock.advance(1_000);
    const probe = breaker.tryExecute(() => new Promise<never>(() => {}));
    await clock.advance(5_000);
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    expect(await breaker.execute(pass)).toBe(1);
    expect(breaker.state).toBe('closed');
    void probe;
  });

  it('a closed call that settles in half-open is no probe result (stale results are ignored)', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    const slowSuccess = settle(breaker, takes(clock, 1_500));
    await trip(breaker);
    await clock.advance(1_000);
    const probe = settle(breaker, takes(clock, 1_000, true));
    await clock.advance(500);
    await slowSuccess;
    expect(breaker.state).toBe('half-open');
    await clock.advance(500);
    await probe;
    expect(breaker.state).toBe('open');
  });

  it('a probe of an earlier half-open period that settles in a later one is no probe result', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, halfOpenProbes: 2 });
    await trip(breaker);
    await clock.advance(1_000);
    const late = settle(breaker, takes(clock, 3_000));
    await settle(breaker, fail);
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    const probe = settle(breaker, takes(clock, 2_000, true));
    await clock.advance(2_000);
    await Promise.all([late, probe]);
    expect(breaker.state).toBe('open');
  });

  it('registry: the same key gives the same breaker, another key another (InMemoryCircuitBreakerRegistryTest)', () => {
    const registry = createBreakerRegistry({ clock: createFakeClock() });
    expect(registry.get('a')).toBe(registry.get('a'));
    expect(registry.get('a')).not.toBe(registry.get('b'));
    expect(registry.size).toBe(2);
  });
});

void flush;

describe('more peer cases and known faults, ported', () => {
  it('Polly #1979: a probe whose error is not handled (isFailure false) does not leave the breaker half-open', async () => {
    const clock = createFakeClock();
    const unhandled = new RangeError('not handled');
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 1_000,
      isFailure: (e) => e !== unhandled,
    });
    await trip(breaker);
    await clock.advance(1_000);
    await settle(breaker, () => Promise.reject(unhandled));
    // Counted as a success, as Polly v8 now counts an unhandled outcome: the probe slot is not held.
    expect(breaker.state).toBe('closed');
  });

  it('Polly #223: failures of closed calls arriving while open neither extend the open period nor report it again', async () => {
    const clock = createFakeClock();
    const states: string[] = [];
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 1_000,
      onStateChange: (to) => states.push(to),
    });
    const late = [0, 1, 2].map((i) => settle(breaker, takes(clock, 500 + i * 100, true)));
    await trip(breaker);
    await clock.advance(700);
    await Promise.all(late);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 1_000, trips: 1 });
    await clock.advance(300);
    expect(states).toEqual(['open', 'half-open']);
  });

  it('resilience4j shouldCancelAutoTransition: isolate() and reset() stop the open -> half-open timer', async () => {
    for (const how of ['isolate', 'reset'] as const) {
      const clock = createFakeClock();
      const states: string[] = [];
      const breaker = createBreaker({
        clock,
        failureThreshold: 1,
        openFor: 2_000,
        onStateChange: (to) => states.push(to),
      });
      await trip(breaker);
      expect(clock.pendingTimers).toBe(1);
      breaker[how]();
      expect(clock.pendingTimers).toBe(0);
      await clock.advance(5_000);
      expect(states).toEqual(how === 'isolate' ? ['open'] : ['open', 'closed']);
    }
  });

  it('cockatiel dedupes half-open calls (the second waits for the probe); ours rejects it at once', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    await trip(breaker);
    await clock.advance(1_000);
    let ran = 0;
    const a = breaker.execute(takes(clock, 10));
    const b = breaker.tryExecute(() => ++ran);
    const rejected = await b;
    expect(!rejected.ok && isCircuitOpenError(rejected.error)).toBe(true);
    expect(ran).toBe(0);
    await clock.advance(10);
    expect(await a).toBe(1);
    expect(await breaker.execute(() => ++ran)).toBe(1);
  });

  it('opossum #658: a breaker restored half-open runs its probe and closes on success', async () => {
    const clock = createFakeClock({ now: 10_000 });
    const saved = JSON.parse(
      JSON.stringify({
        state: 'half-open',
        isolated: false,
        openUntil: null,
        trips: 2,
        consecutiveFailures: 3,
      }),
    );
    const breaker = createBreaker({ clock, failureThreshold: 3, initialState: saved });
    expect(breaker.state).toBe('half-open');
    let ran = false;
    expect(
      await breaker.execute(() => {
        ran = true;
        return 7;
      }),
    ).toBe(7);
    expect(ran).toBe(true);
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', trips: 0, consecutiveFailures: 0 });
  });

  it('opossum #719: a breaker restored open moves to half-open by time alone, with no timer', async () => {
    const clock = createFakeClock({ now: 10_000 });
    const breaker = createBreaker({
      clock,
      initialState: { state: 'open', isolated: false, openUntil: 12_000, trips: 1 },
    });
    expect(clock.pendingTimers).toBe(0);
    expect(breaker.state).toBe('open');
    clock.setNow(12_000);
    expect(breaker.state).toBe('half-open');
  });
});

describe('slidingWindow (time) with a duration that is not a whole number of ms', () => {
  // 60_000.7 ms at this epoch instant: (now - now % duration) / duration is 28425903.999999996, not a whole
  // number of windows, so the bucket key was 284259047.99999994 and the ring was indexed at a fraction.
  const start = 1_705_574_191_847;

  it('opens at the failure rate, as with a whole duration, on an epoch clock', async () => {
    const clock = createFakeClock({ now: start });
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ type: 'time', duration: 60_000.7, buckets: 10, minimumCalls: 4 }),
    });
    for (let i = 0; i < 3; i++) {
      await settle(breaker, fail);
      await clock.advance(7_000);
    }
    expect(counts(breaker)).toEqual({ calls: 3, failures: 3, slowCalls: 0 });
    await settle(breaker, fail);
    expect(breaker.state).toBe('open');
  });

  it('keeps snapshot() counts finite numbers, and forgets them after the window', async () => {
    const clock = createFakeClock({ now: start });
    const breaker = counting(clock, { type: 'time', duration: 60_000.7, buckets: 10 });
    for (let i = 0; i < 12; i++) {
      await settle(breaker, i % 2 ? pass : fail);
      await clock.advance(7_000);
    }
    const snapshot = breaker.snapshot();
    expect(Number.isFinite(snapshot.calls) && Number.isFinite(snapshot.failures)).toBe(true);
    // The calls of the last 54 to 60 s (84 s after the first): those at 28 s to 77 s.
    expect(counts(breaker)).toEqual({ calls: 8, failures: 4, slowCalls: 0 });
    await clock.advance(60_001);
    expect(counts(breaker)).toEqual({ calls: 0, failures: 0, slowCalls: 0 });
  });
});

// The buckets' property against an exact model of the doubles is in review-22.test.ts.

describe('initialState and a backoff openFor', () => {
  it('does not call openFor for a snapshot that is not open (no phantom trip at a restart)', () => {
    const clock = createFakeClock({ now: 10_000 });
    const trips: number[] = [];
    const openFor = (trip: number): number => {
      trips.push(trip);
      return 1_000 * trip;
    };
    createBreaker({ clock, openFor, initialState: { state: 'closed' } });
    createBreaker({ clock, openFor, initialState: { state: 'half-open', trips: 2 } });
    createBreaker({ clock, openFor, initialState: { state: 'closed', isolated: true, trips: 1 } });
    // What snapshot() gives for an isolated breaker: open, openUntil null.
    createBreaker({
      clock,
      openFor,
      initialState: { state: 'open', isolated: true, openUntil: null, trips: 1 },
    });
    createBreaker({ clock, openFor, initialState: { state: 'open', openUntil: 12_000, trips: 2 } });
    expect(trips).toEqual([]);
  });

  it('still calls it once for an open snapshot without openUntil (a full open period from now)', () => {
    const clock = createFakeClock({ now: 10_000 });
    const trips: number[] = [];
    const breaker = createBreaker({
      clock,
      openFor: (trip) => {
        trips.push(trip);
        return 1_000 * trip;
      },
      initialState: { state: 'open', trips: 2 },
    });
    expect(trips).toEqual([2]);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 12_000, trips: 2 });
  });
});
