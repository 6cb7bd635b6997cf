/**
 * Review round 21: `EventSource` and `connect()` against the processing model of WHATWG HTML "Server-sent events"
 * (9.2.3: announce, reestablish and fail the connection; 9.2.6: dispatch) and the web-platform-tests eventsource/
 * beyond the format-* cases, and against what users of the `eventsource` npm package (v3/v4) rely on. Real sockets
 * on loopback; reconnection waits on the fake clock.
 */
import { connect, EventSource, type SseEvent, SseHttpError } from '@integ/sse';
import { createFakeClock } from '@integ/testing';
import { describe, expect, it, vi } from 'vitest';
import { loopbackEach, type RecordedRequest, reconnections, settle, WAIT } from './test-server.js';

const { serve, open } = loopbackEach();

/** Logs open, message (type, data, lastEventId) and error events with the readyState each saw. */
function record(source: EventSource, ...types: string[]): string[] {
  const log: string[] = [];
  source.addEventListener('open', () => log.push(`open ${source.readyState}`));
  source.addEventListener('error', () => log.push(`error ${source.readyState}`));
  for (const type of ['message', ...types])
    source.addEventListener(type, (event) => {
      const { data, lastEventId } = event as MessageEvent;
      log.push(`${type} ${data} [${lastEventId}] ${source.readyState}`);
    });
  return log;
}

describe('Content-Type: text/event-stream, parameters ignored, essence case-insensitive (format-mime-*)', () => {
  const opens = [
    'text/event-stream;charset=bogus',
    'text/event-stream;',
    'TEXT/Event-Stream',
    'text/event-stream ; a=b',
    'text/event-stream;charset=windows-1252',
  ];
  for (const type of opens)
    it(`opens and dispatches for ${JSON.stringify(type)}`, async () => {
      const server = await serve(() => ({
        headers: { 'content-type': type },
        chunks: ['data: x\n\n'],
        end: 'hang',
      }));
      const source = open(server.url, { clock: createFakeClock() });
      const log = record(source);
      await vi.waitFor(() => expect(log).toEqual(['open 1', 'message x [] 1']), WAIT);
    });

  const fails = [
    'x/x',
    'text/event-streamx',
    'text/event-stream/x',
    'text/plain',
    'text/plain;text/event-stream',
  ];
  for (const type of fails)
    it(`fails the connection for ${JSON.stringify(type)}: error at CLOSED, no open, no message`, async () => {
      const server = await serve(() => ({ headers: { 'content-type': type }, chunks: ['data: x\n\n'] }));
      const clock = createFakeClock();
      const source = open(server.url, { clock });
      const log = record(source);
      await vi.waitFor(() => expect(log).toEqual(['error 2']), WAIT);
      await clock.runAll();
      await settle();
      expect(server.requests).toHaveLength(1);
    });
});

describe('dispatch (9.2.6): the events a stream sends', () => {
  it('MessageEvents that neither bubble nor cancel, with origin, lastEventId, no source, no ports', async () => {
    const server = await serve(() => ({ chunks: ['id: 7\nevent: tick\ndata: a\n\n'], end: 'hang' }));
    const source = open(server.url, { clock: createFakeClock() });
    const event = await new Promise<MessageEvent>((resolve) => source.addEventListener('tick', resolve));
    expect(event).toBeInstanceOf(MessageEvent);
    expect(event.type).toBe('tick');
    expect(event.data).toBe('a');
    expect(event.lastEventId).toBe('7');
    expect(event.origin).toBe(new URL(server.url).origin);
    expect(event.bubbles).toBe(false);
    expect(event.cancelable).toBe(false);
    expect(event.source).toBe(null);
    expect(event.ports).toEqual([]);
    expect(event.target).toBe(source);
  });

  it('error events are plain Events (no data), neither bubbling nor cancelable', async () => {
    const server = await serve(() => ({ status: 204 }));
    const source = open(server.url, { clock: createFakeClock() });
    const event = await new Promise<Event>((resolve) => source.addEventListener('error', resolve));
    expect(event).not.toBeInstanceOf(MessageEvent);
    expect(Object.hasOwn(event, 'data')).toBe(false);
    expect(event.bubbles).toBe(false);
    expect(event.cancelable).toBe(false);
  });

  it('an `event: error` from the stream is a MessageEvent that reaches onerror at OPEN, as in browsers', async () => {
    const server = await serve(() => ({ chunks: ['event: error\ndata: boom\n\n'], end: 'hang' }));
    const source = open(server.url, { clock: createFakeClock() });
    const seen = await new Promise<[Event, number]>((resolve) => {
      source.onerror = (event) => resolve([event, source.readyState]);
    });
    expect(seen[0]).toBeInstanceOf(MessageEvent);
    expect((seen[0] as MessageEvent).data).toBe('boom');
    expect(seen[1]).toBe(EventSource.OPEN);
  });

  it('an id-only block sets the last event id: later events carry it and the reconnection sends it', async () => {
    const server = await serve(({ index }) =>
      index === 0
        ? { chunks: ['data: a\n\nid: 5\n\ndata: b\n\n'] }
        : { chunks: ['data: c\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect });
    const log = record(source);
    await waitOut();
    await vi.waitFor(
      () =>
        expect(log).toEqual([
          'open 1',
          'message a [] 1',
          'message b [5] 1',
          'error 0',
          'open 1',
          'message c [5] 1',
        ]),
      WAIT,
    );
    expect(server.requests[1]?.lastEventId).toBe('5');
  });

  it('a retry: of an event cut off by the end of the stream still sets the reconnection time', async () => {
    const server = await serve(({ index }) =>
      index === 0 ? { chunks: ['retry: 1234\ndata: cut'] } : { chunks: ['data: b\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect, backoff: () => 0 });
    const log = record(source);
    expect((await waitOut()).delay).toBe(1234);
    await vi.waitFor(() => expect(log).toEqual(['open 1', 'error 0', 'open 1', 'message b [] 1']), WAIT);
  });
});

describe('reestablish the connection (9.2.3): error, wait, reconnect', () => {
  it('a network error on the first request (nothing listening) is an error at CONNECTING, then a reconnection', async () => {
    const server = await serve(({ index }) =>
      index === 0 ? { drop: true } : { chunks: ['data: up\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect });
    const log = record(source);
    await vi.waitFor(() => expect(log).toEqual(['error 0']), WAIT);
    await waitOut();
    await vi.waitFor(() => expect(log).toEqual(['error 0', 'open 1', 'message up [] 1']), WAIT);
  });

  it('close() in onerror at CONNECTING: CLOSED, no wait, no further request (eventsource: close in onError)', async () => {
    const server = await serve(() => ({ chunks: ['data: one\n\n'] }));
    const clock = createFakeClock();
    const onReconnect = vi.fn();
    const source = open(server.url, { clock, onReconnect });
    const log = record(source);
    source.onerror = () => source.close();
    await vi.waitFor(() => expect(source.readyState).toBe(EventSource.CLOSED), WAIT);
    await clock.runAll();
    await settle();
    expect(log).toEqual(['open 1', 'message one [] 1', 'error 0']);
    expect(onReconnect).not.toHaveBeenCalled();
    expect(server.requests).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });

  it('close() in onmessage with more events and the end of the stream in the same chunk: nothing more fires', async () => {
    const server = await serve(() => ({ chunks: ['data: a\n\ndata: b\n\ndata: c\n\n'] }));
    const clock = createFakeClock();
    const source = open(server.url, { clock });
    source.onmessage = () => source.close();
    const log = record(source);
    await vi.waitFor(() => expect(source.readyState).toBe(EventSource.CLOSED), WAIT);
    await server.closed(0);
    await clock.runAll();
    await settle();
    expect(log).toEqual(['open 1', 'message a [] 2']);
    expect(server.requests).toHaveLength(1);
  });
});

describe('redirects: followed; url stays, origin and reconnections follow the final URL', () => {
  it('EventSource: url is the URL given, events carry the final origin, the reconnection asks the final URL with Last-Event-ID', async () => {
    const target = await serve(({ index }) =>
      index === 0 ? { chunks: ['id: 1\ndata: a\n\n'] } : { chunks: ['data: b\n\n'], end: 'hang' },
    );
    const front = await serve(() => ({ status: 307, headers: { location: target.url } }));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(front.url, { clock, onReconnect });
    const events: MessageEvent[] = [];
    source.onmessage = (event) => events.push(event);
    await waitOut();
    await vi.waitFor(() => expect(events.map((event) => event.data)).toEqual(['a', 'b']), WAIT);
    expect(source.url).toBe(front.url);
    expect(events.map((event) => event.origin)).toEqual([
      new URL(target.url).origin,
      new URL(target.url).origin,
    ]);
    expect(front.requests).toHaveLength(1);
    expect(target.requests.map((request) => request.lastEventId)).toEqual([undefined, '1']);
  });

  it('connect(): the reconnection asks the URL given again, and its redirect carries Last-Event-ID on', async () => {
    const target = await serve(({ index }) =>
      index === 0 ? { chunks: ['id: 1\ndata: a\n\n'] } : { chunks: ['data: b\n\n'], end: 'hang' },
    );
    const front = await serve(() => ({ status: 302, headers: { location: target.url } }));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const stream = connect(front.url, { clock, onReconnect });
    const events: SseEvent[] = [];
    const reading = (async () => {
      for await (const event of stream) {
        events.push(event);
        if (events.length === 2) break;
      }
    })();
    await waitOut();
    await reading;
    expect(events.map((event) => [event.data, event.lastEventId])).toEqual([
      ['a', '1'],
      ['b', '1'],
    ]);
    expect(front.requests.map((request) => request.lastEventId)).toEqual([undefined, '1']);
    expect(target.requests.map((request) => request.lastEventId)).toEqual([undefined, '1']);
  });

  it('a redirect to a response that is not 200 fails the connection, naming the URL that answered', async () => {
    const target = await serve(() => ({ status: 404 }));
    const front = await serve(() => ({ status: 301, headers: { location: `${target.url}?token=secret` } }));
    const stream = connect(front.url, { clock: createFakeClock() });
    const error = await (async (): Promise<unknown> => {
      try {
        for await (const _ of stream);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    expect(error).toBeInstanceOf(SseHttpError);
    expect((error as SseHttpError).status).toBe(404);
    expect((error as Error).message).toContain(target.url);
    expect((error as Error).message).not.toContain('secret');
  });
});

describe('request headers (request-accept, request-cache-control, request-credentials)', () => {
  it('sends Accept: text/event-stream, cache no-store and credentials from withCredentials on every request', async () => {
    const server = await serve(({ index }) => (index === 0 ? { chunks: ['data: a\n\n'] } : { end: 'hang' }));
    const clock = createFakeClock();
    const inits: RequestInit[] = [];
    const { onReconnect, waitOut } = reconnections(clock);
    for (const withCredentials of [false, true]) {
      inits.length = 0;
      const source = open(server.url, {
        clock,
        onReconnect,
        withCredentials,
        fetch: (input, init) => {
          inits.push(init ?? {});
          return fetch(input, init);
        },
      });
      if (!withCredentials) await waitOut();
      await vi.waitFor(() => expect(inits.length).toBe(withCredentials ? 1 : 2), WAIT);
      for (const init of inits) {
        expect(init.cache).toBe('no-store');
        expect(init.credentials).toBe(withCredentials ? 'include' : 'same-origin');
        expect(new Headers(init.headers).get('accept')).toBe('text/event-stream');
      }
      source.close();
    }
  });
});

describe('which URL an EventSource reconnects to after a redirect (decision 0149)', () => {
  it('another origin: it asks the final URL without the headers fetch dropped on the redirect (Authorization, Cookie)', async () => {
    // fetch removes Authorization (and undici Cookie and Proxy-Authorization) when a redirect leads to another
    // origin; the reconnection asked that origin directly with the `headers` option's token.
    const target = await serve(({ index }) => ({
      chunks: [`data: ${index}\n\n`],
      ...(index > 0 ? { end: 'hang' as const } : {}),
    }));
    const front = await serve(() => ({ status: 307, headers: { location: target.url } }));
    expect(new URL(target.url).origin).not.toBe(new URL(front.url).origin);
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const headers = {
      authorization: 'Bearer secret',
      cookie: 'session=secret',
      'proxy-authorization': 'Basic secret',
      'x-trace': 't',
    };
    const source = open(front.url, { clock, onReconnect, headers });
    const events: MessageEvent[] = [];
    source.onmessage = (event) => events.push(event);
    await waitOut();
    await vi.waitFor(() => expect(events.map((event) => event.data)).toEqual(['0', '1']), WAIT);
    const sent = (request: RecordedRequest) =>
      Object.keys(headers)
        .map((name) => request.headers[name] ?? '-')
        .join(' ');
    expect(front.requests.map(sent)).toEqual(['Bearer secret session=secret Basic secret t']);
    // The second is the reconnection: the final URL, asked directly, as browsers do (whatwg/html#503).
    expect(target.requests.map(sent)).toEqual(['- - - t', '- - - t']);
    expect(events.map((event) => event.origin)).toEqual(Array(2).fill(new URL(target.url).origin));
  });

  it('the same origin: it asks the final URL, as browsers do (whatwg/html#503)', async () => {
    const server = await serve(({ path, index }) =>
      path === '/events'
        ? { status: 302, headers: { location: '/final' } }
        : { chunks: [`data: ${index}\n\n`], ...(index > 1 ? { end: 'hang' as const } : {}) },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect, headers: { authorization: 'Bearer secret' } });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['1', '2']), WAIT);
    expect(server.requests.map((request) => [request.path, request.headers.authorization])).toEqual([
      ['/events', 'Bearer secret'],
      ['/final', 'Bearer secret'],
      ['/final', 'Bearer secret'],
    ]);
  });

  for (const status of [301, 302, 303])
    it(`a POST that a ${status} turned into a GET: it asks the URL given again, not POST to the final URL`, async () => {
      // fetch follows a 301 or 302 of a POST, and a 303 of any method but GET and HEAD, with a GET without body;
      // the final URL, asked again with POST, answered 405 here: the connection failed for good.
      const server = await serve(({ path, method, index }) =>
        path === '/events'
          ? { status, headers: { location: '/final' } }
          : method !== 'GET'
            ? { status: 405 }
            : { chunks: [`data: ${index}\n\n`], ...(index > 1 ? { end: 'hang' as const } : {}) },
      );
      const clock = createFakeClock();
      const { onReconnect, waitOut } = reconnections(clock);
      const source = open(server.url, { clock, onReconnect, method: 'POST', body: 'q' });
      const log = record(source);
      await waitOut();
      await vi.waitFor(() => expect(log).toHaveLength(5), WAIT);
      expect(log).toEqual(['open 1', 'message 1 [] 1', 'error 0', 'open 1', 'message 3 [] 1']);
      expect(server.requests.map((request) => `${request.method} ${request.path}`)).toEqual([
        'POST /events',
        'GET /final',
        'POST /events',
        'GET /final',
      ]);
    });

  it('a POST that a 307 kept a POST still reaches the final URL with its body on reconnection', async () => {
    const server = await serve(({ path, index }) =>
      path === '/events'
        ? { status: 307, headers: { location: '/final' } }
        : { chunks: [`data: ${index}\n\n`], ...(index > 1 ? { end: 'hang' as const } : {}) },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect, method: 'POST', body: 'q' });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toHaveLength(2), WAIT);
    const finals = server.requests.filter((request) => request.path === '/final');
    expect(finals.map((request) => `${request.method} ${request.body}`)).toEqual(['POST q', 'POST q']);
  });
});

describe('EventSource init: credentials and signal (README, EventSource)', () => {
  it('ignores a credentials in init: withCredentials alone sets fetch credentials', async () => {
    const server = await serve(() => ({ chunks: ['data: a\n\n'], end: 'hang' }));
    const inits: RequestInit[] = [];
    const fetchSpy = (input: RequestInfo | URL, init?: RequestInit) => {
      inits.push(init ?? {});
      return fetch(input, init);
    };
    const init = { clock: createFakeClock(), fetch: fetchSpy, credentials: 'bogus' } as never;
    const source = open(server.url, init);
    await new Promise((resolve) => source.addEventListener('message', resolve));
    expect(inits.map((i) => i.credentials)).toEqual(['same-origin']);
  });

  it('uses a signal passed in init anyway, as connect() does: aborting it closes the source a few microtasks later, with no error event', async () => {
    const server = await serve(() => ({ chunks: ['data: a\n\n'], end: 'hang' }));
    const controller = new AbortController();
    const clock = createFakeClock();
    const source = open(server.url, { clock, signal: controller.signal } as never);
    const log = record(source);
    await vi.waitFor(() => expect(log).toEqual(['open 1', 'message a [] 1']), WAIT);
    controller.abort();
    // Not within abort() itself, as close() is: once the session sees the abort, a few microtasks later.
    await vi.waitFor(() => expect(source.readyState).toBe(EventSource.CLOSED), WAIT);
    await server.closed(0);
    await clock.runAll();
    await settle();
    expect(log).toEqual(['open 1', 'message a [] 1']);
    expect(server.requests).toHaveLength(1);
  });

  it("aborting it in a listener does not stop the chunk's other events, as close() does", async () => {
    const server = await serve(() => ({ chunks: ['data: a\n\ndata: b\n\ndata: c\n\n'], end: 'hang' }));
    const controller = new AbortController();
    const source = open(server.url, { clock: createFakeClock(), signal: controller.signal } as never);
    const log: string[] = [];
    source.onmessage = (event) => {
      log.push(`${event.data} ${source.readyState}`);
      controller.abort();
    };
    source.onerror = () => log.push('error');
    await vi.waitFor(() => expect(source.readyState).toBe(EventSource.CLOSED), WAIT);
    await settle();
    expect(log).toEqual(['a 1', 'b 1', 'c 1']);
  });

  it('an init signal aborted before the first request: nothing is fetched, the source is CLOSED', async () => {
    const server = await serve(() => ({ chunks: ['data: a\n\n'], end: 'hang' }));
    const source = open(server.url, { clock: createFakeClock(), signal: AbortSignal.abort() } as never);
    const log = record(source);
    await settle();
    expect(source.readyState).toBe(EventSource.CLOSED);
    expect(log).toEqual([]);
    expect(server.requests).toHaveLength(0);
  });
});

describe('a fetch wrapper that adds headers (the eventsource package README pattern)', () => {
  const wrapped =
    (add: (headers: HeadersInit | undefined) => HeadersInit) =>
    (input: RequestInfo | URL, init?: RequestInit) =>
      fetch(input, { ...init, headers: add(init?.headers) });

  it('gets init.headers as a Headers: spread ({ ...init.headers }) it is {}, so Accept and Last-Event-ID are lost', async () => {
    const server = await serve(({ index }) =>
      index === 0 ? { chunks: ['id: 1\ndata: a\n\n'] } : { chunks: ['data: b\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const spread = wrapped((headers) => ({ ...(headers as object), authorization: 'Bearer t' }));
    const source = open(server.url, { clock, onReconnect, fetch: spread });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['a', 'b']), WAIT);
    expect(server.requests.map((request) => [request.headers.accept, request.lastEventId])).toEqual([
      ['*/*', undefined],
      ['*/*', undefined],
    ]);
  });

  it('new Headers(init.headers) keeps them', async () => {
    const server = await serve(({ index }) =>
      index === 0 ? { chunks: ['id: 1\ndata: a\n\n'] } : { chunks: ['data: b\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const copy = wrapped((headers) => {
      const all = new Headers(headers);
      all.set('authorization', 'Bearer t');
      return all;
    });
    const source = open(server.url, { clock, onReconnect, fetch: copy });
    const data: string[] = [];
    source.onmessage = (event) => data.push(event.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['a', 'b']), WAIT);
    expect(
      server.requests.map((request) => [
        request.headers.accept,
        request.lastEventId,
        request.headers.authorization,
      ]),
    ).toEqual([
      ['text/event-stream', undefined, 'Bearer t'],
      ['text/event-stream', '1', 'Bearer t'],
    ]);
  });
});
