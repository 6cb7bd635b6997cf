/**
 * `EventSource`: a drop-in for the DOM class on top of fetch, for runtimes without one (Node 20) and for
 * what the DOM class cannot do (headers, POST, custom fetch, backoff, watchdog).
 */
import type { ConnectOptions } from './internal/session.js';
import { type Session, startSession } from './internal/session.js';
import type { SseEvent } from './parser.js';

/** Options of {@link EventSource}: the DOM's `withCredentials` plus the options of `connect()`. */
export interface EventSourceInit extends Omit<ConnectOptions, 'credentials' | 'signal'> {
  /** Send cookies and credentials cross-origin (fetch credentials `'include'`). @default false */
  readonly withCredentials?: boolean | undefined;
}

type Handler = ((this: EventSource, event: Event) => unknown) | null;
type MessageHandler = ((this: EventSource, event: MessageEvent) => unknown) | null;

/** A MessageEvent where the runtime has one, else an Event carrying the same fields. */
function messageEvent(event: SseEvent, origin: string): MessageEvent {
  if (typeof MessageEvent === 'function')
    return new MessageEvent(event.type, { data: event.data, lastEventId: event.lastEventId, origin });
  return Object.assign(new Event(event.type), {
    data: event.data,
    lastEventId: event.lastEventId,
    origin,
  }) as unknown as MessageEvent;
}

/**
 * The WHATWG `EventSource` interface over fetch: `readyState` (`CONNECTING`, `OPEN`, `CLOSED`), `url`,
 * `withCredentials`, `onopen`/`onmessage`/`onerror`, `addEventListener` for named events (MessageEvents
 * with `data`, `lastEventId`, `origin`), and `close()`. It also exposes `lastEventId`. An `error` event
 * fires before each reconnection (readyState `CONNECTING`) and when the connection fails for good
 * (readyState `CLOSED`: status other than 200 or a wrong Content-Type).
 *
 * @throws {DOMException} `SyntaxError` when `url` cannot be parsed
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
  #handlers = new Map<string, EventListener>();
  #on: { open: Handler; message: MessageHandler; error: Handler } = {
    open: null,
    message: null,
    error: null,
  };

  constructor(url: string | URL, init: EventSourceInit = {}) {
    super();
    let parsed: URL;
    try {
      parsed = new URL(String(url), (globalThis as { location?: { href?: string } }).location?.href);
    } catch {
      throw new DOMException(`Invalid EventSource URL: ${String(url)}`, 'SyntaxError');
    }
    this.url = parsed.href;
    this.withCredentials = init.withCredentials === true;
    const origin = parsed.origin;
    this.#session = startSession(
      this.url,
      { ...init, credentials: this.withCredentials ? 'include' : 'same-origin' },
      {
        open: () => {
          if (this.#readyState === 2) return;
          this.#readyState = 1;
          this.dispatchEvent(new Event('open'));
        },
        event: (event) => {
          if (this.#readyState === 2) return;
          this.dispatchEvent(messageEvent(event, origin));
        },
        reconnecting: () => {
          if (this.#readyState === 2) return;
          this.#readyState = 0;
          this.dispatchEvent(new Event('error'));
        },
        end: (error) => {
          if (this.#readyState === 2) return;
          this.#readyState = 2;
          if (error !== undefined) this.dispatchEvent(new Event('error'));
        },
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
    return this.#on.open;
  }
  set onopen(handler: Handler) {
    this.#setHandler('open', handler);
  }

  get onmessage(): MessageHandler {
    return this.#on.message;
  }
  set onmessage(handler: MessageHandler) {
    this.#setHandler('message', handler);
  }

  get onerror(): Handler {
    return this.#on.error;
  }
  set onerror(handler: Handler) {
    this.#setHandler('error', handler);
  }

  /** Closes the connection for good: readyState `CLOSED`, no reconnection, no timer left, no more events. */
  close(): void {
    this.#readyState = 2;
    this.#session.close();
  }

  // Event handler attributes: one listener per type, registered the first time a handler is set.
  #setHandler(type: 'open' | 'message' | 'error', handler: Handler | MessageHandler): void {
    (this.#on as Record<string, Handler | MessageHandler>)[type] =
      typeof handler === 'function' ? handler : null;
    if (this.#handlers.has(type)) return;
    const listener: EventListener = (event) => {
      const current = this.#on[type];
      if (typeof current === 'function')
        (current as (this: EventSource, event: Event) => unknown).call(this, event);
    };
    this.#handlers.set(type, listener);
    this.addEventListener(type, listener);
  }
}
