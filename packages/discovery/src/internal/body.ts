/**
 * Reading an untrusted HTTP answer (Consul, etcd) with a size limit: a broken or hostile server can stream
 * forever or send a gigabyte, and `response.json()` would buffer all of it before failing.
 */
import { discard, InvalidArgumentError } from '@integ/core';
import { DiscoverySourceError } from '../errors.js';
import { redactText } from './url.js';

/** The default `maxResponseBytes` of the Consul and etcd sources: 16 MiB. */
export const DEFAULT_MAX_RESPONSE_BYTES: number = 16 * 1024 * 1024;

/** The error for an answer or message past the limit; `what` says which request. */
export function tooLarge(source: string, what: string, limit: number): DiscoverySourceError {
  return new DiscoverySourceError(
    source,
    `${what}: the answer is larger than ${limit} bytes (raise maxResponseBytes if that is expected)`,
  );
}

/**
 * Drops the body of an answer refused for its status and throws `message`: unread, the body holds the
 * connection (an error page that stalls: one socket per retry, still open after close()).
 *
 * @throws DiscoverySourceError always
 */
export async function refuse(response: Response, source: string, message: string): Promise<never> {
  // Cancelled, not awaited: a cancel need not settle (msw), and one that throws must not replace the status.
  discard(response.body);
  throw new DiscoverySourceError(source, message);
}

/**
 * Cancels `reader` when `signal` aborts, which ends a pending read at once (as done). Node's fetch ends a body
 * when its request's signal aborts; a mocked one (msw) or a custom fetch's is not tied to it, and a read of one
 * that stalls waited for good (the request's time limit and close() did not end it), as a watch that was given
 * up went on applying what its stream sent. The listener stays: the signal is the request's own. `stop` is called
 * with the signal's reason then, to end the read in progress: a mock reader whose cancel() does not end its read
 * (or never settles) is given up on all the same.
 */
export function cancelOnAbort(
  reader: ReadableStreamDefaultReader<unknown>,
  signal: AbortSignal,
  stop?: (reason: unknown) => void,
): void {
  const abort = (): void => {
    discard(reader);
    stop?.(signal.reason);
  };
  signal.aborted ? abort() : signal.addEventListener('abort', abort);
}

/**
 * The message of a foreign failure (a fetch's), masked: its URLs, and the source's own token wherever it is quoted
 * (a fetch wrapper quoting its request headers): no error may hold a token.
 */
export function failureText(error: unknown, token: string | undefined): string {
  let text = error instanceof Error ? error.message : String(error);
  // Trimmed: a token read from a file ends in a newline, which fetch (and Headers) drops and JSON quotes as \n.
  const t = token?.trim();
  // As written, JSON-escaped (a request echoed as JSON: `"` and `\` escaped) and URL-encoded (a query), in one pass.
  // A mask next to the text can complete a token holding `*` (`ab*` in `abab**`): then all of it is masked (a
  // pass per completion was quadratic). A token of 1-3 characters is no secret and is left: every `a` of the
  // message was masked (docs/decisions/0208).
  if (t?.[3]) {
    const forms = [t, JSON.stringify(t).slice(1, -1), encodeURIComponent(t)];
    for (const form of forms) text = text.split(form).join('***');
    if (forms.some((form) => text.includes(form))) text = '***';
  }
  return redactText(text);
}

/**
 * `request`, or the signal's reason once it aborts. A custom fetch that ignores its signal (a wrapper that does not
 * pass it on) held a Consul or etcd lookup for good: past its time limit, and past close(). A response that still
 * comes after the abort has its body cancelled.
 */
export function untilAbort(request: Promise<Response>, signal: AbortSignal): Promise<Response> {
  return Promise.race([
    request,
    new Promise<never>((_, reject) => {
      const stop = (): void => {
        reject(signal.reason);
        // An answer that comes after all is dropped: unread, its body held the connection.
        // (Caught after: a custom fetch may answer with no Response at all.)
        request.then((response) => discard(response.body)).catch(() => {});
      };
      signal.aborted ? stop() : signal.addEventListener('abort', stop);
    }),
  ]);
}

/**
 * Reads a JSON body of at most `limit` bytes; past it, cancels the stream (the connection is dropped, not
 * drained) and throws. Malformed JSON throws too, without quoting the body. `signal` aborting cancels the read.
 *
 * @throws DiscoverySourceError when the body is too large or not JSON
 * @throws the signal's reason when it aborts during the read
 */
export async function readJson(
  response: Response,
  limit: number,
  source: string,
  what: string,
  signal: AbortSignal,
): Promise<unknown> {
  const declared = Number(response.headers.get('content-length'));
  if (declared > limit) {
    discard(response.body);
    throw tooLarge(source, what, limit);
  }
  let text = '';
  if (response.body !== null) {
    const reader = response.body.getReader();
    // The read in progress is given up on at the abort, whatever cancel() does: a mock reader whose cancel() does
    // not end it (or never settles) held the lookup past its time limit (as sse's 7d08bb0). Each read has its own
    // promise, which the abort rejects: a race of every read with one abort promise left a reaction on it per
    // chunk until the answer ended (~350 B per chunk: a server trickling bytes one by one).
    let fail: (reason: unknown) => void = () => {};
    cancelOnAbort(reader, signal, (reason) => fail(reason));
    const decoder = new TextDecoder();
    let size = 0;
    for (;;) {
      // Aborted between two reads (the last one answered first): no new read, which might never end.
      signal.throwIfAborted();
      const { value, done } = await new Promise<ReadableStreamReadResult<Uint8Array>>((ok, no) => {
        fail = no;
        reader.read().then(ok, no);
      });
      if (done) break;
      size += value.byteLength;
      if (size > limit) {
        discard(reader);
        throw tooLarge(source, what, limit);
      }
      text += decoder.decode(value, { stream: true });
    }
    // Cancelled by the abort: its reason, not the end of a short answer.
    signal.throwIfAborted();
    text += decoder.decode();
  }
  try {
    return JSON.parse(text) as unknown;
  } catch {
    throw new DiscoverySourceError(source, `${what}: the answer is not valid JSON`);
  }
}

/**
 * Checks a `maxResponseBytes` option (default {@link DEFAULT_MAX_RESPONSE_BYTES}).
 *
 * @throws InvalidArgumentError unless it is an integer >= 1024
 */
export function checkLimit(value: unknown, setting: string): number {
  if (value === undefined) return DEFAULT_MAX_RESPONSE_BYTES;
  if (!Number.isSafeInteger(value) || (value as number) < 1024)
    throw new InvalidArgumentError(setting, 'an integer number of bytes >= 1024', value);
  return value as number;
}

/**
 * Checks a `token` option: an HTTP header value (printable ASCII; spaces and tabs; surrounding whitespace is
 * trimmed by fetch). fetch refuses anything else with an error quoting the value, which would put the token in
 * the source's error and `inspect()`.
 *
 * @throws InvalidArgumentError (naming the option, not echoing the token)
 */
export function checkToken(value: unknown, setting: string): void {
  if (value !== undefined && (typeof value !== 'string' || /[^\t\x20-\x7e]/.test(value.trim())))
    throw new InvalidArgumentError(setting, 'a string of printable ASCII (it is sent as a header)', value);
}
