import { createParser, encodeEvent, type SseEvent } from '@integ/sse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

const parseAll = (
  pieces: readonly string[],
): { events: SseEvent[]; retries: number[]; comments: string[] } => {
  const out = { events: [] as SseEvent[], retries: [] as number[], comments: [] as string[] };
  const parser = createParser({
    onEvent: (e) => out.events.push(e),
    onRetry: (ms) => out.retries.push(ms),
    onComment: (c) => out.comments.push(c),
  });
  for (const piece of pieces) parser.feed(piece);
  return out;
};

const split = (s: string, cuts: readonly number[]): string[] => {
  const points = [...new Set(cuts.map((c) => c % (s.length + 1)))].sort((a, b) => a - b);
  const out: string[] = [];
  let last = 0;
  for (const p of points) {
    out.push(s.slice(last, p));
    last = p;
  }
  out.push(s.slice(last));
  return out;
};

// Strings rich in the characters that matter to the format.
const tricky = fc.string({
  unit: fc.oneof(
    fc.constantFrom('\r', '\n', '\r\n', ':', ' ', '\0', '\uFEFF', 'data', 'id', 'event', 'retry', '😀', 'é'),
    fc.string({ maxLength: 3 }),
  ),
  maxLength: 40,
});
const noBreak = (s: string): string => s.replace(/[\r\n]/g, '');

describe('encodeEvent', () => {
  it('writes comment, event, id, retry and data lines and the blank line', () => {
    expect(encodeEvent({ comment: 'hi', event: 'update', id: '7', retry: 1500, data: 'a\r\nb\rc\nd' })).toBe(
      ': hi\nevent: update\nid: 7\nretry: 1500\ndata: a\ndata: b\ndata: c\ndata: d\n\n',
    );
    expect(encodeEvent({ data: '' })).toBe('data: \n\n');
    expect(encodeEvent({})).toBe('\n');
  });

  it('refuses ids with CR, LF or NULL and event names with CR or LF', () => {
    for (const id of ['a\nb', 'a\rb', 'a\0b'])
      expect(() => encodeEvent({ id, data: 'x' })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT' }),
      );
    for (const event of ['a\nb', 'a\r']) expect(() => encodeEvent({ event, data: 'x' })).toThrow(/event/);
    expect(encodeEvent({ event: 'a\0b', data: 'x' })).toBe('event: a\0b\ndata: x\n\n');
  });

  it('refuses an init that is not an object, saying what to pass', () => {
    for (const init of [null, undefined, 'hello', 42])
      expect(() => encodeEvent(init as never)).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARGUMENT',
          argument: 'encodeEvent(init)',
          message: expect.stringContaining("an object such as { data: 'text' }"),
        }),
      );
  });

  it('never prints the payload given as a string by mistake (it may hold a token)', () => {
    const payload = JSON.stringify({ session: 'tok-77' });
    expect(() => encodeEvent(payload as never)).toThrow(/received a string$/);
    expect(() => encodeEvent(payload as never)).not.toThrow(/tok-77/);
  });

  it('refuses a retry that is not a non-negative integer', () => {
    for (const retry of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY])
      expect(() => encodeEvent({ retry })).toThrow(/retry/);
  });

  it('property: parse(encode(events)) == events, in any split', () => {
    const event = fc.record(
      {
        data: tricky,
        event: tricky.map(noBreak),
        id: tricky.map((s) => noBreak(s).replace(/\0/g, '')),
        retry: fc.nat(),
        comment: tricky,
      },
      { requiredKeys: ['data'] },
    );
    fc.assert(
      fc.property(fc.array(event, { maxLength: 8 }), fc.array(fc.nat(), { maxLength: 10 }), (inits, cuts) => {
        const text = inits.map(encodeEvent).join('');
        const { events, retries, comments } = parseAll(split(text, cuts));
        let lastEventId = '';
        const expected = inits.map((init) => {
          if (init.id !== undefined) lastEventId = init.id;
          const type = init.event === undefined || init.event === '' ? 'message' : init.event;
          return { type, data: init.data.replace(/\r\n|\r/g, '\n'), lastEventId };
        });
        expect(events).toEqual(expected);
        expect(retries).toEqual(inits.flatMap((i) => (i.retry === undefined ? [] : [i.retry])));
        expect(comments).toEqual(
          inits.flatMap((i) => (i.comment === undefined ? [] : i.comment.split(/\r\n|\r|\n/))),
        );
      }),
      { seed: 6, numRuns: 500 },
    );
  });
});

describe('createParser properties', () => {
  it('property: random input never throws', () => {
    fc.assert(
      fc.property(fc.array(fc.oneof(tricky, fc.string({ unit: 'binary' })), { maxLength: 20 }), (pieces) => {
        parseAll(pieces);
      }),
      { seed: 7, numRuns: 1000 },
    );
  });

  it('property: any split of the same text gives the same events, retries and comments', () => {
    fc.assert(
      fc.property(
        fc.array(tricky, { maxLength: 10 }),
        fc.array(fc.nat(), { maxLength: 20 }),
        (parts, cuts) => {
          const text = parts.join('');
          expect(parseAll(split(text, cuts))).toEqual(parseAll([text]));
          expect(parseAll(text.split(''))).toEqual(parseAll([text]));
        },
      ),
      { seed: 8, numRuns: 500 },
    );
  });
});
