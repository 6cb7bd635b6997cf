/**
 * The composition the demo's upstream calls use, end to end with the real packages and a real loopback
 * server: `retry` (per-attempt timeout) around `breaker.execute` around `fetch`. Timers run on one fake
 * clock; the sockets are real. A dependency that never answers must open the breaker (its callers' timeouts
 * are failures, breaker decision 0029), the open breaker must spare the server, and retry must wait out the
 * open period from the breaker's `retryAfterMs` hint and get through once the dependency is back.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { CircuitOpenError, createBreaker } from '@integ/breaker';
import { TimeoutError } from '@integ/core';
import { constant, RetryError, retry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';

describe('retry around a breaker around fetch, against a loopback server', () => {
  let healthy = false;
  const requests: IncomingMessage[] = [];
  const held: ServerResponse[] = [];
  const server = createServer((req, res) => {
    requests.push(req);
    if (healthy) res.end('pong');
    else held.push(res); // a black hole: the request is never answered
  });
  let url = '';

  beforeAll(async () => {
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/ping`;
  });
  afterAll(async () => {
    for (const res of held) res.destroy();
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  it('opens on timeouts, spares the server while open, and recovers through the retryAfterMs hint', async () => {
    const clock = createFakeClock();
    const breaker = createBreaker({ clock, failureThreshold: 3, openFor: 5_000 });
    const call = (attempts: number): Promise<string> =>
      retry(
        ({ signal }) =>
          breaker.execute(async ({ signal: inner }) => (await fetch(url, { signal: inner })).text(), {
            signal,
          }),
        { clock, attempts, timeout: 1_000, backoff: constant(0) },
      );
    /** Waits (in real time: the sockets are real) until the server has seen `n` requests. */
    const seen = (n: number): Promise<void> =>
      vi.waitFor(() => expect(requests.length).toBeGreaterThanOrEqual(n), { timeout: 10_000, interval: 5 });

    // Three calls hang until their 1 s timeout: each aborts its fetch and counts as a breaker failure.
    for (let i = 1; i <= 3; i++) {
      const settled = call(1).catch((error: unknown) => error);
      await seen(i);
      await clock.advance(1_000);
      const error = (await settled) as RetryError;
      expect(error).toBeInstanceOf(RetryError);
      expect(error.cause).toBeInstanceOf(TimeoutError);
    }
    expect(breaker.state).toBe('open');
    // The aborted fetches closed their requests: nothing is left hanging on the server.
    await Promise.all(
      requests.map((req) => (req.destroyed ? undefined : new Promise((r) => req.once('close', r)))),
    );

    // Open: turned away at once, without a request.
    const refused = (await call(1).catch((error: unknown) => error)) as RetryError;
    expect(refused.cause).toBeInstanceOf(CircuitOpenError);
    expect((refused.cause as CircuitOpenError).retryAfterMs).toBe(5_000);
    expect(requests).toHaveLength(3);

    // The dependency is back: retry waits out the open period (the hint, not a backoff) and the probe closes it.
    healthy = true;
    const recovered = call(2);
    await clock.advance(4_999);
    expect(requests).toHaveLength(3);
    await clock.advance(1);
    expect(await recovered).toBe('pong');
    expect(requests).toHaveLength(4);
    expect(breaker.state).toBe('closed');
  });
});
