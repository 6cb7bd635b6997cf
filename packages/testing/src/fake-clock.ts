/**
 * A fake implementation of @integ/core's `Clock`: time moves only when the test says so, so timing
 * logic runs in microseconds and gives the same result every run.
 */
import type { Clock, TimerHandle } from '@integ/core';

interface Timer {
  readonly id: number;
  readonly at: number;
  readonly callback: () => void;
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
   */
  advance(ms: number): Promise<void>;
  /** Like {@link FakeClock.advance} but synchronous: promise callbacks run only after it returns. */
  advanceSync(ms: number): void;
  /** Fires timers until none are left (up to `limit`, to stop runaway loops), moving time to each. */
  runAll(limit?: number): Promise<void>;
  /** Sets the time without firing anything (like a wall-clock jump). */
  setNow(now: number): void;
}

// Lets queued promise callbacks run: a macrotask turn drains every microtask before it.
const flush = (): Promise<void> =>
  new Promise((resolve) =>
    typeof setImmediate === 'function' ? setImmediate(resolve) : globalThis.setTimeout(resolve, 0),
  );

/**
 * Creates a fake clock.
 *
 * @example
 * ```ts
 * const clock = createFakeClock();
 * const done = sleep(1000, { clock });
 * await clock.advance(1000);
 * await done;
 * ```
 */
export function createFakeClock(options?: FakeClockOptions): FakeClock {
  let now = options?.now ?? 0;
  let nextId = 1;
  const timers = new Map<number, Timer>();

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

  const fire = (timer: Timer): void => {
    timers.delete(timer.id);
    if (timer.at > now) now = timer.at;
    timer.callback();
  };

  const assertMs = (ms: number): void => {
    if (!(ms >= 0) || !Number.isFinite(ms))
      throw new RangeError(`advance() needs a finite ms >= 0, got ${ms}`);
  };

  return {
    now: () => now,
    setTimeout(callback: () => void, ms: number): TimerHandle {
      const id = nextId++;
      timers.set(id, { id, at: now + Math.max(0, Number.isFinite(ms) ? ms : 0), callback });
      return id;
    },
    clearTimeout(handle: TimerHandle): void {
      if (typeof handle === 'number') timers.delete(handle);
    },
    get pendingTimers() {
      return timers.size;
    },
    async advance(ms: number): Promise<void> {
      assertMs(ms);
      const until = now + ms;
      await flush();
      for (let timer = nextDue(until); timer !== undefined; timer = nextDue(until)) {
        fire(timer);
        await flush();
      }
      now = until;
      await flush();
    },
    advanceSync(ms: number): void {
      assertMs(ms);
      const until = now + ms;
      for (let timer = nextDue(until); timer !== undefined; timer = nextDue(until)) fire(timer);
      now = until;
    },
    async runAll(limit = 10_000): Promise<void> {
      await flush();
      for (let i = 0; i < limit; i++) {
        const timer = nextDue(Number.POSITIVE_INFINITY);
        if (timer === undefined) return;
        fire(timer);
        await flush();
      }
      throw new Error(`runAll() fired ${limit} timers and more remain: is something rescheduling forever?`);
    },
    setNow(value: number): void {
      now = value;
    },
  };
}
