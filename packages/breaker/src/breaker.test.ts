import { getEventListeners } from 'node:events';
import { CircuitOpenError, createBreaker, isCircuitOpenError } from '@integ/breaker';
import { type Clock, isIntegError, TimeoutError } from '@integ/core';
import { createFakeClock, settledValue } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

const boom = (): Promise<never> => Promise.reject(new Error('boom'));
const okay = (): Promise<string> => Promise.resolve('ok');

/** Runs `n` failing calls and swallows their errors. */
async function failTimes(breaker: { execute: (fn: () => Promise<never>) => Promise<unknown> }, n: number) {
  for (let i = 0; i < n; i++) await breaker.execute(boom).catch(() => {});
}

function deferred<T>() {
  let resolve!: (value: T) => void;
  let reject!: (error: unknown) => void;
  const promise = new Promise<T>((res, rej) => {
    resolve = res;
    reject = rej;
  });
  return { promise, resolve, reject };
}

describe('createBreaker', () => {
  it('starts closed and passes values and errors through', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    expect(breaker.state).toBe('closed');
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    await expect(breaker.execute(() => 42)).resolves.toBe(42);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    await expect(
      breaker.execute(() => {
        throw new Error('sync');
      }),
    ).rejects.toThrow('sync');
  });

  it('opens after 5 consecutive failures by default', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    await failTimes(breaker, 4);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('a success resets the consecutive-failure count', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 3 });
    await failTimes(breaker, 2);
    await breaker.execute(okay);
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot()).toMatchObject({ consecutiveFailures: 2, calls: 5, failures: 4 });
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('rejects without calling fn while open, with ERR_CIRCUIT_OPEN and retryAfterMs', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1 });
    await failTimes(breaker, 1);
    const fn = vi.fn(okay);
    await clock.advance(15_000);
    const error = await breaker.execute(fn).catch((e: unknown) => e);
    expect(fn).not.toHaveBeenCalled();
    expect(error).toBeInstanceOf(CircuitOpenError);
    expect(error).toBeInstanceOf(Error);
    expect(isCircuitOpenError(error)).toBe(true);
    expect(isIntegError(error, 'ERR_CIRCUIT_OPEN')).toBe(true);
    expect((error as CircuitOpenError).retryAfterMs).toBe(45_000);
    // The value changes while the error is held, so the message states none.
    expect((error as CircuitOpenError).message).not.toMatch(/\d/);
  });

  it('stays open for 60 s by default, then admits a probe', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1 });
    await failTimes(breaker, 1);
    await clock.advance(59_999);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });

  it('moves to half-open on its timer, so onStateChange fires without a call', async () => {
    const clock = createFakeClock();
    const changes: string[] = [];
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 1_000,
      onStateChange: (to, from) => changes.push(`${from}->${to}`),
    });
    await failTimes(breaker, 1);
    await clock.advance(1_000);
    expect(changes).toEqual(['closed->open', 'open->half-open']);
    await breaker.execute(okay);
    expect(changes).toEqual(['closed->open', 'open->half-open', 'half-open->closed']);
  });

  it('a failed probe opens the circuit again for another open period', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 2, openFor: 1_000 });
    await failTimes(breaker, 2);
    await clock.advance(1_000);
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
    expect(breaker.snapshot()).toMatchObject({ openUntil: 2_000, trips: 2 });
  });

  it('grows the open period on repeated trips with an openFor function', async () => {
    const clock = createFakeClock();
    const openFor = vi.fn((trip: number) => 1_000 * 2 ** (trip - 1));
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor });
    const periods: number[] = [];
    for (let i = 0; i < 4; i++) {
      await breaker.execute(boom).catch(() => {});
      const { openUntil } = breaker.snapshot();
      periods.push((openUntil ?? 0) - clock.now());
      await clock.advance(periods[i]!);
      expect(breaker.state).toBe('half-open');
    }
    expect(periods).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect(openFor.mock.calls.map((c) => c[0])).toEqual([1, 2, 3, 4]);
    await breaker.execute(okay);
    await breaker.execute(boom).catch(() => {});
    expect(breaker.snapshot().openUntil! - clock.now()).toBe(1_000);
  });

  it('caps the open period at maxOpenFor', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: (t) => 10 ** (t + 3),
      maxOpenFor: 50_000,
    });
    await failTimes(breaker, 1);
    expect(breaker.snapshot().openUntil).toBe(10_000);
    await clock.advance(10_000);
    await failTimes(breaker, 1);
    expect(breaker.snapshot().openUntil! - clock.now()).toBe(50_000);
  });

  it('uses retryAfterMs on the failure that trips it as the open period', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1 });
    const error = Object.assign(new Error('503'), { retryAfterMs: 5_000 });
    await breaker.execute(() => Promise.reject(error)).catch(() => {});
    expect(breaker.snapshot().openUntil).toBe(5_000);
    const rejection = (await breaker.execute(okay).catch((e: unknown) => e)) as CircuitOpenError;
    expect(rejection.retryAfterMs).toBe(5_000);
    await clock.advance(5_000);
    expect(breaker.state).toBe('half-open');
  });

  it('bounds a server hint by maxOpenFor (10 min by default)', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1 });
    const error = Object.assign(new Error('503'), { retryAfterMs: 86_400_000 });
    await breaker.execute(() => Promise.reject(error)).catch(() => {});
    expect(breaker.snapshot().openUntil).toBe(600_000);
  });
});

describe('half-open', () => {
  async function halfOpen(options: Parameters<typeof createBreaker>[0] = {}) {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000, ...options });
    await failTimes(breaker, 1);
    await clock.advance(1_000);
    expect(breaker.state).toBe('half-open');
    return { clock, breaker };
  }

  it('admits exactly N probes among 1,000 concurrent callers and rejects the rest at once', async () => {
    for (const probes of [1, 3, 10]) {
      const { breaker } = await halfOpen({ halfOpenProbes: probes });
      const gate = deferred<string>();
      const fn = vi.fn(() => gate.promise);
      const results = Array.from({ length: 1_000 }, () => breaker.tryExecute(fn));
      expect(fn).toHaveBeenCalledTimes(probes);
      // The rejected ones settle before any probe does: nobody waits in a queue (checked once every promise
      // callback ran, with the probes' gate still shut).
      const rejected = await settledValue(Promise.all(results.slice(probes)));
      expect(rejected).not.toBe('pending');
      expect(
        (rejected as { ok: boolean; error?: unknown }[]).every((r) => !r.ok && isCircuitOpenError(r.error)),
      ).toBe(true);
      gate.resolve('fine');
      const settled = await Promise.all(results);
      expect(settled.filter((r) => r.ok)).toHaveLength(probes);
      expect(breaker.state).toBe('closed');
    }
  });

  it('tells rejected callers when the pending probe will have timed out', async () => {
    const { breaker, clock } = await halfOpen({ probeTimeout: 3_000 });
    const gate = deferred<string>();
    const probe = breaker.execute(() => gate.promise);
    await clock.advance(1_000);
    const error = (await breaker.execute(okay).catch((e: unknown) => e)) as CircuitOpenError;
    expect(error.retryAfterMs).toBe(2_000);
    gate.resolve('x');
    await probe;
  });

  it('closes when the success ratio is reached and opens as soon as it cannot be', async () => {
    const { breaker } = await halfOpen({ halfOpenProbes: 4, halfOpenSuccessRatio: 0.75 });
    const gates = [0, 1, 2, 3].map(() => deferred<string>());
    const calls = gates.map((g) => breaker.execute(() => g.promise).catch((e: unknown) => e));
    gates[0]!.reject(new Error('x'));
    await calls[0];
    expect(breaker.state).toBe('half-open');
    gates[1]!.reject(new Error('y'));
    await calls[1];
    // 2 of 4 failed: 3 successes are no longer possible.
    expect(breaker.state).toBe('open');
    gates[2]!.resolve('late');
    gates[3]!.resolve('late');
    await Promise.all(calls);
    expect(breaker.state).toBe('open');
  });

  it('closes once enough probes succeeded, ignoring the rest', async () => {
    const { breaker } = await halfOpen({ halfOpenProbes: 3, halfOpenSuccessRatio: 0.6 });
    const gates = [0, 1, 2].map(() => deferred<string>());
    const calls = gates.map((g) => breaker.execute(() => g.promise).catch((e: unknown) => e));
    gates[0]!.resolve('a');
    gates[1]!.resolve('b');
    await Promise.all(calls.slice(0, 2));
    expect(breaker.state).toBe('closed');
    gates[2]!.reject(new Error('late failure'));
    await calls[2];
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0 });
  });

  it('times a probe out so it never sticks half-open, aborting its signal', async () => {
    const { breaker, clock } = await halfOpen({ probeTimeout: 5_000 });
    let signal: AbortSignal | undefined;
    const probe = breaker.execute((ctx) => {
      signal = ctx.signal;
      return new Promise<string>(() => {});
    });
    await clock.advance(4_999);
    expect(breaker.state).toBe('half-open');
    expect(signal?.aborted).toBe(false);
    await clock.advance(1);
    expect(breaker.state).toBe('open');
    expect(signal?.aborted).toBe(true);
    expect(signal?.reason).toMatchObject({ name: 'TimeoutError' });
    void probe;
  });

  it('times the probe out after 10 s by default', async () => {
    const { breaker, clock } = await halfOpen();
    void breaker.execute(() => new Promise(() => {}));
    await clock.advance(10_000);
    expect(breaker.state).toBe('open');
  });

  it('counts a slow probe as a failed one', async () => {
    const { breaker, clock } = await halfOpen({ slowCallDuration: 100 });
    const probe = breaker.execute(async () => {
      await new Promise<void>((r) => clock.setTimeout(r, 150));
      return 'slow';
    });
    await clock.advance(150);
    await expect(probe).resolves.toBe('slow');
    expect(breaker.state).toBe('open');
  });

  it('an aborted probe frees its slot and does not decide anything', async () => {
    const { breaker } = await halfOpen();
    const controller = new AbortController();
    const probe = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) =>
          signal.addEventListener('abort', () => reject(signal.reason), { once: true }),
        ),
      { signal: controller.signal },
    );
    await expect(breaker.execute(okay)).rejects.toBeInstanceOf(CircuitOpenError);
    controller.abort(new DOMException('user left', 'AbortError'));
    await expect(probe).rejects.toThrow('user left');
    expect(breaker.state).toBe('half-open');
    await expect(breaker.execute(okay)).resolves.toBe('ok');
    expect(breaker.state).toBe('closed');
  });
});

describe('stale results', () => {
  it('ignores a failure from a call that started before the circuit opened', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    const slow = deferred<string>();
    const old = breaker.execute(() => slow.promise).catch(() => {});
    await failTimes(breaker, 1);
    await clock.advance(1_000);
    await breaker.execute(okay);
    expect(breaker.state).toBe('closed');
    slow.reject(new Error('from the old world'));
    await old;
    expect(breaker.state).toBe('closed');
    expect(breaker.snapshot().consecutiveFailures).toBe(0);
  });

  it('ignores a success from before a trip when half-open', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 1_000 });
    const slow = deferred<string>();
    const old = breaker.execute(() => slow.promise);
    await failTimes(breaker, 1);
    await clock.advance(1_000);
    slow.resolve('stale');
    await expect(old).resolves.toBe('stale');
    expect(breaker.state).toBe('half-open');
  });

  it('ignores results of calls in flight across reset()', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    const slow = deferred<string>();
    const old = breaker.execute(() => slow.promise).catch(() => {});
    breaker.reset();
    slow.reject(new Error('x'));
    await old;
    expect(breaker.state).toBe('closed');
  });
});

describe('what counts as a failure', () => {
  it('never counts an abort as a failure', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    await breaker.execute(() => Promise.reject(new DOMException('gone', 'AbortError'))).catch(() => {});
    const controller = new AbortController();
    const call = breaker.execute(
      ({ signal }) =>
        new Promise((_, reject) => signal.addEventListener('abort', () => reject(new Error('wrapped')))),
      {
        signal: controller.signal,
      },
    );
    controller.abort();
    await expect(call).rejects.toThrow('wrapped');
    expect(breaker.state).toBe('closed');
  });

  it('rejects at once without calling fn when the caller signal is already aborted', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    const fn = vi.fn(okay);
    const reason = new Error('cancelled');
    await expect(breaker.execute(fn, { signal: AbortSignal.abort(reason) })).rejects.toBe(reason);
    expect(fn).not.toHaveBeenCalled();
    expect(breaker.state).toBe('closed');
  });

  it('isFailure decides which errors count; the others count as successes', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: 2,
      isFailure: (error) => !(error instanceof RangeError),
    });
    await failTimes(breaker, 1);
    await breaker.execute(() => Promise.reject(new RangeError('404'))).catch(() => {});
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('closed');
    await failTimes(breaker, 1);
    expect(breaker.state).toBe('open');
  });

  it('isResultFailure counts a returned value as a failure and still returns it', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: 2,
      isResultFailure: (value) => (value as { status: number }).status >= 500,
    });
    await expect(breaker.execute(() => ({ status: 503 }))).resolves.toEqual({ status: 503 });
    await breaker.execute(() => ({ status: 200 }));
    await breaker.execute(() => ({ status: 500 }));
    expect(breaker.state).toBe('closed');
    await breaker.execute(() => ({ status: 502 }));
    expect(breaker.state).toBe('open');
  });
});

/**
 * One attempt the way `@integ/retry`'s `timeout` runs it (written out: breaker must not depend on retry):
 * after `ms` the attempt's signal aborts with `reason()` and the attempt rejects with it at once.
 */
function attempt<T>(
  clock: Clock,
  ms: number,
  run: (signal: AbortSignal) => Promise<T>,
  reason: () => unknown = () => new TimeoutError(ms, 'Attempt 1'),
): Promise<T> {
  const controller = new AbortController();
  const settled = new Promise<T>((resolve, reject) => {
    const timer = clock.setTimeout(() => {
      const error = reason();
      controller.abort(error);
      reject(error);
    }, ms);
    run(controller.signal)
      .then(resolve, reject)
      .finally(() => clock.clearTimeout(timer));
  });
  // It rejects inside clock.advance(), before the test awaits it: not an unhandled rejection.
  settled.catch(() => {});
  return settled;
}

// A dependency that never answers: one that hands its signal on (as fetch does), and one that ignores it.
const blackHole = ({ signal }: { signal: AbortSignal }): Promise<never> =>
  new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));

describe("a caller's timeout", () => {
  const timeouts: [string, () => unknown, (context: { signal: AbortSignal }) => Promise<never>][] = [
    [
      "@integ/core's TimeoutError (retry's per-attempt timeout), fn honours the signal",
      () => new TimeoutError(2_000, 'Attempt 1'),
      blackHole,
    ],
    [
      'a DOMException named TimeoutError (AbortSignal.timeout), fn ignores the signal',
      () => new DOMException('signal timed out', 'TimeoutError'),
      () => new Promise<never>(() => {}),
    ],
    [
      'an error with code ERR_TIMEOUT only (a minified class name)',
      () => Object.assign(new Error('late'), { code: 'ERR_TIMEOUT' }),
      blackHole,
    ],
  ];

  it.each(timeouts)('opens a default breaker after 5 calls cut by it: %s', async (_, reason, fn) => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock });
    for (let i = 0; i < 5; i++) {
      expect(breaker.state).toBe('closed');
      const error = reason();
      const call = attempt(
        clock,
        2_000,
        (signal) => breaker.execute(fn, { signal }),
        () => error,
      );
      await clock.advance(2_000);
      await expect(call).rejects.toBe(error);
    }
    expect(breaker.snapshot()).toMatchObject({ state: 'open', consecutiveFailures: 5, failures: 5 });
    // The next caller is turned away at once instead of waiting out its timeout.
    const run = vi.fn(fn);
    await expect(attempt(clock, 2_000, (signal) => breaker.execute(run, { signal }))).rejects.toSatisfy(
      isCircuitOpenError,
    );
    expect(run).not.toHaveBeenCalled();
  });

  it.each([
    ['the default AbortError', undefined],
    ['an Error', new Error('user left')],
    ['a string', 'navigated away'],
    ['a CircuitOpenError', new CircuitOpenError(1_000)],
    ['an object named AbortError', { name: 'AbortError' }],
  ])('counts any other abort reason as nothing: %s', async (_, reason) => {
    const isFailure = vi.fn(() => true);
    const onFailure = vi.fn();
    const onSuccess = vi.fn();
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: 1,
      isFailure,
      onFailure,
      onSuccess,
    });
    for (let i = 0; i < 5; i++) {
      const caller = new AbortController();
      const call = breaker.execute(blackHole, { signal: caller.signal });
      caller.abort(reason);
      await call.catch(() => {});
    }
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', consecutiveFailures: 0, calls: 0 });
    expect([isFailure, onFailure, onSuccess].map((f) => f.mock.calls.length)).toEqual([0, 0, 0]);
  });

  it('goes through isFailure with the reason, which can exclude it (then a success, like any error it turns down)', async () => {
    const clock = createFakeClock();
    const isFailure = vi.fn((error: unknown) => (error as { name?: unknown }).name !== 'TimeoutError');
    const breaker = createBreaker({ clock, failureThreshold: 2, isFailure });
    await failTimes(breaker, 1);
    const reason = new TimeoutError(2_000, 'Attempt 1');
    for (let i = 0; i < 5; i++) {
      const call = attempt(
        clock,
        2_000,
        (signal) => breaker.execute(blackHole, { signal }),
        () => reason,
      );
      await clock.advance(2_000);
      await expect(call).rejects.toBe(reason);
    }
    expect(isFailure).toHaveBeenLastCalledWith(reason);
    expect(isFailure).toHaveBeenCalledTimes(6);
    expect(breaker.snapshot()).toMatchObject({
      state: 'closed',
      consecutiveFailures: 0,
      calls: 6,
      failures: 1,
    });
  });

  it('fires onFailure once with the reason and the duration, slow past slowCallDuration', async () => {
    const clock = createFakeClock();
    const onFailure = vi.fn();
    const onSuccess = vi.fn();
    const breaker = createBreaker({ clock, slowCallDuration: 1_500, onFailure, onSuccess });
    const reason = new DOMException('signal timed out', 'TimeoutError');
    const call = attempt(
      clock,
      2_000,
      (signal) => breaker.execute(blackHole, { signal }),
      () => reason,
    );
    await clock.advance(2_000);
    await expect(call).rejects.toBe(reason);
    expect(onFailure.mock.calls).toEqual([
      [{ durationMs: 2_000, slow: true, state: 'closed', error: reason }],
    ]);
    expect(onSuccess).not.toHaveBeenCalled();
    expect(breaker.snapshot()).toMatchObject({ consecutiveFailures: 1, calls: 1, failures: 1, slowCalls: 1 });
  });
});

describe('signal', () => {
  it('hands every closed call a signal that does not abort by itself', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    const signals: AbortSignal[] = [];
    for (let i = 0; i < 3; i++) await breaker.execute(({ signal }) => signals.push(signal));
    expect(signals.every((s) => s instanceof AbortSignal && !s.aborted)).toBe(true);
    // One signal per closed period, not one AbortController per call.
    expect(new Set(signals).size).toBe(1);
    breaker.reset();
    await breaker.execute(({ signal }) => signals.push(signal));
    expect(new Set(signals).size).toBe(2);
  });

  it('forwards the caller signal to fn', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    const controller = new AbortController();
    let seen: AbortSignal | undefined;
    const call = breaker.execute(
      ({ signal }) => {
        seen = signal;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      { signal: controller.signal },
    );
    controller.abort(new Error('stop'));
    await expect(call).rejects.toThrow('stop');
    expect(seen?.aborted).toBe(true);
  });
});

describe('signals and timers', () => {
  it('aborts a closed call with a caller signal on isolate(), through the linked signal', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    const caller = new AbortController();
    let seen: AbortSignal | undefined;
    const call = breaker.execute(
      ({ signal }) => {
        seen = signal;
        return new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason)));
      },
      { signal: caller.signal },
    );
    breaker.isolate();
    await expect(call).rejects.toMatchObject({ code: 'ERR_CIRCUIT_OPEN', isolated: true });
    expect(seen?.aborted).toBe(true);
    expect(caller.signal.aborted).toBe(false);
  });

  it('lets go of the caller signal when isolate() aborts a call that never settles', () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    const caller = new AbortController();
    void breaker.execute(() => new Promise(() => {}), { signal: caller.signal });
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(1);
    breaker.isolate();
    expect(getEventListeners(caller.signal, 'abort')).toHaveLength(0);
  });

  it('re-arms the half-open timer when it fires before the clock reaches the end of the open period', async () => {
    const fake = createFakeClock();
    // Timers longer than 1 ms fire 1 ms early, as Node's can relative to Date.now().
    const lagging = {
      now: () => fake.now(),
      setTimeout: (callback: () => void, ms: number) => fake.setTimeout(callback, ms > 1 ? ms - 1 : ms),
      clearTimeout: (handle: unknown) => fake.clearTimeout(handle),
    };
    const changes: string[] = [];
    const breaker = createBreaker({
      clock: lagging,
      failureThreshold: 1,
      openFor: 1_000,
      onStateChange: (to) => changes.push(to),
    });
    await breaker.execute(boom).catch(() => {});
    await fake.advance(999);
    expect(changes).toEqual(['open']);
    await fake.advance(1);
    expect(changes).toEqual(['open', 'half-open']);
  });
});

describe('isolate and reset', () => {
  it('isolate() holds the circuit open past openFor, aborts calls in flight, and releases', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, openFor: 1_000 });
    let signal: AbortSignal | undefined;
    const inFlight = breaker.execute((ctx) => {
      signal = ctx.signal;
      return new Promise(() => {});
    });
    const release = breaker.isolate();
    expect(signal?.aborted).toBe(true);
    expect(isCircuitOpenError(signal?.reason)).toBe(true);
    expect(breaker.state).toBe('open');
    await clock.advance(3_600_000);
    expect(breaker.state).toBe('open');
    const error = (await breaker.execute(okay).catch((e: unknown) => e)) as CircuitOpenError;
    expect(error).toMatchObject({
      code: 'ERR_CIRCUIT_OPEN',
      isolated: true,
      retryAfterMs: Number.POSITIVE_INFINITY,
    });
    expect(breaker.snapshot()).toMatchObject({ state: 'open', isolated: true, openUntil: null });
    release();
    expect(breaker.state).toBe('closed');
    void inFlight;
  });

  it('stays isolated until every isolation is released; a release is idempotent', async () => {
    const breaker = createBreaker({ clock: createFakeClock() });
    const a = breaker.isolate();
    const b = breaker.isolate();
    a();
    a();
    expect(breaker.state).toBe('open');
    b();
    expect(breaker.state).toBe('closed');
  });

  it('reset() closes, clears counts and trips, and voids earlier isolations', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 2 });
    await failTimes(breaker, 2);
    expect(breaker.state).toBe('open');
    breaker.reset();
    expect(breaker.snapshot()).toMatchObject({ state: 'closed', trips: 0, consecutiveFailures: 0 });
    const release = breaker.isolate();
    breaker.reset();
    const again = breaker.isolate();
    release();
    expect(breaker.state).toBe('open');
    again();
    expect(breaker.state).toBe('closed');
  });
});

describe('snapshot', () => {
  it('is plain JSON and restores state, open period, trips and counts', async () => {
    const clock = createFakeClock({ now: 1_000_000 });
    const breaker = createBreaker({ clock, failureThreshold: 3, openFor: 30_000 });
    await failTimes(breaker, 3);
    const snap = breaker.snapshot();
    expect(JSON.parse(JSON.stringify(snap))).toEqual(snap);
    expect(snap).toMatchObject({ state: 'open', openUntil: 1_030_000, trips: 1, consecutiveFailures: 3 });
    expect(snap).toMatchObject({ calls: 3, failures: 3, slowCalls: 0 });

    await clock.advance(10_000);
    const restored = createBreaker({
      clock,
      failureThreshold: 3,
      openFor: 30_000,
      initialState: JSON.parse(JSON.stringify(snap)),
    });
    expect(restored.state).toBe('open');
    await expect(restored.execute(okay)).rejects.toMatchObject({ retryAfterMs: 20_000 });
    await clock.advance(20_000);
    expect(restored.state).toBe('half-open');
  });

  it('restores a half-open and an isolated breaker, and a partial snapshot', async () => {
    const clock = createFakeClock();
    expect(createBreaker({ clock, initialState: { state: 'half-open' } }).state).toBe('half-open');
    const isolated = createBreaker({ clock, initialState: { state: 'open', isolated: true } });
    await clock.advance(10 ** 9);
    expect(isolated.state).toBe('open');
    isolated.reset();
    expect(isolated.state).toBe('closed');
    const open = createBreaker({ clock, openFor: 5_000, initialState: { state: 'open' } });
    expect(open.snapshot().openUntil).toBe(clock.now() + 5_000);
  });

  it('rejects a corrupt snapshot with InvalidArgumentError', () => {
    const clock = createFakeClock();
    const bad = [{ state: 'ajar' }, { state: 'open', openUntil: 'soon' }, { state: 'closed', trips: -1 }];
    for (const initialState of bad)
      expect(() => createBreaker({ clock, initialState: initialState as never })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
  });
});

describe('hooks', () => {
  it('reports successes and failures with durations, and rejections', async () => {
    const clock = createFakeClock();
    const onSuccess = vi.fn();
    const onFailure = vi.fn();
    const onReject = vi.fn();
    const breaker = createBreaker({ clock, failureThreshold: 1, onSuccess, onFailure, onReject });
    const call = breaker.execute(async () => {
      await new Promise<void>((r) => clock.setTimeout(r, 250));
      return 1;
    });
    await clock.advance(250);
    await call;
    expect(onSuccess).toHaveBeenCalledWith({ durationMs: 250, slow: false, state: 'closed' });
    const error = new Error('x');
    await breaker.execute(() => Promise.reject(error)).catch(() => {});
    expect(onFailure).toHaveBeenCalledWith({ durationMs: 0, slow: false, state: 'closed', error });
    await breaker.execute(okay).catch(() => {});
    expect(onReject).toHaveBeenCalledTimes(1);
    expect(onReject.mock.calls[0]![0]).toBeInstanceOf(CircuitOpenError);
  });

  it('costs no clock read on the closed path when no hook or slow-call threshold is set', async () => {
    const fake = createFakeClock();
    const now = vi.fn(() => fake.now());
    const breaker = createBreaker({ clock: { ...fake, now } });
    for (let i = 0; i < 10; i++) await breaker.execute(okay);
    await breaker.execute(boom).catch(() => {});
    expect(now).not.toHaveBeenCalled();
    const timed = createBreaker({ clock: { ...fake, now }, onSuccess: () => {} });
    await timed.execute(okay);
    expect(now).toHaveBeenCalledTimes(2);
  });

  it('a throwing hook does not break the breaker', async () => {
    const breaker = createBreaker({
      clock: createFakeClock(),
      failureThreshold: 1,
      onStateChange: () => {
        throw new Error('hook');
      },
    });
    await expect(breaker.execute(boom)).rejects.toThrow('boom');
    expect(breaker.state).toBe('open');
  });

  it('keeps one open timer when onStateChange runs a probe that fails at once on the move to half-open, and none after reset()', async () => {
    const clock = createFakeClock();
    const moves: string[] = [];
    const breaker = createBreaker({
      clock,
      failureThreshold: 1,
      openFor: 100,
      onStateChange: (to, from) => {
        moves.push(`${from} -> ${to}`);
        // A probe whose fn throws before returning a promise is counted before execute() returns.
        if (to === 'half-open')
          breaker
            .execute(() => {
              throw new Error('not connected');
            })
            .catch(() => {});
      },
    });
    await breaker.execute(boom).catch(() => {});
    await clock.advance(100);
    expect(moves).toEqual(['closed -> open', 'open -> half-open', 'half-open -> open']);
    expect(breaker.state).toBe('open');
    expect(clock.pendingTimers).toBe(1);
    breaker.reset();
    expect(clock.pendingTimers).toBe(0);
  });

  it('runs the call that moved the breaker to half-open when onStateChange closes it from there', async () => {
    // reset(), or an isolation made and released, inside the hook: the breaker is closed when the call is admitted.
    for (const close of ['reset', 'isolate and release'] as const) {
      const clock = createFakeClock();
      const onReject = vi.fn();
      const breaker = createBreaker({
        clock,
        failureThreshold: 1,
        openFor: 1_000,
        onReject,
        onStateChange: (to) => {
          if (to !== 'half-open') return;
          if (close === 'reset') breaker.reset();
          else breaker.isolate()();
        },
      });
      await breaker.execute(boom).catch(() => {});
      // Time passes without the open timer firing: the call itself finds the open period over.
      clock.setNow(1_000);
      await expect(breaker.execute(okay), close).resolves.toBe('ok');
      await expect(breaker.tryExecute(okay), close).resolves.toEqual({ ok: true, value: 'ok' });
      expect(onReject, close).not.toHaveBeenCalled();
      expect(breaker.snapshot(), close).toMatchObject({ state: 'closed', calls: 2 });
    }
  });
});

describe('tryExecute', () => {
  it('resolves to a result object and never rejects', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 1 });
    await expect(breaker.tryExecute(okay)).resolves.toEqual({ ok: true, value: 'ok' });
    const failed = await breaker.tryExecute(boom);
    expect(failed.ok).toBe(false);
    const rejected = await breaker.tryExecute(okay);
    expect(rejected.ok === false && isCircuitOpenError(rejected.error)).toBe(true);
    const invalid = await breaker.tryExecute('nope' as never);
    expect(invalid.ok === false && isIntegError(invalid.error, 'ERR_INVALID_ARGUMENT')).toBe(true);
  });
});

describe('options', () => {
  it('rejects out-of-range options with InvalidArgumentError naming the option', () => {
    const cases: [string, object][] = [
      ['failureThreshold', { failureThreshold: 0 }],
      ['failureThreshold', { failureThreshold: 2.5 }],
      ['openFor', { openFor: -1 }],
      ['halfOpenProbes', { halfOpenProbes: 0 }],
      ['halfOpenSuccessRatio', { halfOpenSuccessRatio: 1.5 }],
      ['probeTimeout', { probeTimeout: Number.NaN }],
      ['slowCallDuration', { slowCallDuration: -5 }],
    ];
    for (const [argument, options] of cases)
      expect(() => createBreaker(options)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument }),
      );
  });

  it('rejects a non-function fn without counting it', async () => {
    const breaker = createBreaker({ clock: createFakeClock(), failureThreshold: 1 });
    await expect(breaker.execute(undefined as never)).rejects.toMatchObject({ code: 'ERR_INVALID_ARGUMENT' });
    expect(breaker.state).toBe('closed');
  });
});

describe('invariants', () => {
  it('never admits more than halfOpenProbes calls per half-open period, under bursts of concurrent callers', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 4 }),
        fc.array(
          fc.oneof(
            fc.constant('wait' as const),
            fc.array(fc.constantFrom('ok', 'fail', 'abort', 'hang'), { minLength: 1, maxLength: 8 }),
          ),
          { minLength: 1, maxLength: 40 },
        ),
        async (probes, script) => {
          const clock = createFakeClock();
          let period = 0;
          const admittedIn = new Map<number, number>();
          const breaker = createBreaker({
            clock,
            failureThreshold: 2,
            openFor: 100,
            probeTimeout: 50,
            halfOpenProbes: probes,
            onStateChange: (to) => {
              if (to === 'half-open') period++;
            },
          });
          for (const step of script) {
            if (step === 'wait') {
              await clock.advance(60);
              continue;
            }
            const calls = step.map((outcome) => {
              const half = breaker.state === 'half-open';
              const p = period;
              return breaker.tryExecute(async () => {
                if (half) admittedIn.set(p, (admittedIn.get(p) ?? 0) + 1);
                await Promise.resolve();
                if (outcome === 'fail') throw new Error('x');
                if (outcome === 'abort') throw new DOMException('a', 'AbortError');
                if (outcome === 'hang') await new Promise(() => {});
                return 1;
              });
            });
            await Promise.all(calls.filter((_, i) => step[i] !== 'hang'));
            const { state, consecutiveFailures } = breaker.snapshot();
            if (state === 'closed') expect(consecutiveFailures).toBeLessThan(2);
          }
          // Aborted probes free their slot, so count only periods without aborts strictly.
          const hasAbort = script.some((s) => s !== 'wait' && s.includes('abort'));
          for (const n of admittedIn.values()) if (!hasAbort) expect(n).toBeLessThanOrEqual(probes);
        },
      ),
      { numRuns: 200 },
    );
  });
});
