/**
 * `sseStream`: an msw resolver that serves Server-Sent Events as a streamed `text/event-stream` body.
 * It needs no global EventSource, so it works on Node 20 without experimental flags, with fetch-based
 * clients (msw's own `sse()` does not).
 */
import { InvalidArgumentError } from '@integ/core';
import { HttpResponse } from 'msw';
import { turn } from './internal/turn.js';
import type { ScenarioResolver } from './scenarios.js';

/** One event to send: a string is a `data`-only event. */
export type SseEventInit =
  | string
  | {
      readonly data?: string;
      readonly event?: string;
      readonly id?: string;
      readonly retry?: number;
      /** A comment line (`: text`), sent on its own when no other field is given. */
      readonly comment?: string;
    };

/** Options of {@link sseStream}. */
export interface SseStreamOptions {
  /**
   * End each connection after this many events. The client sees a normal end of stream (or a network
   * error with `disconnectWith: 'error'`) and is expected to reconnect.
   * @default undefined (every connection stays open after the last event, until the client goes away)
   */
  readonly disconnectAfter?: number;
  /** How a disconnect looks to the client. @default 'close' */
  readonly disconnectWith?: 'close' | 'error';
  /**
   * Start a reconnecting client after the event whose id it sends in `Last-Event-ID`. @default true
   */
  readonly resume?: boolean;
  /** Status of the response (non-200 lets tests check that clients stop). @default 200 */
  readonly status?: number;
  /**
   * Extra or replacing headers (`content-type` too, to test a wrong type).
   * @default none (`content-type: text/event-stream` and `cache-control: no-cache` only)
   */
  readonly headers?: Record<string, string>;
}

/**
 * Encodes one event in the text/event-stream format. `data` and `comment` are split on CR, LF and CRLF into
 * lines (a parser joins data lines back with LF, so a CR comes back as LF).
 *
 * @throws {InvalidArgumentError} when `event` contains CR or LF, `id` contains CR, LF or NULL, or `retry` is
 *   not an integer >= 0: a client would read another field, ignore the id, or ignore the retry
 * @example
 * ```ts
 * encodeSseEvent({ id: '7', event: 'price', data: '{"usd":1}' }); // 'event: price\nid: 7\ndata: {"usd":1}\n\n'
 * encodeSseEvent('line 1\nline 2'); // 'data: line 1\ndata: line 2\n\n'
 * ```
 */
export function encodeSseEvent(event: SseEventInit): string {
  if (typeof event === 'string') event = { data: event };
  let out = '';
  if (event.comment !== undefined) for (const line of event.comment.split(/\r\n|\r|\n/)) out += `: ${line}\n`;
  if (event.event !== undefined) {
    if (/[\r\n]/.test(event.event))
      throw new InvalidArgumentError('event', 'a string without CR or LF', event.event);
    out += `event: ${event.event}\n`;
  }
  if (event.id !== undefined) {
    // WHATWG: a parser ignores an id field whose value contains NULL.
    if (/[\r\n\0]/.test(event.id))
      throw new InvalidArgumentError('id', 'a string without CR, LF or NULL', event.id);
    out += `id: ${event.id}\n`;
  }
  if (event.retry !== undefined) {
    if (!Number.isSafeInteger(event.retry) || event.retry < 0)
      throw new InvalidArgumentError('retry', 'an integer number of ms >= 0', event.retry);
    out += `retry: ${event.retry}\n`;
  }
  if (event.data !== undefined) for (const line of event.data.split(/\r\n|\r|\n/)) out += `data: ${line}\n`;
  return `${out}\n`;
}

/**
 * Serves `events` as an SSE stream.
 *
 * @throws {InvalidArgumentError} when an event cannot be encoded (see {@link encodeSseEvent}), `disconnectAfter` is
 *   not a whole number >= 0, `disconnectWith` neither `'close'` nor `'error'`, `status` not from 200 to 599, or
 *   `headers` holds a header fetch cannot send
 *
 * @example
 * ```ts
 * server.use(http.get('https://api.example.com/live', sseStream([{ id: '1', data: 'a' }, { id: '2', data: 'b' }], { disconnectAfter: 1 })));
 * ```
 */
export function sseStream(events: readonly SseEventInit[], options: SseStreamOptions = {}): ScenarioResolver {
  const { disconnectAfter, disconnectWith = 'close', resume = true, status = 200 } = options;
  // A disconnectAfter of NaN sent no event on any connection (slice(0, NaN)), so a client reconnected for ever.
  if (disconnectAfter !== undefined && !(Number.isSafeInteger(disconnectAfter) && disconnectAfter >= 0))
    throw new InvalidArgumentError(
      'sseStream({ disconnectAfter })',
      'a whole number of events >= 0',
      disconnectAfter,
    );
  if (disconnectWith !== 'close' && disconnectWith !== 'error')
    throw new InvalidArgumentError('sseStream({ disconnectWith })', "'close' or 'error'", disconnectWith);
  if (!(Number.isInteger(status) && status >= 200 && status <= 599))
    throw new InvalidArgumentError('sseStream({ status })', 'an HTTP status from 200 to 599', status);
  // Checked up front: an event that cannot be sent throws here, not inside a stream the client reads. Each
  // connection still encodes from `events` as it is then, as before.
  for (const event of events) encodeSseEvent(event);
  // A header fetch cannot carry (a name with a space, a value with CR or LF) failed each request with msw's 500.
  try {
    new Headers(options.headers);
  } catch {
    throw new InvalidArgumentError(
      'sseStream({ headers })',
      'header names and values fetch can send',
      options.headers,
    );
  }
  let calls = 0;
  const resolver = async ({ request }: { request: Request }): Promise<Response> => {
    calls++;
    let start = 0;
    const lastId = request.headers.get('last-event-id');
    // An id not found is -1: the stream starts from the first event then too.
    if (resume && lastId !== null)
      start = events.findIndex((e) => typeof e !== 'string' && e.id === lastId) + 1;
    // Set one by one: header names are case-insensitive, so a spread would add 'Content-Type' next to
    // 'content-type' and the response would carry both values joined ('text/event-stream, text/html').
    const headers = new Headers({ 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const [name, value] of Object.entries(options.headers ?? {})) headers.set(name, value);
    // RFC 9110 9.3.2: HEAD gets the headers alone; a stream here would stay open (msw passes mocked bodies on).
    if (request.method === 'HEAD') return new HttpResponse(null, { status, headers });
    const slice = events.slice(start, disconnectAfter === undefined ? undefined : start + disconnectAfter);
    const cut = disconnectAfter !== undefined;
    const encoder = new TextEncoder();
    const { signal } = request;
    let resetting = false;
    let onAbort = (): void => {};
    const body = new ReadableStream<Uint8Array>({
      start(controller) {
        for (const event of slice) controller.enqueue(encoder.encode(encodeSseEvent(event)));
        // With no disconnect configured the stream stays open after the last event, like a live server,
        // until the client goes away.
        if (!cut) {
          onAbort = (): void => {
            try {
              controller.error(signal.reason);
            } catch {
              // already closed by the reader
            }
          };
          if (signal.aborted) onAbort();
          else signal.addEventListener('abort', onAbort, { once: true });
          return;
        }
        if (disconnectWith === 'close') controller.close();
      },
      // The client went away without aborting: the listener would hold this stream until the signal aborts.
      cancel() {
        signal.removeEventListener('abort', onAbort);
      },
      // error() drops every chunk still queued on the way (msw tees the body), so the events sent before a
      // dropped connection would never arrive. Fail once this queue is empty (pull runs then) and one macrotask
      // later, by which time a client that keeps reading has taken what was sent. The turn is a real one: the
      // server's reset must not wait for the test to move vi's or Jest's fake timers (internal/turn.ts).
      pull(controller) {
        if (!cut || disconnectWith !== 'error' || resetting) return;
        resetting = true;
        const reset = (): void => {
          try {
            controller.error(new TypeError('connection reset'));
          } catch {
            // the client cancelled the body first
          }
        };
        turn().then(reset, reset);
      },
    });
    return new HttpResponse(body, { status, headers });
  };
  Object.defineProperty(resolver, 'calls', { get: () => calls });
  return resolver as ScenarioResolver;
}
