/** An AbortController that knows how many abort listeners its signal holds, to prove nothing leaks. */

/** What {@link trackedAbortController} returns. */
export interface TrackedAbortController {
  readonly controller: AbortController;
  readonly signal: AbortSignal;
  /** Abort listeners attached now (`once` listeners count until they fire), plus one while `onabort` is set. */
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
  // Keyed as the signal keys them: the same listener with and without `capture` is two registrations, and a
  // remove with the other capture flag removes nothing. Values say whether the listener is `once`.
  const attached = [new Map<unknown, boolean>(), new Map<unknown, boolean>()] as const;
  const registrations = (options: boolean | EventListenerOptions | undefined): Map<unknown, boolean> =>
    attached[(typeof options === 'boolean' ? options : options?.capture === true) ? 1 : 0];
  // `onabort` is counted by its value, not by what the runtime does with it: Node adds a wrapper through
  // `addEventListener` on the first set and never removes it (setting `null` only empties the wrapper).
  let settingHandler = false;
  const handler = findHandlerProperty(signal);
  if (handler?.get !== undefined && handler.set !== undefined) {
    const { get, set } = handler;
    Object.defineProperty(signal, 'onabort', {
      configurable: true,
      enumerable: true,
      get: () => get.call(signal),
      set: (value: unknown) => {
        settingHandler = true;
        try {
          set.call(signal, value);
        } finally {
          settingHandler = false;
        }
      },
    });
  }
  const add = signal.addEventListener.bind(signal);
  const remove = signal.removeEventListener.bind(signal);
  // Registered first, so it runs first: `once` listeners are about to fire and detach themselves.
  add('abort', () => {
    for (const map of attached) for (const [listener, once] of map) if (once) map.delete(listener);
  });
  signal.addEventListener = ((
    type: string,
    listener: unknown,
    options?: boolean | AddEventListenerOptions,
  ) => {
    const map = registrations(options);
    // A listener whose `signal` option is already aborted is never added (DOM addEventListener step 2).
    const dropped = typeof options === 'object' && options.signal?.aborted === true;
    const once = typeof options === 'object' && options.once === true;
    const counted = type === 'abort' && listener != null && !dropped && !settingHandler && !map.has(listener);
    if (counted) map.set(listener, once);
    add(type, listener as EventListener, options);
    // Added during the abort: Node still calls it (and drops it) if a listener follows, which the clearing
    // listener above cannot see. A companion added right after it runs only if the dispatch reached it.
    if (counted && once && signal.aborted) add('abort', () => map.delete(listener), { once: true });
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((
    type: string,
    listener: unknown,
    options?: boolean | EventListenerOptions,
  ) => {
    if (type === 'abort') registrations(options).delete(listener);
    remove(type, listener as EventListener, options);
  }) as typeof signal.removeEventListener;
  return {
    controller,
    signal,
    get listeners() {
      return attached[0].size + attached[1].size + (signal.onabort != null ? 1 : 0);
    },
    abort: (reason?: unknown) => controller.abort(reason),
  };
}

function findHandlerProperty(signal: AbortSignal): PropertyDescriptor | undefined {
  for (let o: object | null = Object.getPrototypeOf(signal); o !== null; o = Object.getPrototypeOf(o)) {
    const descriptor = Object.getOwnPropertyDescriptor(o, 'onabort');
    if (descriptor !== undefined) return descriptor;
  }
  return undefined;
}
