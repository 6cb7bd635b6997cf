/**
 * @integ/breaker: a circuit breaker with consecutive-failure, failure-rate and slow-call triggers over
 * count or time windows, honest half-open probes, cheap rejections, snapshots and a keyed registry.
 */
export type { Clock, TimerHandle } from '@integ/core';
export {
  type Breaker,
  type BreakerContext,
  type BreakerOptions,
  type BreakerResult,
  type BreakerSnapshot,
  type BreakerState,
  createBreaker,
  type ExecuteOptions,
  type FailureEvent,
  type SuccessEvent,
} from './breaker.js';
export { CircuitOpenError, isCircuitOpenError } from './errors.js';
export {
  type BreakerRegistry,
  type BreakerRegistryOptions,
  createBreakerRegistry,
} from './registry.js';
export {
  type BreakerWindow,
  type SlidingWindowOptions,
  slidingWindow,
  type WindowCounts,
  type WindowFactory,
} from './window.js';
