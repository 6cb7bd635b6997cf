/**
 * Round 15: a fresh black-box reading of the issue, the README and the standard.
 */
import { getEventListeners } from 'node:events';
import { connect, createParser, EventSource, SseHttpError } from '@integ/sse';
import { createFakeClock, drain } from '@integ/testing';
import fc from 'fast-check';
import { describe, expect, it, vi } from 'vitest';

describe('connect() refusing an option', () => {
  it('leaves no abort listener on the signal it was given (a bad maxEventSize is checked last)', () => {
    const controller = new AbortController();
    for (const maxEventSize of [0, Number.NaN, -1]) {
      expect(() => connect('https://example.test/live', { signal: controller.signal, maxEventSize })).toThrow(
        expect.objectContaining({ code: 'ERR_INVALID_ARGUMENT', argument: 'maxEventSize' }),
      );
    }
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
  });
});

const URL_ = 'https://example.test/live';
const eventStream = (body: BodyInit | null, init: ResponseInit = {}): Response =>
  new Response(body, { headers: { 'content-type': 'text/event-stream' }, ...init });

describe('createParser, fed in any pieces', () => {
  const stream =
    '\uFEFFretry: 10\r\n:c\r\nid: 1\rdata\n\nevent: e\r\ndata:  x\r\ndata: y\r\rid: a\0b\ndata: z\r\n\r\nid\n\ndata: w\r';
  const parse = (pieces: readonly string[]) => {
    const out: unknown[] = [];
    const parser = createParser({
      onEvent: (event) => out.push(event),
      onRetry: (ms) => out.push(['retry', ms]),
      onComment: (text) => out.push(['comment', text]),
    });
    for (const piece of pieces) parser.feed(piece);
    return { out, lastEventId: parser.lastEventId };
  };
  const whole = parse([stream]);

  it('gives the standard events, one BOM stripped, the half event at the end not dispatched', () => {
    expect(whole.out).toEqual([
      ['retry', 10],
      ['comment', 'c'],
      { type: 'message', data: '', lastEventId: '1' },
      { type: 'e', data: ' x\ny', lastEventId: '1' },
      { type: 'message', data: 'z', lastEventId: '1' },
    ]);
    expect(whole.lastEventId).toBe('');
  });

  it('property: every split of the stream (CR at the end of a piece, LF at the start of the next) gives the same', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.integer({ min: 1, max: stream.length - 1 }), { maxLength: 12 }),
        (cuts) => {
          const at = [0, ...[...cuts].sort((a, b) => a - b), stream.length];
          expect(parse(at.slice(1).map((end, i) => stream.slice(at[i], end)))).toEqual(whole);
        },
      ),
      { seed: 15, numRuns: 500 },
    );
  });
});

describe('connect() and close()', () => {
  it('close() during the reconnection wait: no timer left, nothing fetched again, the iteration ends', async () => {
    const clock = createFakeClock();
    const fetch = vi.fn(async () => eventStream('data: a\n\n'));
    const stream = connect(URL_, { fetch, clock });
    const events: string[] = [];
    const iteration = (async () => {
      for await (const event of stream) events.push(event.data);
    })();
    await drain();
    expect(clock.pendingTimers).toBe(1);
    stream.close();
    await iteration;
    expect(events).toEqual(['a']);
    expect(clock.pendingTimers).toBe(0);
    await clock.runAll();
    expect(fetch).toHaveBeenCalledTimes(1);
  });

  for (const [name, response] of [
    ['204', () => new Response(null, { status: 204, headers: { 'content-type': 'text/event-stream' } })],
    ['404', () => eventStream('data: a\n\n', { status: 404 })],
    ['text/plain', () => new Response('data: a\n\n', { headers: { 'content-type': 'text/plain' } })],
  ] as const) {
    it(`a ${name} response ends the iteration with SseHttpError and nothing reconnects`, async () => {
      const clock = createFakeClock();
      const fetch = vi.fn(async () => response());
      const errors: unknown[] = [];
      const iteration = (async () => {
        for await (const _ of connect(URL_, { fetch, clock, onError: (error) => errors.push(error) }));
      })().catch((error: unknown) => error);
      expect(await iteration).toBeInstanceOf(SseHttpError);
      expect(errors).toHaveLength(1);
      await clock.runAll();
      expect(fetch).toHaveBeenCalledTimes(1);
      expect(clock.pendingTimers).toBe(0);
    });
  }
});

describe('EventSource', () => {
  it('close() in onopen: no message of the first chunk, readyState CLOSED, no timer', async () => {
    const clock = createFakeClock();
    const fetch = vi.fn(async () => eventStream('data: a\n\ndata: b\n\n'));
    const source = new EventSource(URL_, { fetch, clock });
    const seen: string[] = [];
    source.onopen = () => {
      seen.push(`open ${source.readyState}`);
      source.close();
    };
    source.onmessage = (event) => seen.push(event.data);
    source.onerror = () => seen.push('error');
    await drain();
    expect(seen).toEqual(['open 1']);
    await clock.runAll();
    expect(seen).toEqual(['open 1']);
    expect(source.readyState).toBe(EventSource.CLOSED);
    expect(clock.pendingTimers).toBe(0);
    expect(fetch).toHaveBeenCalledTimes(1);
  });
});
