// Round 15 review: health checks against mocked HTTP (msw through @integ/testing), as a user tests their
// integration.

import { InvalidArgumentError } from '@integ/core';
import { consul, createRegistry, dnsA, dnsSrv, etcd, httpCheck, type Source } from '@integ/discovery';
import { createFakeClock, createTestServer, sseStream } from '@integ/testing';
import { HttpResponse, http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { turn, watchedFetch } from './internal/test-watched-fetch.js';

const server = createTestServer();
beforeAll(() => server.listen());
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

describe('httpCheck under msw', () => {
  for (const [body, resolver] of [
    ['a JSON body', () => HttpResponse.json({ status: 'up' })],
    ['an SSE stream (sseStream)', sseStream(['up'])],
  ] as const) {
    it(`settles once the answer arrives, ${body}: it does not wait on the body's cancel()`, async () => {
      server.use(http.get('http://svc.test:8080/health', resolver));
      const { fetch, arrived } = watchedFetch();
      const endpoint = { url: 'http://svc.test:8080', service: 'svc', weight: 1, priority: 0 };
      const result = httpCheck({ fetch })(endpoint, { signal: new AbortController().signal }).then((ok) => ({
        ok,
      }));
      await arrived;
      // msw tees a mocked body, so awaiting its cancel() never settles (see @integ/testing's FAQ).
      expect(await Promise.race([result, turn()])).toEqual({ ok: true });
    });
  }

  it('keeps an endpoint whose /health answers 200 healthy instead of timing every check out', async () => {
    server.use(http.get('http://svc.test:8080/health', () => HttpResponse.json({ status: 'up' })));
    const clock = createFakeClock();
    const { fetch, arrived } = watchedFetch();
    const registry = createRegistry({
      services: { svc: 'http://svc.test:8080' },
      clock,
      healthCheck: { check: httpCheck({ fetch }), unhealthyThreshold: 1, timeout: 2000 },
    });
    await clock.advance(0); // the first check starts at once
    await arrived;
    await turn();
    await clock.advance(2000); // its timeout, had it not settled
    const { health } = registry.inspect('svc').endpoints[0] as { health: { status: string } };
    expect(health).toMatchObject({ status: 'healthy', consecutiveSuccesses: 1, lastError: null });
    registry.close();
  });
});

describe('consul() and etcd() under msw, answered with an error or too much', () => {
  const big = (): ReadableStream<Uint8Array> =>
    new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(`[${' '.repeat(1500)}`));
        controller.enqueue(new TextEncoder().encode(`${' '.repeat(1500)}]`));
      },
    });
  const cases: [string, string, () => Response, (f: typeof fetch) => Source, RegExp][] = [
    [
      'consul, HTTP 500',
      'http://consul.test:8500/v1/health/service/users',
      () => HttpResponse.json({ error: 'no leader' }, { status: 500 }),
      (fetch) => consul('users', { address: 'http://consul.test:8500', fetch }),
      /HTTP 500/,
    ],
    [
      'consul, a declared Content-Length past maxResponseBytes',
      'http://consul.test:8500/v1/health/service/users',
      () => HttpResponse.json([], { headers: { 'content-length': '999999' } }),
      (fetch) => consul('users', { address: 'http://consul.test:8500', fetch, maxResponseBytes: 1024 }),
      /larger than 1024 bytes/,
    ],
    [
      'consul, a body growing past maxResponseBytes',
      'http://consul.test:8500/v1/health/service/users',
      () => new HttpResponse(big(), { headers: { 'content-type': 'application/json' } }),
      (fetch) => consul('users', { address: 'http://consul.test:8500', fetch, maxResponseBytes: 1024 }),
      /larger than 1024 bytes/,
    ],
    [
      'etcd, HTTP 500',
      'http://etcd.test:2379/v3/kv/range',
      () => HttpResponse.json({ error: 'etcdserver: no leader' }, { status: 500 }),
      (fetch) => etcd('/services/api/', { endpoints: ['http://etcd.test:2379'], fetch }),
      /HTTP 500/,
    ],
  ];
  for (const [name, url, reply, source, message] of cases) {
    it(`fails the lookup with what the server did as soon as it answers (${name}), not at the request's time limit`, async () => {
      server.use(http.all(url, reply));
      const clock = createFakeClock();
      const { fetch, arrived } = watchedFetch();
      const registry = createRegistry({ services: { api: source(fetch) }, clock });
      const ready = registry.ready('api').then(
        () => 'resolved',
        (error: Error) => error.message,
      );
      await arrived;
      for (let i = 0; i < 5; i++) await turn(); // what a read of the mocked body takes; no clock time
      expect(await Promise.race([ready, turn()])).toMatch(message);
      registry.close();
    });
  }
});

describe('dnsSrv() and dnsA() servers', () => {
  // Such a port made every query throw inside the UDP socket's connect(), after the socket was opened and
  // before anything could close it: each lookup (A and AAAA, each attempt) left an open socket behind,
  // close() too, and the retry loop opened more, so the process never exited.
  for (const server of ['127.0.0.1:99999', '127.0.0.1:0', '[::1]:65536', '10.0.0.2:00']) {
    it(`refuses a server with a port outside 1-65535 (${server}) when the source is created`, () => {
      expect(() => dnsSrv('_http._tcp.api.test', { servers: [server] })).toThrow(InvalidArgumentError);
      expect(() => dnsA('api.test', { servers: ['10.0.0.1', server] })).toThrow(InvalidArgumentError);
    });
  }

  it('takes ports 1 and 65535, and the default 53', () => {
    expect(() =>
      dnsSrv('_http._tcp.api.test', { servers: ['127.0.0.1:1', '[::1]:65535', '10.0.0.2'] }),
    ).not.toThrow();
  });
});

describe('refresh() in flight when the registry is closed', () => {
  it('rejects naming its own service, as ready() and a refresh() after close() do, not "*"', async () => {
    // A source that honours the signal it is given: close() aborts it with the registry's reason.
    const source: Source = {
      kind: 'mine',
      description: 'waits for its signal',
      open: () => ({
        resolve: (signal) =>
          new Promise((_, reject) => signal.addEventListener('abort', () => reject(signal.reason))),
      }),
    };
    const registry = createRegistry({ services: { api: source }, clock: createFakeClock() });
    const refreshed = registry.refresh('api').catch((error: unknown) => error);
    const ready = registry.ready('api').catch((error: unknown) => error);
    registry.close();
    for (const error of [
      await refreshed,
      await ready,
      await registry.refresh('api').catch((e: unknown) => e),
    ])
      expect(error).toMatchObject({
        code: 'ERR_NO_ENDPOINTS',
        service: 'api',
        reason: 'pending',
        message: 'No endpoint for service "api": the registry was closed',
      });
  });
});
