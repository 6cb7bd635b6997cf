/**
 * Review round 29: re-entrant registry gets of a key whose breaker is being made, snapshot() with a user
 * callback that makes a transition, and the consecutive-failure trigger next to a rate window.
 */

import { isIntegError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import {
  type Breaker,
  type BreakerRegistry,
  type BreakerWindow,
  createBreaker,
  createBreakerRegistry,
  slidingWindow,
} from '../src/index';

describe('createBreakerRegistry: an options function that gets its own key', () => {
  it('throws InvalidArgumentError (argument: key) instead of recursing without end', () => {
    let registry!: BreakerRegistry;
    const options = vi.fn((key: string) => {
      registry.get(key);
      return { failureThreshold: 2 };
    });
    registry = createBreakerRegistry({ options });
    let error: unknown;
    try {
      registry.get('a');
    } catch (e) {
      error = e;
    }
    expect(error).not.toBeInstanceOf(RangeError);
    expect(isIntegError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
    expect((error as { argument?: unknown }).argument).toBe('key');
    // The message says what happened, and not the key (keys are the caller's and may carry anything).
    expect((error as Error).message).toMatch(/options/);
    expect((error as Error).message).not.toContain("'a'");
    expect(options).toHaveBeenCalledTimes(1);
    expect(registry.size).toBe(0);
    // Nothing is left marked as being made: the key works once the options function stops calling get().
    options.mockImplementation(() => ({ failureThreshold: 2 }));
    expect(registry.get('a')).toBe(registry.get('a'));
    expect(registry.size).toBe(1);
  });

  it('behind its own guard: one breaker, the one held, and no breaker dropped without onEvict', () => {
    let registry!: BreakerRegistry;
    const inner: unknown[] = [];
    let busy = false;
    const onEvict = vi.fn();
    registry = createBreakerRegistry({
      onEvict,
      options: (key) => {
        if (!busy) {
          busy = true;
          try {
            inner.push(registry.get(key));
          } catch (error) {
            inner.push(error);
          }
          busy = false;
        }
        return {};
      },
    });
    const b = registry.get('k');
    expect(inner).toHaveLength(1);
    expect(isIntegError(inner[0], 'ERR_INVALID_ARGUMENT')).toBe(true);
    expect(registry.size).toBe(1);
    expect(registry.get('k')).toBe(b);
    expect(onEvict).not.toHaveBeenCalled();
  });

  it('a cycle through another key (a gets b, b gets a) is refused too; b is made and held', () => {
    let registry!: BreakerRegistry;
    const seen: unknown[] = [];
    registry = createBreakerRegistry({
      options: (key) => {
        try {
          registry.get(key === 'a' ? 'b' : 'a');
        } catch (error) {
          seen.push(error);
        }
        return {};
      },
    });
    const a = registry.get('a');
    expect(seen).toHaveLength(1);
    expect(isIntegError(seen[0], 'ERR_INVALID_ARGUMENT')).toBe(true);
    expect(registry.size).toBe(2);
    expect(registry.get('a')).toBe(a);
  });

  it('execute(key) from the options function of key rejects with that error (a rejection, not a throw)', async () => {
    let registry!: BreakerRegistry;
    let inner: Promise<unknown> | undefined;
    registry = createBreakerRegistry({
      options: (key) => {
        inner ??= registry.execute(key, () => 1);
        return {};
      },
    });
    const b = registry.get('x');
    await expect(inner).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'key' });
    expect(registry.get('x')).toBe(b);
  });

  it('a window factory that gets the key of the breaker it is made for is refused alike', () => {
    let registry!: BreakerRegistry;
    const errors: unknown[] = [];
    const inner = slidingWindow();
    registry = createBreakerRegistry({
      options: {
        window: () => {
          try {
            registry?.get('w');
          } catch (error) {
            errors.push(error);
          }
          return inner();
        },
      },
    });
    const b = registry.get('w');
    expect(errors.map((e) => isIntegError(e, 'ERR_INVALID_ARGUMENT'))).toEqual([true]);
    expect(registry.get('w')).toBe(b);
    expect(registry.size).toBe(1);
  });
});

describe('breaker.snapshot(): a user callback that makes a transition', () => {
  // A window whose counts() calls `during` once (it resets or isolates the breaker) and then reports its counts.
  const windowWith = (during: () => void): (() => BreakerWindow) => {
    let done = false;
    return () => {
      const w = slidingWindow({ size: 10, minimumCalls: 10 })();
      return {
        record: (f, s, now) => w.record(f, s, now),
        clear: () => w.clear(),
        counts: (now) => {
          const before = w.counts(now);
          if (!done) {
            done = true;
            during();
          }
          return before;
        },
      };
    };
  };

  it('counts() calling reset() on an open breaker: the snapshot is the closed breaker after it', async () => {
    const clock = createFakeClock();
    let b!: Breaker;
    b = createBreaker({ clock, failureThreshold: 3, window: windowWith(() => b.reset()) });
    for (let i = 0; i < 3; i++) await b.tryExecute(() => Promise.reject(new Error('x')));
    expect(b.state).toBe('open');
    const snap = b.snapshot();
    expect(snap).toEqual({
      state: 'closed',
      isolated: false,
      openUntil: null,
      trips: 0,
      consecutiveFailures: 0,
      calls: 0,
      failures: 0,
      slowCalls: 0,
    });
    expect(b.snapshot()).toEqual(snap);
    // It restores as the breaker it describes.
    const again = createBreaker({ clock, window: slidingWindow(), initialState: snap });
    expect(again.snapshot()).toEqual(snap);
  });

  it('counts() calling isolate() on a closed breaker: isolated, with the counts of its window', async () => {
    const clock = createFakeClock();
    let b!: Breaker;
    b = createBreaker({ clock, window: windowWith(() => b.isolate()) });
    await b.tryExecute(() => Promise.reject(new Error('x')));
    await b.tryExecute(() => 1);
    expect(b.snapshot()).toEqual({
      state: 'open',
      isolated: true,
      openUntil: null,
      trips: 0,
      consecutiveFailures: 0,
      calls: 2,
      failures: 1,
      slowCalls: 0,
    });
  });

  it('counts() that calls reset() every time: asked twice, no loop, the closed breaker with no counts', async () => {
    const clock = createFakeClock();
    let b!: Breaker;
    let asked = 0;
    b = createBreaker({
      clock,
      failureThreshold: 2,
      window: () => {
        const w = slidingWindow({ size: 10 })();
        return {
          ...w,
          counts: (now) => {
            asked++;
            const before = w.counts(now);
            b.reset();
            return before;
          },
        };
      },
    });
    await b.tryExecute(() => Promise.reject(new Error('x')));
    await b.tryExecute(() => Promise.reject(new Error('x')));
    expect(b.state).toBe('open');
    expect(b.snapshot()).toMatchObject({
      state: 'closed',
      trips: 0,
      consecutiveFailures: 0,
      calls: 0,
      failures: 0,
    });
    expect(asked).toBe(2);
  });

  it('onStateChange (the move to half-open) calling reset(): closed, counts of the closed breaker', async () => {
    const clock = createFakeClock();
    let b!: Breaker;
    b = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 100,
      window: slidingWindow({ size: 10, minimumCalls: 10 }),
      onStateChange: (to) => to === 'half-open' && b.reset(),
    });
    await b.tryExecute(() => Promise.reject(new Error('x')));
    clock.setNow(clock.now() + 100); // no timer fires: snapshot() makes the move
    const snap = b.snapshot();
    expect(snap).toMatchObject({ state: 'closed', trips: 0, calls: 0, failures: 0, openUntil: null });
  });
});

describe('createBreaker: consecutive failures next to a rate window', () => {
  // Decision 0129: both triggers run; minimumCalls holds back the rates only.
  const failing = async (b: Breaker, n: number): Promise<void> => {
    for (let i = 0; i < n; i++) await b.tryExecute(() => Promise.reject(new Error('down')));
  };

  it('with minimumCalls: 20, 5 failures in a row still open it (failureThreshold defaults to 5)', async () => {
    const b = createBreaker({
      clock: createFakeClock(),
      window: slidingWindow({ type: 'time', duration: 30_000, minimumCalls: 20 }),
    });
    await failing(b, 4);
    expect(b.state).toBe('closed');
    await failing(b, 1);
    expect(b.snapshot()).toMatchObject({ state: 'open', trips: 1, calls: 5, failures: 5 });
  });

  it('failureThreshold: Infinity leaves the window alone: nothing opens before minimumCalls', async () => {
    const b = createBreaker({
      clock: createFakeClock(),
      failureThreshold: Infinity,
      window: slidingWindow({ type: 'count', size: 100, minimumCalls: 20 }),
    });
    await failing(b, 19);
    expect(b.state).toBe('closed');
    await failing(b, 1);
    expect(b.state).toBe('open');
  });
});
