/**
 * Review round 24: re-entrancy and throwing user code at every callback point (subscribers, health checks, a
 * custom source's open()/resolve()/close(), balancers, the logger, a custom fetch), long runs on the fake clock
 * (refresh and watch cycles, endpoint churn) staying bounded, and secrets (Consul token, etcd token, URL
 * userinfo) kept out of errors, causes, log lines and inspect().
 */
import type { Logger } from '@integ/core';
import { consul, createRegistry, etcd, type Registry, type Source } from '@integ/discovery';
import { httpCheck } from '@integ/discovery/health';
import { createFakeClock, trackUnhandledRejections, type UnhandledRejections } from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { b64 } from './internal/test-etcd-fetch.js';
import { calls, ejected } from './internal/test-outlier.js';
import { listeners, opening } from './internal/test-servers.js';

const opened: Registry[] = [];
let unhandled: UnhandledRejections;
beforeEach(() => {
  unhandled = trackUnhandledRejections();
});
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
  unhandled.stop();
});

/** A custom source answering with `answer()` on each lookup. */
const custom = (answer: () => Promise<{ url: string }[]>): Source => ({
  kind: 'custom',
  description: 'test',
  open: () => ({ resolve: async () => ({ endpoints: await answer() }) }),
});

describe('a logger that throws or rejects (the logger is user code too)', () => {
  const boom = (): never => {
    throw new Error('logger down');
  };
  const rejecting = (): Promise<never> => Promise.reject(new Error('logger down'));
  const loggers: [string, Logger][] = [
    ['throws', { debug: boom, info: boom, warn: boom, error: boom }],
    [
      'rejects',
      { debug: rejecting, info: rejecting, warn: rejecting, error: rejecting } as unknown as Logger,
    ],
  ];

  it.each(loggers)('ready() still rejects with the source failure when the logger %s', async (_, logger) => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { s: custom(() => Promise.reject(new Error('down'))) },
      clock,
      logger,
    });
    opened.push(registry);
    const outcome = registry.ready('s').then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    await clock.advance(0);
    expect(await Promise.race([outcome, clock.advance(0).then(() => 'pending')])).toBe(
      'ERR_DISCOVERY_SOURCE',
    );
    expect(await unhandled.settled()).toEqual([]);
  });

  it.each(loggers)(
    'outlier sweeps go on, and an ejected endpoint returns, when the logger %s',
    async (_, logger) => {
      const clock = createFakeClock();
      const urls = ['http://a:1', 'http://b:1', 'http://c:1', 'http://d:1', 'http://e:1'];
      const registry = createRegistry({
        services: { s: { urls } },
        clock,
        logger,
        outlierDetection: {
          successRateEjection: { requestVolume: 10, stdevFactor: 1000 },
          consecutive5xx: false,
        },
      });
      opened.push(registry);
      for (const url of urls.slice(0, 4)) calls(registry, url, true, 20);
      calls(registry, 'http://e:1', false, 20);
      await clock.advance(10_000); // the sweep ejects e and logs it
      expect(ejected(registry)).toEqual(['http://e:1']);
      await clock.advance(60_000); // 30 s of ejection, then the next sweep returns it
      expect(ejected(registry)).toEqual([]);
      expect(clock.pendingTimers).toBe(1); // the next sweep
      expect(await unhandled.settled()).toEqual([]);
    },
  );

  it.each(loggers)('health checks go on after a failure is logged, when the logger %s', async (_, logger) => {
    const clock = createFakeClock();
    let checks = 0;
    const registry = createRegistry({
      services: { s: { urls: ['http://a:1', 'http://b:1'] } },
      clock,
      logger,
      healthCheck: {
        check: async (endpoint) => {
          checks++;
          return endpoint.url !== 'http://a:1';
        },
        unhealthyThreshold: 1,
        jitter: 0,
      },
    });
    opened.push(registry);
    await clock.advance(0); // a fails its first check: logged
    expect(registry.inspect('s').healthyCount).toBe(1);
    await clock.advance(10_000);
    expect(checks).toBe(4);
    expect(await unhandled.settled()).toEqual([]);
  });

  it.each(loggers)(
    'a throwing subscriber does not fail the lookup that changed the list, when the logger %s',
    async (_, logger) => {
      const clock = createFakeClock();
      const registry = createRegistry({
        services: { s: custom(async () => [{ url: 'http://a:1' }]) },
        clock,
        logger,
      });
      opened.push(registry);
      registry.subscribe('s', () => {
        throw new Error('subscriber down');
      });
      const outcome = registry.ready('s').then(
        () => 'ready',
        (error: { code?: string }) => error.code,
      );
      await clock.advance(0);
      expect(await Promise.race([outcome, clock.advance(0).then(() => 'pending')])).toBe('ready');
      expect(registry.inspect('s')).toMatchObject({ state: 'ready', lastError: null, refreshes: 1 });
      expect(await unhandled.settled()).toEqual([]);
    },
  );
});

describe('a custom fetch that ignores its signal and never settles', () => {
  it.each([
    ['consul', (f: typeof fetch) => consul('api', { fetch: f }), 10_000, /no answer within 10000 ms/],
    ['etcd', (f: typeof fetch) => etcd('/s/', { fetch: f }), 5_000, /range timed out after 5000 ms/],
  ])('%s: the lookup fails at its time limit and is tried again', async (_, make, limit, message) => {
    const clock = createFakeClock();
    let requests = 0;
    const hanging = (() => {
      requests++;
      return new Promise(() => {});
    }) as unknown as typeof fetch;
    const registry = createRegistry({ services: { s: make(hanging) }, clock, jitter: 0 });
    opened.push(registry);
    const outcome = registry.ready('s').then(
      () => 'resolved',
      (error: Error) => error.message,
    );
    await clock.advance(limit);
    expect(await Promise.race([outcome, clock.advance(0).then(() => 'pending')])).toMatch(message);
    expect(registry.inspect('s').state).toBe('failed');
    await clock.advance(1_000); // minInterval: the first retry
    expect(requests).toBe(2);
    // The retry hangs too: close() ends it.
    const during = registry.refresh('s').then(
      () => 'resolved',
      (error: { code?: string }) => error.code,
    );
    registry.close();
    expect(await Promise.race([during, clock.advance(0).then(() => 'pending')])).toBe('ERR_NO_ENDPOINTS');
  });
});

describe('a subscriber reading the registry while it is told of a change', () => {
  it('sees the lookup that made the change counted: ready, not pending or stale with the last failure', async () => {
    const clock = createFakeClock();
    const answers = [['http://a:1'], new Error('down'), ['http://b:1']];
    const registry = createRegistry({
      services: {
        s: custom(async () => {
          const answer = answers.shift();
          if (answer instanceof Error) throw answer;
          return (answer as string[]).map((url) => ({ url }));
        }),
      },
      clock,
    });
    opened.push(registry);
    const seen: unknown[] = [];
    registry.subscribe('s', (endpoints) => {
      const { state, refreshes, lastError, updatedAt } = registry.inspect('s');
      seen.push({ urls: endpoints.map((e) => e.url), state, refreshes, lastError, updatedAt });
    });
    await registry.ready('s');
    await expect(registry.refresh('s')).rejects.toThrow('down');
    await registry.refresh('s');
    expect(seen).toEqual([
      { urls: ['http://a:1'], state: 'ready', refreshes: 1, lastError: null, updatedAt: 0 },
      { urls: ['http://b:1'], state: 'ready', refreshes: 2, lastError: null, updatedAt: 0 },
    ]);
  });
});

describe("a custom source's resolve() that throws synchronously", () => {
  it('fails that lookup only: the source is asked again after the backoff, as when it rejects', async () => {
    const clock = createFakeClock();
    let calls = 0;
    const source: Source = {
      kind: 'custom',
      description: 'test',
      open: () => ({
        resolve: () => {
          calls++;
          if (calls === 1) throw new Error('not yet');
          return Promise.resolve({ endpoints: [{ url: 'http://a:1' }] });
        },
      }),
    };
    const registry = createRegistry({ services: { s: source }, clock, jitter: 0 });
    opened.push(registry);
    await expect(registry.ready('s')).rejects.toThrow('not yet');
    await clock.advance(1_000); // minInterval: the retry
    expect(calls).toBe(2);
    expect(registry.inspect('s')).toMatchObject({ state: 'ready', refreshes: 1, consecutiveErrors: 0 });
    await registry.refresh('s');
    expect(calls).toBe(3);
  });
});

describe('long runs stay bounded (fake clock)', () => {
  it('10,000 lookups over 100,000 distinct endpoints keep 10 endpoints and one timer per check', async () => {
    const clock = createFakeClock();
    let n = 0;
    const registry = createRegistry({
      services: {
        s: {
          kind: 'custom',
          description: 'churn',
          open: () => ({
            resolve: async () => ({
              endpoints: Array.from({ length: 10 }, () => ({ url: `http://h${n++}:80` })),
              ttlMs: 1000,
            }),
          }),
        },
      },
      clock,
      jitter: 0,
      balancer: 'peak-ewma',
      healthCheck: { check: async () => true, jitter: 0 },
      outlierDetection: { interval: 500, consecutive5xx: 1, maxEjectionPercent: 100 },
    });
    opened.push(registry);
    await registry.ready('s');
    for (let i = 0; i < 10_000; i++) {
      registry.report(registry.pick('s'), { ok: false, latencyMs: 5, status: 500 }); // an ejection each time
      registry.subscribe('s', () => {})();
      await clock.advance(1000);
    }
    expect(n).toBe(100_010);
    expect(registry.endpoints('s')).toHaveLength(10);
    expect(registry.inspect('s').endpoints).toHaveLength(10);
    expect(clock.pendingTimers).toBe(12); // the refresh, the sweep, one health check per endpoint
    registry.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('10,000 Consul blocking queries leave no listener on the registry signal and two timers', async () => {
    const clock = createFakeClock();
    let index = 1;
    const fetchStub = (async () => {
      index++;
      const address = `10.0.${(index >> 8) & 255}.${index & 255}`;
      const body = [{ Node: { Node: 'n', Address: address }, Service: { ID: `x${index}`, Port: 80 } }];
      return new Response(JSON.stringify(body), { headers: { 'x-consul-index': String(index) } });
    }) as typeof fetch;
    const { source, context } = opening(consul('api', { fetch: fetchStub, token: 'secret-token' }));
    const registry = createRegistry({ services: { s: source }, clock });
    opened.push(registry);
    await registry.ready('s');
    for (let i = 0; i < 10_000; i++) await clock.advance(1000);
    expect(index).toBe(10_002);
    expect(listeners(context().signal)).toBe(0);
    expect(clock.pendingTimers).toBe(2); // the next query (minInterval) and the sweep
    expect(registry.endpoints('s')).toHaveLength(1);
  });

  it('10,000 etcd watch events keep two listeners on the registry signal and the live keys only', async () => {
    const clock = createFakeClock();
    const encoder = new TextEncoder();
    let push = (_: string): void => {};
    let watches = 0;
    const fetchStub = (async (input: string) => {
      if (input.endsWith('/v3/kv/range'))
        return new Response(
          JSON.stringify({
            header: { revision: '1' },
            kvs: [{ key: b64('/s/a'), value: b64('http://10.0.0.1:80') }],
          }),
        );
      watches++;
      return new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            push = (text) => controller.enqueue(encoder.encode(text));
          },
        }),
      );
    }) as unknown as typeof fetch;
    const { source, context } = opening(etcd('/s/', { fetch: fetchStub }));
    const registry = createRegistry({ services: { s: source }, clock, minInterval: 0 });
    opened.push(registry);
    await registry.ready('s');
    await clock.advance(0);
    for (let i = 0; i < 10_000; i++) {
      const url = `http://10.1.${(i >> 8) & 255}.${i & 255}:80`;
      const events = [{ type: 'PUT', kv: { key: b64(`/s/k${i}`), value: b64(url) } }];
      if (i > 0) events.push({ type: 'DELETE', kv: { key: b64(`/s/k${i - 1}`) } } as never);
      push(`${JSON.stringify({ result: { events } })}\n`);
      await clock.advance(1);
    }
    expect(watches).toBe(1);
    expect(registry.endpoints('s').map((e) => e.url)).toEqual(['http://10.0.0.1:80', 'http://10.1.39.15:80']);
    expect(listeners(context().signal)).toBe(2); // the watch's and the lookup waiting on it
    expect(clock.pendingTimers).toBe(2); // the resync and the sweep
  });
});

describe('a token quoted by a failing custom fetch (a wrapper that quotes its request headers)', () => {
  const TOKEN = 'tok-5ecret-9f2c';
  const quoting = (init?: RequestInit): never => {
    throw new TypeError(`request failed with headers ${JSON.stringify(init?.headers)}`);
  };
  const range = new Response(
    JSON.stringify({
      header: { revision: '1' },
      kvs: [{ key: b64('/s/a'), value: b64('http://10.0.0.1:80') }],
    }),
  );
  it.each([
    ['consul', consul('api', { token: TOKEN, fetch: async (_, init) => quoting(init) })],
    ['an etcd range', etcd('/s/', { token: TOKEN, fetch: async (_, init) => quoting(init) })],
    [
      'an etcd watch',
      etcd('/s/', {
        token: TOKEN,
        fetch: async (input, init) => (String(input).endsWith('/v3/kv/range') ? range : quoting(init)),
      }),
    ],
  ])('is masked in the error of %s, in ready(), refresh() and inspect()', async (_, source) => {
    const clock = createFakeClock();
    const registry = createRegistry({ services: { s: source }, clock, minInterval: 0 });
    opened.push(registry);
    const failure = await registry
      .ready('s')
      .then(() => registry.refresh('s'))
      .catch((error: Error) => error);
    expect(failure).toBeInstanceOf(Error);
    const shown = JSON.stringify([(failure as Error).message, registry.inspect('s')]);
    expect(shown).toContain('request failed');
    expect(shown).not.toContain(TOKEN);
  });
});

describe("httpCheck: credentials of the endpoint's URL quoted by a failing custom fetch", () => {
  it('are masked in inspect(): the Basic value sent for them is not shown', async () => {
    const clock = createFakeClock();
    const basic = Buffer.from('admin:hunter2').toString('base64');
    const registry = createRegistry({
      services: { s: 'http://admin:hunter2@10.0.0.5:8080' },
      clock,
      healthCheck: {
        check: httpCheck({
          fetch: async (_, init) => {
            throw new TypeError(`request failed with headers ${JSON.stringify(init?.headers)}`);
          },
        }),
        unhealthyThreshold: 1,
      },
    });
    opened.push(registry);
    await clock.advance(0);
    const { health } = registry.inspect('s').endpoints[0] as { health: { lastError: string | null } };
    expect(health.lastError).toContain('request failed');
    expect(health.lastError).not.toContain(basic);
  });
});
