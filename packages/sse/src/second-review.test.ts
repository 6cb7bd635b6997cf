/**
 * Second review of the encoder, the stream forms and EventSource's dispatch (2026-11-24): each test here
 * failed before the fix it names, or pins a rule no other test checked.
 */
import { readFileSync } from 'node:fs';
import { InvalidArgumentError } from '@integ/core';
import {
  createByteParser,
  createByteParserStream,
  createParser,
  createParserStream,
  type EncodeEventInit,
  EventSource,
  encodeEvent,
  type SseEvent,
} from '@integ/sse';
import { createFakeClock, drain } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

/** A fetch whose response body is these chunks, then stays open until the request is aborted. */
const chunkedFetch = (chunks: readonly string[]) =>
  vi.fn(
    async (_url: string | URL | Request, init?: RequestInit) =>
      new Response(
        new ReadableStream<Uint8Array>({
          start(controller) {
            for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
            init?.signal?.addEventListener('abort', () => controller.error(init.signal?.reason));
          },
        }),
        { headers: { 'content-type': 'text/event-stream' } },
      ),
  );

describe('EventSource: one event at a time, as the DOM dispatches each in a task of its own', () => {
  it('runs the microtasks a listener queues before the next event of the same chunk (a close() after an await stops it)', async () => {
    const clock = createFakeClock();
    const fetch = chunkedFetch(['data: 1\n\ndata: 2\n\nevent: x\ndata: 3\n\n']);
    const source = new EventSource('http://sse.test/live', { fetch, clock });
    const trace: string[] = [];
    const log = (event: MessageEvent) => {
      trace.push(`event ${event.data}`);
      queueMicrotask(() => trace.push(`microtask ${event.data}`));
      if (event.data === '2') Promise.resolve().then(() => source.close());
    };
    source.addEventListener('message', log);
    source.addEventListener('x', log);
    await drain();
    expect(source.readyState).toBe(2);
    // Before: 'event 1', 'event 2', 'event 3', then the three microtasks (all events of a chunk at once).
    expect(trace).toEqual(['event 1', 'microtask 1', 'event 2', 'microtask 2']);
  });

  it('dispatches the events before an event past maxEventSize in the same chunk, then the error of the reconnection', async () => {
    const clock = createFakeClock();
    const fetch = chunkedFetch([`data: 1\n\ndata: 2\n\ndata: ${'x'.repeat(100)}\n\n`]);
    const source = new EventSource('http://sse.test/live', { fetch, clock, maxEventSize: 50 });
    const trace: string[] = [];
    source.onmessage = (event) => trace.push(`message ${event.data}`);
    source.onerror = () => {
      trace.push(`error ${source.readyState}`);
      source.close();
    };
    await drain();
    expect(source.readyState).toBe(2);
    expect(trace).toEqual(['message 1', 'message 2', 'error 0']);
  });
});

describe('createByteParser: the rest of a chunk whose callback threw', () => {
  it('is parsed by the next feed(), also one of no bytes or of half a character, as createParser does', () => {
    const encoder = new TextEncoder();
    for (const next of [new Uint8Array(0), Uint8Array.of(0xe2, 0x82)]) {
      const events: string[] = [];
      const parser = createByteParser({
        onEvent: (event) => {
          events.push(event.data);
          if (event.data === '1') throw new Error('listener failed');
        },
      });
      expect(() => parser.feed(encoder.encode('data: 1\n\ndata: 2\n\n'))).toThrow('listener failed');
      // Before: nothing was parsed until a feed() that decoded to some text.
      parser.feed(next);
      expect(events).toEqual(['1', '2']);
    }
  });
});

describe('encodeEvent: an event type needs data', () => {
  it('refuses an event without data (no parser dispatches it) with InvalidArgumentError for data', () => {
    // Before: 'event: ping\n\n' was written, and a browser dispatched nothing.
    for (const init of [{ event: 'ping' }, { event: 'ping', id: '1' }, { event: '', retry: 5 }])
      expect(() => encodeEvent(init), JSON.stringify(init)).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'data' }),
      );
    expect(() => encodeEvent({ event: 'ping' })).toThrow(InvalidArgumentError);
    expect(encodeEvent({ event: 'ping', data: '' })).toBe('event: ping\ndata: \n\n');
    // Fields that mean something without an event are still written alone.
    expect(encodeEvent({ id: '7' })).toBe('id: 7\n\n');
    expect(encodeEvent({ retry: 0, comment: 'keep-alive' })).toBe(': keep-alive\nretry: 0\n\n');
  });

  it('property: whatever it accepts, with or without data, a parser gives back event for event, ids persisting', () => {
    const text = fc.string({
      unit: fc.oneof(
        fc.constantFrom('\r', '\n', '\r\n', ':', ' ', '\0', '\uFEFF', 'é', '😀'),
        fc.string({ maxLength: 2 }),
      ),
      maxLength: 12,
    });
    const init = fc.record(
      { data: text, event: text, id: text, retry: fc.nat(), comment: text },
      { requiredKeys: [] },
    );
    fc.assert(
      fc.property(fc.array(init, { maxLength: 10 }), (inits) => {
        const written: string[] = [];
        const accepted: EncodeEventInit[] = [];
        for (const each of inits)
          try {
            written.push(encodeEvent(each));
            accepted.push(each);
          } catch (error) {
            // Refused only for what the README lists, and then nothing is written.
            expect(error).toBeInstanceOf(InvalidArgumentError);
            expect(
              /[\r\n]/.test(each.event ?? '') ||
                /[\r\n\0]/.test(each.id ?? '') ||
                (each.event !== undefined && each.data === undefined),
            ).toBe(true);
          }
        const events: SseEvent[] = [];
        const parser = createParser({ onEvent: (event) => events.push(event) });
        parser.feed(written.join(''));
        let lastEventId = '';
        const expected: SseEvent[] = [];
        for (const each of accepted) {
          if (each.id !== undefined) lastEventId = each.id;
          if (each.data !== undefined)
            expected.push({
              type: each.event || 'message',
              data: each.data.replace(/\r\n?/g, '\n'),
              lastEventId,
            });
        }
        expect(events).toEqual(expected);
        expect(parser.lastEventId).toBe(lastEventId);
      }),
      { seed: 42, numRuns: 400 },
    );
  });
});

describe('createParserStream: the decoder its example puts in front', () => {
  it('strips no BOM of its own, so a stream keeps exactly one stripped, as createByteParserStream does', async () => {
    // The example in createParserStream's JSDoc, as written there.
    const example = readFileSync(new URL('./stream.ts', import.meta.url), 'utf8');
    const found = /new TextDecoderStream\(([^)]*)\)/.exec(example);
    expect(found).not.toBeNull();
    const args = found?.[1] ?? '';
    const decoder = new Function(`return new TextDecoderStream(${args})`)() as TransformStream<
      Uint8Array,
      string
    >;
    const bytes = () =>
      new ReadableStream<Uint8Array>({
        start(controller) {
          // Two BOMs: the second is part of the first field name, so no event (WPT format-bom-2).
          controller.enqueue(Uint8Array.of(0xef, 0xbb, 0xbf, 0xef, 0xbb, 0xbf));
          controller.enqueue(new TextEncoder().encode('data: 1\n\ndata: 2\n\n'));
          controller.close();
        },
      });
    const read = async (events: ReadableStream<SseEvent>) => {
      const out: string[] = [];
      for await (const event of events as unknown as AsyncIterable<SseEvent>) out.push(event.data);
      return out;
    };
    expect(await read(bytes().pipeThrough(createByteParserStream()))).toEqual(['2']);
    // Before: `new TextDecoderStream()` stripped the first BOM and the parser the second: ['1', '2'].
    expect(await read(bytes().pipeThrough(decoder).pipeThrough(createParserStream()))).toEqual(['2']);
  });
});
