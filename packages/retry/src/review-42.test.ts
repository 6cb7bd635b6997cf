/**
 * Review round 42 (helper RETRYMEM): what a call parked in a backoff wait holds (decision 0231). It was measured
 * at 2,262 B per call on Node 20 (README "Memory"), twice cockatiel's: closures every call made whether or not a
 * deadline or a signal needed them (the deadline's callback, the deadline check, the wait's abort listener, its cut
 * and its timer callback beside settle), a 17-slot error list for one error, block scopes that closures captured
 * (the attempt's context, the clock reading of the hint), each a context object of its own, and, with a deadline,
 * a timeout or a signal, the failed attempt's AbortController and signal. The heap is read after full GCs with
 * 5,000 calls parked on a fake clock: a size, not a time (before the change ~2,280 B per call here on Node 20 and
 * 24, after it ~1,720-1,810 B); the failed attempt's signal is watched through a WeakRef.
 */
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { type Clock, TimeoutError, type TimerHandle } from '@integ/core';
import { type AttemptContext, constant, RetryError, type RetryOptions, retry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;
const turn = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Heap in use after full collections a macrotask turn apart (weak callbacks and finalizers run between them). */
async function heap(): Promise<number> {
  for (let i = 0; i < 4; i++) {
    gc();
    await turn();
  }
  return process.memoryUsage().heapUsed;
}

const failure = new Error('transient');
const fail = async (): Promise<never> => {
  throw failure;
};

/** Bytes per call held by `units` calls of `fail` parked in a 60 s wait, then lets them all give up. */
async function parked(extra: RetryOptions<never>, units = 5_000): Promise<number> {
  const clock = createFakeClock();
  const options = { attempts: 2, backoff: constant(60_000), clock, ...extra };
  const park = (): Promise<unknown> => retry(fail, options).catch((error: unknown) => error);
  // Every path once (the failure, the wait, the last failure, the rejection) before the baseline.
  const warm = Array.from({ length: 50 }, park);
  await turn();
  await clock.advance(60_000);
  for (const error of await Promise.all(warm)) expect(error).toBeInstanceOf(RetryError);

  const kept: Promise<unknown>[] = new Array(units);
  const timers = clock.pendingTimers;
  const before = await heap();
  for (let i = 0; i < units; i++) kept[i] = park();
  await turn();
  // Parked: each call's wait is on the clock (and its deadline's timer, when it has one).
  expect(clock.pendingTimers - timers).toBe(extra.deadline ? 2 * units : units);
  const perCall = ((await heap()) - before) / units;

  await clock.advance(60_000);
  for (const error of await Promise.all(kept)) expect(error).toBeInstanceOf(RetryError);
  return perCall;
}

describe('retry: a call parked in a backoff wait', () => {
  it('holds under 2,000 B with no signal and no deadline', async () => {
    expect(await parked({})).toBeLessThan(2_000);
  });

  // The failed attempt's signal (and its AbortController, which holds it) is nobody's once the attempt settled:
  // kept in the frame through the wait, it cost ~850 B per parked call on Node 20. (Not with a `timeout` here: the
  // fake clock keeps a cleared timer, and with it the attempt's, until its heap is compacted.)
  it.each([
    ['a deadline', { deadline: 600_000 }],
    ['a signal', { signal: new AbortController().signal }],
  ] as const)("lets the failed attempt's signal go before the wait, with %s", async (_, extra) => {
    const clock = createFakeClock();
    let first: WeakRef<AbortSignal> | undefined;
    const call = retry(
      async ({ attempt, signal }) => {
        if (attempt === 1) first = new WeakRef(signal);
        throw failure;
      },
      { attempts: 2, backoff: constant(60_000), clock, ...extra },
    ).catch((error: unknown) => error);
    await turn();
    expect(clock.pendingTimers).toBeGreaterThan(0);
    await heap();
    expect(first?.deref()).toBeUndefined();
    await clock.advance(60_000);
    expect(await call).toBeInstanceOf(RetryError);
  });
});

// settle() became the timer's callback too (decision 0231), which calls it with no reason: a default parameter for
// that reason also replaced an `undefined` that fn resolved with or failed with by the attempt's TimeoutError.
describe('retry: an attempt raced against a timeout, a deadline or a signal', () => {
  const guards = [
    ['a timeout', { timeout: 30_000 }],
    ['a deadline', { deadline: 600_000 }],
    ['a signal', { signal: new AbortController().signal }],
  ] as const;

  it.each(guards)('resolves with the undefined fn resolved with, with %s', async (_, extra) => {
    const clock = createFakeClock();
    await expect(retry(async () => undefined, { clock, ...extra })).resolves.toBeUndefined();
  });

  it.each(guards)('keeps an undefined failure as it is, with %s', async (_, extra) => {
    const clock = createFakeClock();
    const thrown = retry(
      () => {
        throw undefined;
      },
      { attempts: 1, clock, ...extra },
    );
    const rejected = retry(() => Promise.reject(undefined), { attempts: 1, clock, ...extra });
    for (const call of [thrown, rejected]) {
      const error = await call.catch((reason: unknown) => reason);
      expect(error).toBeInstanceOf(RetryError);
      expect((error as RetryError).errors).toEqual([undefined]);
    }
  });
});

// Helper RETRYMUT: settle() became the timer's callback (decision 0231), and took what a clock hands its callback
// for a reason and for `ok`. The Clock type lets a clock call back with arguments (a callback of fewer parameters is
// assignable), as a scheduler that passes the time or the timer's id does; the timer callback before fa620d9 ignored
// them. Called with the time, an attempt that timed out failed with that number instead of a TimeoutError; with the
// time and an id, it resolved retry with the time.
describe('retry: a clock that calls its timer callbacks with arguments', () => {
  const talkative = (...extra: unknown[]): Clock & { advance(ms: number): Promise<void> } => {
    const fake = createFakeClock();
    return {
      now: () => fake.now(),
      setTimeout: (callback: (...args: unknown[]) => void, ms: number): TimerHandle =>
        fake.setTimeout(() => callback(fake.now(), ...extra), ms),
      clearTimeout: (handle: TimerHandle) => fake.clearTimeout(handle),
      advance: (ms: number) => fake.advance(ms),
    };
  };
  const hang = ({ signal }: AttemptContext): Promise<never> =>
    new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

  it.each([
    ['the time', []],
    ['the time and an id', [7]],
    ['the time and false', [false]],
  ] as const)('still times an attempt out with a TimeoutError when called with %s', async (_, extra) => {
    const clock = talkative(...extra);
    const call = retry(hang, { attempts: 1, timeout: 1_000, clock }).catch((error: unknown) => error);
    await clock.advance(1_000);
    const error = await call;
    expect(error).toBeInstanceOf(RetryError);
    expect((error as RetryError).errors).toHaveLength(1);
    expect((error as RetryError).errors[0]).toBeInstanceOf(TimeoutError);
  });

  // The deadline's callback is a closure of its own (fa620d9 made it only for a deadline): it ignores them too.
  it.each([
    ['the time', []],
    ['the time and false', [false]],
  ] as const)('still cuts an attempt at the deadline when called with %s', async (_, extra) => {
    const clock = talkative(...extra);
    const call = retry(hang, { deadline: 1_000, clock }).catch((error: unknown) => error);
    await clock.advance(1_000);
    const error = await call;
    expect(error).toMatchObject({ reason: 'deadline', attempts: 1 });
    expect((error as RetryError).errors[0]).toBeInstanceOf(TimeoutError);
    expect((error as RetryError).errors[0]).toMatchObject({
      message: expect.stringMatching(/^Retry deadline/),
    });
  });

  it.each([
    ['the time', []],
    ['the time and an id', [7]],
    ['the time and false', [false]],
  ] as const)('still ends a backoff wait and retries when called with %s', async (_, extra) => {
    const clock = talkative(...extra);
    const signal = new AbortController().signal;
    const call = retry(
      ({ attempt }) => {
        if (attempt === 1) throw failure;
        return 'second';
      },
      { attempts: 2, backoff: constant(1_000), clock, signal },
    ).catch((error: unknown) => error);
    await clock.advance(1_000);
    expect(await call).toBe('second');
  });
});

// Helper RETRYMUT: Stryker's survivors in retry.ts's race() and attempt loop (lines 284-532 after the fix above;
// 227 mutants: 217 killed, 5 timed out, 5 survived, 4 killed below) and in safely() and attemptAll's head (172-179,
// 249-276: 22 mutants, 21 killed). Left as equivalent: safely()'s `catch { return undefined; }` emptied (an arrow
// function's block that returns nothing returns undefined too), and the after-wait check's `clock.now() + 0` made
// `- 0` (below).
describe('retry: mutants of race() and the attempt loop (review 42)', () => {
  // A deadline whose timer the clock fired at once cuts the first attempt with the deadline's TimeoutError, named
  // so, not the attempt's (survivor: the message emptied).
  it('cuts the first attempt with "Retry deadline" when the clock fired the deadline at once', async () => {
    const atOnce: Clock = {
      now: () => 0,
      setTimeout: (callback) => {
        callback();
        return 0;
      },
      clearTimeout: () => {},
    };
    let reason: unknown;
    const error = await retry(
      ({ signal }) => {
        reason = signal.reason;
        return new Promise<never>(() => {});
      },
      { clock: atOnce, deadline: 1_000 },
    ).catch((thrown: unknown) => thrown);
    expect(error).toBeInstanceOf(RetryError);
    const [cut] = (error as RetryError).errors;
    expect(cut).toBeInstanceOf(TimeoutError);
    expect((cut as TimeoutError).message).toMatch(/^Retry deadline timed out after 1000 ms/);
    expect(reason).toBe(cut);
  });

  // `later` is set before the listener goes on: a stub signal whose addEventListener calls the listener at once (as
  // if it had just aborted) cuts the attempt with its reason then, as the cut before fa620d9 did.
  it('cuts the attempt when a stub signal calls the abort listener from inside addEventListener', async () => {
    const reason = new Error('stub abort');
    const stub = {
      aborted: false,
      reason,
      addEventListener: (_: string, listener: () => void) => listener(),
      removeEventListener: () => {},
    } as unknown as AbortSignal;
    const seen: unknown[] = [];
    const error = await retry(
      ({ signal }) => {
        seen.push(signal.aborted, signal.reason);
        return new Promise<never>(() => {});
      },
      { attempts: 1, signal: stub },
    ).catch((thrown: unknown) => thrown);
    expect(seen).toEqual([true, reason]);
    expect(error).toBeInstanceOf(RetryError);
    expect((error as RetryError).errors).toEqual([reason]);
  });

  // Once the deadline's timer has fired, the check before a wait gives up also on a clock that reads NaN
  // (NaN + delay >= -Infinity is false): no onRetry, no wait (survivors: `expiresAt === -Infinity` made false, or
  // compared with +Infinity, which `expiresAt < Infinity` makes false too).
  it('gives up before the wait once the deadline fired, on a clock that reads NaN', async () => {
    const fake = createFakeClock();
    const clock: Clock = {
      now: () => Number.NaN,
      setTimeout: (callback, ms) => fake.setTimeout(callback, ms),
      clearTimeout: (handle) => fake.clearTimeout(handle),
    };
    const retries: number[] = [];
    const call = retry(
      ({ signal }) => new Promise<never>((_, reject) => signal.addEventListener('abort', reject)),
      {
        deadline: 1_000,
        backoff: constant(100),
        clock,
        onRetry: ({ attempt }) => retries.push(attempt),
      },
    ).catch((error: unknown) => error);
    await fake.advance(1_000);
    const error = await call;
    expect(error).toMatchObject({ reason: 'deadline', attempts: 1 });
    expect(retries).toEqual([]);
    expect(fake.pendingTimers).toBe(0);
  });

  // The check after the wait gives up when the wall clock reads the deadline exactly: `>=` (survivor: `>`, which
  // started an attempt at the deadline). The clock stepped forward during the wait; its timers did not.
  // (`clock.now() + 0` made `clock.now() - 0` is equivalent: the two differ only for -0, and compare alike.)
  it('gives up after the wait when the wall clock reads the deadline exactly', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const call = retry(
      () => {
        calls++;
        throw failure;
      },
      {
        deadline: 1_000,
        backoff: constant(100),
        clock,
        // Before the wait's 100 ms: the wall clock then reads 1,000, the deadline, with its timer 900 ms away.
        onRetry: () => clock.setWallClock(900),
      },
    ).catch((error: unknown) => error);
    await clock.advance(100);
    const error = await call;
    expect(error).toMatchObject({ reason: 'deadline', attempts: 1 });
    expect(calls).toBe(1);
  });
});
