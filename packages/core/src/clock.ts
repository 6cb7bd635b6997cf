/**
 * Time as a dependency. Everything in @integ that waits or measures takes a `clock`, so tests drive
 * time with the fake clock of @integ/testing and never sleep for real.
 */

/** An opaque handle returned by {@link Clock.setTimeout}. */
export type TimerHandle = unknown;

/** The source of time and timers. */
export interface Clock {
  /** Milliseconds since the epoch, like `Date.now()`. */
  now(): number;
  /** Calls `callback` once after `ms` milliseconds. */
  setTimeout(callback: () => void, ms: number): TimerHandle;
  /** Cancels a timer; unknown or fired handles are ignored. */
  clearTimeout(handle: TimerHandle): void;
}

/**
 * The real clock: `Date.now()` and the global timers.
 *
 * @example
 * ```ts
 * const start = systemClock.now();
 * ```
 */
export const systemClock: Clock = {
  now: () => Date.now(),
  // Read at call time, so fake timers installed later (vitest, jest) are honoured.
  setTimeout: (callback, ms) => setTimeout(callback, ms),
  clearTimeout: (handle) => clearTimeout(handle as ReturnType<typeof setTimeout>),
};

/**
 * Lets a timer not keep a Node process alive (no-op elsewhere and on fake clocks). For background
 * timers such as refresh loops and watchdogs.
 *
 * @example
 * ```ts
 * const handle = clock.setTimeout(refresh, 30_000);
 * unrefTimer(handle); // the process may exit while this waits
 * ```
 */
export function unrefTimer(handle: TimerHandle): void {
  (handle as { unref?: () => void } | null)?.unref?.();
}
