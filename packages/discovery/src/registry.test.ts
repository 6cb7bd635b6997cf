import { isIntegError } from '@integ/core';
import {
  createRegistry,
  type Endpoint,
  fromEnv,
  InvalidUrlError,
  NoEndpointsError,
  type Snapshot,
  type Source,
  staticSource,
  UnknownServiceError,
} from '@integ/discovery';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

const urls = (n: number): string[] => Array.from({ length: n }, (_, i) => `http://10.0.0.${i + 1}:80`);

describe('createRegistry', () => {
  it('keeps the seed one-liner: env AUTH_SERVICE or the default', () => {
    const unset = createRegistry({
      services: { auth: fromEnv('AUTH_SERVICE', 'http://localhost:8001', { env: {} }) },
    });
    expect(unset.url('auth')).toBe('http://localhost:8001');
    const set = createRegistry({
      services: {
        auth: {
          url: fromEnv('AUTH_SERVICE', 'http://localhost:8001', {
            env: { AUTH_SERVICE: 'http://auth:9000' },
          }),
        },
      },
    });
    expect(set.url('auth')).toBe('http://auth:9000');
  });

  it('accepts { url } and { urls } in the seed shape', () => {
    const registry = createRegistry({
      services: { auth: { url: 'http://localhost:8001' }, api: { urls: urls(2) } },
    });
    expect(registry.url('auth')).toBe('http://localhost:8001');
    expect([registry.url('api'), registry.url('api'), registry.url('api')]).toEqual([
      'http://10.0.0.1:80',
      'http://10.0.0.2:80',
      'http://10.0.0.1:80',
    ]);
    expect(registry.pick('auth')).toMatchObject({
      url: 'http://localhost:8001',
      service: 'auth',
      weight: 1,
      priority: 0,
    });
  });

  it('reads a value of another type in fromEnv’s env (a parsed config, Workers bindings) as text, so a bad one is an InvalidUrlError naming the variable, not a TypeError', () => {
    const build = (value: unknown) =>
      createRegistry({
        services: {
          auth: fromEnv('AUTH_SERVICE', 'http://localhost:8001', { env: { AUTH_SERVICE: value as string } }),
        },
      });
    for (const value of [8001, true, { token: 's3cr3t' }]) {
      let error: unknown;
      try {
        build(value).close();
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidUrlError);
      expect((error as InvalidUrlError).variable).toBe('AUTH_SERVICE');
      expect((error as Error).message).not.toContain('s3cr3t');
    }
    // null (a JSON config's "unset") is unset: the default serves.
    expect(build(null).url('auth')).toBe('http://localhost:8001');
  });

  it('accepts fromEnv(variable, { default, env }) and reads process.env by default', () => {
    const registry = createRegistry({
      services: { auth: fromEnv('AUTH_SERVICE', { default: 'http://localhost:8001', env: {} }) },
    });
    expect(registry.url('auth')).toBe('http://localhost:8001');
    vi.stubEnv('INTEG_DISCOVERY_TEST_SERVICE', 'http://from-process-env:1');
    try {
      const fromProcess = createRegistry({ services: { integ_discovery_test: fromEnv() } });
      expect(fromProcess.url('integ_discovery_test')).toBe('http://from-process-env:1');
    } finally {
      vi.unstubAllEnvs();
    }
  });

  it('reads a comma list from the env and derives the variable name from the service', () => {
    const registry = createRegistry({
      services: { 'user-db': fromEnv({ env: { USER_DB_SERVICE: 'http://a:1, http://b:2' } }) },
    });
    expect(registry.endpoints('user-db').map((e) => e.url)).toEqual(['http://a:1', 'http://b:2']);
  });

  it('throws at startup naming the env var when its URL is invalid, without echoing the value', () => {
    const build = () =>
      createRegistry({
        services: {
          auth: fromEnv('AUTH_SERVICE', 'http://localhost:8001', {
            env: { AUTH_SERVICE: 'secret-token-not-a-url' },
          }),
        },
      });
    expect(build).toThrow(InvalidUrlError);
    try {
      build();
    } catch (error) {
      expect(isIntegError(error, 'ERR_INVALID_URL')).toBe(true);
      expect((error as InvalidUrlError).variable).toBe('AUTH_SERVICE');
      expect((error as Error).message).toContain('AUTH_SERVICE');
      expect((error as Error).message).not.toContain('secret-token');
    }
  });

  it('names the bad entry of a comma list and the config path of a static URL', () => {
    expect(() =>
      createRegistry({
        services: { a: fromEnv('A_URLS', undefined, { env: { A_URLS: 'http://ok:1,nope' } }) },
      }),
    ).toThrow(/A_URLS \(entry 2 of 2\)/);
    expect(() => createRegistry({ services: { a: { urls: ['http://ok:1', '::'] } } })).toThrow(
      /services\.a\.urls\[1\]/,
    );
    expect(() => createRegistry({ services: { a: fromEnv('MISSING_VAR', undefined, { env: {} }) } })).toThrow(
      /MISSING_VAR/,
    );
  });

  it('refuses a clock, random or logger of the wrong shape at once, naming the option', () => {
    const services = { a: 'http://a:1' };
    const fake = createFakeClock();
    const bad: [string, Record<string, unknown>][] = [
      ['clock', { clock: { now: () => 0 } }],
      ['clock', { clock: Date }],
      ['clock', { clock: null }],
      ['random', { random: 0.5 }],
      ['logger', { logger: { info: () => {} } }],
      ['logger', { logger: 'debug' }],
    ];
    for (const [argument, options] of bad)
      expect(() => createRegistry({ services, ...options })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument }),
      );
    const registry = createRegistry({ services, clock: fake, random: seededRandom(1), logger: console });
    expect(registry.url('a')).toBe('http://a:1');
    registry.close();
  });

  it('throws UnknownServiceError listing the known names', () => {
    const registry = createRegistry({ services: { auth: 'http://a:1', billing: 'http://b:1' } });
    expect(() => registry.url('auht')).toThrow(UnknownServiceError);
    expect(() => registry.pick('auht')).toThrow(/known services: auth, billing/);
    try {
      registry.url('x');
    } catch (error) {
      expect((error as UnknownServiceError).known).toEqual(['auth', 'billing']);
      expect((error as UnknownServiceError).code).toBe('ERR_UNKNOWN_SERVICE');
    }
  });

  it('names at most 10 known services in UnknownServiceError’s message, and all of them in known', () => {
    const names = Array.from({ length: 2000 }, (_, i) => `service-${String(i).padStart(4, '0')}`);
    const registry = createRegistry({
      services: Object.fromEntries(names.map((name) => [name, 'http://10.0.0.1:80'])),
    });
    let error: UnknownServiceError | undefined;
    try {
      registry.url('nope');
    } catch (err) {
      error = err as UnknownServiceError;
    }
    expect(error?.message).toBe(
      `Unknown service "nope"; known services: ${names.slice(0, 10).join(', ')}, and 1990 more. Add it to createRegistry({ services })`,
    );
    expect(error?.known).toEqual(names);
    const few = createRegistry({ services: { a: 'http://a:1', b: 'http://b:1' } });
    expect(() => few.url('c')).toThrow('known services: a, b. Add it');
    registry.close();
    few.close();
  });

  it('hands out service lists a caller cannot change for everyone else (services(), error.known)', () => {
    const registry = createRegistry({ services: { zeta: 'http://z:1', alpha: 'http://a:1' } });
    const vandalize = (list: readonly string[]): void => {
      for (const change of [
        () => (list as string[]).push('ghost'),
        () => (list as string[]).reverse(),
        () => {
          (list as string[]).length = 0;
        },
      ])
        try {
          change();
        } catch {
          // a frozen list refuses the change: that is the point
        }
    };
    vandalize(registry.services());
    expect(registry.services()).toEqual(['alpha', 'zeta']);
    try {
      registry.url('nope');
    } catch (error) {
      vandalize((error as UnknownServiceError).known);
    }
    expect(registry.services()).toEqual(['alpha', 'zeta']);
    expect(() => registry.url('ghost')).toThrow(/known services: alpha, zeta\./);
    registry.close();
  });
});

describe('registry.report and outlier detection', () => {
  it('ejects after 5 consecutive 5xx, for base x n each time, and brings the endpoint back', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(2) } },
      clock,
      random: seededRandom(1),
      outlierDetection: { interval: 1000, baseEjectionTime: 30_000, maxEjectionPercent: 50 },
    });
    const bad = registry.endpoints('api')[0] as Endpoint;
    const failFive = () => {
      for (let i = 0; i < 5; i++) registry.report(bad, { ok: false, latencyMs: 1, status: 503 });
    };
    failFive();
    expect(registry.inspect('api').endpoints[0]?.outlier).toMatchObject({
      ejected: true,
      reason: 'consecutive-5xx',
      ejections: 1,
    });
    for (let i = 0; i < 10; i++) expect(registry.url('api')).toBe('http://10.0.0.2:80');
    await clock.advance(29_000);
    expect(registry.inspect('api').endpoints[0]?.outlier.ejected).toBe(true);
    await clock.advance(1_000);
    expect(registry.inspect('api').endpoints[0]?.outlier.ejected).toBe(false);
    failFive();
    // Second ejection lasts 2 x base (the multiplier only decays while the endpoint stays in).
    expect(registry.inspect('api').endpoints[0]?.outlier.ejectedUntil).toBe(clock.now() + 60_000);
    registry.close();
  });

  it('shrinks the ejection multiplier by one per sweep spent in service, capped by maxEjectionTime', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(2) } },
      clock,
      outlierDetection: {
        interval: 1000,
        baseEjectionTime: 10_000,
        maxEjectionTime: 25_000,
        maxEjectionPercent: 50,
      },
    });
    const bad = registry.endpoints('api')[0] as Endpoint;
    const eject = () => {
      for (let i = 0; i < 5; i++) registry.report(bad, { ok: false, latencyMs: 1, status: 500 });
      return registry.inspect('api').endpoints[0]?.outlier;
    };
    expect(eject()?.ejectedUntil).toBe(10_000);
    await clock.advance(10_000);
    expect(eject()?.ejectedUntil).toBe(10_000 + 20_000);
    await clock.advance(20_000);
    expect(eject()).toMatchObject({ multiplier: 3, ejectedUntil: 30_000 + 25_000 }); // 3 x 10 s capped at 25 s
    await clock.advance(25_000);
    // Three sweeps in service bring the multiplier from 3 back to 0: the next ejection is base-long again.
    await clock.advance(3_000);
    expect(registry.inspect('api').endpoints[0]?.outlier.multiplier).toBe(0);
    expect(eject()?.ejectedUntil).toBe(clock.now() + 10_000);
    registry.close();
  });

  it('does not count 4xx or successes toward consecutive failures', () => {
    const registry = createRegistry({
      services: { api: { urls: urls(2) } },
      outlierDetection: { maxEjectionPercent: 50 },
    });
    const e = registry.endpoints('api')[0] as Endpoint;
    for (let i = 0; i < 4; i++) registry.report(e, { ok: false, latencyMs: 1, status: 500 });
    registry.report(e, { ok: false, latencyMs: 1, status: 404 });
    for (let i = 0; i < 4; i++) registry.report(e, { ok: false, latencyMs: 1 });
    expect(registry.inspect('api').endpoints[0]?.outlier.ejected).toBe(false);
    registry.report(e, { ok: false, latencyMs: 1 });
    expect(registry.inspect('api').endpoints[0]?.outlier.ejected).toBe(true);
    registry.close();
  });

  it('refuses a status that is no HTTP status (XHR’s 0 for a network error, -1, 1000): it read as a success, so a dead host was never ejected', () => {
    const caught = (fn: () => void): unknown => {
      try {
        fn();
      } catch (error) {
        return error;
      }
      return undefined;
    };
    fc.assert(
      fc.property(
        fc.oneof(fc.integer({ max: 99 }), fc.integer({ min: 1000 }), fc.constantFrom(0, -1, 1000)),
        (status) => {
          const registry = createRegistry({
            services: { api: { urls: urls(2) } },
            outlierDetection: { maxEjectionPercent: 50 },
          });
          const e = registry.endpoints('api')[0] as Endpoint;
          for (let i = 0; i < 4; i++) registry.report(e, { ok: false, latencyMs: 1, status: 503 });
          const error = caught(() => registry.report(e, { ok: false, latencyMs: 1, status }));
          expect(isIntegError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
          expect((error as Error).message).toMatch(/outcome\.status/);
          // It counted as nothing (no success resetting the streak): the fifth real 5xx ejects.
          registry.report(e, { ok: false, latencyMs: 1, status: 503 });
          expect(registry.inspect('api').endpoints[0]?.outlier.ejected).toBe(true);
          registry.close();
        },
      ),
      { seed: 20261124, numRuns: 200 },
    );
    // Every three-digit status is taken; from 500 up (a non-standard 9xx too) a server failure.
    const registry = createRegistry({
      services: { api: { urls: urls(2) } },
      outlierDetection: { maxEjectionPercent: 50 },
    });
    const e = registry.endpoints('api')[0] as Endpoint;
    for (const status of [100, 429, 499, 500, 503, 599, 999])
      registry.report(e, { ok: false, latencyMs: 1, status });
    expect(registry.inspect('api').endpoints[0]?.outlier.consecutiveFailures).toBe(4);
    registry.close();
  });

  it('ejects at most maxEjectionPercent of endpoints, but always at least one', () => {
    const registry = createRegistry({ services: { api: { urls: urls(10) } } });
    for (const e of registry.endpoints('api'))
      for (let i = 0; i < 5; i++) registry.report(e, { ok: false, latencyMs: 1, status: 500 });
    expect(registry.inspect('api').endpoints.filter((e) => e.outlier.ejected)).toHaveLength(1);
    registry.close();
  });

  it('ejects success-rate outliers on the interval sweep', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({ services: { api: { urls: urls(6) } }, clock, random: seededRandom(2) });
    const eps = registry.endpoints('api');
    eps.forEach((e, idx) => {
      for (let i = 0; i < 200; i++)
        registry.report(e, {
          ok: idx === 5 ? i % 2 === 0 : true,
          latencyMs: 1,
          status: idx === 5 && i % 2 ? 500 : 200,
        });
    });
    await clock.advance(10_000);
    const view = registry.inspect('api');
    expect(view.endpoints.map((e) => e.outlier.ejected)).toEqual([false, false, false, false, false, true]);
    expect(view.endpoints[5]?.outlier.reason).toBe('success-rate');
    expect(view.endpoints[5]?.reasons.join(' ')).toMatch(/success-rate/);
    registry.close();
  });

  it('leaves ejected endpoints out of the success-rate mean and stdev (as Envoy does), so one ejected host failing every call it still gets does not hide another outlier', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(7) } },
      clock,
      random: seededRandom(3),
      outlierDetection: { maxEjectionPercent: 50 },
    });
    const eps = registry.endpoints('api');
    const dead = eps[5] as (typeof eps)[number];
    for (let i = 0; i < 5; i++) registry.report(dead, { ok: false, latencyMs: 1, status: 500 });
    expect(registry.inspect('api').endpoints[5]?.outlier.reason).toBe('consecutive-5xx');
    // Calls picked before the ejection (or in panic mode) still report: the ejected host fails them all.
    eps.forEach((e, idx) => {
      for (let i = 0; i < 200; i++) {
        const ok = idx === 5 ? false : idx === 6 ? i % 5 !== 0 : true;
        registry.report(e, { ok, latencyMs: 1, status: ok ? 200 : 500 });
      }
    });
    await clock.advance(10_000);
    // Without the ejected host: rates 1 x 5 and 0.8, mean 0.967, stdev 0.075, threshold 0.825. With it (rate
    // 0), the threshold fell to 0.17 and the 80 % host stayed in.
    const view = registry.inspect('api');
    expect(view.endpoints.map((e) => e.outlier.reason)).toEqual([
      null,
      null,
      null,
      null,
      null,
      'consecutive-5xx',
      'success-rate',
    ]);
    registry.close();
  });

  it('does not count ejected endpoints toward successRateEjection.minimumHosts', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(5) } },
      clock,
      random: seededRandom(3),
      outlierDetection: {
        maxEjectionPercent: 50,
        successRateEjection: { minimumHosts: 5, requestVolume: 10 },
      },
    });
    const eps = registry.endpoints('api');
    for (let i = 0; i < 5; i++)
      registry.report(eps[0] as (typeof eps)[number], { ok: false, latencyMs: 1, status: 500 });
    eps.forEach((e, idx) => {
      for (let i = 0; i < 100; i++) {
        const ok = idx !== 4 || i % 5 !== 0;
        registry.report(e, { ok, latencyMs: 1, status: ok ? 200 : 500 });
      }
    });
    await clock.advance(10_000);
    // The ejected endpoint's later calls all succeed: counted as the fifth host, it made 80 % an outlier (mean
    // 0.95, threshold 0.803). Four in service have the volume: fewer than minimumHosts, no ejection.
    expect(registry.inspect('api').endpoints.map((e) => e.outlier.reason)).toEqual([
      'consecutive-5xx',
      null,
      null,
      null,
      null,
    ]);
    registry.close();
  });

  it('ejects failure-percentage outliers when enabled', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(5) } },
      clock,
      outlierDetection: {
        successRateEjection: false,
        failurePercentageEjection: { threshold: 50 },
        consecutive5xx: false,
        maxEjectionPercent: 100,
      },
    });
    const eps = registry.endpoints('api');
    eps.forEach((e, idx) => {
      for (let i = 0; i < 60; i++) registry.report(e, { ok: idx < 2 ? i % 3 === 0 : true, latencyMs: 1 });
    });
    await clock.advance(10_000);
    expect(registry.inspect('api').endpoints.map((e) => e.outlier.reason)).toEqual([
      'failure-percentage',
      'failure-percentage',
      null,
      null,
      null,
    ]);
    registry.close();
  });

  it('counts every endpoint, not only those with requestVolume calls, for failure-percentage minimumHosts (gRPC A50)', async () => {
    // A50: "If the number of addresses is less than failure_percentage_ejection.minimum_hosts, stop." (the
    // xDS field's text says the same; Envoy's code counts only hosts with the volume). Decision 0051: A50.
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(5) } },
      clock,
      outlierDetection: {
        successRateEjection: false,
        failurePercentageEjection: { threshold: 85, minimumHosts: 5, requestVolume: 50 },
        consecutive5xx: false,
        maxEjectionPercent: 100,
      },
    });
    const failing = registry.endpoints('api')[0] as Endpoint;
    for (let i = 0; i < 50; i++) registry.report(failing, { ok: false, latencyMs: 1, status: 503 });
    await clock.advance(10_000);
    expect(registry.inspect('api').endpoints.map((e) => e.outlier.reason)).toEqual([
      'failure-percentage',
      null,
      null,
      null,
      null,
    ]);
    registry.close();
  });

  it('validates report() input', () => {
    const registry = createRegistry({ services: { a: 'http://a:1' } });
    const e = registry.pick('a');
    expect(() => registry.report(e, { ok: true, latencyMs: -1 })).toThrow(/latencyMs/);
    expect(() => registry.report(e, { ok: true, latencyMs: Number.NaN })).toThrow(/latencyMs/);
  });
});

describe('panic threshold', () => {
  it('balances across every endpoint when fewer than 50% are healthy', async () => {
    const clock = createFakeClock();
    let healthy = new Set(urls(4));
    const registry = createRegistry({
      services: { api: { urls: urls(4) } },
      clock,
      random: seededRandom(3),
      healthCheck: {
        check: async (e) => healthy.has(e.url),
        interval: 1000,
        unhealthyThreshold: 1,
        jitter: 0,
      },
    });
    healthy = new Set(urls(4).slice(0, 2));
    await clock.advance(1);
    expect(registry.inspect('api').panic).toBe(false);
    expect(new Set(Array.from({ length: 8 }, () => registry.url('api')))).toEqual(
      new Set(urls(4).slice(0, 2)),
    );
    healthy = new Set(urls(4).slice(0, 1));
    await clock.advance(1000);
    const view = registry.inspect('api');
    expect(view.panic).toBe(true);
    expect(view.summary).toMatch(/panic/);
    expect(new Set(Array.from({ length: 8 }, () => registry.url('api'))).size).toBe(4);
    registry.close();
  });

  it('with panicThreshold 0, throws NoEndpointsError when nothing is healthy', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(2), panicThreshold: 0 } },
      clock,
      healthCheck: { check: async () => false, interval: 1000, unhealthyThreshold: 2 },
    });
    await clock.advance(1);
    expect(registry.url('api')).toBeDefined();
    await clock.advance(1200);
    expect(() => registry.url('api')).toThrow(NoEndpointsError);
    try {
      registry.url('api');
    } catch (error) {
      expect((error as NoEndpointsError).reason).toBe('unhealthy');
    }
    registry.close();
  });
});

describe('active health checks', () => {
  it('marks unhealthy after unhealthyThreshold failures and healthy after healthyThreshold successes, with jitter', async () => {
    const clock = createFakeClock();
    let up = true;
    const checked: number[] = [];
    const registry = createRegistry({
      services: { api: { urls: urls(4), panicThreshold: 0 } },
      clock,
      random: () => 0.5,
      healthCheck: {
        check: async (e) => {
          if (e.url === 'http://10.0.0.1:80') checked.push(clock.now());
          return e.url !== 'http://10.0.0.1:80' || up;
        },
        interval: 1000,
        jitter: 0.2,
        healthyThreshold: 2,
        unhealthyThreshold: 3,
      },
    });
    await clock.advance(0);
    up = false;
    await clock.advance(1100 * 2);
    expect(registry.inspect('api').endpoints[0]?.health.status).toBe('healthy');
    await clock.advance(1100);
    expect(registry.inspect('api').endpoints[0]?.health).toMatchObject({
      status: 'unhealthy',
      consecutiveFailures: 3,
    });
    expect(checked).toEqual([0, 1100, 2200, 3300]);
    up = true;
    await clock.advance(1100);
    expect(registry.inspect('api').endpoints[0]?.health.status).toBe('unhealthy');
    await clock.advance(1100);
    expect(registry.inspect('api').endpoints[0]?.health.status).toBe('healthy');
    registry.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('counts a check that outlives its timeout as a failure', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(2), panicThreshold: 0 } },
      clock,
      healthCheck: {
        check: () => new Promise(() => {}),
        interval: 1000,
        timeout: 100,
        unhealthyThreshold: 1,
        jitter: 0,
      },
    });
    await clock.advance(100);
    const view = registry.inspect('api');
    expect(view.endpoints[0]?.health.status).toBe('unhealthy');
    expect(view.endpoints[0]?.health.lastError).toMatch(/timed out/);
    registry.close();
  });
});

function scripted(answers: (Snapshot | Error | (() => Promise<Snapshot>))[]): Source & { calls: number[] } {
  const calls: number[] = [];
  let clockRef: { now(): number } = { now: () => 0 };
  return {
    kind: 'scripted',
    description: 'test answers',
    calls,
    open(ctx) {
      clockRef = ctx.clock;
      return {
        async resolve() {
          calls.push(clockRef.now());
          const next = answers.length > 1 ? answers.shift() : answers[0];
          if (next instanceof Error) throw next;
          if (typeof next === 'function') return next();
          return next as Snapshot;
        },
      };
    },
  };
}

describe('dynamic sources', () => {
  it('refreshes on the TTL, jittered early, never sooner than minInterval', async () => {
    const clock = createFakeClock();
    const source = scripted([
      { endpoints: [{ url: 'http://a:1' }], ttlMs: 10_000 },
      { endpoints: [{ url: 'http://a:1' }], ttlMs: 100 },
    ]);
    const registry = createRegistry({
      services: { api: source },
      clock,
      random: () => 0.5,
      jitter: 0.2,
      minInterval: 1000,
    });
    await registry.ready('api');
    expect(registry.url('api')).toBe('http://a:1');
    await clock.advance(9_000);
    expect(source.calls).toEqual([0, 9_000]);
    await clock.advance(1_000);
    expect(source.calls).toEqual([0, 9_000, 10_000]);
    registry.close();
  });

  it('serves stale endpoints while the source fails, and says so in inspect()', async () => {
    const clock = createFakeClock();
    const source = scripted([{ endpoints: [{ url: 'http://a:1' }], ttlMs: 1000 }, new Error('SERVFAIL')]);
    const registry = createRegistry({ services: { api: source }, clock, jitter: 0 });
    await registry.ready();
    await clock.advance(1000);
    expect(registry.url('api')).toBe('http://a:1');
    const view = registry.inspect('api');
    expect(view.state).toBe('stale');
    expect(view.lastError).toEqual({ code: 'ERR_DISCOVERY_SOURCE', message: 'scripted: SERVFAIL' });
    expect(view.summary).toMatch(/SERVFAIL/);
    registry.close();
  });

  it('rejects ready() and throws NoEndpointsError(pending) until a source first answers', async () => {
    const clock = createFakeClock();
    const source = scripted([new Error('down'), { endpoints: [{ url: 'http://a:1' }] }]);
    const registry = createRegistry({ services: { api: source }, clock, jitter: 0, minInterval: 1000 });
    await expect(registry.ready('api')).rejects.toThrow(/down/);
    expect(() => registry.pick('api')).toThrow(/its first lookup failed: scripted: down; it retries/);
    await clock.advance(1000);
    await expect(registry.ready('api')).resolves.toBeUndefined();
    expect(registry.url('api')).toBe('http://a:1');
    registry.close();
  });

  it('lets ready() be aborted while a source has not answered', async () => {
    const source = scripted([() => new Promise<Snapshot>(() => {})]);
    const registry = createRegistry({ services: { api: source } });
    const controller = new AbortController();
    const waiting = registry.ready('api', { signal: controller.signal });
    controller.abort(new Error('gave up'));
    await expect(waiting).rejects.toThrow('gave up');
    expect(() => registry.pick('api')).toThrow(NoEndpointsError);
    registry.close();
  });

  it('coalesces concurrent lookups into one', async () => {
    const clock = createFakeClock();
    let release: (s: Snapshot) => void = () => {};
    const source = scripted([() => new Promise<Snapshot>((r) => (release = r))]);
    const registry = createRegistry({ services: { api: source }, clock });
    const all = Promise.all([registry.refresh('api'), registry.refresh('api'), registry.ready('api')]);
    release({ endpoints: [{ url: 'http://a:1' }] });
    await all;
    expect(source.calls).toHaveLength(1);
    registry.close();
  });

  it('counts the next background lookup from a refresh(), never within minInterval of it', async () => {
    const clock = createFakeClock();
    const source = scripted([{ endpoints: [{ url: 'http://a:1' }], ttlMs: 10_000 }]);
    const registry = createRegistry({ services: { api: source }, clock, jitter: 0, minInterval: 1000 });
    await registry.ready('api');
    await clock.advance(9_500);
    await registry.refresh('api');
    // The loop had a lookup due at 10 000, 500 ms after this one: it is moved to this answer's TTL.
    expect(registry.inspect('api').nextRefreshAt).toBe(19_500);
    await clock.advance(9_999);
    expect(source.calls).toEqual([0, 9_500]);
    await clock.advance(1);
    expect(source.calls).toEqual([0, 9_500, 19_500]);
    registry.close();
  });

  it('waits at most the longest timer delay (~24.8 days), not 1 ms, for a refreshInterval past 2^31 - 1 ms', async () => {
    const clock = createFakeClock();
    const source = scripted([{ endpoints: [{ url: 'http://a:1' }] }]);
    const days30 = 30 * 86_400_000;
    const registry = createRegistry({
      services: { api: source },
      clock,
      jitter: 0,
      refreshInterval: days30,
      maxInterval: days30,
    });
    await registry.ready('api');
    await clock.advance(1000);
    expect(source.calls).toEqual([0]);
    await clock.advance(2 ** 31 - 1 - 1000);
    expect(source.calls).toEqual([0, 2 ** 31 - 1]);
    registry.close();
  });

  it('shows nextRefreshAt as when the refresh really runs (~24.8 days) for a refreshInterval past 2^31 - 1 ms', async () => {
    const clock = createFakeClock();
    const source = scripted([{ endpoints: [{ url: 'http://a:1' }] }, new Error('down')]);
    const days30 = 30 * 86_400_000;
    const registry = createRegistry({
      services: { api: source },
      clock,
      jitter: 0,
      refreshInterval: days30,
      maxInterval: days30,
      minInterval: days30,
    });
    await registry.ready('api');
    expect(registry.inspect('api').nextRefreshAt).toBe(2 ** 31 - 1);
    await clock.advance(2 ** 31 - 1);
    expect(source.calls).toEqual([0, 2 ** 31 - 1]);
    // The failure's backoff (minInterval, 30 days) is capped too.
    expect(registry.inspect('api').nextRefreshAt).toBe(2 * (2 ** 31 - 1));
    await clock.advance(2 ** 31 - 1);
    expect(source.calls).toEqual([0, 2 ** 31 - 1, 2 * (2 ** 31 - 1)]);
    registry.close();
  });

  it('starts every background lookup at least minInterval after the lookup before it, refresh() or not', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.record({
          minInterval: fc.oneof(
            fc.integer({ min: 1, max: 2000 }),
            fc.double({ min: 0.001, max: 2000, noNaN: true }),
          ),
          ttlMs: fc.option(fc.integer({ min: 0, max: 5000 }), { nil: undefined }),
          fail: fc.boolean(),
          steps: fc.array(fc.record({ wait: fc.integer({ min: 0, max: 3000 }), refresh: fc.boolean() }), {
            maxLength: 20,
          }),
        }),
        async ({ minInterval, ttlMs, fail, steps }) => {
          const clock = createFakeClock();
          const ok: Snapshot = {
            endpoints: [{ url: 'http://a:1' }],
            ...(ttlMs === undefined ? {} : { ttlMs }),
          };
          const source = scripted([ok, fail ? new Error('down') : ok]);
          const registry = createRegistry({
            services: { api: source },
            clock,
            minInterval,
            refreshInterval: 3000,
            random: seededRandom(1),
          });
          const manual = new Set<number>();
          await registry.ready('api');
          for (const step of steps) {
            await clock.advance(step.wait);
            if (!step.refresh) continue;
            const before = source.calls.length;
            await registry.refresh('api').catch(() => {});
            if (source.calls.length > before) manual.add(source.calls.length - 1);
          }
          await clock.advance(10_000);
          registry.close();
          source.calls.forEach((at, i) => {
            // Jittered delays are fractional: no allowance for rounding, the spacing is exact.
            if (i > 0 && !manual.has(i))
              expect(at - (source.calls[i - 1] as number)).toBeGreaterThanOrEqual(minInterval);
          });
        },
      ),
      { seed: 155, numRuns: 200 },
    );
  });

  it('keeps an endpoint’s stats across snapshots and tells subscribers about changes', async () => {
    const clock = createFakeClock();
    const source = scripted([
      { endpoints: [{ url: 'http://a:1' }, { url: 'http://b:1' }], ttlMs: 1000 },
      { endpoints: [{ url: 'http://a:1', weight: 5 }], ttlMs: 1000 },
    ]);
    const registry = createRegistry({ services: { api: source }, clock, jitter: 0, minInterval: 0 });
    const seen: string[][] = [];
    registry.subscribe('api', (eps) => seen.push(eps.map((e) => `${e.url}@${e.weight}`)));
    await registry.ready();
    registry.pick('api');
    await clock.advance(1000);
    expect(seen).toEqual([['http://a:1@1', 'http://b:1@1'], ['http://a:1@5']]);
    expect(registry.inspect('api').endpoints[0]?.load.inflight).toBe(1);
    registry.close();
  });

  it('serves the lowest priority tier that has healthy endpoints', () => {
    const registry = createRegistry({
      services: {
        api: staticSource([
          { url: 'http://backup:1', priority: 20 },
          { url: 'http://primary:1', priority: 10 },
        ]),
      },
      outlierDetection: { maxEjectionPercent: 50 },
    });
    expect(registry.url('api')).toBe('http://primary:1');
    const primary = registry.endpoints('api')[1] as Endpoint;
    for (let i = 0; i < 5; i++) registry.report(primary, { ok: false, latencyMs: 1 });
    expect(registry.url('api')).toBe('http://backup:1');
    expect(registry.inspect('api').endpoints[0]?.eligible).toBe(true);
  });
});

describe('one URL listed twice', () => {
  it('is refused in a static list (your own config) with an InvalidArgumentError naming both entries, never the URL', () => {
    const cases: [() => unknown, RegExp][] = [
      [
        () => createRegistry({ services: { api: { urls: ['http://a:1', 'http://b:1', 'http://a:1'] } } }),
        /^Invalid services\.api\.urls\[2\]: expected a URL not given in \[0\] already \(one endpoint per URL\)/,
      ],
      [
        () =>
          staticSource([
            { url: 'http://user:secret@a:1', weight: 1 },
            { url: 'http://user:secret@a:1', weight: 5, priority: 1 },
          ]),
        /^Invalid staticSource\[1\]: expected a URL not given in \[0\] already \(one endpoint per URL\)/,
      ],
    ];
    for (const [build, message] of cases) {
      const error = (() => {
        try {
          build();
        } catch (e) {
          return e;
        }
        return undefined;
      })();
      expect(isIntegError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
      expect((error as Error).message).toMatch(message);
      expect((error as Error).message).not.toMatch(/secret|a:1/);
    }
  });

  it('keeps the first entry of a dynamic answer (as Envoy EDS), without adding weights or taking later metadata', async () => {
    const clock = createFakeClock();
    const source = scripted([
      {
        endpoints: [
          { url: 'http://a:1', weight: 1, meta: { 'consul.id': 'a-1' } },
          { url: 'http://b:1' },
          { url: 'http://a:1', weight: 5, priority: 1, meta: { 'consul.id': 'a-2' } },
        ],
      },
    ]);
    const registry = createRegistry({ services: { api: source }, clock });
    await registry.ready();
    expect(registry.endpoints('api').map((e) => [e.url, e.weight, e.priority, e.meta])).toEqual([
      ['http://a:1', 1, 0, { 'consul.id': 'a-1' }],
      ['http://b:1', 1, 0, undefined],
    ]);
    registry.close();
  });

  it('in an env list makes one endpoint (entries carry nothing but the URL)', () => {
    const registry = createRegistry({
      services: {
        auth: fromEnv('AUTH_SERVICE', { env: { AUTH_SERVICE: 'http://a:1,http://b:1,http://a:1' } }),
      },
    });
    expect(registry.endpoints('auth').map((e) => e.url)).toEqual(['http://a:1', 'http://b:1']);
    registry.close();
  });
});

// A runtime fires a timer of more than 2^31 - 1 ms after 1 ms, and so does the fake clock (decision 0160).
describe('waits past 2^31 - 1 ms (~24.8 days)', () => {
  const max = 2 ** 31 - 1;
  const days30 = 30 * 86_400_000;

  it('sweeps for outliers every ~24.8 days, not every 1 ms, for an interval past 2^31 - 1 ms', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(2) } },
      clock,
      outlierDetection: { interval: days30 },
    });
    const setTimeout = vi.spyOn(clock, 'setTimeout');
    await clock.advance(1000);
    expect(setTimeout).not.toHaveBeenCalled();
    await clock.advance(max - 1000);
    expect(setTimeout).toHaveBeenCalledTimes(1);
    registry.close();
  });

  it('health-checks every ~24.8 days, not every 1 ms, for an interval (with jitter) past 2^31 - 1 ms', async () => {
    const clock = createFakeClock();
    const checked: number[] = [];
    const registry = createRegistry({
      services: { api: { urls: urls(1) } },
      clock,
      random: () => 0.5,
      healthCheck: {
        check: async () => {
          checked.push(clock.now());
          return true;
        },
        // 2^31 - 1 itself, but the jitter takes the wait past it.
        interval: max,
        jitter: 0.5,
      },
    });
    await clock.advance(1000);
    expect(checked).toEqual([0]);
    await clock.advance(max - 1000);
    expect(checked).toEqual([0, max]);
    registry.close();
  });

  it('lets a health check run for ~24.8 days, not 1 ms, with a timeout past 2^31 - 1 ms', async () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: urls(1), panicThreshold: 0 } },
      clock,
      healthCheck: {
        check: () => new Promise((resolve) => clock.setTimeout(() => resolve(true), 1000)),
        timeout: days30,
        unhealthyThreshold: 1,
      },
    });
    await clock.advance(1000);
    expect(registry.inspect('api').endpoints[0]?.health).toMatchObject({
      status: 'healthy',
      lastError: null,
    });
    registry.close();
  });

  it("caps the timers of a source's clock (dnsSrv and etcd timeouts, etcd's resyncInterval) at 2^31 - 1 ms", async () => {
    const clock = createFakeClock();
    const fired: number[] = [];
    const registry = createRegistry({
      services: {
        api: {
          kind: 'timers',
          description: 'sets a 30-day timer',
          open: (ctx) => ({
            resolve: async () => {
              ctx.clock.setTimeout(() => fired.push(ctx.clock.now()), days30);
              return { endpoints: [{ url: 'http://a:1' }], ttlMs: days30 };
            },
          }),
        },
      },
      clock,
      maxInterval: days30,
      jitter: 0,
    });
    await registry.ready('api');
    await clock.advance(1000);
    expect(fired).toEqual([]);
    await clock.advance(max - 1000);
    expect(fired).toEqual([max]);
    registry.close();
  });
});
