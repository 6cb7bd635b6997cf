/**
 * createFakeClock against a tiny reference timer model: random programs of setTimeout / clearTimeout /
 * advance / advanceSync / runAll, with callbacks that schedule and clear timers (directly or from a
 * promise callback) and some that throw, must fire the same timers in the same order at the same times,
 * end each step at the same time and rethrow the same (first) error. A second property lets callbacks move
 * the time themselves (advanceSync inside a timer, setNow back or forward) and runs two advances at once: the
 * model moves a step's target by every move it did not make itself (decision 0163) and lets started advances
 * take turns, one timer each.
 */
import { createFakeClock, type FakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

type Action =
  | { readonly kind: 'none' }
  | { readonly kind: 'schedule'; readonly delay: number; readonly deferred: boolean }
  | { readonly kind: 'clear'; readonly target: number; readonly deferred: boolean }
  // Time moved from a callback (decision 0163): the step running moves its target by as much.
  | { readonly kind: 'advanceSync'; readonly ms: number; readonly deferred: boolean }
  | { readonly kind: 'setNow'; readonly delta: number; readonly deferred: boolean };

type Op =
  | { readonly op: 'set'; readonly delay: number }
  | { readonly op: 'clear'; readonly target: number }
  | { readonly op: 'advance' | 'advanceSync'; readonly ms: number }
  | { readonly op: 'runAll' }
  // Two advances started together and awaited together: they add up, each firing its share in turns.
  | { readonly op: 'advances'; readonly a: number; readonly b: number };

// What the fake clock does with a delay it cannot use (not documented before this test; now in the README).
// Above 2^31-1 ms a runtime fires the timer after 1 ms (Node, browsers, @sinonjs/fake-timers).
const normalize = (ms: number): number =>
  ms > 2_147_483_647 && ms !== Number.POSITIVE_INFINITY ? 1 : Math.max(0, Number.isFinite(ms) ? ms : 0);

/** The reference: a list of timers, the earliest (time, then creation order) fires first. */
class Model {
  now = 0;
  timers: { index: number; at: number }[] = [];
  setTimeout(index: number, ms: number): void {
    this.timers.push({ index, at: this.now + normalize(ms) });
  }
  clear(index: number): void {
    this.timers = this.timers.filter((t) => t.index !== index);
  }
  /** Removes and returns the next timer due by `until`, moving time to it (an overdue one fires at `now`). */
  take(until: number): { index: number; at: number } | undefined {
    let best: { index: number; at: number } | undefined;
    for (const t of this.timers) if (t.at <= until && (best === undefined || t.at < best.at)) best = t;
    if (best === undefined) return undefined;
    this.clear(best.index);
    this.now = Math.max(this.now, best.at);
    return best;
  }
}

const delayArb = fc.oneof(
  fc.integer({ min: 0, max: 20 }),
  fc.constantFrom(0, 0.1, 0.2, 0.5, 1.25, -1, -0.5, Number.NaN, Number.POSITIVE_INFINITY, 2 ** 31, 2 ** 40),
);
const msArb = fc.oneof(fc.integer({ min: 0, max: 15 }), fc.constantFrom(0, 0.1, 0.2, 0.3, 2.5));
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  fc.constant({ kind: 'none' as const }),
  fc.record({ kind: fc.constant('schedule' as const), delay: delayArb, deferred: fc.boolean() }),
  fc.record({ kind: fc.constant('clear' as const), target: fc.nat(40), deferred: fc.boolean() }),
);
// Callbacks that also move the time: advanceSync from inside a timer (a nested tick) or setNow (back too).
const movingActionArb: fc.Arbitrary<Action> = fc.oneof(
  actionArb,
  fc.record({ kind: fc.constant('advanceSync' as const), ms: msArb, deferred: fc.boolean() }),
  fc.record({
    kind: fc.constant('setNow' as const),
    delta: fc.oneof(fc.integer({ min: -20, max: 20 }), fc.constantFrom(-0.5, 0.5)),
    deferred: fc.boolean(),
  }),
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  fc.record({ op: fc.constant('set' as const), delay: delayArb }),
  fc.record({ op: fc.constant('clear' as const), target: fc.nat(40) }),
  fc.record({ op: fc.constantFrom('advance' as const, 'advanceSync' as const), ms: msArb }),
  fc.constant({ op: 'runAll' as const }),
);
const programArb = fc.record({
  actions: fc.array(actionArb, { minLength: 1, maxLength: 8 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 25 }),
  // Timer #i throws (after doing its action) when throws[i % length].
  throws: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
});
const movingProgramArb = fc.record({
  actions: fc.array(movingActionArb, { minLength: 1, maxLength: 8 }),
  ops: fc.array(fc.oneof(opArb, fc.record({ op: fc.constant('advances' as const), a: msArb, b: msArb })), {
    minLength: 1,
    maxLength: 25,
  }),
  throws: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
});
const throwsAt = (throws: readonly boolean[], index: number): boolean =>
  throws[index % throws.length] as boolean;

// A macrotask turn: every promise callback queued so far has run after it.
const settle = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

async function runReal(actions: readonly Action[], ops: readonly Op[], throws: readonly boolean[] = [false]) {
  const clock: FakeClock = createFakeClock();
  const handles: unknown[] = [];
  // What each throwing timer threw, to check the clock rethrows that very object.
  const thrown = new Map<unknown, number>();
  const log: string[] = [];
  const states: string[] = [];
  const handle = (target: number): unknown =>
    // Past the end: handles the clock never gave out (a number, a string, undefined).
    target < handles.length ? handles[target] : [10_000 + target, 'x', undefined][target % 3];
  const schedule = (ms: number, depth: number): void => {
    const index = handles.length;
    const due = clock.now() + normalize(ms);
    handles.push(
      clock.setTimeout(() => {
        // The time seen inside a callback is exactly its due time.
        if (clock.now() !== due) log.push(`#${index} at ${clock.now()}, due ${due}`);
        log.push(`fire #${index} @${clock.now()}`);
        const action = actions[index % actions.length] as Action;
        if (action.kind !== 'none' && depth < 3) {
          const run = (): void => {
            log.push(`act #${index} @${clock.now()}`);
            if (action.kind === 'schedule') schedule(action.delay, depth + 1);
            else if (action.kind === 'clear') clock.clearTimeout(handle(action.target));
            else if (action.kind === 'setNow') clock.setNow(clock.now() + action.delta);
            else {
              try {
                clock.advanceSync(action.ms);
              } catch (error) {
                log.push(`inner threw ${named(error)}`);
              }
              log.push(`inner done @${clock.now()}`);
            }
          };
          if (action.deferred) void Promise.resolve().then(() => Promise.resolve().then(run));
          else run();
        }
        if (throwsAt(throws, index)) {
          const error = new Error(`#${index}`);
          thrown.set(error, index);
          throw error;
        }
      }, ms),
    );
  };
  const named = (error: unknown): string => (thrown.has(error) ? `#${thrown.get(error)}` : String(error));
  for (const op of ops) {
    let outcome = '';
    if (op.op === 'advances') {
      const [a, b] = await Promise.allSettled([clock.advance(op.a), clock.advance(op.b)]);
      const out = (r: PromiseSettledResult<void> | undefined): string =>
        r?.status === 'rejected' ? named(r.reason) : '-';
      if (a?.status === 'rejected' || b?.status === 'rejected') outcome = ` threw ${out(a)},${out(b)}`;
      await settle();
      states.push(`now ${clock.now()} pending ${clock.pendingTimers}${outcome}`);
      continue;
    }
    try {
      if (op.op === 'set') schedule(op.delay, 0);
      else if (op.op === 'clear') clock.clearTimeout(handle(op.target));
      else if (op.op === 'advance') await clock.advance(op.ms);
      else if (op.op === 'advanceSync') clock.advanceSync(op.ms);
      else await clock.runAll();
    } catch (error) {
      outcome = ` threw ${named(error)}`;
    }
    await settle();
    states.push(`now ${clock.now()} pending ${clock.pendingTimers}${outcome}`);
  }
  return { log, states };
}

function runModel(actions: readonly Action[], ops: readonly Op[], throws: readonly boolean[] = [false]) {
  const model = new Model();
  const log: string[] = [];
  const states: string[] = [];
  let created = 0;
  const depths: number[] = [];
  // Deferred actions wait for the next flush, first queued first run: advance and runAll flush after each
  // timer, advanceSync never (its deferred actions run at the next flush of whatever runs it, or after the op).
  const queued: (() => void)[] = [];
  const drain = (): void => {
    for (let run = queued.shift(); run !== undefined; run = queued.shift()) run();
  };
  const schedule = (ms: number, depth: number): void => {
    depths.push(depth);
    model.setTimeout(created++, ms);
  };
  // One advance on its way: it moves `until` by every move of the time it did not make itself (decision 0163),
  // and keeps the first error a timer it fired threw (a throwing timer stops nothing).
  interface Step {
    until: number;
    mark: number;
    threw: number | undefined;
  }
  const step = (ms: number): Step => ({ until: model.now + ms, mark: model.now, threw: undefined });
  const follow = (s: Step): void => {
    s.until += model.now - s.mark;
    s.mark = model.now;
  };
  const fire = (timer: { index: number; at: number }, s: Step): void => {
    const index = timer.index;
    if (model.now !== timer.at) log.push(`#${index} at ${model.now}, due ${timer.at}`);
    log.push(`fire #${index} @${model.now}`);
    s.mark = model.now;
    const action = actions[index % actions.length] as Action;
    if (action.kind !== 'none' && (depths[index] as number) < 3) {
      const run = (): void => {
        log.push(`act #${index} @${model.now}`);
        if (action.kind === 'schedule') schedule(action.delay, (depths[index] as number) + 1);
        else if (action.kind === 'clear') {
          if (action.target < created) model.clear(action.target);
        } else if (action.kind === 'setNow') model.now += action.delta;
        else {
          const threw = advanceSync(action.ms);
          if (threw !== undefined) log.push(`inner threw #${threw}`);
          log.push(`inner done @${model.now}`);
        }
      };
      if (action.deferred) queued.push(run);
      else run();
    }
    if (s.threw === undefined && throwsAt(throws, index)) s.threw = index;
  };
  const advanceSync = (ms: number): number | undefined => {
    const s = step(ms);
    for (let t = model.take(s.until); t !== undefined; t = model.take(s.until)) {
      fire(t, s);
      follow(s);
    }
    model.now = s.until;
    return s.threw;
  };
  // Advances started together take turns, one timer (and a flush) each; one that finds no timer due by its
  // target ends there, and the other carries on.
  const advance = (...ms: number[]): (number | undefined)[] => {
    const steps = ms.map(step);
    const running = new Set(steps);
    drain();
    while (running.size > 0) {
      for (const s of steps) {
        if (!running.has(s)) continue;
        follow(s);
        const t = model.take(s.until);
        if (t === undefined) {
          model.now = s.until;
          running.delete(s);
        } else fire(t, s);
        drain();
      }
    }
    return steps.map((s) => s.threw);
  };
  for (const op of ops) {
    let threw: (number | undefined)[] = [];
    if (op.op === 'set') schedule(op.delay, 0);
    else if (op.op === 'clear') {
      if (op.target < created) model.clear(op.target);
    } else if (op.op === 'runAll') {
      const s = step(0);
      drain();
      for (
        let t = model.take(Number.POSITIVE_INFINITY);
        t !== undefined;
        t = model.take(Number.POSITIVE_INFINITY)
      ) {
        fire(t, s);
        drain();
      }
      threw = [s.threw];
    } else if (op.op === 'advanceSync') threw = [advanceSync(op.ms)];
    else if (op.op === 'advances') threw = advance(op.a, op.b);
    else threw = advance(op.ms);
    drain();
    const name = (i: number | undefined): string => (i === undefined ? '-' : `#${i}`);
    const outcome = threw.every((i) => i === undefined) ? '' : ` threw ${threw.map(name).join(',')}`;
    states.push(`now ${model.now} pending ${model.timers.length}${outcome}`);
  }
  return { log, states };
}

describe('createFakeClock (model)', () => {
  it('fires the same timers, in time then creation order, at their due time, as a reference model', async () => {
    await fc.assert(
      fc.asyncProperty(programArb, async ({ actions, ops }) => {
        const real = await runReal(actions, ops);
        const model = runModel(actions, ops);
        expect(real).toEqual(model);
      }),
      { seed: 20_240_611, numRuns: 150 },
    );
  });

  it('keeps firing due timers when some throw, ends at the target and rethrows the first error', async () => {
    await fc.assert(
      fc.asyncProperty(programArb, async ({ actions, ops, throws }) => {
        const real = await runReal(actions, ops, throws);
        const model = runModel(actions, ops, throws);
        expect(real).toEqual(model);
      }),
      { seed: 20_240_612, numRuns: 150 },
    );
  });

  it('follows time moved during an advance (nested advanceSync, setNow back or forward, two advances at once) as the model', async () => {
    await fc.assert(
      fc.asyncProperty(movingProgramArb, async ({ actions, ops, throws }) => {
        const real = await runReal(actions, ops, throws);
        const model = runModel(actions, ops, throws);
        expect(real).toEqual(model);
      }),
      { seed: 20_261_124, numRuns: 200 },
    );
  });

  // Review round 31: the programs above keep fewer than 64 leftovers in the heap, so its rebuild (on a clear, and on
  // a firing since ff9baae) never ran under them (a rebuild sorted by id alone passed them). Long programs of hundreds
  // of timers, most cleared, with the moving callbacks (setNow back too) reach it: 18 rebuilds in these 150 runs, one
  // on a firing; the wrong sort fails here.
  it('fires as the model through the heap rebuilds of long programs (hundreds of timers, clears, setNow back)', async () => {
    // Many timers set, most of them cleared (a watchdog's pattern: each clear leaves the heap lazily), then fired
    // with the rest of a program as above: leftovers pass the pending timers plus 64 and the heap is rebuilt.
    const setArb = fc.record({ op: fc.constant('set' as const), delay: fc.integer({ min: 0, max: 2_000 }) });
    const clearArb = fc.record({ op: fc.constant('clear' as const), target: fc.nat(130) });
    const bulkArb = fc.record({
      actions: fc.array(movingActionArb, { minLength: 1, maxLength: 8 }),
      ops: fc
        .tuple(
          fc.array(setArb, { minLength: 100, maxLength: 130 }),
          fc.array(
            fc.oneof(
              { weight: 8, arbitrary: clearArb },
              { weight: 1, arbitrary: setArb },
              { weight: 2, arbitrary: fc.record({ op: fc.constant('advanceSync' as const), ms: msArb }) },
            ),
            { minLength: 250, maxLength: 400 },
          ),
          fc.array(
            fc.oneof(
              opArb,
              clearArb,
              fc.record({ op: fc.constant('advances' as const), a: msArb, b: msArb }),
            ),
            {
              minLength: 1,
              maxLength: 40,
            },
          ),
        )
        .map(([a, b, c]): Op[] => [...a, ...b, ...c, { op: 'advance', ms: 1_000 }, { op: 'runAll' }]),
      throws: fc.array(fc.boolean(), { minLength: 1, maxLength: 5 }),
    });
    await fc.assert(
      fc.asyncProperty(bulkArb, async ({ actions, ops, throws }) => {
        const real = await runReal(actions, ops, throws);
        const model = runModel(actions, ops, throws);
        expect(real).toEqual(model);
      }),
      { seed: 31, numRuns: 150 },
    );
  });

  it('fires a timer due exactly at the end of an advance within that advance', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 1000 }), msArb, async (start, ms) => {
        const clock = createFakeClock({ now: start });
        let firedAt: number | undefined;
        clock.setTimeout(() => {
          firedAt = clock.now();
        }, ms);
        await clock.advance(ms);
        expect(firedAt).toBe(start + ms);
        expect(clock.pendingTimers).toBe(0);
      }),
      { seed: 7, numRuns: 50 },
    );
  });

  it('lets the promise callbacks of one timer run before the next timer fires, even at the same time', async () => {
    await fc.assert(
      fc.asyncProperty(fc.integer({ min: 0, max: 5 }), fc.integer({ min: 1, max: 4 }), async (gap, depth) => {
        const clock = createFakeClock();
        const seen: string[] = [];
        clock.setTimeout(async () => {
          for (let i = 0; i < depth; i++) await Promise.resolve();
          seen.push('first settled');
        }, 1);
        clock.setTimeout(() => seen.push('second fired'), 1 + gap);
        await clock.advance(1 + gap);
        expect(seen).toEqual(['first settled', 'second fired']);
      }),
      { seed: 11, numRuns: 30 },
    );
  });
});
