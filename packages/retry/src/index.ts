/**
 * @integ/retry: retry with backoff, jitter, per-attempt timeouts, deadlines, retry budgets and
 * server hints (`Retry-After`). Web-standard APIs only.
 */
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
