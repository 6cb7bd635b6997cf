/**
 * Review round 29: the fake clock finds its next due timer in a binary heap instead of scanning every timer. Its
 * behaviour must not change: random programs run on it and on the scanning implementation it replaced (copied
 * below, as of 33589c5) must fire the same timers in the same order at the same times, leave the same timers
 * pending and throw the same errors.
 */
import { InvalidArgumentError, type TimerHandle } from '@integ/core';
import { createFakeClock, type FakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

// ---- the reference: packages/testing/src/fake-clock.ts before this round (its doc comments left out) ----

interface Timer {
  /** What setTimeout returned: an object of this clock's own, so a handle of another clock never matches. */
  readonly handle: object;
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
  /** Set with no delay (0, or what counts as 0): due the instant it was set. */
  readonly immediate: boolean;
}

// One advance fires at most this many timers that it saw set with no delay at one instant: more is a timer
// rescheduling itself with 0 (Node waits 1 ms for each), which would keep advance() at that instant for ever.
const SPIN_LIMIT = 10_000;

// What the timers fired by one advance or runAll threw: only the first error counts, and `threw` tells
// a thrown `undefined` from none.
interface Failure {
  threw: boolean;
  error: unknown;
}

// A time in ms since the epoch: any finite number (negative too); NaN or Infinity would make every reading NaN.
function assertTime(argument: string, value: number): void {
  if (!Number.isFinite(value)) throw new InvalidArgumentError(argument, 'a finite number of ms', value);
}

// Lets queued promise callbacks run: a macrotask turn drains every microtask before it.
const flush = (): Promise<void> =>
  new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : globalThis.setTimeout(resolve, 0),
  );

function createReferenceClock(options?: { readonly now?: number }): FakeClock {
  const start = options?.now ?? 0;
  assertTime('createFakeClock({ now })', start);
  // `now` is the timers' time line; `now()` reads it plus `offset`, the sum of the wall-clock steps.
  let now = start;
  let offset = 0;
  let nextId = 1;
  const timers = new Map<unknown, Timer>();

  const nextDue = (until: number): Timer | undefined => {
    let due: Timer | undefined;
    for (const timer of timers.values()) {
      if (
        timer.at <= until &&
        (due === undefined || timer.at < due.at || (timer.at === due.at && timer.id < due.id))
      )
        due = timer;
    }
    return due;
  };

  // Where an advance is heading, and the time it last set itself: a timer callback (or a promise callback, or
  // an advance not awaited) may move the time too, by advance, advanceSync or setNow. As in tick of
  // @sinonjs/fake-timers, the target then moves by as much, so the time never steps back at the end.
  interface Step {
    until: number;
    mark: number;
  }
  const follow = (step: Step): void => {
    step.until += now - step.mark;
    step.mark = now;
  };

  const fire = (timer: Timer, failure: Failure, step?: Step): void => {
    timers.delete(timer.handle);
    if (timer.at > now) now = timer.at;
    if (step) step.mark = now;
    try {
      timer.callback();
    } catch (error) {
      if (!failure.threw) {
        failure.threw = true;
        failure.error = error;
      }
    }
  };
  const rethrow = (failure: Failure): void => {
    if (failure.threw) throw failure.error;
  };

  // Counts the timers an advance fires that were set during it with no delay, per instant; true past the limit.
  const spinning = (timer: Timer, first: number, spin: { at: number; count: number }): boolean => {
    if (timer.id < first || !timer.immediate) return false;
    if (timer.at !== spin.at) {
      spin.at = timer.at;
      spin.count = 0;
    }
    return ++spin.count > SPIN_LIMIT;
  };
  const spun = (method: string): Error =>
    new Error(
      `${method}() fired ${SPIN_LIMIT} timers set with a 0 ms delay at ${now + offset} and more remain: is something rescheduling forever?`,
    );

  const assertMs = (method: string, ms: number): void => {
    if (!(typeof ms === 'number' && ms >= 0 && ms < Number.POSITIVE_INFINITY))
      throw new InvalidArgumentError(`${method}(ms)`, 'a finite number of ms >= 0', ms);
  };

  return {
    now: () => now + offset,
    setTimeout(callback: () => void, ms: number): TimerHandle {
      const id = nextId++;
      // Ids order the timers of this clock; the handle is a fresh object, as a handle from another fake clock (or
      // a number) would otherwise clear this clock's timer of the same id.
      const handle = {};
      // As a runtime does: a delay above 2^31-1 ms overflows to 1 ms (Node, browsers, @sinonjs/fake-timers), so
      // code that forgets to cap a computed delay fires at once here too instead of passing its test.
      // A numeric string converts as there too (setTimeout(fn, '100') waits 100 ms): Node's `after * 1`.
      const n = +ms;
      const delay = n > 2_147_483_647 && n !== Number.POSITIVE_INFINITY ? 1 : n;
      const wait = Math.max(0, Number.isFinite(delay) ? delay : 0);
      timers.set(handle, { handle, id, at: now + wait, callback, immediate: wait === 0 });
      return handle;
    },
    clearTimeout(handle: TimerHandle): void {
      timers.delete(handle);
    },
    get pendingTimers() {
      return timers.size;
    },
    async advance(ms: number): Promise<void> {
      assertMs('advance', ms);
      const step: Step = { until: now + ms, mark: now };
      const failure: Failure = { threw: false, error: undefined };
      const first = nextId;
      const spin = { at: Number.NaN, count: 0 };
      await flush();
      follow(step);
      for (let timer = nextDue(step.until); timer !== undefined; timer = nextDue(step.until)) {
        // Time stays at the spinning instant: the timers due before `until` have not fired.
        if (spinning(timer, first, spin)) {
          rethrow(failure);
          throw spun('advance');
        }
        fire(timer, failure, step);
        await flush();
        follow(step);
      }
      now = step.until;
      await flush();
      rethrow(failure);
    },
    advanceSync(ms: number): void {
      assertMs('advanceSync', ms);
      const step: Step = { until: now + ms, mark: now };
      const failure: Failure = { threw: false, error: undefined };
      const first = nextId;
      const spin = { at: Number.NaN, count: 0 };
      for (let timer = nextDue(step.until); timer !== undefined; timer = nextDue(step.until)) {
        if (spinning(timer, first, spin)) {
          rethrow(failure);
          throw spun('advanceSync');
        }
        fire(timer, failure, step);
        follow(step);
      }
      now = step.until;
      rethrow(failure);
    },
    async runAll(limit = 10_000): Promise<void> {
      if (!(Number.isSafeInteger(limit) && limit >= 0))
        throw new InvalidArgumentError('runAll(limit)', 'a whole number of timers >= 0', limit);
      const failure: Failure = { threw: false, error: undefined };
      await flush();
      // Looks for a timer before it counts one against `limit`: firing exactly `limit` timers and leaving
      // none is not a runaway.
      for (let fired = 0; ; fired++) {
        const timer = nextDue(Number.POSITIVE_INFINITY);
        if (timer === undefined) return rethrow(failure);
        if (!(fired < limit)) break;
        fire(timer, failure);
        await flush();
      }
      // A timer's own error says more than the runaway guard does.
      rethrow(failure);
      throw new Error(`runAll() fired ${limit} timers and more remain: is something rescheduling forever?`);
    },
    setNow(value: number): void {
      assertTime('setNow(now)', value);
      now = value - offset;
    },
    setWallClock(value: number): void {
      assertTime('setWallClock(now)', value);
      offset = value - now;
    },
    get elapsed() {
      return now - start;
    },
  };
}

// ---- random programs, run on both ----

type Action =
  | { readonly kind: 'none' | 'throw' | 'respawn' }
  | { readonly kind: 'schedule'; readonly delay: number }
  | { readonly kind: 'clear'; readonly target: number }
  | { readonly kind: 'advanceSync'; readonly ms: number }
  | { readonly kind: 'setNow' | 'setWallClock'; readonly delta: number };

type Op =
  | { readonly op: 'set'; readonly delay: number; readonly count: number }
  | { readonly op: 'clear'; readonly target: number; readonly count: number }
  | { readonly op: 'advance' | 'advanceSync'; readonly ms: number }
  | { readonly op: 'advances'; readonly a: number; readonly b: number }
  | { readonly op: 'runAll'; readonly limit: number | undefined }
  | { readonly op: 'setNow' | 'setWallClock'; readonly delta: number };

const delayArb = fc.oneof(
  fc.integer({ min: 0, max: 20 }),
  fc.constantFrom(
    0,
    0.1,
    0.5,
    1.25,
    -1,
    Number.NaN,
    Number.POSITIVE_INFINITY,
    2 ** 31,
    2 ** 40,
    '7' as unknown as number,
  ),
);
const msArb = fc.oneof(fc.integer({ min: 0, max: 25 }), fc.constantFrom(0, 0.1, 0.3, 2.5, -1, Number.NaN));
const deltaArb = fc.oneof(fc.integer({ min: -20, max: 20 }), fc.constantFrom(-0.5, 0.5));
const actionArb: fc.Arbitrary<Action> = fc.oneof(
  { arbitrary: fc.constantFrom({ kind: 'none' as const }, { kind: 'throw' as const }), weight: 4 },
  { arbitrary: fc.constant({ kind: 'respawn' as const }), weight: 1 },
  { arbitrary: fc.record({ kind: fc.constant('schedule' as const), delay: delayArb }), weight: 4 },
  { arbitrary: fc.record({ kind: fc.constant('clear' as const), target: fc.nat(300) }), weight: 3 },
  { arbitrary: fc.record({ kind: fc.constant('advanceSync' as const), ms: msArb }), weight: 1 },
  {
    arbitrary: fc.record({
      kind: fc.constantFrom('setNow' as const, 'setWallClock' as const),
      delta: deltaArb,
    }),
    weight: 1,
  },
);
const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    // Up to 150 at once (same time for the FIFO order), so that clears leave enough for the heap to be rebuilt.
    arbitrary: fc.record({
      op: fc.constant('set' as const),
      delay: delayArb,
      count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 150 })),
    }),
    weight: 5,
  },
  {
    arbitrary: fc.record({
      op: fc.constant('clear' as const),
      target: fc.nat(300),
      count: fc.oneof(fc.constant(1), fc.integer({ min: 1, max: 150 })),
    }),
    weight: 4,
  },
  {
    arbitrary: fc.record({ op: fc.constantFrom('advance' as const, 'advanceSync' as const), ms: msArb }),
    weight: 5,
  },
  { arbitrary: fc.record({ op: fc.constant('advances' as const), a: msArb, b: msArb }), weight: 1 },
  {
    arbitrary: fc.record({
      op: fc.constant('runAll' as const),
      limit: fc.option(fc.nat(60), { nil: undefined }),
    }),
    weight: 1,
  },
  {
    arbitrary: fc.record({
      op: fc.constantFrom('setNow' as const, 'setWallClock' as const),
      delta: deltaArb,
    }),
    weight: 1,
  },
);
const programArb = fc.record({
  // Timer #i does actions[i % length], then, when deferred[i % length], the next one in a promise callback.
  actions: fc.array(actionArb, { minLength: 1, maxLength: 9 }),
  deferred: fc.array(fc.boolean(), { minLength: 1, maxLength: 4 }),
  ops: fc.array(opArb, { minLength: 1, maxLength: 30 }),
});

const outcome = (error: unknown): string =>
  error instanceof Error ? `${error.constructor.name}: ${error.message}` : `threw ${String(error)}`;

type Program = { readonly actions: Action[]; readonly deferred: boolean[]; readonly ops: Op[] };

/** Runs `program` on a clock from `create`; returns what a test could see of it. */
async function run(create: () => FakeClock, program: Program): Promise<string[]> {
  const { actions, deferred, ops } = program;
  const clock = create();
  const handles: TimerHandle[] = [];
  const log: string[] = [];
  let respawns = 0;
  const state = (): string => `now ${clock.now()} elapsed ${clock.elapsed} pending ${clock.pendingTimers}`;
  const act = (action: Action, index: number): void => {
    // Capped: every timer setting another is a chain the runaway guards would stop only after 10,000 turns each.
    if (action.kind === 'schedule') handles.length < 1500 && schedule(action.delay);
    // A timer setting itself again with 0 ms: the runaway guards, a few hundred times at most.
    else if (action.kind === 'respawn') respawns++ < 300 && schedule(0);
    else if (action.kind === 'clear')
      clock.clearTimeout(handles[action.target % Math.max(handles.length, 1)]);
    else if (action.kind === 'advanceSync') clock.advanceSync(action.ms);
    else if (action.kind === 'setNow') clock.setNow(clock.now() + action.delta);
    else if (action.kind === 'setWallClock') clock.setWallClock(clock.now() + action.delta);
    else if (action.kind === 'throw') throw new Error(`#${index}`);
  };
  const schedule = (delay: number): void => {
    const index = handles.length;
    handles.push(
      clock.setTimeout(() => {
        log.push(`fire #${index} at ${clock.now()} (${clock.pendingTimers} pending)`);
        const action = actions[index % actions.length] as Action;
        const next = actions[(index + 1) % actions.length] as Action;
        if (deferred[index % deferred.length])
          void Promise.resolve().then(() => {
            try {
              act(next, index);
            } catch (error) {
              log.push(`deferred #${index}: ${outcome(error)}`);
            }
          });
        act(action, index);
      }, delay),
    );
  };
  const attempt = async (name: string, body: () => unknown): Promise<void> => {
    try {
      await body();
      log.push(`${name}: ok, ${state()}`);
    } catch (error) {
      log.push(`${name}: ${outcome(error)}, ${state()}`);
    }
  };
  for (const op of ops) {
    switch (op.op) {
      case 'set':
        for (let i = 0; i < op.count; i++) schedule(op.delay);
        log.push(`set ${op.count}: ${state()}`);
        break;
      case 'clear':
        for (let i = 0; i < op.count; i++)
          clock.clearTimeout(handles[(op.target + i) % Math.max(handles.length, 1)]);
        log.push(`clear ${op.count}: ${state()}`);
        break;
      case 'advance':
        await attempt('advance', () => clock.advance(op.ms));
        break;
      case 'advanceSync':
        await attempt('advanceSync', () => clock.advanceSync(op.ms));
        break;
      case 'advances':
        await attempt('advances', () => Promise.all([clock.advance(op.a), clock.advance(op.b)]));
        break;
      case 'runAll':
        await attempt('runAll', () => clock.runAll(op.limit));
        break;
      case 'setNow':
        await attempt('setNow', () => clock.setNow(clock.now() + op.delta));
        break;
      case 'setWallClock':
        await attempt('setWallClock', () => clock.setWallClock(clock.now() + op.delta));
        break;
    }
  }
  // Every timer left, in the order it fires.
  await attempt('runAll', () => clock.runAll());
  return log;
}

describe('createFakeClock (a heap) against the scanning implementation it replaced', () => {
  it('fires the same timers in the same order at the same times, with the same errors (fast-check)', async () => {
    await fc.assert(
      fc.asyncProperty(programArb, async (program) => {
        const expected = await run(createReferenceClock, program);
        expect(await run(createFakeClock, program)).toEqual(expected);
      }),
      { numRuns: 300, seed: 29 },
    );
  });

  it('fires timers due at one time in the order they were set, those set during the firing after them', async () => {
    const clock = createFakeClock();
    const order: number[] = [];
    for (let i = 0; i < 100; i++)
      clock.setTimeout(
        () => {
          order.push(i);
          if (i % 10 === 0) clock.setTimeout(() => order.push(1000 + i), 0);
        },
        5 - (i % 2) * 5,
      );
    await clock.advance(5);
    const evens = Array.from({ length: 50 }, (_, k) => 2 * k);
    const odds = evens.map((k) => k + 1);
    // The odd ones (0 ms) first, then the evens (5 ms), each timer set at 5 ms after the evens of its time.
    expect(order).toEqual([...odds, ...evens, ...evens.filter((k) => k % 10 === 0).map((k) => 1000 + k)]);
  });
});
