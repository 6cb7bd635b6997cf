/**
 * Review round 35: drain() and settledValue() (c2c429b), public since this batch, read as a user would use them.
 * With vi.useFakeTimers() (which fakes setImmediate by default) both waited on a faked setImmediate and never
 * settled: the test hung until its timeout, though the README sells them as the way to stop racing real timers. The
 * fake clock's advance() and trackUnhandledRejections().settled() let promise callbacks run the same way and hung
 * too. They now take their turns on the platform's timers as they were when @integ/testing loaded. Also: the
 * README's claims on what one turn runs (nextTick, queueMicrotask, async functions, thenables), and
 * settledValue()'s type for a thenable of a promise.
 */
import { sleep } from '@integ/core';
import { createFakeClock, drain, settledValue, trackUnhandledRejections } from '@integ/testing';
import { afterEach, describe, expect, expectTypeOf, it, vi } from 'vitest';

// Taken before any test fakes the timers: a hang is told by the real turns it outlasted, not by a timeout.
const realSetImmediate = globalThis.setImmediate;

/** `'hangs'` if `promise` has not settled after 200 real setImmediate turns (a drain needs at most 10). */
function within<T>(promise: Promise<T>): Promise<T | 'hangs'> {
  return new Promise((resolve, reject) => {
    let turns = 0;
    const tick = (): void => {
      if (++turns > 200) resolve('hangs');
      else realSetImmediate(tick);
    };
    realSetImmediate(tick);
    promise.then(resolve, reject);
  });
}

describe('under vi.useFakeTimers()', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('drain() ends, though setImmediate is faked', async () => {
    vi.useFakeTimers();
    expect(await within(drain())).toBeUndefined();
    expect(await within(drain(1))).toBeUndefined();
  });

  it('settledValue() tells a timer the fake timers hold from one they fired', async () => {
    vi.useFakeTimers();
    const done = new Promise<string>((resolve) => setTimeout(() => resolve('fired'), 1000));
    expect(await within(settledValue(done))).toBe('pending');
    vi.advanceTimersByTime(1000);
    expect(await within(settledValue(done))).toBe('fired');
  });

  it("what waits on a faked setImmediate waits for vi's clock, not for drain()", async () => {
    vi.useFakeTimers();
    const done = new Promise<string>((resolve) => setImmediate(() => resolve('ran')));
    expect(await within(settledValue(done))).toBe('pending');
    vi.runAllTimers();
    expect(await within(settledValue(done))).toBe('ran');
  });

  it("the fake clock's advance() and runAll() end, and the timer fires", async () => {
    vi.useFakeTimers();
    const clock = createFakeClock();
    const done = sleep(1000, { clock });
    expect(await within(clock.advance(1000))).toBeUndefined();
    expect(await within(settledValue(done))).toBeUndefined();
    const later = sleep(5, { clock });
    expect(await within(clock.runAll())).toBeUndefined();
    expect(await within(settledValue(later))).toBeUndefined();
  });

  it('trackUnhandledRejections().settled() ends and names the rejection', async () => {
    vi.useFakeTimers();
    const unhandled = trackUnhandledRejections();
    try {
      const reason = new Error('nobody caught me');
      void Promise.reject(reason);
      expect(await within(unhandled.settled())).toEqual([reason]);
    } finally {
      unhandled.stop();
    }
  });
});

// 'loaded after the timers were faked': vitest's fakes no longer make them reject (the real setImmediate is taken
// from @sinonjs/fake-timers' clock); review-35-runners.test.ts pins that, and the rejection under node:test's mock.timers.

describe('what one turn runs (README)', () => {
  it('any chain of promise callbacks, async functions, queueMicrotask and process.nextTick, however long', async () => {
    const chain = (n: number): Promise<number> =>
      new Promise((resolve) => {
        let i = 0;
        const step = (): void => {
          if (++i === n) resolve(i);
          else if (i % 4 === 0) process.nextTick(step);
          else if (i % 4 === 1) queueMicrotask(step);
          else if (i % 4 === 2) void Promise.resolve().then(step);
          else
            void (async () => {
              await null;
              step();
            })();
        };
        step();
      });
    expect(await settledValue(chain(20_000), 1)).toBe(20_000);
  });

  it('a thenable that calls back through a promise callback; one that never calls back is pending', async () => {
    const later = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose
      then: (resolve: (v: number) => void) => {
        void Promise.resolve(3).then(resolve);
      },
    } as unknown as PromiseLike<number>;
    expect(await settledValue(later, 1)).toBe(3);
    // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose
    const never = { then: () => {} } as unknown as PromiseLike<number>;
    expect(await settledValue(never)).toBe('pending');
    const throwing = {
      // biome-ignore lint/suspicious/noThenProperty: a thenable on purpose
      then: () => {
        throw new Error('then threw');
      },
    } as unknown as PromiseLike<number>;
    await expect(settledValue(throwing)).rejects.toThrow('then threw');
  });
});

describe('types', () => {
  it('settledValue() of a thenable of a promise is typed as what it resolves to', async () => {
    // A promise typed as one that resolves to a promise (a thenable library's type can say so): its value is adopted.
    const nested = Promise.resolve(5) as unknown as PromiseLike<Promise<number>>;
    const settled = settledValue(nested);
    // What a .then() callback is given: the adopted value, not a promise.
    expectTypeOf(settled).toEqualTypeOf<Promise<number | 'pending'>>();
    expect(await settled.then((value) => value)).toBe(5);
    expectTypeOf(settledValue(Promise.resolve('x'))).toEqualTypeOf<Promise<string>>();
  });
});
