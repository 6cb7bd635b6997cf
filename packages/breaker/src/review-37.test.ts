/**
 * Review round 37: mutation testing (StrykerJS) left mutants of the breaker that every test passed. These tests pin
 * the behaviour those mutants broke and nothing pinned: what an InvalidArgumentError names (the option and what it
 * expects), readings of a clock that are no number, a stale probe's abort, a slow probe's value that carries a
 * `retryAfterMs`, the one `{ signal }` closed calls share, a clock not read when nothing is timed, and
 * `Error.stackTraceLimit` left as it was.
 */
import { getEventListeners } from 'node:events';
import type { Clock } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import {
  type BreakerContext,
  createBreaker,
  createBreakerRegistry,
  isCircuitOpenError,
  slidingWindow,
} from '../src/index';

/** What `run` throws (synchronously or as a rejection). */
async function thrown(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error('did not throw');
}

/** The error names the argument to fix and says what it expects. */
async function expectInvalid(run: () => unknown, argument: string, expected: string): Promise<void> {
  const error = (await thrown(run)) as { code?: unknown; argument?: unknown; message?: unknown };
  expect(error.code).toBe('ERR_INVALID_ARGUMENT');
  expect(error.argument).toBe(argument);
  expect(error.message).toContain(`Invalid ${argument}: expected ${expected}, received`);
}

const bad = (value: unknown): never => value as never;
const boom = (): never => {
  throw new Error('down');
};

describe('an InvalidArgumentError names the option and what it expects', () => {
  it('createBreaker', async () => {
    await expectInvalid(() => createBreaker(bad('{"failureThreshold":3}')), 'options', 'an options object');
    await expectInvalid(() => createBreaker({ clock: bad({ now: () => 0 }) }), 'clock', 'a Clock');
    await expectInvalid(
      () => createBreaker({ halfOpenProbes: 0 }),
      'halfOpenProbes',
      'a number in [1, 1000000]',
    );
    await expectInvalid(
      () => createBreaker({ probeTimeout: 0 }),
      'probeTimeout',
      'a number in [1, 2147483647]',
    );
    await expectInvalid(() => createBreaker({ isFailure: bad(true) }), 'isFailure', 'a function');
    await expectInvalid(() => createBreaker({ window: bad(slidingWindow) }), 'window', 'slidingWindow()');
    await expectInvalid(
      () => createBreaker({ initialState: bad({ state: 'shut' }) }),
      'initialState',
      'a snapshot() of a breaker',
    );
  });

  it('execute and tryExecute, before fn runs', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    await expectInvalid(() => breaker.execute(bad('fn')), 'fn', 'a function');
    const result = await breaker.tryExecute(bad(null));
    expect(result.ok).toBe(false);
    await expectInvalid(() => Promise.reject(!result.ok && result.error), 'fn', 'a function');
    let ran = 0;
    const fn = (): number => ++ran;
    await expectInvalid(
      () => breaker.execute(fn, { signal: bad({ aborted: false }) }),
      'signal',
      'an AbortSignal',
    );
    // Either method missing is no AbortSignal: one with only removeEventListener failed on addEventListener's
    // TypeError instead.
    const noAdd = bad({ aborted: false, removeEventListener: () => {} });
    await expectInvalid(() => breaker.execute(fn, { signal: noAdd }), 'signal', 'an AbortSignal');
    const noRemove = bad({ aborted: false, addEventListener: () => {} });
    await expectInvalid(() => breaker.execute(fn, { signal: noRemove }), 'signal', 'an AbortSignal');
    expect(ran).toBe(0);
  });

  it('slidingWindow', async () => {
    await expectInvalid(() => slidingWindow({ type: bad('rolling') }), 'type', "'count' or 'time'");
    await expectInvalid(() => slidingWindow({ size: 1.5 }), 'size', 'a whole number in [1, 1000000]');
    await expectInvalid(
      () => slidingWindow({ failureRateThreshold: 2 }),
      'failureRateThreshold',
      'a number in [1e-9, 1]',
    );
  });

  it('createBreakerRegistry and its keys', async () => {
    await expectInvalid(() => createBreakerRegistry({ maxSize: 0 }), 'maxSize', 'an integer >= 1');
    await expectInvalid(() => createBreakerRegistry({ idleFor: -1 }), 'idleFor', 'a number of ms >= 0');
    await expectInvalid(() => createBreakerRegistry({ onEvict: bad('log') }), 'onEvict', 'a function');
    for (const options of [5, 'a', true])
      await expectInvalid(
        () => createBreakerRegistry({ options: bad(options) }),
        'options',
        'BreakerOptions or (key) => BreakerOptions',
      );
    const registry = createBreakerRegistry({ clock: createFakeClock() });
    await expectInvalid(() => registry.get(bad(1)), 'key', 'a string');
  });
});

describe('a half-open probe that times out', () => {
  it('is aborted with a TimeoutError whose message gives probeTimeout', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, probeTimeout: 250 });
    await expect(breaker.execute(boom)).rejects.toThrow('down');
    await clock.advance(1_000);
    let signal!: AbortSignal;
    const probe = breaker.execute((context) => {
      signal = context.signal;
      return new Promise(() => {});
    });
    await clock.advance(250);
    expect(signal.aborted).toBe(true);
    expect(signal.reason).toMatchObject({ name: 'TimeoutError', message: expect.stringContaining('250 ms') });
    expect(breaker.state).toBe('open');
    void probe;
  });
});

describe('a clock reading that is no finite number is no time since the last reading', () => {
  /** A clock whose now() reads `time.now`; timers from a fake clock. */
  function settable(now: number) {
    const timers = createFakeClock();
    const time = { now };
    const clock: Clock = {
      now: () => time.now,
      setTimeout: timers.setTimeout,
      clearTimeout: timers.clearTimeout,
    };
    return { clock, time };
  }

  it('NaN from the first reading on reads as 0: an open period still lasts', async () => {
    const { clock } = settable(Number.NaN);
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    await expect(breaker.execute(boom)).rejects.toThrow('down');
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot().openUntil).toBe(1_000);
    await expect(breaker.execute(() => 1)).rejects.toSatisfy(isCircuitOpenError);
  });

  it('after a step back, NaN reads as the last reading plus the step: no negative duration', async () => {
    const { clock, time } = settable(1_000);
    const durations: number[] = [];
    const breaker = createBreaker({ clock, onSuccess: ({ durationMs }) => durations.push(durationMs) });
    await breaker.execute(() => 1);
    time.now = 500; // a step back of 500
    await breaker.execute(() => 2);
    time.now = 600;
    await breaker.execute(() => {
      time.now = Number.NaN;
      return 3;
    });
    expect(durations).toEqual([0, 0, 0]);
  });
});

describe('probe slots', () => {
  it('a probe of an earlier half-open period that aborts frees no slot of the current one', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, probeTimeout: 100_000 });
    await expect(breaker.execute(boom)).rejects.toThrow('down');
    await clock.advance(1_000);
    const caller = new AbortController();
    const stale = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      { signal: caller.signal },
    );
    breaker.reset();
    await expect(breaker.execute(boom)).rejects.toThrow('down');
    await clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
    const probe = breaker.execute(() => new Promise(() => {}));
    caller.abort();
    await expect(stale).rejects.toMatchObject({ name: 'AbortError' });
    let ran = 0;
    await expect(breaker.execute(() => ++ran)).rejects.toSatisfy(isCircuitOpenError);
    expect(ran).toBe(0);
    void probe;
  });
});

describe('retryAfterMs is read from failures only', () => {
  it('a slow probe whose value carries retryAfterMs reopens for openFor', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, slowCallDuration: 10 });
    await expect(breaker.execute(boom)).rejects.toThrow('down');
    await clock.advance(1_000);
    const value = { retryAfterMs: 5 };
    await expect(
      breaker.execute(() => {
        clock.advanceSync(20);
        return value;
      }),
    ).resolves.toBe(value);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 1_020 + 1_000 });
  });

  it('a slow success that trips a window reopens for openFor', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      openFor: 1_000,
      slowCallDuration: 10,
      window: slidingWindow({ size: 2, minimumCalls: 1, slowCallRateThreshold: 1 }),
    });
    await breaker.execute(() => {
      clock.advanceSync(20);
      return { retryAfterMs: 5 };
    });
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 1_020 });
  });
});

describe('closed calls share one signal and allocate no controller of their own', () => {
  it('calls without a caller signal or timing get the same { signal }', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    const seen: BreakerContext[] = [];
    await breaker.execute((context) => seen.push(context));
    await breaker.execute((context) => seen.push(context));
    expect(seen[0]).toBe(seen[1]);
  });

  it('timed calls get the same signal, and leave no listener on it', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), onSuccess: () => {}, slowCallDuration: 5 });
    const signals = new Set<AbortSignal>();
    for (let i = 0; i < 50; i++) await breaker.execute(({ signal }) => signals.add(signal));
    expect(signals.size).toBe(1);
    const [signal] = signals;
    expect(getEventListeners(signal!, 'abort')).toHaveLength(0);
  });
});

describe('the clock is read only when a duration is needed', () => {
  it('a closed call with a caller signal and nothing timed reads no time', async () => {
    const fake = createFakeClock();
    let reads = 0;
    const clock: Clock = {
      now: () => {
        reads++;
        return fake.now();
      },
      setTimeout: fake.setTimeout,
      clearTimeout: fake.clearTimeout,
    };
    const breaker = createBreaker({ clock });
    await expect(breaker.execute(() => 1, { signal: new AbortController().signal })).resolves.toBe(1);
    await expect(breaker.execute(boom, { signal: new AbortController().signal })).rejects.toThrow('down');
    expect(reads).toBe(0);
  });
});

describe('Error.stackTraceLimit', () => {
  it('is not created where the runtime has none', async () => {
    const E = Error as { stackTraceLimit?: number };
    const own = Object.getOwnPropertyDescriptor(Error, 'stackTraceLimit');
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    await expect(breaker.execute(boom)).rejects.toThrow('down');
    delete E.stackTraceLimit;
    try {
      const rejection = breaker.execute(() => 1);
      expect(Object.hasOwn(Error, 'stackTraceLimit')).toBe(false);
      await expect(rejection).rejects.toSatisfy(isCircuitOpenError);
    } finally {
      if (own) Object.defineProperty(Error, 'stackTraceLimit', own);
    }
  });
});

describe('a caller abort whose reason has no readable properties', () => {
  it('null or a revoked Proxy is no timeout: the call counts as nothing', async () => {
    const { proxy, revoke } = Proxy.revocable({}, {});
    revoke();
    for (const reason of [null, proxy]) {
      const failures: unknown[] = [];
      const breaker = createBreaker({
        clock: createFakeClock(),
        failureThreshold: 1,
        onFailure: ({ error }) => failures.push(error),
      });
      const caller = new AbortController();
      const call = breaker.execute(
        ({ signal }) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
        { signal: caller.signal },
      );
      caller.abort(reason);
      await expect(call).rejects.toBe(reason);
      expect(failures).toEqual([]);
      expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0, calls: 0 });
    }
  });
});
