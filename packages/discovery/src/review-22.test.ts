/**
 * Review round 22: a cross-review of 8632c62 (a consecutive-5xx detection that enforcingConsecutive5xx does not
 * enforce starts the count again, decision 0165): its interaction with successes, maxEjectionPercent refusals,
 * enforcingConsecutive5xx 0 and 100 and un-ejection, and the number of random draws per run. Fake clock; the
 * randomness is scripted and counted (a static source, round-robin and no health checks draw nothing else).
 */
import { createRegistry, type OutlierDetectionOptions, type Registry } from '@integ/discovery';
import { createFakeClock, type FakeClock } from '@integ/testing';
import { afterEach, describe, expect, it } from 'vitest';
import { calls, ejected } from './internal/test-outlier.js';

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});

const hosts = (n: number): string[] => Array.from({ length: n }, (_, i) => `http://h${i + 1}:8080`);

/** A registry of `n` static hosts whose randomness answers `draws` in turn (then 0.5) and counts its calls. */
function setup(
  n: number,
  outlierDetection: OutlierDetectionOptions,
  draws: number[] = [],
): { registry: Registry; clock: FakeClock; drawn: () => number } {
  const clock = createFakeClock();
  let count = 0;
  const random = (): number => draws[count++] ?? 0.5;
  const registry = createRegistry({
    services: { s: { urls: hosts(n) } },
    clock,
    random,
    outlierDetection: { successRateEjection: false, ...outlierDetection },
  });
  opened.push(registry);
  return { registry, clock, drawn: () => count };
}

const count = (registry: Registry, url: string): number | undefined =>
  registry.inspect('s').endpoints.find((e) => e.url === url)?.outlier.consecutiveFailures;

const [h1, h2, h3] = hosts(3) as [string, string, string];

describe('consecutive 5xx after 8632c62', () => {
  it('draws exactly once per run of consecutive5xx failures (enforcingConsecutive5xx 50), not once per failure', () => {
    const { registry, drawn } = setup(3, { enforcingConsecutive5xx: 50 }, [0.9, 0.9, 0.9, 0.1]);
    for (let run = 1; run <= 3; run++) {
      calls(registry, h1, false, 4);
      expect(drawn()).toBe(run - 1);
      calls(registry, h1, false, 1);
      expect(drawn()).toBe(run);
      expect(count(registry, h1)).toBe(0);
    }
    expect(ejected(registry)).toEqual([]);
    calls(registry, h1, false, 5);
    expect(drawn()).toBe(4);
    expect(ejected(registry)).toEqual([h1]);
  });

  it('a success or a 4xx inside a run starts it again: the draw comes at the 5th failure after it', () => {
    const { registry, drawn } = setup(3, { enforcingConsecutive5xx: 50 }, [0.1]);
    calls(registry, h1, false, 4);
    calls(registry, h1, true, 1);
    calls(registry, h1, false, 4);
    const endpoint = registry.endpoints('s').find((e) => e.url === h1)!;
    registry.report(endpoint, { ok: false, latencyMs: 1, status: 429 });
    calls(registry, h1, false, 4);
    expect(drawn()).toBe(0);
    expect(ejected(registry)).toEqual([]);
    calls(registry, h1, false, 1);
    expect(drawn()).toBe(1);
    expect(ejected(registry)).toEqual([h1]);
  });

  it('enforcingConsecutive5xx 0: never ejects, one draw per run, the count starting again each time', () => {
    const { registry, drawn } = setup(3, { enforcingConsecutive5xx: 0 }, [0, 0, 0, 0]);
    calls(registry, h1, false, 22);
    expect(ejected(registry)).toEqual([]);
    expect(drawn()).toBe(4);
    expect(count(registry, h1)).toBe(2);
  });

  it('enforcingConsecutive5xx 100: no draw at all, ejected at the 5th failure', () => {
    const { registry, drawn } = setup(3, { enforcingConsecutive5xx: 100 });
    calls(registry, h1, false, 5);
    expect(ejected(registry)).toEqual([h1]);
    expect(drawn()).toBe(0);
  });

  it('failures while ejected neither draw nor carry over: after un-ejection a new run of 5 draws once', async () => {
    const { registry, clock, drawn } = setup(
      3,
      { enforcingConsecutive5xx: 50, interval: 10_000, baseEjectionTime: 10_000 },
      [0.1, 0.9, 0.1],
    );
    calls(registry, h1, false, 5);
    expect(drawn()).toBe(1);
    calls(registry, h1, false, 7); // answered late, picked before the ejection
    expect(drawn()).toBe(1);
    await clock.advance(10_000);
    expect(ejected(registry)).toEqual([]);
    expect(count(registry, h1)).toBe(0);
    calls(registry, h1, false, 4);
    expect(drawn()).toBe(1);
    calls(registry, h1, false, 1);
    expect(drawn()).toBe(2);
    expect(ejected(registry)).toEqual([]);
    calls(registry, h1, false, 5);
    expect(drawn()).toBe(3);
    expect(ejected(registry)).toEqual([h1]);
  });

  // Decision 0165, left open: a detection that maxEjectionPercent refuses keeps counting, so every further failure
  // is a new detection (and, below 100, a new draw) until a slot frees; Envoy resets the count there too.
  it('a detection refused by maxEjectionPercent keeps counting: each further failure detects (and draws) again', async () => {
    const { registry, clock, drawn } = setup(
      3,
      { enforcingConsecutive5xx: 50, maxEjectionPercent: 34, interval: 10_000, baseEjectionTime: 10_000 },
      [0.1, 0.1, 0.1, 0.9, 0.1],
    );
    calls(registry, h1, false, 5);
    expect(ejected(registry)).toEqual([h1]);
    calls(registry, h2, false, 5); // enforced, refused: 2 of 3 > 34%
    expect(drawn()).toBe(2);
    expect(count(registry, h2)).toBe(5);
    calls(registry, h2, false, 1); // enforced, refused again
    expect(drawn()).toBe(3);
    calls(registry, h2, false, 1); // not enforced: a new run
    expect(drawn()).toBe(4);
    expect(count(registry, h2)).toBe(0);
    await clock.advance(10_000); // h1 back: a slot is free
    calls(registry, h2, false, 5);
    expect(drawn()).toBe(5);
    expect(ejected(registry)).toEqual([h2]);
    expect(registry.inspect('s').endpoints.find((e) => e.url === h3)?.ejected).toBe(false);
  });
});
