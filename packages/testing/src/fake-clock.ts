/**
 * A fake implementation of @integ/core's `Clock`: time moves only when the test says so, so timing
 * logic runs in microseconds and gives the same result every run.
 */
import { type Clock, InvalidArgumentError, type TimerHandle } from '@integ/core';
import { turn } from './internal/turn.js';

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

/** Options of {@link createFakeClock}. */
export interface FakeClockOptions {
  /** The starting time in ms since the epoch. @default 0 */
  readonly now?: number;
}

/** A {@link Clock} whose time only moves when told to. */
export interface FakeClock extends Clock {
  /** How many timers are scheduled and not yet fired or cleared. */
  readonly pendingTimers: number;
  /**
   * Moves time forward by `ms`, firing due timers in order (timers they schedule fire too if due), and
   * lets promise callbacks run after each one, so `await sleep()` chains progress as they would in real time.
   * A timer that throws stops nothing: the other due timers still fire and time still reaches the target;
   * then the first error thrown is rethrown (like `tick` of @sinonjs/fake-timers). Time moved meanwhile (a
   * callback calling advanceSync or setNow, an advance not awaited) moves the target by as much.
   *
   * @throws {InvalidArgumentError} when `ms` is not a finite number >= 0 (nothing fires, time stays)
   * @throws the first error a timer callback threw; else an Error when 10,000 timers set during it with no
   *   delay fire at one instant (something rescheduling itself with 0), leaving time at that instant
   */
  advance(ms: number): Promise<void>;
  /**
   * Like {@link FakeClock.advance} but synchronous: promise callbacks run only after it returns.
   *
   * @throws {InvalidArgumentError} when `ms` is not a finite number >= 0 (nothing fires, time stays)
   * @throws the first error a timer callback threw, after firing every due timer; else the runaway Error of
   *   {@link FakeClock.advance}
   */
  advanceSync(ms: number): void;
  /**
   * Fires timers until none are left (up to `limit`, 10,000 by default, to stop runaway loops), moving time to
   * each.
   *
   * @throws {InvalidArgumentError} when `limit` is not a whole number >= 0
   * @throws the first error a timer callback threw, after firing every timer; else an Error past `limit`
   */
  runAll(limit?: number): Promise<void>;
  /**
   * Sets the time without firing anything. Timers keep their due times on the same time line: a jump forward
   * leaves the timers it passed overdue (they fire on the next advance), a jump back delays them.
   *
   * @throws {InvalidArgumentError} when `now` is not a finite number (negative is fine)
   */
  setNow(now: number): void;
  /**
   * Sets the wall clock, as NTP, a resumed VM or an operator does on a real machine: `now()` reads `now` from
   * here on (back or forward), while timers keep running on elapsed time, so none fires early or late because
   * of it (unlike {@link FakeClock.setNow}). For testing code that must survive a clock step.
   *
   * @throws {InvalidArgumentError} when `now` is not a finite number (negative is fine)
   * @example
   * ```ts
   * clock.setWallClock(clock.now() - 86_400_000); // a day back; a 1 s timer still fires after 1 s
   * ```
   */
  setWallClock(now: number): void;
  /** How far the timers' time line has moved since the clock was created (by advance, runAll and setNow; not by setWallClock). */
  readonly elapsed: number;
}

// A time in ms since the epoch: any finite number (negative too); NaN or Infinity would make every reading NaN.
function assertTime(argument: string, value: number): void {
  if (!Number.isFinite(value)) throw new InvalidArgumentError(argument, 'a finite number of ms', value);
}

// Lets queued promise callbacks run: a macrotask turn drains every microtask before it. On real timers, so that
// vi.useFakeTimers() does not hold the turn (internal/turn.ts).
const flush = turn;

/**
 * Creates a fake clock, at `now` (default 0) until a test moves it.
 *
 * @throws {InvalidArgumentError} when `now` is not a finite number (negative is fine)
 * @example
 * ```ts
 * const clock = createFakeClock();
 * const done = sleep(1000, { clock });
 * await clock.advance(1000);
 * await done;
 * ```
 */
export function createFakeClock(options?: FakeClockOptions): FakeClock {
  const start = options?.now ?? 0;
  assertTime('createFakeClock({ now })', start);
  // `now` is the timers' time line; `now()` reads it plus `offset`, the sum of the wall-clock steps.
  let now = start;
  let offset = 0;
  let nextId = 1;
  // The pending timers by handle, and a binary min-heap of them by due time, then id (the order they were set):
  // the next due is its root, in O(log n) instead of a scan of every timer per firing (16,000 timers fired in
  // ~430 ms). A timer fired or cleared leaves the map at once and the heap lazily, when it reaches the root; the heap
  // is rebuilt when such leftovers outnumber the pending timers (a watchdog cleared and set again per event; fired
  // timers below one set earlier in time after a callback set the time back).
  const timers = new Map<unknown, Timer>();
  let heap: Timer[] = [];
  const before = (a: Timer, b: Timer): boolean => a.at < b.at || (a.at === b.at && a.id < b.id);
  const push = (timer: Timer): void => {
    let i = heap.push(timer) - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!before(timer, heap[parent] as Timer)) break;
      heap[i] = heap[parent] as Timer;
      i = parent;
    }
    heap[i] = timer;
  };
  const pop = (): void => {
    const last = heap.pop() as Timer;
    const size = heap.length;
    if (size === 0) return;
    let i = 0;
    for (;;) {
      let child = 2 * i + 1;
      if (child >= size) break;
      if (child + 1 < size && before(heap[child + 1] as Timer, heap[child] as Timer)) child++;
      if (!before(heap[child] as Timer, last)) break;
      heap[i] = heap[child] as Timer;
      i = child;
    }
    heap[i] = last;
  };
  const nextDue = (until: number): Timer | undefined => {
    let due = heap[0];
    while (due !== undefined && timers.get(due.handle) !== due) {
      pop();
      due = heap[0];
    }
    return due !== undefined && due.at <= until ? due : undefined;
  };
  const compact = (): void => {
    // By due time only: the map holds the timers in the order they were set (ids ascending) and sort() is stable,
    // so timers due at one time keep that order.
    if (heap.length > 2 * timers.size + 64) heap = [...timers.values()].sort((a, b) => a.at - b.at);
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
    // A fired timer leaves the heap at its root, unless a callback set the time back and then a timer due before
    // it: one per firing then stayed for as long as such a timer was pending (100,000 in one advance).
    compact();
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
      const timer: Timer = { handle, id, at: now + wait, callback, immediate: wait === 0 };
      timers.set(handle, timer);
      push(timer);
      return handle;
    },
    clearTimeout(handle: TimerHandle): void {
      if (timers.delete(handle)) compact();
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
