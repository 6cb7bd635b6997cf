/**
 * The errors retry rejects with: {@link RetryError} when it gives up, {@link RetryBudgetError} when a shared
 * budget refuses the retry, and {@link RejectedResultError} for a value that `retryOnResult` turned down.
 */
import { IntegError, isIntegError } from '@integ/core';

/** Why retry stopped: out of attempts, out of time before the deadline, or the shared budget was spent. */
export type GiveUpReason = 'attempts' | 'deadline' | 'budget';

/** At most this many failures are kept in {@link RetryError.errors} (the most recent ones). */
export const MAX_KEPT_ERRORS = 100;

/**
 * Retry gave up (`ERR_RETRY_EXHAUSTED`): every allowed attempt failed, or the deadline left no time for
 * another one. `cause` is the last failure; `errors` keeps every failure in order. Not retryable itself,
 * so an outer retry does not multiply the attempts of an inner one.
 *
 * @example
 * ```ts
 * try { await retry(call); } catch (err) {
 *   if (isRetryError(err)) console.log(err.attempts, err.errors);
 * }
 * ```
 */
export class RetryError extends IntegError {
  static override readonly name: string = 'RetryError';
  // `declare`: assigned in the constructor, so no class-field definitions are emitted (smaller bundle).
  /** How many times the function was called. */
  declare readonly attempts: number;
  /** Every failure, oldest first (the last {@link MAX_KEPT_ERRORS} when there were more). */
  declare readonly errors: readonly unknown[];
  /** Why retry stopped. */
  declare readonly reason: GiveUpReason;

  constructor(
    attempts: number,
    errors: readonly unknown[],
    reason: GiveUpReason = 'attempts',
    code: `ERR_${string}` = 'ERR_RETRY_EXHAUSTED',
  ) {
    super(code, `Retry gave up after ${attempts} attempt(s) (${reason}); see .cause and .errors`, {
      cause: errors.at(-1),
      retryable: false,
    });
    this.attempts = attempts;
    this.errors = errors;
    this.reason = reason;
  }
}

/**
 * The shared {@link RetryBudget} is spent (`ERR_RETRY_BUDGET_EXHAUSTED`): too many calls are retrying, so
 * this one fails fast with its last failure as `cause`. A subclass of {@link RetryError}.
 *
 * @example
 * ```ts
 * if (isIntegError(err, 'ERR_RETRY_BUDGET_EXHAUSTED')) shedLoad();
 * ```
 */
export class RetryBudgetError extends RetryError {
  static override readonly name: string = 'RetryBudgetError';
  constructor(attempts: number, errors: readonly unknown[]) {
    super(attempts, errors, 'budget', 'ERR_RETRY_BUDGET_EXHAUSTED');
  }
}

/**
 * A value that `retryOnResult` asked to retry (`ERR_RETRY_RESULT_REJECTED`); the value is kept in `value`.
 * It appears in {@link RetryError.errors} and as its `cause` when the last attempt returned such a value.
 *
 * @example
 * ```ts
 * const last = err.cause instanceof RejectedResultError ? err.cause.value : undefined;
 * ```
 */
export class RejectedResultError extends IntegError {
  static override readonly name: string = 'RejectedResultError';
  /** The value the function returned (not enumerable, so printing the error does not print it). */
  declare readonly value: unknown;

  constructor(value: unknown) {
    super('ERR_RETRY_RESULT_REJECTED', 'retryOnResult rejected the value', {
      retryable: true,
    });
    // Not enumerable: util.inspect (console, Node printing an unhandled rejection), JSON.stringify and loggers that
    // copy an error's own properties showed the value, e.g. a Response's URL with a token and its set-cookie header.
    Object.defineProperty(this, 'value', { value });
  }
}

/**
 * Whether `value` is a {@link RetryError} (including {@link RetryBudgetError}) from any copy of this package.
 *
 * @example
 * ```ts
 * if (isRetryError(err)) console.log(`gave up after ${err.attempts} attempts`);
 * ```
 */
export function isRetryError(value: unknown): value is RetryError {
  return isIntegError(value, 'ERR_RETRY_EXHAUSTED') || isIntegError(value, 'ERR_RETRY_BUDGET_EXHAUSTED');
}
