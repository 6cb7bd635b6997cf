/**
 * Review round 17: a custom `window` (the exported `BreakerWindow` shape) whose `record` or `clear` throws or
 * does not answer `true` or `false` at once, the same classes of defect review 16 fixed for the clock and the
 * predicates; and more of review 16's classes elsewhere: a signal stub without `removeEventListener`, a clock
 * reading `NaN` as `snapshot()` is taken, a registry options function returning a non-object.
 */
import { InvalidArgumentError } from '@integ/core';
import { createFakeClock, trackUnhandledRejections } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { type BreakerWindow, createBreaker, createBreakerRegistry, slidingWindow } from '../src/index';

const down = new Error('down');
const fail = (): Promise<never> => Promise.reject(down);
const broken = new Error('window broken');

/** A window that counts nothing and answers `record` with `answer()` (which may throw). */
const custom =
  (answer: () => unknown, clear: () => unknown = () => {}) =>
  (): BreakerWindow => ({
    record: () => answer() as boolean,
    counts: () => ({ calls: 0, failures: 0, slowCalls: 0 }),
    clear: clear as () => void,
  });

describe('createBreaker with a custom window whose record throws', () => {
  for (const timed of [false, true])
    it(`returns fn's value and error, and consecutive failures still trip${timed ? ' (timed calls)' : ''}`, async () => {
      const breaker = createBreaker({
        failureThreshold: 2,
        window: custom(() => {
          throw broken;
        }),
        ...(timed && { onSuccess: () => {} }),
      });
      expect(await breaker.execute(() => 1)).toBe(1);
      expect(await breaker.tryExecute(() => 2)).toEqual({ ok: true, value: 2 });
      await expect(breaker.execute(fail)).rejects.toBe(down);
      expect(breaker.state).toBe('closed');
      expect(await breaker.tryExecute(fail)).toEqual({ ok: false, error: down });
      expect(breaker.state).toBe('open');
    });

  it("counts a caller's timeout (from the abort listener) and trips, with no error thrown out of the listener", async () => {
    const breaker = createBreaker({
      failureThreshold: 1,
      window: custom(() => {
        throw broken;
      }),
    });
    const caller = new AbortController();
    const call = breaker.execute(() => new Promise(() => {}), { signal: caller.signal });
    caller.abort(new DOMException('late', 'TimeoutError'));
    expect(breaker.state).toBe('open');
    void call;
  });
});

describe('createBreaker with a custom window whose record does not answer true or false', () => {
  it('takes a Promise (an async record) or any other answer as no trip, and drops its rejection', async () => {
    const unhandled = trackUnhandledRejections();
    try {
      for (const answer of [
        () => Promise.resolve(true),
        () => Promise.reject(broken),
        () => 1,
        () => 'yes',
      ]) {
        const breaker = createBreaker({ window: custom(answer) });
        expect(await breaker.execute(() => 1)).toBe(1);
        await expect(breaker.execute(fail)).rejects.toBe(down);
        expect(breaker.state).toBe('closed');
      }
      // `true` still trips.
      const breaker = createBreaker({ window: custom(() => true) });
      expect(await breaker.execute(() => 1)).toBe(1);
      expect(breaker.state).toBe('open');
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});

describe('createBreaker with a custom window whose clear throws or rejects', () => {
  it("returns a closing probe's value, completes the transition (onStateChange), and reset()/release do not throw", async () => {
    const unhandled = trackUnhandledRejections();
    try {
      for (const clear of [
        () => {
          throw broken;
        },
        () => Promise.reject(broken),
      ]) {
        const clock = createFakeClock({ now: 0 });
        const changes: string[] = [];
        const breaker = createBreaker({
          clock,
          failureThreshold: 1,
          openFor: 1_000,
          window: custom(() => false, clear),
          onStateChange: (to, from) => changes.push(`${from}->${to}`),
        });
        await expect(breaker.execute(fail)).rejects.toBe(down);
        await clock.advance(1_000);
        expect(await breaker.execute(() => 'probe')).toBe('probe');
        expect(breaker.state).toBe('closed');
        expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
        const release = breaker.isolate();
        expect(() => release()).not.toThrow();
        breaker.isolate();
        expect(() => breaker.reset()).not.toThrow();
        expect(breaker.state).toBe('closed');
        expect(await breaker.execute(() => 3)).toBe(3);
      }
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });
});

describe('slidingWindow behind the guard', () => {
  it('still trips on its failure rate', async () => {
    const breaker = createBreaker({
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ size: 4, minimumCalls: 4, failureRateThreshold: 0.5 }),
    });
    await breaker.tryExecute(() => 1);
    await breaker.tryExecute(fail);
    await breaker.tryExecute(() => 1);
    expect(breaker.state).toBe('closed');
    await breaker.tryExecute(fail);
    expect(breaker.state).toBe('open');
  });
});

describe('execute given a signal with addEventListener but no removeEventListener (a hand-made stub)', () => {
  it('refuses it with InvalidArgumentError (signal) before admission, so a probe slot is not held for good', async () => {
    const clock = createFakeClock({ now: 0 });
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 100 });
    await breaker.tryExecute(fail);
    await clock.advance(100);
    const signal = { aborted: false, addEventListener() {} } as never;
    let ran = 0;
    const result = await breaker.tryExecute(() => ++ran, { signal });
    expect(!result.ok && result.error).toBeInstanceOf(InvalidArgumentError);
    expect(!result.ok && (result.error as InvalidArgumentError).argument).toBe('signal');
    expect(ran).toBe(0);
    // It took no slot: the next call is the probe, and closes the breaker (it stayed half-open for good).
    expect(await breaker.tryExecute(() => 'probe')).toEqual({ ok: true, value: 'probe' });
    expect(breaker.state).toBe('closed');
  });
});

describe('snapshot() on a clock that reads NaN as it is taken', () => {
  it("gives an openUntil that is a finite number (it was NaN: JSON's null, a full openFor again on restore)", async () => {
    const fake = createFakeClock({ now: 5_000 });
    let nan = false;
    const clock = {
      now: () => (nan ? Number.NaN : fake.now()),
      setTimeout: fake.setTimeout,
      clearTimeout: fake.clearTimeout,
    };
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    await breaker.tryExecute(fail);
    await fake.advance(400);
    nan = true;
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 6_000 });
    nan = false;
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 6_000 });
  });
});

describe('createBreaker given an initialState, on a clock whose now() throws', () => {
  it("throws the clock's error, as the README says (the snapshot's open period is read against now)", () => {
    const fake = createFakeClock({ now: 0 });
    const clock = {
      now: (): number => {
        throw broken;
      },
      setTimeout: fake.setTimeout,
      clearTimeout: fake.clearTimeout,
    };
    expect(() => createBreaker({ clock, initialState: { state: 'closed' } })).toThrow(broken);
    expect(() => createBreaker({ clock })).not.toThrow();
  });
});

describe('a registry whose options function returns something that is not an options object', () => {
  it('refuses it with InvalidArgumentError (options), as for a Promise, instead of a breaker with every default', async () => {
    for (const result of ['{"failureThreshold":1}', 5, true, () => ({ failureThreshold: 1 })]) {
      const registry = createBreakerRegistry({ options: () => result as never });
      let thrown: unknown;
      try {
        registry.get('a');
      } catch (error) {
        thrown = error;
      }
      expect(thrown).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).argument).toBe('options');
      await expect(registry.execute('a', () => 1)).rejects.toBeInstanceOf(InvalidArgumentError);
      expect(registry.size).toBe(0);
    }
    // null and undefined still mean no options of its own.
    for (const result of [null, undefined]) {
      const registry = createBreakerRegistry({ options: () => result as never });
      expect(await registry.execute('a', () => 1)).toBe(1);
    }
  });
});
