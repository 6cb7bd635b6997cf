/**
 * Round 17 (clock): on a fake clock standing at a fraction of a ms, what the README promises at a given
 * advance() happens there: an outlier ejection of n x baseEjectionTime ends at the sweep that many ms later.
 */
import { createRegistry } from '@integ/discovery';
import { dnsA } from '@integ/discovery/dns';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { afterAll, describe, expect, it, vi } from 'vitest';
import { closeServers, dnsServer } from './internal/test-servers.js';

describe('outlier ejection on a clock at a fraction of a ms', () => {
  it('ends at the sweep baseEjectionTime after it began, when that is a whole number of intervals', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.double({ min: 0, max: 1000, noNaN: true }),
          fc.double({ min: 0, max: 2e12, noNaN: true }),
        ),
        fc.integer({ min: 1, max: 60_000 }),
        fc.integer({ min: 1, max: 6 }),
        (s, interval, m) => {
          const clock = createFakeClock({ now: s });
          const registry = createRegistry({
            services: { api: { urls: ['http://10.0.0.1:80', 'http://10.0.0.2:80'] } },
            clock,
            random: seededRandom(1),
            outlierDetection: {
              interval,
              baseEjectionTime: m * interval,
              maxEjectionPercent: 100,
              consecutive5xx: false,
              successRateEjection: false,
              failurePercentageEjection: { requestVolume: 1, minimumHosts: 1, threshold: 50 },
            },
          });
          const [bad] = registry.endpoints('api');
          registry.report(bad!, { ok: false, latencyMs: 1 });
          const ejected = (): boolean => registry.inspect('api').endpoints[0]!.outlier.ejected;
          clock.advanceSync(interval);
          expect(ejected()).toBe(true);
          for (let i = 1; i < m; i++) {
            clock.advanceSync(interval);
            expect(ejected()).toBe(true);
          }
          clock.advanceSync(interval);
          expect(ejected()).toBe(false);
          registry.close();
        },
      ),
      { seed: 1717, numRuns: 1000, examples: [[357.78932101422754, 55808, 6]] },
    );
  });
});

describe('dnsA stale-on-error addresses on a clock at a fraction of a ms', () => {
  afterAll(closeServers);

  // Starts and first-refresh offsets where the float sums went wrong: the lookup at the TTL's end came after
  // advance() reached it (the first three), or kept the expired address with a TTL of 1e-15 s (the others).
  const cases: [number, number][] = [
    [445.2885, 16_000],
    [622.0024999999999, 16_000],
    [690.245, 16_000],
    [367.653, 16_000],
    [69.172, 15_000],
    [129.50349999999997, 15_000],
    [60.952, 16_000],
    [0, 10_000],
  ];
  it.each(cases)('drops the AAAA address when its TTL ends (start %s, refresh after %s ms)', async (s, a) => {
    let aaaa = 0;
    const server = await dnsServer((question, reply) =>
      question.type === 'A'
        ? reply([{ name: question.name, type: 'A', ttl: 60, data: '10.0.0.7' }])
        : reply(aaaa ? [] : [{ name: question.name, type: 'AAAA', ttl: 30, data: '::7' }], aaaa),
    );
    const clock = createFakeClock({ now: s });
    const registry = createRegistry({
      services: { web: dnsA('dual.example.test', { servers: [server], port: 8080, attempts: 1 }) },
      clock,
      jitter: 0,
      minInterval: 0,
    });
    const urls = (): string[] => registry.endpoints('web').map((e) => e.url);
    try {
      await registry.ready();
      aaaa = 2; // SERVFAIL from now on
      await clock.advance(a);
      await registry.refresh('web');
      expect(urls()).toEqual(['http://10.0.0.7:8080', 'http://[::7]:8080']);
      // At 30 s it has expired and the AAAA query still fails: the IPv6 endpoint goes.
      await clock.advance(30_000 - a);
      await vi.waitFor(() => expect(urls()).toEqual(['http://10.0.0.7:8080']), {
        timeout: 5000,
        interval: 10,
      });
    } finally {
      registry.close();
    }
  });
});
