import { parseRetryAfter } from '@integ/retry';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const now = Date.parse('2026-03-01T12:00:00Z');

describe('parseRetryAfter', () => {
  it('reads delay-seconds', () => {
    expect(parseRetryAfter('120', now)).toBe(120_000);
    expect(parseRetryAfter(' 0 ', now)).toBe(0);
    expect(parseRetryAfter('1.5', now)).toBe(1500);
  });

  it('reads an HTTP-date relative to now, and a past date as 0', () => {
    expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sunday, 01-Mar-26 12:01:00 GMT', now)).toBe(60_000);
    expect(parseRetryAfter('Sun, 01 Mar 2026 11:00:00 GMT', now)).toBe(0);
  });

  it.each(['UTC', 'Asia/Tokyo', 'America/New_York'])(
    "reads asctime's date (RFC 9110's third form, no zone written) as GMT with the local zone %s",
    (zone) => {
      const env: { TZ?: string } = process.env;
      const saved = env.TZ;
      env.TZ = zone; // Node applies a TZ change at once
      try {
        expect(parseRetryAfter('Sun Mar  1 12:00:30 2026', now)).toBe(30_000);
        expect(parseRetryAfter('Sun Mar  1 11:00:00 2026', now)).toBe(0);
        expect(parseRetryAfter('Sun, 01 Mar 2026 12:00:30 GMT', now)).toBe(30_000);
      } finally {
        if (saved === undefined) delete env.TZ;
        else env.TZ = saved;
      }
    },
  );

  it('prefers retry-after-ms over Retry-After in headers', () => {
    const headers = new Headers({ 'Retry-After': '10', 'retry-after-ms': '250' });
    expect(parseRetryAfter(headers, now)).toBe(250);
    expect(parseRetryAfter(new Headers({ 'Retry-After': '10' }), now)).toBe(10_000);
  });

  it('reads any object with get(name), and a node:http header value passed as a string', () => {
    const headers = new Map([['retry-after', '3']]);
    expect(parseRetryAfter({ get: (name) => headers.get(name) }, now)).toBe(3000);
    expect(parseRetryAfter({ 'retry-after': '4' }['retry-after'], now)).toBe(4000);
  });

  it('reads plain-object headers as node:http and got give them, and ignores values of other types', () => {
    expect(parseRetryAfter({ 'retry-after': '4' }, now)).toBe(4000);
    expect(parseRetryAfter({ 'retry-after-ms': ' 250 ', 'retry-after': '4' }, now)).toBe(250);
    expect(parseRetryAfter({ 'retry-after': 'Sun, 01 Mar 2026 12:00:30 GMT' }, now)).toBe(30_000);
    expect(parseRetryAfter({ 'content-type': 'text/plain' }, now)).toBeUndefined();
    expect(parseRetryAfter({ 'retry-after': { toString: () => 'x' } }, now)).toBeUndefined();
    expect(parseRetryAfter({}, now)).toBeUndefined();
  });

  it('reads plain-object headers in which the server sent a header named get (its value is no method)', () => {
    // node:http gives `res.headers` with whatever names the server chose: `get: x` is an untrusted string.
    const headers = Object.assign(Object.create(null), { get: 'x', 'retry-after': '4' });
    expect(parseRetryAfter(headers, now)).toBe(4000);
    expect(parseRetryAfter({ get: ['a', 'b'], 'retry-after-ms': '250' }, now)).toBe(250);
    expect(parseRetryAfter({ get: 'x' }, now)).toBeUndefined();
  });

  it.each([
    ['-5'],
    ['soon'],
    ['10s'],
    [''],
    ['1e3'],
    ['x'.repeat(100)],
    [`Sun, 01 Mar 2026 12:00:30 GMT${' '.repeat(60)}x`],
  ])('returns undefined for the malformed value %j', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
  });

  it('returns undefined when there is no header', () => {
    expect(parseRetryAfter(new Headers(), now)).toBeUndefined();
    expect(parseRetryAfter(undefined)).toBeUndefined();
    expect(parseRetryAfter(null)).toBeUndefined();
  });

  it('property: delay-seconds round-trip and never yield a negative delay', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10_000_000 }), (seconds) => {
        expect(parseRetryAfter(String(seconds), now)).toBe(seconds * 1000);
      }),
    );
    fc.assert(
      fc.property(fc.string({ maxLength: 80 }), (value) => {
        const ms = parseRetryAfter(value, now);
        if (ms !== undefined) expect(ms).toBeGreaterThanOrEqual(0);
      }),
    );
  });

  it('reads delay-seconds of any length (RFC 9110: 1*DIGIT), so a longer wait asked never reads as none', () => {
    expect(parseRetryAfter('1234567890123', now)).toBe(1_234_567_890_123_000);
    expect(parseRetryAfter(new Headers({ 'Retry-After': '9'.repeat(64) }), now)).toBe(1e67);
    expect(parseRetryAfter({ 'retry-after-ms': '12345678901234' }, now)).toBe(12_345_678_901_234);
    // Monotonic: a server asking for more time never gets less than one asking for less.
    fc.assert(
      fc.property(fc.stringMatching(/^\d{1,64}$/), fc.stringMatching(/^\d{1,64}$/), (a, b) => {
        const [x, y] = [parseRetryAfter(a, now), parseRetryAfter(b, now)];
        expect(x).toBe(Number(a) * 1000);
        if (Number(a) <= Number(b)) expect(x).toBeLessThanOrEqual(y as number);
      }),
      { seed: 170 },
    );
  });

  // RFC 9110 §5.6.7: HTTP-date = IMF-fixdate / rfc850-date / asctime-date, GMT only in the first two; anything
  // else is no date, so the backoff applies. The shape is checked, and Date.parse reads it: day names are not
  // checked against the date, and the engine reads the names and an rfc850 two-digit year.
  it.each([
    ['Sun, 01 Mar 2026 12:00:30 GMT', 30_000],
    ['Mon, 02 Mar 2026 12:00:00 GMT', 86_400_000],
    ['Sun, 01 Mar 2026 11:00:00 GMT', 0],
    ['Thu, 01 Jan 1970 00:00:00 GMT', 0],
    ['Sunday, 01-Mar-26 12:00:30 GMT', 30_000],
    ['Tuesday, 03-Mar-26 12:00:00 GMT', 172_800_000],
    ['Wednesday, 04-Mar-26 12:00:00 GMT', 259_200_000],
    ['Sunday, 01-Mar-76 12:00:01 GMT', 0], // two-digit years as the engine reads them (V8: 50-99 are 19xx)
    ['Monday, 01-Mar-77 12:00:00 GMT', 0], // 1977
    ['Saturday, 01-Jan-00 00:00:00 GMT', 0], // 2000
    ['Sun Mar  1 12:00:30 2026', 30_000],
    ['Sun Mar 01 12:00:30 2026', 30_000], // date3 = month SP ( 2DIGIT / ( SP DIGIT ) )
    ['Tue Mar 10 12:00:00 2026', 777_600_000],
    ['  Sun, 01 Mar 2026 12:00:30 GMT  ', 30_000], // whitespace around a field value is not part of it
    ['Mon, 01 Mar 2026 12:00:30 GMT', 30_000], // the day name is not checked against the date
  ])('reads the HTTP-date %j', (value, expected) => {
    expect(parseRetryAfter(value, now)).toBe(expected);
  });

  it.each([
    'Nov 24 11:00:30', // Date.parse: 2001, so no wait at all
    'Mar 1 2026 12:00:30 GMT',
    '2026-03-01T12:00:30', // Date.parse: local time
    '2026-03-01T12:00:30Z',
    '2026-03-01 12:00:30',
    'sun, 01 mar 2026 12:00:30 gmt',
    'SUN, 01 MAR 2026 12:00:30 GMT',
    'Sun, 01 Mar 2026 12:00:30 gmt',
    'Sun, 01 Mar 2026 12:00:30 UTC',
    'Sun, 01 Mar 2026 12:00:30 +0000',
    'Sun, 01 Mar 2026 12:00:30 PST',
    'Sun, 01 Mar 2026 12:00:30 GMT+0900',
    'Sun, 01 Mar 2026 12:00:30',
    'Sun, 1 Mar 2026 12:00:30 GMT',
    'Sun, 01 Mar 26 12:00:30 GMT',
    'Sun, 01 Mar 02026 12:00:30 GMT',
    'Sun 01 Mar 2026 12:00:30 GMT',
    'Sun,  01 Mar 2026 12:00:30 GMT',
    'Sun,\t01 Mar 2026 12:00:30 GMT',
    'Sun, 01 March 2026 12:00:30 GMT',
    'Sun, 01 Mar 2026 12:00 GMT',
    'Sun, 01 Mar 2026 1:00:30 GMT',
    'Sun, 01 Mar 2026 12:00:30.5 GMT',
    'Sun, 01-Mar-2026 12:00:30 GMT',
    'Sunday, 01 Mar 2026 12:00:30 GMT',
    'Sunday, 01-Mar-2026 12:00:30 GMT',
    'Sun, 01-Mar-26 12:00:30 GMT',
    'Sunday, 01-Mar-26 12:00:30',
    'Tues, 03 Mar 2026 12:00:00 GMT',
    'Sun Mar  1 12:00:30 2026 GMT',
    'Sun Mar 1 12:00:30 2026',
    'Sun Mar  1 12:00:30 26',
    'Sun, Mar  1 12:00:30 2026',
    'Sunday Mar  1 12:00:30 2026',
    'Sun, 01 Mar 2026 12:00:30 GMT, Mon, 02 Mar 2026 12:00:30 GMT',
    'soon 1',
    '1 12:00:30',
  ])('ignores %j, which is no HTTP-date', (value) => {
    expect(parseRetryAfter(value, now)).toBeUndefined();
    expect(parseRetryAfter(new Headers({ 'Retry-After': value }), now)).toBeUndefined();
  });

  it('property: an IMF-fixdate built from any date of years 1970 to 9999 reads as that instant', () => {
    const min = -8.64e15; // the earliest time a Date holds: every such date is after it
    fc.assert(
      fc.property(
        fc.date({
          min: new Date('1970-01-01T00:00:00Z'),
          max: new Date('9999-12-31T23:59:59Z'),
          noInvalidDate: true,
        }),
        (date) => {
          const t = Math.floor(date.getTime() / 1000) * 1000;
          expect(parseRetryAfter(new Date(t).toUTCString(), min)).toBe(t - min);
        },
      ),
      { seed: 9110, numRuns: 2000 },
    );
  });

  it('property: an HTTP-date written by toUTCString() round-trips to the second', () => {
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 10 ** 9 }), (offsetSeconds) => {
        const header = new Date(now + offsetSeconds * 1000).toUTCString();
        expect(parseRetryAfter(header, now)).toBe(offsetSeconds * 1000);
      }),
    );
  });
});
