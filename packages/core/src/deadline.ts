/**
 * Deadlines: an absolute point in time with a signal that aborts when it passes, combined with the
 * caller's signal.
 */
import { linkSignals } from './abort.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { TimeoutError } from './errors.js';

/** Options of {@link createDeadline}. */
export interface DeadlineOptions {
  /** Also abort when this signal aborts (with its reason). */
  readonly signal?: AbortSignal | undefined;
  /** Where time comes from. @default systemClock */
  readonly clock?: Clock | undefined;
  /** What is being timed, for the TimeoutError message. @default 'Operation' */
  readonly what?: string | undefined;
}

/** A running deadline. */
export interface Deadline {
  /** Absolute expiry time on the deadline's clock. */
  readonly expiresAt: number;
  /** Aborts with a {@link TimeoutError} when the deadline passes, or with the caller's reason. */
  readonly signal: AbortSignal;
  /** Milliseconds left, never negative. */
  remaining(): number;
  /** Whether no time is left. */
  expired(): boolean;
  /** Releases the timer and the listeners. Call it when the work settles. */
  dispose(): void;
}

/**
 * Starts a deadline `ms` milliseconds from now. `Infinity` gives a deadline that never fires (no timer).
 *
 * @throws {TypeError} when `ms` is negative or NaN
 * @example
 * ```ts
 * const deadline = createDeadline(5000, { signal });
 * try { await work(deadline.signal); } finally { deadline.dispose(); }
 * ```
 */
export function createDeadline(ms: number, options?: DeadlineOptions): Deadline {
  if (!(ms >= 0)) throw new TypeError(`Invalid deadline: expected milliseconds >= 0, received ${ms}`);
  const clock = options?.clock ?? systemClock;
  const expiresAt = clock.now() + ms;
  const timeout = new AbortController();
  const linked = linkSignals(options?.signal, timeout.signal);
  let timer: TimerHandle | undefined;
  if (Number.isFinite(ms) && !linked.signal.aborted) {
    timer = clock.setTimeout(() => {
      timer = undefined;
      timeout.abort(new TimeoutError(ms, options?.what));
    }, ms);
  }
  return {
    expiresAt,
    signal: linked.signal,
    remaining: () => Math.max(0, expiresAt - clock.now()),
    expired: () => clock.now() >= expiresAt,
    dispose() {
      if (timer !== undefined) clock.clearTimeout(timer);
      timer = undefined;
      linked.dispose();
    },
  };
}

/**
 * Milliseconds left until `expiresAt` on `clock`, never negative; `Infinity` when there is no deadline.
 */
export function timeLeft(expiresAt: number | undefined, clock: Clock = systemClock): number {
  return expiresAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, expiresAt - clock.now());
}
