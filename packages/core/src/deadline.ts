/**
 * Deadlines: an absolute point in time with a signal that aborts when it passes, combined with the
 * caller's signal.
 */
import { type Clock, systemClock, type TimerHandle } from './clock.js';
import { InvalidArgumentError, TimeoutError } from './errors.js';

/** Options of {@link createDeadline}. */
export interface DeadlineOptions {
  /** Also abort when this signal aborts (with its reason). @default none */
  readonly signal?: AbortSignal | undefined;
  /** Where time comes from. @default systemClock */
  readonly clock?: Clock | undefined;
  /** What is being timed, for the TimeoutError message. @default 'Operation' */
  readonly what?: string | undefined;
}

/**
 * A running deadline. `expired()`, `remaining() === 0` and the signal's `TimeoutError` always agree: the
 * signal aborts when the timer fires or, if a check comes first, when `remaining()` or `expired()` finds
 * the time up (a real timer can run a little after its due time). The signal may also abort earlier with
 * the caller's reason; `expired()` and `remaining()` speak only of time.
 */
export interface Deadline {
  /** Absolute expiry time on the deadline's clock. */
  readonly expiresAt: number;
  /** Aborts with a {@link TimeoutError} when the deadline passes, or with the caller's reason. */
  readonly signal: AbortSignal;
  /** Milliseconds left, never negative; 0 once the deadline timed out. Aborts the signal if it finds 0. */
  remaining(): number;
  /** Whether no time is left (`remaining() === 0`). Aborts the signal if the time is up. */
  expired(): boolean;
  /**
   * Releases the timer and the caller's signal listener (both already go when the signal aborts). Call it
   * when the work settles; the signal never aborts after it.
   */
  dispose(): void;
}

// Longest delay a timer honours: setTimeout fires at once for anything above 2^31-1 ms.
const MAX_MS = 2_147_483_647;

/**
 * Starts a deadline `ms` milliseconds from now. `Infinity` gives a deadline that never fires (no timer);
 * `0` gives one that is already expired, its signal aborted with the {@link TimeoutError}.
 *
 * @throws {InvalidArgumentError} when `ms` is not a number from 0 to 2^31-1 (about 24.8 days) or `Infinity`
 * @example
 * ```ts
 * const deadline = createDeadline(5000, { signal });
 * try { await work(deadline.signal); } finally { deadline.dispose(); }
 * ```
 */
export function createDeadline(ms: number, options?: DeadlineOptions): Deadline {
  if (typeof ms !== 'number' || !(ms >= 0 && (ms <= MAX_MS || ms === Infinity)))
    throw new InvalidArgumentError('createDeadline(ms)', 'a number of ms from 0 to 2^31-1, or Infinity', ms);
  const clock = options?.clock ?? systemClock;
  const caller = options?.signal;
  const controller = new AbortController();
  const expiresAt = clock.now() + ms;
  let timer: TimerHandle | undefined;
  // `live` until the signal aborts or dispose() runs; `timedOut` once the time was found up, so a clock
  // that then reads earlier (a wall clock stepped back) cannot revive the deadline.
  let live = true;
  let timedOut = false;
  const dispose = (): void => {
    live = false;
    if (timer !== undefined) clock.clearTimeout(timer);
    timer = undefined;
    caller?.removeEventListener('abort', onAbort);
  };
  // Listens on the caller's signal only, and detaches (with the timer) the moment either side aborts,
  // so a caller that goes away frees the deadline without waiting for dispose().
  const onAbort = (): void => {
    dispose();
    controller.abort((caller as AbortSignal).reason);
  };
  const expire = (): void => {
    timedOut = true;
    if (live) {
      dispose();
      controller.abort(new TimeoutError(ms, options?.what));
    }
  };
  const remaining = (): number => {
    const left = timedOut ? 0 : expiresAt - clock.now();
    if (left > 0) return left;
    expire();
    return 0;
  };
  if (caller?.aborted) onAbort();
  else if (remaining() > 0) {
    // Timer first: a clock whose setTimeout throws (window.setTimeout passed unbound, in a browser) must not
    // leave a listener on the caller's signal behind the error.
    if (ms !== Infinity) timer = clock.setTimeout(expire, ms);
    caller?.addEventListener('abort', onAbort);
  }
  return {
    expiresAt,
    signal: controller.signal,
    remaining,
    expired: () => remaining() === 0,
    dispose,
  };
}

/**
 * Milliseconds left until `expiresAt` on `clock`, never negative; `Infinity` when there is no deadline.
 *
 * @example
 * ```ts
 * const expiresAt = clock.now() + 5_000;
 * await sleep(Math.min(delay, timeLeft(expiresAt, clock)), { clock });
 * ```
 */
export function timeLeft(expiresAt: number | undefined, clock: Clock = systemClock): number {
  return expiresAt === undefined ? Number.POSITIVE_INFINITY : Math.max(0, expiresAt - clock.now());
}
