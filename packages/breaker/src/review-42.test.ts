/**
 * Review round 42 (memory held per breaker, decision 0234): what each breaker held that it did not need is made
 * when needed or shared: the set of calls in flight with controllers of their own (made by the first such call,
 * dropped by reset()), `emit` and the `openFor` reading at module level, the episode error's `retryAfterMs`
 * reader made with the episode, the `state` getter reading through `[DISARM](2)` (no method of its own), and the
 * prototype set last in the literal. Each test below was seen failing on a wrong version of one of these, applied
 * by hand (named in the test), and passes on the code before the round and after it.
 */
import { createFakeClock } from '@integ/testing';
import { beforeEach, describe, expect, it } from 'vitest';
import { type BreakerState, createBreaker, createBreakerRegistry } from './index.js';

const down = (): Promise<never> => Promise.reject(new Error('down'));
// A clock whose timers never fire: time passes only by `now = ...`, so a state moves only when a breaker is looked at.
let now = 0;
const handClock = { now: () => now, setTimeout: () => 0, clearTimeout: () => {} };
beforeEach(() => {
  now = 0;
});

describe('calls in flight with a controller of their own', () => {
  // Wrong version: settle() deleting from a set reset() dropped (`inFlight!.delete`) threw a TypeError there.
  it('a call with a caller signal still returns its value after a reset() made while it ran', async () => {
    const breaker = createBreaker();
    let finish!: (value: number) => void;
    const call = breaker.execute(() => new Promise<number>((resolve) => (finish = resolve)), {
      signal: new AbortController().signal,
    });
    breaker.reset();
    finish(7);
    await expect(call).resolves.toBe(7);
    // And it was not counted against the new generation, nor left anything behind.
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', calls: 0, consecutiveFailures: 0 });
    await expect(breaker.execute(() => 8, { signal: new AbortController().signal })).resolves.toBe(8);
  });

  it('a probe still settles after a reset() made while it ran, and its timeout does nothing then', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ failureThreshold: 1, openFor: 1_000, probeTimeout: 500, clock });
    await breaker.execute(down).catch(() => {});
    await clock.advance(1_000);
    let seen!: AbortSignal;
    let finish!: (value: number) => void;
    const probe = breaker.execute(({ signal }) => {
      seen = signal;
      return new Promise<number>((resolve) => (finish = resolve));
    });
    breaker.reset();
    await clock.advance(500);
    finish(3);
    await expect(probe).resolves.toBe(3);
    expect(breaker.state).toBe('closed');
    // The probe timer fired before the probe settled: its signal aborts (as before the round), the breaker forgot it.
    expect(seen.aborted).toBe(true);
  });

  // Wrong version: `[controller, ...inFlight!]` threw a TypeError out of isolate() before any such call.
  it('isolate() on a breaker that never had such a call aborts the closed calls in flight, and throws nothing', async () => {
    const breaker = createBreaker();
    let seen!: AbortSignal;
    const call = breaker.execute(({ signal }) => {
      seen = signal;
      return new Promise<never>(() => {});
    });
    const release = breaker.isolate();
    expect(seen.aborted).toBe(true);
    expect(breaker.state).toBe('open');
    release();
    expect(breaker.state).toBe('closed');
    void call.catch(() => {});
    expect(() => createBreaker().isolate()()).not.toThrow();
    expect(() => createBreaker().reset()).not.toThrow();
  });

  // Wrong version: reset() keeping the set (no `inFlight = undefined`) let a later isolate() abort a forgotten call.
  it('isolate() after reset() leaves the calls reset() forgot alone, and aborts the ones made after', () => {
    const breaker = createBreaker();
    const signals: AbortSignal[] = [];
    const start = (): void => {
      void breaker
        .execute(
          ({ signal }) => {
            signals.push(signal);
            return new Promise<never>(() => {});
          },
          { signal: new AbortController().signal },
        )
        .catch(() => {});
    };
    start();
    breaker.reset();
    start();
    breaker.isolate();
    expect(signals.map((s) => s.aborted)).toEqual([false, true]);
  });
});

describe('state, read through [DISARM](2)', () => {
  // Wrong version: the getter's mode disarming the breaker (as `[DISARM]()` does for the registry): the open ->
  // half-open timer was never armed again, so onStateChange('half-open') came only at the next look.
  it('reading state does not disarm the open -> half-open timer', async () => {
    const clock = createFakeClock();
    const changes: string[] = [];
    const breaker = createBreaker({
      failureThreshold: 1,
      openFor: 1_000,
      clock,
      onStateChange: (to, from) => changes.push(`${from}->${to}`),
    });
    expect(breaker.state).toBe('closed');
    await breaker.execute(down).catch(() => {});
    expect(breaker.state).toBe('open');
    await clock.advance(1_000);
    expect(changes).toEqual(['closed->open', 'open->half-open']);
  });

  // Wrong version: the getter's mode taken for the registry's peek (no poll): an expired period read 'open'.
  it('reading state moves an expired open period to half-open, and runs the hook once', async () => {
    const seen: BreakerState[] = [];
    const changes: string[] = [];
    const breaker = createBreaker({
      failureThreshold: 1,
      openFor: 1_000,
      clock: handClock,
      onStateChange: (to) => changes.push(to),
    });
    await breaker.execute(down).catch(() => {});
    now = 1_000;
    seen.push(breaker.state, breaker.state);
    expect(seen).toEqual(['half-open', 'half-open']);
    expect(changes).toEqual(['open', 'half-open']);
  });

  it("a registry's victim search still reads states without moving them (its onStateChange not run)", async () => {
    const changes: string[] = [];
    const registry = createBreakerRegistry({
      maxSize: 1,
      clock: handClock,
      options: { failureThreshold: 1, openFor: 1_000, onStateChange: (to) => changes.push(to) },
    });
    await registry.execute('a', down).catch(() => {});
    now = 1_000;
    registry.get('b');
    expect(changes).toEqual(['open']);
    expect(registry.has('a')).toBe(false);
  });

  it('a breaker holds the five methods as its own properties, and nothing else but one symbol-keyed method', () => {
    const breaker = createBreaker();
    expect(Object.keys(breaker)).toEqual(['execute', 'tryExecute', 'snapshot', 'isolate', 'reset']);
    expect(Object.getOwnPropertySymbols(breaker)).toHaveLength(1);
    // Taken off the breaker, the methods still work (no `this`).
    const { execute, tryExecute, snapshot, isolate, reset } = breaker;
    return Promise.all([execute(() => 1), tryExecute(() => 2)]).then(([a, b]) => {
      expect([a, b]).toEqual([1, { ok: true, value: 2 }]);
      isolate();
      expect(snapshot().state).toBe('open');
      reset();
      expect(snapshot().state).toBe('closed');
    });
  });
});

describe('openFor, read at module level', () => {
  // Wrong version: `given || 60_000` read an openFor of 0 as the default 60 s.
  it('an openFor of 0 opens for 0 ms: the next look is half-open', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ failureThreshold: 1, openFor: 0, clock });
    await breaker.execute(down).catch(() => {});
    expect(breaker.state).toBe('half-open');
    const restored = createBreaker({ openFor: 0, clock, initialState: { state: 'open' } });
    expect(restored.snapshot()).toMatchObject({ state: 'half-open', openUntil: null });
  });

  it('a missing or null openFor is 60 s, for a trip and for an open initialState without openUntil', async () => {
    for (const openFor of [undefined, null]) {
      const clock = createFakeClock();
      const breaker = createBreaker({ failureThreshold: 1, openFor: openFor as undefined, clock });
      await breaker.execute(down).catch(() => {});
      expect(breaker.snapshot().openUntil).toBe(clock.now() + 60_000);
      const restored = createBreaker({
        openFor: openFor as undefined,
        clock,
        initialState: { state: 'open' },
      });
      expect(restored.snapshot().openUntil).toBe(clock.now() + 60_000);
    }
  });

  it('a function is asked with the trip number, its bad answers and throws opening for 60 s', async () => {
    const clock = createFakeClock();
    const asked: number[] = [];
    const answers: unknown[] = [250, Number.NaN, -1, '5', undefined];
    const breaker = createBreaker({
      failureThreshold: 1,
      clock,
      openFor: (trip) => {
        asked.push(trip);
        if (trip === 6) throw new Error('backoff');
        return answers[trip - 1] as number;
      },
    });
    const periods: (number | null)[] = [];
    for (let trip = 1; trip <= 6; trip++) {
      await breaker.execute(down).catch(() => {});
      const { openUntil } = breaker.snapshot();
      periods.push(openUntil === null ? null : openUntil - clock.now());
      await clock.advance((openUntil ?? clock.now()) - clock.now());
    }
    expect(asked).toEqual([1, 2, 3, 4, 5, 6]);
    expect(periods).toEqual([250, 60_000, 60_000, 60_000, 60_000, 60_000]);
    const restored = createBreaker({ openFor: () => 42, clock, initialState: { state: 'open', trips: 2 } });
    expect(restored.snapshot().openUntil).toBe(clock.now() + 42);
  });
});
