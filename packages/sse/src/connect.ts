/**
 * `connect()`: the event stream as an async iterable that reconnects by itself, built on fetch so it
 * takes headers (also refreshed per reconnect), POST bodies, credentials and an AbortSignal.
 */
import { abortReason } from '@integ/core';
import { fail } from './internal/check.js';
import { type ConnectOptions, parseUrl, startSession } from './internal/session.js';
import type { SseEvent } from './parser.js';

/** An open event stream: iterate it for events, `close()` it when done. */
export interface SseConnection extends AsyncIterable<SseEvent> {
  /** Closes the connection for good: no reconnection, no timer left, the body reader cancelled. */
  close(): void;
  /**
   * The last event id seen so far, sent as Last-Event-ID on reconnect (unless it holds a control character or is over
   * 4096 bytes of UTF-8: then the latest id that can be).
   */
  readonly lastEventId: string;
}

/** Events buffered for a slow consumer before the client stops reading the socket. */
const HIGH_WATER_MARK = 1024;
/**
 * Characters of event data buffered for a slow consumer before the client stops reading: with large events,
 * 1024 of them could hold gigabytes (maxEventSize is 16 MiB).
 */
const HIGH_WATER_CHARS = 1_048_576;

/**
 * Connects to an event stream. The connection starts at once (its request a microtask later) and
 * reconnects after a normal end, a network error or a silent connection (`idleTimeout`), sending
 * `Last-Event-ID` to the URL given (also after a redirect); a status other than 200 or a Content-Type other
 * than text/event-stream ends it with an {@link SseHttpError}, thrown by the iteration. Ending the iteration
 * (`break`) closes the connection. Aborting `signal` makes the iteration throw the signal's reason (an AbortError
 * for a polyfill's signal without one);
 * `close()` ends it quietly.
 *
 * @throws {InvalidArgumentError} at once, for a URL it cannot parse or an option of the wrong type or range;
 *   from the iteration, for a URL that is not http(s) and that fetch cannot get (`ftp:`, `file:`, `about:`)
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
  // Characters of data in the queue.
  let chars = 0;
  const full = (): boolean => queue.length >= HIGH_WATER_MARK || chars >= HIGH_WATER_CHARS;
  // Set when the session is over: a failure's `error` is thrown once the queue is empty.
  let ended: { failed: boolean; error: unknown } | undefined;
  let closed = false;
  // The consumer waits when the queue is empty, the session when it is full: never both, so one slot.
  let waiting: (() => void) | undefined;
  const wake = (): void => {
    waiting?.();
    waiting = undefined;
  };
  const wait = (): Promise<void> =>
    new Promise<void>((resolve) => {
      waiting = resolve;
    });

  // The message shows no string (core's InvalidArgumentError): a URL may carry user:password or a token.
  const target = parseUrl(url) ?? fail('url', 'an absolute URL', url);
  const session = startSession(target, options, {
    event(event) {
      queue.push(event);
      chars += event.data.length;
      wake();
    },
    end(failed, error) {
      ended = { failed, error };
      wake();
    },
    drain: () => (full() && !ended ? wait() : undefined),
  });

  const close = (): void => {
    closed = true;
    queue.length = chars = 0;
    session.close();
    wake();
  };

  // No try/finally here: the iteration ends on its own only once the session is over (closed, aborted, failed),
  // and every other way out (`break`, `return`, a throw out of `for await`) goes through return() or throw() below.
  async function* events(): AsyncGenerator<SseEvent, void, undefined> {
    for (;;) {
      // Checked before the queue: a chunk read just before close() or the abort may still have been parsed
      // into it. Aborting stops at once: buffered events are dropped and the iteration throws the reason.
      if (closed) return;
      // An AbortError for a signal without `reason` (an AbortController polyfill's): `undefined` was thrown.
      if (options.signal?.aborted) throw abortReason(options.signal);
      const event = queue.shift();
      if (event !== undefined) {
        chars -= event.data.length;
        // The session waits in drain() while the queue is full: wake it only once there is room again,
        // or it would read (and buffer) another chunk per event taken, and its idle time would count.
        if (!full()) wake();
        yield event;
      } else if (ended) {
        if (ended.failed) throw ended.error;
        return;
      } else await wait();
    }
  }

  const iterator = events();
  // return() and throw() close first: before the first next() they end a generator without running its body (so
  // a finally there would not close; Readable.from() returns an iterator it never read), and a next() waiting for
  // an event would hold the generator's own return() back until the next event.
  const { return: end, throw: raise } = iterator;
  iterator.return = (value) => {
    close();
    return end.call(iterator, value);
  };
  iterator.throw = (error) => {
    close();
    return raise.call(iterator, error);
  };
  return {
    close,
    get lastEventId() {
      return session.lastEventId();
    },
    [Symbol.asyncIterator]: () => iterator,
  };
}
