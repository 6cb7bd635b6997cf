/**
 * The connection rules as a user of `connect()` and `EventSource` meets them on a real node:http server on
 * loopback: silent and trickling servers, Content-Types at the edge, a 204 after good connections, a
 * `headers` function that fails, credentials kept out of every error and hook, and close() at the awkward
 * moments (waiting on `headers()`, sleeping before a reconnection) leaving nothing behind.
 */
import { getEventListeners } from 'node:events';
import { inspect } from 'node:util';
import { InvalidArgumentError, TimeoutError } from '@integ/core';
import {
  connect,
  EventSource,
  type ReconnectInfo,
  SseConnectionError,
  type SseEvent,
  SseHttpError,
} from '@integ/sse';
import { createFakeClock, drain } from '@integ/testing';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { countingFetch, ev, type Reply, type SseTestServer, startSseServer, WAIT } from './test-server.js';

let server: SseTestServer | undefined;
afterEach(async () => {
  await server?.close();
  server = undefined;
});

async function serve(script: (index: number) => Reply | Promise<Reply>): Promise<SseTestServer> {
  server = await startSseServer((request) => script(request.index));
  return server;
}

describe('connect: silent and slow servers', () => {
  it('a server that sends the response head and then never a byte is dropped by the watchdog and reconnected', async () => {
    const srv = await serve((i) =>
      i === 0 ? { end: 'hang' } : { chunks: ['data: second\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const opened: number[] = [];
    const stream = connect(srv.url, {
      clock,
      idleTimeout: 3000,
      onOpen: ({ response }) => opened.push(response.status),
      onError: (error) => errors.push(error),
    });
    const it = stream[Symbol.asyncIterator]();
    const next = it.next();
    // The head arrived (the connection opened) and the body stays silent.
    await vi.waitFor(() => expect(opened).toEqual([200]), WAIT);
    await clock.advance(2999);
    expect(errors).toEqual([]);
    await clock.advance(1);
    await srv.closed(0);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(TimeoutError);
    expect(errors[0]).toMatchObject({ code: 'ERR_TIMEOUT', timeoutMs: 3000 });
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    // The first reconnection waits at most 1 s by default.
    await clock.advance(1000);
    expect((await next).value).toEqual(ev('second'));
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });

  it('a server trickling one byte per tick assembles its events (multi-byte characters too) and is not taken for silent', async () => {
    const bytes = new TextEncoder().encode('id: é1\ndata: a€b\n\n: ping\n\ndata: 2\r\n\r\n');
    const srv = await serve(() => ({ end: 'hang' }));
    const clock = createFakeClock();
    const errors: unknown[] = [];
    // Each byte is waited for (read by the client) before the clock moves.
    const counted = countingFetch();
    const stream = connect(srv.url, {
      clock,
      fetch: counted.fetch,
      idleTimeout: 1000,
      onError: (error) => errors.push(error),
    });
    const it = stream[Symbol.asyncIterator]();
    const first = it.next();
    await vi.waitFor(() => expect(srv.responses.has(0)).toBe(true), WAIT);
    const res = srv.responses.get(0);
    for (const [i, byte] of bytes.entries()) {
      // 999 ms between bytes: never idleTimeout of silence, 44 s in all.
      await clock.advance(999);
      await new Promise<void>((resolve) => res?.write(Uint8Array.of(byte), () => resolve()));
      // The byte crosses a real socket: wait for the client to read it, then for it to act on it.
      await vi.waitFor(() => expect(counted.received()).toBe(i + 1), WAIT);
      await drain();
    }
    expect((await first).value).toEqual(ev('a€b', 'é1'));
    expect((await it.next()).value).toEqual(ev('2', 'é1'));
    expect(errors).toEqual([]);
    expect(srv.requests).toHaveLength(1);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('connect: the Content-Type rule at its edges', () => {
  it("accepts 'text/event-stream; charset=utf-8'", async () => {
    const srv = await serve(() => ({
      headers: { 'content-type': 'text/event-stream; charset=utf-8' },
      chunks: ['data: ok\n\n'],
      end: 'hang',
    }));
    for await (const event of connect(srv.url)) {
      expect(event).toEqual(ev('ok'));
      break;
    }
  });

  it("refuses 'text/event-streamx' for good (ERR_SSE_CONTENT_TYPE), and EventSource closes", async () => {
    const srv = await serve(() => ({
      headers: { 'content-type': 'text/event-streamx' },
      chunks: ['data: no\n\n'],
    }));
    const clock = createFakeClock();
    const error = await connect(srv.url, { clock })
      [Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(SseHttpError);
    expect(error).toMatchObject({ code: 'ERR_SSE_CONTENT_TYPE', contentType: 'text/event-streamx' });
    const source = new EventSource(srv.url, { clock });
    const messages: unknown[] = [];
    source.onmessage = (event) => messages.push(event.data);
    await new Promise((resolve) => source.addEventListener('error', resolve));
    expect(source.readyState).toBe(EventSource.CLOSED);
    await clock.runAll();
    expect(messages).toEqual([]);
    expect(srv.requests).toHaveLength(2);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('connect: a 204 after good connections', () => {
  it('stops for good on a 204 after three good connections, having sent Last-Event-ID to it', async () => {
    const srv = await serve((i) => (i < 3 ? { chunks: [`id: ${i}\ndata: ${i}\n\n`] } : { status: 204 }));
    const clock = createFakeClock();
    const reconnects: ReconnectInfo[] = [];
    const errors: unknown[] = [];
    const stream = connect(srv.url, {
      clock,
      onReconnect: (info) => reconnects.push(info),
      onError: (error) => errors.push(error),
    });
    const it = stream[Symbol.asyncIterator]();
    const seen: SseEvent[] = [];
    let thrown: unknown;
    for (;;) {
      const step = it.next();
      // Each reconnection waits on the fake clock: run it until the iteration moves.
      const result = await Promise.race([step, clock.runAll().then(() => step)]).catch((e: unknown) => {
        thrown = e;
        return undefined;
      });
      if (result === undefined) break;
      if (result.value) seen.push(result.value);
    }
    expect(seen).toEqual([ev('0', '0'), ev('1', '1'), ev('2', '2')]);
    expect(thrown).toBeInstanceOf(SseHttpError);
    expect(thrown).toMatchObject({ code: 'ERR_SSE_STATUS', status: 204 });
    expect(errors.at(-1)).toBe(thrown);
    expect(srv.requests.map((r) => r.lastEventId)).toEqual([undefined, '0', '1', '2']);
    expect(reconnects).toHaveLength(3);
    await clock.runAll();
    expect(srv.requests).toHaveLength(4);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('connect: a headers function that fails', () => {
  it('one that throws is reported as an SseConnectionError (its error the cause) and retried, never an unhandled rejection', async () => {
    const srv = await serve(() => ({ chunks: ['data: in\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    const refresh = new Error('token service down');
    let calls = 0;
    const errors: unknown[] = [];
    const stream = connect(srv.url, {
      clock,
      headers: async () => {
        if (++calls === 1) throw refresh;
        return { authorization: 'Bearer fresh' };
      },
      onError: (error) => errors.push(error),
    });
    const it = stream[Symbol.asyncIterator]();
    const next = it.next();
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    expect(errors).toHaveLength(1);
    expect(errors[0]).toBeInstanceOf(SseConnectionError);
    expect((errors[0] as Error).cause).toBe(refresh);
    expect(srv.requests).toHaveLength(0);
    await clock.advance(1000);
    expect((await next).value).toEqual(ev('in'));
    expect(srv.requests[0]?.headers.authorization).toBe('Bearer fresh');
    stream.close();
  });
  it('one that returns headers fetch refuses ends the iteration with InvalidArgumentError (headers), without the value', async () => {
    const srv = await serve(() => ({ chunks: ['data: in\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const reconnects: unknown[] = [];
    const stream = connect(srv.url, {
      clock,
      // A token read with its line break: fetch refuses the value on every attempt.
      headers: async () => ({ authorization: 'Bearer s3cret\nX-Injected: 1' }),
      onError: (error) => errors.push(error),
      // Were it retried, stop at the first reconnection: the assertions below then fail at once.
      onReconnect: (info) => {
        reconnects.push(info);
        stream.close();
      },
    });
    const error = await stream[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(error).toBeInstanceOf(InvalidArgumentError);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'headers' });
    expect(inspect(error, { depth: 10 })).not.toContain('s3cret');
    expect(inspect(errors, { depth: 10 })).not.toContain('s3cret');
    expect(reconnects).toEqual([]);
    expect(srv.requests).toHaveLength(0);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('connect: credentials never reach an error or a hook', () => {
  const TOKEN = 'tok-4f9a2c';
  const scripts: [string, (index: number) => Reply, string][] = [
    ['a 401', () => ({ status: 401, chunks: [`denied ${TOKEN}`] }), 'ERR_SSE_STATUS'],
    ['a wrong Content-Type', () => ({ headers: { 'content-type': 'text/html' } }), 'ERR_SSE_CONTENT_TYPE'],
  ];
  for (const [name, script, code] of scripts)
    it(`${name}: neither the query token nor the Authorization header is in the error`, async () => {
      const srv = await serve(script);
      const errors: unknown[] = [];
      const error = await connect(`${srv.url}?access_token=${TOKEN}#${TOKEN}`, {
        clock: createFakeClock(),
        headers: { authorization: `Bearer ${TOKEN}`, 'x-api-key': TOKEN, cookie: `sid=${TOKEN}` },
        onError: (e) => errors.push(e),
      })
        [Symbol.asyncIterator]()
        .next()
        .catch((e: unknown) => e);
      expect(error).toMatchObject({ code, url: srv.url });
      expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
      expect(inspect(errors, { depth: 10 })).not.toContain(TOKEN);
    });

  it('bad options name the option, never a credential in a URL, a headers string or a body', () => {
    const thrown = (f: () => unknown): unknown => {
      try {
        f();
      } catch (error) {
        return error;
      }
      throw new Error('did not throw');
    };
    for (const f of [
      // An unparsable URL (port out of range) with user:password and a token in the query.
      () => connect(`https://user:${TOKEN}@example.test:99999/live?token=${TOKEN}`),
      () => connect(`https://user:${TOKEN}@example.test/live`),
      () => new EventSource(`https://user:${TOKEN}@example.test:99999/live`),
      () => new EventSource(`https://user:${TOKEN}@example.test/live`),
      // A token passed where headers go.
      () => connect('https://example.test/live', { headers: `Bearer ${TOKEN}` as never }),
      () => new EventSource('https://example.test/live', { headers: `Bearer ${TOKEN}` as never }),
      // A body with credentials, sent with GET by mistake.
      () => connect('https://example.test/live', { body: JSON.stringify({ apiKey: TOKEN }) }),
    ]) {
      const error = thrown(f);
      expect(inspect(error, { depth: 10 })).not.toContain(TOKEN);
    }
  });

  it('network errors, a cut stream and the watchdog: no token in any error or onReconnect payload', async () => {
    const srv = await serve((i) =>
      i === 0
        ? { chunks: ['id: 1\ndata: a\n\ndata: half'], end: 'destroy' }
        : i === 1
          ? { chunks: ['data: b\n\n'], end: 'hang' }
          : { chunks: ['data: c\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const errors: unknown[] = [];
    const reconnects: ReconnectInfo[] = [];
    const stream = connect(`${srv.url}?token=${TOKEN}`, {
      clock,
      idleTimeout: 2000,
      headers: async () => ({ authorization: `Bearer ${TOKEN}` }),
      onError: (error) => errors.push(error),
      onReconnect: (info) => reconnects.push(info),
    });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('a', '1'));
    await vi.waitFor(() => expect(reconnects).toHaveLength(1), WAIT);
    await clock.advance(1000);
    expect((await it.next()).value).toEqual(ev('b', '1'));
    // The watchdog re-arms for whole ms: after a jittered wait it may fire up to 1 ms late.
    await clock.advance(2001);
    await vi.waitFor(() => expect(reconnects).toHaveLength(2), WAIT);
    await clock.advance(2000);
    expect((await it.next()).value).toEqual(ev('c', '1'));
    stream.close();
    expect(errors.map((e) => (e as Error).constructor)).toEqual([SseConnectionError, TimeoutError]);
    expect(srv.requests.every((r) => r.headers.authorization === `Bearer ${TOKEN}`)).toBe(true);
    expect(inspect(errors, { depth: 10 })).not.toContain(TOKEN);
    expect(inspect(reconnects, { depth: 10 })).not.toContain(TOKEN);
  });

  it('a connection refused: no token in the SseConnectionError or its causes', async () => {
    const srv = await serve(() => ({}));
    const url = srv.url;
    await srv.close();
    server = undefined;
    const errors: unknown[] = [];
    const stream = connect(`${url}?token=${TOKEN}`, {
      clock: createFakeClock(),
      headers: { authorization: `Bearer ${TOKEN}` },
      onError: (error) => errors.push(error),
    });
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    stream.close();
    expect(errors[0]).toBeInstanceOf(SseConnectionError);
    expect(inspect(errors, { depth: 10 })).not.toContain(TOKEN);
  });
});

describe('connect: close() at awkward moments leaves nothing behind', () => {
  /** The platform's fetch, counted: whether the client fetched is known at once, not when a server sees it. */
  let fetches = 0;
  const counted: typeof fetch = (input, init) => {
    fetches++;
    return fetch(input, init);
  };
  beforeEach(() => {
    fetches = 0;
  });

  it('close() while the headers() promise is pending: no request, no timer, no listener', async () => {
    const srv = await serve(() => ({ chunks: ['data: x\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    const controller = new AbortController();
    let release: (value: HeadersInit) => void = () => {};
    let called = 0;
    const stream = connect(srv.url, {
      clock,
      fetch: counted,
      idleTimeout: 5000,
      signal: controller.signal,
      headers: () => {
        called++;
        return new Promise<HeadersInit>((resolve) => {
          release = resolve;
        });
      },
    });
    const it = stream[Symbol.asyncIterator]();
    const next = it.next();
    await vi.waitFor(() => expect(called).toBe(1), WAIT);
    expect(clock.pendingTimers).toBe(1);
    stream.close();
    expect(await next).toEqual({ done: true, value: undefined });
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    release({ authorization: 'Bearer late' });
    // Whether the client fetches is decided in promise callbacks: once they drained, a fetch would have been called.
    await drain();
    await clock.runAll();
    await drain();
    expect(fetches).toBe(0);
    expect(srv.requests).toHaveLength(0);
    expect(called).toBe(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('close() during the backoff sleep: no timer, no listener, no reconnection', async () => {
    const srv = await serve(() => ({ chunks: ['data: x\n\n'] }));
    const clock = createFakeClock();
    const controller = new AbortController();
    const stream = connect(srv.url, { clock, fetch: counted, signal: controller.signal, idleTimeout: 5000 });
    const it = stream[Symbol.asyncIterator]();
    expect((await it.next()).value).toEqual(ev('x'));
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    stream.close();
    expect(clock.pendingTimers).toBe(0);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    expect(await it.next()).toEqual({ done: true, value: undefined });
    await clock.runAll();
    await drain();
    expect(fetches).toBe(1);
    expect(srv.requests).toHaveLength(1);
    await srv.closed(0);
  });

  it('EventSource.close() while the headers() promise is pending sends nothing', async () => {
    const srv = await serve(() => ({ chunks: ['data: x\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    let release: (value: HeadersInit) => void = () => {};
    const source = new EventSource(srv.url, {
      clock,
      fetch: counted,
      idleTimeout: 5000,
      headers: () =>
        new Promise<HeadersInit>((resolve) => {
          release = resolve;
        }),
    });
    const fired: string[] = [];
    for (const type of ['open', 'message', 'error']) source.addEventListener(type, () => fired.push(type));
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    source.close();
    expect(clock.pendingTimers).toBe(0);
    release({});
    await drain();
    await clock.runAll();
    await drain();
    expect(fetches).toBe(0);
    expect(srv.requests).toHaveLength(0);
    expect(fired).toEqual([]);
    expect(source.readyState).toBe(EventSource.CLOSED);
  });
  it('the watchdog also covers a headers() promise that never settles', async () => {
    const srv = await serve(() => ({ chunks: ['data: x\n\n'], end: 'hang' }));
    const clock = createFakeClock();
    let calls = 0;
    const errors: unknown[] = [];
    const stream = connect(srv.url, {
      clock,
      idleTimeout: 5000,
      // The token service hangs on the first call.
      headers: () => (++calls === 1 ? new Promise<HeadersInit>(() => {}) : { authorization: 'Bearer 2' }),
      onError: (error) => errors.push(error),
    });
    const it = stream[Symbol.asyncIterator]();
    const next = it.next();
    await vi.waitFor(() => expect(calls).toBe(1), WAIT);
    await clock.advance(5000);
    await vi.waitFor(() => expect(errors).toHaveLength(1), WAIT);
    expect(errors[0]).toBeInstanceOf(TimeoutError);
    await vi.waitFor(() => expect(clock.pendingTimers).toBe(1), WAIT);
    await clock.advance(1000);
    expect((await next).value).toEqual(ev('x'));
    expect(srv.requests[0]?.headers.authorization).toBe('Bearer 2');
    stream.close();
  });
});
