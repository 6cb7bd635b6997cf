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

type Handler = ((this: EventSource, event: Event) => unknown) | null;
type MessageHandler = ((this: EventSource, event: MessageEvent) => unknown) | null;

/**
 * The WHATWG `EventSource` interface over fetch: `readyState` (`CONNECTING`, `OPEN`, `CLOSED`), `url`,
 * `withCredentials`, `onopen`/`onmessage`/`onerror`, `addEventListener` for named events (MessageEvents
 * with `data`, `lastEventId`, `origin`), and `close()`. It also exposes `lastEventId`. An `error` event
 * fires before each reconnection (readyState `CONNECTING`) and when the connection fails for good
 * (readyState `CLOSED`: status other than 200 or a wrong Content-Type).
 *
 * @throws {DOMException} `SyntaxError` when `url` cannot be parsed (as the DOM class does)
 * @throws {InvalidArgumentError} when `url` is not a string or URL, or an option has the wrong type or range
 * @example
 * ```ts
 * const source = new EventSource('https://api.example.com/live', { withCredentials: true });
 * source.addEventListener('update', (event) => render(JSON.parse(event.data)));
 * source.onerror = () => { if (source.readyState === EventSource.CLOSED) showOffline(); };
 * ```
 */
export class EventSource extends EventTarget {
  static readonly CONNECTING = 0;
  static readonly OPEN = 1;
  static readonly CLOSED = 2;
  readonly CONNECTING: 0 = 0;
  readonly OPEN: 1 = 1;
  readonly CLOSED: 2 = 2;
  /** The absolute URL of the stream. */
  readonly url: string;
  /** Whether credentials are sent cross-origin. */
  readonly withCredentials: boolean;
  #readyState: 0 | 1 | 2 = 0;
  #session: Session;
  // Event handler attributes (onopen, onmessage, onerror): one listener per type calls the current one.
  #onopen: Handler = null;
  #onmessage: MessageHandler = null;
  #onerror: Handler = null;

  constructor(url: string | URL, init: EventSourceInit = {}) {
    super();
    const parsed = parseUrl(url);
    if (parsed === undefined) throw new DOMException('Invalid URL', 'SyntaxError');
    this.url = parsed.href;
    // `?.`: WebIDL reads a null init dictionary as an empty one, as the DOM class does.
    this.withCredentials = init?.withCredentials === true;
    this.addEventListener('open', (event) => this.#onopen?.call(this, event));
    this.addEventListener('message', (event) => this.#onmessage?.call(this, event as MessageEvent));
    this.addEventListener('error', (event) => this.#onerror?.call(this, event));
    // Moves to `state` and fires `type`, unless close() came first (then nothing fires any more).
    const fire = (type: string, state: 0 | 1 | 2, event: Event = new Event(type)): void => {
      if (this.#readyState === 2) return;
      this.#readyState = state;
      this.dispatchEvent(event);
    };
    this.#session = startSession(
      parsed,
      { ...init, credentials: this.withCredentials ? 'include' : 'same-origin' },
      {
        open: () => fire('open', 1),
        event: (event) =>
          fire(
            event.type,
            1,
            new MessageEvent(event.type, {
              data: event.data,
              lastEventId: event.lastEventId,
              origin: parsed.origin,
            }),
          ),
        reconnecting: () => fire('error', 0),
        // A fatal error fires `error` with readyState CLOSED; an abort fires nothing.
        end: (error) => (error === undefined ? this.close() : fire('error', 2)),
      },
    );
  }

  /** `CONNECTING` (0), `OPEN` (1) or `CLOSED` (2). */
  get readyState(): 0 | 1 | 2 {
    return this.#readyState;
  }

  /** The last event id seen (sent as Last-Event-ID on reconnect). Not in the DOM interface. */
  get lastEventId(): string {
    return this.#session.lastEventId;
  }

  get onopen(): Handler {
    return this.#onopen;
  }
  set onopen(handler: Handler) {
    this.#onopen = typeof handler === 'function' ? handler : null;
  }

  get onmessage(): MessageHandler {
    return this.#onmessage;
  }
  set onmessage(handler: MessageHandler) {
    this.#onmessage = typeof handler === 'function' ? handler : null;
  }

  get onerror(): Handler {
    return this.#onerror;
  }
  set onerror(handler: Handler) {
    this.#onerror = typeof handler === 'function' ? handler : null;
  }

  /** Closes the connection for good: readyState `CLOSED`, no reconnection, no timer left, no more events. */
  close(): void {
    this.#readyState = 2;
    this.#session.close();
  }
}
