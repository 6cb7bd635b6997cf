/**
 * Review round 23: a cross-review of c579955 (only a Retry-After HTTP-date's second from 60 up is counted on from
 * its minute; seconds 00-59 go to Date.parse). Each form, hours 00-24 with seconds 00/59/60/99, a '60' in the day,
 * minute or year, and the second's pattern against the rest of the value.
 */
import { parseRetryAfter } from '@integ/retry';
import { describe, expect, it } from 'vitest';

const minute = Date.UTC(1994, 10, 6, 8, 49); // Sun, 06 Nov 1994 08:49:00 GMT
const forms = (time: string, day = '06', year = '1994'): string[] => [
  `Sun, ${day} Nov ${year} ${time} GMT`,
  `Sunday, ${day}-Nov-${year.slice(2)} ${time} GMT`,
  `Sun Nov ${day.replace(/^0/, ' ')} ${time} ${year}`,
];

describe('parseRetryAfter after c579955', () => {
  // RFC 9110 §5.6.7: time-of-day runs 00:00:00 - 23:59:60. c579955 made 24:00:37 no date again, but a second from
  // 60 up was still set to 00 before Date.parse, which takes 24:00:00 (the next midnight): 24:00:60 was a date.
  it('keeps an hour of 24 with a second from 60 up no date, in each form, as with 01-59', () => {
    for (const second of ['60', '61', '99'])
      for (const value of forms(`24:00:${second}`))
        expect(parseRetryAfter(value, minute), value).toBeUndefined();
  });

  it('reads hours 00 to 23 with seconds 00, 59, 60 and 99 in each form, a one-digit day included', () => {
    for (const day of ['06', '16'])
      for (let hour = 0; hour < 24; hour++)
        for (const second of [0, 59, 60, 99]) {
          const start = Date.UTC(1994, 10, +day, hour, 49);
          const time = `${String(hour).padStart(2, '0')}:49:${String(second).padStart(2, '0')}`;
          for (const value of forms(time, day))
            expect(parseRetryAfter(value, start), value).toBe(second * 1000);
        }
    // 24:00:00 is Date.parse's next midnight, as before a445c46 (see the report of review 23).
    for (const value of forms('24:00:00')) expect(parseRetryAfter(value, minute), value).toBe(54_660_000);
  });

  it('leaves a 60 in the minute or the day no date, and a year 2060 a year', () => {
    for (const value of [
      ...forms('08:60:00'),
      ...forms('08:60:37'),
      ...forms('08:60:60'),
      ...forms('08:49:37', '60'),
      ...forms('08:49:60', '60'),
    ])
      expect(parseRetryAfter(value, minute), value).toBeUndefined();
    const start = Date.UTC(2060, 10, 6, 8, 49);
    expect(parseRetryAfter('Sat, 06 Nov 2060 08:49:37 GMT', start)).toBe(37_000);
    expect(parseRetryAfter('Sat Nov  6 08:49:37 2060', start)).toBe(37_000);
    expect(parseRetryAfter('Sat Nov  6 08:49:60 2060', start)).toBe(60_000);
    expect(parseRetryAfter('Sat Nov  6 08:49:99 2060', start)).toBe(99_000);
    expect(parseRetryAfter('Sat, 06 Nov 2060 08:49:60 GMT', start)).toBe(60_000);
    // rfc850-date's year 60 is 1960 to V8 (00-49 are 20xx): a past date, no wait.
    expect(parseRetryAfter('Saturday, 06-Nov-60 08:49:60 GMT', start)).toBe(0);
  });
});
