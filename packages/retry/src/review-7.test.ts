/**
 * Seventh review against the issue: options in combination, withRetry, backoffs at their edges, the CJS entry,
 * the README.
 */
import { InvalidArgumentError, TimeoutError } from '@integ/core';
import {
  constant,
  decorrelated,
  exponential,
  type GiveUpEvent,
  linear,
  type RejectedResultError,
  RetryBudgetError,
  RetryError,
  type RetryOptions,
  retry,
  retryBudget,
} from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

describe('retry with a `random` that is not uniform in [0, 1)', () => {
  const failing = (): never => {
    throw new Error('ECONNRESET');
  };

  // A PRNG returning integers (crypto.getRandomValues(new Uint32Array(1))[0] without the division) waited
  // up to 2^31 - 1 ms (24.8 days) after `max: 1000`, and NaN or a negative one blamed the backoff's result.
  it.each([
    ['above 1 (an integer PRNG)', 4_294_967_295],
    ['2', 2],
    ['Infinity', Number.POSITIVE_INFINITY],
    ['NaN', Number.NaN],
    ['negative', -0.5],
    ['a string', '0.5'],
  ])(
    'rejects with an InvalidArgumentError naming random() when it returns %s, before any wait',
    async (_, value) => {
      for (const backoff of [
        exponential({ max: 1_000 }),
        exponential({ max: 1_000, jitter: 'equal' }),
        linear({ max: 1_000, jitter: 'full' }),
        decorrelated({ max: 1_000 }),
      ]) {
        const clock = createFakeClock();
        const delays: number[] = [];
        const outcome = await run(
          retry(failing, {
            clock,
            backoff,
            random: () => value as number,
            onRetry: ({ delay }) => delays.push(delay),
          }),
          clock,
        );
        expect(outcome.ok).toBe(false);
        const error = (outcome as { error: unknown }).error;
        expect(error).toBeInstanceOf(InvalidArgumentError);
        expect((error as InvalidArgumentError).argument).toBe('random()');
        expect(delays).toEqual([]);
        expect(clock.elapsed).toBe(0);
        expect(clock.pendingTimers).toBe(0);
      }
    },
  );

  it.each([
    [0, [0, 0]],
    [0.9999999999999999, [199.99999999999997, 399.99999999999994]],
    [1, [200, 400]],
  ])(
    'takes %d (the ends of [0, 1], 1 giving the ceiling itself) and waits within the ceiling',
    async (value, expected) => {
      const clock = createFakeClock();
      const delays: number[] = [];
      const outcome = await run(
        retry(failing, {
          clock,
          backoff: exponential({ initial: 200 }),
          random: () => value,
          onRetry: ({ delay }) => delays.push(delay),
        }),
        clock,
      );
      expect(outcome).toMatchObject({ ok: false, error: { reason: 'attempts', attempts: 3 } });
      expect(delays).toEqual(expected);
    },
  );

  it('never calls random() for a backoff that does not use it, so a bad one changes nothing there', async () => {
    const clock = createFakeClock();
    const outcome = await run(
      retry(failing, { clock, backoff: constant(10), random: () => Number.NaN }),
      clock,
    );
    expect(outcome).toMatchObject({ ok: false, error: { reason: 'attempts', attempts: 3 } });
    expect(clock.elapsed).toBe(20);
  });
});

describe('retry when several limits hold after the same failure (README: the first of abort, not retryable, attempts, deadline, budget)', () => {
  const never = (): Promise<never> => new Promise(() => {});

  it("gives up with 'attempts' when the deadline cuts the last allowed attempt, the deadline's TimeoutError as cause", async () => {
    const clock = createFakeClock();
    const giveUps: GiveUpEvent[] = [];
    const outcome = await run(
      retry(never, {
        clock,
        attempts: 2,
        timeout: 100,
        deadline: 150,
        backoff: constant(10),
        onGiveUp: (event) => giveUps.push(event),
      }),
      clock,
    );
    const error = (outcome as { error: RetryError }).error;
    expect(error).toBeInstanceOf(RetryError);
    expect(error).toMatchObject({ reason: 'attempts', attempts: 2 });
    expect(error.errors.map((e) => (e as TimeoutError).timeoutMs)).toEqual([100, 150]);
    expect(error.cause).toBe(error.errors[1]);
    expect((error.cause as Error).message).toMatch(/^Retry deadline timed out after 150 ms/);
    expect(giveUps).toEqual([{ attempts: 2, error: error.cause, reason: 'attempts' }]);
    expect(clock.now()).toBe(150);
  });

  it("gives up with 'deadline' when the same cut leaves attempts over, and with the deadline's error as cause", async () => {
    const clock = createFakeClock();
    const outcome = await run(
      retry(never, { clock, attempts: 3, timeout: 100, deadline: 150, backoff: constant(10) }),
      clock,
    );
    expect(outcome).toMatchObject({ ok: false, error: { reason: 'deadline', attempts: 2 } });
    expect((outcome as { error: RetryError }).error.cause).toBeInstanceOf(TimeoutError);
  });

  it("gives up with 'deadline', not 'budget', when a spent budget meets a wait past the deadline, spending nothing", async () => {
    const clock = createFakeClock();
    const budget = retryBudget({ clock, ratio: 0, minPerSecond: 0 });
    const hinted = (ms: number) => () =>
      Promise.reject(Object.assign(new Error('busy'), { retryAfterMs: ms }));
    const late = await run(retry(hinted(500), { clock, budget, deadline: 400 }), clock);
    expect(late).toMatchObject({ ok: false, error: { reason: 'deadline', attempts: 1 } });
    expect((late as { error: unknown }).error).not.toBeInstanceOf(RetryBudgetError);
    const spent = await run(retry(hinted(50), { clock, budget, deadline: 400 }), clock);
    expect((spent as { error: unknown }).error).toBeInstanceOf(RetryBudgetError);
    expect(spent).toMatchObject({ error: { reason: 'budget', attempts: 1 } });
  });

  it("rejects with the caller's reason, not the failure, when the caller aborts while a retryIf says no", async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const permanent = new Error('404');
    const giveUps: GiveUpEvent[] = [];
    const outcome = await run(
      retry(() => Promise.reject(permanent), {
        clock,
        signal: controller.signal,
        retryIf: () => {
          controller.abort('caller left');
          return false;
        },
        onGiveUp: (event) => giveUps.push(event),
      }),
      clock,
    );
    expect(outcome).toEqual({ ok: false, error: 'caller left' });
    expect(giveUps).toEqual([{ attempts: 1, error: permanent, reason: 'aborted' }]);
  });
});

describe('retry when a hook, predicate or backoff throws after retryOnResult turned a Response down', () => {
  // retry rejects with that error, which carries no Response: nobody can read the body any more. A retryIf
  // written for thrown errors (`(e) => e.response.status >= 500`) throws a TypeError on a RejectedResultError.
  const cases: [string, (boom: Error) => Partial<RetryOptions<Response>>][] = [
    [
      'retryIf throws',
      (boom) => ({
        retryIf: () => {
          throw boom;
        },
      }),
    ],
    ['retryIf rejects', (boom) => ({ retryIf: () => Promise.reject(boom) })],
    [
      'the backoff throws',
      (boom) => ({
        backoff: () => {
          throw boom;
        },
      }),
    ],
    [
      'onRetry throws',
      (boom) => ({
        onRetry: () => {
          throw boom;
        },
      }),
    ],
  ];
  it.each(cases)('cancels its unread body when %s (retry rejects with that error)', async (_, options) => {
    for (const guarded of [false, true]) {
      const clock = createFakeClock();
      const boom = new Error('hook bug');
      const responses: Response[] = [];
      const outcome = await run(
        retry(
          () => {
            const response = new Response('busy', { status: 503 });
            responses.push(response);
            return response;
          },
          {
            clock,
            retryOnResult: (r) => r.status === 503,
            ...(guarded ? { timeout: 1_000 } : {}),
            ...options(boom),
          },
        ),
        clock,
      );
      expect(outcome).toEqual({ ok: false, error: boom });
      expect(responses).toHaveLength(1);
      await expect(responses[0]!.text()).rejects.toThrow(TypeError);
    }
  });

  it('leaves the body of the value it gives up on readable, as before (it is in the RetryError)', async () => {
    const clock = createFakeClock();
    const outcome = await run(
      retry(() => new Response('busy', { status: 503 }), {
        clock,
        attempts: 1,
        retryOnResult: (r) => r.status === 503,
      }),
      clock,
    );
    const cause = (outcome as { error: RetryError }).error.cause as RejectedResultError;
    expect(await (cause.value as Response).text()).toBe('busy');
  });
});
