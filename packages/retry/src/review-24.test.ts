/**
 * Review round 24: re-entrancy and throwing user code at every callback point, long runs on the fake clock, and
 * secrets in what retry's own errors print (angles A, B and C of the round).
 */
import { inspect } from 'node:util';
import {
  constant,
  exponential,
  type RejectedResultError,
  RetryError,
  type RetryOptions,
  retry,
  retryBudget,
} from '@integ/retry';
import {
  createFakeClock,
  seededRandom,
  trackedAbortController,
  trackUnhandledRejections,
} from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

describe('the errors retry builds around a value retryOnResult turned down', () => {
  // A 503 whose URL carries a token in its query and whose headers set a session cookie: the README's usage logs
  // `{ attempt, delay, error }` with console, and a RetryError nobody catches is printed by Node with util.inspect.
  const response = (): Response => {
    const res = new Response('busy', { status: 503, headers: { 'set-cookie': 'sid=cookie-secret' } });
    Object.defineProperty(res, 'url', { value: 'https://api.example/orders?token=query-secret' });
    return res;
  };
  const leaks = (value: unknown): string[] =>
    [inspect(value, { depth: 8 }), JSON.stringify(value), String(value)].filter((text) =>
      /secret/.test(text),
    );

  it('print neither the URL nor the headers of the Response they hold, which stays in .value', async () => {
    const clock = createFakeClock();
    const events: unknown[] = [];
    const last = response();
    const outcome = await run(
      retry(({ attempt }) => (attempt === 2 ? last : response()), {
        attempts: 2,
        backoff: constant(10),
        clock,
        retryOnResult: (res) => res.status === 503,
        onRetry: (event) => events.push(event),
      }),
      clock,
    );
    const error = (outcome as { error: RetryError }).error;
    expect(error).toBeInstanceOf(RetryError);
    expect((error.cause as RejectedResultError).value).toBe(last);
    expect(leaks(error)).toEqual([]);
    expect(leaks(error.cause)).toEqual([]);
    expect(leaks(events)).toEqual([]);
  });
});

describe('retry with a budget or random that throws', () => {
  const thrown = new Error('user code threw');
  const raise = (): never => {
    throw thrown;
  };
  // The budget and random are the caller's code, like the hooks: what they throw is what retry rejects with.
  const cases: Record<string, (clock: ReturnType<typeof createFakeClock>) => RetryOptions<Response>> = {
    'budget.recordRequest': (clock) => ({ budget: { ...retryBudget({ clock }), recordRequest: raise } }),
    'budget.tryRetry': (clock) => ({ budget: { ...retryBudget({ clock }), tryRetry: raise } }),
    random: () => ({ backoff: exponential(), random: raise }),
  };

  it.each(Object.keys(cases))(
    'rejects with what %s threw, leaving no timer, listener or unread body',
    async (name) => {
      const unhandled = trackUnhandledRejections();
      const clock = createFakeClock();
      const caller = trackedAbortController();
      const turnedDown = new Response('busy', { status: 503 });
      let calls = 0;
      const outcome = await run(
        retry(
          () => {
            calls++;
            return turnedDown;
          },
          {
            clock,
            signal: caller.signal,
            timeout: 1000,
            deadline: 10_000,
            retryOnResult: (res) => res.status === 503,
            ...cases[name]?.(clock),
          },
        ),
        clock,
      );
      expect(outcome).toEqual({ ok: false, error: thrown });
      expect(calls).toBe(name === 'budget.recordRequest' ? 0 : 1);
      expect(clock.pendingTimers).toBe(0);
      expect(caller.listeners).toBe(0);
      // Turned down, then nobody's: the error thrown does not carry it, so its body is cancelled.
      if (calls) await expect(turnedDown.text()).rejects.toThrow(TypeError);
      expect(await unhandled.settled()).toEqual([]);
      unhandled.stop();
    },
  );
});

describe('retry with attempts: Infinity over 100,000 failures', () => {
  it('holds one listener on the caller, the deadline and attempt timers at most, and a budget that forgets', async () => {
    const clock = createFakeClock();
    const caller = trackedAbortController();
    // 300 retries per 10 s window whatever the traffic; past the first seven, waits are 50 to 100 ms, 200 retries per
    // window at most: the budget says yes for two hours of fake time only if what left the window is forgotten.
    const budget = retryBudget({ clock, ratio: 0, minPerSecond: 30 });
    let calls = 0;
    let timers = 0;
    let listeners = 0;
    const settled = retry(
      () => {
        calls++;
        timers = Math.max(timers, clock.pendingTimers);
        listeners = Math.max(listeners, caller.listeners);
        if (calls === 100_000) caller.abort('enough');
        throw new Error(`failure ${calls}`);
      },
      {
        attempts: Number.POSITIVE_INFINITY,
        backoff: exponential({ initial: 1, max: 100, jitter: 'equal' }),
        random: seededRandom(24),
        budget,
        clock,
        signal: caller.signal,
        timeout: 1000,
        deadline: 2_000_000_000,
        onGiveUp: ({ attempts }) => expect(attempts).toBe(100_000),
      },
    ).then(
      () => 'resolved',
      (error: unknown) => error,
    );
    let done = false;
    settled.then(() => {
      done = true;
    });
    while (!done) await clock.advance(100);
    expect(await settled).toBe('enough');
    expect(calls).toBe(100_000);
    expect(clock.elapsed).toBeGreaterThan(2 * 3_600_000);
    expect(timers).toBe(2); // the deadline's and the running attempt's timeout
    expect(listeners).toBe(1);
    expect(clock.pendingTimers).toBe(0);
    expect(caller.listeners).toBe(0);
    expect(budget.available()).toBeGreaterThanOrEqual(100);
  }, 60_000);
});
