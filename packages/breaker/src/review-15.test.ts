/**
 * Review round 15: black-box checks of the public API against the README and the issue. A reference model
 * of consecutive failures, fixed open periods, honest half-open probes (slots, success ratio, probe timeout),
 * stale results, reset() and isolate(), written from the README, driven side by side with a real breaker on
 * the fake clock; the clock option's type check; retryAfterMs in every state; what fn may return.
 */
import { InvalidArgumentError } from '@integ/core';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  type Breaker,
  createBreaker,
  createBreakerRegistry,
  isCircuitOpenError,
  slidingWindow,
} from '../src/index';

describe('createBreaker given a clock that is not a Clock', () => {
  const clocks: [string, unknown][] = [
    ['an empty object', {}],
    ['now only', { now: () => 0 }],
    ['a number', 5],
    ['no clearTimeout', { now: () => 0, setTimeout: () => 1 }],
  ];
  for (const [name, clock] of clocks) {
    it(`throws InvalidArgumentError (argument 'clock') for ${name}, as for every mistyped option`, () => {
      const thrown = (() => {
        try {
          createBreaker({ clock: clock as never, failureThreshold: 1 });
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(thrown).toBeInstanceOf(InvalidArgumentError);
      expect((thrown as InvalidArgumentError).argument).toBe('clock');
    });
    it(`throws InvalidArgumentError from createBreakerRegistry for ${name}, also with an options function`, () => {
      for (const options of [{}, () => ({})]) {
        expect(() => createBreakerRegistry({ clock: clock as never, options })).toThrow(InvalidArgumentError);
      }
    });
  }
});

describe('execute and tryExecute given what fn may return', () => {
  it('passes on a plain value, a thenable and a synchronous throw, and counts each', async () => {
    const breaker = createBreaker({ failureThreshold: 2 });
    expect(await breaker.execute(() => 5)).toBe(5);
    // biome-ignore lint/suspicious/noThenProperty: fn may return any thenable, not only a Promise
    const thenable = { then: (resolve: (v: number) => void) => resolve(7) } as unknown as PromiseLike<number>;
    expect(await breaker.execute(() => thenable)).toBe(7);
    const boom = new Error('sync');
    await expect(
      breaker.execute(() => {
        throw boom;
      }),
    ).rejects.toBe(boom);
    expect(await breaker.tryExecute(() => Promise.reject(boom))).toEqual({ ok: false, error: boom });
    expect(breaker.state).toBe('open');
    const rejected = await breaker.tryExecute(() => 1);
    expect(rejected.ok).toBe(false);
    expect(isCircuitOpenError(!rejected.ok && rejected.error)).toBe(true);
    expect(Object.keys(await createBreaker().tryExecute(() => 3))).toEqual(['ok', 'value']);
  });
});

// ---------------------------------------------------------------------------------------------------
// The reference model (from the README's state machine, half-open and CircuitOpenError sections).

interface Cfg {
  threshold: number;
  openFor: number;
  probes: number;
  ratio: number;
  probeTimeout: number;
}

type Cmd =
  | { t: 'call' }
  | { t: 'settle'; i: number; fail: boolean }
  | { t: 'advance'; ms: number }
  | { t: 'reset' }
  | { t: 'isolate' }
  | { t: 'release'; i: number }
  | { t: 'read' };

interface ModelCall {
  gen: number;
  probe: boolean;
  deadline: number;
  decided: boolean;
}

class Model {
  state: 'closed' | 'open' | 'half-open' = 'closed';
  gen = 0;
  consecutive = 0;
  trips = 0;
  openUntil = 0;
  admitted = 0;
  good = 0;
  bad = 0;
  isolations = 0;
  epoch = 0;
  lastDeadline = 0;
  readonly needed: number;
  constructor(
    readonly cfg: Cfg,
    public now: number,
  ) {
    this.needed = Math.ceil(cfg.ratio * cfg.probes - 1e-9) || 1;
  }
  to(state: Model['state']): void {
    this.state = state;
    this.gen++;
    this.admitted = this.good = this.bad = 0;
    if (state === 'closed') this.consecutive = this.trips = 0;
  }
  look(): void {
    if (this.state === 'open' && !this.isolations && this.now >= this.openUntil) this.to('half-open');
  }
  trip(): void {
    this.trips++;
    this.openUntil = this.now + this.cfg.openFor;
    this.to('open');
  }
  /** The call admitted (the ModelCall) or the retryAfterMs of the rejection. */
  call(): ModelCall | number {
    this.look();
    if (this.state === 'closed') return { gen: this.gen, probe: false, deadline: Infinity, decided: false };
    if (this.isolations) return Infinity;
    if (this.state === 'half-open' && this.admitted < this.cfg.probes) {
      this.admitted++;
      this.lastDeadline = this.now + this.cfg.probeTimeout;
      return { gen: this.gen, probe: true, deadline: this.lastDeadline, decided: false };
    }
    if (this.state === 'open') return Math.ceil(this.openUntil - this.now);
    return Math.max(1, Math.ceil(this.lastDeadline - this.now));
  }
  outcome(c: ModelCall, failed: boolean): void {
    if (c.decided) return;
    c.decided = true;
    if (c.gen !== this.gen) return;
    if (this.state === 'closed') {
      this.consecutive = failed ? this.consecutive + 1 : 0;
      if (this.consecutive >= this.cfg.threshold) this.trip();
      return;
    }
    if (failed) this.bad++;
    else this.good++;
    if (this.good >= this.needed) this.to('closed');
    else if (this.bad > this.cfg.probes - this.needed) this.trip();
  }
  /** Moves time, timing out probes in deadline order (a probe timeout is a failed probe). */
  advance(ms: number, calls: ModelCall[]): void {
    const end = this.now + ms;
    for (;;) {
      const due = calls
        .filter((c) => c.probe && !c.decided && c.deadline <= end)
        .sort((a, b) => a.deadline - b.deadline)[0];
      if (!due) break;
      this.now = due.deadline;
      this.outcome(due, true);
    }
    this.now = end;
  }
}

const cfgArb = fc.record({
  threshold: fc.integer({ min: 1, max: 3 }),
  openFor: fc.constantFrom(0, 10, 100, 1_000),
  probes: fc.integer({ min: 1, max: 4 }),
  ratio: fc.constantFrom(1, 0.5, 0.75, 1e-9),
  probeTimeout: fc.constantFrom(1, 50, 500),
});
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  { weight: 8, arbitrary: fc.constant({ t: 'call' as const }) },
  {
    weight: 5,
    arbitrary: fc.record({ t: fc.constant('settle' as const), i: fc.nat(30), fail: fc.boolean() }),
  },
  {
    weight: 3,
    arbitrary: fc.record({
      t: fc.constant('advance' as const),
      ms: fc.constantFrom(0, 1, 49, 50, 99, 100, 600),
    }),
  },
  { weight: 1, arbitrary: fc.constant({ t: 'reset' as const }) },
  { weight: 1, arbitrary: fc.constant({ t: 'isolate' as const }) },
  { weight: 1, arbitrary: fc.record({ t: fc.constant('release' as const), i: fc.nat(5) }) },
  { weight: 2, arbitrary: fc.constant({ t: 'read' as const }) },
);

interface RealCall {
  settle: (fail: boolean) => void;
  result: Promise<unknown>;
  settled: boolean;
}

describe('createBreaker against a reference model of half-open probes, stale results and isolation', () => {
  it('agrees on state, trips, consecutive failures, admissions and retryAfterMs at every step', async () => {
    await fc.assert(
      fc.asyncProperty(
        cfgArb,
        fc.array(cmdArb, { minLength: 20, maxLength: 80, size: 'max' }),
        fc.boolean(),
        async (cfg, cmds, hook) => {
          const clock = createFakeClock({ now: 10_000 });
          const breaker: Breaker = createBreaker({
            clock,
            failureThreshold: cfg.threshold,
            openFor: cfg.openFor,
            halfOpenProbes: cfg.probes,
            halfOpenSuccessRatio: cfg.ratio,
            probeTimeout: cfg.probeTimeout,
            ...(hook && { onStateChange: () => {} }),
          });
          const model = new Model(cfg, 10_000);
          const real: RealCall[] = [];
          const modelled: (ModelCall | undefined)[] = [];
          const releases: [() => void, number][] = [];
          for (const cmd of cmds) {
            if (cmd.t === 'call') {
              let settle!: (fail: boolean) => void;
              const result = breaker.tryExecute(
                () =>
                  new Promise((resolve, reject) => {
                    settle = (fail) => (fail ? reject(new Error('down')) : resolve('up'));
                  }),
              );
              const expected = model.call();
              if (typeof expected === 'number') {
                const r = await result;
                expect(r.ok).toBe(false);
                const error = !r.ok && r.error;
                expect(isCircuitOpenError(error)).toBe(true);
                expect((error as { retryAfterMs: number }).retryAfterMs).toBe(expected);
              } else {
                expect(settle).toBeTypeOf('function');
                real.push({ settle, result, settled: false });
                modelled.push(expected);
              }
            } else if (cmd.t === 'settle') {
              const open = real.map((c, i) => [c, i] as const).filter(([c]) => !c.settled);
              if (!open.length) continue;
              const [call, i] = open[cmd.i % open.length]!;
              call.settled = true;
              call.settle(cmd.fail);
              await call.result;
              model.outcome(modelled[i]!, cmd.fail);
            } else if (cmd.t === 'advance') {
              await clock.advance(cmd.ms);
              model.advance(cmd.ms, modelled as ModelCall[]);
            } else if (cmd.t === 'reset') {
              breaker.reset();
              model.isolations = 0;
              model.epoch++;
              model.to('closed');
            } else if (cmd.t === 'isolate') {
              releases.push([breaker.isolate(), model.epoch]);
              if (!model.isolations++) model.to('open');
            } else if (cmd.t === 'release') {
              const entry = releases[cmd.i % Math.max(1, releases.length)];
              if (!entry) continue;
              entry[0]();
              if (entry[1] === model.epoch) {
                entry[1] = -1;
                if (!--model.isolations) model.to('closed');
              }
            }
            model.look();
            expect(breaker.state).toBe(model.state);
            const snap = breaker.snapshot();
            expect(snap.trips).toBe(model.trips);
            expect(snap.consecutiveFailures).toBe(model.consecutive);
            expect(snap.isolated).toBe(model.isolations > 0);
            if (model.state === 'open' && !model.isolations) expect(snap.openUntil).toBe(model.openUntil);
          }
        },
      ),
      { seed: 20261124, numRuns: 300 },
    );
  });
});

describe('a registry given unusual key strings', () => {
  it('keeps each string apart, snapshots them all and evicts within maxSize', async () => {
    const keys = [
      '',
      '__proto__',
      'constructor',
      'toString',
      'hasOwnProperty',
      ' ',
      '\u0000',
      'a'.repeat(10_000),
      '💥',
    ];
    const registry = createBreakerRegistry({ options: { failureThreshold: 1 }, maxSize: keys.length });
    for (const [i, key] of keys.entries()) {
      if (i % 2) await registry.execute(key, () => Promise.reject(new Error('x'))).catch(() => {});
      else await registry.execute(key, () => 1);
    }
    expect(registry.size).toBe(keys.length);
    const snap = registry.snapshot();
    expect(Object.keys(snap).sort()).toEqual([...keys].sort());
    for (const [i, key] of keys.entries()) expect(snap[key]!.state).toBe(i % 2 ? 'open' : 'closed');
    expect(Object.getPrototypeOf(snap)).toBe(Object.prototype);
  });
});

describe('the documented defaults are the real ones', () => {
  const fail = (): Promise<never> => Promise.reject(new Error('down'));
  const up = (): number => 1;
  const hinted = (): Promise<never> =>
    Promise.reject(Object.assign(new Error('busy'), { retryAfterMs: 1e9 }));

  it('createBreaker: 5 failures, 60 s open, 1 probe, 10 s probeTimeout, maxOpenFor max(openFor, 600 s)', async () => {
    const clock = createFakeClock({ now: 0 });
    const breaker = createBreaker({ clock });
    for (let i = 0; i < 4; i++) await breaker.tryExecute(fail);
    expect(breaker.state).toBe('closed');
    await breaker.tryExecute(fail);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', openUntil: 60_000, trips: 1 });
    await clock.advance(59_999);
    expect(breaker.state).toBe('open');
    await clock.advance(1);
    expect(breaker.state).toBe('half-open');
    let signal!: AbortSignal;
    void breaker.tryExecute((context) => {
      signal = context.signal;
      return new Promise(() => {});
    });
    expect((await breaker.tryExecute(up)).ok).toBe(false);
    await clock.advance(9_999);
    expect(signal.aborted).toBe(false);
    await clock.advance(1);
    expect(signal.aborted).toBe(true);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', trips: 2, openUntil: 130_000 });

    const capped = createBreaker({ clock, failureThreshold: 1 });
    await capped.tryExecute(hinted);
    expect(capped.snapshot().openUntil! - clock.now()).toBe(600_000);
    const longer = createBreaker({ clock, failureThreshold: 1, openFor: 700_000 });
    await longer.tryExecute(hinted);
    expect(longer.snapshot().openUntil! - clock.now()).toBe(700_000);
    const backoff = createBreaker({ clock, failureThreshold: 1, openFor: () => 1e9 });
    await backoff.tryExecute(fail);
    expect(backoff.snapshot().openUntil! - clock.now()).toBe(600_000);
  });

  it('slidingWindow: a count window of 100 with minimumCalls 10 and a 50 % failure rate', async () => {
    const early = createBreaker({ failureThreshold: Number.POSITIVE_INFINITY, window: slidingWindow() });
    for (let i = 0; i < 9; i++) await early.tryExecute(fail);
    expect(early.state).toBe('closed');
    await early.tryExecute(fail);
    expect(early.state).toBe('open');
    const half = createBreaker({ failureThreshold: Number.POSITIVE_INFINITY, window: slidingWindow() });
    for (let i = 0; i < 99; i++) await half.tryExecute(i < 50 ? up : fail);
    expect(half.state).toBe('closed');
    await half.tryExecute(fail);
    expect(half.snapshot()).toMatchObject({ state: 'open', calls: 100, failures: 50 });
    const full = createBreaker({ failureThreshold: Number.POSITIVE_INFINITY, window: slidingWindow() });
    for (let i = 0; i < 150; i++) await full.tryExecute(up);
    expect(full.snapshot().calls).toBe(100);
  });

  it('slidingWindow: a time window of 60 s in 10 buckets with minimumCalls 10', async () => {
    const clock = createFakeClock({ now: 0 });
    const breaker = createBreaker({
      clock,
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow({ type: 'time' }),
    });
    for (let i = 0; i < 9; i++) await breaker.tryExecute(fail);
    await clock.advance(60_000);
    expect(breaker.snapshot().calls).toBe(0);
    for (let i = 0; i < 9; i++) await breaker.tryExecute(fail);
    await clock.advance(54_000); // the bucket of 60 s..66 s is still in the window at 114 s
    await breaker.tryExecute(fail);
    expect(breaker.snapshot()).toMatchObject({ state: 'open', calls: 10, failures: 10 });
  });

  it('createBreakerRegistry: maxSize 1,000 and idleFor 5 min', async () => {
    const clock = createFakeClock({ now: 0 });
    const registry = createBreakerRegistry({ clock });
    for (let i = 0; i <= 1_000; i++) registry.get(String(i));
    expect(registry.size).toBe(1_000);
    expect(registry.has('0')).toBe(false);
    await clock.advance(299_999);
    expect(registry.prune()).toBe(0);
    await clock.advance(1);
    expect(registry.prune()).toBe(1_000);
  });
});

describe('snapshot() and initialState on a clock that reads below 0', () => {
  it('an open breaker’s snapshot, read back from JSON, restores the same breaker', async () => {
    // The package supports such clocks (a custom clock, a fake one started in the past: window.test.ts).
    const clock = createFakeClock({ now: -100_000 });
    const breaker = createBreaker({ clock, failureThreshold: 1, openFor: 10_000 });
    await breaker.tryExecute(() => Promise.reject(new Error('down')));
    const saved = JSON.parse(JSON.stringify(breaker.snapshot()));
    expect(saved).toMatchObject({ state: 'open', openUntil: -90_000 });
    const restored = createBreaker({ clock, failureThreshold: 1, openFor: 10_000, initialState: saved });
    expect(restored.snapshot()).toEqual(breaker.snapshot());
    await clock.advance(10_000);
    expect(restored.state).toBe('half-open');
  });

  it('an openUntil that has passed, negative included, reads as half-open at once', () => {
    const clock = createFakeClock({ now: 0 });
    for (const openUntil of [-1, -5_000, '-1'])
      expect(createBreaker({ clock, initialState: { state: 'open', openUntil } as never }).state).toBe(
        'half-open',
      );
  });
});

describe('half-open among 1,000 concurrent callers, some with signals already aborted', () => {
  it('runs exactly halfOpenProbes of them; the others get CircuitOpenError or their own abort reason', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.integer({ min: 1, max: 20 }),
        fc.uniqueArray(fc.oneof(fc.nat(30), fc.nat(999)), { maxLength: 50 }),
        fc.boolean(),
        async (probes, abortedAt, hooks) => {
          const clock = createFakeClock({ now: 0 });
          let rejects = 0;
          const breaker = createBreaker({
            clock,
            failureThreshold: 1,
            openFor: 1_000,
            halfOpenProbes: probes,
            ...(hooks && { onReject: () => rejects++, onStateChange: () => {}, onSuccess: () => {} }),
          });
          await breaker.tryExecute(() => Promise.reject(new Error('down')));
          await clock.advance(1_000);
          const aborted = new Set(abortedAt);
          const reason = new Error('changed my mind');
          let ran = 0;
          const outcomes: string[] = [];
          for (let i = 0; i < 1_000; i++)
            void breaker
              .tryExecute(
                () => {
                  ran++;
                  return new Promise<never>(() => {});
                },
                { signal: aborted.has(i) ? AbortSignal.abort(reason) : undefined },
              )
              .then((r) => {
                if (r.ok) outcomes.push('value');
                else if (r.error === reason) outcomes.push('aborted');
                else if (isCircuitOpenError(r.error)) outcomes.push('open');
                else outcomes.push('other');
              });
          await clock.advance(0);
          for (let i = 0; i < 10; i++) await Promise.resolve();
          expect(ran).toBe(probes);
          expect(outcomes.length).toBe(1_000 - probes);
          expect(outcomes.filter((o) => o !== 'open' && o !== 'aborted')).toEqual([]);
          if (hooks) expect(rejects).toBe(outcomes.filter((o) => o === 'open').length);
          expect(breaker.state).toBe('half-open');
        },
      ),
      { seed: 424242, numRuns: 40 },
    );
  });
});

describe('null for the whole options object', () => {
  it('means no options, as for @integ/retry, not a TypeError (createBreaker, slidingWindow, createBreakerRegistry)', async () => {
    const breaker = createBreaker(null as never);
    expect(await breaker.execute(() => 5)).toBe(5);
    for (let i = 0; i < 5; i++) await breaker.tryExecute(() => Promise.reject(new Error('down')));
    expect(breaker.state).toBe('open');
    const windowed = createBreaker({
      failureThreshold: Number.POSITIVE_INFINITY,
      window: slidingWindow(null as never),
    });
    for (let i = 0; i < 10; i++) await windowed.tryExecute(() => Promise.reject(new Error('down')));
    expect(windowed.state).toBe('open');
    const registry = createBreakerRegistry(null as never);
    expect(await registry.execute('a', () => 1)).toBe(1);
    expect(registry.size).toBe(1);
  });
});
