import { InvalidArgumentError, sleep } from '@integ/core';
import { createFakeClock, drain, settledValue, trackUnhandledRejections } from '@integ/testing';
import { describe, expect, it } from 'vitest';

describe('drain() and settledValue()', () => {
  it('tells a fake-clock sleep pending before its time and settled at it, with no real timer', async () => {
    const clock = createFakeClock();
    const done = sleep(1000, { clock });
    expect(await settledValue(done)).toBe('pending');
    clock.advance(999);
    expect(await settledValue(done)).toBe('pending');
    clock.advance(1);
    expect(await settledValue(done)).toBeUndefined();
  });

  it('sees a value that comes through a long chain of promise callbacks', async () => {
    let p: Promise<number> = Promise.resolve(0);
    for (let i = 0; i < 500; i++) p = p.then((n) => n + 1);
    expect(await settledValue(p)).toBe(500);
  });

  it('says pending for a chain longer than the turns allow only if it really is: one turn runs every microtask', async () => {
    let p: Promise<number> = Promise.resolve(0);
    for (let i = 0; i < 10_000; i++) p = p.then((n) => n + 1);
    expect(await settledValue(p, 1)).toBe(10_000);
  });

  it('says pending for what waits on a macrotask past the turns, and settles it given more turns', async () => {
    const later = (n: number): Promise<string> =>
      n === 0
        ? Promise.resolve('done')
        : new Promise((resolve) => setImmediate(resolve)).then(() => later(n - 1));
    expect(await settledValue(later(20), 5)).toBe('pending');
    expect(await settledValue(later(3), 5)).toBe('done');
  });

  it('rethrows a rejection, and handles a late one so it is not reported as unhandled', async () => {
    await expect(settledValue(Promise.reject(new Error('no')))).rejects.toThrow('no');
    const unhandled = trackUnhandledRejections();
    try {
      let reject!: (error: Error) => void;
      const late = new Promise<never>((_, r) => {
        reject = r;
      });
      expect(await settledValue(late)).toBe('pending');
      reject(new Error('late'));
      expect(await unhandled.settled()).toEqual([]);
    } finally {
      unhandled.stop();
    }
  });

  it('takes a thenable', async () => {
    // biome-ignore lint/suspicious/noThenProperty: settledValue takes any thenable, not only a Promise
    const thenable = { then: (resolve: (v: number) => void) => resolve(7) };
    expect(await settledValue(thenable as unknown as PromiseLike<number>)).toBe(7);
  });

  it('refuses what is not a promise and turns out of range with InvalidArgumentError', async () => {
    for (const bad of [undefined, null, 5, 'x', {}]) {
      await expect(settledValue(bad as unknown as Promise<unknown>)).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
    for (const turns of [0, -1, 1.5, Number.NaN, Infinity, 10_001, '3']) {
      await expect(drain(turns as number)).rejects.toBeInstanceOf(InvalidArgumentError);
      await expect(settledValue(Promise.resolve(1), turns as number)).rejects.toBeInstanceOf(
        InvalidArgumentError,
      );
    }
  });
});
