/**
 * Abort helpers that keep `signal.reason` intact: whoever aborts decides what the waiting code rejects with.
 */

/**
 * The reason to reject with for an aborted signal: `signal.reason` (also `null`, as `abort(null)` sets it),
 * or a DOMException named `AbortError` on an old runtime that keeps no reason (`undefined`).
 *
 * @example
 * ```ts
 * signal.addEventListener('abort', () => reject(abortReason(signal)), { once: true });
 * ```
 */
export function abortReason(signal: AbortSignal): unknown {
  const { reason } = signal;
  return reason === undefined ? new DOMException('This operation was aborted', 'AbortError') : reason;
}

/**
 * Throws `signal.reason` if `signal` is aborted.
 *
 * @throws the signal's reason
 * @example
 * ```ts
 * throwIfAborted(options.signal);
 * ```
 */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortReason(signal);
}

/**
 * Whether `error` means "cancelled by the caller": a DOMException or Error named `AbortError`, or the
 * current reason of `signal` when one is given.
 *
 * @example
 * ```ts
 * try {
 *   await fetch(url, { signal });
 * } catch (error) {
 *   if (isAbortError(error, signal)) return; // the caller gave up: not a failure to count
 *   throw error;
 * }
 * ```
 */
export function isAbortError(error: unknown, signal?: AbortSignal): boolean {
  if (signal?.aborted && error === signal.reason) return true;
  return typeof error === 'object' && error !== null && (error as { name?: unknown }).name === 'AbortError';
}

/** A signal combined from several, and the function that detaches it from its sources. */
export interface LinkedSignal {
  readonly signal: AbortSignal;
  /** Removes every listener from the source signals. Call it when the work settles. */
  dispose(): void;
}

/**
 * A signal that aborts, with the same reason, when the first of `signals` aborts. Unlike
 * `AbortSignal.any`, `dispose()` removes its listeners from the sources at once, so long-lived
 * parent signals do not accumulate listeners.
 *
 * @example
 * ```ts
 * const linked = linkSignals(callerSignal, timeoutSignal);
 * try { await fetch(url, { signal: linked.signal }); } finally { linked.dispose(); }
 * ```
 */
export function linkSignals(...signals: (AbortSignal | undefined)[]): LinkedSignal {
  const controller = new AbortController();
  const sources: AbortSignal[] = [];
  const onAbort = function (this: AbortSignal): void {
    dispose();
    controller.abort(this.reason);
  };
  const dispose = (): void => {
    for (const source of sources) source.removeEventListener('abort', onAbort);
    sources.length = 0;
  };
  for (const source of signals) {
    if (source === undefined) continue;
    if (source.aborted) {
      dispose();
      controller.abort(source.reason);
      break;
    }
    sources.push(source);
    source.addEventListener('abort', onAbort);
  }
  return { signal: controller.signal, dispose };
}

/**
 * Cancels a response body or its reader without waiting and without throwing, to drop a connection whose answer
 * is not wanted. The cancel is not awaited: one need not settle (msw tees a mocked body, and one branch's cancel
 * waits for the other's). A body that is no web stream (node-fetch's Node stream has no `cancel()`), or a
 * `cancel()` that throws or returns no promise (a mock's), is left as it is: its TypeError must not replace the
 * answer the caller is about to report.
 *
 * @example
 * ```ts
 * if (!response.ok) { discard(response.body); throw new HttpError(response.status); }
 * ```
 */
export function discard(stream: { cancel(): Promise<void> } | null | undefined): void {
  try {
    stream?.cancel().catch(() => {});
  } catch {}
}
