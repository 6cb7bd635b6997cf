import { InvalidArgumentError } from '@integ/core';
import {
  createByteParser,
  createByteParserStream,
  createParser,
  createParserStream,
  type SseEvent,
} from '@integ/sse';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';

interface Result {
  events: SseEvent[];
  retries: number[];
  comments: string[];
}

/** Feeds `streams` (each a new connection of one parser: reset() between them) in the given pieces. */
function run(streams: readonly (readonly string[])[], lastEventId?: string): Result {
  const result: Result = { events: [], retries: [], comments: [] };
  const parser = createParser({
    onEvent: (event) => result.events.push(event),
    onRetry: (ms) => result.retries.push(ms),
    onComment: (text) => result.comments.push(text),
    lastEventId,
  });
  streams.forEach((pieces, i) => {
    if (i > 0) parser.reset();
    for (const piece of pieces) parser.feed(piece);
  });
  return result;
}

function runBytes(streams: readonly (readonly Uint8Array[])[]): Result {
  const result: Result = { events: [], retries: [], comments: [] };
  const parser = createByteParser({
    onEvent: (event) => result.events.push(event),
    onRetry: (ms) => result.retries.push(ms),
    onComment: (text) => result.comments.push(text),
  });
  streams.forEach((pieces, i) => {
    if (i > 0) parser.reset();
    for (const piece of pieces) parser.feed(piece);
  });
  return result;
}

const splitAt = <T extends { slice(a: number, b?: number): T; length: number }>(
  whole: T,
  cuts: readonly number[],
): T[] => {
  const points = [...new Set(cuts.map((c) => c % (whole.length + 1)))].sort((a, b) => a - b);
  const pieces: T[] = [];
  let last = 0;
  for (const p of points) {
    pieces.push(whole.slice(last, p));
    last = p;
  }
  pieces.push(whole.slice(last));
  return pieces;
};

const chars = (s: string): string[] => s.split('');
const encoder = new TextEncoder();
const bytesOf = (b: Uint8Array): Uint8Array[] => Array.from(b, (x) => Uint8Array.of(x));

const ev = (data: string, lastEventId = '', type = 'message'): SseEvent => ({ type, data, lastEventId });

/**
 * Checks that `streams` give `expected` fed whole, one UTF-16 unit at a time, as UTF-8 bytes one byte at a
 * time, and in 100 random (seeded) splits of text and of bytes.
 */
function conforms(streams: readonly string[], expected: Partial<Result>): void {
  const check = (result: Result): void => {
    if (expected.events) expect(result.events).toEqual(expected.events);
    if (expected.retries) expect(result.retries).toEqual(expected.retries);
    if (expected.comments) expect(result.comments).toEqual(expected.comments);
  };
  check(run(streams.map((s) => [s])));
  check(run(streams.map(chars)));
  check(runBytes(streams.map((s) => bytesOf(encoder.encode(s)))));
  fc.assert(
    fc.property(
      fc.array(fc.array(fc.nat(), { maxLength: 12 }), {
        minLength: streams.length,
        maxLength: streams.length,
      }),
      (cuts) => {
        check(run(streams.map((s, i) => splitAt(s, cuts[i] ?? []))));
        check(runBytes(streams.map((s, i) => splitAt(encoder.encode(s), cuts[i] ?? []))));
      },
    ),
    { seed: 20261123, numRuns: 100 },
  );
}

// The web-platform-tests `eventsource/format-*` cases. Their server (resources/message.py) sends
// `message + "\n\n" + "\n"`, or `message + "\n"` with newline=none; a second entry is the stream after a
// reconnection, as a browser would see it.
describe('createParser: web-platform-tests eventsource/format-*', () => {
  it('format-bom: strips one leading BOM only, a later BOM makes the field name unknown', () => {
    conforms(['\uFEFFdata:1\n\n\uFEFFdata:2\n\ndata:3\n\n\n'], { events: [ev('1'), ev('3')] });
  });

  it('format-bom-2: of two leading BOMs only the first is stripped', () => {
    conforms(['\uFEFF\uFEFFdata:1\n\ndata:2\n\ndata:3\n\n\n'], { events: [ev('2'), ev('3')] });
  });

  it('format-comments: comments end with CR, LF and CRLF and never touch the data', () => {
    const long = 'x'.repeat(2048);
    conforms([`data:1\r:\0\n:\r\ndata:2\n:${long}\rdata:3\n:data:fail\r:${long}\ndata:4\n\n`], {
      events: [ev('1\n2\n3\n4')],
      comments: ['\0', '', long, 'data:fail', long],
    });
  });

  it('format-data-before-final-empty-line: an event cut off by the end of the stream is discarded', () => {
    const stream = 'retry:1000\ndata:test1\n\nid:test\ndata:test2\n';
    // The undispatched `id:test` does not become the last event id, even after a reconnection.
    conforms([stream, stream], { events: [ev('test1'), ev('test1')], retries: [1000, 1000] });
  });

  it('format-field-data: a bare data line dispatches an empty string, two give a newline', () => {
    conforms(['data:\n\ndata\ndata\n\ndata:test\n\n\n'], { events: [ev(''), ev('\n'), ev('test')] });
  });

  it('format-field-event: a named event, then the type resets to message', () => {
    conforms(['event:test\ndata:x\n\ndata:x\n\n\n'], { events: [ev('x', '', 'test'), ev('x')] });
  });

  it('format-field-event-empty: an empty event field means message', () => {
    conforms(['event: \ndata:data\n\n\n'], { events: [ev('data')] });
  });

  it('format-field-id: the last event id persists across a reconnection', () => {
    conforms(['id: …\nretry: 200\ndata: hello\n\n\n', 'data: …\n\n\n'], {
      events: [ev('hello', '…'), ev('…', '…')],
      retries: [200],
    });
  });

  it('format-field-id-2: and across a second one', () => {
    conforms(['id: …\nretry: 200\ndata: hello\n\n\n', 'data: …\n\n\n', 'data: …\n\n\n'], {
      events: [ev('hello', '…'), ev('…', '…'), ev('…', '…')],
    });
  });

  it('format-field-id-3: lastEventId persists between events', () => {
    conforms(['id: 1\ndata: 1\n\ndata:2\n\n'], { events: [ev('1', '1'), ev('2', '1')] });
    conforms(['id: 1\ndata: 1\n\nid: 2\ndata:2\n\ndata:3\n\n'], {
      events: [ev('1', '1'), ev('2', '2'), ev('3', '2')],
    });
  });

  it('format-field-id-3: an empty id resets it, with or without the colon', () => {
    const expected = { events: [ev('1', '1'), ev('2'), ev('3')] };
    conforms(['id: 1\ndata: 1\n\nid:\ndata:2\n\ndata:3\n\n'], expected);
    conforms(['id: 1\ndata: 1\n\nid\ndata:2\n\ndata:3\n\n'], expected);
  });

  it('format-field-id-null: an id containing NULL is ignored', () => {
    for (const id of ['\0\0', 'x\0', '\0x', 'x\0x', ' \0']) {
      conforms([`id: ${id}\nretry: 200\ndata: hello\n\n`, 'data: hello\n\n'], {
        events: [ev('hello'), ev('hello')],
      });
    }
    conforms(['id: 1\ndata: a\n\nid: 2\0\ndata: b\n\n'], { events: [ev('a', '1'), ev('b', '1')] });
  });

  it('format-field-parsing: field names are case-sensitive and end at the first colon', () => {
    conforms(
      [
        'data:\0\ndata:  2\rData:1\ndata\0:2\ndata:1\r\0data:4\nda-ta:3\rdata_5\ndata:3\rdata:\r\n data:32\ndata:4\n\n',
      ],
      { events: [ev('\0\n 2\n1\n3\n\n4')] },
    );
  });

  it('format-field-retry: retry is base ten, leading zeros included', () => {
    conforms(['retry:03000\ndata:x\n\n\n'], { events: [ev('x')], retries: [3000] });
  });

  it('format-field-retry-bogus: a retry that is not all digits is ignored', () => {
    conforms(['retry:3000\nretry:1000x\ndata:x\n\n\n'], { retries: [3000], events: [ev('x')] });
  });

  it('format-field-retry-empty: an empty retry is ignored', () => {
    conforms(['retry\ndata:test\n\n\n'], { retries: [], events: [ev('test')] });
    conforms(['retry:\nretry: \nretry:  5\nretry: -1\nretry: 1e3\nretry: 1.5\nretry: 7\n'], { retries: [7] });
  });

  it('format-field-unknown: unknown fields, lines without colon and comments are ignored', () => {
    conforms(['data:test\n data\ndata\nfoobar:xxx\njustsometext\n:thisisacommentyay\ndata:test\n\n\n'], {
      events: [ev('test\n\ntest')],
    });
  });

  it('format-leading-space: only one leading space is removed, tabs stay', () => {
    conforms(['data:\ttest\rdata: \ndata:test\n\n\n'], { events: [ev('\ttest\n\ntest')] });
  });

  it('format-newlines: CRLF, LF and CR line endings mix', () => {
    conforms(['data:test\r\ndata\ndata:test\r\n\r\n'], { events: [ev('test\n\ntest')] });
  });

  it('format-null-character: NULL in data is kept', () => {
    conforms(['data:\0\n\n\n'], { events: [ev('\0')] });
  });

  it('format-utf-8: the stream is UTF-8, also split inside a character', () => {
    conforms(['data:ok…\n\n\n'], { events: [ev('ok…')] });
    conforms(['data: 😀 ünïcödé 中文\n\n'], { events: [ev('😀 ünïcödé 中文')] });
  });
});

describe('createParser: WHATWG parsing rules', () => {
  it('treats a CR ending one chunk and an LF starting the next as one line ending', () => {
    expect(run([['data:a\r', '\ndata:b\r', '\n\r', '\n']]).events).toEqual([ev('a\nb')]);
    // "\r\r\n\n" is three line endings: CR, CRLF, LF.
    expect(run([['data:a\r\r\n\ndata:b\n\n']]).events).toEqual([ev('a'), ev('b')]);
  });

  it('dispatches an event ended by a CR at once, without waiting for a possible LF', () => {
    const events: SseEvent[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e) });
    parser.feed('data:a\r\r');
    expect(events).toEqual([ev('a')]);
    parser.feed('\ndata:b\n\n');
    expect(events).toEqual([ev('a'), ev('b')]);
  });

  it('takes everything before the first colon as the field name', () => {
    expect(run([['data:a:b: c\n\nevent:x:y\ndata\n\n']]).events).toEqual([ev('a:b: c'), ev('', '', 'x:y')]);
    expect(run([['data :x\ndata\n\n']]).events).toEqual([ev('')]);
  });

  it('dispatches nothing without a data field, and forgets the event type', () => {
    expect(run([['event: a\n\n\n\nid: 5\n\ndata: x\n\n']]).events).toEqual([ev('x', '5')]);
  });

  it('updates the last event id from an event without data', () => {
    const parser = createParser({ onEvent: () => {} });
    parser.feed('id: 42\n\n');
    expect(parser.lastEventId).toBe('42');
    parser.feed('id: 43\ndata: x\n');
    expect(parser.lastEventId).toBe('42');
  });

  it('discards a half-received event on reset() and strips a BOM at the start of the next stream', () => {
    const result = run([['id: 1\ndata: a\n\nid: 2\ndata: b\n'], ['\uFEFFdata: c\n\n']]);
    expect(result.events).toEqual([ev('a', '1'), ev('c', '1')]);
  });

  it('starts from the given lastEventId', () => {
    expect(run([['data: x\n\n']], 'seed').events).toEqual([ev('x', 'seed')]);
  });

  it('reports retry values and comments, with one leading space removed', () => {
    const result = run([[': hello\n:  two\n:\nretry: 2500\n']]);
    expect(result.comments).toEqual(['hello', ' two', '']);
    expect(result.retries).toEqual([2500]);
  });

  it('ignores an empty chunk anywhere, also before the BOM and after a CR', () => {
    expect(run([['', '\uFEFF', '', 'data:a\r', '', '\n', '\n']]).events).toEqual([ev('a')]);
  });

  it('dispatches plain objects with exactly type, data and lastEventId', () => {
    const event = run([['data: x\n\n']]).events[0];
    expect(Object.keys(event ?? {}).sort()).toEqual(['data', 'lastEventId', 'type']);
  });

  it('throws ERR_SSE_EVENT_TOO_LARGE past maxEventSize and then parses the next stream', () => {
    const events: SseEvent[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e), maxEventSize: 12 });
    parser.feed('data: 12345');
    expect(() => parser.feed('67890123')).toThrow(
      expect.objectContaining({ code: 'ERR_SSE_EVENT_TOO_LARGE' }),
    );
    parser.feed('data: ok\n\n');
    expect(events).toEqual([ev('ok')]);
  });

  it('an unfinished event dropped past maxEventSize commits the id it sent before the overflow, not one after', () => {
    const parser = createParser({ onEvent: () => {}, maxEventSize: 12, lastEventId: '1' });
    parser.feed('id: 2\ndata: 1234');
    expect(parser.lastEventId).toBe('1');
    expect(() => parser.feed('567890123')).toThrow(
      expect.objectContaining({ code: 'ERR_SSE_EVENT_TOO_LARGE' }),
    );
    // A reconnecting client sends Last-Event-ID: 2, so the server resumes after the dropped event.
    expect(parser.lastEventId).toBe('2');
    // An id after the overflow is never seen; a NULL id before it is ignored as ever.
    const late = createParser({ onEvent: () => {}, maxEventSize: 12, lastEventId: '1' });
    expect(() => late.feed('data: 1234567890123')).toThrow(expect.objectContaining({ limit: 12 }));
    expect(late.lastEventId).toBe('1');
    expect(() => late.feed('id: 3\0\ndata: 1234567890123')).toThrow(expect.objectContaining({ limit: 12 }));
    expect(late.lastEventId).toBe('1');
  });

  it('drops a complete event larger than maxEventSize inside one chunk, and goes on with the next one', () => {
    for (const nl of ['\n', '\r\n', '\r'])
      for (const body of [`data: ${'x'.repeat(20)}`, `data: ${'x'.repeat(8)}${nl}data: ${'y'.repeat(8)}`]) {
        const events: SseEvent[] = [];
        const parser = createParser({ onEvent: (e) => events.push(e), maxEventSize: 16 });
        const chunk = `data: a${nl}${nl}id: 7${nl}${body}${nl}${nl}data: b${nl}${nl}`;
        expect(() => parser.feed(chunk)).toThrow(
          expect.objectContaining({ code: 'ERR_SSE_EVENT_TOO_LARGE', limit: 16 }),
        );
        // The rest of the chunk is parsed by the next feed(), as after a throwing callback.
        parser.feed('');
        expect(events).toEqual([ev('a'), ev('b', '7')]);
        expect(parser.lastEventId).toBe('7');
      }
  });

  it('property: no dispatched event is larger than maxEventSize, however the stream is split', () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.array(fc.string({ unit: 'grapheme-ascii', maxLength: 12 }), { minLength: 1, maxLength: 3 }),
          {
            maxLength: 8,
          },
        ),
        fc.integer({ min: 1, max: 30 }),
        fc.array(fc.nat(), { maxLength: 6 }),
        fc.constantFrom('\n', '\r\n', '\r'),
        (events, limit, cuts, nl) => {
          const text = events
            .map((lines) => lines.map((l) => `data: ${l.replace(/[\r\n]/g, '')}${nl}`).join('') + nl)
            .join('');
          const seen: SseEvent[] = [];
          const parser = createParser({ onEvent: (e) => seen.push(e), maxEventSize: limit });
          const points = [...new Set(cuts.map((c) => c % (text.length + 1)))].sort((a, b) => a - b);
          let from = 0;
          for (const to of [...points, text.length]) {
            try {
              parser.feed(text.slice(from, to));
            } catch (error) {
              expect(error).toMatchObject({ code: 'ERR_SSE_EVENT_TOO_LARGE' });
            }
            from = to;
          }
          for (const event of seen) expect(event.data.length).toBeLessThanOrEqual(limit);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('dispatches an event of exactly maxEventSize characters', () => {
    const events: SseEvent[] = [];
    const parser = createParser({ onEvent: (e) => events.push(e), maxEventSize: 16 });
    parser.feed(`data: ${'x'.repeat(16)}\n\ndata: ${'y'.repeat(8)}\ndata: ${'z'.repeat(7)}\n\n`);
    expect(events.map((e) => e.data.length)).toEqual([16, 16]);
  });

  it('counts a data line cut by chunks by its value against maxEventSize, not its "data: " (6 characters of slack)', () => {
    const parser = createParser({ onEvent: () => {}, maxEventSize: 12 });
    parser.feed('data: 12345');
    parser.feed('6789012');
    expect(() => parser.feed('3')).toThrow(expect.objectContaining({ code: 'ERR_SSE_EVENT_TOO_LARGE' }));
  });

  it('keeps the rest of a chunk when a callback throws', () => {
    const events: string[] = [];
    const parser = createParser({
      onEvent: (e) => {
        events.push(e.data);
        if (e.data === 'boom') throw new Error('listener failed');
      },
    });
    expect(() => parser.feed('data: boom\n\ndata: next\n\n')).toThrow('listener failed');
    parser.feed('');
    parser.feed('data: last\n\n');
    expect(events).toEqual(['boom', 'next', 'last']);
  });

  it('joins a line fed over many chunks, and keeps the rest when the callback of such a line throws', () => {
    const events: string[] = [];
    const parser = createParser({
      onEvent: (e) => {
        events.push(e.data);
        if (e.data.endsWith('boom')) throw new Error('listener failed');
      },
    });
    const long = 'x'.repeat(5000);
    parser.feed('da');
    parser.feed('ta:');
    for (let i = 0; i < long.length; i += 64) parser.feed(long.slice(i, i + 64));
    parser.feed('\r\ndata: bo');
    parser.feed('om');
    expect(() => parser.feed('\n\ndata: next\r\n\r\ndata: la')).toThrow('listener failed');
    parser.feed('st\n\n');
    expect(events).toEqual([`${long}\nboom`, 'next', 'last']);
  });

  it('rejects a missing onEvent callback and a maxEventSize that is not a number >= 1', () => {
    expect(() => createParser({} as never)).toThrow(
      expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'onEvent' }),
    );
    for (const maxEventSize of [Number.NaN, 0, -1, '10'])
      expect(() => createParser({ onEvent: () => {}, maxEventSize: maxEventSize as number })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'maxEventSize' }),
      );
  });
});

describe('createParser: feed() input', () => {
  it('refuses anything but a string with InvalidArgumentError (bytes go to createByteParser, as its docs say)', () => {
    for (const text of [
      42,
      undefined,
      null,
      new TextEncoder().encode('data: x\n\n'),
      { toString: () => 'x' },
    ]) {
      const parser = createParser({ onEvent: () => {} });
      let error: unknown;
      try {
        parser.feed(text as string);
      } catch (caught) {
        error = caught;
      }
      expect(error).toBeInstanceOf(InvalidArgumentError);
      expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'feed(text)' });
      expect((error as Error).message).toMatch(/^Invalid feed\(text\): expected a string, received /);
    }
  });

  it('does not glue a non-string to the rest of a chunk whose callback threw', () => {
    const events: string[] = [];
    const parser = createParser({
      onEvent: (e) => {
        events.push(e.data);
        if (e.data === 'boom') throw new Error('listener failed');
      },
    });
    expect(() => parser.feed('data: boom\n\ndata: next\n\n')).toThrow('listener failed');
    // Before, 5 became the string "data: next\n\n5": parsed as text, an event too many or too few.
    expect(() => parser.feed(5 as unknown as string)).toThrow(InvalidArgumentError);
    expect(events).toEqual(['boom']);
    parser.feed('data: last\n\n');
    expect(events).toEqual(['boom', 'next', 'last']);
  });
});

describe('createByteParser', () => {
  it('refuses a string or undefined with InvalidArgumentError, and takes any view or ArrayBuffer', () => {
    const events: string[] = [];
    const parser = createByteParser({ onEvent: (e) => events.push(e.data) });
    for (const bytes of ['data: x\n\n', undefined, 42])
      expect(() => parser.feed(bytes as never)).toThrow(
        expect.objectContaining({
          code: 'ERR_INVALID_ARGUMENT',
          argument: 'feed(bytes)',
          message: expect.stringContaining('a Uint8Array (text: createParser)'),
        }),
      );
    // Not in the type, but TextDecoder takes them and they worked before the check.
    parser.feed(new TextEncoder().encode('data: a\n\n').buffer as never);
    parser.feed(new DataView(new TextEncoder().encode('data: b\n\n').buffer) as never);
    expect(events).toEqual(['a', 'b']);
  });

  it('strips one BOM split across chunks and keeps a second one', () => {
    const tail = encoder.encode('data:1\n\ndata:2\n\n');
    const split = runBytes([
      [Uint8Array.of(0xef), Uint8Array.of(0xbb, 0xbf, 0xef, 0xbb), Uint8Array.of(0xbf, ...tail)],
    ]);
    expect(split.events).toEqual([ev('2')]);
    const bom = Uint8Array.of(0xef, 0xbb, 0xbf);
    const two = runBytes([[bom, bom, encoder.encode('data:1\n\ndata:2\n\n')]]);
    expect(two.events).toEqual([ev('2')]);
    const one = runBytes([
      [bom, encoder.encode('data:1\n\n')],
      [bom, encoder.encode('data:2\n\n')],
    ]);
    expect(one.events).toEqual([ev('1'), ev('2')]);
  });

  it('replaces invalid UTF-8 with U+FFFD like the standard decoder', () => {
    expect(runBytes([[Uint8Array.of(0x64, 0x61, 0x74, 0x61, 0x3a, 0xff, 0x0a, 0x0a)]]).events).toEqual([
      ev('\uFFFD'),
    ]);
  });
});

describe('createParserStream', () => {
  it('turns text chunks into events and drops an unfinished one at the end', async () => {
    const chunks = ['\uFEFFevent: a\nda', 'ta: 1\r', '\n\r\nid: 2\ndata: 2\n\ndata: cut'];
    const source = new ReadableStream<string>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(chunk);
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    const reader = source.pipeThrough(createParserStream()).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) events.push(r.value);
    expect(events).toEqual([ev('1', '', 'a'), ev('2', '2')]);
  });
});

describe('createByteParserStream', () => {
  it('decodes bytes split inside characters and strips one BOM, reporting retry and comments', async () => {
    const bytes = new TextEncoder().encode('\uFEFF: hi\nretry: 300\nid: é\ndata: 😀\n\n\uFEFFdata: x\n\n');
    const retries: number[] = [];
    const comments: string[] = [];
    const source = new ReadableStream<Uint8Array>({
      start(controller) {
        for (let i = 0; i < bytes.length; i += 3) controller.enqueue(bytes.slice(i, i + 3));
        controller.close();
      },
    });
    const events: SseEvent[] = [];
    const stream = createByteParserStream({
      onRetry: (ms) => retries.push(ms),
      onComment: (c) => comments.push(c),
    });
    const reader = source.pipeThrough(stream).getReader();
    for (let r = await reader.read(); !r.done; r = await reader.read()) events.push(r.value);
    expect(events).toEqual([ev('😀', 'é')]);
    expect(retries).toEqual([300]);
    expect(comments).toEqual(['hi']);
  });
});
