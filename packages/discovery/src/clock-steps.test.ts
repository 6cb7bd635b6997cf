/**
 * The default clock is `Date.now()`, a wall clock: NTP, a VM resumed from a snapshot or an operator can step
 * it back or forward. The registry must not read a step back as time still to wait: the next lookup comes
 * after its delay of elapsed time (a blocking Consul query or an etcd watch is in flight nearly all the
 * time, so a step lands during one), an ejection lasts its ejection time, and a host peak-EWMA shuns is
 * probed again once its cost has decayed.
 *
 * The clock of these tests is such a wall clock: `now()` is the fake clock's time plus a step the test sets,
 * while timers run on the fake clock's elapsed time, as `setTimeout` does on a real machine (as in the
 * breaker's clock-steps.test.ts, decision 0120).
 */
import { createRegistry, type Endpoint, type Registry, type Snapshot, type Source } from '@integ/discovery';
import { createFakeClock, seededRandom } from '@integ/testing';
import fc from 'fast-check';
import { afterEach, describe, expect, it } from 'vitest';

const T0 = 1_700_000_000_000;
const DAY = 86_400_000;

const wallClock = () => createFakeClock({ now: T0 });

const opened: Registry[] = [];
afterEach(() => {
  for (const registry of opened.splice(0)) registry.close();
});
const registryOf = (options: Parameters<typeof createRegistry>[0]): Registry => {
  const registry = createRegistry(options);
  opened.push(registry);
  return registry;
};

const urls = (n: number): string[] => Array.from({ length: n }, (_, i) => `http://10.0.0.${i + 1}:80`);

/** A source that answers when the test says so; `asked` counts lookups. */
function heldSource() {
  let release: (() => void) | undefined;
  const state = { asked: 0 };
  const source: Source = {
    kind: 'held',
    description: 'answers when released',
    open: () => ({
      resolve: (signal) =>
        new Promise<Snapshot>((resolve, reject) => {
          state.asked++;
          release = () => resolve({ endpoints: [{ url: 'http://10.0.0.1:80' }], ttlMs: 0 });
          signal.addEventListener('abort', () => reject(signal.reason), { once: true });
        }),
    }),
  };
  return {
    source,
    state,
    release: () => {
      release?.();
      release = undefined;
    },
  };
}

describe('createRegistry when the wall clock steps', () => {
  it('asks a blocking source again after minInterval, even when the clock went back a day during the lookup', async () => {
    const clock = wallClock();
    const held = heldSource();
    const registry = registryOf({ services: { s: held.source }, clock, minInterval: 1_000 });
    await clock.advance(0);
    expect(held.state.asked).toBe(1);
    await clock.advance(30_000); // a blocking query waits on the server
    clock.setWallClock(T0 - DAY);
    held.release();
    await registry.ready('s');
    await clock.advance(1_000);
    expect(held.state.asked).toBe(2);
    expect(registry.inspect('s').nextRefreshAt).toBeLessThanOrEqual(clock.now());
  });

  it('retries a failing source after its backoff, even when the clock went back a day during the lookup', async () => {
    const clock = wallClock();
    let asked = 0;
    let fail: ((error: Error) => void) | undefined;
    const source: Source = {
      kind: 'failing',
      description: 'fails when told',
      open: () => ({
        resolve: () =>
          new Promise<Snapshot>((_, reject) => {
            asked++;
            fail = reject;
          }),
      }),
    };
    registryOf({ services: { s: source }, clock, minInterval: 1_000, jitter: 0 });
    await clock.advance(0);
    await clock.advance(5_000);
    clock.setWallClock(T0 - DAY);
    fail?.(new Error('down'));
    await clock.advance(0);
    await clock.advance(1_000);
    expect(asked).toBe(2);
  });

  it('ends an ejection after its ejection time of elapsed time, not that plus a step back', async () => {
    const clock = wallClock();
    const registry = registryOf({
      services: { s: { urls: urls(2) } },
      clock,
      outlierDetection: { interval: 1_000, baseEjectionTime: 10_000, maxEjectionPercent: 50 },
    });
    const bad = registry.endpoints('s')[0]!;
    for (let i = 0; i < 5; i++) registry.report(bad, { ok: false, latencyMs: 1, status: 503 });
    expect(registry.inspect('s').endpoints[0]?.ejected).toBe(true);
    await clock.advance(4_000);
    clock.setWallClock(T0 - DAY);
    await clock.advance(7_000);
    expect(registry.inspect('s').endpoints[0]?.ejected).toBe(false);
  });

  it('says when an ejection ends on the clock as it reads now, after a step back', async () => {
    const clock = wallClock();
    const registry = registryOf({
      services: { s: { urls: urls(2) } },
      clock,
      outlierDetection: { interval: 1_000, baseEjectionTime: 10_000, maxEjectionPercent: 50 },
    });
    const bad = registry.endpoints('s')[0]!;
    for (let i = 0; i < 5; i++) registry.report(bad, { ok: false, latencyMs: 1, status: 503 });
    expect(registry.inspect('s').endpoints[0]?.outlier.ejectedUntil).toBe(T0 + 10_000);
    clock.setWallClock(T0 - DAY);
    const until = registry.inspect('s').endpoints[0]?.outlier.ejectedUntil ?? 0;
    expect(until).toBe(T0 - DAY + 10_000);
    expect(registry.inspect('s').endpoints[0]?.reasons.join()).toContain(new Date(until).toISOString());
  });

  it('probes a host peak-EWMA shunned for a failure again once its penalty decayed, even after a step back', async () => {
    const clock = wallClock();
    const registry = registryOf({
      services: { s: { urls: urls(2) } },
      clock,
      balancer: 'peak-ewma',
      outlierDetection: false,
      random: seededRandom(7),
    });
    const [a, b] = registry.endpoints('s') as [Endpoint, Endpoint];
    // a fails fast (charged the 1000 ms penalty), b answers in 5 ms
    registry.report(a, { ok: false, latencyMs: 1, status: 503 });
    registry.report(b, { ok: true, latencyMs: 5 });
    clock.setWallClock(T0 - DAY);
    const picked = new Set<string>();
    for (let i = 0; i < 200; i++) {
      await clock.advance(100);
      const endpoint = registry.pick('s');
      picked.add(endpoint.url);
      registry.report(endpoint, { ok: true, latencyMs: 5 });
    }
    // 20 s after the failure its 1000 ms penalty has decayed far below 5 ms: a is probed again.
    expect(picked).toContain(a.url);
  });

  it('keeps ejections within maxEjectionTime plus one sweep of elapsed time, and EWMA loads finite, while the clock steps back and forth', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(
          fc.oneof(
            fc.record({
              kind: fc.constant('step' as const),
              by: fc.constantFrom(-DAY, -1_000, -1, 1, 1_000, DAY),
            }),
            fc.record({ kind: fc.constant('advance' as const), ms: fc.integer({ min: 0, max: 10_000 }) }),
            fc.record({
              kind: fc.constant('call' as const),
              status: fc.constantFrom(200, 404, 503),
              latencyMs: fc.integer({ min: 0, max: 2_000 }),
            }),
          ),
          { maxLength: 60 },
        ),
        fc.constantFrom('round-robin' as const, 'peak-ewma' as const),
        async (commands, balancer) => {
          const clock = wallClock();
          const registry = createRegistry({
            services: { s: { urls: urls(4) } },
            clock,
            balancer,
            random: seededRandom(3),
            outlierDetection: {
              interval: 1_000,
              baseEjectionTime: 2_000,
              maxEjectionTime: 6_000,
              maxEjectionPercent: 50,
              consecutive5xx: 1,
            },
          });
          // The longest an ejection may last, in elapsed time: the max ejection time plus one sweep.
          const ejectedFor = new Map<string, number>();
          try {
            for (const command of commands) {
              if (command.kind === 'step') {
                clock.setWallClock(clock.now() + command.by);
              } else if (command.kind === 'advance') {
                for (let left = command.ms; left > 0; left -= 500) {
                  await clock.advance(Math.min(500, left));
                  for (const e of registry.inspect('s').endpoints) {
                    const t = e.ejected ? (ejectedFor.get(e.url) ?? 0) + Math.min(500, left) : 0;
                    ejectedFor.set(e.url, t);
                    expect(t).toBeLessThanOrEqual(6_000 + 1_000);
                  }
                }
              } else {
                const endpoint = registry.pick('s');
                registry.report(endpoint, {
                  ok: command.status < 400,
                  latencyMs: command.latencyMs,
                  status: command.status,
                });
              }
              for (const e of registry.inspect('s').endpoints) {
                expect(Number.isFinite(e.load.ewmaMs) && e.load.ewmaMs >= 0).toBe(true);
                expect(e.load.ewmaMs).toBeLessThanOrEqual(2_000);
              }
            }
          } finally {
            registry.close();
          }
        },
      ),
      { seed: 1207, numRuns: 80 },
    );
  });
});
