/** An abortable sleep that leaves nothing behind. */
import { abortReason } from './abort.js';
import { type Clock, systemClock, type TimerHandle } from './clock.js';

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Aborting rejects the sleep at once with `signal.reason`. @default none */
  readonly signal?: AbortSignal | undefined;
  /** Where time comes from. @default systemClock */
  readonly clock?: Clock | undefined;
}

/**
 * Resolves after `ms` milliseconds. Aborting `signal` rejects with `signal.reason`; either way the timer
 * and the abort listener are released the moment the sleep settles. Negative and NaN `ms` count as 0, more
 * than 2^31-1 as 2^31-1 (about 24.8 days, the longest a timer waits), and `Infinity` waits for the abort alone.
 *
 * @throws the signal's reason when aborted (also when it is already aborted)
 * @example
 * ```ts
 * await sleep(250, { signal });
 * ```
 */
export function sleep(ms: number, options?: SleepOptions): Promise<void> {
  const clock = options?.clock ?? systemClock;
  const signal = options?.signal;
  if (signal?.aborted) return Promise.reject(abortReason(signal));
  // A timer fires at once for more than 2^31-1 ms (and for NaN): cap the wait there, count NaN as 0, and let
  // Infinity wait for the abort alone (decision 0005).
  const wait = ms > 0 ? Math.min(ms, 2_147_483_647) : 0;
  return new Promise<void>((resolve, reject) => {
    let timer: TimerHandle;
    let done = false;
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(abortReason(signal as AbortSignal));
    };
    if (ms !== Infinity)
      timer = clock.setTimeout(() => {
        done = true;
        signal?.removeEventListener('abort', onAbort);
        resolve();
      }, wait);
    // A clock that calls back at once (breaking the Clock contract) has settled the sleep already: no listener.
    if (!done) signal?.addEventListener('abort', onAbort, { once: true });
  });
}
