/** An AbortController that knows how many abort listeners its signal holds, to prove nothing leaks. */

/** What {@link trackedAbortController} returns. */
export interface TrackedAbortController {
  readonly controller: AbortController;
  readonly signal: AbortSignal;
  /** Abort listeners attached now (`once` listeners count until they fire). */
  readonly listeners: number;
  abort(reason?: unknown): void;
}

/**
 * Creates an AbortController whose signal counts its `abort` listeners.
 *
 * @example
 * ```ts
 * const tracked = trackedAbortController();
 * const done = sleep(1000, { signal: tracked.signal, clock });
 * tracked.abort();
 * await done.catch(() => {});
 * expect(tracked.listeners).toBe(0);
 * ```
 */
export function trackedAbortController(): TrackedAbortController {
  const controller = new AbortController();
  const { signal } = controller;
  const attached = new Map<unknown, boolean>();
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  // Registered first, so it runs first: `once` listeners are about to fire and detach themselves.
  add('abort', () => {
    for (const [listener, once] of attached) if (once) attached.delete(listener);
  });
  signal.addEventListener = ((
    type: string,
    listener: unknown,
    options?: boolean | AddEventListenerOptions,
  ) => {
    if (type === 'abort' && listener != null && !attached.has(listener))
      attached.set(listener, typeof options === 'object' && options.once === true);
    add(type, listener as EventListener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((
    type: string,
    listener: unknown,
    options?: boolean | EventListenerOptions,
  ) => {
    if (type === 'abort') attached.delete(listener);
    remove(type, listener as EventListener, options);
  }) as typeof signal.removeEventListener;
  return {
    controller,
    signal,
    get listeners() {
      return attached.size;
    },
    abort: (reason?: unknown) => controller.abort(reason),
  };
}
