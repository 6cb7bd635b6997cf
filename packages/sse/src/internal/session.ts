/**
 * The reconnecting connection loop shared by `connect()` and `EventSource`: fetch, check the response as
 * the standard says, parse the body, and reconnect with Last-Event-ID after a normal end, a network error
 * or a silent connection, waiting the server's `retry:` plus an exponential backoff with jitter.
 */
import { type Clock, discard, isIntegError, systemClock, TimeoutError, type TimerHandle } from '@integ/core';
import { type Backoff, exponential } from '@integ/retry';
import { SseConnectionError, SseHttpError } from '../errors.js';
import type { SseEvent } from '../parser.js';
import { createParser } from '../parser.js';
import { checkNumber, fail } from './check.js';

// lib.dom's HeadersInit and RequestCredentials, named from what a Node project without the DOM lib (@types/node only)
// has too: there the public types referred to names that do not exist (errors with skipLibCheck off, `any` with it on).
/** What `new Headers(init)` takes: a `Headers`, an object of name -> value, or `[name, value]` pairs. */
type HeadersInput = NonNullable<ConstructorParameters<typeof Headers>[0]>;
type Credentials = NonNullable<RequestInit['credentials']>;

/** What the hooks get when the client is about to reconnect. */
export interface ReconnectInfo {
  /** 1-based count of reconnections since the last connection that delivered an event. */
  readonly attempt: number;
  /** How long the client waits before reconnecting, in ms. */
  readonly delay: number;
  /** Why the connection ended: `undefined` after a normal end of stream. */
  readonly error: unknown;
  /** The Last-Event-ID the next request sends (`''`: none, or your own `Last-Event-ID` header while the stream set no id). */
  readonly lastEventId: string;
}

/** Options of `connect()` (and, but for `credentials` and `signal`, of `EventSource`). */
export interface ConnectOptions {
  /**
   * The fetch to use (tests, custom agents, proxies). Called as `fetch(url, init)` with the URL as a string, so a
   * wrapper typed `(url: string, init: RequestInit)` is taken, as is `typeof fetch`. @default globalThis.fetch
   */
  readonly fetch?: ((input: string, init: RequestInit) => Promise<Response>) | undefined;
  /**
   * Request headers, or a function (may be async) called before every connection attempt, so a refreshed
   * token is used on reconnect. `Accept` and `Last-Event-ID` are set by the client: a `Last-Event-ID` of your own
   * goes as given until the stream sends an `id:`, which replaces it (an empty `id:` removes it). A function that throws
   * fails that attempt (an `SseConnectionError`, its error the cause) and the client reconnects; headers
   * that fetch refuses (a bad name, a value with a control character) end the stream with an `InvalidArgumentError`.
   */
  readonly headers?: HeadersInput | (() => HeadersInput | Promise<HeadersInput>) | undefined;
  /** HTTP method. @default 'GET' */
  readonly method?: string | undefined;
  /**
   * Request body (for POST: not with GET or HEAD), sent again on every reconnect: use a string, Blob,
   * FormData or URLSearchParams.
   */
  readonly body?: string | Blob | FormData | URLSearchParams | ArrayBuffer | null | undefined;
  /** fetch credentials mode. @default 'same-origin' */
  readonly credentials?: Credentials | undefined;
  /** Aborting closes the connection for good and frees every timer. */
  readonly signal?: AbortSignal | undefined;
  /**
   * The Last-Event-ID to send on the first request (resuming a stream): no control character but tab, at most 4096
   * bytes of UTF-8 (what the client sends at most, decision 0146). @default ''
   */
  readonly lastEventId?: string | undefined;
  /**
   * Delay before each reconnection, from @integ/retry, added to the server's `retry:` (its floor) after
   * scaling it into the room left below `maxDelay`: the wait is `retry + backoff * (maxDelay - retry) /
   * maxDelay` (the backoff taken at most `maxDelay`), jittered even when the server sets `retry:`, and
   * `maxDelay` when `retry:` reaches it. Without `retry:` it is the backoff itself. Its `previousDelay` is
   * its own previous result (capped at `maxDelay`), 0 once a connection delivered an event.
   * @default exponential({ initial: 1000, factor: 2, max: Math.min(maxDelay, 30000), jitter: 'equal' })
   */
  readonly backoff?: Backoff | undefined;
  /**
   * Cap on the reconnection delay (the server's `retry:` plus the backoff), in ms from 0 to 2^31-1. A
   * backoff that returns NaN or a negative number waits this long. @default 30000
   */
  readonly maxDelay?: number | undefined;
  /**
   * Liveness watchdog: reconnect when nothing (not even a comment) arrived for this many ms, counted from
   * the attempt's start, which catches half-open TCP connections, servers that never answer and a `headers`
   * function that never settles. Pair it with server heartbeats. `0` turns it off; at most 2^31-1.
   * @default 0
   */
  readonly idleTimeout?: number | undefined;
  /** Most characters buffered for one event before the connection is dropped (>= 1). @default 16777216 */
  readonly maxEventSize?: number | undefined;
  /** Where time comes from (reconnect delays, watchdog). @default systemClock */
  readonly clock?: Clock | undefined;
  /** Uniform random in [0, 1) for the jitter. @default Math.random */
  readonly random?: (() => number) | undefined;
  /** Called when a connection opens (status 200, text/event-stream). */
  readonly onOpen?: ((info: { readonly response: Response }) => void) | undefined;
  /** Called before each reconnection wait. */
  readonly onReconnect?: ((info: ReconnectInfo) => void) | undefined;
  /** Called with every failure: network errors, watchdog timeouts, and the final {@link SseHttpError}. */
  readonly onError?: ((error: unknown) => void) | undefined;
}

/** What a session reports to its owner. */
export interface SessionSink {
  /** The connection opened. Returns the URL to reconnect to, or undefined to keep asking the one given. */
  open?(response: Response): string | undefined;
  event(event: SseEvent): void;
  /** The connection dropped; a reconnection follows after `info.delay`. */
  reconnecting?(info: ReconnectInfo): void;
  /**
   * The session is over: `failed` after a fatal error (`error`, which may be any value a hook threw, `undefined`
   * included), not after close()/abort.
   */
  end(failed: boolean, error?: unknown): void;
  /** Resolves when the consumer has room for more events (backpressure). */
  drain?(): Promise<void> | undefined;
}

/** A running session. */
export interface Session {
  lastEventId(): string;
  close(): void;
}

/** Whether a Content-Type is text/event-stream (parameters such as charset are ignored: it is always UTF-8). */
export function isEventStream(contentType: string | null): boolean {
  // Around the type only HTTP whitespace, not \s (\v, \f, NBSP): WHATWG mimesniff, "parse a MIME type".
  return contentType !== null && /^[\t\n\r ]*text\/event-stream[\t\n\r ]*(;|$)/i.test(contentType);
}

/** What a browser window (document and location) or a worker (location only) has. */
type Scope = { document?: { baseURI: string }; location?: { href: string } };

/**
 * `url` resolved against the page (in a browser), or undefined when it cannot be parsed.
 *
 * @throws {InvalidArgumentError} when `url` is neither a string nor a URL
 */
export function parseUrl(url: unknown): URL | undefined {
  if (typeof url !== 'string' && !(url instanceof URL)) fail('url', 'a URL string or a URL', url);
  // HTML parses it relative to the settings object's API base URL: in a window the document's base URL
  // (document.baseURI, which honours <base href>), in a worker (no document) the worker's URL.
  try {
    return new URL(url, (globalThis as Scope).document?.baseURI ?? (globalThis as Scope).location?.href);
  } catch {
    return undefined;
  }
}

// A control character other than tab: invalid in a header value (RFC 9110 5.5), and Node's fetch (undici)
// refuses a request carrying one, on every attempt, as "fetch failed" (browsers send it).
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching them is its purpose
const CTL = /[\0-\x08\n-\x1f\x7f]/;

/**
 * Whether `id` cannot go out as Last-Event-ID: it holds a control character, or its UTF-8 is over 4096 bytes.
 * Servers cap request headers (Node 16 KiB in all, nginx and Apache 8 KiB a line, Tomcat and Jetty 8 KiB in
 * all) and answer 431 or 400, which the standard makes fatal: a long id from user content would end every
 * client for good (decision 0146). 1365 characters or fewer are at most 4095 bytes: no encoding per event.
 */
const unsendable = (id: string): boolean =>
  CTL.test(id) || (id.length > 1365 && new TextEncoder().encode(id).length > 4096);

// An HTTP token (RFC 9110 5.6.2); fetch refuses CONNECT, TRACE and TRACK.
const METHOD = /^(?!(connect|trac[ek])$)[\w!#$%&'*+.^`|~-]+$/i;

/**
 * Starts the connection loop at once.
 *
 * @throws {InvalidArgumentError} for an option of the wrong type or out of range: caught here, not as a
 *   fetch TypeError that would be retried forever
 */
export function startSession(target: URL, options: ConnectOptions, sink: SessionSink): Session {
  if (typeof options !== 'object' || options === null) fail('options', 'an object', options);
  const maxDelay = checkNumber('maxDelay', options.maxDelay, 30_000);
  const {
    fetch: fetchFn = globalThis.fetch,
    clock = systemClock,
    random = Math.random,
    // Capped at maxDelay too: grown past it, every late wait would be cut to exactly maxDelay, and a fleet
    // would come back in lockstep after a server restart.
    backoff = exponential({ initial: 1000, factor: 2, max: Math.min(maxDelay, 30_000), jitter: 'equal' }),
    method = 'GET',
    body = null,
    credentials = 'same-origin',
    headers,
    signal,
    onError,
    onReconnect,
    onOpen,
  } = options;
  const idleTimeout = checkNumber('idleTimeout', options.idleTimeout, 0, 'ms from 0 (off) to 2^31-1');
  for (const [name, value] of Object.entries({
    fetch: fetchFn,
    backoff,
    random,
    onOpen,
    onReconnect,
    onError,
  }))
    if (typeof value !== 'function' && (value !== undefined || name === 'fetch'))
      fail(name, 'a function', value);
  // Headers fetch refuses (a bad name, a value with a control character or above U+00FF, a primitive) would
  // make every attempt throw a TypeError that looks like a network error, retried forever, and that TypeError's
  // message quotes the value (a token): refused as InvalidArgumentError without it. Static headers are tried here.
  const toHeaders = (value: unknown): Headers => {
    try {
      const init = new Headers(value as HeadersInput);
      // One test of all names and values: names are tokens, and Headers refuses CR, LF and NULL in values.
      if (!CTL.test(`${[...init]}`)) return init;
    } catch {}
    return fail('headers', 'a HeadersInit or a function returning one', value);
  };
  if (typeof headers !== 'function') toHeaders(headers);
  if (typeof method !== 'string' || !METHOD.test(method))
    fail('method', "an HTTP method such as 'GET' or 'POST'", method);
  // GET and HEAD take no body (fetch refuses one, and the client would take its TypeError for a network error), and
  // keep their method through a redirect (fetch follows a 301 or 302 of a POST, a 303 of any other, with a GET).
  const safe = /^(get|head)$/i.test(method);
  if (body !== null && safe) fail('body', "none with GET or HEAD: set method: 'POST'", body);
  // A stream is used up by the first request: every reconnect would fail the same way. Node's fetch also takes an
  // async iterable (a Node stream, a generator), only with duplex: 'half' and then once: without it every attempt
  // fails with a TypeError the loop would retry for ever. (Safari's ReadableStream is not async iterable.)
  if (body instanceof ReadableStream || (body as AsyncIterable<unknown> | null)?.[Symbol.asyncIterator])
    fail('body', 'no stream (sent again on reconnect)', body);
  if (credentials !== 'same-origin' && credentials !== 'include' && credentials !== 'omit')
    fail('credentials', "'omit', 'same-origin' or 'include'", credentials);
  // All three: without clearTimeout, close() threw from its abort listener (uncaught); without now, a bare TypeError.
  if (
    typeof clock?.now !== 'function' ||
    typeof clock.setTimeout !== 'function' ||
    typeof clock.clearTimeout !== 'function'
  )
    fail('clock', 'a Clock: { now, setTimeout, clearTimeout }', clock);
  if (signal !== undefined && typeof signal?.aborted !== 'boolean') fail('signal', 'an AbortSignal', signal);
  if (
    options.lastEventId !== undefined &&
    (typeof options.lastEventId !== 'string' || unsendable(options.lastEventId))
  )
    fail('lastEventId', 'a string without control characters, up to 4096 bytes', options.lastEventId);
  // fetch refuses a URL with user:password (a TypeError the loop would retry forever).
  if (target.username || target.password)
    fail('url', 'a URL without user:password (send credentials in headers)', target.origin);
  let url = target.href;
  const http = /^https?:/.test(url);
  // Messages name the URL without query, fragment and credentials (refused above): a query may carry a token. Other
  // schemes by their scheme alone: a data: URL's path is its content, and their origin reads "null".
  const shorten = (href: string): string => (http ? href.replace(/[?#].*/, '') : target.protocol);
  // What headers() returned, subscribed to once while it is pending: a pending promise it hands back on every attempt (a
  // token cache whose refresh hangs) held one reaction per attempt, subscribed to again by each (10,000 over a long
  // outage), until it settled. `wake` answers the attempt waiting on it. Both are let go once it settles, so neither the
  // promise nor the headers it gave (a token) outlive the attempt that used them, nor close(). NaN equals nothing.
  let asked: unknown = NaN;
  let wake: ((settled: Promise<HeadersInput>) => void) | undefined;
  let serverRetry = 0;
  let attempt = 0;
  let previousDelay = 0;
  let delivered = false;
  let watchdog: TimerHandle | undefined;
  let reader: ReadableStreamDefaultReader<Uint8Array> | undefined;
  // The Last-Event-ID a request sends: the stream's last event id, or, while that holds a control character no
  // header can carry or is too long for a server to take (`unsendable`), the last id of an event (or reconnection)
  // that could be sent, as the standard keeps the previous id when an `id:` holds NULL: the server replays from
  // there, instead of every reconnection failing.
  // Set from the lastEventId option by the first request, before any event. Undefined while the stream has no
  // id of ours (no lastEventId option, no `id:` yet): the user's own Last-Event-ID header, if any, goes as given.
  let sendable: string | undefined;
  // Checked once each time it changes: the id persists across events, and a long one (encoded to count its bytes)
  // checked at every event would cost its length per event.
  let checked: string | undefined;
  const nextId = (): string | undefined => {
    if (parser.lastEventId !== checked) {
      checked = parser.lastEventId;
      if (!unsendable(checked)) sendable = checked;
    }
    return sendable;
  };

  const shown = (): string => parser.lastEventId.replace('\0', '');
  const parser = createParser({
    // NULL, which no `id:` can set (the parser ignores such an id), marks "no id yet", so that an empty `id:`
    // is told apart from none: it also replaces the user's header, with no header at all. Never shown: read
    // back as '' below.
    lastEventId: options.lastEventId || '\0',
    maxEventSize: options.maxEventSize ?? 16_777_216,
    onRetry: (ms) => {
      serverRetry = ms;
    },
    onEvent: (event) => {
      // The backoff starts over once a connection has delivered an event: here, not after feed(), which an
      // oversized event later in the same chunk makes throw.
      delivered = true;
      attempt = previousDelay = 0;
      nextId();
      (event as { lastEventId: string }).lastEventId = shown();
      sink.event(event);
    },
  });

  // Rejects the read in progress (undefined: the catch tells the watchdog's abort from close()) a tick after release()
  // cancelled its reader: a chunk a web stream read before the cancel is still parsed (its read() is settled then),
  // and a mock's read() that ignores cancel() is given up on even when its cancel() never settles.
  let abandon: (() => void) | undefined;
  // Frees the watchdog timer and the body at once, so close() leaves nothing behind even before the
  // loop unwinds.
  const release = (): void => {
    clock.clearTimeout(watchdog);
    watchdog = undefined;
    discard(reader);
    reader = undefined;
    Promise.resolve().then(abandon);
  };
  // The attempt in progress's request: close() and the caller's abort abort it. One controller per attempt, no
  // session-wide one linked to it: each AbortSignal costs ~0.5-1 kB with its listener maps (decision 0227).
  let request: AbortController | undefined;
  // Set once the session is over: closed, aborted or failed.
  let closed = false;
  // Ends the reconnection wait early (close(), the caller's abort).
  let resume: (() => void) | undefined;
  // Ends the session: the caller's signal with its reason for the request in progress, close() without one. Frees
  // everything at once, so nothing is left behind even before the loop unwinds.
  const stop = (reason?: unknown): void => {
    if (closed) return;
    finish();
    release();
    resume?.();
    request?.abort(reason);
  };
  // The session is over: a later close() or abort has nothing left to stop.
  const finish = (): void => {
    closed = true;
    signal?.removeEventListener('abort', follow);
  };
  const follow = (): void => stop((signal as AbortSignal).reason);
  // Listened to only now, past the last check that throws (createParser's of maxEventSize): a connect() that refuses
  // an option leaves no listener on the caller's signal.
  // A signal stub without addEventListener/removeEventListener, or with ones that throw, is refused here, before
  // anything starts: it threw a bare TypeError (or its own error) when listened to, or threw from the abort
  // listener at close(), an uncaught exception that left the stream open. Removing a listener never added does
  // nothing on a real signal.
  try {
    signal?.removeEventListener('abort', follow);
    if (signal?.aborted) closed = true;
    else signal?.addEventListener('abort', follow);
  } catch {
    fail('signal', 'an AbortSignal', signal);
  }

  // One connection, until it ends. Resolves with why it ended (undefined: a normal end or close()).
  const connectOnce = async (): Promise<unknown> => {
    const connection = new AbortController();
    request = connection;
    // The URL its errors name: the one asked for, and after a redirect the one that answered (an auth proxy's
    // login page), so a watchdog's TimeoutError and an SseHttpError name the same place.
    let where = shorten(url);
    let lastActivity = clock.now();
    // Set while the client stops reading for a slow consumer: that silence is ours, not the server's.
    let paused = false;
    // Set while an error must end the stream rather than be retried: onOpen's, or headers() results fetch refuses.
    let fatal = false;
    // Rejects once the attempt is given up on (close(), the caller's signal, the watchdog), also when that came first:
    // a custom fetch may abort the caller's signal from inside the call, before its race listens.
    const givenUp = (): Promise<never> =>
      new Promise((_, reject) =>
        connection.signal.aborted ? reject() : connection.signal.addEventListener('abort', reject),
      );
    // The watchdog also covers a server that accepts the connection and never answers.
    if (idleTimeout > 0) {
      // The lastActivity the armed timer counts the silence from.
      let from: number | undefined;
      const check = (): void => {
        const now = clock.now();
        // A wall clock set back (NTP, a resumed VM) would hold the watchdog off until it caught up, a day for a
        // day: the silence is counted from now instead.
        lastActivity = Math.min(lastActivity, now);
        // The timer armed for the silence left fired with no activity since: the silence is over, though
        // now - lastActivity may read 999.9999... after 1000 ms on a clock at a fraction of a ms (decision
        // 0176). It is armed for lastActivity + idleTimeout - now, the instant advance(idleTimeout) reaches.
        const idle = paused ? 0 : lastActivity === from ? idleTimeout : now - lastActivity;
        if (idle < idleTimeout) {
          from = lastActivity;
          watchdog = clock.setTimeout(check, idle ? lastActivity + idleTimeout - now : idleTimeout);
        } else {
          connection.abort(new TimeoutError(idleTimeout, `Reading ${where}`));
          // A body that ignores the abort (a hand-made Response, some mocks) is ended here: its read
          // then reports done, which the loop reads as this abort.
          release();
        }
      };
      check();
    }
    try {
      // A headers() that throws is retried (a token service may be down for a while); one that returns headers
      // fetch refuses ends the stream.
      // Raced with the connection's signal: a headers() that never settles (a hung token service) is ended
      // by the watchdog and close() like a request that never answers.
      // Whatever it throws, also an @integ error (a token fetched through retry or client), is a failed
      // attempt: wrapped, so it is not taken for the watchdog's TimeoutError, a final SseHttpError or a bad url.
      const given =
        typeof headers === 'function'
          ? await Promise.race([
              new Promise<HeadersInput>((resolve) => {
                const result = headers();
                wake = resolve;
                // A result given again once settled is subscribed to again: that holds nothing, its reaction runs at once.
                if (result !== asked) {
                  asked = result;
                  const settled = Promise.resolve(result);
                  const done = (): void => {
                    if (asked === result) {
                      asked = NaN;
                      // Set: each attempt sets it before it can settle, and only this clears it (with `asked`).
                      wake!(settled);
                      wake = undefined;
                    }
                  };
                  settled.then(done, done);
                }
              }),
              givenUp(),
            ]).catch((cause: unknown) => {
              throw new SseConnectionError(where, cause);
            })
          : headers;
      // Resolved as close(), the caller's abort or the watchdog came: its continuation ran after them, and fetch was called
      // with a signal aborted already, which a fetch that only listens for the abort (it never comes) sent.
      if (connection.signal.aborted) return connection.signal.reason;
      fatal = true;
      const init = toHeaders(given);
      fatal = false;
      init.set('accept', 'text/event-stream');
      // A reconnection to the final URL of a redirect to another origin (EventSource's) goes without the headers fetch
      // removed on that redirect (Fetch's Authorization; undici's Cookie and Proxy-Authorization too): sent there
      // directly, the `headers` option's token reached that origin (decision 0149).
      if (new URL(url).origin !== target.origin)
        for (const name of ['authorization', 'cookie', 'proxy-authorization']) init.delete(name);
      // Sent as UTF-8, as a browser does: a header value is bytes, and an id with a character above
      // U+00FF would make Headers throw on every reconnect.
      // Ours replaces the user's header once the stream has an id, and an empty one removes it (WHATWG: set only
      // "if the last event ID string is not the empty string").
      let id = '';
      const last = nextId();
      for (const byte of new TextEncoder().encode(last)) id += String.fromCharCode(byte);
      if (id) init.set('last-event-id', id);
      else if (last !== undefined) init.delete('last-event-id');
      const pending = Promise.resolve(
        fetchFn(url, {
          method,
          headers: init,
          body,
          credentials,
          cache: 'no-store',
          signal: connection.signal,
          // @types/node's RequestInit (undici's) has no `cache`: cast, so the package type-checks without the DOM lib.
        } as RequestInit),
      );
      // Raced the same way: a custom fetch that ignores the signal may never settle. A response it gives after
      // the abort anyway is cancelled unread (aborting a fetch ends its body).
      pending.then((late): unknown => connection.signal.aborted && discard(late.body)).catch(() => {});
      const response = await Promise.race([pending, givenUp()]);
      // A custom fetch that resolves to no Response (undefined, as a mock set up with mockResolvedValueOnce gives from its
      // second call on, or an object without headers: mockResolvedValue({ ok: true })) would fail every attempt alike
      // with a TypeError, retried for ever: it ends the stream, as a bad option does.
      let type: string | null = null;
      try {
        type = response.headers.get('content-type');
      } catch {
        fatal = true;
      }
      if (fatal) fail('fetch', 'a function returning a new Response', response);
      // A network error response (Response.error(), from a custom fetch) is a failed attempt, as a rejected fetch
      // is: the standard reestablishes the connection after a network error that is not an aborted one.
      if (response.type === 'error') throw response;
      if (response.redirected) where = shorten(response.url);
      const code =
        response.status !== 200 ? 'ERR_SSE_STATUS' : isEventStream(type) ? 0 : 'ERR_SSE_CONTENT_TYPE';
      if (code !== 0) {
        discard(response.body);
        throw new SseHttpError(code, response.status, type, where);
      }
      parser.reset();
      // Always UTF-8 (whatever charset the Content-Type names); BOMs are kept for the parser to strip one.
      const decoder = new TextDecoder('utf-8', { ignoreBOM: true });
      // So does one whose body was used (mockResolvedValue(response): the same one every time), is locked or is no web
      // stream (node-fetch's), or that has no body at all (whatwg-fetch's: only null is "no body", a HEAD request's):
      // checked after the status, so a wrapper that read a 404's body to log it gets its SseHttpError. `bodyUsed` is read
      // before the reader is taken: Bun (1.4.5) reports a body used once it is locked, where Fetch says once disturbed.
      let current: ReadableStreamDefaultReader<Uint8Array> | undefined;
      try {
        fatal = response.bodyUsed;
        current = response.body === null ? undefined : response.body.getReader();
      } catch {
        fatal = true;
      }
      if (fatal) fail('fetch', 'a function returning a new Response', response);
      reader = current;
      // A fetch that ignores the signal may answer after close() or the watchdog: the finally cancels this body
      // (aborting a fetch ends its body), and a watchdog reconnection reports its TimeoutError.
      if (connection.signal.aborted) return connection.signal.reason;
      // Reconnections ask the final URL (EventSource's) only where a redirect cannot have changed the method: asked
      // again with POST and its body, the URL a 303 led to may answer 405, which ends the stream (decision 0149).
      const final = sink.open?.(response);
      if (final && safe) url = final;
      // An open listener closed it: no onOpen for a connection the user closed (as no onReconnect after an error one).
      if (connection.signal.aborted) return;
      // A throwing onOpen ends the stream with its error, as onReconnect and onError do (not a reconnect).
      fatal = true;
      onOpen?.({ response });
      fatal = false;
      // No body (a HEAD request, a hand-made Response): announced, as the standard does before it reads the body,
      // then a normal end.
      if (!current) return undefined;
      for (;;) {
        // Given up on by release() too: a mock's reader whose read() ignores cancel() (or that has none) held the
        // connection past the watchdog and the caller's abort, the iteration waiting for ever. None is started once
        // released (after a chunk read before the cancel, or a drain): it would wait for ever on such a reader.
        const { done, value } = await new Promise<Awaited<ReturnType<typeof current.read>>>(
          (resolve, reject) => {
            abandon = reject;
            reader ? current.read().then(resolve, reject) : reject();
          },
        );
        // The watchdog's reason when it cancelled the body, else undefined: a normal end.
        if (done) {
          // Read to its end: the request is complete. Let go here, so the finally's abort (0204) does not reach it: that
          // only told a custom fetch's listeners, after every normal end (decision 0209).
          request = undefined;
          return connection.signal.reason;
        }
        lastActivity = clock.now();
        // A body whose chunks are no bytes (a mock's stream of strings) ends the stream too, as response.text() refuses
        // it: the decoder's TypeError is no network error. So does undefined, which decode() reads as no bytes.
        let text = '';
        try {
          text = decoder.decode(value ?? '', { stream: true });
        } catch {
          fatal = true;
        }
        if (fatal) fail('fetch', 'a function returning a new Response', response);
        parser.feed(text);
        if (delivered) {
          delivered = false;
          paused = true;
          await sink.drain?.();
          paused = false;
          lastActivity = clock.now();
        }
      }
    } catch (error) {
      // An abort first: a response the watchdog came for between fetch settling and this attempt taking it had its body
      // cancelled as late, and was refused as used (fatal), ending the stream instead of reconnecting.
      if (closed) return undefined;
      if (connection.signal.aborted) return connection.signal.reason;
      if (fatal) throw error;
      if (isIntegError(error)) return error;
      // fetch cannot get this scheme (about:, file:, ftp:, mailto: ...): every attempt would fail alike, and
      // the standard fails the connection where reconnecting is futile (WPT eventsource-constructor-non-same-origin).
      if (!http) fail('url', 'an http(s) URL', target.protocol);
      return new SseConnectionError(where, error);
    } finally {
      release();
      // The attempt's request is aborted as it ends, whatever else ended it: a body discard() cannot cancel (node-fetch's Node
      // stream: a refused 404's, a 200 refused for it) kept its socket open (decision 0204). Not one read to its end (0209).
      if (request) connection.abort();
      request = undefined;
      // An event cut off by the end of the stream is discarded.
      parser.reset();
    }
  };

  const loop = async (): Promise<void> => {
    // The first request waits a microtask, as the DOM's waits a task: a source closed at once (React's
    // StrictMode runs an effect, its cleanup and the effect again) sends nothing.
    await 0;
    while (!closed) {
      const error = await connectOnce();
      if (closed) break;
      if (error !== undefined) onError?.(error);
      if (error instanceof SseHttpError) {
        finish();
        return sink.end(true, error);
      }
      attempt++;
      const wanted = backoff({ attempt, previousDelay, random });
      // The standard waits the server's retry:, then "optionally, wait some more": the jittered backoff,
      // scaled into the room between that floor and maxDelay, is added, so a fleet told `retry: 3000` does
      // not come back at the same millisecond, nor pile up at the cap. A backoff (or random) gone wrong, NaN
      // or negative, waits the cap: a 0 ms wait would make a reconnect loop as fast as the network. The
      // backoff is given its own previous result (capped), not the sum, so a decorrelated one does not
      // compound the floor.
      previousDelay = wanted >= 0 && wanted < maxDelay ? +wanted : maxDelay;
      const delay =
        serverRetry < maxDelay
          ? serverRetry + (previousDelay * (maxDelay - serverRetry)) / maxDelay
          : maxDelay;
      const info: ReconnectInfo = { attempt, delay, error, lastEventId: nextId() ?? '' };
      sink.reconnecting?.(info);
      // Not for a reconnection that will not come: an error listener (or onError) may have closed it.
      if (!closed) onReconnect?.(info);
      // On the watchdog's timer, which release() clears: close() and the caller's abort end the wait at once.
      await new Promise<void>((resolve) => {
        resume = resolve;
        if (closed) resolve();
        else watchdog = clock.setTimeout(resolve, delay);
      });
      watchdog = undefined;
    }
    finish();
    sink.end(false);
  };
  loop().catch((error: unknown) => {
    // Only a throwing hook or sink gets here: stop cleanly and report it as the end.
    finish();
    release();
    sink.end(true, error);
  });

  // A method, not a getter: an object literal's getter gives each session a hidden class of its own.
  return { lastEventId: shown, close: () => stop() };
}
