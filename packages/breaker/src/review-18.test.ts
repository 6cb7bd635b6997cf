/**
 * Review round 18: a clock that reads `Infinity` or `-Infinity` once (the case review 16 fixed for `NaN`, and
 * @integ/retry's 4449207 for its budget), at a breaker's or a registry's read and as `snapshot()` is taken; and
 * options of createBreaker, slidingWindow or createBreakerRegistry that are not an object (ce9d501's case); a
 * custom window's async restore or counts that rejects (0824c8e's case); real AbortSignals taken by b8d13d2's
 * check, and a signal stub whose addEventListener or removeEventListener throws (b8d13d2's case).
 */
import { InvalidArgumentError } from '@integ/core';
import { createFakeClock, trackUnhandledRejections } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { type BreakerWindow, createBreaker, createBreakerRegistry, slidingWindow } from '../src/index';

const down = new Error('down');
const fail = (): Promise<never> => Promise.reject(down);

/** A fake clock at 5 s whose next `bad` readings are `value` (set `bad` later to make a later read bad). */
const flaky = (value: number) => {
  const fake = createFakeClock({ now: 5_000 });
  const state = { bad: 0 };
  const clock = {
    now: () => (state.bad-- > 0 ? value : fake.now()),
    setTimeout: fake.setTimeout,
    clearTimeout: fake.clearTimeout,
  };
  return { fake, clock, state };
};

describe('createBreaker on a clock that reads Infinity or -Infinity once', () => {
  for (const value of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])
    for (const when of ['at creation', 'after a reading'])
      it(`reads it as no time passed, so later open periods last openFor (${value}, ${when})`, async () => {
        const { fake, clock, state } = flaky(value);
        const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, onSuccess: () => {} });
        if (when === 'at creation') state.bad = 1;
        expect(await breaker.execute(() => 1)).toBe(1);
        state.bad = 1;
        expect(breaker.state).toBe('closed');
        await breaker.tryExecute(fail);
        // It was half-open at once, for good: the breaker's time stayed Infinity (or NaN), every open period 0 ms.
        expect(breaker.state).toBe('open');
        expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 6_000 });
        await fake.advance(999);
        const rejected = await breaker.tryExecute(() => 2);
        expect(!rejected.ok && (rejected.error as { retryAfterMs: number }).retryAfterMs).toBe(1);
        await fake.advance(1);
        expect(breaker.state).toBe('half-open');
        expect(await breaker.execute(() => 3)).toBe(3);
        expect(breaker.state).toBe('closed');
      });
});

describe('snapshot() on a clock that reads Infinity or -Infinity as it is taken', () => {
  it('gives an openUntil that is a finite number, as for NaN', async () => {
    for (const value of [Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY]) {
      const { fake, clock, state } = flaky(value);
      const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
      await breaker.tryExecute(fail);
      await fake.advance(400);
      state.bad = 2;
      expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 6_000 });
      expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 6_000 });
    }
  });
});

describe('createBreakerRegistry on a clock that reads Infinity once', () => {
  it('still evicts a breaker idle for idleFor, and only then', async () => {
    const { fake, clock, state } = flaky(Number.POSITIVE_INFINITY);
    const registry = createBreakerRegistry({ clock, idleFor: 1_000 });
    registry.get('a');
    state.bad = 1;
    registry.get('b');
    await fake.advance(500);
    registry.get('c');
    // Infinity - used was no number below idleFor: a and b were idle at once; then every key was.
    expect(registry.has('a')).toBe(true);
    await fake.advance(400);
    expect(registry.prune()).toBe(0);
    await fake.advance(100);
    expect(registry.prune()).toBe(2);
    expect(registry.has('c')).toBe(true);
  });
});

describe('createBreaker, slidingWindow and createBreakerRegistry given options that are not an object', () => {
  // A JSON string not parsed (process.env.BREAKER), a number, a function not called, a Promise (an async
  // config loader not awaited): each was read as an object without options, so every default applied
  // silently (createBreaker('{"failureThreshold":1}') still needed 5 failures), as ce9d501 fixed for a
  // registry's per-key options.
  const wrong = (): unknown[] => [
    '{"failureThreshold":1}',
    5,
    true,
    () => ({ failureThreshold: 1 }),
    new Promise(() => {}),
  ];
  const refused = (make: () => unknown): InvalidArgumentError => {
    let thrown: unknown;
    try {
      make();
    } catch (error) {
      thrown = error;
    }
    expect(thrown).toBeInstanceOf(InvalidArgumentError);
    return thrown as InvalidArgumentError;
  };

  it('refuses them with InvalidArgumentError (options); null and undefined still mean none', async () => {
    for (const options of wrong()) {
      expect(refused(() => createBreaker(options as never)).argument).toBe('options');
      expect(refused(() => slidingWindow(options as never)).argument).toBe('options');
      expect(refused(() => createBreakerRegistry(options as never)).argument).toBe('options');
    }
    for (const options of [null, undefined]) {
      expect(await createBreaker(options as never).execute(() => 1)).toBe(1);
      expect(await createBreaker({ window: slidingWindow(options as never) }).execute(() => 2)).toBe(2);
      expect(await createBreakerRegistry(options as never).execute('a', () => 3)).toBe(3);
    }
  });
});

describe('createBreaker with a custom window whose restore or counts is async and rejects', () => {
  it("drops the rejection (left unhandled, it ends a Node process), as for record's and clear's (decision 0128)", async () => {
    const unhandled = trackUnhandledRejections();
    try {
      const broken = new Error('window store down');
      const window = (): BreakerWindow => ({
        record: () => false,
        counts: (async () => {
          throw broken;
        }) as never,
        clear: () => {},
        restore: (async () => {
          throw broken;
        }) as never,
      });
      const breaker = createBreaker({ window, initialState: { state: 'closed', calls: 2, failures: 1 } });
      breaker.snapshot();
      expect(await breaker.execute(() => 1)).toBe(1);
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});

describe('execute given a real AbortSignal (b8d13d2 refuses only stubs without removeEventListener)', () => {
  it("takes Node's, AbortSignal.timeout()'s, AbortSignal.any()'s and an EventTarget polyfill's, and follows their abort", async () => {
    // A polyfill's signal (abort-controller, abortcontroller-polyfill): an EventTarget with aborted and reason.
    class PolyfillSignal extends EventTarget {
      aborted = false;
      reason: unknown = undefined;
      abort(reason: unknown): void {
        this.aborted = true;
        this.reason = reason;
        this.dispatchEvent(new Event('abort'));
      }
    }
    const make = (): [AbortSignal, (reason: unknown) => void][] => {
      const a = new AbortController();
      const b = new AbortController();
      const c = new PolyfillSignal();
      return [
        [a.signal, (r) => a.abort(r)],
        [AbortSignal.any([b.signal]), (r) => b.abort(r)],
        [c as unknown as AbortSignal, (r) => c.abort(r)],
      ];
    };
    expect(await createBreaker().execute(() => 0, { signal: AbortSignal.timeout(60_000) })).toBe(0);
    for (const [signal, abort] of make()) {
      const clock = createFakeClock({ now: 0 });
      const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 100 });
      expect(await breaker.execute(() => 1, { signal })).toBe(1);
      // A caller's timeout through it is a failed call: the breaker opens.
      const call = breaker.tryExecute(() => new Promise(() => {}), { signal });
      abort(new DOMException('late', 'TimeoutError'));
      expect(breaker.state).toBe('open');
      void call;
    }
  });
});

describe('execute given a signal whose addEventListener or removeEventListener throws (a stub)', () => {
  // b8d13d2's case for a method that is there but throws: the call failed with the stub's error instead of fn's
  // value, and a probe's slot was held with no timer left to free it, so the breaker stayed half-open for good.
  const stub = (which: 'add' | 'remove'): AbortSignal =>
    ({
      aborted: false,
      addEventListener() {
        if (which === 'add') throw down;
      },
      removeEventListener() {
        if (which === 'remove') throw down;
      },
    }) as never;

  it('fails the call before fn runs if it cannot be listened to, taking no probe slot', async () => {
    const clock = createFakeClock({ now: 0 });
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 100 });
    await breaker.tryExecute(fail);
    await clock.advance(100);
    let ran = 0;
    expect(await breaker.tryExecute(() => ++ran, { signal: stub('add') })).toEqual({
      ok: false,
      error: down,
    });
    expect(ran).toBe(0);
    expect(await breaker.tryExecute(() => 'probe')).toEqual({ ok: true, value: 'probe' });
    expect(breaker.state).toBe('closed');
  });

  it("returns and counts fn's outcome if it cannot be stopped listening to", async () => {
    const clock = createFakeClock({ now: 0 });
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 100 });
    await breaker.tryExecute(fail);
    await clock.advance(100);
    expect(await breaker.tryExecute(() => 'probe', { signal: stub('remove') })).toEqual({
      ok: true,
      value: 'probe',
    });
    expect(breaker.state).toBe('closed');
    expect(await breaker.tryExecute(fail, { signal: stub('remove') })).toEqual({ ok: false, error: down });
    expect(breaker.state).toBe('open');
  });
});
