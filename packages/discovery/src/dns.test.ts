import { createRegistry, type Endpoint } from '@integ/discovery';
import { dnsA, dnsSrv } from '@integ/discovery/dns';
import { createFakeClock, seededRandom } from '@integ/testing';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { startDnsServer, type TestDnsServer } from './internal/test-dns-server.js';
import { closeServers, dnsServer } from './internal/test-servers.js';

// Real sockets on a shared machine: give them time, poll often.
const waitFor = <T>(check: () => T | Promise<T>): Promise<T> =>
  vi.waitFor(check, { timeout: 5000, interval: 10 });

let dns: TestDnsServer;
beforeAll(async () => {
  dns = await startDnsServer();
});
afterAll(async () => {
  await dns.close();
});

function srvFixture(name: string): void {
  dns.records.set(name, [
    { type: 'SRV', priority: 10, weight: 60, port: 8001, target: 'a.example.test', ttl: 30 },
    { type: 'SRV', priority: 10, weight: 20, port: 8002, target: 'b.example.test', ttl: 20 },
    { type: 'SRV', priority: 10, weight: 20, port: 8003, target: 'c.example.test', ttl: 60 },
    { type: 'SRV', priority: 20, weight: 1, port: 9000, target: 'backup.example.test', ttl: 60 },
  ]);
  dns.records.set('a.example.test', [{ type: 'A', address: '127.0.0.11', ttl: 60 }]);
  dns.records.set('b.example.test', [{ type: 'A', address: '127.0.0.12', ttl: 60 }]);
  dns.records.set('c.example.test', [
    { type: 'A', address: '127.0.0.13', ttl: 15 },
    { type: 'AAAA', address: '::1', ttl: 60 },
  ]);
  dns.records.set('backup.example.test', [{ type: 'A', address: '127.0.0.20', ttl: 60 }]);
}

describe('dnsSrv', () => {
  it('reads SRV priorities, weights and targets from a real DNS server, with the smallest TTL', async () => {
    srvFixture('_api._tcp.example.test');
    const clock = createFakeClock({ now: 1_000_000 });
    const registry = createRegistry({
      services: { api: dnsSrv('_api._tcp.example.test', { servers: [dns.address] }) },
      clock,
      jitter: 0,
    });
    await registry.ready('api');
    const endpoints = registry.endpoints('api');
    expect(endpoints.map((e) => [e.url, e.priority, e.weight, e.hostname])).toEqual([
      ['http://127.0.0.11:8001', 10, 60, 'a.example.test'],
      ['http://127.0.0.12:8002', 10, 20, 'b.example.test'],
      // c's weight 20 split across its two addresses (RFC 2782 weights choose among targets).
      ['http://127.0.0.13:8003', 10, 10, 'c.example.test'],
      ['http://[::1]:8003', 10, 10, 'c.example.test'],
      ['http://127.0.0.20:9000', 20, 1, 'backup.example.test'],
    ]);
    // Smallest TTL among the SRV (20 s) and address (15 s) records used.
    const view = registry.inspect('api');
    expect(view.nextRefreshAt).toBe(1_000_000 + 15_000);
    expect(view.source).toEqual({
      kind: 'dns-srv',
      description: `SRV _api._tcp.example.test via ${dns.address}`,
    });
    registry.close();
  });

  it('picks within the best priority tier in proportion to SRV weights, and fails over to the next tier', async () => {
    srvFixture('_w._tcp.example.test');
    dns.records.set('c.example.test', [{ type: 'A', address: '127.0.0.13', ttl: 15 }]);
    const registry = createRegistry({
      services: { api: dnsSrv('_w._tcp.example.test', { servers: [dns.address], family: 4 }) },
      balancer: 'weighted',
      random: seededRandom(7),
      outlierDetection: { maxEjectionPercent: 100 },
    });
    await registry.ready();
    const counts = new Map<string, number>();
    for (let i = 0; i < 5000; i++) {
      const url = registry.url('api');
      counts.set(url, (counts.get(url) ?? 0) + 1);
    }
    expect(counts.get('http://127.0.0.20:9000')).toBeUndefined();
    expect((counts.get('http://127.0.0.11:8001') ?? 0) / 5000).toBeCloseTo(0.6, 1);
    expect((counts.get('http://127.0.0.12:8002') ?? 0) / 5000).toBeCloseTo(0.2, 1);
    for (const e of registry.endpoints('api').filter((x) => x.priority === 10))
      for (let i = 0; i < 5; i++) registry.report(e as Endpoint, { ok: false, latencyMs: 1, status: 503 });
    // The whole first tier ejected: the next tier, fully healthy, takes over (RFC 2782), no panic...
    expect(registry.inspect('api').panic).toBe(false);
    expect(registry.url('api')).toBe('http://127.0.0.20:9000');
    registry.close();
    const strict = createRegistry({
      services: { api: dnsSrv('_w._tcp.example.test', { servers: [dns.address], family: 4 }) },
      outlierDetection: { maxEjectionPercent: 100 },
      panicThreshold: 0,
    });
    await strict.ready();
    for (const e of strict.endpoints('api').filter((x) => x.priority === 10))
      for (let i = 0; i < 5; i++) strict.report(e as Endpoint, { ok: false, latencyMs: 1, status: 503 });
    // ...and so it does with panic off.
    expect(strict.url('api')).toBe('http://127.0.0.20:9000');
    strict.close();
  });

  it('gives an SRV target its weight once, split across its addresses, however many it resolves to', async () => {
    // RFC 2782 weights choose among targets: 50/50 must stay 50/50 when one target has 4 A records.
    dns.records.set('_split._tcp.example.test', [
      { type: 'SRV', priority: 0, weight: 50, port: 8001, target: 'many.example.test', ttl: 60 },
      { type: 'SRV', priority: 0, weight: 50, port: 8002, target: 'one.example.test', ttl: 60 },
    ]);
    dns.records.set(
      'many.example.test',
      [1, 2, 3, 4].map((i) => ({ type: 'A' as const, address: `127.0.1.${i}`, ttl: 60 })),
    );
    dns.records.set('one.example.test', [{ type: 'A', address: '127.0.2.1', ttl: 60 }]);
    const registry = createRegistry({
      services: { api: dnsSrv('_split._tcp.example.test', { servers: [dns.address], family: 4 }) },
      balancer: 'weighted',
      random: seededRandom(42),
    });
    await registry.ready();
    const weights = new Map<string, number>();
    for (const e of registry.endpoints('api'))
      weights.set(e.hostname as string, (weights.get(e.hostname as string) ?? 0) + e.weight);
    expect(Object.fromEntries(weights)).toEqual({ 'many.example.test': 50, 'one.example.test': 50 });
    let many = 0;
    const picks = 10_000;
    for (let i = 0; i < picks; i++) if (registry.pick('api').hostname === 'many.example.test') many++;
    // Per address, the 4-address target took 4/5 (80/20); per target it is 1/2.
    expect(many / picks).toBeGreaterThan(0.47);
    expect(many / picks).toBeLessThan(0.53);
    registry.close();
  });

  it('merges two targets that resolve to one address and port, adding their weights (seeded)', async () => {
    // Both targets' shares stay theirs: `a` splits 50 over two addresses, `b` gives its 50 to the shared one.
    dns.records.set('_dup._tcp.example.test', [
      // The same address at a backup tier, first in the answer, adds nothing: the better tier serves it.
      { type: 'SRV', priority: 5, weight: 70, port: 8001, target: 'dup-b.example.test', ttl: 60 },
      { type: 'SRV', priority: 0, weight: 50, port: 8001, target: 'dup-a.example.test', ttl: 60 },
      { type: 'SRV', priority: 0, weight: 50, port: 8001, target: 'dup-b.example.test', ttl: 60 },
    ]);
    dns.records.set('dup-a.example.test', [
      { type: 'A', address: '127.0.3.1', ttl: 60 },
      { type: 'A', address: '127.0.3.2', ttl: 60 },
    ]);
    dns.records.set('dup-b.example.test', [{ type: 'A', address: '127.0.3.1', ttl: 60 }]);
    const registry = createRegistry({
      services: { api: dnsSrv('_dup._tcp.example.test', { servers: [dns.address], family: 4 }) },
      balancer: 'weighted',
      random: seededRandom(157),
    });
    await registry.ready();
    expect(registry.endpoints('api').map((e) => [e.url, e.priority, e.weight])).toEqual([
      ['http://127.0.3.1:8001', 0, 75],
      ['http://127.0.3.2:8001', 0, 25],
    ]);
    let shared = 0;
    const picks = 10_000;
    for (let i = 0; i < picks; i++) if (registry.url('api') === 'http://127.0.3.1:8001') shared++;
    // Keeping only the first target's entry gave 25/25: 1/2 of the picks, `b`'s 50 lost.
    expect(shared / picks).toBeGreaterThan(0.73);
    expect(shared / picks).toBeLessThan(0.77);
    registry.close();
  });

  it('uses A records from the additional section without extra queries', async () => {
    srvFixture('_add._tcp.example.test');
    dns.additionals = true;
    const before = dns.queries.length;
    const registry = createRegistry({
      services: { api: dnsSrv('_add._tcp.example.test', { servers: [dns.address], family: 4 }) },
    });
    await registry.ready();
    dns.additionals = false;
    expect(dns.queries.slice(before).map((q) => q.question)).toEqual(['SRV _add._tcp.example.test']);
    expect(registry.endpoints('api')).toHaveLength(4);
    registry.close();
  });

  it('retries over TCP when the UDP answer is truncated', async () => {
    const records = Array.from({ length: 40 }, (_, i) => ({
      type: 'SRV' as const,
      priority: 1,
      weight: 1,
      port: 1000 + i,
      target: `host-${i}.big.example.test`,
      ttl: 30,
    }));
    dns.records.set('_big._tcp.example.test', records);
    const before = dns.queries.length;
    const registry = createRegistry({
      services: { api: dnsSrv('_big._tcp.example.test', { servers: [dns.address], resolveTargets: false }) },
    });
    await registry.ready();
    expect(registry.endpoints('api')).toHaveLength(40);
    expect(registry.endpoints('api')[39]?.url).toBe('http://host-39.big.example.test:1039');
    expect(dns.queries.slice(before).map((q) => q.transport)).toEqual(['udp', 'tcp']);
    registry.close();
  });

  it('refreshes after the TTL and serves the last answer while the server fails', async () => {
    dns.records.set('_r._tcp.example.test', [
      { type: 'SRV', priority: 1, weight: 1, port: 80, target: 'r1.example.test', ttl: 5 },
    ]);
    dns.records.set('r1.example.test', [{ type: 'A', address: '127.0.0.31', ttl: 5 }]);
    dns.records.set('r2.example.test', [{ type: 'A', address: '127.0.0.32', ttl: 5 }]);
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: dnsSrv('_r._tcp.example.test', { servers: [dns.address], family: 4 }) },
      clock,
      jitter: 0,
    });
    await registry.ready();
    expect(registry.url('api')).toBe('http://127.0.0.31:80');
    dns.records.set('_r._tcp.example.test', [
      { type: 'SRV', priority: 1, weight: 1, port: 80, target: 'r2.example.test', ttl: 5 },
    ]);
    await clock.advance(4_999);
    expect(registry.url('api')).toBe('http://127.0.0.31:80');
    await clock.advance(1);
    await waitFor(() => expect(registry.url('api')).toBe('http://127.0.0.32:80'));
    dns.rcode = 2; // SERVFAIL
    try {
      await clock.advance(5_000);
      await waitFor(() => expect(registry.inspect('api').state).toBe('stale'));
      expect(registry.url('api')).toBe('http://127.0.0.32:80');
      expect(registry.inspect('api').lastError?.message).toMatch(/SERVFAIL/);
    } finally {
      dns.rcode = 0;
    }
    registry.close();
  });

  it('treats NXDOMAIN / no records as a failure, not as "no endpoints"', async () => {
    const registry = createRegistry({
      services: { api: dnsSrv('_missing._tcp.example.test', { servers: [dns.address] }) },
    });
    await expect(registry.ready()).rejects.toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
    expect(() => registry.url('api')).toThrow(/no SRV records|NXDOMAIN/);
    registry.close();
  });

  it('rejects malformed names and servers at once', () => {
    expect(() => dnsSrv('bad name!')).toThrow(/dnsSrv name/);
    expect(() => dnsSrv('_a._tcp.x', { servers: ['1.2.3.4:port'] })).toThrow(/servers/);
  });

  it('refuses a timeout past 2^31 - 1 ms (~24.8 days), which a timer on the clock it is opened with fires after 1 ms', () => {
    for (const make of [
      (timeout: number) => dnsSrv('_a._tcp.x', { timeout }),
      (timeout: number) => dnsA('a.x', { timeout }),
    ]) {
      for (const timeout of [2 ** 31, 30 * 86_400_000, Number.POSITIVE_INFINITY, 0, Number.NaN])
        expect(() => make(timeout)).toThrow(expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }));
      expect(() => make(2 ** 31 - 1)).not.toThrow();
    }
  });
});

describe('dnsA', () => {
  it('returns A and AAAA addresses on one port with their TTL', async () => {
    dns.records.set('web.example.test', [
      { type: 'A', address: '127.0.0.41', ttl: 40 },
      { type: 'A', address: '127.0.0.42', ttl: 10 },
      { type: 'AAAA', address: '::1', ttl: 50 },
    ]);
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { web: dnsA('web.example.test', { servers: [dns.address], port: 8080 }) },
      clock,
      jitter: 0,
    });
    await registry.ready();
    expect(registry.endpoints('web').map((e) => e.url)).toEqual([
      'http://127.0.0.41:8080',
      'http://127.0.0.42:8080',
      'http://[::1]:8080',
    ]);
    expect(registry.inspect('web').nextRefreshAt).toBe(10_000);
    registry.close();
  });

  it('refreshes a name behind a CNAME on the CNAME TTL when it is shorter than the addresses', async () => {
    // api -> lb (a failover CNAME, 30 s) -> 10.0.0.5 (1 h): the answer holds only as long as the CNAME.
    const server = await dnsServer((question, reply) =>
      reply(
        question.type === 'A'
          ? [
              { name: 'api.example.test', type: 'CNAME', ttl: 30, data: 'lb.example.test' },
              { name: 'lb.example.test', type: 'A', ttl: 3600, data: '10.0.0.5' },
            ]
          : [{ name: 'api.example.test', type: 'CNAME', ttl: 30, data: 'lb.example.test' }],
      ),
    );
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: dnsA('api.example.test', { servers: [server], port: 8080 }) },
      clock,
      jitter: 0,
    });
    try {
      await registry.ready();
      expect(registry.endpoints('api').map((e) => e.url)).toEqual(['http://10.0.0.5:8080']);
      expect(registry.inspect('api').nextRefreshAt).toBe(30_000);
    } finally {
      registry.close();
      await closeServers();
    }
  });

  it('uses the A records when the AAAA query fails (family 0), and fails only when both do', async () => {
    // A resolver that answers A but SERVFAILs AAAA (some middleboxes and forwarders do): IPv4 still works.
    let aaaa = 2; // SERVFAIL
    let a = 0;
    const server = await dnsServer((question, reply) =>
      question.type === 'A'
        ? reply(a ? [] : [{ name: question.name, type: 'A', ttl: 60, data: '10.0.0.7' }], a)
        : reply([], aaaa),
    );
    const registry = createRegistry({
      services: { web: dnsA('v4only.example.test', { servers: [server], port: 8080, attempts: 1 }) },
      minInterval: 0,
    });
    try {
      await registry.ready();
      expect(registry.endpoints('web').map((e) => e.url)).toEqual(['http://10.0.0.7:8080']);
      a = 2;
      aaaa = 2;
      await expect(registry.refresh('web')).rejects.toThrow(/SERVFAIL/);
      expect(registry.endpoints('web').map((e) => e.url)).toEqual(['http://10.0.0.7:8080']);
    } finally {
      registry.close();
      await closeServers();
    }
  });

  it('keeps the last AAAA addresses until their TTL ends while only the AAAA query fails (stale on error)', async () => {
    let aaaa = 0;
    const server = await dnsServer((question, reply) =>
      question.type === 'A'
        ? reply([{ name: question.name, type: 'A', ttl: 60, data: '10.0.0.7' }])
        : reply(aaaa ? [] : [{ name: question.name, type: 'AAAA', ttl: 30, data: '::7' }], aaaa),
    );
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { web: dnsA('dual.example.test', { servers: [server], port: 8080, attempts: 1 }) },
      clock,
      jitter: 0,
      minInterval: 0,
    });
    const urls = (): string[] => registry.endpoints('web').map((e) => e.url);
    try {
      await registry.ready();
      expect(urls()).toEqual(['http://10.0.0.7:8080', 'http://[::7]:8080']);
      aaaa = 2; // SERVFAIL from now on
      await clock.advance(10_000);
      await registry.refresh('web');
      // The AAAA answer of 0 s holds until 30 s: kept, and the next lookup comes no later than that.
      expect(urls()).toEqual(['http://10.0.0.7:8080', 'http://[::7]:8080']);
      expect(registry.inspect('web').nextRefreshAt).toBe(30_000);
      expect(registry.inspect('web').state).toBe('ready');
      // At 30 s it has expired and the AAAA query still fails: the IPv6 endpoint goes.
      await clock.advance(20_000);
      await waitFor(() => expect(urls()).toEqual(['http://10.0.0.7:8080']));
      aaaa = 0;
      await registry.refresh('web');
      expect(urls()).toEqual(['http://10.0.0.7:8080', 'http://[::7]:8080']);
    } finally {
      registry.close();
      await closeServers();
    }
  });

  it('keeps a stale SRV target address only for the family that failed, and not once both fail', async () => {
    let aaaa = 0;
    let a = 0;
    const server = await dnsServer((question, reply) => {
      if (question.type === 'SRV')
        reply([
          {
            type: 'SRV',
            name: question.name,
            ttl: 300,
            data: { priority: 0, weight: 10, port: 80, target: 't.example.test' },
          },
        ]);
      else if (question.type === 'A')
        reply(a ? [] : [{ name: question.name, type: 'A', ttl: 300, data: '10.0.0.8' }], a);
      else reply(aaaa ? [] : [{ name: question.name, type: 'AAAA', ttl: 300, data: '::8' }], aaaa);
    });
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: dnsSrv('_x._tcp.example.test', { servers: [server], attempts: 1 }) },
      clock,
      jitter: 0,
      minInterval: 0,
    });
    const view = (): [string, number][] => registry.endpoints('api').map((e) => [e.url, e.weight]);
    try {
      await registry.ready();
      expect(view()).toEqual([
        ['http://10.0.0.8:80', 5],
        ['http://[::8]:80', 5],
      ]);
      aaaa = 2;
      await clock.advance(1000);
      await registry.refresh('api');
      expect(view()).toEqual([
        ['http://10.0.0.8:80', 5],
        ['http://[::8]:80', 5],
      ]);
      // Both fail: the lookup fails (the registry serves the last answer), nothing stale hides the error.
      a = 2;
      await expect(registry.refresh('api')).rejects.toThrow(/SERVFAIL/);
      expect(registry.inspect('api').state).toBe('stale');
    } finally {
      registry.close();
      await closeServers();
    }
  });

  it('gives up with ERR_DISCOVERY_SOURCE when no server answers', async () => {
    const registry = createRegistry({
      services: { web: dnsA('web.example.test', { servers: ['127.0.0.1:9'], timeout: 200, attempts: 1 }) },
    });
    await expect(registry.ready()).rejects.toMatchObject({ code: 'ERR_DISCOVERY_SOURCE' });
    registry.close();
  });
});
