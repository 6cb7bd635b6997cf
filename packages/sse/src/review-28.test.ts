/**
 * Review round 28: a cross-review of round 27's fixes (4372b7d, ed51eb6, 635dea8): a read given up on once its
 * reader's cancel settles, undefined chunks ending the stream, and the byte parsers taking what the decoder takes.
 * Probed on a loopback server (the last chunk read before close(), an abort or idleTimeout: parsed once, never twice),
 * with 10,000 chunks, with cancel() functions that settle late or never, and feed() with what the README refuses.
 * The cancel() that never settles joined review-27.test.ts's readers (its idleTimeout and abort tests).
 */
import { connect, createByteParser } from '@integ/sse';
import { describe, expect, it, vi } from 'vitest';
import { outcome, settle } from './test-server.js';

describe('a mock reader whose read() ignores cancel(): a chunk read right before an abort', () => {
  // The chunk is parsed (its read() settled before the cancel), but the loop then started another read() on the
  // cancelled reader, which such a reader never settles: the iteration waited for ever.
  it('ends the iteration with the reason, no read() started after the abort', async () => {
    const encode = (text: string) => new TextEncoder().encode(text);
    let answer!: (result: object) => void;
    const results: Promise<object>[] = [
      Promise.resolve({ done: false, value: encode('data: a\n\n') }),
      new Promise((resolve) => {
        answer = resolve;
      }),
    ];
    const read = vi.fn(() => results.shift() ?? new Promise(() => {}));
    const body = { getReader: () => ({ read }) };
    const response = new Response('', { headers: { 'content-type': 'text/event-stream' } });
    Object.defineProperty(response, 'body', { value: body });
    const controller = new AbortController();
    const iterator = connect('http://h/x', { fetch: async () => response, signal: controller.signal })[
      Symbol.asyncIterator
    ]();
    expect((await iterator.next()).value).toMatchObject({ data: 'a' });
    const last = iterator.next();
    await settle(1);
    answer({ done: false, value: encode('data: b\n\n') });
    controller.abort(new Error('stop'));
    expect(await outcome(last)).toBe('stop');
    expect(read).toHaveBeenCalledTimes(2);
  });
});

describe('createByteParser().feed() checks a chunk by decoding it (635dea8)', () => {
  // What the decoder takes, no more: the README's list is a view or an ArrayBuffer. An array of numbers, an array-like
  // or an object with a buffer is refused, as null is (given as a string), and a refused chunk leaves the decoder's
  // state alone: half a character fed before it is completed by the next chunk.
  it('refuses null, numbers in an array, an array-like, a buffer holder; a refused chunk changes nothing', () => {
    const events: string[] = [];
    const parser = createByteParser({ onEvent: (event) => events.push(event.data) });
    const euro = new TextEncoder().encode('data: \u20ac\n\n');
    parser.feed(euro.subarray(0, 7));
    for (const chunk of [null, [100, 97], { length: 1, 0: 100 }, { buffer: euro.buffer }])
      expect(() => parser.feed(chunk as never)).toThrow(expect.objectContaining({ argument: 'feed(bytes)' }));
    parser.feed(euro.subarray(7));
    expect(events).toEqual(['\u20ac']);
  });
});
