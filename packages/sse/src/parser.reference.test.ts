/**
 * The parser against a naive model written line by line from the WHATWG "Parsing an event stream" steps
 * (a whole-stream, allocation-happy implementation with nothing in common with the fast one): on random
 * streams built from the tokens where parsers go wrong, fed whole, one character at a time, in random
 * splits, as bytes, over several reconnections (reset()), and with callbacks that throw.
 */
import { createByteParser, createParser, type SseEvent } from '@integ/sse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

interface Outcome {
  events: SseEvent[];
  retries: number[];
  comments: string[];
  lastEventId: string;
}

/** One stream parsed by the standard's steps, the id buffer starting at `lastEventId`. */
function model(stream: string, lastEventId = ''): Outcome {
  const out: Outcome = { events: [], retries: [], comments: [], lastEventId };
  const text = stream.startsWith('\uFEFF') ? stream.slice(1) : stream;
  // Lines end at CRLF, LF or CR; the text after the last line ending is an unfinished line, dropped.
  const lines = text.split(/\r\n|\r|\n/);
  lines.pop();
  let data = '';
  let type = '';
  let idBuffer = lastEventId;
  for (const line of lines) {
    if (line === '') {
      out.lastEventId = idBuffer;
      if (data !== '')
        out.events.push({ type: type || 'message', data: data.slice(0, -1), lastEventId: idBuffer });
      data = '';
      type = '';
    } else if (line.startsWith(':')) out.comments.push(line.slice(1).replace(/^ /, ''));
    else {
      const colon = line.indexOf(':');
      const name = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (name === 'event') type = value;
      else if (name === 'data') data += `${value}\n`;
      else if (name === 'id' && !value.includes('\0')) idBuffer = value;
      else if (name === 'retry' && /^[0-9]+$/.test(value)) out.retries.push(Number(value));
    }
  }
  return out;
}

/** Streams of one connection after another, as a client that reconnects sees them. */
function modelStreams(streams: readonly string[]): Outcome {
  const all: Outcome = { events: [], retries: [], comments: [], lastEventId: '' };
  for (const stream of streams) {
    const one = model(stream, all.lastEventId);
    all.events.push(...one.events);
    all.retries.push(...one.retries);
    all.comments.push(...one.comments);
    all.lastEventId = one.lastEventId;
  }
  return all;
}

const token = fc.constantFrom(
  ...['data', 'data:', 'data: ', 'event', 'event:', 'id', 'id:', 'retry', 'retry:', ':', ': ', ' '],
  ...['\r', '\n', '\r\n', '\n\n', '\r\r', 'a', '1', '07', '\0', '\uFEFF', 'x:', 'dat', 'Data', 'ev', 'i'],
  ...['é', '😀', '\t', 'da', 'ta:'],
);
const stream = fc.array(token, { maxLength: 80 }).map((tokens) => tokens.join(''));

function pieces<T extends { slice(a: number, b?: number): T; length: number }>(
  whole: T,
  cuts: number[],
): T[] {
  const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
  const out: T[] = [];
  let last = 0;
  for (const point of points) {
    out.push(whole.slice(last, point));
    last = point;
  }
  out.push(whole.slice(last));
  return out;
}

describe('createParser against a model of the standard', () => {
  it('gives the same events, retries, comments and last event id, however the streams are cut', () => {
    fc.assert(
      fc.property(
        fc.array(stream, { minLength: 1, maxLength: 3 }),
        fc.array(fc.nat(300), { maxLength: 8 }),
        (streams, cuts) => {
          const expected = modelStreams(streams);
          for (const split of ['whole', 'chars', 'random'] as const) {
            const got: Outcome = { events: [], retries: [], comments: [], lastEventId: '' };
            const parser = createParser({
              onEvent: (event) => got.events.push(event),
              onRetry: (ms) => got.retries.push(ms),
              onComment: (text) => got.comments.push(text),
            });
            streams.forEach((text, i) => {
              if (i > 0) parser.reset();
              const parts =
                split === 'whole' ? [text] : split === 'chars' ? text.split('') : pieces(text, cuts);
              for (const part of parts) parser.feed(part);
            });
            got.lastEventId = parser.lastEventId;
            expect(got).toEqual(expected);
          }
          const events: SseEvent[] = [];
          const bytes = createByteParser({ onEvent: (event) => events.push(event) });
          streams.forEach((text, i) => {
            if (i > 0) bytes.reset();
            for (const part of pieces(new TextEncoder().encode(text), cuts)) bytes.feed(part);
          });
          expect(events).toEqual(expected.events);
          expect(bytes.lastEventId).toBe(expected.lastEventId);
        },
      ),
      { numRuns: 3000, seed: 20_261_123 },
    );
  });

  it('loses and repeats nothing when callbacks throw: the rest of the chunk is parsed by the next feed()', () => {
    fc.assert(
      fc.property(
        stream,
        fc.array(fc.nat(300), { maxLength: 8 }),
        fc.array(fc.boolean(), { minLength: 16, maxLength: 16 }),
        (text, cuts, throws) => {
          const got: Outcome = { events: [], retries: [], comments: [], lastEventId: '' };
          let calls = 0;
          const maybeThrow = (): void => {
            if (throws[calls++ % throws.length]) throw new Error('callback failed');
          };
          const parser = createParser({
            onEvent: (event) => {
              got.events.push(event);
              maybeThrow();
            },
            onRetry: (ms) => {
              got.retries.push(ms);
              maybeThrow();
            },
            onComment: (comment) => {
              got.comments.push(comment);
              maybeThrow();
            },
          });
          const feed = (part: string): boolean => {
            try {
              parser.feed(part);
              return true;
            } catch {
              return false;
            }
          };
          for (const part of pieces(text, cuts)) feed(part);
          // Each feed('') parses what a throw left over; one that returns normally has parsed all of it.
          for (let i = 0; i <= text.length && !feed(''); i++);
          got.lastEventId = parser.lastEventId;
          expect(got).toEqual(model(text));
        },
      ),
      { numRuns: 2000, seed: 7 },
    );
  });
});
