/**
 * Review round 37 (brief MUT, parser side): behaviour that mutation testing showed no test pinned. The WHATWG rule
 * that a field name other than data, event, id and retry is ignored, on names one character away from a known one,
 * in the inline LF loop and in line(); exactly one leading BOM after reset() of a byte parser; and the parts of the
 * error messages that tell the user what to fix (the option name, what was expected, the limit, the status).
 */
import {
  createByteParser,
  createParser,
  encodeEvent,
  type SseEvent,
  SseHttpError,
  SseParseError,
} from '@integ/sse';
import { describe, expect, it } from 'vitest';

function parse(stream: string): { events: SseEvent[]; retries: number[]; lastEventId: string } {
  const events: SseEvent[] = [];
  const retries: number[] = [];
  const parser = createParser({ onEvent: (event) => events.push(event), onRetry: (ms) => retries.push(ms) });
  parser.feed(stream);
  return { events, retries, lastEventId: parser.lastEventId };
}

describe('a field name one character away from a known one is ignored (WHATWG: unknown fields)', () => {
  // Each line is checked alone before an event, so a misread name shows in the event's type, data or id.
  it.each(['xvent', 'exent', 'evXnt', 'eveXt', 'evenX', 'abcdt', 'abcnt', 'xxent'])(
    '%s: is not an event type',
    (name) => {
      expect(parse(`${name}: foo\ndata: a\n\n`).events).toEqual([
        { type: 'message', data: 'a', lastEventId: '' },
      ]);
    },
  );

  it.each([
    // After a line whose last characters are the ones the name lacks: a name read at the wrong offset matches there.
    ['data: e\n', 'evXnt'],
    ['data: nY\n', 'eveXt'],
    ['data: tYZ\n', 'evenX'],
  ])('%s then %s: is not an event type', (before, name) => {
    const { events } = parse(`${before}${name}: foo\n\n`);
    expect(events).toHaveLength(1);
    expect(events[0]?.type).toBe('message');
  });

  it.each(['dxta', 'daxa', 'datx', 'dd'])('%s: is not data', (name) => {
    expect(parse(`${name}: x\n\n`).events).toEqual([]);
    expect(parse(`data: a\n${name}: x\n\n`).events).toEqual([
      { type: 'message', data: 'a', lastEventId: '' },
    ]);
  });

  it.each([
    ['data: t\n', 'daxa'],
    ['data: aY\n', 'datx'],
  ])('%s then %s: is not data', (before, name) => {
    expect(parse(`${before}${name}: foo\n\n`).events.map((event) => event.data)).toEqual([
      before.slice(6, -1),
    ]);
  });

  it.each(['xd', 'ix'])('%s: is not an id', (name) => {
    expect(parse(`${name}: 7\ndata: a\n\n`).lastEventId).toBe('');
    expect(parse(`${name}: 7\ndata: a\n\n`).events[0]?.lastEventId).toBe('');
  });

  it('idx after a line ending in a colon is not an id', () => {
    expect(parse('data: a:\nidx: 7\n\n').lastEventId).toBe('');
  });

  it.each(['rabcd', 'xd', 'retrx'])('%s: is not a retry', (name) => {
    expect(parse(`${name}: 5\n`).retries).toEqual([]);
  });

  it('the known names still work in the same streams', () => {
    const { events, retries, lastEventId } = parse('retry: 5\nid: 7\nevent: e\ndata: a\n\n');
    expect(events).toEqual([{ type: 'e', data: 'a', lastEventId: '7' }]);
    expect(retries).toEqual([5]);
    expect(lastEventId).toBe('7');
  });
});

describe('a byte parser strips exactly one leading BOM', () => {
  it('after reset() too (a second BOM starts the first line, whose name is then unknown)', () => {
    const events: SseEvent[] = [];
    const parser = createByteParser({ onEvent: (event) => events.push(event) });
    const bytes = (text: string): Uint8Array => new TextEncoder().encode(text);
    parser.feed(bytes('\uFEFF\uFEFFdata: a\n\ndata: b\n\n'));
    parser.reset();
    parser.feed(bytes('\uFEFF\uFEFFdata: c\n\ndata: d\n\n'));
    expect(events.map((event) => event.data)).toEqual(['b', 'd']);
  });
});

describe('error messages name what to fix', () => {
  it('SseParseError gives maxEventSize and the limit', () => {
    const parser = createParser({ onEvent: () => {}, maxEventSize: 3 });
    let error: unknown;
    try {
      parser.feed('data: abcd\n\n');
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(SseParseError);
    expect((error as Error).message).toContain('maxEventSize');
    expect((error as Error).message).toContain('3');
  });

  it('createParser without onEvent asks for a function', () => {
    expect(() => createParser({} as never)).toThrow('Invalid onEvent: expected a function');
  });

  it('encodeEvent names the field and what it takes', () => {
    expect(() => encodeEvent({ comment: 1 as never })).toThrow('Invalid comment: expected a string');
    expect(() => encodeEvent({ event: 'a\nb', data: '' })).toThrow(
      'Invalid event: expected a string without CR or LF',
    );
    expect(() => encodeEvent({ event: 'ping' })).toThrow(/Invalid data: expected a string with event/);
    expect(() => encodeEvent({ id: 'a\0' })).toThrow('Invalid id: expected a string without CR, LF or NULL');
    expect(() => encodeEvent({ retry: -1 })).toThrow(/Invalid retry: expected an integer .*>= 0/);
    expect(() => encodeEvent({ data: 1 as never })).toThrow('Invalid data: expected a string');
  });

  it('encodeEvent refuses an event that is not a string, even one with no CR or LF in its text', () => {
    expect(() => encodeEvent({ event: 5 as never, data: '' })).toThrow('Invalid event: expected a string');
  });

  it('SseHttpError says what was received and what was expected', () => {
    const status = new SseHttpError('ERR_SSE_STATUS', 404, 'text/html', 'http://h/s');
    expect(status.message).toContain('answered 404 instead of 200');
    const type = new SseHttpError('ERR_SSE_CONTENT_TYPE', 200, 'text/html', 'http://h/s');
    expect(type.message).toContain('answered text/html instead of text/event-stream');
  });
});
