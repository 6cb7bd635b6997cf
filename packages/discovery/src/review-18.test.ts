/**
 * Review round 18: DNS TTLs at their edges, read in whole ms since 6cc6b24 (decision 0191). RFC 2181 §8: a TTL is
 * 0 to 2^31 - 1 s, and one with the most significant bit set is read as 0; TTL 0 means "do not cache".
 */
import { createRegistry } from '@integ/discovery';
import { dnsA } from '@integ/discovery/dns';
import { createFakeClock } from '@integ/testing';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { closeServers, dnsServer } from './internal/test-servers.js';

afterAll(closeServers);

async function lookup(ttl: number, start = 0.3) {
  const server = await dnsServer((question, reply) =>
    reply(question.type === 'A' ? [{ name: question.name, type: 'A', ttl, data: '10.0.0.7' }] : []),
  );
  const clock = createFakeClock({ now: start });
  const registry = createRegistry({
    services: { web: dnsA('ttl.example.test', { servers: [server], port: 8080, attempts: 1, family: 4 }) },
    clock,
    jitter: 0,
    minInterval: 1000,
  });
  await registry.ready();
  const next = registry.inspect('web').nextRefreshAt;
  registry.close();
  return { next: next === null ? null : next - start, clock };
}

describe('dnsA refresh on the TTL of its answer', () => {
  it('refreshes a TTL of 2^31 - 1 s after maxInterval (300 s), not at once', async () => {
    expect((await lookup(2 ** 31 - 1)).next).toBe(300_000);
  });

  it('refreshes a TTL of 0 as soon as minInterval allows', async () => {
    expect((await lookup(0)).next).toBe(1000);
  });

  it('reads a TTL with the most significant bit set as 0 (RFC 2181 §8)', async () => {
    expect((await lookup(2 ** 31)).next).toBe(1000);
    expect((await lookup(2 ** 32 - 1)).next).toBe(1000);
  });
});

describe('dnsA stale-on-error addresses with a TTL of 0', () => {
  it('keeps none: an AAAA address with TTL 0 goes at the next lookup whose AAAA query fails', async () => {
    let aaaa = 0;
    const server = await dnsServer((question, reply) =>
      question.type === 'A'
        ? reply([{ name: question.name, type: 'A', ttl: 60, data: '10.0.0.7' }])
        : reply(aaaa ? [] : [{ name: question.name, type: 'AAAA', ttl: 0, data: '::7' }], aaaa),
    );
    const clock = createFakeClock({ now: 0.7 });
    const registry = createRegistry({
      services: { web: dnsA('zero.example.test', { servers: [server], port: 8080, attempts: 1 }) },
      clock,
      jitter: 0,
      minInterval: 0,
    });
    const urls = (): string[] => registry.endpoints('web').map((e) => e.url);
    try {
      await registry.ready();
      expect(urls()).toEqual(['http://10.0.0.7:8080', 'http://[::7]:8080']);
      aaaa = 2; // SERVFAIL from now on
      await registry.refresh('web');
      await vi.waitFor(() => expect(urls()).toEqual(['http://10.0.0.7:8080']), {
        timeout: 5000,
        interval: 10,
      });
    } finally {
      registry.close();
    }
  });
});
