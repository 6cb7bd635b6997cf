/**
 * Review round 24: re-entrancy and throwing user code at every callback point, long runs on the fake clock, and
 * secrets in what retry's own errors print (angles A, B and C of the round).
 */
import { inspect } from 'node:util';
import { constant, type RejectedResultError, RetryError, retry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
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
