/**
 * Review round 26: a cross-review of round 25's fixes (af35946, 6fee822), which end the stream for a custom fetch's
 * Response whose body cannot be read, or that is no Response. Probed with bodies that are no web stream past
 * getReader(): node-fetch's Node Readable on a 404 (no cancel(): its TypeError was taken for a network error), and a
 * mock's reader without cancel(), or with one that returns no promise (it threw from release(): the iteration hung);
 * with a body whose chunks are no bytes (the decoder's TypeError was retried for ever); and with no body property at
 * all (whatwg-fetch's: taken for a null body, it reconnected for ever).
 */
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '@integ/core';
import { EventSource, SseHttpError } from '@integ/sse';
import { describe, expect, it } from 'vitest';
import { iterate, lookalike, sourceErrors } from './test-server.js';

describe('a custom fetch whose body has no cancel() of a web stream', () => {
  // The body of a response the client does not read is cancelled: node-fetch's Node Readable has no cancel(), and its
  // TypeError was taken for a network error: a 404 reconnected for ever, onError getting SseConnectionErrors.
  it("node-fetch's 404: its SseHttpError ends connect() and an EventSource alike, onError called once", async () => {
    const notFound = () => lookalike(404, 'text/plain', Readable.from(['nope']));
    const { outcome, fetched, errors, timers } = await iterate(notFound);
    expect(outcome).toBeInstanceOf(SseHttpError);
    expect(outcome).toMatchObject({ code: 'ERR_SSE_STATUS', status: 404 });
    expect([fetched, errors, timers]).toEqual([1, [[outcome]], 0]);
    expect(await sourceErrors(notFound)).toEqual({
      states: [EventSource.CLOSED],
      errors: [[expect.objectContaining({ code: 'ERR_SSE_STATUS', status: 404 })]],
      timers: 0,
    });
  });

  // A mock's reader without cancel(), or with one that returns no promise, threw from the end of the connection: the
  // iteration hung (no reconnection, an unhandled rejection) and a later close() threw from the signal's listener.
  it.each([
    ['without cancel()', {}],
    ['whose cancel() returns no promise', { cancel: () => {} }],
  ])('a mock reader %s: each connection delivers its event, then the client reconnects', async (_, extra) => {
    const data = new TextEncoder().encode('data: a\n\n');
    const mock = () =>
      lookalike(200, 'text/event-stream', {
        getReader: () => {
          let reads = 0;
          return { ...extra, read: async () => (reads++ ? { done: true } : { done: false, value: data }) };
        },
      });
    const { outcome, fetched, errors } = await iterate(mock);
    expect([outcome, errors]).toEqual(['pending', []]);
    expect(fetched).toBeGreaterThan(2);
  });
});

describe('a custom fetch whose body yields chunks that are no bytes', () => {
  // A mock's stream of strings (new ReadableStream({ start: (c) => c.enqueue('data: a\n\n') })) cannot be read, as
  // response.text() says too: the decoder's TypeError was taken for a network error, and the client reconnected for ever.
  const strings = (): Response =>
    new Response(new ReadableStream({ start: (controller) => controller.enqueue('data: a\n\n') }), {
      headers: { 'content-type': 'text/event-stream' },
    });
  it('connect() throws an InvalidArgumentError for fetch; an EventSource opens, then closes', async () => {
    const { outcome, fetched, errors, timers } = await iterate(strings);
    expect(outcome).toBeInstanceOf(InvalidArgumentError);
    expect(outcome).toMatchObject({ argument: 'fetch' });
    expect([fetched, errors, timers]).toEqual([1, [], 0]);
    expect(await sourceErrors(strings)).toEqual({ states: [-1, EventSource.CLOSED], errors: [], timers: 0 });
  });
});

describe('a custom fetch whose Response has no body property', () => {
  // whatwg-fetch (the polyfill of jsdom test setups) reads the whole body through XHR and has no `body`: a 200
  // text/event-stream response was taken for one without a body (null, a HEAD request's), opened, ended normally and
  // reconnected for ever, its events never read.
  const polyfilled = () => lookalike(200, 'text/event-stream', undefined);
  it('connect() throws an InvalidArgumentError for fetch; an EventSource closes without opening', async () => {
    const { outcome, fetched, errors, timers } = await iterate(polyfilled);
    expect(outcome).toBeInstanceOf(InvalidArgumentError);
    expect(outcome).toMatchObject({ argument: 'fetch' });
    expect([fetched, errors, timers]).toEqual([1, [], 0]);
    expect(await sourceErrors(polyfilled)).toEqual({ states: [EventSource.CLOSED], errors: [], timers: 0 });
  });
});
