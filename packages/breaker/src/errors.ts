/**
 * The error a breaker rejects with when it does not run a call. It is built without a stack trace:
 * a rejection is the breaker's normal answer under load, and V8's stack capture is most of what a
 * rejection would otherwise cost (see docs/decisions/0020-breaker-cheap-rejection.md).
 */
import { IntegError, isIntegError } from '@integ/core';

/**
 * A call was rejected without running because the circuit is open, half-open with every probe slot
 * taken, or isolated (`ERR_CIRCUIT_OPEN`).
 *
 * `retryAfterMs` says when the breaker will admit a call again: the rest of the open period, the
 * time until the pending probe times out, or `Infinity` while the breaker is isolated.
 *
 * @example
 * ```ts
 * try {
 *   await breaker.execute(callApi);
 * } catch (error) {
 *   if (isCircuitOpenError(error)) return cached(error.retryAfterMs);
 *   throw error;
 * }
 * ```
 */
export class CircuitOpenError extends IntegError {
  /** Milliseconds until the breaker admits a call again; `Infinity` while isolated. */
  declare readonly retryAfterMs: number;
  /** Whether the breaker is held open by `isolate()` (it stays open until released or reset). */
  declare readonly isolated: boolean;

  constructor(retryAfterMs: number, isolated = false) {
    super(
      'ERR_CIRCUIT_OPEN',
      isolated ? 'Circuit isolated: release or reset it' : `Circuit open: retry after ${retryAfterMs} ms`,
      { retryable: !isolated },
    );
    this.retryAfterMs = retryAfterMs;
    this.isolated = isolated;
  }
}

/**
 * Whether `value` is a {@link CircuitOpenError}, from any copy of this package (it checks the
 * string brand and code, not `instanceof`).
 *
 * @example
 * ```ts
 * const result = await breaker.tryExecute(callApi);
 * if (!result.ok && isCircuitOpenError(result.error)) console.log(result.error.retryAfterMs);
 * ```
 */
export function isCircuitOpenError(value: unknown): value is CircuitOpenError {
  return isIntegError(value, 'ERR_CIRCUIT_OPEN');
}

/**
 * Builds a CircuitOpenError without capturing a stack: a real `Error` (instanceof, `Error.isError`,
 * structured clone all work) at a fraction of the cost. The stack it would show is the breaker's own
 * frames, which say nothing the message does not.
 */
export function openError(retryAfterMs: number, isolated?: boolean): CircuitOpenError {
  const E = Error as { stackTraceLimit?: number };
  const limit = E.stackTraceLimit;
  // Only where the property exists and is not 0 already (V8, and others that copied it).
  try {
    if (limit) E.stackTraceLimit = 0;
    return new CircuitOpenError(retryAfterMs, isolated);
  } finally {
    if (limit) E.stackTraceLimit = limit;
  }
}
