/**
 * Round 17 (clock): on a fake clock standing at a fraction of a ms, what the README promises at a given
 * advance() happens there: an outlier ejection of n x baseEjectionTime ends at the sweep that many ms later.
 */
import { createRegistry } from '@integ/discovery';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

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
