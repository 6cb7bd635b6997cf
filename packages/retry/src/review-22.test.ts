/**
 * Review round 22: a cross-review of a445c46 (a Retry-After HTTP-date's second added to its minute instead of read
 * by Date.parse). Each of RFC 9110 §5.6.7's three forms, the seconds at the edges, seconds digits that also appear
 * elsewhere in the date, header carriers, retry-after-ms, a round trip of toUTCString() and dates that must stay
 * no date.
 */
import { parseRetryAfter, retry } from '@integ/retry';
import { createFakeClock } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { run } from './settle.test-support.js';

const minute = Date.UTC(1994, 10, 6, 8, 49); // Sun, 06 Nov 1994 08:49:00 GMT

describe('parseRetryAfter after a445c46', () => {
  it('reads seconds 00, 59, 60 and 99 in each form, a one-digit day included', () => {
    for (const [second, ms] of [
      ['00', 0],
      ['59', 59_000],
      ['60', 60_000],
      ['99', 99_000],
    ] as const) {
      expect(parseRetryAfter(`Sun, 06 Nov 1994 08:49:${second} GMT`, minute)).toBe(ms);
      expect(parseRetryAfter(`Sunday, 06-Nov-94 08:49:${second} GMT`, minute)).toBe(ms);
      expect(parseRetryAfter(`Sun Nov  6 08:49:${second} 1994`, minute)).toBe(ms);
    }
    // A two-digit day in asctime-date, and a leap second that ends a month.
    expect(parseRetryAfter('Wed Nov 16 08:49:37 1994', Date.UTC(1994, 10, 16, 8, 49))).toBe(37_000);
    expect(parseRetryAfter('Wed Nov 30 23:59:60 1994', Date.UTC(1994, 11, 1))).toBe(0);
    expect(parseRetryAfter('Wed Nov 30 23:59:60 1994', Date.UTC(1994, 10, 30, 23, 59, 59))).toBe(1000);
  });

  it('takes the second, not another field with the same digits (08:37:37, 08:49:49, 08:08:08, day and year alike)', () => {
    const at = (h: number, m: number, s: number): number => Date.UTC(1994, 10, 6, h, m, s);
    for (const [h, m, s] of [
      [8, 37, 37],
      [8, 49, 49],
      [8, 8, 8],
      [6, 6, 6],
      [19, 19, 19],
      [23, 59, 59],
    ] as const) {
      const time = [h, m, s].map((n) => String(n).padStart(2, '0')).join(':');
      const start = at(h, m, 0);
      expect(parseRetryAfter(`Sun, 06 Nov 1994 ${time} GMT`, start)).toBe(s * 1000);
      expect(parseRetryAfter(`Sunday, 06-Nov-94 ${time} GMT`, start)).toBe(s * 1000);
      expect(parseRetryAfter(`Sun Nov  6 ${time} 1994`, start)).toBe(s * 1000);
    }
  });

  // RFC 9110 §5.6.7: time-of-day runs 00:00:00 - 23:59:60. Date.parse takes 24:00:00 (the next midnight) but no
  // other second of hour 24; a445c46 handed it every such time with its second set to 00, which made 24:00:37 a date.
  it('keeps an hour of 24 with a second from 01 to 59 no date, in each form', () => {
    for (const second of ['01', '37', '59']) {
      expect(parseRetryAfter(`Sun, 06 Nov 1994 24:00:${second} GMT`, minute)).toBeUndefined();
      expect(parseRetryAfter(`Sunday, 06-Nov-94 24:00:${second} GMT`, minute)).toBeUndefined();
      expect(parseRetryAfter(`Sun Nov  6 24:00:${second} 1994`, minute)).toBeUndefined();
    }
  });

  // 24:00:60 from review-23 (37c9c54): a second from 60 up was set to 00, and Date.parse takes 24:00:00.
  it.each(['24:00:37', '24:00:60'])(
    'so retry uses its backoff for a 503 whose Retry-After is %s, as for any other malformed date',
    async (time) => {
      const clock = createFakeClock({ now: minute });
      const starts: number[] = [];
      const outcome = await run(
        retry(
          () => {
            starts.push(clock.now() - minute);
            return starts.length < 2
              ? new Response(null, {
                  status: 503,
                  headers: { 'retry-after': `Sun, 06 Nov 1994 ${time} GMT` },
                })
              : new Response('ok');
          },
          { clock, backoff: () => 250, retryOnResult: (res) => res.status === 503 },
        ),
        clock,
      );
      expect(outcome.ok).toBe(true);
      expect(starts).toEqual([0, 250]);
    },
  );

  it('keeps other malformed or unknown dates no date', () => {
    for (const value of [
      'Sun, 06 Nov 1994 08:60:37 GMT',
      'Sun, 06 Nov 1994 25:00:00 GMT',
      'Sun, 06 Foo 1994 08:49:37 GMT',
      'Sun, 06 Nov 1994 08:49:3 GMT',
      'Sun, 06 Nov 1994 08:49:370 GMT',
      'Sun Nov 6 08:49:37 1994',
      'Sun, 06 Nov 1994 08:49:37 UTC',
      'sun, 06 Nov 1994 08:49:37 GMT',
    ])
      expect(parseRetryAfter(value, minute), value).toBeUndefined();
  });

  it('reads the same from a Headers, a plain object and a get() lookalike; retry-after-ms still wins', () => {
    const value = 'Sun Nov  6 08:49:60 1994';
    expect(parseRetryAfter(new Headers({ 'retry-after': value }), minute)).toBe(60_000);
    expect(parseRetryAfter({ 'retry-after': value }, minute)).toBe(60_000);
    expect(parseRetryAfter({ get: (n: string) => (n === 'retry-after' ? value : null) }, minute)).toBe(
      60_000,
    );
    expect(parseRetryAfter(new Headers({ 'retry-after': value, 'retry-after-ms': '1500' }), minute)).toBe(
      1500,
    );
    expect(parseRetryAfter({ 'retry-after': value, 'retry-after-ms': '2.5' }, minute)).toBe(2.5);
    expect(parseRetryAfter({ 'retry-after': value, 'retry-after-ms': 'soon' }, minute)).toBe(60_000);
  });

  it('reads new Date(t).toUTCString() back as t rounded down to the second, and its asctime-date alike (years 100-9999)', () => {
    const months = 'JanFebMarAprMayJunJulAugSepOctNovDec';
    fc.assert(
      fc.property(
        // 0100-01-01 to 9999-12-31: a year below 100 Date.parse reads as 19xx/20xx (left as is, see the report).
        fc.integer({ min: Date.UTC(100, 0, 1), max: Date.UTC(9999, 11, 31, 23, 59, 59, 999) }),
        fc.integer({ min: 0, max: 86_400_000 }),
        (t, before) => {
          const second = Math.floor(t / 1000) * 1000;
          const now = second - before;
          const d = new Date(t);
          expect(parseRetryAfter(d.toUTCString(), now)).toBe(before);
          const asctime = `${d.toUTCString().slice(0, 3)} ${months.slice(d.getUTCMonth() * 3, d.getUTCMonth() * 3 + 3)} ${String(d.getUTCDate()).padStart(2, ' ')} ${d.toISOString().slice(11, 19)} ${String(d.getUTCFullYear()).padStart(4, '0')}`;
          expect(parseRetryAfter(asctime, now)).toBe(before);
        },
      ),
      { seed: 22, numRuns: 2000 },
    );
  });
});
