/**
 * The web-platform-tests of `eventsource/` other than `format-*` (those are in blackbox.test.ts and
 * parser.test.ts), ported to `EventSource` (and `connect()` where it shares the rule) against a real
 * node:http server on loopback, one `describe` per WPT file. Server resources are rebuilt per test:
 * `message.py` answers `data: data`, `status-error.py` a status, `reconnect-fail.py` and
 * `status-reconnect.py` a different reply per connection (the WPT versions count with cookies), the
 * `*.event_stream` files echo a request header. Reconnection delays run on the fake clock.
 *
 * Not ported, because Node has no such thing: document.domain, iframes and realms (url-multi-window,
 * onmessage-realm), bfcache, dedicated and shared workers, cookies (request-credentials: Node's fetch has
 * no cookie jar), CORS checks and preflights (failCORS, the preflight half of cross-origin-preflight),
 * `isTrusted` (onmessage-trusted: no script can create a trusted event in Node), and
 * `EventSource.fromReadableStream` (a proposal outside the standard; `createByteParserStream` is ours).
 */
import { connect, EventSource, type ReconnectInfo } from '@integ/sse';
import { createFakeClock, seededRandom } from '@integ/testing';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { loopbackEach, type Reply, reconnections, type SseTestServer, settle, WAIT } from './test-server.js';

afterEach(() => {
  vi.unstubAllGlobals();
});
const { serve, open } = loopbackEach();

/** `resources/message.py`: `data: data`, then the response ends. */
const message: Reply = { chunks: ['data: data\n\n\n'] };

describe('eventsource-close', () => {
  it('close() inside onopen: OPEN there, CLOSED right after the call', async () => {
    const server = await serve(() => ({ ...message, end: 'hang' }));
    const source = open(server.url, { clock: createFakeClock() });
    expect(source.readyState).toBe(source.CONNECTING);
    const states: number[] = [];
    source.onopen = function (this: EventSource) {
      states.push(this.readyState);
      this.close();
      states.push(this.readyState);
    };
    await vi.waitFor(() => expect(states).toEqual([source.OPEN, source.CLOSED]), WAIT);
    await server.closed(0);
  });

  it('test events (reconnect-fail.py): opened, error CONNECTING, reconnected, error CONNECTING, error CLOSED on 204', async () => {
    const server = await serve(({ index }) =>
      index === 0
        ? { chunks: ['retry: 2\ndata: opened\n\n'] }
        : index === 1
          ? { chunks: ['data: reconnected\n\n'] }
          : { status: 204 },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, backoff: () => 0, onReconnect });
    const log: string[] = [];
    source.onopen = () => log.push(`open ${source.readyState}`);
    source.onmessage = (e) => log.push(`message ${e.data}`);
    source.onerror = (e) => log.push(`${e.type} ${source.readyState}`);
    // The server's `retry: 2` is the whole wait with a zero backoff, as in a browser.
    expect((await waitOut()).delay).toBe(2);
    expect((await waitOut()).delay).toBe(2);
    await vi.waitFor(() => expect(log).toHaveLength(7), WAIT);
    expect(log).toEqual([
      ...['open 1', 'message opened', 'error 0'],
      ...['open 1', 'message reconnected', 'error 0'],
      'error 2',
    ]);
    // "give some time for errors to hit us": nothing more, no timer, no fourth request.
    await clock.runAll();
    await settle();
    expect(log).toHaveLength(7);
    expect(clock.pendingTimers).toBe(0);
    expect(server.requests).toHaveLength(3);
  });
});

describe('eventsource-constructor-empty-url, eventsource-url, eventsource-constructor-stringify', () => {
  // In a document a relative URL resolves against the document's base URL (document.baseURI). Where there
  // is no document the base is `location.href` if the runtime has one (workers, Deno --location), and a
  // relative URL is a SyntaxError where it has none (Node). These tests give the runtime a location.
  async function page(): Promise<{ server: SseTestServer; base: string }> {
    const server = await serve(() => ({ ...message, end: 'hang' }));
    const base = new URL('/eventsource/wpt.html', server.url).href;
    vi.stubGlobal('location', { href: base });
    return { server, base };
  }

  it('passing the empty string gives the document URL (empty-url)', async () => {
    const { base } = await page();
    expect(open('').url).toBe(base);
  });

  it('url ends with the relative URL given, which is fetched (eventsource-url)', async () => {
    const { server } = await page();
    const url = 'resources/message.py';
    const source = open(url);
    expect(source.url.slice(-url.length)).toBe(url);
    const data = await new Promise<string>((resolve) => {
      source.onmessage = (e) => resolve(e.data);
    });
    expect(data).toBe('data');
    expect(server.requests[0]?.path).toBe('/eventsource/resources/message.py');
  });

  it('stringifies an object, 1, null and undefined as WebIDL does (stringify)', async () => {
    await page();
    const source = open({ toString: () => 'resources/message.py' } as unknown as string);
    const event = await new Promise<Event>((resolve) => {
      source.onopen = resolve;
    });
    expect(Object.hasOwn(event, 'data')).toBe(false);
    expect(source.url).toMatch(/\/eventsource\/resources\/message\.py$/);
    expect(open(1 as unknown as string).url).toMatch(/\/1$/);
    expect(open(null as unknown as string).url).toMatch(/\/null$/);
    expect(open(undefined as unknown as string).url).toMatch(/\/undefined$/);
  });

  it("resolves against the document's base URL (<base href>), not location.href, where there is a document", async () => {
    // HTML: the URL is parsed "relative to" the settings object, whose API base URL in a window is the
    // document's base URL (document.baseURI, which honours <base href>); a worker has no document.
    const { server } = await page();
    const base = new URL('/elsewhere/page.html', server.url).href;
    vi.stubGlobal('document', { baseURI: base });
    const source = open('resources/message.py');
    expect(source.url).toBe(new URL('/elsewhere/resources/message.py', server.url).href);
    const empty = open('');
    empty.close();
    expect(empty.url).toBe(base);
    await new Promise((resolve) => {
      source.onmessage = resolve;
    });
    expect(server.requests[0]?.path).toBe('/elsewhere/resources/message.py');
    const stream = connect('resources/message.py');
    for await (const _ of stream) break;
    expect(server.requests.map((request) => request.path)).toEqual([
      '/elsewhere/resources/message.py',
      '/elsewhere/resources/message.py',
    ]);
  });

  it('without a location (Node), a relative or empty URL is a SyntaxError', () => {
    for (const url of ['', 'resources/message.py', 1, null])
      expect(() => new EventSource(url as string), String(url)).toThrow(
        expect.objectContaining({ name: 'SyntaxError' }),
      );
  });
});

describe('eventsource-constructor-url-bogus', () => {
  it('throws a SyntaxError DOMException (SYNTAX_ERR) for an invalid URL', () => {
    let caught: unknown;
    try {
      new EventSource('http://this is invalid/');
    } catch (error) {
      caught = error;
    }
    expect(caught).toBeInstanceOf(DOMException);
    expect(caught).toMatchObject({ name: 'SyntaxError', code: DOMException.SYNTAX_ERR });
  });
});

describe('eventsource-constructor-no-new (dedicated-worker)', () => {
  it('calling the constructor without new throws a TypeError', () => {
    expect(() => (EventSource as unknown as (url: string) => unknown)('')).toThrow(TypeError);
  });
});

describe('eventsource-constructor-non-same-origin', () => {
  // "Act as if there is a network error": a URL fetch cannot get fails the connection, a plain error
  // event with readyState CLOSED, instead of a reconnection loop that can never succeed.
  for (const url of [
    'ftp://example.not/',
    'about:blank',
    'mailto:whatwg@awesome.example',
    "javascript:alert('FAIL')",
  ])
    it(`fails the connection for ${url}`, async () => {
      const clock = createFakeClock();
      const source = open(url, { clock });
      const events: [Event, number][] = [];
      source.onerror = (event) => events.push([event, source.readyState]);
      await vi.waitFor(() => expect(events).toHaveLength(1), WAIT);
      const [event, state] = events[0] as [Event, number];
      expect(state).toBe(source.CLOSED);
      expect(event).not.toBeInstanceOf(MessageEvent);
      expect(Object.hasOwn(event, 'data')).toBe(false);
      await clock.runAll();
      await settle();
      expect(events).toHaveLength(1);
      expect(clock.pendingTimers).toBe(0);
    });

  it('connect() ends with an InvalidArgumentError naming the url, and does not reconnect', async () => {
    const clock = createFakeClock();
    let reconnected: (info: ReconnectInfo) => void = () => {};
    const reconnecting = new Promise<ReconnectInfo>((resolve) => {
      reconnected = resolve;
    });
    const stream = connect('ftp://example.not/file?token=secret', { clock, onReconnect: reconnected });
    const error = await Promise.race([
      stream[Symbol.asyncIterator]()
        .next()
        .catch((e: unknown) => e),
      reconnecting,
    ]);
    expect(error).toMatchObject({ code: 'ERR_INVALID_ARGUMENT', argument: 'url' });
    expect(String((error as Error).message)).toMatch(/expected an http\(s\) URL, received a string/);
    expect(String((error as Error).message)).not.toMatch(/secret/);
    expect(clock.pendingTimers).toBe(0);
  });

  it('a URL fetch can get that is not http(s) still works (a data: URL)', async () => {
    const source = open('data:text/event-stream,data:%20x%0A%0A', { clock: createFakeClock() });
    const event = await new Promise<MessageEvent>((resolve) => {
      source.onmessage = resolve;
    });
    expect([event.data, event.origin]).toEqual(['x', 'null']);
  });

  it("names a URL that is not http(s) by its scheme alone in errors: a data: URL's path is its content", async () => {
    const stream = connect('data:text/plain,token%3Dsecret', { clock: createFakeClock() });
    const error = await stream[Symbol.asyncIterator]()
      .next()
      .catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_SSE_CONTENT_TYPE' });
    expect(String((error as Error).message)).toContain('data:');
    expect(String((error as Error).message)).not.toMatch(/secret|null/);
  });
});

describe('eventsource-cross-origin', () => {
  // Two loopback servers on two ports are two origins. Node's fetch makes no CORS checks, so the
  // failCORS cases (missing or wrong Access-Control-Allow-Origin) have nothing to port.
  it('basic use: events carry the origin of the stream', async () => {
    const server = await serve(() => message);
    const source = open(server.url, { withCredentials: true, clock: createFakeClock() });
    const event = await new Promise<MessageEvent>((resolve) => {
      source.onmessage = resolve;
    });
    expect([event.data, event.origin]).toEqual(['data', new URL(server.url).origin]);
  });

  it('redirect use: the origin of the final URL, after a redirect to another origin', async () => {
    const other = await serve(() => ({ ...message, end: 'hang' }));
    const server = await serve(() => ({ status: 307, headers: { location: other.url } }));
    const source = open(server.url, { withCredentials: true, clock: createFakeClock() });
    const event = await new Promise<MessageEvent>((resolve) => {
      source.onmessage = resolve;
    });
    expect([event.data, event.origin]).toEqual(['data', new URL(other.url).origin]);
    expect(event.origin).not.toBe(new URL(server.url).origin);
  });

  it('a reconnection after a redirect asks the final URL, as the DOM does (chromium, whatwg/html#503)', async () => {
    const other = await serve(({ index }) => ({
      chunks: [index === 0 ? 'id: 1\ndata: there\n\n' : 'data: again\n\n'],
      end: index === 0 ? 'close' : 'hang',
    }));
    const server = await serve(() => ({ status: 302, headers: { location: other.url } }));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect });
    const events: string[] = [];
    source.onmessage = (e) => events.push(`${e.data} ${e.origin} ${e.lastEventId}`);
    await waitOut();
    await vi.waitFor(() => expect(events).toHaveLength(2), WAIT);
    const there = new URL(other.url).origin;
    expect(events).toEqual([`there ${there} 1`, `again ${there} 1`]);
    expect(other.requests.map((request) => request.lastEventId)).toEqual([undefined, '1']);
    expect(server.requests).toHaveLength(1);
    expect(source.url).toBe(server.url);
  });

  it('connect() asks the URL given again after a redirect, so a redirecting balancer picks again', async () => {
    const other = await serve(() => ({ chunks: ['id: 1\ndata: there\n\n'] }));
    const server = await serve(({ index }) =>
      index === 0
        ? { status: 302, headers: { location: other.url } }
        : { chunks: ['data: here\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const stream = connect(server.url, { clock, onReconnect });
    const events: string[] = [];
    const reading = (async () => {
      for await (const event of stream) if (events.push(`${event.data} ${event.lastEventId}`) === 2) break;
    })();
    await waitOut();
    await reading;
    expect(events).toEqual(['there 1', 'here 1']);
    expect(server.requests.map((request) => request.lastEventId)).toEqual([undefined, '1']);
    expect(other.requests).toHaveLength(1);
  });

  it('redirect use recon (status-reconnect.py?status=200): a reply without events, then the event', async () => {
    const server = await serve(({ index }) => (index === 0 ? { chunks: ['retry: 2\n'] } : message));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { withCredentials: true, clock, backoff: () => 0, onReconnect });
    const received = new Promise<MessageEvent>((resolve) => {
      source.onmessage = resolve;
    });
    expect((await waitOut()).delay).toBe(2);
    const event = await received;
    expect([event.data, event.origin]).toEqual(['data', new URL(server.url).origin]);
  });
});

describe('eventsource-cross-origin-preflight (the Last-Event-ID part)', () => {
  // cors-unsafe-last-event-id.py: the id of the first reply must come back as Last-Event-ID on the
  // reconnection, byte for byte, also past 128 bytes and with a CORS-unsafe `<` (the preflight a browser
  // sends for those does not exist in Node's fetch).
  for (const [fixture, id] of [
    ['safe', 'abc'],
    ['unsafe', 'e5p3n<3k0k0s'],
    ['long', 'a'.repeat(255)],
  ] as const)
    it(`sends the ${fixture} id back on reconnect`, async () => {
      const server = await serve(({ lastEventId }) =>
        lastEventId === undefined
          ? { chunks: [`id: ${id}\nretry: 200\ndata: ${fixture}\n\n`] }
          : {
              chunks: [`event: ${lastEventId === id ? 'success' : 'failure'}\ndata: got ${lastEventId}\n\n`],
            },
      );
      const clock = createFakeClock();
      const { onReconnect, waitOut } = reconnections(clock);
      const source = open(server.url, { clock, backoff: () => 0, onReconnect });
      const data: string[] = [];
      source.addEventListener('message', (e) => data.push((e as MessageEvent).data));
      const outcome = new Promise<string>((resolve) => {
        source.addEventListener('success', () => resolve('success'));
        source.addEventListener('failure', (e) => resolve(`failure: ${(e as MessageEvent).data}`));
      });
      expect((await waitOut()).delay).toBe(200);
      expect(await outcome).toBe('success');
      expect(data).toEqual([fixture]);
      expect(server.requests.map((request) => request.lastEventId)).toEqual([undefined, id]);
    });
});

describe('eventsource-eventtarget', () => {
  it('addEventListener("message") receives the event, with the source as this', async () => {
    const server = await serve(() => ({ ...message, end: 'hang' }));
    const source = open(server.url, { clock: createFakeClock() });
    const seen = await new Promise<[string, unknown]>((resolve) => {
      source.addEventListener(
        'message',
        function (this: EventSource, e) {
          this.close();
          resolve([(e as MessageEvent).data, this]);
        },
        false,
      );
    });
    expect(seen).toEqual(['data', source]);
    expect(source.readyState).toBe(EventSource.CLOSED);
  });
});

describe('eventsource-onmessage', () => {
  it('onmessage receives the data', async () => {
    const server = await serve(() => message);
    const source = open(server.url, { clock: createFakeClock() });
    const data = await new Promise<string>((resolve) => {
      source.onmessage = (e) => {
        source.close();
        resolve(e.data);
      };
    });
    expect(data).toBe('data');
  });
});

describe('eventsource-onopen (and MOSQUITO user-agent-announce-connection)', () => {
  it('open is a plain event that neither bubbles nor cancels, fired at OPEN, with the source as this', async () => {
    const server = await serve(() => ({ ...message, end: 'hang' }));
    const source = open(server.url, { clock: createFakeClock() });
    expect(source.readyState).not.toBe(source.CLOSED);
    const seen = await new Promise<{ event: Event; state: number; self: unknown }>((resolve) => {
      source.onopen = function (this: EventSource, event) {
        resolve({ event, state: this.readyState, self: this });
        this.close();
      };
    });
    expect(typeof source.onopen).toBe('function');
    expect(seen.state).toBe(source.OPEN);
    expect(seen.self).toBe(source);
    expect(seen.event.type).toBe('open');
    expect(seen.event).not.toBeInstanceOf(MessageEvent);
    expect(Object.hasOwn(seen.event, 'data')).toBe(false);
    expect([seen.event.bubbles, seen.event.cancelable]).toEqual([false, false]);
  });
});

describe('eventsource-prototype and interfaces.html (the IDL)', () => {
  it('methods added to EventSource.prototype are there on instances', () => {
    const proto = EventSource.prototype as unknown as { ReturnTrue?: () => boolean };
    proto.ReturnTrue = () => true;
    try {
      const source = open('http://127.0.0.1:9/', { fetch: () => new Promise<Response>(() => {}) });
      expect((source as unknown as { ReturnTrue: () => boolean }).ReturnTrue()).toBe(true);
    } finally {
      delete proto.ReturnTrue;
    }
  });

  it('has the shape of the IDL: constructor length 1, EventTarget, class string EventSource, enumerable members', () => {
    const source = open('http://127.0.0.1:9/', { fetch: () => new Promise<Response>(() => {}) });
    expect(EventSource.length).toBe(1);
    expect(Object.getPrototypeOf(EventSource.prototype)).toBe(EventTarget.prototype);
    expect(Object.prototype.toString.call(source)).toBe('[object EventSource]');
    expect(Object.prototype.toString.call(EventSource.prototype)).toBe('[object EventSource]');
    // The interface object itself is a plain function.
    expect(Object.prototype.toString.call(EventSource)).toBe('[object Function]');
    expect(Object.getOwnPropertyDescriptor(EventSource.prototype, Symbol.toStringTag)).toEqual({
      value: 'EventSource',
      writable: false,
      enumerable: false,
      configurable: true,
    });
    // Attributes and operations of an interface are enumerable and configurable on its prototype.
    for (const name of ['url', 'withCredentials', 'readyState', 'onopen', 'onmessage', 'onerror', 'close']) {
      const descriptor = Object.getOwnPropertyDescriptor(EventSource.prototype, name);
      expect(descriptor, name).toMatchObject({ enumerable: true, configurable: true });
    }
    expect(EventSource.prototype.close.length).toBe(0);
    const keys: string[] = [];
    for (const key in source) keys.push(key);
    expect(keys).toEqual(expect.arrayContaining(['url', 'readyState', 'onmessage', 'close', 'OPEN']));
  });
});

describe('eventsource-readyState', () => {
  it('is CONNECTING before the connection is established', async () => {
    const server = await serve(() => message);
    expect(open(server.url, { clock: createFakeClock() }).readyState).toBe(EventSource.CONNECTING);
  });

  it('is OPEN when the open event is dispatched', async () => {
    const server = await serve(() => message);
    const source = open(server.url, { clock: createFakeClock() });
    const state = await new Promise<number>((resolve) => {
      source.onopen = () => resolve(source.readyState);
    });
    expect(state).toBe(source.OPEN);
  });

  it('is CLOSED when close() was invoked', async () => {
    const server = await serve(() => message);
    const source = open(server.url, { clock: createFakeClock() });
    source.close();
    expect(source.readyState).toBe(source.CLOSED);
  });
});

describe('eventsource-reconnect', () => {
  it('200 (status-reconnect.py): reconnects after a reply without events and gets the event', async () => {
    const server = await serve(({ index }) => (index === 0 ? { chunks: ['retry: 2\n'] } : message));
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, backoff: () => 0, onReconnect });
    const data = new Promise<string>((resolve) => {
      source.onmessage = (e) => resolve(e.data);
    });
    await waitOut();
    expect(await data).toBe('data');
    expect(server.requests).toHaveLength(2);
  });

  it('test reconnection events (ok_first): message, error at CONNECTING, then the next message', async () => {
    const server = await serve(({ index }) =>
      index === 0 ? { chunks: ['retry: 2\ndata: ok\n\n'] } : { ...message, end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, backoff: () => 0, onReconnect });
    const log: string[] = [];
    source.onerror = (e) => log.push(`${e.type} ${source.readyState}`);
    source.onmessage = (e) => log.push(`message ${e.data}`);
    await waitOut();
    await vi.waitFor(() => expect(log).toEqual(['message ok', 'error 0', 'message data']), WAIT);
  });

  it('waits the default reconnection time when the server sent no retry:, and not less', async () => {
    const server = await serve(({ index }) => (index === 0 ? { chunks: ['data: first\n\n'] } : message));
    const clock = createFakeClock();
    const infos: ReconnectInfo[] = [];
    const source = open(server.url, { clock, random: seededRandom(7), onReconnect: (i) => infos.push(i) });
    const data: string[] = [];
    source.onmessage = (e) => data.push(e.data);
    await vi.waitFor(() => expect(infos).toHaveLength(1), WAIT);
    const { delay } = infos[0] as ReconnectInfo;
    // The default backoff's first wait: exponential from 1000 ms with equal jitter.
    expect(delay).toBeGreaterThanOrEqual(500);
    expect(delay).toBeLessThanOrEqual(1000);
    await clock.advance(delay - 1);
    await settle();
    expect(server.requests).toHaveLength(1);
    await clock.advance(1);
    await vi.waitFor(() => expect(data).toEqual(['first', 'data']), WAIT);
    expect(server.requests).toHaveLength(2);
  });
});

describe('eventsource-request-cancellation', () => {
  // window.stop() has no Node equivalent; close() is what aborts the fetch here ("The close() method must
  // abort any instances of the fetch algorithm started for this EventSource object").
  it('close() while the request waits for its response aborts it: no open, no message, no error, CLOSED', async () => {
    let answer: (reply: Reply) => void = () => {};
    const server = await serve(
      () =>
        new Promise<Reply>((resolve) => {
          answer = resolve;
        }),
    );
    const clock = createFakeClock();
    const source = open(server.url, { clock });
    const log: string[] = [];
    source.onopen = () => log.push('open');
    source.onmessage = () => log.push('message');
    source.onerror = () => log.push('error');
    await vi.waitFor(() => expect(server.requests).toHaveLength(1), WAIT);
    source.close();
    // The server sees the request go away.
    await server.closed(0);
    answer({ chunks: ['retry:1000\ndata:abc\n\n'] });
    await clock.runAll();
    await settle();
    expect(log).toEqual([]);
    expect(source.readyState).toBe(EventSource.CLOSED);
    expect(server.requests).toHaveLength(1);
    expect(clock.pendingTimers).toBe(0);
  });
});

describe('event-data (message2.py)', () => {
  it('parses lines and data over many writes', async () => {
    const server = await serve(() => ({
      chunks: ['data:msg', '\n', 'data: msg', '\n\n', ':', '\n', 'falsefield:msg', '\n\n'],
      end: 'hang',
    }));
    const source = open(server.url, { clock: createFakeClock() });
    const data: string[] = [];
    source.onmessage = (e) => data.push(e.data);
    await vi.waitFor(() => expect(server.responses.get(0)).toBeDefined(), WAIT);
    for (const chunk of ['falsefield:msg', '\n', 'Data:data', '\n\n', 'data', '\n\n', 'data:end', '\n\n'])
      server.responses.get(0)?.write(chunk);
    await vi.waitFor(() => expect(data).toEqual(['msg\nmsg', '', 'end']), WAIT);
  });
});

describe('request-accept (and MOSQUITO accept-header-include-text-event-stream)', () => {
  it('sends Accept: text/event-stream (accept.event_stream echoes it), also over a caller Accept', async () => {
    const server = await serve(({ headers }) => ({ chunks: [`data: ${headers.accept}\n\n`], end: 'hang' }));
    for (const init of [{}, { headers: { accept: 'application/json' } }]) {
      const source = open(server.url, { ...init, clock: createFakeClock() });
      const data = await new Promise<string>((resolve) => {
        source.onmessage = (e) => resolve(e.data);
      });
      expect(data).toBe('text/event-stream');
    }
  });
});

describe('request-cache-control', () => {
  it('asks caches not to answer (cache mode no-store: Cache-Control no-cache), twice in a row', async () => {
    const server = await serve(({ headers }) => ({
      chunks: [`data: ${headers['cache-control']}\n\n`],
      end: 'hang',
    }));
    for (let run = 0; run < 2; run++) {
      const source = open(server.url, { clock: createFakeClock() });
      const data = await new Promise<string>((resolve) => {
        source.onmessage = (e) => {
          source.close();
          resolve(e.data);
        };
      });
      expect(data).toBe('no-cache');
    }
    expect(server.requests.map((request) => request.headers.pragma)).toEqual(['no-cache', 'no-cache']);
  });
});

describe('Last-Event-ID (request rules of the standard)', () => {
  it('is sent on reconnect only, never on the first request', async () => {
    const server = await serve(({ index }) =>
      index === 0 ? { chunks: ['id: 1\ndata: a\n\n'] } : { chunks: ['data: b\n\n'], end: 'hang' },
    );
    const clock = createFakeClock();
    const { onReconnect, waitOut } = reconnections(clock);
    const source = open(server.url, { clock, onReconnect });
    const data: string[] = [];
    source.onmessage = (e) => data.push(e.data);
    await waitOut();
    await vi.waitFor(() => expect(data).toEqual(['a', 'b']), WAIT);
    expect(Object.hasOwn(server.requests[0]?.headers ?? {}, 'last-event-id')).toBe(false);
    expect(server.requests[1]?.lastEventId).toBe('1');
  });
});

describe('request-redirect', () => {
  for (const status of [301, 302, 303, 307, 308])
    it(`follows a ${status} and opens, without an error`, async () => {
      const server = await serve(({ path }) =>
        path === '/events'
          ? { status, headers: { location: '/eventsource/resources/message.py' } }
          : { ...message, end: 'hang' },
      );
      const source = open(server.url, { clock: createFakeClock() });
      const onerror = vi.fn();
      source.onerror = onerror;
      const state = await new Promise<number>((resolve) => {
        source.onopen = function (this: EventSource) {
          resolve(this.readyState);
          this.close();
        };
      });
      expect(state).toBe(EventSource.OPEN);
      expect(onerror).not.toHaveBeenCalled();
      expect(server.requests.map((request) => request.path)).toEqual([
        '/events',
        '/eventsource/resources/message.py',
      ]);
      // The url attribute stays the URL given.
      expect(source.url).toBe(server.url);
    });

  for (const status of [301, 302, 303, 307, 308])
    it(`fails the connection on a ${status} without Location (not a redirect, not 200)`, async () => {
      const server = await serve(() => ({ status }));
      const clock = createFakeClock();
      const source = open(server.url, { clock });
      const state = await new Promise<number>((resolve) => {
        source.onerror = () => resolve(source.readyState);
      });
      expect(state).toBe(EventSource.CLOSED);
      await clock.runAll();
      await settle();
      expect(server.requests).toHaveLength(1);
    });
});

describe('request-status-error', () => {
  for (const status of [204, 205, 210, 299, 404, 410, 500, 503])
    it(`fails the connection on ${status}: error at CLOSED, no message, no reconnection`, async () => {
      // status-error.py: a body only where the status allows one, and it must not be dispatched.
      const server = await serve(() =>
        status === 204 || status === 205 ? { status } : { status, chunks: ['data: data\n\n'] },
      );
      const clock = createFakeClock();
      const source = open(server.url, { clock });
      const onmessage = vi.fn();
      source.onmessage = onmessage;
      const state = await new Promise<number>((resolve) => {
        source.onerror = function (this: EventSource) {
          resolve(this.readyState);
        };
      });
      expect(state).toBe(EventSource.CLOSED);
      await clock.runAll();
      await settle();
      expect(onmessage).not.toHaveBeenCalled();
      expect(server.requests).toHaveLength(1);
      expect(clock.pendingTimers).toBe(0);
    });
});
