/**
 * Round 16: maxEventSize's error against what the client does with it, the DOM EventSource against the
 * WHATWG IDL, and what connect() starts before a check that can throw.
 */
import { connect, EventSource, type ReconnectInfo, SseParseError } from '@integ/sse';
import { createFakeClock, createTestServer } from '@integ/testing';
import { HttpResponse, http } from 'msw';
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest';
import { serveEach, WAIT } from './test-server.js';

const serve = serveEach();

describe('an event past maxEventSize', () => {
  it('is reported as retryable, since the client reconnects after it (and gets past it when its id came first)', async () => {
    // The server replays after Last-Event-ID; event 2 (id before data, as encodeEvent writes it) is too large.
    const server = await serve((index) =>
      index === 0
        ? { chunks: ['id: 1\ndata: one\n\n', `id: 2\ndata: ${'x'.repeat(200)}`] }
        : { chunks: ['id: 3\ndata: three\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const stream = connect(server.url, {
      clock,
      backoff: () => 100,
      maxEventSize: 50,
      onError: (error) => errors.push(error),
    });
    const events = stream[Symbol.asyncIterator]();
    expect((await events.next()).value).toMatchObject({ data: 'one' });
    const next = events.next();
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(100);
    expect((await next).value).toMatchObject({ data: 'three', lastEventId: '3' });
    expect(server.requests.map((request) => request.lastEventId)).toEqual([undefined, '2']);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SseParseError);
    // The flag said false while the client retried: a retry policy (or a user reading it) took it for fatal.
    expect(errors[0]).toMatchObject({ code: 'ERR_SSE_EVENT_TOO_LARGE', retryable: true, limit: 50 });
    stream.close();
  });
});

// How users test their integrations (@integ/testing): msw tees a mocked body, and cancel() of a branch never settles
// (discovery's 1b57671), so a client that awaited it would hang where it should fail or reconnect.
describe('against a third-party API mocked with msw', () => {
  const api = createTestServer();
  beforeAll(() => api.listen());
  afterEach(() => api.resetHandlers());
  afterAll(() => api.close());
  const LIVE = 'https://api.example.test/live';
  // A body that sends `first` and then nothing, open for good.
  const open = (first: string) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(new TextEncoder().encode(first));
      },
    });
  const reply = (body: BodyInit | null, init: ResponseInit = {}) =>
    new HttpResponse(body, { headers: { 'content-type': 'text/event-stream' }, ...init });
  const drain = async (stream: AsyncIterable<unknown>) => {
    for await (const _ of stream);
  };

  it('ends with SseHttpError as soon as a 500 or a text/plain answer arrives', async () => {
    api.use(http.get(LIVE, () => reply(open('oops'), { status: 500 })));
    await expect(drain(connect(LIVE))).rejects.toMatchObject({ code: 'ERR_SSE_STATUS', status: 500 });
    api.use(http.get(LIVE, () => reply(open('oops'), { headers: { 'content-type': 'text/plain' } })));
    await expect(drain(connect(LIVE))).rejects.toMatchObject({ code: 'ERR_SSE_CONTENT_TYPE' });
  });

  it('reconnects after an event past maxEventSize and after a silent connection (idleTimeout)', async () => {
    let requests = 0;
    api.use(
      http.get(LIVE, () => {
        requests++;
        return reply(
          open(
            requests === 1 ? `id: 1\ndata: ${'x'.repeat(100)}` : requests === 2 ? ': hi\n' : 'data: ok\n\n',
          ),
        );
      }),
    );
    const clock = createFakeClock();
    const reconnects: ReconnectInfo[] = [];
    const stream = connect(LIVE, {
      clock,
      // A whole-ms wait (the default backoff's jitter would make it fractional and random).
      backoff: () => 100,
      maxEventSize: 10,
      idleTimeout: 1000,
      onReconnect: (info) => reconnects.push(info),
    });
    const next = stream[Symbol.asyncIterator]().next();
    await vi.waitFor(() => expect(reconnects).toHaveLength(1), WAIT);
    expect(reconnects[0]?.error).toBeInstanceOf(SseParseError);
    expect(reconnects[0]?.delay).toBe(100);
    await clock.advance(100);
    await vi.waitFor(() => expect(requests).toBe(2), WAIT);
    await clock.advance(1000);
    await vi.waitFor(() => expect(reconnects).toHaveLength(2), WAIT);
    expect(reconnects[1]?.error).toMatchObject({ code: 'ERR_TIMEOUT' });
    await clock.advance(100);
    expect((await next).value).toMatchObject({ data: 'ok', lastEventId: '1' });
    expect(requests).toBe(3);
    stream.close();
  });

  it('EventSource: close() while the mocked stream is open ends it, readyState CLOSED', async () => {
    api.use(http.get(LIVE, () => reply(open('data: a\n\n'))));
    const source = new EventSource(LIVE);
    const data = await new Promise((resolve) => {
      source.onmessage = (event) => resolve(event.data);
    });
    expect(data).toBe('a');
    source.close();
    expect(source.readyState).toBe(EventSource.CLOSED);
  });
});

describe('EventSource, the DOM details the other suites leave out', () => {
  it("a server's own `event: error` and `event: open` reach onerror and onopen as MessageEvents at OPEN, without reconnecting", async () => {
    const server = await serve(() => ({
      chunks: ['event: error\ndata: e\n\nevent: open\ndata: o\n\ndata: m\n\n'],
      end: 'hang',
    }));
    const source = new EventSource(server.url);
    const seen: unknown[] = [];
    const record = (event: Event) =>
      seen.push([event.type, event instanceof MessageEvent ? event.data : 'Event', source.readyState]);
    source.onopen = record;
    source.onerror = record;
    source.onmessage = record;
    await vi.waitFor(() => expect(seen).toHaveLength(4), WAIT);
    expect(seen).toEqual([
      ['open', 'Event', EventSource.OPEN],
      ['error', 'e', EventSource.OPEN],
      ['open', 'o', EventSource.OPEN],
      ['message', 'm', EventSource.OPEN],
    ]);
    expect(server.requests).toHaveLength(1);
    source.close();
    source.close();
    expect(source.readyState).toBe(EventSource.CLOSED);
  });
});
