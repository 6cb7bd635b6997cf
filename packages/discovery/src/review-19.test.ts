/**
 * Review round 19: the registry's forward-only time (internal/steady.ts) on a clock that reads NaN, Infinity or
 * -Infinity once. Such a reading is no time since the last (as @integ/breaker's steady(), 76f14db): before, one
 * Infinity or -Infinity reading made every later reading Infinity (a step back of Infinity), and a NaN one
 * stamped what it timed with NaN. Ejections, peak-EWMA loads and refresh spacing must work on afterwards.
 */
import { createRegistry, type Registry, type Snapshot, type Source } from '@integ/discovery';
import { createFakeClock, seededRandom } from '@integ/testing';
import { afterEach, describe, expect, it } from 'vitest';

const T0 = 1_700_000_000_000;
const urls = ['http://10.0.0.1:80', 'http://10.0.0.2:80'];

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});

/** A fake clock whose now() reads `bad` once, at the next reading after `readBadNext()`. */
function oddClock(bad: number) {
  const fake = createFakeClock({ now: T0 });
  let pending = false;
  return {
    fake,
    clock: {
      now: () => {
        if (!pending) return fake.now();
        pending = false;
        return bad;
      },
      setTimeout: (fn: () => void, ms: number) => fake.setTimeout(fn, ms),
      clearTimeout: (handle: unknown) => fake.clearTimeout(handle as never),
    },
    readBadNext: () => {
      pending = true;
    },
  };
}

const outlierDetection = { interval: 1_000, baseEjectionTime: 10_000, maxEjectionPercent: 50 };

describe.each([Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY])(
  'createRegistry on a clock that reads %s once',
  (bad) => {
    it('ejects for baseEjectionTime of elapsed time after that reading', async () => {
      const { fake, clock, readBadNext } = oddClock(bad);
      const registry = createRegistry({ services: { s: { urls } }, clock, outlierDetection });
      opened.push(registry);
      await fake.advance(1_000);
      readBadNext();
      registry.inspect('s'); // takes the odd reading
      await fake.advance(1_000);
      const [first] = registry.endpoints('s');
      for (let i = 0; i < 5; i++) registry.report(first!, { ok: false, latencyMs: 1, status: 503 });
      const ejected = registry.inspect('s').endpoints[0]!;
      expect(ejected.ejected).toBe(true);
      expect(ejected.outlier.ejectedUntil).toBe(fake.now() + 10_000);
      await fake.advance(9_000);
      expect(registry.inspect('s').endpoints[0]?.ejected).toBe(true);
      await fake.advance(2_000);
      expect(registry.inspect('s').endpoints[0]?.ejected).toBe(false);
    });

    it('ejects for baseEjectionTime when the odd reading is the one that stamps the ejection', async () => {
      const { fake, clock, readBadNext } = oddClock(bad);
      const registry = createRegistry({ services: { s: { urls } }, clock, outlierDetection });
      opened.push(registry);
      await fake.advance(1_000);
      const [first] = registry.endpoints('s');
      for (let i = 0; i < 4; i++) registry.report(first!, { ok: false, latencyMs: 1, status: 503 });
      readBadNext();
      registry.report(first!, { ok: false, latencyMs: 1, status: 503 });
      const ejected = registry.inspect('s').endpoints[0]!;
      expect(ejected.ejected).toBe(true);
      // Stamped at the last good reading (the same instant here), shown on the clock as it reads.
      expect(ejected.outlier.ejectedUntil).toBe(fake.now() + 10_000);
      expect(ejected.reasons.join()).toContain(new Date(fake.now() + 10_000).toISOString());
      await fake.advance(11_000);
      expect(registry.inspect('s').endpoints[0]?.ejected).toBe(false);
    });

    it('keeps peak-EWMA loads finite and decaying', async () => {
      const { fake, clock, readBadNext } = oddClock(bad);
      const registry = createRegistry({
        services: { s: { urls } },
        clock,
        balancer: 'peak-ewma',
        outlierDetection: false,
        random: seededRandom(7),
      });
      opened.push(registry);
      const [a, b] = registry.endpoints('s');
      registry.report(a!, { ok: true, latencyMs: 5 });
      registry.report(b!, { ok: true, latencyMs: 5 });
      await fake.advance(1_000);
      readBadNext();
      registry.report(a!, { ok: false, latencyMs: 1, status: 503 }); // charged the failure penalty
      const picked = new Set<string>();
      for (let i = 0; i < 200; i++) {
        await fake.advance(100);
        for (const e of registry.inspect('s').endpoints) expect(Number.isFinite(e.load.ewmaMs)).toBe(true);
        const endpoint = registry.pick('s');
        picked.add(endpoint.url);
        registry.report(endpoint, { ok: true, latencyMs: 5 });
      }
      // 20 s after the failure its penalty has decayed: a is picked again.
      expect(picked).toContain(a!.url);
    });

    it('spaces lookups by their TTL, minInterval and backoff as before the reading', async () => {
      const { fake, clock, readBadNext } = oddClock(bad);
      let asked = 0;
      let failing = false;
      const source: Source = {
        kind: 'counting',
        description: 'answers with a 5 s TTL',
        open: () => ({
          resolve: async (): Promise<Snapshot> => {
            asked++;
            if (failing) throw new Error('down');
            return { endpoints: [{ url: urls[0]! }], ttlMs: 5_000 };
          },
        }),
      };
      const registry = createRegistry({ services: { s: source }, clock, jitter: 0, minInterval: 1_000 });
      opened.push(registry);
      await registry.ready('s');
      expect(asked).toBe(1);
      readBadNext();
      await fake.advance(5_000); // the 2nd lookup starts on the odd reading
      expect(asked).toBe(2);
      await fake.advance(20_000);
      expect(asked).toBe(6);
      failing = true;
      await fake.advance(5_000);
      expect(asked).toBe(7);
      readBadNext();
      await fake.advance(30_000); // backoff 1 s, 2 s, 4 s, 8 s, 16 s
      expect(asked).toBe(11);
    });
  },
);

describe('ready() given a signal that is not signal-shaped', () => {
  // A hand-made stub got past ready(): its waiter was queued before addEventListener threw, and a removeEventListener
  // that was missing or threw threw out of the loop that resolves the waiters, which took the answer for a failed
  // lookup and left every other ready() waiting.
  const boom = new Error('stub');
  const stubs: [string, unknown][] = [
    ['{ aborted: false }', { aborted: false }],
    ['no removeEventListener', { aborted: false, addEventListener() {} }],
    [
      'an addEventListener that throws',
      {
        aborted: false,
        addEventListener() {
          throw boom;
        },
        removeEventListener() {},
      },
    ],
    [
      'a removeEventListener that throws',
      {
        aborted: false,
        addEventListener() {},
        removeEventListener() {
          throw boom;
        },
      },
    ],
  ];
  for (const [name, signal] of stubs) {
    it(`rejects ${name} with InvalidArgumentError (signal), and other ready() calls still resolve`, async () => {
      const fake = createFakeClock({ now: T0 });
      let answer: (() => void) | undefined;
      const source: Source = {
        kind: 'held',
        description: 'answers when told',
        open: () => ({
          resolve: () =>
            new Promise<Snapshot>((resolve) => {
              answer = () => resolve({ endpoints: [{ url: urls[0]! }], ttlMs: 5_000 });
            }),
        }),
      };
      const registry = createRegistry({ services: { s: source }, clock: fake });
      opened.push(registry);
      const stubbed = registry.ready('s', { signal: signal as AbortSignal });
      stubbed.catch(() => {});
      const other = registry.ready('s');
      let settled = false;
      other.then(() => (settled = true)).catch(() => {});
      await fake.advance(0);
      answer?.();
      for (let i = 0; i < 10; i++) await fake.advance(0);
      expect(settled).toBe(true);
      await expect(stubbed).rejects.toMatchObject({ name: 'InvalidArgumentError', argument: 'signal' });
      expect(registry.inspect('s')).toMatchObject({ state: 'ready', refreshes: 1, lastError: null });
    });
  }
});
