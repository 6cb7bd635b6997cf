/**
 * Review round 24: re-entrancy and throwing user code at every callback point (subscribers, health checks, a
 * custom source's open()/resolve()/close(), balancers, the logger, a custom fetch), long runs on the fake clock
 * (refresh and watch cycles, endpoint churn) staying bounded, and secrets (Consul token, etcd token, URL
 * userinfo) kept out of errors, causes, log lines and inspect().
 */
import type { Logger } from '@integ/core';
import { consul, createRegistry, etcd, type Registry, type Source } from '@integ/discovery';
import { createFakeClock, trackUnhandledRejections, type UnhandledRejections } from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { calls, ejected } from './internal/test-outlier.js';

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
