// Round 16 review: consul() and etcd() against mocked HTTP (msw through @integ/testing), as a user tests their
// integration.

import { consul, createRegistry, etcd, type Source } from '@integ/discovery';
import { createFakeClock, createTestServer } from '@integ/testing';
import { http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { turn, watchedFetch } from './internal/test-watched-fetch.js';

const server = createTestServer();
beforeAll(() => server.listen());
afterEach(() => server.resetHandlers());
afterAll(() => server.close());

// Headers and the first byte of the JSON, then nothing: a stalled server, or a mock of one.
const stalled = (): Response =>
  new Response(
    new ReadableStream({
      start(controller) {
        controller.enqueue(new TextEncoder().encode('['));
      },
    }),
    { headers: { 'content-type': 'application/json' } },
  );

describe('consul() and etcd() under msw, a body that stalls after the headers', () => {
  // Node's fetch errors a body when its request's signal aborts; msw's mocked body is not tied to it, so the
  // source's time limit and close() must end the read themselves.
  const cases: [string, string, (f: typeof fetch) => Source, number, RegExp][] = [
    [
      'consul',
      'http://consul.test:8500/v1/health/service/users',
      (fetch) => consul('users', { address: 'http://consul.test:8500', fetch }),
      10_000,
      /no answer within 10000 ms/,
    ],
    [
      'etcd',
      'http://etcd.test:2379/v3/kv/range',
      (fetch) => etcd('/services/api/', { endpoints: ['http://etcd.test:2379'], fetch }),
      5_000,
      /range timed out after 5000 ms/,
    ],
  ];
  for (const [name, url, source, limit, message] of cases) {
    it(`fails the lookup at its time limit (${name}), instead of waiting on the body for good`, async () => {
      server.use(http.all(url, stalled));
      const clock = createFakeClock();
      const { fetch, arrived } = watchedFetch();
      const registry = createRegistry({ services: { api: source(fetch) }, clock });
      const ready = registry.ready('api').then(
        () => 'resolved',
        (error: Error) => error.message,
      );
      await arrived;
      await turn();
      await clock.advance(limit);
      for (let i = 0; i < 5; i++) await turn();
      expect(await Promise.race([ready, turn()])).toMatch(message);
      registry.close();
    });

    it(`ends a refresh() reading the body when the registry is closed (${name})`, async () => {
      server.use(http.all(url, stalled));
      const { fetch, arrived } = watchedFetch();
      const registry = createRegistry({ services: { api: source(fetch) }, clock: createFakeClock() });
      const refreshed = registry.refresh('api').catch((error: unknown) => error);
      await arrived;
      await turn();
      registry.close();
      for (let i = 0; i < 5; i++) await turn();
      expect(await Promise.race([refreshed, turn()])).toMatchObject({
        code: 'ERR_NO_ENDPOINTS',
        service: 'api',
        message: 'No endpoint for service "api": the registry was closed',
      });
    });
  }
});

describe('etcd() under msw, a watch the source has given up', () => {
  const b64 = (s: string): string => Buffer.from(s).toString('base64');
  const line = (message: unknown): Uint8Array => new TextEncoder().encode(`${JSON.stringify(message)}\n`);

  it('applies no event its stream still sends once it is aborted (a resync replaced it)', async () => {
    const streams: ReadableStreamDefaultController<Uint8Array>[] = [];
    server.use(
      http.post('http://etcd.test:2379/v3/kv/range', () =>
        Response.json({
          header: { revision: '1' },
          kvs: [{ key: b64('/services/api/a'), value: b64('http://10.0.0.1:80') }],
        }),
      ),
      http.post(
        'http://etcd.test:2379/v3/watch',
        () =>
          new Response(
            new ReadableStream<Uint8Array>({
              start(controller) {
                streams.push(controller);
                controller.enqueue(line({ result: { created: true } }));
              },
            }),
          ),
      ),
    );
    const clock = createFakeClock();
    const registry = createRegistry({
      services: {
        api: etcd('/services/api/', { endpoints: ['http://etcd.test:2379'], resyncInterval: 1000 }),
      },
      clock,
    });
    const urls = (): string[] => registry.inspect('api').endpoints.map((e) => e.url);
    await registry.ready('api');
    for (let i = 0; i < 5 && streams.length < 1; i++) await turn();
    expect(streams).toHaveLength(1);
    // The resync: the first watch is aborted, the range read again, a new watch opened.
    for (let i = 0; i < 50 && streams.length < 2; i++) {
      await clock.advance(100);
      await turn();
    }
    expect(streams).toHaveLength(2);
    // Node's fetch would have ended the first stream; a mocked one goes on.
    streams[0]?.enqueue(
      line({
        result: { events: [{ kv: { key: b64('/services/api/b'), value: b64('http://10.0.0.2:80') } }] },
      }),
    );
    for (let i = 0; i < 10; i++) await turn();
    await clock.advance(50);
    expect(urls()).toEqual(['http://10.0.0.1:80']);
    // The watch that replaced it is read.
    streams[1]?.enqueue(
      line({
        result: { events: [{ kv: { key: b64('/services/api/c'), value: b64('http://10.0.0.3:80') } }] },
      }),
    );
    for (let i = 0; i < 10; i++) await turn();
    await clock.advance(50);
    expect(urls()).toEqual(['http://10.0.0.1:80', 'http://10.0.0.3:80']);
    registry.close();
  });
});
