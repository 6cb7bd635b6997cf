/**
 * @integ/retry: retry with backoff, jitter, per-attempt timeouts, deadlines, retry budgets and
 * server hints (`Retry-After`). Web-standard APIs only.
 */
// The clock types retry's `clock` option takes, so a user can name them without installing @integ/core.
export type { Clock, TimerHandle } from '@integ/core';
export {
  type Backoff,
  type BackoffContext,
  constant,
  type DecorrelatedOptions,
  decorrelated,
  type ExponentialOptions,
  exponential,
  type Jitter,
  type LinearOptions,
  linear,
} from './backoff.js';
export { type RetryBudget, type RetryBudgetOptions, retryBudget } from './budget.js';
export {
  type GiveUpReason,
  isRetryError,
  RejectedResultError,
  RetryBudgetError,
  RetryError,
} from './errors.js';
export {
  type AttemptContext,
  type GiveUpEvent,
  isRetryable,
  type RetryEvent,
  type RetryOptions,
  retry,
  withRetry,
} from './retry.js';
export { type HeadersLike, parseRetryAfter } from './retry-after.js';
