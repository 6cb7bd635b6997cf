/**
 * Options a JavaScript caller can get wrong in ways the types would have caught: each must fail at
 * `createBreaker` (or `createBreakerRegistry`) with InvalidArgumentError, not later on every call.
 */
import { createBreaker, slidingWindow } from '@integ/breaker';
import { InvalidArgumentError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('createBreaker window option', () => {
  it.each([
    ['slidingWindow itself, not called', slidingWindow],
    ['a factory of something that is no window', () => ({ type: 'count', size: 10 })],
    ['a factory of nothing', () => undefined],
  ])('refuses %s with InvalidArgumentError naming window', (_, window) => {
    let error: unknown;
    try {
      createBreaker({ window: window as never });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'window' });
  });

  it('takes a window of its own making (record, counts, clear)', async () => {
    const seen: boolean[] = [];
    const breaker = createBreaker({
      clock: createFakeClock(),
      window: () => ({
        record: (failed) => seen.push(failed) > 2,
        counts: () => ({ calls: seen.length, failures: 0, slowCalls: 0 }),
        clear: () => {},
      }),
    });
    await expect(breaker.execute(() => 'ok')).resolves.toBe('ok');
    await breaker.execute(() => 'ok');
    await breaker.execute(() => 'ok');
    expect(breaker.state).toBe('open');
  });
});

describe('createBreaker: a transition made by fn itself', () => {
  // fn's synchronous part can change the breaker's state (reset(), isolate() and its release) and start
  // calls of the new state; fn's own outcome still belongs to the state it started in, and is ignored.
  it.each([
    ['reset()', (breaker: ReturnType<typeof createBreaker>) => breaker.reset()],
    ['isolate() and its release', (breaker: ReturnType<typeof createBreaker>) => breaker.isolate()()],
  ])('ignores the outcome of a closed call that ran %s and started another call', async (_, transition) => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    let inner: Promise<string> | undefined;
    const outer = breaker.execute(() => {
      transition(breaker);
      inner = breaker.execute(() => 'fresh');
      return Promise.reject(new Error('started before the transition'));
    });
    await expect(outer).rejects.toThrow('started before the transition');
    await expect(inner).resolves.toBe('fresh');
    expect(breaker.snapshot()).toMatchObject({
      state: 'closed',
      consecutiveFailures: 0,
      calls: 1,
      failures: 0,
    });
  });
});
