import { getEventListeners } from 'node:events';
import {
  type CircuitOpenError,
  createBreaker,
  createBreakerRegistry,
  isCircuitOpenError,
  slidingWindow,
} from '@integ/breaker';
import { TimeoutError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

const boom = (): Promise<never> => Promise.reject(new Error('boom'));
const okay = (): Promise<string> => Promise.resolve('ok');
const hang = (): Promise<never> => new Promise<never>(() => {});

/** A breaker tripped by one failure and already half-open on the fake clock. */
async function halfOpen(options: Parameters<typeof createBreaker>[0] = {}) {
  const clock = createFakeClock();
  const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, ...options });
  await breaker.execute(boom).catch(() => {});
  await clock.advance(1_000);
  expect(breaker.state).toBe('half-open');
  return { clock, breaker };
}

describe('half-open: aborts and timers', () => {
  it('a caller abort of a probe that ignores its signal frees the slot and the timer at once, and is no failure', async () => {
    const onFailure = vi.fn();
    const { breaker, clock } = await halfOpen({ probeTimeout: 5_000, onFailure });
    onFailure.mockClear();
    const caller = new AbortController();
    void breaker.execute(hang, { signal: caller.signal });
    expect(clock.pendingTimers).toBe(1);
    caller.abort(new DOMException('user left', 'AbortError'));
    // Nothing of the probe is left: no timer, no listener on the caller's signal.
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    // The slot is free for the next caller, whose success closes the circuit.
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
    await clock.advance(10_000);
    expect(breaker.state).toBe('closed');
    expect(onFailure).not.toHaveBeenCalled();
  });

  it("a full half-open whose last probe's deadline has passed before its timer fired says retry in 1 ms, not 0", async () => {
    const { breaker, clock } = await halfOpen({ probeTimeout: 2_000, openFor: 1_000 });
    void breaker.execute(hang).catch(() => {});
    // A throttled timer (a background tab, a busy event loop): the time is past the probe's deadline, its
    // timer has not fired, so the slot is still taken and the next caller is rejected.
    clock.setNow(clock.now() + 5_000);
    const rejected = await breaker.tryExecute(okay);
    const error = (rejected as { ok: false; error: CircuitOpenError }).error;
    expect(isCircuitOpenError(error)).toBe(true);
    // 0 would tell the caller to retry at once, into the same rejection: at least 1 ms, until the timer fires.
    expect(error.retryAfterMs).toBe(1);
    await clock.advance(0);
    // The timer fired: the probe failed and the breaker opened again, for openFor.
    expect(breaker.state).toBe('open');
    expect(error.retryAfterMs).toBe(1_000);
  });

  it("with several probes in flight, retryAfterMs counts to the last probe's timeout, never 0 while full", async () => {
    const { breaker, clock } = await halfOpen({ probeTimeout: 10_000, halfOpenProbes: 3 });
    let finishFirst!: () => void;
    void breaker.execute(() => new Promise<void>((resolve) => (finishFirst = resolve)));
    await clock.advance(5_000);
    void breaker.execute(hang);
    await clock.advance(1_000);
    void breaker.execute(hang);
    finishFirst();
    await clock.advance(1_000); // t = 7 s after half-open: the first probe has succeeded
    const error = (await breaker.execute(okay).catch((e: unknown) => e)) as CircuitOpenError;
    expect(isCircuitOpenError(error)).toBe(true);
    expect(breaker.state).toBe('half-open');
    // The first probe's timeout (t = 10 s) has passed; the third probe decides by t = 16 s.
    await clock.advance(4_000);
    expect(breaker.state).toBe('half-open');
    expect(error.retryAfterMs).toBe(5_000);
  });

  it('a caller abort of a hung probe never reopens the circuit when the probe timeout passes', async () => {
    const { breaker, clock } = await halfOpen({ probeTimeout: 100 });
    const caller = new AbortController();
    void breaker.execute(hang, { signal: caller.signal });
    caller.abort();
    await clock.advance(100);
    expect(breaker.snapshot()).toMatchObject({ state: 'half-open', trips: 1 });
  });

  it('isolate() with a hung probe in flight leaves no probe timer behind', async () => {
    const { breaker, clock } = await halfOpen({ probeTimeout: 5_000 });
    let signal: AbortSignal | undefined;
    void breaker.execute((ctx) => {
      signal = ctx.signal;
      return hang();
    });
    const release = breaker.isolate();
    expect(signal?.aborted).toBe(true);
    expect(clock.pendingTimers).toBe(0);
    release();
    expect(breaker.state).toBe('closed');
  });

  it('a probe timeout is a failure reported once, with its duration, and then aborts the signal', async () => {
    const onFailure = vi.fn();
    const { breaker, clock } = await halfOpen({ probeTimeout: 300, onFailure });
    onFailure.mockClear();
    let signal: AbortSignal | undefined;
    const probe = breaker
      .execute((ctx) => {
        signal = ctx.signal;
        return new Promise((_, reject) =>
          ctx.signal.addEventListener('abort', () => reject(ctx.signal.reason)),
        );
      })
      .catch((error: unknown) => error);
    await clock.advance(300);
    expect(await probe).toMatchObject({ name: 'TimeoutError' });
    expect(signal?.aborted).toBe(true);
    expect(onFailure).toHaveBeenCalledTimes(1);
    expect(onFailure.mock.calls[0]![0]).toMatchObject({ durationMs: 300, state: 'half-open' });
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2 });
    // No timer is left: without onStateChange, open -> half-open is decided when the breaker is next used.
    expect(clock.pendingTimers).toBe(0);
  });

  it('decides at the exact success ratio despite floating point (0.28 of 25 probes is 7)', async () => {
    const { breaker } = await halfOpen({ halfOpenProbes: 25, halfOpenSuccessRatio: 0.28 });
    const gates: ((value: string) => void)[] = [];
    const calls = Array.from({ length: 25 }, () =>
      breaker.execute(() => new Promise<string>((resolve) => gates.push(resolve))),
    );
    for (let i = 0; i < 7; i++) {
      gates[i]!('ok');
      await calls[i];
    }
    expect(breaker.state).toBe('closed');
  });

  it('reopens as soon as the ratio cannot be reached (0.28 of 25: the 19th failure)', async () => {
    const { breaker } = await halfOpen({ halfOpenProbes: 25, halfOpenSuccessRatio: 0.28 });
    const gates: ((error: Error) => void)[] = [];
    const calls = Array.from({ length: 25 }, () =>
      breaker.execute(() => new Promise<string>((_, reject) => gates.push(reject))).catch(() => {}),
    );
    for (let i = 0; i < 18; i++) {
      gates[i]!(new Error('x'));
      await calls[i];
    }
    expect(breaker.state).toBe('half-open');
    gates[18]!(new Error('x'));
    await calls[18];
    expect(breaker.state).toBe('open');
  });
});

describe("a caller's timeout: one failure, counted when it happens", () => {
  const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

  // fn handed the caller's signal on (fetch rejects with `signal.reason`): its rejection and the abort
  // event carry the same TimeoutError, in either order, and the call must count once, as a failure.
  it.each([
    ['the abort event first', 'abort-reject'],
    ["fn's rejection first, in the same tick", 'reject-abort'],
    ["fn's rejection settled before the abort", 'reject-flush-abort'],
  ])('%s', async (_, order) => {
    const onFailure = vi.fn();
    const onSuccess = vi.fn();
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 2, onFailure, onSuccess });
    const caller = new AbortController();
    let reject!: (error: unknown) => void;
    const call = breaker.execute(() => new Promise((_, no) => (reject = no)), { signal: caller.signal });
    // Handled at once: in the last order it rejects during flush(), before the test awaits it.
    call.catch(() => {});
    const reason = new TimeoutError(2_000, 'Attempt 1');
    for (const step of order.split('-')) {
      if (step === 'abort') caller.abort(reason);
      else if (step === 'reject') reject(reason);
      else await flush();
    }
    await expect(call).rejects.toBe(reason);
    await flush();
    expect(onFailure.mock.calls).toEqual([[expect.objectContaining({ error: reason, state: 'closed' })]]);
    expect(onSuccess).not.toHaveBeenCalled();
    expect(breaker.snapshot()).toMatchObject({
      state: 'closed',
      consecutiveFailures: 1,
      calls: 1,
      failures: 1,
    });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it("a probe cut by the caller's timeout is a failed probe: the circuit reopens at once, its timer freed", async () => {
    const onFailure = vi.fn();
    const { breaker, clock } = await halfOpen({ probeTimeout: 10_000, onFailure });
    onFailure.mockClear();
    const caller = new AbortController();
    // fn ignores its signal and never settles: the abort alone decides.
    void breaker.execute(hang, { signal: caller.signal });
    await clock.advance(2_000);
    const reason = new DOMException('signal timed out', 'TimeoutError');
    caller.abort(reason);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2 });
    expect(onFailure.mock.calls).toEqual([
      [{ durationMs: 2_000, slow: false, state: 'half-open', error: reason }],
    ]);
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('a caller signal already timed out when execute() is called: fn does not run and nothing counts', async () => {
    const onFailure = vi.fn();
    const { breaker } = await halfOpen({ onFailure });
    onFailure.mockClear();
    const reason = new TimeoutError(2_000, 'Deadline');
    const fn = vi.fn(okay);
    await expect(breaker.execute(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(onFailure).not.toHaveBeenCalled();
    // The probe slot it was given is free again: the next call probes and closes the circuit.
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });
});

describe('signals and timers left behind', () => {
  it('leaves no listener on the caller signal after success, failure or abort, in any state', async () => {
    const { breaker, clock } = await halfOpen({ failureThreshold: 1 });
    const caller = new AbortController();
    // A probe that succeeds, then closed calls that succeed and fail.
    await breaker.execute(okay, { signal: caller.signal });
    await breaker.execute(okay, { signal: caller.signal });
    await breaker.execute(boom, { signal: caller.signal }).catch(() => {});
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    // Rejected while open: never attached.
    await breaker.execute(okay, { signal: caller.signal }).catch(() => {});
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    await clock.advance(1_000);
    const pending = breaker.execute(hang, { signal: caller.signal });
    caller.abort();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
    void pending;
  });

  it('no timer is left once a breaker closes, resets, or is isolated while open', async () => {
    const clock = createFakeClock();
    const onStateChange = vi.fn();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, onStateChange });
    await breaker.execute(boom).catch(() => {});
    expect(clock.pendingTimers).toBe(1);
    breaker.reset();
    expect(clock.pendingTimers).toBe(0);
    await breaker.execute(boom).catch(() => {});
    breaker.isolate();
    expect(clock.pendingTimers).toBe(0);
    breaker.reset();
    await breaker.execute(boom).catch(() => {});
    await clock.advance(1_000);
    await breaker.execute(okay);
    expect(breaker.state).toBe('closed');
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('open period', () => {
  it('ignores a negative, NaN or non-numeric server hint, and caps a huge one', async () => {
    for (const [hint, expected] of [
      [-5_000, 60_000],
      [Number.NaN, 60_000],
      ['5000', 60_000],
      [Number.POSITIVE_INFINITY, 600_000],
      [1e300, 600_000],
    ] as const) {
      const clock = createFakeClock();
      const breaker = createBreaker({ clock, failureThreshold: 1 });
      const error = Object.assign(new Error('503'), { retryAfterMs: hint });
      await breaker.execute(() => Promise.reject(error)).catch(() => {});
      expect(breaker.snapshot().openUntil).toBe(expected);
    }
    // A hint of 0: try again now.
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    await breaker
      .execute(() => Promise.reject(Object.assign(new Error('503'), { retryAfterMs: 0 })))
      .catch(() => {});
    expect(breaker.snapshot()).toMatchObject({ state: 'half-open', trips: 1 });
  });

  it('caps a huge openFor result at maxOpenFor and takes 0 as no wait', async () => {
    const clock = createFakeClock();
    const periods = [1e12, 0];
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: (trip) => periods[trip - 1]! });
    await breaker.execute(boom).catch(() => {});
    expect(breaker.snapshot().openUntil).toBe(600_000);
    await clock.advance(600_000);
    await breaker.execute(boom).catch(() => {});
    expect(breaker.snapshot()).toMatchObject({ state: 'half-open', trips: 2 });
  });

  it('retryAfterMs is never negative, never more than the open period, and Infinity only when isolated', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.constantFrom('fail' as const, 'ok' as const, 'isolate' as const, 'release' as const),
            fc.integer({ min: 0, max: 3_000 }),
          ),
          { maxLength: 30 },
        ),
        async (steps) => {
          const clock = createFakeClock();
          const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, probeTimeout: 500 });
          const errors: CircuitOpenError[] = [];
          const releases: (() => void)[] = [];
          for (const step of steps) {
            if (typeof step === 'number') await clock.advance(step);
            else if (step === 'isolate') releases.push(breaker.isolate());
            else if (step === 'release') releases.shift()?.();
            else {
              const result = await breaker.tryExecute(step === 'fail' ? boom : okay);
              if (!result.ok && isCircuitOpenError(result.error)) errors.push(result.error);
            }
            const isolated = breaker.snapshot().isolated;
            for (const error of errors) {
              const ms = error.retryAfterMs;
              if (isolated) expect(ms).toBe(Number.POSITIVE_INFINITY);
              else expect(ms >= 0 && ms <= 1_000).toBe(true);
            }
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('windows', () => {
  it('opens at a failure rate exactly at the threshold despite floating point (7 of 100 at 0.07)', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ size: 100, minimumCalls: 100, failureRateThreshold: 0.07 }),
    });
    for (let i = 0; i < 93; i++) await breaker.execute(okay);
    for (let i = 0; i < 7; i++) await breaker.execute(boom).catch(() => {});
    expect(breaker.state).toBe('open');
  });

  it('opens at a slow-call rate exactly at the threshold in a time window (14 of 50 at 0.28)', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      slowCallDuration: 10,
      window: slidingWindow({
        type: 'time',
        duration: 60_000,
        minimumCalls: 50,
        slowCallRateThreshold: 0.28,
      }),
    });
    for (let i = 0; i < 36; i++) await breaker.execute(okay);
    for (let i = 0; i < 14; i++) {
      const call = breaker.execute(() => new Promise((resolve) => clock.setTimeout(() => resolve(1), 20)));
      await clock.advance(20);
      await call;
    }
    expect(breaker.snapshot()).toMatchObject({ calls: 50, slowCalls: 14 });
    expect(breaker.state).toBe('open');
  });

  it('a time window is empty after an idle gap longer than the whole window', async () => {
    const clock = createFakeClock({ now: 1_700_000_000_000 });
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ type: 'time', duration: 10_000, buckets: 5, minimumCalls: 4 }),
    });
    for (let i = 0; i < 3; i++) await breaker.execute(boom).catch(() => {});
    await clock.advance(10_000 * 7 + 1_234);
    expect(breaker.snapshot()).toMatchObject({ calls: 0, failures: 0 });
    // One more failure among fresh successes does not reach 50 %.
    for (const fn of [okay, okay, okay, boom]) await breaker.execute(fn).catch(() => {});
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 4, failures: 1 });
  });

  it('refuses an infinite count-window size or bucket count with InvalidArgumentError', () => {
    for (const options of [
      { size: Number.POSITIVE_INFINITY },
      { type: 'time', buckets: Number.POSITIVE_INFINITY },
    ])
      expect(() => slidingWindow(options as never)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
  });
});

describe('initialState from an untrusted snapshot', () => {
  it('reads numeric strings as numbers: a further failure counts 4, not "31"', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      initialState: JSON.parse('{"state":"closed","consecutiveFailures":"3","trips":"0"}'),
    });
    await breaker.execute(boom).catch(() => {});
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 4 });
  });

  it('is isolated only by isolated: true', () => {
    const clock = createFakeClock();
    for (const isolated of ['false', 1, 'yes'])
      expect(
        createBreaker({ clock, initialState: { state: 'closed', isolated: isolated as never } }).state,
      ).toBe('closed');
    expect(createBreaker({ clock, initialState: { state: 'closed', isolated: true } }).state).toBe('open');
  });

  it('holds an open period no longer than maxOpenFor, and arms one timer, not a 1 ms loop', async () => {
    const clock = createFakeClock({ now: 1_000 });
    const setTimeout = vi.fn((callback: () => void, ms: number) => clock.setTimeout(callback, ms));
    for (const openUntil of [1_000 + 2 ** 40, Number.POSITIVE_INFINITY]) {
      const breaker = createBreaker({
        clock: { ...clock, setTimeout },
        onStateChange: () => {},
        maxOpenFor: 3_600_000,
        initialState: { state: 'open', openUntil },
      });
      expect(breaker.snapshot().openUntil).toBe(clock.now() + 3_600_000);
      expect(setTimeout.mock.calls.at(-1)![1]).toBe(3_600_000);
      await expect(breaker.execute(okay)).rejects.toMatchObject({ retryAfterMs: 3_600_000 });
    }
  });

  it('throws InvalidArgumentError for garbage and creates nothing (no timer)', () => {
    const clock = createFakeClock();
    const bad = [
      { state: 'open', openUntil: 'soon' },
      { state: 'open', openUntil: Number.NaN },
      { state: 'closed', consecutiveFailures: {} },
      { state: 'closed', trips: 'x' },
      { state: 'closed', consecutiveFailures: -2 },
      { state: 'OPEN' },
      {},
    ];
    for (const initialState of bad)
      expect(() => createBreaker({ clock, initialState: initialState as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'initialState' }),
      );
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('initialState through JSON (a serverless restart)', () => {
  type Op = 'ok' | 'fail' | 'slow' | 'hang' | 'settle' | 'advance' | 'isolate' | 'release' | 'reset';
  it('a snapshot read back from JSON starts a breaker in the same state, open period, trips, failures in a row and counts', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.constantFrom<Op>(
            ...([
              'ok',
              'fail',
              'fail',
              'fail',
              'fail',
              'slow',
              'hang',
              'settle',
              'advance',
              'advance',
            ] as const),
            ...(['advance', 'isolate', 'release', 'reset'] as const),
          ),
          { maxLength: 60 },
        ),
        fc.boolean(),
        fc.nat({ max: 40_000 }),
        fc.nat({ max: 90_000 }),
        async (ops, withWindow, before, later) => {
          const clock = createFakeClock({ now: 1_700_000_000_000 });
          const options = {
            clock,
            failureThreshold: 3,
            openFor: (trip: number) => 10_000 * trip,
            halfOpenProbes: 2,
            slowCallDuration: 100,
            probeTimeout: 5_000,
            onStateChange: () => {},
            ...(withWindow ? { window: slidingWindow({ size: 4, minimumCalls: 2 }) } : {}),
          };
          const first = createBreaker(options);
          const ends: (() => void)[] = [];
          const releases: (() => void)[] = [];
          for (const op of ops) {
            if (op === 'ok') await first.execute(okay).catch(() => {});
            else if (op === 'fail') await first.execute(boom).catch(() => {});
            else if (op === 'slow')
              await first
                .execute(async () => {
                  await clock.advance(101);
                })
                .catch(() => {});
            else if (op === 'hang')
              void first.execute(() => new Promise<void>((resolve) => ends.push(resolve))).catch(() => {});
            else if (op === 'settle') ends.shift()?.();
            else if (op === 'advance') await clock.advance(6_000);
            else if (op === 'isolate') releases.push(first.isolate());
            else if (op === 'release') releases.shift()?.();
            else first.reset();
            await Promise.resolve();
          }
          await clock.advance(before);
          const saved = first.snapshot();
          const stored = JSON.stringify(saved);
          await clock.advance(later);
          const second = createBreaker({ ...options, initialState: JSON.parse(stored) });
          // Everything carries over, the counts of a count window too (time does not age them); a half-open
          // one has no probe in flight, and an open period that ended while the process was gone reads as
          // half-open.
          const ended = saved.state === 'open' && saved.openUntil !== null && saved.openUntil <= clock.now();
          expect(second.snapshot()).toEqual({
            ...saved,
            ...(ended ? { state: 'half-open', openUntil: null } : {}),
          });
          const result = await second.tryExecute(okay);
          if (saved.isolated) expect(result).toMatchObject({ error: { retryAfterMs: Infinity } });
          else if (saved.state === 'open' && !ended)
            expect(result).toMatchObject({ error: { retryAfterMs: saved.openUntil! - clock.now() } });
          else expect(result).toEqual({ ok: true, value: 'ok' });
          for (const end of ends) end();
        },
      ),
      { seed: 20_240, numRuns: 300 },
    );
  });

  it('throws InvalidArgumentError for a tampered snapshot: counts that are not whole numbers >= 0, or not numbers', () => {
    const clock = createFakeClock();
    const bad = [
      JSON.parse('{"state":"closed","consecutiveFailures":1e999}'),
      JSON.parse('{"state":"open","trips":1e999}'),
      { state: 'closed', consecutiveFailures: 2.5 },
      { state: 'open', trips: 0.5 },
      { state: 'closed', consecutiveFailures: Number.POSITIVE_INFINITY },
      { state: 'closed', consecutiveFailures: [3] },
      { state: 'closed', trips: true },
      { state: 'open', openUntil: [5] },
      { state: 'open', openUntil: true },
      { state: 'open', openUntil: { valueOf: () => 5 } },
    ];
    for (const initialState of bad)
      expect(
        () => createBreaker({ clock, initialState: initialState as never }),
        JSON.stringify(initialState),
      ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'initialState' }));
  });

  it('throws InvalidArgumentError for an empty or blank string field, which is no numeric string (Number("") is 0)', () => {
    const clock = createFakeClock({ now: 5_000 });
    const bad = [
      { state: 'open', openUntil: '' },
      { state: 'open', trips: '' },
      { state: 'closed', consecutiveFailures: ' ' },
      { state: 'half-open', trips: '\n' },
    ];
    for (const initialState of bad)
      expect(
        () => createBreaker({ clock, initialState: initialState as never }),
        JSON.stringify(initialState),
      ).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'initialState' }));
    // Numeric strings, padded or not, still read as numbers.
    expect(
      createBreaker({
        clock,
        initialState: { state: 'open', openUntil: ' 9000 ', trips: '2' } as never,
      }).snapshot(),
    ).toMatchObject({ state: 'open', openUntil: 9_000, trips: 2 });
  });

  it('throws InvalidArgumentError for a foreign snapshot (opossum, cockatiel, a whole registry snapshot)', () => {
    const clock = createFakeClock();
    const foreign = [
      { state: { name: 'b', enabled: true, closed: false, open: true, halfOpen: false }, status: {} },
      { ownState: { open: 1 }, current: { state: 1 } },
      { 'api.example.com': { state: 'open', isolated: false, openUntil: 5, trips: 1 } },
      ['open'],
    ];
    for (const initialState of foreign)
      expect(() => createBreaker({ clock, initialState: initialState as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'initialState' }),
      );
  });
});

describe('secrets in mistaken arguments', () => {
  // A URL or header value passed where an option or fn belongs (`breaker.execute(url, fn)`, the registry's
  // argument order) must not reach the error message whole: errors are logged.
  const secret = 'https://user:hunter2@api.example.com/v1?access_token=tok_live_abc123';
  const leaks = (error: unknown): boolean =>
    /hunter2|tok_live|abc123/.test(`${(error as Error).message} ${JSON.stringify(error)}`);

  it('InvalidArgumentError from createBreaker, execute, slidingWindow and the registry does not echo them', async () => {
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const grab = (f: () => unknown): void => {
      try {
        f();
      } catch (error) {
        errors.push(error);
      }
    };
    grab(() => createBreaker({ clock, openFor: secret as never }));
    grab(() => createBreaker({ clock, isFailure: `Bearer ${secret}` as never }));
    grab(() => createBreaker({ clock, initialState: { state: 'open', openUntil: secret } as never }));
    grab(() => slidingWindow({ type: secret as never }));
    grab(() => createBreakerRegistry({ clock, options: secret as never }));
    errors.push((await createBreaker({ clock }).tryExecute(secret as never)) as { error: unknown });
    errors.push(
      await createBreakerRegistry({ clock })
        .execute(secret, secret as never)
        .catch((e: unknown) => e),
    );
    expect(errors).toHaveLength(7);
    for (const error of errors) {
      const e = (error as { error?: unknown }).error ?? error;
      expect(e).toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
      expect(leaks(e), (e as Error).message).toBe(false);
    }
  });
});

describe('hooks that throw', () => {
  it('onReject, onSuccess and onFailure throwing change nothing', async () => {
    const clock = createFakeClock();
    const thrower = () => {
      throw new Error('hook');
    };
    const breaker = createBreaker({
      clock,
      failureThreshold: 2,
      openFor: 1_000,
      onReject: thrower,
      onSuccess: thrower,
      onFailure: thrower,
      onStateChange: thrower,
    });
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
    await expect(breaker.execute(okay)).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
    await expect(breaker.tryExecute(okay)).resolves.toMatchObject({ ok: false });
    await clock.advance(1_000);
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });
});

describe('an openFor that throws', () => {
  const openFor = (): never => {
    throw new Error('backoff bug');
  };

  it("still opens, for the default 60 s, counts one trip per trip, and the caller gets fn's error", async () => {
    const clock = createFakeClock();
    const seen: string[] = [];
    const breaker = createBreaker({
      clock,
      failureThreshold: 2,
      openFor,
      onStateChange: (to) => seen.push(to),
    });
    const error = new Error('boom');
    // Before: both calls rejected with 'backoff bug', and the breaker stayed closed with trips 1 (then 2,
    // 3, ... one per further failure).
    for (let i = 0; i < 2; i++)
      await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 1, openUntil: 60_000 });
    await expect(breaker.execute(okay)).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN' });
    await clock.advance(59_999);
    expect(seen).toEqual(['open']);
    await clock.advance(1);
    expect(seen).toEqual(['open', 'half-open']);
    // The failed probe is the second trip: open again, for 60 s again.
    await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2, openUntil: 120_000 });
    await clock.advance(60_000);
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', trips: 0 });
  });

  it('a probe timeout that trips opens the circuit (within maxOpenFor) instead of throwing from the timer', async () => {
    const { clock, breaker } = await halfOpen({
      openFor: (trip) => (trip > 1 ? openFor() : 1_000),
      maxOpenFor: 5_000,
      probeTimeout: 100,
    });
    void breaker.execute(hang);
    // Before: the trip threw 'backoff bug' out of the probe timer (with the system clock, an uncaught
    // exception), leaving the breaker half-open with trips 2.
    await clock.advance(100);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2, openUntil: 1_100 + 5_000 });
    expect(clock.pendingTimers).toBe(0);
  });

  it('an open snapshot without openUntil starts open for the default 60 s', () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      openFor,
      initialState: { state: 'open', trips: 2 },
    });
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2, openUntil: 60_000 });
  });
});

describe('an openFor that returns no usable period', () => {
  // NaN opened for 0 ms (a probe after every failure of a sick dependency), -1 too, Infinity for
  // maxOpenFor, and a BigInt threw a TypeError out of the trip.
  const unusable = [
    Number.NaN,
    -1,
    Number.POSITIVE_INFINITY,
    Number.NEGATIVE_INFINITY,
    5_000n,
    '5000',
    null,
    undefined,
    {},
  ];

  it.each(unusable)('%s opens the circuit for the default 60 s, like a throw', async (period) => {
    const clock = createFakeClock();
    const error = new Error('boom');
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: () => period as number });
    await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 1, openUntil: 60_000 });
    const capped = createBreaker({
      clock,
      failureThreshold: 1,
      maxOpenFor: 5_000,
      openFor: () => period as number,
    });
    await capped.execute(boom).catch(() => {});
    expect(capped.snapshot()).toMatchObject({ state: 'open', openUntil: 5_000 });
  });

  it.each(unusable)(
    '%s from a probe timeout reopens for 60 s without throwing from the timer',
    async (period) => {
      const { clock, breaker } = await halfOpen({
        openFor: (trip) => (trip > 1 ? (period as number) : 1_000),
        probeTimeout: 100,
      });
      void breaker.execute(hang);
      await clock.advance(100);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2, openUntil: 1_100 + 60_000 });
    },
  );

  it.each(unusable)('%s for an open snapshot without openUntil starts it open for 60 s', (period) => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      openFor: () => period as number,
      initialState: { state: 'open', trips: 2 },
    });
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2, openUntil: 60_000 });
  });
});

describe('createBreakerRegistry: the breaker handed out is the one held', () => {
  it('keeps a new key when every other breaker is open, so its failures trip it', async () => {
    const registry = createBreakerRegistry({
      clock: createFakeClock(),
      maxSize: 2,
      options: { failureThreshold: 2, openFor: 60_000 },
    });
    for (const key of ['down-1', 'down-2'])
      for (let i = 0; i < 2; i++) await registry.execute(key, boom).catch(() => {});
    const fresh = registry.get('new');
    expect(registry.get('new')).toBe(fresh);
    expect(registry.size).toBe(2);
    for (let i = 0; i < 2; i++) await registry.execute('new', boom).catch(() => {});
    expect(registry.get('new').state).toBe('open');
  });

  it('with idleFor 0, still keeps the breaker just used', async () => {
    const registry = createBreakerRegistry({
      clock: createFakeClock(),
      idleFor: 0,
      options: { failureThreshold: 2 },
    });
    for (let i = 0; i < 2; i++) await registry.execute('k', boom).catch(() => {});
    expect(registry.has('k')).toBe(true);
    expect(registry.get('k').state).toBe('open');
  });

  it('never holds more than maxSize, whatever mix of open and closed breakers (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 5 }),
        fc.array(fc.tuple(fc.integer({ min: 0, max: 9 }), fc.boolean()), { maxLength: 60 }),
        async (maxSize, uses) => {
          const registry = createBreakerRegistry({
            clock: createFakeClock(),
            maxSize,
            options: { failureThreshold: 1 },
          });
          for (const [key, fails] of uses) {
            const breaker = registry.get(`k${key}`);
            await breaker.execute(fails ? boom : okay).catch(() => {});
            expect(registry.size).toBeLessThanOrEqual(maxSize);
            expect(registry.get(`k${key}`)).toBe(breaker);
          }
        },
      ),
      { numRuns: 100 },
    );
  });
});

describe('predicates that throw', () => {
  // Throws for an error without a response (a network error), as user predicates do.
  const isFailure = (error: unknown) => (error as { response: { status: number } }).response.status >= 500;

  it('a throwing isFailure counts the error as a failure and never sticks the breaker half-open', async () => {
    const { breaker, clock } = await halfOpen({ isFailure, probeTimeout: 100 });
    const error = new Error('ECONNRESET');
    await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('a throwing isFailure still lets consecutive failures trip a closed breaker, with the original error', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 2, isFailure });
    const error = new Error('ECONNRESET');
    for (let i = 0; i < 2; i++)
      await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.state).toBe('open');
  });

  it('a throwing isResultFailure counts a success and returns the value', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: 1,
      isResultFailure: (value) => (value as { status: number }).status >= 500,
    });
    await expect(breaker.execute(() => null)).resolves.toBeNull();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 1, failures: 0 });
  });

  // A lazy hint read from the response, which a network error does not have.
  class HttpError extends Error {
    response?: { headers: Map<string, string> };
    get retryAfterMs(): number {
      return Number(this.response!.headers.get('retry-after')) * 1_000;
    }
  }

  it.each([
    ['closed', {}],
    ['closed, timed', { onFailure: () => {} }],
  ])(
    'a retryAfterMs getter that throws trips a %s breaker with the original error and openFor',
    async (_, hooks) => {
      const breaker = createBreaker({
        clock: createFakeClock(),
        failureThreshold: 2,
        openFor: 5_000,
        ...hooks,
      });
      for (let i = 0; i < 2; i++) {
        const error = new HttpError('ECONNRESET');
        await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
      }
      expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 5_000, trips: 1 });
    },
  );

  it('a retryAfterMs getter that throws on a failed probe reopens the breaker', async () => {
    const { breaker } = await halfOpen();
    const error = new HttpError('ECONNRESET');
    await expect(breaker.execute(() => Promise.reject(error))).rejects.toBe(error);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 2_000, trips: 2 });
  });
});

describe('snapshot counts and half-open probes', () => {
  it('probe outcomes are not counted: open and half-open keep the closed period counts, closing resets them', async () => {
    for (const window of [undefined, slidingWindow({ size: 10, minimumCalls: 10 })]) {
      const clock = createFakeClock();
      const breaker = createBreaker({
        clock,
        failureThreshold: 2,
        openFor: 1_000,
        slowCallDuration: 10,
        ...(window && { window }),
      });
      const slowOkay = async (): Promise<string> => {
        await clock.advance(20);
        return 'ok';
      };
      await breaker.execute(okay);
      await breaker.execute(boom).catch(() => {});
      await breaker.execute(boom).catch(() => {});
      const counts = { calls: 3, failures: 2, slowCalls: 0 };
      expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 1, ...counts });
      // A failed probe, then a slow probe (a failure too): the counts stay those of the closed period.
      await clock.advance(1_000);
      await breaker.execute(boom).catch(() => {});
      expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2, ...counts });
      await clock.advance(1_000);
      await breaker.execute(slowOkay);
      expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 3, ...counts });
      // A successful probe closes the circuit, which resets them; only closed calls count from there.
      await clock.advance(1_000);
      await breaker.execute(okay);
      expect(breaker.snapshot()).toMatchObject({
        state: 'closed',
        trips: 0,
        calls: 0,
        failures: 0,
        slowCalls: 0,
      });
      await breaker.execute(okay);
      expect(breaker.snapshot()).toMatchObject({ calls: 1, failures: 0 });
    }
  });
});
