import { getEventListeners } from 'node:events';
import { Readable } from 'node:stream';
import { InvalidArgumentError } from '@integ/core';
import { exponential } from '@integ/retry';
import {
  connect,
  type ReconnectInfo,
  type SseConnection,
  SseConnectionError,
  SseHttpError,
} from '@integ/sse';
import { createFakeClock, drain, seededRandom } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';

import { ev, type Reply, type SseTestServer, startSseServer, WAIT } from './test-server.js';

let server: SseTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(script: (index: number) => Reply): Promise<SseTestServer> {
  server = await startSseServer((request) => script(request.index));
  return server;
}

describe('connect', () => {
  it('reconnects after the server closes, sending Last-Event-ID', async () => {
    const srv = await serve((i) =>
      i === 0
        ? { chunks: ['id: 1\ndata: a\n\n', 'id: 2\ndata: b\n\n'] }
        : { chunks: ['data: c\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const reconnects: ReconnectInfo[] = [];
    const stream = connect(srv.url, {
      clock,
      random: seededRandom(1),
      onReconnect: (info) => reconnects.push(info),
    });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('a', '1'));
    expect((await it.next()).value).toEqual(ev('b', '2'));
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    expect(reconnects).toEqual([
      { attempt: 1, delay: reconnects[0]?.delay, error: undefined, lastEventId: '2' },
    ]);
    const delay = reconnects[0]?.delay ?? -1;
    // Equal jitter on the 1000 ms default: between 500 and 1000 ms.
    expect(delay).toBeGreaterThanOrEqual(500);
    expect(delay).toBeLessThan(1000);
    await clock.advance(delay - 1);
    expect(srv.requests).toHaveLength(1);
    await clock.advance(1);
    expect((await it.next()).value).toEqual(ev('c', '2'));
    expect(srv.requests[0]?.lastEventId).toBeUndefined();
    expect(srv.requests[1]?.lastEventId).toBe('2');
    expect(srv.requests[1]?.headers.accept).toBe('text/event-stream');
    expect(stream.lastEventId).toBe('2');
    stream.close();
    expect(clock.pendingTimers).toBe(0);
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await srv.closed(1);
  });

  it('sends an id with characters above U+00FF as UTF-8 in Last-Event-ID, as a browser does', async () => {
    const srv = await serve((i) =>
      i === 0 ? { chunks: ['id: €-é\ndata: a\n\n'] } : { chunks: ['data: b\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const stream = connect(srv.url, { clock });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('a', '€-é'));
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(1000);
    expect((await it.next()).value).toEqual(ev('b', '€-é'));
    // Node's server reads header bytes as Latin-1.
    expect(Buffer.from(srv.requests[1]?.lastEventId ?? '', 'latin1').toString('utf8')).toBe('€-é');
    stream.close();
  });

  it('sends the initial lastEventId on the first request', async () => {
    const srv = await serve(() => ({ chunks: ['data: x\n\n'], end: 'hang' }));
    const stream = connect(srv.url, { lastEventId: '41' });
    for await (const event of stream) {
      expect(event).toEqual(ev('x', '41'));
      break;
    }
    expect(srv.requests[0]?.lastEventId).toBe('41');
    await srv.closed(0);
  });

  for (const [name, reply, code] of [
    ['204', { status: 204 }, 'ERR_SSE_STATUS'],
    [
      '404',
      { status: 404, headers: { 'content-type': 'text/plain' }, chunks: ['not found'] },
      'ERR_SSE_STATUS',
    ],
    ['500', { status: 500, chunks: ['data: x\n\n'] }, 'ERR_SSE_STATUS'],
    [
      'a text/plain content type',
      { headers: { 'content-type': 'text/plain' }, chunks: ['data: x\n\n'] },
      'ERR_SSE_CONTENT_TYPE',
    ],
    ['format-mime-bogus: "x bogus"', { headers: { 'content-type': 'x bogus' } }, 'ERR_SSE_CONTENT_TYPE'],
    [
      'format-mime-valid-bogus: text/x-bogus',
      { headers: { 'content-type': 'text/x-bogus' } },
      'ERR_SSE_CONTENT_TYPE',
    ],
  ] as const) {
    it(`stops for good on ${name}, with ${code} and no reconnection`, async () => {
      const srv = await serve(() => reply);
      const clock = createFakeClock();
      const errors: unknown[] = [];
      const reconnects: unknown[] = [];
      let fetches = 0;
      const stream = connect(srv.url, {
        clock,
        fetch: (input, init) => {
          fetches++;
          return fetch(input, init);
        },
        onError: (error) => errors.push(error),
        onReconnect: (info) => reconnects.push(info),
      });
      const failure = await (async () => {
        try {
          for await (const _ of stream) throw new Error('no event expected');
        } catch (error) {
          return error;
        }
        return undefined;
      })();
      expect(failure).toBeInstanceOf(SseHttpError);
      expect(failure).toMatchObject({ code, retryable: false });
      if (code === 'ERR_SSE_STATUS') expect((failure as SseHttpError).status).toBe(reply.status);
      expect(errors).toEqual([failure]);
      await clock.runAll();
      expect(fetches).toBe(1);
      expect(srv.requests).toHaveLength(1);
      expect(reconnects).toEqual([]);
      expect(clock.pendingTimers).toBe(0);
    });
  }

  it('format-mime-trailing-semicolon and format-utf-8: parameters are ignored and the body is always UTF-8', async () => {
    const srv = await serve((i) => ({
      headers: { 'content-type': i === 0 ? 'text/event-stream;' : 'Text/Event-Stream; charset=windows-1252' },
      chunks: [i === 0 ? 'data: one\n\n' : new Uint8Array([...new TextEncoder().encode('data:ok…\n\n')])],
      end: i === 0 ? 'close' : 'hang',
    }));
    const clock = createFakeClock();
    const stream = connect(srv.url, { clock });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('one'));
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.runAll();
    expect((await it.next()).value).toEqual(ev('ok…'));
    stream.close();
  });

  it('strips one BOM split across network chunks, and decodes characters split across them', async () => {
    const bytes = new TextEncoder().encode('\uFEFFdata: é😀\n\n');
    const srv = await serve(() => ({
      chunks: [bytes.slice(0, 2), bytes.slice(2, 9), bytes.slice(9, 11), bytes.slice(11)],
      end: 'hang',
    }));
    const stream = connect(srv.url);
    for await (const event of stream) {
      expect(event).toEqual(ev('é😀'));
      break;
    }
  });

  it('waits the server retry plus an exponential backoff with jitter, up to maxDelay', async () => {
    const srv = await serve(() => ({ chunks: ['retry: 150\n\n'] }));
    const clock = createFakeClock();
    const reconnects: ReconnectInfo[] = [];
    const backoff = exponential({ initial: 100, factor: 2, max: 10_000, jitter: 'equal' });
    const stream = connect(srv.url, {
      clock,
      random: seededRandom(42),
      backoff,
      maxDelay: 1000,
      onReconnect: (info) => reconnects.push(info),
    });
    const reference = seededRandom(42);
    const expected: number[] = [];
    for (let attempt = 1; attempt <= 7; attempt++) {
      // The documented wait: the floor, plus the backoff (at most the cap) scaled into the room below the cap.
      const b = Math.min(1000, backoff({ attempt, previousDelay: 0, random: reference }));
      expected.push(150 + (b * (1000 - 150)) / 1000);
      await vi.waitFor(() => expect(reconnects).toHaveLength(attempt), WAIT);
      await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
      const info = reconnects[attempt - 1];
      expect(info?.attempt).toBe(attempt);
      expect(info?.delay).toBe(expected[attempt - 1]);
      await clock.advance((info?.delay ?? 0) - 1);
      expect(srv.requests).toHaveLength(attempt);
      await clock.advance(1);
      await vi.waitFor(() => expect(srv.requests).toHaveLength(attempt + 1), WAIT);
    }
    // Every wait is over the floor (equal jitter of 100 ms adds 50 to 100 ms, times 0.85), the last ones at
    // the cap (the backoff has reached it).
    expect(expected[0]).toBeGreaterThanOrEqual(150 + 50 * 0.85);
    expect(expected[0]).toBeLessThanOrEqual(150 + 100 * 0.85);
    expect(expected[6]).toBe(1000);
    expect(new Set(expected).size).toBeGreaterThan(3);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('starts the backoff over once a connection delivers an event', async () => {
    const srv = await serve((i) => ({ chunks: i === 2 ? ['data: x\n\n'] : [] }));
    const clock = createFakeClock();
    const attempts: number[] = [];
    const stream = connect(srv.url, { clock, onReconnect: (info) => attempts.push(info.attempt) });
    const it = stream[Symbol.asyncIterator]();
    for (let n = 1; n <= 2; n++) {
      await vi.waitFor(() => expect(attempts).toHaveLength(n), WAIT);
      await clock.runAll();
    }
    expect((await it.next()).value).toEqual(ev('x'));
    await vi.waitFor(() => expect(attempts).toHaveLength(3), WAIT);
    expect(attempts).toEqual([1, 2, 1]);
    stream.close();
  });

  it('the watchdog reconnects a connection that stays silent for idleTimeout ms', async () => {
    const srv = await serve((i) => ({ chunks: [`data: ${i}\n\n`], end: 'hang' }));
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const stream = connect(srv.url, { clock, idleTimeout: 5000, onError: (error) => errors.push(error) });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('0'));
    await clock.advance(3000);
    srv.responses.get(0)?.write('data: alive\n\n');
    expect((await it.next()).value).toEqual(ev('alive'));
    // Data at t=3000 moved the deadline to t=8000.
    await clock.advance(4999);
    expect(errors).toEqual([]);
    await clock.advance(1);
    await srv.closed(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toMatchObject({ code: 'ERR_TIMEOUT', timeoutMs: 5000 });
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(1000);
    expect((await it.next()).value).toEqual(ev('1'));
    expect(srv.requests).toHaveLength(2);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('the watchdog also ends a body that ignores the abort (a custom fetch, a mocked Response)', async () => {
    const clock = createFakeClock();
    const errors: unknown[] = [];
    let cancelled = 0;
    const fetchStub = vi.fn(async () => {
      // A Response made by hand: its body knows nothing of the request's signal.
      const body = new ReadableStream<Uint8Array>({
        start: (c) => c.enqueue(new TextEncoder().encode(`data: ${fetchStub.mock.calls.length}\n\n`)),
        cancel: () => {
          cancelled++;
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const stream = connect('http://example.test/live', {
      fetch: fetchStub,
      clock,
      idleTimeout: 5000,
      onError: (error) => errors.push(error),
    });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('1'));
    await clock.advance(5000);
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect(errors[0]).toMatchObject({ code: 'ERR_TIMEOUT', timeoutMs: 5000 });
    expect(cancelled).toBe(1);
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    // The first reconnect waits at most 1 s by default.
    await clock.advance(1000);
    expect((await it.next()).value).toEqual(ev('2'));
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('the watchdog does not count the time the client stops reading for a slow consumer', async () => {
    // One chunk of 1,100 events (past the 1,024 high-water mark), then an open, silent body that errors
    // when the request is aborted, as fetch's does.
    const burst = Array.from({ length: 1100 }, (_, n) => `data: ${n}\n\n`).join('');
    const fetch = vi.fn(async (_url: RequestInfo | URL, init?: RequestInit) => {
      const body = new ReadableStream<Uint8Array>({
        start(controller) {
          controller.enqueue(new TextEncoder().encode(burst));
          init?.signal?.addEventListener('abort', () => controller.error(init.signal?.reason));
        },
      });
      return new Response(body, { headers: { 'content-type': 'text/event-stream' } });
    });
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const stream = connect('http://127.0.0.1:9/live', {
      clock,
      fetch,
      idleTimeout: 5000,
      onError: (error) => errors.push(error),
    });
    // The client reads the burst and stops reading: nobody has taken an event yet.
    await clock.advance(0);
    await clock.advance(20_000);
    expect(errors).toEqual([]);
    const it = stream[Symbol.asyncIterator]();
    for (let n = 0; n < 1100; n++) expect((await it.next()).value).toEqual(ev(String(n)));
    // Reading resumed with the consumer: the server's silence counts from there.
    await clock.advance(4999);
    expect(errors).toEqual([]);
    await clock.advance(1);
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect(errors[0]).toMatchObject({ code: 'ERR_TIMEOUT' });
    expect(fetch).toHaveBeenCalledTimes(1);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a throwing hook ends the stream with its error instead of reconnecting', async () => {
    const srv = await serve(() => ({ chunks: ['data: a\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    const bug = new Error('bug in onOpen');
    const stream = connect(srv.url, {
      clock,
      onOpen: () => {
        throw bug;
      },
    });
    await expect(stream[Symbol.asyncIterator]().next()).rejects.toBe(bug);
    await srv.closed(0);
    expect(srv.requests).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('refuses a ReadableStream body, which the first request would use up', () => {
    const body = new ReadableStream({ start: (c) => c.close() });
    expect(() => connect('http://127.0.0.1:9/live', { method: 'POST', body: body as never })).toThrow(
      InvalidArgumentError,
    );
    expect(() => connect('http://127.0.0.1:9/live', { method: 'POST', body: 'q=1' }).close()).not.toThrow();
  });

  it('sends a Blob, URLSearchParams, FormData or ArrayBuffer body again, unchanged, on the reconnection', async () => {
    server = await startSseServer(() => ({ chunks: ['data: x\n\n'] }));
    const srv = server;
    const form = new FormData();
    form.set('f', 'v');
    const bodies = [
      new Blob(['b=1']),
      new URLSearchParams('u=1'),
      form,
      new TextEncoder().encode('a=1').buffer as ArrayBuffer,
    ];
    for (const body of bodies) {
      const clock = createFakeClock();
      const from = srv.requests.length;
      const it = connect(srv.url, { clock, method: 'POST', body, maxDelay: 10 })[Symbol.asyncIterator]();
      expect((await it.next()).value).toEqual(ev('x'));
      await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
      await clock.advance(10);
      expect((await it.next()).value).toEqual(ev('x'));
      await it.return?.();
      const [first, second] = srv.requests.slice(from).map((r) => r.body.replace(/--[\w-]+/g, '--'));
      // A form gets a new multipart boundary per request: the same parts.
      expect(first).toMatch(/[abu]=1|name="f"/);
      expect(second).toBe(first);
    }
  });

  it('refuses an async iterable body (a Node stream, a generator), which fetch refuses on every attempt', async () => {
    server = await startSseServer(() => ({ chunks: ['data: x\n\n'] }));
    const srv = server;
    async function* generated(): AsyncGenerator<Uint8Array> {
      yield new TextEncoder().encode('q=1');
    }
    // Node's fetch takes these only with duplex: 'half', and then once: each attempt failed with a TypeError
    // ("duplex option is required"), taken for a network error and retried for ever, and no request was sent.
    for (const body of [Readable.from(['q=1']), generated()])
      expect(() => connect(srv.url, { method: 'POST', body: body as never })).toThrow(
        expect.objectContaining({ name: 'InvalidArgumentError', message: expect.stringMatching(/body/) }),
      );
    const it = connect(srv.url, { method: 'POST', body: new URLSearchParams('q=1') })[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('x'));
    await it.return?.();
    expect(srv.requests.map((r) => r.body)).toEqual(['q=1']);
  });

  it('refuses a URL with user:password up front, without echoing the password', () => {
    const attempt = () => connect('http://user:s3cret@127.0.0.1:9/live');
    expect(attempt).toThrow(InvalidArgumentError);
    expect(attempt).toThrow(/without user:password/);
    expect(attempt).not.toThrow(/s3cret/);
  });

  it('the watchdog also gives up on a server that accepts the request and never answers', async () => {
    server = await startSseServer((request) =>
      request.index === 0 ? new Promise<Reply>(() => {}) : { chunks: ['data: late\n\n'], end: 'hang' },
    );
    const srv = server;
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const stream = connect(srv.url, { clock, idleTimeout: 2000, onError: (error) => errors.push(error) });
    const it = stream[Symbol.asyncIterator]();
    await vi.waitFor(() => expect(srv.requests).toHaveLength(1), WAIT);
    await clock.advance(2000);
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect(errors[0]).toMatchObject({ code: 'ERR_TIMEOUT' });
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(1000);
    expect((await it.next()).value).toEqual(ev('late'));
    stream.close();
  });

  it('aborting closes the connection at once: no timer left, body reader cancelled, iteration rejects', async () => {
    const srv = await serve(() => ({ chunks: ['data: a\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    const controller = new AbortController();
    const stream = connect(srv.url, { clock, signal: controller.signal, idleTimeout: 10_000 });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('a'));
    expect(clock.pendingTimers).toBe(1);
    const reason = new Error('user left');
    controller.abort(reason);
    expect(clock.pendingTimers).toBe(0);
    await expect(it.next()).rejects.toBe(reason);
    await srv.closed(0);
    await clock.runAll();
    expect(srv.requests).toHaveLength(1);
  });

  it('aborting during the reconnection wait frees the timer and never reconnects', async () => {
    const srv = await serve(() => ({ chunks: ['data: a\n\n'] }));
    const clock = createFakeClock();
    const controller = new AbortController();
    const stream = connect(srv.url, { clock, signal: controller.signal });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    controller.abort();
    expect(clock.pendingTimers).toBe(0);
    await expect(it.next()).rejects.toMatchObject({ name: 'AbortError' });
    await clock.runAll();
    expect(srv.requests).toHaveLength(1);
  });

  it('close() and break end the iteration quietly and close the socket', async () => {
    const srv = await serve(() => ({ chunks: ['data: a\n\n'], end: 'hang' }));
    const seen: string[] = [];
    for await (const event of connect(srv.url)) {
      seen.push(event.data);
      break;
    }
    expect(seen).toEqual(['a']);
    await srv.closed(0);
    const stream = connect(srv.url);
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    stream.close();
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await srv.closed(1);
  });

  it('yields nothing after close(), not even a chunk whose read had completed when close() was called', async () => {
    let body!: ReadableStreamDefaultController<Uint8Array>;
    let opened = false;
    const stream = connect('https://example.test/live', {
      clock: createFakeClock(),
      fetch: async () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start(controller) {
              body = controller;
            },
          }),
          { headers: { 'content-type': 'text/event-stream' } },
        ),
      onOpen: () => {
        opened = true;
      },
    });
    const it = stream[Symbol.asyncIterator]();
    await vi.waitFor(() => expect(opened).toBe(true), WAIT);
    // The enqueue fulfils the client's pending read at once: its chunk is parsed after close() returns.
    body.enqueue(new TextEncoder().encode('data: late\n\n'));
    stream.close();
    await drain();
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('aborting drops the events already buffered: the next step throws the reason', async () => {
    const controller = new AbortController();
    const stream = connect('https://example.test/live', {
      clock: createFakeClock(),
      signal: controller.signal,
      fetch: async () =>
        new Response('data: 1\n\ndata: 2\n\n', { headers: { 'content-type': 'text/event-stream' } }),
    });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('1'));
    const reason = new Error('user left');
    controller.abort(reason);
    await expect(it.next()).rejects.toBe(reason);
    expect(await it.next()).toEqual({ done: true, value: undefined });
  });

  it('leaves no listener on the caller signal after break, close(), abort or a fatal error', async () => {
    const srv = await serve((i) => (i === 3 ? { status: 500 } : { chunks: ['data: a\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    const signals = [0, 1, 2, 3].map(() => new AbortController());
    const [breaking, closing, aborting, failing] = signals.map(({ signal }) =>
      connect(srv.url, { signal, clock, idleTimeout: 60_000 }),
    ) as [SseConnection, SseConnection, SseConnection, SseConnection];
    for await (const _ of breaking) break;
    const closingIt = closing[Symbol.asyncIterator]();
    await closingIt.next();
    closing.close();
    const abortingIt = aborting[Symbol.asyncIterator]();
    await abortingIt.next();
    signals[2]?.abort();
    await expect(abortingIt.next()).rejects.toMatchObject({ name: 'AbortError' });
    await expect(failing[Symbol.asyncIterator]().next()).rejects.toMatchObject({ code: 'ERR_SSE_STATUS' });
    for (const { signal } of signals) expect(getEventListeners(signal, 'abort')).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
    await Promise.all([0, 1, 2].map((i) => srv.closed(i)));
  });

  it('sends no Last-Event-ID once an empty id field reset it', async () => {
    const srv = await serve((i) =>
      i === 0 ? { chunks: ['id: 5\ndata: a\n\nid\ndata: b\n\n'] } : { chunks: ['data: c\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const stream = connect(srv.url, { clock });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('a', '5'));
    expect((await it.next()).value).toEqual(ev('b', ''));
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.runAll();
    expect((await it.next()).value).toEqual(ev('c', ''));
    expect(srv.requests[1]?.lastEventId).toBeUndefined();
    stream.close();
  });

  it('accepts text/event-stream with a charset in any case, and follows a redirect to the stream', async () => {
    const srv = await serve((i) =>
      i === 0
        ? { status: 301, headers: { location: '/moved' } }
        : {
            headers: { 'content-type': 'TEXT/Event-Stream; Charset=UTF-8' },
            chunks: ['data: a\n\n'],
            end: 'hang',
          },
    );
    for await (const event of connect(srv.url)) {
      expect(event).toEqual(ev('a'));
      break;
    }
    expect(srv.requests.map((r) => r.path)).toEqual(['/events', '/moved']);
  });

  it('re-evaluates async headers on every reconnect, and sends method, body and credentials', async () => {
    const srv = await serve((i) => ({ chunks: [`data: ${i}\n\n`], end: i === 0 ? 'close' : 'hang' }));
    const clock = createFakeClock();
    let token = 0;
    const stream = connect(srv.url, {
      clock,
      method: 'POST',
      body: JSON.stringify({ topic: 'orders' }),
      headers: async () => ({ authorization: `Bearer ${++token}`, 'content-type': 'application/json' }),
    });
    const it = stream[Symbol.asyncIterator]();
    await it.next();
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(1000);
    await it.next();
    expect(srv.requests.map((r) => [r.method, r.headers.authorization, r.body])).toEqual([
      ['POST', 'Bearer 1', '{"topic":"orders"}'],
      ['POST', 'Bearer 2', '{"topic":"orders"}'],
    ]);
    stream.close();
  });

  it('reconnects after a network error, reporting an SseConnectionError', async () => {
    const srv = await serve((i) =>
      i === 0 ? { chunks: ['data: a\n\n'], end: 'destroy' } : { chunks: ['data: b\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const stream = connect(srv.url, { clock, onError: (error) => errors.push(error) });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('a'));
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(1000);
    expect((await it.next()).value).toEqual(ev('b'));
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SseConnectionError);
    expect(errors[0]).toMatchObject({ code: 'ERR_SSE_CONNECTION', retryable: true });
    stream.close();
  });

  it('stops reading the body past 1024 unread events, and reads on once the consumer catches up', async () => {
    let pulls = 0;
    let sent = 0;
    const batch = new TextEncoder().encode('data: x\n\n'.repeat(100));
    const fetchStub: typeof fetch = async () =>
      new Response(
        new ReadableStream<Uint8Array>(
          {
            pull(controller) {
              pulls++;
              sent += 100;
              controller.enqueue(batch);
              if (sent === 5000) controller.close();
            },
          },
          { highWaterMark: 0 },
        ),
        { headers: { 'content-type': 'text/event-stream' } },
      );
    const stream = connect('https://example.test/live', { fetch: fetchStub, clock: createFakeClock() });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('x'));
    // The reader stops once 1024 events wait: about 11 batches, not the endless stream.
    // The body is a stub: every pull is a promise callback, so once they drained the reader has stopped.
    await drain();
    const stalled = pulls;
    expect(sent).toBeGreaterThanOrEqual(1024);
    expect(sent).toBeLessThan(1024 + 300);
    await drain();
    expect(pulls).toBe(stalled);
    for (let i = 0; i < 1500; i++) await it.next();
    await vi.waitFor(() => expect(pulls).toBeGreaterThan(stalled + 3), WAIT);
    stream.close();
  });

  it('uses the injected fetch, and reconnects when fetch itself fails', async () => {
    const clock = createFakeClock();
    const calls: string[] = [];
    const fetchStub: typeof fetch = async (input) => {
      calls.push(String(input));
      if (calls.length === 1) throw new TypeError('fetch failed');
      return new Response('data: from stub\n\n', { headers: { 'content-type': 'text/event-stream' } });
    };
    const errors: unknown[] = [];
    const stream = connect('https://example.test/live?token=secret', {
      clock,
      fetch: fetchStub,
      onError: (e) => errors.push(e),
    });
    const it = stream[Symbol.asyncIterator]();
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(1000);
    expect((await it.next()).value).toEqual(ev('from stub'));
    expect(calls).toEqual([
      'https://example.test/live?token=secret',
      'https://example.test/live?token=secret',
    ]);
    expect((errors[0] as Error).message).not.toContain('secret');
    expect((errors[0] as Error).cause).toBeInstanceOf(TypeError);
    stream.close();
  });
});
