/** An abortable sleep that leaves nothing behind. */
import { abortReason } from './abort.js';
import { type Clock, systemClock } from './clock.js';

/** Options of {@link sleep}. */
export interface SleepOptions {
  /** Aborting rejects the sleep at once with `signal.reason`. */
  readonly signal?: AbortSignal | undefined;
  /** Where time comes from. @default systemClock */
  readonly clock?: Clock | undefined;
}

/**
 * Resolves after `ms` milliseconds. Aborting `signal` rejects with `signal.reason`; either way the timer
 * and the abort listener are released the moment the sleep settles.
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
  return new Promise<void>((resolve, reject) => {
    if (signal === undefined) {
      clock.setTimeout(resolve, Math.max(0, ms));
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(timer);
      reject(abortReason(signal));
    };
    const timer = clock.setTimeout(
      () => {
        signal.removeEventListener('abort', onAbort);
        resolve();
      },
      Math.max(0, ms),
    );
    signal.addEventListener('abort', onAbort, { once: true });
  });
}
