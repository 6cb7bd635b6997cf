/**
 * Retry budgets (Finagle's RetryBudget, Google SRE book ch. 22): retries may add at most `ratio` of the
 * traffic, plus a small floor so that low-traffic callers can still retry. One budget is shared by every
 * call to the same dependency; when that dependency fails for everyone, retries stop instead of multiplying
 * the load on it.
 */
import { type Clock, InvalidArgumentError, systemClock } from '@integ/core';
import { check, checkOptions } from './internal/check.js';

/** Options of {@link retryBudget}. */
export interface RetryBudgetOptions {
  /** Retries allowed per call over the window, 0 to 1000 (0.2: retries add at most 20 % load). @default 0.2 */
  readonly ratio?: number | undefined;
  /** Retries always allowed per second of window, whatever the traffic (0 to 1e9). @default 10 */
  readonly minPerSecond?: number | undefined;
  /**
   * Length of the sliding window in ms (more than 0, up to 2^31 - 1): calls and retries older than this are
   * forgotten. @default 10000
   */
  readonly ttl?: number | undefined;
  /**
   * Where time comes from; not taken from `retry()`'s `clock`: in tests, pass the same fake clock to both. The
   * budget's time only moves forward: a clock set back counts as no time passing.
   * @default systemClock
   */
  readonly clock?: Clock | undefined;
}

/** A budget shared by many `retry()` calls (pass it as the `budget` option). */
export interface RetryBudget {
  /** Records one call (its first attempt). `retry()` does it for you. */
  recordRequest(): void;
  /** Spends one retry: `true` when allowed, `false` when the budget is spent. `retry()` does it for you. */
  tryRetry(): boolean;
  /** How many retries the budget would allow right now. */
  available(): number;
}

/** The window is kept as this many buckets: memory stays constant whatever the traffic. */
const BUCKETS = 10;

/**
 * Creates a retry budget: within the last `ttl` ms, retries never exceed
 * `ratio x calls + minPerSecond x ttl / 1000`.
 *
 * @throws {InvalidArgumentError} when an option is out of range or `options` is not an object
 * @example
 * ```ts
 * const budget = retryBudget({ ratio: 0.1, minPerSecond: 5 });
 * const getUser = (id: string) => retry(() => api.get(`/users/${id}`), { budget });
 * ```
 */
export function retryBudget(options?: RetryBudgetOptions): RetryBudget {
  checkOptions(options, '{ ratio: 0.1 }');
  const ratio = check('ratio', options?.ratio ?? 0.2, 0, 1000);
  const minPerSecond = check('minPerSecond', options?.minPerSecond ?? 10, 0, 1e9);
  const ttl = check('ttl', options?.ttl ?? 10_000);
  if (ttl === 0) throw new InvalidArgumentError('ttl', 'a number of ms > 0', ttl);
  const clock = options?.clock ?? systemClock;
  const reserve = (minPerSecond * ttl) / 1000;
  const width = ttl / BUCKETS;
  // Empty: a slot never written reads as 0 (`?? 0` wherever one is read).
  const calls: number[] = [];
  const retries: number[] = [];
  let totalCalls = 0;
  let totalRetries = 0;
  // `seen` is the clock's time, moving only forward: `now()` is a wall clock that NTP or an operator can set back,
  // and a step back read as is froze the window until the clock caught up with it (an hour back: no reserve for an
  // hour). A step back counts as no time; from the next read on, time goes on. Buckets are numbered from the
  // budget's first one (aligned on multiples of `width`): `current` never goes below 0, so no slot is a negative
  // index (bucket -3's was `calls[-3]`: what a clock before 1970 counted stayed counted for good). A first reading
  // of NaN or +-Infinity starts `seen` at 0, and a step to or from one adds no time, as a later NaN adds none: read
  // as is, every bucket was NaN (Infinity - Infinity) and nothing counted ever expired.
  let last = clock.now();
  let seen = Number.isFinite(last) ? last : 0;
  const first = Math.floor(seen / width);
  let current = 0;

  // Moves the window to now, forgetting buckets that fell out of it.
  const roll = (): number => {
    const now = clock.now();
    if (now > last && now - last < Infinity) seen += now - last;
    last = now;
    const bucket = Math.floor(seen / width) - first;
    for (let step = Math.min(BUCKETS, bucket - current); step > 0; step--) {
      const i = (bucket - step + 1) % BUCKETS;
      totalCalls -= calls[i] ?? 0;
      totalRetries -= retries[i] ?? 0;
      calls[i] = 0;
      retries[i] = 0;
    }
    current = bucket;
    return current % BUCKETS;
  };
  // The 1e-9 absorbs float error in ratio x calls (0.1 x 30 is 3.0000000000000004).
  const allowed = (): number => Math.floor(ratio * totalCalls + reserve + 1e-9) - totalRetries;

  return {
    recordRequest() {
      const i = roll();
      calls[i] = (calls[i] ?? 0) + 1;
      totalCalls++;
    },
    tryRetry() {
      const i = roll();
      if (allowed() < 1) return false;
      retries[i] = (retries[i] ?? 0) + 1;
      totalRetries++;
      return true;
    },
    available() {
      roll();
      return Math.max(0, allowed());
    },
  };
}
