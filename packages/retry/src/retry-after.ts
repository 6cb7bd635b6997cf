/**
 * Server hints: how long a server asked us to wait, from `Retry-After` (RFC 9110 §10.2.3: delay-seconds or
 * an HTTP-date) or the non-standard `retry-after-ms` (milliseconds, sent by some API gateways).
 */

/** Anything headers can be read from: a fetch `Headers`, or any lookalike with `get(name)` (axios, undici). */
export interface HeadersLike {
  get(name: string): string | null | undefined;
}

// Whitespace around it is allowed (header values are trimmed); test() and Number() read any value as a string.
// Any number of digits (RFC 9110: delay-seconds = 1*DIGIT): a huge wait is capped by maxRetryAfter, never
// read as no hint (that retried at once a server that asked for the longest wait).
const NUMBER = /^\s*\d+(\.\d{1,6})?\s*$/;

/**
 * Milliseconds to wait before retrying, from response headers (`retry-after-ms` wins over `Retry-After`)
 * or from a `Retry-After` value. Returns `undefined` when there is no usable hint (missing or malformed);
 * seconds or ms are read at any number of digits (retry caps the wait at `maxRetryAfter`); a date in the past
 * gives 0. Delay-seconds may carry a fraction (`'1.5'`).
 *
 * @param source a `Headers` (or any `{ get(name) }`), a plain object of lower-case header names as node:http
 *   and got give them (`res.headers`), or a `Retry-After` value
 * @param now the current time in ms since the epoch, to turn an HTTP-date into a delay
 * @example
 * ```ts
 * parseRetryAfter('120'); // 120000
 * parseRetryAfter(response.headers, clock.now()); // from Retry-After or retry-after-ms
 * ```
 */
export function parseRetryAfter(
  source: HeadersLike | Readonly<Record<string, unknown>> | string | null | undefined,
  now: number = Date.now(),
): number | undefined {
  if (source && typeof source === 'object') {
    // A Headers' get() gives null for a missing header, and a plain object has no get(): or has a header the
    // server named `get` (node:http's `res.headers`), a string, not a method.
    const get = (name: string): unknown =>
      (typeof source.get === 'function' ? (source as HeadersLike).get(name) : null) ??
      (source as Record<string, unknown>)[name];
    const ms = get('retry-after-ms');
    return NUMBER.test(ms as string) ? Number(ms) : parseRetryAfter(get('retry-after') as string, now);
  }
  // null and undefined read as 'null' and 'undefined': neither a number nor a date, so no hint.
  const value = String(source).trim();
  // Read at any length, as retry-after-ms is (a huge wait is capped by maxRetryAfter, never no hint): both patterns
  // are anchored at the start and nothing in them nests, so each test is linear in the length, and only a value
  // of a date's shape (at most 33 characters) reaches Date.parse.
  if (NUMBER.test(value)) return Number(value) * 1000;
  // Only the shapes of RFC 9110 §5.6.7's three forms count: IMF-fixdate `Sun, 06 Nov 1994 08:49:37 GMT`,
  // asctime-date `Sun Nov  6 08:49:37 1994`, rfc850-date `Sunday, 06-Nov-94 08:49:37 GMT`. Date.parse takes far
  // more ('Nov 24 11:00:30' or 'soon 1' are dates in 2001 to V8: no wait at all; zoneless ISO is local time).
  // A shape, not the grammar: Date.parse checks the names (NaN for a month it does not know); the whole
  // grammar, read without Date.parse, cost ~240 B gzip where this costs ~50.
  if (
    /^[A-Z][a-z]{2}(, \d\d [A-Z][a-z]{2} \d{4} \d\d:\d\d:\d\d GMT| [A-Z][a-z]{2} [ \d]\d \d\d:\d\d:\d\d \d{4}|[a-z]{3,6}, \d\d-[A-Z][a-z]{2}-\d\d \d\d:\d\d:\d\d GMT)$/.test(
      value,
    )
  ) {
    // asctime-date (`Sun Nov  6 08:49:37 1994`) writes no zone, and Date.parse would read it as local time:
    // every HTTP-date is GMT (RFC 9110 §5.6.7). NaN when it is no date. A second from 60 up is added to its
    // minute, not read by Date.parse: §5.6.7's time-of-day runs to 23:59:60 (a leap second), and V8 read such a
    // second as 00 of its minute (a minute early) and, in asctime-date, as a two-digit year (1960: no wait at all).
    // A second past 60 counts on likewise, as Date.parse counts on past a month's last day (30 Feb is 2 Mar).
    // Seconds 00-59 stay Date.parse's: set to 00, `24:00:37` (no time-of-day) became Date.parse's `24:00:00`.
    // One from 60 up is set to 59, not 00, for the same reason: `24:00:60` is no date, as `24:00:59` is to Date.parse.
    const second = +(/:([6-9]\d) /.exec(value)?.[1] ?? 59) - 59;
    // A year 0000-0099 (IMF-fixdate, asctime-date: 4DIGIT) is that year, long past: Date.parse read it as 19xx or 20xx
    // (0030 as 2030, a wait). An rfc850-date's two digits are Date.parse's (00-49 are 20xx), not the RFC's "more than
    // 50 years ahead is the past century": alike until 2050, at ~36 B (decision 0200).
    const delay =
      Math.max(
        0,
        Date.parse(value.replace(/:[6-9]\d /, ':59 ').replace(/ \d{4}$/, '$& GMT')) + second * 1000 - now,
      ) * (/ 00\d\d( |$)/.test(value) ? 0 : 1);
    if (delay >= 0) return delay;
  }
  return undefined;
}

/**
 * The server's hint carried by a failure or a result: a numeric `retryAfterMs`, or its `headers` (a `Headers`
 * or a plain object), given directly (a `Response`) or on its `.response` (axios, got, ky errors).
 */
export function retryAfterOf(value: unknown, now?: number): number | undefined {
  const ms = (value as Hinted)?.retryAfterMs;
  return typeof ms === 'number' && ms >= 0
    ? ms
    : (fromHeaders(value as Hinted, now) ?? fromHeaders((value as Hinted)?.response, now));
}

type Hinted =
  | { retryAfterMs?: unknown; response?: Hinted; headers?: Parameters<typeof parseRetryAfter>[0] }
  | null
  | undefined;

function fromHeaders(carrier: Hinted, now?: number): number | undefined {
  return typeof carrier?.headers === 'object' ? parseRetryAfter(carrier.headers, now) : undefined;
}
