/**
 * `EventSource`: a drop-in for the DOM class on top of fetch, for runtimes without one (Node 20) and for
 * what the DOM class cannot do (headers, POST, custom fetch, backoff, watchdog).
 */
import { type ConnectOptions, parseUrl, type Session, startSession } from './internal/session.js';

/** Options of {@link EventSource}: the DOM's `withCredentials` plus the options of `connect()`. */
export interface EventSourceInit extends Omit<ConnectOptions, 'credentials' | 'signal'> {
  /** Send cookies and credentials cross-origin (fetch credentials `'include'`). @default false */
  readonly withCredentials?: boolean | undefined;
}

/**
 * Puts CONNECTING, OPEN and CLOSED on the class and its prototype as the DOM does: constants of the
 * interface (read-only, enumerable, not configurable), not own properties of each instance. Also makes
 * the prototype what WebIDL makes it (WPT interfaces.html): attributes and operations enumerable, and the
 * class string `[object EventSource]` rather than the inherited `[object EventTarget]`.
 */
const constants = (target: { prototype: object }): void => {
  for (const on of [target, target.prototype])
    Object.defineProperties(on, {
      CONNECTING: { value: 0, enumerable: true },
      OPEN: { value: 1, enumerable: true },
      CLOSED: { value: 2, enumerable: true },
    });
  const enumerable = { enumerable: true };
  Object.defineProperties(target.prototype, {
    url: enumerable,
    withCredentials: enumerable,
    readyState: enumerable,
    onopen: enumerable,
    onmessage: enumerable,
    onerror: enumerable,
    close: enumerable,
    [Symbol.toStringTag]: { value: 'EventSource', configurable: true },
  });
};

/**
 * A handler attribute as read: its `this` typed by what lib.dom's EventSource has too (no `lastEventId`, `readyState` a
 * number). Read as a handler whose `this` is this class (private fields, `lastEventId`), a function-typed property
 * compared contravariantly, it made neither the class nor an instance usable where lib.dom's `EventSource` (or
 * `typeof EventSource`) is expected. A handler is written with `this` typed as this class ({@link HandlerInit}), which
 * also takes one written for lib.dom's.
 */
type Handler<E extends Event = Event> = ((this: HandlerThis, event: E) => unknown) | null;
type HandlerThis = Omit<EventSource, 'lastEventId' | 'readyState'> & { readonly readyState: number };
/** A handler attribute as written: `this` is the source. */
type HandlerInit<E extends Event = Event> = ((this: EventSource, event: E) => unknown) | null;
// Named from EventTarget, as lib.dom and @types/node both have it: a Node project without the DOM lib has no
// AddEventListenerOptions or EventListenerOrEventListenerObject.
type ListenerOptions = Parameters<EventTarget['addEventListener']>[2];
type RemoveOptions = Parameters<EventTarget['removeEventListener']>[2];
type AnyListener = Parameters<EventTarget['addEventListener']>[1];

/**
 * The DOM's typed listeners, as lib.dom gives its own `EventSource`: `open` and `error` listeners get an
 * `Event`, any other type (`message`, a named event) a `MessageEvent`, so `event.data` needs no cast.
 * Types only: declaration merging adds no code.
 */
export interface EventSource {
  addEventListener(
    type: 'open' | 'error',
    listener: (this: EventSource, event: Event) => unknown,
    options?: ListenerOptions,
  ): void;
  addEventListener(
    type: string,
    listener: (this: EventSource, event: MessageEvent) => unknown,
    options?: ListenerOptions,
  ): void;
  addEventListener(type: string, listener: AnyListener, options?: ListenerOptions): void;
  removeEventListener(
    type: 'open' | 'error',
    listener: (this: EventSource, event: Event) => unknown,
    options?: RemoveOptions,
  ): void;
  removeEventListener(
    type: string,
    listener: (this: EventSource, event: MessageEvent) => unknown,
    options?: RemoveOptions,
  ): void;
  removeEventListener(type: string, listener: AnyListener, options?: RemoveOptions): void;
}

/**
 * The WHATWG `EventSource` interface over fetch: `readyState` (`CONNECTING`, `OPEN`, `CLOSED`), `url`,
 * `withCredentials`, `onopen`/`onmessage`/`onerror`, `addEventListener` for named events (MessageEvents
 * with `data`, `lastEventId`, `origin`), and `close()`. It also exposes `lastEventId`. An `error` event
 * fires before each reconnection (readyState `CONNECTING`) and when the connection fails for good
 * (readyState `CLOSED`: status other than 200, a wrong Content-Type, or a URL fetch cannot get such as `ftp:`).
 *
 * @throws {DOMException} `SyntaxError` when `url`, stringified as the DOM class does, cannot be parsed (a
 *   relative URL resolves against `document.baseURI`, or `location.href` in a worker, so in Node it cannot)
 * @throws {InvalidArgumentError} when an option has the wrong type or range
 * @example
 * ```ts
 * const source = new EventSource('https://api.example.com/live', { withCredentials: true });
 * source.addEventListener('update', (event) => render(JSON.parse(event.data)));
 * source.onerror = () => { if (source.readyState === EventSource.CLOSED) showOffline(); };
 * ```
 */
// biome-ignore lint/suspicious/noUnsafeDeclarationMerging: the interface above only types EventTarget's own methods
export class EventSource extends EventTarget {
  declare static readonly CONNECTING: 0;
  declare static readonly OPEN: 1;
  declare static readonly CLOSED: 2;
  declare readonly CONNECTING: 0;
  declare readonly OPEN: 1;
  declare readonly CLOSED: 2;
  // A static field, not a `static {}` block or a statement after the class: bundlers drop a pure call
  // there when EventSource is not imported, so a parser-only bundle stays without it.
  // biome-ignore lint/correctness/noUnusedPrivateClassMembers: it exists for its initializer alone
  static #constants = /* @__PURE__ */ constants(this);
  // Private, behind getters on the prototype: the DOM's attributes are accessors, not own keys of an instance.
  #url: string;
  #withCredentials: boolean;
  #readyState: 0 | 1 | 2 = 0;
  #session: Session;
  // Event handler attributes (onopen, onmessage, onerror), as the DOM keeps them: the listener is added when
  // a handler is first set (so it runs after listeners added before), stays in place when the handler is
  // replaced, and is removed when it is set to null. One listener serves the three types.
  #handlers: { open?: Handler; message?: Handler<MessageEvent>; error?: Handler } = {};
  // A handler that returns false cancels the event (HTML, "the event handler processing algorithm"). One that is
  // not a function (any object is kept) is skipped: WebIDL invokes a callback that is not callable as returning
  // undefined, with no error, where a TypeError here would be an uncaught exception in Node.
  #handle = (event: Event): void => {
    const handler = this.#handlers[event.type as 'open'];
    if (typeof handler === 'function' && handler.call(this, event) === false) event.preventDefault();
  };
  // workerd's EventTarget calls a target's on<type> property itself as dispatch begins (before the listeners, `this`
  // not the target, a false return ignored), so there each handler ran twice. The type being dispatched reads as
  // no handler until the first listener of its type, added in the constructor before any other, runs.
  #hidden?: string | undefined;

  constructor(url: string | URL, init: EventSourceInit = {}) {
    super();
    for (const type of ['open', 'message', 'error'])
      this.addEventListener(type, () => {
        this.#hidden = '';
      });
    // The arguments are converted first, as WebIDL does: the URL is required (a TypeError, as the DOM's) and
    // stringified as a USVString (a Symbol throws a TypeError, `1` or `{ toString }` work); init must be an
    // object, null or undefined (null and undefined read as an empty dictionary), and its withCredentials is
    // read before the URL is parsed.
    // biome-ignore lint/complexity/noArguments: a rest parameter would make EventSource.length 0, not the DOM's 1
    if (!arguments.length || (init !== null && Object(init) !== init))
      throw new TypeError('EventSource: expected a URL and an object');
    const href = `${url}`;
    this.#withCredentials = !!init?.withCredentials;
    let parsed = parseUrl(href);
    if (parsed === undefined) throw new DOMException('Invalid URL', 'SyntaxError');
    this.#url = parsed.href;
    // Moves to `state` and fires `type`, unless close() came first (then nothing fires any more).
    const fire = (type: string, state: 0 | 1 | 2, event: Event = new Event(type)): void => {
      if (this.#readyState === 2) return;
      this.#readyState = state;
      this.#hidden = type;
      this.dispatchEvent(event);
    };
    // The events of a chunk, dispatched one at a time by drain(): the DOM dispatches each in a task of its
    // own, so what a listener queues as a microtask (a close() after an await) runs before the next event.
    const queue: MessageEvent[] = [];
    // `wait`: a microtask turn after each (drain); without it all at once, synchronously.
    const flush = async (wait?: boolean): Promise<void> => {
      for (let event = queue.shift(); event; event = queue.shift()) {
        fire(event.type, 1, event);
        if (wait) await 0;
      }
    };
    this.#session = startSession(
      parsed,
      { ...init, credentials: this.#withCredentials ? 'include' : 'same-origin' },
      {
        open: (response) => {
          // Events carry the origin of the stream's final URL, after redirects (a stubbed fetch may give none),
          // and reconnections ask that URL, as the DOM's do: a redirect changes the request's URL list, which
          // the standard fetches again (whatwg/html#503).
          parsed = new URL(response.url, parsed);
          fire('open', 1);
          return parsed.href;
        },
        event: (event) =>
          queue.push(
            new MessageEvent(event.type, {
              data: event.data,
              lastEventId: event.lastEventId,
              origin: (parsed as URL).origin,
            }),
          ),
        // The session reads no more until this settles: one event per microtask turn.
        drain: () => flush(true),
        // Events a failed chunk queued (an event past maxEventSize after them) go before its error.
        reconnecting: () => {
          flush();
          fire('error', 0);
        },
        // A fatal error fires `error` with readyState CLOSED; an abort fires nothing.
        end: (failed) => {
          flush();
          failed ? fire('error', 2) : this.close();
        },
      },
    );
  }

  /** The absolute URL of the stream. */
  get url(): string {
    return this.#url;
  }

  /** Whether credentials are sent cross-origin. */
  get withCredentials(): boolean {
    return this.#withCredentials;
  }

  /** `CONNECTING` (0), `OPEN` (1) or `CLOSED` (2). */
  get readyState(): 0 | 1 | 2 {
    return this.#readyState;
  }

  /**
   * The last event id seen, sent as Last-Event-ID on reconnect (unless it holds a control character or is over 4096
   * bytes of UTF-8: then the latest id that can be). Not in the DOM.
   */
  get lastEventId(): string {
    return this.#session.lastEventId();
  }

  get onopen(): Handler {
    return (this.#hidden !== 'open' && this.#handlers.open) || null;
  }
  set onopen(handler: HandlerInit) {
    this.#on('open', handler);
  }

  get onmessage(): Handler<MessageEvent> {
    return (this.#hidden !== 'message' && this.#handlers.message) || null;
  }
  set onmessage(handler: HandlerInit<MessageEvent>) {
    this.#on('message', handler);
  }

  get onerror(): Handler {
    return (this.#hidden !== 'error' && this.#handlers.error) || null;
  }
  set onerror(handler: HandlerInit) {
    this.#on('error', handler);
  }

  #on(type: 'open' | 'message' | 'error', handler: HandlerInit | HandlerInit<MessageEvent>): void {
    // Any object is kept, as WebIDL's [LegacyTreatNonObjectAsNull] EventHandler keeps it (one that cannot be
    // called is skipped when the event fires, as in the DOM); anything else is null.
    const set = Object(handler) === handler;
    // Adding the same listener again is a no-op, so a replaced handler keeps its place.
    if (set) this.addEventListener(type, this.#handle);
    else this.removeEventListener(type, this.#handle);
    this.#handlers[type as 'open'] = set ? (handler as Handler) : null;
  }

  /** Closes the connection for good: readyState `CLOSED`, no reconnection, no timer left, no more events. */
  close(): void {
    this.#readyState = 2;
    this.#session.close();
  }
}
