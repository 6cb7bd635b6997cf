/**
 * Black-box suite: written from issue 7 ("find services, balance across them, avoid the sick ones"),
 * DESIGN.md's @integ/discovery contract and the README only, through the public entry points a user
 * imports (`@integ/discovery`, `@integ/discovery/dns`, `/health`). Real servers on loopback: a dns2 DNS
 * server (UDP + TCP on one port) and a Consul-compatible HTTP stand-in with blocking-query semantics.
 * Time runs on @integ/testing's fake clock wherever the API takes one; randomness is seeded.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import { createServer as createTcpServer, type Server as TcpServer } from 'node:net';
import { isIntegError, type Logger } from '@integ/core';
import {
  type Balancer,
  type ConsulOptions,
  consul,
  createRegistry,
  DiscoverySourceError,
  type EndpointInit,
  envVariableFor,
  fromEnv,
  InvalidUrlError,
  NoEndpointsError,
  type Registry,
  type Snapshot,
  type Source,
  staticSource,
  UnknownServiceError,
} from '@integ/discovery';
import { dnsA, dnsSrv } from '@integ/discovery/dns';
import { httpCheck, tcpCheck } from '@integ/discovery/health';
import { createFakeClock, drain, type FakeClock, seededRandom } from '@integ/testing';
import dns2 from 'dns2';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { listenOnOnePort } from './internal/test-servers.js';

// For real sockets only (HTTP, DNS on loopback): waits for the event, with room for a loaded machine. Work on the
// fake clock alone is checked after drain(), never polled.
const waitFor = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 10_000, interval: 10 });

const { Packet } = dns2;

// Every registry a test creates is closed afterwards, so no loop or socket outlives its test.
const opened: Registry[] = [];
const cleanups: (() => unknown)[] = [];
afterEach(async () => {
  for (const registry of opened.splice(0)) registry.close();
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

function registryOf(options: Parameters<typeof createRegistry>[0]): Registry {
  const registry = createRegistry(options);
  opened.push(registry);
  return registry;
}

function caught(fn: () => unknown): unknown {
  try {
    fn();
  } catch (error) {
    return error;
  }
  throw new Error('expected a throw');
}

function recordingLogger(): Logger & { lines: { level: string; args: unknown[] }[] } {
  const lines: { level: string; args: unknown[] }[] = [];
  const at =
    (level: string) =>
    (...args: unknown[]) => {
      lines.push({ level, args });
    };
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

/** A source whose answers the test scripts; it records when it was asked (fake-clock time). */
function scriptedSource(clock: FakeClock) {
  const calls: number[] = [];
  const answers: (Snapshot | Error | (() => Promise<Snapshot>))[] = [];
  let last: Snapshot | Error | (() => Promise<Snapshot>) = { endpoints: [] };
  const source: Source = {
    kind: 'scripted',
    description: 'scripted test source',
    open: () => ({
      resolve: async () => {
        calls.push(clock.now());
        const answer = answers.length > 0 ? answers.shift()! : last;
        last = answer;
        if (answer instanceof Error) throw answer;
        if (typeof answer === 'function') return answer();
        return answer;
      },
    }),
  };
  return { source, calls, answers };
}

const urlsOf = (endpoints: readonly { url: string }[]): string[] => endpoints.map((e) => e.url).sort();

function picks(registry: Registry, name: string, n: number): Map<string, number> {
  const counts = new Map<string, number>();
  for (let i = 0; i < n; i++) {
    const endpoint = registry.pick(name);
    counts.set(endpoint.url, (counts.get(endpoint.url) ?? 0) + 1);
    registry.report(endpoint, { ok: true, latencyMs: 1 });
  }
  return counts;
}

// ---------------------------------------------------------------------------------------------------
describe('createRegistry({ services }) in the seed shape', () => {
  it('serves { url } as the seed did: registry.url(name) is get_service_url', () => {
    const registry = registryOf({ services: { auth: { url: 'http://localhost:8001' } } });
    expect(registry.url('auth')).toBe('http://localhost:8001');
  });

  it('accepts a bare URL string for a service', () => {
    const registry = registryOf({ services: { auth: 'http://localhost:8001' } });
    expect(registry.url('auth')).toBe('http://localhost:8001');
  });

  it('balances { urls: [...] } round-robin by default, in order', () => {
    const registry = registryOf({
      services: {
        billing: { urls: ['http://10.0.0.1:8080', 'http://10.0.0.2:8080', 'http://10.0.0.3:8080'] },
      },
    });
    const seen = Array.from({ length: 6 }, () => registry.url('billing'));
    expect(seen).toEqual([
      'http://10.0.0.1:8080',
      'http://10.0.0.2:8080',
      'http://10.0.0.3:8080',
      'http://10.0.0.1:8080',
      'http://10.0.0.2:8080',
      'http://10.0.0.3:8080',
    ]);
  });

  it('pick(name) returns an endpoint { url, service, weight, priority }', () => {
    const registry = registryOf({ services: { auth: { url: 'http://localhost:8001' } } });
    const endpoint = registry.pick('auth');
    expect(endpoint).toMatchObject({ url: 'http://localhost:8001', service: 'auth', weight: 1, priority: 0 });
    registry.report(endpoint, { ok: true, latencyMs: 3 });
  });

  it('accepts a source, and { source, ...options } with per-service options', () => {
    const registry = registryOf({
      services: {
        a: staticSource([
          { url: 'http://a:1', weight: 3, priority: 2, hostname: 'a.internal', meta: { zone: 'z1' } },
        ]),
        b: { source: staticSource(['http://b:1']), balancer: 'random' },
      },
    });
    expect(registry.pick('a')).toMatchObject({
      url: 'http://a:1',
      service: 'a',
      weight: 3,
      priority: 2,
      hostname: 'a.internal',
      meta: { zone: 'z1' },
    });
    expect(registry.inspect('b').balancer).toBe('random');
    expect(registry.inspect('a').balancer).toBe('round-robin');
  });

  it('services() lists the configured names sorted; endpoints(name) lists every endpoint', () => {
    const registry = registryOf({
      services: { zeta: 'http://z:1', alpha: { urls: ['http://a:1', 'http://a:2'] } },
    });
    expect(registry.services()).toEqual(['alpha', 'zeta']);
    expect(urlsOf(registry.endpoints('alpha'))).toEqual(['http://a:1', 'http://a:2']);
  });

  it('an unknown service is an UnknownServiceError listing the known names, from url, pick and inspect', () => {
    const registry = registryOf({ services: { auth: 'http://a:1', billing: 'http://b:1' } });
    for (const call of [
      () => registry.url('nope'),
      () => registry.pick('nope'),
      () => registry.inspect('nope'),
    ]) {
      const error = caught(call);
      expect(error).toBeInstanceOf(UnknownServiceError);
      expect(isIntegError(error, 'ERR_UNKNOWN_SERVICE')).toBe(true);
      expect((error as UnknownServiceError).known).toEqual(['auth', 'billing']);
      expect((error as Error).message).toContain('auth');
      expect((error as Error).message).toContain('billing');
    }
  });

  it('an invalid static URL throws InvalidUrlError at startup naming where it came from', () => {
    const error = caught(() => createRegistry({ services: { api: { urls: ['http://ok:1', 'not a url'] } } }));
    expect(error).toBeInstanceOf(InvalidUrlError);
    expect(isIntegError(error, 'ERR_INVALID_URL')).toBe(true);
    expect((error as InvalidUrlError).setting).toBe('services.api.urls[1]');
    expect((error as InvalidUrlError).variable).toBeUndefined();
  });

  it('an invalid env URL throws InvalidUrlError at startup naming the env var, not its value', () => {
    const env = { AUTH_SERVICE: 'http://a:1,http://user:s3cr3t@/x?token=t0p,http://c:1' };
    const error = caught(() =>
      createRegistry({ services: { auth: fromEnv('AUTH_SERVICE', undefined, { env }) } }),
    );
    expect(error).toBeInstanceOf(InvalidUrlError);
    expect((error as InvalidUrlError).variable).toBe('AUTH_SERVICE');
    expect((error as InvalidUrlError).setting).toBe('env AUTH_SERVICE (entry 2 of 3)');
    expect((error as Error).message).toContain('AUTH_SERVICE');
    expect((error as Error).message).not.toContain('s3cr3t');
    expect((error as Error).message).not.toContain('t0p');
  });

  it('a static weight or priority that is not a finite number is an InvalidArgumentError naming the entry', () => {
    for (const entry of [
      { url: 'http://a:1', weight: -1 },
      { url: 'http://a:1', weight: Number.NaN },
      { url: 'http://a:1', priority: Number.POSITIVE_INFINITY },
    ]) {
      const error = caught(() => staticSource(['http://ok:1', entry]));
      expect(isIntegError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
    }
  });

  it('a clock, random or logger of the wrong shape throws InvalidArgumentError at createRegistry', () => {
    const services = { a: 'http://a:1' };
    for (const bad of [
      { clock: { now: () => 0 } },
      { random: 0.5 },
      { logger: { info: () => {} } },
    ] as unknown as object[]) {
      const error = caught(() => createRegistry({ services, ...bad }));
      expect(isIntegError(error, 'ERR_INVALID_ARGUMENT')).toBe(true);
    }
  });
});

// ---------------------------------------------------------------------------------------------------
describe('fromEnv()', () => {
  it('is the seed: env AUTH_SERVICE or the default', () => {
    const unset = registryOf({
      services: { auth: fromEnv('AUTH_SERVICE', 'http://localhost:8001', { env: {} }) },
    });
    expect(unset.url('auth')).toBe('http://localhost:8001');
    const set = registryOf({
      services: {
        auth: fromEnv('AUTH_SERVICE', 'http://localhost:8001', { env: { AUTH_SERVICE: 'http://auth:9' } }),
      },
    });
    expect(set.url('auth')).toBe('http://auth:9');
  });

  it('uses the default when the variable is empty', () => {
    const registry = registryOf({
      services: { auth: fromEnv('AUTH_SERVICE', 'http://localhost:8001', { env: { AUTH_SERVICE: '' } }) },
    });
    expect(registry.url('auth')).toBe('http://localhost:8001');
  });

  it('reads a comma-separated list as several endpoints', () => {
    const registry = registryOf({
      services: {
        auth: fromEnv('AUTH_SERVICE', undefined, { env: { AUTH_SERVICE: 'http://a:1,http://b:1' } }),
      },
    });
    expect(urlsOf(registry.endpoints('auth'))).toEqual(['http://a:1', 'http://b:1']);
  });

  it('derives the variable from the service name when none is given', () => {
    expect(envVariableFor('auth')).toBe('AUTH_SERVICE');
    expect(envVariableFor('user-db')).toBe('USER_DB_SERVICE');
    const registry = registryOf({
      services: { 'user-db': fromEnv({ env: { USER_DB_SERVICE: 'http://db:5432' } }) },
    });
    expect(registry.url('user-db')).toBe('http://db:5432');
  });

  it('takes { variable, default, env } and works inside { url } and { urls }', () => {
    const env = { A: 'http://a:1', B: 'http://b:1,http://b:2' };
    const registry = registryOf({
      services: {
        a: { url: fromEnv({ variable: 'A', env }) },
        b: { urls: fromEnv({ variable: 'B', env }) },
        c: { url: fromEnv({ variable: 'C', default: ['http://c:1', 'http://c:2'], env }) },
      },
    });
    expect(registry.url('a')).toBe('http://a:1');
    expect(urlsOf(registry.endpoints('b'))).toEqual(['http://b:1', 'http://b:2']);
    expect(urlsOf(registry.endpoints('c'))).toEqual(['http://c:1', 'http://c:2']);
  });

  it('an unset variable without a default is an error naming it', () => {
    const error = caught(() =>
      createRegistry({ services: { auth: fromEnv('AUTH_SERVICE', undefined, { env: {} }) } }),
    );
    expect(isIntegError(error)).toBe(true);
    expect((error as Error).message).toContain('AUTH_SERVICE');
  });
});

// ---------------------------------------------------------------------------------------------------
describe('registry.report(endpoint, { ok, latencyMs, status? })', () => {
  it('closes the in-flight count that pick() opened', () => {
    const registry = registryOf({ services: { a: 'http://a:1' } });
    const endpoint = registry.pick('a');
    registry.pick('a');
    expect(registry.inspect('a').endpoints[0]!.load.inflight).toBe(2);
    registry.report(endpoint, { ok: true, latencyMs: 5 });
    expect(registry.inspect('a').endpoints[0]!.load.inflight).toBe(1);
  });

  it('url() is not counted in flight', () => {
    const registry = registryOf({ services: { a: 'http://a:1' } });
    registry.url('a');
    expect(registry.inspect('a').endpoints[0]!.load.inflight).toBe(0);
  });

  it('refuses what is not an endpoint, a bad latencyMs and a non-integer status', () => {
    const registry = registryOf({ services: { a: 'http://a:1' } });
    for (const notAnEndpoint of [null, 'http://a:1', { url: 'http://a:1' }, { service: 'a' }])
      expect(
        isIntegError(
          caught(() => registry.report(notAnEndpoint as never, { ok: true, latencyMs: 1 })),
          'ERR_INVALID_ARGUMENT',
        ),
      ).toBe(true);
    const otherService = { url: 'http://a:1', service: 'nope', weight: 1, priority: 0 };
    expect(caught(() => registry.report(otherService, { ok: true, latencyMs: 1 }))).toBeInstanceOf(
      UnknownServiceError,
    );
    for (const latencyMs of [-1, Number.NaN, Number.POSITIVE_INFINITY]) {
      const endpoint = registry.pick('a');
      expect(
        isIntegError(
          caught(() => registry.report(endpoint, { ok: true, latencyMs })),
          'ERR_INVALID_ARGUMENT',
        ),
      ).toBe(true);
    }
    const endpoint = registry.pick('a');
    expect(
      isIntegError(
        caught(() => registry.report(endpoint, { ok: false, latencyMs: 1, status: 500.5 })),
        'ERR_INVALID_ARGUMENT',
      ),
    ).toBe(true);
  });

  it('matches endpoints by service and URL: a copy of a picked endpoint is that endpoint', () => {
    const registry = registryOf({ services: { a: 'http://a:1' } });
    const copy = { ...registry.pick('a') };
    registry.report(copy, { ok: true, latencyMs: 1 });
    expect(registry.inspect('a').endpoints[0]!.load.inflight).toBe(0);
  });

  it('ignores a report of an endpoint that has left', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    answers.push(
      { endpoints: [{ url: 'http://old:1' }], ttlMs: 5000 },
      { endpoints: [{ url: 'http://new:1' }] },
    );
    const registry = registryOf({ services: { a: source }, clock, jitter: 0 });
    await registry.ready('a');
    const old = registry.pick('a');
    await clock.advance(5000);
    expect(urlsOf(registry.endpoints('a'))).toEqual(['http://new:1']);
    expect(() => registry.report(old, { ok: false, latencyMs: 1, status: 503 })).not.toThrow();
  });
});

// ---------------------------------------------------------------------------------------------------
describe('sources: refresh, TTLs, stale data, coalescing', () => {
  it('pick() before the first answer is NoEndpointsError "pending"; ready() resolves once it has endpoints', async () => {
    const clock = createFakeClock();
    let release!: (s: Snapshot) => void;
    const { source, answers } = scriptedSource(clock);
    answers.push(() => new Promise<Snapshot>((resolve) => (release = resolve)));
    const registry = registryOf({ services: { a: source }, clock });
    const error = caught(() => registry.pick('a'));
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect((error as NoEndpointsError).reason).toBe('pending');
    expect((error as NoEndpointsError).retryable).toBe(true);
    expect(registry.inspect('a').state).toBe('pending');
    const ready = registry.ready();
    await drain();
    expect(release).toBeTypeOf('function');
    release({ endpoints: [{ url: 'http://a:1' }] });
    await ready;
    expect(registry.url('a')).toBe('http://a:1');
    expect(registry.inspect('a').state).toBe('ready');
  });

  it('an answer with no endpoints is NoEndpointsError "empty"', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    answers.push({ endpoints: [] });
    const registry = registryOf({ services: { a: source }, clock });
    // ready() means "the source answered", not "has endpoints": a service with no instance passing at
    // startup must not hold `await registry.ready()` forever.
    let ready = false;
    void registry.ready('a').then(() => {
      ready = true;
    });
    await clock.advance(0);
    expect(ready).toBe(true);
    const error = caught(() => registry.pick('a'));
    expect((error as NoEndpointsError).reason).toBe('empty');
  });

  it('ready() rejects with the source error when the first lookup fails; state is failed', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    answers.push(new Error('boom'));
    const registry = registryOf({ services: { a: source }, clock });
    const error = await registry.ready('a').then(
      () => null,
      (e: unknown) => e,
    );
    expect(isIntegError(error)).toBe(true);
    expect(registry.inspect('a').state).toBe('failed');
  });

  it('ready(name, { signal }) rejects with signal.reason on abort', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    answers.push(() => new Promise<Snapshot>(() => {}));
    const registry = registryOf({ services: { a: source }, clock });
    const controller = new AbortController();
    const reason = new Error('gave up');
    const waiting = registry.ready('a', { signal: controller.signal });
    controller.abort(reason);
    await expect(waiting).rejects.toBe(reason);
  });

  it('serves stale data when a source fails, says why, and retries with backoff from minInterval to refreshInterval', async () => {
    const clock = createFakeClock();
    const { source, calls, answers } = scriptedSource(clock);
    answers.push({ endpoints: [{ url: 'http://a:1' }], ttlMs: 1000 }, new Error('source down'));
    const registry = registryOf({
      services: { a: source },
      clock,
      jitter: 0,
      minInterval: 1000,
      refreshInterval: 8000,
    });
    await registry.ready('a');
    await clock.advance(1000); // the failing lookup
    const inspection = registry.inspect('a');
    expect(inspection.state).toBe('stale');
    expect(inspection.lastError?.code).toBe('ERR_DISCOVERY_SOURCE');
    expect(registry.url('a')).toBe('http://a:1');
    await clock.advance(60_000);
    const gaps = calls.slice(1).map((t, i) => t - calls[i]!);
    // first gap is the TTL, then 1, 2, 4, 8, 8 ... s of backoff
    expect(gaps.slice(0, 6)).toEqual([1000, 1000, 2000, 4000, 8000, 8000]);
    expect(registry.url('a')).toBe('http://a:1'); // endpoints do not expire while the source fails
  });

  it('refreshes on the TTL, up to jitter early, never sooner than minInterval nor later than maxInterval', async () => {
    const clock = createFakeClock();
    const { source, calls, answers } = scriptedSource(clock);
    answers.push(
      { endpoints: [{ url: 'http://a:1' }], ttlMs: 10_000 },
      { endpoints: [{ url: 'http://a:1' }], ttlMs: 10 },
      { endpoints: [{ url: 'http://a:1' }], ttlMs: 10_000_000 },
      { endpoints: [{ url: 'http://a:1' }] },
    );
    const registry = registryOf({
      services: { a: source },
      clock,
      random: seededRandom(7),
      jitter: 0.1,
      minInterval: 1000,
      maxInterval: 60_000,
      refreshInterval: 30_000,
    });
    await registry.ready('a');
    await clock.advance(10_000);
    expect(calls.length).toBe(2);
    expect(calls[1]).toBeGreaterThanOrEqual(9000);
    await clock.advance(1000);
    expect(calls.length).toBe(3);
    expect(calls[2]! - calls[1]!).toBe(1000); // a 10 ms TTL is stretched to minInterval
    await clock.advance(60_000);
    expect(calls.length).toBe(4);
    expect(calls[3]! - calls[2]!).toBeGreaterThanOrEqual(54_000); // capped at maxInterval, jittered early
    expect(calls[3]! - calls[2]!).toBeLessThanOrEqual(60_000);
    await clock.advance(30_000);
    expect(calls.length).toBe(5); // no TTL: refreshInterval
    expect(calls[4]! - calls[3]!).toBeGreaterThanOrEqual(27_000);
  });

  it('ttlMs 0 asks again at once, spaced by minInterval', async () => {
    const clock = createFakeClock();
    const { source, calls, answers } = scriptedSource(clock);
    answers.push({ endpoints: [{ url: 'http://a:1' }], ttlMs: 0 });
    const registry = registryOf({ services: { a: source }, clock, minInterval: 500 });
    await registry.ready('a');
    await clock.advance(2000);
    expect(calls).toEqual([0, 500, 1000, 1500, 2000]);
  });

  it('refresh(name) coalesces concurrent lookups into one', async () => {
    const clock = createFakeClock();
    let release!: (s: Snapshot) => void;
    const { source, calls, answers } = scriptedSource(clock);
    answers.push({ endpoints: [{ url: 'http://a:1' }], ttlMs: 60_000 });
    answers.push(() => new Promise<Snapshot>((resolve) => (release = resolve)));
    const registry = registryOf({ services: { a: source }, clock, minInterval: 1 });
    await registry.ready('a');
    await clock.advance(10);
    const all = [registry.refresh('a'), registry.refresh('a'), registry.refresh('a')];
    await drain();
    expect(release).toBeTypeOf('function');
    expect(calls.length).toBe(2);
    release({ endpoints: [{ url: 'http://b:1' }] });
    await Promise.all(all);
    expect(calls.length).toBe(2);
    expect(registry.url('a')).toBe('http://b:1');
  });

  it('subscribe() hears each change until unsubscribed; close() stops the loops', async () => {
    const clock = createFakeClock();
    const { source, calls, answers } = scriptedSource(clock);
    answers.push(
      { endpoints: [{ url: 'http://a:1' }], ttlMs: 1000 },
      { endpoints: [{ url: 'http://a:1' }, { url: 'http://b:1' }], ttlMs: 1000 },
      { endpoints: [{ url: 'http://c:1' }], ttlMs: 1000 },
    );
    const registry = registryOf({ services: { a: source }, clock, jitter: 0 });
    const heard: string[][] = [];
    const unsubscribe = registry.subscribe('a', (endpoints) => heard.push(urlsOf(endpoints)));
    await registry.ready('a');
    await clock.advance(1000);
    unsubscribe();
    await clock.advance(1000);
    expect(heard).toEqual([['http://a:1'], ['http://a:1', 'http://b:1']]);
    registry.close();
    const before = calls.length;
    await clock.advance(10_000);
    expect(calls.length).toBe(before);
    expect(clock.pendingTimers).toBe(0);
  });
});

// ---------------------------------------------------------------------------------------------------
describe('balancing', () => {
  const four = ['http://a:1', 'http://b:1', 'http://c:1', 'http://d:1'];

  it('random spreads uniformly (seeded)', () => {
    const registry = registryOf({
      services: { s: { urls: four } },
      balancer: 'random',
      random: seededRandom(1),
    });
    const counts = picks(registry, 's', 4000);
    for (const url of four) expect(counts.get(url)! / 4000).toBeGreaterThan(0.2);
  });

  it('weighted picks in proportion to weight; weight 0 very rarely beside weights (RFC 2782), evenly when all are 0', () => {
    const registry = registryOf({
      services: {
        s: staticSource([
          { url: 'http://a:1', weight: 3 },
          { url: 'http://b:1', weight: 1 },
          { url: 'http://z:1', weight: 0 },
        ]),
        zeros: staticSource([
          { url: 'http://a:1', weight: 0 },
          { url: 'http://b:1', weight: 0 },
        ]),
      },
      balancer: 'weighted',
      random: seededRandom(2),
    });
    const counts = picks(registry, 's', 4000);
    expect(counts.get('http://a:1')! / 4000).toBeGreaterThan(0.7);
    expect(counts.get('http://a:1')! / 4000).toBeLessThan(0.8);
    expect(counts.get('http://z:1') ?? 0).toBeLessThanOrEqual(2);
    expect(picks(registry, 'zeros', 100).size).toBe(2);
  });

  it('least-loaded sends the next call to the endpoint with fewer in flight', () => {
    const registry = registryOf({
      services: { s: { urls: ['http://a:1', 'http://b:1'] } },
      balancer: 'least-loaded',
      random: seededRandom(3),
    });
    for (let i = 0; i < 100; i++) registry.pick('s'); // never reported: all stay in flight
    const [a, b] = registry.inspect('s').endpoints.map((e) => e.load.inflight);
    expect(Math.abs(a! - b!)).toBeLessThanOrEqual(1);
  });

  it('peak-EWMA steers away from a 10x slower endpoint', () => {
    const clock = createFakeClock();
    const registry = registryOf({
      services: { s: { urls: four } },
      balancer: 'peak-ewma',
      clock,
      random: seededRandom(4),
      outlierDetection: false,
    });
    let slow = 0;
    for (let i = 0; i < 4000; i++) {
      const endpoint = registry.pick('s');
      const isSlow = endpoint.url === 'http://d:1';
      if (isSlow && i >= 400) slow++;
      clock.advanceSync(1);
      registry.report(endpoint, { ok: true, latencyMs: isSlow ? 100 : 10 });
    }
    expect(slow / 3600).toBeLessThan(0.05);
  });

  it('peak-EWMA: a fast-failing (5xx) host does not attract traffic, a fast 4xx counts its real latency', () => {
    const clock = createFakeClock();
    const make = (status: number) => {
      const registry = registryOf({
        services: { s: { urls: four } },
        balancer: 'peak-ewma',
        clock,
        random: seededRandom(5),
        outlierDetection: false,
      });
      let failing = 0;
      for (let i = 0; i < 4000; i++) {
        const endpoint = registry.pick('s');
        clock.advanceSync(1);
        if (endpoint.url === 'http://d:1') {
          failing++;
          registry.report(endpoint, { ok: false, latencyMs: 1, status });
        } else registry.report(endpoint, { ok: true, latencyMs: 20 });
      }
      return failing / 4000;
    };
    expect(make(503)).toBeLessThan(0.05);
    expect(make(404)).toBeGreaterThan(0.25);
  });

  it('takes a Balancer object or a factory (one instance per service)', () => {
    const made: string[] = [];
    const factory = (): Balancer => {
      made.push('one');
      return { name: 'last', pick: (candidates) => candidates[candidates.length - 1]! };
    };
    const registry = registryOf({
      services: { s: { urls: ['http://a:1', 'http://b:1'] }, t: { urls: ['http://c:1', 'http://d:1'] } },
      balancer: factory,
    });
    expect(registry.url('s')).toBe('http://b:1');
    expect(registry.url('t')).toBe('http://d:1');
    expect(made).toHaveLength(2);
    expect(registry.inspect('s').balancer).toBe('last');
  });
});

// ---------------------------------------------------------------------------------------------------
describe('active health checks', () => {
  it('marks an endpoint unhealthy after unhealthyThreshold failures and back after healthyThreshold successes', async () => {
    const clock = createFakeClock();
    let bHealthy = false;
    const checked: string[] = [];
    const registry = registryOf({
      services: { s: { urls: ['http://a:1', 'http://b:1'] } },
      clock,
      healthCheck: {
        check: async (endpoint) => {
          checked.push(endpoint.url);
          return endpoint.url === 'http://a:1' || bHealthy;
        },
        interval: 1000,
        jitter: 0,
        unhealthyThreshold: 3,
        healthyThreshold: 2,
      },
    });
    await clock.advance(0);
    expect(checked).toHaveLength(2); // new endpoints are checked at once...
    const b = () => registry.inspect('s').endpoints.find((e) => e.url === 'http://b:1')!;
    expect(b().healthy).toBe(true); // ...and count as healthy until they fail
    await clock.advance(1000);
    expect(b().healthy).toBe(true);
    await clock.advance(1000); // third failure
    expect(b().health.status).toBe('unhealthy');
    expect(b().eligible).toBe(false);
    expect(b().reasons.length).toBeGreaterThan(0);
    expect(picks(registry, 's', 10).get('http://b:1')).toBeUndefined();
    bHealthy = true;
    await clock.advance(1000);
    expect(b().health.status).toBe('unhealthy');
    await clock.advance(1000);
    expect(b().healthy).toBe(true);
  });

  it('counts a check that throws or exceeds its timeout as a failure', async () => {
    const clock = createFakeClock();
    const registry = registryOf({
      services: { s: { urls: ['http://hang:1', 'http://throw:1', 'http://ok:1', 'http://ok:2'] } },
      clock,
      healthCheck: {
        check: (endpoint) =>
          endpoint.url.startsWith('http://hang')
            ? new Promise(() => {})
            : endpoint.url.startsWith('http://throw')
              ? Promise.reject(new Error('refused'))
              : Promise.resolve(true),
        interval: 1000,
        timeout: 100,
        jitter: 0,
        unhealthyThreshold: 1,
      },
    });
    await clock.advance(100);
    const byUrl = new Map(registry.inspect('s').endpoints.map((e) => [e.url, e]));
    expect(byUrl.get('http://hang:1')!.health.status).toBe('unhealthy');
    expect(byUrl.get('http://throw:1')!.health.status).toBe('unhealthy');
    expect(byUrl.get('http://ok:1')!.healthy).toBe(true);
  });

  it('spaces checks by interval x (1 + jitter x random)', async () => {
    const clock = createFakeClock();
    const times: number[] = [];
    registryOf({
      services: { s: 'http://a:1' },
      clock,
      random: () => 0.5,
      healthCheck: {
        check: async () => {
          times.push(clock.now());
          return true;
        },
        interval: 1000,
        jitter: 0.5,
      },
    });
    await clock.advance(2500);
    expect(times).toEqual([0, 1250, 2500]);
  });

  it('httpCheck GETs /health on a real loopback server; a non-2xx is a failure', async () => {
    let status = 200;
    const paths: string[] = [];
    const server = createServer((req, res) => {
      paths.push(req.url ?? '');
      res.writeHead(status).end('x');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(resolve)));
    const port = (server.address() as { port: number }).port;
    const clock = createFakeClock();
    const registry = registryOf({
      services: { s: { urls: [`http://127.0.0.1:${port}`, 'http://other:1'] } },
      clock,
      panicThreshold: 0,
      healthCheck: {
        check: async (endpoint, options) =>
          endpoint.url.includes('other') ? true : httpCheck()(endpoint, options),
        interval: 1000,
        jitter: 0,
        unhealthyThreshold: 1,
        healthyThreshold: 1,
      },
    });
    const mine = () => registry.inspect('s').endpoints.find((e) => e.url.includes('127.0.0.1'))!;
    await clock.advance(0); // "checked at once": on a 0 ms timer of the registry's clock
    await waitFor(() => expect(mine().health.lastCheckAt).not.toBeNull());
    expect(paths).toEqual(['/health']);
    expect(mine().healthy).toBe(true);
    status = 503;
    await clock.advance(1000);
    await waitFor(() => expect(mine().health.status).toBe('unhealthy'));
  });

  it('tcpCheck connects to the endpoint host and port', async () => {
    const listening: TcpServer = createTcpServer((socket) => socket.destroy());
    await new Promise<void>((resolve) => listening.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => listening.close(resolve)));
    const port = (listening.address() as { port: number }).port;
    const closed = createTcpServer();
    await new Promise<void>((resolve) => closed.listen(0, '127.0.0.1', resolve));
    const closedPort = (closed.address() as { port: number }).port;
    await new Promise((resolve) => closed.close(resolve));
    const check = tcpCheck();
    const signal = new AbortController().signal;
    const endpoint = (url: string) => ({ url, service: 's', weight: 1, priority: 0 });
    await expect(check(endpoint(`http://127.0.0.1:${port}`), { signal })).resolves.not.toBe(false);
    const down = await check(endpoint(`http://127.0.0.1:${closedPort}`), { signal }).then(
      (v) => v,
      () => false,
    );
    expect(down).toBe(false);
  });
});

// ---------------------------------------------------------------------------------------------------
describe('passive outlier detection (gRPC A50 / Envoy)', () => {
  const three = ['http://a:1', 'http://b:1', 'http://c:1'];
  const fail = (registry: Registry, url: string, n: number, status: number | undefined = 503) => {
    for (let i = 0; i < n; i++) {
      let endpoint = registry.pick('s');
      while (endpoint.url !== url) {
        registry.report(endpoint, { ok: true, latencyMs: 1 });
        endpoint = registry.pick('s');
      }
      registry.report(
        endpoint,
        status === undefined ? { ok: false, latencyMs: 1 } : { ok: false, latencyMs: 1, status },
      );
    }
  };
  const ejected = (registry: Registry) =>
    registry
      .inspect('s')
      .endpoints.filter((e) => e.ejected)
      .map((e) => e.url);

  it('ejects after 5 consecutive server failures; 4xx are the caller’s fault', () => {
    const registry = registryOf({ services: { s: { urls: three } }, clock: createFakeClock() });
    fail(registry, 'http://b:1', 10, 404);
    expect(ejected(registry)).toEqual([]);
    fail(registry, 'http://a:1', 4);
    expect(ejected(registry)).toEqual([]);
    fail(registry, 'http://a:1', 1);
    expect(ejected(registry)).toEqual(['http://a:1']);
    expect(picks(registry, 's', 30).get('http://a:1')).toBeUndefined();
  });

  it('ok: false with no status counts as a server failure', () => {
    const registry = registryOf({ services: { s: { urls: three } }, clock: createFakeClock() });
    fail(registry, 'http://a:1', 5, undefined);
    expect(ejected(registry)).toEqual(['http://a:1']);
  });

  it('a success resets the consecutive count; enforcingConsecutive5xx 0 never ejects', () => {
    const registry = registryOf({ services: { s: { urls: three } }, clock: createFakeClock() });
    fail(registry, 'http://a:1', 4);
    const endpoint = registry.endpoints('s').find((e) => e.url === 'http://a:1')!;
    void endpoint;
    let e = registry.pick('s');
    while (e.url !== 'http://a:1') {
      registry.report(e, { ok: true, latencyMs: 1 });
      e = registry.pick('s');
    }
    registry.report(e, { ok: true, latencyMs: 1 });
    fail(registry, 'http://a:1', 4);
    expect(ejected(registry)).toEqual([]);
    const never = registryOf({
      services: { s: { urls: three } },
      clock: createFakeClock(),
      outlierDetection: { enforcingConsecutive5xx: 0 },
    });
    fail(never, 'http://a:1', 20);
    expect(ejected(never)).toEqual([]);
  });

  it('ejection lasts baseEjectionTime, then n x base for the n-th ejection; n drops per sweep in service', async () => {
    const clock = createFakeClock();
    const registry = registryOf({ services: { s: { urls: three } }, clock });
    fail(registry, 'http://a:1', 5);
    const a = () => registry.inspect('s').endpoints.find((e) => e.url === 'http://a:1')!;
    expect(a().outlier.ejectedUntil).toBe(30_000);
    await clock.advance(29_999);
    expect(a().ejected).toBe(true);
    await clock.advance(1); // the sweep at 30 s returns it
    expect(a().ejected).toBe(false);
    fail(registry, 'http://a:1', 5); // ejected again before any sweep spent in service: twice as long
    expect(a().outlier.ejectedUntil).toBe(30_000 + 60_000);
    expect(a().outlier.ejections).toBe(2);
    await clock.advance(60_000);
    expect(a().ejected).toBe(false);
    await clock.advance(20_000); // two sweeps in service: the multiplier is back to 0
    fail(registry, 'http://a:1', 5);
    expect(a().outlier.ejectedUntil).toBe(clock.now() + 30_000);
  });

  it('never ejects more than maxEjectionPercent, but one can always be ejected', () => {
    const registry = registryOf({ services: { s: { urls: three } }, clock: createFakeClock() });
    fail(registry, 'http://a:1', 5);
    fail(registry, 'http://b:1', 5);
    expect(ejected(registry)).toEqual(['http://a:1']);
  });

  it('success-rate ejection removes an endpoint far below the mean at the sweep', async () => {
    const clock = createFakeClock();
    const five = ['http://a:1', 'http://b:1', 'http://c:1', 'http://d:1', 'http://e:1'];
    const registry = registryOf({
      services: { s: { urls: five } },
      clock,
      outlierDetection: { consecutive5xx: false },
    });
    for (let i = 0; i < 200; i++) {
      for (const _ of five) {
        const endpoint = registry.pick('s');
        const ok = endpoint.url !== 'http://e:1' || i % 2 === 0;
        registry.report(endpoint, ok ? { ok, latencyMs: 1 } : { ok, latencyMs: 1, status: 500 });
      }
    }
    expect(ejected(registry)).toEqual([]);
    await clock.advance(10_000);
    expect(ejected(registry)).toEqual(['http://e:1']);
    expect(registry.inspect('s').endpoints.find((e) => e.ejected)!.outlier.reason).toMatch(/success/i);
  });

  it('failure-percentage ejection removes an endpoint above the threshold at the sweep', async () => {
    const clock = createFakeClock();
    const five = ['http://a:1', 'http://b:1', 'http://c:1', 'http://d:1', 'http://e:1'];
    const registry = registryOf({
      services: { s: { urls: five } },
      clock,
      outlierDetection: {
        consecutive5xx: false,
        successRateEjection: false,
        failurePercentageEjection: { threshold: 50 },
      },
    });
    for (let i = 0; i < 100; i++) {
      for (const _ of five) {
        const endpoint = registry.pick('s');
        const ok = endpoint.url !== 'http://e:1' || i % 3 === 0; // e fails two thirds
        registry.report(endpoint, ok ? { ok, latencyMs: 1 } : { ok, latencyMs: 1, status: 502 });
      }
    }
    await clock.advance(10_000);
    expect(ejected(registry)).toEqual(['http://e:1']);
    expect(registry.inspect('s').endpoints.find((e) => e.ejected)!.outlier.reason).toMatch(/failure/i);
  });
});

// ---------------------------------------------------------------------------------------------------
describe('priority tiers and panic mode', () => {
  const unhealthyIf =
    (bad: Set<string>) =>
    async (endpoint: { url: string }): Promise<boolean> =>
      !bad.has(endpoint.url);

  it('serves the lowest priority tier; backups take over when most primaries are unhealthy', async () => {
    const clock = createFakeClock();
    const bad = new Set<string>();
    const registry = registryOf({
      services: {
        s: staticSource([
          { url: 'http://p1:1', priority: 0 },
          { url: 'http://p2:1', priority: 0 },
          { url: 'http://p3:1', priority: 0 },
          { url: 'http://b1:1', priority: 1 },
        ]),
      },
      clock,
      healthCheck: { check: unhealthyIf(bad), interval: 1000, jitter: 0, unhealthyThreshold: 1 },
    });
    await clock.advance(0);
    expect([...picks(registry, 's', 30).keys()].sort()).toEqual([
      'http://p1:1',
      'http://p2:1',
      'http://p3:1',
    ]);
    bad.add('http://p1:1');
    bad.add('http://p2:1');
    await clock.advance(1000);
    expect([...picks(registry, 's', 30).keys()]).toEqual(['http://b1:1']);
    expect(registry.inspect('s').panic).toBe(false);
  });

  it('ignores health when too few are healthy (panic), and says so in inspect()', async () => {
    const clock = createFakeClock();
    const bad = new Set(['http://a:1', 'http://b:1', 'http://c:1']);
    const registry = registryOf({
      services: { s: { urls: ['http://a:1', 'http://b:1', 'http://c:1', 'http://d:1'] } },
      clock,
      healthCheck: { check: unhealthyIf(bad), interval: 1000, jitter: 0, unhealthyThreshold: 1 },
    });
    await clock.advance(0);
    expect(registry.inspect('s').panic).toBe(true);
    expect(registry.inspect('s').healthyCount).toBe(1);
    expect(picks(registry, 's', 40).size).toBe(4);
  });

  it('with panicThreshold 0, one healthy endpoint serves alone and none at all is NoEndpointsError "unhealthy"', async () => {
    const clock = createFakeClock();
    const bad = new Set(['http://a:1', 'http://b:1', 'http://c:1']);
    const registry = registryOf({
      services: { s: { urls: ['http://a:1', 'http://b:1', 'http://c:1', 'http://d:1'] } },
      clock,
      panicThreshold: 0,
      healthCheck: { check: unhealthyIf(bad), interval: 1000, jitter: 0, unhealthyThreshold: 1 },
    });
    await clock.advance(0);
    expect([...picks(registry, 's', 20).keys()]).toEqual(['http://d:1']);
    bad.add('http://d:1');
    await clock.advance(1000);
    const error = caught(() => registry.pick('s'));
    expect(error).toBeInstanceOf(NoEndpointsError);
    expect((error as NoEndpointsError).reason).toBe('unhealthy');
  });

  it('outlier ejections count toward panic: two of three ejected at 100% maxEjectionPercent', () => {
    const registry = registryOf({
      services: { s: { urls: ['http://a:1', 'http://b:1', 'http://c:1'] } },
      clock: createFakeClock(),
      outlierDetection: { maxEjectionPercent: 100 },
    });
    for (const url of ['http://a:1', 'http://b:1']) {
      for (let i = 0; i < 5; i++) {
        let e = registry.pick('s');
        while (e.url !== url) {
          registry.report(e, { ok: true, latencyMs: 1 });
          e = registry.pick('s');
        }
        registry.report(e, { ok: false, latencyMs: 1, status: 503 });
      }
    }
    expect(registry.inspect('s').healthyCount).toBe(1);
    expect(registry.inspect('s').panic).toBe(true);
    expect(picks(registry, 's', 30).size).toBe(3);
  });
});

// ---------------------------------------------------------------------------------------------------
describe('inspect(name)', () => {
  it('masks credentials and query in URLs and sums up in one line', () => {
    const registry = registryOf({ services: { s: 'http://user:s3cr3t@host:1/p?token=t0p' } });
    const inspection = registry.inspect('s');
    expect(JSON.stringify(inspection)).not.toContain('s3cr3t');
    expect(JSON.stringify(inspection)).not.toContain('t0p');
    expect(inspection.summary).toBeTypeOf('string');
    expect(inspection.state).toBe('ready');
    expect(registry.pick('s').url).toBe('http://user:s3cr3t@host:1/p?token=t0p'); // the endpoint itself is usable
  });
});

// ---------------------------------------------------------------------------------------------------
// A real DNS server on loopback (dns2): UDP and TCP on the same port, as resolvers expect.
interface DnsZone {
  srv: Record<string, { priority: number; weight: number; port: number; target: string; ttl: number }[]>;
  a: Record<string, { address: string; ttl: number }[]>;
  aaaa?: Record<string, { address: string; ttl: number }[]>;
  additional: boolean;
  truncateUdp: boolean;
  nxdomain: Set<string>;
}

async function startDns(zone: DnsZone) {
  const queries: { name: string; type: number; tcp: boolean }[] = [];
  const { server, port } = await listenOnOnePort(() =>
    dns2.createServer({
      udp: true,
      tcp: true,
      handle(request, send, client) {
        const question = request.questions[0]!;
        const tcp = typeof (client as unknown as { write?: unknown }).write === 'function';
        queries.push({ name: question.name, type: question.type, tcp });
        const response = Packet.createResponseFromRequest(request);
        if (zone.nxdomain.has(question.name)) {
          response.header.rcode = 3;
          send(response);
          return;
        }
        if (zone.truncateUdp && !tcp) {
          response.header.tc = 1;
          send(response);
          return;
        }
        const push = (list: unknown[], record: object) => list.push(record);
        if (question.type === Packet.TYPE.SRV) {
          for (const r of zone.srv[question.name] ?? []) {
            push(response.answers, {
              name: question.name,
              type: Packet.TYPE.SRV,
              class: Packet.CLASS.IN,
              ...r,
            });
            if (zone.additional)
              for (const a of zone.a[r.target] ?? [])
                push(response.additionals, {
                  name: r.target,
                  type: Packet.TYPE.A,
                  class: Packet.CLASS.IN,
                  ...a,
                });
          }
        } else if (question.type === Packet.TYPE.A) {
          for (const a of zone.a[question.name] ?? [])
            push(response.answers, {
              name: question.name,
              type: Packet.TYPE.A,
              class: Packet.CLASS.IN,
              ...a,
            });
        } else if (question.type === Packet.TYPE.AAAA) {
          for (const a of zone.aaaa?.[question.name] ?? [])
            push(response.answers, {
              name: question.name,
              type: Packet.TYPE.AAAA,
              class: Packet.CLASS.IN,
              ...a,
            });
        }
        send(response);
      },
    }),
  );
  cleanups.push(() => server.close());
  return { address: `127.0.0.1:${port}`, queries };
}

function zone(partial: Partial<DnsZone>): DnsZone {
  return { srv: {}, a: {}, additional: true, truncateUdp: false, nxdomain: new Set(), ...partial };
}

describe('dnsSrv() against a real DNS server on loopback', () => {
  const srvName = '_http._tcp.api.test';

  it('maps SRV priority to tiers and weight to weight, with resolved addresses and the target as hostname', async () => {
    const dns = await startDns(
      zone({
        srv: {
          [srvName]: [
            { priority: 10, weight: 60, port: 8080, target: 'a.api.test', ttl: 30 },
            { priority: 10, weight: 20, port: 8081, target: 'b.api.test', ttl: 30 },
            { priority: 20, weight: 0, port: 9090, target: 'c.api.test', ttl: 30 },
          ],
        },
        a: {
          'a.api.test': [{ address: '10.0.0.1', ttl: 30 }],
          'b.api.test': [{ address: '10.0.0.2', ttl: 30 }],
          'c.api.test': [{ address: '10.0.0.3', ttl: 30 }],
        },
      }),
    );
    const registry = registryOf({
      services: { api: dnsSrv(srvName, { servers: dns.address }) },
      balancer: 'weighted',
      random: seededRandom(9),
    });
    await registry.ready('api');
    const endpoints = [...registry.endpoints('api')].sort((x, y) => x.url.localeCompare(y.url));
    expect(endpoints).toMatchObject([
      { url: 'http://10.0.0.1:8080', hostname: 'a.api.test', weight: 60, priority: 10 },
      { url: 'http://10.0.0.2:8081', hostname: 'b.api.test', weight: 20, priority: 10 },
      { url: 'http://10.0.0.3:9090', hostname: 'c.api.test', weight: 0, priority: 20 },
    ]);
    // weighted within the lowest tier: 3:1, the backup tier unused while the primaries are healthy
    const counts = picks(registry, 'api', 4000);
    expect(counts.get('http://10.0.0.3:9090')).toBeUndefined();
    expect(counts.get('http://10.0.0.1:8080')! / 4000).toBeGreaterThan(0.7);
  });

  it('is also exported from the main entry', async () => {
    const main = await import('@integ/discovery');
    expect(main.dnsSrv).toBe(dnsSrv);
  });

  it('refreshes on the smallest TTL of the SRV and address records (jittered early)', async () => {
    const dns = await startDns(
      zone({
        srv: { [srvName]: [{ priority: 0, weight: 1, port: 80, target: 'a.api.test', ttl: 60 }] },
        a: { 'a.api.test': [{ address: '10.0.0.1', ttl: 10 }] },
      }),
    );
    const clock = createFakeClock();
    const registry = registryOf({
      services: { api: dnsSrv(srvName, { servers: dns.address }) },
      clock,
      random: seededRandom(11),
    });
    await registry.ready('api');
    const srvQueries = () => dns.queries.filter((q) => q.type === Packet.TYPE.SRV).length;
    expect(srvQueries()).toBe(1);
    await clock.advance(8999);
    expect(srvQueries()).toBe(1);
    await clock.advance(1001);
    await waitFor(() => expect(srvQueries()).toBe(2));
  });

  it('resolves targets missing from the additional section', async () => {
    const dns = await startDns(
      zone({
        additional: false,
        srv: {
          [srvName]: [
            { priority: 0, weight: 1, port: 80, target: 'a.api.test', ttl: 30 },
            { priority: 0, weight: 1, port: 81, target: 'b.api.test', ttl: 30 },
          ],
        },
        a: {
          'a.api.test': [{ address: '10.0.0.1', ttl: 30 }],
          'b.api.test': [{ address: '10.0.0.2', ttl: 30 }],
        },
      }),
    );
    const registry = registryOf({ services: { api: dnsSrv(srvName, { servers: dns.address, family: 4 }) } });
    await registry.ready('api');
    expect(urlsOf(registry.endpoints('api'))).toEqual(['http://10.0.0.1:80', 'http://10.0.0.2:81']);
  });

  it('falls back to TCP when the UDP answer is truncated', async () => {
    const dns = await startDns(
      zone({
        truncateUdp: true,
        srv: { [srvName]: [{ priority: 0, weight: 1, port: 80, target: 'a.api.test', ttl: 30 }] },
        a: { 'a.api.test': [{ address: '10.0.0.1', ttl: 30 }] },
      }),
    );
    const registry = registryOf({ services: { api: dnsSrv(srvName, { servers: dns.address }) } });
    await registry.ready('api');
    expect(urlsOf(registry.endpoints('api'))).toEqual(['http://10.0.0.1:80']);
    expect(dns.queries.some((q) => q.tcp)).toBe(true);
  });

  it('uses the target name in the URL with resolveTargets: false, and the given protocol', async () => {
    const dns = await startDns(
      zone({ srv: { [srvName]: [{ priority: 0, weight: 1, port: 8443, target: 'a.api.test', ttl: 30 }] } }),
    );
    const registry = registryOf({
      services: { api: dnsSrv(srvName, { servers: dns.address, resolveTargets: false, protocol: 'https' }) },
    });
    await registry.ready('api');
    expect(registry.url('api')).toBe('https://a.api.test:8443');
  });

  it('NXDOMAIN fails the first lookup; after an answer, it keeps serving the last one (stale)', async () => {
    const z = zone({
      srv: { [srvName]: [{ priority: 0, weight: 1, port: 80, target: 'a.api.test', ttl: 5 }] },
      a: { 'a.api.test': [{ address: '10.0.0.1', ttl: 5 }] },
      nxdomain: new Set(['_http._tcp.gone.test']),
    });
    const dns = await startDns(z);
    const clock = createFakeClock();
    const registry = registryOf({
      services: {
        api: dnsSrv(srvName, { servers: dns.address }),
        gone: dnsSrv('_http._tcp.gone.test', { servers: dns.address }),
      },
      clock,
      jitter: 0,
    });
    const failure = await registry.ready('gone').then(
      () => null,
      (e: unknown) => e,
    );
    expect(failure).toBeInstanceOf(DiscoverySourceError);
    await registry.ready('api');
    z.nxdomain.add(srvName);
    await clock.advance(5000);
    await waitFor(() => expect(registry.inspect('api').state).toBe('stale'));
    expect(registry.url('api')).toBe('http://10.0.0.1:80');
  });
});

describe('dnsA()', () => {
  it('serves A records on the given port (80 by default, 443 for https)', async () => {
    const dns = await startDns(
      zone({
        a: {
          'web.test': [
            { address: '10.0.0.5', ttl: 30 },
            { address: '10.0.0.6', ttl: 30 },
          ],
        },
      }),
    );
    const registry = registryOf({
      services: {
        plain: dnsA('web.test', { servers: dns.address, family: 4 }),
        tls: dnsA('web.test', { servers: dns.address, family: 4, protocol: 'https' }),
        port: dnsA('web.test', { servers: dns.address, family: 4, port: 8080 }),
      },
    });
    await registry.ready();
    expect(urlsOf(registry.endpoints('plain')).map(normal)).toEqual(['http://10.0.0.5', 'http://10.0.0.6']);
    expect(urlsOf(registry.endpoints('tls')).map(normal)).toEqual(['https://10.0.0.5', 'https://10.0.0.6']);
    expect(urlsOf(registry.endpoints('port'))).toEqual(['http://10.0.0.5:8080', 'http://10.0.0.6:8080']);
  });
});

// URLs with the scheme's default port may be written with or without it; the endpoint is the same place.
function normal(url: string): string {
  return url.replace(/:(80|443)$/, '');
}

// ---------------------------------------------------------------------------------------------------
// A Consul-compatible HTTP stand-in: /v1/health/service/<name> answers scripted replies; a request past
// the script is held like a blocking query that sees no change.
interface ConsulReply {
  index?: string;
  entries?: unknown[];
  status?: number;
}

interface ConsulQuery {
  path: string;
  index: string | null;
  wait: string | null;
  passing: string | null;
  tag: string | null;
  dc: string | null;
  token: string | undefined;
  at: number;
}

async function startConsul(clock: FakeClock) {
  const replies: ConsulReply[] = [];
  const queries: ConsulQuery[] = [];
  const held: ServerResponse[] = [];
  const server: Server = createServer((req: IncomingMessage, res: ServerResponse) => {
    const url = new URL(req.url ?? '/', 'http://x');
    queries.push({
      path: url.pathname,
      index: url.searchParams.get('index'),
      wait: url.searchParams.get('wait'),
      passing: url.searchParams.get('passing'),
      tag: url.searchParams.get('tag'),
      dc: url.searchParams.get('dc'),
      token: req.headers['x-consul-token'] as string | undefined,
      at: clock.now(),
    });
    const reply = replies.shift();
    if (!reply) {
      held.push(res);
      return;
    }
    res.writeHead(reply.status ?? 200, {
      'content-type': 'application/json',
      ...(reply.index === undefined ? {} : { 'x-consul-index': reply.index }),
    });
    res.end(JSON.stringify(reply.entries ?? []));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(
    () =>
      new Promise<void>((resolve) => {
        for (const res of held) res.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  );
  const port = (server.address() as { port: number }).port;
  return { address: `http://127.0.0.1:${port}`, replies, queries };
}

function entry(id: string, address: string, port: number, extra: Record<string, unknown> = {}) {
  return {
    Node: { Node: `node-${id}`, Address: '192.0.2.1' },
    Service: {
      ID: id,
      Service: 'users',
      Address: address,
      Port: port,
      Tags: ['v1'],
      Meta: { zone: 'z1' },
      ...extra,
    },
    Checks: [],
  };
}

describe('consul() against a Consul-compatible stand-in', () => {
  async function setup(replies: ConsulReply[], extra: Partial<ConsulOptions> = {}) {
    const clock = createFakeClock();
    const server = await startConsul(clock);
    server.replies.push(...replies);
    const logger = recordingLogger();
    const registry = registryOf({
      services: { users: consul({ service: 'users', address: server.address, ...extra }) },
      clock,
      logger,
      minInterval: 1000,
    });
    return { clock, server, registry, logger };
  }

  /**
   * Lets the loop reach its `count`th query: the rate limit is on the fake clock, the HTTP round trip is real.
   * The clock moves only while the loop is parked on its timer (an answer taken, the next lookup scheduled), to
   * that lookup's time: never while a query is in flight, whose own time limit is on the same clock.
   */
  async function nextQuery(clock: FakeClock, registry: Registry, queries: ConsulQuery[], count: number) {
    while (queries.length < count) {
      const sent = queries.length;
      await waitFor(() => expect(registry.inspect('users').nextRefreshAt).toBeGreaterThan(clock.now()));
      await clock.advance((registry.inspect('users').nextRefreshAt as number) - clock.now());
      await waitFor(() => expect(queries.length).toBeGreaterThan(sent));
    }
  }

  it('maps health entries to endpoints: address, port, Weights.Passing, meta with consul.id/node/tags', async () => {
    const { registry } = await setup([
      { index: '5', entries: [entry('u1', '10.0.0.1', 8080, { Weights: { Passing: 3, Warning: 1 } })] },
    ]);
    await registry.ready('users');
    expect(registry.endpoints('users')).toMatchObject([
      {
        url: 'http://10.0.0.1:8080',
        weight: 3,
        meta: {
          zone: 'z1',
          'consul.id': 'u1',
          'consul.node': 'node-u1',
          'consul.tags': expect.stringContaining('v1'),
        },
      },
    ]);
  });

  it('first query has no index; then index=<X-Consul-Index> with wait; passing, tag, dc and the token header', async () => {
    const { clock, server, registry } = await setup(
      [{ index: '5', entries: [entry('u1', '10.0.0.1', 80)] }],
      {
        tag: 'v1',
        dc: 'dc2',
        token: 'secret-token',
      },
    );
    await registry.ready('users');
    await nextQuery(clock, registry, server.queries, 2);
    const [first, second] = server.queries;
    // `?passing` with no value is Consul's boolean flag (true), as the README's `?passing` shows
    expect(first).toMatchObject({ path: '/v1/health/service/users', index: null, wait: null, passing: '' });
    expect(first).toMatchObject({ tag: 'v1', dc: 'dc2', token: 'secret-token' });
    expect(second!.index).toBe('5');
    expect(second!.wait).not.toBeNull();
    expect(second!.at - first!.at).toBeGreaterThanOrEqual(1000); // one query per minInterval
  });

  it('rate-limits a server that answers at once to one query per minInterval', async () => {
    const replies = Array.from({ length: 6 }, (_, i) => ({
      index: String(10 + i),
      entries: [entry('u1', '10.0.0.1', 80)],
    }));
    const { clock, server, registry } = await setup(replies);
    await registry.ready('users');
    await nextQuery(clock, registry, server.queries, 5);
    const times = server.queries.map((q) => q.at);
    for (let i = 1; i < times.length; i++) expect(times[i]! - times[i - 1]!).toBeGreaterThanOrEqual(1000);
  });

  it('resets the index when it goes backwards, and never sends index 0', async () => {
    const e = [entry('u1', '10.0.0.1', 80)];
    const { clock, server, registry } = await setup([
      { index: '10', entries: e },
      { index: '7', entries: e }, // went backwards: restart without an index
      { index: '0', entries: e }, // a buggy 0: clamp to 1
    ]);
    await registry.ready('users');
    await nextQuery(clock, registry, server.queries, 4);
    expect(server.queries.map((q) => q.index)).toEqual([null, '10', null, '1']);
  });

  // X-Consul-Index is a uint64 in decimal; anything else cannot be sent back as is: restart from 0.
  for (const bad of [
    '1e30',
    '-1',
    'abc',
    '123456789012345678901234567890',
    '9007199254740993',
    '0x10',
    '1.5',
    '',
  ]) {
    it(`does not send back an X-Consul-Index of ${JSON.stringify(bad)}: the next query restarts without an index`, async () => {
      const e = [entry('u1', '10.0.0.1', 80)];
      const { clock, server, registry } = await setup([
        { index: '10', entries: e },
        { index: bad, entries: e },
        { index: bad, entries: e }, // also as the first answer after a reset
        { index: '12', entries: e },
      ]);
      await registry.ready('users');
      await nextQuery(clock, registry, server.queries, 5);
      expect(server.queries.map((q) => q.index)).toEqual([null, '10', null, null, '12']);
    });
  }

  it('restarts without an index when an answer carries no X-Consul-Index', async () => {
    const e = [entry('u1', '10.0.0.1', 80)];
    const { clock, server, registry } = await setup([{ entries: e }, { index: '3', entries: e }]);
    await registry.ready('users');
    await nextQuery(clock, registry, server.queries, 3);
    expect(server.queries.map((q) => q.index)).toEqual([null, null, '3']);
  });

  it('keeps serving the last endpoints when Consul fails (stale), and never logs the token', async () => {
    const { clock, server, registry, logger } = await setup(
      [
        { index: '10', entries: [entry('u1', '10.0.0.1', 80)] },
        { index: '11', status: 500 },
      ],
      { token: 'secret-token' },
    );
    await registry.ready('users');
    await nextQuery(clock, registry, server.queries, 2);
    await waitFor(() => expect(registry.inspect('users').state).toBe('stale'));
    expect(registry.inspect('users').lastError?.code).toBe('ERR_DISCOVERY_SOURCE');
    expect(registry.url('users')).toBe('http://10.0.0.1:80');
    expect(JSON.stringify(logger.lines)).not.toContain('secret-token');
    expect(JSON.stringify(registry.inspect('users'))).not.toContain('secret-token');
  });

  it('skips entries without a usable address or port, with one warn per answer', async () => {
    const { registry, logger } = await setup([
      {
        index: '10',
        entries: [
          entry('good', '10.0.0.1', 80),
          entry('badport', '10.0.0.2', 70000),
          entry('badhost', 'evil.test/path@x', 80),
        ],
      },
    ]);
    await registry.ready('users');
    expect(urlsOf(registry.endpoints('users'))).toEqual(['http://10.0.0.1:80']);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('caps the endpoints one answer can hold at maxEndpoints, with one warn', async () => {
    const many = Array.from({ length: 50 }, (_, i) => entry(`u${i}`, `10.0.0.${i + 1}`, 80));
    const clock = createFakeClock();
    const server = await startConsul(clock);
    server.replies.push({ index: '10', entries: many });
    const logger = recordingLogger();
    const registry = registryOf({
      services: { users: consul({ service: 'users', address: server.address }) },
      clock,
      logger,
      maxEndpoints: 20,
    });
    await registry.ready('users');
    expect(registry.endpoints('users')).toHaveLength(20);
    const warns = logger.lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.args).toEqual([
      expect.objectContaining({ kept: 20, cut: 30 }),
      expect.stringContaining('maxEndpoints'),
    ]);
  });
});

describe('maxEndpoints: a source is untrusted input', () => {
  const answer = (n: number, priority = 0, from = 0): EndpointInit[] =>
    Array.from({ length: n }, (_, i) => ({ url: `http://h${from + i}.test:80`, priority }));

  it('keeps at most 5000 endpoints of one answer by default, with one warn', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    answers.push({ endpoints: answer(100_000) });
    const logger = recordingLogger();
    const registry = registryOf({ services: { a: source }, clock, logger });
    await registry.ready('a');
    expect(registry.endpoints('a')).toHaveLength(5000);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('keeps the lowest priority tiers when it cuts, and logs nothing under the cap', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    answers.push(
      { endpoints: [...answer(10, 1, 100), ...answer(10, 0)], ttlMs: 1000 },
      { endpoints: [...answer(5, 1, 100), ...answer(5, 0)] },
    );
    const logger = recordingLogger();
    const registry = registryOf({ services: { a: { source, maxEndpoints: 10 } }, clock, logger, jitter: 0 });
    await registry.ready('a');
    expect(registry.endpoints('a').map((e) => e.priority)).toEqual(Array(10).fill(0));
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
    await clock.advance(1000);
    expect(registry.endpoints('a')).toHaveLength(10);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(1);
  });

  it('counts distinct valid URLs: duplicates do not trigger a cut', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    answers.push({ endpoints: [...answer(3), ...answer(3), ...answer(3)] });
    const logger = recordingLogger();
    const registry = registryOf({ services: { a: source }, clock, logger, maxEndpoints: 3 });
    await registry.ready('a');
    expect(registry.endpoints('a')).toHaveLength(3);
    expect(logger.lines.filter((l) => l.level === 'warn')).toHaveLength(0);
  });

  it('refuses a maxEndpoints that is not a whole number >= 1', () => {
    for (const maxEndpoints of [0, 1.5, Number.NaN, -1, Number.POSITIVE_INFINITY])
      expect(
        isIntegError(
          caught(() => createRegistry({ services: { a: 'http://a:1' }, maxEndpoints })),
          'ERR_INVALID_ARGUMENT',
        ),
      ).toBe(true);
  });
});

describe('invalid URLs in an answer', () => {
  it('are skipped with one warn per answer giving the count, not one line each', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    const bad: EndpointInit[] = Array.from({ length: 1000 }, (_, i) => ({ url: `not a url ${i}` }));
    answers.push({ endpoints: [...bad, { url: 'http://ok.test:80' }] });
    const logger = recordingLogger();
    const registry = registryOf({ services: { a: source }, clock, logger });
    await registry.ready('a');
    expect(urlsOf(registry.endpoints('a'))).toEqual(['http://ok.test:80']);
    const warns = logger.lines.filter((l) => l.level === 'warn');
    expect(warns).toHaveLength(1);
    expect(warns[0]!.args[0]).toMatchObject({ invalid: 1000 });
  });

  it('when every entry is invalid, fail the lookup (the last endpoints kept, as consul and etcd do) instead of emptying the service', async () => {
    const clock = createFakeClock();
    const { source, answers } = scriptedSource(clock);
    answers.push(
      { endpoints: [{ url: 'host-without-scheme:8080' }, { url: 'http://user:s3cr3t@' }] },
      { endpoints: [{ url: 'http://ok.test:80' }], ttlMs: 5000 },
      { endpoints: [{ url: 'ok.test:80' }], ttlMs: 5000 },
      { endpoints: [], ttlMs: 5000 },
    );
    const registry = registryOf({ services: { a: source }, clock, jitter: 0, minInterval: 1000 });
    // The first answer: ready() rejects as for any failed first lookup.
    const error = await registry.ready('a').catch((e: unknown) => e);
    expect(isIntegError(error, 'ERR_DISCOVERY_SOURCE')).toBe(true);
    expect((error as Error).message).toMatch(/2 invalid/);
    expect((error as Error).message).not.toContain('s3cr3t');
    expect(registry.inspect('a').state).toBe('failed');
    await clock.advance(1000); // the retry after minInterval answers well
    expect(urlsOf(registry.endpoints('a'))).toEqual(['http://ok.test:80']);
    await clock.advance(5000); // all invalid again: stale, still served
    expect(registry.url('a')).toBe('http://ok.test:80');
    expect(registry.inspect('a')).toMatchObject({
      state: 'stale',
      lastError: { code: 'ERR_DISCOVERY_SOURCE' },
    });
    await clock.advance(1000); // an empty list still empties the service
    expect(registry.endpoints('a')).toEqual([]);
    expect(registry.inspect('a').state).toBe('ready');
  });

  it('when every entry of a source’s startup endpoints is invalid, createRegistry throws (nothing left running)', () => {
    const clock = createFakeClock();
    const error = caught(() =>
      createRegistry({
        clock,
        services: {
          ok: 'http://ok.test:80',
          mine: { kind: 'mine', description: 'own list', endpoints: [{ url: 'http://user:s3cr3t@' }] },
        },
      }),
    );
    expect(isIntegError(error, 'ERR_DISCOVERY_SOURCE')).toBe(true);
    expect((error as Error).message).not.toContain('s3cr3t');
    expect(clock.pendingTimers).toBe(0);
  });
});
