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
  // remove with the other capture flag removes nothing. Values: a `once` listener's companion (below), else false.
  type Registrations = Map<unknown, (() => unknown) | false>;
  const attached = [new Map(), new Map()] as readonly [Registrations, Registrations];
  const registrations = (options: boolean | EventListenerOptions | undefined): Registrations =>
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
    // A `once` listener gets a companion right before it, which forgets it: the dispatch reaches the companion
    // exactly when it reaches the listener (then called next, and dropped). So one added during the abort counts
    // until Node calls it, and one a listener before it kept from being called (stopImmediatePropagation) stays
    // counted. Added after it, the companion made Node call a listener added by the last one (a plain signal
    // does not), and did not run when the listener stopped the dispatch.
    const companion = counted && once && (() => map.delete(listener));
    if (counted) map.set(listener, companion);
    if (companion) add('abort', companion, { once: true });
    add(type, listener as EventListener, options);
  }) as typeof signal.addEventListener;
  signal.removeEventListener = ((
    type: string,
    listener: unknown,
    options?: boolean | EventListenerOptions,
  ) => {
    if (type === 'abort') {
      const map = registrations(options);
      const companion = map.get(listener);
      if (companion) remove('abort', companion);
      map.delete(listener);
    }
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
