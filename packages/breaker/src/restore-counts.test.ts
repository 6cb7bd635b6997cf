/**
 * `initialState` carries the counts of its snapshot: `calls`, `failures` and `slowCalls` (decision 0124). A
 * serverless instance recycled every few minutes starts each time from the last instance's snapshot; with
 * the counts left out it never collected enough calls to trip on a failure rate.
 */
import {
  type Breaker,
  type BreakerOptions,
  type BreakerWindow,
  createBreaker,
  slidingWindow,
} from '@integ/breaker';
import { InvalidArgumentError } from '@integ/core';
import { createFakeClock, type FakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

const boom = (): Promise<never> => Promise.reject(new Error('boom'));
const okay = (): Promise<string> => Promise.resolve('ok');

type Outcome = 'ok' | 'fail' | 'slow' | 'slowfail';

/** Runs one outcome on every breaker at once (a slow one takes 101 ms of the shared fake clock, once). */
async function run(clock: FakeClock, breakers: Breaker[], outcome: Outcome): Promise<void> {
  let open!: () => void;
  const gate = new Promise<void>((resolve) => {
    open = resolve;
  });
  const fn = async (): Promise<string> => {
    await gate;
    if (outcome === 'fail' || outcome === 'slowfail') throw new Error('boom');
    return 'ok';
  };
  const calls = breakers.map((b) => b.execute(fn).catch(() => {}));
  if (outcome === 'slow' || outcome === 'slowfail') await clock.advance(101);
  open();
  await Promise.all(calls);
}

describe('initialState carries calls, failures and slowCalls', () => {
  it('without a window: the counts since the breaker last closed carry over', async () => {
    const initialState = { state: 'closed', calls: 7, failures: 3, slowCalls: 2 } as const;
    const breaker = createBreaker({ clock: createFakeClock(), initialState });
    // Before: calls 0, failures 0, slowCalls 0.
    expect(breaker.snapshot()).toMatchObject({ calls: 7, failures: 3, slowCalls: 2 });
    await breaker.execute(boom).catch(() => {});
    expect(breaker.snapshot()).toMatchObject({ calls: 8, failures: 4, slowCalls: 2 });
  });

  it('count window: the restored outcomes are spread evenly, the oldest first out; the failure rate trips on the next call', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ size: 10, failureRateThreshold: 0.5, minimumCalls: 10 }),
      initialState: { state: 'closed', calls: 9, failures: 4, slowCalls: 0 },
    });
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 9, failures: 4 });
    // 5 of 10: the instance that took over trips where the one before would have.
    await breaker.execute(boom).catch(() => {});
    expect(breaker.state).toBe('open');

    // A full ring of 10 with 5 failures, 2 of them slow: every other one a failure, a success oldest, and
    // every other failure slow; as successes push them out, the rates fall evenly.
    const full = createBreaker({
      clock: createFakeClock(),
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ size: 10, failureRateThreshold: 1, minimumCalls: 10 }),
      initialState: { state: 'closed', calls: 10, failures: 5, slowCalls: 2 },
    });
    const seen = [];
    for (let i = 0; i < 10; i++) {
      await full.execute(okay);
      const { failures, slowCalls } = full.snapshot();
      seen.push([failures, slowCalls]);
    }
    expect(seen).toEqual([
      [5, 2],
      [4, 2],
      [4, 2],
      [3, 2],
      [3, 2],
      [2, 1],
      [2, 1],
      [1, 1],
      [1, 1],
      [0, 0],
    ]);
  });

  it('count window: a steady failure rate stays steady over many restarts (no drift from the layout)', async () => {
    // 60 instances in a row, 10 calls each (3 failures, at varying places), each started from the last
    // snapshot. Failures laid out oldest would decay towards 3 of 100 (pushed out first), newest would grow
    // towards 100 of 100 (never pushed out).
    const options = {
      clock: createFakeClock(),
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ size: 100, failureRateThreshold: 1, minimumCalls: 100 }),
    };
    let saved = createBreaker(options).snapshot();
    const seen: number[] = [];
    for (let cycle = 0; cycle < 60; cycle++) {
      const breaker = createBreaker({ ...options, initialState: JSON.parse(JSON.stringify(saved)) });
      for (let i = 0; i < 10; i++) await breaker.execute((i + cycle) % 10 < 3 ? boom : okay).catch(() => {});
      saved = breaker.snapshot();
      seen.push(saved.failures);
    }
    expect(saved.calls).toBe(100);
    expect(Math.min(...seen.slice(10))).toBeGreaterThanOrEqual(27);
    expect(Math.max(...seen.slice(10))).toBeLessThanOrEqual(33);
  });

  it('count window: more calls than it holds keep their rates in the newest `size`', () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      window: slidingWindow({ size: 4 }),
      initialState: { state: 'closed', calls: 1_000, failures: 500, slowCalls: 250 },
    });
    expect(breaker.snapshot()).toMatchObject({ calls: 4, failures: 2, slowCalls: 1 });
    // A count far past any window is no work: only the newest `size` are laid out.
    const huge = createBreaker({
      clock: createFakeClock(),
      window: slidingWindow({ size: 4 }),
      initialState: { state: 'closed', calls: 2 ** 52, failures: 2 ** 51, slowCalls: 0 },
    });
    expect(huge.snapshot()).toMatchObject({ calls: 4, failures: 2, slowCalls: 0 });
    // Past 2^53, where `i++` no longer moves i: laying out the newest 4 still ends.
    const past = createBreaker({
      clock: createFakeClock(),
      window: slidingWindow({ size: 4 }),
      initialState: { state: 'closed', calls: 2 ** 54, failures: 2 ** 53, slowCalls: 2 ** 52 },
    });
    expect(past.snapshot().calls).toBe(4);
  }, 2_000);

  it('time window: the counts land in the current bucket and leave with it, within one duration', async () => {
    const clock = createFakeClock({ now: 1_234 });
    const breaker = createBreaker({
      clock,
      window: slidingWindow({ type: 'time', duration: 1_000, buckets: 10, minimumCalls: 1_000 }),
      initialState: { state: 'closed', calls: 20, failures: 8, slowCalls: 3 },
    });
    expect(breaker.snapshot()).toMatchObject({ calls: 20, failures: 8, slowCalls: 3 });
    // Bucket [1200, 1300): still there at 2199, gone at 2200.
    await clock.advance(2_199 - 1_234);
    expect(breaker.snapshot()).toMatchObject({ calls: 20, failures: 8, slowCalls: 3 });
    await clock.advance(1);
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0, slowCalls: 0 });
  });

  it('restoring trips nothing and runs no hook, even past every threshold', async () => {
    const clock = createFakeClock();
    const hooks = {
      onStateChange: vi.fn(),
      onSuccess: vi.fn(),
      onFailure: vi.fn(),
      onReject: vi.fn(),
    };
    for (const window of [undefined, slidingWindow({ size: 4, minimumCalls: 2 })]) {
      const breaker = createBreaker({
        clock,
        failureThreshold: 2,
        ...(window && { window }),
        ...hooks,
        initialState: { state: 'closed', calls: 4, failures: 4, slowCalls: 0 },
      });
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 4, failures: 4 });
      expect(clock.pendingTimers).toBe(0);
    }
    for (const hook of Object.values(hooks)) expect(hook).not.toHaveBeenCalled();
  });

  it('a custom window gets the counts once through restore(counts, now); one without restore starts empty', () => {
    const clock = createFakeClock({ now: 5_000 });
    const restore = vi.fn();
    const custom = (withRestore: boolean) => (): BreakerWindow => ({
      record: () => false,
      counts: () => ({ calls: 0, failures: 0, slowCalls: 0 }),
      clear: () => {},
      ...(withRestore && { restore }),
    });
    const initialState = { state: 'open', calls: '6', failures: 2, slowCalls: null } as never;
    createBreaker({ clock, window: custom(true), initialState });
    expect(restore.mock.calls).toEqual([[{ calls: 6, failures: 2, slowCalls: 0 }, 5_000]]);
    expect(createBreaker({ clock, window: custom(false), initialState }).snapshot()).toMatchObject({
      state: 'open',
      calls: 0,
      failures: 0,
      slowCalls: 0,
    });
    // No snapshot, no restore.
    createBreaker({ clock, window: custom(true) });
    expect(restore).toHaveBeenCalledTimes(1);
  });

  it('reads missing or null counts as 0 and numeric strings as numbers', () => {
    const clock = createFakeClock();
    for (const window of [undefined, slidingWindow({ size: 10 })]) {
      const options = { clock, ...(window && { window }) };
      expect(createBreaker({ ...options, initialState: { state: 'closed' } }).snapshot()).toMatchObject({
        calls: 0,
        failures: 0,
        slowCalls: 0,
      });
      expect(
        createBreaker({
          ...options,
          initialState: JSON.parse('{"state":"closed","calls":" 5","failures":"2","slowCalls":null}'),
        }).snapshot(),
      ).toMatchObject({ calls: 5, failures: 2, slowCalls: 0 });
    }
  });

  it('throws InvalidArgumentError for counts that are not whole numbers >= 0 or contradict each other', () => {
    const clock = createFakeClock();
    const closed = (counts: object) =>
      ({ state: 'closed', ...counts }) as NonNullable<BreakerOptions['initialState']>;
    const bad = [
      closed({ calls: -1 }),
      closed({ calls: 2, failures: -1 }),
      closed({ calls: 2, slowCalls: -1 }),
      closed({ calls: 2.5 }),
      closed({ calls: 3, failures: 1.5 }),
      closed({ calls: 3, slowCalls: 0.5 }),
      JSON.parse('{"state":"closed","calls":1e999}'),
      closed({ calls: Number.POSITIVE_INFINITY, failures: Number.POSITIVE_INFINITY }),
      closed({ calls: 'x' }),
      closed({ calls: '' }),
      closed({ calls: [3] }),
      closed({ calls: true }),
      closed({ calls: 3, failures: {} }),
      closed({ calls: 2, failures: 3 }),
      closed({ calls: 2, slowCalls: 3 }),
      closed({ failures: 1 }),
    ];
    const windowed = [closed({ calls: 5, failures: 1, slowCalls: 2 })];
    for (const [initialState, window] of [
      ...bad.map((s) => [s, undefined] as const),
      ...bad.map((s) => [s, slidingWindow()] as const),
      ...windowed.map((s) => [s, slidingWindow({ type: 'time' })] as const),
      ...windowed.map((s) => [s, slidingWindow()] as const),
    ]) {
      const options: BreakerOptions = { clock, initialState, ...(window && { window }) };
      expect(() => createBreaker(options), JSON.stringify(initialState)).toThrow(InvalidArgumentError);
      expect(() => createBreaker(options)).toThrow(expect.objectContaining({ argument: 'initialState' }));
    }
    // Without a window, failures count errors only and slow calls apart: more slow calls than failures is fine.
    expect(createBreaker({ clock, initialState: windowed[0]! }).snapshot()).toMatchObject({
      calls: 5,
      failures: 1,
      slowCalls: 2,
    });
  });
});

describe('initialState round trip (property)', () => {
  const outcomeArb = fc.constantFrom<Outcome>('ok', 'fail', 'fail', 'slow', 'slowfail');
  const stepArb = fc.oneof(
    { weight: 4, arbitrary: outcomeArb },
    { weight: 1, arbitrary: fc.constantFrom(30, 700, 6_000) },
  );
  const optionsOf = (clock: FakeClock, kind: 'none' | 'count' | 'time', size: number): BreakerOptions => ({
    clock,
    failureThreshold: 4,
    openFor: 5_000,
    halfOpenProbes: 2,
    slowCallDuration: 100,
    ...(kind !== 'none' && {
      window: slidingWindow({
        type: kind,
        size,
        duration: 1_000,
        buckets: 3,
        failureRateThreshold: 0.6,
        slowCallRateThreshold: 0.5,
        minimumCalls: 3,
      }),
    }),
  });

  it('a breaker started from the JSON of a snapshot has that snapshot, and trips on the same next outcomes', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom('none' as const, 'count' as const, 'time' as const),
        fc.constantFrom(4, 10),
        fc.array(stepArb, { maxLength: 40 }),
        fc.array(stepArb, { maxLength: 30 }),
        async (kind, size, before, after) => {
          const clock = createFakeClock({ now: 1_700_000_000_000 });
          const options = optionsOf(clock, kind, size);
          const a = createBreaker(options);
          for (const step of before)
            if (typeof step === 'number') await clock.advance(step);
            else await run(clock, [a], step);
          const saved = a.snapshot();
          const b = createBreaker({ ...options, initialState: JSON.parse(JSON.stringify(saved)) });
          expect(b.snapshot()).toEqual(saved);
          if (kind === 'time') return;
          // A count window lays out the restored outcomes in an order of its own: the same decisions are
          // certain only until the first of them leaves the ring.
          let room = kind === 'count' ? size - saved.calls : Number.POSITIVE_INFINITY;
          for (const step of after) {
            if (typeof step === 'number') await clock.advance(step);
            else {
              if (room-- <= 0) break;
              await run(clock, [a, b], step);
            }
            expect(b.snapshot()).toEqual(a.snapshot());
          }
        },
      ),
      { seed: 124, numRuns: 400 },
    );
  });
});
