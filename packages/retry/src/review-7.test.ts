/**
 * Seventh review against the issue: options in combination, withRetry, backoffs at their edges, the CJS entry,
 * the README.
 */
import { InvalidArgumentError } from '@integ/core';
import { constant, decorrelated, exponential, linear, retry } from '@integ/retry';
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
