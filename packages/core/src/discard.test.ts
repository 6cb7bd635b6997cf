import { describe, expect, it } from 'vitest';
import { discard } from './index.js';

describe('discard', () => {
  it('cancels a web stream, without waiting for the cancel', async () => {
    let reason: unknown = 'not cancelled';
    const body = new ReadableStream({
      cancel: (r) => {
        reason = r;
      },
    });
    discard(body);
    await Promise.resolve();
    expect(reason).toBeUndefined();
    expect(() => body.getReader()).not.toThrow(); // cancelled, not locked
  });

  it('cancels a reader, and ignores a cancel that rejects (no unhandled rejection)', async () => {
    const reader = new ReadableStream({ cancel: () => Promise.reject(new Error('late')) }).getReader();
    const unhandled: unknown[] = [];
    const track = (e: unknown) => unhandled.push(e);
    process.on('unhandledRejection', track);
    discard(reader);
    await new Promise((resolve) => setTimeout(resolve, 10));
    process.off('unhandledRejection', track);
    expect(unhandled).toEqual([]);
  });

  it('leaves alone what it cannot cancel: null, no cancel() (a Node stream), a cancel that throws or returns no promise', () => {
    const bodies = [
      null,
      undefined,
      {},
      { cancel: () => undefined },
      {
        cancel: () => {
          throw new TypeError('no');
        },
      },
    ];
    for (const body of bodies) expect(() => discard(body as never)).not.toThrow();
  });
});
