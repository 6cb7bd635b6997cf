import { createRegistry, etcd } from '@integ/discovery';
import { createFakeClock, drain } from '@integ/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { etcdAvailable, startEtcd, type TestEtcd } from './internal/test-etcd.js';

// Real sockets on a shared machine: give them time, poll often.
const waitFor = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 15_000, interval: 10 });

const available = etcdAvailable();
const { INTEG_REQUIRE_SERVICES } = process.env;
const required = INTEG_REQUIRE_SERVICES === '1';
// CI sets INTEG_REQUIRE_SERVICES=1: there a missing etcd fails this file instead of skipping it.
if (!available && required)
  throw new Error('etcd is not installed but INTEG_REQUIRE_SERVICES=1: run .ci/setup.d/discovery.sh');
if (!available)
  console.warn(
    '\n!!! @integ/discovery: etcd is not installed, SKIPPING the etcd source tests. Install it with `apt-get install -y etcd-server` (CI runs .ci/setup.d/discovery.sh). !!!\n',
  );

describe('etcd options', () => {
  it('refuses a timeout or resyncInterval past 2^31 - 1 ms (~24.8 days), which a timer fires after 1 ms', () => {
    for (const option of ['timeout', 'resyncInterval'] as const) {
      for (const ms of [2 ** 31, 30 * 86_400_000, Number.POSITIVE_INFINITY, 0, Number.NaN])
        expect(() => etcd({ prefix: '/a/', [option]: ms })).toThrow(
          expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', message: expect.stringContaining(option) }),
        );
      expect(() => etcd({ prefix: '/a/', [option]: 2 ** 31 - 1 })).not.toThrow();
    }
  });
});

describe.runIf(available)('etcd', () => {
  let server: TestEtcd;
  beforeAll(async () => {
    server = await startEtcd();
  });
  afterAll(async () => {
    await server?.stop();
  });

  it('reads every key under the prefix and follows puts and deletes through the watch', async () => {
    await server.put('/services/api/a', '{"url":"http://10.0.0.1:8080","weight":3}');
    await server.put('/services/api/b', '10.0.0.2:8080');
    await server.put('/services/apix/nope', 'http://10.9.9.9:1'); // shares the string prefix only without the slash
    await server.put('/services/other/c', 'http://10.0.0.3:8080');
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/services/api/', endpoints: [server.url] }) },
      minInterval: 0,
    });
    await registry.ready();
    expect(registry.endpoints('api').map((e) => [e.url, e.weight, e.meta?.['etcd.key']])).toEqual([
      ['http://10.0.0.1:8080', 3, '/services/api/a'],
      ['http://10.0.0.2:8080', 1, '/services/api/b'],
    ]);
    await server.put('/services/api/c', 'http://10.0.0.4:8080');
    await waitFor(() => expect(registry.endpoints('api')).toHaveLength(3));
    await server.del('/services/api/a');
    await waitFor(() =>
      expect(registry.endpoints('api').map((e) => e.url)).toEqual([
        'http://10.0.0.2:8080',
        'http://10.0.0.4:8080',
      ]),
    );
    expect(registry.inspect('api').state).toBe('ready');
    registry.close();
  });

  it('re-reads everything when the watch stream breaks, serving the old endpoints meanwhile', async () => {
    await server.put('/services/cut/a', 'http://10.0.1.1:80');
    let watches = 0;
    // A fetch that cuts every watch stream after its first chunk, like a proxy dropping the connection.
    const cuttingFetch: typeof fetch = async (input, init) => {
      const response = await fetch(input, init);
      if (!String(input).endsWith('/v3/watch') || response.body === null) return response;
      watches++;
      const reader = response.body.getReader();
      const body = new ReadableStream<Uint8Array>({
        async pull(controller) {
          const { value, done } = await reader.read();
          if (!done && value) controller.enqueue(value);
          await reader.cancel().catch(() => {});
          controller.close();
        },
      });
      return new Response(body, { status: response.status, headers: response.headers });
    };
    const registry = createRegistry({
      services: { cut: etcd({ prefix: '/services/cut/', endpoints: [server.url], fetch: cuttingFetch }) },
      minInterval: 0,
    });
    await registry.ready();
    await waitFor(() => expect(registry.inspect('cut').consecutiveErrors).toBeGreaterThan(0));
    expect(registry.url('cut')).toBe('http://10.0.1.1:80');
    await server.put('/services/cut/b', 'http://10.0.1.2:80');
    await waitFor(() => expect(registry.endpoints('cut')).toHaveLength(2));
    // The re-read after a cut can already see b before the next watch is opened: wait for that watch
    // (checked at once, this failed about one run in four while other packages' tests ran).
    await waitFor(() => expect(watches).toBeGreaterThan(1));
    registry.close();
  });

  it('ignores values that are not URLs instead of failing the whole service', async () => {
    await server.put('/services/bad/a', 'not a url at all');
    await server.put('/services/bad/b', 'http://10.0.0.8:80');
    const registry = createRegistry({
      services: { bad: etcd({ prefix: '/services/bad/', endpoints: [server.url] }) },
      minInterval: 0,
    });
    await registry.ready();
    expect(registry.endpoints('bad').map((e) => e.url)).toEqual(['http://10.0.0.8:80']);
    registry.close();
  });

  it('fails over to the next etcd endpoint and reports a dead cluster as a source error', async () => {
    await server.put('/services/fo/a', 'http://10.0.0.5:80');
    const registry = createRegistry({
      services: { fo: etcd({ prefix: '/services/fo/', endpoints: ['http://127.0.0.1:9', server.url] }) },
      minInterval: 0,
    });
    await registry.ready();
    expect(registry.url('fo')).toBe('http://10.0.0.5:80');
    registry.close();
    const dead = createRegistry({
      services: { fo: etcd({ prefix: '/services/fo/', endpoints: ['http://127.0.0.1:9'] }) },
    });
    await expect(dead.ready()).rejects.toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
    dead.close();
  });
});

describe('etcd revisions past 2^53', () => {
  it('watches from the range’s revision + 1 exactly, kept as a decimal string (9007199254740993)', async () => {
    // etcd's JSON gateway sends int64 fields as strings ("revision":"2"); a Number rounds 2^53 + 1 down.
    const b64 = (s: string): string => Buffer.from(s).toString('base64');
    const watchedFrom: unknown[] = [];
    const fetch = (async (input: string | URL | Request, init?: RequestInit) => {
      const body = JSON.parse(String(init?.body)) as { create_request?: { start_revision?: unknown } };
      if (String(input).endsWith('/v3/kv/range'))
        return Response.json({
          header: { revision: '9007199254740993' },
          kvs: [{ key: b64('/svc/a'), value: b64('http://10.0.0.1:80'), mod_revision: '9007199254740993' }],
        });
      watchedFrom.push(body.create_request?.start_revision);
      return new Response(new ReadableStream({ start: () => {} })); // a watch that stays open, silent
    }) as typeof globalThis.fetch;
    const registry = createRegistry({
      services: { api: etcd({ prefix: '/svc/', endpoints: ['http://etcd.test:2379'], fetch }) },
      clock: createFakeClock(),
    });
    try {
      await registry.ready();
      // The watch starts on promise callbacks alone (a fake fetch): no time to wait.
      await drain();
      expect(watchedFrom).toEqual(['9007199254740994']);
    } finally {
      registry.close();
    }
  });
});
