/**
 * Review round 32: cross-review of round 31's retry fix 3f3804e (settle() returns at once once the attempt has
 * settled, and is the rejection handler itself: `then(onValue, settle)`).
 */
import { sleep } from '@integ/core';
import { constant, isRetryError, retry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

class Down extends Error {}

/** A Response-like value whose body records its cancel. */
const response = () => {
  const body = new ReadableStream<Uint8Array>({
    cancel() {
      cancelled.push(true);
    },
  });
  const cancelled: boolean[] = [];
  return { value: new Response(body, { status: 503 }), cancelled };
};

describe('settle() as the rejection handler (3f3804e): a second argument never reads as success', () => {
  // settle(value, ok) resolves when ok is truthy. A promise's reactions get one argument, but a promise whose then()
  // is its own (an instrumented or hand-extended native promise, which Promise.resolve() hands back as is) may pass
  // more: its rejection must still be a failed attempt, never the attempt's value.
  it.each([
    [
      'a thenable rejecting with (error, true)',
      // biome-ignore lint/suspicious/noThenProperty: a thenable is what is tested
      (error: Error) => ({ then: (_: unknown, no: (...a: unknown[]) => void) => no(error, true) }),
    ],
    [
      'a native promise whose own then() rejects with (error, true)',
      (error: Error) => {
        const promise = Promise.resolve();
        Object.defineProperty(promise, 'then', {
          value: (_: unknown, no: (...a: unknown[]) => void) => no(error, true),
        });
        return promise;
      },
    ],
  ])('%s: retried, then a RetryError', async (_name, make) => {
    const clock = createFakeClock();
    let calls = 0;
    const result = await run(
      retry(
        () => {
          calls++;
          return make(new Down('down')) as unknown as Promise<string>;
        },
        { clock, attempts: 3, timeout: 100, backoff: constant(0) },
      ),
      clock,
    );
    expect(result.ok).toBe(false);
    expect(isRetryError((result as { error: unknown }).error)).toBe(true);
    expect(calls).toBe(3);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('retryOnResult around the cut, with settle() settling once (3f3804e)', () => {
  it('a value judged after the timeout cut is dropped (body cancelled), whatever retryOnResult says', async () => {
    for (const verdict of [true, false, 'throws'] as const) {
      const clock = createFakeClock();
      const bodies: boolean[][] = [];
      let calls = 0;
      const result = await run(
        retry(
          async () => {
            calls++;
            const { value, cancelled } = response();
            bodies.push(cancelled);
            return value;
          },
          {
            clock,
            attempts: 2,
            timeout: 100,
            backoff: constant(0),
            // Still judging the first value at the cut: its answer comes after the attempt was given up on.
            retryOnResult: async (_value, { attempt }) => {
              if (attempt === 1) await sleep(150, { clock });
              if (verdict === 'throws' && attempt === 1) throw new Down('judge');
              return attempt === 1 ? verdict === true : false;
            },
          },
        ),
        clock,
      );
      // Attempt 1 timed out; attempt 2's value is the result, not attempt 1's late one.
      expect({ verdict, ok: result.ok, calls }).toEqual({ verdict, ok: true, calls: 2 });
      expect((result as { value: Response }).value.status).toBe(503);
      expect({ verdict, first: bodies[0] }).toEqual({ verdict, first: [true] });
      expect({ verdict, second: bodies[1] }).toEqual({ verdict, second: [] });
      expect(clock.pendingTimers).toBe(0);
    }
  });
});
