import {
  balancerFor,
  createRegistry,
  type Endpoint,
  type EndpointLoad,
  p2cLeastLoaded,
  p2cPeakEwma,
  roundRobin,
  weighted,
} from '@integ/discovery';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const load = (url: string, weight = 1): EndpointLoad => ({
  endpoint: { url, service: 's', weight, priority: 0 },
  inflight: 0,
  ewma: 0,
  ewmaStamp: 0,
});

describe('roundRobin', () => {
  it('gives every candidate the same share', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 20 }), fc.integer({ min: 1, max: 10 }), (n, rounds) => {
        const candidates = Array.from({ length: n }, (_, i) => load(`http://h${i}:1`));
        const rr = roundRobin();
        const counts = new Map<EndpointLoad, number>();
        for (let i = 0; i < n * rounds; i++) {
          const c = rr.pick(candidates, Math.random, 0);
          counts.set(c, (counts.get(c) ?? 0) + 1);
        }
        return [...counts.values()].every((v) => v === rounds) && counts.size === n;
      }),
    );
  });
});

describe('roundRobin() while the source changes the endpoints mid-rotation', () => {
  it('gives the n picks after any change each of the n endpoints once: nothing skipped or doubled past that rotation (property)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.record({
            urls: fc.uniqueArray(fc.integer({ min: 1, max: 12 }), { minLength: 1, maxLength: 8 }),
            before: fc.nat({ max: 20 }),
          }),
          { minLength: 1, maxLength: 6 },
        ),
        async (steps) => {
          const clock = createFakeClock();
          let current: string[] = ['http://10.0.0.1:80'];
          const registry = createRegistry({
            clock,
            services: {
              api: {
                kind: 'steps',
                description: 'changes on refresh()',
                open: () => ({ resolve: async () => ({ endpoints: current.map((url) => ({ url })) }) }),
              },
            },
          });
          await registry.ready('api');
          for (const step of steps) {
            for (let i = 0; i < step.before; i++) registry.url('api'); // anywhere in a rotation
            current = step.urls.map((n) => `http://10.0.0.${n}:80`);
            await clock.advance(1000); // minInterval
            await registry.refresh('api');
            const next = Array.from({ length: current.length }, () => registry.url('api'));
            expect(next.slice().sort()).toEqual(current.slice().sort());
          }
          registry.close();
        },
      ),
      { seed: 20261124, numRuns: 150 },
    );
  });
});

describe('roundRobin() given as the registry-wide balancer (one instance for every service)', () => {
  it('keeps one rotation per service: picks of two services taking turns still cycle through each', () => {
    const registry = createRegistry({
      balancer: roundRobin(),
      services: {
        a: { urls: ['http://a1:1', 'http://a2:1'] },
        b: { urls: ['http://b1:1', 'http://b2:1'] },
      },
    });
    const seen: string[] = [];
    for (let i = 0; i < 4; i++) seen.push(registry.url('a'), registry.url('b'));
    // Before, the services shared one cursor: a always got a1 and b always b2.
    expect(seen).toEqual([
      'http://a1:1',
      'http://b1:1',
      'http://a2:1',
      'http://b2:1',
      'http://a1:1',
      'http://b1:1',
      'http://a2:1',
      'http://b2:1',
    ]);
    registry.close();
  });
});

describe('weighted', () => {
  it('picks in proportion to the weights (RFC 2782), a weight-0 endpoint only rarely while others have weight', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 100 }), { minLength: 1, maxLength: 6 }),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (weights, seed) => {
          const candidates = weights.map((w, i) => load(`http://h${i}:1`, w));
          const total = weights.reduce((a, b) => a + b, 0);
          const rnd = seededRandom(seed);
          const b = weighted();
          const n = 4000;
          const counts = new Array<number>(weights.length).fill(0);
          for (let i = 0; i < n; i++) {
            const c = b.pick(candidates, rnd, 0);
            const k = candidates.indexOf(c);
            counts[k] = (counts[k] ?? 0) + 1;
          }
          return counts.every((count, i) => {
            const expected = total === 0 ? 1 / weights.length : (weights[i] as number) / total;
            // RFC 2782: "a very small chance": 1e-5 of the largest weight, 0.04 expected in 4000.
            if (total > 0 && weights[i] === 0) return count <= 4;
            // 4000 draws: 5 standard deviations of a binomial share is < 0.04.
            return Math.abs(count / n - expected) < 0.04;
          });
        },
      ),
      { numRuns: 60 },
    );
  });

  it('depends only on the weights’ ratios, even when their sum is past Number.MAX_VALUE (property)', () => {
    // Multiplying every weight by a power of two keeps the ratios exact: the same random numbers must
    // pick the same endpoints, whether or not the scaled sum overflows to Infinity.
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 1000 }), { minLength: 1, maxLength: 6 }),
        // Up to 2^1014: 1000 x 2^1014 is still below Number.MAX_VALUE; from 2^1000 up sums overflow often.
        fc.oneof(fc.integer({ min: 0, max: 1014 }), fc.integer({ min: 1000, max: 1014 })),
        fc.integer({ min: 1, max: 2 ** 31 }),
        (weights, exponent, seed) => {
          const plain = weights.map((w, i) => load(`http://h${i}:1`, w));
          const huge = weights.map((w, i) => load(`http://h${i}:1`, w * 2 ** exponent));
          const a = seededRandom(seed);
          const b = seededRandom(seed);
          const balancer = weighted();
          for (let i = 0; i < 200; i++)
            expect(huge.indexOf(balancer.pick(huge, b, 0))).toBe(plain.indexOf(balancer.pick(plain, a, 0)));
        },
      ),
      { seed: 2782, numRuns: 300 },
    );
  });

  it('gives weight-0 endpoints a very small chance beside weighted ones, as RFC 2782 asks (seeded)', () => {
    // RFC 2782: "In the presence of records containing weights greater than 0, records with weight 0
    // should have a very small chance of being selected." Here: 1e-5 of the largest weight each.
    const candidates = [load('http://a:1', 3), load('http://z:1', 0), load('http://b:1', 1)];
    const rnd = seededRandom(2782);
    const balancer = weighted();
    const n = 2 ** 22;
    const counts = [0, 0, 0];
    for (let i = 0; i < n; i++) {
      const k = candidates.indexOf(balancer.pick(candidates, rnd, 0));
      counts[k] = (counts[k] as number) + 1;
    }
    // Expected for z: n x (1e-5 / 3) / (4/3 + 1e-5 / 3) = 10.5 picks.
    expect(counts[1]).toBeGreaterThan(0);
    expect(counts[1]).toBeLessThan(40);
    expect((counts[0] as number) / n).toBeCloseTo(0.75, 2);
  });

  it('picks uniformly among candidates that all have weight 0 (an all-zero SRV tier is served)', () => {
    const candidates = [load('http://a:1', 0), load('http://b:1', 0), load('http://c:1', 0)];
    const rnd = seededRandom(11);
    const balancer = weighted();
    const counts = [0, 0, 0];
    for (let i = 0; i < 3000; i++) {
      const k = candidates.indexOf(balancer.pick(candidates, rnd, 0));
      counts[k] = (counts[k] as number) + 1;
    }
    for (const count of counts) expect(Math.abs(count / 3000 - 1 / 3)).toBeLessThan(0.04);
  });

  it('splits two weights of 1e308 (sum: Infinity) evenly', () => {
    const candidates = [load('http://a:1', 1e308), load('http://b:1', 1e308)];
    const rnd = seededRandom(7);
    const balancer = weighted();
    let a = 0;
    for (let i = 0; i < 4000; i++) if (balancer.pick(candidates, rnd, 0) === candidates[0]) a++;
    expect(a / 4000).toBeGreaterThan(0.45);
    expect(a / 4000).toBeLessThan(0.55);
  });
});

describe('p2cLeastLoaded', () => {
  it('never picks the most loaded of several candidates when loads differ', () => {
    fc.assert(
      fc.property(
        fc.array(fc.integer({ min: 0, max: 50 }), { minLength: 2, maxLength: 8 }),
        fc.integer(),
        (inflight, seed) => {
          const candidates = inflight.map((f, i) => ({ ...load(`http://h${i}:1`), inflight: f }));
          const max = Math.max(...inflight);
          const unique = inflight.filter((f) => f === max).length === 1;
          const b = p2cLeastLoaded();
          const rnd = seededRandom(seed);
          for (let i = 0; i < 50; i++) {
            const c = b.pick(candidates, rnd, 0);
            if (unique && c.inflight === max) return false;
          }
          return true;
        },
      ),
    );
  });
});

describe('p2cPeakEwma', () => {
  it('sends almost nothing to a host that fails fast (error penalty) or is 10x slower', () => {
    const clock = createFakeClock();
    const registry = createRegistry({
      services: { api: { urls: Array.from({ length: 10 }, (_, i) => `http://10.0.0.${i}:80`) } },
      balancer: 'peak-ewma',
      outlierDetection: false,
      clock,
      random: seededRandom(11),
    });
    const counts = new Map<string, number>();
    for (let i = 0; i < 20_000; i++) {
      const e = registry.pick('api');
      counts.set(e.url, (counts.get(e.url) ?? 0) + 1);
      const failing = e.url === 'http://10.0.0.0:80';
      const slow = e.url === 'http://10.0.0.1:80';
      registry.report(
        e,
        failing ? { ok: false, latencyMs: 0.2, status: 503 } : { ok: true, latencyMs: slow ? 20 : 2 },
      );
      clock.advanceSync(1);
    }
    expect((counts.get('http://10.0.0.0:80') ?? 0) / 20_000).toBeLessThan(0.01);
    expect((counts.get('http://10.0.0.1:80') ?? 0) / 20_000).toBeLessThan(0.05);
  });

  it('keeps sending concurrent requests to a host measured at 0 ms, as to any fast host', () => {
    // A sub-millisecond call timed with Date.now() reports latencyMs 0: that is a measurement, not "never
    // measured" (which peak-EWMA keeps from a second request until the first answers).
    const registry = createRegistry({
      services: { api: { urls: ['http://fast:80', 'http://slow:80'] } },
      balancer: 'peak-ewma',
      outlierDetection: false,
      clock: createFakeClock(),
      random: seededRandom(5),
    });
    const [fast, slow] = registry.endpoints('api') as [Endpoint, Endpoint];
    registry.report(fast, { ok: true, latencyMs: 0 });
    registry.report(slow, { ok: true, latencyMs: 50 });
    const picked = Array.from({ length: 4 }, () => registry.pick('api').url); // 4 in flight at once
    expect(picked).toEqual(Array(4).fill('http://fast:80'));
  });

  it('jumps to a higher latency at once and decays toward lower ones', () => {
    const b = p2cPeakEwma({ decayMs: 1000 });
    const l = load('http://a:1');
    b.observe?.(l, { ok: true, latencyMs: 10 }, 0);
    expect(l.ewma).toBe(10);
    b.observe?.(l, { ok: true, latencyMs: 100 }, 1);
    expect(l.ewma).toBe(100);
    b.observe?.(l, { ok: true, latencyMs: 10 }, 1001);
    expect(l.ewma).toBeCloseTo(100 * Math.exp(-1) + 10 * (1 - Math.exp(-1)), 6);
    b.observe?.(l, { ok: false, latencyMs: 1 }, 1002);
    expect(l.ewma).toBe(1000);
  });

  it('still reads a host idle for minutes to days as cheap, not as never measured, while it has a request in flight (property)', () => {
    // exp(-idle / decayMs) underflows after ~12 min (decay 1 s): the estimate became 0, and a host with a
    // request in flight was then shunned like a host never measured until that request ended.
    fc.assert(
      fc.property(
        fc.double({ min: 60_000, max: 30 * 86_400_000, noNaN: true }),
        fc.double({ min: 0.001, max: 10_000, noNaN: true }),
        fc.double({ min: 0.001, max: 10_000, noNaN: true }),
        fc.integer({ min: 1, max: 3 }),
        fc.integer({ min: 0, max: 2 }),
        (idle, oldLatency, freshLatency, inflight, otherInflight) => {
          const b = p2cPeakEwma({ decayMs: 1000 });
          const idleHost = load('http://idle:1');
          const busyHost = load('http://busy:1');
          b.observe?.(idleHost, { ok: true, latencyMs: oldLatency }, 0);
          b.observe?.(busyHost, { ok: true, latencyMs: freshLatency }, idle);
          idleHost.inflight = inflight;
          busyHost.inflight = otherInflight;
          const picked = b.pick([busyHost, idleHost], () => 0.5, idle);
          // And among hosts idle that long, the one with fewer requests in flight.
          const idleToo = load('http://idle-too:1');
          b.observe?.(idleToo, { ok: true, latencyMs: oldLatency }, 0);
          idleToo.inflight = inflight + 1;
          return picked === idleHost && b.pick([idleHost, idleToo], () => 0.5, idle) === idleHost;
        },
      ),
    );
  });

  it('rejects bad options and unknown balancer names', () => {
    expect(() => p2cPeakEwma({ decayMs: 0 })).toThrow(/decayMs/);
    expect(() => balancerFor('fastest' as never)).toThrow(/balancer/);
  });
});

describe('outlier detection invariants', () => {
  it('never ejects more than maxEjectionPercent of endpoints (but may always eject one)', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 30 }),
        fc.integer({ min: 0, max: 100 }),
        fc.array(fc.tuple(fc.nat(), fc.boolean()), { maxLength: 400 }),
        async (n, maxEjectionPercent, calls) => {
          const clock = createFakeClock();
          const registry = createRegistry({
            services: { api: { urls: Array.from({ length: n }, (_, i) => `http://10.0.0.${i}:80`) } },
            clock,
            random: seededRandom(n),
            outlierDetection: {
              maxEjectionPercent,
              consecutive5xx: 2,
              interval: 100,
              baseEjectionTime: 300,
              successRateEjection: { requestVolume: 3, minimumHosts: 1 },
              failurePercentageEjection: { requestVolume: 3, minimumHosts: 1, threshold: 50 },
            },
          });
          const endpoints = registry.endpoints('api') as Endpoint[];
          const limit = Math.max(1, Math.floor((n * maxEjectionPercent) / 100));
          for (const [which, ok] of calls) {
            registry.report(endpoints[which % n] as Endpoint, { ok, latencyMs: 1 });
            if (which % 7 === 0) clock.advanceSync(50);
            const ejected = registry.inspect('api').endpoints.filter((e) => e.outlier.ejected).length;
            if (ejected > limit) return false;
          }
          registry.close();
          return true;
        },
      ),
      { numRuns: 80 },
    );
  });

  it('in panic mode picks from every endpoint; otherwise only from healthy ones', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 12 }),
        fc.integer({ min: 0, max: 12 }),
        fc.integer({ min: 0, max: 100 }),
        async (n, downRaw, panicThreshold) => {
          const down = Math.min(n, downRaw);
          const clock = createFakeClock();
          const urls = Array.from({ length: n }, (_, i) => `http://10.0.0.${i}:80`);
          const unhealthy = new Set(urls.slice(0, down));
          const registry = createRegistry({
            services: { api: { urls } },
            clock,
            random: seededRandom(n * 31 + down),
            balancer: 'round-robin',
            panicThreshold,
            healthCheck: { check: async (e) => !unhealthy.has(e.url), unhealthyThreshold: 1, interval: 1000 },
          });
          await clock.advance(0);
          const healthyPct = ((n - down) * 100) / n;
          const panic = healthyPct < panicThreshold;
          expect(registry.inspect('api').panic).toBe(panic);
          if (!panic && down === n) {
            expect(() => registry.url('api')).toThrow(/No endpoint/);
          } else {
            const seen = new Set(Array.from({ length: n * 2 }, () => registry.url('api')));
            const expected = panic ? new Set(urls) : new Set(urls.slice(down));
            expect(seen).toEqual(expected);
          }
          registry.close();
        },
      ),
      { numRuns: 60 },
    );
  });
});
