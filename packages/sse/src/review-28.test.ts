/**
 * Review round 28: a cross-review of round 27's fixes (4372b7d, ed51eb6, 635dea8): a read given up on once its
 * reader's cancel settles, undefined chunks ending the stream, and the byte parsers taking what the decoder takes.
 * Probed on a loopback server (the last chunk read before close(), an abort or idleTimeout: parsed once, never twice),
 * with 10,000 chunks, with cancel() functions that settle late or never, and feed() with what the README refuses.
 */
import { connect } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { readsOnce, settle } from './test-server.js';

describe('a mock reader whose read() ignores cancel() and whose cancel() never settles', () => {
  // 4372b7d gave up on such a read only once cancel() settled (or threw): a cancel() that never settles still held
  // the connection for ever, past idleTimeout, close() and an abort, which the README says give it up.
  const data = new TextEncoder().encode('data: a\n\n');
  const fetch = async (): Promise<Response> =>
    readsOnce({ done: false, value: data }, { cancel: () => new Promise(() => {}) });
  it('idleTimeout reconnects', async () => {
    const clock = createFakeClock();
    const onError = vi.fn();
    const stream = connect('http://h/x', { clock, fetch, onError, idleTimeout: 1000 });
    expect((await stream[Symbol.asyncIterator]().next()).value).toMatchObject({ data: 'a' });
    await clock.advance(1000);
    await settle(3);
    expect(onError.mock.calls).toEqual([[expect.objectContaining({ code: 'ERR_TIMEOUT' })]]);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });
  it('an abort ends the iteration with its reason', async () => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const iterator = connect('http://h/x', { clock, fetch, signal: controller.signal })[
      Symbol.asyncIterator
    ]();
    expect((await iterator.next()).value).toMatchObject({ data: 'a' });
    const last = iterator.next();
    controller.abort(new Error('stop'));
    const outcome = await Promise.race([
      last.then(
        () => 'ended',
        (error: Error) => error.message,
      ),
      settle(5).then(() => 'waiting'),
    ]);
    expect(outcome).toBe('stop');
    expect(clock.pendingTimers).toBe(0);
  });
});

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
    const outcome = await Promise.race([
      last.then(
        (result) => JSON.stringify(result.value),
        (error: Error) => error.message,
      ),
      settle(5).then(() => 'waiting'),
    ]);
    expect(outcome).toBe('stop');
    expect(read).toHaveBeenCalledTimes(2);
  });
});
