/**
 * The error a breaker rejects with when it does not run a call. A breaker builds one per open episode
 * and rejects every call of that episode with it: a rejection is the breaker's normal answer under load,
 * and building any native `Error` costs more than the rest of a rejection together
 * (see docs/decisions/0025-breaker-one-error-per-episode.md).
 */
import { IntegError, isIntegError } from '@integ/core';

/**
 * A call was rejected without running because the circuit is open, half-open with every probe slot
 * taken, or isolated (`ERR_CIRCUIT_OPEN`).
 *
 * `retryAfterMs` says when the breaker will admit a call again: the rest of the open period, the
 * time until the last admitted probe times out (every probe in flight is decided by then; at least 1
 * until its timer has fired), or
 * `Infinity` while the breaker is isolated. On an error
 * from a breaker it is read live from the breaker's clock (one error serves a whole open episode, so
 * it is right whenever it is read, and 0 once the breaker admits calls again); on one you construct,
 * it is the number you pass. The message states no number, since a breaker's changes while held.
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
  static override readonly name: string = 'CircuitOpenError';
  /** Milliseconds until the breaker admits a call again; `Infinity` while isolated. */
  declare readonly retryAfterMs: number;
  /** Whether the breaker is held open by `isolate()` (it stays open until released or reset). */
  declare readonly isolated: boolean;

  constructor(retryAfterMs: number, isolated = false) {
    super(
      'ERR_CIRCUIT_OPEN',
      isolated ? 'Circuit isolated: release or reset it' : 'Circuit open: retry when retryAfterMs has passed',
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
 * Builds the one CircuitOpenError a breaker rejects an open episode's calls with: a real `Error`
 * (instanceof, `Error.isError`, structured clone all work) whose `retryAfterMs` is read live through
 * `retryAfterMs()`. It is built without a stack: the frames would be those of the episode's first
 * rejected caller, wrong for every other one.
 */
export function openError(retryAfterMs: () => number, isolated: boolean): CircuitOpenError {
  const E = Error as { stackTraceLimit?: number };
  let limit = E.stackTraceLimit;
  // Only where the property exists and is not 0 already (V8, and others that copied it), and only where it
  // can be set: frozen intrinsics (Node's --frozen-intrinsics, SES compartments) make it read-only, and
  // assigning it in a module throws, which made every rejection a TypeError; there the error keeps a stack.
  try {
    if (limit) E.stackTraceLimit = 0;
  } catch {
    limit = 0;
  }
  try {
    // Turning the constructor's data property into an accessor keeps it enumerable (JSON, loggers).
    return Object.defineProperty(new CircuitOpenError(0, isolated), 'retryAfterMs', { get: retryAfterMs });
  } finally {
    if (limit) E.stackTraceLimit = limit;
  }
}
