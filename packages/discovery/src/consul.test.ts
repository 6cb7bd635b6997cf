import { consul, createRegistry } from '@integ/discovery';
import { createFakeClock } from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { startConsul, type TestConsul } from './internal/test-consul-server.js';

// Real sockets on a shared machine: give them time, poll often.
const waitFor = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 5000, interval: 10 });

let server: TestConsul;
beforeEach(async () => {
  server = await startConsul();
});
afterEach(async () => {
  await server.close();
});

const paths = (from = 0): string[] => server.requests.slice(from);

describe('consul', () => {
  it('reads passing instances, then blocks with index and wait and picks up changes', async () => {
    server.set(
      'api',
      [
        { address: '10.0.0.1', port: 8080, weight: 3, tags: ['v2'] },
        { address: '10.0.0.2', port: 8080 },
        { address: '10.0.0.3', port: 8080, passing: false },
      ],
      42,
    );
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: server.url, wait: 30_000, token: 's3cr3t' }) },
      clock,
      minInterval: 1000,
    });
    await registry.ready();
    expect(registry.endpoints('api').map((e) => [e.url, e.weight])).toEqual([
      ['http://10.0.0.1:8080', 3],
      ['http://10.0.0.2:8080', 1],
    ]);
    expect(registry.endpoints('api')[0]?.meta).toMatchObject({ 'consul.tags': 'v2', 'consul.id': 'api-0' });
    expect(server.lastHeaders['x-consul-token']).toBe('s3cr3t');
    expect(registry.inspect('api').source.description).not.toContain('s3cr3t');
    await clock.advance(1000);
    await waitFor(() => expect(server.blocked).toBe(1));
    expect(paths()).toEqual([
      '/v1/health/service/api?passing',
      '/v1/health/service/api?passing&index=42&wait=30s',
    ]);
    server.set('api', [{ address: '10.0.0.9', port: 9090 }], 43);
    await waitFor(() =>
      expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://10.0.0.9:9090']),
    );
    registry.close();
  });

  it('resets the index when it goes backwards, and never blocks on index 0', async () => {
    server.set('api', [{ address: '10.0.0.1', port: 80 }], 100);
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: server.url, wait: 10_000 }) },
      clock,
      minInterval: 1000,
    });
    await registry.ready();
    await clock.advance(1000);
    await waitFor(() => expect(server.blocked).toBe(1));
    server.setIndex(7); // went backwards: a restored snapshot or a new leader
    await waitFor(() => expect(server.requests).toHaveLength(2));
    await waitFor(() => expect(registry.inspect('api').refreshes).toBe(2));
    await clock.advance(1000);
    await waitFor(() => expect(server.requests).toHaveLength(3));
    // After the reset the query is non-blocking (no index), which learns index 7 again.
    expect(paths(2)).toEqual(['/v1/health/service/api?passing']);
    await waitFor(() => expect(registry.inspect('api').refreshes).toBe(3));
    await clock.advance(1000);
    await waitFor(() => expect(server.blocked).toBe(1));
    expect(paths(3)).toEqual(['/v1/health/service/api?passing&index=7&wait=10s']);
    registry.close();
  });

  it('clamps an index of 0 to 1 so the next query really blocks', async () => {
    server.set('api', [{ address: '10.0.0.1', port: 80 }], 0); // a buggy server answering index 0
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: server.url, wait: 10_000 }) },
      clock,
      minInterval: 1000,
    });
    await registry.ready();
    await clock.advance(1000);
    await waitFor(() => expect(server.requests).toHaveLength(2));
    expect(paths()).toEqual([
      '/v1/health/service/api?passing',
      '/v1/health/service/api?passing&index=1&wait=10s',
    ]);
    expect(paths().some((p) => p.includes('index=0'))).toBe(false);
    registry.close();
  });

  it('rate-limits the loop to one query per minInterval even when answers come back at once', async () => {
    server.set('api', [{ address: '10.0.0.1', port: 80 }], 5);
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: server.url, wait: 10_000 }) },
      clock,
      minInterval: 1000,
    });
    await registry.ready();
    // Every answer carries index 0, so each query returns immediately (the hot-loop hazard).
    server.setIndex(0);
    for (let i = 0; i < 3; i++) {
      await clock.advance(1000);
      await waitFor(() => expect(registry.inspect('api').refreshes).toBe(i + 2));
    }
    // The loop has taken the fourth answer and parked on the fake clock, one minInterval from that lookup's
    // start: no query can start before the clock moves, so the count is final (no real-time wait to hope on).
    await waitFor(() => expect(registry.inspect('api').nextRefreshAt).toBe(clock.now() + 1000));
    expect(server.requests).toHaveLength(4);
    registry.close();
  });

  it('serves the last instances while Consul fails, and reports why', async () => {
    server.set('api', [{ address: '10.0.0.1', port: 80 }]);
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: consul({ service: 'api', address: server.url }) },
      clock,
      minInterval: 1000,
    });
    await registry.ready();
    server.failWith = 500;
    await clock.advance(1000);
    await waitFor(() => expect(registry.inspect('api').state).toBe('stale'));
    expect(registry.url('api')).toBe('http://10.0.0.1:80');
    expect(registry.inspect('api').lastError).toEqual({
      code: 'ERR_DISCOVERY_SOURCE',
      message: 'consul: api: HTTP 500 from the health API',
    });
    registry.close();
  });

  it('validates its options', () => {
    expect(() => consul({ service: '' })).toThrow(/consul service/);
    expect(consul('api', { address: server.url }).description).toBe(
      `consul api (passing) at ${new URL(server.url).host}`,
    );
    expect(() => consul({ service: 'a', address: 'nope' })).toThrow(/consul address/);
    expect(() => consul({ service: 'a', wait: 5 })).toThrow(/consul wait/);
  });
});
