/**
 * Model-based test of createBreakerRegistry: random command sequences over a small key space drive a real
 * registry on the fake clock and a small reference model of the README's eviction rules side by side
 * (decision 0023 gives the numbers: 8 entries looked at per use). After every step the held keys, `size`,
 * `has`, `snapshot()`, the breakers handed out and every `onEvict` call must agree.
 *
 * The model: a plain array in least-recently-used order, each entry with its count of calls in flight
 * through `execute`. A `get(key)` (and so an `execute`) at time `now` takes `key` out of the order, then
 *  1. sweep: looks at no more than the 8 oldest other entries, stops at the first used within `idleFor`,
 *     and evicts each closed one before it with no call in flight (open and half-open ones stay, and so do
 *     busy ones);
 *  2. while `maxSize` are held (only when `key` is new): evicts the first closed entry with no call in
 *     flight among the 8 oldest, else the first closed one among them, else the oldest;
 *  3. puts `key` at the most recently used end, with the breaker it held or a new one.
 * An `execute` adds a call in flight to its entry; when its promise settles (at once for a rejection by an
 * open breaker, or for `ok` and `fail`; at the `settle` command for `hang`) the call ends, and the end is one
 * more use of the key (the steps above), unless its entry has been evicted or forgotten since.
 * `prune()` is the sweep without the limit of 8. `has`, `size` and `snapshot()` are not uses. `delete` and
 * `clear` forget without calling `onEvict`. Breaker states are read from the breakers (the breaker itself has
 * its own model test); the model only tracks when a key it made fail must still read open.
 */

import { type Breaker, type BreakerState, createBreakerRegistry } from '@integ/breaker';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// ---------------------------------------------------------------------------------------------------
// Configurations and commands

interface Config {
  readonly keys: number;
  readonly maxSize: number;
  readonly idleFor: number;
  readonly threshold: number;
  readonly throwingHook: boolean;
  /** How many in 4 of the `execute` commands fail (the rest succeed or hang). */
  readonly failing: number;
  readonly steps: number;
}

type Cmd =
  | { readonly t: 'get'; readonly k: number }
  | { readonly t: 'exec'; readonly k: number; readonly fn: 'ok' | 'fail' | 'hang' }
  | { readonly t: 'settle'; readonly i: number; readonly ok: boolean }
  | { readonly t: 'advance'; readonly ms: number }
  | { readonly t: 'isolate'; readonly k: number }
  | { readonly t: 'delete'; readonly k: number }
  | { readonly t: 'prune' }
  | { readonly t: 'clear' };

const OPEN_FOR = 40;
const PROBE_TIMEOUT = 25;
const SCAN = 8;

const cmdArb = ({ keys, failing }: Config): fc.Arbitrary<Cmd> => {
  const k = fc.nat({ max: keys - 1 });
  const fn = fc.oneof(
    { weight: failing, arbitrary: fc.constant('fail' as const) },
    { weight: 4 - failing, arbitrary: fc.constantFrom('ok' as const, 'hang' as const) },
  );
  return fc.oneof(
    { weight: 6, arbitrary: fc.record({ t: fc.constant('get' as const), k }) },
    {
      weight: 8,
      arbitrary: fc.record({
        t: fc.constant('exec' as const),
        k,
        fn,
      }),
    },
    { weight: 3, arbitrary: fc.record({ t: fc.constant('settle' as const), i: fc.nat(), ok: fc.boolean() }) },
    {
      weight: 4,
      arbitrary: fc.record({
        t: fc.constant('advance' as const),
        ms: fc.constantFrom(0, 1, 5, 10, 25, 40, 100),
      }),
    },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('isolate' as const), k }) },
    { weight: 1, arbitrary: fc.record({ t: fc.constant('delete' as const), k }) },
    { weight: 1, arbitrary: fc.constant({ t: 'prune' as const }) },
    { weight: 1, arbitrary: fc.constant({ t: 'clear' as const }) },
  );
};

// Small registries (the scan of 8 sees every entry) and wide ones (it does not).
const reached = [
  'idle closed evicted on use',
  'idle open kept on use',
  'oldest closed evicted',
  'closed evicted past open ones',
  'oldest open evicted',
  'pruned',
  'call hanging',
  'half-open held',
  'busy skipped by sweep',
  'busy kept by prune',
  'end of call is a use',
  'end of an evicted call',
  'busy closed evicted, none free',
  'free closed evicted past busy ones',
];

const families: readonly [string, fc.Arbitrary<Config>, readonly string[]][] = [
  [
    'small registries',
    fc.record({
      keys: fc.constant(6),
      maxSize: fc.integer({ min: 1, max: 4 }),
      idleFor: fc.constantFrom(0, 10, 50, Infinity),
      threshold: fc.constantFrom(1, 2),
      throwingHook: fc.boolean(),
      failing: fc.constant(1),
      steps: fc.constant(60),
    }),
    [],
  ],
  [
    'registries wider than the scan',
    fc.record({
      keys: fc.constant(16),
      maxSize: fc.integer({ min: 9, max: 13 }),
      idleFor: fc.constantFrom(10, 50, Infinity),
      threshold: fc.constant(1),
      throwingHook: fc.boolean(),
      failing: fc.constantFrom(1, 3),
      steps: fc.constant(120),
    }),
    ['oldest open evicted, a closed one past the scan'],
  ],
];

// ---------------------------------------------------------------------------------------------------
// The run

interface Held {
  readonly key: string;
  breaker: Breaker;
  used: number;
  /** Calls in flight through execute(). */
  calls: number;
}

// Stands for the breaker execute() just made until the get() after it returns it.
const UNKNOWN = {} as Breaker;

// Paths every family must reach, so the property cannot pass by never getting there.
const seen = new Set<string>();

const flush = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function run(cfg: Config, cmds: readonly Cmd[]): Promise<void> {
  const clock = createFakeClock({ now: 1_000 });
  const calls: [string, Breaker][] = [];
  const registry = createBreakerRegistry({
    clock,
    maxSize: cfg.maxSize,
    idleFor: cfg.idleFor,
    options: { failureThreshold: cfg.threshold, openFor: OPEN_FOR, probeTimeout: PROBE_TIMEOUT },
    onEvict: (key, breaker) => {
      calls.push([key, breaker]);
      if (cfg.throwingHook) throw new Error('hook');
    },
  });

  // The model.
  let order: Held[] = []; // least recently used first
  const everEvicted = new WeakSet<Breaker>();
  // A key the model made fail with failureThreshold 1 reads open until then (stale results cannot close it).
  const openUntil = new Map<string, number>();
  const pending: { settle: (ok: boolean) => void; held: Held; ended: () => boolean }[] = [];

  const name = (k: number): string => `k${k}`;
  const closed = (h: Held): boolean => h.breaker.state === 'closed';
  const idle = (h: Held, now: number): boolean => now - h.used >= cfg.idleFor;

  const forget = (h: Held, expected: [string, Breaker][]): void => {
    order = order.filter((o) => o !== h);
    openUntil.delete(h.key);
    expected.push([h.key, h.breaker]);
  };

  /** What get(key) should do: returns the held entry (undefined for a new key) and the evictions. */
  const modelGet = (key: string, now: number): { held: Held | undefined; expected: [string, Breaker][] } => {
    const expected: [string, Breaker][] = [];
    const held = order.find((h) => h.key === key);
    order = order.filter((h) => h !== held);
    for (const h of order.slice(0, SCAN)) {
      if (!idle(h, now)) break;
      if (h.calls > 0) seen.add('busy skipped by sweep');
      else if (closed(h)) {
        forget(h, expected);
        seen.add('idle closed evicted on use');
      } else seen.add('idle open kept on use');
    }
    while (order.length >= cfg.maxSize) {
      const look = order.slice(0, SCAN);
      const free = look.find((h) => h.calls === 0 && closed(h));
      const victim = free ?? look.find(closed);
      if (victim === undefined) {
        seen.add(
          order.some(closed) ? 'oldest open evicted, a closed one past the scan' : 'oldest open evicted',
        );
      } else if (free === undefined) seen.add('busy closed evicted, none free');
      else if (look.some((h) => h.calls > 0 && closed(h) && look.indexOf(h) < look.indexOf(free)))
        seen.add('free closed evicted past busy ones');
      else seen.add(victim === look[0] ? 'oldest closed evicted' : 'closed evicted past open ones');
      forget(victim ?? look[0]!, expected);
    }
    return { held, expected };
  };

  const checkEvictions = (expected: [string, Breaker][], what: string): void => {
    expect(
      calls.map(([k]) => k),
      `${what}: evicted keys`,
    ).toEqual(expected.map(([k]) => k));
    calls.forEach(([, b], i) => {
      expect(b, `${what}: evicted breaker of ${calls[i]![0]}`).toBe(expected[i]![1]);
      expect(everEvicted.has(b), 'onEvict called twice for one breaker').toBe(false);
      everEvicted.add(b);
    });
    calls.length = 0;
  };

  const use = (k: number, what: string): Breaker => {
    const key = name(k);
    const now = clock.now();
    const { held, expected } = modelGet(key, now);
    const breaker = registry.get(key);
    checkEvictions(expected, what);
    expect(everEvicted.has(breaker), `${what}: an evicted breaker`).toBe(false);
    if (held === undefined) order.push({ key, breaker, used: now, calls: 0 });
    else {
      if (held.breaker === UNKNOWN) held.breaker = breaker;
      else expect(breaker, `${what}: the breaker it held`).toBe(held.breaker);
      held.used = now;
      order.push(held);
    }
    return breaker;
  };

  /** A call through execute() has ended (its promise settled): the end is a use if its entry is held. */
  const end = (held: Held, what: string): void => {
    held.calls--;
    if (!order.includes(held)) {
      seen.add('end of an evicted call');
      checkEvictions([], what);
      return;
    }
    seen.add('end of call is a use');
    const now = clock.now();
    const { expected } = modelGet(held.key, now);
    checkEvictions(expected, what);
    held.used = now;
    order.push(held);
  };

  for (const [step, cmd] of cmds.entries()) {
    const what = `step ${step} ${JSON.stringify(cmd)}`;
    switch (cmd.t) {
      case 'get':
        use(cmd.k, what);
        break;
      case 'exec': {
        const key = name(cmd.k);
        const now = clock.now();
        const { held, expected } = modelGet(key, now);
        const before: BreakerState | undefined = held?.breaker.state;
        let settle: (ok: boolean) => void = () => {};
        const fn =
          cmd.fn === 'ok'
            ? () => 1
            : cmd.fn === 'fail'
              ? () => Promise.reject(new Error('down'))
              : () =>
                  new Promise<number>((resolve, reject) => {
                    settle = (ok) => (ok ? resolve(1) : reject(new Error('down')));
                  });
        const result = registry.execute(key, fn);
        let ended = false;
        result.then(
          () => (ended = true),
          () => (ended = true),
        );
        checkEvictions(expected, what);
        const h: Held = held ?? { key, breaker: UNKNOWN, used: now, calls: 0 };
        h.used = now;
        h.calls++;
        order.push(h);
        // The breaker execute() made is only seen through a get(), at the same time: modelled as one more use.
        const breaker = held?.breaker ?? use(cmd.k, `${what} (get)`);
        expect(everEvicted.has(breaker), `${what}: an evicted breaker`).toBe(false);
        if (cmd.fn === 'hang') {
          // A hanging call the breaker rejects (open, or half-open with every probe slot taken) ends at once.
          await flush();
          if (ended) end(h, `${what} (end)`);
          else {
            seen.add('call hanging');
            pending.push({ settle: (ok) => settle(ok), held: h, ended: () => ended });
          }
        } else {
          await result.catch(() => {});
          end(h, `${what} (end)`);
        }
        if (cmd.fn === 'fail' && cfg.threshold === 1 && (before ?? 'closed') === 'closed')
          openUntil.set(key, now + OPEN_FOR);
        break;
      }
      case 'settle': {
        const call = pending.splice(cmd.i % Math.max(pending.length, 1), 1)[0];
        call?.settle(cmd.ok);
        await flush();
        if (call !== undefined) {
          expect(call.ended(), `${what}: the call ended`).toBe(true);
          end(call.held, what);
        }
        break;
      }
      case 'advance':
        await clock.advance(cmd.ms);
        break;
      case 'isolate': {
        const h = order.find((o) => o.key === name(cmd.k));
        h?.breaker.isolate();
        if (h !== undefined) openUntil.set(h.key, Infinity);
        break;
      }
      case 'delete': {
        const h = order.find((o) => o.key === name(cmd.k));
        expect(registry.delete(name(cmd.k)), what).toBe(h !== undefined);
        if (h !== undefined) {
          order = order.filter((o) => o !== h);
          openUntil.delete(h.key);
        }
        checkEvictions([], what);
        break;
      }
      case 'prune': {
        const now = clock.now();
        const expected: [string, Breaker][] = [];
        for (const h of [...order]) {
          if (!idle(h, now)) break;
          if (h.calls > 0) seen.add('busy kept by prune');
          else if (closed(h)) forget(h, expected);
        }
        if (expected.length > 0) seen.add('pruned');
        expect(registry.prune(), what).toBe(expected.length);
        checkEvictions(expected, what);
        break;
      }
      case 'clear':
        registry.clear();
        order = [];
        openUntil.clear();
        checkEvictions([], what);
        break;
    }

    // After every step: the bound, what is held, and that held state survives.
    expect(registry.size, `${what}: size`).toBe(order.length);
    expect(registry.size, `${what}: maxSize`).toBeLessThanOrEqual(cfg.maxSize);
    for (let k = 0; k < cfg.keys; k++)
      expect(registry.has(name(k)), `${what}: has(${name(k)})`).toBe(order.some((h) => h.key === name(k)));
    const snapshot = registry.snapshot();
    expect(Object.keys(snapshot), `${what}: snapshot keys`).toEqual(order.map((h) => h.key));
    for (const h of order) {
      expect(snapshot[h.key], `${what}: snapshot of ${h.key}`).toEqual(h.breaker.snapshot());
      if (clock.now() < (openUntil.get(h.key) ?? -Infinity))
        expect(snapshot[h.key]!.state, `${what}: ${h.key} still open`).toBe('open');
      if (snapshot[h.key]!.state === 'half-open') seen.add('half-open held');
    }
  }
  for (const call of pending) call.settle(true);
  await flush();
}

const { INTEG_MODEL_SEED, INTEG_MODEL_RUNS } = process.env;

describe('createBreakerRegistry against a reference model', () => {
  families.forEach(([name, config, extra], i) => {
    it(`agrees step by step on ${name}`, async () => {
      seen.clear();
      await fc.assert(
        fc.asyncProperty(
          config.chain((cfg) =>
            fc.tuple(
              fc.constant(cfg),
              fc.array(cmdArb(cfg), { minLength: 1, maxLength: cfg.steps, size: 'max' }),
            ),
          ),
          ([cfg, cmds]) => run(cfg, cmds),
        ),
        // Fixed seeds: CI runs the same sequences every time. To explore further:
        // INTEG_MODEL_SEED=7 INTEG_MODEL_RUNS=2000.
        { seed: Number(INTEG_MODEL_SEED ?? 2_3023 + i), numRuns: Number(INTEG_MODEL_RUNS ?? 150) },
      );
      expect([...reached, ...extra].filter((path) => !seen.has(path))).toEqual([]);
    });
  });
});
