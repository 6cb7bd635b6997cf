/**
 * Review round 41: what Stryker's surviving mutants of src/registry.ts (lines 451-817) changed without a test
 * noticing, and the open question of review 40: the closed check right after a lookup's answer is reachable (close()
 * a few microtasks after the source answered; its test fails without the line). Each test was seen failing on the
 * mutants it pins (applied by hand) and passing on the code as it is. Time is a fake clock.
 */
import type { Logger } from '@integ/core';
import {
  type Balancer,
  type CallOutcome,
  createRegistry,
  type Endpoint,
  type EndpointLoad,
  type RegistryOptions,
  type Snapshot,
  type Source,
} from '@integ/discovery';
import { createFakeClock, drain } from '@integ/testing';
import { describe, expect, it } from 'vitest';
import { listeners, refusal } from './internal/test-servers.js';

/** A source whose lookups wait for the test: `answer()` or `fail()` settles the oldest one waiting. */
function deferredSource(): {
  source: Source;
  answer: (snapshot: Snapshot) => void;
  fail: (error: Error) => void;
} {
  const waiting: { resolve: (snapshot: Snapshot) => void; reject: (error: Error) => void }[] = [];
  const source: Source = {
    kind: 'test',
    description: 'a test source',
    open: () => ({
      resolve: () => new Promise<Snapshot>((resolve, reject) => waiting.push({ resolve, reject })),
    }),
  };
  return {
    source,
    answer: (snapshot) => waiting.shift()?.resolve(snapshot),
    fail: (error) => waiting.shift()?.reject(error),
  };
}

/** Runs `fn` after `ticks` microtasks. */
function afterTicks(ticks: number, fn: () => void): void {
  if (ticks === 0) fn();
  else queueMicrotask(() => afterTicks(ticks - 1, fn));
}

describe('close() while an answer is on its way in', () => {
  // Review 40's open question: the registry checks `closed` again right after a lookup's answer. close() can land
  // there: the answer has settled the lookup (close() no longer rejects it), its continuation not yet run. Closed
  // a few microtasks after the source answers, at every depth, the answer is dropped.
  it('drops an answer whose continuation runs after close(), at any microtask after the source answered', async () => {
    for (let ticks = 0; ticks < 12; ticks++) {
      const { source, answer } = deferredSource();
      const registry = createRegistry({ services: { api: { source } }, clock: createFakeClock() });
      // Whether the registry was closed when each change was heard.
      const heard: boolean[] = [];
      let closed = false;
      registry.subscribe('api', () => heard.push(closed));
      await Promise.resolve();
      answer({ endpoints: [{ url: 'http://10.0.0.1:80' }] });
      afterTicks(ticks, () => {
        closed = true;
        registry.close();
      });
      for (let i = 0; i < 20; i++) await Promise.resolve();
      const { refreshes, state } = registry.inspect('api');
      // Taken in before close() (heard, counted), or dropped: never taken in after it.
      expect({ ticks, heard, refreshes, state, endpoints: registry.endpoints('api').length }).toEqual(
        heard.length === 0
          ? { ticks, heard, refreshes: 0, state: 'pending', endpoints: 0 }
          : { ticks, heard: [false], refreshes: 1, state: 'ready', endpoints: 1 },
      );
    }
  });
});

describe('inspect()', () => {
  /** Three endpoints, two in tier 0 and one in tier 1, health-checked every second by `up`. */
  async function tiers(up: Set<string>, options: { panicThreshold?: number } = {}) {
    const clock = createFakeClock({ now: Date.UTC(2026, 0, 1) });
    const source: Source = {
      kind: 'test',
      description: 'three endpoints in two tiers',
      endpoints: [
        { url: 'http://a.test', priority: 0 },
        { url: 'http://b.test', priority: 0, hostname: 'b' },
        { url: 'http://c.test', priority: 1 },
      ],
    };
    const registry = createRegistry({
      services: { api: { source } },
      clock,
      healthCheck: {
        check: async (endpoint) => up.has(endpoint.url),
        interval: 1000,
        timeout: 500,
        jitter: 0,
        healthyThreshold: 1,
        unhealthyThreshold: 1,
      },
      outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100, baseEjectionTime: 30_000 },
      ...options,
    });
    await clock.advance(0);
    return { registry, clock };
  }
  const view = (registry: ReturnType<typeof createRegistry>) => {
    const { endpoints, summary, panic, healthyCount } = registry.inspect('api');
    return {
      summary,
      panic,
      healthyCount,
      endpoints: endpoints.map((e) => [e.url, e.eligible, e.healthy, e.health.status, e.reasons]),
    };
  };

  it('says why each endpoint is or is not picked: health, tiers, panic and ejection', async () => {
    const up = new Set(['http://b.test', 'http://c.test']);
    const { registry, clock } = await tiers(up);
    expect(view(registry)).toEqual({
      summary: 'api: ready, 3 endpoint(s), 1 eligible via round-robin',
      panic: false,
      healthyCount: 2,
      endpoints: [
        [
          'http://a.test',
          false,
          false,
          'unhealthy',
          ['failing active health checks (1 in a row: check returned false)'],
        ],
        ['http://b.test', true, true, 'healthy', ['healthy']],
        [
          'http://c.test',
          false,
          true,
          'healthy',
          ['another priority tier serves (tiers are tried in order)'],
        ],
      ],
    });
    up.delete('http://b.test');
    await clock.advance(1000);
    expect(view(registry).endpoints.map((e) => e.slice(1))).toEqual([
      [false, false, 'unhealthy', ['failing active health checks (2 in a row: check returned false)']],
      [false, false, 'unhealthy', ['failing active health checks (1 in a row: check returned false)']],
      [true, true, 'healthy', ['healthy']],
    ]);
    up.delete('http://c.test');
    await clock.advance(1000);
    expect(view(registry)).toEqual({
      summary:
        'api: ready, 3 endpoint(s), 2 eligible via round-robin; panic mode (no priority tier 50% healthy)',
      panic: true,
      healthyCount: 0,
      endpoints: [
        [
          'http://a.test',
          true,
          false,
          'unhealthy',
          [
            'failing active health checks (3 in a row: check returned false)',
            'picked despite its health: panic threshold in force',
          ],
        ],
        [
          'http://b.test',
          true,
          false,
          'unhealthy',
          [
            'failing active health checks (2 in a row: check returned false)',
            'picked despite its health: panic threshold in force',
          ],
        ],
        [
          'http://c.test',
          false,
          false,
          'unhealthy',
          ['failing active health checks (1 in a row: check returned false)'],
        ],
      ],
    });
    up.add('http://a.test');
    up.add('http://b.test');
    await clock.advance(1000);
    const b = registry.endpoints('api')[1] as Endpoint;
    registry.report(b, { ok: false, latencyMs: 1, status: 503 });
    const until = new Date(clock.now() + 30_000).toISOString();
    expect(view(registry).endpoints.slice(0, 2)).toEqual([
      ['http://a.test', true, true, 'healthy', ['healthy']],
      [
        'http://b.test',
        false,
        false,
        'healthy',
        [`ejected by outlier detection (consecutive-5xx) until ${until}`],
      ],
    ]);
    registry.close();
  });
});

/** A logger recording `[level, fields, message]` of every line. */
function levelLogger(): { logger: Logger; lines: [string, unknown, unknown][] } {
  const lines: [string, unknown, unknown][] = [];
  const at =
    (level: string) =>
    (fields: unknown, message?: unknown): void => {
      lines.push([level, fields, message]);
    };
  return { logger: { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') }, lines };
}

describe('active health checks', () => {
  it('times a check out after `timeout`, counts it as a failure and logs the endpoint without its password', async () => {
    const clock = createFakeClock();
    const { logger, lines } = levelLogger();
    const signals: AbortSignal[] = [];
    const registry = createRegistry({
      services: { api: { urls: ['http://user:secret@a.test'] } },
      clock,
      logger,
      healthCheck: {
        check: (_endpoint, { signal }) => {
          signals.push(signal);
          return new Promise<boolean>(() => {});
        },
        interval: 1000,
        timeout: 300,
        jitter: 0,
        unhealthyThreshold: 2,
      },
    });
    await clock.advance(299);
    expect(registry.inspect('api').endpoints[0]?.health).toMatchObject({
      status: 'unchecked',
      consecutiveFailures: 0,
    });
    await clock.advance(1);
    expect(signals[0]?.reason).toMatchObject({ code: 'ERR_TIMEOUT' });
    // The registry's listener on the check's signal went with the abort.
    expect(listeners(signals[0] as AbortSignal)).toBe(0);
    expect(registry.inspect('api').endpoints[0]).toMatchObject({
      healthy: true,
      health: { status: 'healthy', consecutiveFailures: 1, lastCheckAt: 300 },
    });
    expect(lines).toEqual([]);
    // The next check starts `interval` after the last one ended, and its timeout makes the second failure in a row.
    await clock.advance(1299);
    expect(registry.inspect('api').endpoints[0]?.health.consecutiveFailures).toBe(1);
    await clock.advance(1);
    expect(registry.inspect('api').endpoints[0]).toMatchObject({
      healthy: false,
      health: {
        status: 'unhealthy',
        consecutiveFailures: 2,
        lastCheckAt: 1600,
        lastError:
          'health check of http://***@a.test/ timed out after 300 ms; allow more time or make it faster',
      },
    });
    expect(lines).toEqual([
      ['warn', { service: 'api', url: 'http://***@a.test/' }, 'endpoint failed its health check'],
    ]);
    registry.close();
  });

  it('checks again `interval` x (1 + jitter x random) later, and takes an endpoint back after healthyThreshold passes', async () => {
    const clock = createFakeClock();
    let up = false;
    const registry = createRegistry({
      services: { api: { urls: ['http://a.test'] } },
      clock,
      random: () => 0.5,
      healthCheck: {
        check: async () => up,
        interval: 1000,
        jitter: 0.5,
        healthyThreshold: 2,
        unhealthyThreshold: 1,
      },
    });
    const health = () => {
      const [endpoint] = registry.inspect('api').endpoints;
      return [endpoint?.healthy, endpoint?.health.consecutiveSuccesses, endpoint?.health.consecutiveFailures];
    };
    await clock.advance(0);
    expect(health()).toEqual([false, 0, 1]);
    up = true;
    await clock.advance(1249);
    expect(health()).toEqual([false, 0, 1]);
    await clock.advance(1);
    expect(health()).toEqual([false, 1, 0]);
    await clock.advance(1250);
    expect(health()).toEqual([true, 2, 0]);
    up = false;
    await clock.advance(1250);
    expect(health()).toEqual([false, 0, 1]);
    registry.close();
  });
});

describe('createRegistry() and report() refusals', () => {
  it('name the setting and say what it takes', () => {
    const registry = createRegistry({ services: { api: 'http://a.test' } });
    const endpoint = registry.pick('api');
    const report = (e: unknown, outcome: unknown) => () =>
      registry.report(e as Endpoint, outcome as CallOutcome);
    const create = (options: unknown) => () => createRegistry(options as RegistryOptions);
    const expected = (setting: string, what: string, received: string) =>
      `Invalid ${setting}: expected ${what}, received ${received}`;
    const table: [() => unknown, string][] = [
      [create(null), expected('services', 'an object of service configs', 'undefined')],
      [create({ services: null }), expected('services', 'an object of service configs', 'null')],
      [
        create({ services: {}, clock: { now: () => 0 } }),
        expected('clock', 'a Clock ({ now, setTimeout, clearTimeout })', 'an object'),
      ],
      [create({ services: {}, random: 5 }), expected('random', 'a function returning [0, 1)', '5')],
      [
        create({ services: {}, logger: { info() {} } }),
        expected('logger', 'a pino-style logger ({ debug, info, warn, error })', 'an object'),
      ],
      [
        create({ services: { api: 5 } }),
        expected('services.api', '{ url }, { urls }, a URL string or a source', '5'),
      ],
      [
        create({ services: { api: {} } }),
        expected('services.api', '{ url }, { urls }, a URL string or a source', 'an object'),
      ],
      [
        create({ services: { api: { urls: 'x' } } }),
        expected('services.api.urls', 'a non-empty array of URLs', 'a string'),
      ],
      [
        report(null, { ok: true, latencyMs: 1 }),
        expected('report endpoint', 'an endpoint returned by pick()', 'null'),
      ],
      [
        report({ url: 'http://a.test' }, { ok: true, latencyMs: 1 }),
        expected('report endpoint', 'an endpoint returned by pick()', 'an object'),
      ],
      [report(endpoint, null), expected('report outcome', '{ ok: boolean, latencyMs: number }', 'null')],
      [
        report(endpoint, { ok: 1, latencyMs: 1 }),
        expected('report outcome', '{ ok: boolean, latencyMs: number }', 'an object'),
      ],
      [
        report(endpoint, { ok: true, latencyMs: -1 }),
        expected('report outcome.latencyMs', 'a finite number >= 0', '-1'),
      ],
      [
        report(endpoint, { ok: true, latencyMs: Number.POSITIVE_INFINITY }),
        expected('report outcome.latencyMs', 'a finite number >= 0', 'Infinity'),
      ],
      ...[99, 1000, 200.5].map((status): [() => unknown, string] => [
        report(endpoint, { ok: true, latencyMs: 1, status }),
        expected('report outcome.status', 'an HTTP status code (100-999) or undefined', String(status)),
      ]),
    ];
    for (const [make, message] of table) expect(refusal(make).message).toBe(message);
    for (const status of [100, 999])
      expect(registry.report(endpoint, { ok: true, latencyMs: 0, status })).toBeUndefined();
    expect(registry.report(endpoint, { ok: true, latencyMs: 0 })).toBeUndefined();
    registry.close();
  });
});

/** A source whose n-th lookup (from 0) answers `answer(n)`: a snapshot, or a throw for a failed lookup. */
function scripted(answer: (n: number) => Snapshot): Source {
  let n = 0;
  return {
    kind: 'test',
    description: 'a scripted source',
    open: () => ({ resolve: async () => answer(n++) }),
  };
}

/** A registry of one service `api` on `source`, on a fake clock; `heard` records what subscribers were given. */
async function one(source: Source, options: Partial<RegistryOptions> = {}) {
  const { logger, lines } = levelLogger();
  const registry = createRegistry({
    services: { api: { source } },
    clock: createFakeClock(),
    logger,
    ...options,
  });
  const heard: string[][] = [];
  registry.subscribe('api', (endpoints) => heard.push(endpoints.map((e) => `${e.url} ${e.weight}`)));
  await drain();
  return { registry, heard, lines };
}

describe('taking an answer in', () => {
  it('tells subscribers of a change only: not of the same answer again, of a new weight yes', async () => {
    const weights = [1, 1, 2];
    const { registry, heard } = await one(
      scripted((n) => ({ endpoints: [{ url: 'http://a.test', weight: weights[n] as number }] })),
    );
    await registry.refresh('api');
    expect(heard).toEqual([['http://a.test 1']]);
    await registry.refresh('api');
    expect(heard).toEqual([['http://a.test 1'], ['http://a.test 2']]);
    expect(registry.endpoints('api')[0]?.weight).toBe(2);
    registry.close();
  });

  it('recovers from an answer it could not take in halfway (a getter that throws): the next answer is served', async () => {
    const { registry, heard } = await one(
      scripted((n) => ({
        endpoints: [
          { url: 'http://a.test' },
          ...(n === 0
            ? [
                Object.defineProperty({ url: 'http://b.test' }, 'priority', {
                  get() {
                    throw new Error('unreadable');
                  },
                }),
              ]
            : []),
        ],
      })),
    );
    expect(registry.inspect('api')).toMatchObject({ state: 'failed', endpoints: [] });
    await registry.refresh('api');
    expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://a.test']);
    expect(registry.url('api')).toBe('http://a.test');
    expect(heard).toEqual([['http://a.test 1']]);
    registry.close();
  });

  it('logs one warn for an answer with both invalid and cut entries', async () => {
    const { registry, lines } = await one(
      scripted(() => ({
        endpoints: [{ url: 'http://a.test' }, { url: 'http://b.test' }, { url: 'not a url' }],
      })),
      { maxEndpoints: 1 },
    );
    expect(lines).toEqual([
      [
        'warn',
        { service: 'api', source: 'test', kept: 1, invalid: 1, cut: 1 },
        'discovery answer: invalid URLs skipped, or cut to maxEndpoints',
      ],
    ]);
    registry.close();
  });

  it('logs a lookup failure as stale once endpoints are known', async () => {
    const { registry, lines } = await one(
      scripted((n) => {
        if (n > 0) throw new Error('down');
        return { endpoints: [{ url: 'http://a.test' }] };
      }),
    );
    await registry.refresh('api').catch(() => {});
    expect(lines).toEqual([
      [
        'warn',
        { service: 'api', source: 'test', code: 'ERR_DISCOVERY_SOURCE', stale: true },
        'discovery source failed; serving the last known endpoints',
      ],
    ]);
    registry.close();
  });

  it('logs a subscriber that throws, its message masked, and still tells the next one', async () => {
    const { registry, heard, lines } = await one(
      scripted((n) => ({ endpoints: n === 0 ? [] : [{ url: 'http://a.test' }] })),
    );
    registry.subscribe('api', () => {
      throw new Error('failed at http://user:secret@a.test');
    });
    const after: number[] = [];
    registry.subscribe('api', (endpoints) => after.push(endpoints.length));
    await registry.refresh('api');
    expect([heard, after]).toEqual([[['http://a.test 1']], [1]]);
    expect(lines).toEqual([
      ['error', { service: 'api', err: 'failed at http://***@a.test/' }, 'subscriber threw'],
    ]);
    registry.close();
  });
});

describe('ready(name, { signal })', () => {
  it('takes its abort listener off the signal once settled: answered, failed or aborted', async () => {
    const [ok, bad] = [deferredSource(), deferredSource()];
    const registry = createRegistry({
      services: { ok: { source: ok.source }, bad: { source: bad.source } },
      clock: createFakeClock(),
    });
    const signals = [new AbortController(), new AbortController(), new AbortController()];
    const waits = signals.map((c, i) => registry.ready(i < 2 ? 'ok' : 'bad', { signal: c.signal }));
    for (const wait of waits) wait.catch(() => {});
    expect(signals.map((c) => listeners(c.signal))).toEqual([1, 1, 1]);
    signals[1]?.abort(new Error('gave up'));
    await expect(waits[1]).rejects.toThrow('gave up');
    ok.answer({ endpoints: [{ url: 'http://a.test' }] });
    bad.fail(new Error('down'));
    await waits[0];
    await expect(waits[2]).rejects.toThrow('down');
    expect(signals.map((c) => listeners(c.signal))).toEqual([0, 0, 0]);
    registry.close();
  });

  it('refuses a signal that is not one', async () => {
    const registry = createRegistry({ services: { api: { source: deferredSource().source } } });
    await expect(registry.ready('api', { signal: {} as AbortSignal })).rejects.toThrow(
      'Invalid signal: expected an AbortSignal, received an object',
    );
    registry.close();
  });
});

describe('candidates and pick()', () => {
  it('in panic, serves the first tier with a healthy endpoint, not the first tier', async () => {
    const clock = createFakeClock();
    const up = new Set(['http://c.test']);
    const source: Source = {
      kind: 'test',
      description: 'two tiers',
      endpoints: [
        { url: 'http://a.test', priority: 0 },
        { url: 'http://b.test', priority: 1 },
        { url: 'http://c.test', priority: 1 },
        { url: 'http://d.test', priority: 1 },
      ],
    };
    const registry = createRegistry({
      services: { api: { source } },
      clock,
      healthCheck: { check: async (e) => up.has(e.url), unhealthyThreshold: 1 },
    });
    await clock.advance(0);
    const view = registry.inspect('api');
    expect([view.panic, view.endpoints.map((e) => e.eligible)]).toEqual([true, [false, true, true, true]]);
    registry.close();
  });

  it('says an empty service is empty, and in no panic', async () => {
    const { registry } = await one(scripted(() => ({ endpoints: [] })));
    const view = registry.inspect('api');
    expect([view.panic, view.summary]).toEqual([
      false,
      'api: ready, 0 endpoint(s), 0 eligible via round-robin',
    ]);
    expect(() => registry.pick('api')).toThrow(
      /^No endpoint for service "api": its source returned no endpoints$/,
    );
    registry.close();
  });

  /** A balancer named `mine` answering `pick`, without observe(). */
  const balancer = (pick: Balancer['pick']) => () => ({ name: 'mine', pick });

  it('does not ask the balancer when one endpoint is left', () => {
    const registry = createRegistry({
      services: { api: { urls: ['http://a.test'] } },
      balancer: balancer(() => {
        throw new Error('asked');
      }),
    });
    expect(registry.pick('api').url).toBe('http://a.test');
    registry.close();
  });

  it('refuses an answer of the balancer that is no endpoint of the service', () => {
    const registry = createRegistry({
      services: { api: { urls: ['http://a.test', 'http://b.test'] } },
      balancer: balancer(
        (candidates) => ({ ...candidates[0], endpoint: { url: 'http://a.test' } }) as unknown as EndpointLoad,
      ),
    });
    expect(() => registry.pick('api')).toThrow(
      'api: balancer mine pick() failed: answered no endpoint of the service',
    );
    registry.close();
  });

  it('reports to a balancer without observe() with nothing logged', () => {
    const { logger, lines } = levelLogger();
    const registry = createRegistry({
      services: { api: { urls: ['http://a.test', 'http://b.test'] } },
      logger,
      balancer: balancer((candidates) => candidates[1] as EndpointLoad),
    });
    const endpoint = registry.pick('api');
    registry.report(endpoint, { ok: true, latencyMs: 5 });
    expect([endpoint.url, lines]).toEqual(['http://b.test', []]);
    registry.close();
  });
});

describe('refresh() and close()', () => {
  it('a refresh() whose lookup failed before close() rejects with that failure, counted yet or not', async () => {
    const closed = 'No endpoint for service "api": the registry was closed';
    const seen = new Set<string>();
    // close() from 0 to 11 microtasks after the source fails, queued before and after the failure: early, it ends
    // the lookup first; then it lands after the failure reached the lookup but before the registry counted it; then
    // after. The failure is reported in the last two cases.
    for (const first of [true, false])
      for (let ticks = 0; ticks < 12; ticks++) {
        const { source, fail } = deferredSource();
        const registry = createRegistry({ services: { api: { source } }, clock: createFakeClock() });
        await Promise.resolve();
        const refreshed = registry.refresh('api').then(
          () => 'resolved',
          (error: Error) => error.message,
        );
        if (first) afterTicks(ticks, () => registry.close());
        fail(new Error('down'));
        if (!first) afterTicks(ticks, () => registry.close());
        seen.add(`${await refreshed}, counted ${registry.inspect('api').consecutiveErrors}`);
      }
    expect([...seen].sort()).toEqual([
      `${closed}, counted 0`,
      'test: down, counted 0',
      'test: down, counted 1',
    ]);
  });
});

describe('timers and listeners after close()', () => {
  /** A logger that calls `then` (once set) on each warn. */
  function closingLogger(): { logger: Logger; then: { fn?: () => void } } {
    const then: { fn?: () => void } = {};
    const warn = (): void => then.fn?.();
    const none = (): void => {};
    return { logger: { debug: none, info: none, warn, error: none }, then };
  }

  it('schedules no health check when a logger closes the registry on the unhealthy warn', async () => {
    const clock = createFakeClock();
    const { logger, then } = closingLogger();
    const registry = createRegistry({
      services: { api: { urls: ['http://a.test'] } },
      clock,
      logger,
      outlierDetection: false,
      healthCheck: { check: async () => false, unhealthyThreshold: 1 },
    });
    then.fn = () => registry.close();
    await clock.advance(0);
    expect(registry.inspect('api').endpoints[0]?.healthy).toBe(false);
    expect(clock.pendingTimers).toBe(0);
  });

  it('schedules no sweep when a logger closes the registry on a sweep ejection', async () => {
    const clock = createFakeClock();
    const { logger, then } = closingLogger();
    const urls = Array.from({ length: 6 }, (_, i) => `http://10.0.0.${i}:80`);
    const registry = createRegistry({
      services: { api: { urls } },
      clock,
      logger,
      outlierDetection: { maxEjectionPercent: 50, consecutive5xx: false },
    });
    then.fn = () => registry.close();
    registry.endpoints('api').forEach((e, i) => {
      for (let n = 0; n < 200; n++)
        registry.report(e, { ok: true, latencyMs: 1, status: i === 5 && n % 2 ? 500 : 200 });
    });
    await clock.advance(10_000);
    expect(registry.inspect('api').endpoints[5]?.outlier.reason).toBe('success-rate');
    expect(clock.pendingTimers).toBe(0);
  });

  it('counts and logs nothing of a health check that ends after close()', async () => {
    const clock = createFakeClock();
    const { logger, lines } = levelLogger();
    const registry = createRegistry({
      services: { api: { urls: ['http://a.test'] } },
      clock,
      logger,
      healthCheck: { check: () => new Promise<boolean>(() => {}), unhealthyThreshold: 1 },
    });
    await clock.advance(0);
    registry.close();
    await clock.advance(0);
    expect([registry.inspect('api').endpoints[0]?.health, lines]).toEqual([
      {
        status: 'unchecked',
        consecutiveSuccesses: 0,
        consecutiveFailures: 0,
        lastCheckAt: null,
        lastError: null,
      },
      [],
    ]);
  });

  it('runs no health check after close() for an endpoint of an answer it could not take in', async () => {
    const clock = createFakeClock();
    const checked: number[] = [];
    const registry = createRegistry({
      services: {
        api: {
          source: scripted(() => ({
            endpoints: [
              { url: 'http://a.test' },
              Object.defineProperty({ url: 'http://b.test' }, 'priority', {
                get() {
                  throw new Error('unreadable');
                },
              }),
            ],
          })),
        },
      },
      clock,
      healthCheck: { check: async () => checked.push(clock.now()) > 0, interval: 1000, jitter: 0 },
    });
    await clock.advance(0);
    // Review 42: an answer turned down puts none of its entries in state, so a.test is not checked at all (it was
    // once, then by a timer close() did not stop).
    expect(checked).toEqual([]);
    registry.close();
    expect(clock.pendingTimers).toBe(0);
    await clock.advance(5000);
    expect(checked).toEqual([]);
  });
});

describe('ejections on a clock that stepped back', () => {
  it('logs and shows when an ejection ends on the clock as it reads now', async () => {
    const clock = createFakeClock({ now: 100_000 });
    const { logger, lines } = levelLogger();
    const registry = createRegistry({
      services: { api: { urls: ['http://a.test', 'http://b.test'] } },
      clock,
      logger,
      outlierDetection: { consecutive5xx: 1, maxEjectionPercent: 100 },
    });
    expect(registry.inspect('api').endpoints[0]?.outlier.ejectedUntil).toBeNull();
    clock.setWallClock(40_000);
    await clock.advance(1000);
    registry.report(registry.endpoints('api')[0] as Endpoint, { ok: false, latencyMs: 1, status: 503 });
    expect(lines).toEqual([
      [
        'warn',
        { service: 'api', url: 'http://a.test', reason: 'consecutive-5xx', until: 71_000 },
        'endpoint ejected',
      ],
    ]);
    expect(registry.inspect('api').endpoints[0]?.outlier.ejectedUntil).toBe(71_000);
    registry.close();
  });
});

describe('an endpoint changed in place', () => {
  it('is taken in and told for a change of meta, hostname or priority only, not for the same answer', async () => {
    const answers = [
      { meta: { x: '1' } },
      { meta: { x: '1' } },
      { meta: { x: '2' } },
      { meta: { x: '2', y: '3' } },
      { meta: { x: '2', y: '3' }, hostname: 'a' },
      { meta: { x: '2', y: '3' }, hostname: 'a', priority: 1 },
    ];
    const { registry, heard } = await one(
      scripted((n) => ({ endpoints: [{ url: 'http://a.test', ...answers[n] }] })),
    );
    const told = [heard.length];
    for (let i = 1; i < answers.length; i++) {
      await registry.refresh('api');
      told.push(heard.length);
    }
    expect(told).toEqual([1, 1, 2, 3, 4, 5]);
    expect(registry.endpoints('api')[0]).toMatchObject({
      meta: { x: '2', y: '3' },
      hostname: 'a',
      priority: 1,
    });
    registry.close();
  });
});
