/**
 * `connect()`: the event stream as an async iterable that reconnects by itself, built on fetch so it
 * takes headers (also refreshed per reconnect), POST bodies, credentials and an AbortSignal.
 */
import { type ConnectOptions, startSession } from './internal/session.js';
import type { SseEvent } from './parser.js';

/** An open event stream: iterate it for events, `close()` it when done. */
export interface SseConnection extends AsyncIterable<SseEvent> {
  /** Closes the connection for good: no reconnection, no timer left, the body reader cancelled. */
  close(): void;
  /** The last event id seen so far (sent as Last-Event-ID on reconnect). */
  readonly lastEventId: string;
}

/** Events buffered for a slow consumer before the client stops reading the socket. */
const HIGH_WATER_MARK = 1024;

/**
 * Connects to an event stream. The connection starts at once and reconnects after a normal end, a
 * network error or a silent connection (`idleTimeout`), sending `Last-Event-ID`; a status other than 200
 * or a Content-Type other than text/event-stream ends it with an {@link SseHttpError}, thrown by the
 * iteration. Ending the iteration (`break`) closes the connection. Aborting `signal` makes the iteration
 * throw the signal's reason; `close()` ends it quietly.
 *
 * @throws {SseHttpError} from the iteration, on a response the standard says to fail on
 * @example
 * ```ts
 * const stream = connect('https://api.example.com/live', { headers: async () => ({ authorization: await token() }) });
 * for await (const event of stream) {
 *   if (event.type === 'update') render(JSON.parse(event.data));
 * }
 * ```
 */
export function connect(url: string | URL, options: ConnectOptions = {}): SseConnection {
  const queue: SseEvent[] = [];
  let head = 0;
  let ended = false;
  let failure: { error: unknown } | undefined;
  let wake: (() => void) | undefined;
  let drained: (() => void) | undefined;

  const notify = (): void => {
    const resolve = wake;
    wake = undefined;
    resolve?.();
  };
  const release = (): void => {
    const resolve = drained;
    drained = undefined;
    resolve?.();
  };

  const session = startSession(String(url), options, {
    open() {},
    event(event) {
      queue.push(event);
      notify();
    },
    reconnecting() {},
    end(error, aborted) {
      ended = true;
      if (error !== undefined) failure = { error };
      else if (aborted && options.signal !== undefined) {
        // Aborting stops at once: buffered events are dropped and the iteration throws the reason.
        failure = { error: options.signal.reason };
        queue.length = 0;
        head = 0;
      }
      release();
      notify();
    },
    drain() {
      if (queue.length - head < HIGH_WATER_MARK || ended) return undefined;
      return new Promise<void>((resolve) => {
        drained = resolve;
      });
    },
  });

  let closed = false;
  const close = (): void => {
    if (closed) return;
    closed = true;
    queue.length = 0;
    head = 0;
    session.close();
    release();
    notify();
  };

  const next = async (): Promise<IteratorResult<SseEvent>> => {
    for (;;) {
      if (closed) return { done: true, value: undefined };
      if (head < queue.length) {
        const value = queue[head++] as SseEvent;
        if (head === queue.length) {
          queue.length = 0;
          head = 0;
        }
        if (drained !== undefined && queue.length - head < HIGH_WATER_MARK / 2) release();
        return { done: false, value };
      }
      if (ended) {
        closed = true;
        if (failure !== undefined) throw failure.error;
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => {
        wake = resolve;
      });
    }
  };

  const iterator: AsyncIterator<SseEvent> = {
    next,
    return(): Promise<IteratorResult<SseEvent>> {
      close();
      return Promise.resolve({ done: true, value: undefined });
    },
  };

  return {
    close,
    get lastEventId() {
      return session.lastEventId;
    },
    [Symbol.asyncIterator]: () => iterator,
  };
}
