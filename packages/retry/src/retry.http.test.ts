/**
 * retry() against a third-party HTTP API mocked with msw (the @integ/testing scenarios): real fetch,
 * real Response headers, fake clock for the waits.
 */
import { retry } from '@integ/retry';
import { createFakeClock, createTestServer, flaky, retryAfter } from '@integ/testing';
import { HttpResponse, http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';

const url = 'https://api.example.com/users';
const server = createTestServer();
beforeAll(() => server.listen());
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

/** Advances the fake clock until `promise` settles (fetch needs real I/O turns between timers). */
async function drive<T>(promise: Promise<T>, clock: ReturnType<typeof createFakeClock>): Promise<T> {
  let done = false;
  const settled = promise.finally(() => {
    done = true;
  });
  for (let i = 0; i < 200 && !done; i++) await clock.advance(250);
  return settled;
}

describe('retry over HTTP (msw)', () => {
  it('honours Retry-After from a 503 returned as a result', async () => {
    const scenario = retryAfter(3, { status: 503, times: 2 });
    server.use(http.get(url, scenario));
    const clock = createFakeClock();
    const delays: number[] = [];
    const response = await drive(
      retry(({ signal }) => fetch(url, { signal }), {
        clock,
        signal: new AbortController().signal,
        retryOnResult: (r) => r.status === 503,
        onRetry: ({ delay }) => delays.push(delay),
      }),
      clock,
    );
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ ok: true });
    expect(scenario.calls).toBe(3);
    expect(delays).toEqual([3000, 3000]);
  });

  it('retries network errors (fetch rejects with a TypeError) until the service recovers', async () => {
    const scenario = flaky({ failures: 2, status: 'network' });
    server.use(http.get(url, scenario));
    const clock = createFakeClock();
    const response = await drive(
      retry(() => fetch(url), { clock, random: () => 0.5 }),
      clock,
    );
    expect(response.status).toBe(200);
    expect(scenario.calls).toBe(3);
  });

  it('reads Retry-After from error.response when the caller throws on non-2xx', async () => {
    server.use(
      http.get(url, () =>
        HttpResponse.json({ error: 'slow down' }, { status: 429, headers: { 'Retry-After': '1' } }),
      ),
    );
    const clock = createFakeClock();
    const delays: number[] = [];
    const error = await drive(
      retry(
        async () => {
          const response = await fetch(url);
          if (!response.ok) throw Object.assign(new Error(`HTTP ${response.status}`), { response });
          return response;
        },
        { clock, attempts: 2, onRetry: ({ delay }) => delays.push(delay) },
      ).catch((e: unknown) => e),
      clock,
    );
    expect((error as { code?: string }).code).toBe('ERR_RETRY_EXHAUSTED');
    expect(delays).toEqual([1000]);
  });
});
