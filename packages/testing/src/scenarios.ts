/**
 * Scenario builders for external HTTP services, as msw resolvers: put them behind any `http.get/post/...`
 * handler. Each keeps its own call count (`.calls`) so a test can assert how often the service was hit.
 */
import { type Clock, InvalidArgumentError, sleep, systemClock } from '@integ/core';
import { HttpResponse } from 'msw';

/** What a scenario answers with: a Response (cloned per call), a factory, or `'network'` for a network error. */
export type Reply = Response | (() => Response | Promise<Response>) | 'network';

/** The msw resolver a scenario returns, with the number of requests it has answered. */
export interface ScenarioResolver {
  (info: { request: Request }): Promise<Response>;
  /** How many requests reached this scenario. */
  readonly calls: number;
}

const ok = (): Response => HttpResponse.json({ ok: true });

async function answer(reply: Reply): Promise<Response> {
  if (reply === 'network') return HttpResponse.error();
  return typeof reply === 'function' ? reply() : reply.clone();
}

// Checked when a scenario is created: a bad option would otherwise surface as msw's 500 for a Response that
// cannot be built (status 99), or as headers reading NaN, in the middle of the test that made the mistake.
function whole(argument: string, value: number, min: number): void {
  if (!(Number.isSafeInteger(value) && value >= min))
    throw new InvalidArgumentError(argument, `a whole number >= ${min}`, value);
}
// A status where a Reply belongs (sequence([503, 'network'])), a plain object or a Response already read failed
// every request with msw's 500 about 'reply.clone is not a function' or a used body.
function checkReply(argument: string, reply: unknown): void {
  if (
    !(
      reply === 'network' ||
      typeof reply === 'function' ||
      (typeof (reply as Response | null)?.clone === 'function' && !(reply as Response).bodyUsed)
    )
  )
    throw new InvalidArgumentError(
      argument,
      "a Response not yet read, a function returning one, or 'network'",
      reply,
    );
}
function httpStatus(argument: string, status: number): void {
  if (!(Number.isInteger(status) && status >= 200 && status <= 599))
    throw new InvalidArgumentError(argument, 'an HTTP status from 200 to 599', status);
}

// A 204, 205 or 304 has no content (RFC 9110): sent bodiless, without the Content-Type and Content-Length of
// a JSON body it does not carry (a client reading JSON when Content-Type says so failed on '').
function refusal(error: string, status: number, headers: Record<string, string> = {}): Response {
  return [204, 205, 304].includes(status)
    ? new Response(null, { status, headers })
    : HttpResponse.json({ error }, { status, headers });
}

// RFC 9110 9.3.2: a HEAD answer has the status and headers a GET would get and no content. A real server sends
// none (fetch reads ''), but msw hands a mocked body to the client as it is.
function headless(request: Request, response: Response): Response {
  if (request.method !== 'HEAD' || response.body === null) return response;
  response.body.cancel().catch(() => {});
  return new Response(null, response);
}

function scenario(handle: (request: Request, call: number) => Promise<Response>): ScenarioResolver {
  let calls = 0;
  const resolver = async ({ request }: { request: Request }) =>
    headless(request, await handle(request, ++calls));
  Object.defineProperty(resolver, 'calls', { get: () => calls });
  return resolver as ScenarioResolver;
}

/** Options of {@link flaky}. */
export interface FlakyOptions {
  /** How many requests fail before the service recovers. @default 1 */
  readonly failures?: number;
  /** The failure: an HTTP status, or `'network'` for a dropped connection. @default 503 */
  readonly status?: number | 'network';
  /** The answer once recovered. @default a 200 `{ ok: true }` JSON response */
  readonly reply?: Reply;
}

/**
 * A service that fails `failures` times, then succeeds.
 *
 * @throws {InvalidArgumentError} when `failures` is not a whole number >= 0, `status` not from 200 to 599 (or
 *   `'network'`), or `reply` is not a {@link Reply} (a status number, a plain object, a Response already read)
 *
 * @example
 * ```ts
 * server.use(http.get('https://api.example.com/users', flaky({ failures: 2, status: 'network' })));
 * ```
 */
export function flaky(options: FlakyOptions = {}): ScenarioResolver {
  const { failures = 1, status = 503, reply = ok } = options;
  checkReply('flaky({ reply })', reply);
  whole('flaky({ failures })', failures, 0);
  if (status !== 'network') httpStatus('flaky({ status })', status);
  return scenario(async (_request, call) => {
    if (call > failures) return answer(reply);
    return status === 'network' ? HttpResponse.error() : refusal('flaky', status);
  });
}

/** Options of {@link slow}. */
export interface SlowOptions {
  /** The answer after the delay. @default a 200 `{ ok: true }` JSON response */
  readonly reply?: Reply;
  /** Where the delay's time comes from (pass a fake clock to test timeouts without waiting). @default systemClock */
  readonly clock?: Clock;
}

/**
 * A service that answers after `ms` milliseconds (the wait ends early when the client aborts); `Infinity`
 * never answers, for timeout tests.
 *
 * @throws {InvalidArgumentError} when `ms` is not a number >= 0 (negative, `NaN`) or `reply` is not a {@link Reply}
 *
 * @example
 * ```ts
 * server.use(http.get(url, slow(5_000, { clock })));
 * ```
 */
export function slow(ms: number, options: SlowOptions = {}): ScenarioResolver {
  const { reply = ok, clock = systemClock } = options;
  checkReply('slow({ reply })', reply);
  // A negative or NaN wait (a misspelt option, undefined * 1000) answered at once, so a timeout test passed
  // without ever timing out; Infinity is kept: a service that never answers.
  if (!(typeof ms === 'number' && ms >= 0))
    throw new InvalidArgumentError('slow(ms)', 'a number of ms >= 0 (Infinity never answers)', ms);
  return scenario(async (request) => {
    try {
      await sleep(ms, { signal: request.signal, clock });
    } catch {
      // The client went away: nobody reads this answer, and msw must not report an unhandled exception.
      return HttpResponse.error();
    }
    return answer(reply);
  });
}

/** Options of {@link retryAfter}. */
export interface RetryAfterOptions {
  /** The status of the refusing responses. @default 503 */
  readonly status?: number;
  /** How many requests are refused before the service answers normally. @default 1 */
  readonly times?: number;
  /** The answer afterwards. @default a 200 `{ ok: true }` JSON response */
  readonly reply?: Reply;
}

/**
 * A service that refuses with a `Retry-After` header, in delta-seconds (a number) or as an HTTP-date
 * (a Date or a preformatted string), then recovers.
 *
 * @throws {InvalidArgumentError} when `after` is a number that is not whole seconds >= 0 or a Date outside the
 *   years 0000 to 9999 (or invalid), a string with CR, LF, NUL or a character above U+00FF, `status` is not from
 *   200 to 599, `times` not a whole number >= 0, or `reply` is not a {@link Reply}
 *
 * @example
 * ```ts
 * server.use(http.get(url, retryAfter(2, { status: 429 })));
 * ```
 */
export function retryAfter(after: number | Date | string, options: RetryAfterOptions = {}): ScenarioResolver {
  const { status = 503, times = 1, reply = ok } = options;
  checkReply('retryAfter({ reply })', reply);
  httpStatus('retryAfter({ status })', status);
  whole('retryAfter({ times })', times, 0);
  // RFC 9110 10.2.3: delay-seconds is whole seconds (1*DIGIT) and an HTTP-date an IMF-fixdate, whose year has 4
  // digits (toUTCString() writes 5 for 10000, '-000001' for 2 BC); a string is sent as is, for tests of a client
  // against a malformed header.
  if (
    typeof after === 'number'
      ? !Number.isSafeInteger(after) || after < 0
      : after instanceof Date && !(after.getUTCFullYear() >= 0 && after.getUTCFullYear() <= 9999)
  )
    throw new InvalidArgumentError(
      'retryAfter(after)',
      'whole seconds >= 0, a Date in the years 0000 to 9999 or a string',
      after,
    );
  // A header value cannot hold CR, LF, NUL or a character above U+00FF: fetch's Headers throws for it, which
  // msw reported as a 500 at the request, far from the retryAfter() call that was wrong.
  if (typeof after === 'string' && /[\r\n\0\u0100-\uffff]/.test(after))
    throw new InvalidArgumentError(
      'retryAfter(after)',
      'a string a header can carry (no CR, LF, NUL or character above U+00FF)',
      after,
    );
  const value = after instanceof Date ? after.toUTCString() : String(after);
  return scenario(async (_request, call) => {
    if (call > times) return answer(reply);
    return refusal('retry later', status, { 'retry-after': value });
  });
}

/** Options of {@link rateLimited}. */
export interface RateLimitedOptions {
  /** Requests allowed per window. @default 1 */
  readonly limit?: number;
  /** Window length in seconds. @default 1 */
  readonly windowSeconds?: number;
  /** The answer for allowed requests. @default a 200 `{ ok: true }` JSON response */
  readonly reply?: Reply;
  /** Where the window's time comes from. @default systemClock */
  readonly clock?: Clock;
}

/**
 * A rate-limited service: `limit` requests per fixed window, then 429 with `Retry-After` and the IETF
 * `RateLimit-Limit`, `RateLimit-Remaining`, `RateLimit-Reset` and `RateLimit-Policy` headers (also set on
 * allowed responses).
 *
 * @throws {InvalidArgumentError} when `limit` is not a whole number >= 0, `windowSeconds` not one >= 1, or `reply`
 *   is not a {@link Reply}
 *
 * @example
 * ```ts
 * server.use(http.get(url, rateLimited({ limit: 10, windowSeconds: 60 })));
 * ```
 */
export function rateLimited(options: RateLimitedOptions = {}): ScenarioResolver {
  const { limit = 1, windowSeconds = 1, reply = ok, clock = systemClock } = options;
  checkReply('rateLimited({ reply })', reply);
  whole('rateLimited({ limit })', limit, 0);
  // Whole seconds: the policy's w= and the reset are integers in the draft (and a window of 0 s never reset).
  whole('rateLimited({ windowSeconds })', windowSeconds, 1);
  const windowMs = windowSeconds * 1000;
  let windowStart = Number.NEGATIVE_INFINITY;
  let used = 0;
  return scenario(async () => {
    const now = clock.now();
    const since = now - windowStart;
    // A wall clock stepped back (NTP, a resumed VM) starts a new window: the old one would otherwise end the
    // step later, and the 429s would say Retry-After: 86460 for a day back, which no limiter keyed on time
    // windows or expiring counters sends.
    if (since >= windowMs || since < 0) {
      windowStart = since < 0 || !Number.isFinite(since) ? now : now - (since % windowMs);
      used = 0;
    }
    const reset = Math.max(1, Math.ceil((windowStart + windowMs - now) / 1000));
    const allowed = used < limit;
    if (allowed) used++;
    const headers = {
      'ratelimit-limit': String(limit),
      'ratelimit-remaining': String(limit - used),
      'ratelimit-reset': String(reset),
      'ratelimit-policy': `${limit};w=${windowSeconds}`,
    };
    if (!allowed) {
      return HttpResponse.json(
        { error: 'rate limited' },
        { status: 429, headers: { ...headers, 'retry-after': String(reset) } },
      );
    }
    const response = await answer(reply);
    // A network error ('network', Response.error()) has no status or headers to add to: it stays one.
    if (response.type === 'error') return response;
    const merged = new Headers(response.headers);
    for (const [name, value] of Object.entries(headers)) merged.set(name, value);
    return new Response(response.body, {
      status: response.status,
      statusText: response.statusText,
      headers: merged,
    });
  });
}

/** Options of {@link sequence}. */
export interface SequenceOptions {
  /** After the last reply: repeat it (`'last'`) or answer 500 (`'error'`). @default 'last' */
  readonly after?: 'last' | 'error';
}

/**
 * A service that answers each request with the next reply of the list.
 *
 * @throws {InvalidArgumentError} when `replies` is empty or holds something that is not a {@link Reply}, or `after`
 *   is neither `'last'` nor `'error'`
 *
 * @example
 * ```ts
 * server.use(http.get(url, sequence([new Response(null, { status: 500 }), 'network', HttpResponse.json({ id: 1 })])));
 * ```
 */
export function sequence(replies: readonly Reply[], options: SequenceOptions = {}): ScenarioResolver {
  if (replies.length === 0)
    throw new InvalidArgumentError('sequence(replies)', 'at least one reply', replies);
  for (const [index, reply] of replies.entries()) checkReply(`sequence(replies[${index}])`, reply);
  const after = options.after ?? 'last';
  if (after !== 'last' && after !== 'error')
    throw new InvalidArgumentError('sequence({ after })', "'last' or 'error'", after);
  return scenario(async (_request, call) => {
    const reply = replies[call - 1];
    if (reply !== undefined) return answer(reply);
    if (after === 'error') return HttpResponse.json({ error: 'sequence exhausted' }, { status: 500 });
    return answer(replies[replies.length - 1] as Reply);
  });
}
