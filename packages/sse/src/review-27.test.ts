/**
 * Review round 27: a cross-review of round 26's fixes (6e03917, 79635a3, 9f98da2), which cancel a body or reader
 * without throwing, end the stream for a body whose chunks are no bytes, and for a Response with no body property.
 * Probed with every chunk a platform or a mock can give the client and the byte parsers (undefined, null, strings,
 * a DataView, an ArrayBuffer, a Buffer, a Uint8Array or ArrayBuffer from another realm), with cancel() functions that
 * throw, reject or return look-alikes of a promise, or end no pending read(), and with each revert of the three fixes.
 */
import { runInNewContext } from 'node:vm';
import { InvalidArgumentError } from '@integ/core';
import { connect, createByteParser, createByteParserStream, EventSource } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { iterate, outcome, readsOnce, settle, sourceErrors } from './test-server.js';

describe('a custom fetch whose body yields undefined chunks', () => {
  // 79635a3 ended the stream for the chunks TextDecoder refuses, but decode(undefined) reads as no bytes: a body piped
  // through a transform that enqueues what a logging call returns read as a live connection (every chunk counted as
  // activity by idleTimeout) that never delivered an event. response.text() and createByteParser refuse undefined.
  const encoded = new TextEncoder().encode('data: a\n\n');
  const cases: [string, () => Response][] = [
    [
      'a stream piped through a transform that enqueues undefined',
      () =>
        new Response(
          new Response(encoded).body?.pipeThrough(
            new TransformStream({ transform: (_, controller) => controller.enqueue(undefined) }),
          ),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
    ],
    [
      'a mock reader resolving { done: false } without a value, then nothing',
      () => readsOnce({ done: false }, { cancel: async () => {} }),
    ],
  ];
  it.each(cases)(
    '%s: connect() throws an InvalidArgumentError for fetch; an EventSource opens, then closes',
    async (_, response) => {
      const { outcome, fetched, errors, timers } = await iterate(response);
      expect(outcome).toBeInstanceOf(InvalidArgumentError);
      expect(outcome).toMatchObject({ argument: 'fetch' });
      expect([fetched, errors, timers]).toEqual([1, [], 0]);
      expect(await sourceErrors(response)).toEqual({
        states: [-1, EventSource.CLOSED],
        errors: [],
        timers: 0,
      });
    },
  );
});

describe('createByteParser and createByteParserStream given an ArrayBuffer from another realm', () => {
  // The README takes any view or ArrayBuffer (TextDecoder does), but the check was `instanceof ArrayBuffer`, which is
  // false for another realm's: a vm context, as Jest runs each test file in, where Node's own APIs (a Blob's
  // arrayBuffer(), a Buffer's buffer) hand out the outer realm's. A Uint8Array from there passed (ArrayBuffer.isView).
  const foreign = (): ArrayBuffer =>
    runInNewContext('new Uint8Array([100, 97, 116, 97, 58, 32, 97, 10, 10]).buffer'); // 'data: a\n\n'
  it('createByteParser parses it', () => {
    const events: string[] = [];
    createByteParser({ onEvent: (event) => events.push(event.data) }).feed(foreign() as never);
    expect(events).toEqual(['a']);
  });
  it('createByteParserStream parses it', async () => {
    const reader = new ReadableStream({
      start: (controller) => {
        controller.enqueue(foreign());
        controller.close();
      },
    })
      .pipeThrough(createByteParserStream())
      .getReader();
    expect(await reader.read()).toEqual({
      done: false,
      value: { type: 'message', data: 'a', lastEventId: '' },
    });
    expect(await reader.read()).toEqual({ done: true, value: undefined });
  });
});

describe('a mock reader whose read() ignores cancel()', () => {
  // 6e03917 made release() cancel a reader without cancel() (or whose cancel() ends nothing) without throwing, but its
  // pending read() never settled: the watchdog never reconnected, and an abort of the caller's signal (or close() of
  // an EventSource) left the connection loop waiting for ever, connect()'s iteration with it.
  const data = new TextEncoder().encode('data: a\n\n');
  const mock = (extra: object) => async (): Promise<Response> =>
    readsOnce({ done: false, value: data }, extra);
  const readers: [string, object][] = [
    ['without cancel()', {}],
    ['whose cancel() ends nothing', { cancel: async () => {} }],
    // Review 28: 4372b7d gave up on the read only once cancel() settled, never for this one.
    ['whose cancel() never settles', { cancel: () => new Promise(() => {}) }],
  ];
  it.each(readers)('%s: idleTimeout reconnects connect() and an EventSource', async (_, extra) => {
    const clock = createFakeClock();
    const onError = vi.fn();
    const fetch = vi.fn(mock(extra));
    const stream = connect('http://h/x', { clock, fetch, onError, idleTimeout: 1000 });
    expect((await stream[Symbol.asyncIterator]().next()).value).toMatchObject({ data: 'a' });
    await clock.advance(1000);
    await settle(3);
    expect(onError.mock.calls).toEqual([[expect.objectContaining({ code: 'ERR_TIMEOUT' })]]);
    stream.close();
    const source = new EventSource('http://h/x', { clock, fetch: mock(extra), idleTimeout: 1000 });
    const states: number[] = [];
    source.onerror = () => states.push(source.readyState);
    await settle(3);
    await clock.advance(1000);
    await settle(3);
    expect(states).toEqual([EventSource.CONNECTING]);
    source.close();
    expect(clock.pendingTimers).toBe(0);
  });
  it.each(readers)('%s: an abort ends the iteration with its reason', async (_, extra) => {
    const clock = createFakeClock();
    const controller = new AbortController();
    const stream = connect('http://h/x', { clock, fetch: mock(extra), signal: controller.signal });
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).value).toMatchObject({ data: 'a' });
    const last = iterator.next();
    controller.abort(new Error('stop'));
    expect(await outcome(last)).toBe('stop');
    expect(clock.pendingTimers).toBe(0);
  });
});
